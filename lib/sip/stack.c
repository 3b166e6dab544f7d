/*
 * stack.c - the stack: what arrives from the transports goes through the
 * checks every element makes, then to a transaction or to the TU.
 */
#define SLOG_COMPONENT "sip"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/print.h"
#include "sip/stack_int.h"

/* ------------------------------------------------------------------ */
/* Configuration                                                      */

void sip_stack_config_default(struct sip_stack_config *c)
{
	memset(c, 0, sizeof(*c));
	c->timers = sip_timers_rfc3261;
	sip_tp_config_default(&c->tp);
	c->rport = true;
	c->max_txns = 1u << 20;
	c->ids = sip_ids_default;
	c->server_name = "simreg";
}

int sip_config_apply(const struct sip_config *sc, struct sip_stack_config *out, const char **why)
{
	struct sip_timers t = out->timers;
	int rc;

	t.t1 = (uint32_t)sc->t1_ms;
	t.t2 = (uint32_t)sc->t2_ms;
	t.t4 = (uint32_t)sc->t4_ms;
	t.td = (uint32_t)sc->td_ms;
	t.tc = (uint32_t)sc->tc_ms;
	rc = sip_timers_check(&t, why);
	if (rc < 0)
		goto out;
	out->timers = t;
	out->tp.tcp_idle_ms = sc->tcp_idle_ms;
	out->tp.tcp_max_conns = (uint32_t)sc->tcp_max_conns;
	out->tp.tcp_max_tx = (uint32_t)sc->tcp_max_tx;
out:
	return rc;
}

/* ------------------------------------------------------------------ */
/* Local addresses                                                    */

/* Does host[:port] name one of our transports (sent-by or bound address)? */
static bool is_local(struct sip_stack *st, struct str host, bool has_port, uint16_t port)
{
	union sip_sockaddr a;
	bool numeric = sip_sockaddr_from_host(host, 0, &a) == 0;

	if (!has_port)
		port = 5060;
	/* Only transports bound to the port or advertising it can match: the port index. */
	for (struct sip_tp *tp = sip_tpset_next_on_port(st->tps, port, NULL); tp;
	     tp = sip_tpset_next_on_port(st->tps, port, tp)) {
		struct str sb = str_from_cstr(tp->sent_by);
		ptrdiff_t colon = -1;

		/* sent_by is "host:port": split at its last colon. */
		for (size_t i = sb.len; i > 0; i--)
			if (sb.s[i - 1] == ':') {
				colon = (ptrdiff_t)i - 1;
				break;
			}
		if (colon > 0 && str_caseeq(str_sub(sb, 0, (size_t)colon), host) &&
		    (uint16_t)atoi(sb.s + colon + 1) == port)
			return true;
		if (numeric && sip_sockaddr_port(&tp->local) == port &&
		    (sip_sockaddr_same_host(&a, &tp->local) ||
		     (sip_sockaddr_is_any(&tp->local) && a.sa.sa_family == tp->local.sa.sa_family)))
			return true;
	}
	return false;
}

bool sip_stack_is_local_uri(struct sip_stack *st, const struct sip_uri *uri)
{
	if (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS)
		return false;
	return is_local(st, uri->maddr.s ? uri->maddr : uri->host, uri->has_port, uri->port);
}

size_t sip_stack_new_tag(struct sip_stack *st, char out[SIP_TAG_LEN])
{
	return sip_tag_new(&st->cfg.ids, out);
}

