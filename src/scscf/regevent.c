/*
 * regevent.c - the reg event package (RFC 3680) at the S-CSCF (TS 24.229
 * 5.4.2.1): subscriptions from UEs and P-CSCFs, NOTIFYs with full or
 * partial state and increasing versions, and the regevent-probe.
 *
 * A subscription is to one IMPU; its NOTIFYs describe every IMPU of the
 * implicit registration sets registered with it (24.229 5.4.2.1.2), each
 * with the contacts that serve it. Contact ids are the binding ids
 * ("c12"), so a watcher can follow one binding across documents.
 *
 * The probe (DESIGN.md section 2, regevent-probe): before a new contact
 * replaces a binding, the UE's subscription of that binding (the one whose
 * Contact has the binding's host and port) gets a NOTIFY with the current
 * state. It travels the old Path, through the old P-CSCF and the old SAs;
 * a 2xx says the old access is alive.
 */
#define SLOG_COMPONENT "scscf"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "scscf/scscf.h"
#include "scscf/store.h"
#include "sip/print.h"

/* A NOTIFY on its way; found again by its id when the outcome comes. */
struct notify_tx {
	struct ht_node by_id;
	uint64_t id;
	uint64_t sub;                   /* subscription id */
	uint64_t probe_regtx;           /* 0: not a probe */
	uint64_t probe_binding;
};

#define REGINFO_BODY_MAX (64 * 1024)

/* --- subscriptions ------------------------------------------------------------ */

static struct scscf_sub *sub_find(struct scscf *s, uint64_t id)
{
	struct ht_node *n = ht_find_id(&s->subs, id);

	return n ? ht_entry(n, struct scscf_sub, by_id) : NULL;
}

static struct scscf_sub *sub_by_dialog(struct scscf *s, struct str key)
{
	struct ht_node *n = ht_find_str(&s->sub_dialogs, key);

	return n ? ht_entry(n, struct scscf_sub, by_dialog) : NULL;
}

static void sub_unlink_aor(struct scscf *s, struct scscf_sub *sub)
{
	struct scscf_aor *a = scscf_aor_find(s, sub->impu);

	if (!a)
		return;
	for (struct scscf_sub **pp = &a->subs; *pp; pp = &(*pp)->next_in_aor) {
		if (*pp == sub) {
			*pp = sub->next_in_aor;
			break;
		}
	}
	sub->next_in_aor = NULL;
	scscf_aor_release(s, a);
}

static void sub_free(struct scscf *s, struct scscf_sub *sub, bool forget)
{
	loop_timer_cancel(s->loop, &sub->expiry);
	ht_remove(&s->subs, &sub->by_id);
	ht_remove(&s->sub_dialogs, &sub->by_dialog);
	if (forget && s->store && scscf_store_sub_delete(s->store, sub->id) < 0)
		log_error("subscription %" PRIu64 " not deleted from the store", sub->id);
	sub_unlink_aor(s, sub);
	arena_destroy(&sub->arena);
	free(sub);
}

void scscf_sub_free_all(struct scscf *s)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;

	while ((n = ht_iter_next(&s->subs, &it)))
		sub_free(s, ht_entry(n, struct scscf_sub, by_id), false);
	it = (struct ht_iter){ 0 };
	while ((n = ht_iter_next(&s->notifies, &it))) {
		ht_remove(&s->notifies, n);
		free(ht_entry(n, struct notify_tx, by_id));
	}
}

static void sub_persist(struct scscf *s, const struct scscf_sub *sub)
{
	if (s->store && scscf_store_sub_put(s->store, sub) < 0)
		log_error("subscription %" PRIu64 " not written to the store", sub->id);
}

static void sub_expired(struct loop *loop, struct loop_timer *t);

