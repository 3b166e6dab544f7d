/*
 * tsv.h - read the specification's tab-separated vector files for the
 * table-driven tests: a header row naming the columns, one row per case.
 */
#ifndef SIMREG_TESTS_AKA_TSV_H
#define SIMREG_TESTS_AKA_TSV_H

#include <stddef.h>
#include <stdint.h>

#define TSV_MAX_COLS 32

struct tsv {
	char *text; /* the whole file, cut into fields in place */
	size_t ncols, nrows;
	char *head[TSV_MAX_COLS];
	char *(*rows)[TSV_MAX_COLS];
};

/* Load $SIMREG_TESTDATA/<rel>. Returns 0 or a negative errno. */
int tsv_load(struct tsv *t, const char *rel);
void tsv_free(struct tsv *t);

/* The field of row r in column `name`; the test fails if there is none. */
const char *tsv_get(const struct tsv *t, size_t r, const char *name);

/* Decode the field as exactly `len` octets of hex; fails the test if not. */
void tsv_hex(const struct tsv *t, size_t r, const char *name, uint8_t *out, size_t len);

#endif
