/*
 * golden.h - compare a produced transcript with a stored one.
 *
 * Tests that print what happened (a decode, a state machine's transitions)
 * keep the expected text in a file next to them. When a change is
 * intended, run the test with SIMREG_REGENERATE=1 to rewrite the file, and
 * review the diff.
 */
#ifndef SIMREG_TESTS_GOLDEN_H
#define SIMREG_TESTS_GOLDEN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *golden_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf)
			buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/*
 * Returns true when `text` equals the file at `path` (after rewriting it
 * under SIMREG_REGENERATE=1). On a difference both texts are printed.
 */
static inline bool golden_matches(const char *text, const char *path)
{
	const char *r = getenv("SIMREG_REGENERATE");
	char *want;
	bool same;

	if (r && *r == '1') {
		FILE *f = fopen(path, "w");

		if (!f)
			return false;
		fputs(text, f);
		fclose(f);
	}
	want = golden_slurp(path);
	if (!want) {
		printf("missing transcript %s (run with SIMREG_REGENERATE=1)\n", path);
		return false;
	}
	same = strcmp(want, text) == 0;
	if (!same)
		printf("--- %s (stored)\n%s--- produced\n%s", path, want, text);
	free(want);
	return same;
}

#endif
