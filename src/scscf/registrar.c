/*
 * registrar.c - registration bindings under the simultaneous-registration
 * policies (DESIGN.md section 2, docs/architecture.md).
 *
 * A binding belongs to the AOR it registered (To) and, through the
 * implicit registration set the HSS returned, to every non-barred IMPU of
 * that set (TS 24.229 5.4.1.2.2: the implicitly registered identities are
 * registered with the same contacts); struct scscf_aor lists them per
 * IMPU for routing and reg-event.
 *
 * The key a REGISTER's contact is matched with depends on the policy:
 *
 *   none, modified-impi,            (IMPU, IMPI, contact URI); a new contact
 *   regevent-probe                  of (IMPU, IMPI) replaces the others
 *                                   (probe: after asking them)
 *   outbound (contact with          (IMPU, IMPI, +sip.instance, reg-id):
 *   instance and reg-id)            one binding per flow (RFC 5626 6)
 *
 * A derived IMPI (modified-impi) is just another IMPI here: its bindings
 * never share a key with the original IMPI's, so both stay.
 */
#define SLOG_COMPONENT "scscf"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "scscf/scscf.h"
#include "scscf/store.h"

static const char *const plan_op_names[] = {
#define X(id, name) name,
	SCSCF_PLAN_OPS(X)
#undef X
};

const char *scscf_plan_op_name(enum scscf_plan_op op)
{
	return plan_op_names[op];
}

/* --- AORs ------------------------------------------------------------------ */

struct scscf_aor *scscf_aor_find(struct scscf *s, struct str impu)
{
	struct ht_node *n = ht_find_str(&s->aors, impu);

	return n ? ht_entry(n, struct scscf_aor, node) : NULL;
}

struct scscf_aor *scscf_aor_get(struct scscf *s, struct str impu)
{
	struct scscf_aor *a = scscf_aor_find(s, impu);

	if (a)
		return a;
	a = calloc(1, sizeof(*a) + impu.len + 1);
	if (!a)
		return NULL;
	memcpy(a->key, impu.s, impu.len);
	if (ht_insert_str(&s->aors, &a->node, str_make(a->key, impu.len)) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

static int aor_link(struct scscf_aor *a, struct scscf_binding *b)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->b[i] == b)
			return 0;
	}
	if (a->n == a->cap) {
		unsigned cap = a->cap ? a->cap * 2 : 2;
		struct scscf_binding **nb = realloc(a->b, cap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		a->b = nb;
		a->cap = cap;
	}
	a->b[a->n++] = b;
	return 0;
}

static void aor_unlink(struct scscf_aor *a, struct scscf_binding *b)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->b[i] == b) {
			/* Keep the order: the 200 OK lists contacts as registered. */
			memmove(&a->b[i], &a->b[i + 1], (a->n - i - 1) * sizeof(a->b[0]));
			a->n--;
			return;
		}
	}
}

void scscf_aor_release(struct scscf *s, struct scscf_aor *a)
{
	if (a->n || a->subs)
		return;
	ht_remove(&s->aors, &a->node);
	free(a->b);
	free(a);
}

/* The IMPUs a binding is reachable under: its AOR and its set's non-barred ones. */
static bool binding_serves(const struct scscf_binding *b, struct str impu)
{
	if (str_eq(b->impu, impu))
		return true;
	for (unsigned i = 0; i < b->n_irs; i++) {
		if (!b->irs[i].barred && str_eq(b->irs[i].uri, impu))
			return true;
	}
	return false;
}

static int link_all(struct scscf *s, struct scscf_binding *b)
{
	struct scscf_aor *a = scscf_aor_get(s, b->impu);
	int err = a ? aor_link(a, b) : -ENOMEM;

	for (unsigned i = 0; !err && i < b->n_irs; i++) {
		if (b->irs[i].barred)
			continue;
		a = scscf_aor_get(s, b->irs[i].uri);
		err = a ? aor_link(a, b) : -ENOMEM;
	}
	return err;
}

static void unlink_all(struct scscf *s, struct scscf_binding *b, bool free_empty)
{
	struct scscf_aor *a = scscf_aor_find(s, b->impu);

	if (a) {
		aor_unlink(a, b);
		if (free_empty)
			scscf_aor_release(s, a);
	}
	for (unsigned i = 0; i < b->n_irs; i++) {
		a = scscf_aor_find(s, b->irs[i].uri);
		if (!a)
			continue;
		aor_unlink(a, b);
		if (free_empty)
			scscf_aor_release(s, a);
	}
}

