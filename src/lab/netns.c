#define SLOG_COMPONENT "lab"
#include "lab/netns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

int lab_netns_name(char out[LAB_NETNS_NAME_MAX], const char *id, const char *role)
{
	int n = snprintf(out, LAB_NETNS_NAME_MAX, "simreg-%s-%s", id, role);

	return n > 0 && n < LAB_NETNS_NAME_MAX ? 0 : -ENAMETOOLONG;
}

bool lab_netns_exists(const char *name)
{
	char path[LAB_NETNS_NAME_MAX + sizeof(LAB_NETNS_DIR) + 1];

	snprintf(path, sizeof(path), LAB_NETNS_DIR "/%s", name);
	return access(path, F_OK) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int lab_netns_list(const char *id, struct arena *a, const char **names, size_t max)
{
	char prefix[LAB_NETNS_NAME_MAX];
	size_t plen, n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "simreg-%s-", id);
	plen = strlen(prefix);
	d = opendir(LAB_NETNS_DIR);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		names[n] = arena_strdup(a, de->d_name);
		if (!names[n]) {
			closedir(d);
			return -ENOMEM;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	return (int)n;
}

int lab_netns_pids(const char *ns, pid_t *pids, size_t max)
{
	const char *argv[] = { "ip", "netns", "pids", ns, NULL };
	char out[4096], *p, *end;
	size_t n = 0;
	int rc;

	rc = lab_cmd_run(argv, 0, out, sizeof(out));
	if (rc)
		return rc;
	for (p = out; *p && n < max; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 0)
			pids[n++] = (pid_t)v;
	}
	return (int)n;
}

int lab_netns_send_udp(const char *ns, const char *dst_ipv4, uint16_t port, const void *data,
		       size_t len)
{
	char path[LAB_NETNS_NAME_MAX + sizeof(LAB_NETNS_DIR) + 1];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int self = -1, target = -1, s = -1, rc = 0;

	if (inet_pton(AF_INET, dst_ipv4, &sin.sin_addr) != 1)
		return -EINVAL;
	snprintf(path, sizeof(path), LAB_NETNS_DIR "/%s", ns);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		rc = -errno;
		goto out;
	}
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		rc = -errno;
		goto close_self;
	}
	if (setns(target, CLONE_NEWNET)) {
		rc = -errno;
		goto close_target;
	}
	/* A socket belongs to the namespace it was created in, whatever the
	 * thread does afterwards. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		rc = -errno;
	if (setns(self, CLONE_NEWNET)) {
		log_error("cannot return to our own network namespace: %s", strerror(errno));
		rc = -ENOTRECOVERABLE;
		goto close_socket;
	}
	if (s >= 0 && sendto(s, data, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		rc = -errno;
close_socket:
	if (s >= 0)
		close(s);
close_target:
	close(target);
close_self:
	close(self);
out:
	return rc;
}

/* ---- building ------------------------------------------------------------ */

struct builder {
	struct arena *a;
	struct lab_cmd *v;
	size_t n, cap;
	const char *id;
	int err;
};

static const char *ns_of(struct builder *b, const char *role)
{
	char name[LAB_NETNS_NAME_MAX];

	const char *d;

	if (lab_netns_name(name, b->id, role)) {
		b->err = -ENAMETOOLONG;
		return "";
	}
	d = arena_strdup(b->a, name);
	if (!d)
		b->err = -ENOMEM;
	return d ? d : "";
}

static const char *keep(struct builder *b, const char *s)
{
	const char *d = arena_strdup(b->a, s);

	if (!d)
		b->err = -ENOMEM;
	return d ? d : "";
}

/* Append one command; the argument list ends with NULL. */
static void cmd(struct builder *b, ...)
{
	struct lab_cmd *c;
	va_list ap;
	size_t i = 0;
	const char *arg;

	if (b->err)
		return;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct lab_cmd *nv = arena_alloc(b->a, cap * sizeof(*nv));

		if (!nv) {
			b->err = -ENOMEM;
			return;
		}
		if (b->n)
			memcpy(nv, b->v, b->n * sizeof(*nv));
		b->v = nv;
		b->cap = cap;
	}
	c = &b->v[b->n++];
	va_start(ap, b);
	while ((arg = va_arg(ap, const char *)) && i < LAB_CMD_MAX_ARGS - 1)
		c->argv[i++] = arg;
	va_end(ap);
	c->argv[i] = NULL;
}

