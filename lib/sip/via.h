/*
 * via.h - Via handling: branch ids and tags, received / rport on incoming
 * requests, and where a response goes.
 *
 * RFC 3261 8.1.1.7: a branch starts with the magic cookie "z9hG4bK" and is
 * unique across space and time; 18.2.1: a server notes in the topmost Via
 * of a request where the request really came from (received); RFC 3581:
 * with "rport" it also notes the source port, and the response goes back
 * to that address and port from the address and port the request reached.
 * 18.2.2 (and RFC 3581 4) then says where a response goes.
 */
#ifndef SIMREG_SIP_VIA_H
#define SIMREG_SIP_VIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/flow.h"
#include "sip/msg.h"

/* ------------------------------------------------------------------ */
/* Identifiers                                                        */

#define SIP_BRANCH_COOKIE "z9hG4bK"

/*
 * The entropy seam for branches, tags and Call-IDs. fill() writes n
 * unpredictable bytes. Tests inject a counter to get byte-exact messages.
 */
struct sip_ids {
	void (*fill)(void *ctx, uint8_t *out, size_t n);
	void *ctx;
};

/*
 * The default source: 128 bits from getrandom() at first use, then a
 * counter mixed through SipHash-like rounds; no system call per id. The
 * state is per process; the loop thread is the only user.
 */
extern const struct sip_ids sip_ids_default;

/* Room for SIP_BRANCH_COOKIE + 26 base32 characters + NUL. */
#define SIP_BRANCH_LEN 40

/*
 * A new branch: the cookie and 128 bits in lower-case base32 (26
 * characters, all tokens). Returns the length written (33).
 */
size_t sip_branch_new(const struct sip_ids *ids, char out[SIP_BRANCH_LEN]);

/* A tag or Call-ID word: 16 base32 characters (80 bits) and NUL. */
#define SIP_TAG_LEN 17
size_t sip_tag_new(const struct sip_ids *ids, char out[SIP_TAG_LEN]);

/* True if a branch carries the RFC 3261 magic cookie (compared case-sensitively, 17.2.3). */
bool sip_branch_is_rfc3261(struct str branch);

/* ------------------------------------------------------------------ */
/* Incoming requests                                                  */

/*
 * The topmost Via value of a request that arrived over `flow`, fixed as
 * RFC 3261 18.2.1 and RFC 3581 4 say: ";received=ADDR" added when the
 * sent-by host is not the source address, or when rport is asked for; a
 * valueless "rport" becomes "rport=PORT" (the source port). A Via that
 * already carries received or an rport value is left alone.
 *   via      the decoded topmost Via
 *   out      receives the whole value ("SIP/2.0/UDP ...;branch=..."),
 *            changed or not
 *   changed  set to true if the value differs from via->raw
 * Returns 0 or the buffer's error.
 */
int sip_via_fix_value(const struct sip_via *via, const struct sip_flow *flow, struct buf *out,
		      bool *changed);

/*
 * Print `req` (a parsed request received over `flow`) into `out` with the
 * topmost Via fixed as above; an unchanged request is copied as it is.
 * The rest of the message is kept byte for byte (print.h's editor).
 * Returns 0, -ENOENT (no Via), -EBADMSG (topmost Via does not decode) or
 * the buffer's error.
 */
int sip_via_fix_print(struct sip_msg *req, const struct sip_flow *flow, struct buf *out);

/* ------------------------------------------------------------------ */
/* Outgoing responses                                                 */

/*
 * Where a response to `req` goes (RFC 3261 18.2.2, RFC 3581 4), given the
 * flow the request arrived over and its (fixed or not) topmost Via:
 *   - reliable transport: back over the same connection (flow->conn kept;
 *     if it is gone the transport set opens one to received / sent-by,
 *     port from rport or sent-by);
 *   - maddr: to maddr, port of sent-by or 5060;
 *   - rport with a value, or rport asked for: to the source address and
 *     port;
 *   - otherwise to received (or the sent-by host) and the sent-by port
 *     (5060 when absent).
 * Unreliable replies leave from the transport and local address the
 * request reached, as RFC 3581 requires and IPsec port pairs need.
 *   out  the reply flow: proto, tp and local of the request's flow, remote
 *        computed, conn kept for streams
 * Returns 0, -ENOENT / -EBADMSG for a missing or broken Via, or
 * -EHOSTUNREACH when the target host is a name (no resolver here).
 */
int sip_via_reply_flow(const struct sip_via *via, const struct sip_flow *in, bool reliable,
		       struct sip_flow *out);

/*
 * Print our Via value for a request: "SIP/2.0/UDP sent-by;branch=B[;rport]"
 * (without the header name).
 */
void sip_via_print_value(struct buf *b, enum sip_transport proto, struct str sent_by,
			 struct str branch, bool rport);

/*
 * Copy request `msg` into `out` with a new topmost Via field "Via: value"
 * inserted right after the start line. No parse needed: the start line
 * ends at the first CRLF. Returns 0, -EBADMSG (no CRLF) or the buffer's
 * error.
 */
int sip_via_prepend(struct str msg, struct str via_value, struct buf *out);

#endif
