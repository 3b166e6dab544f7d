/*
 * harness.c - scenario scripts for the S-CSCF logic (see harness.h).
 */
#include "harness.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aka/digest.h"
#include "aka/milenage.h"
#include "aka/usim.h"
#include "aka/vector.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/loop.h"
#include "reginfo/reginfo.h"
#include "scscf/scscf.h"
#include "scscf/store.h"
#include "sip/print.h"

#define MAX_SUBS 8
#define MAX_UES 8
#define MAX_TXNS 256
#define MAX_NOTIFIES 64
#define MAX_CX 64

struct h_subscriber {
	char impis[4][64];
	unsigned n_impis;
	uint8_t k[16], opc[16];
	uint64_t sqn;
	char impus[8][64];
	bool barred[8];
	unsigned n_impus;
};

struct h_ue {
	char name[16];
	char impi[64], impu[64], contact[128], path[128], instance[96];
	unsigned reg_id;
	bool outbound;
	struct usim usim;
	unsigned cseq;
	unsigned call;                  /* Call-ID number; a new one per initial */
	char nonce[128];                /* last challenge */
	char response[DIGEST_HEX_LEN + 1]; /* last response sent */
	unsigned last_status;
	/* reg subscription */
	char sub_call_id[64];
	unsigned sub_cseq;
	char sub_to_tag[64];
};

struct h_txn {
	uint64_t id;
	char *buf;
	struct sip_msg msg;
	struct h_ue *ue;
	bool answered;
};

struct h_notify {
	uint64_t ref;
	bool pending;
};

struct h_cx {
	bool sar;
	uint64_t ref;
	struct scscf_maa maa;
	struct scscf_saa saa;
	char user_data[2048];
};

struct h {
	FILE *out;
	struct loop_manual_clock clock;
	struct loop *loop;
	struct scscf s;
	bool started;
	struct scscf_config cfg;
	struct config config;
	char dir[64];
	char db[128];
	struct reginfo_schema *schema;
	struct h_subscriber subs[MAX_SUBS];
	unsigned n_subs;
	struct h_ue ues[MAX_UES];
	unsigned n_ues;
	struct h_txn txns[MAX_TXNS];
	unsigned n_txns;
	uint64_t next_txn;
	struct h_notify notifies[MAX_NOTIFIES];
	unsigned n_notifies;
	struct h_cx cx[MAX_CX];
	unsigned n_cx;
	unsigned rand_counter;
	int line;
	bool comment;                   /* the last line printed was a comment */
	FILE *script;
};

/* --- output ------------------------------------------------------------------ */

static void put_msg(struct h *h, const char *arrow, struct str m)
{
	struct str rest = m;

	while (rest.len) {
		ptrdiff_t nl = str_chr(rest, '\n');
		size_t l = nl < 0 ? rest.len : (size_t)nl;
		struct str line = str_make(rest.s, l);

		if (line.len && line.s[line.len - 1] == '\r')
			line.len--;
		fprintf(h->out, "%s %.*s\n", arrow, STR_FMT(line));
		rest = str_sub(rest, l + (nl >= 0), rest.len);
	}
}

static void trace(void *ctx, const char *line)
{
	struct h *h = ctx;

	fprintf(h->out, "   # %s\n", line);
}

/* --- the SIP seam ------------------------------------------------------------- */

static struct h_txn *txn_find(struct h *h, uint64_t id)
{
	for (unsigned i = 0; i < h->n_txns; i++) {
		if (h->txns[i].id == id)
			return &h->txns[i];
	}
	return NULL;
}

static int sip_response_start(void *ctx, uint64_t id, struct buf *b, unsigned code,
			      struct str reason)
{
	struct h *h = ctx;
	struct h_txn *t = txn_find(h, id);
	char tag[32];

	if (!t)
		return -ENOENT;
	snprintf(tag, sizeof(tag), "sc%" PRIu64, id);
	sip_print_response_start(b, &t->msg, code, reason, str_from_cstr(tag));
	return buf_error(b);
}

static void ue_saw_response(struct h *h, struct h_ue *ue, struct str text);

static int sip_response_send(void *ctx, uint64_t id, struct str response)
{
	struct h *h = ctx;
	struct h_txn *t = txn_find(h, id);

	if (!t || t->answered) {
		fprintf(h->out, "!! response on a finished transaction %" PRIu64 "\n", id);
		return -EPROTO;
	}
	t->answered = true;
	put_msg(h, "  <-", response);
	if (t->ue)
		ue_saw_response(h, t->ue, response);
	return 0;
}

static void validate_body(struct h *h, struct str msg)
{
	struct sip_msg *m = calloc(1, sizeof(*m));
	struct reginfo_error err;
	int rc;

	sip_msg_init(m);
	if (sip_parse(m, msg.s, msg.len, SIP_FRAME_DATAGRAM, NULL, NULL) <= 0) {
		fprintf(h->out, "!! the NOTIFY does not parse\n");
	} else if (m->body.len) {
		rc = reginfo_validate(h->schema, m->body.s, m->body.len, &err);
		if (rc)
			fprintf(h->out, "!! reginfo invalid: %s\n", err.msg);
		else
			fprintf(h->out, "   (reginfo valid against the RFC 3680 schema)\n");
	}
	free(m);
}

