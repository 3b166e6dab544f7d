/*
 * hdr.c - typed decoders of header values (RFC 3261 20, 25.1 and the
 * extensions named in headers.def), the decode cache of a message and
 * sip_msg_check().
 */
#include "sip/hdr.h"

#include <string.h>

#include "sip/msg.h"
#include "sip/scan.h"

static int dfail(struct sip_error *err, const char *reason, struct str where)
{
	return sip_fail(err, -EBADMSG, reason, where);
}

static int rfail(struct sip_error *err, const char *reason, struct str where)
{
	return sip_fail(err, -ERANGE, reason, where);
}

static bool all_of(struct str v, unsigned cls)
{
	for (size_t i = 0; i < v.len; i++)
		if (!cc_is((unsigned char)v.s[i], cls))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Parameters, quoted strings, q-values                               */

static inline const char *skip_lws(const char *p, const char *end)
{
	while (p < end && cc_is((unsigned char)*p, CC_LWS))
		p++;
	return p;
}

static inline const char *skip_cls(const char *p, const char *end, unsigned cls)
{
	return span_cls(p, end, cls);
}

/* The closing quote of a quoted string opening at p[-1], or NULL. */
static inline const char *quoted_end(const char *p, const char *end)
{
	struct scan s = { p - 1, end };
	struct str q;

	return scan_quoted(&s, &q) ? NULL : s.p - 1;
}

/*
 * One "<sep> name [= value]" with the name and unquoted value drawn from
 * the given classes; sep is ';' (params) or ',' (auth-params, where the
 * first one has none). Written as one pass over the bytes: this is the
 * inner loop of every typed decoder.
 */
static inline __attribute__((always_inline)) int
param_next_sep(struct str *rest, struct sip_param *p, char sep, bool sep_optional, unsigned name_cls,
	       unsigned value_cls)
{
	const char *s = rest->s, *end = s + rest->len, *n0, *t;

	s = skip_lws(s, end);
	if (s == end) {
		*rest = str_make(s, 0);
		return 0;
	}
	if (*s == sep) {
		s = skip_lws(s + 1, end);
	} else if (!sep_optional) {
		return -EBADMSG;
	}
	n0 = s;
	s = skip_cls(s, end, name_cls);
	if (s == n0)
		return -EBADMSG;
	p->name = str_make(n0, (size_t)(s - n0));
	p->value = STR_NULL;
	p->quoted = false;
	t = skip_lws(s, end);
	if (t < end && *t == '=') {
		t = skip_lws(t + 1, end);
		if (t < end && *t == '"') {
			const char *q = quoted_end(t + 1, end);
			if (!q)
				return -EBADMSG;
			p->value = str_make(t + 1, (size_t)(q - t - 1));
			p->quoted = true;
			s = q + 1;
		} else {
			s = skip_cls(t, end, value_cls);
			if (s == t)
				return -EBADMSG;
			p->value = str_make(t, (size_t)(s - t));
		}
	} else if (sep == ',') {
		return -EBADMSG; /* auth-param = token EQUAL (token / quoted-string) */
	}
	p->raw = str_make(n0, (size_t)(s - n0));
	t = skip_lws(s, end);
	if (t < end && *t != sep)
		return -EBADMSG;
	*rest = str_make(t, (size_t)(end - t));
	return 1;
}

static int param_next(struct str *rest, struct sip_param *p, unsigned name_cls, unsigned value_cls)
{
	return param_next_sep(rest, p, ';', false, name_cls, value_cls);
}

int sip_param_next(struct str *rest, struct sip_param *p)
{
	/* Lenient on purpose: the same iterator walks URI parameters. */
	return param_next(rest, p, CC_TOKEN | CC_PARAM, CC_PVALUE | CC_PARAM);
}

bool sip_param_find(struct str params, const char *name, struct sip_param *p)
{
	while (sip_param_next(&params, p) == 1)
		if (caseeq(p->name, str_from_cstr(name)))
			return true;
	return false;
}

int sip_unquote(struct str q, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < q.len; i++) {
		char c = q.s[i];
		if (c == '\\') {
			if (++i == q.len)
				return -EINVAL;
			c = q.s[i];
		}
		if (n == cap)
			return -ENOSPC;
		out[n++] = c;
	}
	*outlen = n;
	return 0;
}

int sip_qvalue_parse(struct str v, uint16_t *thousandths)
{
	unsigned n = 0;
	size_t i;

	/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
	if (v.len == 0 || v.len > 5 || (v.s[0] != '0' && v.s[0] != '1'))
		return -EBADMSG;
	if (v.len > 1 && v.s[1] != '.')
		return -EBADMSG;
	for (i = 2; i < v.len; i++) {
		if (!cc_is((unsigned char)v.s[i], CC_DIGIT))
			return -EBADMSG;
		n = n * 10 + (unsigned)(v.s[i] - '0');
	}
	for (; i < 5; i++)
		n *= 10;
	if (v.s[0] == '1') {
		if (n)
			return -EBADMSG;
		n = 1000;
	}
	*thousandths = (uint16_t)n;
	return 0;
}

/*
 * Walk a header-params slice, checking the RFC 3261 generic-param syntax
 * (token [EQUAL (token / host / quoted-string)]) and handing each one to
 * `pick`, which returns 0, or an error it has already reported.
 */
typedef int (*pick_fn)(void *ctx, const struct sip_param *p, struct sip_error *err);

static inline __attribute__((always_inline)) int
walk_params(struct str params, pick_fn pick, void *ctx, struct sip_error *err)
{
	struct str rest = params;
	struct sip_param p;
	int rc;

	for (;;) {
		struct str before = rest;
		rc = param_next(&rest, &p, CC_TOKEN, CC_PVALUE);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			/* Say which rule broke: read the same text leniently. */
			if (sip_param_next(&before, &p) == 1) {
				if (!all_of(p.name, CC_TOKEN))
					return dfail(err, "parameter name is not a token", p.name);
				return dfail(err,
					     "parameter value is neither a token, a host nor a "
					     "quoted string",
					     p.value);
			}
			return dfail(err, "malformed parameter", str_trim(before));
		}
		if (pick) {
			rc = pick(ctx, &p, err);
			if (rc)
				return rc;
		}
	}
}

/* Parameter name test against a lower-case literal. */
#define is(p, lit) CASEEQ_LIT((p)->name, lit)

static int need_value(const struct sip_param *p, struct sip_error *err)
{
	return p->value.s ? 0 : dfail(err, "parameter needs a value", p->raw);
}

