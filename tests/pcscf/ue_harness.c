/*
 * ue_harness - a test UE for the P-CSCF tests: one access, IMS AKA with a
 * lib/aka USIM, its side of the SA set through lib/ipsec (the same
 * security agreement and protected-port transport the real UE uses), and
 * a control socket the test scripts drive. It is not simreg's UE (that is
 * `simreg ue`); it exists to put the P-CSCF through what a UE does and what
 * a UE must not be able to do.
 *
 *   ue_harness --local ADDR --pcscf ADDR[:PORT] --impi IMPI --impu URI
 *              --k HEX --opc HEX --ctl PATH [--keylog FILE] [--seq N]
 *
 * Control commands (one line each, JSON answers; `help` lists them):
 *   register [EXPIRES] [bid-down-verify|bid-down-client|skip-verify]
 *   reregister [EXPIRES]        over the established set, new Security-Client
 *   deregister
 *   message URI                 MESSAGE over SA1 (port_uc -> port_ps)
 *   message-sa4 URI             a request over SA4 (port_us -> port_pc): the
 *                               P-CSCF must drop it
 *   subscribe                   reg-event SUBSCRIBE for our IMPU over SA1
 *   state                       registration state, last statuses, SA set
 *
 * Everything is asynchronous: a command starts a procedure; `state` tells
 * where it is ("registered", "failed", the final status of the last
 * MESSAGE, how many requests came in over SA2).
 */
#define SLOG_COMPONENT "ue-harness"
#include "core/log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/digest.h"
#include "aka/esp_keys.h"
#include "aka/usim.h"
#include "core/ctlsock.h"
#include "core/hex.h"
#include "ipsec/backend.h"
#include "ipsec/secagree.h"
#include "ipsec/sip_transport.h"
#include "sip/print.h"
#include "sip/stack.h"

enum state {
	ST_IDLE,
	ST_WAIT_401,
	ST_WAIT_200,
	ST_REGISTERED,
	ST_REFRESHING,
	ST_DEREGISTERING,
	ST_FAILED,
};

static const char *const state_names[] = { "idle", "challenging", "authenticating",
					   "registered", "refreshing", "deregistering",
					   "failed" };

enum attack {
	ATTACK_NONE,
	ATTACK_VERIFY,    /* Security-Verify weakened on the protected REGISTER */
	ATTACK_CLIENT,    /* Security-Client without its strong entry */
	ATTACK_NO_VERIFY, /* no Security-Verify at all */
};

struct ue_set {
	bool on;
	struct ipsec_sa_set set;
	uint32_t tp_uc, tp_us;
};

struct ue {
	struct loop *loop;
	struct sip_stack *st;
	struct ipsec_backend *b;
	struct ipsec_sip *ports;
	struct ipsec_alloc alloc;
	struct usim usim;
	struct ipsec_prefs prefs;
	const char *impi, *impu, *realm;
	struct ipsec_addr local, pcscf;
	union sip_sockaddr pcscf_sa;
	uint32_t plain_tp;

	enum state state;
	enum attack attack;
	int last_status;
	int message_status;
	unsigned incoming;
	char last_incoming[32];
	uint32_t expires;
	char call_id[64];
	char from_tag[SIP_TAG_LEN];
	uint32_t cseq;
	char contact[160];
	char service_route[512];
	char client_hdr[1024];   /* the Security-Client of the running procedure */
	char server_hdr[1024];   /* the last Security-Server received */
	struct ipsec_sec_params mine;     /* local half of the running procedure */
	bool mine_held;
	struct ue_set est, temp;
	char nonce[AKAV1_NONCE_MAX + 1];
	uint8_t res[AKA_RES_LEN];
	bool reauth;             /* the running procedure was challenged */
};

static const struct sip_client_ops reg_ops;
static const struct sip_client_ops msg_ops;

/* ---- the SA sets -------------------------------------------------------- */

