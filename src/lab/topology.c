#define SLOG_COMPONENT "lab"
#include "lab/topology.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Ports follow the usual IMS lab habit (Kamailio's IMS examples and
 * open5gs): P-CSCF 5060, S-CSCF 6060, Diameter 3868 (RFC 6733 section
 * 2.1), and 5070 for the application server. Protected ports (TS 33.203
 * clause 7.1) are negotiated per registration and are not part of the plan.
 */
#define SIP_PCSCF 5060
#define SIP_SCSCF 6060
#define DIAMETER 3868
/* The application server the lab plays (SIPp sending a MESSAGE to the
 * IMPU from the core, as an AS or another user's S-CSCF would). */
#define SIP_AS 5070

#define A LAB_PLANE_ACCESS
#define C LAB_PLANE_CORE

/* ---- T1: both accesses through one P-CSCF -------------------------------- */

static const struct lab_node_spec t1_nodes[] = {
	{ "ue", false, "the phone: one interface per access" },
	{ "wlan", true, "access A (Wi-Fi): a router" },
	{ "umts", true, "access B (cellular): a router" },
	{ "pcscf", false, "the P-CSCF, one address per access" },
	{ "core", false, "S-CSCF and HSS" },
};

static const struct lab_link_spec t1_links[] = {
	{ "ue-wlan", A, 1, { "ue", "wlan", 2 }, { "wlan", "ue", 1 } },
	{ "ue-umts", A, 2, { "ue", "umts", 2 }, { "umts", "ue", 1 } },
	{ "wlan-pcscf", A, 101, { "wlan", "pcscf", 1 }, { "pcscf", "wlan", 2 } },
	{ "umts-pcscf", A, 102, { "umts", "pcscf", 1 }, { "pcscf", "umts", 2 } },
	{ "pcscf-core", C, 1, { "pcscf", "core", 2 }, { "core", "pcscf", 1 } },
};

static const struct lab_stub_spec core_stubs[] = {
	{ "core", "lo", C, 0 },
};

static const struct lab_service_spec t1_services[] = {
	{ "pcscf-wlan", "pcscf", A, 101, 2, "udp+tcp", SIP_PCSCF, "wlan" },
	{ "pcscf-umts", "pcscf", A, 102, 2, "udp+tcp", SIP_PCSCF, "umts" },
	{ "pcscf-core", "pcscf", C, 1, 2, "udp+tcp", SIP_PCSCF, NULL },
	{ "scscf", "core", C, 0, 1, "udp+tcp", SIP_SCSCF, NULL },
	{ "hss", "core", C, 0, 2, "tcp", DIAMETER, NULL },
	{ "as", "core", C, 0, 3, "udp", SIP_AS, NULL },
};

static const struct lab_function_spec t1_functions[] = {
	{ "hss", "core", LAB_FN_HSS },
	{ "scscf", "core", LAB_FN_SCSCF },
	{ "pcscf", "pcscf", LAB_FN_PCSCF },
	{ "ue", "ue", LAB_FN_UE },
};

static const struct lab_topology t1 = {
	.name = "t1",
	.summary = "both accesses through one P-CSCF",
	.nodes = t1_nodes, .n_nodes = N(t1_nodes),
	.links = t1_links, .n_links = N(t1_links),
	.stubs = core_stubs, .n_stubs = N(core_stubs),
	.services = t1_services, .n_services = N(t1_services),
	.functions = t1_functions, .n_functions = N(t1_functions),
};

/* ---- T2: one P-CSCF per access ----------------------------------------- */

/*
 * The UE-facing P-CSCF addresses are the same as in T1 (198.18.101.2 over
 * wlan, 198.18.102.2 over umts), so a UE configuration does not change with
 * the topology; only which box answers does.
 */
