/*
 * cx_loop.h - the S-CSCF's Cx client on its own event loop (cx_loop.c),
 * the default (scscf.diameter.client: loop); cx.c chooses between it and
 * the freeDiameter client.
 */
#ifndef SIMREG_SCSCF_CX_LOOP_H
#define SIMREG_SCSCF_CX_LOOP_H

#include <stdbool.h>

#include "diameter/dpeer.h"
#include "scscf/scscf.h"

struct scscf_cx_loop;

/* The seam's functions; ctx is the struct scscf_cx_loop. */
extern const struct scscf_cx_ops scscf_cx_loop_ops;

/*
 * Connect to the HSS from s->cfg (scscf.diameter.*) on s->loop. The
 * connection comes up later; until then MAR and SAR fail with -ENOTCONN.
 * At the loop's shutdown the client waits for the answers in flight and
 * says DPR. Returns 0 or a negative errno.
 */
int scscf_cx_loop_start(struct scscf *s, struct scscf_cx_loop **out);

bool scscf_cx_loop_connected(const struct scscf_cx_loop *c);
void scscf_cx_loop_stats(const struct scscf_cx_loop *c, struct dpeer_stats *out);

/* Close and free; answers still on their way are dropped. NULL is a no-op. */
void scscf_cx_loop_stop(struct scscf_cx_loop *c);

#endif