static int sub_link(struct scscf *s, struct scscf_sub *sub)
{
	struct scscf_aor *a;
	uint64_t now = scscf_now_ms(s);
	int err;

	sub->s = s;
	sub->dialog_key = str_from_cstr(arena_printf(&sub->arena, "%.*s\n%.*s\n%.*s",
						     STR_FMT(sub->call_id),
						     STR_FMT(sub->remote_tag),
						     STR_FMT(sub->local_tag)));
	if (!sub->dialog_key.s)
		return -ENOMEM;
	a = scscf_aor_get(s, sub->impu);
	if (!a)
		return -ENOMEM;
	err = ht_insert_id(&s->subs, &sub->by_id, sub->id);
	if (!err)
		err = ht_insert_str(&s->sub_dialogs, &sub->by_dialog, sub->dialog_key);
	if (err) {
		ht_remove(&s->subs, &sub->by_id);
		scscf_aor_release(s, a);
		return err;
	}
	sub->next_in_aor = a->subs;
	a->subs = sub;
	loop_timer_init(&sub->expiry, sub_expired, sub);
	loop_timer_arm(s->loop, &sub->expiry, sub->expires_ms > now ? sub->expires_ms - now : 0);
	return 0;
}

/* --- documents -------------------------------------------------------------- */

/* The IMPUs a subscription reports: every non-barred one of the sets its AOR belongs to. */
struct impu_set {
	struct str v[64];
	unsigned n;
};

static void set_add(struct impu_set *set, struct str impu)
{
	for (unsigned i = 0; i < set->n; i++) {
		if (str_eq(set->v[i], impu))
			return;
	}
	if (set->n < 64)
		set->v[set->n++] = impu;
}

static bool serves(const struct scscf_binding *b, struct str impu)
{
	if (str_eq(b->impu, impu))
		return true;
	for (unsigned i = 0; i < b->n_irs; i++) {
		if (!b->irs[i].barred && str_eq(b->irs[i].uri, impu))
			return true;
	}
	return false;
}

static void set_from_binding(struct impu_set *set, const struct scscf_binding *b)
{
	set_add(set, b->impu);
	for (unsigned i = 0; i < b->n_irs; i++) {
		if (!b->irs[i].barred)
			set_add(set, b->irs[i].uri);
	}
}

static const struct scscf_change *change_of(const struct scscf_changes *chg,
					    const struct scscf_binding *b)
{
	for (unsigned i = 0; chg && i < chg->n; i++) {
		if (chg->c[i].b == b)
			return &chg->c[i];
	}
	return NULL;
}

static int add_params(struct reginfo_contact *c, struct arena *a, struct str params)
{
	struct str rest = params;
	struct sip_param p;
	int rc;

	while ((rc = sip_param_next(&rest, &p)) == 1) {
		struct str value = STR_NULL;

		/* RFC 3680 5.1: the value as in the Contact header, quotes and all. */
		if (p.value.s)
			value = p.quoted ? str_make(p.value.s - 1, p.value.len + 2) : p.value;
		if (!reginfo_add_param(c, a, p.name, value))
			return -ENOMEM;
	}
	return 0;
}

/*
 * One contact: the binding as the IMPU `impu` sees it. An implicitly
 * registered IMPU's new contact is "created" rather than "registered"
 * (24.229 5.4.2.1.2): the UE did not register that identity itself.
 */
