/*
 * transport.h - the SIP transport layer (RFC 3261 section 18): a set of
 * transports on one event loop, framing, keepalives, and the interface a
 * new kind of transport implements.
 *
 * A transport set owns every transport of a stack. A transport is one local
 * endpoint: a UDP socket bound to an address and port, or a TCP listener
 * with the connections accepted on it and opened from it. Components open
 * listeners from their configuration at start-up and more at run time (the
 * P-CSCF's protected ports port_ps / port_pc, the UE's port_us / port_uc),
 * and close them again when the security association set they belong to
 * goes away. Kernel (xfrm) IPsec needs nothing else: the kernel protects
 * ordinary sockets bound to the protected ports.
 *
 * A transport is an interface (struct sip_tp_ops), so that lib/ipsec
 * can register a transport that carries SIP over userspace ESP and hands
 * the decrypted datagrams in through sip_tpset_input(); transactions do
 * not see the difference.
 *
 * What the set does with received bytes:
 *   - datagrams: STUN binding requests (RFC 5389, as RFC 5626 section 8
 *     asks of a SIP UDP port) are answered with a binding success carrying
 *     XOR-MAPPED-ADDRESS; binding responses (answers to the user's own
 *     keepalives) go to the user's keepalive callback; anything else is
 *     parsed as one SIP message (RFC 3261 18.3) and delivered, or dropped
 *     and counted.
 *   - streams: bytes are framed with the parser's stream mode (pipelined
 *     and split messages, Content-Length mandatory); a CRLFCRLF ping is
 *     answered with a CRLF pong (RFC 5626 3.5.1), a lone CRLF (the pong to
 *     the user's own ping) goes to the keepalive callback; a broken message, a
 *     message over the limits, too many bytes waiting, or an idle
 *     connection closes that connection only, with a log line that says
 *     which limit and which peer.
 *
 * Validation beyond framing (mandatory headers, 400 answers) belongs to the
 * stack (stack.h), which is the usual receiver.
 *
 * Everything runs on the loop thread.
 */
#ifndef SIMREG_SIP_TRANSPORT_H
#define SIMREG_SIP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "core/str.h"
#include "sip/flow.h"
#include "sip/msg.h"
#include "sip/table.h"

struct sip_tpset;
struct sip_tp;
struct sip_timers;

/* ------------------------------------------------------------------ */
/* Limits and defaults                                                */

/*
 * Defaults (sip_tp_config_default()):
 *   parse           sip_limits_default (65535-byte messages, 8 KiB lines)
 *   tcp_max_conns   1024      connections per set, accepted and opened;
 *                             one more is accepted and closed at once
 *   tcp_max_rx      65535     bytes of a partial message held per
 *                             connection (never above parse.max_msg)
 *   tcp_max_tx      1 MiB     unsent bytes queued per connection
 *   tcp_idle_ms     600 s     a connection with no traffic either way is
 *                             closed (RFC 5626 keepalives are traffic)
 *   tcp_connect_ms  10 s      an outgoing connect() that has not completed
 *   udp_batch       64        datagrams read per wake-up before the loop
 *                             serves other descriptors
 *   stun            true      answer STUN binding requests on UDP
 */
struct sip_tp_config {
	struct sip_limits parse;
	uint32_t tcp_max_conns;
	uint32_t tcp_max_rx;
	uint32_t tcp_max_tx;
	uint64_t tcp_idle_ms;
	uint64_t tcp_connect_ms;
	uint32_t udp_batch;
	bool stun;
};

void sip_tp_config_default(struct sip_tp_config *c);

