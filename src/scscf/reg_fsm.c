/*
 * reg_fsm.c - one REGISTER at the S-CSCF (TS 24.229 5.4.1, RFC 3261 10.3),
 * from decoding to the final response, as a state machine table.
 *
 *   decode     the REGISTER into struct scscf_reg_in; what cannot be
 *              decoded is answered 400 (malformed security material
 *              included), 420, 423, 439 before anything else happens
 *   classify   which event it is: an unprotected REGISTER is challenged;
 *              a challenge response is verified (or is a MAC failure, or
 *              carries auts); a protected one refreshes or deregisters
 *   the table  states x events -> action, next state; an action may
 *              return a follow-up event (VERIFIED decides between probing,
 *              SAR and refusal); anything the table does not list is
 *              refused and logged
 *
 * A REGISTER waiting for the HSS or for probes lives in a struct regtx,
 * named by its id in the Cx and probe callbacks.
 */
#define SLOG_COMPONENT "scscf"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/digest.h"
#include "core/hex.h"
#include "core/log.h"
#include "scscf/scscf.h"
#include "sip/print.h"

/* ------------------------------------------------------------------ */
/* The table                                                          */

#define REG_STATES(X)                   \
	X(NEW, "new")                   \
	X(MAR_WAIT, "mar-wait")         \
	X(VERIFIED, "verified")         \
	X(PROBE_WAIT, "probe-wait")     \
	X(SAR_WAIT, "sar-wait")         \
	X(DONE, "done")

enum reg_state {
#define X(id, name) RS_##id,
	REG_STATES(X)
#undef X
	RS__COUNT
};

#define REG_EVENTS(X)                                                                   \
	X(NONE, "none", "")                                                             \
	X(REJECT, "reject", "the REGISTER is refused before authentication")            \
	X(CHALLENGE, "challenge", "unprotected, or re-authentication wanted")           \
	X(AUTS, "auts", "synchronisation failure: auts in the response")                \
	X(MAC_FAILURE, "mac-failure", "empty response without auts: the UE refused AUTN") \
	X(RESPONSE_BAD, "response-bad", "the response does not match XRES")             \
	X(RESPONSE_OK, "response-ok", "the response matches XRES")                      \
	X(REFRESH, "refresh", "protected, no challenge needed")                         \
	X(DEREGISTER, "deregister", "protected, expiry 0")                              \
	X(PROBE, "probe", "regevent-probe: old bindings to ask")                        \
	X(SAR, "sar", "nothing to ask: tell the HSS")                                   \
	X(REFUSE, "refuse", "the policy refuses (flow limit)")                          \
	X(MAA, "maa", "the HSS sent a vector")                                          \
	X(PROBES_DONE, "probes-done", "every probe answered or timed out")              \
	X(SAA, "saa", "the HSS accepted the assignment")                                \
	X(CX_FAIL, "cx-fail", "the HSS refused, or did not answer")                     \
	X(FAIL, "fail", "a local failure (no memory, cannot send)")                     \
	X(GONE, "gone", "the server transaction ended")

enum reg_event {
#define X(id, name, why) RE_##id,
	REG_EVENTS(X)
#undef X
	RE__COUNT
};

static const char *const state_names[] = {
#define X(id, name) name,
	REG_STATES(X)
#undef X
};

static const char *const event_names[] = {
#define X(id, name, why) name,
	REG_EVENTS(X)
#undef X
};

struct regtx;
typedef enum reg_event reg_action(struct scscf *s, struct regtx *t);

static reg_action act_reject, act_send_mar, act_send_mar_resync, act_auth_failure,
	act_verified, act_refresh, act_deregister, act_send_probes, act_send_sar, act_refuse,
	act_challenge, act_cx_fail, act_register, act_fail, act_gone;

struct reg_transition {
	enum reg_state state;
	enum reg_event event;
	reg_action *action;
	enum reg_state next;
	const char *what;
};

static const struct reg_transition table[] = {
	{ RS_NEW, RE_REJECT, act_reject, RS_DONE, "answer the error" },
	{ RS_NEW, RE_CHALLENGE, act_send_mar, RS_MAR_WAIT, "MAR for one vector" },
	{ RS_NEW, RE_AUTS, act_send_mar_resync, RS_MAR_WAIT, "MAR with RAND || AUTS" },
	{ RS_NEW, RE_MAC_FAILURE, act_auth_failure, RS_DONE,
	  "403; SAR AUTHENTICATION_FAILURE if unregistered" },
	{ RS_NEW, RE_RESPONSE_BAD, act_auth_failure, RS_DONE,
	  "403, state unchanged; SAR AUTHENTICATION_FAILURE if unregistered" },
	{ RS_NEW, RE_RESPONSE_OK, act_verified, RS_VERIFIED, "drop the challenge; plan" },
	{ RS_NEW, RE_REFRESH, act_refresh, RS_VERIFIED, "plan" },
	{ RS_NEW, RE_DEREGISTER, act_deregister, RS_DONE,
	  "end the bindings, 200; SAR USER_DEREGISTRATION for the last" },
	{ RS_NEW, RE_FAIL, act_fail, RS_DONE, "500" },
	{ RS_VERIFIED, RE_PROBE, act_send_probes, RS_PROBE_WAIT, "NOTIFY the old bindings" },
	{ RS_VERIFIED, RE_SAR, act_send_sar, RS_SAR_WAIT, "SAR (RE_)REGISTRATION" },
	{ RS_VERIFIED, RE_REFUSE, act_refuse, RS_DONE, "403" },
	{ RS_VERIFIED, RE_DEREGISTER, act_deregister, RS_DONE,
	  "end the bindings, 200; SAR USER_DEREGISTRATION for the last" },
	{ RS_VERIFIED, RE_FAIL, act_fail, RS_DONE, "500" },
	{ RS_MAR_WAIT, RE_MAA, act_challenge, RS_DONE, "keep the vector, 401" },
	{ RS_MAR_WAIT, RE_CX_FAIL, act_cx_fail, RS_DONE, "403 / 500 / 503 / 504" },
	{ RS_MAR_WAIT, RE_FAIL, act_fail, RS_DONE, "500" },
	{ RS_MAR_WAIT, RE_GONE, act_gone, RS_DONE, "forget it" },
	{ RS_PROBE_WAIT, RE_PROBES_DONE, act_send_sar, RS_SAR_WAIT, "SAR (RE_)REGISTRATION" },
	{ RS_PROBE_WAIT, RE_FAIL, act_fail, RS_DONE, "500" },
	{ RS_PROBE_WAIT, RE_GONE, act_gone, RS_DONE, "forget it" },
	{ RS_SAR_WAIT, RE_SAA, act_register, RS_DONE, "apply the plan, 200, NOTIFY" },
	{ RS_SAR_WAIT, RE_CX_FAIL, act_cx_fail, RS_DONE, "403 / 500 / 503 / 504" },
	{ RS_SAR_WAIT, RE_FAIL, act_fail, RS_DONE, "500" },
	{ RS_SAR_WAIT, RE_GONE, act_gone, RS_DONE, "forget it" },
};