static int number_param(const struct sip_param *p, uint32_t max, uint32_t *out,
			struct sip_error *err)
{
	int rc = need_value(p, err);

	if (rc)
		return rc;
	rc = scan_number(p->value, max, out);
	if (rc == -ERANGE)
		return rfail(err, "parameter value out of range", p->raw);
	if (rc)
		return dfail(err, "parameter value is not a number", p->raw);
	return 0;
}

static int token_param(const struct sip_param *p, struct str *out, struct sip_error *err)
{
	if (!p->value.s || p->quoted || p->value.len == 0 || !all_of(p->value, CC_TOKEN))
		return dfail(err, "parameter value must be a token", p->raw);
	*out = p->value;
	return 0;
}

/* The rest of a value must be empty or a ';' parameter list. */
static int params_tail(struct scan *s, struct str *params, const char *what, struct sip_error *err)
{
	scan_lws(s);
	if (!scan_done(s) && *s->p != ';')
		return dfail(err, what, scan_rest(s));
	*params = scan_rest(s);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Via                                                                */

static enum sip_transport transport_id(struct str t)
{
	switch (t.len) {
	case 2:
		return CASEEQ_LIT(t, "ws") ? SIP_TRANSPORT_WS : SIP_TRANSPORT_OTHER;
	case 3:
		if (CASEEQ_LIT(t, "udp"))
			return SIP_TRANSPORT_UDP;
		if (CASEEQ_LIT(t, "tcp"))
			return SIP_TRANSPORT_TCP;
		if (CASEEQ_LIT(t, "tls"))
			return SIP_TRANSPORT_TLS;
		return CASEEQ_LIT(t, "wss") ? SIP_TRANSPORT_WSS : SIP_TRANSPORT_OTHER;
	case 4:
		return CASEEQ_LIT(t, "sctp") ? SIP_TRANSPORT_SCTP : SIP_TRANSPORT_OTHER;
	}
	return SIP_TRANSPORT_OTHER;
}

/* received = IPv4address / IPv6address (RFC 3261 18.2.1, no brackets) */
static bool is_ip_address(struct str v)
{
	int t = sip_host_classify(v);

	if (t == SIP_HOST_IPV4)
		return true;
	if (t == SIP_HOST_NAME || v.len < 2 || v.len > 45)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!cc_is((unsigned char)v.s[i], CC_HEX) && v.s[i] != ':' && v.s[i] != '.')
			return false;
	return memchr(v.s, ':', v.len) != NULL;
}

static int via_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_via *o = ctx;
	uint32_t n;
	int rc = 0;

	if (is(p, "branch")) {
		rc = token_param(p, &o->branch, err);
	} else if (is(p, "received")) {
		if (!p->value.s || p->quoted || !is_ip_address(p->value))
			return dfail(err, "Via received is not an IP address", p->raw);
		o->received = p->value;
	} else if (is(p, "maddr")) {
		if (!p->value.s || p->quoted || sip_host_classify(p->value) == SIP_HOST_NONE)
			return dfail(err, "Via maddr is not a host", p->raw);
		o->maddr = p->value;
	} else if (is(p, "ttl")) {
		rc = number_param(p, 255, &n, err);
		o->has_ttl = rc == 0;
		o->ttl = (uint8_t)n;
	} else if (is(p, "rport")) {
		/* RFC 3581: empty in requests, the source port once a proxy fills it */
		o->rport = true;
		if (p->value.s) {
			rc = number_param(p, 65535, &n, err);
			o->has_rport_value = rc == 0;
			o->rport_value = (uint16_t)n;
		}
	} else if (is(p, "keep")) {
		/* RFC 6223: empty in requests, the keep-alive interval in responses */
		o->keep = true;
		if (p->value.s) {
			rc = number_param(p, UINT32_MAX, &n, err);
			o->has_keep_value = rc == 0;
			o->keep_value = n;
		}
	}
	return rc;
}

int sip_via_parse(struct str v, struct sip_via *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	/* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
	o->protocol = scan_run(&s, CC_TOKEN);
	if (o->protocol.len == 0 || !scan_sep(&s, '/'))
		return dfail(err, "Via does not start with SIP/2.0/transport", v);
	o->version = scan_run(&s, CC_TOKEN);
	if (o->version.len == 0 || !scan_sep(&s, '/'))
		return dfail(err, "Via does not start with SIP/2.0/transport", v);
	o->transport = scan_run(&s, CC_TOKEN);
	if (o->transport.len == 0)
		return dfail(err, "Via without a transport", v);
	o->transport_id = transport_id(o->transport);
	if (!CASEEQ_LIT(o->protocol, "sip") || !str_eq(o->version, STR_LIT("2.0")))
		return dfail(err, "Via protocol is not SIP/2.0", scan_from(&s, v.s));
	if (scan_done(&s) || !cc_is((unsigned char)*s.p, CC_LWS))
		return dfail(err, "Via needs whitespace before sent-by", scan_rest(&s));
	scan_lws(&s);

	/* sent-by = host [ COLON port ] */
	if (scan_peek(&s, '[') && !memchr(s.p, ']', (size_t)(s.end - s.p)))
		return dfail(err, "Via IPv6 reference without ']'", scan_rest(&s));
	o->host_type = (enum sip_host_type)scan_host(&s, &o->host);
	if (o->host_type == SIP_HOST_NONE)
		return dfail(err, "Via sent-by host is malformed",
			     o->host.len ? o->host : scan_rest(&s));
	if (scan_sep(&s, ':')) {
		struct str port = scan_run(&s, CC_DIGIT);
		uint32_t n;
		if (port.len == 0 || scan_number(port, 65535, &n))
			return dfail(err, "Via port is not a number from 0 to 65535",
				     port.len ? port : scan_rest(&s));
		o->has_port = true;
		o->port = (uint16_t)n;
	}
	rc = params_tail(&s, &o->params, "unexpected text after the Via sent-by", err);
	if (rc)
		return rc;
	return walk_params(o->params, via_pick, o, err);
}

/* ------------------------------------------------------------------ */
/* name-addr / addr-spec, Contact                                     */

static int addr_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_addr *o = ctx;

	if (is(p, "tag"))
		return token_param(p, &o->tag, err);
	return 0;
}

/* Is there a '<' ahead, outside quoted strings? (display name diagnosis) */
static bool angle_ahead(struct scan s)
{
	while (!scan_done(&s)) {
		if (*s.p == '"') {
			struct str q;
			if (scan_quoted(&s, &q))
				return false;
			continue;
		}
		if (*s.p == '<')
			return true;
		s.p++;
	}
	return false;
}

