/*
 * ESP encode/decode against packets built by an independent implementation
 * (tests/data/ipsec/esp_vectors.tsv from gen_esp_vectors.py, which Wireshark
 * also decrypts in esp_vectors_tshark.sh), replay window edges, ICV and
 * padding failures, malformed input.
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

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/hex.h"
#include "ipsec/esp.h"

struct vector {
	char name[32];
	uint32_t spi, seq;
	struct esp_keys keys;
	uint8_t iv[16];
	size_t iv_len;
	uint8_t udp[1024];
	size_t udp_len;
	uint8_t esp[1200];
	size_t esp_len;
};

static struct vector vectors[16];
static size_t nvectors;

static int load_vectors(void **state)
{
	char path[4096], line[8192];
	const char *dir = getenv("SIMREG_TESTDATA");
	FILE *f;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/ipsec/esp_vectors.tsv", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nvectors < 16) {
		char *c[14], *save = NULL;
		int n = 0;
		size_t len;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || strncmp(line, "name\t", 5) == 0)
			continue;
		for (char *t = strtok_r(line, "\t", &save); t && n < 14; t = strtok_r(NULL, "\t", &save))
			c[n++] = t;
		if (n != 14)
			return -1;
		struct vector *v = &vectors[nvectors++];
		snprintf(v->name, sizeof(v->name), "%s", c[0]);
		v->spi = (uint32_t)strtoul(c[3], NULL, 16);
		v->seq = (uint32_t)strtoul(c[4], NULL, 10);
		if (esp_auth_alg_parse(str_from_cstr(c[5]), &v->keys.auth) ||
		    esp_enc_alg_parse(str_from_cstr(c[6]), &v->keys.enc))
			return -1;
		if (hex_decode_var(str_from_cstr(c[7]), v->keys.ik_esp, sizeof(v->keys.ik_esp), &len))
			return -1;
		v->keys.ik_len = len;
		if (strcmp(c[8], "-") != 0) {
			if (hex_decode_var(str_from_cstr(c[8]), v->keys.ck_esp, sizeof(v->keys.ck_esp),
					   &len))
				return -1;
			v->keys.ck_len = len;
		}
		if (strcmp(c[9], "-") != 0 &&
		    hex_decode_var(str_from_cstr(c[9]), v->iv, sizeof(v->iv), &v->iv_len))
			return -1;
		if (hex_decode_var(str_from_cstr(c[12]), v->udp, sizeof(v->udp), &v->udp_len) ||
		    hex_decode_var(str_from_cstr(c[13]), v->esp, sizeof(v->esp), &v->esp_len))
			return -1;
	}
	fclose(f);
	return nvectors >= 6 ? 0 : -1;
}

/* Seam: hand out the bytes of one IV, then fail (a second draw is a bug). */
struct fixed_iv {
	const uint8_t *iv;
	size_t len;
	int draws;
};

static int fixed_random(void *ctx, uint8_t *buf, size_t len)
{
	struct fixed_iv *f = ctx;

	if (f->draws++ || len != f->len)
		return -EIO;
	memcpy(buf, f->iv, len);
	return 0;
}

/*
 * The vectors' keys are TS 35.208 set 1 IK/CK expanded by the generator;
 * lib/aka's Annex I expansion must give the same bytes.
 */
static void test_vector_keys_are_annex_i(void **state)
{
	uint8_t ik[AKA_IK_LEN], ck[AKA_CK_LEN];

	assert_int_equal(hex_decode(STR_LIT("f769bcd751044604127672711c6d3441"), ik, sizeof(ik)), 0);
	assert_int_equal(hex_decode(STR_LIT("b40ba9a3c58b2a05bbf0d987b21bf8cb"), ck, sizeof(ck)), 0);
	for (size_t i = 0; i < nvectors; i++) {
		struct esp_keys k;

		assert_int_equal(esp_keys_derive(vectors[i].keys.auth, vectors[i].keys.enc, ik, ck, &k), 0);
		assert_int_equal(k.ik_len, vectors[i].keys.ik_len);
		assert_int_equal(k.ck_len, vectors[i].keys.ck_len);
		assert_memory_equal(k.ik_esp, vectors[i].keys.ik_esp, k.ik_len);
		assert_memory_equal(k.ck_esp, vectors[i].keys.ck_esp, k.ck_len);
	}
}

