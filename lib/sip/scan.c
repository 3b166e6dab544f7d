/*
 * scan.c - the character class table and the scanners every decoder uses.
 */
#include "sip/scan.h"

#include <errno.h>
#include <string.h>

uint16_t sip_cc_table[256];

static void add(const char *chars, unsigned cls)
{
	for (const char *c = chars; *c; c++)
		sip_cc_table[(unsigned char)*c] |= cls;
}

static void add_range(char lo, char hi, unsigned cls)
{
	for (int c = lo; c <= hi; c++)
		sip_cc_table[c] |= cls;
}

/*
 * Built once at load time; the table is read-only afterwards, so threads
 * (freeDiameter's) may parse concurrently.
 */
__attribute__((constructor)) static void sip_cc_init(void)
{
	const unsigned alnum = CC_TOKEN | CC_WORD | CC_UNRESERVED | CC_USER | CC_PASSWORD |
			       CC_PARAM | CC_HNV | CC_HOST | CC_SCHEME | CC_PVALUE;

	add_range('a', 'z', alnum | CC_ALPHA);
	add_range('A', 'Z', alnum | CC_ALPHA);
	add_range('0', '9', alnum | CC_DIGIT | CC_HEX | CC_TEL);
	add_range('a', 'f', CC_HEX | CC_TEL);
	add_range('A', 'F', CC_HEX | CC_TEL);
	add("-.!%*_+`'~", CC_TOKEN | CC_WORD | CC_PVALUE);
	add("()<>:\\\"/[]?{}", CC_WORD);
	add(" \t\r\n", CC_LWS);
	add("-_.!~*'()", CC_UNRESERVED | CC_USER | CC_PASSWORD | CC_PARAM | CC_HNV);
	add("&=+$,;?/", CC_USER);
	add("&=+$,", CC_PASSWORD);
	add("[]/:&+$", CC_PARAM);
	add("[]/?:+$", CC_HNV);
	add("-.", CC_HOST);
	add("+-.", CC_SCHEME);
	add(":[]", CC_PVALUE);
	add("*#+-.()", CC_TEL);
}

int sip_fail(struct sip_error *err, int code, const char *reason, struct str where)
{
	if (err) {
		*err = (struct sip_error){
			.code = code,
			.reason = reason,
			.hdr = -1,
			.where = where,
			.status = 400,
		};
	}
	return code;
}

int scan_quoted(struct scan *s, struct str *content)
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

bool scan_escaped(struct scan *s, unsigned cls, struct str *out)
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

int scan_number(struct str v, uint32_t max, uint32_t *out)
{
	uint64_t n;
	int rc = str_to_u64(v, max, &n);

	if (rc == -EINVAL)
		return -EBADMSG;
	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

static bool ipv4_classify(struct str h)
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
		if (!cc_is((unsigned char)h.s[i], CC_DIGIT))
			return false;
		val = val * 10 + (unsigned)(h.s[i] - '0');
		digits++;
	}
	return parts == 4;
}

/* RFC 3261 25.1 IPv6address, loosely: hex groups, ':' and an optional dotted tail. */
static bool ipv6_classify(struct str h)
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

int sip_host_classify(struct str host)
{
	bool all_digits_dots = true;

	if (host.len == 0)
		return SIP_HOST_NONE;
	if (host.s[0] == '[') {
		if (host.len < 4 || host.s[host.len - 1] != ']')
			return SIP_HOST_NONE;
		return ipv6_classify(str_sub(host, 1, host.len - 2)) ? SIP_HOST_IPV6 : SIP_HOST_NONE;
	}
	for (size_t i = 0; i < host.len; i++) {
		unsigned char c = (unsigned char)host.s[i];
		if (!cc_is(c, CC_HOST))
			return SIP_HOST_NONE;
		if (!cc_is(c, CC_DIGIT) && c != '.')
			all_digits_dots = false;
	}
	if (all_digits_dots)
		return ipv4_classify(host) ? SIP_HOST_IPV4 : SIP_HOST_NONE;
	/* hostname: labels of alphanum and '-', not starting or ending with '-' */
	if (host.s[0] == '.' || host.s[0] == '-')
		return SIP_HOST_NONE;
	for (size_t i = 1; i < host.len; i++)
		if (host.s[i] == '.' && (host.s[i - 1] == '.' || host.s[i - 1] == '-'))
			return SIP_HOST_NONE;
	return SIP_HOST_NAME;
}
