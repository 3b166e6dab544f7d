/*
 * scscf.h - the S-CSCF network function: shared internals of src/scscf.
 *
 * The S-CSCF is the registrar of simreg (TS 24.229 5.4): IMS AKA with
 * vectors from the HSS over Cx, registration bindings under one of the
 * simultaneous-registration policies (DESIGN.md section 2), the reg-event
 * notifier (RFC 3680) and terminating routing to every live binding.
 *
 * Everything runs on one event loop. The logic talks to the outside world
 * through two seams, so it can be driven by a test without sockets and by
 * the real stack and freeDiameter in production:
 *
 *   struct scscf_sip_ops   respond on a server transaction, send a
 *                          request (NOTIFY), fork a request to targets
 *                          (sip_glue.c binds them to lib/sip's stack and
 *                          proxy core);
 *   struct scscf_cx_ops    MAR and SAR (cx.c binds them to freeDiameter).
 *
 * Answers come back as calls into the logic: scscf_cx_maa(),
 * scscf_cx_saa(), scscf_sip_request_done(). Each carries the 64-bit id the
 * logic gave with the request; an id whose object is gone finds nothing,
 * so a late answer is harmless.
 *
 * Files:
 *   context.c    the context, clocks, ids, identities, tracing
 *   config.c     the `scscf:` configuration section
 *   reg_fsm.c    one REGISTER transaction: decode, classify, the state
 *                machine table and its actions
 *   auth.c       pending authentications, challenges, verification
 *   registrar.c  bindings: policies, plan and apply, expiry, network-
 *                initiated deregistration and re-authentication
 *   regevent.c   reg-event subscriptions, NOTIFY bodies and the probe
 *   route.c      terminating and originating routing
 *   store.c      bindings, subscriptions and pending authentications in
 *                SQLite (DATA/scscf.db)
 *   cx.c         the Cx client over freeDiameter
 *   sip_glue.c   the SIP stack and proxy core behind struct scscf_sip_ops
 *   ctl.c        control socket commands
 *   scscf.c      `simreg scscf`
 */
#ifndef SIMREG_SCSCF_SCSCF_H
#define SIMREG_SCSCF_SCSCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aka/milenage.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/str.h"
#include "diameter/cx.h"
#include "reginfo/reginfo.h"
#include "scscf/ht.h"
#include "sip/msg.h"
#include "sip/stack.h"

struct scscf;
struct scscf_store;

/* ------------------------------------------------------------------ */
/* Configuration (config.c)                                           */

/*
 * The simultaneous-registration policies (DESIGN.md section 2,
 * docs/architecture.md): X(ENUM, "config name", flags).
 */
enum {
	SCSCF_F_OUTBOUND = 1 << 0,      /* RFC 5626 flows: (IMPU, IMPI, instance, reg-id) */
	SCSCF_F_PROBE = 1 << 1,         /* probe the old binding through reg-event */
	SCSCF_F_MODIFIED_IMPI = 1 << 2, /* derived IMPIs are registrations of their own */
};

#define SCSCF_POLICIES(X)                                                                   \
	X(NONE, "none", 0)                                                                  \
	X(OUTBOUND, "outbound", SCSCF_F_OUTBOUND)                                           \
	X(REGEVENT_PROBE, "regevent-probe", SCSCF_F_PROBE)                                  \
	X(MODIFIED_IMPI, "modified-impi", SCSCF_F_MODIFIED_IMPI)                            \
	X(MODIFIED_IMPI_OUTBOUND, "modified-impi+outbound",                                 \
	  SCSCF_F_MODIFIED_IMPI | SCSCF_F_OUTBOUND)                                         \
	X(MODIFIED_IMPI_PROBE, "modified-impi+regevent-probe",                              \
	  SCSCF_F_MODIFIED_IMPI | SCSCF_F_PROBE)

enum scscf_policy {
#define X(id, name, flags) SCSCF_POLICY_##id,
	SCSCF_POLICIES(X)
#undef X
	SCSCF_POLICY__COUNT
};