static void test_vectors_encode(void **state)
{
	for (size_t i = 0; i < nvectors; i++) {
		const struct vector *v = &vectors[i];
		struct fixed_iv f = { v->iv, v->iv_len, 0 };
		struct esp_seam seam = { fixed_random, &f };
		uint8_t out[1200];
		size_t n = 0;
		struct esp_sa sa;

		print_message("encode %s\n", v->name);
		assert_int_equal(esp_sa_init(&sa, v->spi, true, &v->keys, &seam), 0);
		sa.seq = v->seq - 1;
		assert_int_equal(esp_encap(&sa, 17, v->udp, v->udp_len, out, sizeof(out), &n), 0);
		assert_int_equal(n, v->esp_len);
		assert_memory_equal(out, v->esp, n);
		assert_true(n <= esp_encap_max(&sa, v->udp_len));
		assert_int_equal(sa.seq, v->seq);
		assert_int_equal(sa.ctr.packets, 1);
		assert_int_equal(sa.ctr.bytes, v->udp_len);
		esp_sa_clear(&sa);
	}
}

static void test_vectors_decode(void **state)
{
	for (size_t i = 0; i < nvectors; i++) {
		const struct vector *v = &vectors[i];
		struct esp_plain plain;
		uint8_t pkt[1200];
		struct esp_sa sa;

		print_message("decode %s\n", v->name);
		assert_int_equal(esp_sa_init(&sa, v->spi, false, &v->keys, NULL), 0);
		memcpy(pkt, v->esp, v->esp_len);
		assert_int_equal(esp_decap(&sa, pkt, v->esp_len, &plain), ESP_OK);
		assert_int_equal(plain.seq, v->seq);
		assert_int_equal(plain.next_header, 17);
		assert_int_equal(plain.len, v->udp_len);
		assert_memory_equal(plain.payload, v->udp, v->udp_len);
		/* The same packet again is a replay. */
		memcpy(pkt, v->esp, v->esp_len);
		assert_int_equal(esp_decap(&sa, pkt, v->esp_len, &plain), ESP_E_REPLAY);
		assert_int_equal(sa.ctr.drops[ESP_E_REPLAY], 1);
		assert_int_equal(sa.ctr.packets, 1);
		esp_sa_clear(&sa);
	}
}

static const struct vector *find(const char *name)
{
	for (size_t i = 0; i < nvectors; i++)
		if (strcmp(vectors[i].name, name) == 0)
			return &vectors[i];
	fail_msg("no vector %s", name);
	return NULL;
}

/* Any changed bit anywhere is an ICV failure; the window does not move. */
static void test_icv_failure(void **state)
{
	const struct vector *v = find("sha1-aes-v4");
	struct esp_plain plain;
	uint8_t pkt[1200];
	struct esp_sa sa;
	unsigned fails = 0;

	assert_int_equal(esp_sa_init(&sa, v->spi, false, &v->keys, NULL), 0);
	/* Byte 0..3 is the SPI: changing it is caught as malformed before the ICV. */
	for (size_t off = 4; off < v->esp_len; off += 7) {
		memcpy(pkt, v->esp, v->esp_len);
		pkt[off] ^= 0x01;
		enum esp_result r = esp_decap(&sa, pkt, v->esp_len, &plain);
		/* A changed sequence number may also fall left of the window: not here (top 0). */
		assert_int_equal(r, ESP_E_AUTH);
		fails++;
	}
	assert_int_equal(sa.ctr.drops[ESP_E_AUTH], fails);
	assert_int_equal(sa.replay.top, 0);
	memcpy(pkt, v->esp, v->esp_len);
	assert_int_equal(esp_decap(&sa, pkt, v->esp_len, &plain), ESP_OK);
	/* Wrong key: auth failure too. */
	struct esp_keys k = v->keys;
	k.ik_esp[0] ^= 0x80;
	struct esp_sa wrong;
	assert_int_equal(esp_sa_init(&wrong, v->spi, false, &k, NULL), 0);
	memcpy(pkt, v->esp, v->esp_len);
	assert_int_equal(esp_decap(&wrong, pkt, v->esp_len, &plain), ESP_E_AUTH);
	esp_sa_clear(&wrong);
	esp_sa_clear(&sa);
}

