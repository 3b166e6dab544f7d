/*
 * dpeer.h - a Diameter client's connection to one peer, on the event loop.
 *
 * freeDiameter (engine.h) runs its own threads and hands every message
 * across four queues; a process that only sends requests to one server
 * and waits for the answers can do without them. A dpeer is that client,
 * on the caller's loop thread:
 *
 *   - it connects over TCP, exchanges capabilities (CER/CEA, RFC 6733
 *     5.3) advertising one application, and connects again with a growing
 *     back-off (1 s to 30 s) whenever the connection ends;
 *   - it keeps the connection watched (DWR/DWA, RFC 3539 3.4: a DWR after
 *     Tw of silence, the connection given up when that DWR goes
 *     unanswered for another Tw) and answers the peer's DWRs;
 *   - it answers a DPR, and sends one itself when the loop shuts down,
 *     once the answers in flight have arrived;
 *   - it numbers requests (hop-by-hop, end-to-end identifiers), matches
 *     answers to them, and reports a request with no answer after the
 *     configured timeout, or when the connection ends, as an error;
 *   - requests from the peer other than DWR and DPR get
 *     DIAMETER_COMMAND_UNSUPPORTED.
 *
 * Writes are gathered: every request of one loop iteration leaves in one
 * write() at its end. An answer is handed to its callback on the loop
 * thread, in the input buffer: valid during the call only.
 *
 * No TLS and no SCTP (the HSS listens on plain TCP, engine.c's No_SCTP).
 */
#ifndef SIMREG_DIAMETER_DPEER_H
#define SIMREG_DIAMETER_DPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "diameter/wire.h"

struct dpeer;

struct dpeer_config {
	const char *identity;           /* ours: Origin-Host */
	const char *realm;              /* ours: Origin-Realm */
	const char *peer_identity;      /* the Origin-Host its CEA must carry */
	struct sockaddr_storage address;/* where it listens */
	uint32_t vendor_id;             /* the application: Vendor-Specific-Application-Id */
	uint32_t app_id;
	uint64_t timeout_ms;            /* a request's answer deadline */
	uint64_t watchdog_ms;           /* Tw; 0: 30 s (RFC 3539 3.4.1) */
};

/*
 * An answer, or why there is none: err is 0 with msg[0..len) the answer
 * (h its header), -ETIMEDOUT after the timeout, -ENOTCONN when the
 * connection ended first, -ESHUTDOWN when the peer is being freed.
 */
struct dpeer_answer {
	int err;
	struct dw_header h;
	const uint8_t *msg;
	size_t len;
};

typedef void dpeer_answer_fn(void *ctx, uint64_t tag, const struct dpeer_answer *a);

/*
 * Start connecting. The peer registers a shutdown hook on the loop (it
 * waits for the answers in flight, then says DPR). Returns 0, -EINVAL
 * for an address that is neither IPv4 nor IPv6, or -ENOMEM.
 */
int dpeer_start(struct loop *loop, const struct dpeer_config *cfg, struct dpeer **out);

/*
 * Close the connection (without DPR: use the loop's shutdown for that),
 * report -ESHUTDOWN for every request in flight, free. NULL is a no-op.
 */
void dpeer_free(struct dpeer *p);

/* True while the connection is open (CEA received, no DPR since). */
bool dpeer_is_open(const struct dpeer *p);

/*
 * A new Session-Id (RFC 6733 8.8): "<identity>;<high>;<low>", unique
 * across restarts. Written to buf (NUL-terminated); returns its length,
 * or 0 if it does not fit.
 */
size_t dpeer_session_id(struct dpeer *p, char *buf, size_t size);

/*
 * Send the request msg[0..len) (built with dw_msg_begin(); its hop-by-hop
 * and end-to-end identifiers are set here). fn(ctx, tag, answer) is
 * called exactly once, later, on the loop thread, unless this returns an
 * error: -ENOTCONN (not open), -ESHUTDOWN (shutting down), -EINVAL (not a
 * request), -ENOMEM.
 */
int dpeer_send(struct dpeer *p, const void *msg, size_t len, dpeer_answer_fn *fn, void *ctx,
	       uint64_t tag);

/* Counters, for status and tests. */
struct dpeer_stats {
	uint64_t connects;              /* capability exchanges that succeeded */
	uint64_t requests, answers, timeouts;
	uint64_t watchdogs_sent, watchdogs_answered;
	uint64_t writes;                /* write() calls that sent requests */
	unsigned in_flight;
};

void dpeer_get_stats(const struct dpeer *p, struct dpeer_stats *out);

#endif