/* --- bindings ------------------------------------------------------------------ */

struct scscf_binding *scscf_binding_find(struct scscf *s, uint64_t id)
{
	struct ht_node *n = ht_find_id(&s->bindings, id);

	return n ? ht_entry(n, struct scscf_binding, by_id) : NULL;
}

uint64_t scscf_binding_expires_in(struct scscf *s, const struct scscf_binding *b)
{
	uint64_t now = scscf_now_ms(s);

	return b->expires_ms > now ? (b->expires_ms - now + 999) / 1000 : 0;
}

static void binding_expired(struct loop *loop, struct loop_timer *t);

static void arm_expiry(struct scscf *s, struct scscf_binding *b)
{
	uint64_t now = scscf_now_ms(s);

	loop_timer_arm(s->loop, &b->expiry, b->expires_ms > now ? b->expires_ms - now : 0);
}

/* Copy a spec's strings into a fresh arena sized for them. */
static int fill(struct scscf_binding *b, const struct scscf_binding_spec *sp)
{
	struct arena *a = &b->arena;
	size_t need = sp->impu.len + sp->impi.len + sp->contact.len + sp->params.len +
		      sp->instance.len + sp->call_id.len + sp->icid.len + sp->orig_ioi.len +
		      sp->n_irs * sizeof(*b->irs) + 16 * 8 + 64;
	int err = 0;

	for (unsigned i = 0; i < sp->n_path; i++)
		need += sp->path[i].len + 8;
	for (unsigned i = 0; i < sp->n_irs; i++)
		need += sp->irs[i].uri.len + 8;
	arena_init(a, need, 0);
	b->impu = arena_str(a, sp->impu);
	b->impi = arena_str(a, sp->impi);
	b->contact = arena_str(a, sp->contact);
	b->params = arena_str(a, sp->params);
	b->instance = arena_str(a, sp->instance);
	b->call_id = arena_str(a, sp->call_id);
	b->icid = arena_str(a, sp->icid);
	b->orig_ioi = arena_str(a, sp->orig_ioi);
	if (!b->impu.s || !b->impi.s || !b->contact.s || !b->params.s || !b->instance.s ||
	    !b->call_id.s || !b->icid.s || !b->orig_ioi.s)
		err = -ENOMEM;
	b->n_path = sp->n_path < SCSCF_MAX_PATH ? sp->n_path : SCSCF_MAX_PATH;
	for (unsigned i = 0; !err && i < b->n_path; i++) {
		b->path[i] = arena_str(a, sp->path[i]);
		if (!b->path[i].s)
			err = -ENOMEM;
	}
	b->irs = sp->n_irs ? arena_alloc(a, sp->n_irs * sizeof(*b->irs)) : NULL;
	if (sp->n_irs && !b->irs)
		err = -ENOMEM;
	b->n_irs = err ? 0 : sp->n_irs;
	for (unsigned i = 0; !err && i < b->n_irs; i++) {
		b->irs[i].uri = arena_str(a, sp->irs[i].uri);
		b->irs[i].barred = sp->irs[i].barred;
		if (!b->irs[i].uri.s)
			err = -ENOMEM;
	}
	b->reg_id = sp->reg_id;
	b->cseq = sp->cseq;
	b->registered_ms = sp->registered_ms;
	b->expires_ms = sp->expires_ms;
	b->event = sp->event;
	b->outbound = sp->outbound;
	b->reauth = sp->reauth;
	if (err)
		arena_destroy(a);
	return err;
}

int scscf_binding_add(struct scscf *s, const struct scscf_binding_spec *sp, uint64_t id,
		      struct scscf_binding **out)
{
	struct scscf_binding *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->s = s;
	b->id = id;
	err = fill(b, sp);
	if (err) {
		free(b);
		return err;
	}
	loop_timer_init(&b->expiry, binding_expired, b);
	err = ht_insert_id(&s->bindings, &b->by_id, id);
	if (!err)
		err = link_all(s, b);
	if (err) {
		unlink_all(s, b, true);
		ht_remove(&s->bindings, &b->by_id);
		arena_destroy(&b->arena);
		free(b);
		return err;
	}
	arm_expiry(s, b);
	*out = b;
	return 0;
}