extern const char *const scscf_policy_names[];
unsigned scscf_policy_flags(enum scscf_policy p);

/*
 * Which protected REGISTERs are challenged when no authentication is
 * running: 24.229 5.4.1.2.2 step 1 lets the S-CSCF challenge any of them.
 * Those of a binding the network asked to re-authenticate (`reauth IMPU`,
 * 5.4.1.6) are challenged under every value.
 */
enum scscf_reauth {
	SCSCF_REAUTH_NEVER,      /* protected re-registrations are refreshed without a challenge */
	SCSCF_REAUTH_ALWAYS,     /* every REGISTER is challenged */
	SCSCF_REAUTH_ON_REQUEST, /* a protected re-registration with an empty nonce is challenged */
};

extern const char *const scscf_reauth_names[]; /* "never", "always", "on-request" */

enum scscf_notify_mode {
	SCSCF_NOTIFY_FULL,    /* every NOTIFY carries full state */
	SCSCF_NOTIFY_PARTIAL, /* changes only, after the first (RFC 3680 section 5.1) */
};

struct scscf_config {
	const char *data;               /* data directory; --data overrides */
	const char *domain;             /* home domain: Request-URI of REGISTER, realm */
	const char *server_name;        /* Server-Name on Cx */
	int policy;                     /* enum scscf_policy */
	int reauth;                     /* enum scscf_reauth */
	int notify;                     /* enum scscf_notify_mode */
	int64_t default_expires;        /* seconds, when the REGISTER names none */
	int64_t min_expires;            /* seconds; below it 423 */
	int64_t max_expires;            /* seconds; above it shortened */
	uint64_t reg_await_auth_ms;     /* TS 24.229 reg-await-auth */
	int64_t max_flows;              /* outbound flows per (IMPU, IMPI, instance) */
	int64_t flow_timer;             /* outbound: Flow-Timer seconds in the 200, 0 none */
	uint64_t probe_timeout_ms;      /* regevent-probe: time for the old binding to answer */
	uint64_t reauth_expiry_ms;      /* network-initiated re-authentication: expiry left */
	int64_t sub_default_expires;    /* reg-event subscriptions, seconds */
	int64_t sub_max_expires;
	const char *ioi;                /* our IOI in P-Charging-Vector (term-ioi) */
	struct sip_config sip;
	const char *identity;           /* Diameter Origin-Host */
	const char *realm;              /* Diameter Origin-Realm */
	const char *hss_identity;       /* Destination-Host */
	const char *hss_realm;          /* Destination-Realm */
	struct config_addr hss_address;
	uint64_t cx_timeout_ms;
	int cx_client;                  /* enum scscf_cx_kind */
	uint64_t cx_watchdog_ms;        /* loop client: Tw */
	int threads;                    /* freediameter client */
};

/* scscf.diameter.client */
enum scscf_cx_kind { SCSCF_CX_LOOP, SCSCF_CX_FREEDIAMETER };
extern const char *const scscf_cx_client_names[];

extern const struct config_section scscf_config_section;

/* ------------------------------------------------------------------ */
/* Seams                                                              */

/* A place to fork a request to: a binding's contact and its Path. */
#define SCSCF_MAX_PATH 8
#define SCSCF_MAX_TARGETS 16            /* the proxy core's branch limit */
struct scscf_target {
	uint64_t binding;               /* 0 for a target that is not a binding */
	struct str uri;                 /* Request-URI; empty: keep the request's */
	struct str routes[SCSCF_MAX_PATH];
	unsigned n_routes;
};