static void set_drop(struct ue *u, struct ue_set *s)
{
	if (!s->on)
		return;
	ipsec_backend_remove(u->b, s->set.id);
	ipsec_sip_port_put(u->ports, &u->local, s->set.p.client.port_c);
	ipsec_sip_port_put(u->ports, &u->local, s->set.p.client.port_s);
	ipsec_alloc_release(&u->alloc, &u->pcscf, &s->set.p.client);
	ipsec_sa_set_wipe(&s->set);
	s->on = false;
}

static int set_install(struct ue *u, struct ue_set *s, const struct ipsec_mech *server,
		       const uint8_t ik[16], const uint8_t ck[16])
{
	struct ipsec_set_params p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.ue = u->local;
	p.pcscf = u->pcscf;
	p.client = u->mine;
	p.server = server->sp;
	rc = esp_keys_derive(server->alg, server->ealg, ik, ck, &p.keys);
	if (!rc)
		rc = ipsec_sa_set_build(&s->set, IPSEC_SIDE_UE, &p);
	if (!rc)
		rc = ipsec_backend_install(u->b, &s->set);
	if (!rc)
		rc = ipsec_sip_port_get(u->ports, &u->local, p.client.port_c, &s->tp_uc);
	if (!rc)
		rc = ipsec_sip_port_get(u->ports, &u->local, p.client.port_s, &s->tp_us);
	if (!rc) {
		s->on = true;
		u->mine_held = false; /* the set owns the local half now */
	}
	return rc;
}

/* A flow from our port_uc to the P-CSCF's port_ps: SA1. */
static void sa1_flow(const struct ue_set *s, struct sip_flow *f)
{
	sip_flow_init(f);
	f->proto = SIP_TRANSPORT_UDP;
	f->tp = s->tp_uc;
	ipsec_addr_to_sockaddr(&s->set.p.pcscf, s->set.p.server.port_s, &f->remote);
}

/* ---- REGISTER ------------------------------------------------------------- */

/* Our contact: the protected server port (24.229 §5.1.1.2.1). */
static void contact_of(struct ue *u, uint16_t port_us)
{
	char a[IPSEC_ADDR_STRLEN];
	bool v6 = u->local.family == AF_INET6;

	snprintf(u->contact, sizeof(u->contact), "sip:ue@%s%s%s:%u", v6 ? "[" : "",
		 ipsec_addr_str(&u->local, a), v6 ? "]" : "", port_us);
}

static void new_local_half(struct ue *u, bool renew)
{
	if (u->mine_held)
		ipsec_alloc_release(&u->alloc, &u->pcscf, &u->mine);
	if (renew && u->est.on)
		ipsec_alloc_renew(&u->alloc, &u->pcscf, &u->est.set.p.client, &u->mine);
	else
		ipsec_alloc_local(&u->alloc, &u->pcscf, &u->mine);
	u->mine_held = true;
	contact_of(u, u->mine.port_s);
}

static void client_header(struct ue *u, bool strong)
{
	struct buf b;

	buf_init_fixed(&b, u->client_hdr, sizeof(u->client_hdr));
	for (unsigned i = 0; i < u->prefs.n; i++) {
		struct ipsec_mech m = { .alg = u->prefs.v[i].alg, .ealg = u->prefs.v[i].ealg,
					.q = IPSEC_Q_NONE, .sp = u->mine };

		if (!strong && m.ealg != ESP_ENC_NULL)
			continue;
		if (b.len)
			buf_puts(&b, ", ");
		ipsec_mech_print(&b, &m);
	}
}

