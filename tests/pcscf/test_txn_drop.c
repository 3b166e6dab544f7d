/*
 * test_txn_drop - sip_server_txn_drop() (lib/sip/txn_drop.h): a request
 * its user drops is not answered and leaves no transaction behind; a
 * retransmission is delivered again as a new request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sip/stack.h"
#include "sip/txn_drop.h"

struct ctx {
	unsigned requests;
	int drop_rc;
};

static void on_request(struct sip_stack *st, void *c, sip_txn_id stx, struct sip_rx *rx)
{
	struct ctx *x = c;

	x->requests++;
	x->drop_rc = sip_server_txn_drop(st, stx);
}

static const struct sip_tu_ops tu = { .request = on_request };

static void test_drop(void **state)
{
	struct loop *loop;
	struct sip_stack *st;
	struct ctx x = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	socklen_t len = sizeof(to);
	/* rport: anything the stack answered would come back to fd. */
	const char msg[] = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKdrop1\r\n"
			   "From: <sip:a@ims.test>;tag=1\r\nTo: <sip:x@ims.test>\r\n"
			   "Call-ID: drop1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
			   "Content-Length: 0\r\n\r\n";
	char buf[512];
	uint32_t id;
	int fd;

	assert_int_equal(loop_create(&loop, NULL), 0);
	assert_int_equal(sip_stack_create(&st, loop, NULL, &tu, &x), 0);
	assert_int_equal(sip_stack_listen_text(st, "udp:127.0.0.1:0", &id), 0);
	to = sip_tpset_get(sip_stack_transports(st), id)->local.in;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	for (int round = 1; round <= 2; round++) {
		assert_int_equal(sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&to, len),
				 (ssize_t)sizeof(msg) - 1);
		for (int i = 0; i < 100 && x.requests < (unsigned)round; i++)
			loop_run_once(loop, 10);
		assert_int_equal(x.requests, round);
		assert_int_equal(x.drop_rc, 0);
		/* No transaction left, nothing answered. */
		assert_int_equal(sip_stack_stats(st)->txn_live, 0);
		for (int i = 0; i < 5; i++)
			loop_run_once(loop, 5);
		assert_int_equal(recv(fd, buf, sizeof(buf), 0), -1);
	}
	assert_int_equal(sip_server_txn_drop(st, 12345), -ENOENT);
	close(fd);
	sip_stack_destroy(st);
	loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_drop) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
