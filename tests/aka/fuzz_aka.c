/*
 * fuzz_aka - the two decoders of lib/aka that read outside input: the
 * AKAv1-MD5 nonce (from a 401 on the wire) and the USIM state file. The
 * first input byte picks which one gets the rest.
 *
 * Properties checked beyond "no crash": a nonce that decodes re-encodes to
 * the same text (up to omitted padding); a state that parses formats to text
 * that parses back to the same state; a refused state leaves the old one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aka/digest.h"
#include "aka/usim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_nonce(struct str in)
{
	struct akav1_nonce n;
	char again[AKAV1_NONCE_MAX + 8];
	int len;

	if (akav1_nonce_decode(in, &n) != 0)
		return;
	len = akav1_nonce_encode(n.rand, n.autn, n.server_data, n.server_data_len, again,
				 sizeof(again));
	if (len < 0 || (size_t)len < in.len || memcmp(again, in.s, in.len) != 0)
		abort();
}

static void fuzz_state(struct str in)
{
	static const uint8_t zero[16];
	struct usim u;
	char before[8192], text[8192], after[8192];
	int len;

	if (usim_init(&u, zero, zero, MILENAGE_OPC, NULL))
		abort();
	if (usim_state_format(&u, before, sizeof(before)) < 0)
		abort();
	if (usim_state_parse(&u, in, NULL) != 0) {
		if (usim_state_format(&u, after, sizeof(after)) < 0 || strcmp(before, after))
			abort();
		goto out;
	}
	len = usim_state_format(&u, text, sizeof(text));
	if (len < 0 || usim_state_parse(&u, str_make(text, (size_t)len), NULL) != 0)
		abort();
	if (usim_state_format(&u, after, sizeof(after)) < 0 || strcmp(text, after))
		abort();
out:
	usim_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str in;

	if (size < 1)
		return 0;
	in = str_make((const char *)data + 1, size - 1);
	if (data[0] & 1)
		fuzz_state(in);
	else
		fuzz_nonce(in);
	return 0;
}
