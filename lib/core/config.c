/*
 * config.c - loading, checking, dumping and documenting configuration
 * (see config.h).
 *
 * The file is read with libyaml's document loader, which keeps the line of
 * every node. The loader then walks the tree next to the schema: a mapping
 * key either names a key of the schema, or is a prefix of some keys (and
 * its value must be a mapping), or is an error. Scalars are never typed by
 * YAML's own rules: the schema says what "0011" or "yes" means, so hex
 * strings keep their leading zeros and a string may be "no".
 *
 * Everything is built in a fresh struct config and handed to the caller
 * only when the whole file was accepted.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "core/hex.h"

#define CONFIG_MAX_FILE (1u << 20)
#define CONFIG_PATH_MAX 256
#define WHY_MAX 256

static const char *const type_doc[] = {
#define X(name, member, doc) [CONFIG_T_##name] = doc,
	CONFIG_TYPES(X)
#undef X
};

/* ---------------------------------------------------------------------------
 * Error lines
 */

static void err_add(struct config_errors *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void err_add(struct config_errors *err, const char *fmt, ...)
{
	static const char more[] = "... further errors not shown\n";
	size_t room;
	va_list ap;
	int n;

	if (!err)
		return;
	err->count++;
	/* Keep room for the "further errors" line. */
	if (err->len + sizeof(more) >= sizeof(err->text))
		return;
	room = sizeof(err->text) - sizeof(more) - err->len;
	va_start(ap, fmt);
	n = vsnprintf(err->text + err->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= room) {
		memcpy(err->text + err->len, more, sizeof(more));
		err->len = sizeof(err->text) - 1;
		return;
	}
	err->len += (size_t)n;
	err->text[err->len++] = '\n';
	err->text[err->len] = '\0';
}

/* ---------------------------------------------------------------------------
 * Scalar parsers: text -> member. Each returns 0 or -EINVAL with the
 * expectation in why.
 */

struct value_ctx {
	const struct config_key *key;
	struct arena *arena;
	bool no_echo;           /* the value cannot be quoted back (NUL inside) */
	char why[WHY_MAX];
};

static int expect(struct value_ctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int expect(struct value_ctx *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool int_is_signed(const struct config_key *k)
{
	return k->min < 0;
}

static void store_int(void *member, const struct config_key *k, int64_t val)
{
	bool sgn = int_is_signed(k);

	switch (k->size) {
	case 1:
		if (sgn)
			*(int8_t *)member = (int8_t)val;
		else
			*(uint8_t *)member = (uint8_t)val;
		break;
	case 2:
		if (sgn)
			*(int16_t *)member = (int16_t)val;
		else
			*(uint16_t *)member = (uint16_t)val;
		break;
	case 4:
		if (sgn)
			*(int32_t *)member = (int32_t)val;
		else
			*(uint32_t *)member = (uint32_t)val;
		break;
	default:
		*(int64_t *)member = val;
		break;
	}
}

static int64_t load_int(const void *member, const struct config_key *k)
{
	bool sgn = int_is_signed(k);

	switch (k->size) {
	case 1:
		return sgn ? *(const int8_t *)member : *(const uint8_t *)member;
	case 2:
		return sgn ? *(const int16_t *)member : *(const uint16_t *)member;
	case 4:
		return sgn ? *(const int32_t *)member : (int64_t)*(const uint32_t *)member;
	default:
		return *(const int64_t *)member;
	}
}

static int parse_int_text(const char *text, int64_t *out)
{
	char *end;
	long long v;

	if (!*text || !(text[0] == '-' || text[0] == '+' || (text[0] >= '0' && text[0] <= '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_int(struct value_ctx *v, void *member, const char *text)
{
	int64_t val;

	if (parse_int_text(text, &val) < 0 || val < v->key->min || val > v->key->max)
		return expect(v, "expected an integer from %" PRId64 " to %" PRId64, v->key->min,
			      v->key->max);
	store_int(member, v->key, val);
	return 0;
}

static int parse_bool(struct value_ctx *v, void *member, const char *text)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*(bool *)member = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*(bool *)member = false;
			return 0;
		}
	}
	return expect(v, "expected true or false");
}

static int parse_enum(struct value_ctx *v, void *member, const char *text)
{
	const char *const *names = v->key->names;
	size_t off = 0;

	for (size_t i = 0; names[i]; i++) {
		if (strcmp(text, names[i]) == 0) {
			store_int(member, v->key, (int64_t)i);
			return 0;
		}
	}
	off = (size_t)snprintf(v->why, sizeof(v->why), "expected one of ");
	for (size_t i = 0; names[i] && off < sizeof(v->why); i++)
		off += (size_t)snprintf(v->why + off, sizeof(v->why) - off, "%s%s", i ? ", " : "",
					names[i]);
	return -EINVAL;
}

/* Duration units, largest first (the printer picks the largest exact one). */
static const struct {
	const char *name;
	uint64_t ms;
} units[] = {
	{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
};

/* "500ms", "30s", "4m", "1h", "1m30s"; a bare "0" is zero. */
static int duration_from_text(const char *p, uint64_t *out)
{
	uint64_t total = 0;

	if (strcmp(p, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		uint64_t n = 0, unit = 0;
		size_t ulen = 0;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			if (n > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			n = n * 10 + (uint64_t)(*p++ - '0');
		}
		/* Longest unit name first so "ms" is not read as "m". */
		if (p[0] == 'm' && p[1] == 's')
			unit = 1, ulen = 2;
		else
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (p[0] == units[i].name[0] && units[i].name[1] == '\0')
					unit = units[i].ms, ulen = 1;
		if (!unit)
			return -EINVAL;
		p += ulen;
		if (n > (UINT64_MAX - total) / unit)
			return -ERANGE;
		total += n * unit;
	}
	*out = total;
	return 0;
}

static void duration_to_text(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", ms / units[i].ms, units[i].name);
			return;
		}
	}
}

static int parse_duration(struct value_ctx *v, void *member, const char *text)
{
	uint64_t ms;

	if (duration_from_text(text, &ms) < 0 || ms < (uint64_t)v->key->min ||
	    ms > (uint64_t)v->key->max) {
		char lo[32], hi[32];
		duration_to_text((uint64_t)v->key->min, lo, sizeof(lo));
		duration_to_text((uint64_t)v->key->max, hi, sizeof(hi));
		return expect(v, "expected a duration from %s to %s (like 500ms, 30s, 4m, 1h)", lo,
			      hi);
	}
	*(uint64_t *)member = ms;
	return 0;
}

static int hex_expectation(struct value_ctx *v)
{
	const struct config_key *k = v->key;

	if (k->min == k->max)
		return expect(v, "expected %" PRId64 " bytes in hex (%" PRId64 " hex digits)", k->min,
			      2 * k->min);
	return expect(v, "expected %" PRId64 " to %" PRId64 " bytes in hex", k->min, k->max);
}

static int parse_hex(struct value_ctx *v, void *member, const char *text)
{
	struct config_bytes *b = member;
	size_t max = (size_t)v->key->max, n = 0;
	uint8_t *buf = arena_alloc(v->arena, max ? max : 1);

	if (!buf)
		return -ENOMEM;
	if (hex_decode_var(str_from_cstr(text), buf, max, &n) < 0 || n < (size_t)v->key->min)
		return hex_expectation(v);
	b->data = buf;
	b->len = n;
	return 0;
}

/* "198.18.0.1:5060" or "[2001:db8::1]:5060". */
static int addr_from_text(const char *text, struct config_addr *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *colon;
	int64_t p;
	size_t hlen;

	memset(a, 0, sizeof(*a));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
		port = colon + 1;
	}
	if (!*port || *port == '+' || *port == '-' || parse_int_text(port, &p) < 0 || p > 65535)
		return -EINVAL;
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		a->len = sizeof(*s4);
	}
	return 0;
}

static void addr_to_text(const struct config_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(buf, len, "0.0.0.0:0");
	}
}

static int parse_addr(struct value_ctx *v, void *member, const char *text)
{
	if (addr_from_text(text, member) < 0)
		return expect(v, "expected an address ip:port or [ipv6]:port, port 0 to 65535");
	return 0;
}

static int parse_scalar(struct value_ctx *v, void *member, const char *text)
{
	switch (v->key->type) {
	case CONFIG_T_STRING: {
		char *s = arena_strdup(v->arena, text);
		if (!s)
			return -ENOMEM;
		*(const char **)member = s;
		return 0;
	}
	case CONFIG_T_INT:
		return parse_int(v, member, text);
	case CONFIG_T_BOOL:
		return parse_bool(v, member, text);
	case CONFIG_T_ENUM:
		return parse_enum(v, member, text);
	case CONFIG_T_DURATION:
		return parse_duration(v, member, text);
	case CONFIG_T_HEX:
		return parse_hex(v, member, text);
	case CONFIG_T_ADDR:
		return parse_addr(v, member, text);
	case CONFIG_T_CUSTOM:
		return v->key->custom->parse(member, text, v->arena, v->why, sizeof(v->why));
	case CONFIG_T_STRLIST:
		break;
	}
	return expect(v, "expected a list of strings");
}

/* ---------------------------------------------------------------------------
 * Applying a YAML node to a key
 */

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a single value";
	}
}