int sip_stack_resolve_uri(struct sip_stack *st, const struct sip_uri *uri, struct sip_flow *out)
{
	struct str host = uri->maddr.s && uri->maddr.len ? uri->maddr : uri->host;
	uint16_t port = uri->has_port ? uri->port : 5060;
	enum sip_transport proto = SIP_TRANSPORT_UDP;
	union sip_sockaddr a;
	int rc;

	if (uri->scheme != SIP_URI_SIP) {
		/* sips needs TLS, which simreg does not carry. */
		rc = uri->scheme == SIP_URI_SIPS ? -EPROTONOSUPPORT : -EINVAL;
		goto out;
	}
	if (uri->transport.s) {
		proto = sip_transport_lookup(uri->transport);
		if (proto != SIP_TRANSPORT_UDP && proto != SIP_TRANSPORT_TCP) {
			rc = -EPROTONOSUPPORT;
			goto out;
		}
	}
	rc = sip_sockaddr_from_host(host, port, &a);
	if (rc == -EHOSTUNREACH && st->cfg.resolver.resolve)
		rc = st->cfg.resolver.resolve(st->cfg.resolver.ctx, host, port, proto, &a);
	if (rc < 0)
		goto out;
	sip_flow_to(out, proto, &a);
out:
	return rc;
}

/* ------------------------------------------------------------------ */
/* Stateless responses                                                */

int sip_stack_response_build(struct sip_stack *st, struct sip_rx *rx, unsigned code,
			     struct str reason, struct str to_tag, struct buf *b,
			     struct sip_flow *reply)
{
	struct sip_msg *m = rx->msg;
	const struct sip_via *via;
	struct buf fixed;
	bool reliable;
	int rc;

	buf_init(&fixed);
	if (m->kind != SIP_MSG_REQUEST || m->method == SIP_METHOD_ACK || code < 100 || code > 699) {
		rc = -EINVAL;
		goto out;
	}
	if (sip_msg_via(m, &via, NULL) < 0 || !sip_msg_hdr(m, SIP_HDR_FROM) ||
	    !sip_msg_hdr(m, SIP_HDR_TO) || !sip_msg_hdr(m, SIP_HDR_CALL_ID) ||
	    !sip_msg_hdr(m, SIP_HDR_CSEQ)) {
		rc = -EBADMSG;
		goto out;
	}
	/* The response carries the Via as fixed on arrival (18.2.1). */
	rc = sip_via_fix_print(m, &rx->flow, &fixed);
	if (rc < 0)
		goto out;
	rc = sip_parse(&st->work, fixed.p, fixed.len, SIP_FRAME_DATAGRAM, NULL, NULL);
	if (rc < 0 || sip_msg_via(&st->work, &via, NULL) < 0) {
		rc = -EBADMSG;
		goto out;
	}
	reliable = rx->tp && (rx->tp->ops->flags & SIP_TPF_RELIABLE);
	rc = sip_via_reply_flow(via, &rx->flow, reliable, reply);
	if (rc < 0)
		goto out;
	sip_print_response_start(b, &st->work, code, reason, code > 100 ? to_tag : STR_NULL);
	rc = buf_error(b);
out:
	buf_free(&fixed);
	return rc;
}

int sip_stack_respond_stateless(struct sip_stack *st, struct sip_rx *rx, unsigned code,
				struct str reason, struct str extra)
{
	char tag[SIP_TAG_LEN];
	struct sip_flow reply;
	struct buf b;
	int rc;

	buf_init(&b);
	sip_tag_new(&st->cfg.ids, tag);
	rc = sip_stack_response_build(st, rx, code, reason, str_from_cstr(tag), &b, &reply);
	if (rc < 0)
		goto out;
	buf_put_str(&b, extra);
	if (st->cfg.server_name)
		sip_print_hdr(&b, SIP_HDR_SERVER, str_from_cstr(st->cfg.server_name));
	sip_print_body(&b, STR_NULL, STR_NULL);
	rc = buf_error(&b);
	if (rc == 0)
		rc = sip_tpset_send(st->tps, &reply, b.p, b.len);
out:
	buf_free(&b);
	return rc;
}

int sip_stack_send_raw(struct sip_stack *st, struct sip_flow *flow, struct str msg)
{
	return sip_tpset_send(st->tps, flow, msg.s, msg.len);
}

