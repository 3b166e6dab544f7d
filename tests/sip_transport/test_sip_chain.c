/*
 * Three stacks in one process and one loop, over real loopback sockets: a
 * UA, a stateful proxy (the proxy core) and a registrar-like UAS, the way
 * the lab chains UE, P-CSCF and S-CSCF:
 *
 *     ua --UDP--> proxy --TCP--> uas
 *
 * REGISTER goes through and its 200 comes back; an INVITE is cancelled by
 * the UA and the CANCEL travels hop by hop (16.10); the proxy's TCP
 * connection to the UAS is opened once and reused. The UA side uses the
 * IMS UE timers through a per-transport override.
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

#include "sip/print.h"
#include "sip/proxy.h"
#include "sip/stack.h"

struct chain {
	struct loop *loop;
	struct sip_stack *ua, *px_st, *uas;
	struct sip_proxy *px;
	union sip_sockaddr px_udp, uas_tcp;
	char uas_uri[64];
	/* ua */
	unsigned ua_final;
	unsigned ua_provisional;
	unsigned ua_failures;
	/* uas */
	unsigned uas_requests;
	unsigned uas_cancels;
	sip_txn_id uas_invite;
	char uas_via_seen[512];
};

static struct chain ch;

/* ---- UAS: answers REGISTER 200, rings on INVITE, 487 on CANCEL ---- */

static void uas_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	const struct sip_hdr *via2;

	if (!stx)
		return;
	ch.uas_requests++;
	/* The proxy's Via on top, the UA's below it with received/rport filled. */
	via2 = sip_msg_hdr_next(rx->msg, sip_msg_hdr(rx->msg, SIP_HDR_VIA));
	if (via2)
		snprintf(ch.uas_via_seen, sizeof(ch.uas_via_seen), "%.*s", STR_FMT(via2->value));
	if (rx->msg->method == SIP_METHOD_INVITE) {
		ch.uas_invite = stx;
		sip_server_txn_respond(st, stx, 180, STR_NULL);
		return;
	}
	sip_server_txn_respond(st, stx, 200, STR_NULL);
}

static void uas_cancel(struct sip_stack *st, void *ctx, sip_txn_id inv, uint64_t ref,
		       struct sip_rx *rx)
{
	ch.uas_cancels++;
	sip_server_txn_respond(st, inv, 487, STR_NULL);
}

static const struct sip_tu_ops uas_tu = { .request = uas_request, .cancel = uas_cancel };

/* ---- proxy: everything to the UAS over TCP ---- */

static void px_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct sip_proxy_target t = { .uri = str_from_cstr(ch.uas_uri) };
	struct sip_proxy_req req = { .stx = stx, .targets = &t, .n_targets = 1 };

	if (!stx) {
		sip_proxy_forward_stateless(ch.px, rx);
		return;
	}
	assert_int_equal(sip_proxy_forward(ch.px, &req, NULL), 0);
}

static void px_cancel(struct sip_stack *st, void *ctx, sip_txn_id inv, uint64_t ref,
		      struct sip_rx *rx)
{
	sip_proxy_cancel(ch.px, ref);
}

static const struct sip_tu_ops px_tu = { .request = px_request, .cancel = px_cancel };

/* ---- UA ---- */

static void ua_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			struct sip_rx *rx)
{
	if (rx->msg->status < 200)
		ch.ua_provisional++;
	else
		ch.ua_final = rx->msg->status;
}

static void ua_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	ch.ua_failures++;
}

static const struct sip_client_ops ua_ops = { .response = ua_response, .failure = ua_failure };
static const struct sip_tu_ops ua_tu = { 0 };

static void pump_until(const unsigned *v, unsigned want)
{
	for (int i = 0; i < 400 && *v < want; i++)
		loop_run_once(ch.loop, 5);
}

