/*
 * stack.h - a SIP stack: one event loop, a transport set, the transactions
 * and a transaction user (TU).
 *
 * What arrives goes through three steps:
 *   1. the transport set frames it (transport.h);
 *   2. the stack checks what every element needs (8.2, 16.3, 18.1.2):
 *      requests must carry a decodable topmost Via, From, To, Call-ID and
 *      CSeq (method equal to the request's); a broken request is answered
 *      400 with the reason in the phrase when those headers allow a
 *      response at all, and dropped otherwise; a response whose sent-by is
 *      not ours, or that lacks those headers, is dropped;
 *   3. transactions: a request that matches a server transaction is a
 *      retransmission (absorbed or answered from the transaction); a new
 *      one creates a server transaction and goes to the TU's request
 *      callback; ACK that matches nothing (ACK for 2xx) goes to the TU with
 *      no transaction; CANCEL is answered 200 or 481 by the stack (9.2) and
 *      the TU hears of a matched one; a response goes to its client
 *      transaction's user, or, matching none, to the TU's stray callback.
 *
 * One stack serves several accesses (the UE: one listener per local
 * address); a process may also hold several stacks (a test that runs a
 * P-CSCF and an S-CSCF in one loop).
 *
 * Sketch of a registrar:
 *
 *     static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx,
 *                            struct sip_rx *rx)
 *     {
 *             if (rx->msg->method != SIP_METHOD_REGISTER) {
 *                     sip_server_txn_respond(st, stx, 405, STR_NULL);
 *                     return;
 *             }
 *             ... check, then build the 200 with sip_server_txn_response_start(),
 *             add Contact and sip_print_body(), send with sip_server_txn_send()
 *     }
 *     static const struct sip_tu_ops tu = { .request = on_request };
 *
 *     sip_stack_config_default(&cfg);
 *     sip_stack_create(&st, loop, &cfg, &tu, registrar);
 *     sip_stack_listen_text(st, "udp:198.18.0.10:5060", NULL);
 *     loop_run(loop);
 */
#ifndef SIMREG_SIP_STACK_H
#define SIMREG_SIP_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/str.h"
#include "sip/flow.h"
#include "sip/transport.h"
#include "sip/txn.h"
#include "sip/via.h"

struct sip_stack;

/* ------------------------------------------------------------------ */
/* Configuration                                                      */

/*
 * Host names in a Route, a Request-URI or a Via: the lab and the tests
 * use addresses, so simreg resolves nothing by itself. A component that
 * wants names supplies a resolver; it answers synchronously from its own
 * table (an asynchronous DNS client would need the hand-off queue).
 * Returns 0 with *out filled (port already applied), or a negative errno.
 */
struct sip_resolver {
	int (*resolve)(void *ctx, struct str host, uint16_t port, enum sip_transport proto,
		       union sip_sockaddr *out);
	void *ctx;
};

struct sip_stack_config {
	struct sip_timers timers;   /* sip_timers_rfc3261 */
	struct sip_tp_config tp;    /* sip_tp_config_default() */
	bool rport;                 /* ask for rport in our Vias over UDP (RFC 3581): true */
	uint32_t max_txns;          /* live transactions; above it requests get 503: 1 << 20 */
	struct sip_ids ids;         /* branches and tags: sip_ids_default */
	struct sip_resolver resolver; /* none: addresses only */
	/* Server / User-Agent value of responses the stack writes itself ("simreg"). */
	const char *server_name;
};

void sip_stack_config_default(struct sip_stack_config *c);

/*
 * The SIP part of a component's configuration section, filled by the keys
 * SIP_CONFIG_KEYS() declares under a prefix:
 *
 *     struct pcscf_config { struct sip_config sip; ... };
 *     static const struct config_key pcscf_keys[] = {
 *             SIP_CONFIG_KEYS("pcscf.sip", struct pcscf_config, sip),
 *             ...
 *     };
 *
 * gives pcscf.sip.listen, pcscf.sip.t1 ... (docs/configuration.md).
 */
struct sip_config {
	struct config_strlist listen;
	uint64_t t1_ms, t2_ms, t4_ms, td_ms, tc_ms;
	uint64_t tcp_idle_ms;
	int64_t tcp_max_conns;
	int64_t tcp_max_tx;
};

