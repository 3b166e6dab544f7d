/*
 * arena.h - ownership by context.
 *
 * A registration, a transaction or a decoded message owns an arena; every
 * allocation made for it comes from there and arena_destroy() frees it all
 * at once. Arenas created with ARENA_WIPE zero their memory before giving
 * it back (for anything that may hold key material).
 */
#ifndef SIMREG_CORE_ARENA_H
#define SIMREG_CORE_ARENA_H

#include <stddef.h>

#include "core/str.h"

enum arena_flags {
	ARENA_WIPE = 1 << 0,
};

struct arena_chunk;

struct arena {
	struct arena_chunk *chunks;
	size_t chunk_size;
	unsigned flags;
	size_t allocated; /* bytes handed out, for memory accounting */
};

/* chunk_size 0 picks a default (4 KiB). */
void arena_init(struct arena *a, size_t chunk_size, unsigned flags);

/* Allocate zeroed memory aligned for any type; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);

/* NUL-terminated copy of a slice or a C string; NULL when out of memory. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/* Copy a slice into the arena and return a slice of the copy. */
struct str arena_str(struct arena *a, struct str s);

/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free everything; the arena may be reused afterwards. */
void arena_reset(struct arena *a);
void arena_destroy(struct arena *a);

#endif
