/*
 * The userspace backend driven by lib/core's event loop, as a P-CSCF and a
 * UE would use it: two backends in one process (a private network
 * namespace, loopback addresses 127.0.0.2 for the UE and 127.0.0.1 for the
 * P-CSCF), attached to one loop, endpoints watched by loop_io, one
 * datagram over each of the four SAs. Then protected TCP sockets: what
 * ipsec_backend_tcp_bind() refuses, the TUN device it makes (one per
 * backend, watched by the loop once made, gone with the backend), and a
 * SYN no SA selects dropped and counted. Needs CAP_SYS_ADMIN, CAP_NET_RAW
 * and CAP_NET_ADMIN; skipped without them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"
#include "ipsec/backend.h"

struct inbox {
	struct loop_io io;
	struct ipsec_endpoint *ep;
	char data[256];
	ssize_t len;
	struct ipsec_dgram_info info;
	unsigned count;
};

static void on_datagram(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct inbox *in = io->ctx;
	ssize_t n;

	while ((n = ipsec_endpoint_recv(in->ep, in->data, sizeof(in->data) - 1, &in->info)) >= 0) {
		in->data[n] = '\0';
		in->len = n;
		in->count++;
	}
}

static int setup_netns(void **state)
{
	struct ifreq ifr;
	int s;

	if (unshare(CLONE_NEWNET) != 0)
		return 0; /* the test skips */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	*state = (void *)1;
	return 0;
}

/* Run the loop until the inbox has n datagrams (or give up). */
static void wait_for(struct loop *loop, struct inbox *in, unsigned n)
{
	for (int i = 0; i < 200 && in->count < n; i++)
		assert_true(loop_run_once(loop, 50) >= 0);
	assert_int_equal(in->count, n);
}

