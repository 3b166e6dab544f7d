/*
 * reg.c - the registration state machine of an access: the table, its
 * actions, and the timers each state runs.
 */
#define SLOG_COMPONENT "ue"
#include "ue/reg.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "sip/msg.h"
#include "ue/context.h"
#include "ue/evlog.h"
#include "ue/msg.h"

/* ---- names ------------------------------------------------------------- */

static const char *const state_names[] = {
#define X(id, name, doc) name,
	UE_REG_STATES(X)
#undef X
};

static const char *const state_docs[] = {
#define X(id, name, doc) doc,
	UE_REG_STATES(X)
#undef X
};

static const char *const event_names[] = {
#define X(id, name, doc) name,
	UE_REG_EVENTS(X)
#undef X
};

static const char *const event_docs[] = {
#define X(id, name, doc) doc,
	UE_REG_EVENTS(X)
#undef X
};

const char *ue_reg_state_name(enum ue_reg_state s)
{
	return (unsigned)s < UE_REG__COUNT ? state_names[s] : "?";
}

const char *ue_reg_event_name(enum ue_reg_event e)
{
	return (unsigned)e < UE_REG_EV__COUNT ? event_names[e] : "?";
}

/* ---- timers per state ---------------------------------------------------- */

enum {
	T_REFRESH = 1 << 0,
	T_EXPIRE = 1 << 1,
	T_RETRY = 1 << 2,
	T_KEEPALIVE = 1 << 3,
};

/*
 * The timers that may run in each state; entering a state cancels the
 * others. Refresh and retry are (re)armed on entry to registered and
 * backoff, from what the action that led there computed.
 */
static const unsigned state_timers[UE_REG__COUNT] = {
	[UE_REG_REGISTERED] = T_REFRESH | T_EXPIRE | T_KEEPALIVE,
	[UE_REG_REFRESHING] = T_EXPIRE | T_KEEPALIVE,
	[UE_REG_RECHALLENGED] = T_EXPIRE | T_KEEPALIVE,
	[UE_REG_REAUTHENTICATING] = T_EXPIRE | T_KEEPALIVE,
	[UE_REG_BACKOFF] = T_RETRY,
};

/* ---- helpers ------------------------------------------------------------- */

static void ev_sa(struct ue *ue, struct ue_access *a, const char *op, const struct ue_sa *sa,
		  const char *why)
{
	const struct ipsec_set_params *p = &sa->set.p;
	struct json_writer w;
	char line[256];
	struct buf b;

	buf_init_fixed(&b, line, sizeof(line));
	ue_sa_describe(sa, &b);
	log_info("%s: SA set %s (%s%s%s): %s", a->cfg.name, op,
		 sa->temporary ? "temporary" : "established", why ? ", " : "", why ? why : "",
		 line);
	if (!ue_ev_begin(ue, &w, "sa", a))
		return;
	json_kv_cstring(&w, "op", op);
	json_kv_cstring(&w, "kind", sa->temporary ? "temporary" : "established");
	json_key(&w, "set");
	json_uint(&w, sa->set.id);
	json_key(&w, "spi_uc");
	json_uint(&w, p->client.spi_c);
	json_key(&w, "spi_us");
	json_uint(&w, p->client.spi_s);
	json_key(&w, "port_uc");
	json_uint(&w, p->client.port_c);
	json_key(&w, "port_us");
	json_uint(&w, p->client.port_s);
	json_key(&w, "spi_pc");
	json_uint(&w, p->server.spi_c);
	json_key(&w, "spi_ps");
	json_uint(&w, p->server.spi_s);
	json_key(&w, "port_pc");
	json_uint(&w, p->server.port_c);
	json_key(&w, "port_ps");
	json_uint(&w, p->server.port_s);
	json_kv_cstring(&w, "alg", esp_auth_alg_name(sa->algs.alg));
	json_kv_cstring(&w, "ealg", esp_enc_alg_name(sa->algs.ealg));
	if (why)
		json_kv_cstring(&w, "why", why);
	ue_ev_end(ue, &w);
}

/* Delete a set: SAs and ports through the environment, its local half back. */
static void sa_remove(struct ue *ue, struct ue_access *a, struct ue_sa *sa, const char *why)
{
	if (!sa->live)
		return;
	ue->env->sa_remove(ue->env_ctx, a, sa);
	ipsec_alloc_release(&ue->alloc, &a->pcscf_ip, &sa->set.p.client);
	ev_sa(ue, a, "deleted", sa, why);
	memset(sa, 0, sizeof(*sa));
}

/* Everything security the access holds: offer, temporary and established set. */
static void sec_drop_all(struct ue *ue, struct ue_access *a, const char *why)
{
	ue_sec_offer_drop(&a->sec, &ue->alloc, &a->pcscf_ip);
	sa_remove(ue, a, &a->sec.tmp, why);
	sa_remove(ue, a, &a->sec.est, why);
}

static void new_dialog_ids(struct ue *ue, struct ue_access *a)
{
	char w[17];

	ue_new_word(ue, w);
	snprintf(a->reg.call_id, sizeof(a->reg.call_id), "%s", w);
	ue_new_word(ue, w);
	snprintf(a->reg.tag, sizeof(a->reg.tag), "%s", w);
	a->reg.cseq = 0;
}

static void ev_tx(struct ue *ue, struct ue_access *a, const char *method, const char *call_id,
		  uint32_t cseq, const char *what)
{
	struct json_writer w;

	if (!ue_ev_begin(ue, &w, "msg", a))
		return;
	json_kv_cstring(&w, "dir", "tx");
	json_kv_cstring(&w, "method", method);
	json_kv_cstring(&w, "call_id", call_id);
	json_key(&w, "cseq");
	json_uint(&w, cseq);
	if (what)
		json_kv_cstring(&w, "what", what);
	ue_ev_end(ue, &w);
}

