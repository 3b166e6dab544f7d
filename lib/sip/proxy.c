/*
 * proxy.c - the stateful proxy core (RFC 3261 16).
 *
 * One context per forwarded request: its server transaction, a branch per
 * target (a client transaction, its Timer C, the final response it got),
 * and an arena for the responses kept for best-response selection. The
 * context id doubles as the ref of every transaction it owns, so a late
 * callback (a 2xx retransmission after the context ended) finds nothing
 * and is forwarded statelessly.
 */
#define SLOG_COMPONENT "sip"
#include "sip/proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "sip/table.h"

struct px_ctx;

struct px_branch {
	struct px_ctx *c;
	sip_txn_id ctid;
	uint16_t status;      /* final status (received or stood in for), 0 = pending */
	bool provisional;     /* a provisional arrived */
	bool swallowed;       /* the component kept the final response */
	struct str final;     /* the final response to relay, our Via removed */
	struct loop_timer timer_c;
};

struct px_ctx {
	uint64_t id;
	struct sip_proxy *px;
	sip_txn_id stx;
	uint64_t user;        /* sip_proxy_req.user */
	bool invite;
	bool final_sent;
	unsigned final_status;
	unsigned n, n_done;
	struct px_branch b[SIP_PROXY_MAX_BRANCHES];
	struct arena arena;
};

struct sip_proxy {
	struct sip_stack *st;
	const struct sip_proxy_ops *ops;
	void *ctx;
	struct sip_slots ctxs;
	struct sip_msg msg;  /* the request being forwarded, when the component gave none */
	struct sip_msg resp; /* a stored response, re-parsed for aggregation */
	struct buf out;
};

static const struct sip_client_ops branch_ops;

/* ------------------------------------------------------------------ */
/* Lifetime                                                           */

int sip_proxy_create(struct sip_proxy **out, struct sip_stack *st, const struct sip_proxy_ops *ops,
		     void *ctx)
{
	struct sip_proxy *px = calloc(1, sizeof(*px));

	if (!px)
		return -ENOMEM;
	px->st = st;
	px->ops = ops;
	px->ctx = ctx;
	sip_slots_init(&px->ctxs);
	sip_msg_init(&px->msg);
	sip_msg_init(&px->resp);
	buf_init(&px->out);
	*out = px;
	return 0;
}

static void ctx_free(struct px_ctx *c)
{
	struct sip_proxy *px = c->px;

	for (unsigned i = 0; i < c->n; i++) {
		loop_timer_cancel(sip_stack_loop(px->st), &c->b[i].timer_c);
		if (!c->b[i].status)
			sip_client_txn_detach(px->st, c->b[i].ctid);
	}
	sip_slots_remove(&px->ctxs, c->id);
	arena_destroy(&c->arena);
	free(c);
}

void sip_proxy_destroy(struct sip_proxy *px)
{
	uint32_t pos = 0;
	struct px_ctx *c;

	if (!px)
		return;
	while ((c = sip_slots_next(&px->ctxs, &pos)))
		ctx_free(c);
	sip_slots_free(&px->ctxs);
	buf_free(&px->out);
	free(px);
}

unsigned sip_proxy_live(const struct sip_proxy *px)
{
	return px->ctxs.used;
}

/* ------------------------------------------------------------------ */
/* Routing helpers                                                    */

/* The URI of a Route / Record-Route value (name-addr or addr-spec). */
static int route_uri(struct str value, struct sip_addr *addr, struct sip_uri *uri)
{
	int rc = sip_addr_parse(value, addr, NULL);

	if (rc == 0)
		rc = sip_uri_parse(addr->uri, uri, NULL);
	return rc;
}

/* Where a URI (a Route or the Request-URI) sends the request. */
static int next_hop(struct sip_proxy *px, struct str uri_text, struct sip_flow *dest)
{
	struct sip_uri uri;
	int rc = sip_uri_parse(uri_text, &uri, NULL);

	if (rc == 0)
		rc = sip_stack_resolve_uri(px->st, &uri, dest);
	return rc;
}

