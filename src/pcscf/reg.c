/*
 * reg.c - registration flows and SA sets of the P-CSCF: the two state
 * tables and what their transitions do (see reg.h).
 */
#include "pcscf/reg.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/esp_keys.h"

/* ---- names -------------------------------------------------------------- */

static const char *const reg_state_names[] = {
#define X(id, name, doc) name,
	PCSCF_REG_STATES(X)
#undef X
};
static const char *const reg_state_docs[] = {
#define X(id, name, doc) doc,
	PCSCF_REG_STATES(X)
#undef X
};
static const char *const reg_event_names[] = {
#define X(id, name) name,
	PCSCF_REG_EVENTS(X)
#undef X
};
static const char *const reg_event_ids[] = {
#define X(id, name) #id,
	PCSCF_REG_EVENTS(X)
#undef X
};
static const char *const sa_state_names[] = {
#define X(id, name) name,
	PCSCF_SA_STATES(X)
#undef X
};
static const char *const sa_event_names[] = {
#define X(id, name) name,
	PCSCF_SA_EVENTS(X)
#undef X
};
static const char *const sa_event_ids[] = {
#define X(id, name) #id,
	PCSCF_SA_EVENTS(X)
#undef X
};

const char *pcscf_reg_state_name(enum pcscf_reg_state s)
{
	return (unsigned)s < PCSCF_REG__COUNT ? reg_state_names[s] : "?";
}

const char *pcscf_reg_event_name(enum pcscf_reg_event e)
{
	return (unsigned)e < PCSCF_REG_EV__COUNT ? reg_event_names[e] : "?";
}

const char *pcscf_sa_state_name(enum pcscf_sa_state s)
{
	return (unsigned)s < PCSCF_SA__COUNT ? sa_state_names[s] : "?";
}

const char *pcscf_sa_event_name(enum pcscf_sa_event e)
{
	return (unsigned)e < PCSCF_SA_EV__COUNT ? sa_event_names[e] : "?";
}

/* ---- the registration table -------------------------------------------- */

#define R(st, ev, nx, act) { PCSCF_REG_##st, PCSCF_REG_EV_##ev, PCSCF_REG_##nx, (act) }
#define DROP PCSCF_ACT_DROP_TEMP
#define PROMOTE PCSCF_ACT_PROMOTE
#define REFRESH PCSCF_ACT_REFRESH
#define END PCSCF_ACT_END
#define REMOVE PCSCF_ACT_REMOVE

/*
 * The rows follow TS 24.229 §5.2.2 and TS 33.203 §7.4: a challenge puts a
 * temporary set next to whatever is established; only the 2xx to the
 * REGISTER that came over the temporary set makes it the established one;
 * a failed or abandoned authentication drops the temporary set and leaves
 * a registered flow registered (its established set untouched); the end
 * of a registration, whatever its cause, keeps the sets for the linger
 * time so that the final responses and NOTIFYs still reach the UE. The SIP
 * side reports a failure (RX_FAILURE) only once the failure response has
 * gone out, since it goes over the set the failure may drop.
 */
static const struct pcscf_reg_transition reg_table[] = {
	R(UNAUTH, RX_INITIAL, UNAUTH, 0),
	R(UNAUTH, RX_401, CHALLENGED, 0),
	R(UNAUTH, RX_FAILURE, GONE, REMOVE),
	R(UNAUTH, TIMER_AWAIT_AUTH, GONE, REMOVE),
	R(UNAUTH, CTL_REMOVE, GONE, REMOVE),
	R(UNAUTH, IMPI_SUPERSEDED, GONE, REMOVE),

	R(CHALLENGED, RX_PROTECTED, AUTHENTICATING, 0),
	R(CHALLENGED, RX_INITIAL, UNAUTH, DROP),
	R(CHALLENGED, TIMER_AWAIT_AUTH, GONE, REMOVE),
	R(CHALLENGED, CTL_REMOVE, GONE, REMOVE),
	R(CHALLENGED, IMPI_SUPERSEDED, GONE, REMOVE),

	R(AUTHENTICATING, RX_2XX, REGISTERED, PROMOTE),
	R(AUTHENTICATING, RX_2XX_DEREG, ENDING, END),
	R(AUTHENTICATING, RX_401, CHALLENGED, 0),
	R(AUTHENTICATING, RX_PROTECTED, AUTHENTICATING, 0),
	R(AUTHENTICATING, RX_FAILURE, GONE, REMOVE),
	R(AUTHENTICATING, TIMER_AWAIT_AUTH, GONE, REMOVE),
	R(AUTHENTICATING, CTL_REMOVE, GONE, REMOVE),
	R(AUTHENTICATING, IMPI_SUPERSEDED, GONE, REMOVE),

	R(REGISTERED, RX_REFRESH, REFRESHING, 0),
	R(REGISTERED, RX_INITIAL, REFRESHING, 0),
	R(REGISTERED, TIMER_EXPIRY, ENDING, END),
	R(REGISTERED, NOTIFY_TERMINATED, ENDING, END),
	R(REGISTERED, CTL_REMOVE, ENDING, END),
	R(REGISTERED, IMPI_SUPERSEDED, GONE, REMOVE),

	R(REFRESHING, RX_2XX, REGISTERED, REFRESH),
	R(REFRESHING, RX_2XX_DEREG, ENDING, END),
	R(REFRESHING, RX_401, RECHALLENGED, 0),
	R(REFRESHING, RX_FAILURE, REGISTERED, 0),
	R(REFRESHING, RX_REFRESH, REFRESHING, 0),
	R(REFRESHING, RX_INITIAL, REFRESHING, 0),
	R(REFRESHING, TIMER_EXPIRY, ENDING, END),
	R(REFRESHING, NOTIFY_TERMINATED, ENDING, END),
	R(REFRESHING, CTL_REMOVE, ENDING, END),
	R(REFRESHING, IMPI_SUPERSEDED, GONE, REMOVE),

	R(RECHALLENGED, RX_PROTECTED, REAUTHENTICATING, 0),
	R(RECHALLENGED, RX_REFRESH, REFRESHING, DROP),
	R(RECHALLENGED, RX_INITIAL, REFRESHING, DROP),
	R(RECHALLENGED, TIMER_AWAIT_AUTH, REGISTERED, DROP),
	R(RECHALLENGED, TIMER_EXPIRY, ENDING, END),
	R(RECHALLENGED, NOTIFY_TERMINATED, ENDING, END),
	R(RECHALLENGED, CTL_REMOVE, ENDING, END),
	R(RECHALLENGED, IMPI_SUPERSEDED, GONE, REMOVE),

	R(REAUTHENTICATING, RX_2XX, REGISTERED, PROMOTE),
	R(REAUTHENTICATING, RX_2XX_DEREG, ENDING, END),
	R(REAUTHENTICATING, RX_401, RECHALLENGED, 0),
	R(REAUTHENTICATING, RX_PROTECTED, REAUTHENTICATING, 0),
	R(REAUTHENTICATING, RX_FAILURE, REGISTERED, DROP),
	R(REAUTHENTICATING, TIMER_AWAIT_AUTH, REGISTERED, DROP),
	R(REAUTHENTICATING, TIMER_EXPIRY, ENDING, END),
	R(REAUTHENTICATING, NOTIFY_TERMINATED, ENDING, END),
	R(REAUTHENTICATING, CTL_REMOVE, ENDING, END),
	R(REAUTHENTICATING, IMPI_SUPERSEDED, GONE, REMOVE),

	R(ENDING, TIMER_LINGER, GONE, REMOVE),
	R(ENDING, CTL_REMOVE, GONE, REMOVE),
	R(ENDING, IMPI_SUPERSEDED, GONE, REMOVE),
};

