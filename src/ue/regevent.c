/*
 * regevent.c - SUBSCRIBE to reg per registration, NOTIFYs, beliefs.
 */
#define SLOG_COMPONENT "ue"
#include "ue/regevent.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/log.h"
#include "sip/msg.h"
#include "ue/context.h"
#include "ue/evlog.h"
#include "ue/msg.h"

/* 24.229 5.1.1.3: the UE asks for 600000 s, like its registration. */
#define SUB_EXPIRES 600000

const char *ue_sub_state_name(enum ue_sub_state s)
{
	static const char *const names[] = {
#define X(id, name) name,
		UE_SUB_STATES(X)
#undef X
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void set_state(struct ue *ue, struct ue_access *a, enum ue_sub_state to, const char *why)
{
	struct json_writer w;

	if (a->sub.state == to)
		return;
	log_info("%s: reg subscription %s -> %s%s%s", a->cfg.name, ue_sub_state_name(a->sub.state),
		 ue_sub_state_name(to), why ? ": " : "", why ? why : "");
	if (ue_ev_begin(ue, &w, "subscription", a)) {
		json_kv_cstring(&w, "from", ue_sub_state_name(a->sub.state));
		json_kv_cstring(&w, "to", ue_sub_state_name(to));
		if (why)
			json_kv_cstring(&w, "why", why);
		if (to == UE_SUB_ACTIVE) {
			json_key(&w, "expires");
			json_uint(&w, a->sub.expires);
		}
		ue_ev_end(ue, &w);
	}
	a->sub.state = to;
}

/* Everything but the timer, which the access keeps for its life. */
static void sub_clear(struct ue_sub *s, bool keep_failures)
{
	struct loop_timer t = s->timer;
	unsigned failures = s->failures;

	memset(s, 0, sizeof(*s));
	s->timer = t;
	if (keep_failures)
		s->failures = failures;
}

void ue_sub_reset(struct ue *ue, struct ue_access *a)
{
	loop_timer_cancel(ue->loop, &a->sub.timer);
	set_state(ue, a, UE_SUB_NONE, NULL);
	sub_clear(&a->sub, false);
}

/*
 * The subscription is over (a terminating NOTIFY, a failed SUBSCRIBE, no
 * refresh in time). A new one is tried after retry_ms while the access
 * stays registered (UINT64_MAX: not before the next registration, which
 * starts one when it finds the subscription terminated).
 */
static void terminate(struct ue *ue, struct ue_access *a, const char *why, uint64_t retry_ms)
{
	/* A late answer to a SUBSCRIBE of the old subscription finds nothing. */
	a->sub.txn = 0;
	set_state(ue, a, UE_SUB_TERMINATED, why);
	loop_timer_cancel(ue->loop, &a->sub.timer);
	if (retry_ms == UINT64_MAX) {
		log_info("%s: no new reg subscription before the next registration", a->cfg.name);
		return;
	}
	if (retry_ms)
		log_info("%s: new reg subscription in %" PRIu64 " ms", a->cfg.name, retry_ms);
	loop_timer_arm(ue->loop, &a->sub.timer, retry_ms);
}

/* The RFC 5626 4.5 back-off, counted in failed attempts at subscribing. */
static uint64_t retry_backoff(struct ue *ue, struct ue_access *a)
{
	return ue_backoff_ms(&ue->backoff, ++a->sub.failures, true, ue_random32(ue));
}

/*
 * 24.229 5.1.1.3: the UE refreshes the subscription 600 s before it
 * expires when it was granted more than 1200 s, at half time otherwise
 * (the rule of registrations, 5.1.1.4.1).
 */
static void arm_refresh(struct ue *ue, struct ue_access *a, uint32_t expires)
{
	uint64_t now = loop_now_ms(ue->loop);
	uint64_t in_ms;

	in_ms = expires > 1200 ? (uint64_t)(expires - 600) * 1000 : (uint64_t)expires * 500;
	a->sub.expires = expires;
	a->sub.expires_at_ms = now + (uint64_t)expires * 1000;
	loop_timer_arm(ue->loop, &a->sub.timer, in_ms);
}

/*
 * Send a SUBSCRIBE: outside a dialog (a new subscription) through the
 * P-CSCF's protected port and the Service-Route, or inside the dialog (a
 * refresh) to the remote target through the dialog's route set.
 */
static int send_subscribe(struct ue *ue, struct ue_access *a, bool refresh)
{
	struct str route[1 + 8];
	unsigned nroute = 0;
	char ps[SIP_SOCKADDR_STRLEN + 16], host[SIP_SOCKADDR_STRLEN], contact[256];
	struct ue_request r;
	struct json_writer w;
	struct buf b;
	uint64_t ref;
	int rc;

	if (!a->sec.est.live)
		return -ENOTCONN;
	if (refresh) {
		for (unsigned i = 0; i < a->sub.nroutes; i++)
			route[nroute++] = str_from_cstr(a->sub.routes[i]);
	} else {
		/* Through the P-CSCF's protected port and the Service-Route, like any request. */
		sip_sockaddr_host(&a->cfg.pcscf, true, host, sizeof(host));
		snprintf(ps, sizeof(ps), "sip:%s:%u;lr", host, a->sec.est.set.p.server.port_s);
		route[nroute++] = str_from_cstr(ps);
		for (unsigned i = 0;
		     i < a->reg.nroutes && nroute < sizeof(route) / sizeof(route[0]); i++)
			route[nroute++] = a->reg.routes[i];
	}
	rc = ue_contact_uri(a, contact, sizeof(contact));
	if (rc < 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.method = STR_LIT("SUBSCRIBE");
	r.ruri = refresh ? str_from_cstr(a->sub.target) : ue_impu(ue);
	r.from = ue_impu(ue);
	r.to = ue_impu(ue);
	if (refresh)
		r.to_tag = str_from_cstr(a->sub.remote_tag);
	r.tag = str_from_cstr(a->sub.tag);
	r.call_id = str_from_cstr(a->sub.call_id);
	r.cseq = ++a->sub.cseq;
	r.route = route;
	r.nroute = nroute;
	r.contact = str_from_cstr(contact);
	if (ue->mech_flags & UE_MF_OUTBOUND) {
		/* 24.229 5.1.1.3: instance and ob when several flows are registered. */
		r.instance = str_from_cstr(ue->cfg->instance);
		r.ob = true;
	}
	r.event = STR_LIT("reg");
	r.expires = SUB_EXPIRES;
	r.accept = STR_LIT(REGINFO_CONTENT_TYPE);
	buf_init(&b);
	rc = ue_msg_request(&b, &r);
	if (rc)
		goto out;
	ref = ue_new_ref(ue, a, UE_REF_SUBSCRIBE);
	rc = ue->env->send(ue->env_ctx, a, &a->sec.est, buf_str(&b), ref);
	if (rc) {
		log_warn("%s: SUBSCRIBE not sent: %s", a->cfg.name, strerror(-rc));
		goto out;
	}
	a->sub.txn = ref;
	a->msgs_tx++;
	log_info("%s: SUBSCRIBE reg %s, cseq %u", a->cfg.name, refresh ? "refresh" : "new",
		 a->sub.cseq);
	if (ue_ev_begin(ue, &w, "msg", a)) {
		json_kv_cstring(&w, "dir", "tx");
		json_kv_cstring(&w, "method", "SUBSCRIBE");
		json_kv_cstring(&w, "call_id", a->sub.call_id);
		json_key(&w, "cseq");
		json_uint(&w, a->sub.cseq);
		json_kv_cstring(&w, "what", refresh ? "refresh" : "new");
		ue_ev_end(ue, &w);
	}
out:
	buf_free(&b);
	return rc;
}

int ue_sub_start(struct ue *ue, struct ue_access *a)
{
	char w[17];
	int rc;

	enum ue_sub_state was = a->sub.state;

	loop_timer_cancel(ue->loop, &a->sub.timer);
	sub_clear(&a->sub, true);
	a->sub.state = was; /* for the event log's "from" */
	ue_new_word(ue, w);
	snprintf(a->sub.call_id, sizeof(a->sub.call_id), "%s", w);
	ue_new_word(ue, w);
	snprintf(a->sub.tag, sizeof(a->sub.tag), "%s", w);
	rc = send_subscribe(ue, a, false);
	if (rc) {
		terminate(ue, a, "SUBSCRIBE not sent", retry_backoff(ue, a));
		return rc;
	}
	set_state(ue, a, UE_SUB_SUBSCRIBING, NULL);
	return 0;
}

/* RFC 6665 4.1.2.2: refresh inside the dialog. */
static void refresh(struct ue *ue, struct ue_access *a, const char *why)
{
	if (!a->sub.dialog || a->sub.state != UE_SUB_ACTIVE)
		return;
	if (send_subscribe(ue, a, true)) {
		terminate(ue, a, "refresh not sent", retry_backoff(ue, a));
		return;
	}
	set_state(ue, a, UE_SUB_REFRESHING, why);
	/* Unanswered until it runs out: the subscription is gone. */
	loop_timer_arm(ue->loop, &a->sub.timer,
		       a->sub.expires_at_ms > loop_now_ms(ue->loop)
			       ? a->sub.expires_at_ms - loop_now_ms(ue->loop)
			       : 0);
}

static void on_timer(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = t->ctx;
	struct ue *ue = a->ue;

	switch (a->sub.state) {
	case UE_SUB_ACTIVE:
		refresh(ue, a,
			a->sub.full_wanted ? "version gap: full state wanted" : "refresh due");
		a->sub.full_wanted = false;
		break;
	case UE_SUB_REFRESHING:
		terminate(ue, a, "expired before a refresh was answered", 0);
		break;
	case UE_SUB_TERMINATED:
		/* Only a registered access subscribes; a registration in progress will. */
		if (a->reg.state == UE_REG_REGISTERED)
			ue_sub_start(ue, a);
		break;
	default:
		break;
	}
}

void ue_sub_init(struct ue *ue, struct ue_access *a)
{
	memset(&a->sub, 0, sizeof(a->sub));
	loop_timer_init(&a->sub.timer, on_timer, a);
}

/*
 * The dialog from the first 2xx or NOTIFY (RFC 3261 12.1.2, 12.1.1): the
 * remote target from Contact, the route set from Record-Route, reversed
 * when read from a response.
 */
static void learn_dialog(struct ue_access *a, struct sip_msg *msg, bool response)
{
	unsigned n = sip_msg_hdr_count(msg, SIP_HDR_RECORD_ROUTE), i = 0;
	const struct sip_hdr *c = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_contact ct;

	if (!c || sip_contact_parse(c->value, &ct, NULL) < 0 || ct.star ||
	    ct.addr.uri.len >= UE_SUB_URI_MAX) {
		log_warn("%s: no usable Contact in the subscription's %s", a->cfg.name,
			 response ? "2xx" : "NOTIFY");
		return;
	}
	if (n > UE_SUB_MAX_ROUTES) {
		log_warn("%s: %u Record-Route entries, at most %d kept", a->cfg.name, n,
			 UE_SUB_MAX_ROUTES);
		return;
	}
	sip_msg_foreach(msg, SIP_HDR_RECORD_ROUTE, h) {
		struct sip_addr rr;
		unsigned at = response ? n - 1 - i : i;

		if (sip_addr_parse(h->value, &rr, NULL) < 0 || rr.uri.len >= UE_SUB_URI_MAX) {
			log_warn("%s: unusable Record-Route in the subscription's %s", a->cfg.name,
				 response ? "2xx" : "NOTIFY");
			return;
		}
		str_copy(a->sub.routes[at], UE_SUB_URI_MAX, rr.uri);
		i++;
	}
	a->sub.nroutes = n;
	str_copy(a->sub.target, sizeof(a->sub.target), ct.addr.uri);
	a->sub.dialog = true;
}

/* A target refresh (RFC 6665 4.1.2.2, 4.1.3): a later Contact replaces the remote target. */
static void update_target(struct ue_access *a, struct sip_msg *msg)
{
	const struct sip_hdr *c = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_contact ct;

	if (c && sip_contact_parse(c->value, &ct, NULL) == 0 && !ct.star &&
	    ct.addr.uri.len < UE_SUB_URI_MAX)
		str_copy(a->sub.target, sizeof(a->sub.target), ct.addr.uri);
}

/* Retry-After of an error response, in ms; 0 if none. */
static uint64_t retry_after_ms(struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_RETRY_AFTER);
	struct sip_retry_after ra;

	if (!h || sip_retry_after_parse(h->value, &ra, NULL) < 0)
		return 0;
	return (uint64_t)ra.seconds * 1000;
}

void ue_sub_response(struct ue *ue, struct ue_access *a, struct sip_msg *msg, int err)
{
	bool was_refresh = a->sub.state == UE_SUB_REFRESHING;
	const struct sip_addr *to;
	uint32_t expires = SUB_EXPIRES;
	char why[64];

	if (!msg || msg->status >= 300) {
		uint64_t retry;

		if (msg)
			snprintf(why, sizeof(why), "SUBSCRIBE answered %u", msg->status);
		else
			snprintf(why, sizeof(why), "SUBSCRIBE failed: %s", strerror(-err));
		/*
		 * RFC 6665 4.1.2.2: a 481 to a refresh says the notifier
		 * has no such subscription: start a new one at once. Other
		 * failures wait for Retry-After, or the back-off.
		 */
		if (msg && msg->status == 481 && was_refresh)
			retry = 0;
		else if (!msg || !(retry = retry_after_ms(msg)))
			retry = retry_backoff(ue, a);
		terminate(ue, a, why, retry);
		return;
	}
	if (!a->sub.dialog) {
		if (sip_msg_to(msg, &to, NULL) == 0 && to->tag.len)
			str_copy(a->sub.remote_tag, sizeof(a->sub.remote_tag), to->tag);
		learn_dialog(a, msg, true);
	} else {
		update_target(a, msg);
	}
	if (sip_msg_expires(msg, &expires, NULL) < 0)
		expires = SUB_EXPIRES;
	if (expires == 0) {
		/* RFC 6665 4.1.2.1: accepted and ended at once; try again later. */
		terminate(ue, a, "SUBSCRIBE granted 0 s", retry_backoff(ue, a));
		return;
	}
	a->sub.failures = 0;
	if (was_refresh)
		a->sub.refreshes++;
	arm_refresh(ue, a, expires);
	set_state(ue, a, UE_SUB_ACTIVE, was_refresh ? "refreshed" : NULL);
}

/* The subscription a NOTIFY belongs to: Call-ID and our tag in its To. */
static struct ue_access *find_sub(struct ue *ue, struct sip_msg *msg)
{
	const struct sip_addr *to;
	struct str call_id;

	if (sip_msg_call_id(msg, &call_id, NULL) < 0 || sip_msg_to(msg, &to, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_access *a = &ue->acc[i];

		if (a->sub.state != UE_SUB_NONE && str_eq_cstr(call_id, a->sub.call_id) &&
		    str_eq_cstr(to->tag, a->sub.tag))
			return a;
	}
	return NULL;
}

/* Is the reginfo contact `c` access b's contact (same host and port)? */
static bool is_contact_of(const struct ue_access *b, const struct reginfo_contact *c)
{
	char mine[256];
	struct sip_uri u, m;

	if (ue_contact_uri(b, mine, sizeof(mine)) < 0)
		return false;
	if (sip_uri_parse(c->uri, &u, NULL) < 0 || sip_uri_parse(str_from_cstr(mine), &m, NULL) < 0)
		return false;
	return str_caseeq(u.host, m.host) && u.has_port && m.has_port && u.port == m.port;
}

static struct ue_belief *belief_for(struct ue_sub *s, struct str aor)
{
	for (unsigned i = 0; i < s->nbeliefs; i++)
		if (str_eq_cstr(aor, s->beliefs[i].aor))
			return &s->beliefs[i];
	if (s->nbeliefs == UE_MAX_BELIEFS)
		return NULL;
	memset(&s->beliefs[s->nbeliefs], 0, sizeof(s->beliefs[0]));
	str_copy(s->beliefs[s->nbeliefs].aor, sizeof(s->beliefs[0].aor), aor);
	return &s->beliefs[s->nbeliefs++];
}

/*
 * Apply a document to the subscription's beliefs and tell every access
 * whose contact it terminates. A full document replaces what was known.
 */
static void apply(struct ue *ue, struct ue_access *a, const struct reginfo *doc)
{
	struct json_writer w;
	bool ev = ue_ev_begin(ue, &w, "notify", a);

	if (doc->state == REGINFO_DOC_FULL)
		a->sub.nbeliefs = 0;
	if (ev) {
		json_key(&w, "version");
		json_uint(&w, doc->version);
		json_kv_cstring(&w, "state", doc->state == REGINFO_DOC_FULL ? "full" : "partial");
		json_key(&w, "impus");
		json_begin_array(&w);
	}
	for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
		struct ue_belief *bel = belief_for(&a->sub, r->aor);
		unsigned active = 0;

		if (ev) {
			json_begin_object(&w);
			json_key(&w, "aor");
			json_string(&w, r->aor);
			json_kv_cstring(&w, "state", reginfo_reg_state_name(r->state));
			json_key(&w, "contacts");
			json_begin_array(&w);
		}
		for (const struct reginfo_contact *c = r->contacts; c; c = c->next) {
			bool mine = is_contact_of(a, c);

			if (c->state == REGINFO_CONTACT_ACTIVE)
				active++;
			if (bel && mine)
				bel->ours_active = c->state == REGINFO_CONTACT_ACTIVE;
			if (ev) {
				json_begin_object(&w);
				json_key(&w, "uri");
				json_string(&w, c->uri);
				json_kv_cstring(&w, "state", reginfo_contact_state_name(c->state));
				json_kv_cstring(&w, "event", reginfo_event_name(c->event));
				json_kv_bool(&w, "ours", mine);
				json_end_object(&w);
			}
		}
		if (bel) {
			bel->state = r->state;
			if (doc->state == REGINFO_DOC_FULL)
				bel->active_contacts = active;
		}
		if (ev) {
			json_end_array(&w);
			json_end_object(&w);
		}
	}
	if (ev) {
		json_end_array(&w);
		ue_ev_end(ue, &w);
	}

	/* Contacts of ours the network ended (RFC 3680 5.1.2) or shortened. */
	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_access *b = &ue->acc[i];

		if (b->reg.state == UE_REG_DEREGISTERING || b->reg.state == UE_REG_IDLE)
			continue;
		for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
			for (const struct reginfo_contact *c = r->contacts; c; c = c->next) {
				if (!is_contact_of(b, c))
					continue;
				/*
				 * 24.229 5.1.1.3: "shortened" (the S-CSCF's
				 * network-initiated re-authentication, 5.4.1.6)
				 * gives the registration's new expiry; the UE
				 * re-registers by it (5.1.1.4.1), and that
				 * REGISTER is challenged.
				 */
				if (c->state == REGINFO_CONTACT_ACTIVE &&
				    c->event == REGINFO_EV_SHORTENED &&
				    (c->has & REGINFO_HAS_EXPIRES))
					ue_reg_shorten(ue, b,
						       c->expires > UINT32_MAX
							       ? UINT32_MAX
							       : (uint32_t)c->expires);
				if (c->state != REGINFO_CONTACT_TERMINATED)
					continue;
				/* After our 200 has left over the SAs this ends. */
				if (c->event == REGINFO_EV_PROBATION)
					ue_reg_event_later(ue, b, UE_REG_EV_NET_PROBATION,
							   (uint32_t)c->retry_after,
							   reginfo_event_name(c->event));
				else if (c->event == REGINFO_EV_DEACTIVATED)
					ue_reg_event_later(ue, b, UE_REG_EV_NET_DEACTIVATED, 0,
							   reginfo_event_name(c->event));
				else
					ue_reg_event_later(ue, b, UE_REG_EV_NET_ENDED, 0,
							   reginfo_event_name(c->event));
				goto next_access;
			}
		}
next_access:;
	}
}