/*
 * 16.4 Route pre-processing, as edits on the common part:
 *   - the Request-URI is one of ours (put in a Record-Route, and the
 *     previous hop was a strict router): the last Route value becomes the
 *     Request-URI and leaves the Route set;
 *   - the topmost Route names us: it is removed.
 * *first_route gets the first Route entry left, or NULL.
 */
static int preprocess(struct sip_proxy *px, const struct sip_msg *m, struct sip_edit *e,
		      const struct sip_hdr **first_route, struct str *ruri)
{
	const struct sip_hdr *h, *last = NULL;
	const struct sip_uri *ru;
	struct sip_addr addr;
	struct sip_uri uri;
	int rc = 0;

	*ruri = m->ruri;
	*first_route = sip_msg_hdr(m, SIP_HDR_ROUTE);
	for (h = *first_route; h; h = sip_msg_hdr_next(m, h))
		last = h;
	if (last && sip_msg_ruri((struct sip_msg *)m, &ru, NULL) == 0 &&
	    sip_stack_is_local_uri(px->st, ru)) {
		rc = route_uri(last->value, &addr, &uri);
		if (rc < 0)
			goto out;
		*ruri = addr.uri;
		sip_edit_set_ruri(e, addr.uri);
		rc = sip_edit_remove(e, last);
		if (rc < 0)
			goto out;
		if (last == *first_route)
			*first_route = NULL;
	}
	h = *first_route;
	if (h && route_uri(h->value, &addr, &uri) == 0 && sip_stack_is_local_uri(px->st, &uri)) {
		rc = sip_edit_remove(e, h);
		if (rc < 0)
			goto out;
		*first_route = sip_msg_hdr_next(m, h);
		if (*first_route == last && e->ruri.s)
			*first_route = NULL; /* already moved into the Request-URI */
	}
out:
	return rc;
}

/* ------------------------------------------------------------------ */
/* Responses                                                          */

/* Send a response whose Via is already ours-less to where its topmost Via says (18.2.2). */
static int send_by_via(struct sip_proxy *px, struct str resp)
{
	struct sip_msg *m = &px->resp;
	const struct sip_via *via;
	struct sip_flow dest, none;
	int rc;

	rc = sip_parse(m, resp.s, resp.len, SIP_FRAME_DATAGRAM, NULL, NULL);
	if (rc < 0)
		goto out;
	rc = sip_msg_via(m, &via, NULL);
	if (rc < 0)
		goto out;
	sip_flow_init(&none);
	rc = sip_via_reply_flow(via, &none, via->transport_id != SIP_TRANSPORT_UDP, &dest);
	if (rc < 0)
		goto out;
	dest.proto = via->transport_id;
	rc = sip_stack_send_raw(px->st, &dest, resp);
out:
	return rc;
}

/* Relay upstream over the server transaction, or by Via if it will not take a 2xx. */
static void send_upstream(struct px_ctx *c, struct str resp)
{
	struct sip_proxy *px = c->px;
	int rc = sip_server_txn_send(px->st, c->stx, resp);

	/* A 2xx to INVITE after the server transaction moved on still goes up (16.7 step 5). */
	if ((rc == -ENOENT || rc == -EPROTO) && resp.len > 9 && resp.s[8] == '2' && c->invite)
		rc = send_by_via(px, resp);
	if (rc < 0)
		log_info("proxy: response not relayed: %s", strerror(-rc));
}

/*
 * Our Via off, the component's edits on, printed into px->out. Returns the
 * verdict, or -errno.
 */
static int edit_response(struct px_ctx *c, unsigned branch, struct sip_rx *rx)
{
	struct sip_proxy *px = c->px;
	struct sip_edit e;
	int v = SIP_PROXY_RELAY, rc;

	sip_edit_init(&e, rx->msg);
	rc = sip_edit_remove(&e, sip_msg_hdr(rx->msg, SIP_HDR_VIA));
	if (rc < 0)
		return rc;
	if (px->ops && px->ops->response)
		v = px->ops->response(px, px->ctx, c->id, branch, rx, &e);
	if (v == SIP_PROXY_SWALLOW)
		return v;
	buf_reset(&px->out);
	rc = sip_edit_print(&e, &px->out);
	return rc < 0 ? rc : v;
}

