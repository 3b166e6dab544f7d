/*
 * context.c - the UE's life: creation, the dispatch of what the network
 * reports to the access it concerns, incoming requests, and outgoing
 * MESSAGE / OPTIONS.
 */
#define SLOG_COMPONENT "ue"
#include "ue/context.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/hex.h"
#include "core/log.h"
#include "ipsec/sip_transport.h"
#include "sip/msg.h"
#include "ue/evlog.h"
#include "ue/msg.h"

/* ---- small helpers ---------------------------------------------------- */

void ue_random(struct ue *ue, void *out, size_t n)
{
	if (ue->seam.fill) {
		ue->seam.fill(ue->seam.ctx, out, n);
		return;
	}
	if (RAND_bytes(out, (int)n) != 1) {
		/* The DRBG failing is not something a UE can work around. */
		log_error("RAND_bytes failed");
		abort();
	}
}

uint32_t ue_random32(struct ue *ue)
{
	uint8_t b[4];

	ue_random(ue, b, sizeof(b));
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void ue_new_word(struct ue *ue, char out[17])
{
	uint8_t b[8];

	ue_random(ue, b, sizeof(b));
	hex_encode(b, sizeof(b), out);
}

/*
 * A reference names the access and the kind of request, plus a counter so
 * that an answer to a request the access has given up on finds nothing.
 */
uint64_t ue_new_ref(struct ue *ue, const struct ue_access *a, unsigned kind)
{
	return (uint64_t)kind << 56 | (uint64_t)(a->n - 1) << 48 |
	       (++ue->ref_seq & ((UINT64_C(1) << 48) - 1));
}

static struct ue_access *ref_access(struct ue *ue, uint64_t ref)
{
	size_t i = (size_t)(ref >> 48 & 0xff);

	return i < ue->nacc ? &ue->acc[i] : NULL;
}

struct str ue_impu(const struct ue *ue)
{
	return str_from_cstr(ue->cfg->impus.v[0]);
}

int ue_contact_uri(const struct ue_access *a, char *out, size_t cap)
{
	const struct ue_sec *s = &a->sec;
	struct str impu = ue_impu(a->ue);
	struct str user = STR_LIT("ue");
	char host[SIP_SOCKADDR_STRLEN];
	uint16_t port_us;
	ptrdiff_t at;
	int n;

	if (s->offer_held)
		port_us = s->offer.port_s;
	else if (s->tmp.set.p.client.port_s)
		port_us = s->tmp.set.p.client.port_s;
	else if (s->est.live)
		port_us = s->est.set.p.client.port_s;
	else
		return -ENOENT;
	/* sip:USER@HOST: the IMPU's user part, for people reading traces. */
	at = str_chr(impu, '@');
	if (at > 4)
		user = str_make(impu.s + 4, (size_t)at - 4);
	if (sip_sockaddr_host(&a->cfg.local, true, host, sizeof(host)) < 0)
		return -EINVAL;
	n = snprintf(out, cap, "sip:%.*s@%s:%u%s", STR_FMT(user), host, port_us,
		     a->cfg.proto == SIP_TRANSPORT_TCP ? ";transport=tcp" : "");
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

bool ue_some_other_registered(const struct ue *ue, const struct ue_access *a)
{
	for (size_t i = 0; i < ue->nacc; i++)
		if (&ue->acc[i] != a && ue->acc[i].reg.state == UE_REG_REGISTERED)
			return true;
	return false;
}

struct ue_access *ue_access_by_name(struct ue *ue, struct str name)
{
	for (size_t i = 0; i < ue->nacc; i++)
		if (str_eq_cstr(name, ue->acc[i].cfg.name))
			return &ue->acc[i];
	return NULL;
}

struct ue_access *ue_access_by_local(struct ue *ue, const struct ipsec_addr *addr)
{
	for (size_t i = 0; i < ue->nacc; i++)
		if (ipsec_addr_eq(&ue->acc[i].local_ip, addr))
			return &ue->acc[i];
	return NULL;
}

/* ---- life ----------------------------------------------------------------- */

/* The allocator draws SPIs from the UE's seam, so injected entropy fixes them too. */
static uint32_t alloc_random32(void *ctx)
{
	return ue_random32(ctx);
}

int ue_create(struct ue **out, const struct ue_config *cfg, const struct ue_access_config *accs,
	      size_t nacc, const struct ipsec_alloc_config *alloc, struct loop *loop,
	      const struct ue_env_ops *env, void *env_ctx, const struct ue_seam *seam,
	      FILE *evlog, const char *sqn_state, char *why, size_t whylen)
{
	enum milenage_opkind kind = cfg->opc.len ? MILENAGE_OPC : MILENAGE_OP;
	const uint8_t *op = cfg->opc.len ? cfg->opc.data : cfg->op.data;
	struct ue *ue;
	int rc;

	if (nacc == 0 || nacc > UE_MAX_ACCESSES) {
		snprintf(why, whylen, "%zu accesses: 1 to %d", nacc, UE_MAX_ACCESSES);
		return -EINVAL;
	}
	ue = calloc(1, sizeof(*ue));
	if (!ue) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	ue->cfg = cfg;
	ue->loop = loop;
	ue->env = env;
	ue->env_ctx = env_ctx;
	if (seam)
		ue->seam = *seam;
	ue->evlog = evlog;
	ue->name = cfg->impi;
	ue->mech_flags = ue_mech_flags((enum ue_mech)cfg->mechanism);
	ue->backoff.base_all_failed_ms = cfg->backoff_base_all_ms;
	ue->backoff.base_some_ok_ms = cfg->backoff_base_some_ms;
	ue->backoff.max_ms = cfg->backoff_max_ms;
	snprintf(ue->domain, sizeof(ue->domain), "%s",
		 cfg->domain[0] ? cfg->domain : strrchr(cfg->impi, '@') + 1);
	rc = ue_offers_parse(&cfg->offers, &ue->offers, why, whylen);
	if (rc)
		goto free_ue;
	if (ue->seam.fill) {
		struct ipsec_alloc_seam as = { .random32 = alloc_random32, .ctx = ue };

		rc = ipsec_alloc_init(&ue->alloc, alloc, &as);
	} else {
		rc = ipsec_alloc_init(&ue->alloc, alloc, NULL);
	}
	if (rc) {
		snprintf(why, whylen, "bad SPI or port range");
		goto free_ue;
	}
	rc = ue_usim_open(&ue->usim, cfg->k.data, op, kind, (unsigned)cfg->sqn_ind_bits,
			  cfg->amf.len ? cfg->amf.data : NULL, sqn_state, why, whylen);
	if (rc)
		goto free_alloc;
	for (size_t i = 0; i < nacc; i++) {
		struct ue_access *a = &ue->acc[i];

		a->ue = ue;
		a->n = (unsigned)i + 1;
		a->cfg = accs[i];
		a->link_up = true;
		if (ipsec_addr_from_sockaddr(&a->cfg.local, &a->local_ip, NULL) < 0 ||
		    ipsec_addr_from_sockaddr(&a->cfg.pcscf, &a->pcscf_ip, NULL) < 0) {
			snprintf(why, whylen, "access %s: no local address", a->cfg.name);
			rc = -EINVAL;
			goto fail_accesses;
		}
		if (ue->mech_flags & UE_MF_MODIFIED_IMPI)
			rc = ue_impi_derive(cfg->impi_template, str_from_cstr(cfg->impi), a->n,
					    a->impi, sizeof(a->impi));
		else
			rc = snprintf(a->impi, sizeof(a->impi), "%s", cfg->impi);
		if (rc < 0) {
			snprintf(why, whylen, "access %s: IMPI from template '%s': %s", a->cfg.name,
				 cfg->impi_template, strerror(-rc));
			goto fail_accesses;
		}
		ue_reg_init(ue, a);
		ue_sub_init(ue, a);
		ue->nacc++;
	}
	*out = ue;
	return 0;

fail_accesses:
	for (size_t i = 0; i < ue->nacc; i++)
		ue_reg_fini(ue, &ue->acc[i]);
	ue_usim_close(&ue->usim);
free_alloc:
	ipsec_alloc_destroy(&ue->alloc);
free_ue:
	free(ue);
	return rc;
}

void ue_start(struct ue *ue)
{
	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_access *a = &ue->acc[i];
		char local[SIP_SOCKADDR_STRLEN], pcscf[SIP_SOCKADDR_STRLEN];

		log_info("%s: impi=%s local=%s pcscf=%s %s", a->cfg.name, a->impi,
			 sip_sockaddr_str(&a->cfg.local, local, sizeof(local)),
			 sip_sockaddr_str(&a->cfg.pcscf, pcscf, sizeof(pcscf)),
			 sip_transport_name(a->cfg.proto));
		if (ue->cfg->register_at_start)
			ue_reg_event(ue, a, UE_REG_EV_REGISTER, NULL);
	}
}

unsigned ue_stop(struct ue *ue)
{
	unsigned n = 0;

	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_access *a = &ue->acc[i];

		if (a->reg.state == UE_REG_REGISTERED) {
			if (ue_reg_event(ue, a, UE_REG_EV_DEREGISTER, NULL) == 0 &&
			    a->reg.state == UE_REG_DEREGISTERING)
				n++;
		} else if (ue_reg_accepts(a->reg.state, UE_REG_EV_DEREGISTER)) {
			ue_reg_event(ue, a, UE_REG_EV_DEREGISTER, NULL);
		}
	}
	return n;
}