static bool scalar_is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

/* What the key expects, for "found a list" style errors. */
static void describe_expected(const struct config_key *k, char *buf, size_t len)
{
	if (k->type == CONFIG_T_CUSTOM)
		snprintf(buf, len, "expected %s", k->custom->type_doc);
	else if (k->type == CONFIG_T_STRLIST)
		snprintf(buf, len, "expected a list of strings");
	else
		snprintf(buf, len, "expected a single value (%s)", type_doc[k->type]);
}

static int apply_node(struct value_ctx *v, void *member, yaml_document_t *doc, yaml_node_t *n)
{
	const struct config_key *k = v->key;

	if (k->type == CONFIG_T_STRLIST) {
		struct config_strlist *l = member;
		yaml_node_item_t *it;
		const char **vec;
		size_t count, i = 0;

		if (n->type != YAML_SEQUENCE_NODE)
			return expect(v, "expected a list of strings, found %s", node_kind(n));
		count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		vec = arena_alloc(v->arena, (count ? count : 1) * sizeof(*vec));
		if (!vec)
			return -ENOMEM;
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(doc, *it);
			if (!e || e->type != YAML_SCALAR_NODE || scalar_is_null(e))
				return expect(v, "expected a list of strings, item %zu is %s", i + 1,
					      e && e->type == YAML_SCALAR_NODE ? "empty"
									       : node_kind(e));
			if (strlen((const char *)e->data.scalar.value) != e->data.scalar.length) {
				v->no_echo = true;
				return expect(v, "item %zu contains a NUL character", i + 1);
			}
			vec[i] = arena_strdup(v->arena, (const char *)e->data.scalar.value);
			if (!vec[i++])
				return -ENOMEM;
		}
		l->v = vec;
		l->n = count;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE) {
		char what[WHY_MAX - 32];
		describe_expected(k, what, sizeof(what));
		return expect(v, "%s, found %s", what, node_kind(n));
	}
	if (scalar_is_null(n)) {
		char what[WHY_MAX - 32];
		describe_expected(k, what, sizeof(what));
		return expect(v, "missing value (%s)", what);
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		v->no_echo = true;
		return expect(v, "value contains a NUL character");
	}
	return parse_scalar(v, member, (const char *)n->data.scalar.value);
}

