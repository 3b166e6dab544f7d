/*
 * esp_keys.h - IPsec ESP keys from the AKA keys (TS 33.203 Annex I).
 *
 * IMS AKA gives the UE and the P-CSCF IK_IM and CK_IM (16 octets each); the
 * SAs of a registration use keys expanded from them according to the
 * algorithms agreed in Security-Client / Security-Server (alg= and ealg=):
 *
 *	hmac-md5-96   IK_ESP = IK_IM                        (128 bits)
 *	hmac-sha-1-96 IK_ESP = IK_IM || 32 zero bits        (160 bits)
 *	aes-cbc       CK_ESP = CK_IM                        (128 bits)
 *	des-ede3-cbc  CK_ESP = CK1 || CK2 || CK1, CK_IM = CK1 || CK2  (192 bits)
 *	null          no key
 *
 * The algorithm lists are X-macros: adding one is a line, and the
 * Security-Client names and the Linux XFRM names come from the same line.
 */
#ifndef SIMREG_AKA_ESP_KEYS_H
#define SIMREG_AKA_ESP_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "aka/milenage.h"
#include "core/str.h"

/* X(enum suffix, sec-agree name, XFRM name, key octets, ICV bits) */
#define ESP_AUTH_ALGS(X)                                           \
	X(HMAC_MD5_96, "hmac-md5-96", "hmac(md5)", 16, 96)           \
	X(HMAC_SHA1_96, "hmac-sha-1-96", "hmac(sha1)", 20, 96)

/* X(enum suffix, sec-agree name, XFRM name, key octets) */
#define ESP_ENC_ALGS(X)                                            \
	X(NULL, "null", "ecb(cipher_null)", 0)                       \
	X(AES_CBC, "aes-cbc", "cbc(aes)", 16)                         \
	X(DES_EDE3_CBC, "des-ede3-cbc", "cbc(des3_ede)", 24)

enum esp_auth_alg {
#define X(e, name, xfrm, keylen, icv) ESP_AUTH_##e,
	ESP_AUTH_ALGS(X)
#undef X
	ESP_AUTH__COUNT
};

enum esp_enc_alg {
#define X(e, name, xfrm, keylen) ESP_ENC_##e,
	ESP_ENC_ALGS(X)
#undef X
	ESP_ENC__COUNT
};

#define ESP_AUTH_KEY_MAX 20
#define ESP_ENC_KEY_MAX 24

/* Names as in Security-Client (RFC 3329, 33.203 Annex H) and for XFRM;
 * NULL for a value out of range. */
const char *esp_auth_alg_name(enum esp_auth_alg a);
const char *esp_auth_alg_xfrm(enum esp_auth_alg a);
const char *esp_enc_alg_name(enum esp_enc_alg e);
const char *esp_enc_alg_xfrm(enum esp_enc_alg e);
/* Key length in octets; ICV length in bits. 0 for a value out of range. */
size_t esp_auth_key_len(enum esp_auth_alg a);
unsigned esp_auth_icv_bits(enum esp_auth_alg a);
size_t esp_enc_key_len(enum esp_enc_alg e);

/* Parse a sec-agree name (case-insensitive, as RFC 3329 tokens are);
 * -EINVAL (nothing written) for a name not in the list. */
int esp_auth_alg_parse(struct str name, enum esp_auth_alg *out);
int esp_enc_alg_parse(struct str name, enum esp_enc_alg *out);

struct esp_keys {
	enum esp_auth_alg auth;
	enum esp_enc_alg enc;
	size_t ik_len; /* octets used in ik_esp */
	size_t ck_len; /* octets used in ck_esp; 0 for null */
	uint8_t ik_esp[ESP_AUTH_KEY_MAX];
	uint8_t ck_esp[ESP_ENC_KEY_MAX];
};

/*
 * esp_keys_derive
 *	auth, enc : the agreed algorithms
 *	ik, ck    : IK_IM and CK_IM from AKA
 *	out       : filled on success; wipe with esp_keys_wipe()
 * Returns 0, or -EINVAL for an algorithm out of range (out untouched).
 */
int esp_keys_derive(enum esp_auth_alg auth, enum esp_enc_alg enc, const uint8_t ik[AKA_IK_LEN],
		    const uint8_t ck[AKA_CK_LEN], struct esp_keys *out);

void esp_keys_wipe(struct esp_keys *k);

#endif
