#define SLOG_COMPONENT "lab"
#include "lab/matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "lab/lab.h"
#include "lab/scenario.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const outcome_codes[] = {
#define X(id, code, text) code,
	LAB_OUTCOMES(X)
#undef X
};

static const char *const outcome_texts[] = {
#define X(id, code, text) text,
	LAB_OUTCOMES(X)
#undef X
};

const char *lab_outcome_code(enum lab_outcome o)
{
	return (unsigned)o < N(outcome_codes) ? outcome_codes[o] : "?";
}

const char *lab_outcome_text(enum lab_outcome o)
{
	return (unsigned)o < N(outcome_texts) ? outcome_texts[o] : "?";
}

/* DESIGN.md section 4: every mechanism with both P-CSCF bindings in both
 * topologies. The rows name the combinations; what they do is measured. */
const struct lab_row_spec lab_matrix_rows[] = {
#define ROWS(m)                                                                \
	{ m, "impi", "t1" }, { m, "impi", "t2" }, { m, "registration", "t1" }, \
	{                                                                      \
		m, "registration", "t2"                                        \
	}
	ROWS("none"),
	ROWS("outbound"),
	ROWS("regevent-probe"),
	ROWS("modified-impi"),
	ROWS("modified-impi+outbound"),
	ROWS("modified-impi+regevent-probe"),
#undef ROWS
	{ NULL, NULL, NULL },
};

/* ---- classification ---------------------------------------------------------- */

/*
 * Access A (0) registered first, B (1) second. "Works" is the three
 * columns of DESIGN.md section 4 together: both bindings live, a request
 * reaches the UE over both, and re-authenticating one leaves the other's
 * SAs alone. The failures are told apart by what is left of A.
 */
enum lab_outcome lab_row_classify(const struct lab_row_result *r)
{
	bool prot[2], msg[2];

	if (r->error)
		return LAB_OUTCOME_FAILED;
	for (int i = 0; i < 2; i++) {
		prot[i] = r->sa_ue[i] && r->sa_pcscf[i];
		msg[i] = (r->msg_delivered >> i) & 1;
	}
	if (r->binding[0] && r->binding[1] && prot[0] && prot[1] && msg[0] && msg[1]) {
		if (r->reauth == LAB_REAUTH_DONE && r->other_untouched)
			return LAB_OUTCOME_WORKS;
		return LAB_OUTCOME_REAUTH_DISTURBS;
	}
	if (!prot[1] && !prot[0] && !msg[0] && !msg[1])
		return LAB_OUTCOME_NOTHING;
	/* The legacy registrar: the second registration replaced the first. */
	if (!r->binding[0] && r->binding[1] && prot[1] && msg[1] && !msg[0])
		return LAB_OUTCOME_NEWEST_ONLY;
	/* The registrar kept both, but A's P-CSCF deleted A's SAs when B
	 * registered: requests for A have nowhere to go. */
	if (r->binding[0] && r->binding[1] && !r->sa_pcscf[0] && prot[1] && msg[1] && !msg[0])
		return LAB_OUTCOME_FIRST_SAS_GONE;
	return LAB_OUTCOME_UNEXPECTED;
}

/* ---- one row ---------------------------------------------------------------------- */

static void record(struct lab_row_result *r, const struct lab_snapshot *s)
{
	for (int i = 0; i < 2 && (size_t)i < s->n_accesses; i++) {
		const struct lab_access_obs *a = &s->accesses[i];

		snprintf(r->access[i], sizeof(r->access[i]), "%s", a->name);
		snprintf(r->impi[i], sizeof(r->impi[i]), "%s", a->impi);
		r->registered[i] = strcmp(a->state, "registered") == 0;
		r->binding[i] = lab_obs_binding(s, a) != NULL;
		r->sa_ue[i] = lab_obs_ue_protected(a);
		r->sa_pcscf[i] = lab_obs_pcscf_protected(s, a);
	}
	r->bindings = 0;
	for (size_t i = 0; i < s->n_bindings; i++)
		r->bindings += strcmp(s->bindings[i].state, "active") == 0;
	r->scscf_registers = s->scscf.registers;
	r->scscf_challenges = s->scscf.challenges_sent;
}