static int addr_parse(struct str v, struct sip_addr *o, pick_fn pick, void *ctx,
		      struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	if (v.len == 0)
		return dfail(err, "empty address", v);

	/* display-name = *(token LWS) / quoted-string, then LAQUOT */
	if (scan_peek(&s, '"')) {
		if (scan_quoted(&s, &o->display))
			return dfail(err, "unterminated quoted display name", v);
		o->display_quoted = true;
		scan_lws(&s);
		if (!scan_peek(&s, '<'))
			return dfail(err, "quoted display name not followed by <URI>",
				     scan_rest(&s));
	} else {
		const char *start = s.p;
		struct scan t = s;
		while (!scan_done(&t) && cc_is((unsigned char)*t.p, CC_TOKEN | CC_LWS))
			t.p++;
		if (scan_peek(&t, '<')) {
			/* lwsdisp: "caller<sip:...>" has no LWS before '<' (RFC 4475 3.1.1.6) */
			o->display = str_trim(str_make(start, (size_t)(t.p - start)));
			if (o->display.len == 0)
				o->display = STR_NULL;
			s = t;
		} else if (!scan_done(&t) && *t.p != ':' && angle_ahead(t)) {
			return dfail(
				err,
				"display name with characters other than tokens must be quoted",
				str_make(start, (size_t)(t.p + 1 - start)));
		}
	}

	if (scan_peek(&s, '<')) {
		const char *close;
		o->angle = true;
		s.p++;
		close = memchr(s.p, '>', (size_t)(s.end - s.p));
		if (!close)
			return dfail(err, "'<' without its '>'", v);
		o->uri = str_make(s.p, (size_t)(close - s.p));
		if (o->uri.len == 0)
			return dfail(err, "empty URI inside < >", v);
		/* RFC 4475 3.1.2.14: no LWS inside the brackets */
		if (cc_is((unsigned char)o->uri.s[0], CC_LWS) ||
		    cc_is((unsigned char)o->uri.s[o->uri.len - 1], CC_LWS))
			return dfail(err, "whitespace inside < >",
				     str_make(s.p - 1, o->uri.len + 2));
		s.p = close + 1;
	} else {
		/*
		 * addr-spec: the URI ends at the first ';' or LWS; what follows
		 * are header parameters (RFC 3261 20.10, RFC 4475 3.3.12). A URI
		 * with ',', '?' or ';' of its own must be inside <>.
		 */
		const char *start = s.p;
		while (!scan_done(&s) && *s.p != ';' && !cc_is((unsigned char)*s.p, CC_LWS))
			s.p++;
		o->uri = scan_from(&s, start);
		if (memchr(o->uri.s, '?', o->uri.len))
			return dfail(
				err,
				"a URI with headers ('?') must be enclosed in <> (RFC 3261 20.10)",
				o->uri);
	}
	rc = params_tail(&s, &o->params, "unexpected text after the URI", err);
	if (rc)
		return rc;
	return walk_params(o->params, pick, ctx, err);
}

int sip_addr_parse(struct str v, struct sip_addr *o, struct sip_error *err)
{
	return addr_parse(v, o, addr_pick, o, err);
}

static int contact_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_contact *o = ctx;
	int rc = 0;

	if (is(p, "tag")) {
		rc = token_param(p, &o->addr.tag, err);
	} else if (is(p, "q")) {
		if (!p->value.s || p->quoted || sip_qvalue_parse(p->value, &o->q))
			return dfail(err, "Contact q is not a q-value (0 to 1, three decimals)",
				     p->raw);
		o->has_q = true;
	} else if (is(p, "expires")) {
		/* delta-seconds, up to 2^32-1 (RFC 4475 3.1.2.4) */
		rc = number_param(p, UINT32_MAX, &o->expires, err);
		o->has_expires = rc == 0;
	} else if (is(p, "+sip.instance")) {
		/* RFC 5626 4.1: the value is a quoted "<URN>" */
		if (!p->quoted || p->value.len < 2 || p->value.s[0] != '<' ||
		    p->value.s[p->value.len - 1] != '>')
			return dfail(err, "+sip.instance is not a quoted \"<URN>\"", p->raw);
		o->instance = p->value;
	} else if (is(p, "reg-id")) {
		/* RFC 5626 4.2: 1 to 2^31-1 */
		rc = number_param(p, INT32_MAX, &o->reg_id, err);
		if (rc == 0 && o->reg_id == 0)
			rc = dfail(err, "reg-id must be at least 1", p->raw);
		o->has_reg_id = rc == 0;
	}
	return rc;
}

int sip_contact_parse(struct str v, struct sip_contact *o, struct sip_error *err)
{
	memset(o, 0, sizeof(*o));
	if (v.len == 1 && v.s[0] == '*') {
		o->addr.raw = v;
		o->star = true;
		return 0;
	}
	return addr_parse(v, &o->addr, contact_pick, o, err);
}

/* ------------------------------------------------------------------ */
/* Call-ID, CSeq, numbers, tokens                                     */

int sip_callid_parse(struct str v, struct str *out, struct sip_error *err)
{
	struct scan s = scan_of(v);
	struct str w;

	/* callid = word [ "@" word ] */
	w = scan_run(&s, CC_WORD);
	if (w.len == 0)
		return dfail(err, "empty Call-ID", v);
	if (scan_peek(&s, '@')) {
		s.p++;
		w = scan_run(&s, CC_WORD);
		if (w.len == 0)
			return dfail(err, "Call-ID has nothing after '@'", v);
	}
	if (!scan_done(&s))
		return dfail(err, "invalid character in Call-ID", scan_rest(&s));
	*out = v;
	return 0;
}

int sip_cseq_parse(struct str v, struct sip_cseq *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	struct str num;
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	num = scan_run(&s, CC_DIGIT);
	if (num.len == 0)
		return dfail(err, "CSeq does not start with a number", v);
	rc = scan_number(num, UINT32_MAX, &o->seq);
	if (rc)
		return rfail(err, "CSeq number above 2^32-1", num);
	if (scan_done(&s) || !cc_is((unsigned char)*s.p, CC_LWS))
		return dfail(err, "CSeq needs whitespace between number and method", v);
	scan_lws(&s);
	o->method = scan_run(&s, CC_TOKEN);
	if (o->method.len == 0 || !scan_done(&s))
		return dfail(err, "CSeq method is not a token",
			     scan_rest(&s).len ? scan_rest(&s) : v);
	o->method_id = sip_method_lookup(o->method);
	return 0;
}

