/*
 * scan.h - character classes and small scanners shared by the SIP
 * decoders. Private to lib/sip.
 *
 * The classes are the RFC 3261 25.1 ones; a byte may be in several.
 */
#ifndef SIMREG_SIP_SCAN_H
#define SIMREG_SIP_SCAN_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/ids.h"
#include "sip/uri.h"

enum sip_cc {
	CC_TOKEN = 1 << 0,   /* alphanum - . ! % * _ + ` ' ~ */
	CC_WORD = 1 << 1,    /* token + ( ) < > : \ " / [ ] ? { } (Call-ID) */
	CC_LWS = 1 << 2,     /* SP HT CR LF: inside a value, CR and LF only fold */
	CC_DIGIT = 1 << 3,
	CC_HEX = 1 << 4,
	CC_ALPHA = 1 << 5,
	CC_UNRESERVED = 1 << 6, /* alphanum - _ . ! ~ * ' ( ) */
	CC_USER = 1 << 7,    /* unreserved & = + $ , ; ? / (user-unreserved) */
	CC_PASSWORD = 1 << 8, /* unreserved & = + $ , */
	CC_PARAM = 1 << 9,   /* unreserved [ ] / : & + $ (paramchar, without escapes) */
	CC_HNV = 1 << 10,    /* unreserved [ ] / ? : + $ (hname / hvalue) */
	CC_HOST = 1 << 11,   /* alphanum - . */
	CC_SCHEME = 1 << 12, /* alphanum + - . */
	CC_PVALUE = 1 << 13, /* token : [ ] (gen-value: token / host) */
	CC_TEL = 1 << 14,    /* tel number: hex digits * # + - . ( ) */
	CC_SPLIT = 1 << 15,  /* , " < > : what the list splitter stops at */
};

extern uint16_t sip_cc_table[256];
extern unsigned char sip_lower_table[256];

/* ASCII case-insensitive equality of two slices. */
static inline bool caseeq(struct str a, struct str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (sip_lower_table[(unsigned char)a.s[i]] !=
		    sip_lower_table[(unsigned char)b.s[i]])
			return false;
	return true;
}

