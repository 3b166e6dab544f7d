/*
 * Digest AKAv1-MD5: RFC 3310 §3 for the nonce and password, RFC 2617 §3.2.2
 * for the arithmetic.
 */
#include "aka/digest.h"

#include <errno.h>
#include <string.h>
#include <threads.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/hex.h"

const char *digest_qop_name(enum digest_qop q)
{
	switch (q) {
	case DIGEST_QOP_NONE:
		return "";
	case DIGEST_QOP_AUTH:
		return "auth";
	case DIGEST_QOP_AUTH_INT:
		return "auth-int";
	}
	return "";
}

int digest_qop_parse(struct str s, enum digest_qop *out)
{
	if (str_caseeq_cstr(s, "auth")) {
		*out = DIGEST_QOP_AUTH;
		return 0;
	}
	if (str_caseeq_cstr(s, "auth-int")) {
		*out = DIGEST_QOP_AUTH_INT;
		return 0;
	}
	return -EINVAL;
}

/* ---- nonce ------------------------------------------------------------ */

int akav1_nonce_encode(const uint8_t rand[AKA_RAND_LEN], const uint8_t autn[AKA_AUTN_LEN],
		       const uint8_t *sd, size_t sd_len, char *out, size_t size)
{
	uint8_t raw[AKA_RAND_LEN + AKA_AUTN_LEN + AKAV1_SERVER_DATA_MAX];
	size_t len = AKA_RAND_LEN + AKA_AUTN_LEN + sd_len;

	if (sd_len > AKAV1_SERVER_DATA_MAX)
		return -EINVAL;
	if (size < BASE64_ENCODED_LEN(len) + 1)
		return -ENOSPC;
	memcpy(raw, rand, AKA_RAND_LEN);
	memcpy(raw + AKA_RAND_LEN, autn, AKA_AUTN_LEN);
	if (sd_len)
		memcpy(raw + AKA_RAND_LEN + AKA_AUTN_LEN, sd, sd_len);
	return (int)base64_encode(raw, len, out);
}

int akav1_nonce_decode(struct str nonce, struct akav1_nonce *out)
{
	uint8_t raw[AKAV1_NONCE_MAX / 4 * 3];
	size_t len;
	int rc;

	if (nonce.len > AKAV1_NONCE_MAX)
		return -EMSGSIZE;
	rc = base64_decode(nonce, raw, sizeof(raw), &len);
	if (rc)
		return -EINVAL;
	/* RFC 3310 §3.2: RAND and AUTN are the first 32 octets; anything
	 * after them is the server's own and opaque to the client. */
	if (len < AKA_RAND_LEN + AKA_AUTN_LEN)
		return -EBADMSG;
	memcpy(out->rand, raw, AKA_RAND_LEN);
	memcpy(out->autn, raw + AKA_RAND_LEN, AKA_AUTN_LEN);
	out->server_data_len = len - AKA_RAND_LEN - AKA_AUTN_LEN;
	memcpy(out->server_data, raw + AKA_RAND_LEN + AKA_AUTN_LEN, out->server_data_len);
	return 0;
}

/* ---- MD5 over colon-separated parts ------------------------------------ */

struct part {
	const void *p;
	size_t len;
};

#define PART_STR(x) ((struct part){ (x).s, (x).len })
#define PART_CSTR(x) ((struct part){ (x), strlen(x) })

/*
 * MD5 from the default provider, fetched once per process: EVP_md5()
 * makes OpenSSL 3 look the implementation up again (a locked search and
 * a few allocations) in every EVP_DigestInit_ex(), and an S-CSCF checking
 * a response computes three digests (H(A1), H(A2), the response).
 */
static EVP_MD *md5_md;
static once_flag md5_once = ONCE_FLAG_INIT;

static void md5_fetch(void)
{
	md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
}

