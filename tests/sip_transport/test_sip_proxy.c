/*
 * The stateful proxy core (RFC 3261 16) over the recording transports:
 * Route pre-processing, Max-Forwards, Record-Route, loose and strict next
 * hops, pre-loaded routes and flows, forking with best-response selection,
 * challenge aggregation, 2xx handling with CANCEL of the other branches,
 * CANCEL from upstream, Timer C, RFC 4320, stateless forwarding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "sip/print.h"
#include "sip/proxy.h"

/* The component under test: forwards every request to the configured targets. */
struct comp {
	struct harness *h;
	struct sip_proxy *px;
	struct sip_proxy_target targets[SIP_PROXY_MAX_BRANCHES];
	unsigned n_targets;
	const char *record_route;
	int last_rc;
	uint64_t last_ref;
	unsigned responses_seen;
	unsigned done;
	unsigned done_status;
	bool strip_secret; /* remove X-Secret from responses (the P-CSCF takes ck/ik out) */
	bool swallow_503;
	/* The final op: answer this when no branch answered (0: keep the core's choice). */
	unsigned unanswered_code;
	unsigned finals;
	struct sip_proxy_outcome outcome;
};

static struct comp comp;

static void c_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct sip_proxy_req req = {
		.stx = stx,
		.targets = comp.targets,
		.n_targets = comp.n_targets,
		.record_route = str_from_cstr(comp.record_route),
		.user = 77,
	};

	if (!stx) {
		comp.last_rc = sip_proxy_forward_stateless(comp.px, rx);
		return;
	}
	comp.last_rc = sip_proxy_forward(comp.px, &req, &comp.last_ref);
}

static void c_cancel(struct sip_stack *st, void *ctx, sip_txn_id invite, uint64_t ref,
		     struct sip_rx *rx)
{
	sip_proxy_cancel(comp.px, ref);
}

static void c_stray(struct sip_stack *st, void *ctx, struct sip_rx *rx)
{
	sip_proxy_forward_stateless(comp.px, rx);
}

static const struct sip_tu_ops comp_tu = {
	.request = c_request,
	.cancel = c_cancel,
	.stray_response = c_stray,
};

static enum sip_proxy_verdict p_response(struct sip_proxy *px, void *ctx, uint64_t ref,
					 unsigned branch, struct sip_rx *rx, struct sip_edit *edit)
{
	comp.responses_seen++;
	if (comp.strip_secret) {
		const struct sip_hdr *h = sip_msg_hdr_by_name(rx->msg, STR_LIT("X-Secret"));

		if (h)
			sip_edit_remove(edit, h);
	}
	if (comp.swallow_503 && rx->msg->status == 503)
		return SIP_PROXY_SWALLOW;
	return SIP_PROXY_RELAY;
}

static void p_done(struct sip_proxy *px, void *ctx, uint64_t ref, unsigned status)
{
	comp.done++;
	comp.done_status = status;
}

static unsigned p_final(struct sip_proxy *px, void *ctx, uint64_t ref,
			const struct sip_proxy_outcome *o)
{
	comp.finals++;
	comp.outcome = *o;
	return o->answered ? 0 : comp.unanswered_code;
}

static const struct sip_proxy_ops comp_px = {
	.response = p_response,
	.final = p_final,
	.done = p_done,
};

static int setup(void **state)
{
	memset(&comp, 0, sizeof(comp));
	comp.h = h_new(NULL, &comp_tu, NULL);
	assert_int_equal(sip_proxy_create(&comp.px, comp.h->st, &comp_px, NULL), 0);
	comp.n_targets = 1;
	comp.targets[0].uri = STR_LIT("sip:bob@198.18.0.3");
	*state = comp.h;
	return 0;
}

static int teardown(void **state)
{
	sip_proxy_destroy(comp.px);
	h_free(comp.h);
	return 0;
}

/* A request from upstream (198.18.0.2:5062) with extra header lines. */
static char *upstream(const char *method, const char *branch, const char *extra, unsigned mf)
{
	char *out;

	if (asprintf(&out,
		     "%s sip:bob@example.com SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP " H_PEER ":5062;branch=%s;rport\r\n"
		     "Max-Forwards: %u\r\n"
		     "%s"
		     "From: <sip:alice@example.com>;tag=a1\r\n"
		     "To: <sip:bob@example.com>\r\n"
		     "Call-ID: px1@" H_PEER "\r\n"
		     "CSeq: 1 %s\r\n"
		     "Content-Length: 0\r\n\r\n",
		     method, branch, mf, extra, method) < 0)
		return NULL;
	return out;
}