/* The status line of a kept response with another code (503 -> 500, 16.7 step 6). */
static void print_recoded(struct buf *b, struct str resp, unsigned code)
{
	const char *eol = memmem(resp.s, resp.len, "\r\n", 2);

	sip_print_status_line(b, code, STR_NULL);
	if (eol)
		buf_put(b, eol + 2, resp.len - (size_t)(eol + 2 - resp.s));
}

/* A branch whose final response is one it sent and we may relay. */
static bool answered(const struct px_branch *b)
{
	return b->final.s != NULL && !b->swallowed;
}

/*
 * 16.7 step 6: 6xx first, else the lowest class; among equals a response
 * a branch sent before a code the core stood in with (408 for a timeout,
 * 503 for a transport error, 500 for a swallowed response), then the
 * first.
 */
static struct px_branch *best(struct px_ctx *c)
{
	struct px_branch *pick = NULL;

	for (unsigned i = 0; i < c->n; i++) {
		struct px_branch *b = &c->b[i];

		if (b->status < 300)
			continue;
		if (!pick)
			pick = b;
		else if (pick->status < 600 && (b->status >= 600 || b->status / 100 < pick->status / 100))
			pick = b;
		else if (b->status / 100 == pick->status / 100 && answered(b) && !answered(pick))
			pick = b;
	}
	return pick;
}

/*
 * 16.7 step 7: a 401 / 407 carries the challenges of every 401 / 407
 * branch. `b` is the chosen response already in px->out.
 */
static void aggregate_challenges(struct px_ctx *c, struct px_branch *chosen)
{
	struct sip_proxy *px = c->px;
	struct str values[SIP_PROXY_MAX_BRANCHES * 2];
	unsigned n = 0;
	enum sip_hdr_id id = chosen->status == 401 ? SIP_HDR_WWW_AUTHENTICATE
						   : SIP_HDR_PROXY_AUTHENTICATE;
	struct buf add;

	for (unsigned i = 0; i < c->n; i++) {
		struct px_branch *b = &c->b[i];

		if (b == chosen || (b->status != 401 && b->status != 407) || !b->final.s)
			continue;
		if (sip_parse(&px->resp, b->final.s, b->final.len, SIP_FRAME_DATAGRAM, NULL, NULL) < 0)
			continue;
		sip_msg_foreach(&px->resp, id, h) if (n < sizeof(values) / sizeof(values[0]))
			values[n++] = arena_str(&c->arena, h->value);
	}
	if (!n)
		return;
	/* Insert them after the status line of the chosen response. */
	buf_init(&add);
	{
		const char *eol = memmem(px->out.p, px->out.len, "\r\n", 2);
		size_t line = eol ? (size_t)(eol - px->out.p) + 2 : 0;

		buf_put(&add, px->out.p, line);
		for (unsigned i = 0; i < n; i++)
			if (values[i].s)
				sip_print_hdr(&add, id, values[i]);
		buf_put(&add, px->out.p + line, px->out.len - line);
	}
	if (buf_error(&add) == 0) {
		buf_reset(&px->out);
		buf_put(&px->out, add.p, add.len);
	}
	buf_free(&add);
}

static void ctx_done(struct px_ctx *c)
{
	struct sip_proxy *px = c->px;
	uint64_t id = c->id;
	unsigned status = c->final_status;

	ctx_free(c);
	if (px->ops && px->ops->done)
		px->ops->done(px, px->ctx, id, status);
}

/*
 * The core's choice for the best branch b (may be NULL): its status, 503
 * as 500 (16.7 step 6), or 0 for nothing: RFC 4320 4.2 forbids a 408 to a
 * non-INVITE (the client times out itself).
 */
static unsigned core_choice(const struct px_ctx *c, const struct px_branch *b)
{
	if (!b || (b->status == 408 && !c->invite))
		return 0;
	return b->status == 503 ? 500 : b->status;
}

