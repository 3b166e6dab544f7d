/*
 * proxy.h - the stateful proxy core (RFC 3261 section 16) the P-CSCF and
 * the S-CSCF are built on.
 *
 * The component decides where a request goes (the targets); the core does
 * the rest of section 16:
 *   16.3  Max-Forwards (483 at zero, 70 when absent);
 *   16.4  Route pre-processing: a Request-URI we put in a Record-Route
 *         (a strict router before us) is replaced by the last Route; a
 *         topmost Route naming us is removed;
 *   16.6  per target: Request-URI, pre-loaded Route values (Path, Service-
 *         Route), Record-Route, our Via with a new branch, next hop from
 *         the topmost Route (loose: send to it; strict: it becomes the
 *         Request-URI and the old one goes last) or the Request-URI, or a
 *         flow the component names (a registered contact's flow, an RFC
 *         5626 flow token's flow); Timer C for INVITE;
 *   16.7  responses: 100 is not relayed; other provisionals and every 2xx
 *         go up at once; finals are collected and the best one is sent
 *         when every branch is done (6xx first, then the lowest class,
 *         a response a branch sent before one the core stood in for;
 *         401 / 407 carry the challenges of every branch; 503 becomes
 *         500); a 6xx or a 2xx to INVITE cancels the other branches;
 *         408 is never sent for a non-INVITE (RFC 4320 4.2); the
 *         component may choose another final status (the final op:
 *         the S-CSCF answers 480 when no binding answered);
 *   16.8  Timer C: CANCEL a branch that stopped talking, or treat it as
 *         408 if it never did;
 *   16.10 CANCEL: the component calls sip_proxy_cancel() from its stack
 *         cancel callback; every pending branch is cancelled.
 *
 * The component sees every response before it is relayed and may edit it
 * (the P-CSCF takes ck / ik out of a 401 and adds Security-Server) or keep
 * it (return SIP_PROXY_SWALLOW).
 *
 * A proxy context (one per forwarded request) is named by a 64-bit id with
 * a generation, given to the component as `ref`; it lives until the final
 * response is relayed and every branch has ended. The server transaction's
 * ref is set to the context id, so the stack's cancel and server_failure
 * callbacks can pass their `ref` straight to sip_proxy_cancel().
 */
#ifndef SIMREG_SIP_PROXY_H
#define SIMREG_SIP_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/flow.h"
#include "sip/print.h"
#include "sip/stack.h"
#include "sip/txn.h"

struct sip_proxy;

/* Branches of one context; the S-CSCF forks to every binding of an IMPU. */
#define SIP_PROXY_MAX_BRANCHES 16
/* Pre-loaded Route values per target. */
#define SIP_PROXY_MAX_ROUTES 8

enum sip_proxy_verdict {
	SIP_PROXY_RELAY = 0,   /* go on: relay (or collect) with the edits made */
	SIP_PROXY_SWALLOW = 1, /* forget this response (a final one counts as 500 for best-response) */
};

/*
 * What the branches of a context came to when none of them sent a 2xx:
 * what the final op (below) decides on.
 */
struct sip_proxy_outcome {
	uint64_t user;         /* sip_proxy_req.user of the request */
	bool invite;
	/*
	 * The core's choice (16.7 step 6): the best branch's status, 503 sent
	 * as 500; 0 when it would send nothing (a non-INVITE whose best
	 * branch timed out: no 408, RFC 4320 4.2).
	 */
	unsigned status;
	/* The choice is a final response a branch sent and the component relayed. */
	bool answered;
	unsigned n_branches;
	unsigned n_answered;    /* branches that sent a final response (relayed, not swallowed) */
	unsigned n_swallowed;   /* ... whose final response the component swallowed */
	unsigned n_timeout;     /* ended by Timer B / F or Timer C with nothing final (408) */
	unsigned n_unreachable; /* not started, or a transport error (503) */
};

/*
 * What the proxy tells its component. ctx is the pointer given to
 * sip_proxy_create(); ref is the context id from sip_proxy_forward().
 *
 *   response  a response arrived on branch `branch` (index in the
 *             targets). `edit` already removes our Via; add changes to it
 *             (its slices must stay valid until the call returns).
 *             Return a verdict.
 *   final     every branch has ended and none sent a 2xx: choose the
 *             final status sent upstream. Return 0 to keep the core's
 *             choice (o->status, which may be "nothing"), or a code
 *             300..699: when it differs from the chosen branch's, a new
 *             response with that code and its usual reason phrase, no
 *             body, goes upstream instead (a code out of range is logged
 *             and ignored). Called once per context, before done. May be
 *             NULL: the core's choice stands.
 *   done      the context is over: `status` is the final response sent
 *             upstream (0 if none could be: the server transaction
 *             failed or, for a non-INVITE, every branch timed out).
 */