#define SIP_CONFIG_KEYS(prefix, stype, m)                                                       \
	CONFIG_STRLIST(prefix ".listen", stype, m.listen, "[]",                                 \
		       "transports to open: udp:ADDR:PORT or tcp:ADDR:PORT, IPv6 in brackets"), \
	CONFIG_DURATION(prefix ".t1", stype, m.t1_ms, 1, 60000, "500ms",                        \
			"T1, RTT estimate (RFC 3261 17; 2s at an IMS UE, TS 24.229 7.7)"),       \
	CONFIG_DURATION(prefix ".t2", stype, m.t2_ms, 1, 600000, "4s",                          \
			"T2, the longest retransmit interval (IMS UE: 16s)"),                   \
	CONFIG_DURATION(prefix ".t4", stype, m.t4_ms, 0, 600000, "5s",                          \
			"T4, how long a message may stay in the network (IMS UE: 17s)"),        \
	CONFIG_DURATION(prefix ".timer_d", stype, m.td_ms, 0, 3600000, "32s",                   \
			"Timer D over UDP, above 32s (IMS UE: 128s)"),                           \
	CONFIG_DURATION(prefix ".timer_c", stype, m.tc_ms, 180000, 3600000, "181s",             \
			"proxy Timer C for INVITE branches, above 3 minutes"),                  \
	CONFIG_DURATION(prefix ".tcp_idle", stype, m.tcp_idle_ms, 1000, 86400000, "600s",       \
			"close a TCP connection after this long without traffic"),              \
	CONFIG_INT(prefix ".tcp_max_conns", stype, m.tcp_max_conns, 1, 1000000, "1024",         \
		   "TCP connections open at once; more are accepted and closed"),               \
	CONFIG_INT(prefix ".tcp_max_tx", stype, m.tcp_max_tx, 65536, 1073741824, "1048576",     \
		   "unsent bytes queued per TCP connection before it is closed")

/*
 * Apply a loaded struct sip_config to a stack configuration (which should
 * hold the defaults first). Returns 0 or -EINVAL with the reason in why
 * (T2 below T1).
 */
int sip_config_apply(const struct sip_config *sc, struct sip_stack_config *out, const char **why);

/* ------------------------------------------------------------------ */
/* The transaction user                                               */

/*
 * The stack's user. Every callback may be NULL; without a request
 * callback every request is answered 500. ctx is the pointer given to
 * sip_stack_create().
 *
 *   request         a new request with its server transaction; stx is 0
 *                   for an ACK that matched no transaction (ACK for 2xx,
 *                   17.2.3), which is end-to-end and has none. Answer now
 *                   or later through the sip_server_txn_* functions; an
 *                   INVITE left alone gets 100 Trying after timers.trying.
 *   cancel          a CANCEL matched the INVITE server transaction
 *                   `invite` (ref: its ref); the stack has answered the
 *                   CANCEL 200. A UAS answers the INVITE 487, a proxy
 *                   cancels its branches (RFC 3261 9.2, 16.10).
 *   server_failure  a server transaction ended badly: -ETIMEDOUT (Timer
 *                   H, no ACK for a final response), a transport error
 *                   sending a response, or -ECANCELED at shutdown.
 *   stray_response  a response no client transaction matched, with a
 *                   sent-by of ours: a 2xx retransmission after the
 *                   transaction ended, which a proxy forwards statelessly
 *                   (16.7, 18.1.2).
 *   flow_failure    a stream connection failed or was closed by us (RFC
 *                   5626 flow failure: a registrar's binding over it is
 *                   dead).
 *   keepalive       the answer to a keepalive the TU sent (RFC 5626 4.4):
 *                   a CRLF pong on a stream connection, or a STUN binding
 *                   response on UDP (struct sip_keepalive in transport.h,
 *                   valid during the call). How a UE uses it:
 *
 *                       ping over the registration's flow:
 *                           sip_stack_send_raw(st, &flow, STR_LIT("\r\n\r\n"))   TCP
 *                           sip_stun_request(buf, txid); send_raw(st, &flow, buf)  UDP
 *                       arm a timer (4.4.1: 10 s for the pong);
 *                       in keepalive(): the flow (ka->flow.tp, ka->flow.conn,
 *                           ka->flow.remote) and, for STUN, ka->txid name
 *                           which ping was answered: cancel its timer;
 *                           ka->mapped changed since the last answer:
 *                           the NAT rebound, register again (4.4.2);
 *                       timer fires first: the flow failed (4.4.1).
 *
 *                   Binding requests from others are answered by the
 *                   transport and pings (CRLFCRLF) too: neither comes here.
 */
struct sip_tu_ops {
	void (*request)(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx);
	void (*cancel)(struct sip_stack *st, void *ctx, sip_txn_id invite, uint64_t ref,
		       struct sip_rx *rx);
	void (*server_failure)(struct sip_stack *st, void *ctx, sip_txn_id stx, uint64_t ref,
			       int err);
	void (*stray_response)(struct sip_stack *st, void *ctx, struct sip_rx *rx);
	void (*flow_failure)(struct sip_stack *st, void *ctx, const struct sip_flow *flow, int err);
	void (*keepalive)(struct sip_stack *st, void *ctx, const struct sip_keepalive *ka);
};

/* ------------------------------------------------------------------ */
/* Lifetime                                                           */

