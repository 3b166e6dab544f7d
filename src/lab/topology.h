/*
 * topology.h - the lab's topologies as data, and the plan derived from them.
 *
 * A topology is a table of nodes (one network namespace each), point-to-
 * point links between them (one veth pair each), stub networks (addresses on
 * a node's loopback, such as the core's service addresses) and services
 * (who listens on which address and port). Nothing about a particular
 * topology lives in code: adding T3 is adding a table.
 *
 * Addressing plan (docs/lab.md): every network is identified by a plane
 * and a number. Plane 18 is the access side (198.18.0.0/16), plane 19 the
 * core side (198.19.0.0/16); both lie in 198.18.0.0/15, which RFC 2544
 * reserves for benchmarking. Network N of plane P is
 *
 *     198.P.N.0/24    and    2001:db8:P:N::/64   (RFC 3849 documentation)
 *
 * and host H on it is 198.P.N.H and 2001:db8:P:N::H, so an IPv4 address
 * and its IPv6 twin read the same. Stub addresses are /32 and /128.
 *
 * Routes are computed, not listed: a node gets a route to every network it
 * can reach through nodes that forward (the access routers), via the first
 * hop of the shortest such path. The UE and the P-CSCFs do not forward, so
 * the UE reaches each P-CSCF address only through the access that leads to
 * it, and never the core.
 */
#ifndef SIMREG_LAB_TOPOLOGY_H
#define SIMREG_LAB_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAB_MAX_NODES 8
#define LAB_MAX_LINKS 12
#define LAB_MAX_ROUTES 48
/* One capture per link and per stub interface. */
#define LAB_MAX_CAPTURES (LAB_MAX_LINKS + 2)

/* Second octet of 198.x: which side of the lab a network is on. */
enum lab_plane {
	LAB_PLANE_ACCESS = 18,
	LAB_PLANE_CORE = 19,
};

struct lab_node_spec {
	const char *role;    /* namespace suffix: simreg-<id>-<role> */
	bool forwards;       /* an IP router (net.ipv4.ip_forward=1) */
	const char *what;    /* one line for people */
};

struct lab_end_spec {
	const char *role;   /* node */
	const char *ifname; /* interface name inside that node (<= 15 bytes) */
	uint8_t host;       /* host number on the link's network */
};

struct lab_link_spec {
	const char *name; /* also the capture's file name: DIR/<name>.pcap */
	uint8_t plane, net;
	struct lab_end_spec a, b; /* the capture runs on a's end */
};

struct lab_stub_spec {
	const char *role;
	const char *ifname; /* "lo" */
	uint8_t plane, net;
};

struct lab_service_spec {
	const char *name;      /* "pcscf-wlan" */
	const char *role;      /* node that runs it */
	uint8_t plane, net, host;
	const char *transport; /* "udp+tcp", "sctp+tcp" */
	uint16_t port;
	const char *access;    /* access it serves, or NULL */
};

/* The network functions a topology runs (DESIGN.md section 1). */
enum lab_fn_kind {
	LAB_FN_HSS,
	LAB_FN_SCSCF,
	LAB_FN_PCSCF,
	LAB_FN_UE,
};

/*
 * A network function of a topology: its process name (also its log,
 * DIR/<name>.log, and its configuration, DIR/etc/<name>.yaml) and the node
 * it runs in. Its addresses are those of its services: the services named
 * <name> or <name>-<something> (the P-CSCF "pcscf" of T1 listens on
 * pcscf-wlan, pcscf-umts and pcscf-core). Functions start in table order,
 * so a function comes after the ones it connects to.
 */
struct lab_function_spec {
	const char *name;
	const char *role;
	enum lab_fn_kind kind;
};

struct lab_topology {
	const char *name;
	const char *summary;
	const struct lab_node_spec *nodes;
	size_t n_nodes;
	const struct lab_link_spec *links;
	size_t n_links;
	const struct lab_stub_spec *stubs;
	size_t n_stubs;
	const struct lab_service_spec *services;
	size_t n_services;
	const struct lab_function_spec *functions;
	size_t n_functions;
};

/* The topologies, in order (t1, t2). */
extern const struct lab_topology *const lab_topologies[];
extern const size_t lab_n_topologies;

/* The topology called @name ("t1"), or NULL. */
const struct lab_topology *lab_topology_find(const char *name);

/* "hss", "scscf", "pcscf", "ue". */
const char *lab_fn_kind_name(enum lab_fn_kind k);

/* True if service @s belongs to function @f (see struct lab_function_spec). */
bool lab_service_of(const struct lab_service_spec *s, const struct lab_function_spec *f);

/* Index of the node @role in @t, or -1. */
int lab_node_index(const struct lab_topology *t, const char *role);

/* ---- addresses ---------------------------------------------------------- */

#define LAB_ADDR_LEN 48 /* "2001:db8:255:255::255/128" and the like */

enum lab_family { LAB_V4, LAB_V6 };

/* Host @host of network (@plane, @net); with its prefix length if @prefix
 * is not 0 (24/64 for a link address, 32/128 for a stub address). */
void lab_fmt_host(char out[LAB_ADDR_LEN], enum lab_family f, uint8_t plane, uint8_t net,
		  uint8_t host, unsigned prefix);
/* The network itself: "198.18.1.0/24", "2001:db8:18:1::/64". */
void lab_fmt_net(char out[LAB_ADDR_LEN], enum lab_family f, uint8_t plane, uint8_t net);

/* ---- the plan ----------------------------------------------------------- */

struct lab_route {
	int node;           /* index of the node that gets the route */
	uint8_t plane, net; /* destination network (a /24 and its /64) */
	int link;           /* first hop: index of the link */
	bool via_b;         /* the gateway is the link's b end (else its a end) */
};

struct lab_capture_spec {
	char name[32];     /* link name, or "<role>-<ifname>" for a stub */
	int node;          /* where dumpcap runs */
	const char *ifname;
	/* Where the end-of-capture marker is sent (IPv4, no prefix). */
	char marker_dst[LAB_ADDR_LEN];
};

struct lab_plan {
	const struct lab_topology *topo;
	struct lab_route routes[LAB_MAX_ROUTES];
	size_t n_routes;
	struct lab_capture_spec captures[LAB_MAX_CAPTURES];
	size_t n_captures;
};

/*
 * Check @t (names unique and short enough, links between known nodes, every
 * address distinct) and compute its routes and captures into @plan.
 * Returns 0, -EINVAL for an inconsistent table (logged, naming the entry),
 * or -ENOSPC when a LAB_MAX_* limit is exceeded.
 */
int lab_plan_compute(const struct lab_topology *t, struct lab_plan *plan);

/* The interface of @node on link @l, or NULL if the node is not on it. */
const struct lab_end_spec *lab_link_end(const struct lab_topology *t, const struct lab_link_spec *l,
					int node);

#endif
