/*
 * Table-driven checks of lib/aka against the published and derived vectors
 * in tests/data/vectors (copied from shared/spec/vectors):
 *   milenage.tsv         TS 35.208 §4.3 sets 1-10 and 35.207 set 2
 *   rijndael_kernel.tsv  TS 35.207 §3 AES-128 kernel checks
 *   aka_derived.tsv      AUTN, MAC-S with AMF* = 0000, AUTS
 *   akav1_md5.tsv        RFC 3310 nonce, HA1, HA2, response
 * plus the TS 33.203 Annex I ESP key expansions on the same IK/CK.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "aka/digest.h"
#include "aka/esp_keys.h"
#include "aka/milenage.h"
#include "aka/usim.h"
#include "aka/vector.h"
#include "core/hex.h"
#include "tsv.h"

static void load(struct tsv *t, const char *rel)
{
	int rc = tsv_load(t, rel);

	if (rc)
		fail_msg("cannot load %s: %s", rel, strerror(-rc));
	assert_true(t->nrows > 0);
}

/* Find the milenage.tsv row of a set. */
static size_t set_row(const struct tsv *m, const char *set)
{
	for (size_t r = 0; r < m->nrows; r++)
		if (strcmp(tsv_get(m, r, "set"), set) == 0)
			return r;
	fail_msg("no milenage set '%s'", set);
	return 0;
}

static void init_from_row(const struct tsv *t, size_t r, enum milenage_opkind kind,
			  struct milenage *m)
{
	uint8_t k[16], op[16];

	tsv_hex(t, r, "K", k, 16);
	tsv_hex(t, r, kind == MILENAGE_OP ? "OP" : "OPc", op, 16);
	assert_int_equal(milenage_init(m, k, op, kind), 0);
}

static void test_milenage_sets(void **state)
{
	struct tsv t;

	load(&t, "vectors/milenage.tsv");
	assert_int_equal(t.nrows, 11);
	for (size_t r = 0; r < t.nrows; r++) {
		uint8_t k[16], op[16], opc[16], rand[16], sqn[6], amf[2], want[16];
		struct milenage_out o;

		tsv_hex(&t, r, "K", k, 16);
		tsv_hex(&t, r, "OP", op, 16);
		tsv_hex(&t, r, "RAND", rand, 16);
		tsv_hex(&t, r, "SQN", sqn, 6);
		tsv_hex(&t, r, "AMF", amf, 2);

		assert_int_equal(milenage_opc(k, op, opc), 0);
		tsv_hex(&t, r, "OPc", want, 16);
		assert_memory_equal(opc, want, 16);

		/* Both ways in: from OP, and from the stored OPc. */
		for (int kind = MILENAGE_OPC; kind <= MILENAGE_OP; kind++) {
			struct milenage m;
			uint8_t res[8], ck[16], ik[16], ak[6], aks[6], maca[8], macs[8];

			init_from_row(&t, r, (enum milenage_opkind)kind, &m);
			assert_memory_equal(m.opc, opc, 16);
			assert_int_equal(milenage_compute(&m, rand, sqn, amf, &o), 0);
			tsv_hex(&t, r, "f1_MAC_A", want, 8);
			assert_memory_equal(o.mac_a, want, 8);
			tsv_hex(&t, r, "f1star_MAC_S", want, 8);
			assert_memory_equal(o.mac_s, want, 8);
			tsv_hex(&t, r, "f2_RES", want, 8);
			assert_memory_equal(o.res, want, 8);
			tsv_hex(&t, r, "f3_CK", want, 16);
			assert_memory_equal(o.ck, want, 16);
			tsv_hex(&t, r, "f4_IK", want, 16);
			assert_memory_equal(o.ik, want, 16);
			tsv_hex(&t, r, "f5_AK", want, 6);
			assert_memory_equal(o.ak, want, 6);
			tsv_hex(&t, r, "f5star_AKstar", want, 6);
			assert_memory_equal(o.ak_star, want, 6);

			/* The split entry points agree with the combined one. */
			assert_int_equal(milenage_f1_f1star(&m, rand, sqn, amf, maca, macs), 0);
			assert_memory_equal(maca, o.mac_a, 8);
			assert_memory_equal(macs, o.mac_s, 8);
			assert_int_equal(milenage_f2_f5star(&m, rand, res, ck, ik, ak, aks), 0);
			assert_memory_equal(res, o.res, 8);
			assert_memory_equal(ck, o.ck, 16);
			assert_memory_equal(ik, o.ik, 16);
			assert_memory_equal(ak, o.ak, 6);
			assert_memory_equal(aks, o.ak_star, 6);
			milenage_free(&m);
			/* Freed contexts hold no OPc. */
			assert_null(m.ecb);
			for (int i = 0; i < 16; i++)
				assert_int_equal(m.opc[i], 0);
		}
	}
	tsv_free(&t);
}

