/*
 * Transactions (RFC 3261 17, RFC 6026) on the manual clock: every state of
 * the four machines, every timer, retransmission doubling up to T2, the
 * timeouts, absorbed retransmissions, matching (17.1.3, 17.2.3 with the
 * RFC 2543 rule), CANCEL, and the checks the stack makes on arrival.
 *
 * Times below are milliseconds after the harness started; with RFC 3261
 * defaults T1 = 500, T2 = 4000, T4 = 5000, 64*T1 = 32000, D = 32000.
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
#include "sip/via.h"

static const char uac_invite[] =
	"INVITE sip:bob@" H_PEER " SIP/2.0\r\n"
	"Max-Forwards: 70\r\n"
	"Route: <sip:" H_PEER ";lr>\r\n"
	"From: <sip:alice@example.com>;tag=a1\r\n"
	"To: <sip:bob@example.com>\r\n"
	"Call-ID: inv1@" H_LOCAL "\r\n"
	"CSeq: 7 INVITE\r\n"
	"Content-Length: 0\r\n\r\n";

static const char uac_options[] =
	"OPTIONS sip:bob@" H_PEER " SIP/2.0\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:alice@example.com>;tag=a1\r\n"
	"To: <sip:bob@example.com>\r\n"
	"Call-ID: opt1@" H_LOCAL "\r\n"
	"CSeq: 1 OPTIONS\r\n"
	"Content-Length: 0\r\n\r\n";

static int setup(void **state)
{
	*state = h_new(NULL, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

/* Inject a response of `code` to the i-th sent message. */
static void respond_to(struct harness *h, unsigned i, unsigned code, bool tcp)
{
	char *r = h_response_to(h, i, code);

	assert_non_null(r);
	h_input(h, tcp, 5060, r);
	free(r);
}

static void assert_sent_at(struct harness *h, const char *prefix, const uint64_t *at, unsigned n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < h->n_sent; i++) {
		if (strncmp(h->sent[i].msg, prefix, strlen(prefix)) != 0)
			continue;
		assert_true(k < n);
		if (h->sent[i].at_ms != at[k])
			fail_msg("%s #%u sent at %llu, expected %llu", prefix, k,
				 (unsigned long long)h->sent[i].at_ms, (unsigned long long)at[k]);
		k++;
	}
	assert_int_equal(k, n);
}

/* ------------------------------------------------------------------ */
/* INVITE client                                                      */

/* Calling: A doubles without a cap (17.1.1.2), B ends it at 64*T1. */
static void test_ict_timeout_udp(void **state)
{
	struct harness *h = *state;
	static const uint64_t at[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	struct sip_txn_info info;
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.kind, SIP_TXN_ICT);
	assert_int_equal(info.state, SIP_TXN_S_CALLING);
	/* Our Via is on top, with the cookie and rport (RFC 3581 client). */
	assert_non_null(strstr(h->sent[0].msg, "\r\nVia: SIP/2.0/UDP " H_LOCAL ":5060;branch=z9hG4bK"));
	assert_non_null(strstr(h->sent[0].msg, ";rport\r\n"));
	h_advance(h, 31999);
	assert_int_equal(h_count_ev(h, H_FAILURE), 0);
	h_advance(h, 1);
	assert_sent_at(h, "INVITE", at, 7);
	assert_int_equal(h_count_ev(h, H_FAILURE), 1);
	assert_int_equal(h_last_ev(h, H_FAILURE)->err, -ETIMEDOUT);
	assert_int_equal(h_last_ev(h, H_FAILURE)->at_ms, 32000);
	assert_int_equal(h_last_ev(h, H_FAILURE)->ref, 42);
	assert_int_equal(sip_txn_info(h->st, id, &info), -ENOENT);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	assert_int_equal(sip_stack_stats(h->st)->txn_timeouts, 1);
}

/* Proceeding stops A and B; a non-2xx final gets an ACK, and every
 * retransmission of it the same ACK; D ends Completed. */
static void test_ict_proceeding_completed_udp(void **state)
{
	struct harness *h = *state;
	struct sip_txn_info info;
	sip_txn_id id;
	int ack;

	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	h_advance(h, 100);
	respond_to(h, 0, 180, false);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_PROCEEDING);
	h_advance(h, 60000);
	assert_int_equal(h_count_sent(h, "INVITE"), 1); /* no A in Proceeding, no B either */
	assert_int_equal(h_count_ev(h, H_FAILURE), 0);
	respond_to(h, 0, 486, false);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_COMPLETED);
	ack = h_last_sent(h, "ACK ");
	assert_true(ack >= 0);
	/* 17.1.1.3: R-URI, top Via (same branch), Route, From, To of the
	 * response (with its tag), Call-ID, CSeq number with ACK. */
	assert_non_null(strstr(h->sent[ack].msg, "ACK sip:bob@" H_PEER " SIP/2.0\r\n"));
	assert_non_null(strstr(h->sent[ack].msg, "Route: <sip:" H_PEER ";lr>\r\n"));
	assert_non_null(strstr(h->sent[ack].msg, "To: <sip:bob@example.com>;tag=uas\r\n"));
	assert_non_null(strstr(h->sent[ack].msg, "CSeq: 7 ACK\r\n"));
	assert_non_null(strstr(h->sent[ack].msg, "branch=z9hG4bK"));
	assert_int_equal(h_count_ev(h, H_RESPONSE), 2);
	respond_to(h, 0, 486, false);
	respond_to(h, 0, 486, false);
	assert_int_equal(h_count_sent(h, "ACK "), 3);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 2); /* retransmissions absorbed */
	h_advance(h, 31999);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	h_advance(h, 1);
	assert_int_equal(sip_txn_info(h->st, id, &info), -ENOENT);
}

