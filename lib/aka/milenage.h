/*
 * milenage.h - the 3GPP authentication and key generation functions
 * f1, f1*, f2, f3, f4, f5, f5* (TS 35.206), with AES-128 as the kernel.
 *
 * A struct milenage is one subscriber's algorithm context: the AES key
 * schedule for K, expanded once, and OPc. The HSS keeps one per subscriber
 * it is generating vectors for, the USIM keeps one for its card; neither
 * re-expands K per call.
 *
 *     struct milenage m;
 *     struct milenage_out o;
 *     milenage_init(&m, k, opc, MILENAGE_OPC);
 *     milenage_compute(&m, rand, sqn, amf, &o);
 *     ...
 *     milenage_free(&m);                 // wipes K's schedule and OPc
 *
 * Bit and byte order follow TS 35.206 §3: bit 0 is the most significant bit
 * of the first octet, SQN is 6 octets, AMF 2, RAND 16.
 *
 * A context is not thread-safe (the cipher context is scratch state); use
 * one per thread.
 *
 * Naming: the Milenage code that hostap wrote and others copied (libosmogsm,
 * wpa_supplicant) exports milenage_f1(), milenage_f2345(), milenage_auts()
 * and milenage_check() with other signatures. A process that links one of
 * those libraries would have its calls bound to ours (or the reverse), so
 * none of our names is one of theirs.
 */
#ifndef SIMREG_AKA_MILENAGE_H
#define SIMREG_AKA_MILENAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lengths in octets of the AKA parameters (TS 33.102 §6.3.7, TS 35.206). */
#define AKA_K_LEN 16
#define AKA_OP_LEN 16
#define AKA_RAND_LEN 16
#define AKA_SQN_LEN 6
#define AKA_AMF_LEN 2
#define AKA_MAC_LEN 8
#define AKA_RES_LEN 8 /* f2 of Milenage yields 64 bits */
#define AKA_CK_LEN 16
#define AKA_IK_LEN 16
#define AKA_AK_LEN 6
#define AKA_AUTN_LEN 16 /* (SQN xor AK) || AMF || MAC-A */
#define AKA_AUTS_LEN 14 /* (SQN_MS xor AK*) || MAC-S */

/* SQN is a 48-bit counter; it travels as 6 big-endian octets. */
#define AKA_SQN_MAX ((UINT64_C(1) << 48) - 1)

struct evp_cipher_ctx_st;

struct milenage {
	struct evp_cipher_ctx_st *ecb; /* AES-128-ECB keyed with K (owned) */
	uint8_t opc[AKA_OP_LEN];
};

/* How the second key argument of milenage_init() is to be read. */
enum milenage_opkind {
	MILENAGE_OPC, /* already OPc (what a USIM or an HSS normally stores) */
	MILENAGE_OP,  /* the operator variant OP; OPc is derived from it */
};

/*
 * milenage_init
 *	m      : context to fill (caller's storage)
 *	k      : the subscriber key K, 16 octets
 *	op     : OP or OPc, 16 octets, as told by `kind`
 *	kind   : MILENAGE_OP or MILENAGE_OPC
 *
 * Expands K once and keeps OPc (derived when OP was given).
 *
 * Returns 0, -ENOMEM, or -EIO when libcrypto refuses the key.
 * On failure *m holds nothing to free (milenage_free() on it is harmless).
 */
int milenage_init(struct milenage *m, const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN],
		  enum milenage_opkind kind);

/* Release the cipher context and wipe OPc. Safe on a zeroed or freed context. */
void milenage_free(struct milenage *m);

/*
 * milenage_opc
 *	Compute OPc = OP xor E_K(OP) (TS 35.206 §4.1) without keeping a context.
 * Returns 0, -ENOMEM or -EIO.
 */
int milenage_opc(const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN], uint8_t opc[AKA_OP_LEN]);

/*
 * milenage_kernel
 *	One AES-128 encryption under K: the kernel function E_K, exposed so the
 *	35.207 §3 kernel test data can be checked against the same key schedule
 *	the algorithm uses. Returns 0 or -EIO.
 */
int milenage_kernel(struct milenage *m, const uint8_t in[16], uint8_t out[16]);

/* Everything one Milenage run yields for (RAND, SQN, AMF). */
struct milenage_out {
	uint8_t mac_a[AKA_MAC_LEN];   /* f1  */
	uint8_t mac_s[AKA_MAC_LEN];   /* f1* */
	uint8_t res[AKA_RES_LEN];     /* f2  */
	uint8_t ck[AKA_CK_LEN];       /* f3  */
	uint8_t ik[AKA_IK_LEN];       /* f4  */
	uint8_t ak[AKA_AK_LEN];       /* f5  */
	uint8_t ak_star[AKA_AK_LEN];  /* f5* */
};

/*
 * milenage_compute
 *	All seven functions in two AES passes (TEMP, then OUT1..OUT5 together).
 *	MAC-A and MAC-S are both computed with the given AMF; for the MAC-S of an
 *	AUTS pass AMF* = 0000 (or use milenage_f1_f1star()).
 * Returns 0 or -EIO. `out` is the caller's; wipe it when done with the keys.
 */
int milenage_compute(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
		     const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN],
		     struct milenage_out *out);

/*
 * milenage_f1_f1star
 *	f1 (MAC-A) and f1* (MAC-S) over SQN || AMF and RAND.
 *	mac_a, mac_s: 8 octets each; either may be NULL when not wanted.
 * Returns 0 or -EIO.
 */
int milenage_f1_f1star(struct milenage *m, const uint8_t rand[AKA_RAND_LEN],
		const uint8_t sqn[AKA_SQN_LEN], const uint8_t amf[AKA_AMF_LEN],
		uint8_t *mac_a, uint8_t *mac_s);

/*
 * milenage_f2_f5star
 *	f2 (RES), f3 (CK), f4 (IK), f5 (AK) and f5* (AK*) of RAND.
 *	Any output may be NULL when not wanted.
 * Returns 0 or -EIO.
 */
int milenage_f2_f5star(struct milenage *m, const uint8_t rand[AKA_RAND_LEN], uint8_t *res,
		   uint8_t *ck, uint8_t *ik, uint8_t *ak, uint8_t *ak_star);

/* SQN as a 48-bit integer <-> 6 big-endian octets. */
void aka_sqn_to_bytes(uint64_t sqn, uint8_t out[AKA_SQN_LEN]);
uint64_t aka_sqn_from_bytes(const uint8_t in[AKA_SQN_LEN]);

#endif
