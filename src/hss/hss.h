/*
 * hss.h - the HSS network function: shared internals of src/hss.
 *
 * Request path (one process, one event loop):
 *
 *   freeDiameter thread          loop thread
 *   -------------------          -----------------------------------------
 *   dispatch callback  --post--> queue the request; arm the batch timer
 *                                batch timer: BEGIN
 *                                  per request: decode, validate, act
 *                                  (store reads and writes, vectors)
 *                                COMMIT (fsync: SQNs are on disk)
 *                                per request: encode the answer, send it
 *
 * Answers leave only after the COMMIT that holds their SQNs returns, so a
 * crash at any point can never make the HSS hand out an SQN twice; one
 * COMMIT covers every request that arrived meanwhile (group commit), which
 * is what lets many MARs in flight share one fsync.
 *
 * Each Cx command has process() (decode, validate, act; fills the
 * request's outcome); cx_path.c writes the result and the outcome's common
 * AVPs, and encode(), where a command has one, adds what only its
 * successful answer carries (vectors, User-Data); see uar.c, mar.c, sar.c,
 * lir.c.
 */
#ifndef SIMREG_HSS_HSS_H
#define SIMREG_HSS_HSS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aka/vector.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/str.h"
#include "diameter/cx.h"
#include "diameter/engine.h"
#include "store/store.h"

struct msg;
struct avp;

/* The `hss:` section of the deployment file (docs/hss.md). */
struct hss_config {
	const char *data;                /* data directory; --data overrides */
	int max_vectors;                 /* per MAA */
	int sqn_ind_bits;                /* TS 33.102 Annex C IND length */
	bool keep_server_name;           /* on *_STORE_SERVER_NAME deregistrations */
	struct config_strlist home_networks;
	struct config_strlist scscf_names; /* Server-Capabilities / Server-Name */
	int batch_max;                   /* requests per store transaction */
	const char *identity;
	const char *realm;
	struct config_addr listen;
	int threads;
	struct config_strlist peers;
	const char *test_rand_file;      /* "": RANDs from RAND_bytes() only */
};

extern const struct config_section hss_config_section;

/*
 * Test RANDs (test_rand.c, hss.test.rand_file): RANDs from a file, handed
 * out in order, then random ones again. For tests that drive a UE which
 * fails on some RANDs (docs/hss.md, "Test RANDs"); never in service.
 */
struct hss_test_rands {
	uint8_t (*v)[AKA_RAND_LEN];
	size_t n;                        /* RANDs in the file */
	size_t next;                     /* the next one to hand out */
	const char *path;                /* borrowed from the configuration */
};

/*
 * hss_test_rands_load
 *	path : the file: one RAND (32 hex digits) per line; blank lines and
 *	       lines starting with '#' are skipped
 *	out  : filled on success; free with hss_test_rands_free()
 * Returns 0; -errno when the file cannot be read; -EINVAL for a line that
 * is not a RAND (logged with its number) or a file without any; -E2BIG,
 * -ENOMEM. On failure nothing is allocated.
 */
int hss_test_rands_load(const char *path, struct hss_test_rands *out);

/*
 * The RAND seam bound to t (which must outlive it). Logs the warning that
 * test RANDs are active.
 */
struct aka_rand_source hss_test_rands_source(struct hss_test_rands *t);

void hss_test_rands_free(struct hss_test_rands *t);

/* One Cx request on its way through the HSS. */
struct hss_req {
	struct loop_work work;           /* the hand-off from freeDiameter's thread */
	struct hss *hss;
	struct hss_req *next;            /* in the pending batch, then the held answers */
	struct msg *msg;                 /* the request, later the answer */
	enum cx_command cmd;
	struct arena arena;              /* ARENA_WIPE: vectors and keys live here */

	/* Outcome, filled by process(). */
	uint32_t result;                 /* Result-Code or Experimental-Result-Code */
	bool experimental;
	struct dict_object *failed_avp;  /* for DIAMETER_MISSING_AVP / INVALID_AVP_VALUE */
	struct avp *failed_value;        /* the offending AVP of the request, if any */
	struct str user_name;            /* User-Name for the answer, if any */
	struct str public_identity;      /* Public-Identity for the answer, if any */
	struct str server_name;          /* Server-Name for the answer, if any */
	bool capabilities;               /* add Server-Capabilities */
	struct str user_data;            /* SAA User-Data (IMSSubscription) */
	struct str *associated;          /* SAA Associated-Identities */
	size_t n_associated;
	struct str *registered;          /* SAA Associated-Registered-Identities */
	size_t n_registered;
	struct str scheme;               /* MAA SIP-Authentication-Scheme */
	struct aka_vector *vectors;      /* MAA */
	size_t n_vectors;
	uint64_t hold_until;             /* loop ms: the answer waits for its peer until then */
};

