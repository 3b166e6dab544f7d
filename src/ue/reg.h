/*
 * reg.h - the registration state machine of one access, as a table.
 *
 * Each access of the UE registers on its own (TS 24.229 5.1.1; DESIGN.md
 * section 2): one REGISTER procedure at a time, its own Call-ID, its own
 * SA sets, its own timers. The machine below is the whole life of that
 * registration; docs/ue.md prints the table (ue_reg_table_markdown()) and
 * a test keeps the two equal.
 *
 *   idle --register--> unprotected --401--> challenged --ok--> protected
 *   protected --2xx--> registered --refresh timer--> refreshing
 *   refreshing --2xx--> registered          (not challenged)
 *   refreshing --401--> rechallenged --ok--> reauthenticating --2xx--> registered
 *   registered --deregister--> deregistering --final--> idle
 *   any live state --drop--> link-down --restore--> backoff --retry timer--> unprotected
 *   failures (no answer, 403, flow failed) --> backoff, RFC 5626 4.5 delay
 *
 * "challenged" and "rechallenged" are passed through: entering them runs
 * the USIM on the challenge, whose verdict is the next event (ok, MAC
 * failure, sync failure, bad challenge). An invalid challenge is answered
 * over the SAs the procedure started from (unprotected for an initial
 * registration, the established set for a re-registration) and creates no
 * temporary set (33.203 7.2, 7.4).
 *
 * Every event a state does not list is refused: logged, reported to the
 * caller (a control command gets an error), and nothing changes.
 */
#ifndef SIMREG_UE_REG_H
#define SIMREG_UE_REG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/loop.h"
#include "core/str.h"
#include "sip/flow.h"
#include "ue/auth.h"

/* X(id, name, what it means) */
#define UE_REG_STATES(X)                                                                    \
	X(IDLE, "idle", "not registered, nothing in flight")                                \
	X(UNPROTECTED, "unprotected", "unprotected REGISTER sent, waiting for the challenge") \
	X(CHALLENGED, "challenged", "the USIM checks the challenge (passed through)")       \
	X(PROTECTED, "protected", "protected REGISTER sent over the temporary SA set")      \
	X(REGISTERED, "registered", "registered; the established SA set protects the access") \
	X(REFRESHING, "refreshing", "re-REGISTER sent over the established SA set")         \
	X(RECHALLENGED, "rechallenged", "the USIM checks a re-authentication challenge (passed through)") \
	X(REAUTHENTICATING, "reauthenticating", "protected REGISTER sent over a new temporary SA set") \
	X(DEREGISTERING, "deregistering", "REGISTER with Expires 0 sent")                   \
	X(BACKOFF, "backoff", "waiting to register again (RFC 5626 4.5 back-off)")          \
	X(LINK_DOWN, "link-down", "the access's link is down")

enum ue_reg_state {
#define X(id, name, doc) UE_REG_##id,
	UE_REG_STATES(X)
#undef X
	UE_REG__COUNT
};

/* X(id, name, where it comes from) */
#define UE_REG_EVENTS(X)                                                                   \
	X(REGISTER, "register", "start-up or `ctl ue register`")                           \
	X(DEREGISTER, "deregister", "`ctl ue deregister`, shutdown")                       \
	X(REAUTH, "reauth", "`ctl ue reauth`: re-register asking to be challenged")        \
	X(DROP, "drop", "`ctl ue drop`: the link goes away without signalling")            \
	X(RESTORE, "restore", "`ctl ue restore`: the link is back")                        \
	X(RX_401, "401", "a 401 to our REGISTER")                                          \
	X(RX_2XX, "2xx", "a 2xx to our REGISTER")                                          \
	X(RX_REJECT, "rejected", "any other final response to our REGISTER")              \
	X(NO_ANSWER, "no-answer", "the REGISTER transaction failed (timeout, transport)")  \
	X(AKA_OK, "aka-ok", "the USIM accepted the challenge")                             \
	X(AKA_MAC_FAIL, "mac-failure", "the challenge's MAC is wrong")                     \
	X(AKA_SYNC_FAIL, "sync-failure", "the challenge's SQN is not fresh")               \
	X(AKA_BAD, "bad-challenge", "no usable challenge or Security-Server in the 401")   \
	X(T_REFRESH, "refresh-timer", "time to re-register (TS 24.229 5.1.1.4.1)")         \
	X(T_RETRY, "retry-timer", "the back-off is over")                                  \
	X(T_EXPIRED, "expired", "the registration ran out before a refresh succeeded")     \
	X(FLOW_FAIL, "flow-failed", "an outbound keepalive went unanswered")               \
	X(NET_ENDED, "network-ended", "a reg-event NOTIFY terminated our contact")          \
	X(NET_DEACTIVATED, "network-deactivated", "NOTIFY: contact deactivated, register again at once") \
	X(NET_PROBATION, "network-probation", "NOTIFY: contact on probation, retry later") \
	X(SA_REPLACED, "sa-replaced", "impi binding: another access's registration took the IMPI")

