/*
 * regevent.c - the P-CSCF as a reg-event watcher (RFC 3680, TS 24.229
 * §5.2.3 and §5.2.5).
 *
 * Once a flow has registered, the P-CSCF holds a subscription to the reg
 * event of the IMPU the flow registered (the To of its REGISTER); flows of
 * the same IMPU share one subscription (docs/architecture.md: "once per
 * IMPU"). The subscription goes when its last flow ends. A NOTIFY whose
 * document says a flow's contact is terminated ends that flow, and so its
 * SA sets (after the linger, so that the NOTIFY the S-CSCF sends the UE on
 * its own subscription still gets through).
 *
 * SUBSCRIBEs go to the configured S-CSCF, as the REGISTERs do. The Call-ID
 * of a subscription names it ("rev<id>.<random>@<our host>"), so a NOTIFY
 * for one of ours is told apart from the NOTIFYs the S-CSCF sends the UEs
 * through us. A subscription that fails or is terminated by the notifier
 * while flows still need it is tried again with a new dialog.
 */
#define SLOG_COMPONENT "pcscf"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcscf/context.h"
#include "reginfo/reginfo.h"
#include "sip/print.h"

#define RETRY_MS 5000
#define CALLID_PREFIX "rev"

enum sub_state {
	SUB_SUBSCRIBING, /* initial SUBSCRIBE sent */
	SUB_ACTIVE,
	SUB_REFRESHING,
	SUB_WAITING,     /* failed or terminated; tried again when the timer fires */
	SUB_ENDING,      /* unsubscribe (Expires: 0) sent; freed on its answer */
};

static const char *const sub_state_names[] = { "subscribing", "active", "refreshing",
					       "waiting", "ending" };

struct sub {
	uint64_t id;
	struct pcscf_regevent *rev;
	char *impu;
	uint64_t hash;
	struct sub *hash_next;
	char call_id[128];
	char from_tag[SIP_TAG_LEN];
	char to_tag[128];
	uint32_t cseq;
	enum sub_state state;
	uint64_t *users;          /* flow ids */
	unsigned n_users, cap_users;
	struct loop_timer timer;  /* refresh or retry */
	struct reginfo_watch watch;
};

struct pcscf_regevent {
	struct pcscf *pc;
	struct ipsec_table by_id;   /* u64 -> sub */
	struct ipsec_table by_hash; /* u64 IMPU hash -> chain */
	uint64_t next_id;
	uint64_t seed;
};

static const struct sip_client_ops sub_ops;

static uint64_t hash_of(const struct pcscf_regevent *rev, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull ^ rev->seed;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static struct sub *find(struct pcscf_regevent *rev, const char *impu)
{
	uint64_t h = hash_of(rev, impu);
	struct sub *s = ipsec_table_get(&rev->by_hash, &h);

	while (s && strcmp(s->impu, impu) != 0)
		s = s->hash_next;
	return s;
}

static void sub_free(struct pcscf_regevent *rev, struct sub *s)
{
	void **head = ipsec_table_ref(&rev->by_hash, &s->hash);
	struct sub **pp = head ? (struct sub **)head : NULL;

	while (pp && *pp && *pp != s)
		pp = &(*pp)->hash_next;
	if (pp && *pp)
		*pp = s->hash_next;
	if (head && !*head)
		ipsec_table_del(&rev->by_hash, &s->hash);
	ipsec_table_del(&rev->by_id, &s->id);
	loop_timer_cancel(rev->pc->loop, &s->timer);
	log_info("reg-event subscription for %s gone", s->impu);
	free(s->users);
	free(s->impu);
	free(s);
}

/* A new dialog: Call-ID, From tag, CSeq. */
static void new_dialog(struct pcscf_regevent *rev, struct sub *s)
{
	char rnd[SIP_TAG_LEN];
	const char *host = rev->pc->advertise;
	size_t hl = strcspn(host, ":");

	if (host[0] == '[')
		hl = strcspn(host, "]") + 1;
	sip_stack_new_tag(rev->pc->st, rnd);
	sip_stack_new_tag(rev->pc->st, s->from_tag);
	snprintf(s->call_id, sizeof(s->call_id), CALLID_PREFIX "%" PRIu64 ".%s@%.*s", s->id, rnd,
		 (int)hl, host);
	s->to_tag[0] = '\0';
	s->cseq = 0;
	reginfo_watch_reset(&s->watch);
}

static int send_subscribe(struct pcscf_regevent *rev, struct sub *s, uint32_t expires)
{
	struct pcscf *pc = rev->pc;
	struct sip_client_req req = { .ops = &sub_ops, .ctx = rev, .ref = s->id,
				      .dest = pc->scscf_flow };
	struct buf b;
	int rc;

	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("SUBSCRIBE"), str_from_cstr(s->impu));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<sip:pcscf@%s>;tag=%s", pc->advertise, s->from_tag);
	if (s->to_tag[0])
		sip_print_hdrf(&b, SIP_HDR_TO, "<%s>;tag=%s", s->impu, s->to_tag);
	else
		sip_print_hdrf(&b, SIP_HDR_TO, "<%s>", s->impu);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(s->call_id));
	sip_print_hdrf(&b, SIP_HDR_CSEQ, "%u SUBSCRIBE", ++s->cseq);
	sip_print_hdr(&b, SIP_HDR_EVENT, STR_LIT("reg"));
	sip_print_hdr(&b, SIP_HDR_ACCEPT, STR_LIT(REGINFO_CONTENT_TYPE));
	sip_print_hdrf(&b, SIP_HDR_CONTACT, "<sip:%s>", pc->advertise);
	sip_print_hdrf(&b, SIP_HDR_EXPIRES, "%u", expires);
	sip_print_hdrf(&b, SIP_HDR_P_ASSERTED_IDENTITY, "<sip:pcscf@%s>", pc->advertise);
	sip_print_body(&b, STR_NULL, STR_NULL);
	rc = buf_error(&b);
	if (rc == 0) {
		req.msg = buf_str(&b);
		rc = sip_client_txn_start(pc->st, &req, NULL);
	}
	buf_free(&b);
	if (rc)
		log_warn("reg-event SUBSCRIBE for %s not sent: %s", s->impu, strerror(-rc));
	return rc;
}

