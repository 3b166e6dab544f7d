/*
 * ht.h - the S-CSCF's indexes: intrusive hash tables keyed by a string
 * or by a 64-bit id.
 *
 * A node is embedded in the indexed object (a binding, a pending
 * authentication, a subscription), so inserting never allocates except
 * when the bucket array grows. One table holds one kind of key; the kind
 * is fixed when the table is initialised.
 *
 * Keys are compared byte for byte: identities are put in canonical form
 * before they are used as keys (scscf_aor_canonical()).
 */
#ifndef SIMREG_SCSCF_HT_H
#define SIMREG_SCSCF_HT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct ht_node {
	struct ht_node *next;
	uint64_t hash;
	struct str key; /* string tables: the key, owned by the object */
	uint64_t id;    /* id tables: the key */
	bool linked;
};

struct ht {
	struct ht_node **b;
	size_t mask;    /* buckets - 1; buckets is a power of two */
	size_t n;
	bool by_id;
};

/*
 * Prepare an empty table of string keys (by_id false) or id keys. Buckets
 * are allocated on first insert. Returns nothing; cannot fail.
 */
void ht_init(struct ht *t, bool by_id);

/* Free the bucket array; the nodes belong to their objects. */
void ht_free(struct ht *t);

/*
 * Link `n` under `key` (string tables) or `id` (id tables). A node may be
 * in one table at a time; duplicates are allowed (the caller decides).
 * Returns 0 or -ENOMEM (the node is then not linked).
 */
int ht_insert_str(struct ht *t, struct ht_node *n, struct str key);
int ht_insert_id(struct ht *t, struct ht_node *n, uint64_t id);

/* Unlink; a node that is not linked is left alone. */
void ht_remove(struct ht *t, struct ht_node *n);

/* The first node with this key, or NULL. */
struct ht_node *ht_find_str(const struct ht *t, struct str key);
struct ht_node *ht_find_id(const struct ht *t, uint64_t id);

/* The next node after `n` with the same key (duplicates), or NULL. */
struct ht_node *ht_next_same(const struct ht *t, const struct ht_node *n);

/*
 * Iterate over every node. Start with a zeroed struct ht_iter; each call
 * returns the next node or NULL at the end. The node returned may be
 * removed (or freed) before the next call; other changes to the table
 * end the iteration's guarantees.
 */
struct ht_iter {
	size_t bucket;
	struct ht_node *next;
	bool started;
};

struct ht_node *ht_iter_next(const struct ht *t, struct ht_iter *it);

/* FNV-1a over a string; also what registration ids in reginfo are made of. */
uint64_t ht_hash_str(struct str s);

#define ht_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
