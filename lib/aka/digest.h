/*
 * digest.h - HTTP Digest with AKA (RFC 3310, over RFC 2617): AKAv1-MD5.
 *
 * The challenge's nonce is base64(RAND || AUTN [|| server data]) (RFC 3310
 * §3.2); the password is RES, as raw octets, not as hex (§3.4). The rest is
 * ordinary RFC 2617 Digest:
 *
 *	HA1 = MD5(username ":" realm ":" password)
 *	HA2 = MD5(method ":" uri)                       qop absent or "auth"
 *	HA2 = MD5(method ":" uri ":" MD5(body))         qop "auth-int"
 *	response = MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *	response = MD5(HA1 ":" nonce ":" HA2)            without qop
 *
 * All digests are 32 lower-case hex characters. Responses from the wire are
 * checked with digest_verify(), which compares in constant time.
 *
 * Strings are struct str slices; nothing here allocates or keeps them.
 */
#ifndef SIMREG_AKA_DIGEST_H
#define SIMREG_AKA_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aka/milenage.h"
#include "core/str.h"

#define DIGEST_HEX_LEN 32 /* an MD5 in lower-case hex, without NUL */

/* Longest nonce accepted by akav1_nonce_decode(), in base64 characters. */
#define AKAV1_NONCE_MAX 256
/* Most server-data octets a nonce may carry after RAND || AUTN. */
#define AKAV1_SERVER_DATA_MAX (AKAV1_NONCE_MAX / 4 * 3 - AKA_RAND_LEN - AKA_AUTN_LEN)

/* qop values (RFC 2617 §3.2.1). */
enum digest_qop {
	DIGEST_QOP_NONE,     /* no qop: RFC 2069 compatibility */
	DIGEST_QOP_AUTH,
	DIGEST_QOP_AUTH_INT,
};

/* "auth", "auth-int"; "" for none. */
const char *digest_qop_name(enum digest_qop q);
/* Parse "auth" / "auth-int" (case-insensitive); -EINVAL otherwise. */
int digest_qop_parse(struct str s, enum digest_qop *out);

/* ---- nonce ------------------------------------------------------------ */

/*
 * akav1_nonce_encode
 *	rand, autn  : 16 octets each
 *	sd, sd_len  : optional server data appended before encoding (sd may be
 *	              NULL when sd_len is 0), at most AKAV1_SERVER_DATA_MAX
 *	out, size   : buffer for the NUL-terminated base64
 * Returns the length of the nonce, -EINVAL for too much server data, or
 * -ENOSPC when `size` is too small (BASE64_ENCODED_LEN(32 + sd_len) + 1).
 */
int akav1_nonce_encode(const uint8_t rand[AKA_RAND_LEN], const uint8_t autn[AKA_AUTN_LEN],
		       const uint8_t *sd, size_t sd_len, char *out, size_t size);

struct akav1_nonce {
	uint8_t rand[AKA_RAND_LEN];
	uint8_t autn[AKA_AUTN_LEN];
	size_t server_data_len;
	uint8_t server_data[AKAV1_SERVER_DATA_MAX];
};

/*
 * akav1_nonce_decode
 *	Split a nonce (without its quotes) into RAND, AUTN and server data.
 * Returns 0; -EINVAL when it is not base64; -EMSGSIZE when it is longer
 * than AKAV1_NONCE_MAX characters; -EBADMSG when it holds fewer than 32
 * octets. *out is written only on success.
 */
int akav1_nonce_decode(struct str nonce, struct akav1_nonce *out);

/* ---- response --------------------------------------------------------- */

/* The fields of an Authorization header that enter the response. */
struct digest_request {
	struct str username; /* for IMS, the IMPI */
	struct str realm;
	struct str nonce;    /* as sent, base64 text */
	struct str uri;      /* digest-uri; "sip:<home domain>" for REGISTER */
	struct str method;   /* "REGISTER" */
	enum digest_qop qop;
	struct str nc;       /* 8 hex digits; used only with qop */
	struct str cnonce;   /* used only with qop */
	struct str body;     /* message body; used only with auth-int */
};

/*
 * digest_ha1
 *	HA1 = MD5(username ":" realm ":" password), password as raw octets
 *	(for AKAv1-MD5: RES; an empty password is len 0, password may be NULL).
 *	ha1 : out, 32 hex characters and a NUL.
 * Returns 0 or -EIO.
 */
int digest_ha1(struct str username, struct str realm, const uint8_t *password, size_t len,
	       char ha1[DIGEST_HEX_LEN + 1]);

/* HA2 for the request's method, uri, qop (and body). Returns 0 or -EIO. */
int digest_ha2(const struct digest_request *r, char ha2[DIGEST_HEX_LEN + 1]);

/*
 * digest_response
 *	The request-digest for `r` with password (RES for AKAv1-MD5).
 *	response : out, 32 hex characters and a NUL.
 * Returns 0, -EINVAL when qop is set but nc or cnonce is empty, -EIO.
 */
int digest_response(const struct digest_request *r, const uint8_t *password, size_t len,
		    char response[DIGEST_HEX_LEN + 1]);

/*
 * digest_rspauth
 *	rspauth for Authentication-Info (RFC 2617 §3.2.3): as the response, but
 *	with A2 = ":" uri (qop auth) or ":" uri ":" MD5(body) (auth-int).
 * Returns as digest_response().
 */
int digest_rspauth(const struct digest_request *r, const uint8_t *password, size_t len,
		   char rspauth[DIGEST_HEX_LEN + 1]);

/*
 * digest_verify
 *	Compute the expected response and compare it with `response` from the
 *	wire (lower-case hex, RFC 2617 LHEX) with CRYPTO_memcmp, so the time
 *	taken does not tell how many leading characters matched.
 * Returns 0 when they match, -EACCES when not (including a wrong length),
 * -EINVAL / -EIO as digest_response().
 */
int digest_verify(const struct digest_request *r, const uint8_t *password, size_t len,
		  struct str response);

#endif