int sip_uint_parse(struct str v, uint32_t max, uint32_t *out, struct sip_error *err)
{
	int rc = scan_number(v, max, out);

	if (rc == -ERANGE)
		return rfail(err, max == 255 ? "number above 255" : "number above 2^32-1", v);
	if (rc)
		return dfail(err, "not a non-negative integer", v);
	return 0;
}

int sip_token_parse(struct str v, struct str *out, struct sip_error *err)
{
	if (v.len == 0 || !all_of(v, CC_TOKEN))
		return dfail(err, "value is not a token", v);
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Authentication                                                     */

enum auth_form { FORM_QUOTED, FORM_TOKEN, FORM_ANY, FORM_NC, FORM_HEX };

static const struct {
	const char *name;
	uint8_t len;
	enum auth_form form;
} auth_params[SIP_AUTH__COUNT] = {
#define SIP_AUTH_PARAM(id, name, form) [SIP_AUTH_##id] = { name, sizeof(name) - 1, FORM_##form },
#include "sip/auth_params.def"
#undef SIP_AUTH_PARAM
};

_Static_assert(SIP_AUTH__COUNT <= 32, "auth param presence bits must fit in 32 bits");

const char *sip_auth_param_name(enum sip_auth_param_id id)
{
	return (unsigned)id < SIP_AUTH__COUNT ? auth_params[id].name : "";
}

int sip_auth_param_next(struct str *rest, struct sip_param *p)
{
	return param_next_sep(rest, p, ',', true, CC_TOKEN, CC_TOKEN);
}

static int auth_params_parse(struct str params, bool challenge, struct sip_auth *o,
			     struct sip_error *err)
{
	struct str rest = params;
	struct sip_param p;
	int rc;

	o->params = params;
	if (str_trim(params).len == 0)
		return dfail(err, "no auth parameters", params);
	if (params.s[0] == ',')
		return dfail(err, "auth parameters start with a comma", params);
	for (;;) {
		struct str before = rest;
		unsigned id;

		rc = sip_auth_param_next(&rest, &p);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return dfail(err,
				     "malformed auth parameter (name=token or name=\"quoted\")",
				     str_trim(before));
		for (id = 0; id < SIP_AUTH__COUNT; id++)
			if (lit_caseeq(p.name, auth_params[id].name, auth_params[id].len))
				break;
		if (id == SIP_AUTH__COUNT) {
			o->n_other++;
			continue;
		}
		if (o->present & (1u << id))
			return dfail(err, "auth parameter appears twice", p.raw);
		switch (auth_params[id].form) {
		case FORM_QUOTED:
			if (!p.quoted)
				return dfail(err, "auth parameter must be a quoted string", p.raw);
			break;
		case FORM_TOKEN:
			if (p.quoted)
				return dfail(err, "auth parameter must be a token, not quoted",
					     p.raw);
			break;
		case FORM_ANY:
			/* RFC 3261 25.1: qop-options in a challenge are a quoted list */
			if (id == SIP_AUTH_QOP && challenge && !p.quoted)
				return dfail(err, "qop in a challenge must be a quoted list",
					     p.raw);
			break;
		case FORM_NC:
			if (p.quoted || p.value.len != 8 || !all_of(p.value, CC_HEX))
				return dfail(err, "nc must be 8 hex digits", p.raw);
			break;
		case FORM_HEX:
			if (!p.quoted || !all_of(p.value, CC_HEX))
				return dfail(err, "auth parameter must be a quoted hex string",
					     p.raw);
			break;
		}
		o->present |= 1u << id;
		o->p[id].raw = p.raw;
		o->p[id].value = p.value;
		o->p[id].quoted = p.quoted;
	}
}

int sip_auth_parse(struct str v, bool challenge, struct sip_auth *o, struct sip_error *err)
{
	struct scan s = scan_of(v);

	memset(o, 0, sizeof(*o));
	o->raw = v;
	/* credentials = ("Digest" LWS digest-response) / other-response */
	o->scheme = scan_run(&s, CC_TOKEN);
	if (o->scheme.len == 0)
		return dfail(err, "missing auth scheme", v);
	if (scan_done(&s) || !cc_is((unsigned char)*s.p, CC_LWS))
		return dfail(err, "auth scheme must be followed by whitespace and parameters", v);
	scan_lws(&s);
	return auth_params_parse(scan_rest(&s), challenge, o, err);
}

int sip_authinfo_parse(struct str v, struct sip_auth *o, struct sip_error *err)
{
	memset(o, 0, sizeof(*o));
	o->raw = v;
	o->scheme = str_make(v.s, 0);
	return auth_params_parse(v, false, o, err);
}

/* ------------------------------------------------------------------ */
/* Security agreement (RFC 3329 2.2, TS 33.203 Annex H)               */

static int sec_str(struct sip_secmech *o, uint32_t bit, const struct sip_param *p, struct str *out,
		   struct sip_error *err)
{
	if (o->present & bit)
		return dfail(err, "security parameter appears twice", p->raw);
	if (!p->value.s || p->value.len == 0)
		return dfail(err, "security parameter needs a value", p->raw);
	if (!p->quoted && !all_of(p->value, CC_TOKEN))
		return dfail(err, "security parameter value must be a token", p->raw);
	o->present |= bit;
	*out = p->value;
	return 0;
}

static int sec_num(struct sip_secmech *o, uint32_t bit, const struct sip_param *p, uint32_t max,
		   uint32_t *out, struct sip_error *err)
{
	int rc;

	if (o->present & bit)
		return dfail(err, "security parameter appears twice", p->raw);
	if (p->quoted)
		return dfail(err, "security parameter must be a number, not quoted", p->raw);
	rc = number_param(p, max, out, err);
	if (rc == 0)
		o->present |= bit;
	return rc;
}

static int sec_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_secmech *o = ctx;
	uint32_t n = 0;
	int rc;

	/* by length first: every mechanism carries six or seven of these */
	switch (p->name.len) {
	case 1:
		if (is(p, "q")) {
			if (o->present & SIP_SEC_Q)
				return dfail(err, "security parameter appears twice", p->raw);
			if (!p->value.s || p->quoted || sip_qvalue_parse(p->value, &o->q))
				return dfail(err, "q is not a q-value (0 to 1, three decimals)",
					     p->raw);
			o->present |= SIP_SEC_Q;
			return 0;
		}
		break;
	case 3:
		if (is(p, "alg"))
			return sec_str(o, SIP_SEC_ALG, p, &o->alg, err);
		if (is(p, "mod"))
			return sec_str(o, SIP_SEC_MOD, p, &o->mod, err);
		break;
	case 4:
		if (is(p, "ealg"))
			return sec_str(o, SIP_SEC_EALG, p, &o->ealg, err);
		if (is(p, "prot"))
			return sec_str(o, SIP_SEC_PROT, p, &o->prot, err);
		break;
	case 5:
		if (is(p, "spi-c"))
			return sec_num(o, SIP_SEC_SPI_C, p, UINT32_MAX, &o->spi_c, err);
		if (is(p, "spi-s"))
			return sec_num(o, SIP_SEC_SPI_S, p, UINT32_MAX, &o->spi_s, err);
		if (is(p, "d-alg"))
			return sec_str(o, SIP_SEC_D_ALG, p, &o->d_alg, err);
		if (is(p, "d-qop"))
			return sec_str(o, SIP_SEC_D_QOP, p, &o->d_qop, err);
		if (is(p, "d-ver")) {
			/* d-ver = "d-ver" EQUAL LDQUOT 32LHEX RDQUOT */
			if (!p->quoted)
				return dfail(err, "d-ver must be a quoted string", p->raw);
			return sec_str(o, SIP_SEC_D_VER, p, &o->d_ver, err);
		}
		break;
	case 6:
		if (is(p, "port-c")) {
			rc = sec_num(o, SIP_SEC_PORT_C, p, 65535, &n, err);
			o->port_c = (uint16_t)n;
			return rc;
		}
		if (is(p, "port-s")) {
			rc = sec_num(o, SIP_SEC_PORT_S, p, 65535, &n, err);
			o->port_s = (uint16_t)n;
			return rc;
		}
		break;
	}
	o->n_other++;
	return 0;
}

