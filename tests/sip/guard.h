/*
 * guard.h - place test input right before an unreadable page, so that a
 * parser reading one byte too far faults at once (picohttpparser's trick),
 * in the normal build as well as under AddressSanitizer.
 */
#ifndef SIMREG_TESTS_SIP_GUARD_H
#define SIMREG_TESTS_SIP_GUARD_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guarded {
	char *map;
	size_t map_len;
	char *data; /* data + len is the first byte of the PROT_NONE page */
	size_t len;
};

/* Returns 0, or -1 if mmap/mprotect failed. */
static inline int guard_place(struct guarded *g, const void *data, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (len + page - 1) / page + 1;

	g->map_len = pages * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return -1;
	if (mprotect(g->map + (pages - 1) * page, page, PROT_NONE)) {
		munmap(g->map, g->map_len);
		return -1;
	}
	g->data = g->map + (pages - 1) * page - len;
	g->len = len;
	if (len)
		memcpy(g->data, data, len);
	return 0;
}

static inline void guard_release(struct guarded *g)
{
	munmap(g->map, g->map_len);
}

#endif