/* A table cell: '|' would end it in Markdown. */
static void cell(struct buf *b, const char *text)
{
	buf_puts(b, "| ");
	for (const char *p = text; *p; p++) {
		if (*p == '|')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, ' ');
}

const char *scscf_reg_fsm_table(void)
{
	static char text[8192];
	struct buf b;

	buf_init_fixed(&b, text, sizeof(text));
	buf_puts(&b, "| state | event | action | next |\n|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		cell(&b, state_names[table[i].state]);
		cell(&b, event_names[table[i].event]);
		cell(&b, table[i].what);
		cell(&b, state_names[table[i].next]);
		buf_puts(&b, "|\n");
	}
	buf_puts(&b, "\n| event | when |\n|---|---|\n");
	for (int e = 1; e < RE__COUNT; e++) {
		static const char *const why[] = {
#define X(id, name, w) w,
			REG_EVENTS(X)
#undef X
		};

		buf_printf(&b, "| %s | %s |\n", event_names[e], why[e]);
	}
	return text;
}

/* ------------------------------------------------------------------ */
/* One REGISTER in progress                                           */

#define PROBES_MAX 8

struct regtx {
	struct ht_node by_id;
	struct ht_node by_txn;
	uint64_t id;
	uint64_t txn;
	enum reg_state state;
	struct arena arena;
	struct sip_msg msg;             /* parsed from our copy in the arena */
	struct scscf_reg_in in;
	/* Resynchronisation: the challenge's RAND, and the AUTS. */
	struct scscf_mar mar;
	/* The error to answer (REJECT, REFUSE, CX_FAIL, FAIL). */
	unsigned status;
	const char *reason;
	struct str extra;
	/* After authentication. */
	bool was_registered;            /* (IMPU, IMPI) had a binding before */
	struct scscf_plan plan;
	uint64_t probed[PROBES_MAX];    /* binding ids probed */
	bool answered[PROBES_MAX];
	unsigned n_probed, probes_pending;
	bool probes_made;
	struct loop_timer probe_timer;
	struct scscf *s;
	/* From the SAA. */
	struct scscf_identity *irs;
	unsigned n_irs;
	struct scscf_cx_result cx;
	struct scscf_maa cx_vector;     /* the MAA's vector, wiped with the regtx */
};

static struct regtx *regtx_find(struct scscf *s, uint64_t id)
{
	struct ht_node *n = ht_find_id(&s->regtx, id);

	return n ? ht_entry(n, struct regtx, by_id) : NULL;
}

static void regtx_free(struct scscf *s, struct regtx *t)
{
	loop_timer_cancel(s->loop, &t->probe_timer);
	ht_remove(&s->regtx, &t->by_id);
	ht_remove(&s->regtx_txn, &t->by_txn);
	arena_destroy(&t->arena);
	explicit_bzero(&t->cx_vector, sizeof(t->cx_vector));
	free(t);
}

void scscf_regtx_free_all(struct scscf *s)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;

	while ((n = ht_iter_next(&s->regtx, &it)))
		regtx_free(s, ht_entry(n, struct regtx, by_id));
}

static void fsm(struct scscf *s, struct regtx *t, enum reg_event ev)
{
	while (ev != RE_NONE) {
		const struct reg_transition *tr = NULL;

		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
			if (table[i].state == t->state && table[i].event == ev) {
				tr = &table[i];
				break;
			}
		}
		if (!tr) {
			log_debug("REGISTER %" PRIu64 ": event %s refused in state %s", t->id,
				  event_names[ev], state_names[t->state]);
			scscf_trace(s, "reg %" PRIu64 ": %s refused in %s", t->id, event_names[ev],
				    state_names[t->state]);
			break;
		}
		scscf_trace(s, "reg %" PRIu64 ": %s --%s--> %s", t->id, state_names[t->state],
			    event_names[ev], state_names[tr->next]);
		t->state = tr->next;
		ev = tr->action(s, t);
	}
	if (t->state == RS_DONE)
		regtx_free(s, t);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                           */

static enum reg_event reject(struct regtx *t, unsigned status, const char *reason)
{
	t->status = status;
	t->reason = reason;
	return RE_REJECT;
}

/* Contact parameters but expires, as ";name=value" from the raw list. */
static int contact_params(struct arena *a, struct str params, struct str *out)
{
	struct str rest = params;
	struct sip_param p;
	char *buf = arena_alloc(a, params.len + 1);
	size_t len = 0;
	int rc;

	if (!buf)
		return -ENOMEM;
	while ((rc = sip_param_next(&rest, &p)) == 1) {
		if (str_caseeq_cstr(p.name, "expires"))
			continue;
		buf[len++] = ';';
		memcpy(buf + len, p.raw.s, p.raw.len);
		len += p.raw.len;
	}
	if (rc < 0)
		return -EBADMSG;
	*out = str_make(buf, len);
	return 0;
}

/* The digest part of a REGISTER: the first Authorization with Digest. */
static enum reg_event decode_auth(struct scscf *s, struct regtx *t)
{
	struct scscf_reg_in *in = &t->in;
	const struct sip_hdr *h;
	struct sip_auth au;
	struct str ip, alg;

