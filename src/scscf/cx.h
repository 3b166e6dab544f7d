/*
 * cx.h - the S-CSCF's Cx client over freeDiameter (cx.c).
 */
#ifndef SIMREG_SCSCF_CX_H
#define SIMREG_SCSCF_CX_H

#include <stdbool.h>

#include "diameter/engine.h"
#include "scscf/scscf.h"

struct scscf_cx_client;

/* The seam's functions; ctx is the struct scscf_cx_client. */
extern const struct scscf_cx_ops scscf_cx_diameter_ops;

/*
 * Start freeDiameter as the S-CSCF's Diameter identity with the HSS as
 * its one peer (we dial it), from s->cfg. Generated files go to run_dir
 * (which must exist); freeDiameter's log lines go to `log`. The client
 * registers a shutdown hook on s->loop: at shutdown it refuses new
 * requests and waits for the answers still on their way.
 * Returns 0 or a negative errno.
 */
int scscf_cx_start(struct scscf *s, const char *run_dir, dia_log_fn *log, void *log_ctx,
		   struct scscf_cx_client **out);

/* True once the connection to the HSS is open. */
bool scscf_cx_connected(const struct scscf_cx_client *c);

/*
 * Free the client and stop freeDiameter (dia_engine_stop_last: the
 * S-CSCF's state must be saved by then, an abort in freeDiameter's own
 * teardown ends the process with status 0). NULL is a no-op.
 */
void scscf_cx_stop(struct scscf_cx_client *c);

#endif