static int sip_request(void *ctx, struct str msg, struct str next_hop, uint64_t ref)
{
	struct h *h = ctx;

	fprintf(h->out, "  => to %.*s (ref %" PRIu64 ")\n", STR_FMT(next_hop), ref);
	put_msg(h, "  =>", msg);
	validate_body(h, msg);
	if (h->n_notifies < MAX_NOTIFIES)
		h->notifies[h->n_notifies++] = (struct h_notify){ ref, true };
	return 0;
}

static int sip_fork(void *ctx, uint64_t id, const struct scscf_target *t, unsigned n)
{
	struct h *h = ctx;
	struct h_txn *x = txn_find(h, id);

	fprintf(h->out, "  >> fork %u branch(es)\n", n);
	for (unsigned i = 0; i < n; i++) {
		fprintf(h->out, "  >>   [%u] binding %" PRIu64 " uri %.*s", i, t[i].binding,
			STR_FMT(t[i].uri));
		for (unsigned k = 0; k < t[i].n_routes; k++)
			fprintf(h->out, " route %.*s", STR_FMT(t[i].routes[k]));
		fprintf(h->out, "\n");
	}
	if (x)
		x->answered = true;
	return 0;
}

static bool sip_is_local(void *ctx, const struct sip_uri *uri)
{
	return str_eq_cstr(uri->host, "127.0.0.1") && uri->has_port && uri->port == 6060;
}

static const struct scscf_sip_ops sip_ops = {
	.response_start = sip_response_start,
	.response_send = sip_response_send,
	.request = sip_request,
	.fork = sip_fork,
	.is_local = sip_is_local,
};

/* --- the Cx seam: a small HSS ------------------------------------------------------ */

static struct h_subscriber *subscriber(struct h *h, struct str impi)
{
	for (unsigned i = 0; i < h->n_subs; i++) {
		for (unsigned k = 0; k < h->subs[i].n_impis; k++) {
			if (str_eq_cstr(impi, h->subs[i].impis[k]))
				return &h->subs[i];
		}
	}
	return NULL;
}

static bool owns(const struct h_subscriber *sub, struct str impu)
{
	for (unsigned i = 0; i < sub->n_impus; i++) {
		if (str_eq_cstr(impu, sub->impus[i]))
			return true;
	}
	return false;
}

static struct h_cx *cx_push(struct h *h)
{
	if (h->n_cx == MAX_CX)
		return NULL;
	memset(&h->cx[h->n_cx], 0, sizeof(h->cx[0]));
	return &h->cx[h->n_cx++];
}

static int cx_mar(void *ctx, const struct scscf_mar *req, uint64_t ref)
{
	struct h *h = ctx;
	struct h_subscriber *sub = subscriber(h, req->impi);
	struct h_cx *c = cx_push(h);
	struct milenage m;
	struct aka_vector v;
	uint8_t rand[16];
	static const uint8_t amf[2] = { 0x80, 0x00 };

	if (!c)
		return -ENOBUFS;
	c->ref = ref;
	fprintf(h->out, "  ~> MAR %.*s %.*s%s\n", STR_FMT(req->impi), STR_FMT(req->impu),
		req->resync ? " resync" : "");
	if (!sub || !owns(sub, req->impu)) {
		c->maa.result = (struct scscf_cx_result){ 0, sub ? 5002 : 5001, true };
		return 0;
	}
	milenage_init(&m, sub->k, sub->opc, MILENAGE_OPC);
	if (req->resync) {
		uint64_t sqn_ms;

		if (aka_resync(&m, req->rand_auts, req->rand_auts + 16, &sqn_ms) == 0) {
			fprintf(h->out, "  ~> HSS resync: SQN %012" PRIx64 " -> %012" PRIx64 "\n",
				sub->sqn, sqn_ms);
			sub->sqn = sqn_ms;
		} else {
			fprintf(h->out, "  ~> HSS resync: MAC-S wrong\n");
		}
	}
	/* RAND from a counter; no byte of RES is 0x00 here anyway. */
	memset(rand, 0x5a, sizeof(rand));
	rand[15] = (uint8_t)++h->rand_counter;
	sub->sqn += 32;
	aka_vector_make(&m, rand, sub->sqn, amf, &v);
	milenage_free(&m);
	c->maa.result = (struct scscf_cx_result){ 0, DIA_SUCCESS, false };
	c->maa.have_vector = true;
	memcpy(c->maa.rand, v.rand, 16);
	memcpy(c->maa.autn, v.autn, 16);
	memcpy(c->maa.xres, v.xres, sizeof(v.xres));
	c->maa.xres_len = sizeof(v.xres);
	memcpy(c->maa.ck, v.ck, 16);
	memcpy(c->maa.ik, v.ik, 16);
	return 0;
}

