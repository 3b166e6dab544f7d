/*
 * uri.c - SIP/SIPS (RFC 3261 19.1, 25.1) and tel (RFC 3966) URIs.
 */
#include "sip/uri.h"

#include <string.h>

#include "sip/scan.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Next character of an escaped slice, decoding one %HH; -1 at the end. */
static int esc_next(struct str s, size_t *i)
{
	unsigned char c;

	if (*i >= s.len)
		return -1;
	c = (unsigned char)s.s[*i];
	if (c == '%' && *i + 2 < s.len && hexval(s.s[*i + 1]) >= 0 && hexval(s.s[*i + 2]) >= 0) {
		c = (unsigned char)(hexval(s.s[*i + 1]) * 16 + hexval(s.s[*i + 2]));
		*i += 3;
		return c;
	}
	(*i)++;
	return c;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Equality after decoding each side's escapes once (RFC 3261 19.1.4). */
static bool esc_eq(struct str a, struct str b, bool caseless)
{
	size_t i = 0, j = 0;

	for (;;) {
		int ca = esc_next(a, &i), cb = esc_next(b, &j);
		if (caseless) {
			ca = lower(ca);
			cb = lower(cb);
		}
		if (ca != cb)
			return false;
		if (ca < 0)
			return true;
	}
}

int sip_unescape(struct str in, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < in.len; i++) {
		char c = in.s[i];
		if (c == '%') {
			if (i + 2 >= in.len || hexval(in.s[i + 1]) < 0 || hexval(in.s[i + 2]) < 0)
				return -EINVAL;
			c = (char)(hexval(in.s[i + 1]) * 16 + hexval(in.s[i + 2]));
			i += 2;
		}
		if (n >= cap)
			return -ENOSPC;
		out[n++] = c;
	}
	*outlen = n;
	return 0;
}

static int uri_fail(struct sip_error *err, const char *reason, struct str where)
{
	return sip_fail(err, -EBADMSG, reason, where);
}

/* The URI parameters that RFC 3261 19.1.4 never ignores. */
static bool is_strict_param(struct str name)
{
	static const char *const strict[] = { "user", "ttl", "method", "maddr", "transport" };

	for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++)
		if (esc_eq(name, str_from_cstr(strict[i]), true))
			return true;
	return false;
}

/*
 * Name test for a URI parameter: escapes are rare, so compare plainly
 * unless the name has a '%' (RFC 4475 3.1.1.3 writes lr as "%6C%72").
 */
static bool pname_is(struct str name, bool escaped, const char *lit, size_t n)
{
	return escaped ? esc_eq(name, str_make(lit, n), true) : lit_caseeq(name, lit, n);
}

#define PNAME_IS(name, escaped, lit) pname_is((name), (escaped), "" lit, sizeof(lit) - 1)

static void pick_param(struct sip_uri *u, struct str name, struct str value, bool has_value)
{
	struct str v = has_value ? value : str_make(name.s + name.len, 0);
	bool esc = memchr(name.s, '%', name.len) != NULL;

	switch (name.len > 9 && !esc ? 0 : sip_lower_table[(unsigned char)name.s[0]]) {
	case 't':
		if (PNAME_IS(name, esc, "transport"))
			u->transport = v;
		else if (PNAME_IS(name, esc, "ttl"))
			u->ttl = v;
		break;
	case 'u':
		if (PNAME_IS(name, esc, "user"))
			u->user_param = v;
		break;
	case 'm':
		if (PNAME_IS(name, esc, "method"))
			u->method = v;
		else if (PNAME_IS(name, esc, "maddr"))
			u->maddr = v;
		break;
	case 'l':
		if (PNAME_IS(name, esc, "lr"))
			u->lr = true;
		break;
	case 'o':
		if (PNAME_IS(name, esc, "ob"))
			u->ob = true;
		break;
	case '%':
		/* an escaped first letter: try them all */
		if (PNAME_IS(name, esc, "transport"))
			u->transport = v;
		else if (PNAME_IS(name, esc, "ttl"))
			u->ttl = v;
		else if (PNAME_IS(name, esc, "user"))
			u->user_param = v;
		else if (PNAME_IS(name, esc, "method"))
			u->method = v;
		else if (PNAME_IS(name, esc, "maddr"))
			u->maddr = v;
		else if (PNAME_IS(name, esc, "lr"))
			u->lr = true;
		else if (PNAME_IS(name, esc, "ob"))
			u->ob = true;
		break;
	}
}

/* *( ";" pname [ "=" pvalue ] ) up to '?' or the end. */
static int parse_params(struct scan *s, struct sip_uri *u, struct sip_error *err)
{
	const char *start = s->p;

	while (scan_peek(s, ';')) {
		struct str name, value = STR_NULL;
		bool has_value = false;

		s->p++;
		if (!scan_escaped(s, CC_PARAM, &name))
			return uri_fail(err, "malformed %-escape in a URI parameter", scan_rest(s));
		if (name.len == 0)
			return uri_fail(err, "empty URI parameter", scan_rest(s));
		if (scan_peek(s, '=')) {
			s->p++;
			if (!scan_escaped(s, CC_PARAM, &value))
				return uri_fail(err, "malformed %-escape in a URI parameter",
						scan_rest(s));
			if (value.len == 0)
				return uri_fail(err, "URI parameter with '=' but no value", name);
			has_value = true;
		}
		pick_param(u, name, value, has_value);
	}
	u->params = scan_from(s, start);
	return 0;
}

