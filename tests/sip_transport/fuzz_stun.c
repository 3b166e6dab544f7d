/*
 * libFuzzer target: the STUN decoder behind every SIP UDP port, as a
 * server (answering from an IPv4 and an IPv6 source) and as a client
 * reading a response. An answer must itself be a valid STUN message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t txid[12] = { 0 };
	union sip_sockaddr v4, v6, mapped;
	uint8_t out[SIP_STUN_MAX];
	int n;

	sip_sockaddr_parse(STR_LIT("198.18.0.2:5060"), 0, &v4);
	sip_sockaddr_parse(STR_LIT("[2001:db8::2]:5060"), 0, &v6);
	n = sip_stun_answer(data, size, &v4, out, sizeof(out));
	if (n > 0 && (!sip_stun_is(out, (size_t)n) || (size_t)n > sizeof(out)))
		abort();
	if (n > 0 && sip_stun_parse_response(out, (size_t)n, data + 8, &mapped) == 0 &&
	    !sip_sockaddr_equal(&mapped, &v4))
		abort();
	n = sip_stun_answer(data, size, &v6, out, sizeof(out));
	if (n > 0 && sip_stun_parse_response(out, (size_t)n, data + 8, &mapped) == 0 &&
	    !sip_sockaddr_equal(&mapped, &v6))
		abort();
	sip_stun_parse_response(data, size, size >= 20 ? data + 8 : txid, &mapped);
	return 0;
}
