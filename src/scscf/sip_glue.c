/*
 * sip_glue.c - struct scscf_sip_ops on lib/sip's stack and proxy core.
 *
 * Requests reach the logic through the stack's TU callbacks; responses go
 * out through the server transactions; NOTIFYs through client
 * transactions; forks through the proxy core (RFC 3261 16), which also
 * consumes our own Route (the Service-Route the UE uses) and picks the
 * best response. A fork to bindings remembers which branch went to which
 * binding until it is over, so that a 430 Flow Failed from the edge proxy
 * can end the binding whose flow is gone (RFC 5626 5.3).
 */
#define SLOG_COMPONENT "scscf"

#include "scscf/sip_glue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "scscf/ht.h"
#include "sip/print.h"
#include "sip/proxy.h"

/* sip_proxy_req.user of a request forked to the bindings of an IMPU. */
#define GLUE_TERMINATING 1

struct scscf_glue {
	struct scscf *s;
	struct sip_stack *st;
	struct sip_proxy *px;
	struct ht forks; /* proxy ref -> struct fork, while the fork runs */
};

/* The bindings of one running fork, by branch index. */
struct fork {
	struct ht_node node;
	unsigned n;
	uint64_t binding[SIP_PROXY_MAX_BRANCHES];
};

/* --- the TU -------------------------------------------------------------------- */

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct scscf_glue *g = ctx;

	if (!stx) {
		/* An ACK for a 2xx: end-to-end, forwarded as it is routed (16.11). */
		if (rx->msg->method == SIP_METHOD_ACK && sip_msg_hdr(rx->msg, SIP_HDR_ROUTE))
			sip_proxy_forward_stateless(g->px, rx);
		return;
	}
	scscf_sip_request(g->s, stx, rx->msg);
}

static void on_cancel(struct sip_stack *st, void *ctx, sip_txn_id invite, uint64_t ref,
		      struct sip_rx *rx)
{
	struct scscf_glue *g = ctx;

	sip_proxy_cancel(g->px, ref);
}

static void on_server_failure(struct sip_stack *st, void *ctx, sip_txn_id stx, uint64_t ref,
			      int err)
{
	struct scscf_glue *g = ctx;

	scscf_sip_txn_gone(g->s, stx);
}

static void on_stray(struct sip_stack *st, void *ctx, struct sip_rx *rx)
{
	struct scscf_glue *g = ctx;

	sip_proxy_forward_stateless(g->px, rx);
}

static const struct sip_tu_ops tu_ops = {
	.request = on_request,
	.cancel = on_cancel,
	.server_failure = on_server_failure,
	.stray_response = on_stray,
};

/* --- NOTIFY transactions --------------------------------------------------------- */

static void notify_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			    struct sip_rx *rx)
{
	struct scscf_glue *g = ctx;

	if (rx->msg->status >= 200)
		scscf_sip_request_done(g->s, ref, rx->msg->status);
}

static void notify_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct scscf_glue *g = ctx;

	/* RFC 3261 17.1.2.2 / 8.1.3.1: a timeout is a 408, a transport error a 503. */
	scscf_sip_request_done(g->s, ref, err == -ETIMEDOUT ? 408 : 503);
}

static const struct sip_client_ops notify_ops = {
	.response = notify_response,
	.failure = notify_failure,
};

/* --- the seam --------------------------------------------------------------------- */

static int response_start(void *ctx, uint64_t txn, struct buf *b, unsigned code,
			  struct str reason)
{
	struct scscf_glue *g = ctx;

	return sip_server_txn_response_start(g->st, txn, b, code, reason);
}

static int response_send(void *ctx, uint64_t txn, struct str response)
{
	struct scscf_glue *g = ctx;

	return sip_server_txn_send(g->st, txn, response);
}

