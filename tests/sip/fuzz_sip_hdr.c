/*
 * libFuzzer target: every typed header decoder.
 *
 * Input: one selector byte, then a header value. The selector picks the
 * decoder (modulo SIP_DEC__COUNT); the value is decoded, its parameters
 * iterated and its quoted strings unquoted, as a caller would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(struct str params)
{
	struct sip_param p;
	char out[128];
	size_t n;

	while (sip_param_next(&params, &p) == 1)
		if (p.quoted)
			sip_unquote(p.value, out, sizeof(out), &n);
}

/* A header id whose decoder is `dec`. */
static enum sip_hdr_id header_with(enum sip_dec dec)
{
	for (unsigned id = 1; id < SIP_HDR__COUNT; id++)
		if (sip_hdr_decoder(id) == dec)
			return id;
	return SIP_HDR_OTHER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_hdr h = { 0 };
	union sip_hdr_value v;
	struct sip_error err;
	struct sip_uri u;
	struct str rest;
	struct sip_param p;
	char out[128];
	size_t n;

	if (size < 1)
		return 0;
	h.id = (uint16_t)header_with((enum sip_dec)(data[0] % SIP_DEC__COUNT));
	h.value = str_make((const char *)data + 1, size - 1);
	h.name = str_from_cstr(sip_hdr_name(h.id));
	if (sip_hdr_decode(&h, &v, &err)) {
		if (!err.reason)
			abort();
		return 0;
	}
	switch (sip_hdr_decoder(h.id)) {
	case SIP_DEC_VIA:
		walk(v.via.params);
		break;
	case SIP_DEC_ADDR:
		walk(v.addr.params);
		if (v.addr.display_quoted)
			sip_unquote(v.addr.display, out, sizeof(out), &n);
		if (sip_uri_parse(v.addr.uri, &u, &err) == 0 && !sip_uri_equal(&u, &u))
			abort();
		break;
	case SIP_DEC_CONTACT:
		if (!v.contact.star)
			walk(v.contact.addr.params);
		break;
	case SIP_DEC_CREDENTIALS:
	case SIP_DEC_CHALLENGE:
	case SIP_DEC_AUTHINFO:
		rest = v.auth.params;
		while (sip_auth_param_next(&rest, &p) == 1)
			if (p.quoted)
				sip_unquote(p.value, out, sizeof(out), &n);
		break;
	case SIP_DEC_SECMECH:
		walk(v.sec.params);
		break;
	default:
		break;
	}
	return 0;
}