/* ---------------------------------------------------------------------------
 * Defaults
 */

struct yaml_doc {
	yaml_parser_t parser;
	yaml_document_t doc;
	bool parser_ok, doc_ok;
};

static void yaml_doc_free(struct yaml_doc *d)
{
	if (d->doc_ok)
		yaml_document_delete(&d->doc);
	if (d->parser_ok)
		yaml_parser_delete(&d->parser);
	d->doc_ok = d->parser_ok = false;
}

/* Parse text as one YAML document; 0, -EINVAL (syntax), -ENOMEM. */
static int yaml_doc_parse(struct yaml_doc *d, const char *text, size_t len)
{
	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&d->parser))
		return -ENOMEM;
	d->parser_ok = true;
	yaml_parser_set_input_string(&d->parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&d->parser, &d->doc))
		return d->parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	d->doc_ok = true;
	return 0;
}

/* Set one key of data to its default. */
static int apply_default(const struct config_key *k, void *data, struct arena *a, char *why,
			 size_t whylen)
{
	struct value_ctx v = { .key = k, .arena = a };
	struct yaml_doc d;
	yaml_node_t *root;
	int rc;

	if (!k->def) {
		snprintf(why, whylen, "no default");
		return -EINVAL;
	}
	rc = yaml_doc_parse(&d, k->def, strlen(k->def));
	if (rc < 0) {
		snprintf(why, whylen, "default '%s' is not YAML", k->def);
		goto out;
	}
	root = yaml_document_get_root_node(&d.doc);
	if (!root) {
		snprintf(why, whylen, "empty default");
		rc = -EINVAL;
		goto out;
	}
	rc = apply_node(&v, (char *)data + k->offset, &d.doc, root);
	if (rc == -EINVAL)
		snprintf(why, whylen, "default '%.40s': %.190s", k->def, v.why);
out:
	yaml_doc_free(&d);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Schema checks
 */

static size_t path_depth(const char *p)
{
	size_t n = 1;

	for (; *p; p++)
		n += *p == '.';
	return n;
}

/* Length of the first `depth` components of p (without the trailing dot). */
static size_t prefix_len(const char *p, size_t depth)
{
	size_t i = 0;

	for (; p[i]; i++)
		if (p[i] == '.' && --depth == 0)
			return i;
	return i;
}

/* Does a key path start with the mapping path m (len bytes) as a component prefix? */
static bool path_under(const char *key, const char *m, size_t len)
{
	return strncmp(key, m, len) == 0 && key[len] == '.';
}

static int member_size_ok(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_T_STRING:
		return k->size == sizeof(const char *);
	case CONFIG_T_INT:
	case CONFIG_T_ENUM:
		return k->size == 1 || k->size == 2 || k->size == 4 || k->size == 8;
	case CONFIG_T_BOOL:
		return k->size == sizeof(bool);
	case CONFIG_T_DURATION:
		return k->size == sizeof(uint64_t);
	case CONFIG_T_HEX:
		return k->size == sizeof(struct config_bytes);
	case CONFIG_T_ADDR:
		return k->size == sizeof(struct config_addr);
	case CONFIG_T_STRLIST:
		return k->size == sizeof(struct config_strlist);
	case CONFIG_T_CUSTOM:
		return 1;
	}
	return 0;
}

static bool int_range_fits(const struct config_key *k, int64_t lo, int64_t hi)
{
	int bits = (int)k->size * 8;

	if (lo > hi)
		return false;
	if (bits == 64)
		return true;
	if (lo < 0)
		return lo >= -(INT64_C(1) << (bits - 1)) && hi <= (INT64_C(1) << (bits - 1)) - 1;
	return hi <= (INT64_C(1) << bits) - 1;
}

