/*
 * Milenage (TS 35.206 §4.1) over OpenSSL's AES-128.
 *
 * The five OUTi blocks depend on RAND only through TEMP, and OUT1 also on
 * SQN || AMF; all five inputs are ready once TEMP is known, so they go
 * through the cipher as one five-block ECB call. With AES-NI that lets the
 * blocks pipeline; it is where most of the speed over a one-block-at-a-time
 * implementation comes from (bench/aka).
 */
#include "aka/milenage.h"

#include <errno.h>
#include <string.h>
#include <threads.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Rotation amounts r1..r5 in bits and the last octet of c1..c5 (the other
 * fifteen octets of each ci are zero), TS 35.206 §4.1. */
static const unsigned milenage_r[5] = { 64, 0, 32, 64, 96 };
static const uint8_t milenage_c15[5] = { 0x00, 0x01, 0x02, 0x04, 0x08 };

/* out = in rotated left by r bits; r is a multiple of 8 in Milenage's
 * default constants, which is all we support. */
static void rot128(const uint8_t in[16], unsigned r, uint8_t out[16])
{
	unsigned n = r / 8;

	for (unsigned i = 0; i < 16; i++)
		out[i] = in[(i + n) % 16];
}

static void xor16(uint8_t *dst, const uint8_t *a, const uint8_t *b)
{
	for (unsigned i = 0; i < 16; i++)
		dst[i] = a[i] ^ b[i];
}

/* Encrypt `nblocks` 16-octet blocks in place of out. */
static int ecb(struct milenage *m, const uint8_t *in, uint8_t *out, size_t nblocks)
{
	int outl = 0;

	if (EVP_EncryptUpdate(m->ecb, out, &outl, in, (int)(16 * nblocks)) != 1 ||
	    outl != (int)(16 * nblocks))
		return -EIO;
	return 0;
}

/*
 * The cipher implementation, fetched from the default provider once per
 * process. EVP_aes_128_ecb() would look it up again on every key set-up,
 * which costs more than the whole Milenage run when an HSS makes a context
 * per request (bench/aka "cold").
 */
static EVP_CIPHER *aes_ecb;
static once_flag aes_ecb_once = ONCE_FLAG_INIT;

static void aes_ecb_fetch(void)
{
	aes_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
}

static int ecb_ctx_new(const uint8_t k[AKA_K_LEN], EVP_CIPHER_CTX **out)
{
	EVP_CIPHER_CTX *c;
	int rc = 0;

	call_once(&aes_ecb_once, aes_ecb_fetch);
	if (!aes_ecb)
		return -EIO;
	c = EVP_CIPHER_CTX_new();
	if (!c) {
		rc = -ENOMEM;
		goto out;
	}
	if (EVP_EncryptInit_ex2(c, aes_ecb, k, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1) {
		rc = -EIO;
		goto free_ctx;
	}
	*out = c;
	return 0;

free_ctx:
	EVP_CIPHER_CTX_free(c);
out:
	return rc;
}

int milenage_init(struct milenage *m, const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN],
		  enum milenage_opkind kind)
{
	uint8_t eop[16];
	int rc;

	memset(m, 0, sizeof(*m));
	rc = ecb_ctx_new(k, &m->ecb);
	if (rc)
		goto out;
	if (kind == MILENAGE_OPC) {
		memcpy(m->opc, op, AKA_OP_LEN);
		goto out;
	}
	rc = ecb(m, op, eop, 1);
	if (rc) {
		milenage_free(m);
		goto out;
	}
	xor16(m->opc, op, eop);
out:
	OPENSSL_cleanse(eop, sizeof(eop));
	return rc;
}

void milenage_free(struct milenage *m)
{
	/* EVP_CIPHER_CTX_free() cleanses the expanded key schedule. */
	EVP_CIPHER_CTX_free(m->ecb);
	m->ecb = NULL;
	OPENSSL_cleanse(m->opc, sizeof(m->opc));
}

int milenage_opc(const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN], uint8_t opc[AKA_OP_LEN])
{
	struct milenage m;
	int rc = milenage_init(&m, k, op, MILENAGE_OP);

	if (rc == 0)
		memcpy(opc, m.opc, AKA_OP_LEN);
	milenage_free(&m);
	return rc;
}

int milenage_kernel(struct milenage *m, const uint8_t in[16], uint8_t out[16])
{
	return ecb(m, in, out, 1);
}

/* The cipher input for OUT1: TEMP xor rot(IN1 xor OPc, r1) xor c1,
 * with IN1 = SQN || AMF || SQN || AMF. */