/*
 * Send the next REGISTER of the access: over `sa` (NULL: unprotected),
 * with the Authorization of reg.next_cred, Security-Client `client` and
 * Security-Verify `verify` (each NULL: none).
 */
static int send_register(struct ue *ue, struct ue_access *a, const struct ue_sa *sa,
			 const char *client, const char *verify, uint32_t expires,
			 const char *what)
{
	const struct ue_config *cfg = ue->cfg;
	char contact[256], cnonce[17];
	struct ue_register r;
	struct buf b;
	uint64_t ref;
	int rc;

	rc = ue_contact_uri(a, contact, sizeof(contact));
	if (rc < 0)
		return rc;
	ue_new_word(ue, cnonce);
	memset(&r, 0, sizeof(r));
	r.domain = str_from_cstr(ue->domain);
	r.impu = ue_impu(ue);
	r.impi = str_from_cstr(a->impi);
	r.tag = str_from_cstr(a->reg.tag);
	r.call_id = str_from_cstr(a->reg.call_id);
	r.cseq = a->reg.cseq + 1;
	r.contact = str_from_cstr(contact);
	if (ue->mech_flags & UE_MF_OUTBOUND) {
		r.instance = str_from_cstr(cfg->instance);
		r.reg_id = a->n;
		r.outbound = true;
	}
	r.expires = expires;
	r.cred = a->reg.next_cred;
	r.digest = &a->reg.digest;
	r.cnonce = cnonce;
	if (client)
		r.sec_client = str_from_cstr(client);
	if (verify)
		r.sec_verify = str_from_cstr(verify);

	buf_init(&b);
	rc = ue_msg_register(&b, &r);
	if (rc)
		goto out;
	ref = ue_new_ref(ue, a, UE_REF_REGISTER);
	rc = ue->env->send(ue->env_ctx, a, sa, buf_str(&b), ref);
	if (rc) {
		log_warn("%s: REGISTER not sent: %s", a->cfg.name, strerror(-rc));
		goto out;
	}
	a->reg.cseq++;
	a->reg.txn = ref;
	a->reg.txn_set = sa ? sa->set.id : 0;
	a->msgs_tx++;
	log_info("%s: REGISTER %s impi=%s contact=%s cseq=%u %s", a->cfg.name,
		 sa ? "protected" : "unprotected", a->impi, contact, a->reg.cseq, what);
	ev_tx(ue, a, "REGISTER", a->reg.call_id, a->reg.cseq, what);
out:
	buf_free(&b);
	return rc;
}

static uint16_t status_of(const struct ue_reg_input *in)
{
	return in && in->msg ? in->msg->status : 0;
}

/* ---- actions ------------------------------------------------------------- */

/*
 * An action returns 0 (the transition's next state is entered) or a
 * negative errno (its failure state is). *then may name the event that
 * follows at once (the verdict of a challenge).
 */
typedef int reg_action(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		       enum ue_reg_event *then);

/* idle/backoff --register, retry--> unprotected: SM1 of 33.203 6.1.1. */
static int act_initial(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		       enum ue_reg_event *then)
{
	int rc;

	sec_drop_all(ue, a, "new initial registration");
	new_dialog_ids(ue, a);
	ue_challenge_wipe(&a->reg.digest.ch);
	memset(&a->reg.digest, 0, sizeof(a->reg.digest));
	a->reg.reauth = false;
	rc = ue_sec_offer(&a->sec, &ue->alloc, &a->pcscf_ip, &ue->offers, false);
	if (rc) {
		log_error("%s: no SPIs or ports for Security-Client: %s", a->cfg.name,
			  strerror(-rc));
		return rc;
	}
	a->reg.next_cred = UE_CRED_INITIAL;
	return send_register(ue, a, NULL, a->sec.client, NULL, (uint32_t)ue->cfg->expires,
			     "initial");
}

/*
 * unprotected/refreshing --401--> (re)challenged: read Security-Server,
 * then let the USIM judge the challenge (24.229 5.1.1.5.1: without a
 * usable Security-Server the challenge is abandoned unread).
 */
static int act_challenge(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			 enum ue_reg_event *then)
{
	struct ue_challenge *ch = &a->reg.digest.ch;
	struct json_writer w;
	const char *why = NULL;
	int rc;

	ue_challenge_wipe(ch);
	a->reg.digest.have = false;
	a->reg.digest.nc = 0;
	if (ue_sec_read_server(&a->sec, in->msg, &ue->offers, &why) < 0) {
		ch->verdict = UE_AKA_BAD;
		ch->why = why;
	} else {
		rc = ue_usim_challenge(&ue->usim, in->msg, ch);
		if (rc)
			return rc;
	}
	switch (ch->verdict) {
	case UE_AKA_OK:
		*then = UE_REG_EV_AKA_OK;
		break;
	case UE_AKA_MAC_FAILURE:
		*then = UE_REG_EV_AKA_MAC_FAIL;
		break;
	case UE_AKA_SYNC_FAILURE:
		*then = UE_REG_EV_AKA_SYNC_FAIL;
		break;
	case UE_AKA_BAD:
		*then = UE_REG_EV_AKA_BAD;
		break;
	}
	a->reg.digest.have = ch->verdict != UE_AKA_BAD;
	log_info("%s: challenge for %s: %s%s%s (sqn %" PRIu64 ", %s)", a->cfg.name, a->impi,
		 ue_aka_verdict_name(ch->verdict), ch->why ? ": " : "", ch->why ? ch->why : "",
		 ch->sqn, sqn_verdict_name(ch->sqn_verdict));
	if (ue_ev_begin(ue, &w, "aka", a)) {
		json_kv_cstring(&w, "impi", a->impi);
		json_kv_cstring(&w, "verdict", ue_aka_verdict_name(ch->verdict));
		if (ch->verdict != UE_AKA_BAD && ch->verdict != UE_AKA_MAC_FAILURE) {
			json_key(&w, "sqn");
			json_uint(&w, ch->sqn);
			json_kv_cstring(&w, "sqn_verdict", sqn_verdict_name(ch->sqn_verdict));
		}
		if (ch->why)
			json_kv_cstring(&w, "why", ch->why);
		ue_ev_end(ue, &w);
	}
	return 0;
}

