/*
 * cx_path.c - Cx requests from freeDiameter's threads to answers on the
 * wire: hand-off to the loop, batches in one store transaction, answers
 * after the COMMIT.
 */
#define SLOG_COMPONENT "hss"

#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "diameter/dmsg.h"
#include "hss/hss.h"

enum { HOLD_RETRY_MS = 5, HOLD_MAX_MS = 3000 };

static int (*const process_fn[CX_CMD__COUNT])(struct hss *, struct hss_req *) = {
	[CX_CMD_UA] = hss_uar_process,
	[CX_CMD_SA] = hss_sar_process,
	[CX_CMD_LI] = hss_lir_process,
	[CX_CMD_MA] = hss_mar_process,
};

static int (*const encode_fn[CX_CMD__COUNT])(struct hss *, struct hss_req *, struct msg *) = {
	[CX_CMD_SA] = hss_sar_encode,
	[CX_CMD_MA] = hss_mar_encode,
};

static void req_free(struct hss_req *r)
{
	for (size_t i = 0; i < r->n_vectors; i++)
		aka_vector_wipe(&r->vectors[i]);
	if (r->msg)
		fd_msg_free(r->msg);
	arena_destroy(&r->arena);
	free(r);
}

static void send_answer(struct hss *h, struct hss_req *r)
{
	int rc = fd_msg_send(&r->msg, NULL, NULL);

	if (rc)
		log_error("cannot send the %s: %s", cx_command_info[r->cmd].answer, strerror(rc));
	else
		h->answered++;
	req_free(r);
}

/*
 * freeDiameter drops an answer whose peer is not OPEN. A peer that
 * connects again after its connection broke (no DPR: it crashed, the
 * network failed) spends a few watchdog exchanges in REOPEN (RFC 3539
 * section 3.4.1), and freeDiameter hands us its requests meanwhile. Their
 * answers wait here until the peer is OPEN, HOLD_MAX_MS at most.
 */
static bool peer_reopening(struct msg *ans)
{
	struct msg *qry = NULL;
	struct peer_hdr *peer = NULL;
	DiamId_t src = NULL;
	size_t len = 0;

	if (fd_msg_answ_getq(ans, &qry) || !qry || fd_msg_source_get(qry, &src, &len) || !src)
		return false;
	if (fd_peer_getbyid(src, len, 0, &peer) || !peer)
		return false;
	return fd_peer_get_state(peer) == STATE_REOPEN;
}

static void maybe_shutdown_done(struct hss *h)
{
	if (h->stopping && !h->pending && !h->held && !h->shutdown_done) {
		h->shutdown_done = true;
		loop_shutdown_done(h->loop, &h->shutdown);
	}
}

static void deliver(struct hss *h, struct hss_req *r)
{
	uint64_t now = loop_now_ms(h->loop);

	if (!peer_reopening(r->msg) || (r->hold_until && now >= r->hold_until)) {
		send_answer(h, r);
		return;
	}
	if (!r->hold_until) {
		r->hold_until = now + HOLD_MAX_MS;
		h->held_answers++;
	}
	r->next = NULL;
	*h->held_tail = r;
	h->held_tail = &r->next;
	if (!loop_timer_armed(&h->hold_timer))
		loop_timer_arm(h->loop, &h->hold_timer, HOLD_RETRY_MS);
}

/* Retry the held answers, in their order. */
static void run_held(struct loop *loop, struct loop_timer *t)
{
	struct hss *h = t->ctx;
	struct hss_req *r = h->held, *next;

	(void)loop;
	h->held = NULL;
	h->held_tail = &h->held;
	for (; r; r = next) {
		next = r->next;
		deliver(h, r);
	}
	maybe_shutdown_done(h);
}

/*
 * Turn the request into its answer and send it. Error outcomes carry
 * only the result (and Failed-AVP); success carries what process() left.
 */
