/*
 * tun.h - the TUN device through which the userspace ESP backend carries
 * TCP; not for users of lib/ipsec (they call ipsec_backend_tcp_bind()).
 *
 * The kernel keeps its TCP stack; simreg only moves segments between the
 * stack and ESP. A protected TCP socket is bound to the TUN device
 * (SO_BINDTODEVICE), which does two things at once:
 *
 *   egress   the socket's route lookups carry the TUN as output interface;
 *            a policy rule "oif <tun> lookup <table>" and a route "default
 *            dev <tun>" in that table send them into the TUN whatever the
 *            main table says about the peer (IPv6 refuses an oif-bound
 *            lookup that no route of that device satisfies; IPv4 would
 *            "assume on link", but one mechanism serves both families);
 *   ingress  a socket bound to a device accepts only segments that arrived
 *            on it, and only the backend writes into the TUN, after ESP
 *            verified them: a cleartext SYN to a protected port arriving on
 *            the real link finds no socket and is answered with a RST.
 *
 * The device has no address (none is needed: the addresses are those of
 * the real interface, and the kernel accepts a packet for any local address
 * on any interface), no IPv6 link-local address either (so the kernel sends
 * no router solicitations or MLD reports into it), rp_filter 0 (the route
 * back to the peer is via the real link), and an MTU that leaves room for
 * the ESP overhead on a 1500-octet link. Creating it needs CAP_NET_ADMIN.
 *
 * One table serves every TUN of a network namespace: each device's route
 * has its ifindex as metric, and an oif-bound lookup skips routes through
 * other devices. The route leaves with the device; the rule is deleted by
 * ipsec_tun_close().
 */
#ifndef SIMREG_IPSEC_TUN_H
#define SIMREG_IPSEC_TUN_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct ipsec_tun {
	int fd;            /* -1 when closed */
	int ifindex;
	uint32_t table;
	unsigned rules;    /* bit 0: the IPv4 rule is ours to delete, bit 1: IPv6 */
	char name[IFNAMSIZ];
};

/* Default MTU of the device: a 1500-octet link less the ESP overhead. */
#define IPSEC_TUN_LINK_MTU 1500

/*
 * ipsec_tun_open
 *	Create the device (name pattern may hold "%d"), configure it as
 *	above and route table `table` into it.
 *	mtu  : the device's MTU (at least 1280, IPv6's minimum)
 *	why  : receives what failed when the call fails (for the log)
 * Returns 0 with t filled, -EPERM (no CAP_NET_ADMIN), -ENOENT (no
 * /dev/net/tun), or the errno of the step that failed; nothing is left
 * behind on error (t->fd is -1).
 */
int ipsec_tun_open(struct ipsec_tun *t, const char *pattern, uint32_t table, unsigned mtu,
		   char *why, size_t whylen);

/* Delete the rules and the device. Safe on a closed t. */
void ipsec_tun_close(struct ipsec_tun *t);

/* Bind socket fd to the device (SO_BINDTODEVICE). 0 or a negative errno. */
int ipsec_tun_bind(const struct ipsec_tun *t, int fd);

#endif