static const struct lab_node_spec t2_nodes[] = {
	{ "ue", false, "the phone: one interface per access" },
	{ "wlan", true, "access A (Wi-Fi): a router" },
	{ "umts", true, "access B (cellular): a router" },
	{ "pcscf-a", false, "the P-CSCF of access A" },
	{ "pcscf-b", false, "the P-CSCF of access B" },
	{ "core", false, "S-CSCF and HSS" },
};

static const struct lab_link_spec t2_links[] = {
	{ "ue-wlan", A, 1, { "ue", "wlan", 2 }, { "wlan", "ue", 1 } },
	{ "ue-umts", A, 2, { "ue", "umts", 2 }, { "umts", "ue", 1 } },
	{ "wlan-pcscf-a", A, 101, { "wlan", "pcscf", 1 }, { "pcscf-a", "wlan", 2 } },
	{ "umts-pcscf-b", A, 102, { "umts", "pcscf", 1 }, { "pcscf-b", "umts", 2 } },
	{ "pcscf-a-core", C, 1, { "pcscf-a", "core", 2 }, { "core", "pcscf-a", 1 } },
	{ "pcscf-b-core", C, 2, { "pcscf-b", "core", 2 }, { "core", "pcscf-b", 1 } },
};

static const struct lab_service_spec t2_services[] = {
	{ "pcscf-a-wlan", "pcscf-a", A, 101, 2, "udp+tcp", SIP_PCSCF, "wlan" },
	{ "pcscf-b-umts", "pcscf-b", A, 102, 2, "udp+tcp", SIP_PCSCF, "umts" },
	{ "pcscf-a-core", "pcscf-a", C, 1, 2, "udp+tcp", SIP_PCSCF, NULL },
	{ "pcscf-b-core", "pcscf-b", C, 2, 2, "udp+tcp", SIP_PCSCF, NULL },
	{ "scscf", "core", C, 0, 1, "udp+tcp", SIP_SCSCF, NULL },
	{ "hss", "core", C, 0, 2, "tcp", DIAMETER, NULL },
	{ "as", "core", C, 0, 3, "udp", SIP_AS, NULL },
};

static const struct lab_function_spec t2_functions[] = {
	{ "hss", "core", LAB_FN_HSS },
	{ "scscf", "core", LAB_FN_SCSCF },
	{ "pcscf-a", "pcscf-a", LAB_FN_PCSCF },
	{ "pcscf-b", "pcscf-b", LAB_FN_PCSCF },
	{ "ue", "ue", LAB_FN_UE },
};

static const struct lab_topology t2 = {
	.name = "t2",
	.summary = "one P-CSCF per access",
	.nodes = t2_nodes, .n_nodes = N(t2_nodes),
	.links = t2_links, .n_links = N(t2_links),
	.stubs = core_stubs, .n_stubs = N(core_stubs),
	.services = t2_services, .n_services = N(t2_services),
	.functions = t2_functions, .n_functions = N(t2_functions),
};

#undef A
#undef C

const struct lab_topology *const lab_topologies[] = { &t1, &t2 };
const size_t lab_n_topologies = N(lab_topologies);

const struct lab_topology *lab_topology_find(const char *name)
{
	for (size_t i = 0; i < lab_n_topologies; i++)
		if (strcmp(lab_topologies[i]->name, name) == 0)
			return lab_topologies[i];
	return NULL;
}

const char *lab_fn_kind_name(enum lab_fn_kind k)
{
	static const char *const names[] = {
		[LAB_FN_HSS] = "hss",
		[LAB_FN_SCSCF] = "scscf",
		[LAB_FN_PCSCF] = "pcscf",
		[LAB_FN_UE] = "ue",
	};

	return (unsigned)k < N(names) ? names[k] : "?";
}

bool lab_service_of(const struct lab_service_spec *s, const struct lab_function_spec *f)
{
	size_t n = strlen(f->name);

	return strncmp(s->name, f->name, n) == 0 && (s->name[n] == 0 || s->name[n] == '-') &&
	       strcmp(s->role, f->role) == 0;
}

int lab_node_index(const struct lab_topology *t, const char *role)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i].role, role) == 0)
			return (int)i;
	return -1;
}

