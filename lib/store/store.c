/*
 * store.c - backend selection and the transaction helper.
 */
#include "store/store.h"

#include <errno.h>
#include <string.h>

struct backend {
	const char *prefix;
	int (*open)(const char *location, struct store **out);
};

static const struct backend backends[] = {
	{ "sqlite:", store_sqlite_open },
};

int store_open(const char *location, struct store **out)
{
	const char *colon = strchr(location, ':');

	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t l = strlen(backends[i].prefix);

		if (strncmp(location, backends[i].prefix, l) == 0)
			return backends[i].open(location + l, out);
	}
	/* "name:..." with an unknown name is a typo, not a file called so. */
	if (colon && colon != location && !strchr(location, '/') &&
	    strspn(location, "abcdefghijklmnopqrstuvwxyz") == (size_t)(colon - location))
		return -EINVAL;
	return store_sqlite_open(location, out);
}

int store_transaction(struct store *st, int (*fn)(struct store *st, void *ctx), void *ctx)
{
	int err = store_begin(st);

	if (err)
		return err;
	err = fn(st, ctx);
	if (err) {
		store_rollback(st);
		return err;
	}
	return store_commit(st);
}