static bool same_sa(const struct lab_sa_obs *x, const struct lab_sa_obs *y)
{
	return x && y && x->set == y->set && x->spi_uc == y->spi_uc && x->spi_us == y->spi_us &&
	       x->spi_pc == y->spi_pc && x->spi_ps == y->spi_ps;
}

static bool spis_differ(const struct lab_sa_obs *x, const struct lab_sa_obs *y)
{
	return x && y && x->spi_us != y->spi_us && x->spi_ps != y->spi_ps;
}

/*
 * Re-authenticate A when both accesses are protected, and compare: A must
 * have a new set (other SPIs) at the UE and its P-CSCF; B's must be the
 * very same set, still protecting B, on both sides.
 */
static int reauth_first(const struct lab *lab, const struct lab_snapshot *before,
			struct lab_row_result *r)
{
	const struct lab_access_obs *a0 = &before->accesses[0], *b0 = &before->accesses[1];
	const struct lab_access_obs *a1, *b1;
	struct lab_snapshot after;
	int rc;

	if (!(r->sa_ue[0] && r->sa_pcscf[0] && r->sa_ue[1] && r->sa_pcscf[1])) {
		r->reauth = LAB_REAUTH_NOT_TRIED;
		return 0;
	}
	rc = lab_step_reauth(lab, a0->name, &after);
	if (rc == -ENOENT || rc == -ETIMEDOUT) {
		r->reauth = LAB_REAUTH_FAILED;
		return 0;
	}
	if (rc)
		return rc;
	a1 = lab_obs_access(&after, a0->name);
	b1 = lab_obs_access(&after, b0->name);
	r->reauth = lab_obs_ue_protected(a1) && lab_obs_pcscf_protected(&after, a1) &&
				    spis_differ(&a0->sa, &a1->sa) &&
				    spis_differ(lab_obs_flow_sa(lab_obs_flow(before, a0)),
						lab_obs_flow_sa(lab_obs_flow(&after, a1)))
			    ? LAB_REAUTH_DONE
			    : LAB_REAUTH_FAILED;
	r->other_untouched = lab_obs_ue_protected(b1) && lab_obs_pcscf_protected(&after, b1) &&
			     same_sa(&b0->sa, &b1->sa) &&
			     same_sa(lab_obs_flow_sa(lab_obs_flow(before, b0)),
				     lab_obs_flow_sa(lab_obs_flow(&after, b1)));
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int row_steps(const struct lab *lab, struct lab_row_result *r)
{
	struct lab_snapshot s;
	struct lab_msg_result m;
	int rc;

	rc = lab_observe(lab, &s);
	if (rc)
		return rc;
	if (s.n_accesses < 2) {
		snprintf(r->error_what, sizeof(r->error_what),
			 "the UE has fewer than two accesses");
		return -EINVAL;
	}
	rc = lab_step_register(lab, s.accesses[0].name, &s);
	if (!rc)
		rc = lab_step_register(lab, s.accesses[1].name, &s);
	if (rc)
		return rc;
	record(r, &s);
	rc = lab_step_message(lab, "a MESSAGE for every access", &m);
	if (rc)
		return rc;
	r->msg_status = m.status;
	r->msg_delivered = m.delivered;
	rc = reauth_first(lab, &s, r);
	/* The S-CSCF's counters at the end, to compare with the captures. */
	if (!rc)
		rc = lab_observe(lab, &s);
	if (!rc) {
		r->scscf_registers = s.scscf.registers;
		r->scscf_challenges = s.scscf.challenges_sent;
	}
	return rc;
}

/*
 * A row whose captures do not check out says why on stderr, in one write
 * (rows run side by side): the evidence table with what tshark says of
 * any malformed frame, and its octets.
 */
static void print_bad_captures(const char *name, const struct lab_capture_evidence *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	fprintf(f, "%s: the captures do not check out\n", name);
	lab_evidence_print(e, NULL, f);
	if (fclose(f) == 0)
		fwrite(text, 1, len, stderr);
	free(text);
}

int lab_row_run(const struct lab_row_spec *row, const char *dir, const struct lab_run_opts *o,
		struct lab_row_result *r)
{
	struct lab_deploy_opts d = {
		.mechanism = row->mechanism,
		.binding = row->binding,
		.backend = o->backend,
		.ue_backend = o->ue_backend,
		.keys = true,
		.simreg = o->simreg,
	};
	struct lab_up_opts up = {
		.topology = row->topology,
		.dir = dir,
		.ready_timeout_ms = o->ready_timeout_ms ? o->ready_timeout_ms : 15000,
		.grace_ms = 3000,
		.deploy = &d,
		.cancel = o->cancel,
	};
	struct lab lab;
	uint64_t start = now_ms();
	int rc, down;