static int send_register(struct ue *u, const struct sip_flow *dest, bool protected_)
{
	struct sip_client_req req = { .ops = &reg_ops, .ctx = u, .dest = *dest };
	char resp[DIGEST_HEX_LEN + 1] = "";
	struct buf b;
	int rc;

	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("REGISTER"), STR_LIT("sip:ims.test"));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<%s>;tag=%s", u->impu, u->from_tag);
	sip_print_hdrf(&b, SIP_HDR_TO, "<%s>", u->impu);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(u->call_id));
	sip_print_hdrf(&b, SIP_HDR_CSEQ, "%u REGISTER", ++u->cseq);
	sip_print_hdrf(&b, SIP_HDR_CONTACT, "<%s>;expires=%u", u->contact, u->expires);
	sip_print_hdrf(&b, SIP_HDR_EXPIRES, "%u", u->expires);
	if (u->nonce[0]) {
		struct digest_request dr = {
			.username = str_from_cstr(u->impi), .realm = str_from_cstr(u->realm),
			.nonce = str_from_cstr(u->nonce), .uri = STR_LIT("sip:ims.test"),
			.method = STR_LIT("REGISTER"), .qop = DIGEST_QOP_NONE,
		};

		digest_response(&dr, u->res, sizeof(u->res), resp);
		sip_print_hdrf(&b, SIP_HDR_AUTHORIZATION,
			       "Digest username=\"%s\", realm=\"%s\", uri=\"sip:ims.test\", "
			       "nonce=\"%s\", response=\"%s\", algorithm=AKAv1-MD5",
			       u->impi, u->realm, u->nonce, resp);
	} else {
		sip_print_hdrf(&b, SIP_HDR_AUTHORIZATION,
			       "Digest username=\"%s\", realm=\"%s\", uri=\"sip:ims.test\", "
			       "nonce=\"\", response=\"\"",
			       u->impi, u->realm);
	}
	if (protected_ && u->attack == ATTACK_CLIENT) {
		/* Bidding down: the strong offer removed from what is repeated. */
		char saved[sizeof(u->client_hdr)];

		memcpy(saved, u->client_hdr, sizeof(saved));
		client_header(u, false);
		sip_print_hdr(&b, SIP_HDR_SECURITY_CLIENT, str_from_cstr(u->client_hdr));
		memcpy(u->client_hdr, saved, sizeof(saved));
	} else {
		sip_print_hdr(&b, SIP_HDR_SECURITY_CLIENT, str_from_cstr(u->client_hdr));
	}
	if (protected_ && u->server_hdr[0] && u->attack != ATTACK_NO_VERIFY) {
		if (u->attack == ATTACK_VERIFY) {
			/* Bidding down: what the P-CSCF sent, with encryption taken away. */
			char weak[sizeof(u->server_hdr)], *p;

			snprintf(weak, sizeof(weak), "%s", u->server_hdr);
			p = strstr(weak, "ealg=");
			if (p) {
				memcpy(p, "ealg=null", 9);
				memmove(p + 9, p + 9 + strcspn(p + 9, ";,"),
					strlen(p + 9 + strcspn(p + 9, ";,")) + 1);
			}
			sip_print_hdr(&b, SIP_HDR_SECURITY_VERIFY, str_from_cstr(weak));
		} else {
			sip_print_hdr(&b, SIP_HDR_SECURITY_VERIFY, str_from_cstr(u->server_hdr));
		}
	}
	sip_print_hdr(&b, SIP_HDR_REQUIRE, STR_LIT("sec-agree"));
	sip_print_hdr(&b, SIP_HDR_PROXY_REQUIRE, STR_LIT("sec-agree"));
	sip_print_hdr(&b, SIP_HDR_SUPPORTED, STR_LIT("path"));
	sip_print_body(&b, STR_NULL, STR_NULL);
	req.msg = buf_str(&b);
	rc = buf_error(&b) ? buf_error(&b) : sip_client_txn_start(u->st, &req, NULL);
	buf_free(&b);
	return rc;
}

static void fail(struct ue *u, int status, const char *why)
{
	log_notice("registration failed: %s (%d)", why, status);
	u->last_status = status;
	set_drop(u, &u->temp);
	u->state = u->est.on ? ST_REGISTERED : ST_FAILED;
	u->attack = ATTACK_NONE;
}

