#include "ipsec/esp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static const char *const result_names[ESP_RESULT_COUNT] = {
	[ESP_OK] = "ok",
#define X(id, name) [ESP_E_##id] = name,
	ESP_DROPS(X)
#undef X
};

const char *esp_result_name(enum esp_result r)
{
	return (unsigned)r < ESP_RESULT_COUNT ? result_names[r] : "?";
}

/* How OpenSSL names the algorithms of lib/aka's lists. */
static const char *const mac_digest[ESP_AUTH__COUNT] = {
	[ESP_AUTH_HMAC_MD5_96] = "MD5",
	[ESP_AUTH_HMAC_SHA1_96] = "SHA1",
};

/* Cipher, IV and block bytes; NULL pads to 4 octets (RFC 4303 §2.4). */
static const struct {
	const char *name;
	uint8_t iv_len, block;
} ciphers[ESP_ENC__COUNT] = {
	[ESP_ENC_NULL] = { NULL, 0, 4 },
	[ESP_ENC_AES_CBC] = { "AES-128-CBC", 16, 16 },      /* RFC 3602 */
	[ESP_ENC_DES_EDE3_CBC] = { "DES-EDE3-CBC", 8, 8 },  /* RFC 2451 */
};

static int default_random(void *ctx, uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

int esp_pool_random(void *ctx, uint8_t *buf, size_t len)
{
	struct esp_random_pool *p = ctx;

	if (len > sizeof(p->buf))
		return default_random(NULL, buf, len);
	if (p->left < len) {
		if (RAND_bytes(p->buf, sizeof(p->buf)) != 1)
			return -EIO;
		p->left = sizeof(p->buf);
	}
	memcpy(buf, p->buf + sizeof(p->buf) - p->left, len);
	memset(p->buf + sizeof(p->buf) - p->left, 0, len);
	p->left -= len;
	return 0;
}

int esp_sa_init(struct esp_sa *sa, uint32_t spi, bool outbound, const struct esp_keys *keys,
		const struct esp_seam *seam)
{
	enum esp_auth_alg alg = keys->auth;
	enum esp_enc_alg ealg = keys->enc;
	EVP_CIPHER *cipher = NULL;
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	int ret = -EINVAL;

	memset(sa, 0, sizeof(*sa));
	if (!esp_auth_alg_name(alg) || !esp_enc_alg_name(ealg) ||
	    esp_auth_icv_bits(alg) != ESP_ICV_LEN * 8 || keys->ik_len != esp_auth_key_len(alg) ||
	    keys->ck_len != esp_enc_key_len(ealg))
		goto out;
	sa->spi = spi;
	sa->outbound = outbound;
	sa->alg = alg;
	sa->ealg = ealg;
	sa->iv_len = ciphers[ealg].iv_len;
	sa->block = ciphers[ealg].block;
	sa->seam.random = default_random;
	if (seam && seam->random)
		sa->seam = *seam;

	ret = -EIO;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		goto out;
	sa->mac = EVP_MAC_CTX_new(mac);
	if (!sa->mac) {
		ret = -ENOMEM;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)mac_digest[alg], 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(sa->mac, keys->ik_esp, keys->ik_len, params))
		goto out;

	if (ciphers[ealg].name) {
		cipher = EVP_CIPHER_fetch(NULL, ciphers[ealg].name, NULL);
		if (!cipher)
			goto out;
		sa->cipher = EVP_CIPHER_CTX_new();
		if (!sa->cipher) {
			ret = -ENOMEM;
			goto out;
		}
		if (!EVP_CipherInit_ex2(sa->cipher, cipher, keys->ck_esp, NULL, outbound ? 1 : 0,
					NULL) ||
		    !EVP_CIPHER_CTX_set_padding(sa->cipher, 0))
			goto out;
	}
	ret = 0;
out:
	EVP_CIPHER_free(cipher);
	EVP_MAC_free(mac);
	if (ret)
		esp_sa_clear(sa);
	return ret;
}

void esp_sa_clear(struct esp_sa *sa)
{
	EVP_CIPHER_CTX_free(sa->cipher);
	EVP_MAC_CTX_free(sa->mac);
	sa->cipher = NULL;
	sa->mac = NULL;
}

/* Trailer (pad length, next header) and padding for a payload of len. */
static size_t pad_len(const struct esp_sa *sa, size_t len)
{
	return (sa->block - (len + 2) % sa->block) % sa->block;
}

size_t esp_encap_max(const struct esp_sa *sa, size_t len)
{
	size_t extra = (size_t)sa->pad_blocks_max * sa->block;

	return ESP_HDR_LEN + sa->iv_len + len + pad_len(sa, len) + extra + 2 + ESP_ICV_LEN;
}