/*
 * (re)challenged --aka-ok--> protected / reauthenticating: the temporary
 * set from the challenge's keys, then the protected REGISTER over it, with
 * the same Security-Client and Security-Verify = the Security-Server
 * received (33.203 6.1.1 SM7, 7.2).
 */
static int act_protected(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			 enum ue_reg_event *then)
{
	struct ue_challenge *ch = &a->reg.digest.ch;
	int rc;

	sa_remove(ue, a, &a->sec.tmp, "superseded by a new challenge");
	rc = ue_sec_build_temporary(&a->sec, &a->local_ip, &a->pcscf_ip, ch->ik, ch->ck);
	if (rc) {
		log_error("%s: temporary SA set refused: %s", a->cfg.name, strerror(-rc));
		return rc;
	}
	log_key("CK", ch->ck, AKA_CK_LEN);
	log_key("IK", ch->ik, AKA_IK_LEN);
	rc = ue->env->sa_install(ue->env_ctx, a, &a->sec.tmp);
	ipsec_sa_set_wipe(&a->sec.tmp.set);
	if (rc) {
		log_error("%s: temporary SA set not installed: %s", a->cfg.name, strerror(-rc));
		ipsec_alloc_release(&ue->alloc, &a->pcscf_ip, &a->sec.tmp.set.p.client);
		memset(&a->sec.tmp, 0, sizeof(a->sec.tmp));
		return rc;
	}
	a->sec.tmp.live = true;
	ev_sa(ue, a, "created", &a->sec.tmp, NULL);
	a->reg.next_cred = UE_CRED_RESPONSE;
	/* The Security-Client of the challenged REGISTER, repeated unchanged. */
	rc = send_register(ue, a, &a->sec.tmp, a->sec.client, a->sec.tmp.verify,
			   (uint32_t)ue->cfg->expires, "authenticated");
	/* RES has served its purpose; CK and IK now live in the SAs only. */
	OPENSSL_cleanse(ch->res, sizeof(ch->res));
	OPENSSL_cleanse(ch->ck, sizeof(ch->ck));
	OPENSSL_cleanse(ch->ik, sizeof(ch->ik));
	return rc;
}

/*
 * challenged --mac-failure, sync-failure--> unprotected: 24.229
 * 5.1.1.5.3, 33.203 7.2: answer over the SAs the procedure started from
 * (none: unprotected), no temporary set, new SPIs and port_uc.
 */
static int act_invalid_initial(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			       enum ue_reg_event *then)
{
	int rc;

	rc = ue_sec_offer(&a->sec, &ue->alloc, &a->pcscf_ip, &ue->offers, false);
	if (rc)
		return rc;
	a->reg.next_cred = a->reg.digest.ch.verdict == UE_AKA_SYNC_FAILURE ? UE_CRED_AUTS
									   : UE_CRED_MAC_FAIL;
	return send_register(ue, a, NULL, a->sec.client, NULL, (uint32_t)ue->cfg->expires,
			     a->reg.next_cred == UE_CRED_AUTS ? "resync" : "mac-failure");
}

/* rechallenged --mac-failure, sync-failure--> refreshing: the same over the established set. */
static int act_invalid_reauth(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			      enum ue_reg_event *then)
{
	int rc;

	rc = ue_sec_offer(&a->sec, &ue->alloc, &a->pcscf_ip, &ue->offers, true);
	if (rc)
		return rc;
	a->reg.next_cred = a->reg.digest.ch.verdict == UE_AKA_SYNC_FAILURE ? UE_CRED_AUTS
									   : UE_CRED_MAC_FAIL;
	return send_register(ue, a, &a->sec.est, a->sec.client, a->sec.est.verify,
			     (uint32_t)ue->cfg->expires,
			     a->reg.next_cred == UE_CRED_AUTS ? "resync" : "mac-failure");
}

/* declined: a re-authentication was asked for and the network did not challenge. */
static void ev_registered(struct ue *ue, struct ue_access *a, const char *how, bool declined)
{
	struct json_writer w;

	log_notice("%s: registered impi=%s impu=%.*s expires=%u%s (%s)", a->cfg.name, a->impi,
		   STR_FMT(ue_impu(ue)), a->reg.expires, a->reg.outbound ? " outbound" : "", how);
	if (!ue_ev_begin(ue, &w, "registered", a))
		return;
	json_kv_cstring(&w, "impi", a->impi);
	json_kv_cstring(&w, "how", how);
	json_key(&w, "expires");
	json_uint(&w, a->reg.expires);
	json_kv_bool(&w, "outbound", a->reg.outbound);
	if (declined)
		json_kv_bool(&w, "challenge_declined", true);
	json_key(&w, "impus");
	json_begin_array(&w);
	for (unsigned i = 0; i < a->reg.nassoc; i++)
		json_string(&w, a->reg.assoc[i]);
	json_end_array(&w);
	json_key(&w, "service_route");
	json_begin_array(&w);
	for (unsigned i = 0; i < a->reg.nroutes; i++)
		json_string(&w, a->reg.routes[i]);
	json_end_array(&w);
	ue_ev_end(ue, &w);
}