static int cx_sar(void *ctx, const struct scscf_sar *req, uint64_t ref)
{
	struct h *h = ctx;
	struct h_subscriber *sub = req->impi.len ? subscriber(h, req->impi) : NULL;
	struct h_cx *c = cx_push(h);
	struct buf b;

	if (!c)
		return -ENOBUFS;
	c->sar = true;
	c->ref = ref;
	fprintf(h->out, "  ~> SAR %s %.*s %.*s%s%s%s%.*s\n", cx_sat_name(req->type),
		STR_FMT(req->impi), STR_FMT(req->impu), req->data_available ? " data-available" : "",
		req->multiple ? " multiple" : "", req->contact.len ? " contact " : "",
		STR_FMT(req->contact));
	if (!sub) {
		for (unsigned i = 0; i < h->n_subs && !sub; i++) {
			if (owns(&h->subs[i], req->impu))
				sub = &h->subs[i];
		}
	}
	if (!sub || !owns(sub, req->impu)) {
		c->saa.result = (struct scscf_cx_result){ 0, 5001, true };
		return 0;
	}
	c->saa.result = (struct scscf_cx_result){ 0, DIA_SUCCESS, false };
	if (req->data_available || (req->type != CX_SAT_REGISTRATION &&
				    req->type != CX_SAT_RE_REGISTRATION))
		return 0;
	buf_init_fixed(&b, c->user_data, sizeof(c->user_data));
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<IMSSubscription>"
		       "<PrivateID>%.*s</PrivateID><ServiceProfile>",
		   STR_FMT(req->impi));
	for (unsigned i = 0; i < sub->n_impus; i++)
		buf_printf(&b, "<PublicIdentity>%s<Identity>%s</Identity></PublicIdentity>",
			   sub->barred[i] ? "<BarringIndication>1</BarringIndication>" : "",
			   sub->impus[i]);
	buf_puts(&b, "</ServiceProfile></IMSSubscription>\n");
	c->saa.user_data = buf_str(&b);
	return 0;
}

static const struct scscf_cx_ops cx_ops = {
	.mar = cx_mar,
	.sar = cx_sar,
};

/* Deliver the HSS's answers, in order, until nothing is left. */
static void pump(struct h *h)
{
	while (h->n_cx) {
		struct h_cx c = h->cx[0];

		memmove(&h->cx[0], &h->cx[1], (h->n_cx - 1) * sizeof(h->cx[0]));
		h->n_cx--;
		if (c.sar) {
			c.saa.user_data = c.user_data[0] ? str_from_cstr(c.user_data) : STR_NULL;
			fprintf(h->out, "  <~ SAA %u%s\n", c.saa.result.code,
				c.saa.user_data.len ? " with user data" : "");
			scscf_cx_saa(&h->s, c.ref, &c.saa);
		} else {
			fprintf(h->out, "  <~ MAA %u\n", c.maa.result.code);
			scscf_cx_maa(&h->s, c.ref, &c.maa);
		}
	}
}

/* --- UEs ---------------------------------------------------------------------- */

static struct h_ue *ue_find(struct h *h, const char *name)
{
	for (unsigned i = 0; i < h->n_ues; i++) {
		if (strcmp(h->ues[i].name, name) == 0)
			return &h->ues[i];
	}
	return NULL;
}

static void ue_saw_response(struct h *h, struct h_ue *ue, struct str text)
{
	struct sip_msg *m = calloc(1, sizeof(*m));
	const struct sip_hdr *wa;
	struct sip_auth au;

	sip_msg_init(m);
	if (sip_parse(m, text.s, text.len, SIP_FRAME_DATAGRAM, NULL, NULL) > 0) {
		ue->last_status = m->status;
		wa = sip_msg_hdr(m, SIP_HDR_WWW_AUTHENTICATE);
		if (wa && sip_auth_parse(wa->value, true, &au, NULL) == 0)
			str_copy(ue->nonce, sizeof(ue->nonce), sip_auth_get(&au, SIP_AUTH_NONCE));
		if (m->kind == SIP_MSG_RESPONSE) {
			const struct sip_cseq *cs;
			const struct sip_addr *to;

			if (sip_msg_cseq(m, &cs, NULL) == 0 && cs->method_id == SIP_METHOD_SUBSCRIBE &&
			    m->status == 200 && sip_msg_to(m, &to, NULL) == 0)
				str_copy(ue->sub_to_tag, sizeof(ue->sub_to_tag), to->tag);
		}
	}
	free(m);
}

/* Send a request from `ue` (or from nobody) as a new server transaction. */
static void deliver(struct h *h, struct h_ue *ue, const char *text, size_t len)
{
	struct h_txn *t;
	int rc;

	if (h->n_txns == MAX_TXNS) {
		fprintf(h->out, "!! too many transactions\n");
		return;
	}
	t = &h->txns[h->n_txns++];
	memset(t, 0, sizeof(*t));
	t->id = ++h->next_txn;
	t->ue = ue;
	t->buf = malloc(len + 1);
	memcpy(t->buf, text, len);
	t->buf[len] = '\0';
	put_msg(h, "->", str_make(t->buf, len));
	sip_msg_init(&t->msg);
	rc = sip_parse(&t->msg, t->buf, len, SIP_FRAME_DATAGRAM, NULL, NULL);
	if (rc <= 0) {
		fprintf(h->out, "!! the request does not parse (%d)\n", rc);
		return;
	}
	scscf_sip_request(&h->s, t->id, &t->msg);
	pump(h);
}

enum reg_kind { RK_INITIAL, RK_ANSWER, RK_WRONG, RK_PROTECTED, RK_STAR, RK_UNPROTECTED_STAR,
		RK_ANSWER_STAR, RK_REAUTH };

/*
 * A REGISTER of `ue`. Protected ones (sent over the UE's SAs, so the
 * P-CSCF marks them so) carry what 24.229 says: a refresh or a
 * deregistration the last nonce and response (5.1.1.4.1, 5.1.1.6) of
 * `cred`, which is `ue` unless the scenario sends over another UE's SAs;
 * a reauth the initial form, nonce="" (5.1.1.2.1): authenticate me again.
 */