/* 2xx: Accepted (RFC 6026), every 2xx to the TU until M; no ACK from the transaction. */
static void test_ict_accepted(void **state)
{
	struct harness *h = *state;
	struct sip_txn_info info;
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	h_advance(h, 700);
	respond_to(h, 0, 200, false);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_ACCEPTED);
	respond_to(h, 0, 200, false);
	respond_to(h, 0, 180, false);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 2);
	assert_int_equal(h_count_sent(h, "ACK"), 0);
	assert_int_equal(h_count_sent(h, "INVITE"), 2); /* the one A at 500 */
	h_advance(h, 32000);
	assert_int_equal(sip_txn_info(h->st, id, &info), -ENOENT);
}

/* Over a reliable transport: no A, B still runs; D is 0. */
static void test_ict_tcp(void **state)
{
	struct harness *h = *state;
	struct sip_txn_info info;
	sip_txn_id id, id2;

	assert_int_equal(h_client(h, true, uac_invite, &id), 0);
	assert_null(strstr(h->sent[0].msg, "rport"));
	assert_non_null(strstr(h->sent[0].msg, "Via: SIP/2.0/TCP "));
	h_advance(h, 31999);
	assert_int_equal(h_count_sent(h, "INVITE"), 1);
	h_advance(h, 1);
	assert_int_equal(h_last_ev(h, H_FAILURE)->err, -ETIMEDOUT);

	assert_int_equal(h_client(h, true, uac_invite, &id2), 0);
	respond_to(h, h->n_sent - 1, 404, true);
	assert_int_equal(h_count_sent(h, "ACK"), 1);
	assert_int_equal(sip_txn_info(h->st, id2, &info), -ENOENT);
}

/* IMS UE timers (TS 24.229 7.7): T1 = 2 s, so B at 128 s. */
static void test_ict_ims_timers(void **state)
{
	struct harness *h = h_new(&sip_timers_ims_ue, NULL, NULL);
	static const uint64_t at[] = { 0, 2000, 6000, 14000, 30000, 62000, 126000 };
	sip_txn_id id;

	(void)state;
	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	h_advance(h, 128000);
	assert_sent_at(h, "INVITE", at, 7);
	assert_int_equal(h_last_ev(h, H_FAILURE)->at_ms, 128000);
	h_free(h);
}

/* Timers per transport: the UE-facing side of a P-CSCF runs on the IMS UE values. */
static void test_transport_timers(void **state)
{
	struct harness *h = *state;
	static const uint64_t at[] = { 0, 2000, 6000, 14000, 30000, 62000, 126000 };
	char *req = h_request("MESSAGE", "z9hG4bKtt", "", NULL, 1);
	struct sip_txn_info info;
	sip_txn_id id, stx;

	h->udp.tp.timers = &sip_timers_ims_ue;
	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	/* The TCP side keeps the stack's RFC 3261 values: B at 32 s. */
	assert_int_equal(h_client(h, true, uac_invite, NULL), 0);
	h_input(h, false, 5062, req);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), 0);
	h_advance(h, 32000);
	assert_int_equal(h_count_ev(h, H_FAILURE), 1); /* TCP's Timer B only */
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0); /* J is not 32 s here */
	h_advance(h, 96000);
	assert_int_equal(h_count_ev(h, H_FAILURE), 2);
	{
		unsigned k = 0;

		for (unsigned i = 0; i < h->n_sent; i++)
			if (h->sent[i].tp == h->udp.tp.id && strncmp(h->sent[i].msg, "INVITE", 6) == 0)
				assert_int_equal(h->sent[i].at_ms, at[k++]);
		assert_int_equal(k, 7);
	}
	/* The server transaction over UDP waits out J = 64 * 2 s. */
	assert_int_equal(sip_txn_info(h->st, stx, &info), -ENOENT);
	free(req);
}

/* 9.1: a CANCEL before any provisional waits for one, then goes with the INVITE's branch. */
static void test_ict_cancel(void **state)
{
	struct harness *h = *state;
	sip_txn_id id, cid = 1;
	int inv, cancel;

	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	assert_int_equal(sip_client_txn_cancel(h->st, id, &cid), 0);
	assert_int_equal(cid, 0);
	assert_int_equal(h_count_sent(h, "CANCEL"), 0);
	assert_int_equal(sip_client_txn_cancel(h->st, id, NULL), -EALREADY);
	h_advance(h, 200);
	respond_to(h, 0, 180, false);
	cancel = h_last_sent(h, "CANCEL");
	assert_true(cancel >= 0);
	inv = 0;
	{
		/* Same branch, one Via, CSeq number with CANCEL, Route kept. */
		const char *b = strstr(h->sent[inv].msg, "branch=");
		char branch[64];

		sscanf(b, "branch=%63[^;\r]", branch);
		assert_non_null(strstr(h->sent[cancel].msg, branch));
	}
	assert_non_null(strstr(h->sent[cancel].msg, "CSeq: 7 CANCEL\r\n"));
	assert_non_null(strstr(h->sent[cancel].msg, "Route: <sip:" H_PEER ";lr>\r\n"));
	assert_non_null(strstr(h->sent[cancel].msg, "CANCEL sip:bob@" H_PEER " SIP/2.0\r\n"));
	/* The CANCEL is a NICT of its own: 200 to it, then 487 to the INVITE. */
	respond_to(h, (unsigned)cancel, 200, false);
	respond_to(h, 0, 487, false);
	assert_int_equal(h_count_sent(h, "ACK"), 1);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 3);
	assert_int_equal(sip_client_txn_cancel(h->st, id, NULL), -EALREADY);
}

