/*
 * netns.h - the lab's network namespaces: names, the iproute2 commands that
 * build a topology, and the few things done inside a namespace directly.
 *
 * Every namespace of a lab is called simreg-<id>-<role>, <id> being six hex
 * digits derived from the lab's directory, so two labs (or another user's
 * namespaces) never collide and a lab can be found by its prefix alone.
 * Veth pairs are created with each end directly in its namespace
 * (`ip -n A link add X type veth peer name Y netns B`), so no lab
 * interface ever appears in the caller's namespace, even for a moment, and
 * deleting the namespaces deletes the links.
 */
#ifndef SIMREG_LAB_NETNS_H
#define SIMREG_LAB_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/arena.h"
#include "lab/command.h"
#include "lab/topology.h"

#define LAB_ID_LEN 6
#define LAB_NETNS_DIR "/run/netns"
#define LAB_NETNS_NAME_MAX 64

/* "simreg-<id>-<role>" into @out. Returns 0 or -ENAMETOOLONG. */
int lab_netns_name(char out[LAB_NETNS_NAME_MAX], const char *id, const char *role);

/* True if a named namespace @name exists (ip netns add creates its file). */
bool lab_netns_exists(const char *name);

/*
 * Names of the existing namespaces that start with "simreg-<id>-", sorted,
 * in @names (allocated in @a). Returns how many (at most @max), or a
 * negative errno if /run/netns cannot be read (no namespaces: 0).
 */
int lab_netns_list(const char *id, struct arena *a, const char **names, size_t max);

/* Pids of the processes inside @ns (`ip netns pids`); count or negative errno. */
int lab_netns_pids(const char *ns, pid_t *pids, size_t max);

/*
 * Send one UDP datagram from inside @ns to @dst_ipv4 port @port. Used to
 * mark the end of a capture. The socket is opened after setns() and the
 * calling thread returns to its own namespace before this returns (if it
 * cannot, that is reported as -ENOTRECOVERABLE: the caller must stop).
 */
int lab_netns_send_udp(const char *ns, const char *dst_ipv4, uint16_t port, const void *data,
		       size_t len);

struct lab_cmd {
	const char *argv[LAB_CMD_MAX_ARGS];
};

/*
 * The iproute2/sysctl commands that build @plan's topology under lab @id,
 * in order: namespaces, loopbacks, sysctls, veth pairs and their
 * addresses, stub addresses, routes. Allocated in @a. Returns 0, -ENOMEM.
 */
int lab_plan_commands(const struct lab_plan *plan, const char *id, struct arena *a,
		      struct lab_cmd **cmds, size_t *n);

#endif