static void ue_register(struct h *h, struct h_ue *ue, const struct h_ue *cred, enum reg_kind kind,
			long expires)
{
	struct buf b;
	char auth[512] = "", response[DIGEST_HEX_LEN + 1] = "";
	char auts_b64[32] = "";
	bool protected = kind == RK_PROTECTED || kind == RK_STAR || kind == RK_REAUTH;
	const char *ip = protected ? "yes" : "no";

	if (kind == RK_INITIAL)
		ue->call++;
	if (kind == RK_ANSWER || kind == RK_WRONG || kind == RK_ANSWER_STAR) {
		struct akav1_nonce n;
		struct usim_result r;

		if (akav1_nonce_decode(str_from_cstr(ue->nonce), &n) < 0) {
			fprintf(h->out, "!! %s has no challenge to answer\n", ue->name);
			return;
		}
		usim_authenticate(&ue->usim, n.rand, n.autn, &r);
		fprintf(h->out, "   (%s: USIM says %s)\n", ue->name, usim_status_name(r.status));
		if (r.status == USIM_OK) {
			struct digest_request d = {
				.username = str_from_cstr(ue->impi),
				.realm = STR_LIT("ims.test"),
				.nonce = str_from_cstr(ue->nonce),
				.uri = STR_LIT("sip:ims.test"),
				.method = STR_LIT("REGISTER"),
				.qop = DIGEST_QOP_AUTH,
				.nc = STR_LIT("00000001"),
				.cnonce = STR_LIT("0a4f113b"),
			};

			digest_response(&d, r.res, sizeof(r.res), response);
			if (kind == RK_WRONG)
				response[0] = response[0] == '0' ? '1' : '0';
			memcpy(ue->response, response, sizeof(ue->response));
		} else if (r.status == USIM_SYNC_FAILURE) {
			base64_encode(r.auts, sizeof(r.auts), auts_b64);
		}
		usim_result_wipe(&r);
	}
	if (kind == RK_INITIAL || kind == RK_UNPROTECTED_STAR || kind == RK_REAUTH)
		snprintf(auth, sizeof(auth),
			 "Authorization: Digest username=\"%s\", realm=\"ims.test\","
			 " uri=\"sip:ims.test\", nonce=\"\", response=\"\","
			 " integrity-protected=\"%s\"\r\n",
			 ue->impi, ip);
	else if (kind == RK_PROTECTED || kind == RK_STAR)
		snprintf(auth, sizeof(auth),
			 "Authorization: Digest username=\"%s\", realm=\"ims.test\","
			 " uri=\"sip:ims.test\", nonce=\"%s\", response=\"%s\","
			 " algorithm=AKAv1-MD5, integrity-protected=\"yes\"\r\n",
			 ue->impi, cred->nonce, cred->response);
	else if (auts_b64[0])
		snprintf(auth, sizeof(auth),
			 "Authorization: Digest username=\"%s\", realm=\"ims.test\","
			 " uri=\"sip:ims.test\", nonce=\"%s\", response=\"\", auts=\"%s\","
			 " algorithm=AKAv1-MD5, integrity-protected=\"%s\"\r\n",
			 ue->impi, ue->nonce, auts_b64, ip);
	else if (response[0])
		snprintf(auth, sizeof(auth),
			 "Authorization: Digest username=\"%s\", realm=\"ims.test\","
			 " uri=\"sip:ims.test\", nonce=\"%s\", response=\"%s\", qop=auth,"
			 " nc=00000001, cnonce=\"0a4f113b\", algorithm=AKAv1-MD5,"
			 " integrity-protected=\"%s\"\r\n",
			 ue->impi, ue->nonce, response, ip);
	else
		snprintf(auth, sizeof(auth),
			 "Authorization: Digest username=\"%s\", realm=\"ims.test\","
			 " uri=\"sip:ims.test\", nonce=\"%s\", response=\"\","
			 " algorithm=AKAv1-MD5, integrity-protected=\"%s\"\r\n",
			 ue->impi, ue->nonce, ip);
	buf_init(&b);
	buf_printf(&b,
		   "REGISTER sip:ims.test SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK%s%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <%s>;tag=%s-reg\r\n"
		   "To: <%s>\r\n"
		   "Call-ID: %s-%u@ue.test\r\n"
		   "CSeq: %u REGISTER\r\n",
		   ue->name, ue->cseq + 1, ue->impu, ue->name, ue->impu, ue->name, ue->call,
		   ue->cseq + 1);
	ue->cseq++;
	if (ue->path[0])
		buf_printf(&b, "Path: <%s>\r\n", ue->path);
	buf_printf(&b, "Supported: path%s\r\n", ue->outbound ? ", outbound" : "");
	if (kind == RK_STAR || kind == RK_UNPROTECTED_STAR || kind == RK_ANSWER_STAR) {
		buf_puts(&b, "Contact: *\r\nExpires: 0\r\n");
	} else {
		buf_printf(&b, "Contact: <%s>;expires=%ld", ue->contact, expires);
		if (ue->instance[0])
			buf_printf(&b, ";+sip.instance=\"%s\"", ue->instance);
		if (ue->reg_id)
			buf_printf(&b, ";reg-id=%u", ue->reg_id);
		buf_puts(&b, "\r\n");
	}
	buf_puts(&b, auth);
	buf_printf(&b, "P-Charging-Vector: icid-value=\"icid-%s-%u\";orig-ioi=visited.test\r\n",
		   ue->name, ue->cseq);
	buf_puts(&b, "Content-Length: 0\r\n\r\n");
	deliver(h, ue, b.p, b.len);
	buf_free(&b);
}

