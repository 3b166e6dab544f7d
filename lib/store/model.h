/*
 * model.h - the rules of the subscriber data model.
 *
 * What makes an identity acceptable, how a derived-IMPI rule expands, and
 * how an IMPU list is written. Provisioning (`simreg ctl subscriber`) checks
 * every field with these before it touches the store, so a bad field is
 * reported by name and nothing is written.
 *
 * On error the functions return -EINVAL and set *why to a short static
 * explanation ("has no '@'"), which the caller prefixes with the field name.
 */
#ifndef SIMREG_STORE_MODEL_H
#define SIMREG_STORE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "store/store.h"

/*
 * An IMPI is a NAI, "user@realm" (TS 23.003 section 13.3, RFC 7542): both
 * parts non-empty, printable ASCII without spaces, quotes, angle brackets,
 * backslashes or the list separators ',' and '|', at most
 * STORE_IDENTITY_MAX bytes. The realm is what follows the last '@'.
 */
int model_check_impi(struct str impi, const char **why);

/*
 * An IMPU is a SIP, SIPS or tel URI (TS 23.003 section 13.4): a "sip:",
 * "sips:" or "tel:" scheme (any case) and a non-empty rest, with the same
 * character rules as an IMPI.
 */
int model_check_impu(struct str impu, const char **why);

/* Maximum length of a derived-IMPI rule. */
#define MODEL_RULE_MAX 128

/*
 * Expand a derived-IMPI rule for the subscription whose own IMPI is `impi`
 * (docs/hss.md, "Derived IMPIs"). A rule is a template of literal text and
 * three kinds of placeholder:
 *
 *     {user}    the user part of the IMPI (before its last '@')
 *     {realm}   the realm (after its last '@')
 *     {A..B}    every decimal number from A to B, at most once per rule
 *
 * "{user}+{2..3}@{realm}" for 001010123456789@ims.test gives
 * 001010123456789+2@ims.test and 001010123456789+3@ims.test. A rule
 * without a range gives one IMPI. An empty rule, or "none", gives none.
 * Every result must be a valid IMPI different from `impi`, and a rule gives
 * at most STORE_DERIVED_MAX of them.
 *
 * On success *out is an array of *n slices in the arena (NULL, 0 for no
 * derived IMPIs). Returns 0, -EINVAL (with *why), or -ENOMEM.
 */
int model_derived_expand(struct str rule, struct str impi, struct arena *a, struct str **out,
			 size_t *n, const char **why);

/* True if `rule` says "no derived IMPIs" (empty or "none"). */
bool model_rule_is_none(struct str rule);

/*
 * Parse an IMPU list: implicit registration sets separated by '|', the
 * IMPUs of a set by ','. "sip:a@x,tel:+1555|sip:b@x" is two sets, the first
 * with two IMPUs. Sets are numbered from `first_irs`; the first IMPU of
 * each set is its default. Appends to the array *out of *n elements in the
 * arena (start with NULL, 0), so repeated options accumulate; *next_irs
 * gets the number for the next set. Duplicates (against what is already in
 * the array too) are an error, as is going beyond STORE_IMPU_MAX IMPUs.
 */
int model_impu_list_parse(struct str text, uint32_t first_irs, struct arena *a,
			  struct store_impu_spec **out, size_t *n, uint32_t *next_irs,
			  const char **why);

/*
 * Mark the IMPUs named in `list` (comma or '|' separated) as barred or as
 * having unregistered services, according to `which`. Every name must be
 * one of the array's IMPUs.
 */
enum model_impu_flag {
	MODEL_IMPU_BARRED,
	MODEL_IMPU_UNREG_SERVICES,
};
int model_impu_flag(struct str list, enum model_impu_flag which, struct store_impu_spec *impus,
		    size_t n, const char **why);

#endif