/* Counters, for logs, tests and `describe`. */
struct sip_tp_stats {
	uint64_t rx_msgs, rx_bytes;   /* SIP messages delivered, and their bytes */
	uint64_t tx_msgs, tx_bytes;   /* messages handed to a socket */
	uint64_t tx_errors;           /* sends that failed */
	uint64_t rx_dropped;          /* datagrams that did not parse, broken stream messages */
	uint64_t stun_answered;       /* binding requests answered */
	uint64_t stun_dropped;        /* STUN we did not answer (not a binding request, malformed) */
	uint64_t stun_responses;      /* binding responses given to the keepalive callback */
	uint64_t pings, pongs;        /* CRLFCRLF received (answered), lone CRLFs received */
	uint64_t conns_accepted, conns_opened;
	uint64_t conns_refused;       /* accepted beyond tcp_max_conns, or refused by the
				       * listener's sock_hook, and closed */
	uint64_t conns_idle;          /* closed for tcp_idle_ms without traffic */
	uint64_t conns_overflow;      /* closed for a message or a queue over a limit */
	uint64_t conns_failed;        /* connect() failed or timed out, peer reset */
	uint32_t conns_open;
};

/* ------------------------------------------------------------------ */
/* What the set delivers                                              */

/*
 * A received message. Everything in it is valid during the callback only:
 * msg's slices point into the transport's receive buffer. Copy what you
 * keep (transactions copy into their arena).
 */
struct sip_rx {
	struct sip_msg *msg;  /* parsed (framing and start line); decode headers on demand */
	struct sip_flow flow; /* remote = the sender; local = the address it reached */
	struct sip_tp *tp;
	uint64_t at_ns;       /* loop clock at receipt */
};

/*
 * The answer to a keepalive the user sent (RFC 5626 4.4), so that a UE can
 * judge its flow: a pong that does not come in time means the flow failed
 * (4.4.1), a STUN mapped address that changed means a NAT rebinding and a
 * new registration (4.4.2). The stack sends the keepalives themselves as
 * raw bytes (sip_stack_send_raw(): "\r\n\r\n" on the stream flow, or
 * sip_stun_request() on the datagram flow); this is what comes back.
 */
enum sip_keepalive_kind {
	SIP_KEEPALIVE_PONG, /* a lone CRLF on a stream connection (4.4.1) */
	SIP_KEEPALIVE_STUN, /* a STUN binding response on a datagram transport (4.4.2) */
};

struct sip_keepalive {
	enum sip_keepalive_kind kind;
	/*
	 * The flow it came over: remote = the answering server; tp, local and
	 * (streams) conn = where it arrived, equal to the flow the ping left on.
	 */
	struct sip_flow flow;
	uint64_t at_ns;            /* loop clock at receipt */
	/* STUN only (zero for a pong): */
	uint8_t txid[12];          /* the response's transaction id: compare with the request's */
	/*
	 * 0: a binding success with XOR-MAPPED-ADDRESS in `mapped`;
	 * -EPROTO: a binding error response;
	 * -ENOENT: a success without XOR-MAPPED-ADDRESS.
	 * (Malformed STUN never gets here: it is dropped and counted.)
	 */
	int stun_status;
	union sip_sockaddr mapped; /* how the server sees us (our public address) */
};

/*
 * The receiver of a set (the stack). ctx is given back unchanged.
 *   recv        one SIP request or response (not keepalives, not STUN)
 *   flow_error  a stream connection went away: err is a negative errno:
 *               -ECONNREFUSED / -ETIMEDOUT (connect), -ECONNRESET,
 *               -ENOTCONN (closed by the peer), -ETIMEDOUT (idle),
 *               -EMSGSIZE or -ENOBUFS (a limit), -EBADMSG (a broken
 *               message). Called from the loop, never from inside a send;
 *               not called for connections closed by sip_tpset_drop_flow()
 *               or with their transport. May be NULL.
 */
struct sip_tp_user {
	void (*recv)(void *ctx, struct sip_rx *rx);
	void (*flow_error)(void *ctx, const struct sip_flow *flow, int err);
	/*
	 * keepalive   a pong or a STUN binding response arrived (struct
	 *             sip_keepalive, valid during the call). May be NULL:
	 *             they are then only counted.
	 */
	void (*keepalive)(void *ctx, const struct sip_keepalive *ka);
	void *ctx;
};

