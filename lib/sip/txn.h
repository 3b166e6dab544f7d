/*
 * txn.h - SIP transactions (RFC 3261 section 17, RFC 6026), the four state
 * machines as tables, their timers, and the API a transaction user calls.
 *
 * Four kinds: INVITE client (ICT), non-INVITE client (NICT), INVITE server
 * (IST), non-INVITE server (NIST). Each is a table state x event ->
 * (action, next state); an event the table does not list for the current
 * state is refused: logged at debug level, counted, and ignored. Every state
 * also names the timers that run in it; entering a state cancels the
 * others and arms the missing ones, so "Timer E keeps running from Trying
 * to Proceeding" and "Timer G starts in Completed" are data, not code.
 * The tables are printed into docs/sip-transport.md by
 * sip_txn_tables_markdown(), and a test keeps the two equal.
 *
 * RFC 6026 is followed for 2xx to INVITE: the client goes to Accepted and
 * hands every 2xx retransmission to its user until Timer M; the server goes
 * to Accepted and lets its user send 2xx retransmissions until Timer L. A
 * proxy thus relays the 2xx of every fork.
 *
 * Matching (17.1.3, 17.2.3): responses by topmost Via branch and CSeq
 * method; requests by branch, sent-by and method (ACK matching INVITE)
 * when the branch has the magic cookie; otherwise by the RFC 2543 rule
 * (Request-URI, To tag, From tag, Call-ID, CSeq number, topmost Via; an ACK
 * by the To tag the server put in its response). A CANCEL is its own
 * transaction, and also looked up as the INVITE it cancels (9.2).
 *
 * Handles: a transaction is named by a sip_txn_id that carries a
 * generation, so an id kept past the end of its transaction finds nothing
 * (functions return -ENOENT) instead of someone else's transaction.
 * Callbacks give a long-lived context pointer (the component) and the
 * 64-bit `ref` the user attached, never a pointer to a short-lived object.
 *
 * Memory: each transaction owns an arena holding its copy of the request
 * (with the Via fixed, for servers) and of the last response.
 */
#ifndef SIMREG_SIP_TXN_H
#define SIMREG_SIP_TXN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/flow.h"
#include "sip/transport.h"

struct sip_stack;

/* ------------------------------------------------------------------ */
/* Timers                                                             */

/*
 * Base timer values in milliseconds. The transaction timers follow from
 * them (17.1, 17.2; sip_timers.tsv): A = E = G start at T1 (A doubles, E
 * and G double up to T2); B = F = H = J = L = M = 64*T1; I = K = T4; D =
 * td. Over a reliable transport A, E and G never run and D, I, J, K are 0.
 * tc is the proxy's Timer C (16.6 step 11, "> 3 min"). trying is how long
 * an INVITE server transaction waits for its user before it answers 100
 * Trying itself (17.2.1, 200 ms); 0 disables.
 */
struct sip_timers {
	uint32_t t1, t2, t4;
	uint32_t td;
	uint32_t tc;
	uint32_t trying;
};

/* RFC 3261: T1 500 ms, T2 4 s, T4 5 s, D 32 s, C 3 min 1 s, trying 200 ms. */
extern const struct sip_timers sip_timers_rfc3261;
/*
 * TS 24.229 table 7.7.1, at the UE and at the P-CSCF towards the UE:
 * T1 2 s, T2 16 s, T4 17 s, D 128 s.
 */
extern const struct sip_timers sip_timers_ims_ue;

/* Returns 0, or -EINVAL with the reason (T1 0, T2 < T1, C under 3 min ...). */
int sip_timers_check(const struct sip_timers *t, const char **why);

/* ------------------------------------------------------------------ */
/* The state machines                                                 */

#define SIP_TXN_KINDS(X)                          \
	X(ICT, "INVITE client", "17.1.1")         \
	X(NICT, "non-INVITE client", "17.1.2")    \
	X(IST, "INVITE server", "17.2.1")         \
	X(NIST, "non-INVITE server", "17.2.2")

