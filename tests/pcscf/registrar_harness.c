/*
 * registrar_harness - a stand-in S-CSCF for the P-CSCF tests, until simreg's
 * S-CSCF carries the integration tests: a registrar that challenges with
 * real IMS AKA vectors from lib/aka (Milenage, the subscriber's K and OPc),
 * checks the Digest AKAv1-MD5 response, keeps bindings with their Path,
 * accepts reg-event subscriptions and NOTIFYs them, and sends requests
 * down a binding's Path on command.
 *
 *   registrar_harness --listen udp:ADDR:PORT --ctl PATH --k HEX --opc HEX
 *                     [--expires SECONDS]
 *
 * Control commands (JSON answers):
 *   status                        bindings, subscriptions, counters
 *   bindings                      every binding with its Path
 *   reauth on|off                 challenge every REGISTER, or only those
 *                                 without integrity-protected="yes" (default)
 *   expires N                     expiry granted from now on
 *   message IMPU                  MESSAGE to every binding of IMPU, down its Path
 *   send ROUTE-URI                MESSAGE with that single Route (forged or
 *                                 stale flow tokens)
 *   notify-terminated IMPU CONTACT  NOTIFY every subscription of IMPU that the
 *                                 contact is deactivated, and drop the binding
 *   results                       final statuses of what `message` / `send` sent
 *   last-request                  headers of interest of the last request
 *                                 received from the P-CSCF (not REGISTER)
 */
#define SLOG_COMPONENT "registrar"
#include "core/log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aka/digest.h"
#include "aka/vector.h"
#include "core/ctlsock.h"
#include "core/hex.h"
#include "reginfo/reginfo.h"
#include "sip/print.h"
#include "sip/stack.h"

#define MAX_BINDINGS 64
#define MAX_SUBS 32
#define MAX_RESULTS 64

struct challenge {
	bool on;
	char impi[128];
	char nonce[AKAV1_NONCE_MAX + 1];
	uint8_t xres[AKA_RES_LEN];
};

struct binding {
	bool on;
	char impu[128];
	char impi[128];
	char contact[256];
	char path[512];     /* Path values as received, comma-separated */
	uint64_t expires_at;
	unsigned expires;
};

struct sub {
	bool on;
	char impu[128];
	char call_id[128];
	char remote_tag[64];
	char local_tag[SIP_TAG_LEN];
	char target[256];   /* the subscriber's Contact */
	char route[512];    /* its Record-Route, reversed order is not needed: one hop */
	uint32_t cseq;
	uint64_t version;
};

struct reg {
	struct loop *loop;
	struct sip_stack *st;
	struct milenage mil;
	uint64_t sqn;
	bool reauth_always;
	unsigned grant;
	struct challenge ch[MAX_BINDINGS];
	struct binding b[MAX_BINDINGS];
	struct sub s[MAX_SUBS];
	int results[MAX_RESULTS];
	unsigned n_results;
	unsigned registers, challenges, auth_failures;
	char last_pai[256];
	/* What the P-CSCF did to the last REGISTER. */
	char reg_integrity[32];
	char integrity_history[256]; /* integrity-protected of every REGISTER, in order */
	char reg_path[512];
	char reg_pvni[128];
	char reg_pcv[256];
	bool reg_sec_headers;   /* Security-Client / -Verify / sec-agree still there */
	char last_method[32];
	char last_rr[512];
};

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static const struct sip_client_ops out_ops;

/* ---- outgoing requests ---------------------------------------------------- */

static void on_out_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			    struct sip_rx *rx)
{
	struct reg *r = ctx;

	if (rx->msg->status >= 200 && r->n_results < MAX_RESULTS)
		r->results[r->n_results++] = rx->msg->status;
}

static void on_out_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct reg *r = ctx;

	if (r->n_results < MAX_RESULTS)
		r->results[r->n_results++] = err == -ETIMEDOUT ? 408 : 503;
}

static const struct sip_client_ops out_ops = {
	.response = on_out_response,
	.failure = on_out_failure,
};