/* The component's word on the final status: its code, or `code` unchanged. */
static unsigned ask_component(struct px_ctx *c, const struct px_branch *b, unsigned code)
{
	struct sip_proxy *px = c->px;
	struct sip_proxy_outcome o = {
		.user = c->user,
		.invite = c->invite,
		.status = code,
		.answered = code && answered(b),
		.n_branches = c->n,
	};
	unsigned want;

	if (!px->ops || !px->ops->final)
		return code;
	for (unsigned i = 0; i < c->n; i++) {
		const struct px_branch *x = &c->b[i];

		if (answered(x))
			o.n_answered++;
		else if (x->swallowed)
			o.n_swallowed++;
		else if (x->status == 408)
			o.n_timeout++;
		else
			o.n_unreachable++;
	}
	want = px->ops->final(px, px->ctx, c->id, &o);
	if (want == 0)
		return code;
	if (want < 300 || want > 699) {
		log_error("proxy: final status %u from the component ignored (not 300..699)", want);
		return code;
	}
	return want;
}

/* Every branch has its final and no 2xx went up: send the best one (16.7 step 6). */
static void send_final(struct px_ctx *c)
{
	struct sip_proxy *px = c->px;
	struct px_branch *b = best(c);
	unsigned code = ask_component(c, b, core_choice(c, b));

	if (!code) {
		/*
		 * Nothing goes up (RFC 4320 4.2): the server transaction, which
		 * has no timer before its final response, goes now.
		 */
		c->final_status = 0;
		sip_server_txn_abandon(px->st, c->stx);
		return;
	}
	buf_reset(&px->out);
	if (b && answered(b) && code == core_choice(c, b)) {
		if (code != b->status)
			print_recoded(&px->out, b->final, code);
		else
			buf_put_str(&px->out, b->final);
		if (code == 401 || code == 407)
			aggregate_challenges(c, b);
	} else {
		sip_server_txn_response_start(px->st, c->stx, &px->out, code, STR_NULL);
		sip_print_body(&px->out, STR_NULL, STR_NULL);
	}
	c->final_status = code;
	if (buf_error(&px->out) == 0)
		send_upstream(c, buf_str(&px->out));
}

/* Every branch has its final: send the best one, unless something went up already. */
static void maybe_finish(struct px_ctx *c)
{
	if (c->n_done < c->n)
		return;
	if (!c->final_sent) {
		c->final_sent = true;
		send_final(c);
	}
	ctx_done(c);
}

/* 16.7 step 10 (2xx) and step 5 (6xx): CANCEL what is still pending. */
static void cancel_pending(struct px_ctx *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!c->b[i].status && c->invite)
			sip_client_txn_cancel(c->px->st, c->b[i].ctid, NULL);
}

static void branch_final(struct px_branch *b, unsigned status)
{
	struct px_ctx *c = b->c;

	if (b->status)
		return;
	b->status = (uint16_t)status;
	c->n_done++;
	loop_timer_cancel(sip_stack_loop(c->px->st), &b->timer_c);
}

static struct px_branch *find_branch(struct px_ctx *c, sip_txn_id id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->b[i].ctid == id)
			return &c->b[i];
	return NULL;
}

/* A response no context owns any more: a 2xx to INVITE goes on by Via (16.7 step 5). */
static void late_response(struct sip_proxy *px, struct sip_rx *rx)
{
	const struct sip_cseq *cseq;

	if (rx->msg->status >= 200 && rx->msg->status < 300 &&
	    sip_msg_cseq(rx->msg, &cseq, NULL) == 0 && cseq->method_id == SIP_METHOD_INVITE)
		sip_proxy_forward_stateless(px, rx);
}

