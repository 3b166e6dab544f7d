/*
 * test_ipsec_sip - protected ports as SIP transports (lib/ipsec/
 * sip_transport.h) over the userspace ESP backend, on loopback.
 *
 * Two backends in one process play the UE (127.0.0.2) and the P-CSCF
 * (127.0.0.1); each has its own raw ESP sockets and drops what carries the
 * other's SPIs. A SIP message goes over each of the four SAs into the other
 * side's transport set, which must name the SA set and the inner addresses
 * and ports; a send no SA covers must fail without anything leaving; ports
 * are reference counted and close with their last user; and the module
 * comes apart cleanly in either order with the transport set.
 *
 * Raw sockets need CAP_NET_RAW: without it the test skips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aka/esp_keys.h"
#include "core/loop.h"
#include "ipsec/backend.h"
#include "ipsec/sip_transport.h"
#include "sip/transport.h"
#include "sip/txn.h"

/* What one side's transport set received last. */
struct side {
	struct ipsec_backend *b;
	struct sip_tpset *set;
	struct ipsec_sip *is;
	struct ipsec_sa_set sas;
	unsigned received;
	char text[512];
	struct sip_flow flow;
};

struct fixture {
	struct loop *loop;
	struct side ue, p;
	struct ipsec_set_params params;
};

static void on_recv(void *ctx, struct sip_rx *rx)
{
	struct side *s = ctx;
	size_t n = rx->msg->buf.len < sizeof(s->text) - 1 ? rx->msg->buf.len : sizeof(s->text) - 1;

	memcpy(s->text, rx->msg->buf.s, n);
	s->text[n] = '\0';
	s->flow = rx->flow;
	s->received++;
}

static int open_side(struct fixture *f, struct side *s, enum ipsec_side side)
{
	struct ipsec_config cfg = { .backend = IPSEC_BACKEND_USERSPACE };
	struct sip_tp_user user = { .recv = on_recv, .ctx = s };
	int rc;

	rc = ipsec_backend_open(&cfg, &s->b, NULL);
	if (rc)
		return rc;
	assert_int_equal(sip_tpset_create(&s->set, f->loop, NULL, &user), 0);
	assert_int_equal(ipsec_sip_create(&s->is, s->b, s->set), 0);
	assert_int_equal(ipsec_sa_set_build(&s->sas, side, &f->params), 0);
	assert_int_equal(ipsec_backend_install(s->b, &s->sas), 0);
	return 0;
}