/* 9.1: no final response 64*T1 after the CANCEL: the INVITE counts as cancelled. */
static void test_ict_cancel_unanswered(void **state)
{
	struct harness *h = *state;
	struct sip_txn_info info;
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	respond_to(h, 0, 183, false);
	h_advance(h, 1000);
	assert_int_equal(sip_client_txn_cancel(h->st, id, NULL), 0);
	h_advance(h, 31999);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_PROCEEDING);
	h_advance(h, 1);
	assert_int_equal(sip_txn_info(h->st, id, &info), -ENOENT);
	/* The CANCEL's own transaction timed out too (F), then the INVITE. */
	assert_int_equal(h_count_ev(h, H_FAILURE), 2);
	assert_int_equal(h_last_ev(h, H_FAILURE)->id, id);
	assert_int_equal(h_last_ev(h, H_FAILURE)->err, -ETIMEDOUT);
}

/* ------------------------------------------------------------------ */
/* non-INVITE client                                                  */

/* Trying: E doubles up to T2; F at 64*T1. */
static void test_nict_timeout_udp(void **state)
{
	struct harness *h = *state;
	static const uint64_t at[] = { 0,     500,   1500,  3500,  7500, 11500,
				       15500, 19500, 23500, 27500, 31500 };
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_options, &id), 0);
	h_advance(h, 32000);
	assert_sent_at(h, "OPTIONS", at, 11);
	assert_int_equal(h_last_ev(h, H_FAILURE)->err, -ETIMEDOUT);
	assert_int_equal(h_last_ev(h, H_FAILURE)->at_ms, 32000);
	assert_int_equal(sip_stack_stats(h->st)->retransmissions, 10);
}

/* Proceeding: E keeps running and continues at T2 (17.1.2.2). */
static void test_nict_proceeding(void **state)
{
	struct harness *h = *state;
	static const uint64_t at[] = { 0, 500, 4500, 8500 };
	struct sip_txn_info info;
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_options, &id), 0);
	h_advance(h, 200);
	respond_to(h, 0, 100, false);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_PROCEEDING);
	h_advance(h, 9000);
	assert_sent_at(h, "OPTIONS", at, 4);
	respond_to(h, 0, 200, false);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_COMPLETED);
	/* Completed absorbs; K = T4. */
	respond_to(h, 0, 200, false);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 2);
	assert_int_equal(info.absorbed, 0);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	assert_int_equal(info.absorbed, 1);
	h_advance(h, 4999);
	assert_int_equal(sip_txn_info(h->st, id, &info), 0);
	h_advance(h, 1);
	assert_int_equal(sip_txn_info(h->st, id, &info), -ENOENT);
	assert_int_equal(h_count_sent(h, "OPTIONS"), 4);
}

/* Over TCP: no E; K is 0. */
static void test_nict_tcp(void **state)
{
	struct harness *h = *state;
	struct sip_txn_info info;
	sip_txn_id id;

	assert_int_equal(h_client(h, true, uac_options, &id), 0);
	h_advance(h, 20000);
	assert_int_equal(h_count_sent(h, "OPTIONS"), 1);
	respond_to(h, 0, 200, true);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 1);
	assert_int_equal(sip_txn_info(h->st, id, &info), -ENOENT);
}

/* A transport error: on the first send the caller gets it; later the TU. */
static void test_nict_transport_error(void **state)
{
	struct harness *h = *state;
	sip_txn_id id = 99;

	h->udp.fail_send = -EHOSTUNREACH;
	assert_int_equal(h_client(h, false, uac_options, &id), -EHOSTUNREACH);
	assert_int_equal(id, 99);
	assert_int_equal(h_count_ev(h, H_FAILURE), 0);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);

	h->udp.fail_send = 0;
	assert_int_equal(h_client(h, false, uac_options, &id), 0);
	h->udp.fail_send = -ENETUNREACH;
	h_advance(h, 500);
	assert_int_equal(h_last_ev(h, H_FAILURE)->err, -ENETUNREACH);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
}

/* A detached client transaction runs on but reports nothing. */
static void test_client_detach(void **state)
{
	struct harness *h = *state;
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_options, &id), 0);
	sip_client_txn_detach(h->st, id);
	respond_to(h, 0, 200, false);
	h_advance(h, 40000);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 0);
	assert_int_equal(h_count_ev(h, H_FAILURE), 0);
	assert_int_equal(h_count_sent(h, "OPTIONS"), 1);
}

/* Requests the client side refuses: ACK, a response, a request without CSeq. */
static void test_client_refuses(void **state)
{
	struct harness *h = *state;

	assert_int_equal(h_client(h, false, "ACK sip:x SIP/2.0\r\n\r\n", NULL), -EINVAL);
	assert_int_equal(h_client(h, false, "SIP/2.0 200 OK\r\n\r\n", NULL), -EINVAL);
	assert_int_equal(h_client(h, false,
				  "OPTIONS sip:x SIP/2.0\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\n"
				  "Call-ID: x\r\nContent-Length: 0\r\n\r\n",
				  NULL),
			 -EINVAL);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	assert_int_equal(h->n_sent, 0);
}

