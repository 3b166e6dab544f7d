/*
 * The transport layer over real loopback sockets (IPv4 and IPv6): UDP with
 * and without a wildcard address, STUN binding requests, TCP framing of
 * pipelined and split messages, CRLF keepalives, connection reuse, and
 * every limit (connections, buffered bytes, idle time) closing only the
 * connection that broke it. Addresses, flows and listener specs too.
 *
 * The loop runs on a manual clock so that idle timeouts take no time;
 * descriptors are polled with loop_run_once().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "sip/stack.h"
#include "sip/stun.h"
#include "sip/transport.h"
#include "sip/via.h"

#define MS 1000000ull

struct rec {
	unsigned n;
	char first[64][80];     /* start lines */
	struct sip_flow flow[64];
	unsigned n_err;
	int err[16];
	struct sip_flow err_flow[16];
	/* Reply to every request with this text over the same flow (NULL: no). */
	const char *reply;
	struct sip_tpset *set;
	/* Close this transport from inside the next delivery. */
	uint32_t close_in_cb;
};

struct fx {
	struct loop_manual_clock clock;
	struct loop *loop;
	struct sip_tpset *set;
	struct rec rec;
};

static void on_recv(void *ctx, struct sip_rx *rx)
{
	struct rec *r = ctx;

	if (r->n < 64) {
		snprintf(r->first[r->n], sizeof(r->first[0]), "%.*s", STR_FMT(rx->msg->start_line));
		r->flow[r->n] = rx->flow;
	}
	r->n++;
	if (r->reply && rx->msg->kind == SIP_MSG_REQUEST) {
		struct sip_flow f = rx->flow;

		sip_tpset_send(r->set, &f, r->reply, strlen(r->reply));
	}
	if (r->close_in_cb) {
		sip_tpset_close(r->set, r->close_in_cb);
		r->close_in_cb = 0;
	}
}

static void on_flow_error(void *ctx, const struct sip_flow *flow, int err)
{
	struct rec *r = ctx;

	if (r->n_err < 16) {
		r->err[r->n_err] = err;
		r->err_flow[r->n_err] = *flow;
	}
	r->n_err++;
}

static struct fx *fx_new(const struct sip_tp_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sip_tp_user u = { .recv = on_recv, .flow_error = on_flow_error };

	loop_manual_clock_init(&f->clock, 1000 * MS);
	if (loop_create(&f->loop, &f->clock.clock) < 0)
		abort();
	u.ctx = &f->rec;
	if (sip_tpset_create(&f->set, f->loop, cfg, &u) < 0)
		abort();
	f->rec.set = f->set;
	return f;
}