/* hex(MD5(parts[0] ":" parts[1] ":" ... parts[n-1])) */
static int md5_hex_join(const struct part *parts, size_t n, char out[DIGEST_HEX_LEN + 1])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *c;
	int rc = 0;

	call_once(&md5_once, md5_fetch);
	if (!md5_md)
		return -EIO;
	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	if (EVP_DigestInit_ex2(c, md5_md, NULL) != 1) {
		rc = -EIO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((i > 0 && EVP_DigestUpdate(c, ":", 1) != 1) ||
		    (parts[i].len && EVP_DigestUpdate(c, parts[i].p, parts[i].len) != 1)) {
			rc = -EIO;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen != 16) {
		rc = -EIO;
		goto out;
	}
	hex_encode(md, 16, out);
out:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MD_CTX_free(c);
	return rc;
}

int digest_ha1(struct str username, struct str realm, const uint8_t *password, size_t len,
	       char ha1[DIGEST_HEX_LEN + 1])
{
	const struct part parts[] = {
		PART_STR(username), PART_STR(realm), { password, len },
	};

	return md5_hex_join(parts, 3, ha1);
}

/* A2 for the request (method = the request's) or for rspauth (method = ""). */
static int ha2_for(const struct digest_request *r, struct str method,
		   char ha2[DIGEST_HEX_LEN + 1])
{
	const struct part body = PART_STR(r->body);
	char hbody[DIGEST_HEX_LEN + 1];
	struct part parts[3] = { PART_STR(method), PART_STR(r->uri) };
	int rc;

	if (r->qop != DIGEST_QOP_AUTH_INT)
		return md5_hex_join(parts, 2, ha2);
	rc = md5_hex_join(&body, 1, hbody);
	if (rc)
		return rc;
	parts[2] = (struct part){ hbody, DIGEST_HEX_LEN };
	return md5_hex_join(parts, 3, ha2);
}

int digest_ha2(const struct digest_request *r, char ha2[DIGEST_HEX_LEN + 1])
{
	return ha2_for(r, r->method, ha2);
}

static int kd(const struct digest_request *r, const char *ha1, const char *ha2,
	      char out[DIGEST_HEX_LEN + 1])
{
	if (r->qop == DIGEST_QOP_NONE) {
		const struct part parts[] = {
			{ ha1, DIGEST_HEX_LEN }, PART_STR(r->nonce), { ha2, DIGEST_HEX_LEN },
		};
		return md5_hex_join(parts, 3, out);
	}
	if (r->nc.len == 0 || r->cnonce.len == 0)
		return -EINVAL;
	const struct part parts[] = {
		{ ha1, DIGEST_HEX_LEN }, PART_STR(r->nonce), PART_STR(r->nc),
		PART_STR(r->cnonce), PART_CSTR(digest_qop_name(r->qop)), { ha2, DIGEST_HEX_LEN },
	};
	return md5_hex_join(parts, 6, out);
}

static int response_for(const struct digest_request *r, struct str method,
			const uint8_t *password, size_t len, char out[DIGEST_HEX_LEN + 1])
{
	char ha1[DIGEST_HEX_LEN + 1], ha2[DIGEST_HEX_LEN + 1];
	int rc;

	rc = digest_ha1(r->username, r->realm, password, len, ha1);
	if (rc)
		goto out;
	rc = ha2_for(r, method, ha2);
	if (rc)
		goto out;
	rc = kd(r, ha1, ha2, out);
out:
	/* HA1 is as good as the password for this realm. */
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return rc;
}

int digest_response(const struct digest_request *r, const uint8_t *password, size_t len,
		    char response[DIGEST_HEX_LEN + 1])
{
	return response_for(r, r->method, password, len, response);
}

int digest_rspauth(const struct digest_request *r, const uint8_t *password, size_t len,
		   char rspauth[DIGEST_HEX_LEN + 1])
{
	return response_for(r, STR_LIT(""), password, len, rspauth);
}

int digest_verify(const struct digest_request *r, const uint8_t *password, size_t len,
		  struct str response)
{
	char expect[DIGEST_HEX_LEN + 1];
	int rc;

	rc = digest_response(r, password, len, expect);
	if (rc)
		goto out;
	/* The length is public (always 32 for MD5); the content is not. */
	if (response.len != DIGEST_HEX_LEN ||
	    CRYPTO_memcmp(expect, response.s, DIGEST_HEX_LEN) != 0)
		rc = -EACCES;
out:
	OPENSSL_cleanse(expect, sizeof(expect));
	return rc;
}