void lab_fmt_host(char out[LAB_ADDR_LEN], enum lab_family f, uint8_t plane, uint8_t net,
		  uint8_t host, unsigned prefix)
{
	int n;

	/* The decimal numbers double as the text of IPv6 groups (2001:db8:18:101::2
	 * is the twin of 198.18.101.2); each is at most 255, a valid group. */
	if (f == LAB_V4)
		n = snprintf(out, LAB_ADDR_LEN, "198.%u.%u.%u", plane, net, host);
	else if (net == 0) /* RFC 5952 section 4.2: "::" takes the zero group */
		n = snprintf(out, LAB_ADDR_LEN, "2001:db8:%u::%u", plane, host);
	else
		n = snprintf(out, LAB_ADDR_LEN, "2001:db8:%u:%u::%u", plane, net, host);
	if (prefix && n > 0 && n < LAB_ADDR_LEN)
		snprintf(out + n, (size_t)(LAB_ADDR_LEN - n), "/%u", prefix);
}

void lab_fmt_net(char out[LAB_ADDR_LEN], enum lab_family f, uint8_t plane, uint8_t net)
{
	if (f == LAB_V4)
		snprintf(out, LAB_ADDR_LEN, "198.%u.%u.0/24", plane, net);
	else if (net == 0)
		snprintf(out, LAB_ADDR_LEN, "2001:db8:%u::/64", plane);
	else
		snprintf(out, LAB_ADDR_LEN, "2001:db8:%u:%u::/64", plane, net);
}

const struct lab_end_spec *lab_link_end(const struct lab_topology *t, const struct lab_link_spec *l,
					int node)
{
	if (node < 0)
		return NULL;
	if (strcmp(l->a.role, t->nodes[node].role) == 0)
		return &l->a;
	if (strcmp(l->b.role, t->nodes[node].role) == 0)
		return &l->b;
	return NULL;
}

/* ---- consistency ------------------------------------------------------- */

static bool netnum_used(const struct lab_topology *t, size_t upto_links, uint8_t plane, uint8_t net)
{
	for (size_t i = 0; i < upto_links; i++)
		if (t->links[i].plane == plane && t->links[i].net == net)
			return true;
	return false;
}

static int check_end(const struct lab_topology *t, const struct lab_link_spec *l,
		     const struct lab_end_spec *e)
{
	if (lab_node_index(t, e->role) < 0) {
		log_error("topology %s: link %s: unknown node '%s'", t->name, l->name, e->role);
		return -EINVAL;
	}
	/* IFNAMSIZ is 16 with the NUL. */
	if (!e->ifname[0] || strlen(e->ifname) > 15 || e->host == 0 || e->host == 255) {
		log_error("topology %s: link %s: bad interface '%s' or host %u", t->name, l->name,
			  e->ifname, e->host);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_links; i++) {
		const struct lab_link_spec *o = &t->links[i];
		const struct lab_end_spec *oe = lab_link_end(t, o, lab_node_index(t, e->role));

		if (o != l && oe && strcmp(oe->ifname, e->ifname) == 0) {
			log_error("topology %s: node %s has two interfaces named %s", t->name,
				  e->role, e->ifname);
			return -EINVAL;
		}
	}
	return 0;
}

/* Every function runs in a known node; all but the UE serve something. */
static int check_functions(const struct lab_topology *t)
{
	for (size_t i = 0; i < t->n_functions; i++) {
		const struct lab_function_spec *f = &t->functions[i];
		size_t n = 0;

		if (lab_node_index(t, f->role) < 0) {
			log_error("topology %s: function %s runs in unknown node '%s'", t->name,
				  f->name, f->role);
			return -EINVAL;
		}
		for (size_t j = 0; j < t->n_services; j++)
			n += lab_service_of(&t->services[j], f);
		if (n == 0 && f->kind != LAB_FN_UE) {
			log_error("topology %s: function %s has no service", t->name, f->name);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->functions[j].name, f->name) == 0) {
				log_error("topology %s: function %s twice", t->name, f->name);
				return -EINVAL;
			}
	}
	return 0;
}