static void retry_later(struct pcscf_regevent *rev, struct sub *s, uint64_t ms)
{
	s->state = SUB_WAITING;
	loop_timer_arm(rev->pc->loop, &s->timer, ms);
}

static void subscribe(struct pcscf_regevent *rev, struct sub *s)
{
	new_dialog(rev, s);
	s->state = SUB_SUBSCRIBING;
	if (send_subscribe(rev, s, (uint32_t)rev->pc->cfg.regevent_expires))
		retry_later(rev, s, RETRY_MS);
}

static void sub_timer(struct loop *loop, struct loop_timer *t)
{
	struct sub *s = t->ctx;
	struct pcscf_regevent *rev = s->rev;

	if (s->state == SUB_WAITING) {
		subscribe(rev, s);
	} else if (s->state == SUB_ACTIVE) {
		s->state = SUB_REFRESHING;
		if (send_subscribe(rev, s, (uint32_t)rev->pc->cfg.regevent_expires))
			retry_later(rev, s, RETRY_MS);
	}
}

static void on_sub_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			    struct sip_rx *rx)
{
	struct pcscf_regevent *rev = ctx;
	struct sub *s = ipsec_table_get(&rev->by_id, &ref);
	struct sip_msg *m = rx->msg;
	const struct sip_addr *to;
	uint32_t expires = 0;

	if (!s || m->status < 200)
		return;
	if (s->state == SUB_ENDING) {
		sub_free(rev, s);
		return;
	}
	if (m->status >= 300) {
		log_warn("reg-event SUBSCRIBE for %s answered %u; trying again in %u s", s->impu,
			 m->status, RETRY_MS / 1000);
		retry_later(rev, s, RETRY_MS);
		return;
	}
	if (!s->to_tag[0] && sip_msg_to(m, &to, NULL) == 0 && to->tag.len)
		str_copy(s->to_tag, sizeof(s->to_tag), to->tag);
	if (sip_msg_expires(m, &expires, NULL) != 0)
		expires = (uint32_t)rev->pc->cfg.regevent_expires;
	s->state = SUB_ACTIVE;
	/* Refresh at two thirds of what was granted (RFC 6665 4.1.2.2 leaves it to us). */
	loop_timer_arm(rev->pc->loop, &s->timer,
		       expires > 3 ? (uint64_t)expires * 2000 / 3 : 1000);
	log_info("reg-event subscription for %s active for %u s (%s)", s->impu, expires,
		 s->call_id);
}

static void on_sub_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct pcscf_regevent *rev = ctx;
	struct sub *s = ipsec_table_get(&rev->by_id, &ref);

	if (!s)
		return;
	if (s->state == SUB_ENDING) {
		sub_free(rev, s);
		return;
	}
	log_warn("reg-event SUBSCRIBE for %s failed (%s); trying again in %u s", s->impu,
		 strerror(-err), RETRY_MS / 1000);
	retry_later(rev, s, RETRY_MS);
}

static const struct sip_client_ops sub_ops = {
	.response = on_sub_response,
	.failure = on_sub_failure,
};

/* ---- flows holding subscriptions ---------------------------------------- */