enum ue_reg_event {
#define X(id, name, doc) UE_REG_EV_##id,
	UE_REG_EVENTS(X)
#undef X
	UE_REG_EV__COUNT
};

const char *ue_reg_state_name(enum ue_reg_state s);
const char *ue_reg_event_name(enum ue_reg_event e);

/* The registration of one access. */
struct ue_reg {
	enum ue_reg_state state;
	char call_id[40];
	char tag[24];
	uint32_t cseq;
	uint64_t txn;          /* ref of the REGISTER in flight; 0 when none */
	uint32_t txn_set;      /* the set it went over, 0 unprotected */
	struct ue_digest digest;
	enum ue_cred_kind next_cred; /* for the REGISTER an action is about to send */
	bool reauth;           /* the refresh in progress asks to be challenged */
	/* What the last 200 granted. */
	uint32_t expires;
	uint64_t registered_at_ms;
	uint64_t expires_at_ms;
	bool outbound;         /* the registrar answered Require: outbound */
	uint32_t flow_timer;   /* Flow-Timer of the 200, 0 if none */
	struct arena result;   /* Service-Route, P-Associated-URI of the last 200 */
	struct str *routes;
	unsigned nroutes;
	struct str *assoc;
	unsigned nassoc;
	/* Failures since the last successful registration (RFC 5626 4.5). */
	unsigned failures;
	uint64_t retry_after_ms; /* set by an action for the back-off to use, else computed */
	struct loop_timer t_refresh;
	struct loop_timer t_retry;
	struct loop_timer t_expire;
	struct loop_timer t_keepalive;
	struct loop_timer t_ka_wait;
	bool ka_pending;
	bool ka_have_mapped;      /* ka_mapped holds the flow's first answer */
	union sip_sockaddr ka_mapped;
	/*
	 * An event decided while answering a request (a NOTIFY ending our
	 * contact), run right after the answer has left: its SAs must carry
	 * that answer (33.203 7.4: SAs go once their transactions are done).
	 */
	struct loop_timer t_later;
	enum ue_reg_event later_ev;
	uint32_t later_retry_after;
	const char *later_why;
};

/* What came with a network event (responses). */
struct sip_msg;
struct ue_reg_input {
	struct sip_msg *msg;  /* the response, for RX_* */
	uint32_t sa_set;      /* set it arrived over, 0 unprotected */
	int err;              /* NO_ANSWER: why */
	uint32_t retry_after; /* NET_PROBATION: seconds */
	const char *why;      /* NET_*, SA_REPLACED: for the log */
};

struct ue;
struct ue_access;

/*
 * ue_reg_event
 *	Feed an event to access a's machine. Runs the transition's action and
 *	any event it leads to (the verdicts of a challenge), writes each step
 *	to the log and the event log.
 *	in : may be NULL for events without input
 * Returns 0 when the event was taken, -EPERM when the state refuses it,
 * or -EINVAL for an event out of range.
 */
int ue_reg_event(struct ue *ue, struct ue_access *a, enum ue_reg_event ev,
		 const struct ue_reg_input *in);

/*
 * Feed an event once the current callback is done (a zero-delay timer):
 * for what a request decides, which must not tear down the SAs its answer
 * leaves over. A later call replaces an event still pending. `why` must
 * be static.
 */
void ue_reg_event_later(struct ue *ue, struct ue_access *a, enum ue_reg_event ev,
			uint32_t retry_after, const char *why);

/*
 * The network cut the registration of access a to `seconds` from now
 * (reg-event "shortened"). Registered: the expiry and the refresh move
 * (TS 24.229 5.1.1.4.1 on the new time); during a procedure only the
 * expiry does. A longer time than the one believed changes nothing.
 */
void ue_reg_shorten(struct ue *ue, struct ue_access *a, uint32_t seconds);

/* True if the current state accepts the event. */
bool ue_reg_accepts(enum ue_reg_state s, enum ue_reg_event ev);

/* Initialise / tear down the registration part of an access (timers, arena). */
void ue_reg_init(struct ue *ue, struct ue_access *a);
void ue_reg_fini(struct ue *ue, struct ue_access *a);

/* The state machine as Markdown (docs/ue.md). Returns 0 or -EIO. */
int ue_reg_table_markdown(FILE *out);

#endif