static void answer(struct hss *h, struct hss_req *r)
{
	struct msg *ans = r->msg;
	bool success = r->experimental ? r->result < 3000 : r->result == DIA_SUCCESS;
	int err;

	err = cx_answer_new(&h->dict, &ans);
	if (err)
		goto fail;
	r->msg = ans;
	if (r->experimental)
		err = cx_set_experimental(&h->dict, ans, r->result);
	else
		err = cx_set_result(&h->dict, ans, r->result);
	if (!err && r->failed_avp) {
		/* Failed-AVP holds an empty instance of the offending AVP
		 * (RFC 6733 section 7.5). */
		struct avp *failed, *inner = NULL;

		err = dmsg_add_group(ans, h->failed_avp_model, &failed);
		if (!err)
			err = -fd_msg_avp_new(r->failed_avp, 0, &inner);
		if (!err) {
			union avp_value v;
			struct dict_avp_data data;

			memset(&v, 0, sizeof(v));
			fd_dict_getval(r->failed_avp, &data);
			if (data.avp_basetype == AVP_TYPE_OCTETSTRING)
				v.os.data = (uint8_t *)"";
			if (r->failed_value) {
				struct avp_hdr *src = NULL;

				/* The offending value as received (RFC 6733 7.5). */
				if (fd_msg_avp_hdr(r->failed_value, &src) == 0 && src->avp_value)
					v = *src->avp_value;
			}
			if (data.avp_basetype != AVP_TYPE_GROUPED)
				err = -fd_msg_avp_setvalue(inner, &v);
			if (!err)
				err = -fd_msg_avp_add(failed, MSG_BRW_LAST_CHILD, inner);
			if (err)
				fd_msg_free(inner);
		}
	}
	if (!err)
		err = hss_add_common(h, r, ans);
	if (!err && success && encode_fn[r->cmd])
		err = encode_fn[r->cmd](h, r, ans);
	if (err)
		goto fail;
	deliver(h, r);
	return;
fail:
	log_error("cannot build the %s: %s", cx_command_info[r->cmd].answer, strerror(-err));
	req_free(r);
}

/* Everything pending, in one store transaction; answers after COMMIT. */
static void run_batch(struct loop *loop, struct loop_timer *t)
{
	struct hss *h = t->ctx;
	struct hss_req *batch = h->pending, *last = NULL, *r, *next;
	size_t n = 0;
	int err;

	/* Take at most batch_max; the rest (from r on) waits for the next
	 * round. The queue's tail moves back to its head when nothing is
	 * left, or it would point into this batch, freed below. */
	for (r = batch; r && n < (size_t)h->cfg.batch_max; r = r->next) {
		last = r;
		n++;
	}
	if (last)
		last->next = NULL;
	h->pending = r;
	if (!r)
		h->pending_tail = &h->pending;
	h->n_pending -= n;
	if (h->pending)
		loop_timer_arm(loop, &h->batch_timer, 0);

	err = store_begin(h->store);
	for (r = batch; r && !err; r = r->next)
		err = process_fn[r->cmd](h, r);
	if (!err) {
		err = store_commit(h->store);
	} else {
		log_error("store failure, %zu request(s) fail: %s", n, strerror(-err));
		store_rollback(h->store);
	}
	if (err) {
		/* Nothing of this batch is on disk: no vector may leave. */
		for (r = batch; r; r = r->next) {
			for (size_t i = 0; i < r->n_vectors; i++)
				aka_vector_wipe(&r->vectors[i]);
			r->n_vectors = 0;
			r->failed_avp = NULL;
			r->failed_value = NULL;
			r->server_name = r->user_name = r->public_identity = STR_NULL;
			r->capabilities = false;
			hss_result(r, DIA_UNABLE_TO_COMPLY);
		}
	}
	h->batches++;
	for (r = batch; r; r = next) {
		next = r->next;
		answer(h, r);
	}
	maybe_shutdown_done(h);
}

/* On the loop thread: queue a request handed over by freeDiameter. */
static void take_request(void *ctx, int status)
{
	struct hss_req *r = ctx;
	struct hss *h = r->hss;

	if (status) {
		/* The loop is going away: drop the request unanswered. */
		req_free(r);
		return;
	}
	if (h->stopping) {
		hss_result(r, DIA_TOO_BUSY);
		answer(h, r);
		return;
	}
	*h->pending_tail = r;
	h->pending_tail = &r->next;
	h->n_pending++;
	if (!loop_timer_armed(&h->batch_timer))
		loop_timer_arm(h->loop, &h->batch_timer, 0);
}

/*
 * freeDiameter's dispatch thread: take the request and hand it to the
 * loop. Nothing here touches the store or HSS state.
 */
static int on_request(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
		      enum disp_action *act)
{
	struct hss *h = opaque;
	struct msg_hdr *hdr = NULL;
	struct hss_req *r;
	int cmd = -1;