int sip_secmech_parse(struct str v, struct sip_secmech *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	o->mech = scan_run(&s, CC_TOKEN);
	if (o->mech.len == 0)
		return dfail(err, "security mechanism name is not a token", v);
	rc = params_tail(&s, &o->params, "unexpected text after the mechanism name", err);
	if (rc)
		return rc;
	return walk_params(o->params, sec_pick, o, err);
}

/* ------------------------------------------------------------------ */
/* Event, Subscription-State, media types, token+params               */

static int event_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_event *o = ctx;

	if (is(p, "id")) {
		if (!p->value.s || p->quoted)
			return dfail(err, "Event id must be a token", p->raw);
		o->id = p->value;
	}
	return 0;
}

int sip_event_parse(struct str v, struct sip_event *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	o->package = scan_run(&s, CC_TOKEN);
	if (o->package.len == 0)
		return dfail(err, "Event package is not a token", v);
	rc = params_tail(&s, &o->params, "unexpected text after the event package", err);
	if (rc)
		return rc;
	return walk_params(o->params, event_pick, o, err);
}

static int substate_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_substate *o = ctx;
	int rc = 0;

	if (is(p, "reason")) {
		rc = token_param(p, &o->reason, err);
	} else if (is(p, "expires")) {
		rc = number_param(p, UINT32_MAX, &o->expires, err);
		o->has_expires = rc == 0;
	} else if (is(p, "retry-after")) {
		rc = number_param(p, UINT32_MAX, &o->retry_after, err);
		o->has_retry_after = rc == 0;
	}
	return rc;
}

int sip_substate_parse(struct str v, struct sip_substate *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	o->state = scan_run(&s, CC_TOKEN);
	if (o->state.len == 0)
		return dfail(err, "Subscription-State value is not a token", v);
	if (CASEEQ_LIT(o->state, "active"))
		o->state_id = SIP_SUBSTATE_ACTIVE;
	else if (CASEEQ_LIT(o->state, "pending"))
		o->state_id = SIP_SUBSTATE_PENDING;
	else if (CASEEQ_LIT(o->state, "terminated"))
		o->state_id = SIP_SUBSTATE_TERMINATED;
	rc = params_tail(&s, &o->params, "unexpected text after the subscription state", err);
	if (rc)
		return rc;
	return walk_params(o->params, substate_pick, o, err);
}

int sip_media_parse(struct str v, struct sip_media *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	o->type = scan_run(&s, CC_TOKEN);
	if (o->type.len == 0 || !scan_sep(&s, '/'))
		return dfail(err, "media type is not type/subtype", v);
	o->subtype = scan_run(&s, CC_TOKEN);
	if (o->subtype.len == 0)
		return dfail(err, "media type is not type/subtype", v);
	rc = params_tail(&s, &o->params, "unexpected text after the media type", err);
	if (rc)
		return rc;
	return walk_params(o->params, NULL, NULL, err);
}

int sip_tparams_parse(struct str v, struct sip_tparams *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	if (scan_peek(&s, '"')) {
		if (scan_quoted(&s, &o->value))
			return dfail(err, "unterminated quoted string", v);
		o->quoted = true;
	} else {
		o->value = scan_run(&s, CC_TOKEN);
		if (o->value.len == 0)
			return dfail(err, "value is neither a token nor a quoted string", v);
	}
	rc = params_tail(&s, &o->params, "unexpected text after the value", err);
	if (rc)
		return rc;
	return walk_params(o->params, NULL, NULL, err);
}

/* ------------------------------------------------------------------ */
/* Retry-After, P-Charging-Vector, Date, Warning                      */

static int retry_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_retry_after *o = ctx;
	int rc = 0;

	if (is(p, "duration")) {
		rc = number_param(p, UINT32_MAX, &o->duration, err);
		o->has_duration = rc == 0;
	}
	return rc;
}

int sip_retry_after_parse(struct str v, struct sip_retry_after *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	struct str num;
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	num = scan_run(&s, CC_DIGIT);
	rc = sip_uint_parse(num, UINT32_MAX, &o->seconds, NULL);
	if (rc == -ERANGE)
		return rfail(err, "Retry-After above 2^32-1 seconds", num);
	if (rc)
		return dfail(err, "Retry-After does not start with a number", v);
	scan_lws(&s);
	if (scan_peek(&s, '(')) {
		/* comment = LPAREN *(ctext / quoted-pair / comment) RPAREN */
		const char *start = ++s.p;
		unsigned depth = 1;
		while (!scan_done(&s) && depth) {
			if (*s.p == '\\' && s.p + 1 < s.end)
				s.p++;
			else if (*s.p == '(')
				depth++;
			else if (*s.p == ')')
				depth--;
			s.p++;
		}
		if (depth)
			return dfail(err, "unterminated comment in Retry-After", v);
		o->comment = str_make(start, (size_t)(s.p - 1 - start));
	}
	rc = params_tail(&s, &o->params, "unexpected text in Retry-After", err);
	if (rc)
		return rc;
	return walk_params(o->params, retry_pick, o, err);
}