bool ue_busy(const struct ue *ue)
{
	for (size_t i = 0; i < ue->nacc; i++)
		if (ue->acc[i].reg.txn)
			return true;
	return false;
}

void ue_destroy(struct ue *ue)
{
	if (!ue)
		return;
	for (size_t i = 0; i < ue->nacc; i++) {
		ue_sub_reset(ue, &ue->acc[i]);
		ue_reg_fini(ue, &ue->acc[i]);
	}
	ue_usim_close(&ue->usim);
	ipsec_alloc_destroy(&ue->alloc);
	free(ue);
}

/* ---- what the network reports -------------------------------------------- */

static struct ue_out *out_find(struct ue *ue, uint64_t ref)
{
	for (size_t i = 0; i < UE_MAX_OUT; i++)
		if (ue->out[i].ref == ref)
			return &ue->out[i];
	return NULL;
}

static void ev_out_result(struct ue *ue, struct ue_access *a, struct ue_out *o, unsigned status,
			  int err)
{
	struct json_writer w;

	log_info("%s: %s to %s: %u%s%s", a->cfg.name, o->method, o->to, status, err ? " " : "",
		 err ? strerror(-err) : "");
	if (ue_ev_begin(ue, &w, "msg", a)) {
		json_kv_cstring(&w, "dir", "rx");
		json_kv_cstring(&w, "method", o->method);
		json_key(&w, "status");
		json_uint(&w, status);
		json_kv_cstring(&w, "call_id", o->call_id);
		json_kv_cstring(&w, "to", o->to);
		if (err)
			json_kv_cstring(&w, "error", strerror(-err));
		ue_ev_end(ue, &w);
	}
	memset(o, 0, sizeof(*o));
}