static int add_contact(struct scscf *s, struct reginfo_reg *r, struct arena *a,
		       const struct scscf_binding *b, struct str impu, enum reginfo_event ev,
		       uint64_t retry_after)
{
	struct reginfo_contact *c;
	char id[32];
	enum reginfo_event first;
	uint64_t now = scscf_now_ms(s);

	snprintf(id, sizeof(id), "c%" PRIu64, b->id);
	c = reginfo_add_contact(r, a, str_from_cstr(id), b->contact);
	if (!c)
		return -ENOMEM;
	first = str_eq(b->impu, impu) ? REGINFO_EV_REGISTERED : REGINFO_EV_CREATED;
	if (ev == REGINFO_EV_REGISTERED)
		ev = first;
	if (!reginfo_event_allowed(REGINFO_CONTACT_INIT, ev, NULL) &&
	    reginfo_contact_apply(c, first) < 0)
		return -EINVAL;
	if (reginfo_contact_apply(c, ev) < 0)
		return -EINVAL;
	c->has = REGINFO_HAS_DURATION | REGINFO_HAS_CSEQ;
	c->duration_registered = now > b->registered_ms ? (now - b->registered_ms) / 1000 : 0;
	c->cseq = b->cseq;
	c->callid = arena_str(a, b->call_id);
	if (c->state == REGINFO_CONTACT_ACTIVE) {
		c->has |= REGINFO_HAS_EXPIRES;
		c->expires = scscf_binding_expires_in(s, b);
	}
	if (ev == REGINFO_EV_PROBATION) {
		c->has |= REGINFO_HAS_RETRY_AFTER;
		c->retry_after = retry_after;
	}
	return add_params(c, a, b->params);
}

static void reg_id(struct str impu, char out[16])
{
	snprintf(out, 16, "r%08x", (unsigned)(ht_hash_str(impu) & 0xffffffffu));
}

/*
 * Build the document for a subscription to `impu`: full (every live
 * binding, plus those `chg` ended) or partial (only what `chg` lists).
 */
static int build_doc(struct scscf *s, struct str impu, const struct scscf_changes *chg,
		     bool full, uint64_t version, struct arena *a, struct reginfo *doc)
{
	struct scscf_aor *aor = scscf_aor_find(s, impu);
	struct impu_set set = { .n = 0 };
	int err = 0;

	reginfo_init(doc, version, full ? REGINFO_DOC_FULL : REGINFO_DOC_PARTIAL);
	set_add(&set, impu);
	for (unsigned i = 0; aor && i < aor->n; i++)
		set_from_binding(&set, aor->b[i]);
	for (unsigned i = 0; chg && i < chg->n; i++) {
		if (serves(chg->c[i].b, impu))
			set_from_binding(&set, chg->c[i].b);
	}
	for (unsigned k = 0; k < set.n && !err; k++) {
		struct scscf_aor *ua = scscf_aor_find(s, set.v[k]);
		struct reginfo_reg *r;
		bool active = false, any = false;
		char id[16];

		reg_id(set.v[k], id);
		r = reginfo_add_reg(doc, a, set.v[k], str_from_cstr(id), REGINFO_REG_INIT);
		if (!r)
			return -ENOMEM;
		/* Live bindings (full state), or the changed ones among them. */
		for (unsigned i = 0; ua && i < ua->n && !err; i++) {
			const struct scscf_binding *b = ua->b[i];
			const struct scscf_change *c = change_of(chg, b);

			if (!full && !c)
				continue;
			err = add_contact(s, r, a, b, set.v[k], c ? c->ev : b->event, 0);
			active = true;
			any = true;
		}
		/* Ended bindings: they are out of the AORs already. */
		for (unsigned i = 0; chg && i < chg->n && !err; i++) {
			const struct scscf_change *c = &chg->c[i];

			if (reginfo_event_target(c->ev) != REGINFO_CONTACT_TERMINATED ||
			    !serves(c->b, set.v[k]))
				continue;
			err = add_contact(s, r, a, c->b, set.v[k], c->ev, c->retry_after);
			any = true;
		}
		/* RFC 3680 5.1: active with a live contact; terminated when the last went. */
		if (active || (ua && ua->n))
			r->state = REGINFO_REG_ACTIVE;
		else if (any)
			r->state = REGINFO_REG_TERMINATED;
		else
			r->state = REGINFO_REG_INIT;
	}
	return err;
}

int scscf_reginfo_full(struct scscf *s, struct str impu, uint64_t version, struct arena *a,
		       struct reginfo *doc)
{
	return build_doc(s, impu, NULL, true, version, a, doc);
}