static void link_end_cmds(struct builder *b, const struct lab_link_spec *l,
			  const struct lab_end_spec *e)
{
	char v4[LAB_ADDR_LEN], v6[LAB_ADDR_LEN];
	const char *ns = ns_of(b, e->role);

	lab_fmt_host(v4, LAB_V4, l->plane, l->net, e->host, 24);
	lab_fmt_host(v6, LAB_V6, l->plane, l->net, e->host, 64);
	cmd(b, "ip", "-n", ns, "addr", "add", keep(b, v4), "dev", e->ifname, NULL);
	cmd(b, "ip", "-n", ns, "-6", "addr", "add", keep(b, v6), "dev", e->ifname, NULL);
	cmd(b, "ip", "-n", ns, "link", "set", e->ifname, "up", NULL);
}

static void route_cmds(struct builder *b, const struct lab_topology *t, const struct lab_route *r)
{
	const struct lab_link_spec *l = &t->links[r->link];
	const struct lab_end_spec *gw = r->via_b ? &l->b : &l->a;
	const struct lab_end_spec *me = r->via_b ? &l->a : &l->b;
	const char *ns = ns_of(b, t->nodes[r->node].role);
	char dst[LAB_ADDR_LEN], via[LAB_ADDR_LEN];

	lab_fmt_net(dst, LAB_V4, r->plane, r->net);
	lab_fmt_host(via, LAB_V4, l->plane, l->net, gw->host, 0);
	cmd(b, "ip", "-n", ns, "route", "add", keep(b, dst), "via", keep(b, via), "dev", me->ifname,
	    NULL);
	lab_fmt_net(dst, LAB_V6, r->plane, r->net);
	lab_fmt_host(via, LAB_V6, l->plane, l->net, gw->host, 0);
	cmd(b, "ip", "-n", ns, "-6", "route", "add", keep(b, dst), "via", keep(b, via), "dev",
	    me->ifname, NULL);
}

int lab_plan_commands(const struct lab_plan *plan, const char *id, struct arena *a,
		      struct lab_cmd **cmds, size_t *n)
{
	const struct lab_topology *t = plan->topo;
	struct builder b = { .a = a, .id = id };

	for (size_t i = 0; i < t->n_nodes; i++)
		cmd(&b, "ip", "netns", "add", ns_of(&b, t->nodes[i].role), NULL);
	for (size_t i = 0; i < t->n_nodes; i++) {
		const char *ns = ns_of(&b, t->nodes[i].role);

		cmd(&b, "ip", "-n", ns, "link", "set", "lo", "up", NULL);
		/*
		 * Set before any link exists, so every interface inherits it:
		 * no duplicate address detection (RFC 4862 section 5.4), which
		 * would leave link-local addresses tentative for a second or
		 * two, during which a router sends no neighbour solicitation
		 * for forwarded packets and the first ones are lost; and no
		 * router solicitations, which nobody answers and which would
		 * only be noise in the captures.
		 */
		cmd(&b, "ip", "netns", "exec", ns, "sysctl", "-q", "-w",
		    "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		    "net.ipv6.conf.default.router_solicitations=0", NULL);
		if (t->nodes[i].forwards)
			cmd(&b, "ip", "netns", "exec", ns, "sysctl", "-q", "-w",
			    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", NULL);
	}
	for (size_t i = 0; i < t->n_links; i++) {
		const struct lab_link_spec *l = &t->links[i];

		cmd(&b, "ip", "-n", ns_of(&b, l->a.role), "link", "add", l->a.ifname, "type", "veth",
		    "peer", "name", l->b.ifname, "netns", ns_of(&b, l->b.role), NULL);
		link_end_cmds(&b, l, &l->a);
		link_end_cmds(&b, l, &l->b);
	}
	for (size_t i = 0; i < t->n_services; i++) {
		const struct lab_service_spec *s = &t->services[i];

		for (size_t j = 0; j < t->n_stubs; j++) {
			const struct lab_stub_spec *st = &t->stubs[j];
			char v4[LAB_ADDR_LEN], v6[LAB_ADDR_LEN];
			const char *ns;

			if (strcmp(st->role, s->role) || st->plane != s->plane || st->net != s->net)
				continue;
			ns = ns_of(&b, st->role);
			lab_fmt_host(v4, LAB_V4, s->plane, s->net, s->host, 32);
			lab_fmt_host(v6, LAB_V6, s->plane, s->net, s->host, 128);
			cmd(&b, "ip", "-n", ns, "addr", "add", keep(&b, v4), "dev", st->ifname, NULL);
			cmd(&b, "ip", "-n", ns, "-6", "addr", "add", keep(&b, v6), "dev", st->ifname,
			    NULL);
		}
	}
	for (size_t i = 0; i < plan->n_routes; i++)
		route_cmds(&b, t, &plan->routes[i]);
	if (!b.err) {
		*cmds = b.v;
		*n = b.n;
	}
	return b.err;
}
