/*
 * lib/diameter/dpeer.c against a scripted server on a real loopback TCP
 * socket: the test accepts the connection and reads and writes Diameter
 * messages itself (built and read with wire.h), while the dpeer runs on a
 * loop with a manual clock. Covers the capabilities exchange and its
 * refusals, answers matched by hop-by-hop identifier (also when they
 * arrive one octet at a time), timeouts and late answers, watchdogs both
 * ways, the peer's DPR and unknown requests, malformed input, reconnection,
 * and the DPR at shutdown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"
#include "diameter/dpeer.h"
#include "diameter/wire.h"

#define APP 16777216u
#define VENDOR 10415u

struct fixture {
	struct loop_manual_clock clock;
	struct loop *loop;
	struct dpeer *peer;
	int lfd;                        /* listening */
	int fd;                         /* the accepted connection, or -1 */
	struct sockaddr_storage addr;
	uint8_t msg[65536];             /* the last message read by the server */
	struct dw_header h;
	/* answers handed to the callback */
	unsigned calls;
	int last_err;
	uint64_t last_tag;
	uint32_t last_result;
};

/* --- the scripted server --------------------------------------------------------- */

static void pump(struct fixture *f)
{
	for (int i = 0; i < 5; i++)
		loop_run_once(f->loop, 0);
}

/* Accept the dpeer's connection (it is in the backlog once connect() ran). */
static void srv_accept(struct fixture *f)
{
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };

	pump(f);
	assert_int_equal(poll(&p, 1, 2000), 1);
	f->fd = accept(f->lfd, NULL, NULL);
	assert_true(f->fd >= 0);
	/* Each write its own segment at once, even one octet (no Nagle). */
	assert_int_equal(setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)), 0);
}

/* Read exactly n octets, pumping the loop meanwhile; false at EOF. */
static bool srv_read_n(struct fixture *f, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		ssize_t r;

		pump(f);
		if (poll(&p, 1, 20) != 1)
			continue;
		r = read(f->fd, buf + got, n - got);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return false;
		assert_true(r > 0);
		got += (size_t)r;
	}
	return true;
}

/* Read one whole message into f->msg and f->h. */
static void srv_read(struct fixture *f)
{
	assert_true(srv_read_n(f, f->msg, DW_HEADER_LEN));
	assert_int_equal(dw_header_read(f->msg, DW_HEADER_LEN, &f->h), 0);
	assert_true(f->h.len <= sizeof(f->msg));
	assert_true(srv_read_n(f, f->msg + DW_HEADER_LEN, f->h.len - DW_HEADER_LEN));
}

/* The connection was closed by the dpeer: EOF within 2 s. */
static void srv_expect_eof(struct fixture *f)
{
	uint8_t b[4096];

	for (int i = 0; i < 100; i++) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		ssize_t r;

		pump(f);
		if (poll(&p, 1, 20) != 1)
			continue;
		r = read(f->fd, b, sizeof(b));
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			close(f->fd);
			f->fd = -1;
			return;
		}
	}
	fail_msg("the dpeer did not close the connection");
}

/* Write, and give the loop a moment to take it in. */
static void srv_write(struct fixture *f, const void *p, size_t len)
{
	assert_int_equal(write(f->fd, p, len), (ssize_t)len);
	loop_run_once(f->loop, 20);
	pump(f);
}

static uint32_t find_u32(const uint8_t *msg, size_t len, uint32_t code, uint32_t vendor)
{
	struct dw_iter it;
	struct dw_avp a;
	uint32_t v = 0xdeadbeef;

	dw_iter_msg(&it, msg, len);
	assert_int_equal(dw_find(&it, code, vendor, &a), 0);
	assert_int_equal(dw_u32(&a, &v), 0);
	return v;
}

static struct str find_str(const uint8_t *msg, size_t len, uint32_t code)
{
	struct dw_iter it;
	struct dw_avp a;

	dw_iter_msg(&it, msg, len);
	assert_int_equal(dw_find(&it, code, 0, &a), 0);
	return dw_str(&a);
}

