/*
 * harness.h - a stack on the manual clock whose transports record what
 * they send instead of putting it on a socket, for the transaction and
 * proxy unit tests.
 *
 * The recording transports are real implementations of the transport
 * interface (transport.h), the seam lib/ipsec's userspace ESP transport
 * uses too: messages come in through sip_tpset_input() and go out through
 * the transport's send(). Everything above them (stack, transactions,
 * timers, proxy) is the production code.
 */
#ifndef SIMREG_TESTS_SIP_TRANSPORT_HARNESS_H
#define SIMREG_TESTS_SIP_TRANSPORT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "sip/msg.h"
#include "sip/stack.h"
#include "sip/transport.h"
#include "sip/txn.h"

#define H_MAX_SENT 512
#define H_MAX_EVENTS 256

struct h_sent {
	uint64_t at_ms;     /* since the harness started */
	uint32_t tp;
	union sip_sockaddr to;
	char *msg;          /* NUL-terminated copy */
	size_t len;
};

enum h_event_kind {
	H_REQUEST,        /* TU request callback */
	H_RESPONSE,       /* client response callback */
	H_FAILURE,        /* client failure callback */
	H_SERVER_FAILURE,
	H_CANCEL,
	H_STRAY,
	H_FLOW_FAILURE,
};

struct h_event {
	enum h_event_kind kind;
	uint64_t at_ms;
	sip_txn_id id;
	uint64_t ref;
	int err;
	unsigned status;   /* responses */
	char method[16];   /* requests */
};

/* One recording transport. */
struct h_tp {
	struct sip_tp tp;
	struct harness *h;
	int fail_send;     /* next sends fail with this error (0: succeed) */
};

struct harness {
	struct loop_manual_clock clock;
	struct loop *loop;
	struct sip_stack *st;
	struct h_tp udp, tcp;
	uint64_t ids_counter;
	struct h_sent sent[H_MAX_SENT];
	unsigned n_sent;
	struct h_event ev[H_MAX_EVENTS];
	unsigned n_ev;
	/* What the TU callback does with a new request: answer `auto_status` (0: nothing). */
	unsigned auto_status;
	sip_txn_id last_stx;
};

/* Our addresses: UDP and "TCP" 198.18.0.1:5060. */
#define H_LOCAL "198.18.0.1"
#define H_PEER "198.18.0.2"

/*
 * Build the harness with a stack using `timers` (NULL: RFC 3261) and the
 * deterministic id source. ops: NULL for the harness's own recording TU.
 */
struct harness *h_new(const struct sip_timers *timers, const struct sip_tu_ops *ops, void *ctx);
void h_free(struct harness *h);

/* Advance the manual clock; timers fire on the way. */
void h_advance(struct harness *h, uint64_t ms);
uint64_t h_now(struct harness *h);

/* Deliver a message as if it arrived over `tcp` or UDP from H_PEER:port. */
void h_input(struct harness *h, bool tcp, uint16_t from_port, const char *msg);

/* The client ops that record into the harness (ctx = harness). */
extern const struct sip_client_ops h_client_ops;

/* Start a client transaction for `msg` (no Via) to H_PEER:5060 over UDP or TCP. */
int h_client(struct harness *h, bool tcp, const char *msg, sip_txn_id *id);

/*
 * A response to the i-th sent message (which must be a request), built
 * like a UAS would: status line, Via / From / To (+ tag "uas") / Call-ID
 * / CSeq copied. Returns a malloc'd string.
 */
char *h_response_to(struct harness *h, unsigned i, unsigned code);

/* Sent messages whose start line begins with `prefix`, between [from, to) ms. */
unsigned h_count_sent(struct harness *h, const char *prefix);
/* Index of the last sent message with this prefix, or -1. */
int h_last_sent(struct harness *h, const char *prefix);
/* Events of a kind. */
unsigned h_count_ev(struct harness *h, enum h_event_kind k);
const struct h_event *h_last_ev(struct harness *h, enum h_event_kind k);

/* A request text with the given method, branch and extra Via parameters. */
char *h_request(const char *method, const char *branch, const char *via_extra, const char *to_tag,
		unsigned cseq);

/* The recording TU (used when h_new gets ops == NULL). */
extern const struct sip_tu_ops h_tu_ops;

#endif