static int glue_request(void *ctx, struct str msg, struct str next_hop, uint64_t ref)
{
	struct scscf_glue *g = ctx;
	struct sip_client_req req = { .msg = msg, .ops = &notify_ops, .ctx = g, .ref = ref };
	struct sip_uri uri;
	int err;

	err = sip_uri_parse(next_hop, &uri, NULL);
	if (!err)
		err = sip_stack_resolve_uri(g->st, &uri, &req.dest);
	if (!err)
		err = sip_client_txn_start(g->st, &req, NULL);
	return err;
}

/*
 * Keep which branch went to which binding. Without memory for it the fork
 * still runs; only a 430 on it would not end its binding.
 */
static void remember_fork(struct scscf_glue *g, uint64_t ref, const struct scscf_target *t,
			  unsigned n)
{
	struct fork *f;
	bool any = false;

	for (unsigned i = 0; i < n; i++)
		any |= t[i].binding != 0;
	if (!any)
		return;
	f = calloc(1, sizeof(*f));
	if (!f)
		return;
	f->n = n;
	for (unsigned i = 0; i < n; i++)
		f->binding[i] = t[i].binding;
	if (ht_insert_id(&g->forks, &f->node, ref) < 0)
		free(f);
}

static void forget_fork(struct scscf_glue *g, uint64_t ref)
{
	struct ht_node *n = ht_find_id(&g->forks, ref);

	if (!n)
		return;
	ht_remove(&g->forks, n);
	free(ht_entry(n, struct fork, node));
}

static int glue_fork(void *ctx, uint64_t txn, const struct scscf_target *t, unsigned n)
{
	struct scscf_glue *g = ctx;
	struct sip_proxy_target targets[SIP_PROXY_MAX_BRANCHES];
	struct sip_proxy_req req = { .stx = txn, .targets = targets };
	uint64_t ref = 0;
	int err;

	if (n > SIP_PROXY_MAX_BRANCHES)
		n = SIP_PROXY_MAX_BRANCHES;
	memset(targets, 0, sizeof(targets));
	for (unsigned i = 0; i < n; i++) {
		targets[i].uri = t[i].uri;
		targets[i].n_routes = t[i].n_routes < SIP_PROXY_MAX_ROUTES ? t[i].n_routes :
									     SIP_PROXY_MAX_ROUTES;
		for (unsigned k = 0; k < targets[i].n_routes; k++)
			targets[i].routes[k] = t[i].routes[k];
		sip_flow_init(&targets[i].flow);
	}
	req.n_targets = n;
	/* Targets that are bindings make a terminating request (route.c). */
	req.user = n && t[0].binding ? GLUE_TERMINATING : 0;
	err = sip_proxy_forward(g->px, &req, &ref);
	if (!err)
		remember_fork(g, ref, t, n);
	/* Errors the core answered upstream itself (483, no branch) are not ours to send. */
	return err == -ELOOP || err == -ENETUNREACH ? 0 : err;
}

static bool is_local(void *ctx, const struct sip_uri *uri)
{
	struct scscf_glue *g = ctx;

	return sip_stack_is_local_uri(g->st, uri);
}

static const struct scscf_sip_ops glue_ops = {
	.response_start = response_start,
	.response_send = response_send,
	.request = glue_request,
	.fork = glue_fork,
	.is_local = is_local,
};

/* --- life ---------------------------------------------------------------------- */

/*
 * RFC 5626 5.3: the edge proxy answers 430 Flow Failed when the flow a
 * request was meant for is gone; the registrar then no longer routes to
 * that binding. The 430 is about our flow, not about the callee, so it is
 * not relayed: another binding's answer wins, and when there is none the
 * final op answers 480 like for any binding that did not answer.
 */
static enum sip_proxy_verdict proxy_response(struct sip_proxy *px, void *ctx, uint64_t ref,
					     unsigned branch, struct sip_rx *rx,
					     struct sip_edit *edit)
{
	struct scscf_glue *g = ctx;
	struct ht_node *n;
	struct fork *f;