int sip_stack_send_stateless(struct sip_stack *st, struct str msg, struct sip_flow *dest,
			     struct str branch)
{
	char sent_by[SIP_SOCKADDR_STRLEN + 192], br[SIP_BRANCH_LEN];
	struct sip_tp *tp;
	struct buf via, out;
	char via_mem[512];
	int n, rc;

	buf_init(&out);
	rc = sip_tpset_select(st->tps, dest, &tp);
	if (rc < 0)
		goto done;
	n = sip_tpset_sent_by(st->tps, dest, sent_by, sizeof(sent_by));
	if (n < 0) {
		rc = n;
		goto done;
	}
	if (!branch.len) {
		sip_branch_new(&st->cfg.ids, br);
		branch = str_from_cstr(br);
	}
	buf_init_fixed(&via, via_mem, sizeof(via_mem));
	sip_via_print_value(&via, tp->ops->proto, str_make(sent_by, (size_t)n), branch,
			    st->cfg.rport && !(tp->ops->flags & SIP_TPF_RELIABLE));
	rc = buf_error(&via) ? buf_error(&via) : sip_via_prepend(msg, buf_str(&via), &out);
	if (rc == 0)
		rc = sip_tpset_send(st->tps, dest, out.p, out.len);
done:
	buf_free(&out);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                          */

/*
 * What every element checks before it trusts a request (8.2, 16.3):
 * returns 0 or the error, with the reason in *why.
 */
static int check_request(struct sip_msg *m, struct sip_error *err)
{
	const struct sip_via *via;
	const struct sip_addr *addr;
	const struct sip_cseq *cseq;
	const struct sip_uri *uri;
	struct str callid;
	uint32_t mf;
	int rc;

	if ((rc = sip_msg_via(m, &via, err)) < 0 || (rc = sip_msg_from(m, &addr, err)) < 0 ||
	    (rc = sip_msg_to(m, &addr, err)) < 0 || (rc = sip_msg_call_id(m, &callid, err)) < 0 ||
	    (rc = sip_msg_cseq(m, &cseq, err)) < 0 || (rc = sip_msg_ruri(m, &uri, err)) < 0)
		goto out;
	rc = sip_msg_max_forwards(m, &mf, err);
	if (rc == -ENOENT)
		rc = 0;
	if (rc < 0)
		goto out;
	/* 8.1.1.5: the CSeq method matches the request method. */
	if (!str_eq(cseq->method, m->method_name))
		rc = sip_fail(err, -EBADMSG, "CSeq method differs from the request method",
			      cseq->raw);
out:
	if (rc == -ENOENT && err && !err->reason)
		err->reason = "a mandatory header is missing";
	return rc;
}

/* Enough to answer at all: a Via to route by, and the headers a response copies. */
static bool can_respond(struct sip_msg *m)
{
	const struct sip_via *via;

	return m->method != SIP_METHOD_ACK && sip_msg_via(m, &via, NULL) == 0 &&
	       sip_msg_hdr(m, SIP_HDR_FROM) && sip_msg_hdr(m, SIP_HDR_TO) &&
	       sip_msg_hdr(m, SIP_HDR_CALL_ID) && sip_msg_hdr(m, SIP_HDR_CSEQ);
}

static void bad_request(struct sip_stack *st, struct sip_rx *rx, const struct sip_error *err)
{
	char f[SIP_FLOW_STRLEN], warn[512], text[160];
	size_t n = 0;

	/* The reason goes into a Warning (RFC 3261 20.43) as a quoted string. */
	for (const char *p = err->reason ? err->reason : "malformed"; *p && n + 1 < sizeof(text); p++)
		if (*p != '"' && *p != '\\')
			text[n++] = *p;
	text[n] = '\0';
	log_info("bad request from %s: %s", sip_flow_str(&rx->flow, f, sizeof(f)), text);
	if (!can_respond(rx->msg)) {
		st->stats.dropped++;
		return;
	}
	snprintf(warn, sizeof(warn), "Warning: 399 %s \"%s\"\r\n",
		 rx->tp && rx->tp->sent_by[0] ? rx->tp->sent_by : "simreg", text);
	st->stats.bad_requests++;
	sip_stack_respond_stateless(st, rx, 400, STR_NULL, str_from_cstr(warn));
}

/* Fill a new server transaction's matching keys from its request. */
static int server_keys(struct sip_txn *t, struct sip_msg *m)
{
	struct arena *a = &t->arena;
	const struct sip_via *via;
	const struct sip_addr *from, *to;
	const struct sip_cseq *cseq;
	struct str callid;

	sip_msg_via(m, &via, NULL);
	sip_msg_from(m, &from, NULL);
	sip_msg_to(m, &to, NULL);
	sip_msg_cseq(m, &cseq, NULL);
	sip_msg_call_id(m, &callid, NULL);
	t->method = arena_str(a, m->method_name);
	t->method_id = m->method;
	t->branch = via->branch.s ? arena_str(a, via->branch) : STR_LIT("");
	t->sent_by_host = arena_str(a, via->host);
	t->sent_by_port = via->port;
	t->sent_by_has_port = via->has_port;
	t->to_has_tag = to->tag.s != NULL;
	t->rfc2543 = !sip_branch_is_rfc3261(via->branch);
	if (t->rfc2543) {
		const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA);

		t->callid = arena_str(a, callid);
		t->cseq = cseq->seq;
		t->from_tag = from->tag.s ? arena_str(a, from->tag) : STR_NULL;
		t->req_to_tag = to->tag.s ? arena_str(a, to->tag) : STR_NULL;
		t->ruri = arena_str(a, m->ruri);
		t->top_via = arena_str(a, top->value);
		if (!t->callid.s || !t->ruri.s || !t->top_via.s)
			return -ENOMEM;
	}
	return t->method.s && t->sent_by_host.s ? 0 : -ENOMEM;
}

