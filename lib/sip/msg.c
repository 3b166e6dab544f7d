/*
 * msg.c - framing, start line and header splitting (RFC 3261 7, 18.3).
 */
#include "sip/msg.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sip/scan.h"

const struct sip_limits sip_limits_default = {
	.max_msg = 65535,
	.max_line = 8192,
	.max_hdrs = SIP_MSG_INLINE_HDRS,
};

/* ------------------------------------------------------------------ */
/* Tables generated from the .def lists                               */

#define LIST SIP_HF_LIST
#define SINGLE SIP_HF_SINGLE
#define MANDATORY SIP_HF_MANDATORY
#define EMPTY SIP_HF_EMPTY

static const struct {
	const char *name;
	uint8_t name_len;
	char compact;
	uint8_t flags;
} hdr_table[SIP_HDR__COUNT] = {
	[SIP_HDR_OTHER] = { "", 0, 0, 0 },
#define SIP_HDR(id, name, compact, flags, dec) \
	[SIP_HDR_##id] = { name, sizeof(name) - 1, compact, (flags) },
#include "sip/headers.def"
#undef SIP_HDR
};

#undef LIST
#undef SINGLE
#undef MANDATORY
#undef EMPTY

static const struct {
	const char *name;
	uint8_t len;
} method_table[SIP_METHOD__COUNT] = {
	[SIP_METHOD_OTHER] = { "", 0 },
#define SIP_METHOD(id, name) [SIP_METHOD_##id] = { name, sizeof(name) - 1 },
#include "sip/methods.def"
#undef SIP_METHOD
};

/*
 * Name lookup: an open-addressing hash of the lower-cased full names, and
 * a direct table for compact forms. Built once at load time.
 */
#define NAME_HASH_SIZE 512
static uint8_t name_hash[NAME_HASH_SIZE]; /* header id, 0 = free slot */
static uint8_t compact_ids[128];
/* canonical names with bit 5 set in every byte, 8-byte padded, for name_eq() */
static char canon_lc[SIP_HDR__COUNT][40];
#define SIP_HDR(id, name, compact, flags, dec) \
	_Static_assert(sizeof(name) <= sizeof(canon_lc[0]), "header name too long: " name);
#include "sip/headers.def"
#undef SIP_HDR

_Static_assert(SIP_HDR__COUNT < 256, "header ids must fit the lookup tables");
_Static_assert(SIP_HDR__COUNT * 2 < NAME_HASH_SIZE, "name hash too full");

/*
 * Compare a header name as written (token bytes only, checked by the
 * parser) with a canonical one. Among token bytes, setting bit 5 folds
 * case and maps no two different bytes together ('_' becomes DEL, which is
 * no token byte), so one OR per byte, eight bytes at a time, is an exact
 * case-insensitive compare.
 */
static inline bool name_eq(const char *in, const char *canon, size_t len)
{
	const uint64_t fold = 0x2020202020202020ULL;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t a, b;
		memcpy(&a, in + i, 8);
		memcpy(&b, canon + i, 8);
		if ((a | fold) != b)
			return false;
	}
	for (; i < len; i++)
		if (((unsigned char)in[i] | 0x20) != (unsigned char)canon[i])
			return false;
	return true;
}

/*
 * The hash of a header name looks at its length and its first and last
 * bytes only (bit 5 set, so case does not matter): cheap enough for the
 * parser, and the table is sparse enough that probing is short. Every
 * candidate is compared in full anyway.
 */
static inline unsigned name_hash_of(const char *s, size_t len)
{
	unsigned first = (unsigned char)s[0] | 0x20, last = (unsigned char)s[len - 1] | 0x20;

	return ((unsigned)len * 97 + first * 31 + last * 7) & (NAME_HASH_SIZE - 1);
}