static void test_four_sas(void **state)
{
	static const uint8_t ik[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t ck[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	struct ipsec_config cfg = { .backend = IPSEC_BACKEND_USERSPACE };
	struct ipsec_backend *ue_b, *pc_b;
	struct ipsec_set_params p;
	struct ipsec_sa_set ue_set, pc_set;
	struct ipsec_sa_counters c[IPSEC_SET_SAS];
	struct inbox uc = { 0 }, us = { 0 }, pcp = { 0 }, ps = { 0 };
	struct loop *loop;

	if (!*state)
		skip();
	memset(&p, 0, sizeof(p));
	ipsec_addr_parse("127.0.0.2", &p.ue);
	ipsec_addr_parse("127.0.0.1", &p.pcscf);
	p.client = (struct ipsec_sec_params){ 0x3001, 0x3002, 40001, 40002 };
	p.server = (struct ipsec_sec_params){ 0x4001, 0x4002, 40011, 40012 };
	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC, ik, ck, &p.keys), 0);
	assert_int_equal(ipsec_sa_set_build(&ue_set, IPSEC_SIDE_UE, &p), 0);
	assert_int_equal(ipsec_sa_set_build(&pc_set, IPSEC_SIDE_PCSCF, &p), 0);

	assert_int_equal(loop_create(&loop, NULL), 0);
	if (ipsec_backend_open(&cfg, &ue_b, NULL) == -EPERM) {
		loop_destroy(loop);
		skip();
	}
	assert_int_equal(ipsec_backend_open(&cfg, &pc_b, NULL), 0);
	assert_int_equal(ipsec_backend_attach(ue_b, loop), 0);
	assert_int_equal(ipsec_backend_attach(ue_b, loop), -EEXIST);
	assert_int_equal(ipsec_backend_attach(pc_b, loop), 0);
	assert_int_equal(ipsec_backend_install(ue_b, &ue_set), 0);
	assert_int_equal(ipsec_backend_install(pc_b, &pc_set), 0);

	struct {
		struct ipsec_backend *b;
		const struct ipsec_addr *addr;
		uint16_t port;
		struct inbox *in;
	} eps[] = {
		{ ue_b, &p.ue, 40001, &uc }, { ue_b, &p.ue, 40002, &us },
		{ pc_b, &p.pcscf, 40011, &pcp }, { pc_b, &p.pcscf, 40012, &ps },
	};
	for (size_t i = 0; i < 4; i++) {
		struct inbox *in = eps[i].in;

		assert_int_equal(ipsec_endpoint_open(eps[i].b, eps[i].addr, eps[i].port, &in->ep), 0);
		assert_int_equal(loop_io_add(loop, &in->io, ipsec_endpoint_fd(in->ep), LOOP_READ,
					     on_datagram, in),
				 0);
	}
	struct ipsec_endpoint *dup;
	assert_int_equal(ipsec_endpoint_open(ue_b, &p.ue, 40001, &dup), -EADDRINUSE);

	/* SA1: the REGISTER, SA3: its response, SA2: a NOTIFY, SA4: its response. */
	assert_int_equal(ipsec_endpoint_send(uc.ep, &p.pcscf, 40012, "REGISTER", 8), 0);
	wait_for(loop, &ps, 1);
	assert_string_equal(ps.data, "REGISTER");
	assert_int_equal(ps.info.sa_index, 1);
	assert_int_equal(ps.info.set_id, pc_set.id);
	assert_int_equal(ps.info.sport, 40001);
	assert_true(ipsec_addr_eq(&ps.info.src, &p.ue));

	assert_int_equal(ipsec_endpoint_send(ps.ep, &p.ue, 40001, "200 REGISTER", 12), 0);
	wait_for(loop, &uc, 1);
	assert_string_equal(uc.data, "200 REGISTER");
	assert_int_equal(uc.info.sa_index, 3);

	assert_int_equal(ipsec_endpoint_send(pcp.ep, &p.ue, 40002, "NOTIFY", 6), 0);
	wait_for(loop, &us, 1);
	assert_string_equal(us.data, "NOTIFY");
	assert_int_equal(us.info.sa_index, 2);

	assert_int_equal(ipsec_endpoint_send(us.ep, &p.pcscf, 40011, "200 NOTIFY", 10), 0);
	wait_for(loop, &pcp, 1);
	assert_string_equal(pcp.data, "200 NOTIFY");
	assert_int_equal(pcp.info.sa_index, 4);

	/* Only the SAs' own selectors: no SA from port_uc to port_pc, and none inbound. */
	assert_int_equal(ipsec_endpoint_send(uc.ep, &p.pcscf, 40011, "x", 1), -ENOENT);
	assert_int_equal(ipsec_endpoint_send(ps.ep, &p.ue, 40002, "x", 1), -ENOENT);

	assert_int_equal(ipsec_backend_counters(pc_b, pc_set.id, c), 0);
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		assert_int_equal(c[i].packets, 1);
		assert_int_equal(c[i].replay + c[i].auth + c[i].other, 0);
	}
	/* Removal: the SPIs are gone, a late packet is just an unknown SPI. */
	assert_int_equal(ipsec_backend_remove(pc_b, pc_set.id), 0);
	assert_int_equal(ipsec_backend_counters(pc_b, pc_set.id, c), -ENOENT);
	assert_int_equal(ipsec_endpoint_send(uc.ep, &p.pcscf, 40012, "late", 4), 0);
	for (int i = 0; i < 5; i++)
		loop_run_once(loop, 20);
	assert_int_equal(ps.count, 1);

	for (size_t i = 0; i < 4; i++) {
		loop_io_remove(loop, &eps[i].in->io);
		ipsec_endpoint_close(eps[i].in->ep);
	}
	ipsec_backend_close(ue_b);
	ipsec_backend_close(pc_b);
	loop_destroy(loop);
}

/* 198.18.0.1/32 on lo as "lo:1", a source address for a TCP socket bound to a TUN. */
static void add_lab_address(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:1");
	inet_pton(AF_INET, "198.18.0.1", &sin.sin_addr);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	assert_int_equal(ioctl(s, SIOCSIFADDR, &ifr), 0);
	close(s);
}