/* An answer from the server: result, Origin-Host, and the application when app. */
static void srv_answer(struct fixture *f, const struct dw_header *req, uint32_t result,
		       const char *host, bool app)
{
	struct buf b;
	size_t m, g;

	buf_init(&b);
	m = dw_msg_begin(&b, 0, req->code, req->app, req->hbh, req->e2e);
	dw_put_u32(&b, DW_AVP_RESULT_CODE, DW_AVP_MANDATORY, 0, result);
	dw_put_str(&b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, str_from_cstr(host));
	dw_put_str(&b, DW_AVP_ORIGIN_REALM, DW_AVP_MANDATORY, 0, STR_LIT("test"));
	if (app) {
		g = dw_group_begin(&b, DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID, DW_AVP_MANDATORY, 0);
		dw_put_u32(&b, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, VENDOR);
		dw_put_u32(&b, DW_AVP_AUTH_APPLICATION_ID, DW_AVP_MANDATORY, 0, APP);
		dw_group_end(&b, g);
	}
	dw_msg_end(&b, m);
	assert_int_equal(buf_error(&b), 0);
	srv_write(f, b.p, b.len);
	buf_free(&b);
}

/* A request from the server: code, with a Session-Id when sid. */
static void srv_request(struct fixture *f, uint32_t code, uint32_t hbh, const char *sid)
{
	struct buf b;
	size_t m;

	buf_init(&b);
	m = dw_msg_begin(&b, DW_REQUEST, code, code >= 300 ? APP : 0, hbh, 0x1234);
	if (sid)
		dw_put_str(&b, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, str_from_cstr(sid));
	dw_put_str(&b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, STR_LIT("hss.test"));
	dw_put_str(&b, DW_AVP_ORIGIN_REALM, DW_AVP_MANDATORY, 0, STR_LIT("test"));
	dw_msg_end(&b, m);
	srv_write(f, b.p, b.len);
	buf_free(&b);
}

/* Read the CER and answer it; the dpeer is open afterwards. */
static void handshake(struct fixture *f)
{
	srv_accept(f);
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_CAPABILITIES_EXCHANGE);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", true);
	pump(f);
	assert_true(dpeer_is_open(f->peer));
}

/* --- the client side ---------------------------------------------------------------- */

static void on_answer(void *ctx, uint64_t tag, const struct dpeer_answer *a)
{
	struct fixture *f = ctx;
	struct dw_iter it;
	bool exp;

	f->calls++;
	f->last_err = a->err;
	f->last_tag = tag;
	f->last_result = 0;
	if (!a->err) {
		dw_iter_msg(&it, a->msg, a->len);
		assert_int_equal(dw_result(&it, &f->last_result, &exp), 0);
	}
}

/* Send a request (a Cx-like MAR with a Session-Id); returns dpeer_send's result. */
static int client_send(struct fixture *f, uint64_t tag)
{
	struct buf b;
	size_t m;
	int rc;

	buf_init(&b);
	m = dw_msg_begin(&b, DW_REQUEST | DW_PROXIABLE, 303, APP, 0, 0);
	dw_put_str(&b, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, STR_LIT("scscf.test;1;1"));
	dw_msg_end(&b, m);
	rc = dpeer_send(f->peer, b.p, b.len, on_answer, f, tag);
	buf_free(&b);
	return rc;
}

/* A listener on the loopback address of `family`, and a dpeer started towards it. */
static int setup_family(void **state, int family)
{
	struct fixture *f = calloc(1, sizeof(*f));
	socklen_t len = sizeof(f->addr);
	struct dpeer_config cfg = {
		.identity = "scscf.test",
		.realm = "test",
		.peer_identity = "hss.test",
		.vendor_id = VENDOR,
		.app_id = APP,
		.timeout_ms = 500,
		.watchdog_ms = 3000,
	};

	assert_non_null(f);
	f->fd = -1;
	loop_manual_clock_init(&f->clock, 1000000000);
	assert_int_equal(loop_create(&f->loop, &f->clock.clock), 0);
	f->lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&f->addr;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&f->addr;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&f->addr, len), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&f->addr, &len), 0);
	cfg.address = f->addr;
	assert_int_equal(dpeer_start(f->loop, &cfg, &f->peer), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_family(state, AF_INET);
}