int scscf_binding_update(struct scscf *s, struct scscf_binding *b,
			 const struct scscf_binding_spec *sp)
{
	struct scscf_binding fresh;
	int err;

	memset(&fresh, 0, sizeof(fresh));
	err = fill(&fresh, sp);
	if (err)
		return err;
	/*
	 * The set may have changed: leave the AORs the new one lacks, keep
	 * the place in the others (the 200 OK lists contacts in order).
	 */
	for (unsigned i = 0; i <= b->n_irs; i++) {
		struct str uri = i == 0 ? b->impu : b->irs[i - 1].uri;
		struct scscf_aor *a;

		if (binding_serves(&fresh, uri))
			continue;
		a = scscf_aor_find(s, uri);
		if (a) {
			aor_unlink(a, b);
			scscf_aor_release(s, a);
		}
	}
	arena_destroy(&b->arena);
	b->arena = fresh.arena;
	b->impu = fresh.impu;
	b->impi = fresh.impi;
	b->contact = fresh.contact;
	b->params = fresh.params;
	b->instance = fresh.instance;
	b->call_id = fresh.call_id;
	b->icid = fresh.icid;
	b->orig_ioi = fresh.orig_ioi;
	memcpy(b->path, fresh.path, sizeof(b->path));
	b->n_path = fresh.n_path;
	b->irs = fresh.irs;
	b->n_irs = fresh.n_irs;
	b->reg_id = fresh.reg_id;
	b->cseq = fresh.cseq;
	b->registered_ms = fresh.registered_ms;
	b->expires_ms = fresh.expires_ms;
	b->event = fresh.event;
	b->outbound = fresh.outbound;
	b->reauth = fresh.reauth;
	err = link_all(s, b);
	arm_expiry(s, b);
	return err;
}

void scscf_binding_persist(struct scscf *s, const struct scscf_binding *b)
{
	if (s->store && scscf_store_binding_put(s->store, b) < 0)
		log_error("binding %" PRIu64 " of %.*s not written to the store", b->id,
			  STR_FMT(b->impu));
}

static void binding_free(struct scscf *s, struct scscf_binding *b)
{
	loop_timer_cancel(s->loop, &b->expiry);
	ht_remove(&s->bindings, &b->by_id);
	arena_destroy(&b->arena);
	free(b);
}

void scscf_binding_free_all(struct scscf *s)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;

	while ((n = ht_iter_next(&s->bindings, &it))) {
		struct scscf_binding *b = ht_entry(n, struct scscf_binding, by_id);

		unlink_all(s, b, false);
		binding_free(s, b);
	}
	it = (struct ht_iter){ 0 };
	while ((n = ht_iter_next(&s->aors, &it))) {
		struct scscf_aor *a = ht_entry(n, struct scscf_aor, node);

		ht_remove(&s->aors, n);
		free(a->b);
		free(a);
	}
}

/* --- changes -------------------------------------------------------------------- */

void scscf_changes_add(struct scscf_changes *chg, struct scscf_binding *b, enum reginfo_event ev)
{
	for (unsigned i = 0; i < chg->n; i++) {
		if (chg->c[i].b == b) {
			chg->c[i].ev = ev;
			return;
		}
	}
	if (chg->n < SCSCF_CHANGES_MAX)
		chg->c[chg->n++] = (struct scscf_change){ .b = b, .ev = ev };
}

void scscf_binding_end(struct scscf *s, struct scscf_binding *b, enum reginfo_event ev,
		       uint64_t retry_after, struct scscf_changes *chg)
{
	loop_timer_cancel(s->loop, &b->expiry);
	unlink_all(s, b, false);
	ht_remove(&s->bindings, &b->by_id);
	if (s->store && scscf_store_binding_delete(s->store, b->id) < 0)
		log_error("binding %" PRIu64 " not deleted from the store", b->id);
	log_info("binding %" PRIu64 " ended (%s): %.*s by %.*s at %.*s", b->id,
		 reginfo_event_name(ev), STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact));
	scscf_trace(s, "binding %" PRIu64 " %.*s: ended, %s", b->id, STR_FMT(b->contact),
		    reginfo_event_name(ev));
	scscf_changes_add(chg, b, ev);
	chg->c[chg->n - 1].retry_after = retry_after;
}