	h = sip_msg_hdr(&t->msg, SIP_HDR_AUTHORIZATION);
	for (; h; h = sip_msg_hdr_next(&t->msg, h)) {
		if (sip_auth_parse(h->value, false, &au, NULL) < 0)
			return reject(t, 400, "Malformed Authorization");
		if (str_caseeq_cstr(au.scheme, "Digest"))
			break;
	}
	if (!h)
		return RE_NONE;
	in->has_auth = true;
	if (sip_auth_has(&au, SIP_AUTH_USERNAME)) {
		char *user = arena_alloc(&t->arena, au.p[SIP_AUTH_USERNAME].value.len + 1);
		size_t ulen;

		if (!user)
			return RE_FAIL;
		if (sip_unquote(au.p[SIP_AUTH_USERNAME].value, user,
				au.p[SIP_AUTH_USERNAME].value.len + 1, &ulen) < 0 ||
		    ulen == 0 || memchr(user, '\0', ulen))
			return reject(t, 400, "Malformed Username");
		in->impi = str_make(user, ulen);
	}
	in->nonce = sip_auth_get(&au, SIP_AUTH_NONCE);
	in->response = sip_auth_get(&au, SIP_AUTH_RESPONSE);
	in->has_response = sip_auth_has(&au, SIP_AUTH_RESPONSE);
	in->uri = sip_auth_get(&au, SIP_AUTH_URI);
	in->realm = sip_auth_get(&au, SIP_AUTH_REALM);
	in->qop = sip_auth_get(&au, SIP_AUTH_QOP);
	in->nc = sip_auth_get(&au, SIP_AUTH_NC);
	in->cnonce = sip_auth_get(&au, SIP_AUTH_CNONCE);
	ip = sip_auth_get(&au, SIP_AUTH_INTEGRITY_PROTECTED);
	alg = sip_auth_get(&au, SIP_AUTH_ALGORITHM);
	/* 24.229 5.4.1.1 and 7.2A.2: only these mean the request came protected. */
	in->protection = str_eq_cstr(ip, "yes") || str_eq_cstr(ip, "tls-yes") ||
					 str_eq_cstr(ip, "ip-assoc-yes") ?
				 SCSCF_PROTECTED :
				 SCSCF_UNPROTECTED;
	if (alg.s && !str_caseeq_cstr(alg, "AKAv1-MD5"))
		return reject(t, 400, "Unsupported Digest Algorithm");
	/* Malformed security material is a 400, not an authentication failure. */
	if (in->response.len) {
		uint8_t md5[16];

		if (in->response.len != DIGEST_HEX_LEN || hex_decode(in->response, md5, 16) < 0)
			return reject(t, 400, "Malformed Digest Response");
	}
	if (in->nonce.len) {
		struct akav1_nonce n;

		if (akav1_nonce_decode(in->nonce, &n) < 0)
			return reject(t, 400, "Malformed Nonce");
	}
	if (sip_auth_has(&au, SIP_AUTH_AUTS)) {
		struct str auts = sip_auth_get(&au, SIP_AUTH_AUTS);
		size_t len = 0;

		if (base64_decode(auts, in->auts, sizeof(in->auts), &len) < 0 ||
		    len != AKA_AUTS_LEN)
			return reject(t, 400, "Malformed AUTS");
		in->has_auts = true;
	}
	if (in->qop.s) {
		if (!str_caseeq_cstr(in->qop, "auth"))
			return reject(t, 400, "Unsupported qop");
		if (!in->nc.len || !in->cnonce.len)
			return reject(t, 400, "qop Without nc And cnonce");
	}
	if (in->response.len && !in->uri.len)
		return reject(t, 400, "Digest Without uri");
	return RE_NONE;
}

static enum reg_event decode_contacts(struct scscf *s, struct regtx *t)
{
	struct scscf_reg_in *in = &t->in;
	struct sip_contact c[SCSCF_MAX_CONTACTS];
	uint32_t hdr_expires = 0;
	bool has_hdr_expires;
	unsigned n = 0;
	int rc;

	rc = sip_msg_expires(&t->msg, &hdr_expires, NULL);
	if (rc < 0 && rc != -ENOENT)
		return reject(t, 400, "Malformed Expires");
	has_hdr_expires = rc == 0;
	rc = sip_msg_contacts(&t->msg, c, SCSCF_MAX_CONTACTS, &n, NULL);
	if (rc == -ENOSPC)
		return reject(t, 403, "Too Many Contacts");
	if (rc < 0)
		return reject(t, 400, "Malformed Contact");
	for (unsigned i = 0; i < n; i++) {
		struct scscf_reg_contact *rc_ = &in->c[in->n_c];
		uint32_t e;

		if (c[i].star) {
			/* RFC 3261 10.3 step 6: alone, and only with Expires: 0. */
			if (n != 1 || !has_hdr_expires || hdr_expires != 0)
				return reject(t, 400, "Invalid Contact *");
			in->star = true;
			return RE_NONE;
		}
		e = c[i].has_expires ? c[i].expires :
			has_hdr_expires ? hdr_expires : (uint32_t)s->cfg.default_expires;
		if (e && e < (uint64_t)s->cfg.min_expires) {
			t->status = 423;
			t->reason = "Interval Too Brief";
			t->extra = str_from_cstr(arena_printf(&t->arena, "Min-Expires: %" PRId64 "\r\n",
							      s->cfg.min_expires));
			return RE_REJECT;
		}
		if (e > (uint64_t)s->cfg.max_expires)
			e = (uint32_t)s->cfg.max_expires;
		rc_->uri = c[i].addr.uri;
		rc_->instance = c[i].instance;
		rc_->reg_id = c[i].has_reg_id ? c[i].reg_id : 0;
		rc_->expires = e;
		rc = contact_params(&t->arena, c[i].addr.params, &rc_->params);
		if (rc == -ENOMEM)
			return RE_FAIL;
		if (rc < 0)
			return reject(t, 400, "Malformed Contact");
		in->n_c++;
	}
	return RE_NONE;
}

static bool require_ok(struct regtx *t, struct str *bad)
{
	sip_msg_foreach(&t->msg, SIP_HDR_REQUIRE, h)
	{
		if (!str_caseeq_cstr(h->value, "path") && !str_caseeq_cstr(h->value, "outbound") &&
		    !str_caseeq_cstr(h->value, "sec-agree")) {
			*bad = h->value;
			return false;
		}
	}
	return true;
}

static enum reg_event decode(struct scscf *s, struct regtx *t)
{
	struct scscf_reg_in *in = &t->in;
	const struct sip_uri *ruri;
	const struct sip_addr *to;
	const struct sip_cseq *cseq;
	struct sip_addr path[SCSCF_MAX_PATH];
	const struct sip_hdr *pcv;
	struct str bad;
	unsigned np = 0;
	enum reg_event ev;
	int rc;

