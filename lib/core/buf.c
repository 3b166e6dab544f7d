#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	*b = (struct buf){ 0 };
}

void buf_init_fixed(struct buf *b, char *mem, size_t cap)
{
	*b = (struct buf){ .p = mem, .cap = cap, .fixed = true };
	if (cap)
		mem[0] = '\0';
}

void buf_free(struct buf *b)
{
	if (!b->fixed)
		free(b->p);
	*b = (struct buf){ 0 };
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->cap)
		b->p[0] = '\0';
}

/* Make room for `extra` more bytes plus a terminating NUL. */
static bool reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return false;
	if (extra > SIZE_MAX - b->len - 1)
		goto nomem;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	if (b->fixed) {
		b->err = -ENOSPC;
		return false;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->p, cap);
	if (!p)
		goto nomem;
	b->p = p;
	b->cap = cap;
	return true;
nomem:
	b->err = -ENOMEM;
	return false;
}

void buf_put(struct buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_put_str(struct buf *b, struct str s)
{
	buf_put(b, s.s, s.len);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->err)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(b->cap ? b->p + b->len : NULL, b->cap ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if (b->len + (size_t)n < b->cap) {
		b->len += (size_t)n;
		return;
	}
	if (!reserve(b, (size_t)n)) {
		if (b->cap)
			b->p[b->len] = '\0';
		return;
	}
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}