static void test_rijndael_kernel(void **state)
{
	struct tsv t;
	static const uint8_t zero[16];

	load(&t, "vectors/rijndael_kernel.tsv");
	assert_int_equal(t.nrows, 6);
	for (size_t r = 0; r < t.nrows; r++) {
		uint8_t k[16], in[16], want[16], out[16];
		struct milenage m;

		tsv_hex(&t, r, "K", k, 16);
		tsv_hex(&t, r, "plaintext", in, 16);
		tsv_hex(&t, r, "ciphertext_EK", want, 16);
		assert_int_equal(milenage_init(&m, k, zero, MILENAGE_OPC), 0);
		assert_int_equal(milenage_kernel(&m, in, out), 0);
		assert_memory_equal(out, want, 16);
		milenage_free(&m);
	}
	tsv_free(&t);
}

static void test_aka_derived(void **state)
{
	struct tsv d, mt;

	load(&d, "vectors/aka_derived.tsv");
	load(&mt, "vectors/milenage.tsv");
	assert_int_equal(d.nrows, 11);
	for (size_t r = 0; r < d.nrows; r++) {
		size_t mr = set_row(&mt, tsv_get(&d, r, "set"));
		uint8_t rand[16], sqnb[6], amf[2], want[16], auts[14], macs[8];
		static const uint8_t amf0[2];
		struct milenage m;
		struct aka_vector v;
		uint64_t sqn, sqn_ms = 0;

		init_from_row(&mt, mr, MILENAGE_OPC, &m);
		tsv_hex(&mt, mr, "RAND", rand, 16);
		tsv_hex(&mt, mr, "SQN", sqnb, 6);
		tsv_hex(&mt, mr, "AMF", amf, 2);
		sqn = aka_sqn_from_bytes(sqnb);

		assert_int_equal(aka_vector_make(&m, rand, sqn, amf, &v), 0);
		tsv_hex(&d, r, "AUTN", want, 16);
		assert_memory_equal(v.autn, want, 16);
		tsv_hex(&d, r, "SQN_xor_AK", want, 6);
		assert_memory_equal(v.autn, want, 6);
		assert_memory_equal(v.rand, rand, 16);
		assert_int_equal(v.sqn, sqn);
		tsv_hex(&mt, mr, "f2_RES", want, 8);
		assert_memory_equal(v.xres, want, 8);
		tsv_hex(&mt, mr, "f3_CK", want, 16);
		assert_memory_equal(v.ck, want, 16);
		tsv_hex(&mt, mr, "f4_IK", want, 16);
		assert_memory_equal(v.ik, want, 16);

		assert_int_equal(milenage_f1_f1star(&m, rand, sqnb, amf0, NULL, macs), 0);
		tsv_hex(&d, r, "MAC_S_amf0000", want, 8);
		assert_memory_equal(macs, want, 8);

		assert_int_equal(usim_auts(&m, rand, sqn, auts), 0);
		tsv_hex(&d, r, "AUTS_sqnms_eq_SQN", want, 14);
		assert_memory_equal(auts, want, 14);

		/* HSS side: recovers SQN_MS; any flipped bit is refused and
		 * leaves the output alone. */
		assert_int_equal(aka_resync(&m, rand, auts, &sqn_ms), 0);
		assert_int_equal(sqn_ms, sqn);
		for (int bit = 0; bit < 14 * 8; bit += 13) {
			uint64_t untouched = 42;
			auts[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			assert_int_equal(aka_resync(&m, rand, auts, &untouched), -EBADMSG);
			assert_int_equal(untouched, 42);
			auts[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		assert_int_equal(aka_vector_make(&m, rand, AKA_SQN_MAX + 1, amf, &v), -EINVAL);
		aka_vector_wipe(&v);
		milenage_free(&m);
	}
	tsv_free(&d);
	tsv_free(&mt);
}

static struct str field(const struct tsv *t, size_t r, const char *name)
{
	return str_from_cstr(tsv_get(t, r, name));
}

static void test_akav1_md5(void **state)
{
	struct tsv t;

	load(&t, "vectors/akav1_md5.tsv");
	assert_int_equal(t.nrows, 3);
	for (size_t r = 0; r < t.nrows; r++) {
		const char *name = tsv_get(&t, r, "case");
		bool sync = strcmp(name, "sync-failure") == 0;
		uint8_t rand[16], autn[16], res[8];
		char nonce[64], ha1[33], ha2[33], resp[33];
		struct akav1_nonce n;
		struct digest_request q = {
			.username = field(&t, r, "username"),
			.realm = field(&t, r, "realm"),
			.nonce = field(&t, r, "nonce_b64"),
			.uri = field(&t, r, "uri"),
			.method = field(&t, r, "method"),
			.nc = field(&t, r, "nc"),
			.cnonce = field(&t, r, "cnonce"),
		};
		/* The sync-failure row's response uses an empty password. */
		size_t pwlen = sync ? 0 : sizeof(res);

		tsv_hex(&t, r, "RAND", rand, 16);
		tsv_hex(&t, r, "AUTN", autn, 16);
		tsv_hex(&t, r, "RES_password_hex", res, 8);
		if (tsv_get(&t, r, "qop")[0])
			assert_int_equal(digest_qop_parse(field(&t, r, "qop"), &q.qop), 0);
		else
			q.qop = DIGEST_QOP_NONE;

		assert_int_equal(akav1_nonce_encode(rand, autn, NULL, 0, nonce, sizeof(nonce)), 44);
		assert_string_equal(nonce, tsv_get(&t, r, "nonce_b64"));
		assert_int_equal(akav1_nonce_decode(q.nonce, &n), 0);
		assert_memory_equal(n.rand, rand, 16);
		assert_memory_equal(n.autn, autn, 16);
		assert_int_equal(n.server_data_len, 0);

		assert_int_equal(digest_ha1(q.username, q.realm, res, pwlen, ha1), 0);
		assert_string_equal(ha1, tsv_get(&t, r, "HA1"));
		assert_int_equal(digest_ha2(&q, ha2), 0);
		assert_string_equal(ha2, tsv_get(&t, r, "HA2"));
		assert_int_equal(digest_response(&q, res, pwlen, resp), 0);
		assert_string_equal(resp, tsv_get(&t, r, "response"));

		assert_int_equal(digest_verify(&q, res, pwlen, field(&t, r, "response")), 0);
		resp[31] = resp[31] == '0' ? '1' : '0';
		assert_int_equal(digest_verify(&q, res, pwlen, str_from_cstr(resp)), -EACCES);
		assert_int_equal(digest_verify(&q, res, pwlen, str_make(resp, 31)), -EACCES);
		/* The hex of RES is not the password (RFC 3310 §3.4). */
		assert_int_equal(digest_verify(&q, (const uint8_t *)tsv_get(&t, r, "RES_password_hex"),
					       16, field(&t, r, "response")),
				 -EACCES);

		if (sync) {
			/* The auts parameter carries the set-1 AUTS of aka_derived. */
			uint8_t auts[16];
			size_t len;
			char hex[29];
			assert_int_equal(base64_decode(field(&t, r, "auts_b64"), auts, sizeof(auts),
						       &len), 0);
			assert_int_equal(len, 14);
			hex_encode(auts, 14, hex);
			assert_string_equal(hex, "ba853f3c123ccf44e93596e355c6");
		}
	}
	tsv_free(&t);
}

/* Nonce corner cases: server data, bad base64, too short, too long. */
static void test_nonce_edges(void **state)
{
	uint8_t rand[16], autn[16], sd[5] = { 1, 2, 3, 4, 5 };
	char nonce[AKAV1_NONCE_MAX + 8], longer[AKAV1_NONCE_MAX + 8];
	struct akav1_nonce n;

	for (int i = 0; i < 16; i++) {
		rand[i] = (uint8_t)i;
		autn[i] = (uint8_t)(0xf0 | i);
	}
	assert_int_equal(akav1_nonce_encode(rand, autn, sd, sizeof(sd), nonce, sizeof(nonce)),
			 BASE64_ENCODED_LEN(37));
	assert_int_equal(akav1_nonce_decode(str_from_cstr(nonce), &n), 0);
	assert_memory_equal(n.rand, rand, 16);
	assert_memory_equal(n.autn, autn, 16);
	assert_int_equal(n.server_data_len, 5);
	assert_memory_equal(n.server_data, sd, 5);

	assert_int_equal(akav1_nonce_encode(rand, autn, NULL, 0, nonce, 44), -ENOSPC);
	assert_int_equal(akav1_nonce_encode(rand, autn, sd, AKAV1_SERVER_DATA_MAX + 1, nonce,
					    sizeof(nonce)),
			 -EINVAL);
	/* 31 octets: one short of RAND || AUTN. */
	assert_int_equal(akav1_nonce_encode(rand, autn, NULL, 0, nonce, sizeof(nonce)), 44);
	{
		uint8_t raw[31];
		char b64[64];
		memcpy(raw, rand, 16);
		memcpy(raw + 16, autn, 15);
		base64_encode(raw, sizeof(raw), b64);
		assert_int_equal(akav1_nonce_decode(str_from_cstr(b64), &n), -EBADMSG);
	}
	assert_int_equal(akav1_nonce_decode(STR_LIT("not base64!"), &n), -EINVAL);
	memset(longer, 'A', AKAV1_NONCE_MAX + 4);
	assert_int_equal(akav1_nonce_decode(str_make(longer, AKAV1_NONCE_MAX + 4), &n), -EMSGSIZE);
	/* The longest accepted nonce decodes and fills server data exactly. */
	assert_int_equal(akav1_nonce_decode(str_make(longer, AKAV1_NONCE_MAX), &n), 0);
	assert_int_equal(n.server_data_len, AKAV1_SERVER_DATA_MAX);
}

/* auth-int, rspauth and argument checks; expectations from the RFC 2617
 * formulas spelled out with the MD5 of each part (computed once with
 * md5sum and kept here as numbers, like any other test vector). */
#define AUTH_INT_HA2_EMPTY "050bbbfef45dc8fabb4f60f5fcb4de79"
#define AUTH_INT_HA2_BODY "14136962315a5b621b32a0a6ace33444" /* body "v=0\r\n" */
#define AUTH_INT_RESPONSE_EMPTY "5682a0ac7d51b056ce2245ed00d885c0"
#define RSPAUTH_AUTH "cae7bfcdd22912ec0ff1fb31b2a811c5"

static void test_digest_qop_variants(void **state)
{
	static const uint8_t res[8] = { 0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf };
	struct digest_request q = {
		.username = STR_LIT("001010000000001@ims.mnc001.mcc001.3gppnetwork.org"),
		.realm = STR_LIT("ims.mnc001.mcc001.3gppnetwork.org"),
		.nonce = STR_LIT("I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M="),
		.uri = STR_LIT("sip:ims.mnc001.mcc001.3gppnetwork.org"),
		.method = STR_LIT("REGISTER"),
		.qop = DIGEST_QOP_AUTH_INT,
		.nc = STR_LIT("00000001"),
		.cnonce = STR_LIT("0a4f113b"),
		.body = STR_LIT(""),
	};
	char ha2[33], resp[33];
	enum digest_qop qop;

	/* HA2 = MD5("REGISTER:sip:ims...org:" MD5("")) */
	assert_int_equal(digest_ha2(&q, ha2), 0);
	assert_string_equal(ha2, AUTH_INT_HA2_EMPTY);
	assert_int_equal(digest_response(&q, res, 8, resp), 0);
	assert_string_equal(resp, AUTH_INT_RESPONSE_EMPTY);
	q.body = STR_LIT("v=0\r\n");
	assert_int_equal(digest_ha2(&q, ha2), 0);
	assert_string_equal(ha2, AUTH_INT_HA2_BODY);

	/* rspauth: A2 = ":" uri */
	q.qop = DIGEST_QOP_AUTH;
	assert_int_equal(digest_rspauth(&q, res, 8, resp), 0);
	assert_string_equal(resp, RSPAUTH_AUTH);

	q.cnonce = STR_NULL;
	assert_int_equal(digest_response(&q, res, 8, resp), -EINVAL);
	assert_int_equal(digest_verify(&q, res, 8, STR_LIT("x")), -EINVAL);

	assert_int_equal(digest_qop_parse(STR_LIT("AUTH-INT"), &qop), 0);
	assert_int_equal(qop, DIGEST_QOP_AUTH_INT);
	assert_int_equal(digest_qop_parse(STR_LIT("auth-conf"), &qop), -EINVAL);
	assert_string_equal(digest_qop_name(DIGEST_QOP_NONE), "");
}

/* TS 33.203 Annex I on the IK/CK of Milenage set 1. */
static void test_esp_keys(void **state)
{
	struct tsv t;
	uint8_t ik[16], ck[16], want[24];
	struct esp_keys k;
	enum esp_auth_alg a;
	enum esp_enc_alg e;

	load(&t, "vectors/milenage.tsv");
	tsv_hex(&t, 0, "f4_IK", ik, 16);
	tsv_hex(&t, 0, "f3_CK", ck, 16);

	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC, ik, ck, &k), 0);
	assert_int_equal(k.ik_len, 20);
	assert_int_equal(hex_decode(STR_LIT("f769bcd751044604127672711c6d344100000000"), want, 20), 0);
	assert_memory_equal(k.ik_esp, want, 20);
	assert_int_equal(k.ck_len, 16);
	assert_memory_equal(k.ck_esp, ck, 16);

	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_MD5_96, ESP_ENC_DES_EDE3_CBC, ik, ck, &k), 0);
	assert_int_equal(k.ik_len, 16);
	assert_memory_equal(k.ik_esp, ik, 16);
	assert_int_equal(k.ck_len, 24);
	assert_int_equal(hex_decode(STR_LIT("b40ba9a3c58b2a05bbf0d987b21bf8cbb40ba9a3c58b2a05"), want, 24), 0);
	assert_memory_equal(k.ck_esp, want, 24);

	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_SHA1_96, ESP_ENC_NULL, ik, ck, &k), 0);
	assert_int_equal(k.ck_len, 0);
	esp_keys_wipe(&k);
	for (size_t i = 0; i < sizeof(k.ik_esp); i++)
		assert_int_equal(k.ik_esp[i], 0);

	assert_int_equal(esp_keys_derive((enum esp_auth_alg)7, ESP_ENC_NULL, ik, ck, &k), -EINVAL);
	assert_int_equal(esp_keys_derive(ESP_AUTH_HMAC_MD5_96, ESP_ENC__COUNT, ik, ck, &k), -EINVAL);

	/* Names round-trip through the sec-agree spelling. */
	for (unsigned i = 0; i < ESP_AUTH__COUNT; i++) {
		assert_int_equal(esp_auth_alg_parse(str_from_cstr(esp_auth_alg_name(i)), &a), 0);
		assert_int_equal(a, i);
	}
	for (unsigned i = 0; i < ESP_ENC__COUNT; i++) {
		assert_int_equal(esp_enc_alg_parse(str_from_cstr(esp_enc_alg_name(i)), &e), 0);
		assert_int_equal(e, i);
	}
	assert_int_equal(esp_auth_alg_parse(STR_LIT("HMAC-SHA-1-96"), &a), 0);
	assert_int_equal(a, ESP_AUTH_HMAC_SHA1_96);
	assert_int_equal(esp_enc_alg_parse(STR_LIT("aes-gcm"), &e), -EINVAL);
	assert_string_equal(esp_auth_alg_xfrm(ESP_AUTH_HMAC_SHA1_96), "hmac(sha1)");
	assert_string_equal(esp_enc_alg_xfrm(ESP_ENC_DES_EDE3_CBC), "cbc(des3_ede)");
	assert_int_equal(esp_auth_icv_bits(ESP_AUTH_HMAC_MD5_96), 96);
	assert_null(esp_auth_alg_name(ESP_AUTH__COUNT));
	tsv_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_milenage_sets),   cmocka_unit_test(test_rijndael_kernel),
		cmocka_unit_test(test_aka_derived),     cmocka_unit_test(test_akav1_md5),
		cmocka_unit_test(test_nonce_edges),     cmocka_unit_test(test_digest_qop_variants),
		cmocka_unit_test(test_esp_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