static void out1_input(const struct milenage *m, const uint8_t temp[16], const uint8_t *sqn,
		       const uint8_t *amf, uint8_t in[16])
{
	uint8_t in1[16], t[16];

	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, sqn, 6);
	memcpy(in1 + 14, amf, 2);
	xor16(t, in1, m->opc);
	rot128(t, milenage_r[0], in);
	xor16(in, in, temp);
	in[15] ^= milenage_c15[0];
	OPENSSL_cleanse(t, sizeof(t)); /* IN1 is public, so t would reveal OPc */
}

/*
 * The core: TEMP = E_K(RAND xor OPc), then OUT1..OUT5 in one cipher call.
 *	out[i] receives OUT(i+1) after the final xor with OPc.
 *	With sqn/amf NULL OUT1 is not computed (f2..f5* only).
 */
static int milenage_outs(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
			 const uint8_t *sqn, const uint8_t *amf, uint8_t out[5][16])
{
	uint8_t temp[16], t[16], in[5][16];
	unsigned first = sqn ? 0 : 1;
	int rc;

	xor16(t, rand, m->opc);
	rc = ecb(m, t, temp, 1);
	if (rc)
		goto out;

	if (sqn)
		out1_input(m, temp, sqn, amf, in[0]);
	/* OUTi input = rot(TEMP xor OPc, ri) xor ci, i = 2..5 */
	xor16(t, temp, m->opc);
	for (unsigned i = 1; i < 5; i++) {
		rot128(t, milenage_r[i], in[i]);
		in[i][15] ^= milenage_c15[i];
	}
	rc = ecb(m, in[first], out[first], 5 - first);
	if (rc)
		goto out;
	for (unsigned i = first; i < 5; i++)
		xor16(out[i], out[i], m->opc);
out:
	OPENSSL_cleanse(temp, sizeof(temp));
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(in, sizeof(in));
	return rc;
}

int milenage_compute(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
		     const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN],
		     struct milenage_out *o)
{
	uint8_t out[5][16];
	int rc = milenage_outs(m, rand, sqn, amf, out);

	if (rc)
		goto out;
	memcpy(o->mac_a, out[0], 8);
	memcpy(o->mac_s, out[0] + 8, 8);
	memcpy(o->ak, out[1], 6);
	memcpy(o->res, out[1] + 8, 8);
	memcpy(o->ck, out[2], 16);
	memcpy(o->ik, out[3], 16);
	memcpy(o->ak_star, out[4], 6);
out:
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

int milenage_f1_f1star(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
		const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN],
		uint8_t *mac_a, uint8_t *mac_s)
{
	/* OUT1 alone: TEMP, then one more block. */
	uint8_t temp[16], t[16], in[16], out1[16];
	int rc;

	xor16(t, rand, m->opc);
	rc = ecb(m, t, temp, 1);
	if (rc)
		goto out;
	out1_input(m, temp, sqn, amf, in);
	rc = ecb(m, in, out1, 1);
	if (rc)
		goto out;
	xor16(out1, out1, m->opc);
	if (mac_a)
		memcpy(mac_a, out1, 8);
	if (mac_s)
		memcpy(mac_s, out1 + 8, 8);
out:
	OPENSSL_cleanse(temp, sizeof(temp));
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(out1, sizeof(out1));
	return rc;
}

int milenage_f2_f5star(struct milenage *m, const uint8_t rand[AKA_RAND_LEN], uint8_t *res,
		   uint8_t *ck, uint8_t *ik, uint8_t *ak, uint8_t *ak_star)
{
	uint8_t out[5][16];
	int rc = milenage_outs(m, rand, NULL, NULL, out);

	if (rc)
		goto out;
	if (ak)
		memcpy(ak, out[1], 6);
	if (res)
		memcpy(res, out[1] + 8, 8);
	if (ck)
		memcpy(ck, out[2], 16);
	if (ik)
		memcpy(ik, out[3], 16);
	if (ak_star)
		memcpy(ak_star, out[4], 6);
out:
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

void aka_sqn_to_bytes(uint64_t sqn, uint8_t out[AKA_SQN_LEN])
{
	for (int i = AKA_SQN_LEN - 1; i >= 0; i--) {
		out[i] = (uint8_t)sqn;
		sqn >>= 8;
	}
}

uint64_t aka_sqn_from_bytes(const uint8_t in[AKA_SQN_LEN])
{
	uint64_t v = 0;

	for (int i = 0; i < AKA_SQN_LEN; i++)
		v = v << 8 | in[i];
	return v;
}