/*
 * The SIP side. `txn` is the server transaction's handle as given to
 * scscf_sip_request(). Each returns 0 or a negative errno.
 *
 *   response_start  start a response to txn in b: status line, Via, From,
 *                   To (with the transaction's To tag), Call-ID, CSeq
 *   response_send   send the complete response
 *   request         send a request that is not a forward (NOTIFY): msg is
 *                   complete but for the Via; it goes to next_hop (a SIP
 *                   URI: the first Route, or the Request-URI). The final
 *                   outcome comes back through scscf_sip_request_done()
 *                   with `ref`.
 *   fork            forward txn's request to every target in parallel
 *                   (RFC 3261 16.6); the best response goes upstream
 *   is_local        true if the URI names this S-CSCF (Route processing)
 */
struct scscf_sip_ops {
	int (*response_start)(void *ctx, uint64_t txn, struct buf *b, unsigned code,
			      struct str reason);
	int (*response_send)(void *ctx, uint64_t txn, struct str response);
	int (*request)(void *ctx, struct str msg, struct str next_hop, uint64_t ref);
	int (*fork)(void *ctx, uint64_t txn, const struct scscf_target *targets, unsigned n);
	bool (*is_local)(void *ctx, const struct sip_uri *uri);
};

/* MAR (TS 29.228 6.3): one vector, or resynchronisation. */
struct scscf_mar {
	struct str impi, impu;
	bool resync;
	uint8_t rand_auts[AKA_RAND_LEN + AKA_AUTS_LEN]; /* SIP-Authorization, with resync */
};

/* What an answer says: 0 with a Diameter result, or a negative errno (no answer). */
struct scscf_cx_result {
	int err;                /* -ETIMEDOUT, -ENOTCONN ...: no answer */
	uint32_t code;          /* Result-Code or Experimental-Result-Code */
	bool experimental;
};

static inline bool scscf_cx_success(const struct scscf_cx_result *r)
{
	return !r->err && (r->experimental ? r->code < 3000 : r->code == DIA_SUCCESS);
}

struct scscf_maa {
	struct scscf_cx_result result;
	bool have_vector;
	uint8_t rand[AKA_RAND_LEN];
	uint8_t autn[AKA_AUTN_LEN];
	uint8_t xres[16];
	size_t xres_len;
	uint8_t ck[AKA_CK_LEN];
	uint8_t ik[AKA_IK_LEN];
};

/* SAR (TS 29.228 6.1.2). */
struct scscf_sar {
	struct str impi;                /* empty: not sent */
	struct str impu;
	enum cx_sat type;
	bool data_available;            /* User-Data-Already-Available */
	struct str contact;             /* restoration info, when registering */
	struct str path;
	bool multiple;                  /* Multiple-Registration-Indication */
};

struct scscf_saa {
	struct scscf_cx_result result;
	struct str user_data;           /* IMSSubscription XML; valid during the call */
};

/*
 * The Cx side. Each request returns 0 once it is on its way (the answer
 * comes later through scscf_cx_maa() / scscf_cx_saa() with `ref`), or a
 * negative errno when it could not be sent (no answer will come).
 */
struct scscf_cx_ops {
	int (*mar)(void *ctx, const struct scscf_mar *req, uint64_t ref);
	int (*sar)(void *ctx, const struct scscf_sar *req, uint64_t ref);
};

/* ------------------------------------------------------------------ */
/* Registration bindings (registrar.c)                                */

/* One implicitly registered identity (TS 29.228 Annex B PublicIdentity). */
struct scscf_identity {
	struct str uri;
	bool barred;
};

/*
 * A binding: one registered contact of an IMPU, by one IMPI (RFC 3261
 * 10.3, and per flow with outbound). Its strings live in its arena, which
 * is replaced as a whole when a refresh changes them.
 */
