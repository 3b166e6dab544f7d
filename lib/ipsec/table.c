#include "ipsec/table.h"

#include <errno.h>
#include <stdbool.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

struct ipsec_table_slot {
	void *value; /* NULL: empty */
	uint64_t hash;
	unsigned char key[IPSEC_TABLE_KEY_MAX];
};

void ipsec_table_init(struct ipsec_table *t, size_t key_len)
{
	memset(t, 0, sizeof(*t));
	t->key_len = key_len;
}

void ipsec_table_free(struct ipsec_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->count = 0;
}

/* The 64-bit finaliser of MurmurHash3: full avalanche in a few cycles. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t key_hash(const struct ipsec_table *t, const void *key)
{
	const unsigned char *k = key;
	uint64_t h = t->seed ^ (t->key_len * 0x9e3779b97f4a7c15ULL);

	for (size_t off = 0; off < t->key_len; off += 8) {
		uint64_t w = 0;
		size_t n = t->key_len - off < 8 ? t->key_len - off : 8;

		memcpy(&w, k + off, n);
		h = mix64(h ^ w) + off;
	}
	return mix64(h);
}

static size_t find(const struct ipsec_table *t, const void *key, uint64_t h, bool *found)
{
	size_t mask = t->cap - 1;
	size_t i = (size_t)h & mask;

	for (;;) {
		const struct ipsec_table_slot *s = &t->slots[i];

		if (!s->value) {
			*found = false;
			return i;
		}
		if (s->hash == h && memcmp(s->key, key, t->key_len) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static int grow(struct ipsec_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	struct ipsec_table_slot *old = t->slots, *ns;
	size_t ocap = t->cap;

	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	if (!t->seed && RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1)
		t->seed = (uint64_t)(uintptr_t)t ^ 0x5a5a5a5a5a5a5a5aULL;
	t->slots = ns;
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		bool found;

		if (!old[i].value)
			continue;
		t->slots[find(t, old[i].key, old[i].hash, &found)] = old[i];
	}
	free(old);
	return 0;
}

void *ipsec_table_get(const struct ipsec_table *t, const void *key)
{
	bool found;
	size_t i;

	if (!t->count)
		return NULL;
	i = find(t, key, key_hash(t, key), &found);
	return found ? t->slots[i].value : NULL;
}

void **ipsec_table_ref(const struct ipsec_table *t, const void *key)
{
	bool found;
	size_t i;

	if (!t->count)
		return NULL;
	i = find(t, key, key_hash(t, key), &found);
	return found ? &t->slots[i].value : NULL;
}

int ipsec_table_add(struct ipsec_table *t, const void *key, void *value)
{
	struct ipsec_table_slot *s;
	bool found;
	uint64_t h;
	size_t i;
	int ret;

	if (!value || t->key_len > IPSEC_TABLE_KEY_MAX)
		return -EINVAL;
	/* Keep the load at or below one half: probes stay short. */
	if ((t->count + 1) * 2 > t->cap) {
		ret = grow(t);
		if (ret)
			return ret;
	}
	h = key_hash(t, key);
	i = find(t, key, h, &found);
	if (found)
		return -EEXIST;
	s = &t->slots[i];
	s->value = value;
	s->hash = h;
	memcpy(s->key, key, t->key_len);
	t->count++;
	return 0;
}

void *ipsec_table_del(struct ipsec_table *t, const void *key)
{
	size_t mask = t->cap - 1, i, j;
	void *value;
	bool found;

	if (!t->count)
		return NULL;
	i = find(t, key, key_hash(t, key), &found);
	if (!found)
		return NULL;
	value = t->slots[i].value;
	/*
	 * Backward shift: move later members of the probe run into the hole
	 * whenever the hole lies between their home slot and where they sit.
	 */
	for (j = (i + 1) & mask; t->slots[j].value; j = (j + 1) & mask) {
		size_t home = (size_t)t->slots[j].hash & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->count--;
	return value;
}

int ipsec_table_each(const struct ipsec_table *t,
		     int (*fn)(void *arg, const void *key, void *value), void *arg)
{
	for (size_t i = 0; i < t->cap; i++) {
		int ret;

		if (!t->slots[i].value)
			continue;
		ret = fn(arg, t->slots[i].key, t->slots[i].value);
		if (ret)
			return ret;
	}
	return 0;
}