enum sip_txn_kind {
#define X(id, name, clause) SIP_TXN_##id,
	SIP_TXN_KINDS(X)
#undef X
	SIP_TXN_KIND__COUNT
};

#define SIP_TXN_STATES(X)                 \
	X(INIT, "Init")                   \
	X(CALLING, "Calling")             \
	X(TRYING, "Trying")               \
	X(PROCEEDING, "Proceeding")       \
	X(COMPLETED, "Completed")         \
	X(CONFIRMED, "Confirmed")         \
	X(ACCEPTED, "Accepted")           \
	X(DROPPED, "Dropped")             \
	X(TERMINATED, "Terminated")

enum sip_txn_state {
#define X(id, name) SIP_TXN_S_##id,
	SIP_TXN_STATES(X)
#undef X
	SIP_TXN_S__COUNT
};

/*
 * Events: what the user, the network and the timers do to a transaction.
 * Timer events are named after the RFC's timers.
 */
#define SIP_TXN_EVENTS(X)                                                    \
	X(TU_REQUEST, "request from TU")                                     \
	X(RX_REQUEST, "request received")                                    \
	X(RX_ACK, "ACK received")                                            \
	X(RX_1XX, "1xx received")                                            \
	X(RX_2XX, "2xx received")                                            \
	X(RX_FINAL, "300-699 received")                                      \
	X(TU_1XX, "1xx from TU")                                             \
	X(TU_2XX, "2xx from TU")                                             \
	X(TU_FINAL, "300-699 from TU")                                       \
	X(TIMER_A, "Timer A")                                                \
	X(TIMER_B, "Timer B")                                                \
	X(TIMER_D, "Timer D")                                                \
	X(TIMER_E, "Timer E")                                                \
	X(TIMER_F, "Timer F")                                                \
	X(TIMER_G, "Timer G")                                                \
	X(TIMER_H, "Timer H")                                                \
	X(TIMER_I, "Timer I")                                                \
	X(TIMER_J, "Timer J")                                                \
	X(TIMER_K, "Timer K")                                                \
	X(TIMER_L, "Timer L")                                                \
	X(TIMER_M, "Timer M")                                                \
	X(TIMER_TRYING, "200 ms without TU answer")                          \
	X(TIMER_CANCEL, "64*T1 after CANCEL")                                \
	X(TRANSPORT_ERROR, "transport error")                                \
	X(TU_ABORT, "TU aborts")                                             \
	X(TU_DROP, "TU drops")

enum sip_txn_event {
#define X(id, name) SIP_TXN_EV_##id,
	SIP_TXN_EVENTS(X)
#undef X
	SIP_TXN_EV__COUNT
};

const char *sip_txn_kind_name(enum sip_txn_kind k);
const char *sip_txn_state_name(enum sip_txn_state s);
const char *sip_txn_event_name(enum sip_txn_event e);

/*
 * One transition, for documentation and tests: in `state`, `event` runs
 * `action` (a short description: "retransmit request, double A") and
 * leads to `next`.
 */
struct sip_txn_transition {
	enum sip_txn_state state;
	enum sip_txn_event event;
	enum sip_txn_state next;
	const char *action;
};

/*
 * Look up a transition. Returns true and fills *t if the table of `kind`
 * accepts `event` in `state`.
 */
bool sip_txn_lookup(enum sip_txn_kind kind, enum sip_txn_state state, enum sip_txn_event event,
		    struct sip_txn_transition *t);

/*
 * The timers (as their SIP_TXN_EV_TIMER_* events) that run in a state;
 * returns how many were written to out (at most 2).
 */
unsigned sip_txn_state_timers(enum sip_txn_kind kind, enum sip_txn_state state,
			      enum sip_txn_event out[2]);

/* Print every table as Markdown (docs/sip-transport.md). Returns 0 or -EIO. */
int sip_txn_tables_markdown(FILE *out);

