/*
 * uri.h - SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966).
 *
 * sip_uri_parse() splits a URI into slices of the caller's text without
 * copying or unescaping: %-escapes stay as written, so a proxy can forward
 * the URI byte for byte. Comparison (sip_uri_equal) and sip_unescape() deal
 * with escapes when the meaning matters. Other schemes (RFC 4475 3.3.2)
 * parse as SIP_URI_OTHER with everything after the colon in `opaque`.
 */
#ifndef SIMREG_SIP_URI_H
#define SIMREG_SIP_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/ids.h"

enum sip_uri_scheme {
	SIP_URI_OTHER = 0,
	SIP_URI_SIP,
	SIP_URI_SIPS,
	SIP_URI_TEL,
};

enum sip_host_type {
	SIP_HOST_NONE = 0, /* tel: and other schemes */
	SIP_HOST_NAME,
	SIP_HOST_IPV4,
	SIP_HOST_IPV6, /* `host` includes the brackets: "[2001:db8::1]" */
};

struct sip_uri {
	struct str raw; /* the whole URI */
	enum sip_uri_scheme scheme;
	struct str scheme_name; /* as written: "sip", "SIPS", "tel", "urn" */

	/* sip and sips */
	struct str
		user; /* escaped, may be empty; "user;par=u%40x" stays whole (RFC 4475 3.1.1.9) */
	struct str password; /* escaped; meaningful only if has_password */
	bool has_user;       /* an '@' was present */
	bool has_password;
	struct str host;
	enum sip_host_type host_type;
	bool has_port;
	uint16_t port;

	/*
	 * sip/sips parameters and tel parameters: ";a=b;c" with the leading
	 * ';', escaped; iterate with sip_param_next() (hdr.h). The ones that
	 * change routing (RFC 3261 19.1.1, 19.1.4) are also picked out here.
	 */
	struct str params;
	struct str transport, user_param, method, maddr, ttl;
	bool lr;
	bool ob; /* RFC 5626 5.3 */

	struct str headers; /* after '?' without it, escaped; empty if none */
	bool has_headers;

	/* tel: the subscriber number ("+1-212-555-0101"); other schemes: after "scheme:" */
	struct str number;
	struct str opaque;
};

/*
 * Parse a URI filling the whole slice.
 *
 * @s    the URI text (no surrounding '<' '>' or whitespace)
 * @u    filled on success; slices into `s`
 * @err  reason on failure, may be NULL
 *
 * Returns 0, or -EBADMSG with `err->where` at the offending part
 * (illegal character in the user part, port above 65535, empty host,
 * unterminated IPv6 reference ...).
 */
int sip_uri_parse(struct str s, struct sip_uri *u, struct sip_error *err);

/*
 * Compare two parsed URIs by RFC 3261 19.1.4 (sip/sips) or RFC 3966 4 (tel):
 * %-escapes of unreserved characters are equivalent to the characters,
 * user and password are case-sensitive, host, parameter names and values
 * case-insensitive; a port, or a user/ttl/method/maddr/transport parameter,
 * present in one URI must be present and equal in the other; other
 * parameters are compared only when both URIs have them; every header
 * must be in both. Different schemes never match. Other schemes compare
 * byte for byte.
 */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);

/*
 * Decode %HH escapes of `in` into out[0..cap). Decoding is done exactly
 * once ("%2541" becomes "%41", never "A"); a NUL produced by "%00" is kept
 * (RFC 4475 3.1.1.4), so use *outlen, not strlen().
 *
 * Returns 0 and the length in *outlen, -EINVAL for a malformed escape,
 * -ENOSPC if out is too small (out[] is then undefined).
 */
int sip_unescape(struct str in, char *out, size_t cap, size_t *outlen);

#endif