static void test_malformed(void **state)
{
	const struct vector *v = find("sha1-aes-v4");
	struct esp_plain plain;
	uint8_t pkt[1200];
	struct esp_sa sa;

	assert_int_equal(esp_sa_init(&sa, v->spi, false, &v->keys, NULL), 0);
	for (size_t len = 0; len < 8 + 16 + 16 + 12; len++) {
		memcpy(pkt, v->esp, v->esp_len);
		assert_int_equal(esp_decap(&sa, pkt, len, &plain), ESP_E_MALFORMED);
	}
	memcpy(pkt, v->esp, v->esp_len);
	assert_int_equal(esp_decap(&sa, pkt, v->esp_len - 1, &plain), ESP_E_MALFORMED);
	pkt[3] ^= 1; /* not our SPI */
	assert_int_equal(esp_decap(&sa, pkt, v->esp_len, &plain), ESP_E_MALFORMED);
	assert_int_equal(sa.ctr.drops[ESP_E_AUTH], 0);
	assert_int_equal(sa.ctr.packets, 0);
	/* An outbound SA refuses to decode, an inbound one to encode. */
	size_t n;
	assert_int_equal(esp_encap(&sa, 17, pkt, 10, pkt, sizeof(pkt), &n), -EINVAL);
	esp_sa_clear(&sa);
	/* Keys of the wrong size. */
	struct esp_keys k = v->keys;
	k.ik_len = 16;
	assert_int_equal(esp_sa_init(&sa, v->spi, false, &k, NULL), -EINVAL);
	esp_sa_clear(&sa);
}

/*
 * Bad padding under a valid ICV (only a key holder can make one): the NULL
 * cipher lets the test write the trailer and re-sign it with OpenSSL's
 * one-shot HMAC.
 */
static void test_bad_padding(void **state)
{
	const struct vector *v = find("sha1-null-v6");
	struct esp_plain plain;
	uint8_t pkt[1200], md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	size_t trailer = v->esp_len - ESP_ICV_LEN - 2;
	struct esp_sa sa;

	assert_int_equal(esp_sa_init(&sa, v->spi, false, &v->keys, NULL), 0);
	memcpy(pkt, v->esp, v->esp_len);
	assert_true(pkt[trailer] > 0); /* the vector has padding to spoil */
	pkt[trailer - 1] ^= 0x40;
	HMAC(EVP_sha1(), v->keys.ik_esp, (int)v->keys.ik_len, pkt, v->esp_len - ESP_ICV_LEN, md, &mdlen);
	memcpy(pkt + v->esp_len - ESP_ICV_LEN, md, ESP_ICV_LEN);
	assert_int_equal(esp_decap(&sa, pkt, v->esp_len, &plain), ESP_E_PADDING);
	/* Pad length beyond the payload. */
	memcpy(pkt, v->esp, v->esp_len);
	pkt[trailer] = 250;
	HMAC(EVP_sha1(), v->keys.ik_esp, (int)v->keys.ik_len, pkt, v->esp_len - ESP_ICV_LEN, md, &mdlen);
	memcpy(pkt + v->esp_len - ESP_ICV_LEN, md, ESP_ICV_LEN);
	assert_int_equal(esp_decap(&sa, pkt, v->esp_len, &plain), ESP_E_PADDING);
	assert_int_equal(sa.ctr.drops[ESP_E_PADDING], 2);
	assert_int_equal(sa.replay.top, 0);
	esp_sa_clear(&sa);
}

