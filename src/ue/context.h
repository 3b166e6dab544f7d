/*
 * context.h - the UE: one USIM, one SIP stack, several accesses.
 *
 * struct ue is the whole state of a `simreg ue` process except its
 * sockets: the configuration, the USIM, the SPI/port allocator, and per
 * access the registration (reg.h), its SA sets (sec.h) and its reg-event
 * subscription (regevent.h).
 *
 * Everything that touches the outside goes through struct ue_env_ops: the
 * SIP stack and the IPsec backend in the real process (ue_net.c), a
 * scripted network in the unit tests. The logic therefore runs the same
 * against a recorded transcript and against real P-CSCFs.
 *
 * Everything runs on the loop thread.
 */
#ifndef SIMREG_UE_CONTEXT_H
#define SIMREG_UE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"
#include "core/str.h"
#include "ipsec/alloc.h"
#include "ipsec/secagree.h"
#include "ue/auth.h"
#include "ue/config.h"
#include "ue/mech.h"
#include "ue/reg.h"
#include "ue/regevent.h"
#include "ue/sec.h"

struct ue_access {
	struct ue *ue;
	unsigned n;                   /* access number, 1-based (reg-id) */
	struct ue_access_config cfg;
	struct ipsec_addr local_ip;   /* cfg.local's address */
	struct ipsec_addr pcscf_ip;   /* cfg.pcscf's address */
	char impi[UE_IMPI_MAX];       /* derived under modified-impi */
	bool link_up;
	struct ue_reg reg;
	struct ue_sec sec;
	struct ue_sub sub;
	uint64_t msgs_tx, msgs_rx;
	uint64_t ka_sent, ka_answered; /* RFC 5626 keepalives */
	void *net;                    /* the environment's per-access state */
};

/*
 * The environment: what the UE asks of the network. ctx is the pointer
 * given to ue_create(). Every function returns 0 or a negative errno.
 *
 *   send        Start a client transaction for `msg`, a complete request
 *               without a Via (the stack adds it). Unprotected (sa NULL):
 *               from the access's SIP port to the P-CSCF's; protected:
 *               from port_uc of sa to port_ps (SA1). The outcome comes
 *               back through ue_on_response() / ue_on_failure() with ref.
 *   sa_install  Install sa->set (the UE's side of the four SAs) and open
 *               its protected ports; fills sa->set.id.
 *   sa_remove   Delete the SAs of sa->set and close the protected ports no
 *               other live set of the access uses.
 *   keepalive   Send one RFC 5626 keepalive on the flow of sa (STUN
 *               binding request on UDP, CRLFCRLF on TCP). Returns 0 when
 *               the answer will come back through ue_on_keepalive() (an
 *               unanswered keepalive is then a flow failure), 1 when it
 *               was sent but answers cannot be observed (the flow is
 *               then kept warm, never judged).
 *   link        Bring the access's link down (close its transports and
 *               drop its flows without a word to anyone) or up again.
 */
struct ue_sa;
struct ue_env_ops {
	int (*send)(void *ctx, struct ue_access *a, const struct ue_sa *sa, struct str msg,
		    uint64_t ref);
	int (*sa_install)(void *ctx, struct ue_access *a, struct ue_sa *sa);
	void (*sa_remove)(void *ctx, struct ue_access *a, struct ue_sa *sa);
	int (*keepalive)(void *ctx, struct ue_access *a, const struct ue_sa *sa);
	int (*link)(void *ctx, struct ue_access *a, bool up);
};

/*
 * The entropy seam: Call-IDs, tags, cnonces and back-off jitter. fill()
 * writes n unpredictable bytes; tests inject a counter for byte-exact
 * transcripts. NULL fill: OpenSSL's RAND_bytes.
 */
struct ue_seam {
	void (*fill)(void *ctx, uint8_t *out, size_t n);
	void *ctx;
};

/* Outgoing MESSAGE / OPTIONS in flight, for the event log. */
#define UE_MAX_OUT 32
struct ue_out {
	uint64_t ref;
	unsigned access;
	char method[12];
	char call_id[40];
	char to[160];
};

struct ue {
	const struct ue_config *cfg;
	struct loop *loop;
	const struct ue_env_ops *env;
	void *env_ctx;
	struct ue_seam seam;
	struct ue_usim usim;
	struct ipsec_alloc alloc;
	FILE *evlog;                 /* borrowed; NULL: no event log */
	const char *name;            /* for the event log: the IMPI */
	unsigned mech_flags;         /* UE_MF_* */
	char domain[128];
	struct ipsec_prefs offers;   /* what Security-Client offers, in order */
	struct ue_backoff backoff;
	struct ue_access acc[UE_MAX_ACCESSES];
	size_t nacc;
	uint64_t ref_seq;
	struct ue_out out[UE_MAX_OUT];
};

