#include "tsv.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/hex.h"

static int read_file(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;
	int rc = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		rc = -EIO;
		goto out;
	}
	buf = malloc((size_t)len + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		rc = -EIO;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
out:
	fclose(f);
	return rc;
}

/* Split one line at tabs; returns the number of fields. */
static size_t split(char *line, char **fields)
{
	size_t n = 0;

	for (;;) {
		char *tab = strchr(line, '\t');
		if (n < TSV_MAX_COLS)
			fields[n] = line;
		n++;
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

int tsv_load(struct tsv *t, const char *rel)
{
	const char *dir = getenv("SIMREG_TESTDATA");
	char path[1024], *line, *save = NULL;
	size_t cap = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!dir)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	rc = read_file(path, &t->text);
	if (rc)
		return rc;
	for (line = strtok_r(t->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (t->ncols == 0) {
			t->ncols = split(line, t->head);
			if (t->ncols > TSV_MAX_COLS)
				return -E2BIG;
			continue;
		}
		if (t->nrows == cap) {
			cap = cap ? 2 * cap : 16;
			t->rows = realloc(t->rows, cap * sizeof(*t->rows));
			if (!t->rows)
				return -ENOMEM;
		}
		memset(t->rows[t->nrows], 0, sizeof(t->rows[0]));
		if (split(line, t->rows[t->nrows]) != t->ncols)
			return -EBADMSG;
		t->nrows++;
	}
	return 0;
}

void tsv_free(struct tsv *t)
{
	free(t->text);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

const char *tsv_get(const struct tsv *t, size_t r, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcmp(t->head[c], name) == 0)
			return t->rows[r][c];
	fail_msg("no column '%s'", name);
	return NULL;
}

void tsv_hex(const struct tsv *t, size_t r, const char *name, uint8_t *out, size_t len)
{
	const char *v = tsv_get(t, r, name);

	if (hex_decode(str_from_cstr(v), out, len) != 0)
		fail_msg("row %zu column %s: '%s' is not %zu octets of hex", r, name, v, len);
}
