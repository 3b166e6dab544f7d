/*
 * cx.c - the Cx client of the S-CSCF over freeDiameter (TS 29.228 /
 * 29.229): MAR and SAR behind struct scscf_cx_ops.
 *
 *   loop thread                     freeDiameter thread
 *   -----------                     -------------------
 *   build the request, send it  --> ... the HSS answers, or the timer
 *                                   runs out: read what the S-CSCF needs
 *                                   from the answer into the call, free
 *                                   the answer (and with it the request),
 *                                   post the call
 *   hand the result to the     <--  (loop_post, the hand-off queue)
 *   logic, free the call
 *
 * The answer is read and freed on the thread that received and parsed it:
 * its memory is still in that CPU's cache and goes back to the allocator
 * it came from, where walking and freeing it on the loop thread cost a
 * tenth of the S-CSCF's time. Only the dictionary (read-only once the
 * engine runs) is shared.
 *
 * A request never blocks the loop: fd_msg_send_timeout() returns at once
 * and the answer comes through the hand-off queue. Every request carries
 * a deadline (scscf.diameter.timeout); a request without an answer by
 * then is reported as -ETIMEDOUT, so a REGISTER never waits forever.
 */
#define SLOG_COMPONENT "scscf"

#include "scscf/cx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/log.h"
#include "diameter/dmsg.h"
#include "diameter/engine.h"
#include "scscf/cx_loop.h"

struct scscf_cx_client {
	struct scscf *s;
	struct scscf_cx_loop *loop_client; /* scscf.diameter.client: loop; the rest unused */
	struct cx_dict dict;
	struct str hss, hss_realm, server_name;
	uint64_t timeout_ms;
	unsigned in_flight;             /* loop thread only */
	struct loop_shutdown_hook shutdown;
	bool stopping;
};

/*
 * One request on its way; owned by freeDiameter until it is posted, then
 * by the loop. The answer's content is copied in on freeDiameter's
 * thread (on_answer), the answer itself freed there.
 */
struct cx_call {
	struct loop_work work;
	struct scscf_cx_client *c;
	enum cx_command cmd;
	uint64_t ref;
	union {
		struct scscf_maa maa;   /* CX_CMD_MA; holds CK and IK: wiped */
		struct scscf_saa saa;   /* CX_CMD_SA; user_data points at ud */
	};
	char *ud;                       /* a copy of the SAA's User-Data, malloc'd */
};

static void call_free(struct cx_call *call)
{
	if (call->cmd == CX_CMD_MA)
		explicit_bzero(&call->maa, sizeof(call->maa));
	free(call->ud);
	free(call);
}

/* --- reading answers (freeDiameter's thread) ----------------------------------- */

static void read_result(struct scscf_cx_client *c, struct msg *ans, int err,
			struct scscf_cx_result *r)
{
	memset(r, 0, sizeof(*r));
	r->err = err;
	if (!r->err && !ans)
		r->err = -ENOTCONN;
	if (!r->err && cx_get_result(&c->dict, ans, &r->code, &r->experimental) < 0)
		r->err = -EBADMSG;
}

static void read_maa(struct scscf_cx_client *c, struct msg *ans, int err, struct scscf_maa *a)
{
	const struct cx_dict *d = &c->dict;
	struct avp *item;
	struct str auth, xres, ck, ik;

	memset(a, 0, sizeof(*a));
	read_result(c, ans, err, &a->result);
	if (!scscf_cx_success(&a->result))
		return;
	/* No loop log from this thread when it is not usable: the loop says it (deliver). */
	if (dmsg_find(ans, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM], NULL, &item) == 0 &&
	    dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHENTICATE], &auth) == 0 &&
	    dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHORIZATION], &xres) == 0 &&
	    dmsg_get_str(item, d->avp[CX_AVP_CONFIDENTIALITY_KEY], &ck) == 0 &&
	    dmsg_get_str(item, d->avp[CX_AVP_INTEGRITY_KEY], &ik) == 0)
		scscf_cx_maa_vector(a, auth, xres, ck, ik);
}