	(void)px;
	(void)edit;
	if (rx->msg->status != 430)
		return SIP_PROXY_RELAY;
	n = ht_find_id(&g->forks, ref);
	if (!n)
		return SIP_PROXY_RELAY;
	f = ht_entry(n, struct fork, node);
	if (branch < f->n && f->binding[branch]) {
		scscf_flow_failed(g->s, f->binding[branch]);
		f->binding[branch] = 0;
	}
	return SIP_PROXY_SWALLOW;
}

static void proxy_done(struct sip_proxy *px, void *ctx, uint64_t ref, unsigned status)
{
	struct scscf_glue *g = ctx;

	(void)px;
	log_debug("forward %" PRIu64 " done: %u", ref, status);
	forget_fork(g, ref);
}

/*
 * TS 24.229 5.4.3.3 leaves the answer to a terminating request whose
 * contacts all fail to the S-CSCF; the core would send 408 (INVITE), 500
 * (unreachable) or, for a non-INVITE that timed out, nothing (RFC 4320).
 * None says what happened to the caller: the user is registered but no
 * device of theirs answers, which is 480 Temporarily Unavailable (RFC 3261
 * 21.4.18). A final response a device did send (486, 603) goes up as it is.
 */
static unsigned proxy_final(struct sip_proxy *px, void *ctx, uint64_t ref,
			    const struct sip_proxy_outcome *o)
{
	if (o->user != GLUE_TERMINATING || o->answered)
		return 0;
	log_info("forward %" PRIu64 ": no binding answered (%u timed out, %u unreachable, %u flow"
		 " failed): 480",
		 ref, o->n_timeout, o->n_unreachable, o->n_swallowed);
	return 480;
}

static const struct sip_proxy_ops proxy_ops = {
	.response = proxy_response,
	.final = proxy_final,
	.done = proxy_done,
};

int scscf_glue_start(struct scscf *s, struct scscf_glue **out)
{
	struct scscf_glue *g = calloc(1, sizeof(*g));
	struct sip_stack_config sc;
	const char *why = NULL;
	struct sip_tp *tp;
	int err;

	if (!g)
		return -ENOMEM;
	g->s = s;
	ht_init(&g->forks, true);
	sip_stack_config_default(&sc);
	sc.server_name = "simreg-scscf";
	err = sip_config_apply(&s->cfg.sip, &sc, &why);
	if (err) {
		log_error("scscf.sip: %s", why ? why : "bad timers");
		goto fail;
	}
	err = sip_stack_create(&g->st, s->loop, &sc, &tu_ops, g);
	if (err)
		goto fail;
	if (s->cfg.sip.listen.n) {
		err = sip_stack_listen_config(g->st, &s->cfg.sip);
	} else {
		/* The defaults of docs/architecture.md: UDP and TCP on 127.0.0.1:6060. */
		err = sip_stack_listen_text(g->st, "udp:127.0.0.1:6060", NULL);
		if (!err)
			err = sip_stack_listen_text(g->st, "tcp:127.0.0.1:6060", NULL);
	}
	if (err) {
		log_error("cannot listen for SIP: %s", strerror(-err));
		goto fail;
	}
	err = sip_proxy_create(&g->px, g->st, &proxy_ops, g);
	if (err)
		goto fail;
	/* Service-Route, Contact and NOTIFYs name the first transport. */
	tp = sip_tpset_next(sip_stack_transports(g->st), NULL);
	if (tp && tp->sent_by[0])
		snprintf(s->host, sizeof(s->host), "%s", tp->sent_by);
	s->sip = &glue_ops;
	s->sip_ctx = g;
	*out = g;
	return 0;
fail:
	scscf_glue_stop(g);
	return err;
}

void scscf_glue_stop(struct scscf_glue *g)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;

	if (!g)
		return;
	sip_proxy_destroy(g->px);
	sip_stack_destroy(g->st);
	while ((n = ht_iter_next(&g->forks, &it))) {
		ht_remove(&g->forks, n);
		free(ht_entry(n, struct fork, node));
	}
	ht_free(&g->forks);
	free(g);
}