static int setup6(void **state)
{
	return setup_family(state, AF_INET6);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dpeer_free(f->peer);
	if (f->fd >= 0)
		close(f->fd);
	close(f->lfd);
	loop_destroy(f->loop);
	free(f);
	return 0;
}

/* --- tests -------------------------------------------------------------------------- */

/* The CER says who we are and what we speak (RFC 6733 5.3.1). */
static void test_cer(void **state)
{
	struct fixture *f = *state;
	struct dw_iter it, g;
	struct dw_avp a, b;
	uint32_t v;

	assert_false(dpeer_is_open(f->peer));
	assert_int_equal(client_send(f, 1), -ENOTCONN);
	srv_accept(f);
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_CAPABILITIES_EXCHANGE);
	assert_true(f->h.flags & DW_REQUEST);
	assert_int_equal(f->h.app, 0);
	assert_true(str_eq_cstr(find_str(f->msg, f->h.len, DW_AVP_ORIGIN_HOST), "scscf.test"));
	assert_true(str_eq_cstr(find_str(f->msg, f->h.len, DW_AVP_ORIGIN_REALM), "test"));
	assert_true(str_eq_cstr(find_str(f->msg, f->h.len, DW_AVP_PRODUCT_NAME), "simreg"));
	assert_int_equal(find_u32(f->msg, f->h.len, DW_AVP_SUPPORTED_VENDOR_ID, 0), VENDOR);
	/* Host-IP-Address: AddressType 1, then 127.0.0.1. */
	dw_iter_msg(&it, f->msg, f->h.len);
	assert_int_equal(dw_find(&it, DW_AVP_HOST_IP_ADDRESS, 0, &a), 0);
	assert_int_equal(a.len, 6);
	assert_memory_equal(a.data, "\x00\x01\x7f\x00\x00\x01", 6);
	assert_true(a.flags & DW_AVP_MANDATORY);
	assert_int_equal(dw_find(&it, DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0, &a), 0);
	dw_iter_group(&g, &a);
	assert_int_equal(dw_find(&g, DW_AVP_VENDOR_ID, 0, &b), 0);
	assert_int_equal(dw_u32(&b, &v), 0);
	assert_int_equal(v, VENDOR);
	assert_int_equal(dw_find(&g, DW_AVP_AUTH_APPLICATION_ID, 0, &b), 0);
	assert_int_equal(dw_u32(&b, &v), 0);
	assert_int_equal(v, APP);
	/* Product-Name never carries M (RFC 6733 4.5). */
	assert_int_equal(dw_find(&it, DW_AVP_PRODUCT_NAME, 0, &a), 0);
	assert_false(a.flags & DW_AVP_MANDATORY);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", true);
	pump(f);
	assert_true(dpeer_is_open(f->peer));
}

/* Over IPv6 the CER's Host-IP-Address is AddressType 2 with ::1, and Cx works. */
static void test_ipv6(void **state)
{
	static const uint8_t host[18] = { 0, 2, [17] = 1 };
	struct fixture *f = *state;
	struct dw_iter it;
	struct dw_avp a;

	srv_accept(f);
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_CAPABILITIES_EXCHANGE);
	dw_iter_msg(&it, f->msg, f->h.len);
	assert_int_equal(dw_find(&it, DW_AVP_HOST_IP_ADDRESS, 0, &a), 0);
	assert_int_equal(a.len, sizeof(host));
	assert_memory_equal(a.data, host, sizeof(host));
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", true);
	pump(f);
	assert_true(dpeer_is_open(f->peer));
	assert_int_equal(client_send(f, 6), 0);
	srv_read(f);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", false);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_tag, 6);
	assert_int_equal(f->last_result, DW_SUCCESS);
}