static void test_replay_window(void **state)
{
	struct esp_replay w = { 0, 0 };

	assert_false(esp_replay_check(&w, 0));
	assert_true(esp_replay_check(&w, 1));
	esp_replay_update(&w, 1);
	assert_false(esp_replay_check(&w, 1));
	/* Jump ahead: 100 is the right edge, 37 the left edge (100 - 63). */
	esp_replay_update(&w, 100);
	assert_true(esp_replay_check(&w, 37));
	assert_false(esp_replay_check(&w, 36));
	assert_false(esp_replay_check(&w, 1));
	assert_false(esp_replay_check(&w, 100));
	assert_true(esp_replay_check(&w, 99));
	esp_replay_update(&w, 37);
	assert_false(esp_replay_check(&w, 37));
	/* Out of order within the window, each once. */
	for (uint32_t s = 38; s < 100; s++) {
		assert_true(esp_replay_check(&w, s));
		esp_replay_update(&w, s);
		assert_false(esp_replay_check(&w, s));
	}
	assert_int_equal(w.bits, UINT64_MAX);
	/* Slide by exactly the window: everything old falls off. */
	esp_replay_update(&w, 164);
	assert_int_equal(w.bits, 1);
	assert_false(esp_replay_check(&w, 100));
	assert_true(esp_replay_check(&w, 101));
	/* Slide by one keeps 63 of the old bits. */
	esp_replay_update(&w, 165);
	assert_int_equal(w.bits, 3);
	/* The top of the sequence space. */
	w = (struct esp_replay){ UINT32_MAX - 1, 1 };
	assert_true(esp_replay_check(&w, UINT32_MAX));
	esp_replay_update(&w, UINT32_MAX);
	assert_false(esp_replay_check(&w, UINT32_MAX));
	assert_false(esp_replay_check(&w, UINT32_MAX - 1));
	assert_true(esp_replay_check(&w, UINT32_MAX - 2));
}

/* The window through real packets: order of arrival vs. what is accepted. */
static void test_replay_packets(void **state)
{
	static const struct {
		uint32_t seq;
		enum esp_result want;
	} arrivals[] = {
		{ 5, ESP_OK }, { 3, ESP_OK }, { 5, ESP_E_REPLAY }, { 70, ESP_OK },
		{ 7, ESP_OK },      /* 70 - 63 = left edge */
		{ 6, ESP_E_REPLAY }, /* just out */
		{ 3, ESP_E_REPLAY }, { 69, ESP_OK }, { 71, ESP_OK }, { 7, ESP_E_REPLAY },
		{ 8, ESP_OK },
	};
	const struct vector *v = find("sha1-aes-v4");
	struct esp_sa out, in;
	uint8_t pkts[200][128];
	size_t lens[200];

	assert_int_equal(esp_sa_init(&out, v->spi, true, &v->keys, NULL), 0);
	assert_int_equal(esp_sa_init(&in, v->spi, false, &v->keys, NULL), 0);
	for (uint32_t s = 1; s < 80; s++)
		assert_int_equal(esp_encap(&out, 17, (const uint8_t *)"0123456789", 10, pkts[s],
					   sizeof(pkts[s]), &lens[s]),
				 0);
	for (size_t i = 0; i < sizeof(arrivals) / sizeof(arrivals[0]); i++) {
		uint8_t pkt[128];
		struct esp_plain plain;

		memcpy(pkt, pkts[arrivals[i].seq], lens[arrivals[i].seq]);
		assert_int_equal(esp_decap(&in, pkt, lens[arrivals[i].seq], &plain), arrivals[i].want);
		if (arrivals[i].want == ESP_OK)
			assert_int_equal(plain.seq, arrivals[i].seq);
	}
	assert_int_equal(in.ctr.packets, 7);
	assert_int_equal(in.ctr.drops[ESP_E_REPLAY], 4);
	esp_sa_clear(&out);
	esp_sa_clear(&in);
}