/* --- NOTIFY ---------------------------------------------------------------------- */

static struct str first_route_uri(struct str route)
{
	struct sip_addr addr;

	if (sip_addr_parse(route, &addr, NULL) < 0)
		return STR_NULL;
	return addr.uri;
}

/*
 * Send a NOTIFY on a subscription. `state` is the Subscription-State value
 * ("active;expires=600", "terminated;reason=noresource").
 */
static int send_notify(struct scscf *s, struct scscf_sub *sub, const struct scscf_changes *chg,
		       bool full, const char *state, uint64_t probe_regtx, uint64_t probe_binding)
{
	struct arena a;
	struct reginfo doc;
	struct reginfo_error rerr;
	struct notify_tx *n = NULL;
	struct buf b;
	char *body = NULL;
	size_t len = 0;
	struct str next_hop;
	int err;

	arena_init(&a, 4096, 0);
	buf_init(&b);
	err = build_doc(s, sub->impu, chg, full, sub->version, &a, &doc);
	if (!err) {
		body = arena_alloc(&a, REGINFO_BODY_MAX);
		err = body ? reginfo_build(&doc, body, REGINFO_BODY_MAX, &len, &rerr) : -ENOMEM;
		if (err == -EINVAL)
			log_error("reginfo for %.*s refused: %s", STR_FMT(sub->impu), rerr.msg);
	}
	if (err)
		goto out;
	sub->version++;
	sub->cseq++;
	if (full)
		sub->sent_full = true;
	sip_print_request_line(&b, STR_LIT("NOTIFY"), sub->target);
	for (unsigned i = 0; i < sub->n_routes; i++)
		buf_printf(&b, "Route: %.*s\r\n", STR_FMT(sub->routes[i]));
	buf_printf(&b,
		   "Max-Forwards: 70\r\n"
		   "From: <%.*s>;tag=%.*s\r\n"
		   "To: <%.*s>;tag=%.*s\r\n"
		   "Call-ID: %.*s\r\n"
		   "CSeq: %u NOTIFY\r\n"
		   "Contact: <sip:%s>\r\n"
		   "Event: reg\r\n"
		   "Subscription-State: %s\r\n",
		   STR_FMT(sub->local_uri), STR_FMT(sub->local_tag), STR_FMT(sub->remote_uri),
		   STR_FMT(sub->remote_tag), STR_FMT(sub->call_id), sub->cseq, s->host, state);
	sip_print_body(&b, STR_LIT(REGINFO_CONTENT_TYPE), str_make(body, len));
	err = buf_error(&b);
	if (err)
		goto out;
	n = calloc(1, sizeof(*n));
	if (!n) {
		err = -ENOMEM;
		goto out;
	}
	n->id = scscf_new_id(s);
	n->sub = sub->id;
	n->probe_regtx = probe_regtx;
	n->probe_binding = probe_binding;
	err = ht_insert_id(&s->notifies, &n->by_id, n->id);
	if (err)
		goto out;
	next_hop = sub->n_routes ? first_route_uri(sub->routes[0]) : sub->target;
	scscf_trace(s, "NOTIFY sub %" PRIu64 " v%" PRIu64 " %s %s%s", sub->id, sub->version - 1,
		    full ? "full" : "partial", state, probe_regtx ? " (probe)" : "");
	err = s->sip->request(s->sip_ctx, buf_str(&b), next_hop, n->id);
	if (err) {
		ht_remove(&s->notifies, &n->by_id);
		goto out;
	}
	n = NULL;
	s->stats.notifies++;
	sub_persist(s, sub);
out:
	if (err)
		log_warn("NOTIFY to %.*s (subscription %" PRIu64 ") not sent: %s",
			 STR_FMT(sub->watcher), sub->id, strerror(-err));
	free(n);
	buf_free(&b);
	arena_destroy(&a);
	return err;
}