__attribute__((constructor)) static void hdr_tables_init(void)
{
	for (unsigned id = 1; id < SIP_HDR__COUNT; id++) {
		unsigned h = name_hash_of(hdr_table[id].name, hdr_table[id].name_len);
		for (unsigned i = 0; i < hdr_table[id].name_len; i++)
			canon_lc[id][i] = (char)(hdr_table[id].name[i] | 0x20);
		while (name_hash[h])
			h = (h + 1) & (NAME_HASH_SIZE - 1);
		name_hash[h] = (uint8_t)id;
		if (hdr_table[id].compact) {
			unsigned char c = (unsigned char)hdr_table[id].compact;
			compact_ids[c | 0x20] = (uint8_t)id;
			compact_ids[c & ~0x20u] = (uint8_t)id;
		}
	}
}

const char *sip_hdr_name(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? hdr_table[id].name : "";
}

char sip_hdr_compact(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? hdr_table[id].compact : 0;
}

unsigned sip_hdr_flags(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? hdr_table[id].flags : 0;
}

static inline __attribute__((always_inline)) enum sip_hdr_id
lookup_hashed(struct str name, unsigned h)
{
	if (name.len == 1)
		return (unsigned char)name.s[0] < 128 ? compact_ids[(unsigned char)name.s[0]] : 0;
	if (name.len == 0 || name.len > 255)
		return SIP_HDR_OTHER;
	while (name_hash[h]) {
		unsigned id = name_hash[h];
		/* most senders write the canonical case: try the plain compare first */
		if (hdr_table[id].name_len == name.len && name_eq(name.s, canon_lc[id], name.len))
			return (enum sip_hdr_id)id;
		h = (h + 1) & (NAME_HASH_SIZE - 1);
	}
	return SIP_HDR_OTHER;
}

enum sip_hdr_id sip_hdr_lookup(struct str name)
{
	/* name_eq() is exact only among token bytes */
	if (name.len == 0)
		return SIP_HDR_OTHER;
	for (size_t i = 0; i < name.len; i++)
		if (!cc_is((unsigned char)name.s[i], CC_TOKEN))
			return SIP_HDR_OTHER;
	return lookup_hashed(name, name_hash_of(name.s, name.len));
}

const char *sip_method_name(enum sip_method m)
{
	return (unsigned)m < SIP_METHOD__COUNT ? method_table[m].name : "";
}

