/*
 * context.h - the P-CSCF network function: its state and the parts of
 * src/pcscf that share it.
 *
 *   pcscf.c     `simreg pcscf`: configuration, start-up, restore, shutdown
 *   config.c    the `pcscf:` configuration section
 *   reg.c       registration flows and SA sets as logic (reg.h)
 *   ipsec.c     what the model decides, done with lib/ipsec: sets into the
 *               backend, protected ports into the SIP transport set
 *   sip.c       the SIP edge: REGISTER with security agreement, requests
 *               from UEs over their SA sets, requests to UEs by flow token
 *   token.c     RFC 5626 flow tokens (HMAC)
 *   regevent.c  reg-event subscriptions to the S-CSCF and their NOTIFYs
 *   store.c     flows and sets in DATA/pcscf.db (SQLite), for restarts
 *   ctl.c       the control socket's commands
 *
 * One process, one event loop; nothing here is thread-safe or needs to be.
 */
#ifndef SIMREG_PCSCF_CONTEXT_H
#define SIMREG_PCSCF_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/ctlsock.h"
#include "core/loop.h"
#include "ipsec/backend.h"
#include "ipsec/sip_transport.h"
#include "ipsec/table.h"
#include "pcscf/reg.h"
#include "sip/proxy.h"
#include "sip/stack.h"

/* ---- configuration (config.c) ---------------------------------------------- */

struct pcscf_config {
	const char *data;                /* data directory; --data overrides */
	struct config_strlist listen;    /* unprotected listeners */
	const char *scscf;               /* next hop for REGISTER and UE requests */
	const char *advertise;           /* host[:port] of our Path / Record-Route / Contact */
	int sa_binding;                  /* enum pcscf_binding */
	struct config_strlist algorithms; /* preference, "alg/ealg" */
	uint64_t reg_await_auth_ms;
	uint64_t sa_grace_ms;
	uint64_t sa_linger_ms;
	int64_t max_flows;
	int64_t flows_per_address;       /* flows from one UE address at once */
	int64_t port_min;                /* protected ports (port_pc, port_ps) */
	int64_t port_max;
	const char *visited_network;     /* P-Visited-Network-ID, orig-ioi */
	bool regevent;                   /* subscribe to the reg event */
	int64_t regevent_expires;        /* seconds asked for in SUBSCRIBE */
	struct config_strlist trusted;   /* core peers besides the S-CSCF */
	const char *ctl;                 /* control socket; "" = DATA/pcscf.ctl */
	uint64_t flow_grace_ms;          /* silence beyond Flow-Timer before a flow fails */
};

/*
 * Protected ports one flow may hold towards its UE address: a temporary,
 * an established and an old set, each with its own port_pc, sharing port_ps.
 */
#define PCSCF_PORTS_PER_FLOW 4

extern const struct config_section pcscf_config_section;

/* ---- flow tokens (token.c) ------------------------------------------------- */

#define PCSCF_TOKEN_KEY_LEN 32
/* base64url of 8 octets of flow id and 10 of HMAC-SHA-256: 24 characters. */
#define PCSCF_TOKEN_LEN 24

/* The token of flow `id` (NUL-terminated, PCSCF_TOKEN_LEN + 1 bytes). */
void pcscf_token_make(const uint8_t key[PCSCF_TOKEN_KEY_LEN], uint64_t id,
		      char out[PCSCF_TOKEN_LEN + 1]);

/*
 * The flow id a token names. Returns 0, -EINVAL (not a token of ours: bad
 * length or alphabet) or -EACCES (the HMAC does not verify: forged or from
 * an earlier key).
 */
int pcscf_token_check(const uint8_t key[PCSCF_TOKEN_KEY_LEN], struct str token, uint64_t *id);

/* ---- reg-event (regevent.c) ---------------------------------------------- */

struct pcscf_regevent;

/* ---- store (store.c) -------------------------------------------------------- */

struct pcscf_store;

/* ---- the function ---------------------------------------------------------- */

struct pcscf_stats {
	uint64_t registers;          /* REGISTERs forwarded */
	uint64_t challenges;         /* 401s with a temporary set */
	uint64_t ue_requests;        /* other requests from UEs, forwarded */
	uint64_t to_ue;              /* requests forwarded to UEs by token */
	uint64_t rejected;           /* answered 4xx/5xx by us */
	uint64_t dropped;            /* dropped without an answer */
	uint64_t bidding_down;       /* Security-Verify / Security-Client mismatches */
	uint64_t forged_tokens;      /* 403 */
	uint64_t dead_flows;         /* 430 */
	uint64_t flows_failed;       /* flows judged failed by their silence */
};

struct pcscf {
	struct pcscf_config cfg;
	struct ipsec_config ipsec_cfg;
	char data_dir[512];
	char ctl_path[640];
	struct loop *loop;
	struct sip_stack *st;
	struct sip_proxy *px;
	struct ipsec_backend *ipsec;
	struct ipsec_sip *ports;
	struct pcscf_regs regs;
	bool regs_ready;
	struct pcscf_store *store;
	struct pcscf_regevent *rev;
	struct ctl_server *ctl;

	uint8_t token_key[PCSCF_TOKEN_KEY_LEN];
	char advertise[256];             /* host:port of our core-side URIs */
	struct sip_flow scscf_flow;      /* next hop to the S-CSCF, transport chosen */
	uint32_t plain_tp[8];            /* the unprotected listeners, in order */
	unsigned n_plain_tp;
	/*
	 * A plain listener is TCP: UEs may register over TCP, so every SA
	 * set also gets a protected TCP listener on its port_ps.
	 */
	bool protected_tcp;
	bool tcp_unavailable;            /* the backend has no TCP: said once, not tried again */