/* Take over what a 2xx to REGISTER granted. */
static int take_result(struct ue *ue, struct ue_access *a, struct sip_msg *msg)
{
	struct ue_reg_result r;
	char contact[256];
	int rc;

	rc = ue_contact_uri(a, contact, sizeof(contact));
	if (rc < 0)
		return rc;
	arena_reset(&a->reg.result);
	rc = ue_msg_read_reg_2xx(msg, str_from_cstr(contact), (uint32_t)ue->cfg->expires,
				 &a->reg.result, &r);
	if (rc) {
		log_warn("%s: 2xx to REGISTER unreadable: %s", a->cfg.name, strerror(-rc));
		return rc;
	}
	if (r.expires == 0) {
		log_warn("%s: 2xx to REGISTER grants no time", a->cfg.name);
		return -EPROTO;
	}
	a->reg.expires = r.expires;
	a->reg.registered_at_ms = loop_now_ms(ue->loop);
	a->reg.expires_at_ms = a->reg.registered_at_ms + (uint64_t)r.expires * 1000;
	a->reg.outbound = r.outbound;
	a->reg.flow_timer = r.flow_timer;
	a->reg.routes = r.routes;
	a->reg.nroutes = r.nroutes;
	a->reg.assoc = r.assoc;
	a->reg.nassoc = r.nassoc;
	a->reg.failures = 0;
	a->reg.reauth = false;
	if ((ue->mech_flags & UE_MF_OUTBOUND) && !r.outbound)
		/*
		 * 24.229 5.1.1.2.1: without Require: outbound the registrar
		 * replaced our other flows; further flows of this IMPI would
		 * do the same.
		 */
		log_warn("%s: registrar did not apply outbound (no Require: outbound)",
			 a->cfg.name);
	return 0;
}

/* impi binding: a registration of an IMPI takes the SA sets of its other accesses. */
static void impi_binding_takeover(struct ue *ue, struct ue_access *a)
{
	if (ue->cfg->sa_binding != UE_SA_BINDING_IMPI)
		return;
	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_access *b = &ue->acc[i];
		struct ue_reg_input in = { .why = "impi binding: newer registration of the IMPI" };

		if (b == a || strcmp(b->impi, a->impi) || !b->sec.est.live)
			continue;
		ue_reg_event(ue, b, UE_REG_EV_SA_REPLACED, &in);
	}
}

/*
 * protected/reauthenticating --2xx--> registered: the 200 came over the
 * temporary set, so the P-CSCF uses it: promote it and delete the old
 * established set (33.203 7.4).
 */
static int act_registered(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			  enum ue_reg_event *then)
{
	bool reauth = a->sec.est.live;
	int rc;

	rc = take_result(ue, a, in->msg);
	if (rc)
		return rc;
	sa_remove(ue, a, &a->sec.est, "replaced by the re-authenticated set");
	/* A new set is a new flow (new port_uc): its mapping is learnt anew. */
	a->reg.ka_have_mapped = false;
	a->sec.est = a->sec.tmp;
	a->sec.est.temporary = false;
	memset(&a->sec.tmp, 0, sizeof(a->sec.tmp));
	ev_sa(ue, a, "promoted", &a->sec.est, NULL);
	ev_registered(ue, a, reauth ? "re-authenticated" : "initial", false);
	impi_binding_takeover(ue, a);
	if (a->sub.state == UE_SUB_NONE || a->sub.state == UE_SUB_TERMINATED)
		ue_sub_start(ue, a);
	return 0;
}

/* registered --refresh timer, register--> refreshing (24.229 5.1.1.4.1, 33.203 7.4). */
static int act_refresh(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		       enum ue_reg_event *then)
{
	int rc;

	rc = ue_sec_offer(&a->sec, &ue->alloc, &a->pcscf_ip, &ue->offers, true);
	if (rc)
		return rc;
	/*
	 * A refresh shows the last nonce and response; asking to be
	 * challenged is the initial form, nonce="" (docs/architecture.md).
	 */
	a->reg.next_cred = a->reg.reauth ? UE_CRED_INITIAL : UE_CRED_LAST;
	return send_register(ue, a, &a->sec.est, a->sec.client, a->sec.est.verify,
			     (uint32_t)ue->cfg->expires, a->reg.reauth ? "reauth" : "refresh");
}

/* registered --reauth--> refreshing, asking for a challenge. */
static int act_reauth(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		      enum ue_reg_event *then)
{
	a->reg.reauth = true;
	return act_refresh(ue, a, in, then);
}

/* refreshing --2xx--> registered: not challenged, the offer goes back unused. */
static int act_refreshed(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			 enum ue_reg_event *then)
{
	bool asked = a->reg.reauth;
	int rc;

	ue_sec_offer_drop(&a->sec, &ue->alloc, &a->pcscf_ip);
	rc = take_result(ue, a, in->msg);
	if (rc)
		return rc;
	if (asked)
		/*
		 * Whether a protected REGISTER is challenged is the
		 * S-CSCF's choice (24.229 5.4.1.2.2 step 1); say it declined.
		 */
		log_notice("%s: re-authentication asked, the network refreshed without a challenge",
			   a->cfg.name);
	ev_registered(ue, a, "refreshed", asked);
	if (a->sub.state == UE_SUB_NONE || a->sub.state == UE_SUB_TERMINATED)
		ue_sub_start(ue, a);
	return 0;
}

/* registered --deregister--> deregistering (24.229 5.1.1.6). */
static int act_deregister(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			  enum ue_reg_event *then)
{
	ue_sec_offer_drop(&a->sec, &ue->alloc, &a->pcscf_ip);
	a->reg.next_cred = UE_CRED_LAST;
	return send_register(ue, a, &a->sec.est, NULL, a->sec.est.verify, 0, "deregister");
}

/* deregistering --any outcome--> idle: the SAs end with the registration. */
static int act_deregistered(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			    enum ue_reg_event *then)
{
	log_notice("%s: deregistered impi=%s (%u)", a->cfg.name, a->impi, status_of(in));
	ue_sub_reset(ue, a);
	sec_drop_all(ue, a, "deregistered");
	return 0;
}

/* Anything that failed a procedure: start over after the back-off. */
static int act_fail(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		    enum ue_reg_event *then)
{
	uint16_t st = status_of(in);

	if (st)
		log_warn("%s: registration failed: %u %.*s", a->cfg.name, st,
			 STR_FMT(in->msg->reason));
	else if (in && in->err)
		log_warn("%s: registration failed: %s", a->cfg.name, strerror(-in->err));
	else
		log_warn("%s: registration failed", a->cfg.name);
	a->reg.txn = 0;
	a->reg.failures++;
	a->reg.retry_after_ms = 0;
	ue_sub_reset(ue, a);
	sec_drop_all(ue, a, "registration failed");
	return 0;
}

