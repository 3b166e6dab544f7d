/*
 * import.h - `simreg ctl subscriber import FILE.csv`.
 */
#ifndef SIMREG_CTL_IMPORT_H
#define SIMREG_CTL_IMPORT_H

#include <stdint.h>

#include "store/store.h"

/* Errors reported before giving up on a file. */
#define IMPORT_MAX_ERRORS 20

struct import_result {
	uint64_t rows;          /* subscriptions imported */
	unsigned errors;
};

/*
 * Import every row of a CSV file (RFC 4180: ',' separated, '"' quoting
 * with "" for a quote, CRLF or LF line ends) in one transaction. The first
 * line names the columns with the field names of sub_fields.h. Errors are
 * printed as "FILE:LINE: field 'NAME': WHY"; after the first, the rest of
 * the file is still checked (up to IMPORT_MAX_ERRORS) and nothing is
 * written. Returns 0, -EINVAL when the file has errors, or another
 * negative errno (unreadable file, store failure).
 */
int import_csv(struct store *st, const char *path, struct import_result *res);

#endif
