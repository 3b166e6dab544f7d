/*
 * ctl.h - the S-CSCF's control socket commands (ctl.c).
 */
#ifndef SIMREG_SCSCF_CTL_H
#define SIMREG_SCSCF_CTL_H

#include "core/buf.h"
#include "scscf/scscf.h"

struct scscf_cx_client;
struct scscf_glue;

struct scscf_ctl {
	struct scscf *s;
	struct scscf_cx_client *cx;     /* NULL: no Cx (tests) */
	struct scscf_glue *glue;
};

/* A ctlsock_handler (ctlsock.h); ctx is a struct scscf_ctl. */
void scscf_ctl_handle(void *ctx, int argc, char **argv, struct buf *out);

#endif
