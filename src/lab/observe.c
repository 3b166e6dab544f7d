#define SLOG_COMPONENT "lab"
#include "lab/observe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "core/ctlsock.h"
#include "core/json.h"
#include "core/log.h"
#include "reginfo/reginfo.h"

/* The biggest answer: `flows` of a P-CSCF with a few flows, a reg-event
 * document. */
#define ANSWER_MAX (256 * 1024)

/* ---- control requests ---------------------------------------------------- */

int lab_ctl(const struct lab *lab, const char *name, const char *req, char *answer, size_t size)
{
	const struct lab_member *m = lab_function(lab, name);
	int n;

	if (!m || !m->ctl) {
		log_error("lab %s has no network function %s", lab->id, name);
		return -ENOENT;
	}
	n = ctl_client_call(m->ctl, req, answer, size, LAB_CTL_TIMEOUT_MS);
	if (n < 0) {
		log_error("%s (%s): `%s`: %s", name, m->ctl, req, strerror(-n));
		return n;
	}
	/* Every answer starts with the "ok" member (lib/core/ctlsock.c). */
	return strncmp(answer, "{\"ok\":true", 10) == 0 ? 0 : -EPROTO;
}

static int ctl_json(const struct lab *lab, const char *name, const char *req, struct arena *a,
		    const struct json_value **root)
{
	char *answer = arena_alloc(a, ANSWER_MAX);
	struct json_value *v;
	int rc;

	if (!answer)
		return -ENOMEM;
	rc = lab_ctl(lab, name, req, answer, ANSWER_MAX);
	if (rc == -EPROTO)
		log_error("%s: `%s`: %s", name, req, answer);
	if (rc)
		return rc;
	rc = json_parse(a, str_from_cstr(answer), &v, NULL);
	if (rc) {
		log_error("%s: `%s`: the answer is not JSON", name, req);
		return rc;
	}
	*root = v;
	return 0;
}

/* ---- JSON into fixed fields ------------------------------------------------ */

static void get_s(const struct json_value *o, const char *key, char *out, size_t size)
{
	struct str s;

	out[0] = 0;
	if (o && json_get_str(o, key, &s) == 0)
		str_copy(out, size, s);
}

static uint64_t get_u(const struct json_value *o, const char *key)
{
	int64_t v;

	return o && json_get_int(o, key, &v) == 0 && v > 0 ? (uint64_t)v : 0;
}

static bool get_b(const struct json_value *o, const char *key)
{
	bool v;

	return o && json_get_bool(o, key, &v) == 0 && v;
}

/* "198.18.1.2:5060" or "[2001:db8::2]:5060" -> the address alone. */
static void addr_only(const char *hostport, char *out, size_t size)
{
	const char *end;

	if (hostport[0] == '[') {
		end = strchr(hostport, ']');
		snprintf(out, size, "%.*s", end ? (int)(end - hostport - 1) : 0, hostport + 1);
		return;
	}
	end = strrchr(hostport, ':');
	snprintf(out, size, "%.*s", end ? (int)(end - hostport) : (int)strlen(hostport), hostport);
}

static void read_sa(const struct json_value *o, struct lab_sa_obs *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->set = get_u(o, "set");
	get_s(o, "state", sa->state, sizeof(sa->state));
	sa->spi_uc = (uint32_t)get_u(o, "spi_uc");
	sa->spi_us = (uint32_t)get_u(o, "spi_us");
	sa->spi_pc = (uint32_t)get_u(o, "spi_pc");
	sa->spi_ps = (uint32_t)get_u(o, "spi_ps");
	sa->port_uc = (uint16_t)get_u(o, "port_uc");
	sa->port_us = (uint16_t)get_u(o, "port_us");
	sa->port_pc = (uint16_t)get_u(o, "port_pc");
	sa->port_ps = (uint16_t)get_u(o, "port_ps");
	get_s(o, "alg", sa->alg, sizeof(sa->alg));
	get_s(o, "ealg", sa->ealg, sizeof(sa->ealg));
}

/* ---- the functions ----------------------------------------------------------- */

/* The P-CSCF function that owns service address @addr ("198.18.101.2:5060"). */
static void pcscf_of(const struct lab *lab, const char *addr, char *out, size_t size)
{
	const struct lab_topology *t = lab_topology_find(lab->topology ? lab->topology : "");

	out[0] = 0;
	for (size_t i = 0; t && i < t->n_services; i++) {
		const struct lab_service_spec *s = &t->services[i];
		char a[LAB_ADDR_LEN], sa[LAB_ADDR_LEN + 8];

		lab_fmt_host(a, LAB_V4, s->plane, s->net, s->host, 0);
		snprintf(sa, sizeof(sa), "%s:%u", a, s->port);
		if (strcmp(sa, addr) != 0)
			continue;
		for (size_t j = 0; j < t->n_functions; j++)
			if (t->functions[j].kind == LAB_FN_PCSCF &&
			    lab_service_of(s, &t->functions[j]))
				snprintf(out, size, "%s", t->functions[j].name);
	}
}