static int check_key(const struct config_section *sec, const struct config_key *k, char *why,
		     size_t whylen)
{
	size_t nlen = strlen(sec->name);
	int64_t count = 0;

	if (!k->path || strncmp(k->path, sec->name, nlen) != 0 || k->path[nlen] != '.' ||
	    strstr(k->path, "..") || k->path[strlen(k->path) - 1] == '.') {
		snprintf(why, whylen, "key '%s': path must be '%s.name[.name...]'",
			 k->path ? k->path : "(null)", sec->name);
		return -EINVAL;
	}
	if (!k->doc || !*k->doc) {
		snprintf(why, whylen, "key '%s': no documentation", k->path);
		return -EINVAL;
	}
	if ((unsigned)k->type > CONFIG_T_CUSTOM || !member_size_ok(k) ||
	    k->offset + k->size > sec->size) {
		snprintf(why, whylen, "key '%s': member size %zu at offset %zu does not fit %s",
			 k->path, k->size, k->offset,
			 (unsigned)k->type > CONFIG_T_CUSTOM ? "?" : type_doc[k->type]);
		return -EINVAL;
	}
	switch (k->type) {
	case CONFIG_T_INT:
		if (!int_range_fits(k, k->min, k->max)) {
			snprintf(why, whylen, "key '%s': range %" PRId64 "..%" PRId64
				 " does not fit a %zu-byte member", k->path, k->min, k->max, k->size);
			return -EINVAL;
		}
		break;
	case CONFIG_T_ENUM:
		while (k->names && k->names[count])
			count++;
		if (!count || !int_range_fits(k, 0, count - 1)) {
			snprintf(why, whylen, "key '%s': enum needs a NULL-terminated list of names",
				 k->path);
			return -EINVAL;
		}
		break;
	case CONFIG_T_DURATION:
	case CONFIG_T_HEX:
		if (k->min < 0 || k->min > k->max || (k->type == CONFIG_T_HEX && k->max == 0)) {
			snprintf(why, whylen, "key '%s': bad range %" PRId64 "..%" PRId64, k->path,
				 k->min, k->max);
			return -EINVAL;
		}
		break;
	case CONFIG_T_CUSTOM:
		if (!k->custom || !k->custom->parse || !k->custom->print || !k->custom->type_doc) {
			snprintf(why, whylen, "key '%s': custom type without parse/print/type_doc",
				 k->path);
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	return 0;
}

int config_schema_check(const struct config_section *sec, char *why, size_t whylen)
{
	struct arena a;
	void *scratch = NULL;
	int rc = 0;

	arena_init(&a, 0, ARENA_WIPE);
	if (!sec->name || !*sec->name || strchr(sec->name, '.') || !sec->doc || !sec->keys) {
		snprintf(why, whylen, "section '%s': needs a name without dots, a doc and keys",
			 sec->name ? sec->name : "(null)");
		rc = -EINVAL;
		goto out;
	}
	scratch = arena_alloc(&a, sec->size ? sec->size : 1);
	if (!scratch) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct config_key *k = &sec->keys[i];
		char inner[WHY_MAX];

		rc = check_key(sec, k, why, whylen);
		if (rc < 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			const char *o = sec->keys[j].path;
			if (strcmp(o, k->path) == 0 || path_under(o, k->path, strlen(k->path)) ||
			    path_under(k->path, o, strlen(o))) {
				snprintf(why, whylen, "key '%s' clashes with key '%s'", k->path, o);
				rc = -EINVAL;
				goto out;
			}
		}
		/* Every intermediate mapping of this key must continue from
		 * the previous key or be new, so the dump can nest them. */
		for (size_t d = 2; i > 0 && d < path_depth(k->path); d++) {
			size_t len = prefix_len(k->path, d);
			if (path_under(sec->keys[i - 1].path, k->path, len))
				continue;
			for (size_t j = 0; j + 1 < i; j++) {
				if (path_under(sec->keys[j].path, k->path, len)) {
					snprintf(why, whylen,
						 "key '%s' must be listed next to the other keys under "
						 "'%.*s'", k->path, (int)len, k->path);
					rc = -EINVAL;
					goto out;
				}
			}
		}
		rc = apply_default(k, scratch, &a, inner, sizeof(inner));
		if (rc < 0) {
			snprintf(why, whylen, "key '%s': %s", k->path, inner);
			goto out;
		}
	}
out:
	arena_destroy(&a);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Loading
 */

struct loader {
	struct config *cfg;
	const char *name;
	struct config_errors *err;
	yaml_document_t *doc;
	unsigned errors;
	int fatal;              /* -ENOMEM */
};

static unsigned line_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static void key_error(struct loader *ld, const yaml_node_t *at, const char *path, const char *msg)
{
	ld->errors++;
	err_add(ld->err, "%s:%u: key '%s': %s", ld->name, line_of(at), path, msg);
}

/* Edit distance, for "did you mean". Paths are short. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_PATH_MAX + 1];

	if (la > CONFIG_PATH_MAX || lb > CONFIG_PATH_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static void unknown_key(struct loader *ld, const yaml_node_t *at,
			const struct config_section *sec, const char *path)
{
	const char *best = NULL;
	size_t best_d = 3;      /* suggest only close misspellings */
	char msg[WHY_MAX + CONFIG_PATH_MAX];

	for (size_t i = 0; i < sec->nkeys; i++) {
		size_t d = distance(path, sec->keys[i].path);
		if (d < best_d) {
			best_d = d;
			best = sec->keys[i].path;
		}
	}
	if (best)
		snprintf(msg, sizeof(msg), "unknown key (did you mean '%s'?)", best);
	else
		snprintf(msg, sizeof(msg), "unknown key");
	key_error(ld, at, path, msg);
}

static void apply_key(struct loader *ld, const struct config_key *k, void *data,
		      yaml_node_t *value)
{
	struct value_ctx v = { .key = k, .arena = &ld->cfg->arena };
	int rc = apply_node(&v, (char *)data + k->offset, ld->doc, value);

	if (rc == -ENOMEM) {
		ld->fatal = rc;
	} else if (rc < 0) {
		/* Echo what was read, except for key material. */
		if (value->type == YAML_SCALAR_NODE && !(k->flags & CONFIG_SECRET) &&
		    !scalar_is_null(value) && !v.no_echo) {
			size_t off = strlen(v.why);
			snprintf(v.why + off, sizeof(v.why) - off, ", got '%.40s%s'",
				 (const char *)value->data.scalar.value,
				 value->data.scalar.length > 40 ? "..." : "");
		}
		key_error(ld, value, k->path, v.why);
	}
}

/*
 * Walk a mapping whose path is prefix (a section name or deeper). Each key
 * is a schema key, the prefix of schema keys, or an error.
 */
static void walk_mapping(struct loader *ld, const struct config_section *sec, void *data,
			 const char *prefix, yaml_node_t *map)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE) {
		char msg[WHY_MAX];
		snprintf(msg, sizeof(msg), "expected a mapping of keys, found %s",
			 node_kind(map));
		key_error(ld, map, prefix, msg);
		return;
	}
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(ld->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(ld->doc, pair->value);
		char path[CONFIG_PATH_MAX];
		const char *name;
		bool is_prefix = false;
		size_t plen;

		if (ld->fatal)
			return;
		if (kn->type != YAML_SCALAR_NODE) {
			key_error(ld, kn, prefix, "keys must be plain names");
			continue;
		}
		name = (const char *)kn->data.scalar.value;
		if (snprintf(path, sizeof(path), "%s.%s", prefix, name) >= (int)sizeof(path)) {
			key_error(ld, kn, prefix, "key name too long");
			continue;
		}
		/* "timers.t1:" would bypass the duplicate check of nested keys. */
		if (strchr(name, '.') || !*name) {
			key_error(ld, kn, path, "unknown key (nest keys instead of writing dots)");
			continue;
		}
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
			yaml_node_t *qk = yaml_document_get_node(ld->doc, q->key);
			if (qk->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)qk->data.scalar.value, name) == 0) {
				char msg[64];
				snprintf(msg, sizeof(msg), "duplicate key (first set at line %u)",
					 line_of(qk));
				key_error(ld, kn, path, msg);
				goto next;
			}
		}
		plen = strlen(path);
		for (size_t i = 0; i < sec->nkeys; i++) {
			const struct config_key *k = &sec->keys[i];
			if (strcmp(k->path, path) == 0) {
				apply_key(ld, k, data, vn);
				goto next;
			}
			is_prefix = is_prefix || path_under(k->path, path, plen);
		}
		if (is_prefix)
			walk_mapping(ld, sec, data, path, vn);
		else
			unknown_key(ld, kn, sec, path);