	if (fd_msg_hdr(*msg, &hdr) == 0) {
		for (int i = 0; i < CX_CMD__COUNT; i++) {
			if (cx_command_info[i].code == hdr->msg_code && process_fn[i])
				cmd = i;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r || cmd < 0) {
		free(r);
		/* freeDiameter answers DIAMETER_UNABLE_TO_COMPLY for us. */
		return ENOMEM;
	}
	r->hss = h;
	r->cmd = (enum cx_command)cmd;
	r->msg = *msg;
	arena_init(&r->arena, 0, ARENA_WIPE);
	r->work.fn = take_request;
	r->work.ctx = r;
	*msg = NULL;
	*act = DISP_ACT_CONT;
	loop_post(h->loop, &r->work);
	return 0;
}

static int shutdown_begin(struct loop *loop, struct loop_shutdown_hook *hook)
{
	struct hss *h = hook->ctx;

	h->stopping = true;
	/* Requests already queued are still answered (their batch runs). */
	if (!h->pending && !h->held) {
		h->shutdown_done = true;
		return 0;
	}
	return LOOP_SHUTDOWN_PENDING;
}

int hss_cx_start(struct hss *h)
{
	int rc;

	h->pending = NULL;
	h->pending_tail = &h->pending;
	h->held = NULL;
	h->held_tail = &h->held;
	loop_timer_init(&h->batch_timer, run_batch, h);
	loop_timer_init(&h->hold_timer, run_held, h);
	h->shutdown = (struct loop_shutdown_hook){ .name = "hss Cx requests",
						   .begin = shutdown_begin, .ctx = h };
	loop_on_shutdown(h->loop, &h->shutdown);
	h->failed_avp_model = h->dict.base[CX_BASE_FAILED_AVP];
	for (int i = 0; i < CX_CMD__COUNT; i++) {
		struct disp_when when = { .app = h->dict.app, .command = h->dict.request[i] };

		if (!process_fn[i])
			continue;
		rc = fd_disp_register(on_request, DISP_HOW_CC, &when, h, &h->disp[i]);
		if (rc) {
			log_error("cannot register for %s: %s", cx_command_info[i].request,
				  strerror(rc));
			return -rc;
		}
	}
	return 0;
}

void hss_cx_stop(struct hss *h)
{
	for (int i = 0; i < CX_CMD__COUNT; i++) {
		if (h->disp[i])
			fd_disp_unregister(&h->disp[i], NULL);
	}
	if (h->loop) {
		loop_timer_cancel(h->loop, &h->batch_timer);
		loop_timer_cancel(h->loop, &h->hold_timer);
	}
	while (h->held) {
		struct hss_req *r = h->held;

		h->held = r->next;
		req_free(r);
	}
	while (h->pending) {
		struct hss_req *r = h->pending;

		h->pending = r->next;
		req_free(r);
	}
}

/* --- helpers shared by the commands ---------------------------------------- */

int hss_find_impi(struct hss *h, struct hss_req *r, struct str impi, struct store_impi *impi_out,
		  struct store_subscription *sub)
{
	int err = store_impi_lookup(h->store, impi, &r->arena, impi_out, sub);

	if (err == -ENOENT) {
		hss_experimental(r, CX_EXP_ERROR_USER_UNKNOWN);
		return 1;
	}
	return err;
}

int hss_find_impu(struct hss *h, struct hss_req *r, struct str impu, struct store_impu *out)
{
	int err = store_impu_lookup(h->store, impu, &r->arena, out);

	if (err == -ENOENT) {
		hss_experimental(r, CX_EXP_ERROR_USER_UNKNOWN);
		return 1;
	}
	return err;
}

int hss_invalid(struct hss *h, struct hss_req *r, struct dict_object *model)
{
	hss_result(r, DIA_INVALID_AVP_VALUE);
	r->failed_avp = model;
	r->failed_value = NULL;
	dmsg_find(r->msg, model, NULL, &r->failed_value);
	return 0;
}

bool hss_irs_has_unbarred(const struct store_impu *impus, size_t n, uint32_t irs)
{
	for (size_t i = 0; i < n; i++) {
		if (impus[i].irs == irs && !impus[i].barred)
			return true;
	}
	return false;
}

int hss_add_capabilities(struct hss *h, struct msg *ans)
{
	struct avp *caps;
	int err = dmsg_add_group(ans, h->dict.avp[CX_AVP_SERVER_CAPABILITIES], &caps);

	for (size_t i = 0; !err && i < h->cfg.scscf_names.n; i++)
		err = dmsg_add_str(caps, h->dict.avp[CX_AVP_SERVER_NAME],
				   str_from_cstr(h->cfg.scscf_names.v[i]));
	return err;
}

int hss_add_common(struct hss *h, struct hss_req *r, struct msg *ans)
{
	int err = 0;

	if (r->user_name.len)
		err = dmsg_add_str(ans, h->dict.base[CX_BASE_USER_NAME], r->user_name);
	if (!err && r->public_identity.len)
		err = dmsg_add_str(ans, h->dict.avp[CX_AVP_PUBLIC_IDENTITY], r->public_identity);
	if (!err && r->server_name.len)
		err = dmsg_add_str(ans, h->dict.avp[CX_AVP_SERVER_NAME], r->server_name);
	if (!err && r->capabilities)
		err = hss_add_capabilities(h, ans);
	return err;
}
