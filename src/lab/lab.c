#define SLOG_COMPONENT "lab"
#include "lab/lab.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "lab/command.h"

/* ---- identity ------------------------------------------------------------ */

int lab_id_for_dir(const char *dir, char id[LAB_ID_LEN + 1], char **abs)
{
	char *path = realpath(dir, NULL);
	uint32_t h = 2166136261u; /* FNV-1a, 32 bits */

	if (!path) {
		/* The directory is gone (removed while its lab ran): its id is
		 * still that of the path it had. */
		char *d1 = strdup(dir), *d2 = strdup(dir), *parent;

		if (d1 && d2 && (parent = realpath(dirname(d1), NULL))) {
			const char *base = basename(d2);
			if (asprintf(&path, "%s/%s", strcmp(parent, "/") ? parent : "", base) < 0)
				path = NULL;
			free(parent);
		}
		free(d1);
		free(d2);
		if (!path)
			return -ENOENT;
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	/* Six digits: short enough to read in `ip netns`, 2^24 values. */
	snprintf(id, LAB_ID_LEN + 1, "%06" PRIx32, h & 0xffffff);
	if (abs)
		*abs = path;
	else
		free(path);
	return 0;
}

static const char *in_dir(struct lab *lab, const char *name, const char *ext)
{
	return arena_printf(&lab->arena, "%s/%s%s", lab->dir, name, ext);
}

/* ---- lab.json -------------------------------------------------------------- */

static void write_addr_pair(struct json_writer *w, uint8_t plane, uint8_t net, uint8_t host,
			    unsigned p4, unsigned p6)
{
	char a[LAB_ADDR_LEN];

	lab_fmt_host(a, LAB_V4, plane, net, host, p4);
	json_kv_cstring(w, "ipv4", a);
	lab_fmt_host(a, LAB_V6, plane, net, host, p6);
	json_kv_cstring(w, "ipv6", a);
}

static void write_interfaces(struct json_writer *w, const struct lab_plan *plan, int node)
{
	const struct lab_topology *t = plan->topo;

	json_key(w, "interfaces");
	json_begin_array(w);
	for (size_t i = 0; i < t->n_links; i++) {
		const struct lab_link_spec *l = &t->links[i];
		const struct lab_end_spec *e = lab_link_end(t, l, node);

		if (!e)
			continue;
		json_begin_object(w);
		json_kv_cstring(w, "name", e->ifname);
		json_kv_cstring(w, "link", l->name);
		json_kv_cstring(w, "peer", e == &l->a ? l->b.role : l->a.role);
		write_addr_pair(w, l->plane, l->net, e->host, 24, 64);
		json_end_object(w);
	}
	for (size_t i = 0; i < t->n_services; i++) {
		const struct lab_service_spec *s = &t->services[i];

		for (size_t j = 0; j < t->n_stubs; j++) {
			const struct lab_stub_spec *st = &t->stubs[j];

			if (lab_node_index(t, st->role) != node || strcmp(st->role, s->role) ||
			    st->plane != s->plane || st->net != s->net)
				continue;
			json_begin_object(w);
			json_kv_cstring(w, "name", st->ifname);
			json_kv_cstring(w, "service", s->name);
			write_addr_pair(w, s->plane, s->net, s->host, 32, 128);
			json_end_object(w);
		}
	}
	json_end_array(w);
}

static void write_routes(struct json_writer *w, const struct lab_plan *plan, int node)
{
	const struct lab_topology *t = plan->topo;

	json_key(w, "routes");
	json_begin_array(w);
	for (size_t i = 0; i < plan->n_routes; i++) {
		const struct lab_route *r = &plan->routes[i];
		const struct lab_link_spec *l = &t->links[r->link];
		const struct lab_end_spec *gw = r->via_b ? &l->b : &l->a;
		const struct lab_end_spec *me = r->via_b ? &l->a : &l->b;
		char a[LAB_ADDR_LEN];

		if (r->node != node)
			continue;
		for (int f = LAB_V4; f <= LAB_V6; f++) {
			json_begin_object(w);
			lab_fmt_net(a, (enum lab_family)f, r->plane, r->net);
			json_kv_cstring(w, "dst", a);
			lab_fmt_host(a, (enum lab_family)f, l->plane, l->net, gw->host, 0);
			json_kv_cstring(w, "via", a);
			json_kv_cstring(w, "dev", me->ifname);
			json_end_object(w);
		}
	}
	json_end_array(w);
}

static void write_topology(struct json_writer *w, struct lab *lab)
{
	const struct lab_plan *plan = lab->plan;
	const struct lab_topology *t = plan->topo;
	char a[LAB_ADDR_LEN], name[LAB_NETNS_NAME_MAX];

	json_key(w, "namespaces");
	json_begin_array(w);
	for (size_t i = 0; i < t->n_nodes; i++) {
		json_begin_object(w);
		json_kv_cstring(w, "name", lab->ns[i]);
		json_kv_cstring(w, "role", t->nodes[i].role);
		json_kv_cstring(w, "what", t->nodes[i].what);
		json_kv_bool(w, "forwarding", t->nodes[i].forwards);
		write_interfaces(w, plan, (int)i);
		write_routes(w, plan, (int)i);
		json_end_object(w);
	}
	json_end_array(w);

	json_key(w, "links");
	json_begin_array(w);
	for (size_t i = 0; i < t->n_links; i++) {
		const struct lab_link_spec *l = &t->links[i];
		const struct lab_end_spec *ends[2] = { &l->a, &l->b };

		json_begin_object(w);
		json_kv_cstring(w, "name", l->name);
		lab_fmt_net(a, LAB_V4, l->plane, l->net);
		json_kv_cstring(w, "ipv4", a);
		lab_fmt_net(a, LAB_V6, l->plane, l->net);
		json_kv_cstring(w, "ipv6", a);
		for (int k = 0; k < 2; k++) {
			json_key(w, k ? "b" : "a");
			json_begin_object(w);
			lab_netns_name(name, lab->id, ends[k]->role);
			json_kv_cstring(w, "namespace", name);
			json_kv_cstring(w, "interface", ends[k]->ifname);
			write_addr_pair(w, l->plane, l->net, ends[k]->host, 0, 0);
			json_end_object(w);
		}
		json_kv_cstring(w, "capture", in_dir(lab, l->name, ".pcap"));
		json_end_object(w);
	}
	json_end_array(w);

	json_key(w, "services");
	json_begin_array(w);
	for (size_t i = 0; i < t->n_services; i++) {
		const struct lab_service_spec *s = &t->services[i];

		json_begin_object(w);
		json_kv_cstring(w, "name", s->name);
		json_kv_cstring(w, "role", s->role);
		lab_netns_name(name, lab->id, s->role);
		json_kv_cstring(w, "namespace", name);
		write_addr_pair(w, s->plane, s->net, s->host, 0, 0);
		json_kv_cstring(w, "transport", s->transport);
		json_kv_int(w, "port", s->port);
		json_kv_cstring(w, "access", s->access);
		json_end_object(w);
	}
	json_end_array(w);
}

static void write_member(struct json_writer *w, const struct lab_member *m)
{
	json_begin_object(w);
	json_kv_cstring(w, m->kind == LAB_MEMBER_CAPTURE ? "link" : "name", m->name);
	json_kv_cstring(w, "role", m->role);
	json_kv_cstring(w, "namespace", m->netns);
	if (m->kind == LAB_MEMBER_CAPTURE) {
		json_kv_cstring(w, "interface", m->ifname);
		json_kv_cstring(w, "file", m->pcap);
		json_kv_cstring(w, "marker_dst", m->marker_dst);
	}
	json_key(w, "argv");
	json_begin_array(w);
	for (size_t i = 0; m->argv && m->argv[i]; i++)
		json_cstring(w, m->argv[i]);
	json_end_array(w);
	json_kv_cstring(w, "ready", m->ready);
	json_kv_cstring(w, "log", m->log);
	if (m->fn_kind) {
		json_kv_cstring(w, "kind", m->fn_kind);
		json_kv_cstring(w, "config", m->config);
		json_kv_cstring(w, "data", m->data);
		json_kv_cstring(w, "ctl", m->ctl);
		json_kv_cstring(w, "keylog", m->keylog);
	}
	json_kv_int(w, "pid", m->proc.pid);
	json_key(w, "start_time");
	json_uint(w, m->proc.start_time);
	json_end_object(w);
}

static void write_deploy(struct json_writer *w, const struct lab_deploy_rec *d)
{
	json_key(w, "deployment");
	json_begin_object(w);
	json_kv_cstring(w, "mechanism", d->mechanism);
	json_kv_cstring(w, "binding", d->binding);
	json_kv_cstring(w, "ue_binding", d->ue_binding);
	json_kv_cstring(w, "backend", d->backend);
	json_kv_cstring(w, "ue_backend", d->ue_backend);
	json_key(w, "subscriber");
	json_begin_object(w);
	json_kv_cstring(w, "impi", d->impi);
	json_kv_cstring(w, "impu", d->impu);
	json_kv_cstring(w, "derived_impi", d->derived_rule);
	/* The lab's subscriber uses published test keys (TS 35.208 test
	 * set 1), so that anyone can recompute its vectors from a capture. */
	json_kv_cstring(w, "k", d->k);
	json_kv_cstring(w, "opc", d->opc);
	json_end_object(w);
	json_end_object(w);
}

/* Write DIR/lab.json through a temporary file and rename(), so a reader
 * (or a crash) never sees half a file. */
static int state_write(struct lab *lab)
{
	struct json_writer w;
	struct str doc;
	char *tmp = NULL, *path = NULL;
	int fd = -1, rc;

	json_writer_init(&w, JSON_PRETTY);
	json_begin_object(&w);
	json_kv_int(&w, "simreg_lab", LAB_STATE_VERSION);
	json_kv_cstring(&w, "id", lab->id);
	json_kv_cstring(&w, "dir", lab->dir);
	json_kv_cstring(&w, "topology", lab->topology);
	json_kv_cstring(&w, "summary", lab->summary);
	json_kv_cstring(&w, "state", lab->state);
	json_kv_cstring(&w, "error", lab->error);
	if (lab->deploy.present)
		write_deploy(&w, &lab->deploy);
	if (lab->plan)
		write_topology(&w, lab);
	for (int kind = LAB_MEMBER_CAPTURE; kind <= LAB_MEMBER_FUNCTION; kind++) {
		json_key(&w, kind == LAB_MEMBER_CAPTURE ? "captures" : "processes");
		json_begin_array(&w);
		for (size_t i = 0; i < lab->n_members; i++)
			if (lab->members[i].kind == (enum lab_member_kind)kind)
				write_member(&w, &lab->members[i]);
		json_end_array(&w);
	}
	json_end_object(&w);
	rc = json_writer_finish(&w, &doc);
	if (rc)
		goto out;
	if (asprintf(&path, "%s/" LAB_STATE_FILE, lab->dir) < 0 ||
	    asprintf(&tmp, "%s/." LAB_STATE_FILE ".tmp", lab->dir) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, doc.s, doc.len) != (ssize_t)doc.len || fsync(fd)) {
		rc = -errno;
		goto out;
	}
	if (rename(tmp, path))
		rc = -errno;
out:
	if (rc)
		log_error("cannot write %s/" LAB_STATE_FILE ": %s", lab->dir, strerror(-rc));
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	json_writer_free(&w);
	return rc;
}

