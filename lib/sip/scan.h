/*
 * scan.h - character classes and small scanners shared by the SIP
 * decoders. Private to lib/sip.
 *
 * The classes are the RFC 3261 25.1 ones; a byte may be in several.
 */
#ifndef SIMREG_SIP_SCAN_H
#define SIMREG_SIP_SCAN_H

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
};

extern uint16_t sip_cc_table[256];

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
	while (s->p < s->end && cc_is((unsigned char)*s->p, CC_LWS))
		s->p++;
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

/* A run of bytes of class `cls` (possibly empty). */
static inline struct str scan_run(struct scan *s, unsigned cls)
{
	const char *start = s->p;

	while (s->p < s->end && cc_is((unsigned char)*s->p, cls))
		s->p++;
	return scan_from(s, start);
}

/*
 * A quoted string at the cursor (which must be at '"'): `*content` gets the
 * bytes between the quotes, still escaped. -EBADMSG if unterminated.
 */
int scan_quoted(struct scan *s, struct str *content);

/* A run of `cls` bytes or %HH escapes; false on a broken escape. */
bool scan_escaped(struct scan *s, unsigned cls, struct str *out);

/* Whole slice of digits into a number not above `max`: 0, -EBADMSG, -ERANGE. */
int scan_number(struct str v, uint32_t max, uint32_t *out);

/* Host of a URI or Via: name, IPv4 or [IPv6]; SIP_HOST_NONE if malformed. */
int sip_host_classify(struct str host);

#endif