/* A final response to our REGISTER or SUBSCRIBE, for the event log. */
static void ev_rx_response(struct ue *ue, struct ue_access *a, const char *method,
			   struct sip_msg *msg, uint32_t sa_set)
{
	struct json_writer w;
	struct str call_id = STR_NULL;

	if (!ue_ev_begin(ue, &w, "msg", a))
		return;
	sip_msg_call_id(msg, &call_id, NULL);
	json_kv_cstring(&w, "dir", "rx");
	json_kv_cstring(&w, "method", method);
	json_key(&w, "status");
	json_uint(&w, msg->status);
	json_key(&w, "call_id");
	json_string(&w, call_id);
	json_key(&w, "set");
	json_uint(&w, sa_set);
	ue_ev_end(ue, &w);
}

void ue_on_response(struct ue *ue, uint64_t ref, struct sip_msg *msg, uint32_t sa_set)
{
	struct ue_access *a = ref_access(ue, ref);
	struct ue_reg_input in = { .msg = msg, .sa_set = sa_set };
	struct ue_out *o;

	if (!a || msg->kind != SIP_MSG_RESPONSE || msg->status < 200)
		return;
	a->msgs_rx++;
	switch (ref >> 56) {
	case UE_REF_REGISTER:
		ev_rx_response(ue, a, "REGISTER", msg, sa_set);
		if (ref != a->reg.txn) {
			log_debug("%s: late %u to an abandoned REGISTER ignored", a->cfg.name,
				  msg->status);
			return;
		}
		a->reg.txn = 0;
		if (sa_set != a->reg.txn_set) {
			/*
			 * 33.203 7.1: the answer to a request sent over an SA
			 * comes back over its pair, and one sent unprotected
			 * unprotected. Anything else is not our P-CSCF's.
			 */
			log_warn("%s: %u to REGISTER arrived over set %u, not %u: treated as no "
				 "answer",
				 a->cfg.name, msg->status, sa_set, a->reg.txn_set);
			in.err = -EPROTO;
			in.msg = NULL;
			ue_reg_event(ue, a, UE_REG_EV_NO_ANSWER, &in);
		} else if (msg->status == 401)
			ue_reg_event(ue, a, UE_REG_EV_RX_401, &in);
		else if (msg->status < 300)
			ue_reg_event(ue, a, UE_REG_EV_RX_2XX, &in);
		else
			ue_reg_event(ue, a, UE_REG_EV_RX_REJECT, &in);
		break;
	case UE_REF_SUBSCRIBE:
		ev_rx_response(ue, a, "SUBSCRIBE", msg, sa_set);
		if (ref == a->sub.txn) {
			a->sub.txn = 0;
			ue_sub_response(ue, a, msg, 0);
		}
		break;
	case UE_REF_OUT:
		o = out_find(ue, ref);
		if (o)
			ev_out_result(ue, a, o, msg->status, 0);
		break;
	}
}