static void on_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			struct sip_rx *rx)
{
	struct sip_proxy *px = ctx;
	struct px_ctx *c = sip_slots_get(&px->ctxs, ref);
	unsigned status = rx->msg->status;
	struct px_branch *b = c ? find_branch(c, id) : NULL;
	unsigned idx;
	int v;

	if (!c) {
		late_response(px, rx);
		return;
	}
	if (!b)
		return; /* the answer to a CANCEL we sent: nothing to relay */
	idx = (unsigned)(b - c->b);
	if (status < 200) {
		const struct sip_timers *tm = &sip_stack_config(st)->timers;

		b->provisional = true;
		/* 16.7 step 2: a provisional restarts Timer C. */
		if (c->invite)
			loop_timer_arm(sip_stack_loop(st), &b->timer_c, tm->tc);
		if (status == 100 || c->final_sent)
			return;
		v = edit_response(c, idx, rx);
		if (v == SIP_PROXY_RELAY)
			send_upstream(c, buf_str(&px->out));
		return;
	}
	if (b->status && !(status < 300 && c->invite))
		return; /* a second final on one branch: the client transaction absorbs these */
	v = edit_response(c, idx, rx);
	if (status < 300) {
		/* 16.7 step 5: every 2xx goes up at once (to INVITE even after a final). */
		if (v == SIP_PROXY_RELAY && (!c->final_sent || c->invite)) {
			send_upstream(c, buf_str(&px->out));
			if (!c->final_sent)
				c->final_status = status;
			c->final_sent = true;
		}
		branch_final(b, status);
		if (c->invite)
			cancel_pending(c);
		maybe_finish(c);
		return;
	}
	if (v == SIP_PROXY_RELAY) {
		b->final = arena_str(&c->arena, buf_str(&px->out));
	} else {
		b->swallowed = true;
		status = 500;
	}
	branch_final(b, status);
	if (status >= 600)
		cancel_pending(c);
	maybe_finish(c);
}

static void on_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct sip_proxy *px = ctx;
	struct px_ctx *c = sip_slots_get(&px->ctxs, ref);
	struct px_branch *b = c ? find_branch(c, id) : NULL;

	if (!b)
		return;
	/* 16.8 / 16.9: a timeout counts as 408, a transport error as 503. */
	branch_final(b, err == -ETIMEDOUT ? 408 : 503);
	maybe_finish(c);
}

static const struct sip_client_ops branch_ops = {
	.response = on_response,
	.failure = on_failure,
};

/* 16.8: Timer C. */
static void timer_c(struct loop *loop, struct loop_timer *t)
{
	struct px_branch *b = t->ctx;
	struct px_ctx *c = b->c;

	if (b->provisional) {
		log_info("proxy: Timer C on a branch that went quiet: CANCEL");
		sip_client_txn_cancel(c->px->st, b->ctid, NULL);
		return;
	}
	sip_client_txn_detach(c->px->st, b->ctid);
	branch_final(b, 408);
	maybe_finish(c);
}

/* ------------------------------------------------------------------ */
/* Forwarding                                                         */