void scscf_cx_maa_vector(struct scscf_maa *a, struct str auth, struct str xres, struct str ck,
			 struct str ik)
{
	if (auth.len < AKA_RAND_LEN + AKA_AUTN_LEN || !xres.len || xres.len > sizeof(a->xres) ||
	    ck.len != AKA_CK_LEN || ik.len != AKA_IK_LEN)
		return;
	/* SIP-Authenticate = RAND || AUTN, SIP-Authorization = XRES (29.229 6.3.10, 6.3.11). */
	memcpy(a->rand, auth.s, AKA_RAND_LEN);
	memcpy(a->autn, auth.s + AKA_RAND_LEN, AKA_AUTN_LEN);
	memcpy(a->xres, xres.s, xres.len);
	a->xres_len = xres.len;
	memcpy(a->ck, ck.s, AKA_CK_LEN);
	memcpy(a->ik, ik.s, AKA_IK_LEN);
	a->have_vector = true;
}

static void read_saa(struct scscf_cx_client *c, struct msg *ans, int err, struct cx_call *call)
{
	struct scscf_saa *a = &call->saa;
	struct str ud;

	memset(a, 0, sizeof(*a));
	read_result(c, ans, err, &a->result);
	if (!scscf_cx_success(&a->result) ||
	    dmsg_get_str(ans, c->dict.avp[CX_AVP_USER_DATA], &ud) < 0 || !ud.len)
		return;
	call->ud = malloc(ud.len);
	if (!call->ud) {
		/* As if the HSS had sent none: the REGISTER fails (reg_fsm). */
		return;
	}
	memcpy(call->ud, ud.s, ud.len);
	a->user_data = str_make(call->ud, ud.len);
}

/* Read the outcome into the call, free the answer, hand the call over. */
static void finish(struct cx_call *call, struct msg *ans, int err)
{
	if (call->cmd == CX_CMD_MA)
		read_maa(call->c, ans, err, &call->maa);
	else
		read_saa(call->c, ans, err, call);
	if (ans)
		fd_msg_free(ans);
	loop_post(call->c->s->loop, &call->work);
}

static void on_answer(void *data, struct msg **msg)
{
	struct msg *ans = *msg;

	*msg = NULL;
	finish(data, ans, 0);
}

static void on_expire(void *data, DiamId_t to, size_t tolen, struct msg **req)
{
	fd_msg_free(*req);
	*req = NULL;
	finish(data, NULL, -ETIMEDOUT);
}

/* --- handing results over (loop thread) ------------------------------------------ */

static void deliver(void *ctx, int status)
{
	struct cx_call *call = ctx;
	struct scscf_cx_client *c = call->c;

	if (status) {
		/* The loop is going away: nobody to tell. */
		call_free(call);
		return;
	}
	c->in_flight--;
	if (call->cmd == CX_CMD_MA) {
		if (scscf_cx_success(&call->maa.result) && !call->maa.have_vector)
			log_warn("MAA without a usable SIP-Auth-Data-Item");
		scscf_cx_maa(c->s, call->ref, &call->maa);
	} else {
		scscf_cx_saa(c->s, call->ref, &call->saa);
	}
	call_free(call);
	if (c->stopping && !c->in_flight)
		loop_shutdown_done(c->s->loop, &c->shutdown);
}

/* --- sending (loop thread) ----------------------------------------------------- */

