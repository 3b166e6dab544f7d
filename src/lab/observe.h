/*
 * observe.h - what a running lab looks like from outside: the state the
 * network functions report on their control sockets, and what the UE
 * wrote in its event log.
 *
 * The lab never reads a function's memory or files other than its event
 * log (docs/architecture.md, "Control sockets"): the S-CSCF's bindings are
 * its reg-event document (`reginfo IMPU`, RFC 3680) joined with `bindings`
 * for their ids and IMPIs; the P-CSCFs' registration flows and SA sets are
 * `flows`; the UE's accesses and SA sets are `status`.
 *
 * An access is known everywhere by its address: the UE reports the local
 * address of each access, the P-CSCF the UE address of each flow, the
 * S-CSCF the host of each contact. The P-CSCF that serves an access is the
 * function whose service holds the address the UE sends to.
 *
 * A snapshot is a plain value: two of them (before and after a step) are
 * compared field by field.
 */
#ifndef SIMREG_LAB_OBSERVE_H
#define SIMREG_LAB_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lab/lab.h"

#define LAB_OBS_ACCESSES 4
#define LAB_OBS_PCSCFS 4
#define LAB_OBS_FLOWS 16
#define LAB_OBS_SETS 4
#define LAB_OBS_BINDINGS 16
/* How long a function may take to answer one control request. */
#define LAB_CTL_TIMEOUT_MS 3000

struct lab_sa_obs {
	uint64_t set;
	char state[16]; /* P-CSCF: temporary, established, old; UE: temporary, established */
	uint32_t spi_uc, spi_us, spi_pc, spi_ps;
	uint16_t port_uc, port_us, port_pc, port_ps;
	char alg[24], ealg[24];
};

struct lab_access_obs {
	char name[16];	/* "wlan" */
	char state[20]; /* the UE's registration state of the access */
	char impi[96];	/* the IMPI it registers with */
	char addr[48];	/* the UE's address on it */
	char pcscf_addr[64];
	char pcscf[24]; /* the P-CSCF function serving it ("pcscf-a") */
	bool link;
	uint64_t failures;
	bool has_sa, has_tmp;
	struct lab_sa_obs sa, tmp;
	char sub_state[16]; /* its reg-event subscription */
};

struct lab_flow_obs {
	uint64_t id;
	char state[20];
	char impi[96];
	char ue[48];
	uint16_t port_uc, port_us;
	bool failed; /* judged failed by its silence (RFC 5626 flow timer) */
	struct lab_sa_obs sets[LAB_OBS_SETS];
	size_t n_sets;
};

struct lab_pcscf_obs {
	char name[24];
	char binding[16];
	char backend[16];
	struct lab_flow_obs flows[LAB_OBS_FLOWS];
	size_t n_flows;
	uint64_t registers, challenges;
};

/* A contact of the IMPU in the S-CSCF's reg-event document. */
struct lab_binding_obs {
	uint64_t id; /* the S-CSCF's binding id (0: not in `bindings`) */
	char impi[96];
	char contact[160];
	char addr[48];	/* host of the contact URI */
	char state[16]; /* RFC 3680 contact state: active, terminated */
	char event[16]; /* what last changed it: registered, refreshed, ... */
};

struct lab_scscf_obs {
	uint64_t registers, challenges_sent, registrations, refreshes, deregistrations;
	uint64_t auth_failures, notifies, probes, probes_kept, forwarded;
};

struct lab_snapshot {
	struct lab_access_obs accesses[LAB_OBS_ACCESSES];
	size_t n_accesses;
	struct lab_pcscf_obs pcscfs[LAB_OBS_PCSCFS];
	size_t n_pcscfs;
	struct lab_binding_obs bindings[LAB_OBS_BINDINGS];
	size_t n_bindings;
	struct lab_scscf_obs scscf;
};

/*
 * Ask every function of @lab for its state. Returns 0, or a negative errno
 * when a function does not answer or answers something unexpected (logged,
 * naming the function and the request).
 */
int lab_observe(const struct lab *lab, struct lab_snapshot *s);

/*
 * Send one control request @req to function @name of @lab and keep the
 * answer's text in @answer. Returns 0 when the answer says "ok": true, -EPROTO
 * when it says why not (the reason is in @answer), or another negative errno.
 */
int lab_ctl(const struct lab *lab, const char *name, const char *req, char *answer, size_t size);

/* The access called @name, or NULL. */
const struct lab_access_obs *lab_obs_access(const struct lab_snapshot *s, const char *name);

/*
 * The registration flow of access @a at its P-CSCF: the newest flow of the
 * access's UE address that is not gone. NULL if there is none.
 */
const struct lab_flow_obs *lab_obs_flow(const struct lab_snapshot *s,
					const struct lab_access_obs *a);

/* The active contact of access @a in the S-CSCF's reg-event state, or NULL. */
const struct lab_binding_obs *lab_obs_binding(const struct lab_snapshot *s,
					      const struct lab_access_obs *a);

/* The established SA set of @f, or NULL. */
const struct lab_sa_obs *lab_obs_flow_sa(const struct lab_flow_obs *f);

/* The access is registered at the UE with an established SA set. */
bool lab_obs_ue_protected(const struct lab_access_obs *a);
/* The access's flow is registered at its P-CSCF with an established set. */
bool lab_obs_pcscf_protected(const struct lab_snapshot *s, const struct lab_access_obs *a);

/*
 * True if nothing is in flight: no access of the UE and no flow of a
 * P-CSCF in a transient state (waiting for a challenge, an answer, or the
 * end of a linger).
 */
bool lab_obs_quiet(const struct lab_snapshot *s);

/*
 * Print @s for people: one line per access with the UE's state and SA set,
 * its flow and SA set at its P-CSCF and its binding at the S-CSCF; then the
 * S-CSCF's counters. SPIs in hex, as tshark shows them.
 */
void lab_snapshot_print(const struct lab_snapshot *s, FILE *out);

/* ---- the UE's event log ----------------------------------------------------- */

/*
 * The accesses over which the UE received a request with Call-ID @call_id
 * (its event log, DIR/<ue>/ue-events.jsonl): bit i set for access i of the
 * snapshot order (the UE's access order). @status, if not NULL, gets what
 * the UE answered on the last one. Returns the bit set, or a negative
 * errno when the log cannot be read.
 */
int lab_ue_received(const struct lab *lab, const char *call_id, const char *method, int *status);

/* ---- waiting ------------------------------------------------------------------- */

/*
 * Take snapshots into @s until @done(@s, @ctx) holds and the lab has been
 * quiet (lab_obs_quiet() and no file written in the lab's directory or
 * the functions' data directories) for @quiet_ms; give up after
 * @timeout_ms (-ETIMEDOUT, with @s the last snapshot). @done may be NULL
 * (only quiet). Woken by inotify when the functions log, so a change is
 * seen at once; nothing sleeps longer than a tenth of a second without
 * looking again.
 */
int lab_settle(const struct lab *lab, bool (*done)(const struct lab_snapshot *, void *), void *ctx,
	       int quiet_ms, int timeout_ms, struct lab_snapshot *s);

#endif