static int observe_ue(const struct lab *lab, struct arena *a, struct lab_snapshot *s)
{
	const struct lab_member *ue = lab_function_of_kind(lab, "ue");
	const struct json_value *root, *acc;
	int rc;

	if (!ue)
		return -ENOENT;
	rc = ctl_json(lab, ue->name, "status", a, &root);
	if (rc)
		return rc;
	acc = json_get(root, "accesses");
	if (!acc || acc->type != JSON_ARRAY)
		return -EPROTO;
	json_for_each (o, acc) {
		struct lab_access_obs *x;
		char local[64];
		const struct json_value *v;

		if (s->n_accesses == LAB_OBS_ACCESSES)
			break;
		x = &s->accesses[s->n_accesses++];
		memset(x, 0, sizeof(*x));
		get_s(o, "name", x->name, sizeof(x->name));
		get_s(o, "state", x->state, sizeof(x->state));
		get_s(o, "impi", x->impi, sizeof(x->impi));
		get_s(o, "local", local, sizeof(local));
		addr_only(local, x->addr, sizeof(x->addr));
		get_s(o, "pcscf", x->pcscf_addr, sizeof(x->pcscf_addr));
		pcscf_of(lab, x->pcscf_addr, x->pcscf, sizeof(x->pcscf));
		x->link = get_b(o, "link");
		x->failures = get_u(o, "failures");
		v = json_get(o, "sa");
		if ((x->has_sa = v && v->type == JSON_OBJECT))
			read_sa(v, &x->sa);
		v = json_get(o, "sa_temporary");
		if ((x->has_tmp = v && v->type == JSON_OBJECT))
			read_sa(v, &x->tmp);
		get_s(json_get(o, "subscription"), "state", x->sub_state, sizeof(x->sub_state));
	}
	return 0;
}

static int observe_pcscf(const struct lab *lab, const struct lab_member *m, struct arena *a,
			 struct lab_pcscf_obs *p)
{
	const struct json_value *root, *flows;
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", m->name);
	rc = ctl_json(lab, m->name, "status", a, &root);
	if (rc)
		return rc;
	get_s(root, "binding", p->binding, sizeof(p->binding));
	get_s(root, "backend", p->backend, sizeof(p->backend));
	p->registers = get_u(root, "registers");
	p->challenges = get_u(root, "challenges");
	rc = ctl_json(lab, m->name, "flows", a, &root);
	if (rc)
		return rc;
	flows = json_get(root, "flows");
	if (!flows || flows->type != JSON_ARRAY)
		return -EPROTO;
	json_for_each (o, flows) {
		struct lab_flow_obs *f;
		const struct json_value *sets;

		if (p->n_flows == LAB_OBS_FLOWS)
			break;
		f = &p->flows[p->n_flows++];
		memset(f, 0, sizeof(*f));
		f->id = get_u(o, "id");
		get_s(o, "state", f->state, sizeof(f->state));
		get_s(o, "impi", f->impi, sizeof(f->impi));
		get_s(o, "ue", f->ue, sizeof(f->ue));
		f->port_uc = (uint16_t)get_u(o, "port_uc");
		f->port_us = (uint16_t)get_u(o, "port_us");
		f->failed = get_b(o, "flow_failed");
		sets = json_get(o, "sets");
		if (!sets || sets->type != JSON_ARRAY)
			continue;
		json_for_each (so, sets) {
			if (f->n_sets < LAB_OBS_SETS)
				read_sa(so, &f->sets[f->n_sets++]);
		}
	}
	return 0;
}

/* "sip:alice@198.18.1.2:22826;transport=udp" -> "198.18.1.2". */
static void contact_host(struct str uri, char *out, size_t size)
{
	ptrdiff_t at = str_chr(uri, '@');
	struct str h = at >= 0 ? str_sub(uri, (size_t)at + 1, uri.len) : uri;
	size_t n = 0;

	if (at < 0 && h.len > 4 && memcmp(h.s, "sip:", 4) == 0)
		h = str_sub(h, 4, h.len);
	if (h.len && h.s[0] == '[') {
		while (n + 1 < h.len && h.s[n + 1] != ']')
			n++;
		h = str_sub(h, 1, n);
	} else {
		while (n < h.len && h.s[n] != ':' && h.s[n] != ';' && h.s[n] != '>')
			n++;
		h = str_sub(h, 0, n);
	}
	str_copy(out, size, h);
}

