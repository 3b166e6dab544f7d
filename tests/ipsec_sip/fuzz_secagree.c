/*
 * fuzz_secagree - hostile Security-Client / -Verify values through the
 * security agreement: decode, both choices, the canonical text and the
 * bidding-down check must never crash, leak or read out of bounds, and
 * must agree with each other (a list is always equal to itself).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ipsec/secagree.h"
#include "sip/msg.h"

static const char head[] = "REGISTER sip:ims.test SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 198.18.0.2;branch=z9hG4bK1\r\n"
			   "From: <sip:a@ims.test>;tag=1\r\nTo: <sip:a@ims.test>\r\n"
			   "Call-ID: c\r\nCSeq: 1 REGISTER\r\nSecurity-Client: ";
static const char mid[] = "\r\nSecurity-Verify: ";
static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = sizeof(head) - 1 + 2 * size + sizeof(mid) - 1 + sizeof(tail) - 1, off = 0;
	char *text = malloc(len);
	struct ipsec_prefs prefs;
	struct ipsec_offer o;
	struct ipsec_mech pick;
	struct sip_msg m;
	struct buf canon;

	if (!text)
		return 0;
	/* Line breaks would let the input write headers of its own. */
	if (memchr(data, '\r', size) || memchr(data, '\n', size))
		goto out;
	/* The same bytes as Security-Client and as Security-Verify. */
	memcpy(text + off, head, sizeof(head) - 1), off += sizeof(head) - 1;
	memcpy(text + off, data, size), off += size;
	memcpy(text + off, mid, sizeof(mid) - 1), off += sizeof(mid) - 1;
	memcpy(text + off, data, size), off += size;
	memcpy(text + off, tail, sizeof(tail) - 1);
	sip_msg_init(&m);
	if (sip_parse(&m, text, len, SIP_FRAME_DATAGRAM, NULL, NULL) <= 0)
		goto out;
	ipsec_prefs_default(&prefs);
	if (ipsec_offer_from_msg(&m, SIP_HDR_SECURITY_CLIENT, &o, NULL) == 0) {
		if (o.n > IPSEC_OFFER_MAX || o.n + o.n_ignored != o.n_entries)
			abort();
		if (ipsec_offer_choose(&o, &prefs, &pick) == 0 && pick.index >= o.n_entries)
			abort();
		ipsec_offer_choose_by_q(&o, &prefs, &pick);
	}
	buf_init(&canon);
	if (ipsec_secmech_canon_msg(&canon, &m, SIP_HDR_SECURITY_CLIENT) == 0 &&
	    ipsec_secagree_check(&m, buf_str(&canon), buf_str(&canon)) != IPSEC_SECAGREE_OK)
		abort();
	buf_free(&canon);
out:
	free(text);
	return 0;
}