enum sip_method sip_method_lookup(struct str name)
{
	for (unsigned i = 1; i < SIP_METHOD__COUNT; i++)
		if (method_table[i].len == name.len &&
		    memcmp(method_table[i].name, name.s, name.len) == 0)
			return (enum sip_method)i;
	return SIP_METHOD_OTHER;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                            */

void sip_msg_init(struct sip_msg *m)
{
	sip_msg_init_hdrs(m, m->inline_hdrs, SIP_MSG_INLINE_HDRS);
}

void sip_msg_init_hdrs(struct sip_msg *m, struct sip_hdr *hdrs, uint16_t cap)
{
	m->hdrs = hdrs;
	m->cap_hdrs = cap < SIP_HDR_END ? cap : SIP_HDR_END - 1;
	m->n_hdrs = 0;
	m->kind = SIP_MSG_NONE;
}

uint32_t sip_msg_line_of(const struct sip_msg *m, const char *p)
{
	uint32_t line = 1;

	if (!p || p < m->buf.s || p > m->buf.s + m->buf.len)
		return 0;
	for (const char *q = m->buf.s; q < p; q++)
		if (*q == '\n')
			line++;
	return line;
}

/* State of one sip_parse() call. */
struct parser {
	struct sip_msg *m;
	const char *buf;
	const char *end;   /* end of the data we may look at */
	bool truncated;    /* `end` was cut by max_msg: more data would not help */
	bool stream;
	const struct sip_limits *lim;
	struct sip_error *err;
	uint16_t last[SIP_HDR__COUNT];
	uint16_t max_hdrs;
};

static int fail_at(struct parser *ps, int code, uint16_t status, const char *reason,
		   struct str where, uint32_t line, int hdr, struct str name)
{
	sip_fail(ps->err, code, reason, where);
	if (ps->err) {
		ps->err->status = status;
		ps->err->line = line;
		ps->err->hdr = hdr;
		ps->err->name = name;
	}
	return code;
}

static int fail_line(struct parser *ps, const char *reason, struct str where, uint32_t line)
{
	return fail_at(ps, -EBADMSG, 400, reason, where, line, -1, STR_NULL);
}

/* Out of data: a stream waits for more, a datagram (or a full buffer) fails. */
static int need_more(struct parser *ps, const char *reason, struct str where, uint32_t line)
{
	if (ps->truncated)
		return fail_at(ps, -EMSGSIZE, 513, "message larger than the maximum size", where,
			       line, -1, STR_NULL);
	if (ps->stream)
		return SIP_INCOMPLETE;
	return fail_line(ps, reason, where, line);
}

static bool is_sip_version(struct str v)
{
	return CASEEQ_LIT(v, "sip/2.0");
}

/* "SIP/" 1*DIGIT "." 1*DIGIT, any version (RFC 3261 7.1) */
static bool is_any_version(struct str v)
{
	size_t i = 4, d1 = 0, d2 = 0;

	if (v.len < 7 || !CASEEQ_LIT(str_sub(v, 0, 4), "sip/"))
		return false;
	while (i < v.len && cc_is((unsigned char)v.s[i], CC_DIGIT))
		i++, d1++;
	if (i == v.len || v.s[i] != '.')
		return false;
	for (i++; i < v.len && cc_is((unsigned char)v.s[i], CC_DIGIT); i++)
		d2++;
	return d1 && d2 && i == v.len;
}

static int bad_version(struct parser *ps, struct str v)
{
	if (is_any_version(v))
		return fail_at(ps, -EPROTONOSUPPORT, 505,
			       "SIP version not supported (only SIP/2.0)", v, 1, -1, STR_NULL);
	return fail_line(ps, "malformed SIP-Version", v, 1);
}

/*
 * Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 7.1):
 * exactly one SP between the elements, no whitespace inside the URI
 * (RFC 4475 3.1.2.8-3.1.2.10 are rejected, not repaired).
 */
static int parse_request_line(struct parser *ps, struct str line)
{
	struct sip_msg *m = ps->m;
	const char *sp1 = memchr(line.s, ' ', line.len);
	const char *sp2;
	struct str uri;

	if (!sp1 || sp1 == line.s)
		return fail_line(ps, "start line is neither a request line nor a status line", line,
				 1);
	m->method_name = str_make(line.s, (size_t)(sp1 - line.s));
	for (size_t i = 0; i < m->method_name.len; i++)
		if (!cc_is((unsigned char)m->method_name.s[i], CC_TOKEN))
			return fail_line(ps, "invalid character in the method", m->method_name, 1);
	if (line.s[line.len - 1] == ' ' || line.s[line.len - 1] == '\t')
		return fail_line(ps, "whitespace at the end of the request line", line, 1);
	sp2 = line.s + line.len;
	while (sp2 > sp1 && sp2[-1] != ' ')
		sp2--;
	if (sp2 - 1 == sp1)
		return fail_line(ps, "request line without SIP-Version (RFC 3261 7.1)", line, 1);
	m->version = str_make(sp2, (size_t)(line.s + line.len - sp2));
	uri = str_make(sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
	if (uri.len == 0 || uri.s[0] == ' ')
		return fail_line(ps, "more than one SP between method and Request-URI", line, 1);
	if (uri.s[uri.len - 1] == ' ')
		return fail_line(ps, "more than one SP between Request-URI and SIP-Version", line,
				 1);
	for (size_t i = 0; i < uri.len; i++) {
		unsigned char c = (unsigned char)uri.s[i];
		if (c == ' ' || c == '\t')
			return fail_line(ps, "whitespace inside the Request-URI", uri, 1);
		if (c < 0x21 || c > 0x7e)
			return fail_line(ps, "control or non-ASCII byte in the Request-URI", uri,
					 1);
	}
	/* absoluteURI = scheme ":" ...; a "<" here is RFC 4475 3.1.2.7 */
	{
		size_t i = 0;
		if (!cc_is((unsigned char)uri.s[0], CC_ALPHA))
			return fail_line(ps,
					 "Request-URI does not start with a scheme (no <> allowed)",
					 uri, 1);
		while (i < uri.len && cc_is((unsigned char)uri.s[i], CC_SCHEME))
			i++;
		if (i == uri.len || uri.s[i] != ':')
			return fail_line(ps, "Request-URI without a scheme", uri, 1);
	}
	if (!is_sip_version(m->version))
		return bad_version(ps, m->version);
	m->ruri = uri;
	m->method = sip_method_lookup(m->method_name);
	m->kind = SIP_MSG_REQUEST;
	return 0;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF */
static int parse_status_line(struct parser *ps, struct str line)
{
	struct sip_msg *m = ps->m;
	const char *sp1 = memchr(line.s, ' ', line.len);
	struct str code;
	size_t rest;

	if (!sp1)
		return fail_line(ps, "status line without a status code", line, 1);
	m->version = str_make(line.s, (size_t)(sp1 - line.s));
	if (!is_sip_version(m->version))
		return bad_version(ps, m->version);
	rest = (size_t)(line.s + line.len - (sp1 + 1));
	code = str_make(sp1 + 1, rest);
	{
		const char *sp2 = memchr(code.s, ' ', code.len);
		if (!sp2)
			return fail_line(ps, "status line without the SP before the reason phrase",
					 line, 1);
		code.len = (size_t)(sp2 - code.s);
		m->reason = str_make(sp2 + 1, (size_t)(line.s + line.len - (sp2 + 1)));
	}
	/* Status-Code = 3DIGIT, 100-699 (RFC 3261 7.2, 21; RFC 4475 3.1.2.19) */
	if (code.len != 3 || !cc_is((unsigned char)code.s[0], CC_DIGIT) ||
	    !cc_is((unsigned char)code.s[1], CC_DIGIT) ||
	    !cc_is((unsigned char)code.s[2], CC_DIGIT))
		return fail_line(ps, "status code is not three digits", code, 1);
	m->status =
		(uint16_t)((code.s[0] - '0') * 100 + (code.s[1] - '0') * 10 + (code.s[2] - '0'));
	if (m->status < 100 || m->status > 699)
		return fail_line(ps, "status code outside 100-699", code, 1);
	for (size_t i = 0; i < m->reason.len; i++) {
		unsigned char c = (unsigned char)m->reason.s[i];
		if (c < 0x20 && c != '\t')
			return fail_line(ps, "control character in the reason phrase", m->reason,
					 1);
	}
	m->kind = SIP_MSG_RESPONSE;
	return 0;
}

static inline __attribute__((always_inline)) int
add_entry(struct parser *ps, uint16_t id, struct str name, struct str value, struct str raw,
	  uint32_t line)
{
	struct sip_msg *m = ps->m;
	struct sip_hdr *h;
	uint16_t idx = m->n_hdrs;

	if (idx >= ps->max_hdrs)
		return fail_at(ps, -EMSGSIZE, 513, "more header values than the limit", raw, line,
			       id, name);
	h = &m->hdrs[idx];
	h->name = name;
	h->value = value;
	h->raw = raw;
	h->id = id;
	h->field = m->n_fields;
	h->next = SIP_HDR_END;
	h->line = line > UINT16_MAX ? UINT16_MAX : (uint16_t)line;
	if (m->first[id] == SIP_HDR_END)
		m->first[id] = idx;
	else
		m->hdrs[ps->last[id]].next = idx;
	ps->last[id] = idx;
	m->n_hdrs++;
	return 0;
}

static struct str trim_lws(struct str v)
{
	while (v.len && cc_is((unsigned char)v.s[0], CC_LWS))
		v.s++, v.len--;
	while (v.len && cc_is((unsigned char)v.s[v.len - 1], CC_LWS))
		v.len--;
	return v;
}

#if defined(__SSE2__)
/*
 * Skip bytes that cannot end or nest a list element, sixteen at a time
 * while none of them is one of , " < > (SSE2 is part of x86-64).
 */
static inline const char *skip_plain(const char *p, const char *end)
{
	const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
	const __m128i lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>');

	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i hit = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(x, comma), _mm_cmpeq_epi8(x, quote)),
			_mm_or_si128(_mm_cmpeq_epi8(x, lt), _mm_cmpeq_epi8(x, gt)));
		int bits = _mm_movemask_epi8(hit);
		if (bits)
			return p + __builtin_ctz((unsigned)bits);
		p += 16;
	}
	while (p < end && !cc_is((unsigned char)*p, CC_SPLIT))
		p++;
	return p;
}
#else
static inline uint64_t has_byte(uint64_t x, uint8_t c)
{
	uint64_t y = x ^ (0x0101010101010101ULL * c);

	return (y - 0x0101010101010101ULL) & ~y & 0x8080808080808080ULL;
}

