/*
 * fuzz_dw - any input through lib/diameter/wire.c's reader, as dpeer.c and
 * the S-CSCF's loop client meet it on a connection: the header, then every
 * AVP, every AVP's data tried as a group down to MAX_DEPTH, dw_find,
 * dw_result and dw_u32 on the way. No crash, no read outside the input
 * (the input is copied to a buffer of its exact size so ASan sees one).
 *
 * Each well-formed level is also written again with the writer and read
 * back: the same AVPs must come out (a disagreement aborts), which keeps
 * the writer and the reader honest about padding and the V bit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "diameter/wire.h"

/* Grouped AVPs nest a few deep in Cx (SCSCF-Restoration-Info 3); go past it. */
#define MAX_DEPTH 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The AVP codes the clients look for, at every level. */
static const struct {
	uint32_t code, vendor;
} wanted[] = {
	{ DW_AVP_RESULT_CODE, 0 },         { DW_AVP_EXPERIMENTAL_RESULT, 0 },
	{ DW_AVP_SESSION_ID, 0 },          { DW_AVP_ORIGIN_HOST, 0 },
	{ DW_AVP_HOST_IP_ADDRESS, 0 },     { 612, 10415 }, /* SIP-Auth-Data-Item */
	{ 609, 10415 }, /* SIP-Authenticate */ { 606, 10415 }, /* User-Data */
};

/* Write the AVPs of it again into b and check they read back the same. */
static void rewrite(const struct dw_iter *it)
{
	struct dw_iter a_it = *it, b_it;
	struct dw_avp a, b;
	struct buf out;
	int rc;

	buf_init(&out);
	while (dw_next(&a_it, &a) > 0)
		dw_put(&out, a.code, a.flags & DW_AVP_MANDATORY, a.vendor, a.data, a.len);
	if (buf_error(&out))
		goto done;
	a_it = *it;
	/* Nothing written (out.p still NULL): there was nothing to write. */
	if (!out.len) {
		if (dw_next(&a_it, &a) != 0)
			abort();
		goto done;
	}
	dw_iter_group(&b_it, &(struct dw_avp){ .data = (const uint8_t *)out.p, .len = out.len });
	while ((rc = dw_next(&a_it, &a)) > 0) {
		if (dw_next(&b_it, &b) != 1 || a.code != b.code || a.vendor != b.vendor ||
		    (a.flags & DW_AVP_MANDATORY) != (b.flags & DW_AVP_MANDATORY) ||
		    a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
			abort();
		/* V on the wire without a vendor is the one thing not kept. */
		if ((b.flags & DW_AVP_VENDOR) != (b.vendor ? DW_AVP_VENDOR : 0))
			abort();
	}
	if (dw_next(&b_it, &b) != 0)
		abort();
done:
	buf_free(&out);
}

static void walk(const struct dw_iter *it, int depth)
{
	struct dw_iter w = *it;
	struct dw_avp a, f;
	uint32_t v;
	bool exp;
	int rc;

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (dw_find(it, wanted[i].code, wanted[i].vendor, &f) == 0) {
			(void)dw_u32(&f, &v);
			(void)dw_str(&f);
		}
	}
	(void)dw_result(it, &v, &exp);
	while ((rc = dw_next(&w, &a)) > 0) {
		struct dw_iter in;

		if (dw_u32(&a, &v) == 0 && a.len != 4)
			abort();
		if (a.data < (const uint8_t *)it->p || a.data + a.len > it->end)
			abort();
		if (depth < MAX_DEPTH && a.len >= 8) {
			dw_iter_group(&in, &a);
			walk(&in, depth + 1);
		}
	}
	if (rc < 0 && w.p != w.end)
		abort();
	if (rc == 0)
		rewrite(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct dw_header h;
	struct dw_iter it;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	/* As dpeer reads a stream: a valid header, then h.len octets of it. */
	if (dw_header_read(copy, size, &h) == 0 && h.len <= size) {
		dw_iter_msg(&it, copy, h.len);
		walk(&it, 0);
	}
	/* And whatever the header says, the octets after it as AVPs. */
	dw_iter_msg(&it, copy, size);
	walk(&it, 0);
	free(copy);
	return 0;
}