/* "?" header *( "&" header ), header = hname "=" hvalue */
static int parse_headers(struct scan *s, struct sip_uri *u, struct sip_error *err)
{
	const char *start;

	if (!scan_peek(s, '?'))
		return 0;
	s->p++;
	start = s->p;
	u->has_headers = true;
	for (;;) {
		struct str name, value;
		if (!scan_escaped(s, CC_HNV, &name) || name.len == 0)
			return uri_fail(err, "malformed header name in a URI", scan_rest(s));
		if (!scan_peek(s, '='))
			return uri_fail(err, "URI header without '='", name);
		s->p++;
		if (!scan_escaped(s, CC_HNV, &value))
			return uri_fail(err, "malformed %-escape in a URI header", scan_rest(s));
		if (!scan_peek(s, '&'))
			break;
		s->p++;
	}
	u->headers = scan_from(s, start);
	return 0;
}

static int parse_sip(struct scan *s, struct sip_uri *u, struct sip_error *err)
{
	const char *at = memchr(s->p, '@', (size_t)(s->end - s->p));
	int rc;

	/* '@' can appear nowhere but after the userinfo in a SIP URI (25.1). */
	if (at) {
		struct scan us = { s->p, at };
		struct str user;
		if (!scan_escaped(&us, CC_USER, &user))
			return uri_fail(err, "malformed %-escape in the user part",
					str_make(s->p, (size_t)(at - s->p)));
		u->user = user;
		u->has_user = true;
		if (scan_peek(&us, ':')) {
			us.p++;
			if (!scan_escaped(&us, CC_PASSWORD, &u->password))
				return uri_fail(err, "malformed %-escape in the password",
						scan_rest(&us));
			u->has_password = true;
		}
		if (!scan_done(&us))
			return uri_fail(err, "invalid character in the user part of the URI",
					scan_rest(&us));
		if (user.len == 0)
			return uri_fail(err, "empty user part before '@'",
					str_make(s->p, (size_t)(at + 1 - s->p)));
		s->p = at + 1;
	}

	if (scan_peek(s, '[') && !memchr(s->p, ']', (size_t)(s->end - s->p)))
		return uri_fail(err, "IPv6 reference without ']'", scan_rest(s));
	u->host_type = (enum sip_host_type)scan_host(s, &u->host);
	if (u->host.len == 0)
		return uri_fail(err, "URI without a host", scan_rest(s));
	if (u->host_type == SIP_HOST_NONE)
		return uri_fail(err, "malformed host in the URI", u->host);
	if (scan_peek(s, ':')) {
		struct str port;
		uint32_t n;
		s->p++;
		port = scan_run(s, CC_DIGIT);
		if (port.len == 0 || scan_number(port, 65535, &n))
			return uri_fail(err, "URI port is not a number from 0 to 65535",
					port.len ? port : scan_rest(s));
		u->has_port = true;
		u->port = (uint16_t)n;
	}
	rc = parse_params(s, u, err);
	if (rc)
		return rc;
	rc = parse_headers(s, u, err);
	if (rc)
		return rc;
	if (!scan_done(s))
		return uri_fail(err, "invalid character in the URI", scan_rest(s));
	return 0;
}

/* telephone-subscriber, parameters kept as a ';' list (RFC 3966 3). */
static int parse_tel(struct scan *s, struct sip_uri *u, struct sip_error *err)
{
	int rc;

	if (!scan_escaped(s, CC_TEL, &u->number) || u->number.len == 0)
		return uri_fail(err, "tel URI without a number", scan_rest(s));
	rc = parse_params(s, u, err);
	if (rc)
		return rc;
	if (!scan_done(s))
		return uri_fail(err, "invalid character in the tel URI", scan_rest(s));
	return 0;
}

