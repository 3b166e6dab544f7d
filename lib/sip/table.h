/*
 * table.h - two small containers private to lib/sip: a slot table that
 * hands out generation-checked ids, and an intrusive chained hash table.
 *
 * Ids: the low 32 bits are the slot index + 1, the high 32 bits the slot's
 * generation, which changes every time the slot is freed. An id kept past
 * the end of its object therefore finds nothing, never the slot's next
 * occupant; 0 is never a valid id.
 *
 * Every name carries the sip_ prefix: a static library's functions are
 * global to the program that links it, and generic names (htab_insert,
 * slots_get) would collide with another library's (tests/sip/symbols.sh).
 */
#ifndef SIMREG_SIP_TABLE_H
#define SIMREG_SIP_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Slots                                                              */

struct sip_slot {
	void *p;
	uint32_t gen;
	uint32_t next_free; /* index + 1 of the next free slot, 0 = end */
};

struct sip_slots {
	struct sip_slot *v;
	uint32_t cap;
	uint32_t used;      /* occupied slots */
	uint32_t free_head; /* index + 1 of the first free slot, 0 = none */
};

void sip_slots_init(struct sip_slots *s);
void sip_slots_free(struct sip_slots *s);
/* Store p; returns its id, or 0 when out of memory or slots. */
uint64_t sip_slots_add(struct sip_slots *s, void *p);
/* The object of a live id, or NULL. */
void *sip_slots_get(const struct sip_slots *s, uint64_t id);
/* Free the slot of a live id (no-op otherwise). */
void sip_slots_remove(struct sip_slots *s, uint64_t id);
/* Iterate over live objects: *pos starts at 0; returns NULL at the end. */
void *sip_slots_next(const struct sip_slots *s, uint32_t *pos);

/* ------------------------------------------------------------------ */
/* Hash table                                                         */

struct sip_hnode {
	struct sip_hnode *next;
	uint64_t hash;
};

struct sip_htab {
	struct sip_hnode **b;
	size_t mask; /* buckets - 1 (a power of two) */
	size_t n;
	uint64_t seed;
};

/* Starts with `buckets` (rounded up to a power of two); -ENOMEM. */
int sip_htab_init(struct sip_htab *t, size_t buckets);
void sip_htab_free(struct sip_htab *t);
/* Insert (never fails: the table grows when it can, and chains otherwise). */
void sip_htab_insert(struct sip_htab *t, struct sip_hnode *node, uint64_t hash);
/* Remove a node that is in the table. */
void sip_htab_remove(struct sip_htab *t, struct sip_hnode *node);

/* Nodes with this hash: first, then next; NULL at the end. */
static inline struct sip_hnode *sip_htab_next(struct sip_hnode *n, uint64_t hash)
{
	while (n && n->hash != hash)
		n = n->next;
	return n;
}

static inline struct sip_hnode *sip_htab_first(const struct sip_htab *t, uint64_t hash)
{
	return sip_htab_next(t->b[hash & t->mask], hash);
}

/* Keyed hashing (the key is the table's seed, random per table). */
uint64_t sip_hash_bytes(uint64_t h, const void *p, size_t n);
/* Same, ASCII case folded (host names, methods compared case-insensitively). */
uint64_t sip_hash_bytes_case(uint64_t h, const void *p, size_t n);
uint64_t sip_hash_u64(uint64_t h, uint64_t v);

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