struct scscf_binding {
	struct ht_node by_id;
	struct loop_timer expiry;
	struct scscf *s;
	uint64_t id;                    /* also names its Service-Route and reginfo contact */
	struct str impu;                /* the registered AOR (To), canonical */
	struct str impi;
	struct str contact;             /* Contact URI */
	struct str params;              /* Contact parameters but expires, ";a=b;c" */
	struct str instance;            /* +sip.instance value "<urn:...>", or empty */
	uint32_t reg_id;                /* 0: none */
	struct str path[SCSCF_MAX_PATH];
	unsigned n_path;
	struct str call_id;
	uint32_t cseq;
	struct str icid, orig_ioi;      /* P-Charging-Vector of the registration */
	struct scscf_identity *irs;     /* the implicit registration set; [0] default */
	unsigned n_irs;
	uint64_t registered_ms;         /* wall clock, first registration */
	uint64_t expires_ms;            /* wall clock */
	enum reginfo_event event;       /* last event: registered, created, refreshed, shortened */
	bool outbound;                  /* RFC 5626 processing applied */
	bool reauth;                    /* network asked to re-authenticate: challenge next */
	struct arena arena;
};

/* Every binding of one public identity (explicit or implicit), and its watchers. */
struct scscf_aor {
	struct ht_node node;          /* key: the IMPU */
	struct scscf_binding **b;
	unsigned n, cap;
	struct scscf_sub *subs;         /* reg-event subscriptions to this IMPU */
	char key[];
};

struct scscf_aor *scscf_aor_find(struct scscf *s, struct str impu);
/* Find or create the AOR of an IMPU; NULL when out of memory. */
struct scscf_aor *scscf_aor_get(struct scscf *s, struct str impu);
/* Free an AOR left without bindings and watchers. */
void scscf_aor_release(struct scscf *s, struct scscf_aor *a);
struct scscf_binding *scscf_binding_find(struct scscf *s, uint64_t id);

/* Remaining lifetime of a binding in whole seconds (0 when due). */
uint64_t scscf_binding_expires_in(struct scscf *s, const struct scscf_binding *b);

/* ------------------------------------------------------------------ */
/* Pending authentications (auth.c)                                   */

/*
 * A challenge sent and not yet answered (reg-await-auth running). Keyed
 * by its nonce, and by (IMPI, Call-ID) so that a new initial REGISTER of
 * the same access restarts authentication while another access of the
 * same IMPI keeps its own challenge (DESIGN.md section 1: two accesses of
 * one IMPI never clobber each other).
 */
struct scscf_auth {
	struct ht_node by_nonce;
	struct ht_node by_access;
	struct loop_timer timer;
	struct scscf *s;
	uint64_t id;
	struct str impi, impu, call_id, access_key;
	char nonce[64];
	uint8_t rand[AKA_RAND_LEN];
	uint8_t autn[AKA_AUTN_LEN];
	uint8_t xres[16];
	size_t xres_len;
	uint8_t ck[AKA_CK_LEN];
	uint8_t ik[AKA_IK_LEN];
	uint64_t expires_ms;            /* wall clock: end of reg-await-auth */
	bool persisted;                 /* written to the store */
	struct arena arena;
};

/*
 * Pending authentications reach the store at the next checkpoint (every
 * SCSCF_AUTH_CHECKPOINT_MS, and at a clean stop), not one by one: most
 * are answered within that time, and a challenge that is both created
 * and answered in between costs no write at all. A crash loses at most
 * the challenges of the last interval; their answers get a new challenge.
 */
#define SCSCF_AUTH_CHECKPOINT_MS 500

/* Write every pending authentication not yet in the store. */
void scscf_auth_checkpoint(struct scscf *s);

/* ------------------------------------------------------------------ */
/* reg-event subscriptions (regevent.c)                               */

enum scscf_watcher {
	SCSCF_WATCHER_UE,
	SCSCF_WATCHER_PCSCF,
	SCSCF_WATCHER_OTHER,
};