/*
 * Skip bytes that cannot end or nest a list element, eight at a time
 * while none of them is one of , " < > (exact: the zero-byte test has no
 * false negatives, and a false positive only drops to the byte loop).
 */
static inline const char *skip_plain(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t x;
		memcpy(&x, p, 8);
		if (has_byte(x, ',') | has_byte(x, '"') | has_byte(x, '<') | has_byte(x, '>'))
			break;
		p += 8;
	}
	while (p < end && !cc_is((unsigned char)*p, CC_SPLIT))
		p++;
	return p;
}
#endif

/*
 * Split a list header's value at the commas that are outside quoted
 * strings and <...> (RFC 3261 7.3.1: the comma-joined form is equivalent
 * to several fields).
 */
static int split_list(struct parser *ps, uint16_t id, struct str name, struct str value,
		      struct str raw, uint32_t line)
{
	const char *p = value.s, *end = value.s + value.len, *start = p;
	bool angle = false;
	int rc;

	if (value.len == 0) {
		if (!(hdr_table[id].flags & SIP_HF_EMPTY))
			return fail_at(ps, -EBADMSG, 400, "empty header value", raw, line, id,
				       name);
		return add_entry(ps, id, name, value, raw, line);
	}
	for (;; p++) {
		p = skip_plain(p, end);
		if (p == end || (*p == ',' && !angle)) {
			struct str elem = trim_lws(str_make(start, (size_t)(p - start)));
			if (elem.len == 0)
				return fail_at(ps, -EBADMSG, 400,
					       "empty element in a comma-separated list", raw, line,
					       id, name);
			rc = add_entry(ps, id, name, elem, raw, line);
			if (rc)
				return rc;
			if (p == end)
				break;
			start = p + 1;
		} else if (*p == '"') {
			struct scan s = { p, end };
			struct str q;
			if (scan_quoted(&s, &q))
				return fail_at(ps, -EBADMSG, 400, "unterminated quoted string",
					       value, line, id, name);
			p = s.p - 1;
		} else if (*p == '<') {
			if (angle)
				return fail_at(ps, -EBADMSG, 400, "'<' inside <...>", value, line,
					       id, name);
			angle = true;
		} else if (*p == '>') {
			angle = false;
		}
	}
	if (angle)
		return fail_at(ps, -EBADMSG, 400, "'<' without its '>'", value, line, id, name);
	return 0;
}