/* 17.1.3: a response matches by branch AND CSeq method. */
static void test_client_matching(void **state)
{
	struct harness *h = *state;
	char *r, *p;
	sip_txn_id id;

	assert_int_equal(h_client(h, false, uac_invite, &id), 0);
	r = h_response_to(h, 0, 200);
	p = strstr(r, "CSeq: 7 INVITE");
	memcpy(p, "CSeq: 7 CANCEL", 14);
	h_input(h, false, 5060, r);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 0);
	/* Not ours by transaction, but our sent-by: a stray response for the TU. */
	assert_int_equal(h_count_ev(h, H_STRAY), 1);
	free(r);
	/* Another branch, our sent-by: stray too. */
	r = h_response_to(h, 0, 180);
	p = strstr(r, "branch=z9hG4bK");
	p[strlen("branch=z9hG4bK")] ^= 1;
	h_input(h, false, 5060, r);
	assert_int_equal(h_count_ev(h, H_STRAY), 2);
	/* Another branch and someone else's sent-by: dropped (18.1.2). */
	p = strstr(r, "Via: SIP/2.0/UDP " H_LOCAL);
	memcpy(p + strlen("Via: SIP/2.0/UDP "), "198.18.9.9", 10);
	h_input(h, false, 5060, r);
	assert_int_equal(h_count_ev(h, H_STRAY), 2);
	assert_int_equal(sip_stack_stats(h->st)->dropped, 1);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 0);
	free(r);
	/* The right branch and method: the transaction's. */
	r = h_response_to(h, 0, 180);
	h_input(h, false, 5060, r);
	assert_int_equal(h_count_ev(h, H_RESPONSE), 1);
	free(r);
}

/* ------------------------------------------------------------------ */
/* INVITE server                                                      */

/* Proceeding: 100 Trying after 200 ms of TU silence, resent on each retransmission. */
static void test_ist_trying(void **state)
{
	struct harness *h = *state;
	char *inv = h_request("INVITE", "z9hG4bKist1", "", NULL, 1);
	struct sip_txn_info info;

	h_input(h, false, 5062, inv);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	assert_int_equal(sip_txn_info(h->st, h->last_stx, &info), 0);
	assert_int_equal(info.kind, SIP_TXN_IST);
	assert_int_equal(info.state, SIP_TXN_S_PROCEEDING);
	h_advance(h, 199);
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 0);
	h_advance(h, 1);
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 1);
	/* No To tag on the 100 (8.2.6.2 leaves it out), sent to the Via port. */
	assert_null(strstr(h->sent[0].msg, ";tag=\r\n"));
	assert_int_equal(sip_sockaddr_port(&h->sent[0].to), 5062);
	h_advance(h, 10000);
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 1);
	h_input(h, false, 5062, inv);
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 2);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	free(inv);
}

/* Completed: G doubles up to T2 until H; no ACK is a failure for the TU. */
static void test_ist_no_ack(void **state)
{
	struct harness *h = *state;
	static const uint64_t at[] = { 0,     500,   1500,  3500,  7500, 11500,
				       15500, 19500, 23500, 27500, 31500 };
	char *inv = h_request("INVITE", "z9hG4bKist2", "", NULL, 1);
	sip_txn_id stx;

	h_input(h, false, 5062, inv);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_respond(h->st, stx, 486, STR_NULL), 0);
	h_advance(h, 32000);
	assert_sent_at(h, "SIP/2.0 486", at, 11);
	assert_int_equal(h_last_ev(h, H_SERVER_FAILURE)->err, -ETIMEDOUT);
	assert_int_equal(h_last_ev(h, H_SERVER_FAILURE)->at_ms, 32000);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 500, STR_NULL), -ENOENT);
	free(inv);
}

/* ACK: Confirmed, G stops, ACKs absorbed until I = T4. */
static void test_ist_confirmed(void **state)
{
	struct harness *h = *state;
	char *inv = h_request("INVITE", "z9hG4bKist3", "", NULL, 1);
	char *ack;
	struct sip_txn_info info;
	sip_txn_id stx;
	const char *tag;

	h_input(h, false, 5062, inv);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_respond(h->st, stx, 603, STR_NULL), 0);
	tag = strstr(h->sent[0].msg, "To: <sip:bob@example.com>;tag=");
	assert_non_null(tag);
	{
		char t[32];

		sscanf(tag, "To: <sip:bob@example.com>;tag=%31[^\r]", t);
		ack = h_request("ACK", "z9hG4bKist3", "", t, 1);
	}
	h_advance(h, 600);
	h_input(h, false, 5062, ack);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_CONFIRMED);
	h_advance(h, 4000);
	assert_int_equal(h_count_sent(h, "SIP/2.0 603"), 2); /* 0 and 500: G stopped */
	h_input(h, false, 5062, ack);
	h_input(h, false, 5062, inv);
	assert_int_equal(h_count_sent(h, "SIP/2.0 603"), 2);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1); /* the ACK never reaches the TU */
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.absorbed, 2);
	h_advance(h, 999);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	h_advance(h, 1);
	assert_int_equal(sip_txn_info(h->st, stx, &info), -ENOENT); /* I: 600 + 5000 */
	free(inv);
	free(ack);
}

