#include "ctl/import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ctl/sub_fields.h"

/* A CSV record: its fields as slices into buf. */
struct csv_record {
	char *buf;
	size_t len, cap;
	size_t *start, *flen;   /* per field: offset in buf and length */
	size_t nfields, fcap;
	unsigned long line;     /* where the record starts */
};

struct csv_reader {
	FILE *fp;
	unsigned long line;     /* current line, from 1 */
};

static int rec_putc(struct csv_record *r, char c)
{
	if (r->len == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		char *nb = realloc(r->buf, ncap);

		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = ncap;
	}
	r->buf[r->len++] = c;
	return 0;
}

static int rec_field_start(struct csv_record *r)
{
	if (r->nfields == r->fcap) {
		size_t ncap = r->fcap ? r->fcap * 2 : 16;
		size_t *ns = realloc(r->start, ncap * sizeof(*ns));
		size_t *nl;

		if (!ns)
			return -ENOMEM;
		r->start = ns;
		nl = realloc(r->flen, ncap * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		r->flen = nl;
		r->fcap = ncap;
	}
	r->start[r->nfields] = r->len;
	r->flen[r->nfields] = 0;
	r->nfields++;
	return 0;
}

static void rec_field_end(struct csv_record *r)
{
	r->flen[r->nfields - 1] = r->len - r->start[r->nfields - 1];
}

static struct str rec_field(const struct csv_record *r, size_t i)
{
	return str_make(r->buf + r->start[i], r->flen[i]);
}

/*
 * Read one record. Returns 1 when a record was read, 0 at end of file,
 * -EBADMSG for a quoting error (an unterminated quote, or text after a
 * closing quote), -ENOMEM. Blank lines are skipped.
 */
static int csv_read(struct csv_reader *rd, struct csv_record *r)
{
	bool quoted = false, after_quote = false;
	int c;

	r->len = 0;
	r->nfields = 0;
	for (;;) {
		c = getc_unlocked(rd->fp);
		if (c == EOF)
			return 0;
		if (c == '\n') {
			rd->line++;
			continue;
		}
		if (c != '\r')
			break;
	}
	r->line = rd->line;
	if (rec_field_start(r))
		return -ENOMEM;
	for (;; c = getc_unlocked(rd->fp)) {
		if (quoted) {
			if (c == EOF)
				return -EBADMSG;
			if (c == '"') {
				int next = getc_unlocked(rd->fp);

				if (next == '"') {
					if (rec_putc(r, '"'))
						return -ENOMEM;
					continue;
				}
				ungetc(next, rd->fp);
				quoted = false;
				after_quote = true;
				continue;
			}
			if (c == '\n')
				rd->line++;
			if (rec_putc(r, (char)c))
				return -ENOMEM;
			continue;
		}
		if (c == ',' ) {
			rec_field_end(r);
			if (rec_field_start(r))
				return -ENOMEM;
			after_quote = false;
			continue;
		}
		if (c == '\r')
			continue;
		if (c == '\n' || c == EOF) {
			if (c == '\n')
				rd->line++;
			rec_field_end(r);
			return 1;
		}
		if (after_quote)
			return -EBADMSG;
		if (c == '"' && r->len == r->start[r->nfields - 1]) {
			quoted = true;
			continue;
		}
		if (rec_putc(r, (char)c))
			return -ENOMEM;
	}
}

struct import {
	struct store *st;
	const char *path;
	int column[64];         /* column -> enum sub_field */
	size_t ncolumns;
	struct import_result *res;
	bool failed;
};

static void report(struct import *im, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct import *im, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	im->failed = true;
	im->res->errors++;
	if (im->res->errors > IMPORT_MAX_ERRORS)
		return;
	fprintf(stderr, "simreg ctl subscriber: %s:%lu: ", im->path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int read_header(struct import *im, const struct csv_record *r)
{
	bool seen[SF__COUNT] = { false };

	if (r->nfields > sizeof(im->column) / sizeof(im->column[0])) {
		report(im, r->line, "too many columns");
		return -EINVAL;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		struct str name = str_trim(rec_field(r, i));
		int id = sub_field_lookup(name);

		if (id < 0) {
			report(im, r->line,
			       "column '%.*s': unknown (columns are the field names of"
			       " `simreg ctl subscriber --help`)",
			       STR_FMT(name));
			return -EINVAL;
		}
		if (seen[id]) {
			report(im, r->line, "column '%s': appears twice", sub_field_name[id]);
			return -EINVAL;
		}
		seen[id] = true;
		im->column[i] = id;
	}
	im->ncolumns = r->nfields;
	if (!seen[SF_IMPI] || !seen[SF_IMPU] || !seen[SF_K] || (!seen[SF_OPC] && !seen[SF_OP])) {
		report(im, r->line, "the header needs the columns impi, impu, k and opc or op");
		return -EINVAL;
	}
	return 0;
}

static void row_error(struct import *im, unsigned long line, const struct sub_error *e)
{
	if (e->detail[0])
		report(im, line, "field '%s': %s: %s", sub_field_name[e->field], e->why, e->detail);
	else
		report(im, line, "field '%s': %s", sub_field_name[e->field], e->why);
}

static int import_row(struct import *im, const struct csv_record *r, struct arena *a)
{
	struct store_subscription_spec spec;
	struct sub_fields f;
	struct sub_error e;
	int err;

	if (r->nfields != im->ncolumns) {
		report(im, r->line, "has %zu fields, the header has %zu", r->nfields,
		       im->ncolumns);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	for (size_t i = 0; i < r->nfields; i++) {
		struct str v = rec_field(r, i);

		/* An empty cell means "not given" (an op column next to opc). */
		if (str_trim(v).len == 0)
			continue;
		f.v[im->column[i]] = v;
		f.set[im->column[i]] = true;
	}
	err = sub_fields_to_spec(&f, a, &spec, &e);
	if (err == -EINVAL) {
		row_error(im, r->line, &e);
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	/* Rows after an error are still inserted, into a transaction that
	 * will be rolled back, so conflicts among them are found too. */
	err = store_sub_insert(im->st, &spec, NULL);
	if (err == -EEXIST) {
		if (sub_find_conflict(im->st, &spec, a, &e) == 0)
			row_error(im, r->line, &e);
		else
			report(im, r->line, "an identity of this row is already provisioned");
		err = 0;
		goto out;
	}
	if (!err)
		im->res->rows++;
out:
	explicit_bzero(&spec, sizeof(spec));
	return err;
}

int import_csv(struct store *st, const char *path, struct import_result *res)
{
	struct csv_record r = { 0 };
	struct csv_reader rd = { .line = 1 };
	struct import im = { .st = st, .path = path, .res = res };
	struct arena a;
	bool header = true;
	int err = 0;
	int got;

	memset(res, 0, sizeof(*res));
	rd.fp = fopen(path, "r");
	if (!rd.fp) {
		err = -errno;
		fprintf(stderr, "simreg ctl subscriber: import: %s: %s\n", path, strerror(errno));
		return err;
	}
	setvbuf(rd.fp, NULL, _IOFBF, 1 << 20);
	arena_init(&a, 0, ARENA_WIPE);
	err = store_begin(st);
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: import: %s\n", strerror(-err));
		goto out;
	}
	while ((got = csv_read(&rd, &r)) == 1) {
		if (header) {
			header = false;
			if (read_header(&im, &r))
				break;
			continue;
		}
		arena_reset(&a);
		err = import_row(&im, &r, &a);
		if (err || res->errors > IMPORT_MAX_ERRORS)
			break;
	}
	if (got == -EBADMSG)
		report(&im, r.line, "a quoted field of this record is not closed properly");
	else if (got < 0 && !err)
		err = got;
	if (!err && header)
		report(&im, 1, "the file is empty (it needs a header line)");
	if (!err && ferror(rd.fp)) {
		err = -EIO;
		fprintf(stderr, "simreg ctl subscriber: import: %s: read error\n", path);
	}
	if (err || im.failed) {
		store_rollback(st);
		if (res->errors > IMPORT_MAX_ERRORS)
			fprintf(stderr, "simreg ctl subscriber: %s: more errors not shown\n", path);
		if (!err) {
			fprintf(stderr, "simreg ctl subscriber: %s: %u error%s, nothing imported\n",
				path, res->errors, res->errors == 1 ? "" : "s");
			err = -EINVAL;
		} else if (err != -EIO) {
			fprintf(stderr, "simreg ctl subscriber: import: %s\n", strerror(-err));
		}
		res->rows = 0;
		goto out;
	}
	err = store_commit(st);
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: import: commit: %s\n", strerror(-err));
		res->rows = 0;
	}
out:
	arena_destroy(&a);
	free(r.buf);
	free(r.start);
	free(r.flen);
	fclose(rd.fp);
	return err;
}
