/*
 * ctl.h - the UE's control commands (docs/architecture.md, control
 * sockets): one request line of words in, one JSON object out.
 *
 *   status
 *   register ACCESS | deregister ACCESS | reauth ACCESS
 *   drop ACCESS | restore ACCESS
 *   send MESSAGE|OPTIONS TO via ACCESS [TEXT...]
 *
 * The answer is {"ok":true,...} or {"ok":false,"error":"..."}. A command
 * the access's state refuses changes nothing and says which state refused
 * it. The commands are independent of the socket that carries them
 * (ctlsock.h), so tests call ue_ctl_exec() directly.
 */
#ifndef SIMREG_UE_CTL_H
#define SIMREG_UE_CTL_H

#include "core/json.h"
#include "core/str.h"

struct ue;

/*
 * Run one request line against ue and write the answer into w (an
 * initialised writer, left holding one complete object). Returns 0 when
 * the answer says ok, a negative errno when it carries an error.
 */
int ue_ctl_exec(struct ue *ue, struct str line, struct json_writer *w);

#endif
