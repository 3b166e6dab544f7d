/*
 * wire.h - Diameter messages in their wire format (RFC 6733 sections 3
 * and 4), without freeDiameter: a writer that appends to a struct buf and
 * a reader that walks the AVPs of a message in place.
 *
 * The reader never allocates and never copies: a struct dw_avp points into
 * the message, and a grouped AVP is walked with an iterator over its data.
 * Every length is checked against what encloses it, so a reader that has
 * validated the header may walk any input.
 *
 *   struct dw_iter it;
 *   struct dw_avp a;
 *   dw_iter_msg(&it, msg, len);
 *   while ((rc = dw_next(&it, &a)) > 0)
 *           ...a.code, a.vendor, a.data...
 *   if (rc < 0) ...malformed...
 *
 * The writer follows struct buf's rule: appends never fail one by one,
 * buf_error() tells at the end: -EMSGSIZE for a message or an AVP over the
 * 24-bit length, -EINVAL for a command code over 24 bits, -EAFNOSUPPORT
 * for an address that is neither IPv4 nor IPv6, or the buffer's own.
 */
#ifndef SIMREG_DIAMETER_WIRE_H
#define SIMREG_DIAMETER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/str.h"

#define DW_VERSION 1
#define DW_HEADER_LEN 20
#define DW_MAX_LEN 0xffffffu /* lengths are 24 bits */

/* Command flags (RFC 6733 3). */
#define DW_REQUEST 0x80u
#define DW_PROXIABLE 0x40u
#define DW_ERROR 0x20u
#define DW_RETRANSMIT 0x10u

/* AVP flags (RFC 6733 4.1); V is set by the writer when vendor != 0. */
#define DW_AVP_VENDOR 0x80u
#define DW_AVP_MANDATORY 0x40u

/* Base protocol commands and AVPs the loop-native peer uses (RFC 6733). */
enum {
	DW_CMD_CAPABILITIES_EXCHANGE = 257,
	DW_CMD_DEVICE_WATCHDOG = 280,
	DW_CMD_DISCONNECT_PEER = 282,
};

enum {
	DW_AVP_USER_NAME = 1,
	DW_AVP_HOST_IP_ADDRESS = 257,
	DW_AVP_AUTH_APPLICATION_ID = 258,
	DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID = 260,
	DW_AVP_SESSION_ID = 263,
	DW_AVP_ORIGIN_HOST = 264,
	DW_AVP_SUPPORTED_VENDOR_ID = 265,
	DW_AVP_VENDOR_ID = 266,
	DW_AVP_FIRMWARE_REVISION = 267,
	DW_AVP_RESULT_CODE = 268,
	DW_AVP_PRODUCT_NAME = 269,
	DW_AVP_DISCONNECT_CAUSE = 273,
	DW_AVP_AUTH_SESSION_STATE = 277,
	DW_AVP_ORIGIN_STATE_ID = 278,
	DW_AVP_ERROR_MESSAGE = 281,
	DW_AVP_DESTINATION_REALM = 283,
	DW_AVP_DESTINATION_HOST = 293,
	DW_AVP_ORIGIN_REALM = 296,
	DW_AVP_EXPERIMENTAL_RESULT = 297,
	DW_AVP_EXPERIMENTAL_RESULT_CODE = 298,
	DW_AVP_INBAND_SECURITY_ID = 299,
};

/* Result-Code values (RFC 6733 7.1). */
enum {
	DW_SUCCESS = 2001,
	DW_COMMAND_UNSUPPORTED = 3001,
	DW_UNABLE_TO_DELIVER = 3002,
	DW_APPLICATION_UNSUPPORTED = 3007,
	DW_INVALID_HDR_BITS = 3008,
	DW_UNKNOWN_PEER = 3010,
	DW_NO_COMMON_APPLICATION = 5010,
};

/* Relay application id: a peer that advertises it takes every application. */
#define DW_RELAY_APPLICATION 0xffffffffu

