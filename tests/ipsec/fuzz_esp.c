/*
 * fuzz_esp - the ESP decoder, which reads whatever arrives on protocol 50.
 *
 * The first input byte picks the mode:
 *   even: the rest is a packet from the wire for an inbound SA (any
 *         algorithm pair, picked by the second byte). Almost every input
 *         fails the ICV, which exercises the checks that run before it.
 *   odd:  the rest is a plaintext body (payload, padding, pad length, next
 *         header, in any shape) that the harness encrypts and signs with
 *         the matching outbound keys, so what comes after the ICV check
 *         (decryption, padding and trailer checks) sees hostile input too.
 *
 * Properties beyond "no crash": a packet accepted once is refused as a
 * replay; an accepted payload lies inside the packet; a refused packet
 * leaves the replay window as it was.
 */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/esp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SPI 0x00012345u

static void keys_for(uint8_t pick, struct esp_keys *k)
{
	static const uint8_t ik[16] = { 0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
					0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41 };
	static const uint8_t ck[16] = { 0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
					0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb };

	esp_keys_derive((enum esp_auth_alg)(pick % ESP_AUTH__COUNT),
			(enum esp_enc_alg)((pick / ESP_AUTH__COUNT) % ESP_ENC__COUNT), ik, ck, k);
}

static void check(struct esp_sa *in, uint8_t *pkt, size_t len)
{
	struct esp_replay before = in->replay;
	struct esp_plain plain;
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, pkt, len);
	if (esp_decap(in, pkt, len, &plain) != ESP_OK) {
		if (memcmp(&before, &in->replay, sizeof(before)) != 0)
			abort();
		free(copy);
		return;
	}
	if (plain.payload < pkt || plain.payload + plain.len > pkt + len)
		abort();
	if (esp_decap(in, copy, len, &plain) != ESP_E_REPLAY)
		abort();
	free(copy);
}

/* Sign and encrypt an arbitrary body the way esp_encap would, trailer and all. */
static size_t forge(const struct esp_keys *k, const uint8_t *body, size_t len, uint8_t *out)
{
	const EVP_CIPHER *c = k->enc == ESP_ENC_AES_CBC ? EVP_aes_128_cbc()
			      : k->enc == ESP_ENC_DES_EDE3_CBC ? EVP_des_ede3_cbc() : NULL;
	size_t iv = c ? (size_t)EVP_CIPHER_iv_length(c) : 0, blk = c ? (size_t)EVP_CIPHER_block_size(c) : 4;
	size_t n = len - len % blk;
	uint32_t be;
	unsigned mdlen;
	uint8_t md[EVP_MAX_MD_SIZE];
	int outl;

	be = htonl(SPI);
	memcpy(out, &be, 4);
	be = htonl(7);
	memcpy(out + 4, &be, 4);
	memset(out + 8, 0x42, iv);
	memcpy(out + 8 + iv, body, n);
	if (c) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

		EVP_EncryptInit_ex(ctx, c, NULL, k->ck_esp, out + 8);
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		EVP_EncryptUpdate(ctx, out + 8 + iv, &outl, out + 8 + iv, (int)n);
		EVP_CIPHER_CTX_free(ctx);
	}
	HMAC(k->auth == ESP_AUTH_HMAC_SHA1_96 ? EVP_sha1() : EVP_md5(), k->ik_esp, (int)k->ik_len,
	     out, 8 + iv + n, md, &mdlen);
	memcpy(out + 8 + iv + n, md, 12);
	return 8 + iv + n + 12;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	struct esp_keys k;
	struct esp_sa in;

	if (size < 2 || size > 65000)
		return 0;
	keys_for(data[1], &k);
	if (esp_sa_init(&in, SPI, false, &k, NULL))
		abort();
	if (data[0] & 1) {
		size_t n = forge(&k, data + 2, size - 2, buf);

		check(&in, buf, n);
	} else {
		memcpy(buf, data + 2, size - 2);
		check(&in, buf, size - 2);
	}
	esp_sa_clear(&in);
	return 0;
}