struct scscf_sub {
	struct ht_node by_id;
	struct ht_node by_dialog;     /* Call-ID, remote tag, local tag */
	struct loop_timer expiry;
	struct scscf *s;
	struct scscf_sub *next_in_aor;
	uint64_t id;
	struct str impu;                /* the subscribed AOR, canonical */
	struct str watcher;             /* who subscribed (P-Asserted-Identity / From) */
	enum scscf_watcher kind;
	struct str call_id, local_tag, remote_tag, dialog_key;
	struct str local_uri;           /* To of the SUBSCRIBE: From of our NOTIFYs */
	struct str remote_uri;          /* From of the SUBSCRIBE: To of our NOTIFYs */
	struct str target;              /* its Contact: Request-URI of our NOTIFYs */
	struct str routes[SCSCF_MAX_PATH]; /* route set from Record-Route */
	unsigned n_routes;
	uint32_t cseq;                  /* last CSeq we used */
	uint64_t version;               /* next reginfo version */
	uint64_t expires_ms;
	bool sent_full;                 /* a full document went out on it */
	struct arena arena;
};

/* ------------------------------------------------------------------ */
/* The context (context.c)                                            */

/* Counters for `status` and the logs. */
struct scscf_stats {
	uint64_t registers, challenges, registrations, refreshes, deregistrations;
	uint64_t auth_failures, expired, notifies, notify_failures, probes, probes_kept;
	uint64_t forwarded, not_found, flows_failed;
};

struct scscf {
	struct scscf_config cfg;
	struct loop *loop;
	struct scscf_store *store;      /* NULL: nothing persisted (tests) */

	const struct scscf_sip_ops *sip;
	void *sip_ctx;
	const struct scscf_cx_ops *cx;
	void *cx_ctx;

	/* Our SIP address for Service-Route, Contact and NOTIFY From: "127.0.0.1:6060". */
	char host[SIP_SOCKADDR_STRLEN + 200];

	/* Wall clock = wall_base_ms + (loop clock - loop_base_ms); tests pin it. */
	uint64_t wall_base_ms, loop_base_ms;

	uint64_t next_id;               /* bindings, subscriptions, authentications */

	struct ht aors;               /* IMPU -> struct scscf_aor */
	struct ht bindings;           /* id -> binding */
	struct ht auths;              /* nonce -> auth */
	struct ht auth_access;        /* IMPI + Call-ID -> auth */
	struct ht subs;               /* id -> subscription */
	struct ht sub_dialogs;        /* dialog key -> subscription */
	struct ht regtx;              /* id -> REGISTER in progress */
	struct ht regtx_txn;          /* server transaction -> REGISTER in progress */
	struct ht notifies;           /* id -> NOTIFY in flight */

	/* Transcript hook for tests: every transition and decision, one line. */
	void (*trace)(void *ctx, const char *line);
	void *trace_ctx;

	struct loop_timer auth_checkpoint;

	struct scscf_stats stats;
	bool stopping;
};

/*
 * Set up the context on `loop` with `cfg` (copied). The seams are set by
 * the caller afterwards. Returns 0 or -ENOMEM.
 */
int scscf_init(struct scscf *s, struct loop *loop, const struct scscf_config *cfg);

/* Free every object and cancel every timer; nothing is sent. */
void scscf_fini(struct scscf *s);

uint64_t scscf_now_ms(struct scscf *s);
uint64_t scscf_new_id(struct scscf *s);