/* A CEA that refuses, names another host or lacks the application ends the attempt. */
static void test_cea_refused(void **state)
{
	static const struct {
		uint32_t result;
		const char *host;
		bool app;
	} cases[] = {
		{ DW_UNKNOWN_PEER, "hss.test", true },
		{ DW_SUCCESS, "other.test", true },
		{ DW_SUCCESS, "hss.test", false },
	};
	struct fixture *f = *state;
	struct dpeer_stats st;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		srv_accept(f);
		srv_read(f);
		srv_answer(f, &f->h, cases[i].result, cases[i].host, cases[i].app);
		srv_expect_eof(f);
		assert_false(dpeer_is_open(f->peer));
		/* The next attempt comes after the back-off: 1 s, 2 s, 4 s. */
		loop_advance(f->loop, 1000u << i);
	}
	handshake(f);
	dpeer_get_stats(f->peer, &st);
	assert_int_equal(st.connects, 1);
}

/* Answers find their requests by hop-by-hop identifier, one octet at a time too. */
static void test_answers(void **state)
{
	struct fixture *f = *state;
	struct dw_header first, second;
	uint8_t ans[256];
	struct buf b;
	size_t m;

	handshake(f);
	assert_int_equal(client_send(f, 11), 0);
	assert_int_equal(client_send(f, 22), 0);
	srv_read(f);
	first = f->h;
	srv_read(f);
	second = f->h;
	assert_int_equal(first.code, 303);
	assert_int_not_equal(first.hbh, second.hbh);
	assert_int_not_equal(first.e2e, second.e2e);
	/* An answer to nobody changes nothing. */
	second.hbh ^= 0x00100000;
	srv_answer(f, &second, DW_SUCCESS, "hss.test", false);
	second.hbh ^= 0x00100000;
	pump(f);
	assert_int_equal(f->calls, 0);
	/* The second request's answer first, octet by octet. */
	buf_init_fixed(&b, (char *)ans, sizeof(ans));
	m = dw_msg_begin(&b, 0, second.code, second.app, second.hbh, second.e2e);
	dw_put_u32(&b, DW_AVP_RESULT_CODE, DW_AVP_MANDATORY, 0, 5001);
	dw_msg_end(&b, m);
	for (size_t i = 0; i < b.len; i++) {
		assert_int_equal(f->calls, 0);
		srv_write(f, ans + i, 1);
		pump(f);
	}
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_tag, 22);
	assert_int_equal(f->last_err, 0);
	assert_int_equal(f->last_result, 5001);
	/* The same answer again: its request is gone. */
	srv_write(f, ans, b.len);
	srv_answer(f, &first, DW_SUCCESS, "hss.test", false);
	pump(f);
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->last_tag, 11);
	assert_int_equal(f->last_result, DW_SUCCESS);
}

/* No answer within the timeout: -ETIMEDOUT once; the late answer is dropped. */
static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct dpeer_stats st;

	handshake(f);
	assert_int_equal(client_send(f, 7), 0);
	srv_read(f);
	loop_advance(f->loop, 499);
	assert_int_equal(f->calls, 0);
	loop_advance(f->loop, 1);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_err, -ETIMEDOUT);
	assert_int_equal(f->last_tag, 7);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", false);
	pump(f);
	assert_int_equal(f->calls, 1);
	dpeer_get_stats(f->peer, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.in_flight, 0);
	assert_true(dpeer_is_open(f->peer));
}

/* Tw of silence: a DWR; answered, the connection stays; unanswered, it ends. */
static void test_watchdog(void **state)
{
	struct fixture *f = *state;
	struct dpeer_stats st;

	handshake(f);
	loop_advance(f->loop, 3000);
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_DEVICE_WATCHDOG);
	assert_true(f->h.flags & DW_REQUEST);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", false);
	pump(f);
	loop_advance(f->loop, 3000);
	assert_true(dpeer_is_open(f->peer));
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_DEVICE_WATCHDOG);
	/* This one goes unanswered, with a request in flight. */
	assert_int_equal(client_send(f, 9), 0);
	srv_read(f);
	loop_advance(f->loop, 3000);
	assert_false(dpeer_is_open(f->peer));
	assert_int_equal(f->calls, 1);   /* the request's timeout came first */
	assert_int_equal(f->last_err, -ETIMEDOUT);
	srv_expect_eof(f);
	dpeer_get_stats(f->peer, &st);
	assert_int_equal(st.watchdogs_sent, 2);
	assert_int_equal(st.watchdogs_answered, 1);
	/* It comes back by itself. */
	loop_advance(f->loop, 1000);
	handshake(f);
}