/*
 * Create a stack on `loop` with no transport yet.
 *   cfg  copied; NULL for the defaults
 *   tu   borrowed for the stack's lifetime (usually static const)
 *   ctx  given back to every callback
 * The stack registers a shutdown hook with the loop: when shutdown begins
 * it stops taking new requests (503 with Retry-After) and new client
 * transactions (-EAGAIN), and reports done once no transaction is left;
 * if the grace period ends first, the rest are ended with -ECANCELED.
 * Returns 0, -ENOMEM or -EINVAL (bad timers).
 */
int sip_stack_create(struct sip_stack **out, struct loop *loop, const struct sip_stack_config *cfg,
		     const struct sip_tu_ops *tu, void *ctx);

/*
 * End every transaction (without callbacks), close every transport, free
 * everything. NULL is a no-op.
 */
void sip_stack_destroy(struct sip_stack *st);

struct loop *sip_stack_loop(const struct sip_stack *st);
struct sip_tpset *sip_stack_transports(struct sip_stack *st);
const struct sip_stack_config *sip_stack_config(const struct sip_stack *st);

/* Listeners, also at run time (protected ports); see sip_tpset_listen(). */
int sip_stack_listen(struct sip_stack *st, const struct sip_listen *l, uint32_t *id);
/* Same from "udp:198.18.0.1:5060"; -EINVAL for bad text. */
int sip_stack_listen_text(struct sip_stack *st, const char *text, uint32_t *id);
int sip_stack_unlisten(struct sip_stack *st, uint32_t id);

/* Listen on every entry of a configuration's listen list. */
int sip_stack_listen_config(struct sip_stack *st, const struct sip_config *sc);

/* ------------------------------------------------------------------ */
/* Statistics                                                         */

struct sip_stack_stats {
	uint64_t txn_created[SIP_TXN_KIND__COUNT];
	uint64_t txn_live;
	uint64_t txn_timeouts;      /* B, F, H */
	uint64_t retransmissions;   /* sent by transactions */
	uint64_t absorbed;          /* retransmissions received and absorbed */
	uint64_t refused_events;    /* events a state table did not accept */
	uint64_t bad_requests;      /* answered 400 */
	uint64_t dropped;           /* requests or responses dropped by the checks */
	uint64_t stray_responses;
	uint64_t overload;          /* answered 503 (max_txns, shutting down) */
};

const struct sip_stack_stats *sip_stack_stats(const struct sip_stack *st);

/* ------------------------------------------------------------------ */
/* Messages outside transactions                                      */

/*
 * The stateless response helper: answer `rx` (a request) without a
 * transaction (RFC 3261 8.2.6, 16.7 step 5 is the stateful case):
 * Via, From, To (+ a new tag for codes above 100), Call-ID and CSeq
 * copied, the topmost Via fixed (received / rport), sent where 18.2.2 says.
 *   extra  header lines to add ("Retry-After: 5\r\n"), may be empty
 * Returns 0, -EINVAL (rx is not a request, or an ACK), -EBADMSG (Via, From,
 * To, Call-ID or CSeq missing or broken), or a transport error.
 */
int sip_stack_respond_stateless(struct sip_stack *st, struct sip_rx *rx, unsigned code,
				struct str reason, struct str extra);

/*
 * Build (not send) the same response into `b`: for a component that
 * wants to add headers or a body. *reply receives where to send it.
 */
int sip_stack_response_build(struct sip_stack *st, struct sip_rx *rx, unsigned code,
			     struct str reason, struct str to_tag, struct buf *b,
			     struct sip_flow *reply);

/*
 * Send a request without a transaction (an ACK for a 2xx, a stateless
 * proxy's forward): a new topmost Via with a new branch is added, as in
 * sip_client_txn_start(). branch may be empty (a new one) or given (an ACK
 * for a non-2xx carries the INVITE's). Returns 0 or a negative errno.
 */
int sip_stack_send_stateless(struct sip_stack *st, struct str msg, struct sip_flow *dest,
			     struct str branch);

/* Send bytes as they are (a relayed response, a keepalive). */
int sip_stack_send_raw(struct sip_stack *st, struct sip_flow *flow, struct str msg);

/*
 * Resolve a SIP URI host (or a Via sent-by) to an outgoing flow: numeric
 * hosts directly, names through the configured resolver. transport= and
 * maddr= URI parameters are honoured; port 5060 when absent.
 * Returns 0, -EHOSTUNREACH (a name without resolver), -EINVAL.
 */
int sip_stack_resolve_uri(struct sip_stack *st, const struct sip_uri *uri, struct sip_flow *out);

/*
 * True if `uri` names this stack: a host:port (default 5060) one of its
 * transports listens on or advertises. Used for Route processing (16.4).
 */
bool sip_stack_is_local_uri(struct sip_stack *st, const struct sip_uri *uri);

/* A fresh tag / Call-ID word from the stack's entropy seam. */
size_t sip_stack_new_tag(struct sip_stack *st, char out[SIP_TAG_LEN]);

#endif