/* ------------------------------------------------------------------ */
/* Handles                                                            */

/* 0 = none. The low 32 bits index a slot, the high 32 are its generation. */
typedef uint64_t sip_txn_id;

/* A snapshot of a transaction, for logs and tests. */
struct sip_txn_info {
	enum sip_txn_kind kind;
	enum sip_txn_state state;
	uint16_t last_status;        /* last response sent (server) or received (client); 0 none */
	uint32_t retransmissions;    /* requests (client) or responses (server) sent again */
	uint32_t absorbed;           /* retransmissions received and absorbed */
	struct sip_flow flow;        /* client: where the request went; server: where responses go */
	uint64_t ref;
	struct str branch;           /* valid until the transaction ends */
	struct str method;
};

/* Returns 0 or -ENOENT if the transaction is gone. */
int sip_txn_info(struct sip_stack *st, sip_txn_id id, struct sip_txn_info *out);

/* ------------------------------------------------------------------ */
/* Client transactions                                                */

/*
 * What a client transaction reports to its user. ctx is the context given
 * in struct sip_client_req (a long-lived component), ref the user's
 * number for the object the transaction is for.
 *
 *   response  a response matched: every provisional, the final one, and
 *             in Accepted every further 2xx (forks, retransmissions).
 *             rx is valid during the call only.
 *   failure   the transaction ended without a final response: -ETIMEDOUT
 *             (Timer B or F), a negative errno from the transport, or
 *             -ECANCELED when the stack shut down. Not called after a
 *             final response.
 */
struct sip_client_ops {
	void (*response)(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			 struct sip_rx *rx);
	void (*failure)(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err);
};

struct sip_client_req {
	/*
	 * The request, complete with Content-Length, without the Via of
	 * this hop: a UAC's request has no Via at all, a proxy's carries
	 * the Vias of the hops before. The stack adds its own Via (with a
	 * new branch and, over UDP, rport) on top and copies the result.
	 */
	struct str msg;
	/*
	 * The next hop: proto and remote address, and optionally the
	 * transport, local address (a protected client port) and
	 * connection to use (sip_flow_to() is enough in most cases).
	 */
	struct sip_flow dest;
	const struct sip_client_ops *ops;
	void *ctx;
	uint64_t ref;
};

/*
 * Start a client transaction: INVITE gives an ICT, anything else but ACK a
 * NICT (an ACK is sent with sip_stack_send_stateless()). The request is
 * sent before this returns.
 *   id  receives the transaction id; may be NULL
 * Returns 0, -EINVAL (ACK, not a request, no CRLF), -EAGAIN (the stack is
 * shutting down), -ENOBUFS (too many transactions), -ENOMEM, or the
 * transport's error for the first send (no transaction is left behind).
 */
int sip_client_txn_start(struct sip_stack *st, const struct sip_client_req *req, sip_txn_id *id);

/*
 * Cancel an INVITE client transaction (RFC 3261 9.1): build the CANCEL
 * (Request-URI, Call-ID, From, To, CSeq number and Route of the INVITE,
 * one Via with the INVITE's branch) and start its own client
 * transaction, with the INVITE's ops, ctx and ref. If no provisional
 * response has arrived yet the CANCEL waits for the first one (9.1: it
 * must not be sent before); if a final response arrives first, nothing is
 * sent.
 *   cancel  receives the CANCEL's transaction id, or 0 while it waits;
 *           may be NULL
 * Returns 0, -ENOENT (gone), -EINVAL (not an INVITE client transaction),
 * -EALREADY (already cancelled or final response received), or an error
 * of sip_client_txn_start().
 */
int sip_client_txn_cancel(struct sip_stack *st, sip_txn_id invite, sip_txn_id *cancel);

/*
 * Stop reporting to the user: the transaction runs on (retransmits,
 * absorbs) but calls neither response nor failure again. For an owner that
 * goes away before its transactions end. Unknown ids are ignored.
 */
