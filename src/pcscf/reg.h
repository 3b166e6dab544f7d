/*
 * reg.h - the P-CSCF's registration flows and their SA sets, as logic.
 *
 * A registration flow is one UE contact registered through this P-CSCF:
 * an IMPI, the UE's address and its protected ports port_uc / port_us
 * (TS 33.203 §7.1, docs/architecture.md "Flows, tokens"). Each flow has up
 * to three SA sets:
 *
 *   temporary    installed on the 401 of a challenge, lifetime
 *                reg-await-auth; the protected REGISTER must come over it
 *   established  the set in use, lifetime max(previous lifetime,
 *                registration expiry + 30 s) (33.203 §7.4)
 *   old          the established set a re-authentication replaced; kept
 *                until the UE uses the new one or it expires
 *
 * and is named everywhere else by a 64-bit id (in its flow token) that no
 * other flow ever gets.
 *
 * Two state machines, each a table printed into docs/pcscf.md and checked
 * by the tests: one per registration flow (the SIP procedure it is in)
 * and one per SA set. Events a table does not list for the current state
 * are refused: traced, counted, nothing changes.
 *
 * The model does no I/O. What it decides is carried out through struct
 * pcscf_reg_ops (install or remove a set, persist, reg-event), and every
 * transition is traced as one line, which is what the unit tests compare
 * with their transcripts. Time comes from the event loop (timers) and a
 * wall clock seam (expiry times that survive a restart).
 *
 * SA binding (DESIGN.md section 3):
 *   registration  a set belongs to its flow; nothing a flow does touches
 *                 another flow's sets;
 *   impi          legacy: when a registration of an IMPI succeeds, every
 *                 other set of that IMPI is deleted at once (the flows
 *                 that held them end), and the flow's own old set too.
 */
#ifndef SIMREG_PCSCF_REG_H
#define SIMREG_PCSCF_REG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "core/str.h"
#include "ipsec/alloc.h"
#include "ipsec/sa.h"
#include "ipsec/secagree.h"
#include "ipsec/table.h"

/* ---- registration flows ------------------------------------------------- */

/* X(id, name, what the flow is doing) */
#define PCSCF_REG_STATES(X)                                                              \
	X(UNAUTH, "unauthenticated", "initial REGISTER forwarded, waiting for the challenge") \
	X(CHALLENGED, "challenged", "401 relayed, temporary set installed")                   \
	X(AUTHENTICATING, "authenticating", "protected REGISTER forwarded over the temporary set") \
	X(REGISTERED, "registered", "established set in use")                                 \
	X(REFRESHING, "refreshing", "re-REGISTER of a registered flow forwarded")             \
	X(RECHALLENGED, "rechallenged", "registered; a re-authentication installed a temporary set") \
	X(REAUTHENTICATING, "reauthenticating", "registered; protected REGISTER over the new temporary set forwarded") \
	X(ENDING, "ending", "over; its sets stay until the last responses are out")           \
	X(GONE, "gone", "removed with all its sets")

enum pcscf_reg_state {
#define X(id, name, doc) PCSCF_REG_##id,
	PCSCF_REG_STATES(X)
#undef X
	PCSCF_REG__COUNT
};

/* X(id, name) */
#define PCSCF_REG_EVENTS(X)                                                  \
	X(RX_INITIAL, "unprotected REGISTER")                                \
	X(RX_PROTECTED, "REGISTER over the temporary set")                   \
	X(RX_REFRESH, "REGISTER over the established or old set")            \
	X(RX_401, "401 with ik/ck, temporary set installed")                 \
	X(RX_2XX, "2xx, contact registered")                                 \
	X(RX_2XX_DEREG, "2xx, contact no longer registered")                 \
	X(RX_FAILURE, "other final response, or none")                       \
	X(TIMER_AWAIT_AUTH, "reg-await-auth passed (temporary set expired)") \
	X(TIMER_EXPIRY, "established set expired")                           \
	X(TIMER_LINGER, "linger time passed")                                \
	X(NOTIFY_TERMINATED, "reg-event NOTIFY terminated the contact")      \
	X(CTL_REMOVE, "removed through the control socket")                  \
	X(IMPI_SUPERSEDED, "impi binding: another flow of the IMPI registered")

enum pcscf_reg_event {
#define X(id, name) PCSCF_REG_EV_##id,
	PCSCF_REG_EVENTS(X)
#undef X
	PCSCF_REG_EV__COUNT
};

/* What a transition does besides changing state (bits). */
enum pcscf_reg_action {
	PCSCF_ACT_DROP_TEMP = 1 << 0, /* delete the temporary set */
	PCSCF_ACT_PROMOTE = 1 << 1,   /* temporary -> established, established -> old */
	PCSCF_ACT_REFRESH = 1 << 2,   /* established lifetime max(lifetime, expiry + grace) */
	PCSCF_ACT_END = 1 << 3,       /* the registration is over: linger, then remove */
	PCSCF_ACT_REMOVE = 1 << 4,    /* delete every set and forget the flow */
};

