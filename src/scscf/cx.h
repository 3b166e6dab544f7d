/*
 * cx.h - the S-CSCF's Cx client (cx.c): simreg's own on the event loop
 * (cx_loop.c, scscf.diameter.client: loop) or freeDiameter's
 * (scscf.diameter.client: freediameter).
 */
#ifndef SIMREG_SCSCF_CX_H
#define SIMREG_SCSCF_CX_H

#include <stdbool.h>

#include "diameter/engine.h"
#include "scscf/scscf.h"

struct scscf_cx_client;

/*
 * Start the client s->cfg.cx_client names, with the HSS as its one peer
 * (we dial it), and point s->cx and s->cx_ctx at it. For freeDiameter,
 * generated files go to run_dir (which must exist) and its log lines to
 * `log`. Either client registers a shutdown hook on s->loop: at shutdown
 * it refuses new requests and waits for the answers still on their way.
 * Returns 0 or a negative errno.
 */
int scscf_cx_start(struct scscf *s, const char *run_dir, dia_log_fn *log, void *log_ctx,
		   struct scscf_cx_client **out);

/* True once the connection to the HSS is open. */
bool scscf_cx_connected(const struct scscf_cx_client *c);

/*
 * The vector of an MAA's SIP-Auth-Data-Item, from its four AVPs' data:
 * RAND || AUTN, XRES, CK, IK. Fills `a` and sets a->have_vector when
 * every length is right; leaves it untouched otherwise. Both clients.
 */
void scscf_cx_maa_vector(struct scscf_maa *a, struct str auth, struct str xres, struct str ck,
			 struct str ik);

struct json_writer;

/*
 * The client as a JSON object for `simreg ctl scscf status`: its kind,
 * and for the loop client its counters (connections, requests, answers,
 * timeouts, in flight, watchdogs, write calls).
 */
void scscf_cx_status(const struct scscf_cx_client *c, struct json_writer *w);

/*
 * Free the client; for freeDiameter, stop it too (dia_engine_stop_last:
 * the S-CSCF's state must be saved by then, an abort in freeDiameter's
 * own teardown ends the process with status 0). NULL is a no-op.
 */
void scscf_cx_stop(struct scscf_cx_client *c);

#endif