	if (sip_msg_ruri(&t->msg, &ruri, NULL) < 0 || sip_msg_to(&t->msg, &to, NULL) < 0 ||
	    sip_msg_call_id(&t->msg, &in->call_id, NULL) < 0 ||
	    sip_msg_cseq(&t->msg, &cseq, NULL) < 0)
		return reject(t, 400, "Bad Request");
	in->cseq = cseq->seq;
	/* RFC 3261 10.3 step 1: the registrar of the home domain only. */
	if ((ruri->scheme != SIP_URI_SIP && ruri->scheme != SIP_URI_SIPS) ||
	    !str_caseeq_cstr(ruri->host, s->cfg.domain))
		return reject(t, 403, "Domain Not Served");
	if (!require_ok(t, &bad)) {
		t->status = 420;
		t->reason = "Bad Extension";
		t->extra = str_from_cstr(
			arena_printf(&t->arena, "Unsupported: %.*s\r\n", STR_FMT(bad)));
		return RE_REJECT;
	}
	rc = scscf_aor_canonical(to->uri, &t->arena, &in->impu);
	if (rc == -ENOMEM)
		return RE_FAIL;
	if (rc < 0)
		return reject(t, 400, "Bad To URI");
	ev = decode_auth(s, t);
	if (ev != RE_NONE)
		return ev;
	if (!in->impi.len) {
		/* No Authorization: the IMPI the IMPU implies (user@host). */
		if (!str_eq(str_sub(in->impu, 0, 4), STR_LIT("sip:")))
			return reject(t, 403, "No Private Identity");
		in->impi = str_sub(in->impu, 4, in->impu.len);
	}
	ev = decode_contacts(s, t);
	if (ev != RE_NONE)
		return ev;
	rc = sip_msg_addrs(&t->msg, SIP_HDR_PATH, path, SCSCF_MAX_PATH, &np, NULL);
	if (rc == -ENOSPC)
		return reject(t, 400, "Too Many Path Entries");
	if (rc < 0)
		return reject(t, 400, "Malformed Path");
	for (unsigned i = 0; i < np; i++)
		in->path[i] = path[i].raw;
	in->n_path = np;
	if (np) {
		struct sip_uri u;

		if (sip_uri_parse(path[0].uri, &u, NULL) < 0)
			return reject(t, 400, "Malformed Path");
		in->path_ob = u.ob;
	}
	in->sup_outbound = sip_msg_has_token(&t->msg, SIP_HDR_SUPPORTED, "outbound");
	pcv = sip_msg_hdr(&t->msg, SIP_HDR_P_CHARGING_VECTOR);
	if (pcv) {
		struct sip_pcv v;

		if (sip_pcv_parse(pcv->value, &v, NULL) == 0) {
			in->icid = v.icid;
			in->orig_ioi = v.orig_ioi;
		}
	}
	/*
	 * RFC 5626 6: a flow registered through an edge proxy that did not
	 * mark its Path with ob cannot be used; the UA learns it from 439.
	 */
	for (unsigned i = 0; i < in->n_c; i++) {
		if ((scscf_policy_flags(s->cfg.policy) & SCSCF_F_OUTBOUND) && in->sup_outbound &&
		    in->c[i].reg_id && in->c[i].instance.len && in->n_path && !in->path_ob)
			return reject(t, 439, "First Hop Lacks Outbound Support");
		if (in->c[i].reg_id && in->n_c > 1 &&
		    (scscf_policy_flags(s->cfg.policy) & SCSCF_F_OUTBOUND))
			/* RFC 5626 6: one flow per REGISTER. */
			return reject(t, 400, "Multiple Contacts With reg-id");
	}
	return RE_NONE;
}

/* ------------------------------------------------------------------ */
/* Classification                                                     */

/*
 * Was re-authentication asked (TS 24.229 5.4.1.6) of a binding this
 * REGISTER refreshes? Only those: under outbound the other flows of the
 * same IMPI refresh without a challenge, so each access is re-authenticated
 * alone. `Contact: *` concerns every binding of (IMPU, IMPI).
 */
static bool any_reauth(struct scscf *s, const struct scscf_reg_in *in)
{
	struct scscf_aor *a = scscf_aor_find(s, in->impu);

	if (in->star) {
		for (unsigned i = 0; a && i < a->n; i++)
			if (a->b[i]->reauth && str_eq(a->b[i]->impi, in->impi) &&
			    str_eq(a->b[i]->impu, in->impu))
				return true;
		return false;
	}
	for (unsigned k = 0; k < in->n_c; k++) {
		const struct scscf_binding *b = scscf_binding_of_contact(s, in, &in->c[k]);

		if (b && b->reauth)
			return true;
	}
	return false;
}

static bool all_zero(const struct scscf_reg_in *in)
{
	for (unsigned i = 0; i < in->n_c; i++) {
		if (in->c[i].expires)
			return false;
	}
	return true;
}

/*
 * 24.229 5.4.1.2.2 step 1: a protected REGISTER with no authentication
 * running may be challenged; is this one? `always`: yes. `on-request`: when
 * its Authorization has an empty nonce, the form of an initial REGISTER
 * (5.1.1.2.1) that a UE sends to be authenticated again, where a refresh
 * carries the last nonce and response (5.1.1.4.1); not for a deregistration,
 * which asks to leave (5.4.1.4). Under any value, when the network asked to
 * re-authenticate a binding this REGISTER refreshes (5.4.1.6).
 */
static bool wants_challenge(struct scscf *s, const struct scscf_reg_in *in)
{
	switch ((enum scscf_reauth)s->cfg.reauth) {
	case SCSCF_REAUTH_ALWAYS:
		return true;
	case SCSCF_REAUTH_ON_REQUEST:
		if (!in->nonce.len && !in->star && !all_zero(in))
			return true;
		break;
	case SCSCF_REAUTH_NEVER:
		break;
	}
	return any_reauth(s, in);
}

static enum reg_event verify(struct scscf *s, struct regtx *t, struct scscf_auth *a)
{
	struct scscf_reg_in *in = &t->in;
	struct digest_request r = {
		.username = in->impi,
		.realm = in->realm,
		.nonce = in->nonce,
		.uri = in->uri,
		.method = STR_LIT("REGISTER"),
		.qop = in->qop.s ? DIGEST_QOP_AUTH : DIGEST_QOP_NONE,
		.nc = in->nc,
		.cnonce = in->cnonce,
	};
	int rc;

	/* 24.229 5.4.1.2.2: the answer must come on the challenge's Call-ID. */
	if (!str_eq(a->call_id, in->call_id))
		return RE_RESPONSE_BAD;
	rc = digest_verify(&r, a->xres, a->xres_len, in->response);
	if (rc == -EACCES)
		return RE_RESPONSE_BAD;
	if (rc < 0)
		return RE_FAIL;
	return RE_RESPONSE_OK;
}

static enum reg_event classify(struct scscf *s, struct regtx *t)
{
	struct scscf_reg_in *in = &t->in;
	struct scscf_auth *a = in->nonce.len ? scscf_auth_by_nonce(s, in->nonce) : NULL;

