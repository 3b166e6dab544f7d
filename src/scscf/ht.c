/*
 * ht.c - intrusive hash tables with chaining; the bucket array doubles
 * when the load reaches one node per bucket.
 */
#include "scscf/ht.h"

#include <errno.h>
#include <stdlib.h>

#define HTAB_MIN_BUCKETS 64

uint64_t ht_hash_str(struct str s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* splitmix64's finaliser: ids are sequential, buckets should not be. */
static uint64_t hash_id(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void ht_init(struct ht *t, bool by_id)
{
	t->b = NULL;
	t->mask = 0;
	t->n = 0;
	t->by_id = by_id;
}

void ht_free(struct ht *t)
{
	free(t->b);
	t->b = NULL;
	t->mask = 0;
	t->n = 0;
}

static int grow(struct ht *t)
{
	size_t nb = t->b ? (t->mask + 1) * 2 : HTAB_MIN_BUCKETS;
	struct ht_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	if (t->b) {
		for (size_t i = 0; i <= t->mask; i++) {
			struct ht_node *n = t->b[i], *next;

			for (; n; n = next) {
				next = n->next;
				n->next = b[n->hash & (nb - 1)];
				b[n->hash & (nb - 1)] = n;
			}
		}
		free(t->b);
	}
	t->b = b;
	t->mask = nb - 1;
	return 0;
}

static int insert(struct ht *t, struct ht_node *n)
{
	struct ht_node **head;

	if ((!t->b || t->n >= t->mask + 1) && grow(t) < 0 && !t->b)
		return -ENOMEM;
	head = &t->b[n->hash & t->mask];
	n->next = *head;
	*head = n;
	n->linked = true;
	t->n++;
	return 0;
}

int ht_insert_str(struct ht *t, struct ht_node *n, struct str key)
{
	n->key = key;
	n->id = 0;
	n->hash = ht_hash_str(key);
	return insert(t, n);
}

int ht_insert_id(struct ht *t, struct ht_node *n, uint64_t id)
{
	n->key = STR_NULL;
	n->id = id;
	n->hash = hash_id(id);
	return insert(t, n);
}

void ht_remove(struct ht *t, struct ht_node *n)
{
	struct ht_node **pp;

	if (!n->linked || !t->b)
		return;
	for (pp = &t->b[n->hash & t->mask]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			n->linked = false;
			t->n--;
			return;
		}
	}
}

static bool matches(const struct ht *t, const struct ht_node *n, uint64_t hash, struct str key,
		    uint64_t id)
{
	if (n->hash != hash)
		return false;
	return t->by_id ? n->id == id : str_eq(n->key, key);
}

struct ht_node *ht_find_str(const struct ht *t, struct str key)
{
	uint64_t h = ht_hash_str(key);

	if (!t->b)
		return NULL;
	for (struct ht_node *n = t->b[h & t->mask]; n; n = n->next) {
		if (matches(t, n, h, key, 0))
			return n;
	}
	return NULL;
}

struct ht_node *ht_find_id(const struct ht *t, uint64_t id)
{
	uint64_t h = hash_id(id);

	if (!t->b)
		return NULL;
	for (struct ht_node *n = t->b[h & t->mask]; n; n = n->next) {
		if (matches(t, n, h, STR_NULL, id))
			return n;
	}
	return NULL;
}

struct ht_node *ht_next_same(const struct ht *t, const struct ht_node *n)
{
	for (struct ht_node *m = n->next; m; m = m->next) {
		if (matches(t, m, n->hash, n->key, n->id))
			return m;
	}
	return NULL;
}

static struct ht_node *scan(const struct ht *t, struct ht_iter *it)
{
	while (t->b && it->bucket <= t->mask) {
		struct ht_node *n = t->b[it->bucket++];

		if (n)
			return n;
	}
	return NULL;
}

struct ht_node *ht_iter_next(const struct ht *t, struct ht_iter *it)
{
	struct ht_node *n;

	if (!it->started) {
		it->started = true;
		it->bucket = 0;
		it->next = scan(t, it);
	}
	n = it->next;
	if (n)
		it->next = n->next ? n->next : scan(t, it);
	return n;
}