static bool is_ended(enum reginfo_event ev)
{
	return reginfo_event_target(ev) == REGINFO_CONTACT_TERMINATED;
}

void scscf_changes_flush(struct scscf *s, struct scscf_changes *chg)
{
	if (!chg->n)
		return;
	scscf_notify_changes(s, chg);
	for (unsigned i = 0; i < chg->n; i++) {
		struct scscf_binding *b = chg->c[i].b;
		struct scscf_aor *a;

		if (!is_ended(chg->c[i].ev))
			continue;
		a = scscf_aor_find(s, b->impu);
		if (a)
			scscf_aor_release(s, a);
		for (unsigned k = 0; k < b->n_irs; k++) {
			a = scscf_aor_find(s, b->irs[k].uri);
			if (a)
				scscf_aor_release(s, a);
		}
		arena_destroy(&b->arena);
		free(b);
	}
	chg->n = 0;
}

bool scscf_impi_registered(struct scscf *s, struct str impu, struct str impi,
			   const struct scscf_binding *except)
{
	struct scscf_aor *a = scscf_aor_find(s, impu);

	for (unsigned i = 0; a && i < a->n; i++) {
		if (a->b[i] != except && str_eq(a->b[i]->impi, impi))
			return true;
	}
	return false;
}

/* --- expiry ------------------------------------------------------------------------ */

static void binding_expired(struct loop *loop, struct loop_timer *t)
{
	struct scscf_binding *b = t->ctx;
	struct scscf *s = b->s;
	struct scscf_changes chg = { .n = 0 };

	s->stats.expired++;
	log_info("registration expired: %.*s by %.*s at %.*s (binding %" PRIu64 ")",
		 STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact), b->id);
	/* The HSS keeps one registration per (IMPI, set): only the last
	 * binding of the IMPI takes it down (TS 29.228 6.1.2). */
	if (!scscf_impi_registered(s, b->impu, b->impi, b))
		scscf_sar_background(s, b->impi, b->impu, CX_SAT_TIMEOUT_DEREGISTRATION);
	scscf_binding_end(s, b, REGINFO_EV_EXPIRED, 0, &chg);
	scscf_changes_flush(s, &chg);
}

void scscf_sar_background(struct scscf *s, struct str impi, struct str impu, enum cx_sat type)
{
	struct scscf_sar req = {
		.impi = impi,
		.impu = impu,
		.type = type,
		.data_available = true,
	};
	int err;

	scscf_trace(s, "SAR %s %.*s %.*s (background)", cx_sat_name(type), STR_FMT(impi),
		    STR_FMT(impu));
	err = s->cx->sar(s->cx_ctx, &req, 0);
	if (err)
		log_warn("SAR %s for %.*s not sent: %s", cx_sat_name(type), STR_FMT(impi),
			 strerror(-err));
}

/* --- the plan -------------------------------------------------------------------- */

static void plan_push(struct scscf_plan *p, enum scscf_plan_op op, struct scscf_binding *b,
		      unsigned c, bool outbound)
{
	if (p->n < SCSCF_PLAN_MAX)
		p->item[p->n++] = (struct scscf_plan_item){ op, b, c, outbound };
}

static bool planned(const struct scscf_plan *p, const struct scscf_binding *b)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (p->item[i].b == b)
			return true;
	}
	return false;
}

static bool answered_probe(uint64_t id, const uint64_t *answered, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (answered[i] == id)
			return true;
	}
	return false;
}

/* RFC 5626 processing applies to this contact (section 6, 24.229 5.4.1.2.2). */
static bool contact_outbound(const struct scscf *s, const struct scscf_reg_in *in,
			     const struct scscf_reg_contact *c)
{
	return (scscf_policy_flags(s->cfg.policy) & SCSCF_F_OUTBOUND) && in->sup_outbound &&
	       c->instance.len && c->reg_id;
}