/*
 * What a terminated subscription's reason asks of the subscriber (RFC
 * 6665 4.1.3): deactivated, timeout or none: subscribe again at once;
 * probation, giveup: after retry-after (else the back-off); rejected,
 * noresource, invariant: not now (the next registration will, if the
 * network has changed its mind). Returns the delay, UINT64_MAX for never.
 */
static uint64_t resubscribe_after(struct ue *ue, struct ue_access *a, const struct sip_substate *st)
{
	if (!st->reason.len || str_caseeq_cstr(st->reason, "deactivated") ||
	    str_caseeq_cstr(st->reason, "timeout"))
		return 0;
	if (str_caseeq_cstr(st->reason, "probation") || str_caseeq_cstr(st->reason, "giveup")) {
		if (st->has_retry_after)
			return (uint64_t)st->retry_after * 1000;
		return retry_backoff(ue, a);
	}
	return UINT64_MAX;
}

void ue_sub_notify(struct ue *ue, struct ue_access *on, struct sip_msg *msg,
		   struct ue_reply *rep)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EVENT);
	const struct sip_hdr *ss = sip_msg_hdr(msg, SIP_HDR_SUBSCRIPTION_STATE);
	struct sip_event event;
	struct sip_substate st;
	struct reginfo_error rerr;
	struct reginfo doc;
	struct ue_access *a;
	const struct sip_addr *from;
	struct arena ar;
	bool need_full = false;
	char why[96];

	if (!h || sip_event_parse(h->value, &event, NULL) < 0 ||
	    !str_eq_cstr(event.package, "reg")) {
		rep->code = 489;
		return;
	}
	if (!ss || sip_substate_parse(ss->value, &st, NULL) < 0) {
		/* RFC 6665 4.1.3: a NOTIFY without a usable Subscription-State is malformed. */
		rep->code = 400;
		rep->reason = "Bad Subscription-State";
		return;
	}
	a = find_sub(ue, msg);
	if (!a) {
		rep->code = 481;
		return;
	}
	a->sub.notifies++;
	if (a != on)
		log_info("%s: NOTIFY of the subscription of %s arrived here", on->cfg.name,
			 a->cfg.name);
	if (!a->sub.remote_tag[0] && sip_msg_from(msg, &from, NULL) == 0)
		str_copy(a->sub.remote_tag, sizeof(a->sub.remote_tag), from->tag);
	/* RFC 6665 4.1.2.4: a NOTIFY before the 2xx sets the dialog up, as a UAS sees it. */
	if (!a->sub.dialog)
		learn_dialog(a, msg, false);
	else
		update_target(a, msg);
	rep->code = 200;
	if (msg->body.len) {
		arena_init(&ar, 0, 0);
		if (reginfo_parse(msg->body.s, msg->body.len, &ar, &doc, &rerr) < 0) {
			log_warn("%s: NOTIFY with a bad reginfo document: %s", a->cfg.name,
				 rerr.msg);
			rep->code = 400;
			rep->reason = "Bad reginfo Document";
		} else {
			switch (reginfo_watch_check(&a->sub.watch, doc.version, doc.state)) {
			case REGINFO_APPLY:
				apply(ue, a, &doc);
				break;
			case REGINFO_STALE:
				log_info("%s: NOTIFY version %" PRIu64 " is stale", a->cfg.name,
					 doc.version);
				break;
			case REGINFO_NEED_FULL:
				log_info("%s: NOTIFY version %" PRIu64 " skips one: refresh for "
					 "full state",
					 a->cfg.name, doc.version);
				need_full = true;
				break;
			}
		}
		arena_destroy(&ar);
	}
	if (rep->code != 200)
		return;
	if (st.state_id == SIP_SUBSTATE_TERMINATED) {
		snprintf(why, sizeof(why), "Subscription-State: terminated%s%.*s",
			 st.reason.len ? ";reason=" : "", STR_FMT(st.reason));
		/* The new subscription, if any, leaves after this answer (a timer). */
		terminate(ue, a, why, resubscribe_after(ue, a, &st));
		return;
	}
	if (a->sub.state == UE_SUB_SUBSCRIBING || a->sub.state == UE_SUB_ACTIVE) {
		/* RFC 6665 4.1.3: the notifier may shorten the subscription. */
		uint64_t now = loop_now_ms(ue->loop);
		uint32_t left = a->sub.expires_at_ms > now
					? (uint32_t)((a->sub.expires_at_ms - now) / 1000)
					: 0;

		if (st.has_expires && (a->sub.state == UE_SUB_SUBSCRIBING || st.expires < left))
			arm_refresh(ue, a, st.expires);
		set_state(ue, a, UE_SUB_ACTIVE, NULL);
	}
	if (need_full && a->sub.state == UE_SUB_ACTIVE && a->sub.dialog) {
		/*
		 * RFC 3680 (the version attribute): a missed version is
		 * repaired by a refresh, whose NOTIFY carries full state.
		 * After the answer.
		 */
		a->sub.full_wanted = true;
		loop_timer_arm(ue->loop, &a->sub.timer, 0);
	}
}