static const char *get_cstr(struct lab *lab, const struct json_value *o, const char *key)
{
	struct str s;

	if (json_get_str(o, key, &s))
		return NULL;
	return arena_strndup(&lab->arena, s.s, s.len);
}

static int read_member(struct lab *lab, const struct json_value *o, enum lab_member_kind kind)
{
	struct lab_member *m;
	int64_t pid, start;

	if (lab->n_members >= LAB_MAX_MEMBERS || o->type != JSON_OBJECT)
		return -EINVAL;
	m = &lab->members[lab->n_members];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->name = get_cstr(lab, o, kind == LAB_MEMBER_CAPTURE ? "link" : "name");
	m->role = get_cstr(lab, o, "role");
	m->netns = get_cstr(lab, o, "namespace");
	m->log = get_cstr(lab, o, "log");
	m->ready = get_cstr(lab, o, "ready");
	m->pcap = get_cstr(lab, o, "file");
	m->ifname = get_cstr(lab, o, "interface");
	m->marker_dst = get_cstr(lab, o, "marker_dst");
	m->fn_kind = get_cstr(lab, o, "kind");
	m->config = get_cstr(lab, o, "config");
	m->data = get_cstr(lab, o, "data");
	m->ctl = get_cstr(lab, o, "ctl");
	m->keylog = get_cstr(lab, o, "keylog");
	if (!m->name || json_get_int(o, "pid", &pid) || json_get_int(o, "start_time", &start) ||
	    pid < 0 || pid > INT_MAX || start < 0)
		return -EINVAL;
	if (kind == LAB_MEMBER_CAPTURE && (!m->pcap || !m->netns || !m->marker_dst))
		return -EINVAL;
	m->proc.pid = (pid_t)pid;
	m->proc.start_time = (uint64_t)start;
	lab->n_members++;
	return 0;
}