static int pcv_pick(void *ctx, const struct sip_param *p, struct sip_error *err)
{
	struct sip_pcv *o = ctx;
#define KNOWN(name, member) { name, sizeof(name) - 1, offsetof(struct sip_pcv, member) }
	static const struct {
		const char *name;
		size_t len;
		size_t off;
	} known[] = {
		KNOWN("icid-value", icid),
		KNOWN("icid-generated-at", icid_generated_at),
		KNOWN("orig-ioi", orig_ioi),
		KNOWN("term-ioi", term_ioi),
		KNOWN("transit-ioi", transit_ioi),
		KNOWN("related-icid", related_icid),
	};
#undef KNOWN

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (lit_caseeq(p->name, known[i].name, known[i].len)) {
			struct str *slot = (struct str *)((char *)o + known[i].off);
			if (slot->s)
				return dfail(err, "P-Charging-Vector parameter appears twice",
					     p->raw);
			if (!p->value.s || p->value.len == 0)
				return dfail(err, "P-Charging-Vector parameter needs a value",
					     p->raw);
			*slot = p->value;
		}
	}
	return 0;
}

int sip_pcv_parse(struct str v, struct sip_pcv *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	struct sip_param p = { 0 };
	struct str rest = STR_NULL;
	int rc;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	o->params = v;
	/* "P-Charging-Vector" HCOLON icid-value *(SEMI charge-params) */
	p.name = scan_run(&s, CC_TOKEN);
	if (!CASEEQ_LIT(p.name, "icid-value"))
		return dfail(err, "P-Charging-Vector must start with icid-value", v);
	if (!scan_sep(&s, '='))
		return dfail(err, "icid-value needs a value", v);
	if (scan_peek(&s, '"')) {
		if (scan_quoted(&s, &p.value))
			return dfail(err, "unterminated quoted string", v);
		p.quoted = true;
	} else {
		p.value = scan_run(&s, CC_PVALUE);
	}
	if (p.value.len == 0)
		return dfail(err, "icid-value needs a value", v);
	p.raw = scan_from(&s, p.name.s);
	rc = pcv_pick(o, &p, err);
	if (rc)
		return rc;
	rc = params_tail(&s, &rest, "unexpected text after icid-value", err);
	if (rc)
		return rc;
	return walk_params(rest, pcv_pick, o, err);
}

