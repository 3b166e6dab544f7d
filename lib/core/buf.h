/*
 * buf.h - an output buffer that either grows (heap) or stays in the
 * caller's memory.
 *
 * Writers never check each append: the first failure (no memory, or a
 * fixed buffer full) is remembered in `err`, later appends do nothing, and
 * the caller checks buf_error() once at the end. The content is kept
 * NUL-terminated when there is room, but may contain NUL bytes itself.
 */
#ifndef SIMREG_CORE_BUF_H
#define SIMREG_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct buf {
	char *p;
	size_t len;
	size_t cap;
	bool fixed; /* memory belongs to the caller; never grown or freed */
	int err;    /* 0, -ENOMEM or -ENOSPC: the first failure */
};

/* A growable buffer on the heap; starts empty, free with buf_free(). */
void buf_init(struct buf *b);

/* A buffer over mem[0..cap), owned by the caller; overflow sets -ENOSPC. */
void buf_init_fixed(struct buf *b, char *mem, size_t cap);

/* Release heap memory (nothing for a fixed buffer); `b` is empty after. */
void buf_free(struct buf *b);

/* Forget the content, keep the memory and clear the error. */
void buf_reset(struct buf *b);

void buf_put(struct buf *b, const void *data, size_t len);
void buf_putc(struct buf *b, char c);
void buf_puts(struct buf *b, const char *s);
void buf_put_str(struct buf *b, struct str s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* 0, or the first error any append met. */
static inline int buf_error(const struct buf *b)
{
	return b->err;
}

static inline struct str buf_str(const struct buf *b)
{
	return (struct str){ b->p, b->len };
}

#endif
