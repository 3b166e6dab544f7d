/*
 * table.c - slots with generations, and the chained hash table.
 */
#include "sip/table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void sip_slots_init(struct sip_slots *s)
{
	memset(s, 0, sizeof(*s));
}

void sip_slots_free(struct sip_slots *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

uint64_t sip_slots_add(struct sip_slots *s, void *p)
{
	uint32_t i;

	if (!s->free_head) {
		uint32_t ncap = s->cap ? s->cap * 2 : 64;
		struct sip_slot *nv;

		if (ncap <= s->cap || ncap > UINT32_MAX / 2)
			return 0;
		nv = realloc(s->v, (size_t)ncap * sizeof(*nv));
		if (!nv)
			return 0;
		for (uint32_t k = s->cap; k < ncap; k++) {
			nv[k].p = NULL;
			nv[k].gen = 1;
			nv[k].next_free = k + 1 < ncap ? k + 2 : 0;
		}
		s->free_head = s->cap + 1;
		s->v = nv;
		s->cap = ncap;
	}
	i = s->free_head - 1;
	s->free_head = s->v[i].next_free;
	s->v[i].p = p;
	s->v[i].next_free = 0;
	s->used++;
	return ((uint64_t)s->v[i].gen << 32) | (uint64_t)(i + 1);
}

void *sip_slots_get(const struct sip_slots *s, uint64_t id)
{
	uint32_t i = (uint32_t)id, gen = (uint32_t)(id >> 32);

	if (i == 0 || i > s->cap || s->v[i - 1].gen != gen)
		return NULL;
	return s->v[i - 1].p;
}

void sip_slots_remove(struct sip_slots *s, uint64_t id)
{
	uint32_t i = (uint32_t)id;

	if (!sip_slots_get(s, id))
		return;
	i--;
	s->v[i].p = NULL;
	/* Generation 0 is skipped, so no id is ever 0 in its high half either. */
	s->v[i].gen = s->v[i].gen + 1 ? s->v[i].gen + 1 : 1;
	s->v[i].next_free = s->free_head;
	s->free_head = i + 1;
	s->used--;
}

void *sip_slots_next(const struct sip_slots *s, uint32_t *pos)
{
	while (*pos < s->cap) {
		void *p = s->v[(*pos)++].p;

		if (p)
			return p;
	}
	return NULL;
}

int sip_htab_init(struct sip_htab *t, size_t buckets)
{
	size_t nb = 16;

	while (nb < buckets)
		nb <<= 1;
	memset(t, 0, sizeof(*t));
	t->b = calloc(nb, sizeof(*t->b));
	if (!t->b)
		return -ENOMEM;
	t->mask = nb - 1;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != (ssize_t)sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ 0x5bd1e9955bd1e995ull;
	return 0;
}

void sip_htab_free(struct sip_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->n = 0;
}

static void grow(struct sip_htab *t)
{
	size_t nb = (t->mask + 1) * 2;
	struct sip_hnode **nbk = calloc(nb, sizeof(*nbk));

	if (!nbk)
		return; /* longer chains, still correct */
	for (size_t i = 0; i <= t->mask; i++) {
		struct sip_hnode *n = t->b[i];

		while (n) {
			struct sip_hnode *next = n->next;
			size_t j = n->hash & (nb - 1);

			n->next = nbk[j];
			nbk[j] = n;
			n = next;
		}
	}
	free(t->b);
	t->b = nbk;
	t->mask = nb - 1;
}

void sip_htab_insert(struct sip_htab *t, struct sip_hnode *node, uint64_t hash)
{
	struct sip_hnode **head;

	if (t->n >= t->mask + 1)
		grow(t);
	node->hash = hash;
	head = &t->b[hash & t->mask];
	node->next = *head;
	*head = node;
	t->n++;
}

void sip_htab_remove(struct sip_htab *t, struct sip_hnode *node)
{
	struct sip_hnode **pp = &t->b[node->hash & t->mask];

	while (*pp && *pp != node)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = node->next;
		node->next = NULL;
		t->n--;
	}
}

/* FNV-1a over the bytes, then a splitmix64 finish so that the low bits
 * (the bucket index) depend on every byte. */
static uint64_t finish(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

uint64_t sip_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	h ^= 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return finish(h);
}

uint64_t sip_hash_bytes_case(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	h ^= 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = c[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		h = (h ^ x) * 0x100000001b3ull;
	}
	return finish(h);
}

uint64_t sip_hash_u64(uint64_t h, uint64_t v)
{
	return finish(h ^ (v * 0x9e3779b97f4a7c15ull));
}