/* The network ended the registration (reg-event, impi binding): do not fight it. */
static int act_lost(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		    enum ue_reg_event *then)
{
	log_notice("%s: registration of %s ended: %s", a->cfg.name, a->impi,
		   in && in->why ? in->why : "by the network");
	a->reg.txn = 0;
	ue_sub_reset(ue, a);
	sec_drop_all(ue, a, in && in->why ? in->why : "registration ended by the network");
	return 0;
}

/*
 * 24.229 5.1.1.3: a contact "deactivated" is to be registered again at
 * once, by an initial registration (new SAs, new dialog).
 */
static int act_deactivated(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			   enum ue_reg_event *then)
{
	act_lost(ue, a, in, then);
	return act_initial(ue, a, in, then);
}

/* RFC 3680 probation: try again after retry-after. */
static int act_probation(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
			 enum ue_reg_event *then)
{
	act_lost(ue, a, in, then);
	a->reg.retry_after_ms = (uint64_t)(in ? in->retry_after : 0) * 1000;
	return 0;
}

/* Give up the procedure in progress (deregister before the 200). */
static int act_abandon(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		       enum ue_reg_event *then)
{
	a->reg.txn = 0;
	ue_sub_reset(ue, a);
	sec_drop_all(ue, a, "registration abandoned");
	return 0;
}

/*
 * --drop--> link-down: the link goes away without a word: the access's
 * sockets close, its SAs are deleted locally. The network learns it from
 * silence (a NOTIFY or MESSAGE that is never answered).
 */
static int act_drop(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		    enum ue_reg_event *then)
{
	a->reg.txn = 0;
	a->link_up = false;
	ue_sub_reset(ue, a);
	sec_drop_all(ue, a, "link down");
	ue->env->link(ue->env_ctx, a, false);
	/* RFC 5626 4.5: losing the flow is a failure for the back-off. */
	a->reg.failures++;
	a->reg.retry_after_ms = 0;
	return 0;
}

/* link-down --restore--> backoff: the next attempt waits the RFC 5626 4.5 time. */
static int act_restore(struct ue *ue, struct ue_access *a, const struct ue_reg_input *in,
		       enum ue_reg_event *then)
{
	int rc = ue->env->link(ue->env_ctx, a, true);

	if (rc) {
		log_error("%s: link cannot come up: %s", a->cfg.name, strerror(-rc));
		return rc;
	}
	a->link_up = true;
	return 0;
}

/* ---- the table ------------------------------------------------------------- */

struct reg_row {
	enum ue_reg_state state;
	enum ue_reg_event ev;
	reg_action *fn;
	enum ue_reg_state next;
	enum ue_reg_state fail; /* when fn fails */
	const char *what;
};