/* Index of the n-th (0-based) sent message starting with prefix. */
static int nth_sent(struct harness *h, const char *prefix, unsigned n)
{
	for (unsigned i = 0; i < h->n_sent; i++)
		if (strncmp(h->sent[i].msg, prefix, strlen(prefix)) == 0 && n-- == 0)
			return (int)i;
	return -1;
}

/* Downstream answers forwarded request i with `code` (and optional extra headers). */
static void answer(struct harness *h, int i, unsigned code, const char *extra)
{
	char *r = h_response_to(h, (unsigned)i, code);

	assert_non_null(r);
	if (extra) {
		char *pos = strstr(r, "Content-Length:");
		char *n;

		assert_int_equal(asprintf(&n, "%.*s%s%s", (int)(pos - r), r, extra, pos) > 0, 1);
		free(r);
		r = n;
	}
	h_input(h, false, 5060, r);
	free(r);
}

/* ------------------------------------------------------------------ */

/* 16.4 / 16.6: our Route removed, Max-Forwards down by one, Record-Route and our Via on top. */
static void test_forward_register(void **state)
{
	struct harness *h = *state;
	char *reg = upstream("REGISTER", "z9hG4bKreg1",
			     "Route: <sip:" H_LOCAL ";lr>, <sip:198.18.0.3;lr>\r\n", 70);
	const char *fwd;
	int i;

	comp.targets[0].uri = STR_NULL;
	comp.record_route = "<sip:" H_LOCAL ";lr>";
	comp.strip_secret = true;
	h_input(h, false, 5062, reg);
	assert_int_equal(comp.last_rc, 0);
	i = nth_sent(h, "REGISTER", 0);
	assert_true(i >= 0);
	fwd = h->sent[i].msg;
	/* The next hop is the remaining Route, 198.18.0.3:5060. */
	assert_int_equal(sip_sockaddr_port(&h->sent[i].to), 5060);
	assert_non_null(strstr(fwd, "REGISTER sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " H_LOCAL
				    ":5060;branch=z9hG4bK"));
	assert_non_null(strstr(fwd, "Max-Forwards: 69\r\n"));
	assert_non_null(strstr(fwd, "Route: <sip:198.18.0.3;lr>\r\n"));
	assert_null(strstr(fwd, "<sip:" H_LOCAL ";lr>, "));
	assert_non_null(strstr(fwd, "Record-Route: <sip:" H_LOCAL ";lr>\r\n"));
	/* The upstream Via kept, with received / rport filled. */
	assert_non_null(strstr(fwd, "Via: SIP/2.0/UDP " H_PEER ":5062;branch=z9hG4bKreg1;rport=5062;received=" H_PEER));
	answer(h, i, 401, "X-Secret: ck=00112233\r\nWWW-Authenticate: Digest nonce=\"n\"\r\n");
	i = nth_sent(h, "SIP/2.0 401", 0);
	assert_true(i >= 0);
	/* Upstream: our Via gone, the component's edit applied, to the source port. */
	assert_null(strstr(h->sent[i].msg, "Via: SIP/2.0/UDP " H_LOCAL));
	assert_null(strstr(h->sent[i].msg, "X-Secret"));
	assert_non_null(strstr(h->sent[i].msg, "WWW-Authenticate: Digest nonce=\"n\""));
	assert_int_equal(sip_sockaddr_port(&h->sent[i].to), 5062);
	assert_int_equal(comp.done, 1);
	assert_int_equal(comp.done_status, 401);
	assert_int_equal(sip_proxy_live(comp.px), 0);
	free(reg);
}

/* 16.3: Max-Forwards 0 is answered 483. */
static void test_max_forwards(void **state)
{
	struct harness *h = *state;
	char *req = upstream("MESSAGE", "z9hG4bKmf", "", 0);

	h_input(h, false, 5062, req);
	assert_int_equal(comp.last_rc, -ELOOP);
	assert_int_equal(h_count_sent(h, "SIP/2.0 483"), 1);
	assert_int_equal(h_count_sent(h, "MESSAGE"), 0);
	free(req);
}