static const char *active_state(struct scscf *s, struct scscf_sub *sub, char *buf, size_t len)
{
	uint64_t now = scscf_now_ms(s);

	snprintf(buf, len, "active;expires=%" PRIu64,
		 sub->expires_ms > now ? (sub->expires_ms - now + 999) / 1000 : 0);
	return buf;
}

void scscf_sip_request_done(struct scscf *s, uint64_t ref, unsigned status)
{
	struct ht_node *node = ht_find_id(&s->notifies, ref);
	struct notify_tx *n;
	struct scscf_sub *sub;

	if (!node)
		return;
	n = ht_entry(node, struct notify_tx, by_id);
	ht_remove(&s->notifies, node);
	sub = sub_find(s, n->sub);
	scscf_trace(s, "NOTIFY sub %" PRIu64 ": %u", n->sub, status);
	if (n->probe_regtx)
		scscf_regtx_probe_done(s, n->probe_regtx, n->probe_binding,
				       status >= 200 && status < 300);
	/*
	 * RFC 6665 4.2.2: a NOTIFY refused with 481 ends the subscription;
	 * so does one that reached nobody (408, 503 from the transaction).
	 */
	if (sub && (status == 481 || status == 408 || status == 503)) {
		s->stats.notify_failures++;
		log_info("subscription %" PRIu64 " of %.*s to %.*s ended: NOTIFY got %u", sub->id,
			 STR_FMT(sub->watcher), STR_FMT(sub->impu), status);
		sub_free(s, sub, true);
	}
	free(n);
}

static void sub_expired(struct loop *loop, struct loop_timer *t)
{
	struct scscf_sub *sub = t->ctx;
	struct scscf *s = sub->s;

	log_info("subscription %" PRIu64 " of %.*s to %.*s expired", sub->id,
		 STR_FMT(sub->watcher), STR_FMT(sub->impu));
	send_notify(s, sub, NULL, true, "terminated;reason=timeout", 0, 0);
	sub_free(s, sub, true);
}

/* Why a subscription ends when its registrations do (RFC 6665 4.2.2). */
static const char *end_reason(const struct scscf_changes *chg)
{
	for (unsigned i = 0; i < chg->n; i++) {
		switch (chg->c[i].ev) {
		case REGINFO_EV_DEACTIVATED:
			return "terminated;reason=deactivated";
		case REGINFO_EV_PROBATION:
			return "terminated;reason=probation";
		case REGINFO_EV_REJECTED:
			return "terminated;reason=rejected";
		default:
			break;
		}
	}
	return "terminated;reason=noresource";
}

void scscf_notify_changes(struct scscf *s, const struct scscf_changes *chg)
{
	struct scscf_sub *todo[256];
	unsigned n = 0;

	/* Every subscription to an IMPU a changed binding serves, once. */
	for (unsigned i = 0; i < chg->n; i++) {
		const struct scscf_binding *b = chg->c[i].b;

		for (unsigned k = 0; k <= b->n_irs; k++) {
			struct str impu = k == 0 ? b->impu : b->irs[k - 1].uri;
			struct scscf_aor *a;

			if (k > 0 && b->irs[k - 1].barred)
				continue;
			a = scscf_aor_find(s, impu);
			for (struct scscf_sub *sub = a ? a->subs : NULL; sub; sub = sub->next_in_aor) {
				bool seen = false;

				for (unsigned j = 0; j < n && !seen; j++)
					seen = todo[j] == sub;
				if (!seen && n < 256)
					todo[n++] = sub;
			}
		}
	}
	for (unsigned j = 0; j < n; j++) {
		struct scscf_sub *sub = todo[j];
		struct scscf_aor *a = scscf_aor_find(s, sub->impu);
		bool left = a && a->n;
		bool full = s->cfg.notify == SCSCF_NOTIFY_FULL || !sub->sent_full;
		char state[64];

		if (left) {
			send_notify(s, sub, chg, full, active_state(s, sub, state, sizeof(state)), 0,
				    0);
			continue;
		}
		/* Nothing left to watch: the last NOTIFY terminates it (24.229 5.4.2.1.2). */
		send_notify(s, sub, chg, full, end_reason(chg), 0, 0);
		log_info("subscription %" PRIu64 " of %.*s to %.*s terminated: no registration left",
			 sub->id, STR_FMT(sub->watcher), STR_FMT(sub->impu));
		sub_free(s, sub, true);
	}
}

