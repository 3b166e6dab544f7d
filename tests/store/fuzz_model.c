/*
 * fuzz_model - the data-model parsers on arbitrary text: derived-IMPI
 * rules, IMPU lists and identity checks. No crash, no leak, and whatever a
 * rule expands to is a valid IMPI other than the subscription's own.
 *
 * Input: RULE '\n' IMPI '\n' IMPU-LIST '\n' FLAG-LIST (missing parts empty).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/model.h"

static struct str next_line(struct str *rest)
{
	ptrdiff_t nl = str_chr(*rest, '\n');
	struct str line;

	if (nl < 0) {
		line = *rest;
		*rest = str_make(rest->s + rest->len, 0);
		return line;
	}
	line = str_sub(*rest, 0, (size_t)nl);
	*rest = str_sub(*rest, (size_t)nl + 1, rest->len - (size_t)nl - 1);
	return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str rest = str_make((const char *)data, size);
	struct str rule = next_line(&rest), impi = next_line(&rest);
	struct str impus = next_line(&rest), flags = next_line(&rest);
	struct store_impu_spec *v = NULL;
	struct str *derived = NULL;
	const char *why = NULL;
	uint32_t next_irs = 0;
	size_t n = 0;
	struct arena a;

	arena_init(&a, 0, 0);
	model_check_impi(impi, &why);
	model_check_impu(impus, &why);
	if (model_derived_expand(rule, impi, &a, &derived, &n, &why) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (model_check_impi(derived[i], &why) != 0 || str_eq(derived[i], impi))
				abort();
		}
		if (n > STORE_DERIVED_MAX)
			abort();
	}
	n = 0;
	if (model_impu_list_parse(impus, 1, &a, &v, &n, &next_irs, &why) == 0) {
		if (n == 0 || n > STORE_IMPU_MAX)
			abort();
		model_impu_flag(flags, MODEL_IMPU_BARRED, v, n, &why);
	}
	arena_destroy(&a);
	return 0;
}