#define S(x) UE_REG_##x
#define E(x) UE_REG_EV_##x
/* clang-format off */
static const struct reg_row rows[] = {
	{ S(IDLE), E(REGISTER), act_initial, S(UNPROTECTED), S(BACKOFF), "send unprotected REGISTER with Security-Client" },
	{ S(IDLE), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },

	{ S(UNPROTECTED), E(RX_401), act_challenge, S(CHALLENGED), S(BACKOFF), "read Security-Server, run the USIM" },
	{ S(UNPROTECTED), E(RX_2XX), act_fail, S(BACKOFF), S(BACKOFF), "registered without authentication: refused" },
	{ S(UNPROTECTED), E(RX_REJECT), act_fail, S(BACKOFF), S(BACKOFF), "drop the offer" },
	{ S(UNPROTECTED), E(NO_ANSWER), act_fail, S(BACKOFF), S(BACKOFF), "drop the offer" },
	{ S(UNPROTECTED), E(DEREGISTER), act_abandon, S(IDLE), S(IDLE), "abandon" },
	{ S(UNPROTECTED), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },

	{ S(CHALLENGED), E(AKA_OK), act_protected, S(PROTECTED), S(BACKOFF), "temporary SA set, protected REGISTER with the response and Security-Verify" },
	{ S(CHALLENGED), E(AKA_MAC_FAIL), act_invalid_initial, S(UNPROTECTED), S(BACKOFF), "unprotected REGISTER, empty response, new offer" },
	{ S(CHALLENGED), E(AKA_SYNC_FAIL), act_invalid_initial, S(UNPROTECTED), S(BACKOFF), "unprotected REGISTER with auts, new offer" },
	{ S(CHALLENGED), E(AKA_BAD), act_fail, S(BACKOFF), S(BACKOFF), "abandon the challenge" },

	{ S(PROTECTED), E(RX_2XX), act_registered, S(REGISTERED), S(BACKOFF), "promote the temporary set, SUBSCRIBE to reg" },
	{ S(PROTECTED), E(RX_401), act_challenge, S(CHALLENGED), S(BACKOFF), "challenged again" },
	{ S(PROTECTED), E(RX_REJECT), act_fail, S(BACKOFF), S(BACKOFF), "delete the temporary set" },
	{ S(PROTECTED), E(NO_ANSWER), act_fail, S(BACKOFF), S(BACKOFF), "delete the temporary set" },
	{ S(PROTECTED), E(DEREGISTER), act_abandon, S(IDLE), S(IDLE), "abandon, delete the temporary set" },
	{ S(PROTECTED), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },

	{ S(REGISTERED), E(T_REFRESH), act_refresh, S(REFRESHING), S(BACKOFF), "re-REGISTER over the established set, new offer" },
	{ S(REGISTERED), E(REGISTER), act_refresh, S(REFRESHING), S(BACKOFF), "re-REGISTER now" },
	{ S(REGISTERED), E(REAUTH), act_reauth, S(REFRESHING), S(BACKOFF), "re-REGISTER with nonce=\"\": challenge me" },
	{ S(REGISTERED), E(DEREGISTER), act_deregister, S(DEREGISTERING), S(IDLE), "REGISTER Expires 0 over the established set" },
	{ S(REGISTERED), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },
	{ S(REGISTERED), E(FLOW_FAIL), act_fail, S(BACKOFF), S(BACKOFF), "flow failed: delete the SAs" },
	{ S(REGISTERED), E(T_EXPIRED), act_fail, S(BACKOFF), S(BACKOFF), "delete the SAs" },
	{ S(REGISTERED), E(NET_ENDED), act_lost, S(IDLE), S(IDLE), "delete the SAs, do not re-register" },
	{ S(REGISTERED), E(NET_DEACTIVATED), act_deactivated, S(UNPROTECTED), S(BACKOFF), "delete the SAs, initial REGISTER at once" },
	{ S(REGISTERED), E(NET_PROBATION), act_probation, S(BACKOFF), S(BACKOFF), "delete the SAs, retry after retry-after" },
	{ S(REGISTERED), E(SA_REPLACED), act_lost, S(IDLE), S(IDLE), "delete the SAs" },

	{ S(REFRESHING), E(RX_2XX), act_refreshed, S(REGISTERED), S(BACKOFF), "not challenged: give the offer back" },
	{ S(REFRESHING), E(RX_401), act_challenge, S(RECHALLENGED), S(BACKOFF), "read Security-Server, run the USIM" },
	{ S(REFRESHING), E(RX_REJECT), act_fail, S(BACKOFF), S(BACKOFF), "delete the SAs" },
	{ S(REFRESHING), E(NO_ANSWER), act_fail, S(BACKOFF), S(BACKOFF), "flow failed: delete the SAs" },
	{ S(REFRESHING), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },
	{ S(REFRESHING), E(T_EXPIRED), act_fail, S(BACKOFF), S(BACKOFF), "delete the SAs" },
	{ S(REFRESHING), E(NET_ENDED), act_lost, S(IDLE), S(IDLE), "delete the SAs" },
	{ S(REFRESHING), E(NET_DEACTIVATED), act_deactivated, S(UNPROTECTED), S(BACKOFF), "delete the SAs, initial REGISTER at once" },
	{ S(REFRESHING), E(SA_REPLACED), act_lost, S(IDLE), S(IDLE), "delete the SAs" },

	{ S(RECHALLENGED), E(AKA_OK), act_protected, S(REAUTHENTICATING), S(BACKOFF), "new temporary set, protected REGISTER over it" },
	{ S(RECHALLENGED), E(AKA_MAC_FAIL), act_invalid_reauth, S(REFRESHING), S(BACKOFF), "REGISTER over the established set, empty response" },
	{ S(RECHALLENGED), E(AKA_SYNC_FAIL), act_invalid_reauth, S(REFRESHING), S(BACKOFF), "REGISTER over the established set with auts" },
	{ S(RECHALLENGED), E(AKA_BAD), act_fail, S(BACKOFF), S(BACKOFF), "abandon, delete the SAs" },

	{ S(REAUTHENTICATING), E(RX_2XX), act_registered, S(REGISTERED), S(BACKOFF), "promote the new set, delete the old one" },
	{ S(REAUTHENTICATING), E(RX_401), act_challenge, S(RECHALLENGED), S(BACKOFF), "challenged again" },
	{ S(REAUTHENTICATING), E(RX_REJECT), act_fail, S(BACKOFF), S(BACKOFF), "delete both sets" },
	{ S(REAUTHENTICATING), E(NO_ANSWER), act_fail, S(BACKOFF), S(BACKOFF), "delete both sets" },
	{ S(REAUTHENTICATING), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },
	{ S(REAUTHENTICATING), E(T_EXPIRED), act_fail, S(BACKOFF), S(BACKOFF), "delete both sets" },

	{ S(DEREGISTERING), E(RX_2XX), act_deregistered, S(IDLE), S(IDLE), "delete the SAs" },
	{ S(DEREGISTERING), E(RX_401), act_deregistered, S(IDLE), S(IDLE), "delete the SAs" },
	{ S(DEREGISTERING), E(RX_REJECT), act_deregistered, S(IDLE), S(IDLE), "delete the SAs" },
	{ S(DEREGISTERING), E(NO_ANSWER), act_deregistered, S(IDLE), S(IDLE), "delete the SAs" },
	{ S(DEREGISTERING), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },

	{ S(BACKOFF), E(T_RETRY), act_initial, S(UNPROTECTED), S(BACKOFF), "send unprotected REGISTER" },
	{ S(BACKOFF), E(REGISTER), act_initial, S(UNPROTECTED), S(BACKOFF), "send unprotected REGISTER now" },
	{ S(BACKOFF), E(DEREGISTER), act_abandon, S(IDLE), S(IDLE), "stop trying" },
	{ S(BACKOFF), E(DROP), act_drop, S(LINK_DOWN), S(LINK_DOWN), "link down" },

	{ S(LINK_DOWN), E(RESTORE), act_restore, S(BACKOFF), S(LINK_DOWN), "link up; register after the back-off" },
	{ S(LINK_DOWN), E(DEREGISTER), NULL, S(LINK_DOWN), S(LINK_DOWN), "nothing to deregister" },
};
/* clang-format on */
#undef S
#undef E

static const struct reg_row *lookup(enum ue_reg_state s, enum ue_reg_event ev)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].state == s && rows[i].ev == ev)
			return &rows[i];
	return NULL;
}

bool ue_reg_accepts(enum ue_reg_state s, enum ue_reg_event ev)
{
	return lookup(s, ev) != NULL;
}

/* ---- timers -------------------------------------------------------------- */

static struct ue_access *timer_access(struct loop_timer *t)
{
	return t->ctx;
}

static void on_refresh(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = timer_access(t);

	ue_reg_event(a->ue, a, UE_REG_EV_T_REFRESH, NULL);
}