void ue_on_failure(struct ue *ue, uint64_t ref, int err)
{
	struct ue_access *a = ref_access(ue, ref);
	struct ue_reg_input in = { .err = err };
	struct ue_out *o;

	if (!a)
		return;
	switch (ref >> 56) {
	case UE_REF_REGISTER:
		if (ref != a->reg.txn)
			return;
		a->reg.txn = 0;
		ue_reg_event(ue, a, UE_REG_EV_NO_ANSWER, &in);
		break;
	case UE_REF_SUBSCRIBE:
		if (ref == a->sub.txn) {
			a->sub.txn = 0;
			ue_sub_response(ue, a, NULL, err);
		}
		break;
	case UE_REF_OUT:
		o = out_find(ue, ref);
		if (o)
			ev_out_result(ue, a, o, 0, err);
		break;
	}
}

/* ---- incoming requests ------------------------------------------------------ */

static void ev_rx_request(struct ue *ue, struct ue_access *a, struct sip_msg *msg,
			  uint32_t sa_set, unsigned answer)
{
	const struct sip_addr *from;
	struct json_writer w;
	struct str call_id = STR_NULL;
	char src[160] = "";

	if (sip_msg_from(msg, &from, NULL) == 0)
		str_copy(src, sizeof(src), from->uri);
	sip_msg_call_id(msg, &call_id, NULL);
	log_info("%s: %.*s from %s over set %u: answered %u", a->cfg.name,
		 STR_FMT(msg->method_name), src, sa_set, answer);
	if (!ue_ev_begin(ue, &w, "msg", a))
		return;
	json_kv_cstring(&w, "dir", "rx");
	json_key(&w, "method");
	json_string(&w, msg->method_name);
	json_key(&w, "call_id");
	json_string(&w, call_id);
	json_kv_cstring(&w, "from", src);
	json_key(&w, "set");
	json_uint(&w, sa_set);
	json_key(&w, "answer");
	json_uint(&w, answer);
	if (msg->body.len) {
		json_key(&w, "body");
		json_string(&w, str_sub(msg->body, 0, 512));
	}
	ue_ev_end(ue, &w);
}

void ue_on_request(struct ue *ue, struct ue_access *a, struct sip_msg *msg, uint32_t sa_set,
		   struct ue_reply *rep)
{
	const struct ue_config *cfg = ue->cfg;