int sip_uri_parse(struct str text, struct sip_uri *u, struct sip_error *err)
{
	struct scan s = scan_of(text);
	int rc = 0;

	memset(u, 0, sizeof(*u));
	u->raw = text;
	if (text.len == 0 || !cc_is((unsigned char)text.s[0], CC_ALPHA))
		return uri_fail(err, "URI does not start with a scheme", text);
	u->scheme_name = scan_run(&s, CC_SCHEME);
	if (!scan_peek(&s, ':'))
		return uri_fail(err, "URI without ':' after the scheme", text);
	s.p++;
	if (CASEEQ_LIT(u->scheme_name, "sip"))
		u->scheme = SIP_URI_SIP;
	else if (CASEEQ_LIT(u->scheme_name, "sips"))
		u->scheme = SIP_URI_SIPS;
	else if (CASEEQ_LIT(u->scheme_name, "tel"))
		u->scheme = SIP_URI_TEL;

	switch (u->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		rc = parse_sip(&s, u, err);
		break;
	case SIP_URI_TEL:
		rc = parse_tel(&s, u, err);
		break;
	case SIP_URI_OTHER:
		u->opaque = scan_rest(&s);
		if (u->opaque.len == 0)
			return uri_fail(err, "nothing after the URI scheme", text);
		for (size_t i = 0; i < u->opaque.len; i++) {
			unsigned char c = (unsigned char)u->opaque.s[i];
			if (c <= 0x20 || c >= 0x7f || strchr("<>\"{}|\\^`", c))
				return uri_fail(err, "invalid character in the URI",
						str_sub(u->opaque, i, 1));
		}
		break;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Comparison                                                         */

struct uparam {
	struct str name, value;
	bool has_value;
};

/* Next ";name[=value]" of a params slice that sip_uri_parse() accepted. */
static bool uparam_next(struct str *rest, struct uparam *p)
{
	const char *s, *e, *eq;

	if (rest->len == 0 || rest->s[0] != ';')
		return false;
	s = rest->s + 1;
	e = memchr(s, ';', rest->len - 1);
	if (!e)
		e = rest->s + rest->len;
	eq = memchr(s, '=', (size_t)(e - s));
	p->name = str_make(s, (size_t)((eq ? eq : e) - s));
	p->has_value = eq != NULL;
	p->value = eq ? str_make(eq + 1, (size_t)(e - eq - 1)) : STR_NULL;
	*rest = str_make(e, (size_t)(rest->s + rest->len - e));
	return true;
}

static bool uparam_value_eq(const struct uparam *a, const struct uparam *b)
{
	if (a->has_value != b->has_value)
		return false;
	return !a->has_value || esc_eq(a->value, b->value, true);
}

/*
 * Does every parameter of `pa` agree with `pb`? A name present in both
 * must have an equal value in `pb` (any one of them: RFC 3261 says nothing
 * of repeated parameters, and a URI must equal itself); a name missing
 * from `pb` is ignored unless `all` (tel, RFC 3966 4) or it is one of
 * those RFC 3261 19.1.4 never ignores.
 */
static bool params_agree(struct str pa, struct str pb, bool all)
{
	struct uparam a, b;

	while (uparam_next(&pa, &a)) {
		struct str rest = pb;
		bool named = false, matched = false;
		while (!matched && uparam_next(&rest, &b)) {
			if (esc_eq(a.name, b.name, true)) {
				named = true;
				matched = uparam_value_eq(&a, &b);
			}
		}
		if (named ? !matched : (all || is_strict_param(a.name)))
			return false;
	}
	return true;
}

static bool params_equal(struct str pa, struct str pb, bool all)
{
	return params_agree(pa, pb, all) && params_agree(pb, pa, all);
}

/* Next "name=value" of a URI header list. */
static bool uhdr_next(struct str *rest, struct uparam *p)
{
	const char *s = rest->s, *e, *eq;

	if (!rest->s || rest->len == 0)
		return false;
	e = memchr(s, '&', rest->len);
	if (!e)
		e = s + rest->len;
	eq = memchr(s, '=', (size_t)(e - s));
	p->name = str_make(s, (size_t)((eq ? eq : e) - s));
	p->value = eq ? str_make(eq + 1, (size_t)(e - eq - 1)) : STR_NULL;
	p->has_value = eq != NULL;
	*rest = e < s + rest->len ? str_make(e + 1, (size_t)(s + rest->len - e - 1)) : STR_NULL;
	return true;
}

static bool headers_contained(struct str ha, struct str hb)
{
	struct str rest = ha;
	struct uparam a, b;

	while (uhdr_next(&rest, &a)) {
		struct str r2 = hb;
		bool found = false;
		while (!found && uhdr_next(&r2, &b))
			found = esc_eq(a.name, b.name, true) && esc_eq(a.value, b.value, false);
		if (!found)
			return false;
	}
	return true;
}

/* tel numbers compare without visual separators (RFC 3966 4, 5.1.1). */
static bool tel_number_eq(struct str a, struct str b)
{
	size_t i = 0, j = 0;

	for (;;) {
		int ca, cb;
		do
			ca = lower(esc_next(a, &i));
		while (ca > 0 && strchr("-.()", ca));
		do
			cb = lower(esc_next(b, &j));
		while (cb > 0 && strchr("-.()", cb));
		if (ca != cb)
			return false;
		if (ca < 0)
			return true;
	}
}

bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	if (a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		if (a->has_user != b->has_user || !esc_eq(a->user, b->user, false))
			return false;
		if (a->has_password != b->has_password || !esc_eq(a->password, b->password, false))
			return false;
		if (!esc_eq(a->host, b->host, true))
			return false;
		if (a->has_port != b->has_port || a->port != b->port)
			return false;
		if (!params_equal(a->params, b->params, false))
			return false;
		return headers_contained(a->headers, b->headers) &&
		       headers_contained(b->headers, a->headers);
	case SIP_URI_TEL:
		return tel_number_eq(a->number, b->number) &&
		       params_equal(a->params, b->params, true);
	case SIP_URI_OTHER:
		return str_caseeq(a->scheme_name, b->scheme_name) && str_eq(a->opaque, b->opaque);
	}
	return false;
}