static void on_401(struct ue *u, struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_WWW_AUTHENTICATE);
	struct ipsec_offer offer;
	struct ipsec_mech server;
	struct akav1_nonce n;
	struct usim_result res;
	struct sip_auth a;
	struct sip_flow f;
	const struct sip_hdr *ss;
	struct buf b;

	if (!h || sip_auth_parse(h->value, true, &a, NULL) ||
	    str_copy(u->nonce, sizeof(u->nonce), sip_auth_get(&a, SIP_AUTH_NONCE)) ||
	    akav1_nonce_decode(str_from_cstr(u->nonce), &n)) {
		fail(u, 401, "401 without a usable nonce");
		return;
	}
	if (sip_auth_has(&a, SIP_AUTH_IK) || sip_auth_has(&a, SIP_AUTH_CK)) {
		fail(u, 401, "the 401 still carries ik/ck");
		return;
	}
	if (ipsec_offer_from_msg(m, SIP_HDR_SECURITY_SERVER, &offer, NULL) ||
	    ipsec_offer_choose_by_q(&offer, &u->prefs, &server)) {
		fail(u, 401, "no usable Security-Server");
		return;
	}
	buf_init_fixed(&b, u->server_hdr, sizeof(u->server_hdr));
	for (ss = sip_msg_hdr(m, SIP_HDR_SECURITY_SERVER); ss; ss = sip_msg_hdr_next(m, ss)) {
		if (b.len)
			buf_puts(&b, ", ");
		buf_put_str(&b, ss->value);
	}
	if (usim_authenticate(&u->usim, n.rand, n.autn, &res) || res.status != USIM_OK) {
		fail(u, 401, "the USIM refused the challenge");
		usim_result_wipe(&res);
		return;
	}
	memcpy(u->res, res.res, sizeof(u->res));
	set_drop(u, &u->temp);
	if (set_install(u, &u->temp, &server, res.ik, res.ck)) {
		usim_result_wipe(&res);
		fail(u, 401, "temporary set not installed");
		return;
	}
	usim_result_wipe(&res);
	log_info("challenged: temporary set %u, spi_pc 0x%08x spi_ps 0x%08x port_pc %u port_ps %u",
		 u->temp.set.id, server.sp.spi_c, server.sp.spi_s, server.sp.port_c,
		 server.sp.port_s);
	u->reauth = true;
	u->state = ST_WAIT_200;
	sa1_flow(&u->temp, &f);
	if (send_register(u, &f, true))
		fail(u, 0, "protected REGISTER not sent");
}

static void on_200(struct ue *u, struct sip_msg *m)
{
	const struct sip_hdr *sr = sip_msg_hdr(m, SIP_HDR_SERVICE_ROUTE);
	bool dereg = u->state == ST_DEREGISTERING;

	u->last_status = m->status;
	u->attack = ATTACK_NONE;
	if (sr)
		str_copy(u->service_route, sizeof(u->service_route), sr->value);
	if (dereg) {
		set_drop(u, &u->est);
		u->state = ST_IDLE;
		return;
	}
	if (u->temp.on) {
		/* 33.203 §7.4: the new set is in use; the old one goes. */
		set_drop(u, &u->est);
		u->est = u->temp;
		u->temp.on = false;
	} else if (u->mine_held) {
		/* A refresh without a challenge: the new local half is not used. */
		ipsec_alloc_release(&u->alloc, &u->pcscf, &u->mine);
		u->mine_held = false;
		contact_of(u, u->est.set.p.client.port_s);
	}
	u->state = ST_REGISTERED;
	log_info("registered: set %u, expires %u", u->est.set.id, u->expires);
}