static int two_digits(const char *p)
{
	if (!cc_is((unsigned char)p[0], CC_DIGIT) || !cc_is((unsigned char)p[1], CC_DIGIT))
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int sip_date_parse(struct str v, struct sip_date *o, struct sip_error *err)
{
	static const char *const wkdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	/* rfc1123-date = wkday "," SP date1 SP time SP "GMT" */
	/*                "Sat, 15 Oct 2005 04:44:56 GMT" */
	const char *p = v.s;
	int day, hh, mm, ss, year = 0;
	unsigned mon = 12, wk = 7;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
	    p[16] != ' ' || p[19] != ':' || p[22] != ':' || p[25] != ' ')
		return dfail(err, "Date is not \"Wkd, DD Mon YYYY HH:MM:SS GMT\"", v);
	if (memcmp(p + 26, "GMT", 3) != 0)
		return dfail(err, "Date time zone must be GMT (RFC 3261 20.17)",
			     str_make(p + 26, 3));
	for (unsigned i = 0; i < 7; i++)
		if (memcmp(p, wkdays[i], 3) == 0)
			wk = i;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(p + 8, months[i], 3) == 0)
			mon = i;
	day = two_digits(p + 5);
	hh = two_digits(p + 17);
	mm = two_digits(p + 20);
	ss = two_digits(p + 23);
	for (int i = 12; i < 16; i++) {
		if (!cc_is((unsigned char)p[i], CC_DIGIT))
			return dfail(err, "Date year is not four digits", str_make(p + 12, 4));
		year = year * 10 + (p[i] - '0');
	}
	if (wk == 7 || mon == 12 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
	    ss < 0 || ss > 60)
		return dfail(err, "Date has an invalid day, month or time", v);
	o->epoch = days_from_civil(year, mon + 1, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

int sip_warning_parse(struct str v, struct sip_warning *o, struct sip_error *err)
{
	struct scan s = scan_of(v);
	struct str code;

	memset(o, 0, sizeof(*o));
	o->raw = v;
	/* warning-value = warn-code SP warn-agent SP warn-text; warn-code = 3DIGIT */
	code = scan_run(&s, CC_DIGIT);
	if (code.len != 3)
		return dfail(err, "warn-code is not three digits", code.len ? code : v);
	o->code = (uint16_t)((code.s[0] - '0') * 100 + (code.s[1] - '0') * 10 + (code.s[2] - '0'));
	if (!scan_peek(&s, ' '))
		return dfail(err, "Warning is not: code agent \"text\"", v);
	s.p++;
	o->agent = scan_run(&s, CC_TOKEN | CC_PVALUE);
	if (o->agent.len == 0 || !scan_peek(&s, ' '))
		return dfail(err, "Warning is not: code agent \"text\"", v);
	s.p++;
	if (!scan_peek(&s, '"') || scan_quoted(&s, &o->text) || !scan_done(&s))
		return dfail(err, "warn-text is not a quoted string", scan_rest(&s));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                           */

static const uint8_t hdr_decoder[SIP_HDR__COUNT] = {
	[SIP_HDR_OTHER] = SIP_DEC_OPAQUE,
#define SIP_HDR(id, name, compact, flags, dec) [SIP_HDR_##id] = SIP_DEC_##dec,
#include "sip/headers.def"
#undef SIP_HDR
};

#define LIST SIP_HF_LIST
#define SINGLE SIP_HF_SINGLE
#define MANDATORY SIP_HF_MANDATORY
#define EMPTY SIP_HF_EMPTY
static const uint8_t hdr_flags[SIP_HDR__COUNT] = {
#define SIP_HDR(id, name, compact, flags, dec) [SIP_HDR_##id] = (flags),
#include "sip/headers.def"
#undef SIP_HDR
};
/* How many headers headers.def flags MANDATORY. */
static const unsigned n_mandatory = 0
#define SIP_HDR(id, name, compact, flags, dec) + (((flags) & SIP_HF_MANDATORY) ? 1 : 0)
#include "sip/headers.def"
#undef SIP_HDR
	;
#undef LIST
#undef SINGLE
#undef MANDATORY
#undef EMPTY

enum sip_dec sip_hdr_decoder(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? (enum sip_dec)hdr_decoder[id] : SIP_DEC_OPAQUE;
}

static int decode_value(enum sip_dec dec, struct str v, union sip_hdr_value *out,
			struct sip_error *err)
{
	switch (dec) {
	case SIP_DEC_OPAQUE:
		out->opaque = v;
		return 0;
	case SIP_DEC_VIA:
		return sip_via_parse(v, &out->via, err);
	case SIP_DEC_ADDR:
		return sip_addr_parse(v, &out->addr, err);
	case SIP_DEC_CONTACT:
		return sip_contact_parse(v, &out->contact, err);
	case SIP_DEC_CALLID:
		return sip_callid_parse(v, &out->callid, err);
	case SIP_DEC_CSEQ:
		return sip_cseq_parse(v, &out->cseq, err);
	case SIP_DEC_UINT8:
		return sip_uint_parse(v, 255, &out->number, err);
	case SIP_DEC_UINT32:
		return sip_uint_parse(v, UINT32_MAX, &out->number, err);
	case SIP_DEC_CREDENTIALS:
		return sip_auth_parse(v, false, &out->auth, err);
	case SIP_DEC_CHALLENGE:
		return sip_auth_parse(v, true, &out->auth, err);
	case SIP_DEC_AUTHINFO:
		return sip_authinfo_parse(v, &out->auth, err);
	case SIP_DEC_SECMECH:
		return sip_secmech_parse(v, &out->sec, err);
	case SIP_DEC_TOKEN:
		return sip_token_parse(v, &out->token, err);
	case SIP_DEC_TPARAMS:
		return sip_tparams_parse(v, &out->tparams, err);
	case SIP_DEC_EVENT:
		return sip_event_parse(v, &out->event, err);
	case SIP_DEC_SUBSTATE:
		return sip_substate_parse(v, &out->substate, err);
	case SIP_DEC_MEDIA:
		return sip_media_parse(v, &out->media, err);
	case SIP_DEC_RETRY_AFTER:
		return sip_retry_after_parse(v, &out->retry_after, err);
	case SIP_DEC_PCV:
		return sip_pcv_parse(v, &out->pcv, err);
	case SIP_DEC_DATE:
		return sip_date_parse(v, &out->date, err);
	case SIP_DEC_WARNING:
		return sip_warning_parse(v, &out->warning, err);
	case SIP_DEC__COUNT:
		break;
	}
	return dfail(err, "no decoder", v);
}

static void blame(struct sip_error *err, const struct sip_hdr *h)
{
	if (err) {
		err->hdr = h->id;
		err->name = h->name;
		err->line = h->line;
		err->status = 400;
	}
}

int sip_hdr_decode(const struct sip_hdr *h, union sip_hdr_value *out, struct sip_error *err)
{
	int rc;

	if (h->value.len == 0 && h->id < SIP_HDR__COUNT && (hdr_flags[h->id] & SIP_HF_EMPTY)) {
		memset(out, 0, sizeof(*out));
		out->opaque = h->value;
		return 0;
	}
	rc = decode_value(h->id < SIP_HDR__COUNT ? (enum sip_dec)hdr_decoder[h->id]
						 : SIP_DEC_OPAQUE,
			  h->value, out, err);
	if (rc)
		blame(err, h);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The cache of a message                                             */

enum cache_slot {
	SLOT_VIA,
	SLOT_FROM,
	SLOT_TO,
	SLOT_CSEQ,
	SLOT_CALL_ID,
	SLOT_RURI,
	SLOT_MAX_FORWARDS,
	SLOT_EXPIRES,
};

/*
 * Decode header `id` into `dst` once. A failure is remembered; a later
 * call decodes again into scratch space only to report the same error.
 */
static int cached(struct sip_msg *m, enum cache_slot slot, enum sip_hdr_id id, void *dst,
		  size_t size, struct sip_error *err)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	union sip_hdr_value v;
	int rc;

	if (m->cache_done & (1u << slot)) {
		if (!(m->cache_fail & (1u << slot)))
			return 0;
		if (!h)
			return -ENOENT;
		return sip_hdr_decode(h, &v, err);
	}
	m->cache_done |= 1u << slot;
	if (!h) {
		m->cache_fail |= 1u << slot;
		return -ENOENT;
	}
	rc = sip_hdr_decode(h, &v, err);
	if (rc) {
		m->cache_fail |= 1u << slot;
		return rc;
	}
	memcpy(dst, &v, size);
	return 0;
}

int sip_msg_via(struct sip_msg *m, const struct sip_via **out, struct sip_error *err)
{
	int rc = cached(m, SLOT_VIA, SIP_HDR_VIA, &m->cache.via, sizeof(m->cache.via), err);

	*out = rc ? NULL : &m->cache.via;
	return rc;
}

int sip_msg_from(struct sip_msg *m, const struct sip_addr **out, struct sip_error *err)
{
	int rc = cached(m, SLOT_FROM, SIP_HDR_FROM, &m->cache.from, sizeof(m->cache.from), err);

	*out = rc ? NULL : &m->cache.from;
	return rc;
}

int sip_msg_to(struct sip_msg *m, const struct sip_addr **out, struct sip_error *err)
{
	int rc = cached(m, SLOT_TO, SIP_HDR_TO, &m->cache.to, sizeof(m->cache.to), err);

	*out = rc ? NULL : &m->cache.to;
	return rc;
}

int sip_msg_cseq(struct sip_msg *m, const struct sip_cseq **out, struct sip_error *err)
{
	int rc = cached(m, SLOT_CSEQ, SIP_HDR_CSEQ, &m->cache.cseq, sizeof(m->cache.cseq), err);

	*out = rc ? NULL : &m->cache.cseq;
	return rc;
}

int sip_msg_call_id(struct sip_msg *m, struct str *out, struct sip_error *err)
{
	int rc = cached(m, SLOT_CALL_ID, SIP_HDR_CALL_ID, &m->cache.call_id,
			sizeof(m->cache.call_id), err);

	*out = rc ? STR_NULL : m->cache.call_id;
	return rc;
}

int sip_msg_max_forwards(struct sip_msg *m, uint32_t *out, struct sip_error *err)
{
	int rc = cached(m, SLOT_MAX_FORWARDS, SIP_HDR_MAX_FORWARDS, &m->cache.max_forwards,
			sizeof(m->cache.max_forwards), err);

	if (rc == 0)
		*out = m->cache.max_forwards;
	return rc;
}

int sip_msg_expires(struct sip_msg *m, uint32_t *out, struct sip_error *err)
{
	int rc = cached(m, SLOT_EXPIRES, SIP_HDR_EXPIRES, &m->cache.expires,
			sizeof(m->cache.expires), err);

	if (rc == 0)
		*out = m->cache.expires;
	return rc;
}

int sip_msg_ruri(struct sip_msg *m, const struct sip_uri **out, struct sip_error *err)
{
	const uint32_t bit = 1u << SLOT_RURI;
	int rc = 0;

	*out = NULL;
	if (m->kind != SIP_MSG_REQUEST)
		return -ENOENT;
	if (!(m->cache_done & bit)) {
		m->cache_done |= bit;
		if (sip_uri_parse(m->ruri, &m->cache.ruri, NULL))
			m->cache_fail |= bit;
	}
	if (m->cache_fail & bit) {
		struct sip_uri scratch;
		rc = sip_uri_parse(m->ruri, &scratch, err);
		if (err) {
			err->line = 1;
			err->status = 400;
		}
		return rc;
	}
	*out = &m->cache.ruri;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lists                                                              */

static int collect(const struct sip_msg *m, enum sip_hdr_id id, enum sip_dec dec, void *out,
		   size_t size, unsigned cap, unsigned *n, struct sip_error *err)
{
	union sip_hdr_value v;
	unsigned i = 0;
	int rc;

	*n = 0;
	if (sip_hdr_decoder(id) != dec)
		return -EINVAL;
	sip_msg_foreach(m, id, h) {
		rc = sip_hdr_decode(h, &v, err);
		if (rc)
			return rc;
		if (i < cap)
			memcpy((char *)out + (size_t)i * size, &v, size);
		i++;
	}
	*n = i;
	return i > cap ? -ENOSPC : 0;
}

int sip_msg_addrs(const struct sip_msg *m, enum sip_hdr_id id, struct sip_addr *out,
		  unsigned cap, unsigned *n, struct sip_error *err)
{
	return collect(m, id, SIP_DEC_ADDR, out, sizeof(*out), cap, n, err);
}

int sip_msg_contacts(const struct sip_msg *m, struct sip_contact *out, unsigned cap,
		     unsigned *n, struct sip_error *err)
{
	return collect(m, SIP_HDR_CONTACT, SIP_DEC_CONTACT, out, sizeof(*out), cap, n, err);
}

int sip_msg_secmechs(const struct sip_msg *m, enum sip_hdr_id id, struct sip_secmech *out,
		     unsigned cap, unsigned *n, struct sip_error *err)
{
	return collect(m, id, SIP_DEC_SECMECH, out, sizeof(*out), cap, n, err);
}

/* ------------------------------------------------------------------ */
/* Full validation                                                    */

static int check_uri(const struct sip_hdr *h, struct str uri, struct sip_error *err)
{
	struct sip_uri u;
	int rc = sip_uri_parse(uri, &u, err);

	if (rc)
		blame(err, h);
	return rc;
}

static int check_entry(const struct sip_hdr *h, struct sip_error *err)
{
	union sip_hdr_value v;
	int rc = sip_hdr_decode(h, &v, err);

	if (rc || h->value.len == 0)
		return rc;
	switch (hdr_decoder[h->id]) {
	case SIP_DEC_ADDR:
		return check_uri(h, v.addr.uri, err);
	case SIP_DEC_CONTACT:
		return v.contact.star ? 0 : check_uri(h, v.contact.addr.uri, err);
	default:
		return 0;
	}
}

int sip_msg_check(struct sip_msg *m, struct sip_error *err)
{
	const struct sip_uri *ruri;
	const struct sip_cseq *cseq;
	unsigned id, mandatory_seen = 0;
	int rc;

	if (m->kind == SIP_MSG_PING || m->kind == SIP_MSG_PONG)
		return 0;
	if (m->kind != SIP_MSG_REQUEST && m->kind != SIP_MSG_RESPONSE)
		return sip_fail(err, -EINVAL, "no parsed message", STR_NULL);
	if (m->kind == SIP_MSG_REQUEST) {
		rc = sip_msg_ruri(m, &ruri, err);
		if (rc)
			return rc;
		/* RFC 3261 19.1.1 table 1: headers are not allowed in a Request-URI */
		if ((ruri->scheme == SIP_URI_SIP || ruri->scheme == SIP_URI_SIPS) &&
		    ruri->has_headers) {
			sip_fail(err, -EBADMSG,
				 "Request-URI must not carry headers (RFC 3261 19.1.1)",
				 ruri->headers);
			if (err)
				err->line = 1;
			return -EBADMSG;
		}
	}
	for (unsigned i = 0; i < m->n_hdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		unsigned flags = hdr_flags[h->id];
		rc = check_entry(h, err);
		if (rc)
			return rc;
		if (m->first[h->id] == i) {
			mandatory_seen += (flags & SIP_HF_MANDATORY) != 0;
		} else if (flags & SIP_HF_SINGLE) {
			/* a single-valued header seen before: report the repeat */
			sip_fail(err, -EBADMSG, "header allowed only once appears more than once",
				 h->raw);
			blame(err, h);
			return -EBADMSG;
		}
	}
	/* name the first missing one, in headers.def order */
	for (id = 1; mandatory_seen < n_mandatory && id < SIP_HDR__COUNT; id++) {
		if ((hdr_flags[id] & SIP_HF_MANDATORY) && m->first[id] == SIP_HDR_END) {
			sip_fail(err, -ENOENT, "mandatory header missing", STR_NULL);
			if (err) {
				err->hdr = (int)id;
				err->name = str_from_cstr(sip_hdr_name(id));
			}
			return -ENOENT;
		}
	}
	if (m->kind == SIP_MSG_REQUEST) {
		rc = sip_msg_cseq(m, &cseq, err);
		if (rc)
			return rc;
		/* RFC 3261 8.1.1.5; RFC 4475 3.1.2.17, 3.1.2.18 */
		if (!str_eq(cseq->method, m->method_name)) {
			const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CSEQ);
			sip_fail(err, -EBADMSG, "CSeq method differs from the request method",
				 h->value);
			blame(err, h);
			return -EBADMSG;
		}
	}
	return 0;
}
