/*
 * token.c - RFC 5626 flow tokens of the P-CSCF.
 *
 * RFC 5626 §5.2 asks an edge proxy for a token that names the flow and
 * that nobody else can make: here 8 octets of flow id (never reused, so a
 * token of a removed flow can only name nothing) and the first 10 octets of
 * HMAC-SHA-256 over them, with a key drawn at first start and kept in the
 * store, base64url without padding (RFC 4648 §5), so it fits a SIP URI's
 * user part unescaped.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "pcscf/context.h"

#define ID_LEN 8
#define MAC_LEN 10
#define RAW_LEN (ID_LEN + MAC_LEN)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void mac(const uint8_t key[PCSCF_TOKEN_KEY_LEN], const uint8_t id[ID_LEN],
		uint8_t out[MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	HMAC(EVP_sha256(), key, PCSCF_TOKEN_KEY_LEN, id, ID_LEN, full, &len);
	memcpy(out, full, MAC_LEN);
	OPENSSL_cleanse(full, sizeof(full));
}

void pcscf_token_make(const uint8_t key[PCSCF_TOKEN_KEY_LEN], uint64_t id,
		      char out[PCSCF_TOKEN_LEN + 1])
{
	uint8_t raw[RAW_LEN];
	size_t o = 0;

	for (unsigned i = 0; i < ID_LEN; i++)
		raw[i] = (uint8_t)(id >> (56 - 8 * i));
	mac(key, raw, raw + ID_LEN);
	/* 18 octets are exactly 24 characters: no padding. */
	for (size_t i = 0; i < RAW_LEN; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

int pcscf_token_check(const uint8_t key[PCSCF_TOKEN_KEY_LEN], struct str token, uint64_t *id)
{
	uint8_t raw[RAW_LEN], want[MAC_LEN];
	size_t o = 0;
	int rc = 0;

	if (token.len != PCSCF_TOKEN_LEN)
		return -EINVAL;
	for (size_t i = 0; i < token.len; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			const char *p = memchr(b64url, token.s[i + j], 64);

			if (!p || token.s[i + j] == '\0')
				return -EINVAL;
			v = v << 6 | (uint32_t)(p - b64url);
		}
		raw[o++] = (uint8_t)(v >> 16);
		raw[o++] = (uint8_t)(v >> 8);
		raw[o++] = (uint8_t)v;
	}
	mac(key, raw, want);
	/* Constant time: the comparison must not tell how much of a guess was right. */
	if (CRYPTO_memcmp(want, raw + ID_LEN, MAC_LEN) != 0) {
		rc = -EACCES;
		goto out;
	}
	*id = 0;
	for (unsigned i = 0; i < ID_LEN; i++)
		*id = *id << 8 | raw[i];
out:
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}