next:;
	}
}

static void unknown_section(struct loader *ld, const yaml_node_t *at, const char *name)
{
	char list[WHY_MAX];
	size_t off = 0;

	for (size_t i = 0; i < ld->cfg->nsections && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
					ld->cfg->sections[i]->name);
	ld->errors++;
	err_add(ld->err, "%s:%u: unknown section '%s' (known: %s)", ld->name, line_of(at), name,
		list);
}

static void walk_root(struct loader *ld, yaml_node_t *root)
{
	yaml_node_pair_t *pair;

	if (root->type != YAML_MAPPING_NODE) {
		ld->errors++;
		err_add(ld->err, "%s:%u: expected a mapping of sections (log:, hss:, ...), found %s",
			ld->name, line_of(root), node_kind(root));
		return;
	}
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(ld->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(ld->doc, pair->value);
		const char *name;
		size_t i;

		if (ld->fatal)
			return;
		if (kn->type != YAML_SCALAR_NODE) {
			ld->errors++;
			err_add(ld->err, "%s:%u: section names must be plain names", ld->name,
				line_of(kn));
			continue;
		}
		name = (const char *)kn->data.scalar.value;
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < pair; q++) {
			yaml_node_t *qk = yaml_document_get_node(ld->doc, q->key);
			if (qk->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)qk->data.scalar.value, name) == 0) {
				ld->errors++;
				err_add(ld->err, "%s:%u: duplicate section '%s' (first at line %u)",
					ld->name, line_of(kn), name, line_of(qk));
				goto next;
			}
		}
		for (i = 0; i < ld->cfg->nsections; i++)
			if (strcmp(ld->cfg->sections[i]->name, name) == 0)
				break;
		if (i == ld->cfg->nsections) {
			unknown_section(ld, kn, name);
			continue;
		}
		/* "log:" with nothing under it keeps the defaults. */
		if (vn->type == YAML_SCALAR_NODE && scalar_is_null(vn))
			continue;
		walk_mapping(ld, ld->cfg->sections[i], ld->cfg->data[i], name, vn);