void scscf_plan_make(struct scscf *s, const struct scscf_reg_in *in, bool probed,
		     const uint64_t *answered, unsigned n_answered, struct scscf_plan *p)
{
	struct scscf_aor *a = scscf_aor_find(s, in->impu);
	bool classic = false; /* a contact registered without RFC 5626 */
	unsigned flags = scscf_policy_flags(s->cfg.policy);

	memset(p, 0, sizeof(*p));
	if (in->star) {
		for (unsigned i = 0; a && i < a->n; i++) {
			struct scscf_binding *b = a->b[i];

			if (str_eq(b->impu, in->impu) && str_eq(b->impi, in->impi))
				plan_push(p, SCSCF_PLAN_REMOVE, b, 0, false);
		}
		return;
	}
	for (unsigned k = 0; k < in->n_c; k++) {
		const struct scscf_reg_contact *c = &in->c[k];
		bool ob = contact_outbound(s, in, c);
		struct scscf_binding *found = NULL;

		for (unsigned i = 0; a && i < a->n && !found; i++) {
			struct scscf_binding *b = a->b[i];

			if (!str_eq(b->impu, in->impu) || !str_eq(b->impi, in->impi))
				continue;
			if (ob ? (b->outbound && b->reg_id == c->reg_id &&
				  str_eq(b->instance, c->instance)) :
				 str_eq(b->contact, c->uri))
				found = b;
		}
		if (ob)
			p->outbound = true;
		else if (c->expires)
			classic = true;
		if (found && planned(p, found))
			continue;
		if (found)
			plan_push(p, c->expires ? SCSCF_PLAN_REFRESH : SCSCF_PLAN_REMOVE, found, k, ob);
		else if (c->expires)
			plan_push(p, SCSCF_PLAN_ADD, NULL, k, ob);
	}
	/*
	 * A contact registered without outbound replaces every other binding
	 * of (IMPU, IMPI), flows included (TS 24.229 5.4.1.2.2; 33.203: the
	 * new SA set replaces the old one). regevent-probe asks them first.
	 */
	if (classic) {
		for (unsigned i = 0; a && i < a->n; i++) {
			struct scscf_binding *b = a->b[i];
			enum scscf_plan_op op = SCSCF_PLAN_REPLACE;

			if (!str_eq(b->impu, in->impu) || !str_eq(b->impi, in->impi) ||
			    planned(p, b))
				continue;
			if (flags & SCSCF_F_PROBE) {
				if (!probed)
					op = SCSCF_PLAN_PROBE;
				else if (answered_probe(b->id, answered, n_answered))
					op = SCSCF_PLAN_KEEP;
			}
			plan_push(p, op, b, 0, false);
		}
	}
	/* The flow limit per (IMPU, IMPI, instance) (24.229 5.4.1.2.1, 5.4.1.2.2). */
	for (unsigned k = 0; p->outbound && k < in->n_c; k++) {
		const struct scscf_reg_contact *c = &in->c[k];
		unsigned flows = 0;

		if (!contact_outbound(s, in, c))
			continue;
		for (unsigned i = 0; a && i < a->n; i++) {
			struct scscf_binding *b = a->b[i];
			bool leaving = false;

			if (!b->outbound || !str_eq(b->impu, in->impu) ||
			    !str_eq(b->impi, in->impi) || !str_eq(b->instance, c->instance))
				continue;
			for (unsigned j = 0; j < p->n; j++) {
				if (p->item[j].b == b && (p->item[j].op == SCSCF_PLAN_REMOVE ||
							  p->item[j].op == SCSCF_PLAN_REPLACE))
					leaving = true;
			}
			flows += !leaving;
		}
		for (unsigned j = 0; j < p->n; j++) {
			if (p->item[j].op == SCSCF_PLAN_ADD && p->item[j].outbound &&
			    str_eq(in->c[p->item[j].c].instance, c->instance))
				flows++;
		}
		if (flows > (unsigned)s->cfg.max_flows) {
			p->refuse = 403;
			p->why = "Too Many Flows";
			return;
		}
	}
}

/* The set of a re-registration: what the bindings of (IMPU, IMPI) hold. */
static void known_irs(struct scscf *s, const struct scscf_reg_in *in,
		      const struct scscf_identity **irs, unsigned *n)
{
	struct scscf_aor *a = scscf_aor_find(s, in->impu);

	for (unsigned i = 0; a && i < a->n; i++) {
		if (str_eq(a->b[i]->impu, in->impu) && a->b[i]->n_irs) {
			*irs = a->b[i]->irs;
			*n = a->b[i]->n_irs;
			return;
		}
	}
}