/* Send `msg` to the first URI of `route` (a Route header value, "<sip:...;lr>"). */
static int send_via_route(struct reg *r, struct str route, struct str msg)
{
	struct sip_client_req req = { .msg = msg, .ops = &out_ops, .ctx = r };
	struct sip_addr a;
	struct sip_uri u;
	ptrdiff_t comma = str_chr(route, ',');
	struct str first = comma >= 0 ? str_sub(route, 0, (size_t)comma) : route;

	if (sip_addr_parse(str_trim(first), &a, NULL) || sip_uri_parse(a.uri, &u, NULL) ||
	    sip_stack_resolve_uri(r->st, &u, &req.dest))
		return -EINVAL;
	return sip_client_txn_start(r->st, &req, NULL);
}

static int send_message(struct reg *r, const char *ruri, const char *route, const char *to)
{
	char tag[SIP_TAG_LEN], cid[SIP_TAG_LEN];
	struct buf b;
	int rc;

	sip_stack_new_tag(r->st, tag);
	sip_stack_new_tag(r->st, cid);
	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("MESSAGE"), str_from_cstr(ruri));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	sip_print_hdr(&b, SIP_HDR_ROUTE, str_from_cstr(route));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<sip:as@ims.test>;tag=%s", tag);
	sip_print_hdrf(&b, SIP_HDR_TO, "<%s>", to);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(cid));
	sip_print_hdr(&b, SIP_HDR_CSEQ, STR_LIT("1 MESSAGE"));
	sip_print_body(&b, STR_LIT("text/plain"), STR_LIT("terminating"));
	rc = buf_error(&b) ? buf_error(&b)
			   : send_via_route(r, str_from_cstr(route), buf_str(&b));
	buf_free(&b);
	return rc;
}

static int send_notify(struct reg *r, struct sub *s, const char *contact, bool terminated)
{
	char body[2048];
	struct buf b;
	uint64_t version = ++s->version;
	int n, rc;

	n = snprintf(body, sizeof(body),
		     "<?xml version=\"1.0\"?>\n"
		     "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"%" PRIu64 "\" "
		     "state=\"%s\">\n"
		     " <registration aor=\"%s\" id=\"a1\" state=\"%s\">\n"
		     "  <contact id=\"c1\" state=\"%s\" event=\"%s\"><uri>%s</uri></contact>\n"
		     " </registration>\n</reginfo>\n",
		     version, version == 1 ? "full" : "partial", s->impu,
		     terminated ? "terminated" : "active", terminated ? "terminated" : "active",
		     terminated ? "deactivated" : "registered", contact);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -ENOSPC;
	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("NOTIFY"), str_from_cstr(s->target));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	if (s->route[0])
		sip_print_hdr(&b, SIP_HDR_ROUTE, str_from_cstr(s->route));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<%s>;tag=%s", s->impu, s->local_tag);
	sip_print_hdrf(&b, SIP_HDR_TO, "<sip:watcher@ims.test>;tag=%s", s->remote_tag);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(s->call_id));
	sip_print_hdrf(&b, SIP_HDR_CSEQ, "%u NOTIFY", ++s->cseq);
	sip_print_hdr(&b, SIP_HDR_EVENT, STR_LIT("reg"));
	sip_print_hdr(&b, SIP_HDR_SUBSCRIPTION_STATE, STR_LIT("active;expires=600000"));
	sip_print_hdrf(&b, SIP_HDR_CONTACT, "<sip:scscf@%s>",
		       sip_tpset_next(sip_stack_transports(r->st), NULL)->sent_by);
	sip_print_body(&b, STR_LIT(REGINFO_CONTENT_TYPE), str_make(body, (size_t)n));
	rc = buf_error(&b);
	if (!rc) {
		struct sip_uri u;
		struct sip_client_req req = { .msg = buf_str(&b), .ops = &out_ops, .ctx = r };

		/* The first hop: the Route (a P-CSCF's Record-Route), else the target. */
		if (s->route[0])
			rc = send_via_route(r, str_from_cstr(s->route), buf_str(&b));
		else if (sip_uri_parse(str_from_cstr(s->target), &u, NULL) == 0 &&
			 sip_stack_resolve_uri(r->st, &u, &req.dest) == 0)
			rc = sip_client_txn_start(r->st, &req, NULL);
		else
			rc = -EINVAL;
	}
	buf_free(&b);
	return rc;
}

/* ---- REGISTER ------------------------------------------------------------- */