struct pcscf_reg_transition {
	enum pcscf_reg_state state;
	enum pcscf_reg_event event;
	enum pcscf_reg_state next;
	unsigned actions; /* enum pcscf_reg_action */
};

/* ---- SA sets ------------------------------------------------------------ */

#define PCSCF_SA_STATES(X)                                              \
	X(TEMPORARY, "temporary")                                       \
	X(ESTABLISHED, "established")                                   \
	X(OLD, "old")                                                   \
	X(REMOVED, "removed")

enum pcscf_sa_state {
#define X(id, name) PCSCF_SA_##id,
	PCSCF_SA_STATES(X)
#undef X
	PCSCF_SA__COUNT
};

#define PCSCF_SA_EVENTS(X)                                                        \
	X(PROMOTE, "the protected REGISTER over it succeeded")                    \
	X(REFRESH, "a REGISTER over the flow succeeded")                          \
	X(RETIRE, "a newer set of the flow was established")                      \
	X(NEW_USED, "the UE sent over the newer set")                             \
	X(EXPIRE, "its lifetime passed")                                          \
	X(DISCARD, "its flow dropped it")

enum pcscf_sa_event {
#define X(id, name) PCSCF_SA_EV_##id,
	PCSCF_SA_EVENTS(X)
#undef X
	PCSCF_SA_EV__COUNT
};

struct pcscf_sa_transition {
	enum pcscf_sa_state state;
	enum pcscf_sa_event event;
	enum pcscf_sa_state next;
	const char *lifetime; /* what happens to the lifetime, for the docs */
};

const char *pcscf_reg_state_name(enum pcscf_reg_state s);
const char *pcscf_reg_event_name(enum pcscf_reg_event e);
const char *pcscf_sa_state_name(enum pcscf_sa_state s);
const char *pcscf_sa_event_name(enum pcscf_sa_event e);

/* Table lookups; false when the event is refused in that state. */
bool pcscf_reg_lookup(enum pcscf_reg_state s, enum pcscf_reg_event e,
		      struct pcscf_reg_transition *out);
bool pcscf_sa_lookup(enum pcscf_sa_state s, enum pcscf_sa_event e,
		     struct pcscf_sa_transition *out);

/* Both tables as Markdown (docs/pcscf.md). */
void pcscf_fsm_markdown(struct buf *out);

struct pcscf_reg;
struct pcscf_regs;

/* One SA set of a flow (the P-CSCF's side). */
struct pcscf_sa {
	struct pcscf_reg *reg;
	enum pcscf_sa_state state;
	uint32_t set_id;         /* the backend's id while installed, else 0 */
	uint64_t expires_ms;     /* wall clock */
	struct ipsec_sa_set set; /* parameters and keys (side P-CSCF) */
	/* Ports taken for it (ipsec_sip refs): set by the install op. */
	uint32_t tp_pc, tp_ps;
	uint32_t tp_tcp;         /* the protected TCP listener on port_ps; 0: none */
	struct loop_timer timer;
};

/* ---- registration flows ------------------------------------------------- */

/* The key of a flow in `registration` binding. */
struct pcscf_flow_key {
	struct ipsec_addr ue;
	uint16_t port_uc;
	uint16_t port_us;
};

#define PCSCF_IMPI_MAX 256

struct pcscf_reg {
	uint64_t id;                  /* flow id: the flow token names it */
	enum pcscf_reg_state state;
	struct pcscf_regs *regs;
	char impi[PCSCF_IMPI_MAX];
	struct pcscf_flow_key key;    /* of the established set, or the first offer */
	bool keyed;                   /* in the key index */

	/* SIP data, replaced as procedures run (heap strings, NUL-terminated). */
	char *impu;                   /* To of the REGISTER: the registered IMPU */
	char *contact;                /* Contact URI of the REGISTER */
	char *call_id;                /* of the procedure running or last completed */
	char *client_canon;           /* first Security-Client of the procedure */
	char *server_canon;           /* Security-Server sent with the last challenge */
	char *impus;                  /* P-Associated-URI of the last 2xx, '\n' between */
	struct ipsec_addr local;      /* our address the UE reached (protected ports live here) */
	struct ipsec_mech chosen;     /* from the Security-Client of the running procedure */
	uint32_t expires_s;           /* granted by the last 2xx */
	uint64_t registered_ms;       /* wall clock of the last 2xx */

	struct pcscf_sa *temp, *est, *old;
	struct loop_timer timer;      /* UNAUTH guard, ENDING linger */
	struct pcscf_reg *impi_next;  /* flows of the same IMPI */
	unsigned ended_cause;         /* enum pcscf_reg_event that ended it */
	bool rev_held;                /* the owner holds a reg-event subscription for it */

