/*
 * libFuzzer target for lib/reginfo.
 *
 * Whatever the input, reginfo_parse() must return without a crash, a leak
 * or undefined behaviour. When it accepts a document and the builder
 * accepts the model, the property checked is the round trip: the rebuilt
 * document parses again, into the same model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "reginfo/reginfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *printed(const struct reginfo *doc)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	reginfo_print(doc, f);
	fclose(f);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reginfo_error err;
	struct reginfo doc, again;
	struct arena a;
	char *out = NULL, *p1 = NULL, *p2 = NULL;
	size_t cap, len;

	arena_init(&a, 0, 0);
	if (reginfo_parse((const char *)data, size, &a, &doc, &err) != 0)
		goto done;
	/* Escaping can grow text at most sixfold ("\"" -> "&quot;"). */
	cap = 6 * size + 4096;
	out = malloc(cap);
	if (!out)
		abort();
	if (reginfo_build(&doc, out, cap, &len, &err) != 0)
		goto done;
	if (reginfo_parse(out, len, &a, &again, &err) != 0) {
		fprintf(stderr, "rebuilt document refused: %s\n%.*s\n", err.msg, (int)len, out);
		abort();
	}
	p1 = printed(&doc);
	p2 = printed(&again);
	if (strcmp(p1, p2) != 0) {
		fprintf(stderr, "round trip changed the model:\n%s---\n%s", p1, p2);
		abort();
	}
done:
	free(p1);
	free(p2);
	free(out);
	arena_destroy(&a);
	return 0;
}