void pcscf_regevent_hold(struct pcscf_regevent *rev, struct pcscf_reg *r)
{
	struct sub *s;

	if (!rev || r->rev_held || !r->impu || !r->impu[0])
		return;
	s = find(rev, r->impu);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || !(s->impu = strdup(r->impu))) {
			free(s);
			return;
		}
		s->id = rev->next_id++;
		s->rev = rev;
		s->hash = hash_of(rev, s->impu);
		loop_timer_init(&s->timer, sub_timer, s);
		{
			void **head = ipsec_table_ref(&rev->by_hash, &s->hash);

			if (head) {
				s->hash_next = *head;
				*head = s;
			} else if (ipsec_table_add(&rev->by_hash, &s->hash, s) != 0) {
				free(s->impu);
				free(s);
				return;
			}
		}
		ipsec_table_add(&rev->by_id, &s->id, s);
		subscribe(rev, s);
	}
	if (s->n_users == s->cap_users) {
		unsigned cap = s->cap_users ? s->cap_users * 2 : 4;
		uint64_t *u = realloc(s->users, cap * sizeof(*u));

		if (!u)
			return;
		s->users = u;
		s->cap_users = cap;
	}
	s->users[s->n_users++] = r->id;
	r->rev_held = true;
	if (s->state == SUB_ENDING) {
		/* Wanted again before the unsubscribe was answered: a new dialog. */
		subscribe(rev, s);
	}
}

void pcscf_regevent_release(struct pcscf_regevent *rev, struct pcscf_reg *r)
{
	struct sub *s;

	if (!rev || !r->rev_held)
		return;
	r->rev_held = false;
	s = find(rev, r->impu);
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_users; i++) {
		if (s->users[i] == r->id) {
			s->users[i] = s->users[--s->n_users];
			break;
		}
	}
	if (s->n_users)
		return;
	loop_timer_cancel(rev->pc->loop, &s->timer);
	if (s->state == SUB_ACTIVE || s->state == SUB_REFRESHING || s->state == SUB_SUBSCRIBING) {
		/* RFC 6665 4.1.2.3: unsubscribe with Expires: 0, freed on the answer. */
		s->state = SUB_ENDING;
		if (send_subscribe(rev, s, 0) == 0)
			return;
	}
	sub_free(rev, s);
}

/* ---- NOTIFY -------------------------------------------------------------- */

/* Our subscription named by a Call-ID, or NULL. */
static struct sub *by_call_id(struct pcscf_regevent *rev, struct str cid)
{
	uint64_t id = 0;
	size_t i = strlen(CALLID_PREFIX);
	struct sub *s;

	if (cid.len <= i || memcmp(cid.s, CALLID_PREFIX, i) != 0)
		return NULL;
	for (; i < cid.len && cid.s[i] >= '0' && cid.s[i] <= '9' && id < UINT64_MAX / 10; i++)
		id = id * 10 + (uint64_t)(cid.s[i] - '0');
	s = ipsec_table_get(&rev->by_id, &id);
	return s && str_eq_cstr(cid, s->call_id) ? s : NULL;
}

/* End the subscription's flows whose contact the document terminates. */
static void apply(struct pcscf_regevent *rev, struct sub *s, const struct reginfo *doc)
{
	struct pcscf *pc = rev->pc;
	uint64_t ends[64];
	unsigned n = 0;

	for (const struct reginfo_reg *g = doc->regs; g; g = g->next) {
		bool all = g->state == REGINFO_REG_TERMINATED;

		for (unsigned i = 0; i < s->n_users && n < 64; i++) {
			struct pcscf_reg *r = pcscf_reg_by_id(&pc->regs, s->users[i]);
			struct sip_uri mine;
			bool hit;

			if (!r || !r->contact || sip_uri_parse(str_from_cstr(r->contact), &mine, NULL))
				continue;
			hit = all && (str_eq_cstr(g->aor, s->impu) || pcscf_reg_has_impu(r, g->aor));
			for (const struct reginfo_contact *c = g->contacts; c && !hit; c = c->next) {
				struct sip_uri u;

				hit = c->state == REGINFO_CONTACT_TERMINATED &&
				      sip_uri_parse(c->uri, &u, NULL) == 0 && sip_uri_equal(&mine, &u);
			}
			if (hit)
				ends[n++] = r->id;
		}
	}
	/* Ending a flow releases its hold on s: collect first, then end. */
	for (unsigned i = 0; i < n; i++) {
		struct pcscf_reg *r = pcscf_reg_by_id(&pc->regs, ends[i]);

		if (!r)
			continue;
		log_notice("flow %" PRIu64 " (%s): reg-event NOTIFY terminates contact %s", r->id,
			   r->impi, r->contact);
		pcscf_reg_end(&pc->regs, r, PCSCF_REG_EV_NOTIFY_TERMINATED);
	}
}