static int read_doc(struct lab *lab, const struct json_value *root)
{
	const struct json_value *v;
	const char *id;
	int64_t version;

	if (json_get_int(root, "simreg_lab", &version) || version != LAB_STATE_VERSION)
		return -EINVAL;
	id = get_cstr(lab, root, "id");
	if (!id || strlen(id) != LAB_ID_LEN || strspn(id, "0123456789abcdef") != LAB_ID_LEN)
		return -EINVAL;
	memcpy(lab->id, id, LAB_ID_LEN + 1);
	lab->topology = get_cstr(lab, root, "topology");
	lab->summary = get_cstr(lab, root, "summary");
	lab->state = get_cstr(lab, root, "state");
	lab->error = get_cstr(lab, root, "error");
	v = json_get(root, "deployment");
	if (v && v->type == JSON_OBJECT) {
		const struct json_value *sub = json_get(v, "subscriber");
		struct lab_deploy_rec *d = &lab->deploy;

		d->present = true;
		d->mechanism = get_cstr(lab, v, "mechanism");
		d->binding = get_cstr(lab, v, "binding");
		d->ue_binding = get_cstr(lab, v, "ue_binding");
		d->backend = get_cstr(lab, v, "backend");
		d->ue_backend = get_cstr(lab, v, "ue_backend");
		if (sub && sub->type == JSON_OBJECT) {
			d->impi = get_cstr(lab, sub, "impi");
			d->impu = get_cstr(lab, sub, "impu");
			d->derived_rule = get_cstr(lab, sub, "derived_impi");
			d->k = get_cstr(lab, sub, "k");
			d->opc = get_cstr(lab, sub, "opc");
		}
		if (!d->mechanism || !d->binding || !d->impi || !d->impu)
			return -EINVAL;
	}
	v = json_get(root, "namespaces");
	if (v && v->type == JSON_ARRAY) {
		json_for_each(ns, v) {
			if (lab->n_ns >= LAB_MAX_NODES)
				return -EINVAL;
			lab->ns[lab->n_ns] = get_cstr(lab, ns, "name");
			lab->ns_role[lab->n_ns] = get_cstr(lab, ns, "role");
			if (!lab->ns[lab->n_ns])
				return -EINVAL;
			lab->n_ns++;
		}
	}
	for (int kind = LAB_MEMBER_CAPTURE; kind <= LAB_MEMBER_FUNCTION; kind++) {
		v = json_get(root, kind == LAB_MEMBER_CAPTURE ? "captures" : "processes");
		if (!v || v->type != JSON_ARRAY)
			return -EINVAL;
		json_for_each(m, v) {
			int rc = read_member(lab, m, (enum lab_member_kind)kind);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static void lab_init(struct lab *lab)
{
	memset(lab, 0, sizeof(*lab));
	arena_init(&lab->arena, 0, 0);
}

void lab_free(struct lab *lab)
{
	arena_destroy(&lab->arena);
}

int lab_state_read(const char *dir, struct lab *lab)
{
	struct json_value *root;
	struct json_error jerr = { 0 };
	char *path = NULL, *text = NULL;
	struct stat st;
	int fd = -1, rc;

	lab_init(lab);
	if (asprintf(&path, "%s/" LAB_STATE_FILE, dir) < 0) {
		path = NULL;
		rc = -ENOMEM;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (st.st_size > 16 * 1024 * 1024) {
		rc = -EFBIG;
		goto out;
	}
	text = arena_alloc(&lab->arena, (size_t)st.st_size + 1);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	if (read(fd, text, (size_t)st.st_size) != st.st_size) {
		rc = -EIO;
		goto out;
	}
	rc = json_parse(&lab->arena, str_make(text, (size_t)st.st_size), &root, &jerr);
	if (rc == -EINVAL) {
		log_error("%s:%u:%u: %s", path, jerr.line, jerr.column, jerr.what);
		goto out;
	}
	if (rc)
		goto out;
	rc = read_doc(lab, root);
	if (rc)
		log_error("%s: not a lab description this version of simreg understands", path);
	else
		lab->dir = arena_strdup(&lab->arena, dir);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* ---- tearing down -------------------------------------------------------- */

struct teardown_counts {
	unsigned processes, captures, strays, namespaces, errors;
};

static void stop_functions(struct lab *lab, int grace_ms, struct teardown_counts *c)
{
	for (size_t i = lab->n_members; i-- > 0;) {
		struct lab_member *m = &lab->members[i];
		int rc;

		if (m->kind != LAB_MEMBER_FUNCTION || m->proc.pid <= 0)
			continue;
		rc = lab_proc_stop(&m->proc, SIGTERM, grace_ms);
		if (rc == LAB_STOP_EXITED || rc == LAB_STOP_KILLED) {
			c->processes++;
			log_info("%s (pid %d) stopped%s", m->name, (int)m->proc.pid,
				 rc == LAB_STOP_KILLED ? " with SIGKILL" : "");
		} else if (rc < 0) {
			c->errors++;
			log_error("%s (pid %d) survived SIGKILL", m->name, (int)m->proc.pid);
		}
	}
}

/*
 * dumpcap hands packets to its file in batches; stopped at once, it loses
 * the last ones. So each capture gets a marker datagram on its link, and
 * is stopped only once the marker is in its file: everything sent before
 * it is there too.
 */
static void stop_captures(struct lab *lab, struct teardown_counts *c)
{
	bool marked[LAB_MAX_MEMBERS] = { false };
	char text[LAB_MAX_MEMBERS][96];

	for (size_t i = 0; i < lab->n_members; i++) {
		struct lab_member *m = &lab->members[i];
		int rc;

		if (m->kind != LAB_MEMBER_CAPTURE || !lab_proc_alive(&m->proc))
			continue;
		snprintf(text[i], sizeof(text[i]), "simreg-lab end of capture %s %s pid %d",
			 lab->id, m->name, (int)m->proc.pid);
		rc = lab_netns_send_udp(m->netns, m->marker_dst, LAB_MARKER_PORT, text[i],
					strlen(text[i]));
		if (rc == -ENOTRECOVERABLE)
			abort(); /* we would delete namespaces from inside one */
		if (rc)
			log_warn("capture %s: cannot send its end marker: %s", m->name,
				 strerror(-rc));
		marked[i] = rc == 0;
	}
	for (size_t i = 0; i < lab->n_members; i++) {
		struct lab_member *m = &lab->members[i];
		int rc;

		if (m->kind != LAB_MEMBER_CAPTURE || m->proc.pid <= 0)
			continue;
		if (marked[i]) {
			rc = lab_wait_for_text(m->pcap, text[i], m->proc.pid, LAB_CAPTURE_FLUSH_MS,
					       NULL);
			if (rc)
				log_warn("capture %s: end marker not seen in %s (%s); the last "
					 "packets may be missing", m->name, m->pcap, strerror(-rc));
		}
		/* SIGINT is dumpcap's "stop and close the file" (it also handles
		 * SIGTERM the same way, which the stray sweep relies on). */
		rc = lab_proc_stop(&m->proc, SIGINT, LAB_CAPTURE_FLUSH_MS);
		if (rc == LAB_STOP_EXITED) {
			c->captures++;
		} else if (rc == LAB_STOP_KILLED) {
			c->captures++;
			log_warn("capture %s needed SIGKILL: %s may be truncated", m->name, m->pcap);
		} else if (rc < 0) {
			c->errors++;
		}
	}
}

static bool listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Kill anything left inside the lab's namespaces, then delete them. */
static void remove_namespaces(struct lab *lab, int grace_ms, struct teardown_counts *c)
{
	const char *names[2 * LAB_MAX_NODES + 8], *by_prefix[LAB_MAX_NODES + 8];
	size_t n = 0;
	int found;

	for (size_t i = 0; i < lab->n_ns && n < LAB_MAX_NODES; i++)
		names[n++] = lab->ns[i];
	/* Also by prefix: namespaces a crashed `up` made before recording
	 * them, or that lab.json (lost or damaged) does not mention. */
	found = lab_netns_list(lab->id, &lab->arena, by_prefix,
			       sizeof(by_prefix) / sizeof(by_prefix[0]));
	if (found < 0)
		log_warn("cannot list " LAB_NETNS_DIR ": %s", strerror(-found));
	for (int i = 0; i < found; i++)
		if (!listed(names, n, by_prefix[i]))
			names[n++] = by_prefix[i];
	for (size_t i = 0; i < n; i++) {
		pid_t pids[64];
		int np;
		const char *del[] = { "ip", "netns", "del", names[i], NULL };

		if (!lab_netns_exists(names[i]))
			continue;
		np = lab_netns_pids(names[i], pids, sizeof(pids) / sizeof(pids[0]));
		for (int k = 0; k < np; k++) {
			struct lab_proc p = { .pid = pids[k] };

			if (lab_proc_stop(&p, SIGTERM, grace_ms) > 0) {
				c->strays++;
				log_info("stopped pid %d left in %s", (int)pids[k], names[i]);
			}
		}
		if (lab_cmd_run(del, 0, NULL, 0))
			c->errors++;
		else
			c->namespaces++;
	}
}

static int teardown(struct lab *lab, int grace_ms, struct teardown_counts *c)
{
	memset(c, 0, sizeof(*c));
	stop_functions(lab, grace_ms, c);
	stop_captures(lab, c);
	remove_namespaces(lab, grace_ms, c);
	return c->errors ? -EIO : 0;
}

int lab_down(const char *dir, int grace_ms)
{
	struct teardown_counts c;
	struct lab lab;
	char id[LAB_ID_LEN + 1];
	char *abs = NULL;
	int rc;

	if (geteuid() != 0) {
		log_error("`simreg lab down` must run as root (it deletes network namespaces)");
		return -EPERM;
	}
	rc = lab_id_for_dir(dir, id, &abs);
	if (rc) {
		log_error("%s: no such directory", dir);
		return rc;
	}
	rc = lab_state_read(abs, &lab);
	if (rc) {
		if (rc != -ENOENT || access(abs, F_OK) == 0)
			log_warn("%s/" LAB_STATE_FILE ": %s; removing by name prefix simreg-%s-",
				 abs, rc == -ENOENT ? "missing" : "unusable", id);
		lab_free(&lab);
		lab_init(&lab);
		memcpy(lab.id, id, sizeof(id));
		lab.dir = abs;
	} else if (strcmp(lab.id, id) != 0) {
		/* A lab.json copied from elsewhere: its processes are not ours
		 * to stop. Use only our own prefix. */
		log_warn("%s/" LAB_STATE_FILE " belongs to lab %s, not %s; removing by name prefix",
			 abs, lab.id, id);
		lab_free(&lab);
		lab_init(&lab);
		memcpy(lab.id, id, sizeof(id));
		lab.dir = abs;
	}
	rc = teardown(&lab, grace_ms, &c);
	if (c.processes + c.captures + c.strays + c.namespaces == 0 && !rc)
		printf("lab %s: nothing to take down\n", lab.id);
	else
		printf("lab %s down: %u processes, %u captures, %u strays stopped; "
		       "%u namespaces removed%s\n",
		       lab.id, c.processes, c.captures, c.strays, c.namespaces,
		       rc ? " (with errors, see above)" : "");
	lab_free(&lab);
	free(abs);
	return rc;
}

/* ---- bringing up ------------------------------------------------------- */

static bool valid_name(const char *s)
{
	return s && *s && strlen(s) <= 32 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

static int check_fns(const struct lab_fn_spec *fns, size_t n_fns, const struct lab_plan *plan)
{
	if (n_fns + plan->n_captures > LAB_MAX_MEMBERS) {
		log_error("at most %zu processes", LAB_MAX_MEMBERS - plan->n_captures);
		return -E2BIG;
	}
	for (size_t i = 0; i < n_fns; i++) {
		const struct lab_fn_spec *f = &fns[i];

		if (!valid_name(f->name)) {
			log_error("process name '%s': use [a-z0-9_-], at most 32", f->name);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(fns[j].name, f->name) == 0) {
				log_error("process name '%s' used twice", f->name);
				return -EINVAL;
			}
		if (lab_node_index(plan->topo, f->role) < 0) {
			log_error("process %s: topology %s has no namespace '%s'", f->name,
				  plan->topo->name, f->role);
			return -EINVAL;
		}
		if (!f->argv || !f->argv[0] || !f->ready || !f->ready[0]) {
			log_error("process %s: needs a command and a readiness text", f->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int run_commands(struct lab *lab, const struct lab_up_opts *o)
{
	struct lab_cmd *cmds;
	size_t n;
	int rc;

	rc = lab_plan_commands(lab->plan, lab->id, &lab->arena, &cmds, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		if (o->cancel && *o->cancel)
			rc = -EINTR;
		else
			rc = lab_cmd_run(cmds[i].argv, 0, NULL, 0);
	}
	return rc;
}

static int start_member(struct lab *lab, struct lab_member *m, int timeout_ms,
			const volatile sig_atomic_t *cancel)
{
	struct lab_proc_spec spec = {
		.name = m->name,
		.netns = m->netns,
		.argv = m->argv,
		.log_path = m->log,
		.ready = m->ready,
		.ready_timeout_ms = timeout_ms,
		.cancel = cancel,
	};
	int rc;

	lab->n_members++;
	/* On record before the wait: if this command dies while waiting,
	 * `down` still knows the pid. */
	rc = lab_proc_spawn(&spec, &m->proc);
	if (!rc)
		rc = state_write(lab);
	if (!rc && m->ready) {
		log_info("%s: waiting up to %d ms for \"%s\"", m->name, timeout_ms, m->ready);
		rc = lab_proc_await(&spec, &m->proc);
	}
	return rc;
}

static int start_captures(struct lab *lab, const struct lab_up_opts *o)
{
	const struct lab_plan *plan = lab->plan;

	for (size_t i = 0; i < plan->n_captures; i++) {
		const struct lab_capture_spec *cs = &plan->captures[i];
		struct lab_member *m = &lab->members[lab->n_members];
		const char **argv = arena_alloc(&lab->arena, 8 * sizeof(*argv));
		int rc;

		memset(m, 0, sizeof(*m));
		m->kind = LAB_MEMBER_CAPTURE;
		m->name = arena_strdup(&lab->arena, cs->name);
		m->role = plan->topo->nodes[cs->node].role;
		m->netns = lab->ns[cs->node];
		m->ifname = cs->ifname;
		m->pcap = in_dir(lab, cs->name, ".pcap");
		m->log = in_dir(lab, cs->name, ".dumpcap.log");
		m->marker_dst = arena_strdup(&lab->arena, cs->marker_dst);
		m->ready = "Capturing on";
		if (!argv || !m->name || !m->pcap || !m->log || !m->marker_dst)
			return -ENOMEM;
		/* -P: classic pcap, which every tool reads; the name says .pcap. */
		argv[0] = "dumpcap";
		argv[1] = "-i";
		argv[2] = cs->ifname;
		argv[3] = "-P";
		argv[4] = "-w";
		argv[5] = m->pcap;
		argv[6] = NULL;
		m->argv = argv;
		rc = start_member(lab, m, LAB_CAPTURE_READY_MS, o->cancel);
		if (rc)
			return rc;
	}
	return 0;
}

static int start_functions(struct lab *lab, const struct lab_up_opts *o,
			   const struct lab_fn_spec *fns, size_t n_fns)
{
	for (size_t i = 0; i < n_fns; i++) {
		const struct lab_fn_spec *f = &fns[i];
		struct lab_member *m = &lab->members[lab->n_members];
		int node = lab_node_index(lab->plan->topo, f->role);
		int rc;

		memset(m, 0, sizeof(*m));
		m->kind = LAB_MEMBER_FUNCTION;
		m->name = f->name;
		m->role = lab->plan->topo->nodes[node].role;
		m->netns = lab->ns[node];
		m->argv = f->argv;
		m->ready = f->ready;
		m->fn_kind = f->kind;
		m->config = f->config;
		m->data = f->data;
		m->ctl = f->ctl;
		m->keylog = f->keylog;
		m->log = in_dir(lab, f->name, ".log");
		if (!m->log)
			return -ENOMEM;
		rc = start_member(lab, m, o->ready_timeout_ms, o->cancel);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Configuration files, data directories and the subscriber of the
 * topology's network functions, as processes to start (after the captures,
 * in table order).
 */
static int deploy_functions(struct lab *lab, const struct lab_topology *t,
			    const struct lab_deploy_opts *opts, const struct lab_fn_spec **out,
			    size_t *n_out)
{
	struct lab_deployment *d = arena_alloc(&lab->arena, sizeof(*d));
	struct lab_fn_spec *fns;
	int rc;

	if (!d)
		return -ENOMEM;
	rc = lab_deploy_prepare(t, opts, lab->dir, &lab->arena, d);
	if (rc)
		return rc;
	fns = arena_alloc(&lab->arena, (d->n_fns ? d->n_fns : 1) * sizeof(*fns));
	if (!fns)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_fns; i++) {
		const struct lab_deployed_fn *df = &d->fns[i];

		fns[i] = (struct lab_fn_spec){
			.name = df->spec->name,
			.role = df->spec->role,
			.ready = df->ready,
			.argv = df->argv,
			.kind = lab_fn_kind_name(df->spec->kind),
			.config = df->config,
			.data = df->data,
			.ctl = df->ctl,
			.keylog = df->keylog,
		};
	}
	lab->deploy = (struct lab_deploy_rec){
		.present = true,
		.mechanism = d->o.mechanism,
		.binding = d->o.binding,
		.ue_binding = d->o.ue_binding,
		.backend = d->o.backend,
		.ue_backend = d->o.ue_backend,
		.impi = LAB_IMPI,
		.impu = LAB_IMPU,
		.derived_rule = LAB_DERIVED_RULE,
		.k = LAB_K,
		.opc = LAB_OPC,
	};
	*out = fns;
	*n_out = d->n_fns;
	return 0;
}

/* What went wrong, in the words of the lab rather than of errno. */
static const char *failure(int rc)
{
	switch (rc) {
	case -ETIMEDOUT: return "a process did not become ready in time";
	case -ECHILD: return "a process exited before it was ready";
	case -EINTR: return "interrupted";
	case -EIO: return "a command failed";
	default: return strerror(-rc);
	}
}

int lab_up(const struct lab_up_opts *o)
{
	const struct lab_topology *t = lab_topology_find(o->topology);
	struct teardown_counts c;
	struct lab_plan plan;
	struct lab lab;
	const char *existing[1];
	const struct lab_fn_spec *fns = o->fns;
	size_t n_fns = o->n_fns;
	char *abs = NULL;
	int rc;

	lab_init(&lab);
	if (geteuid() != 0) {
		log_error("`simreg lab up` must run as root: it creates network namespaces "
			  "and links (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
		rc = -EPERM;
		goto out;
	}
	if (!t) {
		log_error("no topology '%s'", o->topology);
		rc = -EINVAL;
		goto out;
	}
	rc = lab_plan_compute(t, &plan);
	if (!rc)
		rc = check_fns(fns, n_fns, &plan);
	if (rc)
		goto out;
	if (mkdir(o->dir, 0755) && errno != EEXIST) {
		rc = -errno;
		log_error("cannot create %s: %s", o->dir, strerror(-rc));
		goto out;
	}
	rc = lab_id_for_dir(o->dir, lab.id, &abs);
	if (rc)
		goto out;
	lab.dir = abs;
	rc = lab_netns_list(lab.id, &lab.arena, existing, 1);
	if (rc != 0) {
		if (rc > 0) {
			log_error("lab %s is already up in %s (%s exists); run `simreg lab down "
				  "--dir %s` first", lab.id, abs, existing[0], abs);
			rc = -EEXIST;
		}
		goto out;
	}
	lab.plan = &plan;
	lab.topology = t->name;
	lab.summary = t->summary;
	lab.state = "building";
	for (size_t i = 0; i < t->n_nodes; i++) {
		char name[LAB_NETNS_NAME_MAX];

		lab_netns_name(name, lab.id, t->nodes[i].role);
		lab.ns[i] = arena_strdup(&lab.arena, name);
		lab.ns_role[i] = t->nodes[i].role;
		if (!lab.ns[i]) {
			rc = -ENOMEM;
			goto out;
		}
	}
	lab.n_ns = t->n_nodes;
	if (o->deploy) {
		rc = deploy_functions(&lab, t, o->deploy, &fns, &n_fns);
		if (!rc)
			rc = check_fns(fns, n_fns, &plan);
		if (rc)
			goto out;
	}
	log_info("lab %s: building topology %s in %s", lab.id, t->name, abs);

	/* From here on, every failure undoes what was done. */
	rc = state_write(&lab);
	if (!rc)
		rc = run_commands(&lab, o);
	if (!rc)
		rc = start_captures(&lab, o);
	if (!rc)
		rc = start_functions(&lab, o, fns, n_fns);
	if (!rc) {
		lab.state = "up";
		rc = state_write(&lab);
	}
	if (!rc) {
		size_t nc = plan.n_captures;
		printf("lab %s up: topology %s (%s), %zu namespaces, %zu captures, %zu "
		       "processes\nstate: %s/" LAB_STATE_FILE "\n",
		       lab.id, t->name, t->summary, t->n_nodes, nc, lab.n_members - nc, abs);
		goto out;
	}

	log_error("lab %s: %s; undoing", lab.id, failure(rc));
	teardown(&lab, o->grace_ms, &c);
	lab.state = "failed";
	lab.error = failure(rc);
	/* Keep the pids out of the record: none of them runs any more. */
	for (size_t i = 0; i < lab.n_members; i++)
		lab.members[i].proc = (struct lab_proc){ 0 };
	state_write(&lab);
	log_error("lab %s: undone (%u processes, %u captures, %u namespaces removed)", lab.id,
		  c.processes, c.captures, c.namespaces);
out:
	lab_free(&lab);
	free(abs);
	return rc;
}

const struct lab_member *lab_function(const struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->n_members; i++)
		if (lab->members[i].kind == LAB_MEMBER_FUNCTION &&
		    strcmp(lab->members[i].name, name) == 0)
			return &lab->members[i];
	return NULL;
}

const struct lab_member *lab_function_of_kind(const struct lab *lab, const char *kind)
{
	for (size_t i = 0; i < lab->n_members; i++)
		if (lab->members[i].kind == LAB_MEMBER_FUNCTION && lab->members[i].fn_kind &&
		    strcmp(lab->members[i].fn_kind, kind) == 0)
			return &lab->members[i];
	return NULL;
}

/* ---- status -------------------------------------------------------------- */

int lab_status(const char *dir, FILE *out)
{
	struct lab lab;
	char id[LAB_ID_LEN + 1];
	unsigned missing = 0;
	int rc;

	rc = lab_id_for_dir(dir, id, NULL);
	if (rc)
		return rc;
	rc = lab_state_read(dir, &lab);
	if (rc) {
		if (rc == -ENOENT)
			log_error("%s: no " LAB_STATE_FILE ": no lab was brought up there", dir);
		lab_free(&lab);
		return rc;
	}
	if (strcmp(lab.id, id) != 0)
		fprintf(out, "note: %s/" LAB_STATE_FILE " was written for lab %s (this directory "
			"is lab %s)\n", dir, lab.id, id);
	fprintf(out, "lab %s: topology %s (%s), recorded state %s\n", lab.id,
		lab.topology ? lab.topology : "?", lab.summary ? lab.summary : "?",
		lab.state ? lab.state : "?");
	if (lab.error)
		fprintf(out, "error: %s\n", lab.error);
	fprintf(out, "namespaces:\n");
	for (size_t i = 0; i < lab.n_ns; i++) {
		bool present = lab_netns_exists(lab.ns[i]);

		missing += !present;
		fprintf(out, "  %-24s %s\n", lab.ns[i], present ? "present" : "absent");
	}
	fprintf(out, "processes:\n");
	for (size_t i = 0; i < lab.n_members; i++) {
		struct lab_member *m = &lab.members[i];
		bool alive = lab_proc_alive(&m->proc);
		struct stat st;

		missing += !alive;
		fprintf(out, "  %-8s %-14s pid %-7d %-8s", m->kind == LAB_MEMBER_CAPTURE ?
			"capture" : "process", m->name, (int)m->proc.pid, alive ? "running" : "gone");
		if (m->kind == LAB_MEMBER_CAPTURE)
			fprintf(out, " %s (%lld bytes)", m->pcap,
				stat(m->pcap, &st) ? -1LL : (long long)st.st_size);
		else
			fprintf(out, " %s", m->log ? m->log : "");
		fputc('\n', out);
	}
	fflush(out);
	if (!strcmp(lab.state ? lab.state : "", "up")) {
		for (size_t i = 0; i < lab.n_members; i++)
			if (lab.members[i].kind == LAB_MEMBER_FUNCTION &&
			    !lab_proc_alive(&lab.members[i].proc) && lab.members[i].log) {
				log_error("%s is not running", lab.members[i].name);
				lab_log_tail(lab.members[i].log, 10);
			}
	}
	rc = missing || strcmp(lab.state ? lab.state : "", "up") ? 1 : 0;
	lab_free(&lab);
	return rc;
}

/* ---- plan ------------------------------------------------------------------ */

int lab_print_plan(const char *name, bool commands, const struct lab_deploy_opts *configs,
		   FILE *out)
{
	const struct lab_topology *t = lab_topology_find(name);
	struct lab_plan plan;
	struct arena a;
	int rc;

	if (!t)
		return -EINVAL;
	rc = lab_plan_compute(t, &plan);
	if (rc)
		return rc;
	arena_init(&a, 0, 0);
	if (configs) {
		struct lab_deploy_opts o = *configs;

		if (!o.ue_binding)
			o.ue_binding = "registration";
		if (!o.ue_backend)
			o.ue_backend = o.backend;
		for (size_t i = 0; !rc && i < t->n_functions; i++) {
			const char *yaml;

			rc = lab_deploy_yaml(t, &t->functions[i], &o, "DIR", &a, &yaml);
			if (!rc)
				fprintf(out, "%s==> DIR/%s.yaml <==\n%s", i ? "\n" : "",
					t->functions[i].name, yaml);
		}
		goto out;
	}
	if (commands) {
		struct lab_cmd *cmds;
		size_t n;

		rc = lab_plan_commands(&plan, "ID", &a, &cmds, &n);
		for (size_t i = 0; !rc && i < n; i++) {
			char line[512];
			lab_cmd_format(cmds[i].argv, line, sizeof(line));
			fprintf(out, "%s\n", line);
		}
		goto out;
	}
	fprintf(out, "topology %s: %s\n", t->name, t->summary);
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct lab_node_spec *nd = &t->nodes[i];

		fprintf(out, "\nsimreg-ID-%s: %s%s\n", nd->role, nd->what,
			nd->forwards ? " (forwards)" : "");
		for (size_t j = 0; j < t->n_links; j++) {
			const struct lab_link_spec *l = &t->links[j];
			const struct lab_end_spec *e = lab_link_end(t, l, (int)i);
			char v4[LAB_ADDR_LEN], v6[LAB_ADDR_LEN];

			if (!e)
				continue;
			lab_fmt_host(v4, LAB_V4, l->plane, l->net, e->host, 24);
			lab_fmt_host(v6, LAB_V6, l->plane, l->net, e->host, 64);
			fprintf(out, "  if %-8s %-18s %-24s link %s to %s\n", e->ifname, v4, v6,
				l->name, e == &l->a ? l->b.role : l->a.role);
		}
		for (size_t j = 0; j < t->n_services; j++) {
			const struct lab_service_spec *s = &t->services[j];
			char v4[LAB_ADDR_LEN], v6[LAB_ADDR_LEN];

			if (strcmp(s->role, nd->role))
				continue;
			lab_fmt_host(v4, LAB_V4, s->plane, s->net, s->host, 0);
			lab_fmt_host(v6, LAB_V6, s->plane, s->net, s->host, 0);
			fprintf(out, "  service %-13s %s:%u [%s]:%u %s%s%s\n", s->name, v4, s->port,
				v6, s->port, s->transport, s->access ? " access " : "",
				s->access ? s->access : "");
		}
		for (size_t j = 0; j < plan.n_routes; j++) {
			const struct lab_route *r = &plan.routes[j];
			const struct lab_link_spec *l = &t->links[r->link];
			const struct lab_end_spec *gw = r->via_b ? &l->b : &l->a;
			const struct lab_end_spec *me = r->via_b ? &l->a : &l->b;
			char dst[LAB_ADDR_LEN], via[LAB_ADDR_LEN];

			if (r->node != (int)i)
				continue;
			for (int f = LAB_V4; f <= LAB_V6; f++) {
				lab_fmt_net(dst, (enum lab_family)f, r->plane, r->net);
				lab_fmt_host(via, (enum lab_family)f, l->plane, l->net, gw->host, 0);
				fprintf(out, "  route %-20s via %-20s dev %s\n", dst, via, me->ifname);
			}
		}
	}
	fprintf(out, "\ncaptures:\n");
	for (size_t i = 0; i < plan.n_captures; i++)
		fprintf(out, "  DIR/%s.pcap  on %s in simreg-ID-%s\n", plan.captures[i].name,
			plan.captures[i].ifname, t->nodes[plan.captures[i].node].role);
	fprintf(out, "\nnetwork functions, started in this order:\n");
	for (size_t i = 0; i < t->n_functions; i++) {
		const struct lab_function_spec *f = &t->functions[i];

		fprintf(out, "  %-8s simreg %-5s in simreg-ID-%-8s DIR/%s.yaml, DIR/%s/, "
			     "DIR/%s.log\n",
			f->name, lab_fn_kind_name(f->kind), f->role, f->name, f->name, f->name);
	}
out:
	arena_destroy(&a);
	return rc;
}
