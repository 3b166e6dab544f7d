#include "core/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* ---- writer ------------------------------------------------------------ */

void json_writer_init(struct json_writer *w, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	w->flags = flags;
}

void json_writer_free(struct json_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static void fail(struct json_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	/* Keep one byte for the NUL that json_writer_finish() adds. */
	if (w->cap - w->len <= n) {
		size_t cap = w->cap ? w->cap : 256;
		char *nb;

		while (cap - w->len <= n) {
			if (cap > SIZE_MAX / 2) {
				fail(w, -ENOMEM);
				return;
			}
			cap *= 2;
		}
		nb = realloc(w->buf, cap);
		if (!nb) {
			fail(w, -ENOMEM);
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void put_cstr(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void newline(struct json_writer *w, unsigned depth)
{
	if (!(w->flags & JSON_PRETTY))
		return;
	put(w, "\n", 1);
	for (unsigned i = 0; i < depth; i++)
		put(w, "  ", 2);
}

/* Separator and indentation before a value; false if none may come here. */
static bool before_value(struct json_writer *w)
{
	if (w->err)
		return false;
	if (w->done) {
		fail(w, -EINVAL);
		return false;
	}
	if (w->depth == 0)
		return true;
	if (w->in_object[w->depth]) {
		if (!w->key_pending) {
			fail(w, -EINVAL);
			return false;
		}
		w->key_pending = false;
		return true;
	}
	if (w->has_items[w->depth])
		put(w, ",", 1);
	w->has_items[w->depth] = true;
	newline(w, w->depth);
	return true;
}

static void after_value(struct json_writer *w)
{
	if (w->depth == 0)
		w->done = true;
}

static void put_escaped(struct json_writer *w, struct str s)
{
	const unsigned char *p = (const unsigned char *)s.s;
	size_t i = 0, run = 0;

	put(w, "\"", 1);
	while (i < s.len) {
		unsigned char c = p[i];
		char esc[8];
		const char *rep = NULL;
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80 && (n = utf8_seq_len(p + i, s.len - i)) > 0) {
			i += n;
			continue;
		}
		/* Flush the plain run [run, i) and write this byte escaped. */
		put(w, s.s + run, i - run);
		switch (c) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				rep = esc;
			} else {
				rep = "\\ufffd"; /* not UTF-8 */
			}
		}
		put_cstr(w, rep);
		run = ++i;
	}
	put(w, s.s + run, i - run);
	put(w, "\"", 1);
}

static void begin(struct json_writer *w, bool object)
{
	if (!before_value(w))
		return;
	if (w->depth >= JSON_MAX_DEPTH) {
		fail(w, -E2BIG);
		return;
	}
	put(w, object ? "{" : "[", 1);
	w->depth++;
	w->in_object[w->depth] = object;
	w->has_items[w->depth] = false;
}

static void end(struct json_writer *w, bool object)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->in_object[w->depth] != object || w->key_pending) {
		fail(w, -EINVAL);
		return;
	}
	if (w->has_items[w->depth])
		newline(w, w->depth - 1);
	put(w, object ? "}" : "]", 1);
	w->depth--;
	after_value(w);
}

void json_begin_object(struct json_writer *w) { begin(w, true); }
void json_end_object(struct json_writer *w) { end(w, true); }
void json_begin_array(struct json_writer *w) { begin(w, false); }
void json_end_array(struct json_writer *w) { end(w, false); }

static void key(struct json_writer *w, struct str name)
{
	if (w->err)
		return;
	if (w->depth == 0 || !w->in_object[w->depth] || w->key_pending || !name.s) {
		fail(w, -EINVAL);
		return;
	}
	if (w->has_items[w->depth])
		put(w, ",", 1);
	w->has_items[w->depth] = true;
	newline(w, w->depth);
	put_escaped(w, name);
	put_cstr(w, (w->flags & JSON_PRETTY) ? ": " : ":");
	w->key_pending = true;
}

void json_key(struct json_writer *w, const char *name)
{
	key(w, name ? str_from_cstr(name) : STR_NULL);
}

void json_string(struct json_writer *w, struct str s)
{
	if (!before_value(w))
		return;
	put_escaped(w, s);
	after_value(w);
}

void json_cstring(struct json_writer *w, const char *s)
{
	if (s)
		json_string(w, str_from_cstr(s));
	else
		json_null(w);
}

static void put_literal(struct json_writer *w, const char *text)
{
	if (!before_value(w))
		return;
	put_cstr(w, text);
	after_value(w);
}

void json_int(struct json_writer *w, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	put_literal(w, b);
}

void json_uint(struct json_writer *w, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	put_literal(w, b);
}

void json_bool(struct json_writer *w, bool v) { put_literal(w, v ? "true" : "false"); }
void json_null(struct json_writer *w) { put_literal(w, "null"); }

void json_kv_cstring(struct json_writer *w, const char *name, const char *s)
{
	json_key(w, name);
	json_cstring(w, s);
}

void json_kv_int(struct json_writer *w, const char *name, int64_t v)
{
	json_key(w, name);
	json_int(w, v);
}