static void ue_subscribe(struct h *h, struct h_ue *ue, long expires)
{
	struct buf b;

	if (!ue->sub_call_id[0])
		snprintf(ue->sub_call_id, sizeof(ue->sub_call_id), "%s-sub@ue.test", ue->name);
	buf_init(&b);
	buf_printf(&b,
		   "SUBSCRIBE sip:%s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK%ssub%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <%s>;tag=%s-sub\r\n"
		   "To: <%s>%s%s\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: %u SUBSCRIBE\r\n"
		   "P-Asserted-Identity: <%s>\r\n",
		   ue->impu + 4, ue->name, ue->sub_cseq + 1, ue->impu, ue->name, ue->impu,
		   ue->sub_to_tag[0] ? ";tag=" : "", ue->sub_to_tag, ue->sub_call_id,
		   ue->sub_cseq + 1, ue->impu);
	ue->sub_cseq++;
	if (ue->path[0])
		buf_printf(&b, "Record-Route: <%s>\r\n", ue->path);
	buf_printf(&b,
		   "Contact: <%s>\r\n"
		   "Event: reg\r\n"
		   "Expires: %ld\r\n"
		   "Accept: application/reginfo+xml\r\n"
		   "Content-Length: 0\r\n\r\n",
		   ue->contact, expires);
	deliver(h, ue, b.p, b.len);
	buf_free(&b);
}

/* --- the S-CSCF's life ------------------------------------------------------------- */

static int start(struct h *h)
{
	int err;

	err = scscf_init(&h->s, h->loop, &h->cfg);
	if (err)
		return err;
	h->s.wall_base_ms = UINT64_C(1700000000000);
	h->s.loop_base_ms = 0; /* the manual clock started at 0: wall time goes on across restarts */
	h->s.sip = &sip_ops;
	h->s.sip_ctx = h;
	h->s.cx = &cx_ops;
	h->s.cx_ctx = h;
	h->s.trace = trace;
	h->s.trace_ctx = h;
	err = scscf_store_open(h->db, &h->s.store);
	if (!err)
		err = scscf_store_load(h->s.store, &h->s, NULL);
	h->started = !err;
	return err;
}

static void stop(struct h *h)
{
	if (!h->started)
		return;
	/* A clean stop: what is pending reaches the store, then it closes. */
	scscf_fini(&h->s);
	scscf_store_close(h->s.store);
	h->s.store = NULL;
	h->started = false;
}

static int config_defaults(struct h *h)
{
	static const struct config_section *const sections[] = { &scscf_config_section };
	struct config_errors errs;
	int err;

	config_free(&h->config);
	err = config_load_buffer(&h->config, sections, 1, "(test)", "", 0, &errs);
	if (err)
		return err;
	h->cfg = *(const struct scscf_config *)config_get(&h->config, &scscf_config_section);
	return 0;
}

/* --- the script ------------------------------------------------------------------- */

/* key=value arguments of a command line. */
struct args {
	char *pos[8];
	unsigned n_pos;
	char *key[16], *val[16];
	unsigned n_kv;
};

static void split(char *line, struct args *a)
{
	char *save = NULL;

	memset(a, 0, sizeof(*a));
	for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');

		if (eq && a->n_kv < 16) {
			*eq = '\0';
			a->key[a->n_kv] = tok;
			a->val[a->n_kv++] = eq + 1;
		} else if (!eq && a->n_pos < 8) {
			a->pos[a->n_pos++] = tok;
		}
	}
}

static const char *arg(const struct args *a, const char *key, const char *def)
{
	for (unsigned i = 0; i < a->n_kv; i++) {
		if (strcmp(a->key[i], key) == 0)
			return a->val[i];
	}
	return def;
}

static int fail(struct h *h, const char *fmt, ...)
{
	va_list ap;

	fprintf(h->out, "!! line %d: ", h->line);
	va_start(ap, fmt);
	vfprintf(h->out, fmt, ap);
	va_end(ap);
	fprintf(h->out, "\n");
	return -1;
}

static int enum_index(const char *const *names, const char *v)
{
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], v) == 0)
			return i;
	}
	return -1;
}

static int cmd_start(struct h *h, struct args *a)
{
	static const char *const notify[] = { "full", "partial", NULL };
	const char *v;

	/* A second start keeps the store: the same state under a new configuration. */
	stop(h);
	h->n_notifies = 0;
	if (config_defaults(h))
		return fail(h, "no default configuration");
	if ((v = arg(a, "policy", NULL)) && (h->cfg.policy = enum_index(scscf_policy_names, v)) < 0)
		return fail(h, "policy %s", v);
	if ((v = arg(a, "reauth", NULL)) && (h->cfg.reauth = enum_index(scscf_reauth_names, v)) < 0)
		return fail(h, "reauth %s", v);
	if ((v = arg(a, "notify", NULL)) && (h->cfg.notify = enum_index(notify, v)) < 0)
		return fail(h, "notify %s", v);
	h->cfg.max_flows = atol(arg(a, "max_flows", "2"));
	h->cfg.flow_timer = atol(arg(a, "flow_timer", "0"));
	h->cfg.probe_timeout_ms = strtoull(arg(a, "probe_timeout", "2000"), NULL, 10);
	h->cfg.min_expires = atol(arg(a, "min_expires", "60"));
	h->cfg.default_expires = atol(arg(a, "default_expires", "3600"));
	h->cfg.reauth_expiry_ms = strtoull(arg(a, "reauth_expiry", "60000"), NULL, 10);
	h->cfg.reg_await_auth_ms = strtoull(arg(a, "reg_await_auth", "240000"), NULL, 10);
	return start(h) ? fail(h, "start failed") : 0;
}