struct hss {
	struct hss_config cfg;
	struct loop *loop;
	pthread_t loop_thread;
	struct store *store;
	struct cx_dict dict;
	struct aka_rand_source rand;
	struct hss_test_rands test_rands; /* empty unless hss.test.rand_file */
	struct disp_hdl *disp[CX_CMD__COUNT];
	struct dict_object *failed_avp_model; /* Failed-AVP, for error answers */

	struct hss_req *pending, **pending_tail;
	size_t n_pending;
	struct loop_timer batch_timer;
	struct hss_req *held, **held_tail; /* answers waiting for their peer to be OPEN */
	struct loop_timer hold_timer;
	struct loop_shutdown_hook shutdown;
	bool stopping;
	bool shutdown_done;
	atomic_bool loop_over;           /* loop_run returned: log freeDiameter directly */

	uint64_t answered;               /* statistics for the log */
	uint64_t batches;
	uint64_t held_answers;           /* answers that waited for a reopening peer */
};

/* Commands the HSS serves and their halves. */
int hss_uar_process(struct hss *h, struct hss_req *r);
int hss_mar_process(struct hss *h, struct hss_req *r);
int hss_mar_encode(struct hss *h, struct hss_req *r, struct msg *ans);
int hss_sar_process(struct hss *h, struct hss_req *r);
int hss_sar_encode(struct hss *h, struct hss_req *r, struct msg *ans);
int hss_lir_process(struct hss *h, struct hss_req *r);

/* Outcome helpers for process(). */
static inline void hss_result(struct hss_req *r, uint32_t code)
{
	r->result = code;
	r->experimental = false;
}

static inline void hss_experimental(struct hss_req *r, uint32_t code)
{
	r->result = code;
	r->experimental = true;
}

static inline void hss_missing(struct hss_req *r, struct dict_object *avp)
{
	hss_result(r, DIA_MISSING_AVP);
	r->failed_avp = avp;
}

/* DIAMETER_INVALID_AVP_VALUE; Failed-AVP will carry the AVP as received. */
int hss_invalid(struct hss *h, struct hss_req *r, struct dict_object *model);

/*
 * Shared lookups of process(): the IMPI (own or derived) and its
 * subscription, the IMPU, and whether they belong together. They set the
 * outcome (5001 DIAMETER_ERROR_USER_UNKNOWN, 5002 ..._IDENTITIES_DONT_MATCH)
 * and return 1 when the request is answered, 0 to go on, or a negative
 * errno for a store failure.
 */
int hss_find_impi(struct hss *h, struct hss_req *r, struct str impi, struct store_impi *impi_out,
		  struct store_subscription *sub);
int hss_find_impu(struct hss *h, struct hss_req *r, struct str impu, struct store_impu *out);

/* Server-Capabilities to add to an answer (UAA, LIA). */
int hss_add_capabilities(struct hss *h, struct msg *ans);

/* Add the Server-Name, User-Name, Public-Identity set in r (if any). */
int hss_add_common(struct hss *h, struct hss_req *r, struct msg *ans);

/* Is the Visited-Network-Identifier one of ours (hss.home_networks)? */
bool hss_is_home_network(struct hss *h, struct str visited);

/*
 * Would registering `impi` exceed the subscription's max_registrations
 * (IMPIs registered at once; an IMPI already registered is never over)?
 */
int hss_registration_limit(struct hss *h, struct hss_req *r, const struct store_subscription *sub,
			   const struct store_impi *impi, bool *at_limit);

/* True if some IMPU of the set is not barred. */
bool hss_irs_has_unbarred(const struct store_impu *impus, size_t n, uint32_t irs);

/*
 * The IMSSubscription document (TS 29.228 Annex B / E) for the implicit
 * registration set `irs`, from the subscription's IMPUs (impus, n: as
 * store_impu_list() gives them, read in the same transaction), naming
 * `impi` as PrivateID. The text goes into the request's arena.
 */
int hss_user_data(struct hss_req *r, const struct store_impu *impus, size_t n, uint32_t irs,
		  struct str impi);

/* Escape text for an XML element (exposed for the unit test). */
size_t hss_xml_escape(struct str in, char *out, size_t cap);

/* The Cx path (cx_path.c): dispatch, hand-off, batches, answers. */
int hss_cx_start(struct hss *h);
void hss_cx_stop(struct hss *h);

/* cmd_hss is the entry point (hss.c), declared in cli.h. */

#endif