	if (a && !str_eq(a->impi, in->impi))
		a = NULL;
	if (in->has_auts) {
		/* RFC 3310 3.4: resynchronise with the RAND of the challenge. */
		if (!a)
			return reject(t, 403, "No Challenge To Resynchronise");
		t->mar.resync = true;
		memcpy(t->mar.rand_auts, a->rand, AKA_RAND_LEN);
		memcpy(t->mar.rand_auts + AKA_RAND_LEN, in->auts, AKA_AUTS_LEN);
		scscf_auth_free(s, a, "synchronisation failure");
		return RE_AUTS;
	}
	if (a) {
		if (!in->response.len)
			return RE_MAC_FAILURE;
		return verify(s, t, a);
	}
	if (in->protection == SCSCF_UNPROTECTED)
		return RE_CHALLENGE;
	/* Protected, no authentication running (24.229 5.4.1.2.2). */
	if (wants_challenge(s, in))
		return RE_CHALLENGE;
	if (in->star || all_zero(in))
		return RE_DEREGISTER;
	return RE_REFRESH;
}

/* ------------------------------------------------------------------ */
/* Responses                                                          */

static int send_response(struct scscf *s, struct regtx *t, unsigned code, const char *reason,
			 struct buf *extra)
{
	return scscf_respond(s, t->txn, code, reason, extra ? buf_str(extra) : STR_NULL);
}

/* Every current contact of the AOR with its expiry (RFC 3261 10.3 step 8). */
static void put_contacts(struct scscf *s, struct buf *b, struct str impu)
{
	struct scscf_aor *a = scscf_aor_find(s, impu);

	for (unsigned i = 0; a && i < a->n; i++) {
		const struct scscf_binding *x = a->b[i];

		if (!str_eq(x->impu, impu))
			continue;
		buf_printf(b, "Contact: <%.*s>;expires=%" PRIu64 "%.*s\r\n", STR_FMT(x->contact),
			   scscf_binding_expires_in(s, x), STR_FMT(x->params));
	}
}

/* The non-barred identities of the set, default first (RFC 7315 4.1). */
static void put_associated(struct buf *b, const struct scscf_identity *irs, unsigned n)
{
	bool first = true;

	for (unsigned i = 0; i < n; i++) {
		if (irs[i].barred)
			continue;
		buf_printf(b, "%s<%.*s>", first ? "P-Associated-URI: " : ", ", STR_FMT(irs[i].uri));
		first = false;
	}
	if (!first)
		buf_puts(b, "\r\n");
}

static void put_charging(struct scscf *s, struct buf *b, const struct scscf_reg_in *in)
{
	/* 24.229 5.4.1.2.2: icid and orig-ioi as received, our IOI as term-ioi. */
	if (!in->icid.len)
		return;
	buf_printf(b, "P-Charging-Vector: icid-value=\"%.*s\"", STR_FMT(in->icid));
	if (in->orig_ioi.len)
		buf_printf(b, ";orig-ioi=%.*s", STR_FMT(in->orig_ioi));
	buf_printf(b, ";term-ioi=%s\r\n", s->cfg.ioi);
}

static int send_200(struct scscf *s, struct regtx *t, const struct scscf_binding *first,
		    const struct scscf_identity *irs, unsigned n_irs, bool outbound)
{
	struct scscf_reg_in *in = &t->in;
	struct buf b;
	int err;

	buf_init(&b);
	/* RFC 3327 5.3: the Path, echoed. */
	for (unsigned i = 0; i < in->n_path; i++)
		buf_printf(&b, "Path: %.*s\r\n", STR_FMT(in->path[i]));
	/* RFC 3608, 24.229 5.4.1.2.2: a Service-Route naming this binding. */
	if (first)
		buf_printf(&b, "Service-Route: <sip:orig-%" PRIu64 "@%s;lr>\r\n", first->id,
			   s->host);
	put_associated(&b, irs, n_irs);
	put_contacts(s, &b, in->impu);
	if (outbound) {
		buf_puts(&b, "Require: outbound\r\n");
		/* RFC 5626 4.4.1: the keepalive interval we ask of this flow. */
		if (s->cfg.flow_timer > 0)
			buf_printf(&b, "Flow-Timer: %" PRId64 "\r\n", s->cfg.flow_timer);
	}
	put_charging(s, &b, in);
	err = buf_error(&b);
	if (!err)
		err = send_response(s, t, 200, "", &b);
	buf_free(&b);
	return err;
}

/* ------------------------------------------------------------------ */
/* Actions                                                            */

static enum reg_event act_reject(struct scscf *s, struct regtx *t)
{
	log_info("REGISTER %.*s by %.*s refused: %u %s", STR_FMT(t->in.impu), STR_FMT(t->in.impi),
		 t->status, t->reason);
	scscf_respond(s, t->txn, t->status, t->reason, t->extra);
	return RE_NONE;
}

static enum reg_event act_fail(struct scscf *s, struct regtx *t)
{
	log_error("REGISTER %.*s by %.*s failed locally", STR_FMT(t->in.impu),
		  STR_FMT(t->in.impi));
	scscf_respond(s, t->txn, 500, "", STR_NULL);
	return RE_NONE;
}

static enum reg_event act_gone(struct scscf *s, struct regtx *t)
{
	log_info("REGISTER %.*s by %.*s: transaction ended before the answer", STR_FMT(t->in.impu),
		 STR_FMT(t->in.impi));
	return RE_NONE;
}

/*
 * A request the Cx client could not send. With no connection to the HSS
 * (or the client stopping) it goes the way of an unanswered one, to
 * cx_status() and a 503; anything else is our own failure (500).
 */
static enum reg_event cx_not_sent(struct regtx *t, int err)
{
	if (err != -ENOTCONN && err != -ESHUTDOWN)
		return RE_FAIL;
	t->cx = (struct scscf_cx_result){ .err = err };
	return RE_CX_FAIL;
}

static enum reg_event mar(struct scscf *s, struct regtx *t)
{
	int err;

	t->mar.impi = t->in.impi;
	t->mar.impu = t->in.impu;
	scscf_trace(s, "MAR %.*s %.*s%s", STR_FMT(t->in.impi), STR_FMT(t->in.impu),
		    t->mar.resync ? " resync" : "");
	err = s->cx->mar(s->cx_ctx, &t->mar, t->id);
	if (err) {
		log_warn("MAR for %.*s not sent: %s", STR_FMT(t->in.impi), strerror(-err));
		return cx_not_sent(t, err);
	}
	return RE_NONE;
}