	/* RFC 5626 flow failure, the owner's (flowwatch.c); not stored. */
	uint32_t flow_timer_s;        /* Flow-Timer of the last 2xx, 0 = not watched */
	bool flow_failed;             /* silent for too long: 430 for its token */
	bool watch_ready;             /* `watch` initialised */
	uint32_t watch_set;           /* set id and its inbound packets when last seen */
	uint64_t watch_pkts;
	struct loop_timer watch;
};

/* ---- the registry -------------------------------------------------------- */

enum pcscf_binding {
	PCSCF_BIND_REGISTRATION,
	PCSCF_BIND_IMPI,
};

struct pcscf_reg_policy {
	enum pcscf_binding binding;
	uint64_t await_auth_ms;  /* reg-await-auth, temporary set lifetime: 4 min */
	uint64_t grace_ms;       /* established lifetime beyond expiry: 30 s */
	uint64_t linger_ms;      /* sets kept after a registration ended: 2 s */
	struct ipsec_prefs prefs;
	uint32_t max_flows;      /* flows at once; more initial REGISTERs are refused */
	uint32_t flows_per_address; /* the same, per UE address; 0: no limit */
};

/*
 * What the model asks of its owner. Every callback may be NULL. ctx is
 * the pointer given to pcscf_regs_init().
 *
 *   install  put sa->set into the backend (fill sa->set_id) and open its
 *            ports; 0 or a negative errno (the set is then forgotten)
 *   remove   take it out of the backend and release its ports
 *   save     a flow changed in a way worth keeping across a restart
 *   forget   a flow is gone (after remove of its sets)
 *   registered  a flow's registration succeeded (first time or again)
 *   ended    a flow's registration is over (ENDING entered)
 *   trace    one line per decision, for the log and for transcripts
 */
struct pcscf_reg_ops {
	int (*install)(void *ctx, struct pcscf_sa *sa);
	void (*remove)(void *ctx, struct pcscf_sa *sa);
	void (*save)(void *ctx, struct pcscf_reg *r);
	void (*forget)(void *ctx, struct pcscf_reg *r);
	void (*registered)(void *ctx, struct pcscf_reg *r);
	void (*ended)(void *ctx, struct pcscf_reg *r);
	void (*trace)(void *ctx, const char *line);
};

/* Wall clock in milliseconds since the epoch (expiry times in the store). */
struct pcscf_clock {
	uint64_t (*now_ms)(void *ctx);
	void *ctx;
};

struct pcscf_reg_stats {
	uint64_t transitions;
	uint64_t refused;
	uint64_t sets_installed;
	uint64_t sets_removed;
	uint64_t install_failures;
};

struct pcscf_regs {
	struct loop *loop;
	struct pcscf_clock clock;
	struct pcscf_reg_policy policy;
	const struct pcscf_reg_ops *ops;
	void *ctx;
	struct ipsec_alloc alloc;
	struct ipsec_table by_id;    /* u64 id -> reg */
	struct ipsec_table by_key;   /* struct key -> reg (registration binding) */
	struct ipsec_table by_set;   /* u32 set id -> sa */
	struct ipsec_table by_impi;  /* struct impi key -> first reg of the chain */
	struct ipsec_table by_addr;  /* struct ipsec_addr (UE) -> number of flows */
	uint64_t next_id;
	uint64_t impi_seed;
	size_t n_flows;
	struct pcscf_reg_stats stats;
};

/*
 * pcscf_regs_init
 *	loop   timers; borrowed
 *	clock  wall clock seam (copied)
 *	policy copied
 *	alloc  SPI / port ranges and seam for the P-CSCF's local halves
 * Returns 0 or -EINVAL (an allocation range).
 */
int pcscf_regs_init(struct pcscf_regs *rs, struct loop *loop, const struct pcscf_clock *clock,
		    const struct pcscf_reg_policy *policy, const struct ipsec_alloc_config *alloc,
		    const struct ipsec_alloc_seam *seam, const struct pcscf_reg_ops *ops, void *ctx);

/* Forget every flow without calling remove (the owner tears the backend down). */
void pcscf_regs_destroy(struct pcscf_regs *rs);

/* Lookups; NULL when unknown. */
struct pcscf_reg *pcscf_reg_by_id(struct pcscf_regs *rs, uint64_t id);
struct pcscf_sa *pcscf_sa_by_set(struct pcscf_regs *rs, uint32_t set_id);
/* First flow of an IMPI; the rest follow impi_next (same IMPI only). */
struct pcscf_reg *pcscf_regs_of_impi(struct pcscf_regs *rs, const char *impi);

/* ---- what the SIP side reports --------------------------------------------- */

