/*
 * str.h - slices into a caller's buffer.
 *
 * A struct str never owns its bytes: it points into a message buffer, a
 * configuration string or a literal. Parsers hand out slices so that a proxy
 * can forward what it did not touch byte for byte.
 */
#ifndef SIMREG_CORE_STR_H
#define SIMREG_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct str {
	const char *s;
	size_t len;
};

/* A slice of a string literal: STR_LIT("REGISTER"). */
#define STR_LIT(lit) ((struct str){ (lit), sizeof(lit) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })
/* printf("%.*s", STR_FMT(x)) */
#define STR_FMT(x) (int)(x).len, (x).s

static inline struct str str_make(const char *s, size_t len)
{
	return (struct str){ s, len };
}

static inline struct str str_from_cstr(const char *s)
{
	return (struct str){ s, s ? strlen(s) : 0 };
}

static inline bool str_empty(struct str a)
{
	return a.len == 0;
}

static inline bool str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

static inline bool str_eq_cstr(struct str a, const char *b)
{
	return str_eq(a, str_from_cstr(b));
}

/* ASCII case-insensitive equality, as SIP wants for tokens and names. */
bool str_caseeq(struct str a, struct str b);
bool str_caseeq_cstr(struct str a, const char *b);

/* Remove leading and trailing SP / HTAB / CR / LF. */
struct str str_trim(struct str a);

/* Sub-slice [off, off + len) clamped to the slice. */
struct str str_sub(struct str a, size_t off, size_t len);

/* Index of the first byte c, or -1. */
ptrdiff_t str_chr(struct str a, char c);

/*
 * Parse an unsigned decimal number that fills the whole slice. Leading zeros
 * are accepted (RFC 4475 wsinv has "Max-Forwards: 0068"). Returns 0, or
 * -EINVAL for an empty slice or a non-digit, -ERANGE above max.
 */
int str_to_u64(struct str a, uint64_t max, uint64_t *out);

/* Copy into a NUL-terminated buffer; returns -ENOSPC if it does not fit. */
int str_copy(char *dst, size_t dstsize, struct str a);

#endif