/* Equality with a lower-case literal, ignoring the case of `a`. */
static inline bool lit_caseeq(struct str a, const char *lit, size_t n)
{
	if (a.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (sip_lower_table[(unsigned char)a.s[i]] != (unsigned char)lit[i])
			return false;
	return true;
}

#define CASEEQ_LIT(a, lit) lit_caseeq((a), "" lit, sizeof(lit) - 1)

static inline bool cc_is(unsigned char c, unsigned cls)
{
	return sip_cc_table[c] & cls;
}

/* A cursor over one value. */
struct scan {
	const char *p;
	const char *end;
};

static inline struct scan scan_of(struct str s)
{
	return (struct scan){ s.s, s.s + s.len };
}

static inline bool scan_done(const struct scan *s)
{
	return s->p >= s->end;
}

static inline struct str scan_rest(const struct scan *s)
{
	return (struct str){ s->p, (size_t)(s->end - s->p) };
}

static inline struct str scan_from(const struct scan *s, const char *start)
{
	return (struct str){ start, (size_t)(s->p - start) };
}

static inline void scan_lws(struct scan *s)
{
	const char *p = s->p, *end = s->end;

	while (p < end && cc_is((unsigned char)*p, CC_LWS))
		p++;
	s->p = p;
}

static inline bool scan_peek(const struct scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

/* Skip LWS, then `c` if it is there; LWS after it is skipped too. */
static inline bool scan_sep(struct scan *s, char c)
{
	const char *save = s->p;

	scan_lws(s);
	if (scan_peek(s, c)) {
		s->p++;
		scan_lws(s);
		return true;
	}
	s->p = save;
	return false;
}

/*
 * The first byte in [p, end) not of class `cls` (or end). Unrolled by
 * four: these runs are the inner loop of every decoder, and the bound
 * check per byte was a third of their cost.
 */
static inline const char *span_cls(const char *p, const char *end, unsigned cls)
{
	while (end - p >= 4) {
		if (!cc_is((unsigned char)p[0], cls))
			return p;
		if (!cc_is((unsigned char)p[1], cls))
			return p + 1;
		if (!cc_is((unsigned char)p[2], cls))
			return p + 2;
		if (!cc_is((unsigned char)p[3], cls))
			return p + 3;
		p += 4;
	}
	while (p < end && cc_is((unsigned char)*p, cls))
		p++;
	return p;
}

/* A run of bytes of class `cls` (possibly empty). */
static inline struct str scan_run(struct scan *s, unsigned cls)
{
	const char *start = s->p;

	s->p = span_cls(start, s->end, cls);
	return (struct str){ start, (size_t)(s->p - start) };
}

/*
 * A quoted string at the cursor (which must be at '"'): `*content` gets the
 * bytes between the quotes, still escaped. -EBADMSG if unterminated.
 */
static inline int scan_quoted(struct scan *s, struct str *content)
{
	const char *start;

	s->p++; /* the opening quote */
	start = s->p;
	while (s->p < s->end) {
		char c = *s->p;
		if (c == '"') {
			*content = scan_from(s, start);
			s->p++;
			return 0;
		}
		/* quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
		if (c == '\\') {
			if (s->p + 1 >= s->end)
				break;
			if (s->p[1] == '\r' || s->p[1] == '\n' || (unsigned char)s->p[1] > 0x7f)
				return -EBADMSG;
			s->p += 2;
			continue;
		}
		s->p++;
	}
	return -EBADMSG;
}

static inline bool is_hex(char c)
{
	return cc_is((unsigned char)c, CC_HEX);
}

/* A run of `cls` bytes or %HH escapes; false on a broken escape. */
static inline bool scan_escaped(struct scan *s, unsigned cls, struct str *out)
{
	const char *start = s->p;

	while (s->p < s->end) {
		if (*s->p == '%') {
			if (s->end - s->p < 3 || !is_hex(s->p[1]) || !is_hex(s->p[2]))
				return false;
			s->p += 3;
		} else if (cc_is((unsigned char)*s->p, cls)) {
			s->p++;
		} else {
			break;
		}
	}
	*out = scan_from(s, start);
	return true;
}

/* Whole slice of digits into a number not above `max`: 0, -EBADMSG, -ERANGE. */
static inline int scan_number(struct str v, uint32_t max, uint32_t *out)
{
	uint64_t n = 0;
	size_t i = 0;

	if (v.len == 0)
		return -EBADMSG;
	/* leading zeros are fine (RFC 4475 3.1.1.1 "0068") and never overflow */
	while (i < v.len && v.s[i] == '0')
		i++;
	if (v.len - i > 10) {
		for (; i < v.len; i++)
			if (!cc_is((unsigned char)v.s[i], CC_DIGIT))
				return -EBADMSG;
		return -ERANGE;
	}
	for (; i < v.len; i++) {
		unsigned d = (unsigned char)v.s[i] - '0';
		if (d > 9)
			return -EBADMSG;
		n = n * 10 + d;
	}
	if (n > max)
		return -ERANGE;
	*out = (uint32_t)n;
	return 0;
}

/* RFC 3261 25.1 IPv6address, loosely: hex groups, ':' and an optional dotted tail. */
static inline bool ipv6_classify(struct str h)
{
	unsigned colons = 0;

	if (h.len < 2)
		return false;
	for (size_t i = 0; i < h.len; i++) {
		char c = h.s[i];
		if (c == ':')
			colons++;
		else if (!is_hex(c) && c != '.')
			return false;
	}
	return colons >= 2 && colons <= 7;
}

static inline bool ipv4_valid(struct str h)
{
	unsigned parts = 0, digits = 0, val = 0;

	for (size_t i = 0; i <= h.len; i++) {
		if (i == h.len || h.s[i] == '.') {
			if (digits == 0 || digits > 3 || val > 255)
				return false;
			parts++;
			digits = val = 0;
			continue;
		}
		val = val * 10 + (unsigned)(h.s[i] - '0');
		digits++;
	}
	return parts == 4;
}

/*
 * Scan a host (RFC 3261 25.1: hostname / IPv4address / IPv6reference) at
 * the cursor in one pass, classifying it on the way. `*host` is what was
 * taken (the brackets included for IPv6); the result is SIP_HOST_NONE when
 * it is malformed or empty. A hostname is labels of alphanum and '-'
 * separated by single dots, not starting with '-' or '.'; something of
 * digits and dots only must be a valid IPv4 address.
 */
static inline int scan_host(struct scan *s, struct str *host)
{
	const char *start = s->p, *p = start, *end = s->end;
	bool digits_only = true, bad = false;
	unsigned char prev = 0;

	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (!close) {
			*host = str_make(start, (size_t)(end - start));
			s->p = end;
			return SIP_HOST_NONE;
		}
		s->p = close + 1;
		*host = str_make(start, (size_t)(s->p - start));
		return host->len >= 4 && ipv6_classify(str_make(start + 1, host->len - 2))
			       ? SIP_HOST_IPV6
			       : SIP_HOST_NONE;
	}
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		unsigned cls = sip_cc_table[c];
		if (!(cls & CC_HOST))
			break;
		if (c == '.') {
			if (prev == '.' || prev == '-')
				bad = true;
		} else if (!(cls & CC_DIGIT)) {
			digits_only = false;
		}
		prev = c;
	}
	*host = str_make(start, (size_t)(p - start));
	s->p = p;
	if (host->len == 0 || start[0] == '-' || start[0] == '.' || bad)
		return SIP_HOST_NONE;
	if (digits_only)
		return ipv4_valid(*host) ? SIP_HOST_IPV4 : SIP_HOST_NONE;
	return SIP_HOST_NAME;
}

/* Host of a URI or Via: name, IPv4 or [IPv6]; SIP_HOST_NONE if malformed. */
static inline int sip_host_classify(struct str host)
{
	struct scan s = scan_of(host);
	int type = scan_host(&s, &host);

	return scan_done(&s) ? type : SIP_HOST_NONE;
}

#endif