static void respond_401(struct reg *r, sip_txn_id stx, const char *impi)
{
	struct challenge *c = NULL;
	struct aka_vector v;
	uint8_t rnd[AKA_RAND_LEN], amf[2] = { 0x80, 0x00 };
	char ik[33], ck[33];
	struct buf b;

	for (unsigned i = 0; i < MAX_BINDINGS && !c; i++)
		if (!r->ch[i].on || strcmp(r->ch[i].impi, impi) == 0)
			c = &r->ch[i];
	if (!c || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		sip_server_txn_respond(r->st, stx, 500, STR_NULL);
		return;
	}
	/* SQN steps of 32: IND 0 every time, SEQ one up (33.102 Annex C). */
	r->sqn += 32;
	if (aka_vector_make(&r->mil, rnd, r->sqn, amf, &v)) {
		sip_server_txn_respond(r->st, stx, 500, STR_NULL);
		return;
	}
	c->on = true;
	snprintf(c->impi, sizeof(c->impi), "%s", impi);
	akav1_nonce_encode(v.rand, v.autn, NULL, 0, c->nonce, sizeof(c->nonce));
	memcpy(c->xres, v.xres, sizeof(c->xres));
	hex_encode(v.ik, 16, ik);
	hex_encode(v.ck, 16, ck);
	aka_vector_wipe(&v);
	buf_init(&b);
	sip_server_txn_response_start(r->st, stx, &b, 401, STR_NULL);
	sip_print_hdrf(&b, SIP_HDR_WWW_AUTHENTICATE,
		       "Digest realm=\"ims.test\", nonce=\"%s\", algorithm=AKAv1-MD5, "
		       "ik=\"%s\", ck=\"%s\"",
		       c->nonce, ik, ck);
	sip_print_body(&b, STR_NULL, STR_NULL);
	sip_server_txn_send(r->st, stx, buf_str(&b));
	buf_free(&b);
	r->challenges++;
}

static struct binding *find_binding(struct reg *r, const char *impu, const char *contact)
{
	for (unsigned i = 0; i < MAX_BINDINGS; i++)
		if (r->b[i].on && strcmp(r->b[i].impu, impu) == 0 &&
		    strcmp(r->b[i].contact, contact) == 0)
			return &r->b[i];
	return NULL;
}

static void respond_200(struct reg *r, sip_txn_id stx, struct sip_msg *m, const char *impu)
{
	struct buf b;

	buf_init(&b);
	sip_server_txn_response_start(r->st, stx, &b, 200, STR_NULL);
	sip_msg_foreach(m, SIP_HDR_PATH, h)
		sip_print_hdr(&b, SIP_HDR_PATH, h->value);
	sip_print_hdrf(&b, SIP_HDR_SERVICE_ROUTE, "<sip:orig@%s;lr>",
		       sip_tpset_next(sip_stack_transports(r->st), NULL)->sent_by);
	sip_print_hdrf(&b, SIP_HDR_P_ASSOCIATED_URI, "<%s>, <tel:+15550100>", impu);
	for (unsigned i = 0; i < MAX_BINDINGS; i++) {
		const struct binding *x = &r->b[i];

		if (x->on && strcmp(x->impu, impu) == 0)
			sip_print_hdrf(&b, SIP_HDR_CONTACT, "<%s>;expires=%" PRIu64, x->contact,
				       x->expires_at > now_s() ? x->expires_at - now_s() : 0);
	}
	sip_print_body(&b, STR_NULL, STR_NULL);
	sip_server_txn_send(r->st, stx, buf_str(&b));
	buf_free(&b);
}