	struct ipsec_table pending;      /* u64 proxy ref -> struct pcscf_txn * */
	/* The slices an edit holds until the proxy prints it: reset per callback. */
	struct arena req_arena, resp_arena;
	struct pcscf_stats stats;
	uint64_t icid_counter;
	bool restoring;                  /* store writes are off while restoring */
	struct loop_timer flush_timer;   /* writes the flows marked in this loop turn */
};

/* The wall clock (ms since the epoch), through the model's seam. */
uint64_t pcscf_now_ms(void *ctx);

/*
 * flowwatch.c: RFC 5626 flow failure. pcscf_flow_watch() after every 2xx
 * to a flow's REGISTER (flow_timer_s from its Flow-Timer, 0 = none: not
 * watched; clears flow_failed); pcscf_flow_unwatch() before the flow is
 * freed.
 */
void pcscf_flow_watch(struct pcscf *pc, struct pcscf_reg *r, uint32_t flow_timer_s);
void pcscf_flow_unwatch(struct pcscf *pc, struct pcscf_reg *r);
/*
 * A protected TCP connection closed (flow: the connection, its sa_set
 * named; err: why, as the transport's flow_error says). The UE's
 * connection to port_ps of the established set of a watched (outbound)
 * registration is its RFC 5626 flow: the flow failed, as when its SAs go
 * silent. Ours to port_us is not (idle, it just closes).
 */
void pcscf_flow_conn_closed(struct pcscf *pc, const struct sip_flow *flow, int err);

/* ipsec.c: the model's ops that touch lib/ipsec. */
int pcscf_ipsec_install(struct pcscf *pc, struct pcscf_sa *sa);
void pcscf_ipsec_remove(struct pcscf *pc, struct pcscf_sa *sa);
/*
 * Re-install a stored set (restart): userspace puts it back with its
 * outbound sequence numbers continued; xfrm adopts the kernel's copy when
 * one with the same parameters is there. Fills sa->set_id and the ports.
 */
int pcscf_ipsec_restore(struct pcscf *pc, struct pcscf_sa *sa);
/* After a restore: remove our sets in the kernel that no stored flow claims. */
void pcscf_ipsec_sweep(struct pcscf *pc);
/* Outbound sequence numbers sent so far per SA (for the store). */
void pcscf_ipsec_seq(struct pcscf *pc, const struct pcscf_sa *sa, uint32_t seq[4]);

/* sip.c */
extern const struct sip_tu_ops pcscf_tu_ops;
extern const struct sip_proxy_ops pcscf_proxy_ops;
/* Resolve the S-CSCF and remember the unprotected listeners. */
int pcscf_sip_start(struct pcscf *pc);
/* The flow to the UE of a registration for P-CSCF requests (SA2). */
int pcscf_sip_ue_flow(struct pcscf *pc, const struct pcscf_reg *r, struct sip_flow *out);
/* A flow to the core for `uri`, over an unprotected listener. */
int pcscf_sip_core_flow(struct pcscf *pc, const struct sip_uri *uri, struct sip_flow *out);
void pcscf_sip_stop(struct pcscf *pc);

/* regevent.c */
int pcscf_regevent_create(struct pcscf *pc, struct pcscf_regevent **out);
void pcscf_regevent_destroy(struct pcscf_regevent *rev);
/* A flow registered (again): hold a subscription for its IMPU. */
void pcscf_regevent_hold(struct pcscf_regevent *rev, struct pcscf_reg *r);
/* A flow ended: let go of its subscription. */
void pcscf_regevent_release(struct pcscf_regevent *rev, struct pcscf_reg *r);
/*
 * A request from the core that may belong to a subscription (NOTIFY).
 * Returns true when it was ours and has been answered.
 */
bool pcscf_regevent_request(struct pcscf_regevent *rev, sip_txn_id stx, struct sip_rx *rx);
/* Subscriptions held and active, for status. */
void pcscf_regevent_counts(const struct pcscf_regevent *rev, unsigned *held, unsigned *active);
/* Every subscription as a JSON array (ctl). */
void pcscf_regevent_json(const struct pcscf_regevent *rev, struct json_writer *w);

/* store.c */
int pcscf_store_open(const char *path, struct pcscf_store **out);
void pcscf_store_close(struct pcscf_store *s);
/* The flow token key and the next flow id, created on first use. */
int pcscf_store_meta(struct pcscf_store *s, uint8_t key[PCSCF_TOKEN_KEY_LEN], uint64_t *next_id);
int pcscf_store_set_next_id(struct pcscf_store *s, uint64_t next_id);
/*
 * Whether the last process stopped cleanly (it stored exact sequence
 * numbers); set false at start, true after the final save.
 */
int pcscf_store_clean_flag(struct pcscf_store *s, uint8_t *clean, bool *found);
int pcscf_store_set_clean(struct pcscf_store *s, bool clean);
/*
 * Group commit: flows marked as changed (or gone) during one turn of the
 * loop are written together, in one transaction, by pcscf_store_flush().
 * A flow that no longer exists when the flush runs is deleted.
 */
int pcscf_store_mark(struct pcscf_store *s, uint64_t id);
int pcscf_store_flush(struct pcscf_store *s, struct pcscf *pc);
/* Delete at once (a flow that cannot be restored). */
int pcscf_store_delete(struct pcscf_store *s, uint64_t id);
/*
 * Every stored flow, rebuilt (sets not installed yet) and handed to fn,
 * which owns it from then on (restores it or frees it).
 */
int pcscf_store_load(struct pcscf_store *s, struct pcscf_regs *rs,
		     int (*fn)(void *arg, struct pcscf_reg *r), void *arg);

/* ctl.c */
extern const struct ctl_command pcscf_ctl_commands[];
extern const size_t pcscf_ctl_ncommands;

#endif