/* 2xx: Accepted (RFC 6026): INVITE retransmissions absorbed, ACK to the TU, L ends it. */
static void test_ist_accepted(void **state)
{
	struct harness *h = *state;
	char *inv = h_request("INVITE", "z9hG4bKist4", "", NULL, 1);
	char *ack = h_request("ACK", "z9hG4bKist4", "", "x", 1);
	struct sip_txn_info info;
	sip_txn_id stx;

	h_input(h, false, 5062, inv);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_respond(h->st, stx, 180, STR_NULL), 0);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), 0);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_ACCEPTED);
	/* The TU retransmits its 2xx itself (13.3.1.4); the transaction lets it. */
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), 0);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 486, STR_NULL), -EPROTO);
	h_input(h, false, 5062, inv);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 2);
	h_input(h, false, 5062, ack);
	assert_int_equal(h_count_ev(h, H_REQUEST), 2);
	assert_string_equal(h_last_ev(h, H_REQUEST)->method, "ACK");
	assert_int_equal(h_last_ev(h, H_REQUEST)->id, 0);
	/* Both provisional and final carry the same To tag. */
	{
		const char *a = strstr(strstr(h->sent[0].msg, "To: "), ";tag=");
		const char *b = strstr(strstr(h->sent[1].msg, "To: "), ";tag=");

		assert_non_null(a);
		assert_non_null(b);
		assert_memory_equal(a, b, 21);
	}
	h_advance(h, 31999);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	h_advance(h, 1);
	assert_int_equal(sip_txn_info(h->st, stx, &info), -ENOENT);
	free(inv);
	free(ack);
}

/* Over TCP: no G; I is 0 (Confirmed ends at once). */
static void test_ist_tcp(void **state)
{
	struct harness *h = *state;
	char *inv = h_request("INVITE", "z9hG4bKist5", "", NULL, 1);
	char *ack;
	char tag[32];
	sip_txn_id stx;
	struct sip_txn_info info;

	h_input(h, true, 40000, inv);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_respond(h->st, stx, 480, STR_NULL), 0);
	sscanf(strstr(strstr(h->sent[0].msg, "To: "), ";tag="), ";tag=%31[^\r]", tag);
	ack = h_request("ACK", "z9hG4bKist5", "", tag, 1);
	h_advance(h, 10000);
	assert_int_equal(h_count_sent(h, "SIP/2.0 480"), 1);
	h_input(h, true, 40000, ack);
	assert_int_equal(sip_txn_info(h->st, stx, &info), -ENOENT);
	free(inv);
	free(ack);
}

/* 9.2: CANCEL is answered 200 by the stack; the TU hears of it and answers 487. */
static void test_ist_cancel(void **state)
{
	struct harness *h = *state;
	char *inv = h_request("INVITE", "z9hG4bKist6", "", NULL, 1);
	char *cancel = h_request("CANCEL", "z9hG4bKist6", "", NULL, 1);
	char *stray = h_request("CANCEL", "z9hG4bKnone", "", NULL, 1);
	sip_txn_id stx;

	h_input(h, false, 5062, inv);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_set_ref(h->st, stx, 77), 0);
	h_input(h, false, 5062, cancel);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 1);
	assert_non_null(strstr(h->sent[h_last_sent(h, "SIP/2.0 200")].msg, "CSeq: 1 CANCEL"));
	assert_int_equal(h_count_ev(h, H_CANCEL), 1);
	assert_int_equal(h_last_ev(h, H_CANCEL)->id, stx);
	assert_int_equal(h_last_ev(h, H_CANCEL)->ref, 77);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 487, STR_NULL), 0);
	/* CANCEL retransmission: answered from its transaction, no second TU call. */
	h_input(h, false, 5062, cancel);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 2);
	assert_int_equal(h_count_ev(h, H_CANCEL), 1);
	/* A CANCEL for nothing: 481. */
	h_input(h, false, 5062, stray);
	assert_int_equal(h_count_sent(h, "SIP/2.0 481"), 1);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	free(inv);
	free(cancel);
	free(stray);
}

/* ------------------------------------------------------------------ */
/* non-INVITE server                                                  */

/* Trying absorbs, Proceeding resends the provisional, Completed the final; J = 64*T1. */
static void test_nist_states(void **state)
{
	struct harness *h = *state;
	char *req = h_request("REGISTER", "z9hG4bKnist1", "", NULL, 1);
	struct sip_txn_info info;
	sip_txn_id stx;

	h_input(h, false, 5062, req);
	stx = h->last_stx;
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.kind, SIP_TXN_NIST);
	assert_int_equal(info.state, SIP_TXN_S_TRYING);
	h_input(h, false, 5062, req);
	assert_int_equal(h->n_sent, 0);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 100, STR_NULL), 0);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_PROCEEDING);
	h_input(h, false, 5062, req);
	assert_int_equal(h_count_sent(h, "SIP/2.0 100"), 2);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), 0);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), -EPROTO);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 180, STR_NULL), -EPROTO);
	h_input(h, false, 5062, req);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 2);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	assert_true(sip_stack_stats(h->st)->refused_events >= 2);
	h_advance(h, 31999);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	h_advance(h, 1);
	assert_int_equal(sip_txn_info(h->st, stx, &info), -ENOENT);
	free(req);
}

