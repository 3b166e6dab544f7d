/*
 * The USIM against the HSS side: Annex C SQN handling (in order, out of
 * order within the IND window, replay, age limit L, wrap-around limit
 * delta), MAC failures, resynchronisation round trips, the SQN state file.
 * RAND comes through the seam from a counter, so every run is identical.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aka/milenage.h"
#include "aka/sqn.h"
#include "aka/usim.h"
#include "aka/vector.h"
#include "core/hex.h"

/* TS 35.208 set 1 K and OPc; AMF as labs use it. */
static const char K_HEX[] = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char OPC_HEX[] = "cd63cb71954a9f4e48a5994e37a02baf";
static const uint8_t AMF[2] = { 0x80, 0x00 };

struct counter_rand {
	uint32_t next;
	int fail_at; /* fail the n-th call (1-based); 0 = never */
	int calls;
};

static int counter_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct counter_rand *c = ctx;

	if (++c->calls == c->fail_at)
		return -EAGAIN;
	memset(buf, 0x5a, len);
	buf[len - 4] = (uint8_t)(c->next >> 24);
	buf[len - 3] = (uint8_t)(c->next >> 16);
	buf[len - 2] = (uint8_t)(c->next >> 8);
	buf[len - 1] = (uint8_t)c->next;
	c->next++;
	return 0;
}

struct fixture {
	struct milenage hss;  /* the HSS's context for the subscriber */
	uint64_t sqn_he;      /* the HSS's stored last SQN */
	struct usim card;
	struct counter_rand cr;
	struct aka_rand_source rs;
};

static void keys(uint8_t k[16], uint8_t opc[16])
{
	assert_int_equal(hex_decode(str_from_cstr(K_HEX), k, 16), 0);
	assert_int_equal(hex_decode(str_from_cstr(OPC_HEX), opc, 16), 0);
}

static struct fixture *fixture_new(const struct sqn_params *p)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t k[16], opc[16];

	assert_non_null(f);
	keys(k, opc);
	assert_int_equal(milenage_init(&f->hss, k, opc, MILENAGE_OPC), 0);
	assert_int_equal(usim_init(&f->card, k, opc, MILENAGE_OPC, p), 0);
	f->rs = (struct aka_rand_source){ counter_fill, &f->cr };
	return f;
}

static void fixture_free(struct fixture *f)
{
	milenage_free(&f->hss);
	usim_free(&f->card);
	free(f);
}

static void hss_vectors(struct fixture *f, struct aka_vector *v, size_t n)
{
	assert_int_equal(aka_vectors_generate(&f->hss, AMF, f->card.sqn.p.ind_bits, &f->sqn_he,
					      &f->rs, v, n),
			 0);
}

/* Present a vector to the card; returns the status, checks RES/CK/IK. */
static enum usim_status present(struct fixture *f, const struct aka_vector *v,
				struct usim_result *r)
{
	assert_int_equal(usim_authenticate(&f->card, v->rand, v->autn, r), 0);
	if (r->status == USIM_OK) {
		assert_memory_equal(r->res, v->xres, AKA_RES_LEN);
		assert_memory_equal(r->ck, v->ck, AKA_CK_LEN);
		assert_memory_equal(r->ik, v->ik, AKA_IK_LEN);
		assert_int_equal(r->sqn, v->sqn);
	}
	return r->status;
}

static void state_text(const struct fixture *f, char *buf, size_t size)
{
	assert_true(usim_state_format(&f->card, buf, size) > 0);
}

static void test_in_order(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[5];
	struct usim_result r;

	hss_vectors(f, v, 5);
	for (int i = 0; i < 5; i++) {
		/* Consecutive SEQ, consecutive IND slots. */
		assert_int_equal(sqn_seq(v[i].sqn, 5), (uint64_t)i + 1);
		assert_int_equal(sqn_ind(v[i].sqn, 5), (unsigned)(i + 1) % 32);
		assert_int_equal(present(f, &v[i], &r), USIM_OK);
	}
	assert_int_equal(f->sqn_he, v[4].sqn);
	assert_int_equal(sqn_ms_highest(&f->card.sqn), v[4].sqn);
	fixture_free(f);
}