void sip_client_txn_detach(struct sip_stack *st, sip_txn_id id);

/* The request as sent (with our Via). Returns 0 or -ENOENT. */
int sip_client_txn_request(struct sip_stack *st, sip_txn_id id, struct str *msg);

/* ------------------------------------------------------------------ */
/* Server transactions                                                */

/*
 * Server transactions are created by the stack for every request but ACK
 * and handed to the stack user's request callback (stack.h).
 */

/* The user's number for the transaction, given back in server callbacks. */
int sip_server_txn_set_ref(struct sip_stack *st, sip_txn_id id, uint64_t ref);

/*
 * The request as kept by the transaction: its bytes with the topmost Via
 * carrying received / rport. Valid until the transaction ends.
 */
int sip_server_txn_request(struct sip_stack *st, sip_txn_id id, struct str *msg);

/* Where responses go (computed by sip_via_reply_flow()). */
int sip_server_txn_reply_flow(struct sip_stack *st, sip_txn_id id, struct sip_flow *out);

/*
 * Send responses elsewhere: a P-CSCF answers a request that came over an
 * IPsec SA pair to the source port (TS 33.203 7.1), whatever the Via says.
 */
int sip_server_txn_set_reply_flow(struct sip_stack *st, sip_txn_id id,
				  const struct sip_flow *flow);

/*
 * Start a response in `b` (print.h's sip_print_response_start over the
 * kept request): status line, Via, From, To (with the transaction's To tag
 * for codes above 100 when the request had none), Call-ID, CSeq. The
 * caller adds headers, ends with sip_print_body() and sends with
 * sip_server_txn_send(). The To tag is the same in every response of the
 * transaction.
 * Returns 0, -ENOENT, or the buffer's error.
 */
int sip_server_txn_response_start(struct sip_stack *st, sip_txn_id id, struct buf *b,
				  unsigned code, struct str reason);

/*
 * Send a complete response (built with the function above, or a response
 * a proxy relays) through the transaction's state machine. Its status code
 * is read from the status line.
 * Returns 0; -ENOENT; -EBADMSG (not a response); -EPROTO (refused by the
 * state machine: a provisional after the final one, a second final one,
 * anything but a 2xx in Accepted); or a transport error, in which case the
 * transaction is terminated (17.2.4 alternatives are left to the caller).
 */
int sip_server_txn_send(struct sip_stack *st, sip_txn_id id, struct str response);

/*
 * Convenience: a response with no extra headers and no body. reason may
 * be empty for the standard phrase. Same returns.
 */
int sip_server_txn_respond(struct sip_stack *st, sip_txn_id id, unsigned code, struct str reason);

/*
 * Drop a request on purpose: its server transaction goes to Dropped,
 * where it sends nothing at all (no 100 Trying, no final response),
 * absorbs retransmissions of the request without telling the user, and
 * ends on Timer J (64*T1 over UDP, at once over a reliable transport).
 * An edge proxy drops what it must not answer: a request over an SA that
 * carries responses only, or over a security association it no longer
 * knows (TS 33.203 7.1); answering would tell an unauthenticated sender
 * something, or go out over an SA the request did not use. Absorbing the
 * retransmissions keeps them from reaching the user again as new
 * requests. No callback follows. May be called from the request
 * callback.
 * Returns 0, -ENOENT (gone, or not a server transaction) or -EPROTO (a
 * final response was sent already: nothing to drop).
 */
int sip_server_txn_drop(struct sip_stack *st, sip_txn_id id);

/*
 * End a server transaction that will never be answered, without a
 * response and without callbacks: a proxy whose branches all timed out on
 * a non-INVITE request sends nothing (RFC 4320 4.2), and a non-INVITE
 * server transaction has no timer of its own before its final response
 * (17.2.2). Later retransmissions of the request are new requests.
 * Returns 0 or -ENOENT.
 */
int sip_server_txn_abandon(struct sip_stack *st, sip_txn_id id);

#endif
