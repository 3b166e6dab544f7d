/*
 * stack_int.h - the stack and transaction internals shared by stack.c and
 * txn.c. Private to lib/sip.
 */
#ifndef SIMREG_SIP_STACK_INT_H
#define SIMREG_SIP_STACK_INT_H

#include "core/arena.h"
#include "core/buf.h"
#include "sip/stack.h"
#include "sip/table.h"
#include "sip/txn.h"

/* No timer armed in a slot. */
#define TXN_NO_TIMER 0xff

/* The two timer slots of a transaction. */
enum {
	SLOT_RETRANS, /* A, E, G, and the 100 Trying wait */
	SLOT_TIMEOUT, /* B, D, F, H, I, J, K, L, M */
};

struct sip_txn {
	struct sip_hnode node;     /* in the stack's server or client table */
	struct sip_hnode node2543; /* RFC 2543 servers: in the stack's 2543 table */
	sip_txn_id id;
	struct sip_stack *st;
	enum sip_txn_kind kind;
	enum sip_txn_state state;
	bool reliable;
	bool detached;           /* client: no more callbacks */
	bool rfc2543;            /* server matched by the old rule */
	bool cancel_wanted;      /* ICT: CANCEL waits for the first provisional */
	bool to_has_tag;         /* server: the request's To had a tag */
	bool in_table;
	uint8_t timer_ev[2];     /* event each slot raises, TXN_NO_TIMER if none */
	uint8_t immediate;       /* event of a zero-length timer, TXN_NO_TIMER if none */
	uint16_t last_status;
	unsigned busy;           /* dispatches of this transaction on the stack */
	struct loop_timer timer[2];
	uint32_t interval;       /* current retransmission interval, ms */
	uint32_t retransmissions;
	uint32_t absorbed;

	struct arena arena;      /* everything below that points to memory */
	struct str req;          /* request bytes (server: Via fixed) */
	struct str resp;         /* last response sent (server) */
	struct str ack;          /* ICT: the ACK for a non-2xx final response */
	struct str branch;
	struct str method;       /* CSeq method: what responses must carry */
	enum sip_method method_id;

	/* Server matching (17.2.3) */
	struct str sent_by_host;
	uint16_t sent_by_port;
	bool sent_by_has_port;
	/* RFC 2543 matching */
	struct str callid, from_tag, req_to_tag, ruri, top_via;
	uint32_t cseq;
	char to_tag[SIP_TAG_LEN]; /* the To tag of our responses */

	struct sip_flow flow;    /* client: the request's; server: where responses go */
	const struct sip_timers *tm; /* the transport's timers, or the stack's */
	uint64_t ref;
	const struct sip_client_ops *ops;
	void *ctx;
	sip_txn_id cancel;       /* ICT: the CANCEL started for it */
};

struct sip_stack {
	struct loop *loop;
	struct sip_stack_config cfg;
	const struct sip_tu_ops *tu;
	void *ctx;
	struct sip_tpset *tps;
	struct sip_slots txns;
	struct sip_htab servers;     /* RFC 3261 server transactions by branch, sent-by, method */
	struct sip_htab servers2543; /* the others, by Call-ID, CSeq number, From tag */
	struct sip_htab clients;     /* by branch and method */
	struct sip_stack_stats stats;
	struct loop_shutdown_hook hook;
	bool shutting_down;
	bool hook_pending;
	/* A message re-parsed from a transaction's copy (never live across a callback). */
	struct sip_msg work;
	/* The fixed copy of the request being delivered to the TU. */
	struct sip_msg fixed;
	/* While a request is delivered: its transaction and parsed message. */
	sip_txn_id cur_id;
	struct sip_msg *cur_msg;
	struct buf tmp;
};

/* ---- txn.c, for stack.c ---- */

/* A new transaction of `kind` in state Init; NULL when out of memory or above max_txns. */
struct sip_txn *sip_txn_new(struct sip_stack *st, enum sip_txn_kind kind);
/* Free at once (no callbacks): stack destruction, failed starts. */
void sip_txn_destroy(struct sip_txn *t);
struct sip_txn *sip_txn_get(struct sip_stack *st, sip_txn_id id);

struct sip_txn_arg {
	struct sip_rx *rx;   /* received message, or NULL */
	struct str out;      /* response from the TU (server) */
	int err;             /* transport error */
	/*
	 * RX_REQUEST: do not hand to the TU (a CANCEL the stack answers);
	 * TU_ABORT: end without a 503 and without callbacks.
	 */
	bool quiet;
};

/*
 * Feed an event to a transaction's table. Returns 0, -EPROTO when the
 * table refused it, or the action's error (after which the transaction
 * has gone through its transport-error transition).
 */
int sip_txn_feed(struct sip_txn *t, enum sip_txn_event ev, struct sip_txn_arg *arg);

/* Send bytes over the transaction's flow, recording a changed flow (new connection). */
int sip_txn_send(struct sip_txn *t, struct str data);

/* Hash tables: insert a transaction under its keys, look them up. */
void sip_txn_index(struct sip_txn *t);
struct sip_txn *sip_txn_match_response(struct sip_stack *st, struct str branch, struct str method);
struct sip_txn *sip_txn_match_request(struct sip_stack *st, struct sip_msg *m, enum sip_method as);

/* Client: the response event for a status code. */
enum sip_txn_event sip_txn_rx_event(unsigned status);

#endif
