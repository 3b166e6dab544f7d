/*
 * bench_aka - authentication vectors per second on one core: simreg's
 * Milenage (OpenSSL AES-128, key schedule kept per subscriber) against
 * libosmocore's osmo_auth_gen_vec(), in the same process and run.
 *
 *   bench_aka [--vectors N] [--rounds R]
 *
 * Both sides get the same K, OPc, AMF and the same table of RANDs, and each
 * vector includes the SQN step. The two are checked to produce the same
 * first vector before anything is timed. Rounds alternate between the two
 * and the best round of each counts, so a noisy neighbour on the machine
 * hurts both alike. Two simreg figures are printed:
 *   warm  one Milenage context per subscriber, reused (what the HSS does
 *         within a multi-vector MAR, and for a subscriber it caches)
 *   cold  milenage_init() + one vector + milenage_free() each time (a MAR
 *         for a subscriber not seen before)
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <osmocom/crypt/auth.h>

#include "aka/milenage.h"
#include "aka/sqn.h"
#include "aka/vector.h"
#include "core/hex.h"

#define NRAND 1024

static const char K_HEX[] = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char OPC_HEX[] = "cd63cb71954a9f4e48a5994e37a02baf";
static const uint8_t AMF[2] = { 0x80, 0x00 };

static uint8_t rands[NRAND][16];
static volatile uint8_t sink;

struct table_rand {
	size_t next;
};

static int table_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct table_rand *t = ctx;

	memcpy(buf, rands[t->next++ % NRAND], len);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void osmo_aud(struct osmo_sub_auth_data *aud, const uint8_t k[16], const uint8_t opc[16])
{
	memset(aud, 0, sizeof(*aud));
	aud->type = OSMO_AUTH_TYPE_UMTS;
	aud->algo = OSMO_AUTH_ALG_MILENAGE;
	memcpy(aud->u.umts.k, k, 16);
	memcpy(aud->u.umts.opc, opc, 16);
	memcpy(aud->u.umts.amf, AMF, 2);
	aud->u.umts.opc_is_op = 0;
	aud->u.umts.ind_bitlen = SQN_IND_BITS_DEFAULT;
	aud->u.umts.ind = 0;
}

static int run_osmo(const uint8_t k[16], const uint8_t opc[16], size_t n, double *secs)
{
	struct osmo_sub_auth_data aud;
	struct osmo_auth_vector vec;
	double t0;

	osmo_aud(&aud, k, opc);
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		if (osmo_auth_gen_vec(&vec, &aud, rands[i % NRAND]) < 0)
			return -EIO;
		sink ^= vec.autn[15];
	}
	*secs = now() - t0;
	return 0;
}

static int run_simreg_warm(const uint8_t k[16], const uint8_t opc[16], size_t n, double *secs)
{
	struct table_rand tr = { 0 };
	const struct aka_rand_source rs = { table_fill, &tr };
	struct milenage m;
	struct aka_vector v;
	uint64_t last = 0;
	double t0;
	int rc = milenage_init(&m, k, opc, MILENAGE_OPC);

	if (rc)
		return rc;
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		rc = aka_vectors_generate(&m, AMF, SQN_IND_BITS_DEFAULT, &last, &rs, &v, 1);
		if (rc)
			break;
		sink ^= v.autn[15];
	}
	*secs = now() - t0;
	milenage_free(&m);
	return rc;
}

static int run_simreg_cold(const uint8_t k[16], const uint8_t opc[16], size_t n, double *secs)
{
	struct table_rand tr = { 0 };
	const struct aka_rand_source rs = { table_fill, &tr };
	struct aka_vector v;
	uint64_t last = 0;
	double t0 = now();
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct milenage m;
		rc = milenage_init(&m, k, opc, MILENAGE_OPC);
		if (rc == 0)
			rc = aka_vectors_generate(&m, AMF, SQN_IND_BITS_DEFAULT, &last, &rs, &v, 1);
		milenage_free(&m);
		sink ^= v.autn[15];
	}
	*secs = now() - t0;
	return rc;
}

/* Same K, OPc, RAND and SQN on both sides: same AUTN, XRES, CK, IK. */
static int cross_check(const uint8_t k[16], const uint8_t opc[16])
{
	struct osmo_sub_auth_data aud;
	struct osmo_auth_vector ov;
	struct milenage m;
	struct aka_vector sv;
	int rc;

	osmo_aud(&aud, k, opc);
	if (osmo_auth_gen_vec(&ov, &aud, rands[0]) < 0)
		return -EIO;
	rc = milenage_init(&m, k, opc, MILENAGE_OPC);
	if (rc)
		return rc;
	rc = aka_vector_make(&m, rands[0], aud.u.umts.sqn, AMF, &sv);
	milenage_free(&m);
	if (rc)
		return rc;
	if (memcmp(ov.autn, sv.autn, 16) || memcmp(ov.res, sv.xres, 8) || ov.res_len != 8 ||
	    memcmp(ov.ck, sv.ck, 16) || memcmp(ov.ik, sv.ik, 16))
		return -EPROTO;
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 200000, rounds = 5;
	uint8_t k[16], opc[16];
	double best_o = 1e9, best_w = 1e9, best_c = 1e9;
	cpu_set_t one;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--vectors") == 0)
			n = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = strtoull(argv[i + 1], NULL, 10);
	}
	if (n == 0 || rounds == 0) {
		fprintf(stderr, "usage: bench_aka [--vectors N] [--rounds R]\n");
		return 2;
	}
	/* One core, whichever we are on now. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);

	hex_decode(str_from_cstr(K_HEX), k, 16);
	hex_decode(str_from_cstr(OPC_HEX), opc, 16);
	for (int i = 0; i < NRAND; i++)
		for (int j = 0; j < 16; j++)
			rands[i][j] = (uint8_t)(i * 131 + j * 17 + (i >> 8));

	rc = cross_check(k, opc);
	if (rc) {
		fprintf(stderr, "bench_aka: simreg and libosmocore disagree (%s)\n", strerror(-rc));
		return 1;
	}
	for (size_t r = 0; r < rounds; r++) {
		double o, w, c;
		if (run_osmo(k, opc, n, &o) || run_simreg_warm(k, opc, n, &w) ||
		    run_simreg_cold(k, opc, n, &c)) {
			fprintf(stderr, "bench_aka: vector generation failed\n");
			return 1;
		}
		best_o = o < best_o ? o : best_o;
		best_w = w < best_w ? w : best_w;
		best_c = c < best_c ? c : best_c;
	}
	printf("vectors per round: %zu, rounds: %zu (best round counts), one core\n", n, rounds);
	printf("libosmocore osmo_auth_gen_vec: %10.0f vectors/s\n", (double)n / best_o);
	printf("simreg warm (context kept):    %10.0f vectors/s\n", (double)n / best_w);
	printf("simreg cold (context per MAR): %10.0f vectors/s\n", (double)n / best_c);
	printf("ratio simreg/libosmocore: warm %.2fx, cold %.2fx\n", best_o / best_w, best_o / best_c);
	return 0;
}
