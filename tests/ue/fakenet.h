/*
 * fakenet.h - a scripted network for the UE's unit tests.
 *
 * The UE runs against this environment instead of the SIP stack and the
 * IPsec backend: every request it sends, every SA set it installs or
 * removes and every keepalive is written to a transcript, together with
 * the UE's own JSON event log. The test plays the P-CSCF and S-CSCF: it
 * answers the last request with responses built here, carrying real AKA
 * vectors from lib/aka (TS 35.208 set 1 keys), so the USIM is exercised
 * exactly as on the wire. Time is a manual clock and entropy a counter:
 * each scenario's transcript is byte for byte the same on every run and
 * is compared with tests/ue/golden/<scenario>.txt (SIMREG_REGENERATE=1
 * rewrites the files; review the diff).
 */
#ifndef SIMREG_TESTS_UE_FAKENET_H
#define SIMREG_TESTS_UE_FAKENET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "aka/milenage.h"
#include "aka/vector.h"
#include "core/config.h"
#include "core/loop.h"
#include "sip/msg.h"
#include "ue/context.h"

#define FN_MAX_SENT 64

struct fn_sent {
	unsigned access;      /* 1-based */
	uint32_t sa_set;      /* 0: unprotected */
	uint64_t ref;
	char *msg;            /* with a Via the "stack" added */
	size_t len;
};

struct fakenet {
	/* the transcript */
	char *text;
	size_t textlen;
	FILE *out;
	/* the UE */
	struct loop *loop;
	struct loop_manual_clock clock;
	struct config cfg;
	struct ue *ue;
	char sqn_path[64];
	uint32_t entropy;
	/* what it sent */
	struct fn_sent sent[FN_MAX_SENT];
	unsigned nsent;
	uint32_t next_set;
	unsigned keepalives;
	/* the HSS */
	struct milenage hss;
	uint64_t sqn_he;
	uint32_t rand_counter;
	struct aka_rand_source rs;
	struct aka_vector last_vec; /* of the last 401 made */
};

/*
 * Start a UE from a YAML `ue:` section (the test's config text) on a
 * manual clock at t = 0. Returns 0 or fails the test.
 */
void fn_setup(struct fakenet *fn, const char *yaml);
/* Compare the transcript with golden/<name>.txt and free everything. */
void fn_finish(struct fakenet *fn, const char *name);

/* A line of the test's own commentary in the transcript. */
void fn_note(struct fakenet *fn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last request the UE sent (fails the test if none). */
struct fn_sent *fn_last(struct fakenet *fn);
/* The last request of access n. */
struct fn_sent *fn_last_of(struct fakenet *fn, unsigned access);

/* Make the next vector of the HSS (SQN steps through IND slots). */
void fn_vector(struct fakenet *fn, struct aka_vector *v);

/*
 * Answer request `req` with `code` and extra header lines ("Name: v\r\n"),
 * delivered over set sa_set (0: unprotected). A 401 carries a challenge
 * from `v` (NULL: a new vector) and the P-CSCF's Security-Server unless
 * extra already holds one. A 2xx to REGISTER carries Contact (the
 * request's, with expires), Service-Route and P-Associated-URI unless
 * `bare`.
 */
void fn_reply(struct fakenet *fn, struct fn_sent *req, unsigned code, uint32_t sa_set,
	      const char *extra);
void fn_challenge(struct fakenet *fn, struct fn_sent *req, const struct aka_vector *v,
		  const char *secserver, uint32_t sa_set);
void fn_ok(struct fakenet *fn, struct fn_sent *req, uint32_t sa_set, const char *extra);

/* The set id the fake installed last for access n, 0 if none. */
uint32_t fn_set_of(struct fakenet *fn, unsigned access);

/* Deliver a request from the network to access n over set sa_set; print the reply. */
void fn_request(struct fakenet *fn, unsigned access, uint32_t sa_set, const char *msg);

/* Move time, running timers. */
void fn_advance(struct fakenet *fn, uint64_t ms);

/* Read an Authorization parameter of a request ("" if absent). */
void fn_auth_param(struct fn_sent *req, const char *name, char *out, size_t cap);

/* sa_set of fn_challenge(): the set the request went over. */
#define FN_SAME UINT32_MAX

/* The default P-CSCF Security-Server entry. */
#define FN_SECSERVER                                                                      \
	"ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=70001;spi-s=70002;port-c=6100;" \
	"port-s=6101"

#endif