static int send_request(struct scscf_cx_client *c, struct msg **m, enum cx_command cmd,
			uint64_t ref)
{
	struct cx_call *call = calloc(1, sizeof(*call));
	struct timespec ts;
	int rc;

	if (!call)
		return -ENOMEM;
	call->c = c;
	call->cmd = cmd;
	call->ref = ref;
	call->work.fn = deliver;
	call->work.ctx = call;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(c->timeout_ms / 1000);
	ts.tv_nsec += (long)(c->timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	rc = fd_msg_send_timeout(m, on_answer, call, on_expire, &ts);
	if (rc) {
		free(call);
		return -rc;
	}
	c->in_flight++;
	return 0;
}

static int new_request(struct scscf_cx_client *c, enum cx_command cmd, struct msg **m)
{
	return cx_request_new(&c->dict, cmd, c->hss_realm, c->hss, m);
}

static int cx_mar(void *ctx, const struct scscf_mar *req, uint64_t ref)
{
	struct scscf_cx_client *c = ctx;
	const struct cx_dict *d = &c->dict;
	struct msg *m = NULL;
	struct avp *item;
	int err;

	if (c->stopping)
		return -ESHUTDOWN;
	err = new_request(c, CX_CMD_MA, &m);
	err = err ?: dmsg_add_str(m, d->base[CX_BASE_USER_NAME], req->impi);
	err = err ?: dmsg_add_str(m, d->avp[CX_AVP_PUBLIC_IDENTITY], req->impu);
	err = err ?: dmsg_add_u32(m, d->avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], 1);
	err = err ?: dmsg_add_group(m, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item);
	err = err ?: dmsg_add_str(item, d->avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
				  STR_LIT("Digest-AKAv1-MD5"));
	/* Resynchronisation: RAND of the failed challenge || AUTS (29.229 6.3.11). */
	if (!err && req->resync)
		err = dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHORIZATION], req->rand_auts,
				      sizeof(req->rand_auts));
	err = err ?: dmsg_add_str(m, d->avp[CX_AVP_SERVER_NAME], c->server_name);
	err = err ?: send_request(c, &m, CX_CMD_MA, ref);
	if (m)
		fd_msg_free(m);
	return err;
}

static int cx_sar(void *ctx, const struct scscf_sar *req, uint64_t ref)
{
	struct scscf_cx_client *c = ctx;
	const struct cx_dict *d = &c->dict;
	struct msg *m = NULL;
	int err;

	if (c->stopping)
		return -ESHUTDOWN;
	err = new_request(c, CX_CMD_SA, &m);
	if (!err && req->impi.len)
		err = dmsg_add_str(m, d->base[CX_BASE_USER_NAME], req->impi);
	err = err ?: dmsg_add_str(m, d->avp[CX_AVP_PUBLIC_IDENTITY], req->impu);
	err = err ?: dmsg_add_str(m, d->avp[CX_AVP_SERVER_NAME], c->server_name);
	err = err ?: dmsg_add_i32(m, d->avp[CX_AVP_SERVER_ASSIGNMENT_TYPE], (int32_t)req->type);
	err = err ?: dmsg_add_i32(m, d->avp[CX_AVP_USER_DATA_ALREADY_AVAILABLE],
				  req->data_available ? CX_USER_DATA_ALREADY_AVAILABLE :
							CX_USER_DATA_NOT_AVAILABLE);
	/*
	 * 29.228 6.1.2: the contact of the registration as restoration
	 * information, so the HSS keeps one registration per contact, and
	 * the indication that this flow is an additional one.
	 */
	if (!err && req->contact.len && req->impi.len) {
		struct avp *sri, *ri;

		err = dmsg_add_group(m, d->avp[CX_AVP_SCSCF_RESTORATION_INFO], &sri);
		err = err ?: dmsg_add_str(sri, d->base[CX_BASE_USER_NAME], req->impi);
		err = err ?: dmsg_add_group(sri, d->avp[CX_AVP_RESTORATION_INFO], &ri);
		err = err ?: dmsg_add_str(ri, d->avp[CX_AVP_PATH], req->path);
		err = err ?: dmsg_add_str(ri, d->avp[CX_AVP_CONTACT], req->contact);
	}
	if (!err && req->multiple)
		err = dmsg_add_i32(m, d->avp[CX_AVP_MULTIPLE_REGISTRATION_INDICATION],
				   CX_MULTIPLE_REGISTRATION);
	err = err ?: send_request(c, &m, CX_CMD_SA, ref);
	if (m)
		fd_msg_free(m);
	return err;
}