static int observe_scscf(const struct lab *lab, struct arena *a, struct lab_snapshot *s)
{
	const struct lab_member *m = lab_function_of_kind(lab, "scscf");
	const struct json_value *root, *v;
	struct reginfo doc;
	struct reginfo_error err;
	struct str xml;
	char req[256];
	int rc;

	if (!m || !lab->deploy.impu)
		return -ENOENT;
	rc = ctl_json(lab, m->name, "status", a, &root);
	if (rc)
		return rc;
	/* The counters, in "counters" (docs/scscf.md); "challenges" there
	 * counts the 401s sent, next to it the challenges pending. */
	v = json_get(root, "counters");
	if (v && v->type == JSON_OBJECT) {
		root = v;
		s->scscf.challenges_sent = get_u(root, "challenges");
	} else {
		s->scscf.challenges_sent = get_u(root, "challenges_sent");
	}
	s->scscf.registers = get_u(root, "registers");
	s->scscf.registrations = get_u(root, "registrations");
	s->scscf.refreshes = get_u(root, "refreshes");
	s->scscf.deregistrations = get_u(root, "deregistrations");
	s->scscf.auth_failures = get_u(root, "auth_failures");
	s->scscf.notifies = get_u(root, "notifies");
	s->scscf.probes = get_u(root, "probes");
	s->scscf.probes_kept = get_u(root, "probes_kept");
	s->scscf.forwarded = get_u(root, "forwarded");

	/* What the S-CSCF tells its watchers: the reg-event document. */
	snprintf(req, sizeof(req), "reginfo %s", lab->deploy.impu);
	rc = ctl_json(lab, m->name, req, a, &root);
	if (rc)
		return rc;
	if (json_get_str(root, "reginfo", &xml))
		return -EPROTO;
	rc = reginfo_parse(xml.s, xml.len, a, &doc, &err);
	if (rc) {
		log_error("%s: the reg-event document does not parse: line %d: %s", m->name,
			  err.line, err.msg);
		return rc;
	}
	for (const struct reginfo_reg *r = doc.regs; r; r = r->next) {
		for (const struct reginfo_contact *c = r->contacts; c; c = c->next) {
			struct lab_binding_obs *b;

			if (s->n_bindings == LAB_OBS_BINDINGS)
				break;
			b = &s->bindings[s->n_bindings++];
			memset(b, 0, sizeof(*b));
			str_copy(b->contact, sizeof(b->contact), c->uri);
			contact_host(c->uri, b->addr, sizeof(b->addr));
			snprintf(b->state, sizeof(b->state), "%s",
				 reginfo_contact_state_name(c->state));
			snprintf(b->event, sizeof(b->event), "%s", reginfo_event_name(c->event));
		}
	}

	/* Its own view, for the binding ids (ctl reauth) and the IMPIs. */
	rc = ctl_json(lab, m->name, "bindings", a, &root);
	if (rc)
		return rc;
	v = json_get(root, "bindings");
	if (!v || v->type != JSON_ARRAY)
		return -EPROTO;
	json_for_each (o, v) {
		char contact[160];

		get_s(o, "contact", contact, sizeof(contact));
		for (size_t i = 0; i < s->n_bindings; i++) {
			if (strcmp(s->bindings[i].contact, contact) != 0)
				continue;
			s->bindings[i].id = get_u(o, "id");
			get_s(o, "impi", s->bindings[i].impi, sizeof(s->bindings[i].impi));
		}
	}
	return 0;
}

int lab_observe(const struct lab *lab, struct lab_snapshot *s)
{
	struct arena a;
	int rc;

	memset(s, 0, sizeof(*s));
	arena_init(&a, 0, 0);
	rc = observe_ue(lab, &a, s);
	for (size_t i = 0; !rc && i < lab->n_members; i++) {
		const struct lab_member *m = &lab->members[i];

		if (m->kind != LAB_MEMBER_FUNCTION || !m->fn_kind || strcmp(m->fn_kind, "pcscf"))
			continue;
		if (s->n_pcscfs == LAB_OBS_PCSCFS)
			break;
		arena_reset(&a);
		rc = observe_pcscf(lab, m, &a, &s->pcscfs[s->n_pcscfs++]);
	}
	if (!rc) {
		arena_reset(&a);
		rc = observe_scscf(lab, &a, s);
	}
	arena_destroy(&a);
	return rc;
}