/* The peer's DWR and unknown requests are answered; its DPR closes the connection. */
static void test_peer_requests(void **state)
{
	struct fixture *f = *state;
	struct dw_iter it;
	struct dw_avp a;

	handshake(f);
	srv_request(f, DW_CMD_DEVICE_WATCHDOG, 0x51, NULL);
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_DEVICE_WATCHDOG);
	assert_false(f->h.flags & DW_REQUEST);
	assert_int_equal(f->h.hbh, 0x51);
	assert_int_equal(f->h.e2e, 0x1234);
	assert_int_equal(find_u32(f->msg, f->h.len, DW_AVP_RESULT_CODE, 0), DW_SUCCESS);
	/* An RTR (304), which this client does not serve. */
	srv_request(f, 304, 0x52, "hss.test;9;9");
	srv_read(f);
	assert_int_equal(f->h.code, 304);
	assert_int_equal(f->h.app, APP);
	assert_true(f->h.flags & DW_ERROR);
	assert_int_equal(find_u32(f->msg, f->h.len, DW_AVP_RESULT_CODE, 0),
			 DW_COMMAND_UNSUPPORTED);
	assert_true(str_eq_cstr(find_str(f->msg, f->h.len, DW_AVP_SESSION_ID), "hss.test;9;9"));
	dw_iter_msg(&it, f->msg, f->h.len);
	assert_int_equal(dw_next(&it, &a), 1);
	assert_int_equal(a.code, DW_AVP_SESSION_ID); /* first, as RFC 6733 8.8 wants */
	/* DPR with a request in flight: DPA, the request fails, the connection ends. */
	assert_int_equal(client_send(f, 5), 0);
	srv_read(f);
	srv_request(f, DW_CMD_DISCONNECT_PEER, 0x53, NULL);
	srv_read(f);
	assert_int_equal(f->h.code, DW_CMD_DISCONNECT_PEER);
	assert_false(f->h.flags & DW_REQUEST);
	srv_expect_eof(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_err, -ENOTCONN);
	assert_false(dpeer_is_open(f->peer));
	loop_advance(f->loop, 1000);
	handshake(f);
}

/* A header that is not Diameter version 1 ends the connection; in-flight requests fail. */
static void test_malformed(void **state)
{
	static const uint8_t bad[20] = { 2, 0, 0, 20, 0x80, 0, 1, 0x18 };
	struct fixture *f = *state;

	handshake(f);
	assert_int_equal(client_send(f, 3), 0);
	srv_read(f);
	srv_write(f, bad, sizeof(bad));
	srv_expect_eof(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_err, -ENOTCONN);
	assert_int_equal(client_send(f, 4), -ENOTCONN);
}

/* Shutdown: the answer in flight is awaited, then DPR, then the DPA ends it. */
static void test_shutdown(void **state)
{
	struct fixture *f = *state;

	handshake(f);
	assert_int_equal(client_send(f, 8), 0);
	srv_read(f);
	loop_shutdown(f->loop);
	assert_int_equal(client_send(f, 9), -ESHUTDOWN);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", false);
	srv_read(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_err, 0);
	assert_int_equal(f->h.code, DW_CMD_DISCONNECT_PEER);
	assert_true(f->h.flags & DW_REQUEST);
	assert_int_equal(find_u32(f->msg, f->h.len, DW_AVP_DISCONNECT_CAUSE, 0), 0);
	srv_answer(f, &f->h, DW_SUCCESS, "hss.test", false);
	srv_expect_eof(f);
	assert_false(dpeer_is_open(f->peer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_cea_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