static int parse_key(struct h *h, const char *hex, uint8_t out[16])
{
	return hex && hex_decode(str_from_cstr(hex), out, 16) == 0 ? 0 : fail(h, "bad key");
}

static int cmd_hss(struct h *h, struct args *a)
{
	struct h_subscriber *sub;
	char list[512], *save = NULL;
	const char *barred = arg(a, "barred", "");

	if (a->n_pos < 2 || h->n_subs == MAX_SUBS)
		return fail(h, "hss IMPI k= opc= impus=");
	sub = &h->subs[h->n_subs++];
	memset(sub, 0, sizeof(*sub));
	snprintf(sub->impis[sub->n_impis++], 64, "%s", a->pos[1]);
	snprintf(list, sizeof(list), "%s", arg(a, "also", ""));
	for (char *t = strtok_r(list, ",", &save); t && sub->n_impis < 4;
	     t = strtok_r(NULL, ",", &save))
		snprintf(sub->impis[sub->n_impis++], 64, "%s", t);
	if (parse_key(h, arg(a, "k", NULL), sub->k) || parse_key(h, arg(a, "opc", NULL), sub->opc))
		return -1;
	sub->sqn = 0;
	snprintf(list, sizeof(list), "%s", arg(a, "impus", ""));
	save = NULL;
	for (char *t = strtok_r(list, ",", &save); t && sub->n_impus < 8;
	     t = strtok_r(NULL, ",", &save)) {
		sub->barred[sub->n_impus] = strcmp(t, barred) == 0;
		snprintf(sub->impus[sub->n_impus++], 64, "%s", t);
	}
	return sub->n_impus ? 0 : fail(h, "no impus");
}

static int cmd_ue(struct h *h, struct args *a)
{
	struct h_subscriber *sub;
	struct h_ue *ue;
	uint8_t k[16], opc[16];

	if (a->n_pos < 2 || h->n_ues == MAX_UES)
		return fail(h, "ue NAME impi= impu= contact=");
	ue = &h->ues[h->n_ues++];
	memset(ue, 0, sizeof(*ue));
	snprintf(ue->name, sizeof(ue->name), "%s", a->pos[1]);
	snprintf(ue->impi, sizeof(ue->impi), "%s", arg(a, "impi", ""));
	snprintf(ue->impu, sizeof(ue->impu), "%s", arg(a, "impu", ""));
	snprintf(ue->contact, sizeof(ue->contact), "%s", arg(a, "contact", ""));
	snprintf(ue->path, sizeof(ue->path), "%s", arg(a, "path", ""));
	snprintf(ue->instance, sizeof(ue->instance), "%s", arg(a, "instance", ""));
	ue->reg_id = (unsigned)atoi(arg(a, "reg-id", "0"));
	for (unsigned i = 0; i < a->n_pos; i++)
		ue->outbound |= strcmp(a->pos[i], "outbound") == 0;
	sub = subscriber(h, str_from_cstr(ue->impi));
	if (arg(a, "k", NULL)) {
		if (parse_key(h, arg(a, "k", NULL), k) || parse_key(h, arg(a, "opc", NULL), opc))
			return -1;
	} else if (sub) {
		memcpy(k, sub->k, 16);
		memcpy(opc, sub->opc, 16);
	} else {
		return fail(h, "ue %s: no keys", ue->name);
	}
	return usim_init(&ue->usim, k, opc, MILENAGE_OPC, NULL) ? fail(h, "usim") : 0;
}

static int cmd_send(struct h *h, struct args *a, bool full_register)
{
	static const char *const kinds[] = { "initial", "answer", "wrong", "protected",
					     "star", "unprotected-star", "answer-star", "reauth",
					     NULL };
	struct h_ue *ue = a->n_pos > 1 ? ue_find(h, a->pos[1]) : NULL;
	const char *as = arg(a, "auth", NULL);
	struct h_ue *cred = as ? ue_find(h, as) : ue;
	long expires = atol(arg(a, "expires", "600000"));
	int kind;

	if (!ue)
		return fail(h, "no such UE");
	if (!cred)
		return fail(h, "auth=%s: no such UE", as);
	if (full_register) {
		ue_register(h, ue, ue, RK_INITIAL, expires);
		if (ue->last_status == 401)
			ue_register(h, ue, ue, RK_ANSWER, expires);
		return 0;
	}
	kind = a->n_pos > 2 ? enum_index(kinds, a->pos[2]) : -1;
	if (kind < 0)
		return fail(h, "send NAME initial|answer|wrong|protected|star|unprotected-star|"
			    "answer-star|reauth [auth=UE]");
	ue_register(h, ue, cred, (enum reg_kind)kind, expires);
	return 0;
}

static int cmd_raw(struct h *h, struct args *a)
{
	struct h_ue *ue = a->n_pos > 1 ? ue_find(h, a->pos[1]) : NULL;
	char line[1024];
	struct buf b;

	buf_init(&b);
	while (fgets(line, sizeof(line), h->script)) {
		size_t l = strlen(line);

		h->line++;
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (strcmp(line, ".") == 0)
			break;
		buf_printf(&b, "%s\r\n", line);
	}
	deliver(h, ue, b.p, b.len);
	buf_free(&b);
	return 0;
}