next:;
	}
}

/*
 * The key node of a dotted path in the file ("pcscf.port_max"), or NULL
 * when the file does not set it.
 */
static yaml_node_t *find_key(yaml_document_t *doc, const char *path)
{
	yaml_node_t *n = yaml_document_get_root_node(doc), *key = NULL;
	const char *p = path;

	while (n && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		yaml_node_t *next = NULL;

		if (n->type != YAML_MAPPING_NODE)
			return NULL;
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start;
		     q < n->data.mapping.pairs.top && !next; q++) {
			yaml_node_t *kn = yaml_document_get_node(doc, q->key);

			if (kn->type == YAML_SCALAR_NODE && kn->data.scalar.length == len &&
			    memcmp(kn->data.scalar.value, p, len) == 0) {
				key = kn;
				next = yaml_document_get_node(doc, q->value);
			}
		}
		if (!next)
			return NULL;
		n = next;
		p = dot ? dot + 1 : p + len;
	}
	return key;
}

/*
 * A section's check explains a rule that spans keys, naming them in single
 * quotes ("key 'pcscf.flows_per_address': ... 'pcscf.port_max' ..."). The
 * line reported is that of the first key named that the file sets, so the
 * reader lands on a value they wrote; 0 when none is.
 */
static unsigned check_line(yaml_document_t *doc, const char *why)
{
	const char *p = why;

	if (!doc)
		return 0;
	while ((p = strchr(p, '\'')) != NULL) {
		const char *end = strchr(p + 1, '\'');
		char path[CONFIG_PATH_MAX];
		size_t len;
		yaml_node_t *kn;

		if (!end)
			break;
		len = (size_t)(end - p - 1);
		if (len > 0 && len < sizeof(path)) {
			memcpy(path, p + 1, len);
			path[len] = '\0';
			kn = find_key(doc, path);
			if (kn)
				return line_of(kn);
		}
		p = end + 1;
	}
	return 0;
}

/* Build cfg from sections and defaults; the file is applied afterwards. */
static int config_init(struct config *cfg, const struct config_section *const *sections,
		       size_t nsections, const char *name, struct config_errors *err)
{
	char why[WHY_MAX];
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	arena_init(&cfg->arena, 0, ARENA_WIPE);
	cfg->sections = sections;
	cfg->nsections = nsections;
	cfg->source = arena_strdup(&cfg->arena, name);
	cfg->data = arena_alloc(&cfg->arena, (nsections ? nsections : 1) * sizeof(void *));
	if (!cfg->source || !cfg->data)
		return -ENOMEM;
	for (size_t i = 0; i < nsections; i++) {
		const struct config_section *sec = sections[i];

		rc = config_schema_check(sec, why, sizeof(why));
		if (rc < 0) {
			err_add(err, "%s: schema of section '%s': %s", name,
				sec->name ? sec->name : "(null)", why);
			return rc;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sections[j]->name, sec->name) == 0) {
				err_add(err, "%s: section '%s' given twice", name, sec->name);
				return -EINVAL;
			}
		}
		cfg->data[i] = arena_alloc(&cfg->arena, sec->size ? sec->size : 1);
		if (!cfg->data[i])
			return -ENOMEM;
		for (size_t j = 0; j < sec->nkeys; j++) {
			rc = apply_default(&sec->keys[j], cfg->data[i], &cfg->arena, why,
					   sizeof(why));
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static void syntax_error(struct loader *ld, const yaml_parser_t *p)
{
	ld->errors++;
	if (p->context)
		err_add(ld->err, "%s:%zu: YAML syntax error: %s (%s, line %zu)", ld->name,
			p->problem_mark.line + 1, p->problem ? p->problem : "?", p->context,
			p->context_mark.line + 1);
	else
		err_add(ld->err, "%s:%zu: YAML syntax error: %s", ld->name,
			p->problem_mark.line + 1, p->problem ? p->problem : "?");
}

int config_load_buffer(struct config *out, const struct config_section *const *sections,
		       size_t nsections, const char *name, const char *text, size_t len,
		       struct config_errors *err)
{
	struct config cfg;
	struct yaml_doc d = { 0 };
	struct loader ld = { .cfg = &cfg, .name = name, .err = err };
	yaml_document_t extra;
	yaml_node_t *root;
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	rc = config_init(&cfg, sections, nsections, name, err);
	if (rc < 0)
		goto fail;
	rc = yaml_doc_parse(&d, text, len);
	if (rc == -EINVAL)
		syntax_error(&ld, &d.parser);
	if (rc < 0)
		goto fail;
	ld.doc = &d.doc;
	root = yaml_document_get_root_node(&d.doc);
	if (root) {
		walk_root(&ld, root);
		/* One file, one document: a second one would be ignored silently. */
		if (!yaml_parser_load(&d.parser, &extra)) {
			syntax_error(&ld, &d.parser);
		} else {
			if (yaml_document_get_root_node(&extra)) {
				ld.errors++;
				err_add(err, "%s:%zu: a second YAML document; the file must hold one",
					name, extra.start_mark.line + 1);
			}
			yaml_document_delete(&extra);
		}
	}
	if (ld.fatal) {
		rc = ld.fatal;
		goto fail;
	}
	for (size_t i = 0; i < nsections && !ld.errors; i++) {
		char why[WHY_MAX];
		if (sections[i]->check && sections[i]->check(cfg.data[i], why, sizeof(why)) < 0) {
			unsigned line = check_line(ld.doc, why);

			ld.errors++;
			if (line)
				err_add(err, "%s:%u: %s", name, line, why);
			else
				err_add(err, "%s: section '%s': %s", name, sections[i]->name, why);
		}
	}
	if (ld.errors) {
		rc = -EINVAL;
		goto fail;
	}
	yaml_doc_free(&d);
	*out = cfg;
	return 0;

fail:
	if (rc == -ENOMEM)
		err_add(err, "%s: out of memory", name);
	yaml_doc_free(&d);
	config_free(&cfg);
	return rc;
}

static int read_file(const char *path, char **out, size_t *outlen, struct config_errors *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		err_add(err, "%s: cannot open: %s", path, strerror(-rc));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		err_add(err, "%s: cannot stat: %s", path, strerror(-rc));
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_FILE) {
		rc = !S_ISREG(st.st_mode) ? -EINVAL : -EFBIG;
		err_add(err, "%s: %s", path,
			rc == -EINVAL ? "not a regular file" : "larger than 1 MiB");
		goto close_fd;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto close_fd;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			err_add(err, "%s: cannot read: %s", path, strerror(-rc));
			free(buf);
			buf = NULL;
			goto close_fd;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
close_fd:
	close(fd);
out:
	return rc;
}

int config_load_file(struct config *cfg, const struct config_section *const *sections,
		     size_t nsections, const char *path, struct config_errors *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	rc = read_file(path, &text, &len, err);
	if (rc < 0)
		return rc;
	rc = config_load_buffer(cfg, sections, nsections, path, text, len, err);
	free(text);
	return rc;
}

int config_reload(struct config *live, const char *path, struct config_errors *err)
{
	struct config fresh;
	int rc = config_load_file(&fresh, live->sections, live->nsections, path, err);

	if (rc < 0)
		return rc;
	config_free(live);
	*live = fresh;
	return 0;
}

void config_free(struct config *cfg)
{
	arena_destroy(&cfg->arena);
	memset(cfg, 0, sizeof(*cfg));
}

const void *config_get(const struct config *cfg, const struct config_section *sec)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i] == sec)
			return cfg->data[i];
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Printing values (dump and schema)
 */