static void on_reg_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			    struct sip_rx *rx)
{
	struct ue *u = ctx;
	struct sip_msg *m = rx->msg;

	if (m->status < 200)
		return;
	if (m->status == 401 && u->state != ST_WAIT_200 && u->state != ST_DEREGISTERING) {
		on_401(u, m);
		return;
	}
	if (m->status >= 200 && m->status < 300) {
		on_200(u, m);
		return;
	}
	fail(u, m->status, "REGISTER refused");
}

static void on_reg_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	fail(ctx, 408, "REGISTER timed out");
}

static const struct sip_client_ops reg_ops = {
	.response = on_reg_response,
	.failure = on_reg_failure,
};

/* ---- MESSAGE ------------------------------------------------------------- */

static void on_msg_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			    struct sip_rx *rx)
{
	struct ue *u = ctx;

	if (rx->msg->status >= 200)
		u->message_status = rx->msg->status;
}

static void on_msg_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct ue *u = ctx;

	u->message_status = err == -ETIMEDOUT ? 408 : 503;
}

static const struct sip_client_ops msg_ops = {
	.response = on_msg_response,
	.failure = on_msg_failure,
};

/* A reg-event SUBSCRIBE for our own IMPU over SA1 (24.229 §5.1.1.3). */
static int send_subscribe(struct ue *u)
{
	struct sip_client_req req = { .ops = &msg_ops, .ctx = u };
	char tag[SIP_TAG_LEN], cid[SIP_TAG_LEN];
	struct buf b;
	int rc;

	if (!u->est.on)
		return -ENOTCONN;
	sa1_flow(&u->est, &req.dest);
	sip_stack_new_tag(u->st, tag);
	sip_stack_new_tag(u->st, cid);
	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("SUBSCRIBE"), str_from_cstr(u->impu));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	if (u->service_route[0])
		sip_print_hdr(&b, SIP_HDR_ROUTE, str_from_cstr(u->service_route));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<%s>;tag=%s", u->impu, tag);
	sip_print_hdrf(&b, SIP_HDR_TO, "<%s>", u->impu);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(cid));
	sip_print_hdr(&b, SIP_HDR_CSEQ, STR_LIT("1 SUBSCRIBE"));
	sip_print_hdr(&b, SIP_HDR_EVENT, STR_LIT("reg"));
	sip_print_hdrf(&b, SIP_HDR_CONTACT, "<%s>", u->contact);
	sip_print_hdr(&b, SIP_HDR_EXPIRES, STR_LIT("600000"));
	sip_print_body(&b, STR_NULL, STR_NULL);
	req.msg = buf_str(&b);
	u->message_status = 0;
	rc = buf_error(&b) ? buf_error(&b) : sip_client_txn_start(u->st, &req, NULL);
	buf_free(&b);
	return rc;
}

static int send_message(struct ue *u, const char *to, bool over_sa4)
{
	struct sip_client_req req = { .ops = &msg_ops, .ctx = u };
	char tag[SIP_TAG_LEN], cid[SIP_TAG_LEN];
	struct buf b;
	int rc;

	if (!u->est.on)
		return -ENOTCONN;
	sip_flow_init(&req.dest);
	req.dest.proto = SIP_TRANSPORT_UDP;
	if (over_sa4) {
		req.dest.tp = u->est.tp_us;
		ipsec_addr_to_sockaddr(&u->pcscf, u->est.set.p.server.port_c, &req.dest.remote);
	} else {
		sa1_flow(&u->est, &req.dest);
	}
	sip_stack_new_tag(u->st, tag);
	sip_stack_new_tag(u->st, cid);
	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("MESSAGE"), str_from_cstr(to));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	if (u->service_route[0])
		sip_print_hdr(&b, SIP_HDR_ROUTE, str_from_cstr(u->service_route));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<%s>;tag=%s", u->impu, tag);
	sip_print_hdrf(&b, SIP_HDR_TO, "<%s>", to);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(cid));
	sip_print_hdr(&b, SIP_HDR_CSEQ, STR_LIT("1 MESSAGE"));
	/* A UE may say who it would like to be; the P-CSCF decides. */
	sip_print_hdrf(&b, SIP_HDR_P_PREFERRED_IDENTITY, "<%s>", u->impu);
	sip_print_hdr(&b, SIP_HDR_P_ASSERTED_IDENTITY, STR_LIT("<sip:mallory@ims.test>"));
	sip_print_body(&b, STR_LIT("text/plain"), STR_LIT("hello from the ue harness"));
	req.msg = buf_str(&b);
	u->message_status = 0;
	rc = buf_error(&b) ? buf_error(&b) : sip_client_txn_start(u->st, &req, NULL);
	buf_free(&b);
	return rc;
}

