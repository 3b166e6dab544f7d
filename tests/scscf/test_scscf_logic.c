/*
 * test_scscf_logic - the S-CSCF's registrar, reg-event notifier and
 * router as transcripts: every scenario (tests/scscf/scenarios, NAME.scn) is
 * run by the harness (harness.h) and its transcript compared with the
 * .expected file next to it. After an intended change:
 *
 *     SIMREG_REGEN=1 ctest --test-dir build -R test_scscf_logic
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "harness.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static void run_scenario(void **state)
{
	const char *scn = *state;
	const char *dir = getenv("SCSCF_SCENARIOS");
	const char *testdata = getenv("SIMREG_TESTDATA");
	char path[1024], expected_path[1024];
	char *out = NULL, *expected;
	size_t out_len = 0, exp_len = 0;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, scn);
	snprintf(expected_path, sizeof(expected_path), "%s/%.*s.expected", dir,
		 (int)(strlen(scn) - 4), scn);
	f = open_memstream(&out, &out_len);
	assert_non_null(f);
	rc = harness_run(path, testdata, f);
	fclose(f);
	if (getenv("SIMREG_REGEN") && strcmp(getenv("SIMREG_REGEN"), "1") == 0) {
		f = fopen(expected_path, "wb");
		assert_non_null(f);
		fwrite(out, 1, out_len, f);
		fclose(f);
		printf("regenerated %s\n", expected_path);
	}
	expected = slurp(expected_path, &exp_len);
	if (!expected || exp_len != out_len || memcmp(expected, out, out_len) != 0) {
		char got[1100];

		snprintf(got, sizeof(got), "%s.got", expected_path);
		f = fopen(got, "wb");
		if (f) {
			fwrite(out, 1, out_len, f);
			fclose(f);
		}
		print_error("%s: transcript differs from %s (see %s)\n", scn, expected_path, got);
		free(expected);
		free(out);
		fail();
	}
	free(expected);
	free(out);
	assert_int_equal(rc, 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *dir = getenv("SCSCF_SCENARIOS");
	struct CMUnitTest tests[64];
	char *names[64];
	size_t n = 0;
	struct dirent *e;
	DIR *d;
	int rc;

	slog_init("test", SLOG_TARGET_STDERR, SLOG_ERROR);
	if (!dir || !(d = opendir(dir))) {
		fprintf(stderr, "SCSCF_SCENARIOS is not a directory\n");
		return 1;
	}
	while ((e = readdir(d)) && n < 64) {
		size_t l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".scn") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){ names[i], run_scenario, NULL, NULL, names[i] };
	rc = _cmocka_run_group_tests("scscf scenarios", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return rc;
}