static const struct scscf_cx_ops scscf_cx_diameter_ops = {
	.mar = cx_mar,
	.sar = cx_sar,
};

/* --- life ---------------------------------------------------------------------- */

static int shutdown_begin(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct scscf_cx_client *c = h->ctx;

	c->stopping = true;
	/* Answers already on their way are still taken (their REGISTERs end). */
	return c->in_flight ? LOOP_SHUTDOWN_PENDING : 0;
}

int scscf_cx_start(struct scscf *s, const char *run_dir, dia_log_fn *log, void *log_ctx,
		   struct scscf_cx_client **out)
{
	const struct scscf_config *cfg = &s->cfg;
	const struct sockaddr *sa = (const struct sockaddr *)&cfg->hss_address.sa;
	struct scscf_cx_client *c = calloc(1, sizeof(*c));
	char addr[INET6_ADDRSTRLEN];
	struct dia_peer peer = { 0 };
	struct dia_config dc = { 0 };
	int err;

	if (!c)
		return -ENOMEM;
	c->s = s;
	if (cfg->cx_client == SCSCF_CX_LOOP) {
		err = scscf_cx_loop_start(s, &c->loop_client);
		if (err) {
			free(c);
			return err;
		}
		s->cx = &scscf_cx_loop_ops;
		s->cx_ctx = c->loop_client;
		*out = c;
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		peer.port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		peer.port = ntohs(in6->sin6_port);
	}
	peer.identity = cfg->hss_identity;
	peer.realm = cfg->hss_realm;
	peer.address = addr;
	peer.connect = true;
	dc.identity = cfg->identity;
	dc.realm = cfg->realm;
	dc.listen = NULL;
	dc.run_dir = run_dir;
	dc.threads = (unsigned)cfg->threads;
	dc.peers = &peer;
	dc.n_peers = 1;
	c->s = s;
	c->hss = str_from_cstr(cfg->hss_identity);
	c->hss_realm = str_from_cstr(cfg->hss_realm);
	c->server_name = str_from_cstr(cfg->server_name);
	c->timeout_ms = cfg->cx_timeout_ms;
	err = dia_engine_start(&dc, &c->dict, log, log_ctx);
	if (err) {
		free(c);
		return err;
	}
	c->shutdown = (struct loop_shutdown_hook){ .name = "Cx requests", .begin = shutdown_begin,
						   .ctx = c };
	loop_on_shutdown(s->loop, &c->shutdown);
	s->cx = &scscf_cx_diameter_ops;
	s->cx_ctx = c;
	*out = c;
	return 0;
}

bool scscf_cx_connected(const struct scscf_cx_client *c)
{
	if (c->loop_client)
		return scscf_cx_loop_connected(c->loop_client);
	return dia_peer_is_open(c->s->cfg.hss_identity);
}

void scscf_cx_status(const struct scscf_cx_client *c, struct json_writer *w)
{
	struct dpeer_stats st;

	json_begin_object(w);
	json_kv_cstring(w, "client", scscf_cx_client_names[c->s->cfg.cx_client]);
	if (c->loop_client) {
		scscf_cx_loop_stats(c->loop_client, &st);
#define COUNTER(name) json_kv_int(w, #name, (int64_t)st.name)
		COUNTER(connects);
		COUNTER(requests);
		COUNTER(answers);
		COUNTER(timeouts);
		COUNTER(in_flight);
		COUNTER(watchdogs_sent);
		COUNTER(watchdogs_answered);
		COUNTER(writes);
#undef COUNTER
	}
	json_end_object(w);
}

void scscf_cx_stop(struct scscf_cx_client *c)
{
	if (!c)
		return;
	if (c->loop_client) {
		scscf_cx_loop_stop(c->loop_client);
		free(c);
		return;
	}
	loop_shutdown_hook_remove(c->s->loop, &c->shutdown);
	free(c);
	dia_engine_stop_last("scscf");
}