	memset(r, 0, sizeof(*r));
	r->row = *row;
	snprintf(r->name, sizeof(r->name), "%s/%s/%s", row->topology, row->mechanism, row->binding);
	rc = lab_up(&up);
	if (rc) {
		r->error = rc;
		snprintf(r->error_what, sizeof(r->error_what), "lab up failed: %s", strerror(-rc));
		goto out;
	}
	rc = lab_state_read(dir, &lab);
	if (!rc)
		rc = row_steps(&lab, r);
	if (rc) {
		r->error = rc;
		if (!r->error_what[0])
			snprintf(r->error_what, sizeof(r->error_what), "a step failed: %s",
				 strerror(-rc));
	}
	down = lab_down(dir, 3000);
	if (!rc && down) {
		r->error = rc = down;
		snprintf(r->error_what, sizeof(r->error_what), "lab down failed");
	}
	if (!rc && o->evidence) {
		struct lab_capture_evidence e;

		rc = lab_evidence_keys(&lab, o->simreg, &r->keys);
		if (!rc)
			rc = lab_evidence_captures(&lab, -1, -1, &e);
		if (!rc) {
			r->captures_measured = true;
			r->captures_ok = e.all_decode && e.counts_agree;
			for (size_t i = 0; i < e.n_links; i++)
				r->esp_packets += e.links[i].esp;
			if (!r->captures_ok)
				print_bad_captures(r->name, &e);
		}
		if (rc) {
			r->error = rc;
			snprintf(r->error_what, sizeof(r->error_what),
				 "reading the captures failed");
		}
	}
	lab_free(&lab);
out:
	r->ms = now_ms() - start;
	r->outcome = lab_row_classify(r);
	return rc;
}

/* ---- JSON ------------------------------------------------------------------------ */

static const char *const reauth_names[] = { "not-tried", "done", "failed" };

static void pair(struct json_writer *w, const char *key, const bool v[2])
{
	json_key(w, key);
	json_begin_array(w);
	json_bool(w, v[0]);
	json_bool(w, v[1]);
	json_end_array(w);
}

void lab_row_write_json(const struct lab_row_result *r, struct json_writer *w)
{
	json_begin_object(w);
	json_kv_cstring(w, "row", r->name);
	json_kv_cstring(w, "mechanism", r->row.mechanism);
	json_kv_cstring(w, "binding", r->row.binding);
	json_kv_cstring(w, "topology", r->row.topology);
	json_kv_cstring(w, "outcome", lab_outcome_code(r->outcome));
	json_kv_cstring(w, "outcome_text", lab_outcome_text(r->outcome));
	json_kv_cstring(w, "error", r->error ? r->error_what : NULL);
	json_kv_int(w, "ms", (int64_t)r->ms);
	json_key(w, "accesses");
	json_begin_array(w);
	for (int i = 0; i < 2; i++) {
		json_begin_object(w);
		json_kv_cstring(w, "name", r->access[i]);
		json_kv_cstring(w, "impi", r->impi[i]);
		json_end_object(w);
	}
	json_end_array(w);
	pair(w, "registered", r->registered);
	pair(w, "live_at_scscf", r->binding);
	json_kv_int(w, "contacts_at_scscf", r->bindings);
	pair(w, "sa_ue", r->sa_ue);
	pair(w, "sa_pcscf", r->sa_pcscf);
	json_kv_int(w, "message_status", r->msg_status);
	{
		bool got[2] = { r->msg_delivered & 1, (r->msg_delivered >> 1) & 1 };

		pair(w, "message_delivered", got);
	}
	json_kv_cstring(w, "reauth", reauth_names[r->reauth]);
	json_kv_bool(w, "other_untouched", r->other_untouched);
	json_kv_int(w, "scscf_registers", (int64_t)r->scscf_registers);
	json_kv_int(w, "scscf_challenges", (int64_t)r->scscf_challenges);
	json_key(w, "keys");
	lab_keys_write_json(&r->keys, w);
	json_key(w, "captures");
	json_begin_object(w);
	json_kv_bool(w, "measured", r->captures_measured);
	json_kv_bool(w, "ok", r->captures_ok);
	json_kv_int(w, "esp_packets", r->esp_packets);
	json_end_object(w);
	json_end_object(w);
}

static void read_pair(const struct json_value *o, const char *key, bool out[2])
{
	const struct json_value *v = json_get(o, key);
	int i = 0;

	out[0] = out[1] = false;
	if (!v || v->type != JSON_ARRAY)
		return;
	json_for_each (x, v) {
		if (i < 2)
			out[i++] = x->type == JSON_BOOL && x->u.boolean;
	}
}

static void read_str(const struct json_value *o, const char *key, char *out, size_t size)
{
	struct str s;

	out[0] = 0;
	if (json_get_str(o, key, &s) == 0)
		str_copy(out, size, s);
}

int lab_row_read_json(const char *path, struct lab_row_result *r)
{
	struct json_value *root;
	const struct json_value *acc;
	struct arena a;
	char *text = NULL, name[96];
	size_t len = 0;
	FILE *f;
	int64_t x;
	bool got[2];
	int rc = -EINVAL;

	memset(r, 0, sizeof(*r));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	arena_init(&a, 0, 0);
	text = arena_alloc(&a, 1 << 20);
	if (text)
		len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	if (!text || json_parse(&a, str_make(text, len), &root, NULL))
		goto out;
	read_str(root, "row", name, sizeof(name));
	for (const struct lab_row_spec *s = lab_matrix_rows; s->mechanism; s++) {
		char n[96];

		snprintf(n, sizeof(n), "%s/%s/%s", s->topology, s->mechanism, s->binding);
		if (!strcmp(n, name))
			r->row = *s;
	}
	if (!r->row.mechanism)
		goto out;
	snprintf(r->name, sizeof(r->name), "%s", name);
	read_str(root, "error", r->error_what, sizeof(r->error_what));
	r->error = r->error_what[0] ? -EIO : 0;
	if (!json_get_int(root, "ms", &x))
		r->ms = (uint64_t)x;
	acc = json_get(root, "accesses");
	if (acc && acc->type == JSON_ARRAY) {
		int i = 0;

		json_for_each (o, acc) {
			if (i < 2) {
				read_str(o, "name", r->access[i], sizeof(r->access[i]));
				read_str(o, "impi", r->impi[i], sizeof(r->impi[i]));
				i++;
			}
		}
	}
	read_pair(root, "registered", r->registered);
	read_pair(root, "live_at_scscf", r->binding);
	if (!json_get_int(root, "contacts_at_scscf", &x))
		r->bindings = (unsigned)x;
	read_pair(root, "sa_ue", r->sa_ue);
	read_pair(root, "sa_pcscf", r->sa_pcscf);
	if (!json_get_int(root, "message_status", &x))
		r->msg_status = (int)x;
	read_pair(root, "message_delivered", got);
	r->msg_delivered = got[0] | got[1] << 1;
	{
		char re[16];

		read_str(root, "reauth", re, sizeof(re));
		for (size_t i = 0; i < N(reauth_names); i++)
			if (!strcmp(re, reauth_names[i]))
				r->reauth = (enum lab_reauth)i;
	}
	json_get_bool(root, "other_untouched", &r->other_untouched);
	if (!json_get_int(root, "scscf_registers", &x))
		r->scscf_registers = (uint64_t)x;
	if (!json_get_int(root, "scscf_challenges", &x))
		r->scscf_challenges = (uint64_t)x;
	lab_keys_read_json(json_get(root, "keys"), &r->keys);
	{
		const struct json_value *c = json_get(root, "captures");

		if (c && c->type == JSON_OBJECT) {
			json_get_bool(c, "measured", &r->captures_measured);
			json_get_bool(c, "ok", &r->captures_ok);
			if (!json_get_int(c, "esp_packets", &x))
				r->esp_packets = (unsigned)x;
		}
	}
	/* The outcome is classified again from the measurements read back. */
	r->outcome = lab_row_classify(r);
	rc = 0;
out:
	arena_destroy(&a);
	return rc;
}

/* ---- the matrix -------------------------------------------------------------------- */

static bool selected(const struct lab_row_spec *s, const char *filter)
{
	char name[96], pat[128];
	const char *p = filter;

	if (!filter || !*filter)
		return true;
	snprintf(name, sizeof(name), "%s/%s/%s", s->topology, s->mechanism, s->binding);
	while (*p) {
		size_t n = strcspn(p, ",");

		snprintf(pat, sizeof(pat), "%.*s", (int)n, p);
		/* A bare word matches any part: "outbound" picks both of its
		 * mechanisms, "t2" a topology. */
		if (!fnmatch(pat, name, 0) || (!strpbrk(pat, "*?[") && strstr(name, pat)))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static void row_dir(const char *base, const struct lab_row_spec *s, char *out, size_t size)
{
	snprintf(out, size, "%s/%s-%s-%s", base, s->topology, s->mechanism, s->binding);
}

static int write_result(const char *dir, const struct lab_row_result *r)
{
	struct json_writer w;
	struct str doc;
	char path[4200];
	FILE *f;
	int rc;

	json_writer_init(&w, JSON_PRETTY);
	lab_row_write_json(r, &w);
	rc = json_writer_finish(&w, &doc);
	snprintf(path, sizeof(path), "%s/result.json", dir);
	if (!rc) {
		f = fopen(path, "we");
		if (!f || fwrite(doc.s, 1, doc.len, f) != doc.len)
			rc = -EIO;
		if (f && fclose(f))
			rc = -EIO;
	}
	json_writer_free(&w);
	return rc;
}

/* A row in a child process: its own lab, its own log, its result in a
 * file. The parent only reads results. */
static pid_t spawn_row(const struct lab_row_spec *s, const struct lab_matrix_opts *o,
		       const char *dir)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct lab_row_result r;
		char path[4200];
		int fd;

		mkdir(dir, 0755);
		snprintf(path, sizeof(path), "%s/matrix.log", dir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			/* The logger writes through a descriptor of its own. */
			slog_drain();
			dup2(fd, slog_fd());
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		lab_row_run(s, dir, &o->run, &r);
		write_result(dir, &r);
		log_info("%s: %s (%llu ms)", r.name, lab_outcome_code(r.outcome),
			 (unsigned long long)r.ms);
		slog_drain();
		fflush(stdout);
		_exit(r.error ? 1 : 0);
	}
	return pid;
}

static void yesno(FILE *out, bool a, bool b)
{
	fprintf(out, " %c%c", a ? 'A' : '-', b ? 'B' : '-');
}

static const char *reauth_cell(const struct lab_row_result *r)
{
	if (r->reauth == LAB_REAUTH_NOT_TRIED)
		return "n/a";
	if (r->reauth == LAB_REAUTH_FAILED)
		return "failed";
	return r->other_untouched ? "B kept" : "B lost";
}

static void print_text(const struct lab_row_result *res, size_t n, FILE *out)
{
	fprintf(out, "%-30s %-13s %-4s %8s %6s %10s %7s %-8s %-10s %s\n", "mechanism", "P-CSCF",
		"topo", "bindings", "SAs UE", "SAs P-CSCF", "MESSAGE", "reauth A", "vectors",
		"outcome");
	for (size_t i = 0; i < n; i++) {
		const struct lab_row_result *r = &res[i];
		char vec[16];

		if (!r->name[0])
			continue;
		fprintf(out, "%-30s %-13s %-4s     ", r->row.mechanism, r->row.binding,
			r->row.topology);
		yesno(out, r->binding[0], r->binding[1]);
		fprintf(out, "    ");
		yesno(out, r->sa_ue[0], r->sa_ue[1]);
		fprintf(out, "        ");
		yesno(out, r->sa_pcscf[0], r->sa_pcscf[1]);
		fprintf(out, "     ");
		yesno(out, r->msg_delivered & 1, r->msg_delivered & 2);
		if (r->keys.measured)
			snprintf(vec, sizeof(vec), "%u/%u %s", r->keys.verified, r->keys.vectors,
				 lab_keys_ok(&r->keys) && r->captures_ok ? "ok" : "BAD");
		else
			snprintf(vec, sizeof(vec), "-");
		fprintf(out, " %-8s %-10s %s\n", reauth_cell(r), vec, lab_outcome_text(r->outcome));
		if (r->error)
			fprintf(out, "%30s error: %s\n", "", r->error_what);
	}
}

/* The table of DESIGN.md section 4, rebuilt from the outcomes: one line
 * per mechanism and binding, or one for both bindings when they agree. */
static void print_summary(const struct lab_row_result *res, size_t n, FILE *out)
{
	fprintf(out, "\n| mechanism | P-CSCF binding | T1 | T2 |\n|---|---|---|---|\n");
	for (const char *const *m = lab_mechanisms; *m; m++) {
		const struct lab_row_result *cell[2][2] = { { NULL } }; /* [binding][topology] */
		bool same;

		for (size_t i = 0; i < n; i++) {
			int b = res[i].name[0] && strcmp(res[i].row.binding, "impi") == 0;

			if (!res[i].name[0])
				continue;
			int t = strcmp(res[i].row.topology, "t2") == 0;

			if (!strcmp(res[i].row.mechanism, *m))
				cell[b][t] = &res[i];
		}
		same = cell[0][0] && cell[0][1] && cell[1][0] && cell[1][1] &&
		       cell[0][0]->outcome == cell[1][0]->outcome &&
		       cell[0][1]->outcome == cell[1][1]->outcome;
		for (int b = 1; b >= 0; b--) {
			if (!cell[b][0] && !cell[b][1])
				continue;
			fprintf(out, "| %s | %s | %s | %s |\n", *m,
				same ? "any"
				: b  ? "impi"
				     : "registration",
				cell[b][0] ? lab_outcome_text(cell[b][0]->outcome) : "(not run)",
				cell[b][1] ? lab_outcome_text(cell[b][1]->outcome) : "(not run)");
			if (same)
				break;
		}
	}
}

int lab_matrix_run(const struct lab_matrix_opts *o, FILE *out)
{
	const struct lab_row_spec *sel[64];
	struct lab_row_result *res;
	pid_t pids[64] = { 0 };
	size_t n = 0, next = 0, running = 0, done = 0;
	unsigned failed = 0;
	char dir[4096];

	for (const struct lab_row_spec *s = lab_matrix_rows; s->mechanism && n < N(sel); s++)
		if (selected(s, o->filter))
			sel[n++] = s;
	if (!n) {
		log_error("no row matches '%s'", o->filter);
		return -EINVAL;
	}
	res = calloc(n, sizeof(*res));
	if (!res)
		return -ENOMEM;
	log_info("running %zu rows, %u at a time, in %s", n, o->jobs, o->dir);
	while (done < n) {
		int status;
		pid_t pid;

		while (running < o->jobs && next < n && !(o->run.cancel && *o->run.cancel)) {
			row_dir(o->dir, sel[next], dir, sizeof(dir));
			pids[next] = spawn_row(sel[next], o, dir);
			if (pids[next] < 0) {
				log_error("fork: %s", strerror(errno));
				break;
			}
			running++;
			next++;
		}
		if (!running)
			break;
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < next; i++) {
			if (pids[i] != pid)
				continue;
			row_dir(o->dir, sel[i], dir, sizeof(dir));
			strncat(dir, "/result.json", sizeof(dir) - strlen(dir) - 1);
			if (lab_row_read_json(dir, &res[i])) {
				res[i].row = *sel[i];
				snprintf(res[i].name, sizeof(res[i].name), "%s/%s/%s",
					 sel[i]->topology, sel[i]->mechanism, sel[i]->binding);
				res[i].error = -EIO;
				snprintf(res[i].error_what, sizeof(res[i].error_what),
					 "the run left no result (see its matrix.log)");
				res[i].outcome = LAB_OUTCOME_FAILED;
			}
			failed += res[i].error != 0;
			if (!o->json)
				log_info("%-40s %s", res[i].name, lab_outcome_text(res[i].outcome));
			running--;
			done++;
		}
	}
	if (done < n)
		failed += (unsigned)(n - done);
	if (o->json) {
		struct json_writer w;
		struct str doc;

		json_writer_init(&w, JSON_PRETTY);
		json_begin_object(&w);
		json_key(&w, "rows");
		json_begin_array(&w);
		for (size_t i = 0; i < n; i++)
			if (res[i].name[0])
				lab_row_write_json(&res[i], &w);
		json_end_array(&w);
		json_kv_int(&w, "failed", failed);
		json_end_object(&w);
		if (!json_writer_finish(&w, &doc))
			fprintf(out, "%.*s\n", (int)doc.len, doc.s);
		json_writer_free(&w);
	} else {
		print_text(res, n, out);
		print_summary(res, n, out);
	}
	free(res);
	return (int)failed;
}
