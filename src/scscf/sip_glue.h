/*
 * sip_glue.h - the S-CSCF's SIP side on lib/sip (sip_glue.c).
 */
#ifndef SIMREG_SCSCF_SIP_GLUE_H
#define SIMREG_SCSCF_SIP_GLUE_H

#include "core/buf.h"
#include "scscf/scscf.h"

struct scscf_glue;

/*
 * Create the stack and the proxy core on s->loop from s->cfg.sip, open the
 * listeners (UDP and TCP 127.0.0.1:6060 when none are configured), point
 * s->sip at them and s->host at the first listener's address.
 * Returns 0 or a negative errno (logged).
 */
int scscf_glue_start(struct scscf *s, struct scscf_glue **out);

/* Free the proxy core and the stack. NULL is a no-op. */
void scscf_glue_stop(struct scscf_glue *g);

#endif
