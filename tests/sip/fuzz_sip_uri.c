/*
 * libFuzzer target: URI parsing, unescaping and comparison.
 * A URI that parses equals itself; equality is symmetric.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str all = str_make((const char *)data, size);
	struct sip_uri a, b;
	struct sip_error err;
	char out[256];
	size_t n;
	const char *split = memchr(data, '\n', size);

	/* "uri1\nuri2": compare two URIs; otherwise one URI against itself */
	struct str s1 = split ? str_make(all.s, (size_t)(split - all.s)) : all;
	struct str s2 = split ? str_make(split + 1, size - s1.len - 1) : all;

	if (sip_uri_parse(s1, &a, &err) == 0) {
		if (!sip_uri_equal(&a, &a))
			abort();
		sip_unescape(a.user, out, sizeof(out), &n);
		sip_unescape(a.headers, out, sizeof(out), &n);
		if (sip_uri_parse(s2, &b, &err) == 0 &&
		    sip_uri_equal(&a, &b) != sip_uri_equal(&b, &a))
			abort();
	}
	return 0;
}