static int setup(void **state)
{
	static const uint8_t ik[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t ck[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	struct fixture *f = calloc(1, sizeof(*f));
	int rc;

	assert_non_null(f);
	assert_int_equal(loop_create(&f->loop, NULL), 0);
	assert_int_equal(ipsec_addr_parse("127.0.0.2", &f->params.ue), 0);
	assert_int_equal(ipsec_addr_parse("127.0.0.1", &f->params.pcscf), 0);
	f->params.client = (struct ipsec_sec_params){ 0x10001, 0x10002, 24101, 24102 };
	f->params.server = (struct ipsec_sec_params){ 0x20001, 0x20002, 24201, 24202 };
	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC, ik, ck,
					 &f->params.keys),
			 0);
	rc = open_side(f, &f->ue, IPSEC_SIDE_UE);
	if (rc == -EPERM || rc == -EACCES) {
		loop_destroy(f->loop);
		free(f);
		print_message("no raw sockets here (%s): skipping\n", strerror(-rc));
		skip();
	}
	assert_int_equal(rc, 0);
	assert_int_equal(open_side(f, &f->p, IPSEC_SIDE_PCSCF), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	/* The UE side goes set first, the P-CSCF side module first: both orders work. */
	sip_tpset_destroy(f->ue.set);
	ipsec_sip_destroy(f->ue.is);
	ipsec_sip_destroy(f->p.is);
	sip_tpset_destroy(f->p.set);
	ipsec_backend_close(f->ue.b);
	ipsec_backend_close(f->p.b);
	loop_destroy(f->loop);
	free(f);
	return 0;
}

static uint32_t port(struct side *s, uint16_t p)
{
	const struct ipsec_addr *local = ipsec_sa_set_local(&s->sas);
	uint32_t tp = 0;

	assert_int_equal(ipsec_sip_port_get(s->is, local, p, &tp), 0);
	assert_int_not_equal(tp, 0);
	return tp;
}

/* Send `what` from tp to the other side's address and port; wait for it there. */
static int exchange(struct fixture *f, struct side *from, uint32_t tp, struct side *to,
		    uint16_t to_port, const char *what)
{
	char msg[512];
	struct sip_flow flow;
	unsigned before = to->received;
	int n, rc;

	n = snprintf(msg, sizeof(msg),
		     "OPTIONS sip:x@ims.test SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bK%s\r\n"
		     "From: <sip:a@ims.test>;tag=1\r\nTo: <sip:x@ims.test>\r\n"
		     "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		     what, what);
	sip_flow_init(&flow);
	flow.proto = SIP_TRANSPORT_UDP;
	flow.tp = tp;
	ipsec_addr_to_sockaddr(ipsec_sa_set_local(&to->sas), to_port, &flow.remote);
	rc = sip_tpset_send(from->set, &flow, msg, (size_t)n);
	if (rc)
		return rc;
	for (int i = 0; i < 200 && to->received == before; i++)
		loop_run_once(f->loop, 10);
	assert_int_equal(to->received, before + 1);
	assert_non_null(strstr(to->text, what));
	return 0;
}

static void expect_flow(const struct side *s, uint32_t tp, const char *local, const char *remote)
{
	char a[SIP_SOCKADDR_STRLEN];

	assert_int_equal(s->flow.sa_set, s->sas.id);
	assert_int_equal(s->flow.tp, tp);
	assert_int_equal(s->flow.proto, SIP_TRANSPORT_UDP);
	assert_string_equal(sip_sockaddr_str(&s->flow.local, a, sizeof(a)), local);
	assert_string_equal(sip_sockaddr_str(&s->flow.remote, a, sizeof(a)), remote);
}

static void test_four_sas(void **state)
{
	struct fixture *f = *state;
	uint32_t uc = port(&f->ue, 24101), us = port(&f->ue, 24102);
	uint32_t pc = port(&f->p, 24201), ps = port(&f->p, 24202);
	struct ipsec_sa_counters ctr[IPSEC_SET_SAS];

	/* SA1: UE requests, port_uc -> port_ps. */
	assert_int_equal(exchange(f, &f->ue, uc, &f->p, 24202, "sa1"), 0);
	expect_flow(&f->p, ps, "127.0.0.1:24202", "127.0.0.2:24101");
	/* SA3: their responses, port_ps -> port_uc. */
	assert_int_equal(exchange(f, &f->p, ps, &f->ue, 24101, "sa3"), 0);
	expect_flow(&f->ue, uc, "127.0.0.2:24101", "127.0.0.1:24202");
	/* SA2: P-CSCF requests, port_pc -> port_us. */
	assert_int_equal(exchange(f, &f->p, pc, &f->ue, 24102, "sa2"), 0);
	expect_flow(&f->ue, us, "127.0.0.2:24102", "127.0.0.1:24201");
	/* SA4: their responses, port_us -> port_pc. */
	assert_int_equal(exchange(f, &f->ue, us, &f->p, 24201, "sa4"), 0);
	expect_flow(&f->p, pc, "127.0.0.1:24201", "127.0.0.2:24102");

	/* Each SA carried exactly one packet, seen from the P-CSCF. */
	assert_int_equal(ipsec_backend_counters(f->p.b, f->p.sas.id, ctr), 0);
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++)
		assert_int_equal(ctr[i].packets, 1);

	/* No SA from port_uc to port_pc: nothing is sent. */
	assert_int_equal(exchange(f, &f->ue, uc, &f->p, 24201, "none"), -ENOENT);
	assert_int_equal(sip_tpset_stats(f->ue.set)->tx_errors, 1);
	assert_true(ipsec_sip_is_protected(f->p.is, ps));
	assert_ptr_equal(sip_tpset_get(f->p.set, ps)->timers, &sip_timers_ims_ue);
	assert_false(ipsec_sip_is_protected(f->p.is, ps + 100));
	assert_false(ipsec_sip_is_protected(f->p.is, 0));
	assert_int_equal(ipsec_sip_unprotected_drops(f->p.is), 0);
}

static void test_refcount(void **state)
{
	struct fixture *f = *state;
	const struct ipsec_addr *local = ipsec_sa_set_local(&f->p.sas);
	struct ipsec_addr other;
	uint32_t a, b;

	a = port(&f->p, 24202);
	b = port(&f->p, 24202);
	assert_int_equal(a, b);
	assert_int_equal(ipsec_sip_port_refs(f->p.is, local, 24202), 2);
	assert_int_equal(ipsec_sip_port_tp(f->p.is, local, 24202), a);
	assert_int_equal(ipsec_sip_port_count(f->p.is), 1);
	assert_int_equal(ipsec_sip_port_put(f->p.is, local, 24202), 0);
	assert_non_null(sip_tpset_get(f->p.set, a));
	assert_int_equal(ipsec_sip_port_put(f->p.is, local, 24202), 0);
	assert_null(sip_tpset_get(f->p.set, a));
	assert_int_equal(ipsec_sip_port_refs(f->p.is, local, 24202), 0);
	assert_int_equal(ipsec_sip_port_tp(f->p.is, local, 24202), 0);
	assert_int_equal(ipsec_sip_port_put(f->p.is, local, 24202), -ENOENT);
	assert_int_equal(ipsec_sip_port_count(f->p.is), 0);

	/* Opened again after closing: a new transport. */
	b = port(&f->p, 24202);
	assert_int_not_equal(a, b);
	assert_int_equal(exchange(f, &f->ue, port(&f->ue, 24101), &f->p, 24202, "again"), 0);
	expect_flow(&f->p, b, "127.0.0.1:24202", "127.0.0.2:24101");

	/* The same port number on another address is another port. */
	assert_int_equal(ipsec_addr_parse("127.0.0.3", &other), 0);
	assert_int_equal(ipsec_sip_port_get(f->p.is, &other, 24202, &a), 0);
	assert_int_not_equal(a, b);
	assert_int_equal(ipsec_sip_port_count(f->p.is), 2);

	/* Closing through the transport set forgets the port here too. */
	assert_int_equal(sip_tpset_close(f->p.set, a), 0);
	assert_int_equal(ipsec_sip_port_refs(f->p.is, &other, 24202), 0);
	assert_int_equal(ipsec_sip_port_count(f->p.is), 1);
}

/*
 * Protected TCP needs the userspace backend's TUN device (ipsec.tun), which
 * this fixture does not configure: the listener is refused by its socket
 * hook, and nothing is left open or counted. (TCP over the SAs itself runs
 * in network namespaces: tests/ue/netns_tcp.sh.)
 */
static void test_tcp_without_tun(void **state)
{
	struct fixture *f = *state;
	const struct ipsec_addr *local = ipsec_sa_set_local(&f->p.sas);
	uint32_t n = sip_tpset_count(f->p.set), tp = 77;

	assert_int_equal(ipsec_sip_tcp_get(f->p.is, local, 24202, &tp), -ENOTSUP);
	assert_int_equal(tp, 77);
	assert_int_equal(sip_tpset_count(f->p.set), n);
	assert_int_equal(ipsec_sip_tcp_refs(f->p.is, local, 24202), 0);
	assert_int_equal(ipsec_sip_tcp_tp(f->p.is, local, 24202), 0);
	assert_int_equal(ipsec_sip_tcp_put(f->p.is, local, 24202), -ENOENT);
	assert_int_equal(ipsec_sip_tcp_drop_set(f->p.is, f->p.sas.id, false), 0);
	/* The UDP port of the same number is not affected. */
	assert_int_not_equal(port(&f->p, 24202), 0);
}

/* After the P-CSCF removed its set, what the UE still sends is not delivered. */
static void test_removed_set(void **state)
{
	struct fixture *f = *state;
	uint32_t uc = port(&f->ue, 24101);
	const char msg[] = "OPTIONS sip:x@ims.test SIP/2.0\r\nContent-Length: 0\r\n\r\n";
	struct sip_flow flow;

	port(&f->p, 24202);
	assert_int_equal(ipsec_backend_remove(f->p.b, f->p.sas.id), 0);
	sip_flow_init(&flow);
	flow.proto = SIP_TRANSPORT_UDP;
	flow.tp = uc;
	ipsec_addr_to_sockaddr(&f->params.pcscf, 24202, &flow.remote);
	assert_int_equal(sip_tpset_send(f->ue.set, &flow, msg, sizeof(msg) - 1), 0);
	for (int i = 0; i < 20; i++)
		loop_run_once(f->loop, 5);
	assert_int_equal(f->p.received, 0);
	/* ... and the P-CSCF cannot send on it either. */
	assert_int_equal(exchange(f, &f->p, port(&f->p, 24201), &f->ue, 24102, "gone"), -ENOENT);
}

/*
 * A set re-installed after a restart must continue its outbound sequence
 * numbers (seq_start), or the peer's replay window drops what it sends.
 */
static void test_restored_sequence(void **state)
{
	struct fixture *f = *state;
	uint32_t ps = port(&f->p, 24202), us;
	struct ipsec_sa_counters ctr[IPSEC_SET_SAS];
	struct ipsec_sa_set again;
	char name[8];

	us = port(&f->ue, 24101);
	(void)us;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(exchange(f, &f->p, ps, &f->ue, 24101, name), 0);
	}
	assert_int_equal(ipsec_backend_counters(f->p.b, f->p.sas.id, ctr), 0);
	assert_int_equal(ctr[2].packets, 3);

	/* Restored without continuing: SA3 starts at 1 again, the UE drops it as a replay. */
	assert_int_equal(ipsec_backend_remove(f->p.b, f->p.sas.id), 0);
	assert_int_equal(ipsec_sa_set_build(&again, IPSEC_SIDE_PCSCF, &f->params), 0);
	assert_int_equal(ipsec_backend_install(f->p.b, &again), 0);
	{
		const char msg[] = "OPTIONS sip:x@ims.test SIP/2.0\r\nContent-Length: 0\r\n\r\n";
		struct sip_flow flow;
		unsigned before = f->ue.received;

		sip_flow_init(&flow);
		flow.proto = SIP_TRANSPORT_UDP;
		flow.tp = ps;
		ipsec_addr_to_sockaddr(&f->params.ue, 24101, &flow.remote);
		assert_int_equal(sip_tpset_send(f->p.set, &flow, msg, sizeof(msg) - 1), 0);
		for (int i = 0; i < 20; i++)
			loop_run_once(f->loop, 5);
		assert_int_equal(f->ue.received, before);
		assert_int_equal(ipsec_backend_counters(f->ue.b, f->ue.sas.id, ctr), 0);
		assert_int_equal(ctr[2].replay, 1);
	}

	/* Restored with the numbers continued: accepted. */
	assert_int_equal(ipsec_backend_remove(f->p.b, again.id), 0);
	f->params.seq_start[2] = 3 + 1;
	assert_int_equal(ipsec_sa_set_build(&again, IPSEC_SIDE_PCSCF, &f->params), 0);
	assert_int_equal(ipsec_backend_install(f->p.b, &again), 0);
	f->p.sas = again;
	assert_int_equal(exchange(f, &f->p, ps, &f->ue, 24101, "continued"), 0);
	assert_int_equal(ipsec_backend_counters(f->ue.b, f->ue.sas.id, ctr), 0);
	assert_int_equal(ctr[2].packets, 4);
}

static void test_addresses(void **state)
{
	struct ipsec_addr a, back;
	union sip_sockaddr sa;
	char t[SIP_SOCKADDR_STRLEN];
	uint16_t p = 0;

	assert_int_equal(ipsec_addr_parse("2001:db8::7", &a), 0);
	ipsec_addr_to_sockaddr(&a, 5062, &sa);
	assert_string_equal(sip_sockaddr_str(&sa, t, sizeof(t)), "[2001:db8::7]:5062");
	assert_int_equal(ipsec_addr_from_sockaddr(&sa, &back, &p), 0);
	assert_true(ipsec_addr_eq(&a, &back));
	assert_int_equal(p, 5062);
	memset(&sa, 0, sizeof(sa));
	assert_int_equal(ipsec_addr_from_sockaddr(&sa, &back, NULL), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_four_sas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refcount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_without_tun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restored_sequence, setup, teardown),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