/* HMAC over data, truncated to the 96 bits of RFC 2403/2404. */
static int icv(struct esp_sa *sa, const uint8_t *data, size_t len, uint8_t out[ESP_ICV_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t n = 0;

	/* A NULL key re-initialises with the key given at esp_sa_init(). */
	if (!EVP_MAC_init(sa->mac, NULL, 0, NULL) || !EVP_MAC_update(sa->mac, data, len) ||
	    !EVP_MAC_final(sa->mac, full, &n, sizeof(full)) || n < ESP_ICV_LEN)
		return -EIO;
	memcpy(out, full, ESP_ICV_LEN);
	OPENSSL_cleanse(full, sizeof(full));
	return 0;
}

/* CBC over whole blocks in place, with a fresh IV. */
static int cbc_crypt(struct esp_sa *sa, const uint8_t *iv, uint8_t *buf, size_t len)
{
	int n = 0;

	if (!sa->cipher)
		return 0;
	if (!EVP_CipherInit_ex2(sa->cipher, NULL, NULL, iv, -1, NULL) ||
	    !EVP_CipherUpdate(sa->cipher, buf, &n, buf, (int)len) || (size_t)n != len)
		return -EIO;
	return 0;
}

int esp_encap(struct esp_sa *sa, uint8_t next_header, const uint8_t *payload, size_t len,
	      uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t *iv = out + ESP_HDR_LEN, *body = iv + sa->iv_len;
	size_t pad = pad_len(sa, len), body_len, total;
	uint32_t be;
	int ret;

	if (!sa->outbound)
		return -EINVAL;
	/* §3.3.3: without ESN the counter must not cycle; rekey instead. */
	if (sa->seq == UINT32_MAX)
		return -EOVERFLOW;
	if (sa->pad_blocks_max) {
		uint8_t r;

		ret = sa->seam.random(sa->seam.ctx, &r, 1);
		if (ret)
			return ret;
		pad += (size_t)(r % (sa->pad_blocks_max + 1)) * sa->block;
		while (pad > 255)
			pad -= sa->block;
	}
	body_len = len + pad + 2;
	total = ESP_HDR_LEN + sa->iv_len + body_len + ESP_ICV_LEN;
	if (total > cap)
		return -EMSGSIZE;

	be = htonl(sa->spi);
	memcpy(out, &be, 4);
	be = htonl(sa->seq + 1);
	memcpy(out + 4, &be, 4);
	if (sa->iv_len) {
		ret = sa->seam.random(sa->seam.ctx, iv, sa->iv_len);
		if (ret)
			return ret;
	}
	memmove(body, payload, len);
	/* §2.4 default padding: 1, 2, 3, ... */
	for (size_t i = 0; i < pad; i++)
		body[len + i] = (uint8_t)(i + 1);
	body[len + pad] = (uint8_t)pad;
	body[len + pad + 1] = next_header;

	ret = cbc_crypt(sa, iv, body, body_len);
	if (ret)
		return ret;
	ret = icv(sa, out, total - ESP_ICV_LEN, out + total - ESP_ICV_LEN);
	if (ret)
		return ret;
	sa->seq++;
	sa->ctr.packets++;
	sa->ctr.bytes += len;
	*outlen = total;
	return 0;
}

bool esp_replay_check(const struct esp_replay *w, uint32_t seq)
{
	uint32_t behind;

	if (seq == 0)
		return false; /* §3.3.3: the first packet sent is number 1 */
	if (seq > w->top)
		return true;
	behind = w->top - seq;
	if (behind >= ESP_REPLAY_WINDOW)
		return false;
	return !(w->bits & (1ULL << behind));
}

void esp_replay_update(struct esp_replay *w, uint32_t seq)
{
	if (seq > w->top) {
		uint32_t shift = seq - w->top;

		w->bits = shift >= ESP_REPLAY_WINDOW ? 1 : (w->bits << shift) | 1;
		w->top = seq;
	} else {
		w->bits |= 1ULL << (w->top - seq);
	}
}

static enum esp_result drop(struct esp_sa *sa, enum esp_result r)
{
	sa->ctr.drops[r]++;
	return r;
}

enum esp_result esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, struct esp_plain *out)
{
	uint8_t want[ESP_ICV_LEN];
	size_t body_len, pad;
	uint8_t *body;
	uint32_t spi, seq;

	if (sa->outbound)
		return drop(sa, ESP_E_MALFORMED);
	if (len < (size_t)ESP_HDR_LEN + sa->iv_len + ESP_ICV_LEN + sa->block)
		return drop(sa, ESP_E_MALFORMED);
	body_len = len - ESP_HDR_LEN - sa->iv_len - ESP_ICV_LEN;
	if (body_len % sa->block)
		return drop(sa, ESP_E_MALFORMED);
	memcpy(&spi, pkt, 4);
	memcpy(&seq, pkt + 4, 4);
	if (ntohl(spi) != sa->spi)
		return drop(sa, ESP_E_MALFORMED);
	seq = ntohl(seq);

	/* §3.4.3: a cheap replay check first, the window moves only after the ICV. */
	if (!esp_replay_check(&sa->replay, seq))
		return drop(sa, ESP_E_REPLAY);
	if (icv(sa, pkt, len - ESP_ICV_LEN, want))
		return drop(sa, ESP_E_CRYPTO);
	if (CRYPTO_memcmp(want, pkt + len - ESP_ICV_LEN, ESP_ICV_LEN) != 0)
		return drop(sa, ESP_E_AUTH);

	body = pkt + ESP_HDR_LEN + sa->iv_len;
	if (cbc_crypt(sa, pkt + ESP_HDR_LEN, body, body_len))
		return drop(sa, ESP_E_CRYPTO);
	pad = body[body_len - 2];
	if (pad + 2 > body_len)
		return drop(sa, ESP_E_PADDING);
	/* §2.4: with the default padding scheme the receiver SHOULD inspect it. */
	for (size_t i = 0; i < pad; i++)
		if (body[body_len - 2 - pad + i] != (uint8_t)(i + 1))
			return drop(sa, ESP_E_PADDING);

	esp_replay_update(&sa->replay, seq);
	out->seq = seq;
	out->next_header = body[body_len - 1];
	out->payload = body;
	out->len = body_len - 2 - pad;
	sa->ctr.packets++;
	sa->ctr.bytes += out->len;
	return ESP_OK;
}