struct scscf_sub *scscf_binding_ue_sub(struct scscf *s, const struct scscf_binding *b)
{
	for (unsigned k = 0; k <= b->n_irs; k++) {
		struct scscf_aor *a = scscf_aor_find(s, k == 0 ? b->impu : b->irs[k - 1].uri);

		for (struct scscf_sub *sub = a ? a->subs : NULL; sub; sub = sub->next_in_aor) {
			if (sub->kind == SCSCF_WATCHER_UE && scscf_same_hostport(sub->target, b->contact))
				return sub;
		}
	}
	return NULL;
}

int scscf_probe(struct scscf *s, struct scscf_binding *b, uint64_t regtx)
{
	struct scscf_sub *sub = scscf_binding_ue_sub(s, b);
	char state[64];

	if (!sub)
		return -ENOENT;
	return send_notify(s, sub, NULL, true, active_state(s, sub, state, sizeof(state)), regtx,
			   b->id);
}

int scscf_sub_restore(struct scscf *s, struct scscf_sub *sub)
{
	int err = sub_link(s, sub);

	if (err) {
		arena_destroy(&sub->arena);
		free(sub);
	}
	return err;
}

/* --- SUBSCRIBE ------------------------------------------------------------------- */

/* Who may watch (24.229 5.4.2.1.1 step 1), and as what. */
static enum scscf_watcher authorise(struct scscf *s, struct scscf_aor *a, struct str watcher,
				    struct str contact, bool *ok)
{
	struct arena tmp;
	struct str canon = STR_NULL;
	enum scscf_watcher kind = SCSCF_WATCHER_OTHER;

	*ok = false;
	arena_init(&tmp, 512, 0);
	scscf_aor_canonical(watcher, &tmp, &canon);
	for (unsigned i = 0; i < a->n; i++) {
		const struct scscf_binding *b = a->b[i];

		/* The user's own non-barred identities. */
		if (canon.len && serves(b, canon)) {
			*ok = true;
			if (scscf_same_hostport(contact, b->contact))
				kind = SCSCF_WATCHER_UE;
		}
		/* The P-CSCF on the Path of a registration. */
		for (unsigned k = 0; k < b->n_path; k++) {
			struct str uri = first_route_uri(b->path[k]);

			if (uri.len && (scscf_same_hostport(uri, contact) ||
					scscf_same_hostport(uri, watcher))) {
				*ok = true;
				if (kind == SCSCF_WATCHER_OTHER)
					kind = SCSCF_WATCHER_PCSCF;
			}
		}
	}
	arena_destroy(&tmp);
	return kind;
}

/* The To tag the response carries (the transaction chose it). */
static struct str response_to_tag(struct str response, struct arena *a)
{
	struct sip_msg *m = calloc(1, sizeof(*m));
	const struct sip_addr *to;
	struct str tag = STR_NULL;

	if (!m)
		return tag;
	sip_msg_init(m);
	if (sip_parse(m, response.s, response.len, SIP_FRAME_DATAGRAM, NULL, NULL) > 0 &&
	    sip_msg_to(m, &to, NULL) == 0 && to->tag.len)
		tag = arena_str(a, to->tag);
	free(m);
	return tag;
}