static void on_register(struct reg *r, sip_txn_id stx, struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION);
	const struct sip_addr *to;
	struct sip_contact c;
	struct sip_uri tu;
	struct sip_auth a;
	struct binding *bd;
	char impi[128] = "", impu[128], contact[256];
	uint32_t expires = r->grant;
	bool protected_ = false, authenticated = false;

	r->registers++;
	{
		const struct sip_hdr *x;

		r->reg_path[0] = r->reg_pvni[0] = r->reg_pcv[0] = r->reg_integrity[0] = '\0';
		if ((x = sip_msg_hdr(m, SIP_HDR_PATH)))
			str_copy(r->reg_path, sizeof(r->reg_path), x->value);
		if ((x = sip_msg_hdr(m, SIP_HDR_P_VISITED_NETWORK_ID)))
			str_copy(r->reg_pvni, sizeof(r->reg_pvni), x->value);
		if ((x = sip_msg_hdr(m, SIP_HDR_P_CHARGING_VECTOR)))
			str_copy(r->reg_pcv, sizeof(r->reg_pcv), x->value);
		r->reg_sec_headers = sip_msg_hdr(m, SIP_HDR_SECURITY_CLIENT) ||
				     sip_msg_hdr(m, SIP_HDR_SECURITY_VERIFY) ||
				     sip_msg_has_token(m, SIP_HDR_REQUIRE, "sec-agree") ||
				     sip_msg_has_token(m, SIP_HDR_PROXY_REQUIRE, "sec-agree");
	}
	if (!h || sip_auth_parse(h->value, false, &a, NULL) || sip_msg_to(m, &to, NULL) ||
	    sip_uri_parse(to->uri, &tu, NULL) || !sip_msg_hdr(m, SIP_HDR_CONTACT) ||
	    sip_contact_parse(sip_msg_hdr(m, SIP_HDR_CONTACT)->value, &c, NULL)) {
		sip_server_txn_respond(r->st, stx, 400, STR_NULL);
		return;
	}
	str_copy(impi, sizeof(impi), sip_auth_get(&a, SIP_AUTH_USERNAME));
	str_copy(impu, sizeof(impu), to->uri);
	str_copy(contact, sizeof(contact), c.addr.uri);
	protected_ = str_eq_cstr(sip_auth_get(&a, SIP_AUTH_INTEGRITY_PROTECTED), "yes");
	str_copy(r->reg_integrity, sizeof(r->reg_integrity),
		 sip_auth_get(&a, SIP_AUTH_INTEGRITY_PROTECTED));
	{
		size_t len = strlen(r->integrity_history);

		if (len + 40 < sizeof(r->integrity_history))
			snprintf(r->integrity_history + len, sizeof(r->integrity_history) - len,
				 "%s%s", len ? "," : "", r->reg_integrity[0] ? r->reg_integrity : "-");
	}
	if (c.has_expires)
		expires = c.expires;
	else if (sip_msg_expires(m, &expires, NULL) != 0)
		expires = r->grant;
	if (expires > r->grant)
		expires = r->grant;
	/* A response to one of our challenges? */
	if (protected_ && sip_auth_get(&a, SIP_AUTH_RESPONSE).len) {
		struct str nonce = sip_auth_get(&a, SIP_AUTH_NONCE);

		for (unsigned i = 0; i < MAX_BINDINGS; i++) {
			struct challenge *ch = &r->ch[i];
			struct digest_request dr = {
				.username = str_from_cstr(impi), .realm = STR_LIT("ims.test"),
				.nonce = nonce, .uri = STR_LIT("sip:ims.test"),
				.method = STR_LIT("REGISTER"),
			};

			if (!ch->on || strcmp(ch->impi, impi) || !str_eq_cstr(nonce, ch->nonce))
				continue;
			ch->on = false;
			if (digest_verify(&dr, ch->xres, sizeof(ch->xres),
					  sip_auth_get(&a, SIP_AUTH_RESPONSE)) != 0) {
				r->auth_failures++;
				sip_server_txn_respond(r->st, stx, 403, STR_LIT("Authentication failed"));
				return;
			}
			authenticated = true;
		}
	}
	bd = find_binding(r, impu, contact);
	if (!authenticated && (!protected_ || r->reauth_always || !bd)) {
		if (!(protected_ && expires == 0 && bd)) {
			respond_401(r, stx, impi);
			return;
		}
	}
	if (expires == 0) {
		if (bd)
			bd->on = false;
		respond_200(r, stx, m, impu);
		return;
	}
	if (!bd) {
		for (unsigned i = 0; i < MAX_BINDINGS && !bd; i++)
			if (!r->b[i].on)
				bd = &r->b[i];
		if (!bd) {
			sip_server_txn_respond(r->st, stx, 503, STR_NULL);
			return;
		}
		memset(bd, 0, sizeof(*bd));
	}
	bd->on = true;
	snprintf(bd->impu, sizeof(bd->impu), "%s", impu);
	snprintf(bd->impi, sizeof(bd->impi), "%s", impi);
	snprintf(bd->contact, sizeof(bd->contact), "%s", contact);
	bd->path[0] = '\0';
	sip_msg_foreach(m, SIP_HDR_PATH, p) {
		size_t len = strlen(bd->path);

		snprintf(bd->path + len, sizeof(bd->path) - len, "%s%.*s", len ? ", " : "",
			 STR_FMT(p->value));
	}
	bd->expires = expires;
	bd->expires_at = now_s() + expires;
	respond_200(r, stx, m, impu);
}

