/*
 * stun.h - the part of STUN (RFC 5389) a SIP UDP port needs: RFC 5626
 * section 8 has the SIP server answer STUN binding requests on its SIP
 * ports so that a UE can keep its NAT binding alive and see its mapped
 * address; section 4.4.2 has the UE send them. No authentication is used
 * (RFC 5626 8: "the server ... does not require authentication").
 *
 * STUN and SIP share the port; the first byte tells them apart (RFC 7983
 * 7: a STUN message starts with 0 or 1, a SIP message with a letter).
 */
#ifndef SIMREG_SIP_STUN_H
#define SIMREG_SIP_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/flow.h"

#define SIP_STUN_MAGIC 0x2112a442u
#define SIP_STUN_HDR 20
/* Largest message we answer or build. */
#define SIP_STUN_MAX 548

/* True if the datagram starts like a STUN message (two zero bits, the cookie). */
bool sip_stun_is(const uint8_t *p, size_t len);

/*
 * Answer a binding request received from `from`:
 *   - a well-formed binding request gets a binding success response with
 *     XOR-MAPPED-ADDRESS (and FINGERPRINT if the request had one);
 *   - one with a comprehension-required attribute we do not know gets a
 *     420 error response listing it in UNKNOWN-ATTRIBUTES (RFC 5389 7.3.1);
 *   - indications and responses get nothing.
 * Returns the length written to out (cap >= SIP_STUN_MAX), 0 when no
 * answer is due, or -EBADMSG for a malformed message or a bad FINGERPRINT
 * (to be dropped silently, RFC 5389 7.3).
 */
int sip_stun_answer(const uint8_t *req, size_t len, const union sip_sockaddr *from, uint8_t *out,
		    size_t cap);

/* True if the message type is a binding success or error response (RFC 5389 6). */
bool sip_stun_is_response(const uint8_t *p, size_t len);

/* A binding request with transaction id txid, no attributes. Returns 20. */
size_t sip_stun_request(uint8_t out[SIP_STUN_HDR], const uint8_t txid[12]);

/*
 * Read a binding success response to the request with txid: *mapped gets
 * XOR-MAPPED-ADDRESS. Returns 0, -ENOENT (another transaction, or no
 * XOR-MAPPED-ADDRESS), -EPROTO (an error response), -EBADMSG.
 */
int sip_stun_parse_response(const uint8_t *p, size_t len, const uint8_t txid[12],
			    union sip_sockaddr *mapped);

#endif