/* ---- requests from the P-CSCF ------------------------------------------- */

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct ue *u = ctx;
	const struct sip_hdr *pai = sip_msg_hdr(rx->msg, SIP_HDR_P_ASSERTED_IDENTITY);

	if (!stx)
		return;
	u->incoming++;
	str_copy(u->last_incoming, sizeof(u->last_incoming), rx->msg->method_name);
	log_info("%.*s received over SA set %u (port %u)%s", STR_FMT(rx->msg->method_name),
		 rx->flow.sa_set, sip_sockaddr_port(&rx->flow.local), pai ? " with PAI" : "");
	sip_server_txn_respond(st, stx, 200, STR_NULL);
}

static const struct sip_tu_ops tu = { .request = on_request };

/* ---- control ------------------------------------------------------------- */

static int start_register(struct ue *u, bool initial)
{
	struct sip_flow f;

	u->nonce[0] = '\0';
	u->reauth = false;
	if (initial) {
		sip_stack_new_tag(u->st, u->from_tag);
		snprintf(u->call_id, sizeof(u->call_id), "ue-%s", u->from_tag);
		u->cseq = 0;
		new_local_half(u, false);
		client_header(u, true);
		sip_flow_to(&f, SIP_TRANSPORT_UDP, &u->pcscf_sa);
		f.tp = u->plain_tp;
		u->state = ST_WAIT_401;
	} else {
		new_local_half(u, true);
		client_header(u, true);
		sa1_flow(&u->est, &f);
		u->state = ST_REFRESHING;
	}
	return send_register(u, &f, !initial);
}

static int cmd_register(void *ctx, const struct ctl_request *req, struct json_writer *w,
			const char **error)
{
	struct ue *u = ctx;

	u->expires = req->argc > 1 ? (uint32_t)atoi(req->argv[1].s) : 600000;
	u->attack = ATTACK_NONE;
	if (req->argc > 2) {
		if (str_eq_cstr(req->argv[2], "bid-down-verify"))
			u->attack = ATTACK_VERIFY;
		else if (str_eq_cstr(req->argv[2], "bid-down-client"))
			u->attack = ATTACK_CLIENT;
		else if (str_eq_cstr(req->argv[2], "skip-verify"))
			u->attack = ATTACK_NO_VERIFY;
	}
	set_drop(u, &u->temp);
	set_drop(u, &u->est);
	if (start_register(u, true)) {
		*error = "REGISTER not sent";
		return -EIO;
	}
	json_kv_cstring(w, "started", "register");
	return 0;
}

static int cmd_reregister(void *ctx, const struct ctl_request *req, struct json_writer *w,
			  const char **error)
{
	struct ue *u = ctx;

	if (!u->est.on) {
		*error = "not registered";
		return -ENOTCONN;
	}
	if (req->argc > 1)
		u->expires = (uint32_t)atoi(req->argv[1].s);
	if (start_register(u, false)) {
		*error = "REGISTER not sent";
		return -EIO;
	}
	json_kv_cstring(w, "started", "reregister");
	return 0;
}

