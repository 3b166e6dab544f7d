#include "core/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

#define ARENA_DEFAULT_CHUNK 4096

void arena_init(struct arena *a, size_t chunk_size, unsigned flags)
{
	a->chunks = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
	a->flags = flags;
	a->allocated = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_chunk *c = a->chunks;
	size_t need = (size + align - 1) & ~(align - 1);
	void *p;

	if (size == 0)
		need = align;
	if (need < size)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t csize = need > a->chunk_size ? need : a->chunk_size;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		/* A large one-off block goes behind the current chunk so the
		 * current chunk's free space stays in use. */
		if (need > a->chunk_size && a->chunks) {
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	p = c->data + c->used;
	c->used += need;
	a->allocated += need;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (p && len)
		memcpy(p, s, len);
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

struct str arena_str(struct arena *a, struct str s)
{
	char *p = arena_strndup(a, s.s, s.len);

	return p ? str_make(p, s.len) : STR_NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *c = a->chunks;

	while (c) {
		struct arena_chunk *next = c->next;
		if (a->flags & ARENA_WIPE)
			explicit_bzero(c->data, c->used);
		free(c);
		c = next;
	}
	a->chunks = NULL;
	a->allocated = 0;
}

void arena_destroy(struct arena *a)
{
	arena_reset(a);
}