static void spec_from(struct scscf *s, const struct scscf_reg_in *in, unsigned k, bool ob,
		      const struct scscf_identity *irs, unsigned n_irs,
		      struct scscf_binding_spec *sp)
{
	const struct scscf_reg_contact *c = &in->c[k];
	uint64_t now = scscf_now_ms(s);

	memset(sp, 0, sizeof(*sp));
	sp->impu = in->impu;
	sp->impi = in->impi;
	sp->contact = c->uri;
	sp->params = c->params;
	sp->instance = c->instance;
	sp->reg_id = c->reg_id;
	sp->path = in->path;
	sp->n_path = in->n_path;
	sp->call_id = in->call_id;
	sp->cseq = in->cseq;
	sp->icid = in->icid;
	sp->orig_ioi = in->orig_ioi;
	sp->irs = irs;
	sp->n_irs = n_irs;
	sp->registered_ms = now;
	sp->expires_ms = now + (uint64_t)c->expires * 1000;
	sp->event = REGINFO_EV_REGISTERED;
	sp->outbound = ob;
}

int scscf_plan_apply(struct scscf *s, const struct scscf_reg_in *in, const struct scscf_plan *p,
		     const struct scscf_identity *irs, unsigned n_irs, struct scscf_changes *chg,
		     struct scscf_binding **first)
{
	struct scscf_identity self = { .uri = in->impu };
	int err = 0;

	*first = NULL;
	if (!irs)
		known_irs(s, in, &irs, &n_irs);
	if (!irs) {
		irs = &self;
		n_irs = 1;
	}
	for (unsigned i = 0; i < p->n && !err; i++) {
		const struct scscf_plan_item *it = &p->item[i];
		struct scscf_binding_spec sp;
		struct scscf_binding *b = it->b;

		struct str what = b ? b->contact : in->c[it->c].uri;

		scscf_trace(s, "apply: %s %.*s", scscf_plan_op_name(it->op), STR_FMT(what));
		switch (it->op) {
		case SCSCF_PLAN_ADD:
			spec_from(s, in, it->c, it->outbound, irs, n_irs, &sp);
			err = scscf_binding_add(s, &sp, scscf_new_id(s), &b);
			if (err)
				break;
			scscf_binding_persist(s, b);
			log_info("registered: %.*s by %.*s at %.*s, %u s, binding %" PRIu64 "%s",
				 STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact),
				 in->c[it->c].expires, b->id, b->outbound ? " (outbound)" : "");
			scscf_changes_add(chg, b, REGINFO_EV_REGISTERED);
			if (!*first)
				*first = b;
			break;
		case SCSCF_PLAN_REFRESH:
			spec_from(s, in, it->c, it->outbound, irs, n_irs, &sp);
			sp.registered_ms = b->registered_ms;
			sp.event = REGINFO_EV_REFRESHED;
			err = scscf_binding_update(s, b, &sp);
			if (err)
				break;
			scscf_binding_persist(s, b);
			log_info("refreshed: %.*s by %.*s at %.*s, %u s, binding %" PRIu64,
				 STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact),
				 in->c[it->c].expires, b->id);
			scscf_changes_add(chg, b, REGINFO_EV_REFRESHED);
			if (!*first)
				*first = b;
			break;
		case SCSCF_PLAN_REMOVE:
			scscf_binding_end(s, b, REGINFO_EV_UNREGISTERED, 0, chg);
			break;
		case SCSCF_PLAN_REPLACE:
			/*
			 * Replaced by the same user's new registration:
			 * "unregistered", so that the old access does not
			 * re-register at once (as "deactivated" would make
			 * it, TS 24.229 5.1.1.3) and fight the new one.
			 */
			log_info("replacing binding %" PRIu64 " of %.*s by %.*s at %.*s (policy %s)",
				 b->id, STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact),
				 scscf_policy_names[s->cfg.policy]);
			scscf_binding_end(s, b, REGINFO_EV_UNREGISTERED, 0, chg);
			break;
		case SCSCF_PLAN_KEEP:
			log_info("keeping binding %" PRIu64 " of %.*s at %.*s: it answered the probe",
				 b->id, STR_FMT(b->impu), STR_FMT(b->contact));
			break;
		case SCSCF_PLAN_PROBE:
			/* Only in plans made before the probes. */
			break;
		}
	}
	return err;
}

