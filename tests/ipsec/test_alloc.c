/*
 * SPI and protected-port allocation: determinism through the seam, forced
 * collisions, exhaustion, adoption, and churn at P-CSCF scale (100,000
 * registrations) checked against an independent shadow bitmap.
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

#include "ipsec/alloc.h"

/* xorshift32: a seam RNG whose sequence the test controls. */
static uint32_t xorshift(void *ctx)
{
	uint32_t *s = ctx;

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t constant(void *ctx)
{
	return *(uint32_t *)ctx;
}

static struct ipsec_addr peer_v4(uint32_t n)
{
	struct ipsec_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	/* 198.18.0.0/15 holds 131,072 addresses. */
	a.v4.s_addr = htonl(0xc6120000u + (n & 0x1ffff));
	return a;
}

static void test_deterministic(void **state)
{
	uint32_t s1 = 12345, s2 = 12345;
	struct ipsec_alloc_seam seam1 = { .random32 = xorshift, .ctx = &s1 };
	struct ipsec_alloc_seam seam2 = { .random32 = xorshift, .ctx = &s2 };
	struct ipsec_alloc a, b;
	struct ipsec_addr peer = peer_v4(7);

	assert_int_equal(ipsec_alloc_init(&a, NULL, &seam1), 0);
	assert_int_equal(ipsec_alloc_init(&b, NULL, &seam2), 0);
	for (int i = 0; i < 50; i++) {
		struct ipsec_sec_params x, y;

		assert_int_equal(ipsec_alloc_local(&a, &peer, &x), 0);
		assert_int_equal(ipsec_alloc_local(&b, &peer, &y), 0);
		assert_memory_equal(&x, &y, sizeof(x));
		assert_true(x.spi_c >= 0x10000 && x.spi_s >= 0x10000);
		assert_true(x.port_c >= 10000 && x.port_c <= 32767);
		assert_true(x.port_s >= 10000 && x.port_s <= 32767);
		assert_int_not_equal(x.spi_c, x.spi_s);
		assert_int_not_equal(x.port_c, x.port_s);
	}
	assert_int_equal(ipsec_alloc_spi_count(&a), 100);
	assert_int_equal(ipsec_alloc_port_count(&a), 100);
	ipsec_alloc_destroy(&a);
	ipsec_alloc_destroy(&b);
}

/* An RNG stuck on one value still yields distinct values, by scanning. */
static void test_stuck_random(void **state)
{
	uint32_t v = 0x80000000u;
	struct ipsec_alloc_seam seam = { .random32 = constant, .ctx = &v };
	struct ipsec_alloc_config cfg = { 1000, 1999, 5000, 5099 };
	struct ipsec_alloc a;
	struct ipsec_addr peer = peer_v4(1);
	uint8_t seen[1000] = { 0 };

	assert_int_equal(ipsec_alloc_init(&a, &cfg, &seam), 0);
	for (int i = 0; i < 50; i++) {
		struct ipsec_sec_params x;

		assert_int_equal(ipsec_alloc_local(&a, &peer, &x), 0);
		assert_int_equal(seen[x.spi_c - 1000]++, 0);
		assert_int_equal(seen[x.spi_s - 1000]++, 0);
	}
	ipsec_alloc_destroy(&a);
}

static void test_exhaustion(void **state)
{
	struct ipsec_alloc_config cfg = { 1000, 1009, 5000, 5005 };
	struct ipsec_alloc a;
	struct ipsec_addr p1 = peer_v4(1), p2 = peer_v4(2);
	struct ipsec_sec_params x[6];

	assert_int_equal(ipsec_alloc_init(&a, &cfg, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ipsec_alloc_local(&a, &p1, &x[i]), 0);
	/* Six ports towards p1 are gone; SPIs are not. Nothing leaks. */
	assert_int_equal(ipsec_alloc_local(&a, &p1, &x[3]), -ENOSPC);
	assert_int_equal(ipsec_alloc_spi_count(&a), 6);
	assert_int_equal(ipsec_alloc_port_count(&a), 6);
	/* Another peer has all its ports, until the SPIs run out. */
	assert_int_equal(ipsec_alloc_local(&a, &p2, &x[3]), 0);
	assert_int_equal(ipsec_alloc_local(&a, &p2, &x[4]), 0);
	assert_int_equal(ipsec_alloc_local(&a, &p2, &x[5]), -ENOSPC);
	assert_int_equal(ipsec_alloc_spi_count(&a), 10);
	assert_int_equal(ipsec_alloc_port_count(&a), 10);
	assert_int_equal(ipsec_alloc_release(&a, &p1, &x[0]), 0);
	assert_int_equal(ipsec_alloc_local(&a, &p2, &x[5]), 0);
	ipsec_alloc_destroy(&a);
}

static void test_renew_and_refcount(void **state)
{
	struct ipsec_alloc a;
	struct ipsec_addr ue = peer_v4(3);
	struct ipsec_sec_params old, nw, bogus;

	assert_int_equal(ipsec_alloc_init(&a, NULL, NULL), 0);
	assert_int_equal(ipsec_alloc_local(&a, &ue, &old), 0);
	assert_int_equal(ipsec_alloc_renew(&a, &ue, &old, &nw), 0);
	/* 33.203 §7.4: new SPIs and port-c, port-s kept. */
	assert_int_equal(nw.port_s, old.port_s);
	assert_int_not_equal(nw.port_c, old.port_c);
	assert_true(nw.spi_c != old.spi_c && nw.spi_c != old.spi_s);
	assert_true(nw.spi_s != old.spi_c && nw.spi_s != old.spi_s);
	assert_int_equal(ipsec_alloc_port_count(&a), 3);
	/* Old set deleted: the shared port_s stays held by the new one. */
	assert_int_equal(ipsec_alloc_release(&a, &ue, &old), 0);
	assert_true(ipsec_alloc_port_in_use(&a, &ue, nw.port_s));
	assert_false(ipsec_alloc_port_in_use(&a, &ue, old.port_c));
	assert_false(ipsec_alloc_spi_in_use(&a, old.spi_c));
	/* Releasing twice is refused and changes nothing. */
	assert_int_equal(ipsec_alloc_release(&a, &ue, &old), -ENOENT);
	assert_int_equal(ipsec_alloc_spi_count(&a), 2);
	/* Renewing a flow that holds nothing is refused. */
	bogus = old;
	bogus.port_s = 9;
	assert_int_equal(ipsec_alloc_renew(&a, &ue, &bogus, &nw), -ENOENT);
	assert_int_equal(ipsec_alloc_release(&a, &ue, &nw), 0);
	assert_int_equal(ipsec_alloc_spi_count(&a), 0);
	assert_int_equal(ipsec_alloc_port_count(&a), 0);
	ipsec_alloc_destroy(&a);
}

static void test_reserve(void **state)
{
	struct ipsec_alloc a;
	struct ipsec_addr ue = peer_v4(4);
	struct ipsec_sec_params in = { 0x5000, 0x5001, 20000, 20001 }, clash = in;

	assert_int_equal(ipsec_alloc_init(&a, NULL, NULL), 0);
	assert_int_equal(ipsec_alloc_reserve(&a, &ue, &in), 0);
	clash.spi_c = 0x6000; /* spi_s still 0x5001 */
	assert_int_equal(ipsec_alloc_reserve(&a, &ue, &clash), -EEXIST);
	assert_false(ipsec_alloc_spi_in_use(&a, 0x6000));
	assert_int_equal(ipsec_alloc_spi_count(&a), 2);
	assert_true(ipsec_alloc_port_in_use(&a, &ue, 20000));
	assert_int_equal(ipsec_alloc_reserve(&a, &ue, &(struct ipsec_sec_params){ 1, 1, 2, 3 }),
			 -EINVAL);
	ipsec_alloc_destroy(&a);
}

static bool even_spi_taken(void *ctx, uint32_t spi)
{
	return spi & 1;
}

static bool low_port_taken(void *ctx, const struct ipsec_addr *peer, uint16_t port)
{
	return port >= 5050;
}

static void test_vetoes(void **state)
{
	struct ipsec_alloc_seam seam = { .spi_usable = even_spi_taken,
					 .port_usable = low_port_taken };
	struct ipsec_alloc_config cfg = { 1000, 1199, 5000, 5099 };
	struct ipsec_alloc a;
	struct ipsec_addr ue = peer_v4(5);

	assert_int_equal(ipsec_alloc_init(&a, &cfg, &seam), 0);
	for (int i = 0; i < 25; i++) {
		struct ipsec_sec_params x;

		assert_int_equal(ipsec_alloc_local(&a, &ue, &x), 0);
		assert_true((x.spi_c & 1) && (x.spi_s & 1));
		assert_true(x.port_c >= 5050 && x.port_s >= 5050);
	}
	struct ipsec_sec_params x;
	assert_int_equal(ipsec_alloc_local(&a, &ue, &x), -ENOSPC);
	ipsec_alloc_destroy(&a);
}

static void test_bad_config(void **state)
{
	struct ipsec_alloc a;

	assert_int_equal(ipsec_alloc_init(&a, &(struct ipsec_alloc_config){ 0, 100, 1, 2 }, NULL),
			 -EINVAL);
	assert_int_equal(ipsec_alloc_init(&a, &(struct ipsec_alloc_config){ 500, 400, 1, 2 }, NULL),
			 -EINVAL);
	assert_int_equal(ipsec_alloc_init(&a, &(struct ipsec_alloc_config){ 500, 600, 0, 2 }, NULL),
			 -EINVAL);
}

/*
 * 100,000 registrations, each from its own UE address, then 400,000 random
 * deletions and new registrations. An independent bitmap over the SPI range
 * checks that no SPI in use is ever handed out again.
 */
#define SPI_LO 0x1000u
#define SPI_RANGE (1u << 22)
#define NSETS 100000
#define CHURN 400000

struct live {
	struct ipsec_addr peer;
	struct ipsec_sec_params p;
	bool used;
};

static void shadow_take(uint8_t *bits, uint32_t spi)
{
	uint32_t i = spi - SPI_LO;

	assert_true(spi >= SPI_LO && i < SPI_RANGE);
	assert_int_equal(bits[i / 8] & (1u << (i % 8)), 0);
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void shadow_put(uint8_t *bits, uint32_t spi)
{
	uint32_t i = spi - SPI_LO;

	bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static void test_churn(void **state)
{
	uint32_t seed = 2463534242u, pick = 88172645u;
	struct ipsec_alloc_seam seam = { .random32 = xorshift, .ctx = &seed };
	struct ipsec_alloc_config cfg = { SPI_LO, SPI_LO + SPI_RANGE - 1, 10000, 10999 };
	struct live *live = calloc(NSETS, sizeof(*live));
	uint8_t *bits = calloc(SPI_RANGE / 8, 1);
	struct ipsec_alloc a;
	size_t held = 0;

	assert_non_null(live);
	assert_non_null(bits);
	assert_int_equal(ipsec_alloc_init(&a, &cfg, &seam), 0);
	for (uint32_t i = 0; i < NSETS; i++) {
		live[i].peer = peer_v4(i);
		assert_int_equal(ipsec_alloc_local(&a, &live[i].peer, &live[i].p), 0);
		shadow_take(bits, live[i].p.spi_c);
		shadow_take(bits, live[i].p.spi_s);
		live[i].used = true;
		held++;
	}
	assert_int_equal(ipsec_alloc_spi_count(&a), 2 * NSETS);
	for (uint32_t n = 0; n < CHURN; n++) {
		struct live *l = &live[xorshift(&pick) % NSETS];

		if (l->used) {
			assert_int_equal(ipsec_alloc_release(&a, &l->peer, &l->p), 0);
			shadow_put(bits, l->p.spi_c);
			shadow_put(bits, l->p.spi_s);
			l->used = false;
			held--;
		} else {
			assert_int_equal(ipsec_alloc_local(&a, &l->peer, &l->p), 0);
			shadow_take(bits, l->p.spi_c);
			shadow_take(bits, l->p.spi_s);
			l->used = true;
			held++;
		}
	}
	assert_int_equal(ipsec_alloc_spi_count(&a), 2 * held);
	assert_int_equal(ipsec_alloc_port_count(&a), 2 * held);
	for (uint32_t i = 0; i < NSETS; i++) {
		if (!live[i].used)
			continue;
		assert_true(ipsec_alloc_spi_in_use(&a, live[i].p.spi_c));
		assert_true(ipsec_alloc_port_in_use(&a, &live[i].peer, live[i].p.port_s));
		assert_int_equal(ipsec_alloc_release(&a, &live[i].peer, &live[i].p), 0);
	}
	assert_int_equal(ipsec_alloc_spi_count(&a), 0);
	assert_int_equal(ipsec_alloc_port_count(&a), 0);
	ipsec_alloc_destroy(&a);
	free(bits);
	free(live);
}

/* Many sets towards one peer: ports must stay distinct among the live ones. */
static void test_churn_one_peer(void **state)
{
	uint32_t pick = 1;
	struct ipsec_alloc_config cfg = { 256, 0xffffffffu, 20000, 20399 };
	struct ipsec_alloc a;
	struct ipsec_addr ue = peer_v4(9);
	struct live live[150];
	uint8_t ports[400] = { 0 };

	memset(live, 0, sizeof(live));
	assert_int_equal(ipsec_alloc_init(&a, &cfg, NULL), 0);
	for (int n = 0; n < 20000; n++) {
		struct live *l = &live[xorshift(&pick) % 150];

		if (l->used) {
			assert_int_equal(ipsec_alloc_release(&a, &ue, &l->p), 0);
			ports[l->p.port_c - 20000] = ports[l->p.port_s - 20000] = 0;
			l->used = false;
			continue;
		}
		assert_int_equal(ipsec_alloc_local(&a, &ue, &l->p), 0);
		assert_int_equal(ports[l->p.port_c - 20000]++, 0);
		assert_int_equal(ports[l->p.port_s - 20000]++, 0);
		l->used = true;
	}
	ipsec_alloc_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_stuck_random),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_renew_and_refcount),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_vetoes),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_churn_one_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