/* Forking an INVITE: provisional relayed, 2xx relayed at once, the others cancelled. */
static void test_fork_invite(void **state)
{
	struct harness *h = *state;
	char *inv = upstream("INVITE", "z9hG4bKfork", "", 70);
	int a, b, c, cancel;

	comp.n_targets = 3;
	comp.targets[0].uri = STR_LIT("sip:bob@198.18.0.3");
	comp.targets[1].uri = STR_LIT("sip:bob@198.18.0.4:5070");
	comp.targets[2].uri = STR_LIT("sip:bob@198.18.0.5;transport=tcp");
	h_input(h, false, 5062, inv);
	assert_int_equal(comp.last_rc, 0);
	/* 16.2: 100 Trying upstream at once. */
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 1);
	a = nth_sent(h, "INVITE sip:bob@198.18.0.3 ", 0);
	b = nth_sent(h, "INVITE sip:bob@198.18.0.4:5070 ", 0);
	c = nth_sent(h, "INVITE sip:bob@198.18.0.5;transport=tcp ", 0);
	assert_true(a >= 0 && b >= 0 && c >= 0);
	assert_int_equal(sip_sockaddr_port(&h->sent[b].to), 5070);
	assert_int_equal(h->sent[c].tp, h->tcp.tp.id);
	answer(h, a, 100, NULL);
	answer(h, a, 180, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 1); /* 100 is not relayed */
	assert_int_equal(h_count_sent(h, "SIP/2.0 180"), 1);
	answer(h, b, 486, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 486"), 0); /* kept for best-response */
	assert_int_equal(h_count_sent(h, "ACK sip:bob@198.18.0.4:5070"), 1);
	answer(h, c, 200, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 1);
	/* Branch a had a provisional: it gets a CANCEL; it answers 487. */
	cancel = nth_sent(h, "CANCEL sip:bob@198.18.0.3 ", 0);
	assert_true(cancel >= 0);
	answer(h, cancel, 200, NULL);
	answer(h, a, 487, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 487"), 0);
	assert_int_equal(comp.done, 1);
	assert_int_equal(comp.done_status, 200);
	/* A retransmitted 2xx after the context is gone still goes up (16.7 step 5). */
	answer(h, c, 200, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 2);
	free(inv);
}

/* Best response: 6xx beats all, then the lowest class; 503 goes up as 500. */
static void test_best_response(void **state)
{
	struct harness *h = *state;
	char *r1 = upstream("MESSAGE", "z9hG4bKbest1", "", 70);
	char *r2 = upstream("MESSAGE", "z9hG4bKbest2", "", 70);
	char *r3 = upstream("MESSAGE", "z9hG4bKbest3", "", 70);
	int a, b;

	comp.n_targets = 2;
	comp.targets[0].uri = STR_LIT("sip:bob@198.18.0.3");
	comp.targets[1].uri = STR_LIT("sip:bob@198.18.0.4");
	h_input(h, false, 5062, r1);
	a = nth_sent(h, "MESSAGE sip:bob@198.18.0.3", 0);
	b = nth_sent(h, "MESSAGE sip:bob@198.18.0.4", 0);
	answer(h, a, 503, NULL);
	answer(h, b, 404, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 404"), 1);
	assert_int_equal(comp.done_status, 404);

	h_input(h, false, 5062, r2);
	a = nth_sent(h, "MESSAGE sip:bob@198.18.0.3", 1);
	b = nth_sent(h, "MESSAGE sip:bob@198.18.0.4", 1);
	answer(h, a, 603, NULL);
	answer(h, b, 302, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 603"), 1);

	h_input(h, false, 5062, r3);
	a = nth_sent(h, "MESSAGE sip:bob@198.18.0.3", 2);
	b = nth_sent(h, "MESSAGE sip:bob@198.18.0.4", 2);
	answer(h, a, 503, NULL);
	answer(h, b, 503, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 500"), 1);
	assert_int_equal(comp.done_status, 500);
	assert_int_equal(comp.done, 3);
	free(r1);
	free(r2);
	free(r3);
}

/* 16.7 step 7: the 401 upstream carries every branch's challenge. */
static void test_challenge_aggregation(void **state)
{
	struct harness *h = *state;
	char *req = upstream("REGISTER", "z9hG4bKagg", "", 70);
	int a, b, up;

	comp.n_targets = 2;
	comp.targets[0].uri = STR_LIT("sip:reg@198.18.0.3");
	comp.targets[1].uri = STR_LIT("sip:reg@198.18.0.4");
	h_input(h, false, 5062, req);
	a = nth_sent(h, "REGISTER sip:reg@198.18.0.3", 0);
	b = nth_sent(h, "REGISTER sip:reg@198.18.0.4", 0);
	answer(h, a, 401, "WWW-Authenticate: Digest realm=\"one\"\r\n");
	answer(h, b, 401, "WWW-Authenticate: Digest realm=\"two\"\r\n");
	up = nth_sent(h, "SIP/2.0 401", 0);
	assert_true(up >= 0);
	assert_non_null(strstr(h->sent[up].msg, "realm=\"one\""));
	assert_non_null(strstr(h->sent[up].msg, "realm=\"two\""));
	free(req);
}

/* A swallowed final counts as 500. */
static void test_swallow(void **state)
{
	struct harness *h = *state;
	char *req = upstream("MESSAGE", "z9hG4bKsw", "", 70);

	comp.swallow_503 = true;
	h_input(h, false, 5062, req);
	answer(h, nth_sent(h, "MESSAGE", 0), 503, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 503"), 0);
	assert_int_equal(h_count_sent(h, "SIP/2.0 500"), 1);
	free(req);
}

/* RFC 4320 4.2: when every branch times out, no 408 goes up for a non-INVITE. */
static void test_nonivite_timeout(void **state)
{
	struct harness *h = *state;
	char *req = upstream("OPTIONS", "z9hG4bKto", "", 70);

	h_input(h, false, 5062, req);
	h_advance(h, 32000);
	assert_int_equal(comp.done, 1);
	assert_int_equal(comp.done_status, 0);
	assert_int_equal(h_count_sent(h, "SIP/2.0 408"), 0);
	free(req);
}

/* An INVITE branch that never answers: 408 upstream after Timer B. */
static void test_invite_timeout(void **state)
{
	struct harness *h = *state;
	char *req = upstream("INVITE", "z9hG4bKito", "", 70);

	h_input(h, false, 5062, req);
	h_advance(h, 32000);
	assert_int_equal(h_count_sent(h, "SIP/2.0 408"), 1);
	assert_int_equal(comp.done_status, 408);
	free(req);
}

/*
 * The final op: the component answers 480 when no branch answered. A
 * non-INVITE that timed out gets it (instead of nothing), an INVITE that
 * timed out gets it instead of 408, a branch that answered 486 is relayed
 * as it is, and the outcome counts what the branches came to.
 */
static void test_final_status_hook(void **state)
{
	struct harness *h = *state;
	char *r1 = upstream("MESSAGE", "z9hG4bKfin1", "", 70);
	char *r2 = upstream("INVITE", "z9hG4bKfin2", "", 70);
	char *r3 = upstream("MESSAGE", "z9hG4bKfin3", "", 70);
	char *r4 = upstream("MESSAGE", "z9hG4bKfin4", "", 70);

	comp.unanswered_code = 480;
	h_input(h, false, 5062, r1);
	h_advance(h, 32000);
	assert_int_equal(comp.finals, 1);
	assert_int_equal(comp.outcome.user, 77);
	assert_false(comp.outcome.invite);
	assert_int_equal(comp.outcome.status, 0); /* the core would send nothing (RFC 4320) */
	assert_false(comp.outcome.answered);
	assert_int_equal(comp.outcome.n_timeout, 1);
	assert_int_equal(h_count_sent(h, "SIP/2.0 480 Temporarily Unavailable"), 1);
	assert_int_equal(comp.done_status, 480);

	h_input(h, false, 5062, r2);
	h_advance(h, 32000);
	assert_true(comp.outcome.invite);
	assert_int_equal(comp.outcome.status, 408);
	assert_int_equal(h_count_sent(h, "SIP/2.0 408"), 0);
	assert_int_equal(h_count_sent(h, "SIP/2.0 480"), 2); /* (its retransmissions come later) */
	assert_int_equal(comp.done_status, 480);

	/* Two bindings: one answers 486, the other times out: the 486 goes up. */
	comp.n_targets = 2;
	comp.targets[1].uri = STR_LIT("sip:bob@198.18.0.4");
	h_input(h, false, 5062, r3);
	answer(h, nth_sent(h, "MESSAGE sip:bob@198.18.0.4", 0), 486, NULL);
	h_advance(h, 32000);
	assert_true(comp.outcome.answered);
	assert_int_equal(comp.outcome.status, 486);
	assert_int_equal(comp.outcome.n_answered, 1);
	assert_int_equal(comp.outcome.n_timeout, 1);
	assert_int_equal(h_count_sent(h, "SIP/2.0 486"), 1);
	assert_int_equal(comp.done_status, 486);

	/* Both unreachable (no branch starts): 480, not 500. */
	comp.targets[0].uri = STR_LIT("sip:bob@nowhere.example");
	comp.targets[1].uri = STR_LIT("sip:bob@nowhere-else.example");
	h_input(h, false, 5062, r4);
	assert_int_equal(comp.last_rc, -ENETUNREACH);
	assert_int_equal(comp.outcome.n_unreachable, 2);
	assert_int_equal(comp.outcome.status, 500);
	assert_int_equal(h_count_sent(h, "SIP/2.0 500"), 0);
	assert_int_equal(comp.done_status, 480);
	assert_int_equal(comp.finals, 4);
	assert_int_equal(comp.done, 4);
	assert_int_equal(sip_proxy_live(comp.px), 0);
	free(r1);
	free(r2);
	free(r3);
	free(r4);
}

/* 16.7 step 6: among equals, a response a branch sent beats a timeout the core stands in for. */
static void test_best_prefers_answers(void **state)
{
	struct harness *h = *state;
	char *req = upstream("MESSAGE", "z9hG4bKpref", "", 70);

	comp.n_targets = 2;
	comp.targets[1].uri = STR_LIT("sip:bob@198.18.0.4");
	h_input(h, false, 5062, req);
	answer(h, nth_sent(h, "MESSAGE sip:bob@198.18.0.4", 0), 404, NULL);
	h_advance(h, 32000);
	assert_int_equal(h_count_sent(h, "SIP/2.0 404"), 1);
	assert_int_equal(comp.done_status, 404);
	free(req);
}

/* 16.8: a branch quiet after a provisional gets a CANCEL when Timer C fires. */
static void test_timer_c(void **state)
{
	struct harness *h = *state;
	char *req = upstream("INVITE", "z9hG4bKtc", "", 70);
	int i;

	h_input(h, false, 5062, req);
	i = nth_sent(h, "INVITE sip:bob@198.18.0.3", 0);
	answer(h, i, 180, NULL);
	h_advance(h, 100000);
	answer(h, i, 183, NULL); /* restarts C */
	h_advance(h, 180999);
	assert_int_equal(h_count_sent(h, "CANCEL"), 0);
	h_advance(h, 1);
	assert_int_equal(h_count_sent(h, "CANCEL"), 1);
	answer(h, nth_sent(h, "CANCEL", 0), 200, NULL);
	answer(h, i, 487, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 487"), 1);
	free(req);
}

/* 16.10: CANCEL from upstream cancels the branches; their 487 goes up. */
static void test_upstream_cancel(void **state)
{
	struct harness *h = *state;
	char *inv = upstream("INVITE", "z9hG4bKuc", "", 70);
	char *cancel = upstream("CANCEL", "z9hG4bKuc", "", 70);
	int i;

	h_input(h, false, 5062, inv);
	i = nth_sent(h, "INVITE sip:bob@198.18.0.3", 0);
	answer(h, i, 180, NULL);
	h_input(h, false, 5062, cancel);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 1); /* to the CANCEL */
	assert_int_equal(h_count_sent(h, "CANCEL sip:bob@198.18.0.3"), 1);
	answer(h, nth_sent(h, "CANCEL", 0), 200, NULL);
	answer(h, i, 487, NULL);
	assert_int_equal(h_count_sent(h, "SIP/2.0 487"), 1);
	assert_int_equal(comp.done_status, 487);
	free(inv);
	free(cancel);
}

/* 16.6 step 6: a next hop without lr is a strict router. */
static void test_strict_next_hop(void **state)
{
	struct harness *h = *state;
	char *req = upstream("MESSAGE", "z9hG4bKsr", "Route: <sip:198.18.0.6>\r\n", 70);
	int i;

	comp.targets[0].uri = STR_NULL;
	h_input(h, false, 5062, req);
	i = nth_sent(h, "MESSAGE", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(h->sent[i].msg, "MESSAGE sip:198.18.0.6 SIP/2.0\r\n"));
	assert_non_null(strstr(h->sent[i].msg, "Route: <sip:bob@example.com>\r\n"));
	assert_null(strstr(h->sent[i].msg, "Route: <sip:198.18.0.6>"));
	free(req);
}

/* 16.4: a Request-URI of ours (a strict router before us): the last Route becomes it. */
static void test_strict_previous_hop(void **state)
{
	struct harness *h = *state;
	char *req;
	int i;

	assert_int_equal(asprintf(&req,
				  "MESSAGE sip:" H_LOCAL ";lr SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP " H_PEER ":5062;branch=z9hG4bKsp\r\n"
				  "Max-Forwards: 70\r\n"
				  "Route: <sip:198.18.0.7;lr>, <sip:carol@198.18.0.8>\r\n"
				  "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:carol@example.com>\r\n"
				  "Call-ID: sp@x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n") > 0,
			 1);
	comp.targets[0].uri = STR_NULL;
	h_input(h, false, 5062, req);
	i = nth_sent(h, "MESSAGE", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(h->sent[i].msg, "MESSAGE sip:carol@198.18.0.8 SIP/2.0\r\n"));
	assert_non_null(strstr(h->sent[i].msg, "Route: <sip:198.18.0.7;lr>\r\n"));
	free(req);
}

/* Pre-loaded routes (a binding's Path) and a flow given by the component. */
static void test_preloaded_and_flow(void **state)
{
	struct harness *h = *state;
	char *req = upstream("MESSAGE", "z9hG4bKpl", "", 70);
	int i;

	comp.targets[0].uri = STR_LIT("sip:ue@198.18.0.9:5070");
	comp.targets[0].routes[0] = STR_LIT("<sip:term@198.18.0.10;lr>");
	comp.targets[0].n_routes = 1;
	h_input(h, false, 5062, req);
	i = nth_sent(h, "MESSAGE", 0);
	assert_non_null(strstr(h->sent[i].msg, "Route: <sip:term@198.18.0.10;lr>\r\n"));
	{
		union sip_sockaddr want;

		sip_sockaddr_parse(STR_LIT("198.18.0.10"), 5060, &want);
		assert_true(sip_sockaddr_equal(&h->sent[i].to, &want));
	}
	free(req);
	/* A flow overrides the next hop (the UE's registered flow at the P-CSCF). */
	req = upstream("MESSAGE", "z9hG4bKfl", "", 70);
	comp.targets[0].n_routes = 0;
	sip_flow_init(&comp.targets[0].flow);
	comp.targets[0].flow.proto = SIP_TRANSPORT_UDP;
	sip_sockaddr_parse(STR_LIT("198.18.0.11:6000"), 0, &comp.targets[0].flow.remote);
	h_input(h, false, 5062, req);
	i = nth_sent(h, "MESSAGE", 1);
	assert_int_equal(sip_sockaddr_port(&h->sent[i].to), 6000);
	free(req);
}

/* A next hop that cannot be resolved: 500 upstream (503 for the branch, 16.9). */
static void test_unreachable(void **state)
{
	struct harness *h = *state;
	char *req = upstream("MESSAGE", "z9hG4bKun", "", 70);

	comp.targets[0].uri = STR_LIT("sip:bob@nowhere.example");
	h_input(h, false, 5062, req);
	assert_int_equal(comp.last_rc, -ENETUNREACH);
	assert_int_equal(h_count_sent(h, "SIP/2.0 500"), 1);
	assert_int_equal(sip_proxy_live(comp.px), 0);
	free(req);
}

/* ACK for a 2xx: no transaction, forwarded statelessly with our Via. */
static void test_stateless_ack(void **state)
{
	struct harness *h = *state;
	char *ack = upstream("ACK", "z9hG4bKack2xx", "Route: <sip:198.18.0.3;lr>\r\n", 70);
	int i;

	h_input(h, false, 5062, ack);
	assert_int_equal(comp.last_rc, 0);
	i = nth_sent(h, "ACK", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(h->sent[i].msg, "Via: SIP/2.0/UDP " H_LOCAL ":5060;branch=z9hG4bK"));
	assert_non_null(strstr(h->sent[i].msg, "Max-Forwards: 69\r\n"));
	free(ack);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_forwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_invite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_best_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenge_aggregation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swallow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonivite_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_status_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_best_prefers_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_next_hop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_previous_hop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preloaded_and_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stateless_ack, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