#undef R

bool pcscf_reg_lookup(enum pcscf_reg_state s, enum pcscf_reg_event e,
		      struct pcscf_reg_transition *out)
{
	for (size_t i = 0; i < sizeof(reg_table) / sizeof(reg_table[0]); i++) {
		if (reg_table[i].state == s && reg_table[i].event == e) {
			if (out)
				*out = reg_table[i];
			return true;
		}
	}
	return false;
}

/* ---- the SA set table --------------------------------------------------- */

#define S(st, ev, nx, life) { PCSCF_SA_##st, PCSCF_SA_EV_##ev, PCSCF_SA_##nx, (life) }

static const struct pcscf_sa_transition sa_table[] = {
	S(TEMPORARY, PROMOTE, ESTABLISHED, "max(previous established lifetime, expiry + grace)"),
	S(TEMPORARY, EXPIRE, REMOVED, "-"),
	S(TEMPORARY, DISCARD, REMOVED, "-"),
	S(ESTABLISHED, REFRESH, ESTABLISHED, "max(lifetime, expiry + grace)"),
	S(ESTABLISHED, RETIRE, OLD, "kept"),
	S(ESTABLISHED, EXPIRE, REMOVED, "-"),
	S(ESTABLISHED, DISCARD, REMOVED, "-"),
	S(OLD, NEW_USED, REMOVED, "-"),
	S(OLD, EXPIRE, REMOVED, "-"),
	S(OLD, DISCARD, REMOVED, "-"),
};

#undef S

bool pcscf_sa_lookup(enum pcscf_sa_state s, enum pcscf_sa_event e,
		     struct pcscf_sa_transition *out)
{
	for (size_t i = 0; i < sizeof(sa_table) / sizeof(sa_table[0]); i++) {
		if (sa_table[i].state == s && sa_table[i].event == e) {
			if (out)
				*out = sa_table[i];
			return true;
		}
	}
	return false;
}

static void actions_text(struct buf *out, unsigned a)
{
	static const char *const names[] = { "drop temporary set", "promote",
					     "refresh lifetime", "end (linger)",
					     "remove sets and flow" };
	bool first = true;

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(a & (1u << i)))
			continue;
		buf_printf(out, "%s%s", first ? "" : ", ", names[i]);
		first = false;
	}
	if (first)
		buf_puts(out, "-");
}

void pcscf_fsm_markdown(struct buf *out)
{
	buf_puts(out, "### Registration flow states\n\n| state | meaning |\n|---|---|\n");
	for (unsigned s = 0; s < PCSCF_REG__COUNT; s++)
		buf_printf(out, "| `%s` | %s |\n", reg_state_names[s], reg_state_docs[s]);
	buf_puts(out, "\n### Registration flow transitions\n\n"
		      "| state | event | next | actions |\n|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof(reg_table) / sizeof(reg_table[0]); i++) {
		const struct pcscf_reg_transition *t = &reg_table[i];

		buf_printf(out, "| `%s` | %s (`%s`) | `%s` | ", reg_state_names[t->state],
			   reg_event_names[t->event], reg_event_ids[t->event],
			   reg_state_names[t->next]);
		actions_text(out, t->actions);
		buf_puts(out, " |\n");
	}
	buf_puts(out, "\n### SA set transitions\n\n"
		      "| state | event | next | lifetime |\n|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof(sa_table) / sizeof(sa_table[0]); i++) {
		const struct pcscf_sa_transition *t = &sa_table[i];

		buf_printf(out, "| `%s` | %s (`%s`) | `%s` | %s |\n", sa_state_names[t->state],
			   sa_event_names[t->event], sa_event_ids[t->event],
			   sa_state_names[t->next], t->lifetime);
	}
}