/* Copy the common edits and add one target's (16.6 steps 1-6). */
static int branch_request(struct sip_proxy *px, const struct sip_msg *m, const struct sip_edit *base,
			  const struct sip_hdr *first_route, struct str ruri,
			  const struct sip_proxy_req *req, const struct sip_proxy_target *t,
			  struct sip_flow *dest, struct arena *a)
{
	struct sip_edit e = *base;
	const struct sip_hdr *mf = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	const struct sip_hdr *rr = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE);
	struct str hop = STR_NULL;
	uint32_t hops = 70;
	struct sip_addr addr;
	struct sip_uri uri;
	int rc = 0;

	/* Step 1-2: the target becomes the Request-URI. */
	if (t->uri.len) {
		sip_edit_set_ruri(&e, t->uri);
		ruri = t->uri;
	}
	/* Step 3: Max-Forwards. */
	if (mf) {
		sip_msg_max_forwards((struct sip_msg *)m, &hops, NULL);
		rc = sip_edit_replace(&e, mf, str_from_cstr(arena_printf(a, "%u", hops - 1)));
	} else {
		rc = sip_edit_insert(&e, SIP_EDIT_TOP, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	}
	/* Step 4: Record-Route on top of the others. */
	if (rc == 0 && req->record_route.len)
		rc = sip_edit_insert(&e, rr ? (int)sip_msg_hdr_index(m, rr) : SIP_EDIT_TOP,
				     SIP_HDR_RECORD_ROUTE, req->record_route);
	/* Step 5-6: pre-loaded Route values go above what is left of the Route set. */
	for (unsigned i = 0; rc == 0 && i < t->n_routes; i++)
		rc = sip_edit_insert(&e, first_route ? (int)sip_msg_hdr_index(m, first_route)
						     : SIP_EDIT_TOP,
				     SIP_HDR_ROUTE, t->routes[i]);
	if (rc < 0)
		goto out;
	/* Step 7: the next hop. */
	if (t->n_routes)
		hop = t->routes[0];
	else if (first_route)
		hop = first_route->value;
	if (hop.len) {
		rc = route_uri(hop, &addr, &uri);
		if (rc < 0)
			goto out;
		if (!uri.lr && !t->n_routes && first_route) {
			/* A strict router next (16.6 step 6): it gets the request
			 * with itself as Request-URI, the old one last in Route. */
			rc = sip_edit_remove(&e, first_route);
			if (rc == 0)
				rc = sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_ROUTE,
						     str_from_cstr(arena_printf(a, "<%.*s>",
										STR_FMT(ruri))));
			sip_edit_set_ruri(&e, addr.uri);
			if (rc < 0)
				goto out;
		}
		hop = addr.uri;
	} else {
		hop = ruri;
	}
	if (t->flow.proto != SIP_TRANSPORT_OTHER)
		*dest = t->flow;
	else
		rc = next_hop(px, hop, dest);
	if (rc < 0)
		goto out;
	buf_reset(&px->out);
	rc = sip_edit_print(&e, &px->out);
out:
	return rc;
}

int sip_proxy_forward(struct sip_proxy *px, const struct sip_proxy_req *req, uint64_t *ref)
{
	const struct sip_timers *tm = &sip_stack_config(px->st)->timers;
	const struct sip_msg *m = req->msg;
	const struct sip_hdr *first_route;
	struct sip_edit base;
	struct str raw, ruri;
	struct px_ctx *c = NULL;
	uint32_t hops;
	int rc;

	if (!req->n_targets || req->n_targets > SIP_PROXY_MAX_BRANCHES || (req->edit && !req->msg)) {
		rc = -EINVAL;
		goto out;
	}
	rc = sip_server_txn_request(px->st, req->stx, &raw);
	if (rc < 0) {
		rc = -EINVAL;
		goto out;
	}
	if (!m) {
		rc = sip_parse(&px->msg, raw.s, raw.len, SIP_FRAME_DATAGRAM, NULL, NULL);
		if (rc < 0)
			goto out;
		m = &px->msg;
	}
	if (req->edit)
		base = *req->edit;
	else
		sip_edit_init(&base, m);
	/* 16.3 step 3 */
	if (sip_msg_max_forwards((struct sip_msg *)m, &hops, NULL) == 0 && hops == 0) {
		sip_server_txn_respond(px->st, req->stx, 483, STR_NULL);
		rc = -ELOOP;
		goto out;
	}
	rc = -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->id = sip_slots_add(&px->ctxs, c);
	if (!c->id) {
		free(c);
		c = NULL;
		goto out;
	}
	c->px = px;
	c->stx = req->stx;
	c->user = req->user;
	c->invite = m->method == SIP_METHOD_INVITE;
	arena_init(&c->arena, 2048, 0);
	sip_server_txn_set_ref(px->st, req->stx, c->id);
	if (c->invite)
		sip_server_txn_respond(px->st, req->stx, 100, STR_NULL); /* 16.2 */
	rc = preprocess(px, m, &base, &first_route, &ruri);
	if (rc < 0) {
		sip_server_txn_respond(px->st, req->stx, 400, STR_LIT("Bad Route"));
		ctx_free(c);
		goto out;
	}
	for (unsigned i = 0; i < req->n_targets; i++) {
		struct px_branch *b = &c->b[c->n++];
		struct sip_client_req cr = { .ops = &branch_ops, .ctx = px, .ref = c->id };
		b->c = c;
		loop_timer_init(&b->timer_c, timer_c, b);
		rc = branch_request(px, m, &base, first_route, ruri, req, &req->targets[i], &cr.dest,
				    &c->arena);
		if (rc == 0) {
			cr.msg = buf_str(&px->out);
			rc = sip_client_txn_start(px->st, &cr, &b->ctid);
		}
		if (rc < 0) {
			log_info("proxy: branch %u (%.*s) not started: %s", i,
				 STR_FMT(req->targets[i].uri.len ? req->targets[i].uri : m->ruri),
				 strerror(-rc));
			branch_final(b, 503); /* 16.9 */
			continue;
		}
		if (c->invite)
			loop_timer_arm(sip_stack_loop(px->st), &b->timer_c, tm->tc);
	}
	if (ref)
		*ref = c->id;
	rc = c->n_done == c->n ? -ENETUNREACH : 0;
	maybe_finish(c);
out:
	return rc;
}