/*
 * A new server transaction for rx: keys, the Via-fixed copy, the reply
 * flow. `*fixed_rx` receives the request as the TU should see it.
 */
static struct sip_txn *server_new(struct sip_stack *st, struct sip_rx *rx, struct sip_rx *fixed_rx)
{
	struct sip_msg *m = rx->msg;
	const struct sip_via *via;
	struct sip_txn *t;
	char f[SIP_FLOW_STRLEN];
	int rc;

	t = sip_txn_new(st, m->method == SIP_METHOD_INVITE ? SIP_TXN_IST : SIP_TXN_NIST);
	if (!t)
		return NULL;
	/* One chunk for the request, its keys and a response of similar size. */
	arena_init(&t->arena, 2 * m->buf.len + 512, 0);
	rc = server_keys(t, m);
	if (rc < 0)
		goto fail;
	buf_reset(&st->tmp);
	rc = sip_via_fix_print(m, &rx->flow, &st->tmp);
	if (rc < 0)
		goto fail;
	t->req = arena_str(&t->arena, buf_str(&st->tmp));
	if (!t->req.s) {
		rc = -ENOMEM;
		goto fail;
	}
	*fixed_rx = *rx;
	if (t->req.len != m->buf.len || memcmp(t->req.s, m->buf.s, m->buf.len) != 0) {
		/* The TU sees (and a proxy forwards) the request with its Via fixed. */
		rc = sip_parse(&st->fixed, t->req.s, t->req.len, SIP_FRAME_DATAGRAM, NULL, NULL);
		if (rc < 0)
			goto fail;
		fixed_rx->msg = &st->fixed;
	}
	t->reliable = rx->tp && (rx->tp->ops->flags & SIP_TPF_RELIABLE);
	if (rx->tp && rx->tp->timers)
		t->tm = rx->tp->timers;
	rc = sip_msg_via(fixed_rx->msg, &via, NULL);
	if (rc == 0)
		rc = sip_via_reply_flow(via, &rx->flow, t->reliable, &t->flow);
	if (rc < 0) {
		log_info("request from %s: no way back (%s); dropped",
			 sip_flow_str(&rx->flow, f, sizeof(f)), strerror(-rc));
		goto fail;
	}
	sip_txn_index(t);
	return t;
fail:
	sip_txn_destroy(t);
	return NULL;
}