static int cmd_deregister(void *ctx, const struct ctl_request *req, struct json_writer *w,
			  const char **error)
{
	struct ue *u = ctx;
	struct sip_flow f;

	if (!u->est.on) {
		*error = "not registered";
		return -ENOTCONN;
	}
	u->expires = 0;
	u->nonce[0] = '\0';
	new_local_half(u, true);
	client_header(u, true);
	sa1_flow(&u->est, &f);
	u->state = ST_DEREGISTERING;
	if (send_register(u, &f, true)) {
		*error = "REGISTER not sent";
		return -EIO;
	}
	json_kv_cstring(w, "started", "deregister");
	return 0;
}

static int cmd_message(void *ctx, const struct ctl_request *req, struct json_writer *w,
		       const char **error)
{
	struct ue *u = ctx;
	bool sa4 = str_eq_cstr(req->argv[0], "message-sa4");

	if (send_message(u, req->argv[1].s, sa4)) {
		*error = "MESSAGE not sent";
		return -EIO;
	}
	json_kv_cstring(w, "started", sa4 ? "message over SA4" : "message");
	return 0;
}

static int cmd_subscribe(void *ctx, const struct ctl_request *req, struct json_writer *w,
			 const char **error)
{
	if (send_subscribe(ctx)) {
		*error = "SUBSCRIBE not sent";
		return -EIO;
	}
	json_kv_cstring(w, "started", "subscribe");
	return 0;
}

static int cmd_state(void *ctx, const struct ctl_request *req, struct json_writer *w,
		     const char **error)
{
	struct ue *u = ctx;

	json_kv_cstring(w, "state", state_names[u->state]);
	json_kv_int(w, "last_status", u->last_status);
	json_kv_int(w, "message_status", u->message_status);
	json_kv_int(w, "incoming", u->incoming);
	json_kv_cstring(w, "last_incoming", u->last_incoming);
	json_kv_cstring(w, "contact", u->contact);
	if (u->est.on) {
		const struct ipsec_set_params *p = &u->est.set.p;

		json_kv_int(w, "set", u->est.set.id);
		json_kv_int(w, "port_uc", p->client.port_c);
		json_kv_int(w, "port_us", p->client.port_s);
		json_kv_int(w, "spi_uc", p->client.spi_c);
		json_kv_int(w, "spi_us", p->client.spi_s);
		json_kv_int(w, "port_pc", p->server.port_c);
		json_kv_int(w, "port_ps", p->server.port_s);
		json_kv_int(w, "spi_pc", p->server.spi_c);
		json_kv_int(w, "spi_ps", p->server.spi_s);
	}
	return 0;
}

static const struct ctl_command commands[] = {
	{ "register", "[EXPIRES] [ATTACK]", "initial registration", 0, 2, cmd_register },
	{ "reregister", "[EXPIRES]", "re-registration over the established set", 0, 1,
	  cmd_reregister },
	{ "deregister", "", "Expires 0 over the established set", 0, 0, cmd_deregister },
	{ "message", "URI", "MESSAGE over SA1", 1, 1, cmd_message },
	{ "message-sa4", "URI", "a request over SA4, which the P-CSCF must drop", 1, 1,
	  cmd_message },
	{ "subscribe", "", "reg-event SUBSCRIBE for our IMPU over SA1", 0, 0, cmd_subscribe },
	{ "state", "", "where the harness is", 0, 0, cmd_state },
};

/* ---- main ---------------------------------------------------------------- */

static void die(const char *what)
{
	fprintf(stderr, "ue_harness: %s\n", what);
	exit(2);
}