/* ---- SUBSCRIBE and other requests ------------------------------------------ */

static void on_subscribe(struct reg *r, sip_txn_id stx, struct sip_msg *m)
{
	const struct sip_addr *from, *to;
	struct sip_contact c;
	struct str cid;
	struct sub *s = NULL;
	uint32_t expires = 600000;
	struct buf b;

	if (sip_msg_from(m, &from, NULL) || sip_msg_to(m, &to, NULL) ||
	    sip_msg_call_id(m, &cid, NULL) || !sip_msg_hdr(m, SIP_HDR_CONTACT) ||
	    sip_contact_parse(sip_msg_hdr(m, SIP_HDR_CONTACT)->value, &c, NULL)) {
		sip_server_txn_respond(r->st, stx, 400, STR_NULL);
		return;
	}
	sip_msg_expires(m, &expires, NULL);
	for (unsigned i = 0; i < MAX_SUBS && !s; i++)
		if (r->s[i].on && str_eq_cstr(cid, r->s[i].call_id))
			s = &r->s[i];
	if (!s) {
		for (unsigned i = 0; i < MAX_SUBS && !s; i++)
			if (!r->s[i].on)
				s = &r->s[i];
		if (!s) {
			sip_server_txn_respond(r->st, stx, 503, STR_NULL);
			return;
		}
		memset(s, 0, sizeof(*s));
		s->on = true;
		str_copy(s->call_id, sizeof(s->call_id), cid);
		str_copy(s->remote_tag, sizeof(s->remote_tag), from->tag);
		str_copy(s->impu, sizeof(s->impu), to->uri);
		str_copy(s->target, sizeof(s->target), c.addr.uri);
		sip_stack_new_tag(r->st, s->local_tag);
		if (sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE))
			str_copy(s->route, sizeof(s->route),
				 sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE)->value);
		s->version = 0;
	}
	if (expires == 0)
		s->on = false;
	buf_init(&b);
	sip_server_txn_response_start(r->st, stx, &b, 200, STR_NULL);
	sip_print_hdrf(&b, SIP_HDR_EXPIRES, "%u", expires);
	sip_print_hdrf(&b, SIP_HDR_CONTACT, "<sip:scscf@%s>",
		       sip_tpset_next(sip_stack_transports(r->st), NULL)->sent_by);
	sip_print_body(&b, STR_NULL, STR_NULL);
	/* Our To tag, the same in every response of the dialog. */
	sip_server_txn_send(r->st, stx, buf_str(&b));
	buf_free(&b);
	log_info("SUBSCRIBE for %s from %s (%s)", s->impu, s->target,
		 expires ? "active" : "ended");
}

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct reg *r = ctx;
	struct sip_msg *m = rx->msg;
	const struct sip_hdr *h;

	if (!stx)
		return;
	switch (m->method) {
	case SIP_METHOD_REGISTER:
		on_register(r, stx, m);
		return;
	case SIP_METHOD_SUBSCRIBE:
		on_subscribe(r, stx, m);
		return;
	default:
		break;
	}
	str_copy(r->last_method, sizeof(r->last_method), m->method_name);
	h = sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY);
	r->last_pai[0] = '\0';
	if (h)
		str_copy(r->last_pai, sizeof(r->last_pai), h->value);
	if (sip_msg_hdr_count(m, SIP_HDR_P_ASSERTED_IDENTITY) > 1)
		snprintf(r->last_pai, sizeof(r->last_pai), "(%u values)",
			 sip_msg_hdr_count(m, SIP_HDR_P_ASSERTED_IDENTITY));
	h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE);
	r->last_rr[0] = '\0';
	if (h)
		str_copy(r->last_rr, sizeof(r->last_rr), h->value);
	sip_server_txn_respond(st, stx, 200, STR_NULL);
}

static const struct sip_tu_ops tu = { .request = on_request };