static void overload(struct sip_stack *st, struct sip_rx *rx)
{
	st->stats.overload++;
	sip_stack_respond_stateless(st, rx, 503, STR_NULL, STR_LIT("Retry-After: 5\r\n"));
}

/* RFC 3261 9.2: answer the CANCEL, tell the TU about the INVITE it names. */
static void on_cancel(struct sip_stack *st, struct sip_rx *rx)
{
	struct sip_txn *inv = sip_txn_match_request(st, rx->msg, SIP_METHOD_INVITE);
	struct sip_txn_arg a = { .quiet = true };
	struct sip_rx fixed;
	struct sip_txn *t;
	sip_txn_id id, inv_id = inv ? inv->id : 0;

	t = server_new(st, rx, &fixed);
	if (!t) {
		overload(st, rx);
		return;
	}
	id = t->id;
	a.rx = &fixed;
	sip_txn_feed(t, SIP_TXN_EV_RX_REQUEST, &a);
	sip_server_txn_respond(st, id, inv ? 200 : 481, STR_NULL);
	inv = sip_txn_get(st, inv_id);
	if (inv && inv->last_status < 200 && st->tu && st->tu->cancel)
		st->tu->cancel(st, st->ctx, inv->id, inv->ref, &fixed);
}

static void on_request(struct sip_stack *st, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	struct sip_error err = { 0 };
	struct sip_txn_arg a = { .rx = rx };
	struct sip_rx fixed;
	struct sip_txn *t;

	if (check_request(m, &err) < 0) {
		bad_request(st, rx, &err);
		return;
	}
	t = sip_txn_match_request(st, m, SIP_METHOD_OTHER);
	if (t) {
		sip_txn_feed(t,
			     m->method == SIP_METHOD_ACK ? SIP_TXN_EV_RX_ACK : SIP_TXN_EV_RX_REQUEST,
			     &a);
		return;
	}
	if (m->method == SIP_METHOD_ACK) {
		/* ACK for a 2xx: its own end-to-end transaction (17.2.3). */
		if (st->tu && st->tu->request)
			st->tu->request(st, st->ctx, 0, rx);
		return;
	}
	if (st->shutting_down || st->stats.txn_live >= st->cfg.max_txns) {
		overload(st, rx);
		return;
	}
	if (m->method == SIP_METHOD_CANCEL) {
		on_cancel(st, rx);
		return;
	}
	t = server_new(st, rx, &fixed);
	if (!t)
		return;
	if (!st->tu || !st->tu->request) {
		sip_txn_id id = t->id;

		a.rx = &fixed;
		a.quiet = true;
		sip_txn_feed(t, SIP_TXN_EV_RX_REQUEST, &a);
		sip_server_txn_respond(st, id, 500, STR_LIT("No Transaction User"));
		return;
	}
	a.rx = &fixed;
	sip_txn_feed(t, SIP_TXN_EV_RX_REQUEST, &a);
}