static void on_retry(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = timer_access(t);

	ue_reg_event(a->ue, a, UE_REG_EV_T_RETRY, NULL);
}

static void on_later(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = timer_access(t);
	struct ue_reg_input in = { .retry_after = a->reg.later_retry_after, .why = a->reg.later_why };

	if (ue_reg_accepts(a->reg.state, a->reg.later_ev))
		ue_reg_event(a->ue, a, a->reg.later_ev, &in);
}

void ue_reg_event_later(struct ue *ue, struct ue_access *a, enum ue_reg_event ev,
			uint32_t retry_after, const char *why)
{
	a->reg.later_ev = ev;
	a->reg.later_retry_after = retry_after;
	a->reg.later_why = why;
	loop_timer_arm(ue->loop, &a->reg.t_later, 0);
}

static void on_expire(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = timer_access(t);

	ue_reg_event(a->ue, a, UE_REG_EV_T_EXPIRED, NULL);
}

static void arm_keepalive(struct ue *ue, struct ue_access *a)
{
	uint64_t ms = ue->cfg->keepalive_ms;

	if (!ms)
		ms = ue_keepalive_ms(a->reg.flow_timer, a->cfg.proto == SIP_TRANSPORT_TCP,
				     ue_random32(ue));
	loop_timer_arm(ue->loop, &a->reg.t_keepalive, ms);
}

/* RFC 5626 4.4: a keepalive on the access's flow, answered within the timeout. */
static void on_keepalive(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = timer_access(t);
	struct ue *ue = a->ue;
	int rc;

	rc = ue->env->keepalive(ue->env_ctx, a, &a->sec.est);
	if (rc >= 0)
		a->ka_sent++;
	if (rc == 1) {
		/* Sent, but the environment cannot see answers: keep the flow warm only. */
		arm_keepalive(ue, a);
		return;
	}
	if (rc) {
		struct ue_reg_input in = { .err = rc };

		log_warn("%s: keepalive not sent: %s", a->cfg.name, strerror(-rc));
		ue_reg_event(ue, a, UE_REG_EV_FLOW_FAIL, &in);
		return;
	}
	a->reg.ka_pending = true;
	loop_timer_arm(loop, &a->reg.t_ka_wait, ue->cfg->keepalive_timeout_ms);
}

static void on_keepalive_timeout(struct loop *loop, struct loop_timer *t)
{
	struct ue_access *a = timer_access(t);
	struct ue_reg_input in = { .err = -ETIMEDOUT };

	a->reg.ka_pending = false;
	log_warn("%s: keepalive unanswered: flow failed (RFC 5626 4.4)", a->cfg.name);
	ue_reg_event(a->ue, a, UE_REG_EV_FLOW_FAIL, &in);
}

void ue_on_keepalive(struct ue *ue, struct ue_access *a, const union sip_sockaddr *mapped)
{
	struct ue_reg *r = &a->reg;

	if (!r->ka_pending)
		return;
	a->ka_answered++;
	r->ka_pending = false;
	loop_timer_cancel(ue->loop, &r->t_ka_wait);
	if (mapped && r->ka_have_mapped && !sip_sockaddr_equal(mapped, &r->ka_mapped) &&
	    ue_reg_accepts(r->state, UE_REG_EV_FLOW_FAIL)) {
		struct ue_reg_input in = { .err = -EADDRNOTAVAIL };
		char was[SIP_SOCKADDR_STRLEN], now[SIP_SOCKADDR_STRLEN];

		log_warn("%s: keepalive answer maps us to %s, not %s: flow failed (RFC 5626 4.4.2)",
			 a->cfg.name, sip_sockaddr_str(mapped, now, sizeof(now)),
			 sip_sockaddr_str(&r->ka_mapped, was, sizeof(was)));
		ue_reg_event(ue, a, UE_REG_EV_FLOW_FAIL, &in);
		return;
	}
	if (mapped && !r->ka_have_mapped) {
		r->ka_mapped = *mapped;
		r->ka_have_mapped = true;
	}
	if (state_timers[a->reg.state] & T_KEEPALIVE)
		arm_keepalive(ue, a);
}

void ue_reg_shorten(struct ue *ue, struct ue_access *a, uint32_t seconds)
{
	struct ue_reg *r = &a->reg;
	uint64_t now = loop_now_ms(ue->loop), at = now + (uint64_t)seconds * 1000;

	if (!(state_timers[r->state] & T_EXPIRE) || at >= r->expires_at_ms)
		return;
	log_notice("%s: registration of %s shortened by the network to %u s", a->cfg.name,
		   a->impi, seconds);
	r->expires_at_ms = at;
	loop_timer_arm_at(ue->loop, &r->t_expire, at * 1000000);
	if (r->state != UE_REG_REGISTERED)
		return;
	r->expires = seconds;
	r->registered_at_ms = now;
	loop_timer_arm_at(ue->loop, &r->t_refresh,
			  (now + (uint64_t)ue_refresh_delay_s(seconds) * 1000) * 1000000);
	ev_registered(ue, a, "shortened", false);
}

