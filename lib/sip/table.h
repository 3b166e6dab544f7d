/*
 * table.h - two small containers private to lib/sip: a slot table that
 * hands out generation-checked ids, and an intrusive chained hash table.
 *
 * Ids: the low 32 bits are the slot index + 1, the high 32 bits the slot's
 * generation, which changes every time the slot is freed. An id kept past
 * the end of its object therefore finds nothing, never the slot's next
 * occupant; 0 is never a valid id.
 */
#ifndef SIMREG_SIP_TABLE_H
#define SIMREG_SIP_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Slots                                                              */

struct slot {
	void *p;
	uint32_t gen;
	uint32_t next_free; /* index + 1 of the next free slot, 0 = end */
};

struct slots {
	struct slot *v;
	uint32_t cap;
	uint32_t used;      /* occupied slots */
	uint32_t free_head; /* index + 1 of the first free slot, 0 = none */
};

void slots_init(struct slots *s);
void slots_free(struct slots *s);
/* Store p; returns its id, or 0 when out of memory or slots. */
uint64_t slots_add(struct slots *s, void *p);
/* The object of a live id, or NULL. */
void *slots_get(const struct slots *s, uint64_t id);
/* Free the slot of a live id (no-op otherwise). */
void slots_remove(struct slots *s, uint64_t id);
/* Iterate over live objects: *pos starts at 0; returns NULL at the end. */
void *slots_next(const struct slots *s, uint32_t *pos);

/* ------------------------------------------------------------------ */
/* Hash table                                                         */

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t mask; /* buckets - 1 (a power of two) */
	size_t n;
	uint64_t seed;
};

/* Starts with `buckets` (rounded up to a power of two); -ENOMEM. */
int htab_init(struct htab *t, size_t buckets);
void htab_free(struct htab *t);
/* Insert (never fails: the table grows when it can, and chains otherwise). */
void htab_insert(struct htab *t, struct hnode *node, uint64_t hash);
/* Remove a node that is in the table. */
void htab_remove(struct htab *t, struct hnode *node);

/* Nodes with this hash: first, then next; NULL at the end. */
static inline struct hnode *htab_next(struct hnode *n, uint64_t hash)
{
	while (n && n->hash != hash)
		n = n->next;
	return n;
}

static inline struct hnode *htab_first(const struct htab *t, uint64_t hash)
{
	return htab_next(t->b[hash & t->mask], hash);
}

/* Keyed hashing (the key is the table's seed, random per table). */
uint64_t hash_bytes(uint64_t h, const void *p, size_t n);
/* Same, ASCII case folded (host names, methods compared case-insensitively). */
uint64_t hash_bytes_case(uint64_t h, const void *p, size_t n);
uint64_t hash_u64(uint64_t h, uint64_t v);

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