static int content_length(struct parser *ps, struct str name, struct str value, struct str raw,
			  uint32_t line)
{
	struct sip_msg *m = ps->m;
	uint32_t n;
	int rc;

	/* Two of them make framing ambiguous (RFC 4475 3.3.9). */
	if (m->has_content_length)
		return fail_at(ps, -EBADMSG, 400, "more than one Content-Length", raw, line,
			       SIP_HDR_CONTENT_LENGTH, name);
	rc = scan_number(value, UINT32_MAX, &n);
	if (rc == -ERANGE)
		return fail_at(ps, -EBADMSG, 400, "Content-Length too large", value, line,
			       SIP_HDR_CONTENT_LENGTH, name);
	if (rc)
		return fail_at(ps, -EBADMSG, 400, "Content-Length is not a non-negative integer",
			       value, line, SIP_HDR_CONTENT_LENGTH, name);
	m->has_content_length = true;
	m->content_length = n;
	return 0;
}

/*
 * One header field starting at `p`. `*next` receives the start of the next
 * line. The field ends at a CRLF not followed by SP or HT.
 */
static int parse_field(struct parser *ps, const char *p, const char **next, uint32_t *line)
{
	const char *start = p, *eol, *colon;
	uint32_t first_line = *line;
	struct str name, value, raw;
	uint16_t id;
	int rc;

	p = span_cls(p, ps->end, CC_TOKEN);
	name = str_make(start, (size_t)(p - start));
	colon = p;
	while (colon < ps->end && (*colon == ' ' || *colon == '\t'))
		colon++;
	if (colon >= ps->end)
		return need_more(ps, "header section not terminated by an empty line",
				 str_make(start, (size_t)(ps->end - start)), first_line);

	/* Find the CRLF that ends the field, past any continuation lines. */
	eol = colon;
	for (;;) {
		eol = memchr(eol, '\n', (size_t)(ps->end - eol));
		if (!eol || eol + 1 >= ps->end) {
			struct str part = str_make(start, (size_t)(ps->end - start));
			if ((size_t)(ps->end - start) > ps->lim->max_line)
				return fail_at(ps, -EMSGSIZE, 400,
					       "header field longer than the limit",
					       str_sub(part, 0, 80), first_line, -1, STR_NULL);
			return need_more(ps, "header section not terminated by an empty line", part,
					 first_line);
		}
		if (eol[-1] != '\r')
			return fail_line(ps, "line ends in LF without CR (SIP needs CRLF)",
					 str_make(start, (size_t)(eol - start)), *line);
		if (eol[1] != ' ' && eol[1] != '\t')
			break;
		(*line)++;
		eol++;
	}
	raw = str_make(start, (size_t)(eol + 1 - start));
	if (raw.len > ps->lim->max_line)
		return fail_at(ps, -EMSGSIZE, 400, "header field longer than the limit",
			       str_sub(raw, 0, 80), first_line, -1, STR_NULL);
	if (name.len == 0)
		return fail_line(ps, *colon == ':' ? "header line with an empty name"
						   : "invalid character in a header name",
				 str_make(start, (size_t)(eol - 1 - start)), first_line);
	if (*colon != ':')
		return fail_line(ps, "header line without a colon",
				 str_make(start, (size_t)(eol - 1 - start)), first_line);
	value = trim_lws(str_make(colon + 1, (size_t)(eol - 1 - (colon + 1))));
	id = (uint16_t)lookup_hashed(name, name_hash_of(name.s, name.len));
	(*line)++;
	*next = eol + 1;

	if (id == SIP_HDR_CONTENT_LENGTH) {
		rc = content_length(ps, name, value, raw, first_line);
		if (rc)
			return rc;
	}
	if (hdr_table[id].flags & SIP_HF_LIST)
		rc = split_list(ps, id, name, value, raw, first_line);
	else
		rc = add_entry(ps, id, name, value, raw, first_line);
	if (rc == 0)
		ps->m->n_fields++;
	return rc;
}