static int respond_subscribe(struct scscf *s, uint64_t txn, struct scscf_sub *sub,
			     uint64_t expires)
{
	struct buf b;
	int err;

	buf_init(&b);
	err = s->sip->response_start(s->sip_ctx, txn, &b, 200, STR_NULL);
	if (!err) {
		buf_printf(&b, "Expires: %" PRIu64 "\r\nContact: <sip:%s>\r\n", expires, s->host);
		sip_print_body(&b, STR_NULL, STR_NULL);
		err = buf_error(&b);
	}
	if (!err && !sub->local_tag.len) {
		sub->local_tag = response_to_tag(buf_str(&b), &sub->arena);
		if (!sub->local_tag.len)
			err = -EPROTO;
	}
	if (!err)
		err = s->sip->response_send(s->sip_ctx, txn, buf_str(&b));
	buf_free(&b);
	return err;
}

static struct str dialog_key(struct arena *a, struct str call_id, struct str remote,
			     struct str local)
{
	return str_from_cstr(arena_printf(a, "%.*s\n%.*s\n%.*s", STR_FMT(call_id), STR_FMT(remote),
					  STR_FMT(local)));
}

/* A SUBSCRIBE inside an existing dialog: refresh or unsubscribe. */
static void resubscribe(struct scscf *s, uint64_t txn, struct sip_msg *msg, struct str call_id,
			const struct sip_addr *from, const struct sip_addr *to, uint64_t expires)
{
	struct arena tmp;
	struct scscf_sub *sub;
	char state[64];

	arena_init(&tmp, 512, 0);
	sub = sub_by_dialog(s, dialog_key(&tmp, call_id, from->tag, to->tag));
	arena_destroy(&tmp);
	if (!sub) {
		scscf_respond(s, txn, 481, "Subscription Does Not Exist", STR_NULL);
		return;
	}
	sub->expires_ms = scscf_now_ms(s) + expires * 1000;
	if (respond_subscribe(s, txn, sub, expires) < 0)
		return;
	if (!expires) {
		log_info("subscription %" PRIu64 " of %.*s to %.*s ended by the watcher", sub->id,
			 STR_FMT(sub->watcher), STR_FMT(sub->impu));
		send_notify(s, sub, NULL, true, "terminated;reason=timeout", 0, 0);
		sub_free(s, sub, true);
		return;
	}
	loop_timer_arm(s->loop, &sub->expiry, expires * 1000);
	/* RFC 6665 4.2.1.2: a refresh is answered with a NOTIFY of the full state. */
	send_notify(s, sub, NULL, true, active_state(s, sub, state, sizeof(state)), 0, 0);
}