bool pcscf_regevent_request(struct pcscf_regevent *rev, sip_txn_id stx, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	const struct sip_hdr *h;
	struct sip_substate ss;
	struct reginfo doc;
	struct reginfo_error err;
	struct arena a;
	struct str cid;
	struct sub *s;
	bool terminated = false;

	if (!rev || m->method != SIP_METHOD_NOTIFY || sip_msg_call_id(m, &cid, NULL) != 0)
		return false;
	s = by_call_id(rev, cid);
	if (!s)
		return false;
	h = sip_msg_hdr(m, SIP_HDR_SUBSCRIPTION_STATE);
	if (h && sip_substate_parse(h->value, &ss, NULL) == 0)
		terminated = ss.state_id == SIP_SUBSTATE_TERMINATED;
	sip_server_txn_respond(rev->pc->st, stx, 200, STR_NULL);
	if (!s->to_tag[0]) {
		const struct sip_addr *from;

		if (sip_msg_from(m, &from, NULL) == 0 && from->tag.len)
			str_copy(s->to_tag, sizeof(s->to_tag), from->tag);
	}
	arena_init(&a, 4096, 0);
	if (m->body.len && reginfo_parse(m->body.s, m->body.len, &a, &doc, &err) == 0) {
		enum reginfo_verdict v = reginfo_watch_check(&s->watch, doc.version, doc.state);

		log_info("reg-event NOTIFY for %s: version %" PRIu64 " (%s), %s", s->impu,
			 doc.version, reginfo_doc_state_name(doc.state), reginfo_verdict_name(v));
		if (v == REGINFO_APPLY)
			apply(rev, s, &doc);
	} else if (m->body.len) {
		log_warn("reg-event NOTIFY for %s: body refused: %s", s->impu, err.msg);
	}
	arena_destroy(&a);
	/* apply() may have ended the last flow, and with it the subscription. */
	s = by_call_id(rev, cid);
	if (s && terminated && s->state != SUB_ENDING) {
		log_info("reg-event subscription for %s terminated by the notifier", s->impu);
		if (s->n_users)
			retry_later(rev, s, RETRY_MS);
		else
			sub_free(rev, s);
	}
	return true;
}

/* ---- life --------------------------------------------------------------- */

int pcscf_regevent_create(struct pcscf *pc, struct pcscf_regevent **out)
{
	struct pcscf_regevent *rev = calloc(1, sizeof(*rev));

	if (!rev)
		return -ENOMEM;
	rev->pc = pc;
	rev->next_id = 1;
	if (RAND_bytes((unsigned char *)&rev->seed, sizeof(rev->seed)) != 1)
		rev->seed = 0x9e3779b97f4a7c15ull;
	ipsec_table_init(&rev->by_id, sizeof(uint64_t));
	ipsec_table_init(&rev->by_hash, sizeof(uint64_t));
	*out = rev;
	return 0;
}

static int first_sub(void *arg, const void *key, void *value)
{
	*(struct sub **)arg = value;
	return 1;
}

void pcscf_regevent_destroy(struct pcscf_regevent *rev)
{
	struct sub *s;

	if (!rev)
		return;
	while (rev->by_id.count) {
		s = NULL;
		ipsec_table_each(&rev->by_id, first_sub, &s);
		sub_free(rev, s);
	}
	ipsec_table_free(&rev->by_id);
	ipsec_table_free(&rev->by_hash);
	free(rev);
}

static int count(void *arg, const void *key, void *value)
{
	unsigned *c = arg;
	const struct sub *s = value;

	c[0]++;
	if (s->state == SUB_ACTIVE || s->state == SUB_REFRESHING)
		c[1]++;
	return 0;
}

void pcscf_regevent_counts(const struct pcscf_regevent *rev, unsigned *held, unsigned *active)
{
	unsigned c[2] = { 0, 0 };

	if (rev)
		ipsec_table_each(&rev->by_id, count, c);
	*held = c[0];
	*active = c[1];
}

static int describe(void *arg, const void *key, void *value)
{
	struct json_writer *w = arg;
	const struct sub *s = value;

	json_begin_object(w);
	json_kv_cstring(w, "impu", s->impu);
	json_kv_cstring(w, "state", sub_state_names[s->state]);
	json_kv_cstring(w, "call_id", s->call_id);
	json_kv_int(w, "flows", s->n_users);
	json_end_object(w);
	return 0;
}

void pcscf_regevent_json(const struct pcscf_regevent *rev, struct json_writer *w)
{
	json_begin_array(w);
	if (rev)
		ipsec_table_each(&rev->by_id, describe, w);
	json_end_array(w);
}