/* ---- helpers ------------------------------------------------------------ */

int pcscf_str_set(char **field, struct str s)
{
	char *copy = malloc(s.len + 1);

	if (!copy)
		return -ENOMEM;
	if (s.len)
		memcpy(copy, s.s, s.len);
	copy[s.len] = '\0';
	free(*field);
	*field = copy;
	return 0;
}

static uint64_t now_ms(struct pcscf_regs *rs)
{
	return rs->clock.now_ms(rs->clock.ctx);
}

static void trace(struct pcscf_regs *rs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void trace(struct pcscf_regs *rs, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!rs->ops->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rs->ops->trace(rs->ctx, line);
}

#define FLOW_NAME_LEN (PCSCF_IMPI_MAX + 96)

/* A short name of a flow for traces: "flow 3 (impi 198.18.1.2 5062/5064)". */
static const char *flow_name(const struct pcscf_reg *r, char *buf, size_t len)
{
	char a[IPSEC_ADDR_STRLEN];

	snprintf(buf, len, "flow %" PRIu64 " (%s %s %u/%u)", r->id, r->impi,
		 ipsec_addr_str(&r->key.ue, a), r->key.port_uc, r->key.port_us);
	return buf;
}

/* Index keys. */
struct key_index {
	uint64_t impi_hash;
	uint8_t ue[16];
	uint16_t port_uc;
	uint16_t port_us;
	uint8_t family;
	uint8_t zero[3];
};

struct impi_index {
	uint64_t hash;
};

/* FNV-1a over the IMPI, keyed with a per-process seed (peers choose IMPIs). */
static uint64_t impi_hash(const struct pcscf_regs *rs, const char *impi)
{
	uint64_t h = 0xcbf29ce484222325ull ^ rs->impi_seed;

	for (const unsigned char *p = (const unsigned char *)impi; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void key_index_make(const struct pcscf_regs *rs, struct key_index *k, const char *impi,
			   const struct pcscf_flow_key *fk)
{
	memset(k, 0, sizeof(*k));
	k->impi_hash = impi_hash(rs, impi);
	memcpy(k->ue, fk->ue.b, ipsec_addr_len(&fk->ue));
	k->family = (uint8_t)fk->ue.family;
	k->port_uc = fk->port_uc;
	k->port_us = fk->port_us;
}

static void unkey(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	struct key_index k;

	if (!r->keyed)
		return;
	key_index_make(rs, &k, r->impi, &r->key);
	if (ipsec_table_get(&rs->by_key, &k) == r)
		ipsec_table_del(&rs->by_key, &k);
	r->keyed = false;
}

/* Index r under its key; false when another flow holds that key. */
static bool rekey(struct pcscf_regs *rs, struct pcscf_reg *r, const struct pcscf_flow_key *fk)
{
	struct key_index k;
	void *other;

	key_index_make(rs, &k, r->impi, fk);
	other = ipsec_table_get(&rs->by_key, &k);
	if (other && other != r)
		return false;
	unkey(rs, r);
	r->key = *fk;
	if (!other && ipsec_table_add(&rs->by_key, &k, r) != 0)
		return false;
	r->keyed = true;
	return true;
}

static void impi_link(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	struct impi_index k = { impi_hash(rs, r->impi) };
	void **head = ipsec_table_ref(&rs->by_impi, &k);

	if (head) {
		r->impi_next = *head;
		*head = r;
	} else if (ipsec_table_add(&rs->by_impi, &k, r) == 0) {
		r->impi_next = NULL;
	}
}

static void impi_unlink(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	struct impi_index k = { impi_hash(rs, r->impi) };
	void **head = ipsec_table_ref(&rs->by_impi, &k);
	struct pcscf_reg **pp;

	if (!head)
		return;
	for (pp = (struct pcscf_reg **)head; *pp && *pp != r; pp = &(*pp)->impi_next)
		;
	if (*pp)
		*pp = r->impi_next;
	if (!*head)
		ipsec_table_del(&rs->by_impi, &k);
	r->impi_next = NULL;
}

/* ---- SA sets ------------------------------------------------------------ */

static void sa_timer_cb(struct loop *loop, struct loop_timer *t);

static void sa_arm(struct pcscf_regs *rs, struct pcscf_sa *sa)
{
	uint64_t now = now_ms(rs);

	loop_timer_arm(rs->loop, &sa->timer, sa->expires_ms > now ? sa->expires_ms - now : 0);
}

/* Take the set out of everything and free it. */
static void sa_destroy(struct pcscf_regs *rs, struct pcscf_sa *sa)
{
	struct pcscf_reg *r = sa->reg;

	loop_timer_cancel(rs->loop, &sa->timer);
	if (sa->set_id) {
		if (ipsec_table_get(&rs->by_set, &sa->set_id) == sa)
			ipsec_table_del(&rs->by_set, &sa->set_id);
		if (rs->ops->remove)
			rs->ops->remove(rs->ctx, sa);
		rs->stats.sets_removed++;
		ipsec_alloc_release(&rs->alloc, &sa->set.p.ue, &sa->set.p.server);
	}
	if (r->temp == sa)
		r->temp = NULL;
	if (r->est == sa)
		r->est = NULL;
	if (r->old == sa)
		r->old = NULL;
	ipsec_sa_set_wipe(&sa->set);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/*
 * One SA set transition. A set that reaches REMOVED is destroyed; the
 * caller must not use it afterwards. Returns 0 or -EPROTO (refused).
 */
static int sa_fire(struct pcscf_regs *rs, struct pcscf_sa *sa, enum pcscf_sa_event ev)
{
	struct pcscf_sa_transition t;
	char fname[FLOW_NAME_LEN];

	if (!pcscf_sa_lookup(sa->state, ev, &t)) {
		rs->stats.refused++;
		trace(rs, "%s set %u: %s refused in state %s",
		      flow_name(sa->reg, fname, sizeof(fname)), sa->set_id,
		      sa_event_ids[ev], sa_state_names[sa->state]);
		return -EPROTO;
	}
	rs->stats.transitions++;
	trace(rs, "%s set %u (spis 0x%08x/0x%08x ports %u/%u): %s -> %s on %s",
	      flow_name(sa->reg, fname, sizeof(fname)), sa->set_id, sa->set.p.server.spi_c,
	      sa->set.p.server.spi_s, sa->set.p.server.port_c, sa->set.p.server.port_s,
	      sa_state_names[sa->state], sa_state_names[t.next], sa_event_ids[ev]);
	sa->state = t.next;
	if (t.next == PCSCF_SA_REMOVED)
		sa_destroy(rs, sa);
	return 0;
}

struct pcscf_sa *pcscf_sa_alloc(struct pcscf_reg *r, enum pcscf_sa_state state)
{
	struct pcscf_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->reg = r;
	sa->state = state;
	loop_timer_init(&sa->timer, sa_timer_cb, sa);
	return sa;
}

/* ---- flows -------------------------------------------------------------- */

static void reg_timer_cb(struct loop *loop, struct loop_timer *t);

struct pcscf_reg *pcscf_reg_alloc(struct pcscf_regs *rs)
{
	struct pcscf_reg *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->regs = rs;
	loop_timer_init(&r->timer, reg_timer_cb, r);
	return r;
}

static void reg_free(struct pcscf_reg *r)
{
	free(r->impu);
	free(r->contact);
	free(r->call_id);
	free(r->client_canon);
	free(r->server_canon);
	free(r->impus);
	free(r);
}

void pcscf_reg_free_unrestored(struct pcscf_reg *r)
{
	struct pcscf_sa *sets[3] = { r->temp, r->est, r->old };

	for (unsigned i = 0; i < 3; i++) {
		if (sets[i]) {
			ipsec_sa_set_wipe(&sets[i]->set);
			free(sets[i]);
		}
	}
	reg_free(r);
}

/*
 * Flows per UE address: ports are unique per address only (alloc.h), so
 * one address may not hold more flows than the port range has room for.
 */
static struct ipsec_addr addr_key(const struct ipsec_addr *ue)
{
	struct ipsec_addr k;

	memset(&k, 0, sizeof(k)); /* compared bytewise, padding included */
	k.family = ue->family;
	memcpy(k.b, ue->b, ipsec_addr_len(ue));
	return k;
}

static size_t addr_count(const struct pcscf_regs *rs, const struct ipsec_addr *ue)
{
	struct ipsec_addr k = addr_key(ue);

	return (size_t)(uintptr_t)ipsec_table_get(&rs->by_addr, &k);
}

static int addr_take(struct pcscf_regs *rs, const struct ipsec_addr *ue)
{
	struct ipsec_addr k = addr_key(ue);
	void **ref = ipsec_table_ref(&rs->by_addr, &k);

	if (ref) {
		*ref = (void *)((uintptr_t)*ref + 1);
		return 0;
	}
	return ipsec_table_add(&rs->by_addr, &k, (void *)(uintptr_t)1);
}

static void addr_put(struct pcscf_regs *rs, const struct ipsec_addr *ue)
{
	struct ipsec_addr k = addr_key(ue);
	void **ref = ipsec_table_ref(&rs->by_addr, &k);

	if (!ref)
		return;
	if ((uintptr_t)*ref > 1)
		*ref = (void *)((uintptr_t)*ref - 1);
	else
		ipsec_table_del(&rs->by_addr, &k);
}

static void reg_destroy(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	char fname[FLOW_NAME_LEN];

	flow_name(r, fname, sizeof(fname));
	if (r->temp)
		sa_fire(rs, r->temp, PCSCF_SA_EV_DISCARD);
	if (r->old)
		sa_fire(rs, r->old, PCSCF_SA_EV_DISCARD);
	if (r->est)
		sa_fire(rs, r->est, PCSCF_SA_EV_DISCARD);
	loop_timer_cancel(rs->loop, &r->timer);
	unkey(rs, r);
	impi_unlink(rs, r);
	ipsec_table_del(&rs->by_id, &r->id);
	rs->n_flows--;
	addr_put(rs, &r->key.ue);
	if (rs->ops->forget)
		rs->ops->forget(rs->ctx, r);
	reg_free(r);
}

/* The lifetime an established set gets from the last 2xx: expiry + grace. */
static uint64_t registration_lifetime(struct pcscf_regs *rs, const struct pcscf_reg *r)
{
	return now_ms(rs) + (uint64_t)r->expires_s * 1000 + rs->policy.grace_ms;
}

static void impi_supersede(struct pcscf_regs *rs, struct pcscf_reg *winner);
static int reg_fire(struct pcscf_regs *rs, struct pcscf_reg *r, enum pcscf_reg_event ev);

static void do_promote(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	struct pcscf_sa *temp = r->temp, *prev = r->est;
	uint64_t life = registration_lifetime(rs, r);
	struct pcscf_flow_key fk;
	char fname[FLOW_NAME_LEN];

	if (!temp)
		return;
	/* 33.203 §7.4: max(previous lifetime, registration expiry + 30 s). */
	if (prev && prev->expires_ms > life)
		life = prev->expires_ms;
	if (prev) {
		if (r->old)
			sa_fire(rs, r->old, PCSCF_SA_EV_DISCARD);
		if (rs->policy.binding == PCSCF_BIND_IMPI) {
			sa_fire(rs, prev, PCSCF_SA_EV_DISCARD);
		} else {
			sa_fire(rs, prev, PCSCF_SA_EV_RETIRE);
			r->old = prev;
		}
	}
	r->est = temp;
	r->temp = NULL;
	sa_fire(rs, temp, PCSCF_SA_EV_PROMOTE);
	temp->expires_ms = life;
	sa_arm(rs, temp);
	fk.ue = temp->set.p.ue;
	fk.port_uc = temp->set.p.client.port_c;
	fk.port_us = temp->set.p.client.port_s;
	if (!rekey(rs, r, &fk))
		trace(rs, "%s: another flow holds ports %u/%u; index unchanged",
		      flow_name(r, fname, sizeof(fname)), fk.port_uc, fk.port_us);
	if (rs->policy.binding == PCSCF_BIND_IMPI)
		impi_supersede(rs, r);
}

static void do_refresh(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	uint64_t life = registration_lifetime(rs, r);

	if (!r->est)
		return;
	sa_fire(rs, r->est, PCSCF_SA_EV_REFRESH);
	if (life > r->est->expires_ms)
		r->est->expires_ms = life;
	sa_arm(rs, r->est);
}

/* Legacy binding: the IMPI's other flows lose their sets, and so end. */
static void impi_supersede(struct pcscf_regs *rs, struct pcscf_reg *winner)
{
	struct pcscf_reg *r = pcscf_regs_of_impi(rs, winner->impi), *next;

	for (; r; r = next) {
		next = r->impi_next;
		while (next && strcmp(next->impi, winner->impi) != 0)
			next = next->impi_next;
		if (r != winner)
			reg_fire(rs, r, PCSCF_REG_EV_IMPI_SUPERSEDED);
	}
}

/* The flow's own timer: the UNAUTH guard and the ENDING linger. */
static void reg_arm(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	if (r->state == PCSCF_REG_UNAUTH)
		loop_timer_arm(rs->loop, &r->timer, rs->policy.await_auth_ms);
	else if (r->state == PCSCF_REG_ENDING)
		loop_timer_arm(rs->loop, &r->timer, rs->policy.linger_ms);
	else
		loop_timer_cancel(rs->loop, &r->timer);
}

/*
 * One registration transition and its actions. A flow that reaches GONE
 * is destroyed: the caller must not touch it afterwards. Returns 0 or
 * -EPROTO (refused; nothing changed).
 */
static int reg_fire(struct pcscf_regs *rs, struct pcscf_reg *r, enum pcscf_reg_event ev)
{
	struct pcscf_reg_transition t;
	enum pcscf_reg_state from = r->state;
	char fname[FLOW_NAME_LEN];

	if (!pcscf_reg_lookup(from, ev, &t)) {
		rs->stats.refused++;
		trace(rs, "%s: %s refused in state %s", flow_name(r, fname, sizeof(fname)),
		      reg_event_ids[ev], reg_state_names[from]);
		return -EPROTO;
	}
	rs->stats.transitions++;
	trace(rs, "%s: %s -> %s on %s", flow_name(r, fname, sizeof(fname)), reg_state_names[from],
	      reg_state_names[t.next], reg_event_ids[ev]);
	r->state = t.next;
	if ((t.actions & PCSCF_ACT_DROP_TEMP) && r->temp)
		sa_fire(rs, r->temp, PCSCF_SA_EV_DISCARD);
	if (t.actions & PCSCF_ACT_PROMOTE)
		do_promote(rs, r);
	if (t.actions & PCSCF_ACT_REFRESH)
		do_refresh(rs, r);
	if (t.actions & PCSCF_ACT_END) {
		/* Every set stays for the linger: the final response may need any of them. */
		r->ended_cause = ev;
		if (rs->ops->ended)
			rs->ops->ended(rs->ctx, r);
	}
	if (t.actions & PCSCF_ACT_REMOVE) {
		if (from != PCSCF_REG_ENDING && rs->ops->ended &&
		    (from == PCSCF_REG_REGISTERED || from == PCSCF_REG_REFRESHING ||
		     from == PCSCF_REG_RECHALLENGED || from == PCSCF_REG_REAUTHENTICATING)) {
			r->ended_cause = ev;
			rs->ops->ended(rs->ctx, r);
		}
		reg_destroy(rs, r);
		return 0;
	}
	reg_arm(rs, r);
	if ((t.actions & (PCSCF_ACT_PROMOTE | PCSCF_ACT_REFRESH)) && rs->ops->registered)
		rs->ops->registered(rs->ctx, r);
	if (rs->ops->save)
		rs->ops->save(rs->ctx, r);
	return 0;
}

static void reg_timer_cb(struct loop *loop, struct loop_timer *t)
{
	struct pcscf_reg *r = t->ctx;

	reg_fire(r->regs, r, r->state == PCSCF_REG_ENDING ? PCSCF_REG_EV_TIMER_LINGER
							   : PCSCF_REG_EV_TIMER_AWAIT_AUTH);
}

static void sa_timer_cb(struct loop *loop, struct loop_timer *t)
{
	struct pcscf_sa *sa = t->ctx;
	struct pcscf_reg *r = sa->reg;
	struct pcscf_regs *rs = r->regs;

	switch (sa->state) {
	case PCSCF_SA_TEMPORARY:
		/* reg-await-auth: the flow decides (its rows drop the set). */
		if (reg_fire(rs, r, PCSCF_REG_EV_TIMER_AWAIT_AUTH) == 0)
			return;
		break;
	case PCSCF_SA_ESTABLISHED:
		if (reg_fire(rs, r, PCSCF_REG_EV_TIMER_EXPIRY) == 0)
			return;
		break;
	default:
		break;
	}
	sa_fire(rs, sa, PCSCF_SA_EV_EXPIRE);
	if (rs->ops->save && pcscf_reg_by_id(rs, r->id) == r)
		rs->ops->save(rs->ctx, r);
}

/* ---- the registry -------------------------------------------------------- */

int pcscf_regs_init(struct pcscf_regs *rs, struct loop *loop, const struct pcscf_clock *clock,
		    const struct pcscf_reg_policy *policy, const struct ipsec_alloc_config *alloc,
		    const struct ipsec_alloc_seam *seam, const struct pcscf_reg_ops *ops, void *ctx)
{
	int rc;

	memset(rs, 0, sizeof(*rs));
	rc = ipsec_alloc_init(&rs->alloc, alloc, seam);
	if (rc)
		return rc;
	rs->loop = loop;
	rs->clock = *clock;
	rs->policy = *policy;
	rs->ops = ops;
	rs->ctx = ctx;
	rs->next_id = 1;
	if (RAND_bytes((unsigned char *)&rs->impi_seed, sizeof(rs->impi_seed)) != 1)
		rs->impi_seed = 0x5eed;
	ipsec_table_init(&rs->by_id, sizeof(uint64_t));
	ipsec_table_init(&rs->by_key, sizeof(struct key_index));
	ipsec_table_init(&rs->by_set, sizeof(uint32_t));
	ipsec_table_init(&rs->by_impi, sizeof(struct impi_index));
	ipsec_table_init(&rs->by_addr, sizeof(struct ipsec_addr));
	return 0;
}

static int free_flow(void *arg, const void *key, void *value)
{
	struct pcscf_regs *rs = arg;
	struct pcscf_reg *r = value;
	struct pcscf_sa *sets[3] = { r->temp, r->est, r->old };

	for (unsigned i = 0; i < 3; i++) {
		if (!sets[i])
			continue;
		loop_timer_cancel(rs->loop, &sets[i]->timer);
		ipsec_sa_set_wipe(&sets[i]->set);
		free(sets[i]);
	}
	loop_timer_cancel(rs->loop, &r->timer);
	loop_timer_cancel(rs->loop, &r->watch); /* the owner's, armed or not */
	reg_free(r);
	return 0;
}

void pcscf_regs_destroy(struct pcscf_regs *rs)
{
	ipsec_table_each(&rs->by_id, free_flow, rs);
	ipsec_table_free(&rs->by_id);
	ipsec_table_free(&rs->by_key);
	ipsec_table_free(&rs->by_set);
	ipsec_table_free(&rs->by_impi);
	ipsec_table_free(&rs->by_addr);
	ipsec_alloc_destroy(&rs->alloc);
}

struct pcscf_reg *pcscf_reg_by_id(struct pcscf_regs *rs, uint64_t id)
{
	return ipsec_table_get(&rs->by_id, &id);
}

struct pcscf_sa *pcscf_sa_by_set(struct pcscf_regs *rs, uint32_t set_id)
{
	return set_id ? ipsec_table_get(&rs->by_set, &set_id) : NULL;
}

struct pcscf_reg *pcscf_regs_of_impi(struct pcscf_regs *rs, const char *impi)
{
	struct impi_index k = { impi_hash(rs, impi) };
	struct pcscf_reg *r = ipsec_table_get(&rs->by_impi, &k);

	while (r && strcmp(r->impi, impi) != 0)
		r = r->impi_next;
	return r;
}

static int set_sip(struct pcscf_reg *r, struct str impu, struct str contact, struct str call_id,
		   struct str client_canon)
{
	int rc = 0;

	if (!rc && impu.s)
		rc = pcscf_str_set(&r->impu, impu);
	if (!rc && contact.s)
		rc = pcscf_str_set(&r->contact, contact);
	if (!rc && call_id.s)
		rc = pcscf_str_set(&r->call_id, call_id);
	if (!rc && client_canon.s)
		rc = pcscf_str_set(&r->client_canon, client_canon);
	return rc;
}

int pcscf_reg_initial(struct pcscf_regs *rs, struct str impi, const struct ipsec_addr *ue,
		      const struct ipsec_addr *local, const struct ipsec_offer *offer,
		      struct str client_canon, struct str impu, struct str contact,
		      struct str call_id, struct pcscf_reg **out)
{
	struct pcscf_flow_key fk;
	struct ipsec_mech chosen;
	struct key_index k;
	struct pcscf_reg *r;
	char name[PCSCF_IMPI_MAX];
	int rc;

	if (impi.len == 0 || str_copy(name, sizeof(name), impi) != 0 || memchr(impi.s, 0, impi.len))
		return -EINVAL;
	if (ipsec_offer_choose(offer, &rs->policy.prefs, &chosen) != 0)
		return -ENOENT;
	memset(&fk, 0, sizeof(fk));
	fk.ue = *ue;
	fk.port_uc = chosen.sp.port_c;
	fk.port_us = chosen.sp.port_s;
	key_index_make(rs, &k, name, &fk);
	r = ipsec_table_get(&rs->by_key, &k);
	if (r && strcmp(r->impi, name) != 0)
		return -EEXIST;
	if (r && !pcscf_reg_lookup(r->state, PCSCF_REG_EV_RX_INITIAL, NULL))
		return reg_fire(rs, r, PCSCF_REG_EV_RX_INITIAL);
	if (!r) {
		if (rs->n_flows >= rs->policy.max_flows ||
		    (rs->policy.flows_per_address &&
		     addr_count(rs, ue) >= rs->policy.flows_per_address))
			return -ENOSPC;
		r = pcscf_reg_alloc(rs);
		if (!r)
			return -ENOMEM;
		r->id = rs->next_id++;
		r->state = PCSCF_REG_UNAUTH;
		memcpy(r->impi, name, sizeof(name));
		r->key = fk;
		if (addr_take(rs, ue) != 0) {
			reg_free(r);
			return -ENOMEM;
		}
		if (ipsec_table_add(&rs->by_id, &r->id, r) != 0) {
			addr_put(rs, ue);
			reg_free(r);
			return -ENOMEM;
		}
		rs->n_flows++;
		if (!rekey(rs, r, &fk))
			trace(rs, "flow %" PRIu64 ": key taken", r->id);
		impi_link(rs, r);
	}
	r->local = *local;
	r->chosen = chosen;
	rc = set_sip(r, impu, contact, call_id, client_canon);
	if (rc)
		return rc;
	rc = reg_fire(rs, r, PCSCF_REG_EV_RX_INITIAL);
	if (rc == 0)
		*out = r;
	return rc;
}

int pcscf_reg_challenge(struct pcscf_regs *rs, struct pcscf_reg *r, const uint8_t ik[16],
			const uint8_t ck[16], struct ipsec_mech *chosen)
{
	struct ipsec_set_params p;
	struct ipsec_sec_params local;
	struct pcscf_sa *sa = NULL;
	char fname[FLOW_NAME_LEN];
	int rc;

	if (!pcscf_reg_lookup(r->state, PCSCF_REG_EV_RX_401, NULL))
		return reg_fire(rs, r, PCSCF_REG_EV_RX_401);

	memset(&p, 0, sizeof(p));
	/* A re-authentication keeps port_ps (33.203 §7.4, 34.229 TC 8.2). */
	if (r->est)
		rc = ipsec_alloc_renew(&rs->alloc, &r->key.ue, &r->est->set.p.server, &local);
	else
		rc = ipsec_alloc_local(&rs->alloc, &r->key.ue, &local);
	if (rc)
		goto fail;
	p.ue = r->key.ue;
	p.pcscf = r->local;
	p.client = r->chosen.sp;
	p.server = local;
	rc = esp_keys_derive(r->chosen.alg, r->chosen.ealg, ik, ck, &p.keys);
	if (rc)
		goto release;
	sa = pcscf_sa_alloc(r, PCSCF_SA_TEMPORARY);
	if (!sa) {
		rc = -ENOMEM;
		goto release;
	}
	rc = ipsec_sa_set_build(&sa->set, IPSEC_SIDE_PCSCF, &p);
	if (rc)
		goto free_sa;
	rc = rs->ops->install ? rs->ops->install(rs->ctx, sa) : -ENOTSUP;
	if (rc == 0 && (!sa->set_id || ipsec_table_add(&rs->by_set, &sa->set_id, sa) != 0)) {
		if (rs->ops->remove)
			rs->ops->remove(rs->ctx, sa);
		rc = -ENOMEM;
	}
	if (rc) {
		rs->stats.install_failures++;
		goto free_sa;
	}
	rs->stats.sets_installed++;
	OPENSSL_cleanse(&p, sizeof(p));
	if (r->temp)
		sa_fire(rs, r->temp, PCSCF_SA_EV_DISCARD);
	r->temp = sa;
	sa->expires_ms = now_ms(rs) + rs->policy.await_auth_ms;
	sa_arm(rs, sa);
	trace(rs, "%s set %u installed: temporary, %s/%s, spi_pc 0x%08x spi_ps 0x%08x "
		  "port_pc %u port_ps %u",
	      flow_name(r, fname, sizeof(fname)), sa->set_id, esp_auth_alg_name(r->chosen.alg),
	      esp_enc_alg_name(r->chosen.ealg), local.spi_c, local.spi_s, local.port_c,
	      local.port_s);
	*chosen = r->chosen;
	chosen->sp = local;
	chosen->q = IPSEC_Q_NONE;
	return reg_fire(rs, r, PCSCF_REG_EV_RX_401);

free_sa:
	ipsec_sa_set_wipe(&sa->set);
	free(sa);
release:
	ipsec_alloc_release(&rs->alloc, &r->key.ue, &local);
fail:
	OPENSSL_cleanse(&p, sizeof(p));
	trace(rs, "%s: no temporary set (%s)", flow_name(r, fname, sizeof(fname)), strerror(-rc));
	reg_fire(rs, r, PCSCF_REG_EV_RX_FAILURE);
	return rc;
}

void pcscf_reg_set_server(struct pcscf_reg *r, struct str server_canon)
{
	pcscf_str_set(&r->server_canon, server_canon);
}

int pcscf_reg_register_over(struct pcscf_regs *rs, struct pcscf_sa *sa,
			    const struct ipsec_offer *offer, struct str client_canon,
			    struct str contact, struct str call_id)
{
	struct pcscf_reg *r = sa->reg;
	struct ipsec_mech chosen;
	int rc;

	if (sa->state == PCSCF_SA_TEMPORARY)
		return reg_fire(rs, r, PCSCF_REG_EV_RX_PROTECTED);
	if (!pcscf_reg_lookup(r->state, PCSCF_REG_EV_RX_REFRESH, NULL))
		return reg_fire(rs, r, PCSCF_REG_EV_RX_REFRESH);
	if (offer) {
		if (ipsec_offer_choose(offer, &rs->policy.prefs, &chosen) != 0)
			return -ENOENT;
		r->chosen = chosen;
	}
	rc = set_sip(r, STR_NULL, contact, call_id, offer ? client_canon : STR_NULL);
	if (rc)
		return rc;
	pcscf_reg_seen(rs, sa);
	return reg_fire(rs, r, PCSCF_REG_EV_RX_REFRESH);
}

int pcscf_reg_success(struct pcscf_regs *rs, struct pcscf_reg *r, bool registered,
		      uint32_t expires_s, struct str impus)
{
	if (registered) {
		r->expires_s = expires_s;
		r->registered_ms = now_ms(rs);
		if (impus.len)
			pcscf_str_set(&r->impus, impus);
	}
	return reg_fire(rs, r, registered ? PCSCF_REG_EV_RX_2XX : PCSCF_REG_EV_RX_2XX_DEREG);
}

int pcscf_reg_failure(struct pcscf_regs *rs, struct pcscf_reg *r, unsigned status)
{
	return reg_fire(rs, r, PCSCF_REG_EV_RX_FAILURE);
}

int pcscf_reg_end(struct pcscf_regs *rs, struct pcscf_reg *r, enum pcscf_reg_event cause)
{
	return reg_fire(rs, r, cause);
}

void pcscf_reg_seen(struct pcscf_regs *rs, struct pcscf_sa *sa)
{
	struct pcscf_reg *r = sa->reg;

	/* 33.203 §7.4: the old set goes once the UE uses the new one. */
	if (sa->state == PCSCF_SA_ESTABLISHED && r->old) {
		sa_fire(rs, r->old, PCSCF_SA_EV_NEW_USED);
		if (rs->ops->save)
			rs->ops->save(rs->ctx, r);
	}
}

bool pcscf_reg_usable(const struct pcscf_reg *r)
{
	switch (r->state) {
	case PCSCF_REG_REGISTERED:
	case PCSCF_REG_REFRESHING:
	case PCSCF_REG_RECHALLENGED:
	case PCSCF_REG_REAUTHENTICATING:
		return r->est != NULL;
	default:
		return false;
	}
}

struct str pcscf_reg_default_impu(const struct pcscf_reg *r)
{
	if (r->impus && r->impus[0]) {
		const char *nl = strchr(r->impus, '\n');

		return str_make(r->impus, nl ? (size_t)(nl - r->impus) : strlen(r->impus));
	}
	return r->impu ? str_from_cstr(r->impu) : STR_LIT("");
}

bool pcscf_reg_has_impu(const struct pcscf_reg *r, struct str uri)
{
	const char *p = r->impus;

	if (r->impu && str_eq_cstr(uri, r->impu))
		return true;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (str_eq(uri, str_make(p, len)))
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* ---- restart ------------------------------------------------------------ */

int pcscf_reg_restore(struct pcscf_regs *rs, struct pcscf_reg *r)
{
	struct pcscf_sa *sets[3] = { r->temp, r->est, r->old };
	struct pcscf_flow_key fk = r->key;
	int rc;

	r->regs = rs;
	rc = ipsec_table_add(&rs->by_id, &r->id, r);
	if (rc)
		return rc;
	rs->n_flows++;
	if (r->id >= rs->next_id)
		rs->next_id = r->id + 1;
	r->keyed = false;
	if (!rekey(rs, r, &fk)) {
		ipsec_table_del(&rs->by_id, &r->id);
		rs->n_flows--;
		return -EEXIST;
	}
	/* Restored flows count even beyond a limit lowered since: they exist. */
	rc = addr_take(rs, &r->key.ue);
	if (rc) {
		unkey(rs, r);
		ipsec_table_del(&rs->by_id, &r->id);
		rs->n_flows--;
		return rc;
	}
	impi_link(rs, r);
	for (unsigned i = 0; i < 3; i++) {
		struct pcscf_sa *sa = sets[i];

		if (!sa)
			continue;
		sa->reg = r;
		loop_timer_init(&sa->timer, sa_timer_cb, sa);
		if (sa->set_id && ipsec_table_add(&rs->by_set, &sa->set_id, sa) != 0)
			trace(rs, "set %u restored twice", sa->set_id);
		ipsec_alloc_reserve(&rs->alloc, &sa->set.p.ue, &sa->set.p.server);
		/* An expired set fires at once and takes the usual path. */
		sa_arm(rs, sa);
	}
	loop_timer_init(&r->timer, reg_timer_cb, r);
	reg_arm(rs, r);
	return 0;
}