struct sip_proxy_ops {
	enum sip_proxy_verdict (*response)(struct sip_proxy *px, void *ctx, uint64_t ref,
					   unsigned branch, struct sip_rx *rx, struct sip_edit *edit);
	unsigned (*final)(struct sip_proxy *px, void *ctx, uint64_t ref,
			  const struct sip_proxy_outcome *o);
	void (*done)(struct sip_proxy *px, void *ctx, uint64_t ref, unsigned status);
};

/* One place to send the request to. */
struct sip_proxy_target {
	/* New Request-URI (16.5 target); empty keeps the request's. */
	struct str uri;
	/*
	 * Route values to push on top of the request's Route set, in order
	 * (the Path of a binding at the S-CSCF, 24.229 5.4.3.3): "<sip:...;lr>"
	 */
	struct str routes[SIP_PROXY_MAX_ROUTES];
	unsigned n_routes;
	/*
	 * Send over this flow instead of resolving the next hop (a
	 * registered UE's flow at the P-CSCF). proto SIP_TRANSPORT_OTHER =
	 * not set.
	 */
	struct sip_flow flow;
};

struct sip_proxy_req {
	sip_txn_id stx;  /* the server transaction of the request */
	/*
	 * Changes for every branch, made on the server transaction's copy of
	 * the request (sip_server_txn_request() parsed into `msg`), or NULL.
	 * The core adds its own (Via, Max-Forwards, Route, Request-URI,
	 * Record-Route) to a copy per branch.
	 */
	const struct sip_edit *edit;
	/* The request the edit refers to; NULL when edit is NULL. */
	const struct sip_msg *msg;
	/* Record-Route value to add on top ("<sip:198.18.0.1;lr>"), or empty. */
	struct str record_route;
	const struct sip_proxy_target *targets;
	unsigned n_targets;
	/*
	 * The component's own word for this request (a flag, an id): given
	 * back unchanged in the outcome of the final op.
	 */
	uint64_t user;
};

/*
 * Create a proxy core on a stack.
 *   ops, ctx  the component; borrowed for the proxy's life
 * Returns 0 or -ENOMEM.
 */
int sip_proxy_create(struct sip_proxy **out, struct sip_stack *st, const struct sip_proxy_ops *ops,
		     void *ctx);

/*
 * Free the core. Live contexts are dropped: their branches are detached
 * (they run out on their own), no callback is called. NULL is a no-op.
 */
void sip_proxy_destroy(struct sip_proxy *px);

/*
 * Forward the request of server transaction req->stx to every target
 * (16.6). For an INVITE a 100 Trying is sent upstream first (16.2).
 * Max-Forwards 0 is answered 483 (16.3). A target whose next hop cannot be
 * resolved or reached counts as a 503 branch (16.9); if no branch starts,
 * the upstream answer is 500 (16.7 step 6 turns 503 into 500).
 *   ref  receives the context id; may be NULL
 * Returns 0 (at least one branch started), -EINVAL (no targets, more
 * than SIP_PROXY_MAX_BRANCHES, bad transaction), -ELOOP (Max-Forwards
 * exhausted: 483 sent), -ENETUNREACH (no branch could start: an error was
 * sent upstream), -ENOMEM.
 */
int sip_proxy_forward(struct sip_proxy *px, const struct sip_proxy_req *req, uint64_t *ref);

/*
 * Cancel every pending branch of a context (16.10): the CANCEL received
 * for its request, or the component's own decision. Unknown refs are
 * ignored. Returns 0 or -ENOENT.
 */
int sip_proxy_cancel(struct sip_proxy *px, uint64_t ref);

/*
 * Forward a request that has no transaction (ACK for a 2xx, 16.11) or a
 * response that matched none (a 2xx retransmission, 16.7 / 16.11):
 *   request   Route pre-processing, Max-Forwards, our Via, next hop from
 *             Route or Request-URI;
 *   response  our topmost Via removed, sent where the next Via says (if
 *             the topmost Via is not ours, the response is dropped).
 * Returns 0, -EINVAL (malformed), -ELOOP, or a transport error.
 */
int sip_proxy_forward_stateless(struct sip_proxy *px, struct sip_rx *rx);

/* Live contexts, for tests and statistics. */
unsigned sip_proxy_live(const struct sip_proxy *px);

#endif
