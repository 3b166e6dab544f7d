/*
 * Test RANDs: the RAND seam of the HSS bound to a file (hss.test.rand_file).
 *
 * A test that drives a third-party UE sometimes has to choose the RAND:
 * SIPp 3.6.1 computes a wrong Digest response whenever RES holds a 0x00
 * octet (about 3% of random RANDs), so SIPp-driven tests would fail now
 * and then for a fault that is not ours. Such a test picks RANDs whose RES
 * is safe and lists them in a file; the HSS hands them out in order, one
 * per vector, and returns to RAND_bytes() once they are used up.
 *
 * A RAND the network chooses is the whole freshness of AKA (TS 33.102
 * 6.3.2 wants it unpredictable), so this is for tests only; the HSS says so
 * loudly when it is on.
 */
#define SLOG_COMPONENT "hss"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/log.h"
#include "hss/hss.h"

/* More than any test needs; a bigger file is likely not a RAND list. */
#define TEST_RANDS_MAX (1u << 20)

static int test_rand_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct hss_test_rands *t = ctx;

	if (t->next >= t->n || len != AKA_RAND_LEN)
		return aka_rand_system.fill(aka_rand_system.ctx, buf, len);
	memcpy(buf, t->v[t->next++], AKA_RAND_LEN);
	if (t->next == t->n)
		log_warn("the %zu test RANDs of %s are used up: RANDs are random again", t->n,
			 t->path);
	return 0;
}

/* One line: blank, a '#' comment, or 32 hex digits (spaces around allowed). */
static int parse_line(char *line, uint8_t rand[AKA_RAND_LEN], bool *is_rand)
{
	char *s = line, *e = line + strlen(line);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*is_rand = false;
	if (s == e || *s == '#')
		return 0;
	*is_rand = true;
	return hex_decode((struct str){ s, (size_t)(e - s) }, rand, AKA_RAND_LEN);
}

int hss_test_rands_load(const char *path, struct hss_test_rands *out)
{
	struct hss_test_rands t = { .path = path };
	size_t cap = 0, lineno = 0, linecap = 0;
	char *line = NULL;
	FILE *f;
	int err = 0;

	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		log_error("hss.test.rand_file: %s: %s", path, strerror(errno));
		goto out;
	}
	while (getline(&line, &linecap, f) >= 0) {
		uint8_t rand[AKA_RAND_LEN];
		bool is_rand;

		lineno++;
		if (parse_line(line, rand, &is_rand)) {
			log_error("hss.test.rand_file: %s:%zu: not a RAND (32 hex digits)", path,
				  lineno);
			err = -EINVAL;
			goto out;
		}
		if (!is_rand)
			continue;
		if (t.n == TEST_RANDS_MAX) {
			log_error("hss.test.rand_file: %s: more than %u RANDs", path,
				  TEST_RANDS_MAX);
			err = -E2BIG;
			goto out;
		}
		if (t.n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			void *nv = realloc(t.v, ncap * sizeof(*t.v));

			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			t.v = nv;
			cap = ncap;
		}
		memcpy(t.v[t.n++], rand, AKA_RAND_LEN);
	}
	if (ferror(f)) {
		err = -EIO;
		log_error("hss.test.rand_file: %s: read error", path);
		goto out;
	}
	if (t.n == 0) {
		log_error("hss.test.rand_file: %s holds no RAND", path);
		err = -EINVAL;
		goto out;
	}
	*out = t;
	t.v = NULL;
out:
	free(t.v);
	free(line);
	if (f)
		fclose(f);
	return err;
}

struct aka_rand_source hss_test_rands_source(struct hss_test_rands *t)
{
	log_warn("TEST RANDs ACTIVE: hss.test.rand_file=%s gives the next %zu RANDs in order; "
		 "RANDs are predictable, for tests only, never in service (docs/hss.md)",
		 t->path, t->n);
	return (struct aka_rand_source){ .fill = test_rand_fill, .ctx = t };
}

void hss_test_rands_free(struct hss_test_rands *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