static int cmd_subscribe_pcscf(struct h *h, struct args *a)
{
	static unsigned n;
	struct buf b;

	if (a->n_pos < 2)
		return fail(h, "subscribe-pcscf IMPU from= contact=");
	buf_init(&b);
	n++;
	buf_printf(&b,
		   "SUBSCRIBE %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKpcscfsub%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <%s>;tag=pcscf-%u\r\n"
		   "To: <%s>\r\n"
		   "Call-ID: pcscf-sub-%u@pcscf.test\r\n"
		   "CSeq: 1 SUBSCRIBE\r\n"
		   "Contact: <%s>\r\n"
		   "Event: reg\r\n"
		   "Expires: 600000\r\n"
		   "Content-Length: 0\r\n\r\n",
		   a->pos[1], n, arg(a, "from", ""), n, a->pos[1], n, arg(a, "contact", ""));
	deliver(h, NULL, b.p, b.len);
	buf_free(&b);
	return 0;
}

static int cmd_notify_reply(struct h *h, struct args *a)
{
	unsigned status = a->n_pos > 1 ? (unsigned)atoi(a->pos[1]) : 200;
	bool all = a->n_pos > 2 && strcmp(a->pos[2], "all") == 0;
	bool any = false;

	for (unsigned i = 0; i < h->n_notifies; i++) {
		if (!h->notifies[i].pending)
			continue;
		h->notifies[i].pending = false;
		any = true;
		fprintf(h->out, "  =< %u for ref %" PRIu64 "\n", status, h->notifies[i].ref);
		scscf_sip_request_done(&h->s, h->notifies[i].ref, status);
		pump(h);
		if (!all)
			break;
	}
	return any ? 0 : fail(h, "no NOTIFY waits for an answer");
}

static int cmd_route(struct h *h, struct args *a)
{
	struct buf b;
	static unsigned n;

	if (a->n_pos < 3)
		return fail(h, "route METHOD IMPU");
	buf_init(&b);
	n++;
	buf_printf(&b,
		   "%s %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 198.18.0.9:5060;branch=z9hG4bKroute%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:peer@other.test>;tag=peer%u\r\n"
		   "To: <%s>\r\n"
		   "Call-ID: route-%u@other.test\r\n"
		   "CSeq: 1 %s\r\n"
		   "Content-Length: 0\r\n\r\n",
		   a->pos[1], a->pos[2], n, n, a->pos[2], n, a->pos[1]);
	deliver(h, NULL, b.p, b.len);
	buf_free(&b);
	return 0;
}

static int cmd_ctl(struct h *h, struct args *a)
{
	uint64_t binding = strtoull(arg(a, "binding", "0"), NULL, 10);
	unsigned count = 0;
	int err;

	if (a->n_pos < 3)
		return fail(h, "ctl dereg|reauth IMPU");
	if (strcmp(a->pos[1], "dereg") == 0) {
		const char *ev = arg(a, "event", "deactivated");
		int e = -1;

		for (int i = 0; i < REGINFO_EV__COUNT; i++) {
			if (strcmp(reginfo_event_name((enum reginfo_event)i), ev) == 0)
				e = i;
		}
		err = scscf_admin_dereg(&h->s, str_from_cstr(a->pos[2]), binding,
					(enum reginfo_event)e, strtoull(arg(a, "retry", "0"), NULL, 10),
					&count);
	} else if (strcmp(a->pos[1], "reauth") == 0) {
		err = scscf_admin_reauth(&h->s, str_from_cstr(a->pos[2]), binding, &count);
	} else {
		return fail(h, "ctl dereg|reauth");
	}
	fprintf(h->out, "  ctl: %s, %u binding(s)\n", err ? strerror(-err) : "ok", count);
	pump(h);
	return 0;
}

static void cmd_dump(struct h *h)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;
	uint64_t ids[256];
	unsigned count = 0;

	while ((n = ht_iter_next(&h->s.bindings, &it)) && count < 256)
		ids[count++] = ht_entry(n, struct scscf_binding, by_id)->id;
	/* In id order, whatever the hash table's order. */
	for (unsigned i = 1; i < count; i++) {
		for (unsigned j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			uint64_t t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	}
	fprintf(h->out, "  bindings: %u\n", count);
	for (unsigned i = 0; i < count; i++) {
		const struct scscf_binding *b = scscf_binding_find(&h->s, ids[i]);

		fprintf(h->out, "    %" PRIu64 " %.*s %.*s %.*s expires-in %" PRIu64 " %s%s%s",
			b->id, STR_FMT(b->impu), STR_FMT(b->impi), STR_FMT(b->contact),
			scscf_binding_expires_in(&h->s, b), reginfo_event_name(b->event),
			b->outbound ? " outbound" : "", b->reauth ? " reauth" : "");
		if (b->reg_id)
			fprintf(h->out, " reg-id %u", b->reg_id);
		for (unsigned k = 0; k < b->n_path; k++)
			fprintf(h->out, " path %.*s", STR_FMT(b->path[k]));
		fprintf(h->out, " irs");
		for (unsigned k = 0; k < b->n_irs; k++)
			fprintf(h->out, " %.*s%s", STR_FMT(b->irs[k].uri),
				b->irs[k].barred ? "(barred)" : "");
		fprintf(h->out, "\n");
	}
	fprintf(h->out, "  subscriptions: %zu, challenges: %zu\n", h->s.subs.n, h->s.auths.n);
}