static enum reg_event act_send_mar(struct scscf *s, struct regtx *t)
{
	t->mar.resync = false;
	return mar(s, t);
}

static enum reg_event act_send_mar_resync(struct scscf *s, struct regtx *t)
{
	log_info("synchronisation failure for %.*s (%.*s): MAR with RAND || AUTS",
		 STR_FMT(t->in.impi), STR_FMT(t->in.impu));
	return mar(s, t);
}

static enum reg_event act_challenge(struct scscf *s, struct regtx *t)
{
	struct scscf_auth *a;
	struct buf b;
	char ck[2 * AKA_CK_LEN + 1], ik[2 * AKA_IK_LEN + 1];
	int err;

	err = scscf_auth_create(s, t->in.impi, t->in.impu, t->in.call_id, &t->cx_vector, &a);
	if (err)
		return RE_FAIL;
	hex_encode(a->ck, sizeof(a->ck), ck);
	hex_encode(a->ik, sizeof(a->ik), ik);
	buf_init(&b);
	/* TS 24.229 7.2A.1, RFC 3310 3.1: the vector's keys go to the P-CSCF. */
	buf_printf(&b,
		   "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=AKAv1-MD5,"
		   " qop=\"auth\", ik=\"%s\", ck=\"%s\"\r\n",
		   s->cfg.domain, a->nonce, ik, ck);
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(ik, sizeof(ik));
	err = buf_error(&b);
	if (!err)
		err = send_response(s, t, 401, "", &b);
	explicit_bzero(b.p, b.len);
	buf_free(&b);
	s->stats.challenges++;
	log_info("challenged %.*s (%.*s), Call-ID %.*s", STR_FMT(t->in.impi), STR_FMT(t->in.impu),
		 STR_FMT(t->in.call_id));
	log_key("CK", a->ck, sizeof(a->ck));
	log_key("IK", a->ik, sizeof(a->ik));
	return RE_NONE;
}

/* The SIP answer to a Cx outcome (24.229 5.4.1.2.1, 29.228 6.3). */
static void cx_status(const struct scscf_cx_result *r, unsigned *code, const char **reason)
{
	if (r->err == -ENOTCONN || r->err == -ESHUTDOWN) {
		/* RFC 3261 21.5.4: a temporary condition; the UE tries again later. */
		*code = 503;
		*reason = "HSS Not Connected";
		return;
	}
	if (r->err) {
		*code = 504;
		*reason = "HSS Not Answering";
		return;
	}
	*code = 500;
	*reason = "HSS Error";
	if (r->experimental) {
		switch (r->code) {
		case CX_EXP_ERROR_USER_UNKNOWN:
		case CX_EXP_ERROR_IDENTITIES_DONT_MATCH:
		case CX_EXP_ERROR_AUTH_SCHEME_NOT_SUPPORTED:
		case CX_EXP_ERROR_ROAMING_NOT_ALLOWED:
		case CX_EXP_ERROR_IN_ASSIGNMENT_TYPE:
			*code = 403;
			*reason = "Forbidden";
			break;
		}
	} else if (r->code == DIA_AUTHORIZATION_REJECTED || r->code == DIA_UNABLE_TO_COMPLY) {
		*code = 403;
		*reason = "Forbidden";
	} else if (r->code == DIA_TOO_BUSY) {
		*code = 503;
		*reason = "HSS Busy";
	}
}

static enum reg_event act_cx_fail(struct scscf *s, struct regtx *t)
{
	unsigned code;
	const char *reason;

	cx_status(&t->cx, &code, &reason);
	log_info("REGISTER %.*s by %.*s: HSS %s %u -> %u", STR_FMT(t->in.impu), STR_FMT(t->in.impi),
		 t->cx.err ? strerror(-t->cx.err) : t->cx.experimental ? "experimental" : "result",
		 t->cx.code, code);
	scscf_respond(s, t->txn, code, reason, STR_NULL);
	return RE_NONE;
}

/*
 * User authentication failure (wrong response) or network authentication
 * failure (MAC: empty response). 33.203 6.1.2.1 / 24.229 5.4.1.2.3: 403,
 * the registration state stays as it was; the HSS hears
 * AUTHENTICATION_FAILURE only if the user was not registered, so that an
 * attacker's guesses never touch a live registration.
 */
static enum reg_event act_auth_failure(struct scscf *s, struct regtx *t)
{
	struct scscf_auth *a = scscf_auth_by_nonce(s, t->in.nonce);
	bool mac = !t->in.response.len;

	s->stats.auth_failures++;
	log_info("%s for %.*s (%.*s) at Call-ID %.*s: 403",
		 mac ? "network authentication failure (MAC)" : "wrong response",
		 STR_FMT(t->in.impi), STR_FMT(t->in.impu), STR_FMT(t->in.call_id));
	if (!scscf_impi_registered(s, t->in.impu, t->in.impi, NULL))
		scscf_sar_background(s, t->in.impi, t->in.impu, CX_SAT_AUTHENTICATION_FAILURE);
	if (a)
		scscf_auth_free(s, a, mac ? "MAC failure" : "wrong response");
	scscf_respond(s, t->txn, 403, mac ? "Authentication Failed" : "Wrong Response",
		      STR_NULL);
	return RE_NONE;
}

static enum reg_event plan(struct scscf *s, struct regtx *t)
{
	t->was_registered = scscf_impi_registered(s, t->in.impu, t->in.impi, NULL);
	scscf_plan_make(s, &t->in, false, NULL, 0, &t->plan);
	for (unsigned i = 0; i < t->plan.n; i++) {
		const struct scscf_plan_item *it = &t->plan.item[i];
		struct str what = it->b ? it->b->contact : t->in.c[it->c].uri;

		scscf_trace(s, "plan %" PRIu64 ": %s %.*s", t->id, scscf_plan_op_name(it->op),
			    STR_FMT(what));
	}
	if (t->plan.refuse)
		return RE_REFUSE;
	for (unsigned i = 0; i < t->plan.n; i++) {
		if (t->plan.item[i].op == SCSCF_PLAN_PROBE)
			return RE_PROBE;
	}
	return RE_SAR;
}

static enum reg_event act_verified(struct scscf *s, struct regtx *t)
{
	struct scscf_auth *a = scscf_auth_by_nonce(s, t->in.nonce);

