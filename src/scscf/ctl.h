/*
 * ctl.h - the S-CSCF's control socket commands (ctl.c), served by
 * lib/core's control socket (core/ctlsock.h).
 */
#ifndef SIMREG_SCSCF_CTL_H
#define SIMREG_SCSCF_CTL_H

#include <stddef.h>

#include "core/ctlsock.h"
#include "scscf/scscf.h"

struct scscf_cx_client;

/* The context every command gets. */
struct scscf_ctl {
	struct scscf *s;
	struct scscf_cx_client *cx;     /* NULL: no Cx (tests) */
};

extern const struct ctl_command scscf_ctl_commands[];
extern const size_t scscf_ctl_n_commands;

#endif
