/*
 * matrix.h - the outcome matrix of DESIGN.md section 4, measured.
 *
 * A row is a mechanism (S-CSCF and UE), an SA binding (P-CSCF) and a
 * topology. Running a row brings a lab up in its own directory, tells the
 * two-access story through the scenario steps (scenario.h), takes the lab
 * down, reads the captures (evidence.h), and records what it measured:
 *
 *   - after access A (wlan) and then access B (umts) registered: which
 *     bindings are live in the S-CSCF's reg-event state, and whether each
 *     access has an established SA set at the UE and at its P-CSCF;
 *   - a MESSAGE from an application server in the core to the IMPU: over
 *     which accesses the UE received it;
 *   - when both accesses are protected: re-authenticating A alone, whether
 *     A got a new SA set and B's stayed as it was, at the UE and the P-CSCF;
 *   - from the captures: every vector came from the HSS and verifies with
 *     the subscription's K (the original subscription, whatever the IMPI),
 *     and every challenge carried its own CK/IK.
 *
 * The outcome of a row is then classified from those measurements alone
 * (lab_row_classify()); no outcome is written down anywhere in the code.
 * The test suite compares the classification of all 24 rows with the
 * table transcribed from DESIGN.md (tests/data/lab/expected_matrix.tsv).
 */
#ifndef SIMREG_LAB_MATRIX_H
#define SIMREG_LAB_MATRIX_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lab/evidence.h"

/* X(id, code, what it means, as DESIGN.md section 4 says it) */
#define LAB_OUTCOMES(X)                                                        \
	X(WORKS, "works", "works")                                             \
	X(NEWEST_ONLY, "newest-only", "only the newest access works")          \
	X(FIRST_SAS_GONE, "first-sas-gone",                                    \
	  "S-CSCF keeps both, but the first access's SAs are gone: broken")    \
	X(REAUTH_DISTURBS, "reauth-disturbs",                                  \
	  "both work until one is re-authenticated: it disturbs the other")    \
	X(NOTHING, "nothing-works", "no access works")                         \
	X(UNEXPECTED, "unexpected", "none of the above: see the measurements") \
	X(FAILED, "failed", "the run failed")

enum lab_outcome {
#define X(id, code, text) LAB_OUTCOME_##id,
	LAB_OUTCOMES(X)
#undef X
		LAB_OUTCOME_COUNT
};

const char *lab_outcome_code(enum lab_outcome o);
const char *lab_outcome_text(enum lab_outcome o);

struct lab_row_spec {
	const char *mechanism; /* lab_mechanisms */
	const char *binding;   /* the P-CSCFs' */
	const char *topology;  /* "t1", "t2" */
};

enum lab_reauth {
	LAB_REAUTH_NOT_TRIED, /* not both accesses protected: nothing to compare */
	LAB_REAUTH_DONE,      /* A has a new SA set at the UE and at its P-CSCF */
	LAB_REAUTH_FAILED,    /* A did not end up with a new protected set */
};

/* What a row measured. Access 0 is A (wlan, registered first), 1 is B. */
struct lab_row_result {
	struct lab_row_spec row;
	char name[96]; /* "t1/outbound/impi" */
	int error;     /* 0, or why the run failed (negative errno) */
	char error_what[160];
	uint64_t ms; /* how long the run took */
	char access[2][16];
	char impi[2][96];   /* the IMPI each access registered with */
	bool registered[2]; /* the UE says so */
	bool binding[2];    /* an active contact in the S-CSCF's reg-event state */
	unsigned bindings;  /* active contacts of the IMPU */
	bool sa_ue[2], sa_pcscf[2];
	int msg_status;	   /* what the AS got */
	int msg_delivered; /* bit per access */
	enum lab_reauth reauth;
	bool other_untouched; /* B's set: same SPIs, still protected, at UE and P-CSCF */
	uint64_t scscf_registers, scscf_challenges; /* its counters at the end */
	struct lab_key_evidence keys;
	/* tshark over all the captures: every frame decodes, every ESP packet
	 * decrypts with the exported keys, the message counts agree */
	bool captures_measured, captures_ok;
	unsigned esp_packets;
	enum lab_outcome outcome;
};

/* The rows of DESIGN.md section 4, in table order: every mechanism, every
 * binding, every topology. NULL-terminated through .mechanism. */
extern const struct lab_row_spec lab_matrix_rows[];

/* Classify @r from its measurements. */
enum lab_outcome lab_row_classify(const struct lab_row_result *r);

struct lab_run_opts {
	const char *simreg;  /* absolute path of the binary */
	const char *backend; /* P-CSCFs' IPsec backend */
	const char *ue_backend;
	bool evidence;			     /* read the captures after the run (needs tshark) */
	int ready_timeout_ms;		     /* per process of the row's lab; 0: 15 s */
	const volatile sig_atomic_t *cancel; /* set by a signal handler: stop */
};

/*
 * Run row @row in directory @dir (created; must not hold a running lab):
 * up, the steps, down, evidence. Fills @r; returns 0 when the row ran to
 * the end (whatever its outcome) or a negative errno when the lab could
 * not be brought up or read (r->error says the same). The lab is always
 * taken down.
 */
int lab_row_run(const struct lab_row_spec *row, const char *dir, const struct lab_run_opts *o,
		struct lab_row_result *r);

struct lab_matrix_opts {
	struct lab_run_opts run;
	const char *dir;    /* where the rows' directories go */
	const char *filter; /* comma-separated fnmatch patterns on row names, or NULL */
	unsigned jobs;	    /* rows run at once */
	bool json;
};

/*
 * Run every row selected by @o->filter, @o->jobs at a time (each in its own
 * process and lab directory, @o->dir/<topology>-<mechanism>-<binding>),
 * and print the measurements and the outcome table to @out (as JSON with
 * @o->json). Returns the number of rows that failed to run, or a negative
 * errno.
 */
int lab_matrix_run(const struct lab_matrix_opts *o, FILE *out);

/* Write/read a row result as JSON (the form `lab matrix --json` prints). */
void lab_row_write_json(const struct lab_row_result *r, struct json_writer *w);
int lab_row_read_json(const char *path, struct lab_row_result *r);

#endif