/* The value of k in data as file text; false for lists (printed apart). */
static void value_text(const struct config_key *k, const void *data, char *buf, size_t len)
{
	const void *m = (const char *)data + k->offset;

	buf[0] = '\0';
	switch (k->type) {
	case CONFIG_T_STRING:
		snprintf(buf, len, "%s", *(const char *const *)m ? *(const char *const *)m : "");
		break;
	case CONFIG_T_INT:
		snprintf(buf, len, "%" PRId64, load_int(m, k));
		break;
	case CONFIG_T_BOOL:
		snprintf(buf, len, "%s", *(const bool *)m ? "true" : "false");
		break;
	case CONFIG_T_ENUM: {
		int64_t i = load_int(m, k);
		snprintf(buf, len, "%s", k->names[i]);
		break;
	}
	case CONFIG_T_DURATION:
		duration_to_text(*(const uint64_t *)m, buf, len);
		break;
	case CONFIG_T_HEX: {
		const struct config_bytes *b = m;
		if (b->len * 2 + 1 <= len)
			hex_encode(b->data, b->len, buf);
		break;
	}
	case CONFIG_T_ADDR:
		addr_to_text(m, buf, len);
		break;
	case CONFIG_T_CUSTOM:
		if (k->custom->print(m, buf, len) < 0)
			buf[0] = '\0';
		break;
	case CONFIG_T_STRLIST:
		break;
	}
}

struct emitter {
	yaml_emitter_t e;
	bool ok;
};

static void emit(struct emitter *em, yaml_event_t *ev)
{
	if (em->ok && !yaml_emitter_emit(&em->e, ev))
		em->ok = false;
}

static void emit_scalar(struct emitter *em, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
					  1, 1, style)) {
		em->ok = false;
		return;
	}
	emit(em, &ev);
}

static void emit_mapping(struct emitter *em, bool start)
{
	yaml_event_t ev;

	if (start)
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	else
		yaml_mapping_end_event_initialize(&ev);
	emit(em, &ev);
}

/* Plain text a loader would read as null must be quoted to stay a string. */
static yaml_scalar_style_t string_style(const char *s)
{
	if (!*s || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0)
		return YAML_SINGLE_QUOTED_SCALAR_STYLE;
	return YAML_ANY_SCALAR_STYLE;
}