int sip_proxy_cancel(struct sip_proxy *px, uint64_t ref)
{
	struct px_ctx *c = sip_slots_get(&px->ctxs, ref);

	if (!c)
		return -ENOENT;
	/* 16.10: CANCEL every pending branch; their 487s make the final answer. */
	for (unsigned i = 0; i < c->n; i++)
		if (!c->b[i].status)
			sip_client_txn_cancel(px->st, c->b[i].ctid, NULL);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stateless forwarding (16.11)                                       */

static int forward_response(struct sip_proxy *px, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	const struct sip_via *mine;
	struct sip_uri us = { .scheme = SIP_URI_SIP };
	struct sip_edit e;
	int rc;

	rc = sip_msg_via(m, &mine, NULL);
	if (rc < 0 || sip_msg_hdr_count(m, SIP_HDR_VIA) < 2) {
		rc = -EINVAL;
		goto out;
	}
	/* Only what came through us goes on (18.1.2). */
	us.host = mine->host;
	us.has_port = mine->has_port;
	us.port = mine->port;
	if (!sip_stack_is_local_uri(px->st, &us)) {
		rc = -EINVAL;
		goto out;
	}
	sip_edit_init(&e, m);
	rc = sip_edit_remove(&e, sip_msg_hdr(m, SIP_HDR_VIA));
	if (rc < 0)
		goto out;
	buf_reset(&px->out);
	rc = sip_edit_print(&e, &px->out);
	if (rc == 0)
		rc = send_by_via(px, buf_str(&px->out));
out:
	return rc;
}

static int forward_request(struct sip_proxy *px, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	const struct sip_hdr *first_route;
	struct sip_proxy_target t = { 0 };
	struct sip_proxy_req req = { 0 };
	struct sip_flow dest;
	struct sip_edit base;
	struct arena a;
	struct str ruri;
	uint32_t hops;
	int rc;

	arena_init(&a, 512, 0);
	if (sip_msg_max_forwards(m, &hops, NULL) == 0 && hops == 0) {
		rc = -ELOOP;
		goto out;
	}
	sip_edit_init(&base, m);
	rc = preprocess(px, m, &base, &first_route, &ruri);
	if (rc == 0)
		rc = branch_request(px, m, &base, first_route, ruri, &req, &t, &dest, &a);
	if (rc == 0) {
		struct buf copy;

		/* send_stateless builds into its own buffer; px->out is ours. */
		buf_init(&copy);
		buf_put_str(&copy, buf_str(&px->out));
		rc = buf_error(&copy) ? buf_error(&copy)
				      : sip_stack_send_stateless(px->st, buf_str(&copy), &dest, STR_NULL);
		buf_free(&copy);
	}
out:
	arena_destroy(&a);
	return rc;
}

int sip_proxy_forward_stateless(struct sip_proxy *px, struct sip_rx *rx)
{
	int rc;

	if (rx->msg->kind == SIP_MSG_RESPONSE)
		rc = forward_response(px, rx);
	else if (rx->msg->kind == SIP_MSG_REQUEST)
		rc = forward_request(px, rx);
	else
		rc = -EINVAL;
	if (rc < 0)
		log_info("proxy: stateless forward failed: %s", strerror(-rc));
	return rc;
}