static void hex_arg(const char *text, uint8_t *out, size_t len, const char *what)
{
	if (hex_decode(str_from_cstr(text), out, len))
		die(what);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "local", required_argument, NULL, 'l' }, { "pcscf", required_argument, NULL, 'p' },
		{ "impi", required_argument, NULL, 'i' },  { "impu", required_argument, NULL, 'u' },
		{ "k", required_argument, NULL, 'k' },     { "opc", required_argument, NULL, 'o' },
		{ "ctl", required_argument, NULL, 'c' },   { "keylog", required_argument, NULL, 'g' },
		{ "sqn", required_argument, NULL, 's' },   { NULL, 0, NULL, 0 },
	};
	struct ipsec_config icfg = { .backend = IPSEC_BACKEND_USERSPACE };
	struct sip_stack_config sc;
	struct ctl_server *ctl = NULL;
	struct sip_listen l;
	uint8_t k[16], opc[16];
	const char *ctl_path = NULL, *pcscf = NULL;
	struct ue u;
	char listen[96];
	int opt, rc;

	memset(&u, 0, sizeof(u));
	u.realm = "ims.test";
	memset(k, 0, sizeof(k));
	memset(opc, 0, sizeof(opc));
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (ipsec_addr_parse(optarg, &u.local))
				die("--local: not an address");
			break;
		case 'p':
			pcscf = optarg;
			break;
		case 'i':
			u.impi = optarg;
			break;
		case 'u':
			u.impu = optarg;
			break;
		case 'k':
			hex_arg(optarg, k, 16, "--k: 32 hex digits");
			break;
		case 'o':
			hex_arg(optarg, opc, 16, "--opc: 32 hex digits");
			break;
		case 'c':
			ctl_path = optarg;
			break;
		case 'g':
			icfg.keylog_path = optarg;
			break;
		default:
			die("unknown option");
		}
	}
	if (!pcscf || !u.impi || !u.impu || !ctl_path || !u.local.family)
		die("--local, --pcscf, --impi, --impu and --ctl are needed");
	if (sip_sockaddr_parse(str_from_cstr(pcscf), 5060, &u.pcscf_sa) ||
	    ipsec_addr_from_sockaddr(&u.pcscf_sa, &u.pcscf, NULL))
		die("--pcscf: not ADDR[:PORT]");
	slog_init("ue-harness", SLOG_TARGET_STDERR, SLOG_INFO);
	ipsec_prefs_default(&u.prefs);
	u.prefs.n = 2; /* hmac-sha-1-96 with aes-cbc, then with null */
	if (usim_init(&u.usim, k, opc, MILENAGE_OPC, NULL) || ipsec_alloc_init(&u.alloc, NULL, NULL))
		die("USIM or allocator");
	if (loop_create(&u.loop, NULL) || loop_signals_enable(u.loop))
		die("loop");
	sip_stack_config_default(&sc);
	if (sip_stack_create(&u.st, u.loop, &sc, &tu, &u))
		die("stack");
	snprintf(listen, sizeof(listen), "udp:%s%s%s:0", u.local.family == AF_INET6 ? "[" : "",
		 ipsec_addr_str(&u.local, (char[IPSEC_ADDR_STRLEN]){ 0 }),
		 u.local.family == AF_INET6 ? "]" : "");
	if (sip_listen_parse(str_from_cstr(listen), &l) || sip_stack_listen(u.st, &l, &u.plain_tp))
		die("listen");
	rc = ipsec_backend_open(&icfg, &u.b, NULL);
	if (rc || ipsec_sip_create(&u.ports, u.b, sip_stack_transports(u.st)))
		die("IPsec backend");
	if (ctl_server_open(&ctl, u.loop, ctl_path, commands, sizeof(commands) / sizeof(commands[0]),
			    &u))
		die("control socket");
	log_notice("ready: %s at %s, P-CSCF %s", u.impi,
		   ipsec_addr_str(&u.local, (char[IPSEC_ADDR_STRLEN]){ 0 }), pcscf);
	rc = loop_run(u.loop);
	ctl_server_close(ctl);
	set_drop(&u, &u.temp);
	set_drop(&u, &u.est);
	ipsec_sip_destroy(u.ports);
	sip_stack_destroy(u.st);
	ipsec_backend_close(u.b);
	ipsec_alloc_destroy(&u.alloc);
	usim_free(&u.usim);
	loop_destroy(u.loop);
	slog_drain();
	return rc ? 1 : 0;
}
