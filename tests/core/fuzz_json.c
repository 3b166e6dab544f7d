/*
 * fuzz_json: the JSON reader on arbitrary bytes. Whatever parses must
 * write back (compact) to a document that parses again and writes back to
 * the same bytes: the canonical form is a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

static int canonical(const char *in, size_t len, struct json_writer *w, struct str *out)
{
	struct arena a;
	struct json_value *v;
	int rc;

	arena_init(&a, 0, 0);
	json_writer_init(w, 0);
	rc = json_parse(&a, str_make(in, len), &v, NULL);
	if (!rc) {
		json_write_value(w, v);
		rc = json_writer_finish(w, out);
	}
	arena_destroy(&a);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_writer w1, w2;
	struct str c1, c2;

	if (canonical((const char *)data, size, &w1, &c1) == 0) {
		if (canonical(c1.s, c1.len, &w2, &c2) != 0 || !str_eq(c1, c2))
			abort();
		json_writer_free(&w2);
	}
	json_writer_free(&w1);
	return 0;
}