static void test_sequence_exhausted(void **state)
{
	const struct vector *v = find("md5-null-v4");
	struct esp_sa sa;
	uint8_t out[256];
	size_t n;

	assert_int_equal(v->seq, UINT32_MAX);
	assert_int_equal(esp_sa_init(&sa, v->spi, true, &v->keys, NULL), 0);
	sa.seq = UINT32_MAX - 1;
	assert_int_equal(esp_encap(&sa, 17, v->udp, v->udp_len, out, sizeof(out), &n), 0);
	assert_memory_equal(out, v->esp, n);
	assert_int_equal(esp_encap(&sa, 17, v->udp, v->udp_len, out, sizeof(out), &n), -EOVERFLOW);
	assert_int_equal(sa.ctr.packets, 1);
	/* Too small an output buffer. */
	sa.seq = 0;
	assert_int_equal(esp_encap(&sa, 17, v->udp, v->udp_len, out, 20, &n), -EMSGSIZE);
	assert_int_equal(sa.seq, 0);
	esp_sa_clear(&sa);
}

/* Default seam: IVs differ per packet; random extra padding still decodes. */
static void test_random_iv_and_padding(void **state)
{
	const struct vector *v = find("sha1-aes-v4");
	struct esp_sa out, in;
	uint8_t a[1200], b[1200];
	size_t na, nb, lens_seen = 0, last = 0;

	assert_int_equal(esp_sa_init(&out, v->spi, true, &v->keys, NULL), 0);
	assert_int_equal(esp_sa_init(&in, v->spi, false, &v->keys, NULL), 0);
	assert_int_equal(esp_encap(&out, 17, v->udp, v->udp_len, a, sizeof(a), &na), 0);
	assert_int_equal(esp_encap(&out, 17, v->udp, v->udp_len, b, sizeof(b), &nb), 0);
	assert_memory_not_equal(a + 8, b + 8, 16);
	out.pad_blocks_max = 4;
	for (int i = 0; i < 40; i++) {
		struct esp_plain plain;

		assert_int_equal(esp_encap(&out, 17, v->udp, v->udp_len, a, sizeof(a), &na), 0);
		assert_true(na <= esp_encap_max(&out, v->udp_len));
		if (na != last)
			lens_seen++;
		last = na;
		assert_int_equal(esp_decap(&in, a, na, &plain), ESP_OK);
		assert_int_equal(plain.len, v->udp_len);
		assert_memory_equal(plain.payload, v->udp, v->udp_len);
	}
	assert_true(lens_seen > 1);
	esp_sa_clear(&out);
	esp_sa_clear(&in);
}

/* The IV pool: pieces never repeat across a refill, big requests still work. */
static void test_random_pool(void **state)
{
	static struct esp_random_pool pool;
	static uint8_t seen[300][16];
	uint8_t big[5000];

	for (int i = 0; i < 300; i++) { /* 4800 bytes: one refill on the way */
		assert_int_equal(esp_pool_random(&pool, seen[i], 16), 0);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], 16);
	}
	assert_int_equal(esp_pool_random(&pool, big, sizeof(big)), 0);
	assert_int_equal(esp_pool_random(&pool, big, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_keys_are_annex_i),
		cmocka_unit_test(test_vectors_encode),
		cmocka_unit_test(test_vectors_decode),
		cmocka_unit_test(test_icv_failure),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_replay_packets),
		cmocka_unit_test(test_sequence_exhausted),
		cmocka_unit_test(test_random_iv_and_padding),
		cmocka_unit_test(test_random_pool),
	};

	return cmocka_run_group_tests(tests, load_vectors, NULL);
}