/* Cancel what the new state does not run; arm what it starts. */
static void enter_timers(struct ue *ue, struct ue_access *a, enum ue_reg_state to)
{
	unsigned keep = state_timers[to];
	struct ue_reg *r = &a->reg;

	if (!(keep & T_REFRESH))
		loop_timer_cancel(ue->loop, &r->t_refresh);
	if (!(keep & T_EXPIRE))
		loop_timer_cancel(ue->loop, &r->t_expire);
	if (!(keep & T_RETRY))
		loop_timer_cancel(ue->loop, &r->t_retry);
	if (!(keep & T_KEEPALIVE)) {
		loop_timer_cancel(ue->loop, &r->t_keepalive);
		loop_timer_cancel(ue->loop, &r->t_ka_wait);
		r->ka_pending = false;
		r->ka_have_mapped = false;
	}
	if (to == UE_REG_REGISTERED) {
		uint64_t refresh_at = r->registered_at_ms +
				      (uint64_t)ue_refresh_delay_s(r->expires) * 1000;

		loop_timer_arm_at(ue->loop, &r->t_refresh, refresh_at * 1000000);
		loop_timer_arm_at(ue->loop, &r->t_expire, r->expires_at_ms * 1000000);
		if ((ue->mech_flags & UE_MF_OUTBOUND) && !loop_timer_armed(&r->t_keepalive) &&
		    !r->ka_pending)
			arm_keepalive(ue, a);
	}
	if (to == UE_REG_BACKOFF) {
		uint64_t ms = r->retry_after_ms;

		if (!ms)
			ms = ue_backoff_ms(&ue->backoff, r->failures,
					   ue_some_other_registered(ue, a), ue_random32(ue));
		r->retry_after_ms = 0;
		log_info("%s: next registration attempt in %" PRIu64 " ms (failures %u)",
			 a->cfg.name, ms, r->failures);
		loop_timer_arm(ue->loop, &r->t_retry, ms);
	}
}

/* ---- the engine ------------------------------------------------------------ */

static void ev_state(struct ue *ue, struct ue_access *a, enum ue_reg_state from,
		     enum ue_reg_state to, enum ue_reg_event ev, int rc)
{
	struct json_writer w;

	log_info("%s: %s --%s--> %s%s%s", a->cfg.name, ue_reg_state_name(from),
		 ue_reg_event_name(ev), ue_reg_state_name(to), rc ? ": " : "",
		 rc ? strerror(-rc) : "");
	if (!ue_ev_begin(ue, &w, "state", a))
		return;
	json_kv_cstring(&w, "from", ue_reg_state_name(from));
	json_kv_cstring(&w, "to", ue_reg_state_name(to));
	json_kv_cstring(&w, "cause", ue_reg_event_name(ev));
	if (rc)
		json_kv_cstring(&w, "error", strerror(-rc));
	ue_ev_end(ue, &w);
}

int ue_reg_event(struct ue *ue, struct ue_access *a, enum ue_reg_event ev,
		 const struct ue_reg_input *in)
{
	static const struct ue_reg_input none;
	const struct reg_row *row;
	enum ue_reg_event then = UE_REG_EV__COUNT;
	enum ue_reg_state from = a->reg.state, to;
	int rc = 0;

	if ((unsigned)ev >= UE_REG_EV__COUNT)
		return -EINVAL;
	if (!in)
		in = &none;
	row = lookup(from, ev);
	if (!row) {
		struct json_writer w;

		log_info("%s: %s refused in state %s", a->cfg.name, ue_reg_event_name(ev),
			 ue_reg_state_name(from));
		if (ue_ev_begin(ue, &w, "refused", a)) {
			json_kv_cstring(&w, "state", ue_reg_state_name(from));
			json_kv_cstring(&w, "input", ue_reg_event_name(ev));
			ue_ev_end(ue, &w);
		}
		return -EPERM;
	}
	if (row->fn)
		rc = row->fn(ue, a, in, &then);
	to = rc ? row->fail : row->next;
	if (rc) {
		/* The failure state must not inherit half of what the action built. */
		if (to == UE_REG_BACKOFF || to == UE_REG_IDLE) {
			a->reg.txn = 0;
			a->reg.failures++;
			ue_sub_reset(ue, a);
			sec_drop_all(ue, a, "procedure failed");
		}
		then = UE_REG_EV__COUNT;
	}
	a->reg.state = to;
	ev_state(ue, a, from, to, ev, rc);
	enter_timers(ue, a, to);
	if (then != UE_REG_EV__COUNT)
		return ue_reg_event(ue, a, then, in);
	return 0;
}

void ue_reg_init(struct ue *ue, struct ue_access *a)
{
	struct ue_reg *r = &a->reg;

	memset(r, 0, sizeof(*r));
	r->state = UE_REG_IDLE;
	arena_init(&r->result, 0, 0);
	loop_timer_init(&r->t_refresh, on_refresh, a);
	loop_timer_init(&r->t_retry, on_retry, a);
	loop_timer_init(&r->t_expire, on_expire, a);
	loop_timer_init(&r->t_keepalive, on_keepalive, a);
	loop_timer_init(&r->t_ka_wait, on_keepalive_timeout, a);
	loop_timer_init(&r->t_later, on_later, a);
}

void ue_reg_fini(struct ue *ue, struct ue_access *a)
{
	struct ue_reg *r = &a->reg;

	loop_timer_cancel(ue->loop, &r->t_refresh);
	loop_timer_cancel(ue->loop, &r->t_retry);
	loop_timer_cancel(ue->loop, &r->t_expire);
	loop_timer_cancel(ue->loop, &r->t_keepalive);
	loop_timer_cancel(ue->loop, &r->t_ka_wait);
	loop_timer_cancel(ue->loop, &r->t_later);
	sec_drop_all(ue, a, "UE stopped");
	ue_challenge_wipe(&r->digest.ch);
	arena_destroy(&r->result);
}

int ue_reg_table_markdown(FILE *out)
{
	fprintf(out, "| state | meaning |\n|---|---|\n");
	for (unsigned s = 0; s < UE_REG__COUNT; s++)
		fprintf(out, "| `%s` | %s |\n", state_names[s], state_docs[s]);
	fprintf(out, "\n| event | from |\n|---|---|\n");
	for (unsigned e = 0; e < UE_REG_EV__COUNT; e++)
		fprintf(out, "| `%s` | %s |\n", event_names[e], event_docs[e]);
	fprintf(out, "\n| state | event | next | if the action fails | action |\n"
		     "|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct reg_row *r = &rows[i];

		fprintf(out, "| `%s` | `%s` | `%s` | `%s` | %s |\n", state_names[r->state],
			event_names[r->ev], state_names[r->next], state_names[r->fail], r->what);
	}
	return ferror(out) ? -EIO : 0;
}