/*
 * An unprotected REGISTER from `ue` that reached our address `local`: the
 * mechanism is chosen from the offer by the policy's preference, and the
 * flow of (impi, ue, its port-c, port-s) is found or created (in UNAUTH).
 * The choice and the offer's canonical text are kept for the challenge and
 * the bidding-down check. Returns 0 with *out, -ENOENT (no acceptable
 * mechanism offered), -ENOSPC (max_flows reached), -EPROTO (refused in the
 * flow's state), -EINVAL (empty or too long IMPI), -ENOMEM.
 */
int pcscf_reg_initial(struct pcscf_regs *rs, struct str impi, const struct ipsec_addr *ue,
		      const struct ipsec_addr *local, const struct ipsec_offer *offer,
		      struct str client_canon, struct str impu, struct str contact,
		      struct str call_id, struct pcscf_reg **out);

/*
 * The 401 to the flow's REGISTER: with the mechanism chosen from the
 * offer, allocate the local half (renewing port_s of an
 * established set), expand the keys, install the temporary set (replacing
 * a previous temporary one). *chosen receives the mechanism to announce in
 * Security-Server (the P-CSCF's SPIs and ports). The caller sets the
 * server canonical text with pcscf_reg_set_server() once it has encoded
 * the header.
 * Returns 0, -EPROTO (refused in this state), -ENOSPC (SPIs or ports
 * exhausted), or the install error.
 * On error the flow took RX_FAILURE.
 */
int pcscf_reg_challenge(struct pcscf_regs *rs, struct pcscf_reg *r, const uint8_t ik[16],
			const uint8_t ck[16], struct ipsec_mech *chosen);

void pcscf_reg_set_server(struct pcscf_reg *r, struct str server_canon);

/*
 * A REGISTER arrived over SA set `sa`: RX_PROTECTED over the temporary set,
 * RX_REFRESH over the established or old one. A refresh carries a new
 * offer (new spi-c, spi-s, port-c) for the challenge that may follow; the
 * offer is NULL when the REGISTER had none (no challenge can follow then).
 * Returns 0, -ENOENT (nothing acceptable offered), -EPROTO.
 */
int pcscf_reg_register_over(struct pcscf_regs *rs, struct pcscf_sa *sa,
			    const struct ipsec_offer *offer, struct str client_canon,
			    struct str contact, struct str call_id);

/*
 * The final 2xx to the flow's REGISTER. registered: the flow's contact is
 * in it with a non-zero expiry (expires_s); impus: its P-Associated-URI,
 * '\n'-separated (may be empty). Returns 0 or -EPROTO.
 */
int pcscf_reg_success(struct pcscf_regs *rs, struct pcscf_reg *r, bool registered,
		      uint32_t expires_s, struct str impus);

/* Any other final response to the flow's REGISTER (or none). */
int pcscf_reg_failure(struct pcscf_regs *rs, struct pcscf_reg *r, unsigned status);

/* NOTIFY_TERMINATED or CTL_REMOVE. Returns 0 or -EPROTO. */
int pcscf_reg_end(struct pcscf_regs *rs, struct pcscf_reg *r, enum pcscf_reg_event cause);

/*
 * The UE sent something over set `sa`: if it is the established set and an
 * old one exists, the old one goes (NEW_USED).
 */
void pcscf_reg_seen(struct pcscf_regs *rs, struct pcscf_sa *sa);

/* True if requests may flow over this registration (registered family or ending). */
bool pcscf_reg_usable(const struct pcscf_reg *r);

/* The default IMPU (first of impus, else impu); "" when none. */
struct str pcscf_reg_default_impu(const struct pcscf_reg *r);
/* True if `uri` is one of the registration's IMPUs (exact text). */
bool pcscf_reg_has_impu(const struct pcscf_reg *r, struct str uri);

/* ---- restart ------------------------------------------------------------ */

/*
 * Rebuild a flow read back from the store (pcscf_store.c), with its sets
 * already installed by the caller (set_id filled). Timers are armed from
 * the stored wall-clock expiries; sets already expired are removed at once
 * through the normal events. Returns 0, -EEXIST (id or key taken), -ENOMEM.
 */
int pcscf_reg_restore(struct pcscf_regs *rs, struct pcscf_reg *r);

/* A zeroed flow for the store to fill before pcscf_reg_restore(). */
struct pcscf_reg *pcscf_reg_alloc(struct pcscf_regs *rs);
struct pcscf_sa *pcscf_sa_alloc(struct pcscf_reg *r, enum pcscf_sa_state state);
/* Free a flow that was never restored (store errors). */
void pcscf_reg_free_unrestored(struct pcscf_reg *r);

/* Replace a heap string field with a copy of s ("" for an empty slice). */
int pcscf_str_set(char **field, struct str s);

#endif