void scscf_subscribe(struct scscf *s, uint64_t txn, struct sip_msg *msg)
{
	const struct sip_addr *from, *to;
	const struct sip_uri *ruri;
	const struct sip_hdr *h;
	struct sip_contact contact;
	struct sip_addr rr[SCSCF_MAX_PATH], pai;
	struct scscf_sub *sub = NULL;
	struct scscf_aor *a;
	struct str call_id, impu, watcher;
	struct arena tmp;
	uint32_t req_expires;
	uint64_t expires;
	unsigned n_rr = 0, n_contact = 0;
	bool ok;
	char state[64];
	int rc;

	arena_init(&tmp, 1024, 0);
	if (sip_msg_from(msg, &from, NULL) < 0 || sip_msg_to(msg, &to, NULL) < 0 ||
	    sip_msg_call_id(msg, &call_id, NULL) < 0 || sip_msg_ruri(msg, &ruri, NULL) < 0 ||
	    !from->tag.len) {
		scscf_respond(s, txn, 400, "Bad SUBSCRIBE", STR_NULL);
		goto out;
	}
	rc = sip_msg_expires(msg, &req_expires, NULL);
	expires = rc == 0 ? req_expires : (uint64_t)s->cfg.sub_default_expires;
	if (rc < 0 && rc != -ENOENT) {
		scscf_respond(s, txn, 400, "Malformed Expires", STR_NULL);
		goto out;
	}
	if (expires > (uint64_t)s->cfg.sub_max_expires)
		expires = (uint64_t)s->cfg.sub_max_expires;
	if (to->tag.len) {
		resubscribe(s, txn, msg, call_id, from, to, expires);
		goto out;
	}
	if (scscf_aor_canonical(ruri->raw, &tmp, &impu) < 0) {
		scscf_respond(s, txn, 400, "Bad Request-URI", STR_NULL);
		goto out;
	}
	if (sip_msg_contacts(msg, &contact, 1, &n_contact, NULL) < 0 || n_contact != 1 ||
	    contact.star) {
		scscf_respond(s, txn, 400, "One Contact Needed", STR_NULL);
		goto out;
	}
	rc = sip_msg_addrs(msg, SIP_HDR_RECORD_ROUTE, rr, SCSCF_MAX_PATH, &n_rr, NULL);
	if (rc < 0) {
		scscf_respond(s, txn, 400, "Malformed Record-Route", STR_NULL);
		goto out;
	}
	/* 24.229 5.4.2.1.1 step 0: no binding, no subscription. */
	a = scscf_aor_find(s, impu);
	if (!a || !a->n) {
		scscf_respond(s, txn, 480, "Not Registered", STR_NULL);
		goto out;
	}
	h = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY);
	watcher = from->uri;
	if (h && sip_addr_parse(h->value, &pai, NULL) == 0)
		watcher = pai.uri;
	sub = calloc(1, sizeof(*sub));
	if (!sub) {
		scscf_respond(s, txn, 500, "", STR_NULL);
		goto out;
	}
	arena_init(&sub->arena, 2048, 0);
	sub->kind = authorise(s, a, watcher, contact.addr.uri, &ok);
	if (!ok) {
		log_info("SUBSCRIBE to %.*s by %.*s refused: not authorised", STR_FMT(impu),
			 STR_FMT(watcher));
		scscf_respond(s, txn, 403, "Not Authorised", STR_NULL);
		goto out;
	}
	sub->id = scscf_new_id(s);
	sub->impu = arena_str(&sub->arena, impu);
	sub->watcher = arena_str(&sub->arena, watcher);
	sub->call_id = arena_str(&sub->arena, call_id);
	sub->remote_tag = arena_str(&sub->arena, from->tag);
	sub->local_uri = arena_str(&sub->arena, to->uri);
	sub->remote_uri = arena_str(&sub->arena, from->uri);
	sub->target = arena_str(&sub->arena, contact.addr.uri);
	sub->n_routes = n_rr;
	for (unsigned i = 0; i < n_rr; i++)
		sub->routes[i] = arena_str(&sub->arena, rr[i].raw);
	sub->expires_ms = scscf_now_ms(s) + expires * 1000;
	if (respond_subscribe(s, txn, sub, expires) < 0)
		goto out;
	if (!expires) {
		/* A fetch (RFC 6665 4.4.3): state once, no subscription. */
		sub->s = s;
		sub->dialog_key = STR_NULL;
		send_notify(s, sub, NULL, true, "terminated;reason=timeout", 0, 0);
		goto out;
	}
	if (sub_link(s, sub) < 0) {
		log_error("subscription of %.*s not kept: no memory", STR_FMT(watcher));
		goto out;
	}
	log_info("subscription %" PRIu64 ": %.*s watches %.*s (%s) for %" PRIu64 " s", sub->id,
		 STR_FMT(sub->watcher), STR_FMT(sub->impu),
		 sub->kind == SCSCF_WATCHER_UE ? "UE" :
		 sub->kind == SCSCF_WATCHER_PCSCF ? "P-CSCF" : "other", expires);
	sub_persist(s, sub);
	/* RFC 6665 4.2.1.2: the full state at once. */
	send_notify(s, sub, NULL, true, active_state(s, sub, state, sizeof(state)), 0, 0);
	sub = NULL;
out:
	if (sub) {
		arena_destroy(&sub->arena);
		free(sub);
	}
	arena_destroy(&tmp);
}