/* ------------------------------------------------------------------ */
/* The transport interface                                            */

enum sip_tp_flags {
	SIP_TPF_RELIABLE = 1 << 0, /* no retransmissions (17.1.1.2): TCP, TLS, SCTP */
	SIP_TPF_STREAM = 1 << 1,   /* a byte stream: framed by Content-Length */
};

struct sip_tp_ops {
	const char *name;         /* "udp", "tcp", "esp-udp": for logs */
	enum sip_transport proto; /* the Via transport of its messages */
	unsigned flags;           /* enum sip_tp_flags */
	/*
	 * Send one whole message over `flow` (flow->tp is this transport).
	 * A stream transport may fill flow->conn (and flow->local) when it
	 * picks or opens a connection. Returns 0 when the message was sent
	 * or queued, or a negative errno: -ENOTCONN (the flow names a
	 * connection that is gone and no new one may be opened), -EMSGSIZE,
	 * -ENOBUFS (send queue full), or the socket's error.
	 */
	int (*send)(struct sip_tp *tp, struct sip_flow *flow, const char *data, size_t len);
	/*
	 * Release everything the transport holds (sockets, connections,
	 * memory, the struct itself). Called once, by sip_tpset_close() or
	 * sip_tpset_destroy(), after the transport left the set.
	 */
	void (*close)(struct sip_tp *tp);
	/* Append one line about the transport (no newline). */
	void (*describe)(const struct sip_tp *tp, struct buf *out);
	/*
	 * Close the connection of `flow`, if the transport has connections
	 * (NULL otherwise). Returns 0 or -ENOENT.
	 */
	int (*drop_flow)(struct sip_tp *tp, const struct sip_flow *flow);
};

/*
 * A transport. Implementations embed it in their own struct, fill ops,
 * local and sent_by, and register it with sip_tpset_add().
 */
struct sip_tp {
	const struct sip_tp_ops *ops;
	union sip_sockaddr local; /* the bound address and port */
	/*
	 * The sent-by of our Via over this transport: "198.18.0.1:5060",
	 * "[2001:db8::1]:5060", or an advertised name. Empty for a wildcard
	 * address without an advertised name: the Via then names the local
	 * address the kernel picks for each destination.
	 */
	char sent_by[SIP_SOCKADDR_STRLEN + 192];
	/*
	 * Transaction timers for transactions over this transport, or NULL
	 * for the stack's. The P-CSCF sets its UE-facing listeners to
	 * &sip_timers_ims_ue (TS 24.229 7.7: T1 2 s, T2 16 s, T4 17 s towards
	 * the UE) while its core side keeps RFC 3261's. Borrowed: must
	 * outlive the transactions that use it.
	 */
	const struct sip_timers *timers;
	/* Set by sip_tpset_add(); read-only for the implementation. */
	uint32_t id;
	struct sip_tpset *set;
	/*
	 * Private to the set: the registration-order list (sip_tpset_next(),
	 * select's preference) and the two indexes, by id and by port (the
	 * bound port, and the sent-by port when that differs), so that a
	 * P-CSCF with thousands of protected ports finds one without walking
	 * them all.
	 */
	struct sip_tp *next, *prev;
	struct sip_hnode by_id;
	struct sip_tp_port {
		struct sip_hnode node;
		struct sip_tp *tp;
		uint16_t port; /* 0: not indexed */
	} by_port[2];          /* the bound port; the sent-by port if another */
};

/* ------------------------------------------------------------------ */
/* The set                                                            */

/*
 * Create an empty set on `loop`.
 *   cfg   limits, copied; NULL for the defaults
 *   user  the receiver, copied
 * Returns 0, -ENOMEM or -EINVAL (a limit out of range).
 */