/* ---- questions about a snapshot ----------------------------------------------- */

const struct lab_access_obs *lab_obs_access(const struct lab_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_accesses; i++)
		if (strcmp(s->accesses[i].name, name) == 0)
			return &s->accesses[i];
	return NULL;
}

const struct lab_flow_obs *lab_obs_flow(const struct lab_snapshot *s,
					const struct lab_access_obs *a)
{
	const struct lab_flow_obs *best = NULL;

	for (size_t i = 0; a && i < s->n_pcscfs; i++) {
		const struct lab_pcscf_obs *p = &s->pcscfs[i];

		if (strcmp(p->name, a->pcscf) != 0)
			continue;
		for (size_t j = 0; j < p->n_flows; j++) {
			const struct lab_flow_obs *f = &p->flows[j];

			if (strcmp(f->ue, a->addr) == 0 && strcmp(f->state, "gone") != 0 &&
			    (!best || f->id > best->id))
				best = f;
		}
	}
	return best;
}

const struct lab_binding_obs *lab_obs_binding(const struct lab_snapshot *s,
					      const struct lab_access_obs *a)
{
	for (size_t i = 0; a && i < s->n_bindings; i++)
		if (strcmp(s->bindings[i].addr, a->addr) == 0 &&
		    strcmp(s->bindings[i].state, "active") == 0)
			return &s->bindings[i];
	return NULL;
}

const struct lab_sa_obs *lab_obs_flow_sa(const struct lab_flow_obs *f)
{
	for (size_t i = 0; f && i < f->n_sets; i++)
		if (strcmp(f->sets[i].state, "established") == 0)
			return &f->sets[i];
	return NULL;
}

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* States in which a registration is in place (refreshes included). */
static const char *const ue_registered[] = { "registered", "refreshing", "rechallenged",
					     "reauthenticating", NULL };
static const char *const flow_registered[] = { "registered", "refreshing", "rechallenged",
					       "reauthenticating", NULL };
/* States that last only as long as a transaction, a USIM run or a linger. */
static const char *const ue_transient[] = { "unprotected",   "challenged",
					    "protected",     "refreshing",
					    "rechallenged",  "reauthenticating",
					    "deregistering", NULL };
static const char *const flow_transient[] = { "unauthenticated", "challenged",
					      "authenticating",	 "refreshing",
					      "rechallenged",	 "reauthenticating",
					      "ending",		 NULL };

bool lab_obs_ue_protected(const struct lab_access_obs *a)
{
	return a && one_of(a->state, ue_registered) && a->has_sa;
}

bool lab_obs_pcscf_protected(const struct lab_snapshot *s, const struct lab_access_obs *a)
{
	const struct lab_flow_obs *f = lab_obs_flow(s, a);

	return f && one_of(f->state, flow_registered) && lab_obs_flow_sa(f);
}

bool lab_obs_quiet(const struct lab_snapshot *s)
{
	for (size_t i = 0; i < s->n_accesses; i++)
		if (one_of(s->accesses[i].state, ue_transient))
			return false;
	for (size_t i = 0; i < s->n_pcscfs; i++)
		for (size_t j = 0; j < s->pcscfs[i].n_flows; j++)
			if (one_of(s->pcscfs[i].flows[j].state, flow_transient))
				return false;
	return true;
}

/* ---- the UE's event log ---------------------------------------------------- */

int lab_ue_received(const struct lab *lab, const char *call_id, const char *method, int *status)
{
	const struct lab_member *ue = lab_function_of_kind(lab, "ue");
	struct lab_snapshot order;
	char *path = NULL, *line = NULL;
	size_t cap = 0;
	FILE *f = NULL;
	int mask = 0, rc;

	if (!ue || !ue->data)
		return -ENOENT;
	/* Bits in the UE's access order. */
	memset(&order, 0, sizeof(order));
	{
		struct arena a;

		arena_init(&a, 0, 0);
		rc = observe_ue(lab, &a, &order);
		arena_destroy(&a);
		if (rc)
			return rc;
	}
	if (asprintf(&path, "%s/ue-events.jsonl", ue->data) < 0)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		log_error("%s: %s", path, strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		struct arena a;
		struct json_value *v;
		char ev[16], dir[8], m[16], cid[128], acc[16];

		/* Cheap filter first: most lines are not about this request. */
		if (!strstr(line, call_id))
			continue;
		arena_init(&a, 0, 0);
		if (json_parse(&a, str_from_cstr(line), &v, NULL) == 0) {
			get_s(v, "event", ev, sizeof(ev));
			get_s(v, "dir", dir, sizeof(dir));
			get_s(v, "method", m, sizeof(m));
			get_s(v, "call_id", cid, sizeof(cid));
			get_s(v, "access", acc, sizeof(acc));
			if (!strcmp(ev, "msg") && !strcmp(dir, "rx") && !strcmp(m, method) &&
			    !strcmp(cid, call_id)) {
				for (size_t i = 0; i < order.n_accesses; i++)
					if (!strcmp(order.accesses[i].name, acc))
						mask |= 1 << i;
				if (status)
					*status = (int)get_u(v, "answer");
			}
		}
		arena_destroy(&a);
	}
	rc = mask;
out:
	if (f)
		fclose(f);
	free(line);
	free(path);
	return rc;
}