struct dw_header {
	uint8_t version;
	uint32_t len;       /* of the whole message, header included */
	uint8_t flags;      /* DW_REQUEST, ... */
	uint32_t code;
	uint32_t app;
	uint32_t hbh;       /* hop-by-hop identifier */
	uint32_t e2e;       /* end-to-end identifier */
};

struct dw_avp {
	uint32_t code;
	uint8_t flags;
	uint32_t vendor;    /* 0 without the V bit */
	const uint8_t *data;
	size_t len;         /* of the data, padding excluded */
};

struct dw_iter {
	const uint8_t *p, *end;
};

/* --- reading --------------------------------------------------------------------- */

/*
 * Read the header at p[0..len). Returns 0; -EAGAIN when fewer than 20
 * octets are there yet; -EBADMSG for a version other than 1 or a message
 * length under 20 or not a multiple of 4. h->len may exceed len: the rest
 * of the message has not arrived.
 */
int dw_header_read(const void *p, size_t len, struct dw_header *h);

/*
 * Iterate over the AVPs of the message msg[0..len) (len: the header's).
 * Fewer than 20 octets, or msg NULL, give an iterator with nothing to walk.
 */
void dw_iter_msg(struct dw_iter *it, const void *msg, size_t len);

/* Iterate over the AVPs inside a grouped AVP. */
void dw_iter_group(struct dw_iter *it, const struct dw_avp *group);

/*
 * The next AVP: 1 with *a filled, 0 at the end, -EBADMSG when an AVP's
 * header or length runs past what encloses it (the iterator then stays at
 * its end).
 */
int dw_next(struct dw_iter *it, struct dw_avp *a);

/*
 * The first AVP (code, vendor) from the iterator's position on, the
 * iterator itself unchanged; vendor 0 means no vendor (an AVP with the V
 * bit and a Vendor-Id of 0 matches it too). 0 with *a, -ENOENT, or
 * -EBADMSG when the walk meets a malformed AVP first.
 */
int dw_find(const struct dw_iter *it, uint32_t code, uint32_t vendor, struct dw_avp *a);

/* An Unsigned32, Integer32 or Enumerated: 0, or -EBADMSG unless 4 octets. */
int dw_u32(const struct dw_avp *a, uint32_t *v);

/* The data as a struct str (OctetString, UTF8String, DiameterIdentity). */
static inline struct str dw_str(const struct dw_avp *a)
{
	return (struct str){ (const char *)a->data, a->len };
}

/*
 * The result of an answer: Result-Code, or Experimental-Result's
 * Experimental-Result-Code (*experimental set). 0, -ENOENT, -EBADMSG.
 * The Experimental-Result's Vendor-Id is not looked at: a client speaks
 * one application, whose vendor defines the codes it can get.
 */
int dw_result(const struct dw_iter *msg, uint32_t *code, bool *experimental);

/* --- writing --------------------------------------------------------------------- */

/*
 * Start a message at the end of b: the header with a zero length, which
 * dw_msg_end() fills. Returns the message's offset in b.
 */
size_t dw_msg_begin(struct buf *b, uint8_t flags, uint32_t code, uint32_t app, uint32_t hbh,
		    uint32_t e2e);
void dw_msg_end(struct buf *b, size_t start);

/* One AVP; flags: DW_AVP_MANDATORY or 0 (V follows from vendor). Padded to 4. */
void dw_put(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, const void *data,
	    size_t len);
void dw_put_u32(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, uint32_t v);

static inline void dw_put_str(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor,
			      struct str s)
{
	dw_put(b, code, flags, vendor, s.s, s.len);
}

/* An Address AVP (RFC 6733 4.3.1) for an IPv4 or IPv6 socket address. */
void dw_put_address(struct buf *b, uint32_t code, uint8_t flags, const struct sockaddr *sa);

/* A grouped AVP: its members are the AVPs put between begin and end. */
size_t dw_group_begin(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor);
void dw_group_end(struct buf *b, size_t start);

/* Patch the identifiers of the message at msg (at least DW_HEADER_LEN octets). */
void dw_set_ids(void *msg, uint32_t hbh, uint32_t e2e);

#endif
