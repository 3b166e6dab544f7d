/*
 * vector.h - the HSS side of AKA: authentication vectors and resync.
 *
 * A vector (TS 33.102 §6.3.2) is RAND, XRES, CK, IK and
 * AUTN = (SQN xor AK) || AMF || MAC-A. RAND comes from a seam, a function
 * pointer with its context, so tests and the lab can make vectors byte for
 * byte reproducible; production uses aka_rand_system (OpenSSL's DRBG).
 *
 * On a sync failure the UE returns AUTS; aka_resync() recovers SQN_MS from
 * it, checking MAC-S first (33.102 §6.3.5), and sqn_he_resync() (sqn.h)
 * gives the HSS its new SQN_HE.
 */
#ifndef SIMREG_AKA_VECTOR_H
#define SIMREG_AKA_VECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "aka/milenage.h"

/*
 * The RAND seam.
 *	fill : write `len` unpredictable octets to `buf`; return 0 or a
 *	       negative errno (the vector is then not produced).
 *	ctx  : handed to fill unchanged.
 */
struct aka_rand_source {
	int (*fill)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
};

/* RAND_bytes() from libcrypto; ctx unused. */
extern const struct aka_rand_source aka_rand_system;

struct aka_vector {
	uint8_t rand[AKA_RAND_LEN];
	uint8_t autn[AKA_AUTN_LEN];
	uint8_t xres[AKA_RES_LEN];
	uint8_t ck[AKA_CK_LEN];
	uint8_t ik[AKA_IK_LEN];
	uint64_t sqn; /* the SQN inside AUTN, for the HSS's bookkeeping */
};

/*
 * aka_vector_make
 *	m    : the subscriber's Milenage context
 *	rand : RAND to use (the seam is not consulted)
 *	sqn  : SQN, at most AKA_SQN_MAX
 *	amf  : AMF, 2 octets
 *	out  : filled on success, untouched otherwise
 * Returns 0, -EINVAL for an SQN above 48 bits, -EIO from the cipher.
 */
int aka_vector_make(struct milenage *m, const uint8_t rand[AKA_RAND_LEN], uint64_t sqn,
		    const uint8_t amf[AKA_AMF_LEN], struct aka_vector *out);

/*
 * aka_vectors_generate
 *	Several vectors at once, as a MAR asking for n items wants them.
 *	m        : the subscriber's Milenage context
 *	amf      : AMF for all of them
 *	ind_bits : the SQN profile's IND length (sqn.h)
 *	last_sqn : in: the last SQN used; out, on success only: the SQN of
 *	           out[n - 1]. The caller persists it before sending any vector.
 *	rs       : where RAND comes from
 *	out, n   : caller's array of n vectors, n >= 1
 *
 * SQNs are consecutive sqn_he_next() steps, so the n vectors occupy n
 * different IND slots (when n <= 2^ind_bits).
 * Returns 0; -EINVAL (n == 0, bad ind_bits, *last_sqn above 48 bits),
 * -EOVERFLOW (SEQ exhausted), the RAND source's error, or -EIO.
 * On failure *last_sqn is unchanged and `out` is wiped.
 */
int aka_vectors_generate(struct milenage *m, const uint8_t amf[AKA_AMF_LEN], unsigned ind_bits,
			 uint64_t *last_sqn, const struct aka_rand_source *rs,
			 struct aka_vector *out, size_t n);

/* Zero a vector (it holds CK, IK and XRES). */
void aka_vector_wipe(struct aka_vector *v);

/*
 * aka_resync
 *	HSS side of a synchronisation failure (33.102 §6.3.5).
 *	rand   : the RAND of the vector the UE rejected (the S-CSCF sends
 *	         RAND || AUTS in SIP-Authorization)
 *	auts   : 14 octets, (SQN_MS xor AK*) || MAC-S
 *	sqn_ms : out, the USIM's SQN_MS, set only when MAC-S verifies
 * MAC-S is checked as f1*(K, SQN_MS || RAND || AMF*) with AMF* = 0000
 * (33.102 §6.3.3), compared in constant time.
 * Returns 0, -EBADMSG when MAC-S does not verify (no state to change: the
 * caller keeps SQN_HE as it was), or -EIO.
 */
int aka_resync(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
	       const uint8_t auts[AKA_AUTS_LEN], uint64_t *sqn_ms);

#endif