/* One line for the transcript hook (and the debug log). */
void scscf_trace(struct scscf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The canonical form of an address-of-record (RFC 3261 10.3 step 5):
 * scheme, user, host in lower case and port; parameters and headers
 * dropped. tel: URIs keep their number. The result lives in `a`.
 * Returns 0, -EINVAL for a URI that is not sip, sips or tel, -ENOMEM.
 */
int scscf_aor_canonical(struct str uri, struct arena *a, struct str *out);

/* True if two SIP URIs name the same host and port (5060 when absent). */
bool scscf_same_hostport(struct str uri_a, struct str uri_b);

/* ------------------------------------------------------------------ */
/* Entry points the seams call                                        */

/*
 * A request arrived on server transaction `txn` (0 for an ACK outside a
 * transaction). `msg` is valid during the call only.
 */
void scscf_sip_request(struct scscf *s, uint64_t txn, struct sip_msg *msg);

/* The final outcome of a request sent with sip->request: a status, or 408 / 503. */
void scscf_sip_request_done(struct scscf *s, uint64_t ref, unsigned status);

/* The server transaction `txn` ended before we answered (Timer F upstream, shutdown). */
void scscf_sip_txn_gone(struct scscf *s, uint64_t txn);

void scscf_cx_maa(struct scscf *s, uint64_t ref, const struct scscf_maa *a);
void scscf_cx_saa(struct scscf *s, uint64_t ref, const struct scscf_saa *a);

/* ------------------------------------------------------------------ */
/* Between the files                                                  */

/* reg_fsm.c */
void scscf_register(struct scscf *s, uint64_t txn, struct sip_msg *msg);
void scscf_regtx_maa(struct scscf *s, uint64_t ref, const struct scscf_maa *a);
void scscf_regtx_saa(struct scscf *s, uint64_t ref, const struct scscf_saa *a);
void scscf_regtx_probe_done(struct scscf *s, uint64_t regtx, uint64_t binding, bool answered);
void scscf_regtx_gone(struct scscf *s, uint64_t txn);
void scscf_regtx_free_all(struct scscf *s);
const char *scscf_reg_fsm_table(void);

/*
 * Send a response: status, reason ("" for the standard phrase), extra
 * header lines (each ending in CRLF; may be empty). Returns 0 or -errno.
 */
int scscf_respond(struct scscf *s, uint64_t txn, unsigned code, const char *reason,
		  struct str extra);

/* auth.c */
struct scscf_auth *scscf_auth_by_nonce(struct scscf *s, struct str nonce);
int scscf_auth_create(struct scscf *s, struct str impi, struct str impu, struct str call_id,
		      const struct scscf_maa *v, struct scscf_auth **out);
int scscf_auth_restore(struct scscf *s, struct scscf_auth *a);
void scscf_auth_free(struct scscf *s, struct scscf_auth *a, const char *why);
void scscf_auth_free_all(struct scscf *s);

/* registrar.c */

/* A REGISTER, decoded (reg_fsm.c): slices into the transaction's copy. */
#define SCSCF_MAX_CONTACTS 8
struct scscf_reg_contact {
	struct str uri;
	struct str params;              /* Contact parameters without expires, ";a=b" */
	struct str instance;            /* "<urn:...>" or empty */
	uint32_t reg_id;                /* 0: none */
	uint32_t expires;               /* granted, seconds; 0 removes */
};

enum scscf_protection {
	SCSCF_UNPROTECTED,              /* integrity-protected absent, "no", *-pending */
	SCSCF_PROTECTED,                /* "yes", "tls-yes", "ip-assoc-yes" (24.229 5.4.1.1) */
};

struct scscf_reg_in {
	struct str impu;                /* To, canonical */
	struct str impi;                /* Authorization username, or derived from the IMPU */
	struct str call_id;
	uint32_t cseq;
	bool star;                      /* Contact: * (with Expires: 0) */
	struct scscf_reg_contact c[SCSCF_MAX_CONTACTS];
	unsigned n_c;
	struct str path[SCSCF_MAX_PATH];
	unsigned n_path;
	bool path_ob;                   /* first Path URI has ;ob */
	bool sup_outbound;              /* Supported: outbound */
	bool has_auth;
	enum scscf_protection protection;
	struct str nonce, response, uri, realm, qop, nc, cnonce;
	bool has_response;              /* response= present (maybe empty) */
	bool has_auts;
	uint8_t auts[AKA_AUTS_LEN];
	struct str icid, orig_ioi;
};

/*
 * What a REGISTER does to the bindings of (IMPU, IMPI), decided from the
 * current state and the policy (registrar.c). Made before the SAR (to
 * refuse, or to probe) and made again with the probe outcomes when the
 * SAA arrives, since other REGISTERs may have changed things meanwhile.
 */
#define SCSCF_PLAN_OPS(X)                                                       \
	X(ADD, "add")             /* a new binding for contact c */              \
	X(REFRESH, "refresh")     /* binding b again, from contact c */          \
	X(REMOVE, "remove")       /* the UE removes b (Expires 0) */             \
	X(REPLACE, "replace")     /* the policy replaces b by the new contact */ \
	X(PROBE, "probe")         /* regevent-probe: ask b before replacing it */ \
	X(KEEP, "keep")           /* b answered its probe: it stays */

enum scscf_plan_op {
#define X(id, name) SCSCF_PLAN_##id,
	SCSCF_PLAN_OPS(X)
#undef X
};

const char *scscf_plan_op_name(enum scscf_plan_op op);

#define SCSCF_PLAN_MAX (2 * SCSCF_MAX_CONTACTS + 16)
struct scscf_plan_item {
	enum scscf_plan_op op;
	struct scscf_binding *b;        /* REFRESH, REMOVE, REPLACE, PROBE, KEEP */
	unsigned c;                     /* ADD, REFRESH: index in the request */
	bool outbound;                  /* ADD, REFRESH: with RFC 5626 processing */
};

struct scscf_plan {
	struct scscf_plan_item item[SCSCF_PLAN_MAX];
	unsigned n;
	bool outbound;                  /* 200 carries Require: outbound */
	unsigned refuse;                /* 0, or the status to answer instead (403) */
	const char *why;                /* for the log and the reason phrase */
};

/*
 * Decide. `answered` lists the bindings that answered their probe (ids),
 * `probed` says probes were made already (so PROBE becomes KEEP or
 * REPLACE). Returns nothing; p->refuse says if the REGISTER must fail.
 */
/*
 * The binding of (IMPU, IMPI) a contact of the REGISTER names: by
 * +sip.instance and reg-id when RFC 5626 applies to it, else by contact
 * URI. NULL when it names none.
 */
struct scscf_binding *scscf_binding_of_contact(struct scscf *s, const struct scscf_reg_in *in,
					       const struct scscf_reg_contact *c);

void scscf_plan_make(struct scscf *s, const struct scscf_reg_in *in, bool probed,
		     const uint64_t *answered, unsigned n_answered, struct scscf_plan *p);

/* Changes gathered while applying, reported in one NOTIFY per watcher. */
#define SCSCF_CHANGES_MAX (SCSCF_PLAN_MAX + 8)
struct scscf_change {
	struct scscf_binding *b;
	enum reginfo_event ev;
	uint64_t retry_after;           /* probation */
};

struct scscf_changes {
	struct scscf_change c[SCSCF_CHANGES_MAX];
	unsigned n;
};

/*
 * Apply a plan made with probe outcomes. The IRS comes from the SAA
 * (irs != NULL) or, for re-registrations, from the bindings. Fills
 * `chg`; the new or refreshed binding of the first contact goes to
 * *first (for Service-Route). Returns 0 or -ENOMEM.
 */
int scscf_plan_apply(struct scscf *s, const struct scscf_reg_in *in, const struct scscf_plan *p,
		     const struct scscf_identity *irs, unsigned n_irs, struct scscf_changes *chg,
		     struct scscf_binding **first);

struct scscf_binding_spec {
	struct str impu, impi, contact, params, instance;
	uint32_t reg_id;
	const struct str *path;
	unsigned n_path;
	struct str call_id;
	uint32_t cseq;
	struct str icid, orig_ioi;
	const struct scscf_identity *irs;
	unsigned n_irs;
	uint64_t expires_ms;
	uint64_t registered_ms;
	enum reginfo_event event;
	bool outbound;
	bool reauth;
};

/* Create (in memory only; the caller persists) a binding with `id`. */
int scscf_binding_add(struct scscf *s, const struct scscf_binding_spec *sp, uint64_t id,
		      struct scscf_binding **out);
/* Replace a binding's fields (same impu and impi), in memory only. */
int scscf_binding_update(struct scscf *s, struct scscf_binding *b,
			 const struct scscf_binding_spec *sp);
void scscf_binding_free_all(struct scscf *s);
/* Write the binding to the store (if any); failures are logged. */
void scscf_binding_persist(struct scscf *s, const struct scscf_binding *b);

/*
 * End a binding: unlink it from every AOR, cancel its timer, drop it from
 * the store, and record (b, ev) in `chg`. It is freed by
 * scscf_changes_flush(), after the watchers heard of it.
 */
void scscf_binding_end(struct scscf *s, struct scscf_binding *b, enum reginfo_event ev,
		       uint64_t retry_after, struct scscf_changes *chg);

/* Record a change of a live binding (registered, refreshed, shortened). */
void scscf_changes_add(struct scscf_changes *chg, struct scscf_binding *b, enum reginfo_event ev);

/* NOTIFY every watcher concerned, free the ended bindings and empty AORs. */
void scscf_changes_flush(struct scscf *s, struct scscf_changes *chg);

/* Is (impu, impi) registered by a binding other than `except`? */
bool scscf_impi_registered(struct scscf *s, struct str impu, struct str impi,
			   const struct scscf_binding *except);

/* Network-initiated deregistration and re-authentication (ctl). */
int scscf_admin_dereg(struct scscf *s, struct str impu, uint64_t binding, enum reginfo_event ev,
		      uint64_t retry_after, unsigned *count);
int scscf_admin_reauth(struct scscf *s, struct str impu, uint64_t binding, unsigned *count);
/*
 * The edge proxy answered 430 Flow Failed to a request forked to binding
 * `id` (RFC 5626 5.3): the binding ends as "deactivated" (RFC 3680: the UE
 * may register again), watchers are told. Unknown ids are ignored.
 */
void scscf_flow_failed(struct scscf *s, uint64_t id);

/* A fire-and-forget SAR (timeouts, failures); the answer is only logged. */
void scscf_sar_background(struct scscf *s, struct str impi, struct str impu, enum cx_sat type);

/* regevent.c */
void scscf_subscribe(struct scscf *s, uint64_t txn, struct sip_msg *msg);
int scscf_sub_restore(struct scscf *s, struct scscf_sub *sub);
void scscf_sub_free_all(struct scscf *s);

/* Tell every watcher of the IMPUs the changed bindings register (registrar.c calls it). */
void scscf_notify_changes(struct scscf *s, const struct scscf_changes *chg);

/*
 * Probe binding `b`: a NOTIFY on the UE's subscription of that binding.
 * Returns 0 when a probe is on its way (its outcome comes through
 * scscf_regtx_probe_done()), -ENOENT when the binding has no UE
 * subscription to probe, or another negative errno.
 */
int scscf_probe(struct scscf *s, struct scscf_binding *b, uint64_t regtx);

/* The UE subscription of a binding (same Contact host and port), or NULL. */
struct scscf_sub *scscf_binding_ue_sub(struct scscf *s, const struct scscf_binding *b);

/* The reginfo document of an IMPU's registration state, as the subscription sees it. */
int scscf_reginfo_full(struct scscf *s, struct str impu, uint64_t version, struct arena *a,
		       struct reginfo *doc);

/* route.c */
void scscf_route(struct scscf *s, uint64_t txn, struct sip_msg *msg);

/* ------------------------------------------------------------------ */
/* Identities in the profile (context.c)                              */

/*
 * Read the IMPUs of an IMSSubscription document (TS 29.228 Annex B /
 * Annex E: ServiceProfile/PublicIdentity/Identity, BarringIndication)
 * into a fresh array in `a`, in document order.
 * Returns 0, -EBADMSG for a document that is not one, -ENOMEM.
 */
int scscf_user_data_parse(struct str xml, struct arena *a, struct scscf_identity **out,
			  unsigned *n);

#endif