/* TCP: J is 0; a TU answer from inside its callback works too. */
static void test_nist_tcp_auto(void **state)
{
	struct harness *h = *state;
	char *req = h_request("OPTIONS", "z9hG4bKnist2", "", NULL, 1);
	struct sip_txn_info info;

	h->auto_status = 200;
	h_input(h, true, 40000, req);
	assert_int_equal(h_count_sent(h, "SIP/2.0 200"), 1);
	assert_int_equal(sip_txn_info(h->st, h->last_stx, &info), -ENOENT);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	free(req);
}

/* Server matching (17.2.3): the method counts (ACK as INVITE), sent-by counts. */
static void test_server_matching(void **state)
{
	struct harness *h = *state;
	char *a = h_request("OPTIONS", "z9hG4bKsame", "", NULL, 1);
	char *b = h_request("MESSAGE", "z9hG4bKsame", "", NULL, 1);
	char *c = h_request("OPTIONS", "z9hG4bKsame", "", NULL, 1);
	char *p = strstr(c, H_PEER ":5062");

	p[strlen(H_PEER ":506")] = '3'; /* another sent-by port */
	h_input(h, false, 5062, a);
	h_input(h, false, 5062, b);
	h_input(h, false, 5062, c);
	assert_int_equal(h_count_ev(h, H_REQUEST), 3);
	h_input(h, false, 5062, a);
	assert_int_equal(h_count_ev(h, H_REQUEST), 3);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 3);
	free(a);
	free(b);
	free(c);
}

/* The RFC 2543 rule: no magic cookie. */
static void test_server_rfc2543(void **state)
{
	struct harness *h = *state;
	char *inv = h_request("INVITE", "old1", "", NULL, 5);
	char *other = h_request("INVITE", "old1", "", NULL, 6);
	char *ack_wrong = h_request("ACK", "old1", "", "wrong", 5);
	char *ack;
	char tag[32];
	struct sip_txn_info info;
	sip_txn_id stx;

	h_input(h, false, 5062, inv);
	stx = h->last_stx;
	h_input(h, false, 5062, inv);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	h_input(h, false, 5062, other); /* another CSeq: a new transaction */
	assert_int_equal(h_count_ev(h, H_REQUEST), 2);
	assert_int_equal(sip_server_txn_respond(h->st, stx, 404, STR_NULL), 0);
	sscanf(strstr(strstr(h->sent[h_last_sent(h, "SIP/2.0 404")].msg, "To: "), ";tag="),
	       ";tag=%31[^\r]", tag);
	ack = h_request("ACK", "old1", "", tag, 5);
	/* An ACK with another To tag does not match (it goes to the TU as an end-to-end ACK). */
	h_input(h, false, 5062, ack_wrong);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_COMPLETED);
	h_input(h, false, 5062, ack);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_CONFIRMED);
	free(inv);
	free(other);
	free(ack);
	free(ack_wrong);
}

/* ------------------------------------------------------------------ */
/* What the stack does on arrival                                     */

/* received / rport (RFC 3581): the response goes to the source port. */
static void test_via_rport(void **state)
{
	struct harness *h = *state;
	char *req = h_request("OPTIONS", "z9hG4bKrp", ";rport", NULL, 1);
	struct str kept;

	h->auto_status = 200;
	h_input(h, false, 41000, req); /* sent-by port 5062, source port 41000 */
	assert_int_equal(h->n_sent, 1);
	assert_int_equal(sip_sockaddr_port(&h->sent[0].to), 41000);
	assert_non_null(strstr(h->sent[0].msg,
			       "Via: SIP/2.0/UDP " H_PEER ":5062;branch=z9hG4bKrp;rport=41000;received=" H_PEER "\r\n"));
	assert_int_equal(sip_server_txn_request(h->st, h->last_stx, &kept), 0);
	assert_non_null(memmem(kept.s, kept.len, "rport=41000;received=", 21));
	free(req);
}

/* received without rport: the address changes, the port stays the Via's. */
static void test_via_received(void **state)
{
	struct harness *h = *state;
	char *req = h_request("OPTIONS", "z9hG4bKrc", "", NULL, 1);
	char *p = strstr(req, H_PEER ":5062");

	memcpy(p, "198.18.7.7", 10); /* sent-by not the source address */
	h->auto_status = 200;
	h_input(h, false, 41000, req);
	assert_int_equal(h->n_sent, 1);
	assert_int_equal(sip_sockaddr_port(&h->sent[0].to), 5062);
	assert_non_null(strstr(h->sent[0].msg, "198.18.7.7:5062;branch=z9hG4bKrc;received=" H_PEER "\r\n"));
	free(req);
}