int sip_tpset_create(struct sip_tpset **out, struct loop *loop, const struct sip_tp_config *cfg,
		     const struct sip_tp_user *user);

/* Close every transport and free the set. NULL is a no-op. */
void sip_tpset_destroy(struct sip_tpset *set);

struct loop *sip_tpset_loop(const struct sip_tpset *set);
const struct sip_tp_config *sip_tpset_config(const struct sip_tpset *set);
const struct sip_tp_stats *sip_tpset_stats(const struct sip_tpset *set);
/* For implementations: the counters to update. */
struct sip_tp_stats *sip_tpset_stats_mut(struct sip_tpset *set);

/* Which socket a listener's sock_hook is called with (struct sip_listen). */
enum sip_sock_kind {
	SIP_SOCK_LISTENER,
	SIP_SOCK_OUTGOING,
	SIP_SOCK_ACCEPTED,
};

/* What to listen on: "udp:198.18.0.1:5060", "tcp:[2001:db8::1]:5060". */
struct sip_listen {
	enum sip_transport proto;  /* SIP_TRANSPORT_UDP or SIP_TRANSPORT_TCP */
	union sip_sockaddr addr;   /* port 0: the kernel picks one (tests) */
	/* Via sent-by host to use instead of the address; "" = the address. */
	char advertise[192];
	/*
	 * TCP only, optional (NULL: none): called with every socket of the
	 * listener, so that its owner can set it up or refuse it (lib/ipsec
	 * makes a protected port's sockets ones the SAs carry and names the
	 * SA set of each connection); kind says which:
	 *   the listener    before bind(); local = l->addr, remote = NULL
	 *   an outgoing     before bind() and connect(); local = the address
	 *   connection      and port it is about to bind (port 0: any),
	 *                   remote = the peer
	 *   an accepted     right after accept(); local and remote of the
	 *   connection      connection
	 * A negative errno refuses the socket: the listener does not open,
	 * the send that wanted the connection fails with it, an accepted
	 * connection is closed at once (counted in conns_refused). Zero or
	 * more is the SA set of the connection, copied into flow.sa_set of
	 * everything it delivers (0: unprotected). fd is borrowed.
	 */
	int (*sock_hook)(void *arg, int fd, enum sip_sock_kind kind,
			 const union sip_sockaddr *local, const union sip_sockaddr *remote);
	void *sock_hook_arg;
};

/*
 * Parse "PROTO:ADDRESS[:PORT]" (PROTO udp or tcp, any case; port 5060
 * when absent), optionally followed by ";advertise=HOST[:PORT]".
 * Returns 0 or -EINVAL.
 */
int sip_listen_parse(struct str text, struct sip_listen *out);

/*
 * Open a UDP socket or a TCP listener (SO_REUSEADDR; IPV6_V6ONLY for IPv6
 * so that IPv4 and IPv6 listeners on one port coexist) and add it to the
 * set.
 *   id  receives the transport id (for sip_tpset_close() and flows); may
 *       be NULL
 * Returns 0, -EINVAL (protocol not UDP/TCP, no address), -EADDRINUSE,
 * -EADDRNOTAVAIL or another negative errno of socket()/bind()/listen().
 */
int sip_tpset_listen(struct sip_tpset *set, const struct sip_listen *l, uint32_t *id);

/*
 * Register a transport implemented elsewhere; the set calls its close()
 * when it is closed or the set destroyed. Returns 0, or -ENOSPC when ids
 * ran out (never in practice).
 */
int sip_tpset_add(struct sip_tpset *set, struct sip_tp *tp, uint32_t *id);

/*
 * Close one transport by id, with its connections. Flows naming it fail
 * afterwards with -ENOTCONN. Returns 0 or -ENOENT.
 */
int sip_tpset_close(struct sip_tpset *set, uint32_t id);

/* The transport with this id, or NULL. */
struct sip_tp *sip_tpset_get(const struct sip_tpset *set, uint32_t id);