/* ---- waiting ------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Watch the lab directory (logs) and every function's data directory
 * (event log, databases): a function that does something writes there. */
static int watch_lab(const struct lab *lab)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	const uint32_t mask = IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_TO;

	if (fd < 0)
		return -errno;
	inotify_add_watch(fd, lab->dir, mask);
	for (size_t i = 0; i < lab->n_members; i++)
		if (lab->members[i].data)
			inotify_add_watch(fd, lab->members[i].data, mask);
	return fd;
}

/* Wait up to @ms for a change; true if there was one (and drain them). */
static bool changed(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	bool any = false;

	if (poll(&p, 1, ms) <= 0)
		return false;
	while (read(fd, buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

int lab_settle(const struct lab *lab, bool (*done)(const struct lab_snapshot *, void *), void *ctx,
	       int quiet_ms, int timeout_ms, struct lab_snapshot *s)
{
	uint64_t start = now_ms(), last_change = start;
	int fd = watch_lab(lab), rc;

	if (fd < 0)
		return fd;
	for (;;) {
		uint64_t now;

		rc = lab_observe(lab, s);
		if (rc)
			break;
		now = now_ms();
		if (lab_obs_quiet(s) && (!done || done(s, ctx)) &&
		    now - last_change >= (uint64_t)quiet_ms) {
			rc = 0;
			break;
		}
		if (now - start >= (uint64_t)timeout_ms) {
			rc = -ETIMEDOUT;
			break;
		}
		/* Our own control requests write nothing, so what wakes us is a
		 * function at work. */
		if (changed(fd, 100))
			last_change = now_ms();
	}
	close(fd);
	return rc;
}

/* ---- printing ------------------------------------------------------------------ */

static void sa_text(const struct lab_sa_obs *sa, char *out, size_t size)
{
	if (!sa) {
		snprintf(out, size, "-");
		return;
	}
	/* The UE's pair: what it receives on (spi_us) and what the P-CSCF
	 * receives on (spi_ps); the other two follow from the negotiation. */
	snprintf(out, size, "set %llu spi_us 0x%08x spi_ps 0x%08x", (unsigned long long)sa->set,
		 sa->spi_us, sa->spi_ps);
}

void lab_snapshot_print(const struct lab_snapshot *s, FILE *out)
{
	fprintf(out, "  %-6s %-16s %-38s %-9s %-16s %-38s %s\n", "access", "UE", "UE SA set",
		"P-CSCF", "flow", "P-CSCF SA set", "S-CSCF binding");
	for (size_t i = 0; i < s->n_accesses; i++) {
		const struct lab_access_obs *a = &s->accesses[i];
		const struct lab_flow_obs *f = lab_obs_flow(s, a);
		const struct lab_binding_obs *b = lab_obs_binding(s, a);
		char ue_sa[64], pc_sa[64], bind[160];

		sa_text(a->has_sa ? &a->sa : NULL, ue_sa, sizeof(ue_sa));
		sa_text(lab_obs_flow_sa(f), pc_sa, sizeof(pc_sa));
		if (b)
			snprintf(bind, sizeof(bind), "%s (%s), %s", b->state, b->event,
				 b->impi[0] ? b->impi : "?");
		else
			snprintf(bind, sizeof(bind), "none");
		fprintf(out, "  %-6s %-16s %-38s %-9s %-16s %-38s %s\n", a->name, a->state, ue_sa,
			a->pcscf[0] ? a->pcscf : "?", f ? f->state : "none", pc_sa, bind);
	}
	fprintf(out,
		"  S-CSCF: %llu REGISTERs, %llu challenges, %llu probes (%llu kept), %llu "
		"requests forwarded\n",
		(unsigned long long)s->scscf.registers,
		(unsigned long long)s->scscf.challenges_sent, (unsigned long long)s->scscf.probes,
		(unsigned long long)s->scscf.probes_kept, (unsigned long long)s->scscf.forwarded);
}