static void emit_value(struct emitter *em, const struct config_key *k, const void *data)
{
	char buf[1024];

	if (k->flags & CONFIG_SECRET) {
		emit_scalar(em, "<secret>", YAML_ANY_SCALAR_STYLE);
	} else if (k->type == CONFIG_T_STRLIST) {
		const struct config_strlist *l = (const void *)((const char *)data + k->offset);
		yaml_event_t ev;

		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE);
		emit(em, &ev);
		for (size_t i = 0; i < l->n; i++)
			emit_scalar(em, l->v[i], string_style(l->v[i]));
		yaml_sequence_end_event_initialize(&ev);
		emit(em, &ev);
	} else {
		value_text(k, data, buf, sizeof(buf));
		emit_scalar(em, buf, string_style(buf));
	}
}

/* Component idx of a dotted path (0 is the section). */
static struct str component(const char *path, size_t idx)
{
	const char *p = path, *e;

	for (size_t i = 0; i < idx; i++) {
		p = strchr(p, '.');
		if (!p)
			return STR_NULL;
		p++;
	}
	e = strchr(p, '.');
	return str_make(p, e ? (size_t)(e - p) : strlen(p));
}

/*
 * Keys are flat dotted paths; the dump nests them. The mappings open at any
 * time are the intermediate components of the previous key; the schema
 * check guarantees that keys sharing a mapping are listed together.
 */
static void dump_section(struct emitter *em, const struct config_section *sec, const void *data)
{
	const char *prev = NULL;
	size_t nopen = 0;

	emit_scalar(em, sec->name, YAML_ANY_SCALAR_STYLE);
	emit_mapping(em, true);
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct config_key *k = &sec->keys[i];
		size_t inter = path_depth(k->path) - 2, common = 0;
		char name[CONFIG_PATH_MAX];

		while (prev && common < nopen && common < inter &&
		       str_eq(component(prev, common + 1), component(k->path, common + 1)))
			common++;
		for (; nopen > common; nopen--)
			emit_mapping(em, false);
		for (; nopen < inter; nopen++) {
			str_copy(name, sizeof(name), component(k->path, nopen + 1));
			emit_scalar(em, name, YAML_ANY_SCALAR_STYLE);
			emit_mapping(em, true);
		}
		prev = k->path;
		emit_scalar(em, strrchr(k->path, '.') + 1, YAML_ANY_SCALAR_STYLE);
		emit_value(em, k, data);
	}
	for (; nopen > 0; nopen--)
		emit_mapping(em, false);
	emit_mapping(em, false);
}

int config_dump(const struct config *cfg, FILE *out)
{
	struct emitter em = { .ok = true };
	yaml_event_t ev;
	int rc = 0;

	if (!yaml_emitter_initialize(&em.e))
		return -ENOMEM;
	yaml_emitter_set_output_file(&em.e, out);
	yaml_emitter_set_unicode(&em.e, 1);
	yaml_emitter_set_width(&em.e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit(&em, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit(&em, &ev);
	emit_mapping(&em, true);
	for (size_t i = 0; i < cfg->nsections; i++)
		dump_section(&em, cfg->sections[i], cfg->data[i]);
	emit_mapping(&em, false);
	yaml_document_end_event_initialize(&ev, 1);
	emit(&em, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit(&em, &ev);
	if (!em.ok || !yaml_emitter_flush(&em.e) || fflush(out) != 0)
		rc = -EIO;
	yaml_emitter_delete(&em.e);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Schema as Markdown
 */

/* Table cells: a '|' would end the cell. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_type(FILE *out, const struct config_key *k)
{
	char lo[32], hi[32];

	switch (k->type) {
	case CONFIG_T_INT:
		fprintf(out, "integer %" PRId64 "..%" PRId64, k->min, k->max);
		break;
	case CONFIG_T_ENUM:
		fprintf(out, "one of");
		for (size_t i = 0; k->names[i]; i++)
			fprintf(out, "%s `%s`", i ? "," : "", k->names[i]);
		break;
	case CONFIG_T_DURATION:
		duration_to_text((uint64_t)k->min, lo, sizeof(lo));
		duration_to_text((uint64_t)k->max, hi, sizeof(hi));
		fprintf(out, "duration %s..%s", lo, hi);
		break;
	case CONFIG_T_HEX:
		if (k->min == k->max)
			fprintf(out, "hex, %" PRId64 " bytes", k->min);
		else
			fprintf(out, "hex, %" PRId64 "..%" PRId64 " bytes", k->min, k->max);
		break;
	case CONFIG_T_CUSTOM:
		md_cell(out, k->custom->type_doc);
		break;
	default:
		md_cell(out, type_doc[k->type]);
		break;
	}
	if (k->flags & CONFIG_SECRET)
		fprintf(out, " (secret)");
}

int config_schema_markdown(const struct config_section *const *sections, size_t nsections,
			   FILE *out)
{
	for (size_t i = 0; i < nsections; i++) {
		const struct config_section *sec = sections[i];

		fprintf(out, "%s### `%s:`\n\n%s\n\n", i ? "\n" : "", sec->name, sec->doc);
		fprintf(out, "| key | type | default | description |\n|---|---|---|---|\n");
		for (size_t j = 0; j < sec->nkeys; j++) {
			const struct config_key *k = &sec->keys[j];
			fprintf(out, "| `%s` | ", k->path);
			md_type(out, k);
			fprintf(out, " | `");
			md_cell(out, k->def);
			fprintf(out, "` | ");
			md_cell(out, k->doc);
			fprintf(out, " |\n");
		}
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