void json_kv_bool(struct json_writer *w, const char *name, bool v)
{
	json_key(w, name);
	json_bool(w, v);
}

int json_writer_finish(struct json_writer *w, struct str *out)
{
	if (!w->err && !w->done)
		fail(w, -EINVAL);
	if (!w->err && (w->flags & JSON_PRETTY))
		put(w, "\n", 1);
	if (!w->err) {
		put(w, "", 0); /* makes sure the buffer exists */
		w->buf[w->len] = '\0';
		*out = str_make(w->buf, w->len);
	}
	return w->err;
}

/* ---- reader ------------------------------------------------------------ */

struct parser {
	const char *s;
	size_t len, pos;
	struct arena *a;
	unsigned depth;
	const char *what; /* first syntax error */
	size_t where;
};

static int syntax(struct parser *p, size_t at, const char *what)
{
	if (!p->what) {
		p->what = what;
		p->where = at;
	}
	return -EINVAL;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static bool peek(struct parser *p, char c)
{
	return p->pos < p->len && p->s[p->pos] == c;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static size_t utf8_put(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string starting at the opening quote. The first pass validates and
 * finds the end; only strings with escapes are decoded into the arena
 * (decoding never makes a string longer than its escaped form).
 */
static int parse_string(struct parser *p, struct str *out)
{
	const unsigned char *u = (const unsigned char *)p->s;
	size_t start = ++p->pos, i = start;
	bool escaped = false;
	char *d;
	size_t n = 0;

	for (;;) {
		if (i >= p->len)
			return syntax(p, start - 1, "unterminated string");
		if (u[i] == '"')
			break;
		if (u[i] < 0x20)
			return syntax(p, i, "control character in string");
		if (u[i] == '\\') {
			escaped = true;
			if (i + 1 >= p->len)
				return syntax(p, i, "unterminated string");
			i += 2;
			continue;
		}
		if (u[i] >= 0x80) {
			size_t l = utf8_seq_len(u + i, p->len - i);
			if (!l)
				return syntax(p, i, "invalid UTF-8 in string");
			i += l;
			continue;
		}
		i++;
	}
	p->pos = i + 1;
	if (!escaped) {
		*out = str_make(p->s + start, i - start);
		return 0;
	}
	d = arena_alloc(p->a, i - start);
	if (!d)
		return -ENOMEM;
	for (size_t j = start; j < i;) {
		unsigned cp, lo;

		if (u[j] != '\\') {
			d[n++] = (char)u[j++];
			continue;
		}
		switch (u[j + 1]) {
		case '"': d[n++] = '"'; break;
		case '\\': d[n++] = '\\'; break;
		case '/': d[n++] = '/'; break;
		case 'b': d[n++] = '\b'; break;
		case 'f': d[n++] = '\f'; break;
		case 'n': d[n++] = '\n'; break;
		case 'r': d[n++] = '\r'; break;
		case 't': d[n++] = '\t'; break;
		case 'u':
			if (j + 6 > i || hex4(p->s + j + 2, &cp))
				return syntax(p, j, "bad \\u escape");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return syntax(p, j, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* RFC 8259 section 7: a character outside the BMP is a
				 * surrogate pair of two \u escapes. */
				if (j + 12 > i || p->s[j + 6] != '\\' || p->s[j + 7] != 'u' ||
				    hex4(p->s + j + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return syntax(p, j, "lone high surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j += 6;
			}
			n += utf8_put(d + n, cp);
			j += 6;
			continue;
		default:
			return syntax(p, j, "bad escape");
		}
		j += 2;
	}
	*out = str_make(d, n);
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct json_value *v)
{
	size_t i = p->pos;
	bool neg = false, is_int = true, overflow = false;
	int64_t acc = 0; /* accumulated as a negative number: INT64_MIN fits */

	if (p->s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= p->len || !is_digit(p->s[i]))
		return syntax(p, i, "digit expected");
	if (p->s[i] == '0' && i + 1 < p->len && is_digit(p->s[i + 1]))
		return syntax(p, i, "leading zero");
	for (; i < p->len && is_digit(p->s[i]); i++) {
		int d = p->s[i] - '0';
		if (acc < (INT64_MIN + d) / 10)
			overflow = true;
		else
			acc = acc * 10 - d;
	}
	if (i < p->len && p->s[i] == '.') {
		is_int = false;
		if (++i >= p->len || !is_digit(p->s[i]))
			return syntax(p, i, "digit expected after '.'");
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		is_int = false;
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(p->s[i]))
			return syntax(p, i, "digit expected in exponent");
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	if (!neg && acc == INT64_MIN)
		overflow = true;
	v->type = JSON_NUMBER;
	v->u.number.is_int = is_int && !overflow;
	v->u.number.i = v->u.number.is_int ? (neg ? acc : -acc) : 0;
	p->pos = i;
	return 0;
}

static int parse_value(struct parser *p, struct json_value **out);

static int parse_container(struct parser *p, struct json_value *v, bool object)
{
	struct json_value **tail = &v->u.items.first;
	char close = object ? '}' : ']';
	int rc;

	if (++p->depth > JSON_MAX_DEPTH)
		return -E2BIG;
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	if (peek(p, close)) {
		p->pos++;
		p->depth--;
		return 0;
	}
	for (;;) {
		struct str name = STR_NULL;
		struct json_value *child;

		skip_ws(p);
		if (object) {
			if (!peek(p, '"'))
				return syntax(p, p->pos, "member name expected");
			rc = parse_string(p, &name);
			if (rc)
				return rc;
			skip_ws(p);
			if (!peek(p, ':'))
				return syntax(p, p->pos, "':' expected");
			p->pos++;
		}
		rc = parse_value(p, &child);
		if (rc)
			return rc;
		child->name = name;
		*tail = child;
		tail = &child->next;
		v->u.items.count++;
		skip_ws(p);
		if (peek(p, ',')) {
			p->pos++;
			continue;
		}
		if (peek(p, close)) {
			p->pos++;
			break;
		}
		return syntax(p, p->pos, object ? "',' or '}' expected" : "',' or ']' expected");
	}
	p->depth--;
	return 0;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return syntax(p, p->pos, "unknown literal");
	p->pos += n;
	return 0;
}

static int parse_value(struct parser *p, struct json_value **out)
{
	struct json_value *v;
	size_t start;
	int rc;

	skip_ws(p);
	if (p->pos >= p->len)
		return syntax(p, p->pos, "value expected");
	v = arena_alloc(p->a, sizeof(*v));
	if (!v)
		return -ENOMEM;
	start = p->pos;
	switch (p->s[p->pos]) {
	case '{':
		rc = parse_container(p, v, true);
		break;
	case '[':
		rc = parse_container(p, v, false);
		break;
	case '"':
		v->type = JSON_STRING;
		rc = parse_string(p, &v->u.string);
		break;
	case 't':
		v->type = JSON_BOOL;
		v->u.boolean = true;
		rc = parse_literal(p, "true");
		break;
	case 'f':
		v->type = JSON_BOOL;
		rc = parse_literal(p, "false");
		break;
	case 'n':
		v->type = JSON_NULL;
		rc = parse_literal(p, "null");
		break;
	default:
		if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
			rc = parse_number(p, v);
		else
			rc = syntax(p, p->pos, "value expected");
	}
	if (rc)
		return rc;
	v->raw = str_make(p->s + start, p->pos - start);
	*out = v;
	return 0;
}

int json_parse(struct arena *a, struct str text, struct json_value **root,
	       struct json_error *err)
{
	struct parser p = { .s = text.s, .len = text.len, .a = a };
	struct json_value *v = NULL;
	int rc;

	rc = parse_value(&p, &v);
	if (!rc) {
		skip_ws(&p);
		if (p.pos != p.len)
			rc = syntax(&p, p.pos, "trailing characters after the document");
	}
	if (rc == -EINVAL && err) {
		err->offset = p.where;
		err->what = p.what;
		err->line = 1;
		err->column = 1;
		for (size_t i = 0; i < p.where && i < p.len; i++) {
			if (p.s[i] == '\n') {
				err->line++;
				err->column = 1;
			} else {
				err->column++;
			}
		}
	} else if (rc == -E2BIG && err) {
		err->offset = p.pos;
		err->what = "nesting too deep";
		err->line = err->column = 0;
	}
	if (!rc)
		*root = v;
	return rc;
}

const struct json_value *json_get(const struct json_value *obj, const char *name)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	json_for_each(m, obj)
		if (str_eq_cstr(m->name, name))
			return m;
	return NULL;
}

int json_get_str(const struct json_value *obj, const char *name, struct str *out)
{
	const struct json_value *m = json_get(obj, name);

	if (!m)
		return -ENOENT;
	if (m->type != JSON_STRING)
		return -EINVAL;
	*out = m->u.string;
	return 0;
}

int json_get_int(const struct json_value *obj, const char *name, int64_t *out)
{
	const struct json_value *m = json_get(obj, name);

	if (!m)
		return -ENOENT;
	if (m->type != JSON_NUMBER || !m->u.number.is_int)
		return -EINVAL;
	*out = m->u.number.i;
	return 0;
}

int json_get_bool(const struct json_value *obj, const char *name, bool *out)
{
	const struct json_value *m = json_get(obj, name);

	if (!m)
		return -ENOENT;
	if (m->type != JSON_BOOL)
		return -EINVAL;
	*out = m->u.boolean;
	return 0;
}

void json_write_value(struct json_writer *w, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		json_null(w);
		break;
	case JSON_BOOL:
		json_bool(w, v->u.boolean);
		break;
	case JSON_NUMBER:
		/* The parser checked the syntax; keep the text as it was. */
		if (before_value(w)) {
			put(w, v->raw.s, v->raw.len);
			after_value(w);
		}
		break;
	case JSON_STRING:
		json_string(w, v->u.string);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		begin(w, v->type == JSON_OBJECT);
		json_for_each(c, v) {
			/* A slice: member names may hold NUL (\u0000). */
			if (v->type == JSON_OBJECT)
				key(w, c->name.s ? c->name : STR_LIT(""));
			json_write_value(w, c);
		}
		end(w, v->type == JSON_OBJECT);
		break;
	}
}
