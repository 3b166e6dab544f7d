/*
 * table.h - an open-addressing hash map with fixed-size keys.
 *
 * The SA layer looks things up by SPI (inbound ESP), by address/port
 * 4-tuple (outbound datagrams) and keeps the SPIs and ports in use; a
 * P-CSCF holds a hundred thousand registrations, so these are hash maps,
 * not lists. Linear probing with backward-shift deletion: no tombstones, so
 * heavy churn never degrades lookups. The hash is seeded per table from
 * the system RNG, since some keys (a UE's address and ports) are chosen by
 * the peer.
 *
 * Keys are compared as bytes: callers zero their key structs before filling
 * them so padding never differs.
 */
#ifndef SIMREG_IPSEC_TABLE_H
#define SIMREG_IPSEC_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define IPSEC_TABLE_KEY_MAX 40

struct ipsec_table_slot;

struct ipsec_table {
	struct ipsec_table_slot *slots;
	size_t cap;   /* power of two, 0 before the first insert */
	size_t count;
	size_t key_len;
	uint64_t seed;
};

/* key_len bytes per key (at most IPSEC_TABLE_KEY_MAX). Does not allocate. */
void ipsec_table_init(struct ipsec_table *t, size_t key_len);
void ipsec_table_free(struct ipsec_table *t);

/* The value stored under key, or NULL. */
void *ipsec_table_get(const struct ipsec_table *t, const void *key);

/*
 * Store value (not NULL) under key. Returns 0, -EEXIST if the key is there
 * (the table is unchanged), -ENOMEM.
 */
int ipsec_table_add(struct ipsec_table *t, const void *key, void *value);

/* Where the value of key is stored (to change it in place), or NULL. */
void **ipsec_table_ref(const struct ipsec_table *t, const void *key);

/* Remove key and return its value, or NULL if absent. */
void *ipsec_table_del(struct ipsec_table *t, const void *key);

/*
 * Call fn for every entry, in no particular order, until it returns
 * non-zero (which is returned). fn must not change the table.
 */
int ipsec_table_each(const struct ipsec_table *t,
		     int (*fn)(void *arg, const void *key, void *value), void *arg);

#endif