static void fx_free(struct fx *f)
{
	sip_tpset_destroy(f->set);
	loop_destroy(f->loop);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* Run the loop until *counter reaches want (or give up after ~2 s of polling). */
static void pump_until(struct fx *f, const unsigned *counter, unsigned want)
{
	for (int i = 0; i < 400 && *counter < want; i++)
		loop_run_once(f->loop, 5);
}

static void pump(struct fx *f, int rounds)
{
	for (int i = 0; i < rounds; i++)
		loop_run_once(f->loop, 2);
}

static uint32_t listen_on(struct fx *f, const char *spec, union sip_sockaddr *bound)
{
	struct sip_listen l;
	uint32_t id;

	assert_int_equal(sip_listen_parse(str_from_cstr(spec), &l), 0);
	assert_int_equal(sip_tpset_listen(f->set, &l, &id), 0);
	if (bound)
		*bound = sip_tpset_get(f->set, id)->local;
	return id;
}

static const char options[] = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
			      "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK%u\r\n"
			      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: %u\r\n"
			      "CSeq: %u OPTIONS\r\nContent-Length: 0\r\n\r\n";

static size_t fmt_options(char *buf, size_t len, unsigned i)
{
	return (size_t)snprintf(buf, len, options, i, i, i + 1);
}

/* A client socket connected to addr; blocking, with a receive timeout. */
static int tcp_client(const union sip_sockaddr *addr)
{
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, &addr->sa, sip_sockaddr_len(addr)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

/* Read what the peer sent while pumping the loop; returns bytes read, -1 on EOF. */
static ssize_t read_pumped(struct fx *f, int fd, char *buf, size_t len)
{
	for (int i = 0; i < 100; i++) {
		ssize_t n;

		pump(f, 1);
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                          */

static void test_sockaddr(void **state)
{
	union sip_sockaddr a, b;
	char buf[SIP_SOCKADDR_STRLEN];
	struct sip_listen l;

	(void)state;
	assert_int_equal(sip_sockaddr_parse(STR_LIT("198.18.0.1:5062"), 5060, &a), 0);
	assert_string_equal(sip_sockaddr_str(&a, buf, sizeof(buf)), "198.18.0.1:5062");
	assert_int_equal(sip_sockaddr_parse(STR_LIT("[2001:db8::1]"), 5060, &a), 0);
	assert_string_equal(sip_sockaddr_str(&a, buf, sizeof(buf)), "[2001:db8::1]:5060");
	assert_int_equal(sip_sockaddr_parse(STR_LIT("2001:db8::1"), 7, &b), 0);
	assert_true(sip_sockaddr_same_host(&a, &b));
	assert_false(sip_sockaddr_equal(&a, &b));
	assert_int_equal(sip_sockaddr_parse(STR_LIT("pcscf.example.net:5060"), 5060, &a), -EINVAL);
	assert_int_equal(sip_sockaddr_parse(STR_LIT("198.18.0.1:70000"), 5060, &a), -EINVAL);
	assert_int_equal(sip_sockaddr_parse(STR_LIT("[198.18.0.1]:5060"), 5060, &a), -EINVAL);
	assert_int_equal(sip_sockaddr_parse(STR_LIT("198.18.0.1:"), 5060, &a), -EINVAL);
	assert_int_equal(sip_sockaddr_from_host(STR_LIT("[2001:db8::2]"), 5, &a), 0);
	assert_int_equal(sip_sockaddr_host(&a, false, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "2001:db8::2");
	assert_int_equal(sip_sockaddr_from_host(STR_LIT("pcscf.example.net"), 5, &a), -EHOSTUNREACH);
	assert_int_equal(sip_sockaddr_from_host(STR_LIT("bad host"), 5, &a), -EINVAL);

	assert_int_equal(sip_listen_parse(STR_LIT("TCP:[2001:db8::1]:5070"), &l), 0);
	assert_int_equal(l.proto, SIP_TRANSPORT_TCP);
	assert_int_equal(sip_sockaddr_port(&l.addr), 5070);
	assert_int_equal(sip_listen_parse(STR_LIT("udp:198.18.0.1;advertise=pcscf.lab"), &l), 0);
	assert_string_equal(l.advertise, "pcscf.lab");
	assert_int_equal(sip_sockaddr_port(&l.addr), 5060);
	assert_int_equal(sip_listen_parse(STR_LIT("sctp:198.18.0.1:5060"), &l), -EINVAL);
	assert_int_equal(sip_listen_parse(STR_LIT("udp:nowhere:5060"), &l), -EINVAL);
	assert_int_equal(sip_listen_parse(STR_LIT("udp:198.18.0.1;mtu=1"), &l), -EINVAL);
}

static void test_ids(void **state)
{
	char a[SIP_BRANCH_LEN], b[SIP_BRANCH_LEN], t[SIP_TAG_LEN];

	(void)state;
	assert_int_equal(sip_branch_new(&sip_ids_default, a), 33);
	assert_int_equal(sip_branch_new(&sip_ids_default, b), 33);
	assert_true(sip_branch_is_rfc3261(str_from_cstr(a)));
	assert_string_not_equal(a, b);
	assert_int_equal(sip_tag_new(&sip_ids_default, t), 16);
	for (int i = 0; t[i]; i++)
		assert_true((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '2' && t[i] <= '7'));
	assert_false(sip_branch_is_rfc3261(STR_LIT("z9hg4bk123")));
}

/* ------------------------------------------------------------------ */
/* UDP                                                                */

static void udp_roundtrip(struct fx *f, const char *spec, const char *peer_spec)
{
	union sip_sockaddr srv, cli;
	struct sip_flow flow;
	char msg[512];
	uint32_t id_srv, id_cli;

	id_srv = listen_on(f, spec, &srv);
	id_cli = listen_on(f, peer_spec, &cli);
	f->rec.reply = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\n"
		       "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: 1\r\n"
		       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	fmt_options(msg, sizeof(msg), 1);
	sip_flow_to(&flow, SIP_TRANSPORT_UDP, &srv);
	flow.local = cli;
	assert_int_equal(sip_tpset_send(f->set, &flow, msg, strlen(msg)), 0);
	assert_int_equal(flow.tp, id_cli);
	pump_until(f, &f->rec.n, 2);
	assert_int_equal(f->rec.n, 2);
	assert_string_equal(f->rec.first[0], "OPTIONS sip:x@127.0.0.1 SIP/2.0");
	assert_int_equal(f->rec.flow[0].tp, id_srv);
	assert_int_equal(f->rec.flow[0].proto, SIP_TRANSPORT_UDP);
	assert_true(sip_sockaddr_equal(&f->rec.flow[0].remote, &cli));
	/* The reply came back to the client socket from the server's. */
	assert_string_equal(f->rec.first[1], "SIP/2.0 200 OK");
	assert_int_equal(f->rec.flow[1].tp, id_cli);
	assert_true(sip_sockaddr_equal(&f->rec.flow[1].remote, &srv));
	assert_int_equal(sip_tpset_stats(f->set)->rx_msgs, 2);
}

static void test_udp_v4(void **state)
{
	udp_roundtrip(*state, "udp:127.0.0.1:0", "udp:127.0.0.1:0");
}

static void test_udp_v6(void **state)
{
	udp_roundtrip(*state, "udp:[::1]:0", "udp:[::1]:0");
}

/* A wildcard listener learns the local address per datagram and names it in Via. */
static void test_udp_wildcard(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr srv, dst, lo;
	struct sip_flow flow;
	char msg[512], sent_by[128];
	uint32_t id;

	id = listen_on(f, "udp:0.0.0.0:0", &srv);
	assert_string_equal(sip_tpset_get(f->set, id)->sent_by, "");
	sip_sockaddr_parse(STR_LIT("127.0.0.1"), sip_sockaddr_port(&srv), &dst);
	sip_sockaddr_parse(STR_LIT("127.0.0.1"), 0, &lo);
	fmt_options(msg, sizeof(msg), 2);
	sip_flow_to(&flow, SIP_TRANSPORT_UDP, &dst);
	assert_int_equal(sip_tpset_send(f->set, &flow, msg, strlen(msg)), 0);
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	assert_true(sip_sockaddr_same_host(&f->rec.flow[0].local, &lo));
	assert_int_equal(sip_sockaddr_port(&f->rec.flow[0].local), sip_sockaddr_port(&srv));
	assert_true(sip_tpset_sent_by(f->set, &f->rec.flow[0], sent_by, sizeof(sent_by)) > 0);
	snprintf(msg, sizeof(msg), "127.0.0.1:%u", sip_sockaddr_port(&srv));
	assert_string_equal(sent_by, msg);
	/* A flow with no local address: the kernel's route decides (loopback here). */
	flow.local.sa.sa_family = AF_UNSPEC;
	flow.tp = id;
	assert_true(sip_tpset_sent_by(f->set, &flow, sent_by, sizeof(sent_by)) > 0);
	assert_string_equal(sent_by, msg);
}

/* Transport selection: family, protocol, given local port. */
static void test_select(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr a4, a4b, a6, dst4, dst6;
	struct sip_flow flow;
	uint32_t u4, u4b, u6, t4;

	u4 = listen_on(f, "udp:127.0.0.1:0", &a4);
	u4b = listen_on(f, "udp:127.0.0.1:0", &a4b);
	u6 = listen_on(f, "udp:[::1]:0", &a6);
	t4 = listen_on(f, "tcp:127.0.0.1:0", NULL);
	sip_sockaddr_parse(STR_LIT("127.0.0.1:5999"), 0, &dst4);
	sip_sockaddr_parse(STR_LIT("[::1]:5999"), 0, &dst6);
	sip_flow_to(&flow, SIP_TRANSPORT_UDP, &dst4);
	assert_int_equal(sip_tpset_select(f->set, &flow, NULL), 0);
	assert_int_equal(flow.tp, u4);
	sip_flow_to(&flow, SIP_TRANSPORT_UDP, &dst6);
	assert_int_equal(sip_tpset_select(f->set, &flow, NULL), 0);
	assert_int_equal(flow.tp, u6);
	sip_flow_to(&flow, SIP_TRANSPORT_TCP, &dst4);
	assert_int_equal(sip_tpset_select(f->set, &flow, NULL), 0);
	assert_int_equal(flow.tp, t4);
	/* A given local port picks the socket bound to it (a protected client port). */
	sip_flow_to(&flow, SIP_TRANSPORT_UDP, &dst4);
	flow.local = a4b;
	assert_int_equal(sip_tpset_select(f->set, &flow, NULL), 0);
	assert_int_equal(flow.tp, u4b);
	sip_sockaddr_set_port(&flow.local, 1);
	flow.tp = 0;
	assert_int_equal(sip_tpset_select(f->set, &flow, NULL), -ENETUNREACH);
	sip_flow_to(&flow, SIP_TRANSPORT_TCP, &dst6);
	assert_int_equal(sip_tpset_select(f->set, &flow, NULL), -ENETUNREACH);
	/* Closed at run time: flows naming it fail. */
	sip_flow_to(&flow, SIP_TRANSPORT_UDP, &dst4);
	flow.tp = u4b;
	assert_int_equal(sip_tpset_close(f->set, u4b), 0);
	assert_int_equal(sip_tpset_close(f->set, u4b), -ENOENT);
	assert_int_equal(sip_tpset_send(f->set, &flow, "x", 1), -ENOTCONN);
}

/* Garbage datagrams are dropped and counted; the next good one is served. */
static void test_udp_garbage(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr srv;
	char msg[512];
	int fd;

	listen_on(f, "udp:127.0.0.1:0", &srv);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sendto(fd, "\xff\xfe garbage", 10, 0, &srv.sa, sip_sockaddr_len(&srv));
	sendto(fd, "OPTIONS sip:x SIP/2.0\r\nVia: broken", 34, 0, &srv.sa, sip_sockaddr_len(&srv));
	fmt_options(msg, sizeof(msg), 3);
	sendto(fd, msg, strlen(msg), 0, &srv.sa, sip_sockaddr_len(&srv));
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(sip_tpset_stats(f->set)->rx_dropped, 2);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* STUN (RFC 5389, RFC 5626 8)                                        */

static void test_stun(void **state)
{
	struct fx *f = *state;
	static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	union sip_sockaddr srv, me, mapped;
	socklen_t len = sizeof(me);
	uint8_t req[64], resp[600];
	ssize_t n;
	int fd;

	listen_on(f, "udp:127.0.0.1:0", &srv);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, &srv.sa, sip_sockaddr_len(&srv)), 0);
	getsockname(fd, &me.sa, &len);
	sip_stun_request(req, txid);
	assert_int_equal(send(fd, req, 20, 0), 20);
	pump(f, 3);
	n = recv(fd, resp, sizeof(resp), MSG_DONTWAIT);
	assert_true(n > 20);
	assert_int_equal(sip_stun_parse_response(resp, (size_t)n, txid, &mapped), 0);
	assert_true(sip_sockaddr_equal(&mapped, &me));
	assert_int_equal(sip_tpset_stats(f->set)->stun_answered, 1);
	assert_int_equal(f->rec.n, 0);
	/* A binding indication (0x0011) gets nothing; neither does a broken length. */
	req[1] = 0x11;
	send(fd, req, 20, 0);
	req[1] = 0x01;
	req[3] = 4;
	send(fd, req, 20, 0);
	pump(f, 3);
	assert_int_equal(recv(fd, resp, sizeof(resp), MSG_DONTWAIT), -1);
	assert_int_equal(sip_tpset_stats(f->set)->stun_dropped, 2);
	close(fd);
}

/* Unknown comprehension-required attribute: 420; FINGERPRINT checked and echoed. */
static void test_stun_codec(void **state)
{
	static const uint8_t txid[12] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };
	union sip_sockaddr from, mapped;
	uint8_t req[64], resp[SIP_STUN_MAX];
	int n;

	(void)state;
	sip_sockaddr_parse(STR_LIT("[2001:db8::7]:4000"), 0, &from);
	sip_stun_request(req, txid);
	/* attribute 0x7777, 4 bytes */
	req[3] = 8;
	req[20] = 0x77, req[21] = 0x77, req[22] = 0, req[23] = 4;
	memset(req + 24, 0, 4);
	n = sip_stun_answer(req, 28, &from, resp, sizeof(resp));
	assert_true(n > 20);
	assert_int_equal(resp[0] << 8 | resp[1], 0x0111);
	assert_int_equal(sip_stun_parse_response(resp, (size_t)n, txid, &mapped), -EPROTO);
	/* IPv6 mapped address round trip. */
	n = sip_stun_answer(req, 20, &from, resp, sizeof(resp));
	assert_int_equal(n, -EBADMSG); /* length field says 8, datagram has none */
	req[3] = 0;
	n = sip_stun_answer(req, 20, &from, resp, sizeof(resp));
	assert_int_equal(n, 20 + 4 + 20);
	assert_int_equal(sip_stun_parse_response(resp, (size_t)n, txid, &mapped), 0);
	assert_true(sip_sockaddr_equal(&mapped, &from));
	assert_int_equal(sip_stun_parse_response(resp, (size_t)n, req /* wrong txid */, &mapped),
			 -ENOENT);
}

/* ------------------------------------------------------------------ */
/* TCP                                                                */

/* Many messages in one segment, delivered in order on one connection. */
static void tcp_pipelined(struct fx *f, const char *spec)
{
	union sip_sockaddr srv;
	char *burst = malloc(64 * 512);
	size_t len = 0;
	int fd;

	listen_on(f, spec, &srv);
	fd = tcp_client(&srv);
	for (unsigned i = 0; i < 50; i++)
		len += fmt_options(burst + len, 64 * 512 - len, i);
	write_all(fd, burst, len);
	pump_until(f, &f->rec.n, 50);
	assert_int_equal(f->rec.n, 50);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(f->rec.flow[i].conn, f->rec.flow[0].conn);
	assert_non_null(strstr(f->rec.first[49], "OPTIONS"));
	assert_int_equal(sip_tpset_stats(f->set)->conns_accepted, 1);
	close(fd);
	free(burst);
}

static void test_tcp_pipelined_v4(void **state)
{
	tcp_pipelined(*state, "tcp:127.0.0.1:0");
}

static void test_tcp_pipelined_v6(void **state)
{
	tcp_pipelined(*state, "tcp:[::1]:0");
}

/* One message written in pieces, the loop running between them. */
static void test_tcp_split(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr srv;
	char msg[512];
	size_t len;
	int fd;

	listen_on(f, "tcp:127.0.0.1:0", &srv);
	fd = tcp_client(&srv);
	len = fmt_options(msg, sizeof(msg), 7);
	for (size_t i = 0; i < len; i += 7) {
		write_all(fd, msg + i, len - i < 7 ? len - i : 7);
		pump(f, 2);
		if (i + 7 < len)
			assert_int_equal(f->rec.n, 0);
	}
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	/* A message and a half, then the other half. */
	write_all(fd, msg, len);
	write_all(fd, msg, len / 2);
	pump(f, 5);
	assert_int_equal(f->rec.n, 2);
	write_all(fd, msg + len / 2, len - len / 2);
	pump_until(f, &f->rec.n, 3);
	assert_int_equal(f->rec.n, 3);
	close(fd);
}

/* RFC 5626 3.5.1: CRLFCRLF gets CRLF; a lone CRLF is a pong. */
static void test_tcp_keepalive(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr srv;
	char buf[16];
	int fd;

	listen_on(f, "tcp:127.0.0.1:0", &srv);
	fd = tcp_client(&srv);
	write_all(fd, "\r\n\r\n", 4);
	assert_int_equal(read_pumped(f, fd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "\r\n", 2);
	write_all(fd, "\r\n", 2);
	pump(f, 3);
	assert_int_equal(sip_tpset_stats(f->set)->pings, 1);
	assert_int_equal(sip_tpset_stats(f->set)->pongs, 1);
	close(fd);
}

/* Garbage, an endless header line, a half message then close: each closes its
 * own connection, and a well-formed message on another connection is served. */
static void test_tcp_garbage(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr srv;
	char msg[512], buf[16], *line;
	int bad, endless, half, good;

	listen_on(f, "tcp:127.0.0.1:0", &srv);
	good = tcp_client(&srv);
	bad = tcp_client(&srv);
	endless = tcp_client(&srv);
	half = tcp_client(&srv);
	pump(f, 5);
	write_all(bad, "\x16\x03\x01\x02\x00garbage that is no SIP\r\n\r\n", 30);
	assert_int_equal(read_pumped(f, bad, buf, sizeof(buf)), -1);
	/* 20000 bytes of one header line: over the 8192-byte line limit. */
	line = malloc(20000);
	memset(line, 'a', 20000);
	write_all(endless, "OPTIONS sip:x SIP/2.0\r\nX-Long: ", 31);
	write_all(endless, line, 20000);
	assert_int_equal(read_pumped(f, endless, buf, sizeof(buf)), -1);
	fmt_options(msg, sizeof(msg), 9);
	write_all(half, msg, 60);
	close(half);
	pump(f, 5);
	assert_int_equal(f->rec.n, 0);
	assert_int_equal(sip_tpset_stats(f->set)->rx_dropped, 3);
	assert_int_equal(sip_tpset_stats(f->set)->conns_overflow, 1);
	write_all(good, msg, strlen(msg));
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	pump(f, 3); /* reap */
	assert_int_equal(sip_tpset_stats(f->set)->conns_open, 1);
	/* Every closed connection was reported to the user. */
	assert_int_equal(f->rec.n_err, 3);
	free(line);
	close(bad);
	close(endless);
	close(good);
}

/* tcp_max_rx below the message limit: a partial message over it closes. */
static void test_tcp_rx_limit(void **state)
{
	struct sip_tp_config cfg;
	struct fx *f;
	union sip_sockaddr srv;
	char body[4096], buf[8];
	int fd;

	(void)state;
	sip_tp_config_default(&cfg);
	cfg.tcp_max_rx = 1024;
	f = fx_new(&cfg);
	listen_on(f, "tcp:127.0.0.1:0", &srv);
	fd = tcp_client(&srv);
	snprintf(body, sizeof(body),
		 "MESSAGE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
		 "To: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 3000\r\n\r\n");
	write_all(fd, body, strlen(body));
	memset(body, 'x', 2000);
	write_all(fd, body, 2000);
	assert_int_equal(read_pumped(f, fd, buf, sizeof(buf)), -1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_overflow, 1);
	assert_int_equal(f->rec.n, 0);
	close(fd);
	fx_free(f);
}

/* Beyond tcp_max_conns a connection is accepted and closed at once. */
static void test_tcp_max_conns(void **state)
{
	struct sip_tp_config cfg;
	struct fx *f;
	union sip_sockaddr srv;
	char buf[8], msg[512];
	int a, b, c;

	(void)state;
	sip_tp_config_default(&cfg);
	cfg.tcp_max_conns = 2;
	f = fx_new(&cfg);
	listen_on(f, "tcp:127.0.0.1:0", &srv);
	a = tcp_client(&srv);
	b = tcp_client(&srv);
	pump(f, 5);
	c = tcp_client(&srv);
	assert_int_equal(read_pumped(f, c, buf, sizeof(buf)), -1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_refused, 1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_open, 2);
	fmt_options(msg, sizeof(msg), 1);
	write_all(b, msg, strlen(msg));
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	close(a);
	close(b);
	close(c);
	fx_free(f);
}

/* Idle connections close after tcp_idle_ms (manual clock); traffic keeps them. */
static void test_tcp_idle(void **state)
{
	struct sip_tp_config cfg;
	struct fx *f;
	union sip_sockaddr srv;
	char buf[8];
	int a, b;

	(void)state;
	sip_tp_config_default(&cfg);
	cfg.tcp_idle_ms = 10000;
	f = fx_new(&cfg);
	listen_on(f, "tcp:127.0.0.1:0", &srv);
	a = tcp_client(&srv);
	b = tcp_client(&srv);
	pump(f, 5);
	loop_advance(f->loop, 6000);
	write_all(b, "\r\n\r\n", 4);
	assert_int_equal(read_pumped(f, b, buf, sizeof(buf)), 2);
	loop_advance(f->loop, 4000);
	pump(f, 3);
	assert_int_equal(sip_tpset_stats(f->set)->conns_idle, 1);
	assert_int_equal(read_pumped(f, a, buf, sizeof(buf)), -1);
	assert_int_equal(f->rec.n_err, 1);
	assert_int_equal(f->rec.err[0], -ETIMEDOUT);
	loop_advance(f->loop, 6000);
	pump(f, 3);
	assert_int_equal(sip_tpset_stats(f->set)->conns_idle, 2);
	close(a);
	close(b);
	fx_free(f);
}

/* Outgoing: connect on demand, reuse, responses back on the same connection. */
static void test_tcp_outgoing(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr peer;
	socklen_t len = sizeof(peer);
	struct sip_flow flow, again;
	char msg[512], buf[2048];
	int lfd, cfd;
	ssize_t n;

	listen_on(f, "tcp:127.0.0.1:0", NULL);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sip_sockaddr_parse(STR_LIT("127.0.0.1:0"), 0, &peer);
	assert_int_equal(bind(lfd, &peer.sa, sip_sockaddr_len(&peer)), 0);
	listen(lfd, 4);
	getsockname(lfd, &peer.sa, &len);
	fmt_options(msg, sizeof(msg), 11);
	sip_flow_to(&flow, SIP_TRANSPORT_TCP, &peer);
	assert_int_equal(sip_tpset_send(f->set, &flow, msg, strlen(msg)), 0);
	assert_true(flow.conn != 0);
	again = flow;
	again.conn = 0;
	assert_int_equal(sip_tpset_send(f->set, &again, msg, strlen(msg)), 0);
	assert_int_equal(again.conn, flow.conn); /* reused while still connecting */
	pump(f, 5);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	pump(f, 5);
	n = 0;
	for (int i = 0; i < 50 && n < (ssize_t)(2 * strlen(msg)); i++) {
		ssize_t k = recv(cfd, buf + n, sizeof(buf) - (size_t)n, MSG_DONTWAIT);

		if (k > 0)
			n += k;
		pump(f, 1);
	}
	assert_int_equal(n, (ssize_t)(2 * strlen(msg)));
	write_all(cfd, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.flow[0].conn, flow.conn);
	assert_int_equal(sip_tpset_stats(f->set)->conns_opened, 1);
	/* Dropping the flow closes it; a strict flow then cannot send. */
	assert_int_equal(sip_tpset_drop_flow(f->set, &flow), 0);
	flow.strict = true;
	assert_int_equal(sip_tpset_send(f->set, &flow, msg, strlen(msg)), -ENOTCONN);
	close(cfd);
	close(lfd);
}

/* A refused connect is reported as a flow error from the loop, not from send(). */
static void test_tcp_connect_refused(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr dead;
	struct sip_flow flow;
	int fd;
	socklen_t len = sizeof(dead);

	listen_on(f, "tcp:127.0.0.1:0", NULL);
	/* A port nobody listens on: bind, learn it, close. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sip_sockaddr_parse(STR_LIT("127.0.0.1:0"), 0, &dead);
	bind(fd, &dead.sa, sip_sockaddr_len(&dead));
	getsockname(fd, &dead.sa, &len);
	close(fd);
	sip_flow_to(&flow, SIP_TRANSPORT_TCP, &dead);
	assert_int_equal(sip_tpset_send(f->set, &flow, "x", 1), 0);
	assert_int_equal(f->rec.n_err, 0);
	pump_until(f, &f->rec.n_err, 1);
	assert_int_equal(f->rec.n_err, 1);
	assert_int_equal(f->rec.err[0], -ECONNREFUSED);
	assert_int_equal(f->rec.err_flow[0].conn, flow.conn);
	assert_int_equal(sip_tpset_stats(f->set)->conns_failed, 1);
}

static int sock_hook_refuse(void *arg, int fd, enum sip_sock_kind kind,
			    const union sip_sockaddr *local, const union sip_sockaddr *remote)
{
	return -EPERM;
}
/* The listener's socket hook: sees every socket, tags or refuses connections. */
struct hook_rec {
	unsigned listeners, accepted, outgoing;
	uint16_t out_port;   /* the local port an outgoing socket was to bind */
	int answer;          /* what accepted connections get */
};

static int sock_hook(void *arg, int fd, enum sip_sock_kind kind, const union sip_sockaddr *local,
		     const union sip_sockaddr *remote)
{
	struct hook_rec *h = arg;
	int type = 0;
	socklen_t len = sizeof(type);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	assert_int_equal(type, SOCK_STREAM);
	switch (kind) {
	case SIP_SOCK_LISTENER:
		assert_null(remote);
		h->listeners++;
		return 0;
	case SIP_SOCK_OUTGOING:
		h->outgoing++;
		h->out_port = sip_sockaddr_port(local);
		return 9;
	case SIP_SOCK_ACCEPTED:
		assert_non_null(remote);
		h->accepted++;
		return h->answer;
	}
	return -EINVAL;
}

static void test_tcp_sock_hook(void **state)
{
	struct fx *f = *state;
	struct hook_rec h = { 0 };
	union sip_sockaddr srv, peer, mine;
	struct sip_listen l;
	struct sip_flow flow;
	socklen_t len = sizeof(peer);
	char msg[512], buf[8];
	uint32_t id;
	int lfd, cfd, a, b;

	assert_int_equal(sip_listen_parse(STR_LIT("tcp:127.0.0.1:0"), &l), 0);
	l.sock_hook = sock_hook;
	l.sock_hook_arg = &h;
	assert_int_equal(sip_tpset_listen(f->set, &l, &id), 0);
	srv = sip_tpset_get(f->set, id)->local;
	assert_int_equal(h.listeners, 1);
	/* Outgoing from a chosen local port: the hook sees that port, the flow gets its tag. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sip_sockaddr_parse(STR_LIT("127.0.0.1:0"), 0, &peer);
	assert_int_equal(bind(lfd, &peer.sa, sip_sockaddr_len(&peer)), 0);
	listen(lfd, 4);
	getsockname(lfd, &peer.sa, &len);
	sip_flow_to(&flow, SIP_TRANSPORT_TCP, &peer);
	flow.tp = id;
	mine = srv;
	sip_sockaddr_set_port(&mine, (uint16_t)(sip_sockaddr_port(&srv) + 1));
	flow.local = mine;
	fmt_options(msg, sizeof(msg), 21);
	assert_int_equal(sip_tpset_send(f->set, &flow, msg, strlen(msg)), 0);
	assert_int_equal(h.outgoing, 1);
	assert_int_equal(h.out_port, sip_sockaddr_port(&mine));
	assert_int_equal(flow.sa_set, 9);
	pump(f, 3);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	write_all(cfd, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
	pump_until(f, &f->rec.n, 1);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.flow[0].sa_set, 9);
	assert_int_equal(sip_sockaddr_port(&f->rec.flow[0].local), sip_sockaddr_port(&mine));
	/* Accepted: tagged 5 and delivered; then refused and closed, nothing delivered. */
	h.answer = 5;
	a = tcp_client(&srv);
	fmt_options(msg, sizeof(msg), 22);
	write_all(a, msg, strlen(msg));
	pump_until(f, &f->rec.n, 2);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.flow[1].sa_set, 5);
	h.answer = -EACCES;
	b = tcp_client(&srv);
	/* The refusal may come before or after the write: either is fine. */
	(void)!write(b, msg, strlen(msg));
	assert_int_equal(read_pumped(f, b, buf, sizeof(buf)), -1);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(h.accepted, 2);
	assert_int_equal(sip_tpset_stats(f->set)->conns_refused, 1);
	/* The SA set 5 goes away: its connection closes, set 9's stays, no flow error. */
	assert_int_equal(sip_tpset_drop_sa_set(f->set, id, 5, false), 1);
	assert_int_equal(read_pumped(f, a, buf, sizeof(buf)), -1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_open, 1);
	assert_int_equal(f->rec.n_err, 0);
	/*
	 * Set 9's link goes away: its connection vanishes, the peer sees
	 * neither a FIN nor a RST (TCP_REPAIR needs CAP_NET_ADMIN; without
	 * it the close is an orderly one).
	 */
	assert_int_equal(sip_tpset_drop_sa_set(f->set, id, 9, true), 1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_open, 0);
	if (geteuid() == 0) {
		struct pollfd pfd = { .fd = cfd, .events = POLLIN };

		/* The OPTIONS it carried, read first: what is left must be nothing. */
		while (recv(cfd, msg, sizeof(msg), MSG_DONTWAIT) > 0)
			;
		pump(f, 5);
		assert_int_equal(poll(&pfd, 1, 200), 0);
	} else {
		assert_int_equal(read_pumped(f, cfd, buf, sizeof(buf)), -1);
	}
	assert_int_equal(f->rec.n_err, 0);
	/* A hook refusing the listener itself: it does not open. */
	h.listeners = 0;
	l.sock_hook = sock_hook_refuse;
	assert_int_equal(sip_tpset_listen(f->set, &l, NULL), -EPERM);
	close(a);
	close(b);
	close(cfd);
	close(lfd);
}

/* A peer that does not read: the queue hits tcp_max_tx and the connection closes. */
static void test_tcp_tx_limit(void **state)
{
	struct sip_tp_config cfg;
	struct fx *f;
	union sip_sockaddr srv;
	struct sip_flow flow;
	char *big = malloc(65536);
	int fd, rc = 0;

	(void)state;
	sip_tp_config_default(&cfg);
	cfg.tcp_max_tx = 65536;
	f = fx_new(&cfg);
	listen_on(f, "tcp:127.0.0.1:0", &srv);
	fd = tcp_client(&srv);
	write_all(fd, "\r\n", 2);
	pump(f, 5);
	memset(big, 'x', 65536);
	/* Find the server side flow: the pong counts tell the connection exists. */
	sip_flow_to(&flow, SIP_TRANSPORT_TCP, &srv);
	{
		union sip_sockaddr me;
		socklen_t len = sizeof(me);

		getsockname(fd, &me.sa, &len);
		sip_flow_to(&flow, SIP_TRANSPORT_TCP, &me);
		flow.strict = false;
	}
	for (int i = 0; i < 2000 && rc == 0; i++)
		rc = sip_tpset_send(f->set, &flow, big, 65536);
	assert_int_equal(rc, -ENOBUFS);
	assert_int_equal(sip_tpset_stats(f->set)->conns_overflow, 1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_accepted, 1);
	assert_int_equal(sip_tpset_stats(f->set)->conns_opened, 0);
	pump(f, 3);
	assert_int_equal(f->rec.n_err, 1);
	assert_int_equal(f->rec.err[0], -ENOBUFS);
	close(fd);
	free(big);
	fx_free(f);
}

/* A listener closed from inside one of its own deliveries (a protected port going away). */
static void test_close_in_callback(void **state)
{
	struct fx *f = *state;
	union sip_sockaddr srv, usrv;
	char msg[1024];
	size_t len;
	int fd, ufd;

	f->rec.close_in_cb = listen_on(f, "tcp:127.0.0.1:0", &srv);
	fd = tcp_client(&srv);
	len = fmt_options(msg, sizeof(msg), 1);
	len += fmt_options(msg + len, sizeof(msg) - len, 2);
	write_all(fd, msg, len);
	pump(f, 10);
	assert_int_equal(f->rec.n, 1); /* the second message went with the listener */
	assert_null(sip_tpset_next(f->set, NULL));
	close(fd);

	f->rec.close_in_cb = listen_on(f, "udp:127.0.0.1:0", &usrv);
	ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sendto(ufd, msg, len / 2, 0, &usrv.sa, sip_sockaddr_len(&usrv));
	sendto(ufd, msg, len / 2, 0, &usrv.sa, sip_sockaddr_len(&usrv));
	pump(f, 5);
	assert_int_equal(f->rec.n, 2);
	close(ufd);
}

/* ------------------------------------------------------------------ */
/* The stack over real sockets                                        */

struct cfg_section {
	struct sip_config sip;
};

static const struct config_key test_keys[] = {
	SIP_CONFIG_KEYS("comp.sip", struct cfg_section, sip),
};

static const struct config_section test_section =
	CONFIG_SECTION("comp", "a component with a SIP stack", struct cfg_section, test_keys);

/* SIP_CONFIG_KEYS: a valid schema, defaults, values applied, listeners opened. */
static void test_config_keys(void **state)
{
	static const char yaml[] = "comp:\n"
				   "  sip:\n"
				   "    listen: [ \"udp:127.0.0.1:0\", \"tcp:[::1]:0\" ]\n"
				   "    t1: 2s\n"
				   "    t2: 16s\n"
				   "    t4: 17s\n"
				   "    timer_d: 128s\n"
				   "    tcp_max_conns: 10\n";
	static const char bad[] = "comp:\n  sip:\n    t1: 5s\n    t2: 1s\n";
	const struct config_section *secs[] = { &test_section };
	struct sip_stack_config sc;
	const struct cfg_section *c;
	struct loop *loop;
	struct sip_stack *st;
	struct config cfg;
	struct config_errors err = { 0 };
	char why[256];
	const char *w = NULL;
	unsigned n = 0;

	(void)state;
	assert_int_equal(config_schema_check(&test_section, why, sizeof(why)), 0);
	assert_int_equal(config_load_buffer(&cfg, secs, 1, "test.yaml", yaml, strlen(yaml), &err), 0);
	c = config_get(&cfg, &test_section);
	sip_stack_config_default(&sc);
	assert_int_equal(sip_config_apply(&c->sip, &sc, &w), 0);
	assert_int_equal(sc.timers.t1, 2000);
	assert_int_equal(sc.timers.t2, 16000);
	assert_int_equal(sc.timers.td, 128000);
	assert_int_equal(sc.timers.tc, 181000); /* default */
	assert_int_equal(sc.tp.tcp_max_conns, 10);
	assert_int_equal(loop_create(&loop, NULL), 0);
	assert_int_equal(sip_stack_create(&st, loop, &sc, NULL, NULL), 0);
	assert_int_equal(sip_stack_listen_config(st, &c->sip), 0);
	for (struct sip_tp *tp = sip_tpset_next(sip_stack_transports(st), NULL); tp;
	     tp = sip_tpset_next(sip_stack_transports(st), tp))
		n++;
	assert_int_equal(n, 2);
	sip_stack_destroy(st);
	loop_destroy(loop);
	config_free(&cfg);
	/* T2 below T1: the component gets a reason. */
	assert_int_equal(config_load_buffer(&cfg, secs, 1, "bad.yaml", bad, strlen(bad), &err), 0);
	sip_stack_config_default(&sc);
	assert_int_equal(sip_config_apply(&((const struct cfg_section *)config_get(&cfg, &test_section))->sip,
					  &sc, &w), -EINVAL);
	assert_non_null(strstr(w, "T2"));
	config_free(&cfg);
}

struct fail_rec {
	unsigned failures;
	int err;
	unsigned flow_failures;
};

static void fr_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct fail_rec *r = ctx;

	r->failures++;
	r->err = err;
}

static void fr_flow(struct sip_stack *st, void *ctx, const struct sip_flow *flow, int err)
{
	((struct fail_rec *)ctx)->flow_failures++;
}

/* 17.1.4: a connection that fails ends its client transactions at once, not at Timer B. */
static void test_stack_connect_refused(void **state)
{
	static const struct sip_client_ops ops = { .failure = fr_failure };
	static const struct sip_tu_ops tu = { .flow_failure = fr_flow };
	struct loop_manual_clock clock;
	struct fail_rec r = { 0 };
	struct sip_client_req req = {
		.msg = STR_LIT("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\n"
			       "To: <sip:c@d>\r\nCall-ID: refused\r\nCSeq: 1 OPTIONS\r\n"
			       "Content-Length: 0\r\n\r\n"),
		.ops = &ops,
	};
	union sip_sockaddr dead;
	socklen_t len = sizeof(dead);
	struct sip_stack *st;
	struct loop *loop;
	int fd;

	(void)state;
	req.ctx = &r;
	loop_manual_clock_init(&clock, 0);
	assert_int_equal(loop_create(&loop, &clock.clock), 0);
	assert_int_equal(sip_stack_create(&st, loop, NULL, &tu, &r), 0);
	assert_int_equal(sip_stack_listen_text(st, "tcp:127.0.0.1:0", NULL), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sip_sockaddr_parse(STR_LIT("127.0.0.1:0"), 0, &dead);
	bind(fd, &dead.sa, sip_sockaddr_len(&dead));
	getsockname(fd, &dead.sa, &len);
	close(fd);
	sip_flow_to(&req.dest, SIP_TRANSPORT_TCP, &dead);
	assert_int_equal(sip_client_txn_start(st, &req, NULL), 0);
	for (int i = 0; i < 200 && !r.failures; i++)
		loop_run_once(loop, 5);
	assert_int_equal(r.failures, 1);
	assert_int_equal(r.err, -ECONNREFUSED);
	assert_int_equal(r.flow_failures, 1);
	assert_int_equal(loop_now_ms(loop), 0); /* no timer had to fire */
	assert_int_equal(sip_stack_stats(st)->txn_live, 0);
	sip_stack_destroy(st);
	loop_destroy(loop);
}

/* ------------------------------------------------------------------ */
/* The set's indexes                                                  */

/* A transport that only exists in the set (the interface, no socket). */
struct fake_tp {
	struct sip_tp tp;
	bool closed;
};

static int fake_send(struct sip_tp *tp, struct sip_flow *flow, const char *data, size_t len)
{
	return 0;
}

static void fake_close(struct sip_tp *tp)
{
	((struct fake_tp *)tp)->closed = true;
}

static void fake_describe(const struct sip_tp *tp, struct buf *out)
{
	buf_printf(out, "fake");
}

static const struct sip_tp_ops fake_ops = {
	.name = "fake", .proto = SIP_TRANSPORT_UDP, .send = fake_send, .close = fake_close,
	.describe = fake_describe,
};

/*
 * 4000 transports, two per port (198.18.0.1 and 198.18.0.2, the P-CSCF's
 * protected ports for two UE addresses): found by id and by port, chosen
 * by local address and port, iterated in registration order, and still
 * right after every other one is closed.
 */
static void test_index(void **state)
{
	enum { N = 4000 };
	struct fx *f = *state;
	struct fake_tp *fk = calloc(N, sizeof(*fk));
	uint32_t ids[N];
	struct sip_flow flow;
	struct sip_tp *tp;
	unsigned n;

	assert_non_null(fk);
	for (unsigned i = 0; i < N; i++) {
		char a[64];

		snprintf(a, sizeof(a), "198.18.0.%u:%u", 1 + i % 2, 10000 + i / 2);
		assert_int_equal(sip_sockaddr_parse(str_from_cstr(a), 0, &fk[i].tp.local), 0);
		fk[i].tp.ops = &fake_ops;
		/* Every 100th advertises a name and another port. */
		if (i % 100 == 0)
			snprintf(fk[i].tp.sent_by, sizeof(fk[i].tp.sent_by), "pcscf.test:%u",
				 30000 + i);
		else
			snprintf(fk[i].tp.sent_by, sizeof(fk[i].tp.sent_by), "%s", a);
		assert_int_equal(sip_tpset_add(f->set, &fk[i].tp, &ids[i]), 0);
	}
	assert_int_equal(sip_tpset_count(f->set), N);
	for (unsigned i = 0; i < N; i++)
		assert_ptr_equal(sip_tpset_get(f->set, ids[i]), &fk[i].tp);
	assert_null(sip_tpset_get(f->set, ids[N - 1] + 1));
	n = 0;
	for (tp = sip_tpset_next(f->set, NULL); tp; tp = sip_tpset_next(f->set, tp))
		assert_ptr_equal(tp, &fk[n++].tp);
	assert_int_equal(n, N);

	/* By port: both addresses on 10007; the advertised port of transport 1200. */
	n = 0;
	for (tp = sip_tpset_next_on_port(f->set, 10007, NULL); tp;
	     tp = sip_tpset_next_on_port(f->set, 10007, tp)) {
		assert_true(tp == &fk[14].tp || tp == &fk[15].tp);
		n++;
	}
	assert_int_equal(n, 2);
	assert_ptr_equal(sip_tpset_next_on_port(f->set, 31200, NULL), &fk[1200].tp);
	assert_null(sip_tpset_next_on_port(f->set, 31200, &fk[1200].tp));
	assert_null(sip_tpset_next_on_port(f->set, 9999, NULL));

	/* A reply from 198.18.0.2:11500 leaves on the transport bound there. */
	sip_flow_init(&flow);
	flow.proto = SIP_TRANSPORT_UDP;
	sip_sockaddr_parse(STR_LIT("198.18.0.9:5060"), 0, &flow.remote);
	sip_sockaddr_parse(STR_LIT("198.18.0.2:11500"), 0, &flow.local);
	assert_int_equal(sip_tpset_select(f->set, &flow, &tp), 0);
	assert_ptr_equal(tp, &fk[3001].tp);
	assert_int_equal(flow.tp, ids[3001]);

	/* Close every other one (all of 198.18.0.1): the rest are found as before. */
	for (unsigned i = 0; i < N; i += 2)
		assert_int_equal(sip_tpset_close(f->set, ids[i]), 0);
	assert_int_equal(sip_tpset_count(f->set), N / 2);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(fk[i].closed, i % 2 == 0);
		assert_ptr_equal(sip_tpset_get(f->set, ids[i]), i % 2 ? &fk[i].tp : NULL);
	}
	assert_ptr_equal(sip_tpset_next_on_port(f->set, 10007, NULL), &fk[15].tp);
	assert_null(sip_tpset_next_on_port(f->set, 10007, &fk[15].tp));
	assert_null(sip_tpset_next_on_port(f->set, 31200, NULL));
	n = 0;
	for (tp = sip_tpset_next(f->set, NULL); tp; tp = sip_tpset_next(f->set, tp)) {
		assert_ptr_equal(tp, &fk[2 * n + 1].tp);
		n++;
	}
	assert_int_equal(n, N / 2);
	assert_int_equal(sip_tpset_close(f->set, ids[0]), -ENOENT);
	/* From 198.18.0.1:11500 nothing is bound any more: no exact fit. */
	flow.tp = 0;
	sip_sockaddr_parse(STR_LIT("198.18.0.1:11500"), 0, &flow.local);
	assert_int_equal(sip_tpset_select(f->set, &flow, &tp), -ENETUNREACH);
	/* A new one goes to the end of the order. */
	assert_int_equal(sip_tpset_add(f->set, &fk[0].tp, &ids[0]), 0);
	for (tp = sip_tpset_next(f->set, NULL); sip_tpset_next(f->set, tp);)
		tp = sip_tpset_next(f->set, tp);
	assert_ptr_equal(tp, &fk[0].tp);
	/* The set closes the rest (fake_close) when the fixture is freed. */
	fx_free(f);
	*state = fx_new(NULL);
	free(fk);
}

/* ------------------------------------------------------------------ */
/* Keepalive answers to the TU (RFC 5626 4.4)                         */

struct ka_rec {
	unsigned n;
	struct sip_keepalive ka[4];
};

static void ka_cb(struct sip_stack *st, void *ctx, const struct sip_keepalive *ka)
{
	struct ka_rec *r = ctx;

	if (r->n < 4)
		r->ka[r->n] = *ka;
	r->n++;
}

/*
 * A UE-side stack pings a server-side stack over the wire: a STUN binding
 * request over UDP and CRLFCRLF over TCP. The server's transports answer
 * on their own; the UE's TU hears each answer with the flow it came over
 * (and, for STUN, the transaction id and its mapped address).
 */
static void test_stack_keepalive_answers(void **state)
{
	static const struct sip_tu_ops ue_tu = { .keepalive = ka_cb };
	static const struct sip_tu_ops srv_tu = { .keepalive = ka_cb };
	static const uint8_t txid[12] = { 'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v', 'e', '!', 0, 1 };
	struct ka_rec ue = { 0 }, srv = { 0 };
	struct loop_manual_clock clock;
	struct sip_stack *ue_st, *srv_st;
	uint32_t ue_udp, srv_udp, srv_tcp;
	struct sip_flow udp, tcp;
	struct loop *loop;
	uint8_t req[SIP_STUN_HDR];

	(void)state;
	loop_manual_clock_init(&clock, 0);
	assert_int_equal(loop_create(&loop, &clock.clock), 0);
	assert_int_equal(sip_stack_create(&ue_st, loop, NULL, &ue_tu, &ue), 0);
	assert_int_equal(sip_stack_create(&srv_st, loop, NULL, &srv_tu, &srv), 0);
	assert_int_equal(sip_stack_listen_text(ue_st, "udp:127.0.0.1:0", &ue_udp), 0);
	assert_int_equal(sip_stack_listen_text(ue_st, "tcp:127.0.0.1:0", NULL), 0);
	assert_int_equal(sip_stack_listen_text(srv_st, "udp:127.0.0.1:0", &srv_udp), 0);
	assert_int_equal(sip_stack_listen_text(srv_st, "tcp:127.0.0.1:0", &srv_tcp), 0);

	/* UDP: a STUN binding request from the UE's SIP port (RFC 5626 4.4.2). */
	sip_flow_to(&udp, SIP_TRANSPORT_UDP,
		    &sip_tpset_get(sip_stack_transports(srv_st), srv_udp)->local);
	udp.tp = ue_udp;
	sip_stun_request(req, txid);
	assert_int_equal(sip_stack_send_raw(ue_st, &udp, (struct str){ (char *)req, sizeof(req) }),
			 0);
	for (int i = 0; i < 200 && !ue.n; i++)
		loop_run_once(loop, 5);
	assert_int_equal(ue.n, 1);
	assert_int_equal(ue.ka[0].kind, SIP_KEEPALIVE_STUN);
	assert_memory_equal(ue.ka[0].txid, txid, sizeof(txid));
	assert_int_equal(ue.ka[0].stun_status, 0);
	/* The mapped address is the UE's socket as the server saw it. */
	assert_true(sip_sockaddr_equal(&ue.ka[0].mapped,
				       &sip_tpset_get(sip_stack_transports(ue_st), ue_udp)->local));
	assert_int_equal(ue.ka[0].flow.tp, ue_udp);
	assert_true(sip_sockaddr_equal(&ue.ka[0].flow.remote, &udp.remote));
	assert_int_equal(sip_tpset_stats(sip_stack_transports(ue_st))->stun_responses, 1);
	assert_int_equal(sip_tpset_stats(sip_stack_transports(srv_st))->stun_answered, 1);

	/* TCP: CRLFCRLF on a new connection, the server's CRLF back (4.4.1). */
	sip_flow_to(&tcp, SIP_TRANSPORT_TCP,
		    &sip_tpset_get(sip_stack_transports(srv_st), srv_tcp)->local);
	assert_int_equal(sip_stack_send_raw(ue_st, &tcp, STR_LIT("\r\n\r\n")), 0);
	assert_true(tcp.conn != 0);
	for (int i = 0; i < 200 && ue.n < 2; i++)
		loop_run_once(loop, 5);
	assert_int_equal(ue.n, 2);
	assert_int_equal(ue.ka[1].kind, SIP_KEEPALIVE_PONG);
	assert_int_equal(ue.ka[1].flow.conn, tcp.conn);
	assert_int_equal(ue.ka[1].flow.tp, tcp.tp);
	assert_true(sip_sockaddr_equal(&ue.ka[1].flow.remote, &tcp.remote));
	assert_int_equal(sip_tpset_stats(sip_stack_transports(srv_st))->pings, 1);

	/* The server answered both pings and heard of neither as an answer. */
	assert_int_equal(srv.n, 0);
	assert_int_equal(sip_stack_stats(ue_st)->txn_live, 0);
	sip_stack_destroy(ue_st);
	sip_stack_destroy(srv_st);
	loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_ids),
		cmocka_unit_test_setup_teardown(test_udp_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stun, setup, teardown),
		cmocka_unit_test(test_stun_codec),
		cmocka_unit_test_setup_teardown(test_tcp_pipelined_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_pipelined_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_garbage, setup, teardown),
		cmocka_unit_test(test_tcp_rx_limit),
		cmocka_unit_test(test_tcp_max_conns),
		cmocka_unit_test(test_tcp_idle),
		cmocka_unit_test_setup_teardown(test_tcp_outgoing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect_refused, setup, teardown),
		cmocka_unit_test(test_tcp_tx_limit),
		cmocka_unit_test_setup_teardown(test_tcp_sock_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_in_callback, setup, teardown),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_stack_connect_refused),
		cmocka_unit_test(test_stack_keepalive_answers),
		cmocka_unit_test_setup_teardown(test_index, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