/* What the UE answers to an incoming request. */
struct ue_reply {
	unsigned code;       /* 0: send nothing (ACK) */
	const char *reason;  /* NULL: the standard phrase */
	bool contact;        /* add our Contact (2xx to INVITE) */
	bool allow;          /* add Allow (405) */
};

/*
 * ue_create
 *	cfg    : the ue section; borrowed for the UE's life
 *	accs   : the parsed accesses, their local addresses resolved
 *	alloc  : SPI and port ranges (the ipsec section)
 *	env    : the environment and its context
 *	seam   : entropy, or NULL for the system's
 *	evlog  : JSON-lines event log, borrowed; may be NULL
 *	sqn_state : path of the USIM's SQN state file
 *	why    : the reason on failure
 * Returns 0 and *out, or -EINVAL / -ENOMEM / the USIM's error. Nothing is
 * sent until ue_start().
 */
int ue_create(struct ue **out, const struct ue_config *cfg, const struct ue_access_config *accs,
	      size_t nacc, const struct ipsec_alloc_config *alloc, struct loop *loop,
	      const struct ue_env_ops *env, void *env_ctx, const struct ue_seam *seam,
	      FILE *evlog, const char *sqn_state, char *why, size_t whylen);

/* Register every access when cfg->register_at_start. */
void ue_start(struct ue *ue);

/*
 * Free the UE: every live SA set is removed through the environment,
 * timers cancelled, keys wiped. Nothing is sent; deregister first (ue_stop).
 */
void ue_destroy(struct ue *ue);

/*
 * Begin a clean stop: deregister every registered access. Returns the
 * number of deregistrations started (0: nothing left to wait for).
 */
unsigned ue_stop(struct ue *ue);
/* True while a REGISTER of any access is in flight. */
bool ue_busy(const struct ue *ue);

struct ue_access *ue_access_by_name(struct ue *ue, struct str name);
/* The access whose local address is `addr` (any port), or NULL. */
struct ue_access *ue_access_by_local(struct ue *ue, const struct ipsec_addr *addr);

/* ---- what the environment reports ----------------------------------- */

/* A final response to a request sent with ref; sa_set: the set it came over, 0 unprotected. */
void ue_on_response(struct ue *ue, uint64_t ref, struct sip_msg *msg, uint32_t sa_set);
/* The transaction of ref ended without a final response. */
void ue_on_failure(struct ue *ue, uint64_t ref, int err);
/*
 * The keepalive of access a was answered. mapped: the address the
 * P-CSCF saw it from (STUN XOR-MAPPED-ADDRESS), NULL if the answer gave
 * none. A mapped address that changes on the same flow is a flow failure
 * (RFC 5626 4.4.2: a NAT rebound it, the registrar's flow is gone).
 */
void ue_on_keepalive(struct ue *ue, struct ue_access *a, const union sip_sockaddr *mapped);
/*
 * A request arrived on access a over set sa_set (0: unprotected); fill the
 * reply. Protected requests only: an unprotected one is refused (TS 33.203
 * 7.1: once SAs exist the UE takes requests from the P-CSCF over them).
 */
void ue_on_request(struct ue *ue, struct ue_access *a, struct sip_msg *msg, uint32_t sa_set,
		   struct ue_reply *rep);

/* ---- what the control socket asks -------------------------------------- */

/*
 * Send MESSAGE or OPTIONS to `to` over access a (registered), routed by
 * its Service-Route (RFC 3608) behind the P-CSCF's protected port.
 * Returns 0 (call_id, 40 bytes, receives the Call-ID), -EPERM (not
 * registered), -EINVAL (bad method or URI), -ENOBUFS (too many in flight).
 */
int ue_send_request(struct ue *ue, struct ue_access *a, struct str method, struct str to,
		    struct str body, char call_id[40]);

/* ---- helpers for the parts of the UE ---------------------------------- */

/* A new reference for a request of access a. */
uint64_t ue_new_ref(struct ue *ue, const struct ue_access *a, unsigned kind);
enum { UE_REF_REGISTER = 1, UE_REF_SUBSCRIBE = 2, UE_REF_OUT = 3 };

/* n random bytes from the seam. */
void ue_random(struct ue *ue, void *out, size_t n);
uint32_t ue_random32(struct ue *ue);
/* A fresh word for Call-IDs, tags, cnonces: 16 lower-case hex digits. */
void ue_new_word(struct ue *ue, char out[17]);

/* The IMPU in From/To (the first configured). */
struct str ue_impu(const struct ue *ue);
/*
 * The access's contact URI: "sip:USER@IP:PORT_US" (";transport=tcp" on
 * TCP), USER being the IMPU's user part. Needs a local half (offer or set).
 * Returns the length or -ENOSPC.
 */
int ue_contact_uri(const struct ue_access *a, char *out, size_t cap);

/* True if another access than `a` is registered (RFC 5626 4.5 base time). */
bool ue_some_other_registered(const struct ue *ue, const struct ue_access *a);

#endif
