/*
 * sub_fields.h - the fields of a subscription as an operator writes them.
 *
 * `subscriber add`, `subscriber set` and `subscriber import` all take the
 * same fields, as command-line options (--k HEX) or CSV columns (k); this
 * is the one place that turns their text into a store specification, and
 * names the field when its text is wrong.
 */
#ifndef SIMREG_CTL_SUB_FIELDS_H
#define SIMREG_CTL_SUB_FIELDS_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/str.h"
#include "store/store.h"

/* X(id, name, argument, help) - the name is the option without "--" and
 * the CSV column. */
#define SUB_FIELDS(X)                                                                       \
	X(IMPI, "impi", "IMPI", "private identity, user@realm")                             \
	X(IMPU, "impu", "U[,U...][|U...]",                                                  \
	  "public identities: ',' within an implicit registration set, '|' between sets;" \
	  " repeat the option for more sets; the first of each set is its default")         \
	X(K, "k", "HEX", "subscriber key K, 32 hex digits")                                 \
	X(OPC, "opc", "HEX", "OPc, 32 hex digits (or --op)")                                \
	X(OP, "op", "HEX", "operator variant OP, 32 hex digits (or --opc)")                 \
	X(AMF, "amf", "HEX", "authentication management field, 4 hex digits (default 8000)") \
	X(SQN, "sqn", "HEX", "the last SQN issued, up to 12 hex digits (default 0)")        \
	X(DERIVED, "derived-impi", "RULE",                                                  \
	  "derived IMPIs for modified-impi, e.g. '{user}+{2..3}@{realm}'; none to clear")   \
	X(MAX_REG, "max-registrations", "N",                                                \
	  "IMPIs of the subscription registered at once, 0 for no limit (default 0)")       \
	X(BARRED, "barred", "U[,U...]", "barred IMPUs (among --impu); none to clear")       \
	X(UNREG, "unregistered-services", "U[,U...]",                                       \
	  "IMPUs with services while not registered; none to clear")                       \
	X(ROAMING, "roaming", "yes|no", "allowed to register from visited networks (default no)")

enum sub_field {
#define X(id, name, arg, help) SF_##id,
	SUB_FIELDS(X)
#undef X
	SF__COUNT
};

extern const char *const sub_field_name[SF__COUNT];
extern const char *const sub_field_arg[SF__COUNT];
extern const char *const sub_field_help[SF__COUNT];

/* Field name ("derived-impi") to id; -1 if unknown. */
int sub_field_lookup(struct str name);

/* The text given for each field; set[] says which were given at all. */
struct sub_fields {
	struct str v[SF__COUNT];
	bool set[SF__COUNT];
};

/* What went wrong, for the caller to print with its own prefix. */
struct sub_error {
	enum sub_field field;
	const char *why;
	char detail[300];       /* an identity involved, when there is one */
};

/*
 * Build the specification of a new subscription (`add`, `import`).
 * Strings in spec point into f's text or the arena. Returns 0 or -EINVAL
 * (or -ENOMEM) with e filled.
 */
int sub_fields_to_spec(const struct sub_fields *f, struct arena *a,
		       struct store_subscription_spec *spec, struct sub_error *e);

/*
 * Apply `set` fields to the subscription `id` (whose own IMPI is `impi`),
 * inside the caller's transaction. Returns 0, -EINVAL with e filled, or
 * a store error.
 */
int sub_fields_apply(const struct sub_fields *f, struct store *st, int64_t id, struct str impi,
		     struct arena *a, struct sub_error *e);

/*
 * After -EEXIST from the store, find which identity of spec is already
 * provisioned and describe it in e. Returns 0 when found.
 */
int sub_find_conflict(struct store *st, const struct store_subscription_spec *spec,
		      struct arena *a, struct sub_error *e);

#endif
