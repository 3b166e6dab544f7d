/*
 * htab.h - the S-CSCF's indexes: intrusive hash tables keyed by a string
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
#ifndef SIMREG_SCSCF_HTAB_H
#define SIMREG_SCSCF_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct htab_node {
	struct htab_node *next;
	uint64_t hash;
	struct str key; /* string tables: the key, owned by the object */
	uint64_t id;    /* id tables: the key */
	bool linked;
};

struct htab {
	struct htab_node **b;
	size_t mask;    /* buckets - 1; buckets is a power of two */
	size_t n;
	bool by_id;
};

/*
 * Prepare an empty table of string keys (by_id false) or id keys. Buckets
 * are allocated on first insert. Returns nothing; cannot fail.
 */
void htab_init(struct htab *t, bool by_id);

/* Free the bucket array; the nodes belong to their objects. */
void htab_free(struct htab *t);

/*
 * Link `n` under `key` (string tables) or `id` (id tables). A node may be
 * in one table at a time; duplicates are allowed (the caller decides).
 * Returns 0 or -ENOMEM (the node is then not linked).
 */
int htab_insert_str(struct htab *t, struct htab_node *n, struct str key);
int htab_insert_id(struct htab *t, struct htab_node *n, uint64_t id);

/* Unlink; a node that is not linked is left alone. */
void htab_remove(struct htab *t, struct htab_node *n);

/* The first node with this key, or NULL. */
struct htab_node *htab_find_str(const struct htab *t, struct str key);
struct htab_node *htab_find_id(const struct htab *t, uint64_t id);

/* The next node after `n` with the same key (duplicates), or NULL. */
struct htab_node *htab_next_same(const struct htab *t, const struct htab_node *n);

/*
 * Iterate over every node. Start with a zeroed struct htab_iter; each call
 * returns the next node or NULL at the end. The node returned may be
 * removed (or freed) before the next call; other changes to the table
 * end the iteration's guarantees.
 */
struct htab_iter {
	size_t bucket;
	struct htab_node *next;
	bool started;
};

struct htab_node *htab_iter_next(const struct htab *t, struct htab_iter *it);

/* FNV-1a over a string; also what registration ids in reginfo are made of. */
uint64_t htab_hash_str(struct str s);

#define htab_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