static int check_topology(const struct lab_topology *t)
{
	if (t->n_nodes > LAB_MAX_NODES || t->n_links > LAB_MAX_LINKS ||
	    t->n_links + t->n_stubs > LAB_MAX_CAPTURES) {
		log_error("topology %s: more nodes or links than the lab supports", t->name);
		return -ENOSPC;
	}
	for (size_t i = 0; i < t->n_nodes; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->nodes[i].role, t->nodes[j].role) == 0) {
				log_error("topology %s: node %s twice", t->name, t->nodes[i].role);
				return -EINVAL;
			}
	for (size_t i = 0; i < t->n_links; i++) {
		const struct lab_link_spec *l = &t->links[i];
		int rc;

		if (strlen(l->name) >= sizeof(((struct lab_capture_spec *)0)->name)) {
			log_error("topology %s: link name %s too long", t->name, l->name);
			return -EINVAL;
		}
		if (netnum_used(t, i, l->plane, l->net) || strcmp(l->a.role, l->b.role) == 0 ||
		    l->a.host == l->b.host) {
			log_error("topology %s: link %s reuses a network or an address", t->name,
				  l->name);
			return -EINVAL;
		}
		rc = check_end(t, l, &l->a);
		if (!rc)
			rc = check_end(t, l, &l->b);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < t->n_stubs; i++) {
		const struct lab_stub_spec *s = &t->stubs[i];

		if (lab_node_index(t, s->role) < 0 || netnum_used(t, t->n_links, s->plane, s->net)) {
			log_error("topology %s: stub %s/%u.%u is on an unknown node or reuses a "
				  "network", t->name, s->role, s->plane, s->net);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < t->n_services; i++) {
		const struct lab_service_spec *s = &t->services[i];
		bool found = false;

		for (size_t j = 0; j < t->n_links && !found; j++) {
			const struct lab_link_spec *l = &t->links[j];
			const struct lab_end_spec *e = lab_link_end(t, l, lab_node_index(t, s->role));
			found = e && l->plane == s->plane && l->net == s->net && e->host == s->host;
		}
		for (size_t j = 0; j < t->n_stubs && !found; j++)
			found = strcmp(t->stubs[j].role, s->role) == 0 &&
				t->stubs[j].plane == s->plane && t->stubs[j].net == s->net;
		if (!found) {
			log_error("topology %s: service %s has no address of node %s", t->name,
				  s->name, s->role);
			return -EINVAL;
		}
	}
	return check_functions(t);
}

/* ---- routes ------------------------------------------------------------ */

struct reach {
	bool seen[LAB_MAX_NODES];
	unsigned dist[LAB_MAX_NODES];
	int first_link[LAB_MAX_NODES];
	bool first_via_b[LAB_MAX_NODES];
};

/* Breadth-first search from @x, entering beyond a node only if it forwards. */
static void explore(const struct lab_topology *t, int x, struct reach *r)
{
	int queue[LAB_MAX_NODES], head = 0, tail = 0;

	memset(r, 0, sizeof(*r));
	r->seen[x] = true;
	queue[tail++] = x;
	while (head < tail) {
		int y = queue[head++];

		if (y != x && !t->nodes[y].forwards)
			continue;
		for (size_t i = 0; i < t->n_links; i++) {
			const struct lab_link_spec *l = &t->links[i];
			const struct lab_end_spec *mine = lab_link_end(t, l, y);
			const struct lab_end_spec *other;
			int z;

			if (!mine)
				continue;
			other = mine == &l->a ? &l->b : &l->a;
			z = lab_node_index(t, other->role);
			if (r->seen[z])
				continue;
			r->seen[z] = true;
			r->dist[z] = r->dist[y] + 1;
			if (y == x) {
				r->first_link[z] = (int)i;
				r->first_via_b[z] = other == &l->b;
			} else {
				r->first_link[z] = r->first_link[y];
				r->first_via_b[z] = r->first_via_b[y];
			}
			queue[tail++] = z;
		}
	}
}

