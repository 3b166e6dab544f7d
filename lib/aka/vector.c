/*
 * Authentication vectors and resynchronisation, TS 33.102 §6.3.2, §6.3.5.
 */
#include "aka/vector.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aka/sqn.h"

static int rand_system_fill(void *ctx, uint8_t *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		return -EIO;
	return 0;
}

const struct aka_rand_source aka_rand_system = { .fill = rand_system_fill, .ctx = NULL };

void aka_vector_wipe(struct aka_vector *v)
{
	OPENSSL_cleanse(v, sizeof(*v));
}

int aka_vector_make(struct milenage *m, const uint8_t rand[AKA_RAND_LEN], uint64_t sqn,
		    const uint8_t amf[AKA_AMF_LEN], struct aka_vector *out)
{
	struct milenage_out o;
	uint8_t sqnb[AKA_SQN_LEN];
	int rc;

	if (sqn > AKA_SQN_MAX)
		return -EINVAL;
	aka_sqn_to_bytes(sqn, sqnb);
	rc = milenage_compute(m, rand, sqnb, amf, &o);
	if (rc)
		goto out;
	memcpy(out->rand, rand, AKA_RAND_LEN);
	for (int i = 0; i < AKA_SQN_LEN; i++)
		out->autn[i] = sqnb[i] ^ o.ak[i];
	memcpy(out->autn + AKA_SQN_LEN, amf, AKA_AMF_LEN);
	memcpy(out->autn + AKA_SQN_LEN + AKA_AMF_LEN, o.mac_a, AKA_MAC_LEN);
	memcpy(out->xres, o.res, AKA_RES_LEN);
	memcpy(out->ck, o.ck, AKA_CK_LEN);
	memcpy(out->ik, o.ik, AKA_IK_LEN);
	out->sqn = sqn;
out:
	OPENSSL_cleanse(&o, sizeof(o));
	return rc;
}

int aka_vectors_generate(struct milenage *m, const uint8_t amf[AKA_AMF_LEN], unsigned ind_bits,
			 uint64_t *last_sqn, const struct aka_rand_source *rs,
			 struct aka_vector *out, size_t n)
{
	uint64_t sqn = *last_sqn;
	uint8_t rand[AKA_RAND_LEN];
	size_t i = 0;
	int rc = 0;

	if (n == 0) {
		rc = -EINVAL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = sqn_he_next(sqn, ind_bits, &sqn);
		if (rc)
			goto fail;
		rc = rs->fill(rs->ctx, rand, sizeof(rand));
		if (rc)
			goto fail;
		rc = aka_vector_make(m, rand, sqn, amf, &out[i]);
		if (rc)
			goto fail;
	}
	*last_sqn = sqn;
	goto out;

fail:
	/* Vectors made so far must not be used: their SQNs were not kept. */
	OPENSSL_cleanse(out, n * sizeof(*out));
out:
	return rc;
}

int aka_resync(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
	       const uint8_t auts[AKA_AUTS_LEN], uint64_t *sqn_ms)
{
	static const uint8_t amf_star[AKA_AMF_LEN] = { 0x00, 0x00 };
	uint8_t ak_star[AKA_AK_LEN], sqnb[AKA_SQN_LEN], xmac_s[AKA_MAC_LEN];
	int rc;

	rc = milenage_f2_f5star(m, rand, NULL, NULL, NULL, NULL, ak_star);
	if (rc)
		goto out;
	for (int i = 0; i < AKA_SQN_LEN; i++)
		sqnb[i] = auts[i] ^ ak_star[i];
	rc = milenage_f1_f1star(m, rand, sqnb, amf_star, NULL, xmac_s);
	if (rc)
		goto out;
	if (CRYPTO_memcmp(xmac_s, auts + AKA_SQN_LEN, AKA_MAC_LEN) != 0) {
		rc = -EBADMSG;
		goto out;
	}
	*sqn_ms = aka_sqn_from_bytes(sqnb);
out:
	OPENSSL_cleanse(ak_star, sizeof(ak_star));
	OPENSSL_cleanse(xmac_s, sizeof(xmac_s));
	return rc;
}