	log_info("authenticated %.*s (%.*s) at Call-ID %.*s", STR_FMT(t->in.impi),
		 STR_FMT(t->in.impu), STR_FMT(t->in.call_id));
	if (a)
		scscf_auth_free(s, a, "authenticated");
	/* A REGISTER with expiry 0 that had to authenticate is a deregistration. */
	if (t->in.star || all_zero(&t->in))
		return RE_DEREGISTER;
	return plan(s, t);
}

static enum reg_event act_refresh(struct scscf *s, struct regtx *t)
{
	struct scscf_aor *a = scscf_aor_find(s, t->in.impu);

	/*
	 * 24.229 5.4.1.2.2: without a reg-id, a protected REGISTER may only
	 * refresh a contact registered before.
	 */
	for (unsigned k = 0; k < t->in.n_c; k++) {
		bool known = false;

		if (t->in.c[k].reg_id && t->in.c[k].instance.len)
			continue;
		for (unsigned i = 0; a && i < a->n && !known; i++)
			known = str_eq(a->b[i]->impi, t->in.impi) &&
				str_eq(a->b[i]->contact, t->in.c[k].uri);
		if (!known) {
			t->plan.refuse = 403;
			t->plan.why = "Contact Not Registered";
			return RE_REFUSE;
		}
	}
	return plan(s, t);
}

static enum reg_event act_refuse(struct scscf *s, struct regtx *t)
{
	log_info("REGISTER %.*s by %.*s refused: %u %s", STR_FMT(t->in.impu), STR_FMT(t->in.impi),
		 t->plan.refuse, t->plan.why);
	scscf_respond(s, t->txn, t->plan.refuse, t->plan.why, STR_NULL);
	return RE_NONE;
}

static enum reg_event act_deregister(struct scscf *s, struct regtx *t)
{
	struct scscf_changes chg = { .n = 0 };
	struct scscf_plan p;
	struct scscf_binding *first;
	struct scscf_identity *irs = NULL;
	unsigned n_irs = 0;
	struct scscf_aor *a;
	int err;

	scscf_plan_make(s, &t->in, false, NULL, 0, &p);
	/* The set, for P-Associated-URI, before the bindings go. */
	a = scscf_aor_find(s, t->in.impu);
	for (unsigned i = 0; a && i < a->n && !irs; i++) {
		if (str_eq(a->b[i]->impi, t->in.impi) && a->b[i]->n_irs) {
			n_irs = a->b[i]->n_irs;
			irs = arena_alloc(&t->arena, n_irs * sizeof(*irs));
			for (unsigned k = 0; irs && k < n_irs; k++) {
				irs[k].uri = arena_str(&t->arena, a->b[i]->irs[k].uri);
				irs[k].barred = a->b[i]->irs[k].barred;
			}
		}
	}
	err = scscf_plan_apply(s, &t->in, &p, NULL, 0, &chg, &first);
	s->stats.deregistrations++;
	log_info("deregistration of %.*s by %.*s: %u contact(s) removed", STR_FMT(t->in.impu),
		 STR_FMT(t->in.impi), chg.n);
	/* 24.229 5.4.1.4: the HSS hears of it when the IMPI has nothing left. */
	if (chg.n && !scscf_impi_registered(s, t->in.impu, t->in.impi, NULL))
		scscf_sar_background(s, t->in.impi, t->in.impu, CX_SAT_USER_DEREGISTRATION);
	if (err)
		scscf_respond(s, t->txn, 500, "", STR_NULL);
	else if ((err = send_200(s, t, NULL, irs, irs ? n_irs : 0, false)) < 0)
		log_warn("deregistration of %.*s: no 200 sent: %s", STR_FMT(t->in.impu),
			 strerror(-err));
	/* The watchers hear of it after the UE has its answer. */
	scscf_changes_flush(s, &chg);
	return RE_NONE;
}

static void probe_timeout(struct loop *loop, struct loop_timer *timer)
{
	struct regtx *t = timer->ctx;

	scscf_trace(t->s, "reg %" PRIu64 ": probe timeout, %u unanswered", t->id,
		    t->probes_pending);
	t->probes_pending = 0;
	fsm(t->s, t, RE_PROBES_DONE);
}

static enum reg_event act_send_probes(struct scscf *s, struct regtx *t)
{
	t->n_probed = 0;
	t->probes_pending = 0;
	t->probes_made = true;
	for (unsigned i = 0; i < t->plan.n && t->n_probed < PROBES_MAX; i++) {
		struct scscf_binding *b = t->plan.item[i].b;
		int err;

		if (t->plan.item[i].op != SCSCF_PLAN_PROBE)
			continue;
		s->stats.probes++;
		err = scscf_probe(s, b, t->id);
		if (err) {
			log_info("regevent-probe: binding %" PRIu64 " of %.*s at %.*s has %s;"
				 " it will be replaced",
				 b->id, STR_FMT(b->impu), STR_FMT(b->contact),
				 err == -ENOENT ? "no UE subscription to probe" : "no probe sent");
			continue;
		}
		log_info("regevent-probe: asking binding %" PRIu64 " of %.*s at %.*s before"
			 " registering %.*s",
			 b->id, STR_FMT(b->impu), STR_FMT(b->contact), STR_FMT(t->in.c[0].uri));
		t->probed[t->n_probed] = b->id;
		t->answered[t->n_probed] = false;
		t->n_probed++;
		t->probes_pending++;
	}
	if (!t->probes_pending)
		return RE_PROBES_DONE;
	loop_timer_init(&t->probe_timer, probe_timeout, t);
	loop_timer_arm(s->loop, &t->probe_timer, s->cfg.probe_timeout_ms);
	return RE_NONE;
}

static enum reg_event act_send_sar(struct scscf *s, struct regtx *t)
{
	struct scscf_sar req;
	struct buf path;
	int err;

	loop_timer_cancel(s->loop, &t->probe_timer);
	memset(&req, 0, sizeof(req));
	req.impi = t->in.impi;
	req.impu = t->in.impu;
	req.type = t->was_registered ? CX_SAT_RE_REGISTRATION : CX_SAT_REGISTRATION;
	/* The profile is needed once; re-registrations have it already. */
	req.data_available = t->was_registered;
	/* 29.228 6.1.2: an additional RFC 5626 flow of a registered IMPI. */
	for (unsigned i = 0; i < t->plan.n; i++)
		req.multiple |= t->was_registered && t->plan.item[i].op == SCSCF_PLAN_ADD &&
				t->plan.item[i].outbound;
	buf_init(&path);
	for (unsigned i = 0; i < t->in.n_path; i++)
		buf_printf(&path, "%s%.*s", i ? "," : "", STR_FMT(t->in.path[i]));
	req.path = str_from_cstr(arena_strndup(&t->arena, path.p ? path.p : "", path.len));
	buf_free(&path);
	if (t->in.n_c)
		req.contact = t->in.c[0].uri;
	scscf_trace(s, "SAR %s %.*s %.*s", cx_sat_name(req.type), STR_FMT(req.impi),
		    STR_FMT(req.impu));
	err = s->cx->sar(s->cx_ctx, &req, t->id);
	if (err) {
		log_warn("SAR for %.*s not sent: %s", STR_FMT(t->in.impi), strerror(-err));
		return cx_not_sent(t, err);
	}
	return RE_NONE;
}