static void test_tcp(void **state)
{
	struct ipsec_config off = { .backend = IPSEC_BACKEND_USERSPACE };
	struct ipsec_config on = { .backend = IPSEC_BACKEND_USERSPACE, .tun = "simregt%d" };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(40100) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40200) };
	struct ipsec_backend *b, *b2;
	struct ipsec_backend_stats st;
	struct loop *loop;
	char dev[IFNAMSIZ] = "", dev2[IFNAMSIZ] = "";
	socklen_t len;
	int tcp, tcp2, udp, pipefd[2], fds[4];

	if (!*state)
		skip();
	assert_int_equal(loop_create(&loop, NULL), 0);
	if (ipsec_backend_open(&off, &b, NULL) == -EPERM) {
		loop_destroy(loop);
		skip();
	}
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(pipe(pipefd), 0);
	/* Refused: not TCP, not a socket, and TCP without a TUN (ipsec.tun empty). */
	assert_int_equal(ipsec_backend_tcp_bind(b, udp), -EPROTOTYPE);
	assert_int_equal(ipsec_backend_tcp_bind(b, pipefd[0]), -ENOTSOCK);
	assert_int_equal(ipsec_backend_tcp_bind(b, tcp), -ENOTSUP);
	assert_int_equal(ipsec_backend_tcp_bind(b, tcp), -ENOTSUP);
	assert_int_equal(ipsec_backend_fds(b, fds, 4), 2);
	ipsec_backend_stats(b, &st);
	assert_int_equal(st.tcp_in + st.tcp_out + st.tcp_dropped + st.udp_out, 0);
	ipsec_backend_close(b);

	/* With a TUN: made on the first bind, watched by the loop it is attached to. */
	assert_int_equal(ipsec_backend_open(&on, &b, NULL), 0);
	assert_int_equal(ipsec_backend_open(&on, &b2, NULL), 0);
	assert_int_equal(ipsec_backend_attach(b, loop), 0);
	assert_int_equal(ipsec_backend_fds(b, fds, 4), 2);
	assert_int_equal(ipsec_backend_tcp_bind(b, tcp), 0);
	assert_int_equal(ipsec_backend_fds(b, fds, 4), 3);
	len = sizeof(dev);
	assert_int_equal(getsockopt(tcp, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
	assert_string_equal(dev, "simregt0");
	assert_true(if_nametoindex("simregt0") > 0);
	/* A second backend in the namespace has a device of its own. */
	tcp2 = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(ipsec_backend_tcp_bind(b2, tcp2), 0);
	len = sizeof(dev2);
	assert_int_equal(getsockopt(tcp2, SOL_SOCKET, SO_BINDTODEVICE, dev2, &len), 0);
	assert_string_equal(dev2, "simregt1");

	/* No SA selects 198.18.0.1:40100 -> 198.18.0.9:40200: the SYN goes into
	 * the TUN (whatever the main table says, here: nothing) and no further. */
	add_lab_address();
	inet_pton(AF_INET, "198.18.0.1", &me.sin_addr);
	inet_pton(AF_INET, "198.18.0.9", &peer.sin_addr);
	assert_int_equal(bind(tcp, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(tcp, (struct sockaddr *)&peer, sizeof(peer)), -1);
	assert_int_equal(errno, EINPROGRESS);
	for (int i = 0; i < 100; i++) {
		ipsec_backend_stats(b, &st);
		if (st.tcp_dropped)
			break;
		assert_true(loop_run_once(loop, 20) >= 0);
	}
	assert_int_equal(st.tcp_dropped, 1);
	assert_int_equal(st.tcp_out, 0);

	close(tcp);
	close(tcp2);
	close(udp);
	close(pipefd[0]);
	close(pipefd[1]);
	ipsec_backend_close(b);
	ipsec_backend_close(b2);
	assert_int_equal(if_nametoindex("simregt0"), 0);
	assert_int_equal(if_nametoindex("simregt1"), 0);
	loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_sas),
		cmocka_unit_test(test_tcp),
	};

	return cmocka_run_group_tests(tests, setup_netns, NULL);
}