static int add_route(struct lab_plan *p, int node, uint8_t plane, uint8_t net, const struct reach *r,
		     int via)
{
	struct lab_route *rt;

	if (p->n_routes >= LAB_MAX_ROUTES)
		return -ENOSPC;
	rt = &p->routes[p->n_routes++];
	rt->node = node;
	rt->plane = plane;
	rt->net = net;
	rt->link = r->first_link[via];
	rt->via_b = r->first_via_b[via];
	return 0;
}

/* Best node through which @x reaches the far side of link @l, or -1. */
static int link_gateway(const struct lab_topology *t, const struct reach *r, int x,
			const struct lab_link_spec *l)
{
	int ends[2] = { lab_node_index(t, l->a.role), lab_node_index(t, l->b.role) };
	int best = -1;

	if (ends[0] == x || ends[1] == x)
		return -1; /* connected */
	for (int k = 0; k < 2; k++) {
		int e = ends[k];
		/* Only a router passes traffic on to its other networks. */
		if (r->seen[e] && t->nodes[e].forwards && (best < 0 || r->dist[e] < r->dist[best]))
			best = e;
	}
	return best;
}

static int compute_routes(const struct lab_topology *t, struct lab_plan *p)
{
	for (size_t xi = 0; xi < t->n_nodes; xi++) {
		int x = (int)xi;
		struct reach r;
		int rc, via;

		explore(t, x, &r);
		for (size_t i = 0; i < t->n_links; i++) {
			via = link_gateway(t, &r, x, &t->links[i]);
			if (via < 0)
				continue;
			rc = add_route(p, x, t->links[i].plane, t->links[i].net, &r, via);
			if (rc)
				return rc;
		}
		/* A stub holds its node's own addresses: reachable whenever its
		 * node is, forwarding or not. */
		for (size_t i = 0; i < t->n_stubs; i++) {
			via = lab_node_index(t, t->stubs[i].role);
			if (via == x || !r.seen[via])
				continue;
			rc = add_route(p, x, t->stubs[i].plane, t->stubs[i].net, &r, via);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static void compute_captures(const struct lab_topology *t, struct lab_plan *p)
{
	for (size_t i = 0; i < t->n_links; i++) {
		const struct lab_link_spec *l = &t->links[i];
		struct lab_capture_spec *c = &p->captures[p->n_captures++];

		snprintf(c->name, sizeof(c->name), "%s", l->name);
		c->node = lab_node_index(t, l->a.role);
		c->ifname = l->a.ifname;
		lab_fmt_host(c->marker_dst, LAB_V4, l->plane, l->net, l->b.host, 0);
	}
	for (size_t i = 0; i < t->n_stubs; i++) {
		const struct lab_stub_spec *s = &t->stubs[i];
		struct lab_capture_spec *c = &p->captures[p->n_captures++];

		snprintf(c->name, sizeof(c->name), "%s-%s", s->role, s->ifname);
		c->node = lab_node_index(t, s->role);
		c->ifname = s->ifname;
		/* Traffic between the functions of one node (S-CSCF to HSS) stays
		 * on its loopback; so does the marker. */
		snprintf(c->marker_dst, sizeof(c->marker_dst), "127.0.0.1");
	}
}

int lab_plan_compute(const struct lab_topology *t, struct lab_plan *plan)
{
	int rc;

	memset(plan, 0, sizeof(*plan));
	plan->topo = t;
	rc = check_topology(t);
	if (rc)
		goto out;
	rc = compute_routes(t, plan);
	if (rc) {
		log_error("topology %s: more than %d routes", t->name, LAB_MAX_ROUTES);
		goto out;
	}
	compute_captures(t, plan);
out:
	return rc;
}
