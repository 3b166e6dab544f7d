/*
 * json.h - a small JSON (RFC 8259) writer and reader.
 *
 * The writer builds one document (or one JSON-lines record) in a growing
 * buffer. Its calls never fail individually: the first error (misuse such
 * as a value where a member name is due, too deep a nesting, out of memory)
 * is kept in the writer and every later call does nothing, so a caller
 * writes a whole record and checks json_writer_finish() once.
 *
 *     struct json_writer w;
 *     struct str doc;
 *
 *     json_writer_init(&w, JSON_PRETTY);
 *     json_begin_object(&w);
 *     json_key(&w, "pid");
 *     json_int(&w, 1234);
 *     json_end_object(&w);
 *     if (json_writer_finish(&w, &doc) == 0)
 *             fwrite(doc.s, 1, doc.len, f);
 *     json_writer_free(&w);
 *
 * Strings are escaped as RFC 8259 section 7 requires; bytes that are not
 * valid UTF-8 (a SIP header may carry anything) are written as U+FFFD, so
 * the output is always valid JSON.
 *
 * The reader parses a complete document into a tree allocated from a
 * caller's arena. Strings without escapes are slices of the input; decoded
 * strings live in the arena. It refuses invalid UTF-8, lone surrogates,
 * leading zeros, trailing garbage and nesting deeper than JSON_MAX_DEPTH,
 * and says where with a byte offset, line and column.
 */
#ifndef SIMREG_CORE_JSON_H
#define SIMREG_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"

/* Deepest nesting of arrays and objects the writer and reader accept. */
#define JSON_MAX_DEPTH 64

/* ---- writer ------------------------------------------------------------ */

enum json_writer_flags {
	/* Newlines and two-space indentation (documents meant for people);
	 * without it the output is one line (JSON lines). */
	JSON_PRETTY = 1 << 0,
};

struct json_writer {
	char *buf;
	size_t len, cap;
	unsigned flags;
	unsigned depth;
	bool in_object[JSON_MAX_DEPTH + 1]; /* per level: object or array */
	bool has_items[JSON_MAX_DEPTH + 1]; /* per level: a comma is due */
	bool key_pending;                    /* a member name waits for its value */
	bool done;                           /* the top-level value is complete */
	int err;                             /* first error, negative errno */
};

/* Start an empty document. flags: enum json_writer_flags. */
void json_writer_init(struct json_writer *w, unsigned flags);

/* Release the buffer; the writer may be initialised again. */
void json_writer_free(struct json_writer *w);

/*
 * Complete the document. On success *out is a slice of the writer's buffer
 * (valid until json_writer_free(), NUL-terminated, with a final newline when
 * JSON_PRETTY) and 0 is returned. Returns the first error met, or -EINVAL if
 * the document is incomplete (no value, or an array/object still open).
 */
int json_writer_finish(struct json_writer *w, struct str *out);

/* 0, or the first error met so far (-EINVAL misuse, -E2BIG depth, -ENOMEM). */
static inline int json_writer_error(const struct json_writer *w)
{
	return w->err;
}

void json_begin_object(struct json_writer *w);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w);
void json_end_array(struct json_writer *w);

/* A member name; only directly inside an object, before each value. */
void json_key(struct json_writer *w, const char *name);

void json_string(struct json_writer *w, struct str s);
/* A C string; NULL writes null. */
void json_cstring(struct json_writer *w, const char *s);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);

/* Member shorthands: json_key() followed by the value. */
void json_kv_cstring(struct json_writer *w, const char *name, const char *s);
void json_kv_int(struct json_writer *w, const char *name, int64_t v);
void json_kv_bool(struct json_writer *w, const char *name, bool v);

/* ---- reader ------------------------------------------------------------ */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value {
	enum json_type type;
	struct str raw;  /* the value's text in the input */
	struct str name; /* member name (decoded) when the parent is an object */
	union {
		bool boolean;
		struct str string; /* decoded; not NUL-terminated */
		struct {
			bool is_int; /* no fraction or exponent, fits int64 */
			int64_t i;
		} number;
		struct {
			struct json_value *first; /* children in document order */
			size_t count;
		} items;
	} u;
	struct json_value *next; /* next sibling */
};

struct json_error {
	size_t offset; /* byte offset of the error in the input */
	unsigned line, column; /* 1-based */
	const char *what;      /* static text: "expected ':'" */
};

/*
 * Parse one JSON document (surrounding whitespace allowed). On success
 * *root is the tree, allocated in @a (freed with the arena) and pointing
 * into @text, which must outlive it; returns 0. On failure returns -EINVAL
 * (syntax, with *err filled when err is not NULL), -E2BIG (nesting too deep)
 * or -ENOMEM; @a may hold partial allocations either way.
 */
int json_parse(struct arena *a, struct str text, struct json_value **root,
	       struct json_error *err);

/* The member @name of an object (the first if repeated), or NULL. */
const struct json_value *json_get(const struct json_value *obj, const char *name);

/*
 * Typed member lookup. Return 0, -ENOENT (no such member, or @obj is not
 * an object) or -EINVAL (the member has another type, or the number is not
 * an integer in range).
 */
int json_get_str(const struct json_value *obj, const char *name, struct str *out);
int json_get_int(const struct json_value *obj, const char *name, int64_t *out);
int json_get_bool(const struct json_value *obj, const char *name, bool *out);

/*
 * Write a parsed value, children included, into @w (numbers keep their
 * text; strings are escaped afresh). Parse and write give the compact,
 * canonical form of a document; errors go to @w as for any other value.
 */
void json_write_value(struct json_writer *w, const struct json_value *v);

/* Iterate over an array's or object's children. */
#define json_for_each(child, parent) \
	for (const struct json_value *child = (parent)->u.items.first; child; child = child->next)

#endif
