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
		ue_ev_end(ue, &w);
	}
	a->sub.state = to;
}

void ue_sub_reset(struct ue *ue, struct ue_access *a)
{
	set_state(ue, a, UE_SUB_NONE, NULL);
	memset(&a->sub, 0, sizeof(a->sub));
}

int ue_sub_start(struct ue *ue, struct ue_access *a)
{
	struct str route[1 + 8];
	unsigned nroute = 0;
	char ps[SIP_SOCKADDR_STRLEN + 16], host[SIP_SOCKADDR_STRLEN], contact[256], w[17];
	struct ue_request r;
	struct buf b;
	uint64_t ref;
	int rc;

	memset(&a->sub, 0, sizeof(a->sub));
	ue_new_word(ue, w);
	snprintf(a->sub.call_id, sizeof(a->sub.call_id), "%s", w);
	ue_new_word(ue, w);
	snprintf(a->sub.tag, sizeof(a->sub.tag), "%s", w);
	a->sub.cseq = 1;
	/* Through the P-CSCF's protected port and the Service-Route, like any request. */
	sip_sockaddr_host(&a->cfg.pcscf, true, host, sizeof(host));
	snprintf(ps, sizeof(ps), "sip:%s:%u;lr", host, a->sec.est.set.p.server.port_s);
	route[nroute++] = str_from_cstr(ps);
	for (unsigned i = 0; i < a->reg.nroutes && nroute < sizeof(route) / sizeof(route[0]); i++)
		route[nroute++] = a->reg.routes[i];
	rc = ue_contact_uri(a, contact, sizeof(contact));
	if (rc < 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.method = STR_LIT("SUBSCRIBE");
	r.ruri = ue_impu(ue);
	r.from = ue_impu(ue);
	r.to = ue_impu(ue);
	r.tag = str_from_cstr(a->sub.tag);
	r.call_id = str_from_cstr(a->sub.call_id);
	r.cseq = a->sub.cseq;
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
	set_state(ue, a, UE_SUB_SUBSCRIBING, NULL);
out:
	buf_free(&b);
	return rc;
}

void ue_sub_response(struct ue *ue, struct ue_access *a, struct sip_msg *msg, int err)
{
	const struct sip_addr *to;
	uint32_t expires = 0;
	char why[64];

	if (!msg || msg->status >= 300) {
		if (msg)
			snprintf(why, sizeof(why), "SUBSCRIBE answered %u", msg->status);
		else
			snprintf(why, sizeof(why), "SUBSCRIBE failed: %s", strerror(-err));
		set_state(ue, a, UE_SUB_TERMINATED, why);
		return;
	}
	if (sip_msg_to(msg, &to, NULL) == 0 && to->tag.len && !a->sub.remote_tag[0])
		str_copy(a->sub.remote_tag, sizeof(a->sub.remote_tag), to->tag);
	if (sip_msg_expires(msg, &expires, NULL) == 0)
		a->sub.expires = expires;
	if (a->sub.state == UE_SUB_SUBSCRIBING)
		set_state(ue, a, UE_SUB_ACTIVE, NULL);
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

	/* Contacts of ours the network ended (RFC 3680 5.1.2). */
	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_access *b = &ue->acc[i];

		if (b->reg.state == UE_REG_DEREGISTERING || b->reg.state == UE_REG_IDLE)
			continue;
		for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
			for (const struct reginfo_contact *c = r->contacts; c; c = c->next) {
				if (c->state != REGINFO_CONTACT_TERMINATED || !is_contact_of(b, c))
					continue;
				/* After our 200 has left over the SAs this ends. */
				if (c->event == REGINFO_EV_PROBATION)
					ue_reg_event_later(ue, b, UE_REG_EV_NET_PROBATION,
							   (uint32_t)c->retry_after,
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

	if (!h || sip_event_parse(h->value, &event, NULL) < 0 ||
	    !str_eq_cstr(event.package, "reg")) {
		rep->code = 489;
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
				log_info("%s: NOTIFY version %" PRIu64 " skips one: subscribe again",
					 a->cfg.name, doc.version);
				/* After the answer: the new dialog replaces this one. */
				set_state(ue, a, UE_SUB_TERMINATED, "version gap");
				break;
			}
		}
		arena_destroy(&ar);
	}
	if (ss && sip_substate_parse(ss->value, &st, NULL) == 0) {
		if (st.state_id == SIP_SUBSTATE_TERMINATED)
			set_state(ue, a, UE_SUB_TERMINATED, "Subscription-State: terminated");
		else if (a->sub.state == UE_SUB_SUBSCRIBING)
			set_state(ue, a, UE_SUB_ACTIVE, NULL);
	}
	if (a->sub.state == UE_SUB_TERMINATED && rep->code == 200 &&
	    (a->reg.state == UE_REG_REGISTERED || a->reg.state == UE_REG_REFRESHING))
		ue_sub_start(ue, a);
}