static void on_response(struct sip_stack *st, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	const struct sip_via *via;
	const struct sip_cseq *cseq;
	struct sip_txn_arg a = { .rx = rx };
	char f[SIP_FLOW_STRLEN];
	struct sip_txn *t;

	/* 18.1.2 / 8.1.3.3: without a usable Via and CSeq it matches nothing. */
	if (sip_msg_via(m, &via, NULL) < 0 || sip_msg_cseq(m, &cseq, NULL) < 0 ||
	    !sip_msg_hdr(m, SIP_HDR_CALL_ID) || !sip_msg_hdr(m, SIP_HDR_FROM) ||
	    !sip_msg_hdr(m, SIP_HDR_TO)) {
		st->stats.dropped++;
		log_info("response from %s dropped: Via, CSeq, Call-ID, From or To missing or broken",
			 sip_flow_str(&rx->flow, f, sizeof(f)));
		return;
	}
	t = sip_txn_match_response(st, via->branch, cseq->method);
	if (t) {
		sip_txn_feed(t, sip_txn_rx_event(m->status), &a);
		return;
	}
	if (!is_local(st, via->host, via->has_port, via->port)) {
		st->stats.dropped++;
		log_info("response from %s dropped: Via sent-by %.*s is not ours",
			 sip_flow_str(&rx->flow, f, sizeof(f)), STR_FMT(via->host));
		return;
	}
	st->stats.stray_responses++;
	if (st->tu && st->tu->stray_response)
		st->tu->stray_response(st, st->ctx, rx);
}

static void on_recv(void *ctx, struct sip_rx *rx)
{
	struct sip_stack *st = ctx;

	if (rx->msg->kind == SIP_MSG_REQUEST)
		on_request(st, rx);
	else if (rx->msg->kind == SIP_MSG_RESPONSE)
		on_response(st, rx);
}

/*
 * A connection went away: client transactions waiting on it fail now
 * (17.1.4) instead of at Timer B / F; the TU hears of the flow.
 */
static void on_flow_error(void *ctx, const struct sip_flow *flow, int err)
{
	struct sip_stack *st = ctx;
	uint32_t pos = 0;
	struct sip_txn *t;

	while ((t = sip_slots_next(&st->txns, &pos))) {
		struct sip_txn_arg a = { .err = err };

		if ((t->kind != SIP_TXN_ICT && t->kind != SIP_TXN_NICT) || t->flow.conn != flow->conn ||
		    t->flow.tp != flow->tp || t->state == SIP_TXN_S_TERMINATED ||
		    t->last_status >= 200)
			continue;
		sip_txn_feed(t, SIP_TXN_EV_TRANSPORT_ERROR, &a);
	}
	if (st->tu && st->tu->flow_failure)
		st->tu->flow_failure(st, st->ctx, flow, err);
}

/* An answer to the TU's own keepalive: nothing for transactions, all for the TU. */
static void on_keepalive(void *ctx, const struct sip_keepalive *ka)
{
	struct sip_stack *st = ctx;

	if (st->tu && st->tu->keepalive)
		st->tu->keepalive(st, st->ctx, ka);
}

/* ------------------------------------------------------------------ */
/* Shutdown                                                           */

static int shutdown_begin(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct sip_stack *st = h->ctx;
	uint32_t pos = 0;
	struct sip_txn *t;

	st->shutting_down = true;
	/* Transactions past their final response (or dropped) are done for their users. */
	while ((t = sip_slots_next(&st->txns, &pos)))
		if (t->state == SIP_TXN_S_COMPLETED || t->state == SIP_TXN_S_CONFIRMED ||
		    t->state == SIP_TXN_S_ACCEPTED || t->state == SIP_TXN_S_DROPPED)
			sip_txn_feed(t, SIP_TXN_EV_TU_ABORT, NULL);
	if (st->stats.txn_live == 0)
		return 0;
	log_info("shutdown: waiting for %llu SIP transactions",
		 (unsigned long long)st->stats.txn_live);
	st->hook_pending = true;
	return LOOP_SHUTDOWN_PENDING;
}