static int command(struct h *h, char *line)
{
	struct args a;
	char copy[1024];

	snprintf(copy, sizeof(copy), "%s", line);
	split(copy, &a);
	if (!a.n_pos)
		return 0;
	fprintf(h->out, "%s$ %s\n", h->comment ? "" : "\n", line);
	if (strcmp(a.pos[0], "start") == 0)
		return cmd_start(h, &a);
	if (strcmp(a.pos[0], "hss") == 0)
		return cmd_hss(h, &a);
	if (strcmp(a.pos[0], "hss-sqn") == 0) {
		struct h_subscriber *sub = a.n_pos > 2 ? subscriber(h, str_from_cstr(a.pos[1])) : NULL;

		if (!sub)
			return fail(h, "hss-sqn IMPI SQN");
		sub->sqn = strtoull(a.pos[2], NULL, 0);
		return 0;
	}
	if (strcmp(a.pos[0], "ue") == 0)
		return cmd_ue(h, &a);
	if (!h->started)
		return fail(h, "start first");
	if (strcmp(a.pos[0], "register") == 0)
		return cmd_send(h, &a, true);
	if (strcmp(a.pos[0], "send") == 0)
		return cmd_send(h, &a, false);
	if (strcmp(a.pos[0], "raw") == 0)
		return cmd_raw(h, &a);
	if (strcmp(a.pos[0], "subscribe") == 0) {
		struct h_ue *ue = a.n_pos > 1 ? ue_find(h, a.pos[1]) : NULL;

		if (!ue)
			return fail(h, "no such UE");
		ue_subscribe(h, ue, atol(arg(&a, "expires", "600000")));
		return 0;
	}
	if (strcmp(a.pos[0], "subscribe-pcscf") == 0)
		return cmd_subscribe_pcscf(h, &a);
	if (strcmp(a.pos[0], "notify-reply") == 0)
		return cmd_notify_reply(h, &a);
	if (strcmp(a.pos[0], "route") == 0)
		return cmd_route(h, &a);
	if (strcmp(a.pos[0], "ctl") == 0)
		return cmd_ctl(h, &a);
	if (strcmp(a.pos[0], "advance") == 0) {
		loop_advance(h->loop, strtoull(a.n_pos > 1 ? a.pos[1] : "0", NULL, 10) * 1000);
		pump(h);
		return 0;
	}
	if (strcmp(a.pos[0], "restart") == 0) {
		stop(h);
		h->n_notifies = 0;
		/* Time passes while the S-CSCF is down: nothing of it runs. */
		loop_advance(h->loop, strtoull(arg(&a, "down", "0"), NULL, 10) * 1000);
		if (start(h))
			return fail(h, "restart failed");
		/* What fell due meanwhile fires now. */
		loop_advance(h->loop, 0);
		pump(h);
		return 0;
	}
	if (strcmp(a.pos[0], "dump") == 0) {
		cmd_dump(h);
		return 0;
	}
	return fail(h, "unknown command %s", a.pos[0]);
}

int harness_run(const char *path, const char *testdata, FILE *out)
{
	struct h *h = calloc(1, sizeof(*h));
	char line[1024], xsd[512], xml[512];
	struct reginfo_error rerr;
	int rc = 0;

	h->out = out;
	snprintf(h->dir, sizeof(h->dir), "/tmp/simreg-scscf-XXXXXX");
	if (!mkdtemp(h->dir)) {
		free(h);
		return -1;
	}
	snprintf(h->db, sizeof(h->db), "%s/scscf.db", h->dir);
	snprintf(xsd, sizeof(xsd), "%s/reginfo/reginfo.xsd", testdata);
	snprintf(xml, sizeof(xml), "%s/reginfo/xml.xsd", testdata);
	loop_manual_clock_init(&h->clock, 0);
	if (loop_create(&h->loop, &h->clock.clock) < 0 ||
	    reginfo_schema_load(xsd, xml, &h->schema, &rerr) < 0) {
		fprintf(out, "!! set-up failed\n");
		rc = -1;
		goto out;
	}
	h->script = fopen(path, "r");
	if (!h->script) {
		fprintf(out, "!! cannot open %s\n", path);
		rc = -1;
		goto out;
	}
	while (rc == 0 && fgets(line, sizeof(line), h->script)) {
		size_t l = strlen(line);

		h->line++;
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (line[0] == '#' || !line[0]) {
			if (line[0])
				fprintf(out, "%s%s\n", h->comment ? "" : "\n", line);
			h->comment = line[0] == '#';
			continue;
		}
		rc = command(h, line);
		h->comment = false;
	}
	fclose(h->script);
out:
	stop(h);
	for (unsigned i = 0; i < h->n_txns; i++)
		free(h->txns[i].buf);
	for (unsigned i = 0; i < h->n_ues; i++)
		usim_free(&h->ues[i].usim);
	reginfo_schema_free(h->schema);
	loop_destroy(h->loop);
	config_free(&h->config);
	snprintf(line, sizeof(line), "%s/scscf.db", h->dir);
	unlink(line);
	snprintf(line, sizeof(line), "%s/scscf.db-wal", h->dir);
	unlink(line);
	snprintf(line, sizeof(line), "%s/scscf.db-shm", h->dir);
	unlink(line);
	rmdir(h->dir);
	free(h);
	return rc;
}