/* Iterate: the first transport with prev == NULL, then the next; NULL at the end. */
struct sip_tp *sip_tpset_next(const struct sip_tpset *set, const struct sip_tp *prev);

/*
 * Iterate over the transports bound to `port` or advertising it in their
 * sent-by (a hash lookup, not a walk of the set): the first with prev ==
 * NULL, then the next; NULL at the end. In no particular order. The set
 * must not change during the iteration.
 */
struct sip_tp *sip_tpset_next_on_port(const struct sip_tpset *set, uint16_t port,
				      const struct sip_tp *prev);

/* Transports in the set. */
uint32_t sip_tpset_count(const struct sip_tpset *set);

/*
 * Hand received bytes of a datagram transport to the set (the built-in UDP
 * transport does this; a userspace ESP transport calls it with the
 * decrypted payload). flow->tp must be tp's id. Answers STUN, parses,
 * delivers to the receiver or drops.
 */
void sip_tpset_input(struct sip_tpset *set, struct sip_tp *tp, const struct sip_flow *flow,
		     const char *data, size_t len);

/*
 * Complete an outgoing flow: pick the transport (flow->tp, or the first
 * transport of flow->proto whose address family matches flow->remote and
 * whose address matches flow->local when that is set), and fill
 * flow->local with its address when unset.
 *   tp  receives the transport; may be NULL
 * Returns 0, -EINVAL (no remote address), -ENOTCONN (flow->tp is gone),
 * or -ENETUNREACH (no transport fits).
 */
int sip_tpset_select(struct sip_tpset *set, struct sip_flow *flow, struct sip_tp **tp);

/*
 * Via sent-by for a message over `flow` (selected): the transport's
 * sent_by, or for a wildcard listener the local address towards the
 * remote with the listener's port. Returns the length, or a negative
 * errno.
 */
int sip_tpset_sent_by(struct sip_tpset *set, const struct sip_flow *flow, char *buf, size_t len);

/*
 * Send a whole message over a flow (selected here if it was not). For a
 * stream flow without a live connection, one to flow->remote is reused or
 * opened and flow->conn filled; a failure to connect comes later through
 * the receiver's flow_error. Returns 0 or a negative errno (see the send
 * operation above).
 */
int sip_tpset_send(struct sip_tpset *set, struct sip_flow *flow, const char *data, size_t len);

/* Close the connection of a stream flow. Returns 0, -ENOENT. */
int sip_tpset_drop_flow(struct sip_tpset *set, const struct sip_flow *flow);

/*
 * Close every connection of transport `tp` whose flows carry sa_set
 * (tagged by the listener's sock_hook): the SA set went away. As with
 * sip_tpset_drop_flow(), the receiver hears nothing of it.
 *   vanish  false: an orderly close (the kernel sends a FIN);
 *           true: the connections vanish as if the link had gone, with
 *           no FIN and no RST: the socket is put in TCP repair mode
 *           (TCP_REPAIR, which needs CAP_NET_ADMIN) before close(); where
 *           that is refused the close is an orderly one, logged.
 * Returns how many were closed (0 for a transport without connections).
 */
unsigned sip_tpset_drop_sa_set(struct sip_tpset *set, uint32_t tp, uint32_t sa_set, bool vanish);

/* One line per transport, for `describe` and the logs. */
void sip_tpset_describe(const struct sip_tpset *set, struct buf *out);

/* ------------------------------------------------------------------ */
/* For transport implementations                                      */

/* The receiver, for an implementation that delivers on its own (streams). */
void sip_tpset_deliver(struct sip_tpset *set, struct sip_rx *rx);
/* Report a failed or closed stream flow to the receiver. */
void sip_tpset_flow_error(struct sip_tpset *set, const struct sip_flow *flow, int err);
/* Report a keepalive answer (a stream transport's pong) to the receiver. */
void sip_tpset_keepalive(struct sip_tpset *set, const struct sip_keepalive *ka);

#endif