static void shutdown_expire(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct sip_stack *st = h->ctx;
	uint32_t pos = 0;
	struct sip_txn *t;

	st->hook_pending = false;
	log_notice("shutdown: ending %llu SIP transactions", (unsigned long long)st->stats.txn_live);
	while ((t = sip_slots_next(&st->txns, &pos)))
		if (t->state != SIP_TXN_S_TERMINATED)
			sip_txn_feed(t, SIP_TXN_EV_TU_ABORT, NULL);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                           */

int sip_stack_create(struct sip_stack **out, struct loop *loop, const struct sip_stack_config *cfg,
		     const struct sip_tu_ops *tu, void *ctx)
{
	struct sip_tp_user user = {
		.recv = on_recv,
		.flow_error = on_flow_error,
		.keepalive = on_keepalive,
	};
	const char *why = NULL;
	struct sip_stack *st;
	int rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	if (cfg)
		st->cfg = *cfg;
	else
		sip_stack_config_default(&st->cfg);
	if (!st->cfg.ids.fill)
		st->cfg.ids = sip_ids_default;
	rc = sip_timers_check(&st->cfg.timers, &why);
	if (rc < 0) {
		log_error("SIP timers: %s", why);
		goto fail;
	}
	st->loop = loop;
	st->tu = tu;
	st->ctx = ctx;
	sip_slots_init(&st->txns);
	sip_msg_init(&st->work);
	sip_msg_init(&st->fixed);
	buf_init(&st->tmp);
	user.ctx = st;
	if ((rc = sip_htab_init(&st->servers, 1024)) < 0 ||
	    (rc = sip_htab_init(&st->servers2543, 64)) < 0 ||
	    (rc = sip_htab_init(&st->clients, 1024)) < 0)
		goto fail;
	rc = sip_tpset_create(&st->tps, loop, &st->cfg.tp, &user);
	if (rc < 0)
		goto fail;
	st->hook.name = "sip transactions";
	st->hook.begin = shutdown_begin;
	st->hook.expire = shutdown_expire;
	st->hook.ctx = st;
	loop_on_shutdown(loop, &st->hook);
	*out = st;
	return 0;
fail:
	sip_htab_free(&st->servers);
	sip_htab_free(&st->servers2543);
	sip_htab_free(&st->clients);
	sip_slots_free(&st->txns);
	buf_free(&st->tmp);
	free(st);
	return rc;
}

void sip_stack_destroy(struct sip_stack *st)
{
	uint32_t pos = 0;
	struct sip_txn *t;

	if (!st)
		return;
	loop_shutdown_hook_remove(st->loop, &st->hook);
	while ((t = sip_slots_next(&st->txns, &pos)))
		sip_txn_destroy(t);
	sip_tpset_destroy(st->tps);
	sip_htab_free(&st->servers);
	sip_htab_free(&st->servers2543);
	sip_htab_free(&st->clients);
	sip_slots_free(&st->txns);
	buf_free(&st->tmp);
	free(st);
}

struct loop *sip_stack_loop(const struct sip_stack *st)
{
	return st->loop;
}

struct sip_tpset *sip_stack_transports(struct sip_stack *st)
{
	return st->tps;
}

const struct sip_stack_config *sip_stack_config(const struct sip_stack *st)
{
	return &st->cfg;
}

const struct sip_stack_stats *sip_stack_stats(const struct sip_stack *st)
{
	return &st->stats;
}

int sip_stack_listen(struct sip_stack *st, const struct sip_listen *l, uint32_t *id)
{
	return sip_tpset_listen(st->tps, l, id);
}

int sip_stack_listen_text(struct sip_stack *st, const char *text, uint32_t *id)
{
	struct sip_listen l;
	int rc = sip_listen_parse(str_from_cstr(text), &l);

	if (rc < 0) {
		log_error("listen: '%s' is not PROTO:ADDRESS[:PORT] (udp or tcp)", text);
		return rc;
	}
	return sip_tpset_listen(st->tps, &l, id);
}

int sip_stack_unlisten(struct sip_stack *st, uint32_t id)
{
	return sip_tpset_close(st->tps, id);
}

int sip_stack_listen_config(struct sip_stack *st, const struct sip_config *sc)
{
	int rc = 0;

	for (size_t i = 0; i < sc->listen.n && rc == 0; i++)
		rc = sip_stack_listen_text(st, sc->listen.v[i], NULL);
	return rc;
}