/* A broken request gets 400 with the reason in a Warning; one we cannot answer is dropped. */
static void test_bad_requests(void **state)
{
	struct harness *h = *state;
	char *cseq = h_request("OPTIONS", "z9hG4bKb1", "", NULL, 1);
	char *p = strstr(cseq, "CSeq: 1 OPTIONS");

	memcpy(p, "CSeq: 1 INVITE ", 15);
	h_input(h, false, 5062, cseq);
	assert_int_equal(h_count_sent(h, "SIP/2.0 400"), 1);
	assert_non_null(strstr(h->sent[0].msg, "Warning: 399 " H_LOCAL ":5060 \"CSeq method differs"));
	assert_int_equal(h_count_ev(h, H_REQUEST), 0);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	h_input(h, false, 5062,
		"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP " H_PEER ";branch=z9hG4bKb2\r\n"
		"From: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n_sent, 1); /* no To: cannot answer */
	assert_int_equal(sip_stack_stats(h->st)->dropped, 1);
	h_input(h, false, 5062, "\x01garbage\r\n\r\n");
	h_input(h, false, 5062, "NOT SIP AT ALL\r\n\r\n");
	assert_int_equal(h->n_sent, 1);
	assert_int_equal(sip_tpset_stats(sip_stack_transports(h->st))->rx_dropped, 1);
	assert_int_equal(sip_stack_stats(h->st)->bad_requests, 1);
	free(cseq);
}

/* Overload: above max_txns new requests get 503 and Retry-After. */
static void test_overload(void **state)
{
	struct harness *h = *state;
	char *a = h_request("OPTIONS", "z9hG4bKo1", "", NULL, 1);
	char *b = h_request("OPTIONS", "z9hG4bKo2", "", NULL, 1);

	((struct sip_stack_config *)sip_stack_config(h->st))->max_txns = 1;
	h_input(h, false, 5062, a);
	h_input(h, false, 5062, b);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	assert_int_equal(h_count_sent(h, "SIP/2.0 503"), 1);
	assert_non_null(strstr(h->sent[0].msg, "Retry-After: 5\r\n"));
	free(a);
	free(b);
}

/* Shutdown: new requests get 503; the stack waits for its transactions. */
static void test_shutdown(void **state)
{
	struct harness *h = *state;
	char *a = h_request("OPTIONS", "z9hG4bKs1", "", NULL, 1);
	char *b = h_request("OPTIONS", "z9hG4bKs2", "", NULL, 1);
	sip_txn_id stx, cid;

	h_input(h, false, 5062, a);
	stx = h->last_stx;
	assert_int_equal(h_client(h, false, uac_options, &cid), 0);
	loop_shutdown(h->loop);
	assert_true(loop_shutting_down(h->loop));
	h_input(h, false, 5062, b);
	assert_int_equal(h_count_sent(h, "SIP/2.0 503"), 1);
	assert_int_equal(h_client(h, false, uac_options, NULL), -EAGAIN);
	/* The TU answers; the client gets its response: both done, nothing waits for J/K. */
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), 0);
	respond_to(h, (unsigned)h_last_sent(h, "OPTIONS"), 200, false);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	free(a);
	free(b);
}

/* Shutdown grace over: an unanswered request gets 503, a client fails -ECANCELED. */
static void test_shutdown_expire(void **state)
{
	struct harness *h = *state;
	char *a = h_request("INVITE", "z9hG4bKs3", "", NULL, 1);

	h_input(h, false, 5062, a);
	assert_int_equal(h_client(h, false, uac_options, NULL), 0);
	loop_set_shutdown_grace(h->loop, 1000);
	loop_shutdown(h->loop);
	h_advance(h, 1000);
	assert_int_equal(h_count_sent(h, "SIP/2.0 503"), 1);
	assert_int_equal(h_last_ev(h, H_FAILURE)->err, -ECANCELED);
	assert_int_equal(h_last_ev(h, H_SERVER_FAILURE)->err, -ECANCELED);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	free(a);
}

/* ------------------------------------------------------------------ */
/* Dropping a request (sip_server_txn_drop)                           */

/*
 * A dropped request is never answered: no 100 Trying, no final response;
 * its retransmissions are absorbed without reaching the TU again, for
 * Timer J over UDP; over TCP the transaction ends at once.
 */
static void test_drop(void **state)
{
	struct harness *h = *state;
	char *msg = h_request("MESSAGE", "z9hG4bKdrop1", "", NULL, 1);
	char *inv = h_request("INVITE", "z9hG4bKdrop2", "", NULL, 1);
	char *tcp = h_request("MESSAGE", "z9hG4bKdrop3", "", NULL, 1);
	char *ans = h_request("MESSAGE", "z9hG4bKdrop4", "", NULL, 1);
	struct sip_txn_info info;
	sip_txn_id stx;

	/* Non-INVITE over UDP. */
	h_input(h, false, 5062, msg);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_drop(h->st, stx), 0);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_DROPPED);
	h_input(h, false, 5062, msg);
	h_input(h, false, 5062, msg);
	assert_int_equal(h_count_ev(h, H_REQUEST), 1);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.absorbed, 2);
	/* Answering is over for it. */
	assert_int_equal(sip_server_txn_respond(h->st, stx, 200, STR_NULL), -EPROTO);
	h_advance(h, 64 * 500 - 1);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	h_advance(h, 1); /* Timer J */
	assert_int_equal(sip_txn_info(h->st, stx, &info), -ENOENT);
	assert_int_equal(sip_stack_stats(h->st)->txn_live, 0);
	/* After Timer J the same request is a new one. */
	h_input(h, false, 5062, msg);
	assert_int_equal(h_count_ev(h, H_REQUEST), 2);
	assert_int_equal(sip_server_txn_drop(h->st, h->last_stx), 0);

	/* INVITE: not even the 100 Trying the stack sends after 200 ms. */
	h_input(h, false, 5062, inv);
	stx = h->last_stx;
	assert_int_equal(sip_server_txn_drop(h->st, stx), 0);
	h_advance(h, 1000);
	h_input(h, false, 5062, inv);
	assert_int_equal(h_count_ev(h, H_REQUEST), 3);
	assert_int_equal(sip_txn_info(h->st, stx, &info), 0);
	assert_int_equal(info.state, SIP_TXN_S_DROPPED);

	/* Over TCP nothing retransmits: the transaction ends at once. */
	h_input(h, true, 5062, tcp);
	assert_int_equal(sip_server_txn_drop(h->st, h->last_stx), 0);
	assert_int_equal(sip_txn_info(h->st, h->last_stx, &info), -ENOENT);

	/* Nothing was ever sent. */
	assert_int_equal(h->n_sent, 0);

	/* Answered already: nothing to drop; unknown ids and clients: -ENOENT. */
	h_input(h, false, 5062, ans);
	assert_int_equal(sip_server_txn_respond(h->st, h->last_stx, 404, STR_NULL), 0);
	assert_int_equal(sip_server_txn_drop(h->st, h->last_stx), -EPROTO);
	assert_int_equal(sip_server_txn_drop(h->st, 12345), -ENOENT);
	assert_int_equal(h_client(h, false, uac_options, &stx), 0);
	assert_int_equal(sip_server_txn_drop(h->st, stx), -ENOENT);
	free(msg);
	free(inv);
	free(tcp);
	free(ans);
}

