/*
 * ESP key expansion, TS 33.203 Annex I.
 */
#include "aka/esp_keys.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

struct auth_alg_info {
	const char *name;
	const char *xfrm;
	size_t key_len;
	unsigned icv_bits;
};

struct enc_alg_info {
	const char *name;
	const char *xfrm;
	size_t key_len;
};

static const struct auth_alg_info auth_algs[ESP_AUTH__COUNT] = {
#define X(e, n, x, k, icv) [ESP_AUTH_##e] = { n, x, k, icv },
	ESP_AUTH_ALGS(X)
#undef X
};

static const struct enc_alg_info enc_algs[ESP_ENC__COUNT] = {
#define X(e, n, x, k) [ESP_ENC_##e] = { n, x, k },
	ESP_ENC_ALGS(X)
#undef X
};

#define AUTH_OK(a) ((unsigned)(a) < ESP_AUTH__COUNT)
#define ENC_OK(e) ((unsigned)(e) < ESP_ENC__COUNT)

const char *esp_auth_alg_name(enum esp_auth_alg a)
{
	return AUTH_OK(a) ? auth_algs[a].name : NULL;
}

const char *esp_auth_alg_xfrm(enum esp_auth_alg a)
{
	return AUTH_OK(a) ? auth_algs[a].xfrm : NULL;
}

const char *esp_enc_alg_name(enum esp_enc_alg e)
{
	return ENC_OK(e) ? enc_algs[e].name : NULL;
}

const char *esp_enc_alg_xfrm(enum esp_enc_alg e)
{
	return ENC_OK(e) ? enc_algs[e].xfrm : NULL;
}

size_t esp_auth_key_len(enum esp_auth_alg a)
{
	return AUTH_OK(a) ? auth_algs[a].key_len : 0;
}

unsigned esp_auth_icv_bits(enum esp_auth_alg a)
{
	return AUTH_OK(a) ? auth_algs[a].icv_bits : 0;
}

size_t esp_enc_key_len(enum esp_enc_alg e)
{
	return ENC_OK(e) ? enc_algs[e].key_len : 0;
}

int esp_auth_alg_parse(struct str name, enum esp_auth_alg *out)
{
	for (unsigned i = 0; i < ESP_AUTH__COUNT; i++) {
		if (str_caseeq_cstr(name, auth_algs[i].name)) {
			*out = (enum esp_auth_alg)i;
			return 0;
		}
	}
	return -EINVAL;
}

int esp_enc_alg_parse(struct str name, enum esp_enc_alg *out)
{
	for (unsigned i = 0; i < ESP_ENC__COUNT; i++) {
		if (str_caseeq_cstr(name, enc_algs[i].name)) {
			*out = (enum esp_enc_alg)i;
			return 0;
		}
	}
	return -EINVAL;
}

int esp_keys_derive(enum esp_auth_alg auth, enum esp_enc_alg enc, const uint8_t ik[AKA_IK_LEN],
		    const uint8_t ck[AKA_CK_LEN], struct esp_keys *out)
{
	if (!AUTH_OK(auth) || !ENC_OK(enc))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->auth = auth;
	out->enc = enc;

	/* Integrity: IK_IM, padded with zero octets to the HMAC key length
	 * (32 zero bits for HMAC-SHA-1-96, nothing for HMAC-MD5-96). */
	out->ik_len = auth_algs[auth].key_len;
	memcpy(out->ik_esp, ik, AKA_IK_LEN);

	/* Confidentiality. */
	out->ck_len = enc_algs[enc].key_len;
	switch (enc) {
	case ESP_ENC_NULL:
		break;
	case ESP_ENC_AES_CBC:
		memcpy(out->ck_esp, ck, AKA_CK_LEN);
		break;
	case ESP_ENC_DES_EDE3_CBC:
		/* CK_IM = CK1 || CK2 (64 bits each); CK_ESP = CK1 || CK2 || CK1,
		 * a three-key form whose first and third keys are equal. */
		memcpy(out->ck_esp, ck, 16);
		memcpy(out->ck_esp + 16, ck, 8);
		break;
	case ESP_ENC__COUNT:
		break;
	}
	return 0;
}

void esp_keys_wipe(struct esp_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}