/* CRLF keepalives (RFC 5626 3.5.1) where a start line could begin. */
static int keepalive(struct parser *ps, size_t len)
{
	struct sip_msg *m = ps->m;
	const char *b = ps->buf;

	if (len >= 4 && memcmp(b, "\r\n\r\n", 4) == 0 && (ps->stream || len == 4)) {
		m->kind = SIP_MSG_PING;
		m->buf = str_make(b, 4);
		return 4;
	}
	if (len >= 2 && b[0] == '\r' && b[1] == '\n') {
		if (!ps->stream) {
			if (len == 2) {
				m->kind = SIP_MSG_PONG;
				m->buf = str_make(b, 2);
				return 2;
			}
			return fail_line(ps, "datagram starts with an empty line",
					 str_sub(str_make(b, len), 0, 4), 1);
		}
		if (len == 3 && b[2] == '\r')
			return SIP_INCOMPLETE;
		m->kind = SIP_MSG_PONG;
		m->buf = str_make(b, 2);
		return 2;
	}
	if (len == 1 && b[0] == '\r' && ps->stream)
		return SIP_INCOMPLETE;
	return fail_line(ps, "stray CR or LF before the start line", str_make(b, 1), 1);
}

int sip_parse(struct sip_msg *m, const char *buf, size_t len, enum sip_framing framing,
	      const struct sip_limits *lim, struct sip_error *err)
{
	struct parser ps = {
		.m = m,
		.buf = buf,
		.stream = framing == SIP_FRAME_STREAM,
		.lim = lim ? lim : &sip_limits_default,
		.err = err,
	};
	const char *p, *eol;
	uint32_t line = 1;
	size_t head_len, total;
	int rc;

	m->kind = SIP_MSG_NONE;
	m->n_hdrs = 0;
	m->n_fields = 0;
	m->has_content_length = false;
	m->content_length = 0;
	m->cache_done = m->cache_fail = 0;
	m->method = SIP_METHOD_OTHER;
	m->method_name = m->ruri = m->reason = m->body = m->headers = STR_NULL;
	m->status = 0;
	memset(m->first, 0xff, sizeof(m->first));
	ps.max_hdrs = ps.lim->max_hdrs < m->cap_hdrs ? ps.lim->max_hdrs : m->cap_hdrs;

	if (len == 0) {
		rc = ps.stream ? SIP_INCOMPLETE : fail_line(&ps, "empty datagram", STR_NULL, 0);
		goto out;
	}
	if (buf[0] == '\r' || buf[0] == '\n') {
		rc = keepalive(&ps, len);
		goto out;
	}
	ps.truncated = len > ps.lim->max_msg;
	ps.end = buf + (ps.truncated ? ps.lim->max_msg : len);
	m->buf = str_make(buf, (size_t)(ps.end - buf));

	/* start line */
	{
		size_t look = (size_t)(ps.end - buf);
		if (look > (size_t)ps.lim->max_line + 2)
			look = (size_t)ps.lim->max_line + 2;
		eol = memchr(buf, '\n', look);
		if (!eol) {
			if (look == (size_t)ps.lim->max_line + 2) {
				rc = fail_at(&ps, -EMSGSIZE, 400,
					     "start line longer than the limit",
					     str_sub(str_make(buf, look), 0, 80), 1, -1, STR_NULL);
				goto out;
			}
			rc = need_more(&ps, "start line not terminated by CRLF",
				       str_make(buf, look), 1);
			goto out;
		}
		if (eol == buf || eol[-1] != '\r') {
			rc = fail_line(&ps, "line ends in LF without CR (SIP needs CRLF)",
				       str_make(buf, (size_t)(eol - buf)), 1);
			goto out;
		}
		m->start_line = str_make(buf, (size_t)(eol - 1 - buf));
		if (m->start_line.len == 0) {
			rc = fail_line(&ps, "empty start line", m->start_line, 1);
			goto out;
		}
		if (m->start_line.len >= 4 && memcmp(buf, "SIP/", 4) == 0)
			rc = parse_status_line(&ps, m->start_line);
		else
			rc = parse_request_line(&ps, m->start_line);
		if (rc)
			goto out;
		p = eol + 1;
		line = 2;
	}

	/* header fields, up to the empty line */
	m->headers.s = p;
	for (;;) {
		if (p >= ps.end) {
			rc = need_more(&ps, "header section not terminated by an empty line",
				       str_make(buf, (size_t)(p - buf)), line);
			goto out;
		}
		if (*p == '\r') {
			if (p + 1 >= ps.end) {
				rc = need_more(&ps,
					       "header section not terminated by an empty line",
					       str_make(p, 1), line);
				goto out;
			}
			if (p[1] != '\n') {
				rc = fail_line(&ps, "bare CR at the start of a line",
					       str_make(p, 2), line);
				goto out;
			}
			p += 2;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			rc = fail_line(&ps, "continuation line without a header field before it",
				       str_make(p, 1), line);
			goto out;
		}
		rc = parse_field(&ps, p, &p, &line);
		if (rc)
			goto out;
	}
	m->headers.len = (size_t)(p - m->headers.s);
	head_len = (size_t)(p - buf);

	/* body (RFC 3261 18.3) */
	if (m->has_content_length) {
		if (m->content_length > ps.lim->max_msg - head_len) {
			const struct sip_hdr *cl = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
			rc = fail_at(&ps, -EMSGSIZE, 513,
				     "Content-Length beyond the maximum message size", cl->value,
				     cl->line, SIP_HDR_CONTENT_LENGTH, cl->name);
			goto out;
		}
		total = head_len + m->content_length;
		if (total > len) {
			if (ps.stream) {
				rc = SIP_INCOMPLETE;
				goto out;
			}
			const struct sip_hdr *cl = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
			rc = fail_at(&ps, -EBADMSG, 400,
				     "Content-Length larger than the datagram's body", cl->value,
				     cl->line, SIP_HDR_CONTENT_LENGTH, cl->name);
			goto out;
		}
	} else {
		if (ps.stream) {
			rc = fail_at(&ps, -EBADMSG, 400,
				     "no Content-Length on a stream transport (RFC 3261 18.3)",
				     m->start_line, 1, SIP_HDR_CONTENT_LENGTH, STR_NULL);
			goto out;
		}
		if (ps.truncated) {
			rc = need_more(&ps, "", m->start_line, 1);
			goto out;
		}
		total = len;
	}
	m->body = str_make(p, total - head_len);
	m->buf = str_make(buf, total);
	rc = (int)total;
out:
	if (rc < 0 && rc != SIP_INCOMPLETE) {
		m->kind = SIP_MSG_NONE;
		if (err && err->line == 0 && err->where.s >= buf && err->where.s < buf + len) {
			m->buf = str_make(buf, len);
			err->line = sip_msg_line_of(m, err->where.s);
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                             */

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR__COUNT || m->first[id] == SIP_HDR_END)
		return NULL;
	return &m->hdrs[m->first[id]];
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, const struct sip_hdr *h)
{
	return h->next == SIP_HDR_END ? NULL : &m->hdrs[h->next];
}

unsigned sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id)
{
	unsigned n = 0;

	sip_msg_foreach(m, id, h)
		n++;
	return n;
}

const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, struct str name)
{
	enum sip_hdr_id id = sip_hdr_lookup(name);

	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(m, id);
	sip_msg_foreach(m, SIP_HDR_OTHER, h)
		if (str_caseeq(h->name, name))
			return h;
	return NULL;
}

bool sip_msg_has_token(const struct sip_msg *m, enum sip_hdr_id id, const char *tag)
{
	sip_msg_foreach(m, id, h)
		if (str_caseeq_cstr(h->value, tag))
			return true;
	return false;
}