/* ------------------------------------------------------------------ */
/* Tables                                                             */

/* Every event a state lists leads somewhere sensible; timers match the RFC. */
static void test_tables(void **state)
{
	struct sip_txn_transition t;
	enum sip_txn_event tm[2];

	(void)state;
	assert_true(sip_txn_lookup(SIP_TXN_ICT, SIP_TXN_S_CALLING, SIP_TXN_EV_TIMER_A, &t));
	assert_int_equal(t.next, SIP_TXN_S_CALLING);
	assert_false(sip_txn_lookup(SIP_TXN_ICT, SIP_TXN_S_CALLING, SIP_TXN_EV_RX_ACK, &t));
	assert_false(sip_txn_lookup(SIP_TXN_NIST, SIP_TXN_S_COMPLETED, SIP_TXN_EV_TU_2XX, &t));
	assert_int_equal(sip_txn_state_timers(SIP_TXN_IST, SIP_TXN_S_COMPLETED, tm), 2);
	assert_int_equal(tm[0], SIP_TXN_EV_TIMER_G);
	assert_int_equal(tm[1], SIP_TXN_EV_TIMER_H);
	/* Every state but Init and Terminated of every kind can be aborted (shutdown). */
	for (int k = 0; k < SIP_TXN_KIND__COUNT; k++)
		for (int s = SIP_TXN_S_CALLING; s < SIP_TXN_S_TERMINATED; s++) {
			bool used = false;

			for (int e = 0; e < SIP_TXN_EV__COUNT; e++)
				used |= sip_txn_lookup(k, s, e, NULL);
			if (used && !sip_txn_lookup(k, s, SIP_TXN_EV_TU_ABORT, NULL))
				fail_msg("%s %s has no TU_ABORT", sip_txn_kind_name(k),
					 sip_txn_state_name(s));
		}
}

/* The defaults are the figures of sip_timers.tsv (RFC 3261 and TS 24.229 columns). */
static void test_timer_defaults(void **state)
{
	const char *dir = getenv("SIMREG_TESTDATA");
	char path[512], line[512];
	FILE *f;
	unsigned seen = 0;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/sip_timers.tsv", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[16], rfc[64], cn[64], ue[64];
		const struct { const char *name; uint32_t rfc, ue; } want[] = {
			{ "T1", sip_timers_rfc3261.t1, sip_timers_ims_ue.t1 },
			{ "T2", sip_timers_rfc3261.t2, sip_timers_ims_ue.t2 },
			{ "T4", sip_timers_rfc3261.t4, sip_timers_ims_ue.t4 },
		};

		if (sscanf(line, "%15[^\t]\t%63[^\t]\t%63[^\t]\t%63[^\t]", name, rfc, cn, ue) != 4)
			continue;
		for (unsigned i = 0; i < 3; i++) {
			double v_rfc, v_ue;
			char u_rfc[8], u_ue[8];

			if (strcmp(name, want[i].name) != 0)
				continue;
			assert_int_equal(sscanf(rfc, "%lf %7s", &v_rfc, u_rfc), 2);
			assert_int_equal(sscanf(ue, "%lf %7s", &v_ue, u_ue), 2);
			assert_int_equal((uint32_t)(v_rfc * (strcmp(u_rfc, "s") == 0 ? 1000 : 1)),
					 want[i].rfc);
			assert_int_equal((uint32_t)(v_ue * (strcmp(u_ue, "s") == 0 ? 1000 : 1)),
					 want[i].ue);
			seen++;
		}
		/* Timer D: ">32 s UDP" and ">128 s" at the UE. */
		if (strcmp(name, "D") == 0) {
			assert_non_null(strstr(rfc, ">32 s"));
			assert_non_null(strstr(ue, ">128 s"));
			assert_int_equal(sip_timers_rfc3261.td, 32000);
			assert_int_equal(sip_timers_ims_ue.td, 128000);
			seen++;
		}
	}
	fclose(f);
	assert_int_equal(seen, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ict_timeout_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_proceeding_completed_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_tcp, setup, teardown),
		cmocka_unit_test(test_ict_ims_timers),
		cmocka_unit_test_setup_teardown(test_transport_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_cancel_unanswered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_timeout_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_proceeding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_transport_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_matching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_trying, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_no_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_confirmed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nist_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nist_tcp_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_matching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_rfc2543, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_rport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_timer_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