/* --- network-initiated ------------------------------------------------------------ */

/* The bindings an administrative request is about, copied out of the AOR. */
static unsigned select_bindings(struct scscf *s, struct str impu, uint64_t id,
				struct scscf_binding **out, unsigned cap)
{
	struct scscf_aor *a;
	unsigned n = 0;

	if (id) {
		struct scscf_binding *b = scscf_binding_find(s, id);

		if (b && (!impu.len || binding_serves(b, impu)))
			out[n++] = b;
		return n;
	}
	a = scscf_aor_find(s, impu);
	for (unsigned i = 0; a && i < a->n && n < cap; i++)
		out[n++] = a->b[i];
	return n;
}

int scscf_admin_dereg(struct scscf *s, struct str impu, uint64_t id, enum reginfo_event ev,
		      uint64_t retry_after, unsigned *count)
{
	struct scscf_binding *sel[64];
	struct scscf_changes chg = { .n = 0 };
	unsigned n = select_bindings(s, impu, id, sel, 64);

	if (!is_ended(ev) || ev == REGINFO_EV_EXPIRED || ev == REGINFO_EV_UNREGISTERED)
		return -EINVAL;
	if (!n)
		return -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		struct scscf_binding *b = sel[i];

		log_info("network-initiated deregistration (%s): %.*s by %.*s at %.*s",
			 reginfo_event_name(ev), STR_FMT(b->impu), STR_FMT(b->impi),
			 STR_FMT(b->contact));
		/* TS 24.229 5.4.1.5: the HSS hears of it once per IMPI. */
		if (!scscf_impi_registered(s, b->impu, b->impi, b))
			scscf_sar_background(s, b->impi, b->impu, CX_SAT_ADMINISTRATIVE_DEREGISTRATION);
		scscf_binding_end(s, b, ev, ev == REGINFO_EV_PROBATION ? retry_after : 0, &chg);
		s->stats.deregistrations++;
	}
	scscf_changes_flush(s, &chg);
	*count = n;
	return 0;
}

void scscf_flow_failed(struct scscf *s, uint64_t id)
{
	struct scscf_changes chg = { .n = 0 };
	struct scscf_binding *b = scscf_binding_find(s, id);

	if (!b)
		return;
	log_notice("flow failed (430 from the edge proxy, RFC 5626 5.3): %.*s by %.*s at %.*s,"
		   " binding %" PRIu64 " deactivated",
		   STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact), b->id);
	/* As for an expiry: the HSS hears of it when the IMPI has nothing left. */
	if (!scscf_impi_registered(s, b->impu, b->impi, b))
		scscf_sar_background(s, b->impi, b->impu, CX_SAT_TIMEOUT_DEREGISTRATION);
	scscf_binding_end(s, b, REGINFO_EV_DEACTIVATED, 0, &chg);
	s->stats.flows_failed++;
	scscf_changes_flush(s, &chg);
}

int scscf_admin_reauth(struct scscf *s, struct str impu, uint64_t id, unsigned *count)
{
	struct scscf_binding *sel[64];
	struct scscf_changes chg = { .n = 0 };
	unsigned n = select_bindings(s, impu, id, sel, 64);
	uint64_t until = scscf_now_ms(s) + s->cfg.reauth_expiry_ms;

	if (!n)
		return -ENOENT;
	/*
	 * TS 24.229 5.4.1.6: shorten the registration and tell the UE with
	 * "shortened"; it re-registers, and that REGISTER is challenged
	 * whatever its protection. Only this binding: the other accesses of
	 * the IMPU keep their registrations and their SAs.
	 */
	for (unsigned i = 0; i < n; i++) {
		struct scscf_binding *b = sel[i];

		b->reauth = true;
		if (b->expires_ms > until)
			b->expires_ms = until;
		b->event = REGINFO_EV_SHORTENED;
		arm_expiry(s, b);
		scscf_binding_persist(s, b);
		log_info("network-initiated re-authentication: %.*s by %.*s at %.*s, %" PRIu64
			 " s left", STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact),
			 scscf_binding_expires_in(s, b));
		scscf_changes_add(&chg, b, REGINFO_EV_SHORTENED);
	}
	scscf_changes_flush(s, &chg);
	*count = n;
	return 0;
}