/* ---- control ------------------------------------------------------------- */

static int cmd_status(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	struct reg *r = ctx;
	unsigned nb = 0, ns = 0;

	for (unsigned i = 0; i < MAX_BINDINGS; i++)
		nb += r->b[i].on;
	for (unsigned i = 0; i < MAX_SUBS; i++)
		ns += r->s[i].on;
	json_kv_int(w, "bindings", nb);
	json_kv_int(w, "subscriptions", ns);
	json_kv_int(w, "registers", r->registers);
	json_kv_int(w, "challenges", r->challenges);
	json_kv_int(w, "auth_failures", r->auth_failures);
	return 0;
}

static int cmd_bindings(void *ctx, const struct ctl_request *req, struct json_writer *w,
			const char **error)
{
	struct reg *r = ctx;

	json_key(w, "bindings");
	json_begin_array(w);
	for (unsigned i = 0; i < MAX_BINDINGS; i++) {
		const struct binding *x = &r->b[i];

		if (!x->on)
			continue;
		json_begin_object(w);
		json_kv_cstring(w, "impu", x->impu);
		json_kv_cstring(w, "impi", x->impi);
		json_kv_cstring(w, "contact", x->contact);
		json_kv_cstring(w, "path", x->path);
		json_kv_int(w, "expires", x->expires);
		json_end_object(w);
	}
	json_end_array(w);
	return 0;
}

static int cmd_reauth(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	struct reg *r = ctx;

	r->reauth_always = str_eq_cstr(req->argv[1], "on");
	json_kv_bool(w, "reauth", r->reauth_always);
	return 0;
}

static int cmd_expires(void *ctx, const struct ctl_request *req, struct json_writer *w,
		       const char **error)
{
	struct reg *r = ctx;

	r->grant = (unsigned)atoi(req->argv[1].s);
	json_kv_int(w, "expires", r->grant);
	return 0;
}

static int cmd_message(void *ctx, const struct ctl_request *req, struct json_writer *w,
		       const char **error)
{
	struct reg *r = ctx;
	unsigned sent = 0;

	for (unsigned i = 0; i < MAX_BINDINGS; i++) {
		const struct binding *x = &r->b[i];

		if (x->on && str_eq_cstr(req->argv[1], x->impu) && x->path[0] &&
		    send_message(r, x->contact, x->path, x->impu) == 0)
			sent++;
	}
	json_kv_int(w, "sent", sent);
	return 0;
}

static int cmd_send(void *ctx, const struct ctl_request *req, struct json_writer *w,
		    const char **error)
{
	struct reg *r = ctx;
	char route[512];

	snprintf(route, sizeof(route), "<%s>", req->argv[1].s);
	if (send_message(r, "sip:ue@198.18.255.255", route, "sip:nobody@ims.test")) {
		*error = "not sent";
		return -EINVAL;
	}
	json_kv_int(w, "sent", 1);
	return 0;
}

static int cmd_notify_terminated(void *ctx, const struct ctl_request *req, struct json_writer *w,
				 const char **error)
{
	struct reg *r = ctx;
	struct binding *bd = find_binding(r, req->argv[1].s, req->argv[2].s);
	unsigned sent = 0;

	if (bd)
		bd->on = false;
	for (unsigned i = 0; i < MAX_SUBS; i++)
		if (r->s[i].on && str_eq_cstr(req->argv[1], r->s[i].impu) &&
		    send_notify(r, &r->s[i], req->argv[2].s, true) == 0)
			sent++;
	json_kv_int(w, "notified", sent);
	return 0;
}

static int cmd_subscriptions(void *ctx, const struct ctl_request *req, struct json_writer *w,
			     const char **error)
{
	struct reg *r = ctx;

	json_key(w, "subscriptions");
	json_begin_array(w);
	for (unsigned i = 0; i < MAX_SUBS; i++) {
		if (!r->s[i].on)
			continue;
		json_begin_object(w);
		json_kv_cstring(w, "impu", r->s[i].impu);
		json_kv_cstring(w, "target", r->s[i].target);
		json_kv_cstring(w, "route", r->s[i].route);
		json_end_object(w);
	}
	json_end_array(w);
	return 0;
}