static enum reg_event act_register(struct scscf *s, struct regtx *t)
{
	struct scscf_changes chg = { .n = 0 };
	struct scscf_binding *first = NULL;
	const struct scscf_identity *irs = t->irs;
	unsigned n_irs = t->n_irs;
	uint64_t answered[PROBES_MAX];
	unsigned n_answered = 0;
	struct scscf_plan p;
	int err;

	for (unsigned i = 0; i < t->n_probed; i++) {
		if (t->answered[i])
			answered[n_answered++] = t->probed[i];
	}
	/* Again, with what the probes said and whatever changed meanwhile. */
	scscf_plan_make(s, &t->in, t->probes_made, answered, n_answered, &p);
	if (p.refuse) {
		if (!scscf_impi_registered(s, t->in.impu, t->in.impi, NULL))
			scscf_sar_background(s, t->in.impi, t->in.impu, CX_SAT_USER_DEREGISTRATION);
		scscf_respond(s, t->txn, p.refuse, p.why, STR_NULL);
		return RE_NONE;
	}
	s->stats.probes_kept += n_answered;
	err = scscf_plan_apply(s, &t->in, &p, irs, n_irs, &chg, &first);
	if (!irs && first) {
		irs = first->irs;
		n_irs = first->n_irs;
	}
	if (err) {
		/* What was applied stays (and is notified); the UE tries again. */
		log_error("REGISTER %.*s by %.*s: bindings not applied: %s", STR_FMT(t->in.impu),
			  STR_FMT(t->in.impi), strerror(-err));
		scscf_respond(s, t->txn, 500, "", STR_NULL);
	} else if ((err = send_200(s, t, first, irs, n_irs, p.outbound)) < 0) {
		log_warn("REGISTER %.*s by %.*s: no 200 sent: %s", STR_FMT(t->in.impu),
			 STR_FMT(t->in.impi), strerror(-err));
	}
	scscf_changes_flush(s, &chg);
	if (t->was_registered)
		s->stats.refreshes++;
	else
		s->stats.registrations++;
	return RE_NONE;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                       */

void scscf_register(struct scscf *s, uint64_t txn, struct sip_msg *msg)
{
	struct regtx *t = calloc(1, sizeof(*t));
	enum reg_event ev;
	char *copy;
	int rc;

	s->stats.registers++;
	if (!t) {
		scscf_respond(s, txn, 500, "", STR_NULL);
		return;
	}
	t->s = s;
	t->id = scscf_new_id(s);
	t->txn = txn;
	t->state = RS_NEW;
	arena_init(&t->arena, msg->buf.len + 2048, ARENA_WIPE);
	loop_timer_init(&t->probe_timer, probe_timeout, t);
	/* Our own copy: the REGISTER may wait for the HSS. */
	copy = arena_strndup(&t->arena, msg->buf.s, msg->buf.len);
	sip_msg_init(&t->msg);
	rc = copy ? sip_parse(&t->msg, copy, msg->buf.len, SIP_FRAME_DATAGRAM, NULL, NULL) : -ENOMEM;
	if (rc < 0 || ht_insert_id(&s->regtx, &t->by_id, t->id) < 0 ||
	    ht_insert_id(&s->regtx_txn, &t->by_txn, txn) < 0) {
		scscf_respond(s, txn, 500, "", STR_NULL);
		regtx_free(s, t);
		return;
	}
	ev = decode(s, t);
	if (ev == RE_NONE)
		ev = classify(s, t);
	scscf_trace(s, "reg %" PRIu64 ": REGISTER %.*s by %.*s, %u contact(s)%s%s", t->id,
		    STR_FMT(t->in.impu), STR_FMT(t->in.impi), t->in.n_c, t->in.star ? " *" : "",
		    t->in.protection == SCSCF_PROTECTED ? ", protected" : "");
	fsm(s, t, ev);
}

void scscf_regtx_maa(struct scscf *s, uint64_t ref, const struct scscf_maa *a)
{
	struct regtx *t = regtx_find(s, ref);

	if (!t)
		return;
	t->cx = a->result;
	if (!scscf_cx_success(&a->result) || !a->have_vector) {
		fsm(s, t, RE_CX_FAIL);
		return;
	}
	t->cx_vector = *a;
	fsm(s, t, RE_MAA);
}

void scscf_regtx_saa(struct scscf *s, uint64_t ref, const struct scscf_saa *a)
{
	struct regtx *t = regtx_find(s, ref);

	if (!t)
		return;
	t->cx = a->result;
	if (!scscf_cx_success(&a->result)) {
		fsm(s, t, RE_CX_FAIL);
		return;
	}
	if (a->user_data.len &&
	    scscf_user_data_parse(a->user_data, &t->arena, &t->irs, &t->n_irs) < 0) {
		log_warn("SAA for %.*s: User-Data is not an IMSSubscription; set unknown",
			 STR_FMT(t->in.impi));
		t->irs = NULL;
		t->n_irs = 0;
	}
	fsm(s, t, RE_SAA);
}

void scscf_regtx_probe_done(struct scscf *s, uint64_t ref, uint64_t binding, bool answered)
{
	struct regtx *t = regtx_find(s, ref);

	if (!t || t->state != RS_PROBE_WAIT)
		return;
	for (unsigned i = 0; i < t->n_probed; i++) {
		if (t->probed[i] != binding)
			continue;
		t->answered[i] = answered;
		log_info("regevent-probe: binding %" PRIu64 " %s", binding,
			 answered ? "answered: both stay" : "did not answer: it will be replaced");
		if (t->probes_pending)
			t->probes_pending--;
	}
	if (!t->probes_pending)
		fsm(s, t, RE_PROBES_DONE);
}

void scscf_regtx_gone(struct scscf *s, uint64_t txn)
{
	struct ht_node *n = ht_find_id(&s->regtx_txn, txn);

	if (n)
		fsm(s, ht_entry(n, struct regtx, by_txn), RE_GONE);
}