	memset(rep, 0, sizeof(*rep));
	a->msgs_rx++;
	if (msg->method == SIP_METHOD_ACK)
		return;
	if (!sa_set) {
		/*
		 * 33.203 7.1: requests from the P-CSCF come over the SAs
		 * to port_us; anything else is not from our P-CSCF.
		 */
		rep->code = 403;
		rep->reason = "Not Over The Security Association";
		ev_rx_request(ue, a, msg, sa_set, rep->code);
		return;
	}
	switch (msg->method) {
	case SIP_METHOD_NOTIFY:
		ue_sub_notify(ue, a, msg, rep);
		break;
	case SIP_METHOD_MESSAGE:
		rep->code = (unsigned)cfg->answer_message;
		break;
	case SIP_METHOD_OPTIONS:
		rep->code = (unsigned)cfg->answer_options;
		rep->allow = true;
		break;
	case SIP_METHOD_INVITE:
		rep->code = (unsigned)cfg->answer_invite;
		rep->contact = rep->code < 300;
		break;
	case SIP_METHOD_BYE:
		rep->code = 200;
		break;
	default:
		rep->code = 405;
		rep->allow = true;
		break;
	}
	ev_rx_request(ue, a, msg, sa_set, rep->code);
}

/* ---- outgoing MESSAGE / OPTIONS ---------------------------------------------- */

static void ev_tx_out(struct ue *ue, struct ue_access *a, const struct ue_out *o, struct str body)
{
	struct json_writer w;

	if (!ue_ev_begin(ue, &w, "msg", a))
		return;
	json_kv_cstring(&w, "dir", "tx");
	json_kv_cstring(&w, "method", o->method);
	json_kv_cstring(&w, "call_id", o->call_id);
	json_kv_cstring(&w, "to", o->to);
	if (body.len) {
		json_key(&w, "body");
		json_string(&w, body);
	}
	ue_ev_end(ue, &w);
}

int ue_send_request(struct ue *ue, struct ue_access *a, struct str method, struct str to,
		    struct str body, char call_id[40])
{
	struct str route[1 + 8];
	unsigned nroute = 0;
	char ps[SIP_SOCKADDR_STRLEN + 16], host[SIP_SOCKADDR_STRLEN], tag[17], contact[256];
	struct ue_request r;
	struct ue_out *o = NULL;
	struct sip_uri uri;
	struct buf b;
	uint64_t ref;
	int rc;

	if (!str_eq_cstr(method, "MESSAGE") && !str_eq_cstr(method, "OPTIONS"))
		return -EINVAL;
	if (sip_uri_parse(to, &uri, NULL) < 0 || to.len >= sizeof(o->to))
		return -EINVAL;
	if (a->reg.state != UE_REG_REGISTERED && a->reg.state != UE_REG_REFRESHING)
		return -EPERM;
	o = out_find(ue, 0);
	if (!o)
		return -ENOBUFS;
	/*
	 * RFC 3608 6, 24.229 5.1.2A.1: Route = the P-CSCF's protected server
	 * port, then the Service-Route of this registration.
	 */
	sip_sockaddr_host(&a->cfg.pcscf, true, host, sizeof(host));
	snprintf(ps, sizeof(ps), "sip:%s:%u;lr", host, a->sec.est.set.p.server.port_s);
	route[nroute++] = str_from_cstr(ps);
	for (unsigned i = 0; i < a->reg.nroutes && nroute < sizeof(route) / sizeof(route[0]); i++)
		route[nroute++] = a->reg.routes[i];
	rc = ue_contact_uri(a, contact, sizeof(contact));
	if (rc < 0)
		return rc;
	ue_new_word(ue, tag);
	ue_new_word(ue, call_id);
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.ruri = to;
	r.from = ue_impu(ue);
	r.to = to;
	r.tag = str_from_cstr(tag);
	r.call_id = str_from_cstr(call_id);
	r.cseq = 1;
	r.route = route;
	r.nroute = nroute;
	r.contact = str_from_cstr(contact);
	if (body.len) {
		r.content_type = STR_LIT("text/plain");
		r.body = body;
	}
	buf_init(&b);
	rc = ue_msg_request(&b, &r);
	if (rc)
		goto out;
	ref = ue_new_ref(ue, a, UE_REF_OUT);
	rc = ue->env->send(ue->env_ctx, a, &a->sec.est, buf_str(&b), ref);
	if (rc)
		goto out;
	a->msgs_tx++;
	o->ref = ref;
	o->access = a->n;
	str_copy(o->method, sizeof(o->method), method);
	snprintf(o->call_id, sizeof(o->call_id), "%s", call_id);
	str_copy(o->to, sizeof(o->to), to);
	log_info("%s: %s to %.*s sent, Call-ID %s", a->cfg.name, o->method, STR_FMT(to), call_id);
	ev_tx_out(ue, a, o, body);
out:
	buf_free(&b);
	return rc;
}