static int cmd_results(void *ctx, const struct ctl_request *req, struct json_writer *w,
		       const char **error)
{
	struct reg *r = ctx;

	json_key(w, "results");
	json_begin_array(w);
	for (unsigned i = 0; i < r->n_results; i++)
		json_int(w, r->results[i]);
	json_end_array(w);
	return 0;
}

static int cmd_last(void *ctx, const struct ctl_request *req, struct json_writer *w,
		    const char **error)
{
	struct reg *r = ctx;

	json_kv_cstring(w, "method", r->last_method);
	json_kv_cstring(w, "p_asserted_identity", r->last_pai);
	json_kv_cstring(w, "record_route", r->last_rr);
	return 0;
}

static int cmd_last_register(void *ctx, const struct ctl_request *req, struct json_writer *w,
			     const char **error)
{
	struct reg *r = ctx;

	json_kv_cstring(w, "integrity_protected", r->reg_integrity);
	json_kv_cstring(w, "integrity_history", r->integrity_history);
	json_kv_cstring(w, "path", r->reg_path);
	json_kv_cstring(w, "p_visited_network_id", r->reg_pvni);
	json_kv_cstring(w, "p_charging_vector", r->reg_pcv);
	json_kv_bool(w, "sec_agree_headers", r->reg_sec_headers);
	return 0;
}

static const struct ctl_command commands[] = {
	{ "last-register", "", "edge headers of the last REGISTER", 0, 0, cmd_last_register },
	{ "status", "", "counters", 0, 0, cmd_status },
	{ "bindings", "", "bindings with their Path", 0, 0, cmd_bindings },
	{ "reauth", "on|off", "challenge every REGISTER", 1, 1, cmd_reauth },
	{ "expires", "N", "expiry granted", 1, 1, cmd_expires },
	{ "message", "IMPU", "MESSAGE to every binding of IMPU", 1, 1, cmd_message },
	{ "send", "ROUTE-URI", "MESSAGE with that Route", 1, 1, cmd_send },
	{ "notify-terminated", "IMPU CONTACT", "NOTIFY a contact's end", 2, 2,
	  cmd_notify_terminated },
	{ "results", "", "final statuses of what was sent", 0, 0, cmd_results },
	{ "subscriptions", "", "reg-event subscriptions with their route", 0, 0,
	  cmd_subscriptions },
	{ "last-request", "", "the last non-REGISTER request received", 0, 0, cmd_last },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "ctl", required_argument, NULL, 'c' },
		{ "k", required_argument, NULL, 'k' },      { "opc", required_argument, NULL, 'o' },
		{ "expires", required_argument, NULL, 'e' }, { NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *ctl_path = NULL;
	uint8_t k[16] = { 0 }, opc[16] = { 0 };
	struct ctl_server *ctl = NULL;
	struct reg *r = calloc(1, sizeof(*r));
	int opt, rc;

	if (!r)
		return 1;
	r->grant = 600;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen = optarg;
			break;
		case 'c':
			ctl_path = optarg;
			break;
		case 'k':
			if (hex_decode(str_from_cstr(optarg), k, 16))
				return 2;
			break;
		case 'o':
			if (hex_decode(str_from_cstr(optarg), opc, 16))
				return 2;
			break;
		case 'e':
			r->grant = (unsigned)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!listen || !ctl_path) {
		fprintf(stderr, "registrar_harness: --listen and --ctl are needed\n");
		return 2;
	}
	slog_init("registrar", SLOG_TARGET_STDERR, SLOG_INFO);
	if (milenage_init(&r->mil, k, opc, MILENAGE_OPC) || loop_create(&r->loop, NULL) ||
	    loop_signals_enable(r->loop) || sip_stack_create(&r->st, r->loop, NULL, &tu, r) ||
	    sip_stack_listen_text(r->st, listen, NULL) ||
	    ctl_server_open(&ctl, r->loop, ctl_path, commands,
			    sizeof(commands) / sizeof(commands[0]), r)) {
		fprintf(stderr, "registrar_harness: start-up failed\n");
		return 1;
	}
	log_notice("ready: registrar on %s", listen);
	rc = loop_run(r->loop);
	ctl_server_close(ctl);
	sip_stack_destroy(r->st);
	milenage_free(&r->mil);
	loop_destroy(r->loop);
	slog_drain();
	free(r);
	return rc ? 1 : 0;
}