/* Two registrations of one UE (Wi-Fi and cellular) each fetch a vector; the
 * second one is answered first. Both must pass. */
static void test_out_of_order_within_window(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[32];
	struct usim_result r;

	hss_vectors(f, v, 2);
	assert_int_equal(present(f, &v[1], &r), USIM_OK);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);

	/* A whole window of 32 used backwards: every slot distinct. */
	hss_vectors(f, v, 32);
	for (int i = 31; i >= 0; i--)
		assert_int_equal(present(f, &v[i], &r), USIM_OK);
	fixture_free(f);
}

/* Vectors 2^IND apart share a slot: the newer one used first makes the
 * older one stale. This is the edge of the window. */
static void test_out_of_order_beyond_window(void **state)
{
	struct sqn_params p;
	struct fixture *f;
	struct aka_vector v[5];
	struct usim_result r;

	sqn_params_default(&p);
	p.ind_bits = 2; /* 4 slots, to keep the test short */
	f = fixture_new(&p);
	hss_vectors(f, v, 5);
	assert_int_equal(sqn_ind(v[0].sqn, 2), sqn_ind(v[4].sqn, 2));
	assert_int_equal(present(f, &v[4], &r), USIM_OK);
	assert_int_equal(present(f, &v[1], &r), USIM_OK);
	assert_int_equal(present(f, &v[0], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_REPLAY);
	fixture_free(f);
}

static void test_replay(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[2];
	struct usim_result r;
	char before[2048], after[2048];
	uint64_t sqn_ms = 0;

	hss_vectors(f, v, 2);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);
	assert_int_equal(present(f, &v[1], &r), USIM_OK);
	state_text(f, before, sizeof(before));
	assert_int_equal(present(f, &v[0], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_REPLAY);
	/* No keys come out of a refused challenge. */
	for (int i = 0; i < AKA_CK_LEN; i++)
		assert_int_equal(r.ck[i] | r.ik[i], 0);
	state_text(f, after, sizeof(after));
	assert_string_equal(before, after);
	/* The AUTS carries the highest SQN accepted, and the HSS reads it. */
	assert_int_equal(aka_resync(&f->hss, v[0].rand, r.auts, &sqn_ms), 0);
	assert_int_equal(sqn_ms, v[1].sqn);
	assert_int_equal(present(f, &v[1], &r), USIM_SYNC_FAILURE);
	usim_result_wipe(&r);
	fixture_free(f);
}

static void test_too_old(void **state)
{
	struct sqn_params p;
	struct fixture *f;
	struct aka_vector v[10];
	struct usim_result r;

	sqn_params_default(&p);
	p.age_limit = 4;
	f = fixture_new(&p);
	hss_vectors(f, v, 10);
	assert_int_equal(present(f, &v[9], &r), USIM_OK);
	/* SEQ 1 is 9 below the highest (10): older than L. */
	assert_int_equal(present(f, &v[0], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_TOO_OLD);
	/* SEQ 6 is exactly L below: still accepted. */
	assert_int_equal(present(f, &v[5], &r), USIM_OK);
	assert_int_equal(present(f, &v[4], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_TOO_OLD);
	fixture_free(f);

	/* Without L the same old vector is fine. */
	f = fixture_new(NULL);
	hss_vectors(f, v, 10);
	assert_int_equal(present(f, &v[9], &r), USIM_OK);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);
	fixture_free(f);
}

/* Wrap-around protection: a SEQ more than delta above the highest accepted
 * is refused, and a resync brings the HSS back in range. */
static void test_wrap_limit(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[1];
	struct usim_result r;
	uint64_t sqn_ms;

	/* Exactly delta above a fresh card: accepted. */
	f->sqn_he = sqn_make(SQN_DELTA_DEFAULT - 1, 0, 5);
	hss_vectors(f, v, 1);
	assert_int_equal(sqn_seq(v[0].sqn, 5), SQN_DELTA_DEFAULT);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);
	fixture_free(f);

	/* One more: too far. */
	f = fixture_new(NULL);
	f->sqn_he = sqn_make(SQN_DELTA_DEFAULT, 0, 5);
	hss_vectors(f, v, 1);
	assert_int_equal(present(f, &v[0], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_TOO_FAR);
	assert_int_equal(aka_resync(&f->hss, v[0].rand, r.auts, &sqn_ms), 0);
	assert_int_equal(sqn_ms, 0);
	assert_int_equal(sqn_he_resync(sqn_ms, &f->sqn_he), 0);
	hss_vectors(f, v, 1);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);

	/* A SQN near the top of the counter on a card that has seen a
	 * recent one is likewise refused. */
	f->sqn_he = AKA_SQN_MAX - 64;
	hss_vectors(f, v, 1);
	assert_int_equal(present(f, &v[0], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_TOO_FAR);
	fixture_free(f);
}

/* The HSS lost its SQN (restored from an old backup): the card is ahead,
 * refuses, the HSS resyncs from AUTS, and the next vectors work, in any
 * order, without a second resync. */
static void test_resync_round_trip(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[3], old[1];
	struct usim_result r;
	uint64_t backup = f->sqn_he, sqn_ms;
	uint8_t bad[AKA_AUTS_LEN];

	hss_vectors(f, v, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(present(f, &v[i], &r), USIM_OK);
	f->sqn_he = backup;
	hss_vectors(f, old, 1);
	assert_int_equal(present(f, &old[0], &r), USIM_SYNC_FAILURE);
	assert_int_equal(r.sqn_verdict, SQN_REPLAY);

	/* A corrupted AUTS leaves SQN_HE alone. */
	memcpy(bad, r.auts, sizeof(bad));
	bad[13] ^= 1;
	sqn_ms = 7;
	assert_int_equal(aka_resync(&f->hss, old[0].rand, bad, &sqn_ms), -EBADMSG);
	assert_int_equal(sqn_ms, 7);
	/* AUTS is bound to its RAND. */
	assert_int_equal(aka_resync(&f->hss, v[0].rand, r.auts, &sqn_ms), -EBADMSG);

	assert_int_equal(aka_resync(&f->hss, old[0].rand, r.auts, &sqn_ms), 0);
	assert_int_equal(sqn_ms, v[2].sqn);
	assert_int_equal(sqn_he_resync(sqn_ms, &f->sqn_he), 0);
	hss_vectors(f, v, 3);
	assert_true(sqn_seq(v[0].sqn, 5) > sqn_seq(sqn_ms, 5));
	assert_int_equal(present(f, &v[2], &r), USIM_OK);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);
	assert_int_equal(present(f, &v[1], &r), USIM_OK);
	fixture_free(f);
}

/* MAC-A covers SQN, AMF and RAND: any change is a MAC failure, checked
 * before the SQN, and changes nothing. */
static void test_mac_failure(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[2];
	struct usim_result r;
	char before[2048], after[2048];
	uint8_t k2[16], opc[16];
	struct milenage other;

	hss_vectors(f, v, 2);
	assert_int_equal(present(f, &v[0], &r), USIM_OK);
	state_text(f, before, sizeof(before));
	for (int byte = 0; byte < AKA_AUTN_LEN; byte++) {
		struct aka_vector t = v[1];
		t.autn[byte] ^= 0x10;
		assert_int_equal(present(f, &t, &r), USIM_MAC_FAILURE);
		for (int i = 0; i < AKA_RES_LEN; i++)
			assert_int_equal(r.res[i], 0);
	}
	{
		struct aka_vector t = v[1];
		t.rand[0] ^= 1;
		assert_int_equal(present(f, &t, &r), USIM_MAC_FAILURE);
	}
	/* A replayed vector with a bad MAC is a MAC failure, not a sync
	 * failure: a forger gets no AUTS. */
	{
		struct aka_vector t = v[0];
		t.autn[15] ^= 1;
		assert_int_equal(present(f, &t, &r), USIM_MAC_FAILURE);
	}
	/* A vector made with another K. */
	keys(k2, opc);
	k2[0] ^= 0xff;
	assert_int_equal(milenage_init(&other, k2, opc, MILENAGE_OPC), 0);
	{
		struct aka_vector t;
		assert_int_equal(aka_vector_make(&other, v[1].rand, v[1].sqn, AMF, &t), 0);
		assert_int_equal(present(f, &t, &r), USIM_MAC_FAILURE);
	}
	milenage_free(&other);
	state_text(f, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(present(f, &v[1], &r), USIM_OK);
	assert_string_equal(usim_status_name(USIM_MAC_FAILURE), "mac-failure");
	fixture_free(f);
}

static void test_he_generator(void **state)
{
	uint64_t next;

	assert_int_equal(sqn_he_next(0, 5, &next), 0);
	assert_int_equal(next, sqn_make(1, 1, 5));
	assert_int_equal(sqn_he_next(sqn_make(7, 31, 5), 5, &next), 0);
	assert_int_equal(next, sqn_make(8, 0, 5));
	assert_int_equal(sqn_he_next(41, 0, &next), 0);
	assert_int_equal(next, 42);
	/* The top SEQ cannot be followed. */
	assert_int_equal(sqn_he_next(sqn_make(sqn_seq(AKA_SQN_MAX, 5), 3, 5), 5, &next),
			 -EOVERFLOW);
	assert_int_equal(sqn_he_next(sqn_make(sqn_seq(AKA_SQN_MAX, 5) - 1, 3, 5), 5, &next), 0);
	assert_int_equal(sqn_he_next(AKA_SQN_MAX + 1, 5, &next), -EINVAL);
	assert_int_equal(sqn_he_next(0, SQN_IND_BITS_MAX + 1, &next), -EINVAL);
	assert_int_equal(sqn_he_resync(AKA_SQN_MAX + 1, &next), -EINVAL);
	assert_string_equal(sqn_verdict_name(SQN_TOO_FAR), "too-far");
}

/* Several at once, and what a failing RAND source leaves behind. */
static void test_vectors_generate(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[4];
	uint64_t last = 100;

	f->cr.fail_at = 3;
	assert_int_equal(aka_vectors_generate(&f->hss, AMF, 5, &last, &f->rs, v, 4), -EAGAIN);
	assert_int_equal(last, 100);
	for (size_t i = 0; i < sizeof(v); i++)
		assert_int_equal(((uint8_t *)v)[i], 0);
	assert_int_equal(aka_vectors_generate(&f->hss, AMF, 5, &last, &f->rs, v, 0), -EINVAL);
	assert_int_equal(aka_vectors_generate(&f->hss, AMF, 5, &last, &f->rs, v, 4), 0);
	assert_int_equal(last, v[3].sqn);
	assert_memory_not_equal(v[0].rand, v[1].rand, 16);
	/* The production source works too. */
	assert_int_equal(aka_vectors_generate(&f->hss, AMF, 5, &last, &aka_rand_system, v, 2), 0);
	fixture_free(f);
}

static void test_state_file(void **state)
{
	struct fixture *f = fixture_new(NULL);
	struct aka_vector v[3];
	struct usim_result r;
	struct usim copy;
	char a[2048], b[2048], dir[] = "/tmp/simreg-aka-XXXXXX", path[64];
	unsigned line = 0;
	uint8_t k[16], opc[16];

	hss_vectors(f, v, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(present(f, &v[i], &r), USIM_OK);
	state_text(f, a, sizeof(a));
	assert_string_equal(a, "# simreg USIM SQN state (TS 33.102 Annex C)\n"
			       "ind_bits 5\ndelta 268435456\nage_limit 0\n"
			       "seq 1 1\nseq 2 2\nseq 3 3\n");
	assert_int_equal(usim_state_format(&f->card, a, 40), -ENOSPC);
	state_text(f, a, sizeof(a));

	/* Through a file: a card restarted from it refuses the old vectors. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/usim.state", dir);
	assert_int_equal(usim_state_save(&f->card, path), 0);
	keys(k, opc);
	assert_int_equal(usim_init(&copy, k, opc, MILENAGE_OPC, NULL), 0);
	assert_int_equal(usim_state_load(&copy, path, &line), 0);
	assert_int_equal(usim_state_format(&copy, b, sizeof(b)) > 0, 1);
	assert_string_equal(a, b);
	assert_int_equal(usim_authenticate(&copy, v[2].rand, v[2].autn, &r), 0);
	assert_int_equal(r.status, USIM_SYNC_FAILURE);
	usim_free(&copy);
	assert_int_equal(usim_state_load(&f->card, "/nonexistent/usim.state", &line), -ENOENT);
	assert_int_equal(usim_state_save(&f->card, "/nonexistent/usim.state"), -ENOENT);
	unlink(path);
	rmdir(dir);
	fixture_free(f);
}

/* Bad state files: each is refused with its line, and the state stays. */
static void test_state_parse_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
	} bad[] = {
		{ "ind_bits 5\ndelta 10\n", 3 },                       /* no age_limit */
		{ "ind_bits 5\ndelta 10\nage_limit 0\nfoo 1\n", 4 },   /* unknown key */
		{ "ind_bits 9\n", 1 },                                 /* > max */
		{ "ind_bits 5\ndelta 0\nage_limit 0\n", 4 },           /* delta 0 */
		{ "ind_bits 5\nind_bits 5\n", 2 },                     /* twice */
		{ "ind_bits 2\ndelta 9\nage_limit 0\nseq 4 1\n", 4 },  /* slot >= 4 */
		{ "ind_bits 2\ndelta 9\nage_limit 0\nseq 1 1\nseq 1 2\n", 5 },
		{ "ind_bits 5\ndelta 9\nage_limit 0\nseq 1 8796093022208\n", 4 },
		{ "ind_bits 5\ndelta 9\nage_limit 0\nseq 1 -1\n", 4 },
		{ "ind_bits 5\ndelta 9\nage_limit 0\nseq 1\n", 4 },
		{ "ind_bits 5\ndelta 9\nage_limit 0\nseq 1 2 3\n", 4 },
		{ "seq 1 2\nind_bits 5\ndelta 9\nage_limit 0\n", 1 },   /* seq first */
		{ "ind_bits 5\ndelta 9\nseq 1 2\nage_limit 0\n", 3 },
		{ "ind_bits 5 6\n", 1 },
		{ "ind_bits\n", 1 },
		{ "", 1 },
	};
	struct fixture *f = fixture_new(NULL);
	char before[2048], after[2048];
	unsigned line;

	state_text(f, before, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		line = 0;
		if (usim_state_parse(&f->card, str_from_cstr(bad[i].text), &line) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i].text);
		if (line != bad[i].line)
			fail_msg("case %zu: error on line %u, expected %u", i, line, bad[i].line);
	}
	state_text(f, after, sizeof(after));
	assert_string_equal(before, after);

	/* Comments, blank lines, CRLF and the largest SEQ are fine. */
	assert_int_equal(usim_state_parse(&f->card,
					  STR_LIT("# c\r\n\r\nind_bits 5\r\ndelta 9\r\n"
						  "age_limit 3\r\nseq 31 8796093022207\r\n"),
					  &line),
			 0);
	assert_int_equal(f->card.sqn.p.age_limit, 3);
	assert_int_equal(sqn_ms_highest(&f->card.sqn), AKA_SQN_MAX);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_out_of_order_within_window),
		cmocka_unit_test(test_out_of_order_beyond_window),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_wrap_limit),
		cmocka_unit_test(test_resync_round_trip),
		cmocka_unit_test(test_mac_failure),
		cmocka_unit_test(test_he_generator),
		cmocka_unit_test(test_vectors_generate),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_state_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
