/*
 * ctl.h - the UE's control commands, served by lib/core's control socket
 * (core/ctlsock.h; docs/architecture.md, control sockets):
 *
 *   status
 *   register ACCESS | deregister ACCESS | reauth ACCESS
 *   drop ACCESS | restore ACCESS
 *   send MESSAGE|OPTIONS TO via ACCESS [TEXT...]
 *
 * A command the access's state refuses changes nothing and its error names
 * the state that refused it.
 */
#ifndef SIMREG_UE_CTL_H
#define SIMREG_UE_CTL_H

#include <stddef.h>

#include "core/ctlsock.h"

/* The commands; the handlers' context is the struct ue. */
extern const struct ctl_command ue_ctl_commands[];
extern const size_t ue_ctl_ncommands;

#endif