static int setup(void **state)
{
	uint32_t id;

	memset(&ch, 0, sizeof(ch));
	if (loop_create(&ch.loop, NULL) < 0 || sip_stack_create(&ch.ua, ch.loop, NULL, &ua_tu, NULL) < 0 ||
	    sip_stack_create(&ch.px_st, ch.loop, NULL, &px_tu, NULL) < 0 ||
	    sip_stack_create(&ch.uas, ch.loop, NULL, &uas_tu, NULL) < 0 ||
	    sip_proxy_create(&ch.px, ch.px_st, NULL, NULL) < 0)
		return -1;
	/* The UA's side of the world runs on the IMS UE timers (TS 24.229 7.7). */
	if (sip_stack_listen_text(ch.ua, "udp:127.0.0.1:0", &id) < 0)
		return -1;
	sip_tpset_get(sip_stack_transports(ch.ua), id)->timers = &sip_timers_ims_ue;
	if (sip_stack_listen_text(ch.px_st, "udp:127.0.0.1:0", &id) < 0)
		return -1;
	ch.px_udp = sip_tpset_get(sip_stack_transports(ch.px_st), id)->local;
	if (sip_stack_listen_text(ch.px_st, "tcp:127.0.0.1:0", NULL) < 0 ||
	    sip_stack_listen_text(ch.uas, "tcp:127.0.0.1:0", &id) < 0)
		return -1;
	ch.uas_tcp = sip_tpset_get(sip_stack_transports(ch.uas), id)->local;
	snprintf(ch.uas_uri, sizeof(ch.uas_uri), "sip:registrar@127.0.0.1:%u;transport=tcp",
		 sip_sockaddr_port(&ch.uas_tcp));
	*state = &ch;
	return 0;
}

static int teardown(void **state)
{
	sip_proxy_destroy(ch.px);
	sip_stack_destroy(ch.ua);
	sip_stack_destroy(ch.px_st);
	sip_stack_destroy(ch.uas);
	loop_destroy(ch.loop);
	return 0;
}

static int ua_send(const char *method, unsigned cseq, sip_txn_id *id)
{
	char msg[512];
	struct sip_client_req req = { .ops = &ua_ops, .ctx = &ch };

	snprintf(msg, sizeof(msg),
		 "%s sip:alice@example.com SIP/2.0\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@example.com>;tag=ua1\r\n"
		 "To: <sip:alice@example.com>\r\n"
		 "Call-ID: chain-%s@127.0.0.1\r\n"
		 "CSeq: %u %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, method, cseq, method);
	req.msg = str_from_cstr(msg);
	sip_flow_to(&req.dest, SIP_TRANSPORT_UDP, &ch.px_udp);
	return sip_client_txn_start(ch.ua, &req, id);
}

static void test_register_through_proxy(void **state)
{
	struct sip_txn_info info;
	sip_txn_id id;

	(void)state;
	assert_int_equal(ua_send("REGISTER", 1, &id), 0);
	/* The UA transport's timers apply: its transaction runs on T1 = 2 s. */
	assert_int_equal(sip_txn_info(ch.ua, id, &info), 0);
	pump_until(&ch.ua_final, 200);
	assert_int_equal(ch.ua_final, 200);
	assert_int_equal(ch.uas_requests, 1);
	/* The UA asked for rport over UDP; the proxy filled it in before forwarding. */
	assert_non_null(strstr(ch.uas_via_seen, ";rport="));
	assert_non_null(strstr(ch.uas_via_seen, ";received=127.0.0.1"));
	/* A second request reuses the proxy's TCP connection. */
	ch.ua_final = 0;
	assert_int_equal(ua_send("OPTIONS", 2, NULL), 0);
	pump_until(&ch.ua_final, 200);
	assert_int_equal(ch.ua_final, 200);
	assert_int_equal(sip_tpset_stats(sip_stack_transports(ch.px_st))->conns_opened, 1);
	assert_int_equal(sip_tpset_stats(sip_stack_transports(ch.uas))->conns_accepted, 1);
}

static void test_cancel_through_proxy(void **state)
{
	sip_txn_id inv;

	(void)state;
	assert_int_equal(ua_send("INVITE", 1, &inv), 0);
	pump_until(&ch.ua_provisional, 2); /* the proxy's 100 and the UAS's 180 */
	assert_true(ch.uas_invite != 0);
	assert_int_equal(sip_client_txn_cancel(ch.ua, inv, NULL), 0);
	pump_until(&ch.ua_final, 487);
	assert_int_equal(ch.uas_cancels, 1);
	assert_int_equal(ch.ua_final, 487);
	assert_int_equal(ch.ua_failures, 0);
	assert_int_equal(sip_proxy_live(ch.px), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_through_proxy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_through_proxy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
