#define SLOG_COMPONENT "lab"
#include "lab/demo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "lab/diagram.h"
#include "lab/evidence.h"
#include "lab/lab.h"
#include "lab/matrix.h"
#include "lab/scenario.h"

#define WIDTH 78

struct act {
	const char *name; /* subdirectory */
	const char *title;
	const char *topology, *mechanism, *binding;
	const char *intro;
	/* filled while it runs */
	char dir[4096];
	bool ran;
	bool live[2], protected_[2];
	int msg;
	const char *reauth; /* what re-authenticating did */
	const char *drop;   /* what dropping wlan did */
	bool evidence_ok;
	unsigned diagram_messages;
	enum lab_outcome outcome;
	bool as_designed;
};

/* ---- narration ------------------------------------------------------------------ */

/* Print @text wrapped at WIDTH, the first line after @lead, the others
 * indented like it. */
static void say(FILE *out, const char *lead, const char *fmt, ...)
{
	char text[2048];
	const char *nl = strrchr(lead, '\n');
	size_t indent = strlen(nl ? nl + 1 : lead), col;
	const char *p = text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fputs(lead, out);
	col = indent;
	while (*p) {
		size_t w = strcspn(p, " ");

		if (col > indent && col + 1 + w > WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, w, out);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
	fflush(out);
}

/* "pcscf" -> "P-CSCF", "pcscf-a" -> "P-CSCF A". */
static const char *pcscf_name(const char *fn, char *buf, size_t size)
{
	const char *dash = strchr(fn, '-');

	if (dash && dash[1] && !dash[2])
		snprintf(buf, size, "P-CSCF %c", dash[1] - 'a' + 'A');
	else
		snprintf(buf, size, "P-CSCF");
	return buf;
}

static void sa_line(FILE *out, const struct lab_snapshot *s, const struct lab_access_obs *a)
{
	const struct lab_flow_obs *f = lab_obs_flow(s, a);
	const struct lab_sa_obs *p = lab_obs_flow_sa(f);
	const struct lab_binding_obs *b = lab_obs_binding(s, a);
	char pc[16];

	pcscf_name(a->pcscf, pc, sizeof(pc));
	if (lab_obs_ue_protected(a))
		say(out, "     ",
		    "UE %s: %s as %s, SA set %llu (the UE receives on SPI 0x%08x, the "
		    "P-CSCF on 0x%08x, %s/%s).",
		    a->name, a->state, a->impi, (unsigned long long)a->sa.set, a->sa.spi_us,
		    a->sa.spi_ps, a->sa.alg, a->sa.ealg);
	else
		say(out, "     ", "UE %s: %s, no SA set.", a->name, a->state);
	if (p)
		say(out, "     ", "%s: flow %llu of %s, %s%s, SA set with SPIs 0x%08x/0x%08x.", pc,
		    (unsigned long long)f->id, f->impi, f->state,
		    f->failed ? " but failed (silent)" : "", p->spi_us, p->spi_ps);
	else
		say(out, "     ", "%s: no SA set for %s%s%s.", pc, a->name, f ? ", flow " : "",
		    f ? f->state : "");
	if (b)
		say(out, "     ", "S-CSCF: binding %llu %s (%s) for %s, contact %s.",
		    (unsigned long long)b->id, b->state, b->event, b->impi[0] ? b->impi : "?",
		    b->contact);
	else
		say(out, "     ", "S-CSCF: no live binding for %s.", a->name);
}

static void show(FILE *out, const struct lab_snapshot *s)
{
	for (size_t i = 0; i < s->n_accesses; i++)
		sa_line(out, s, &s->accesses[i]);
}

static const char *accesses_of(const struct lab_snapshot *s, int mask, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < s->n_accesses; i++)
		if (mask & (1 << i))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " and " : "",
					      s->accesses[i].name);
	return n ? buf : "no access";
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the steps of an act ------------------------------------------------------------ */

static void record(struct act *a, const struct lab_snapshot *s)
{
	for (int i = 0; i < 2 && (size_t)i < s->n_accesses; i++) {
		a->live[i] = lab_obs_binding(s, &s->accesses[i]) != NULL;
		a->protected_[i] = lab_obs_ue_protected(&s->accesses[i]) &&
				   lab_obs_pcscf_protected(s, &s->accesses[i]);
	}
}

static int step_register(FILE *out, const struct lab *lab, const char *access, const char *why,
			 struct lab_snapshot *s)
{
	int rc;

	say(out, "\n  -- ", "%s", why);
	rc = lab_step_register(lab, access, s);
	if (!rc)
		show(out, s);
	return rc;
}

/* Returns the accesses the MESSAGE reached (bit per access), or a
 * negative errno. */
static int step_message(FILE *out, const struct lab *lab, const char *why, struct lab_snapshot *s)
{
	struct lab_msg_result m;
	char got[64];
	int rc;

	say(out, "\n  -- ", "%s", why);
	rc = lab_step_message(lab, "hello from the core", &m);
	if (rc)
		return rc;
	rc = lab_observe(lab, s);
	if (rc)
		return rc;
	say(out, "     ",
	    "The S-CSCF forked it to %llu binding(s); the UE received it over %s; "
	    "the application server got %d.",
	    (unsigned long long)s->n_bindings, accesses_of(s, m.delivered, got, sizeof(got)),
	    m.status);
	return m.delivered;
}

static const struct lab_access_obs *access_n(const struct lab_snapshot *s, size_t i)
{
	return i < s->n_accesses ? &s->accesses[i] : NULL;
}

static int step_reauth(FILE *out, const struct lab *lab, struct act *a, size_t which,
		       const struct lab_snapshot *before)
{
	const struct lab_access_obs *x0 = access_n(before, which), *y0 = access_n(before, !which);
	const struct lab_access_obs *x1, *y1;
	struct lab_snapshot after;
	bool new_set, kept;
	int rc;

	if (!x0 || !y0)
		return -EINVAL;
	say(out, "\n  -- ",
	    "The network re-authenticates %s alone: the S-CSCF marks its binding "
	    "(TS 24.229 5.4.1.6) and challenges the next REGISTER from %s with a fresh vector; "
	    "the UE and the P-CSCF make a new SA set for %s. %s must keep its set.",
	    x0->name, x0->name, x0->name, y0->name);
	rc = lab_step_reauth(lab, x0->name, &after);
	if (rc == -ENOENT) {
		a->reauth = "no binding to re-authenticate";
		say(out, "     ", "%s has no binding at the S-CSCF: nothing to re-authenticate.",
		    x0->name);
		return 0;
	}
	if (rc)
		return rc;
	x1 = lab_obs_access(&after, x0->name);
	y1 = lab_obs_access(&after, y0->name);
	new_set = x1 && lab_obs_ue_protected(x1) && x1->sa.spi_us != x0->sa.spi_us;
	kept = y1 && lab_obs_ue_protected(y1) && lab_obs_pcscf_protected(&after, y1) &&
	       y1->sa.set == y0->sa.set && y1->sa.spi_us == y0->sa.spi_us &&
	       y1->sa.spi_ps == y0->sa.spi_ps;
	say(out, "     ", "%s: SA set %llu (SPIs 0x%08x/0x%08x) became set %llu (0x%08x/0x%08x).",
	    x0->name, (unsigned long long)x0->sa.set, x0->sa.spi_us, x0->sa.spi_ps,
	    x1 ? (unsigned long long)x1->sa.set : 0ULL, x1 ? x1->sa.spi_us : 0,
	    x1 ? x1->sa.spi_ps : 0);
	say(out, "     ", "%s: SA set %llu (0x%08x/0x%08x) %s.", y0->name,
	    (unsigned long long)y0->sa.set, y0->sa.spi_us, y0->sa.spi_ps,
	    kept ? "untouched, at the UE and at the P-CSCF" : "CHANGED OR GONE");
	a->reauth = new_set && kept ? "alone: new set, the other kept" : "disturbed the other";
	return 0;
}

struct notice_goal {
	const char *access;
};

/* The network has let go of the access: its flow failed at the P-CSCF, or no binding is left. */
static bool noticed(const struct lab_snapshot *s, void *ctx)
{
	const struct notice_goal *g = ctx;
	const struct lab_access_obs *a = lab_obs_access(s, g->access);
	const struct lab_flow_obs *f = a ? lab_obs_flow(s, a) : NULL;

	return !a || !lab_obs_binding(s, a) || !f || f->failed;
}

/* The S-CSCF no longer routes to the access. */
static bool unbound(const struct lab_snapshot *s, void *ctx)
{
	const struct notice_goal *g = ctx;
	const struct lab_access_obs *a = lab_obs_access(s, g->access);

	return !a || !lab_obs_binding(s, a);
}

/*
 * After the P-CSCF failed the flow: the next request for it gets 430 from
 * the P-CSCF, and the S-CSCF ends the binding (RFC 5626 5.3).
 */
static int step_unbind(FILE *out, const struct lab *lab, struct act *a, const char *access,
		       struct lab_snapshot *s)
{
	struct notice_goal g = { access };
	struct lab_msg_result m;
	char got[64];
	int rc;

	say(out, "\n  -- ",
	    "The application server sends another MESSAGE. The S-CSCF still forks a copy to "
	    "%s; the P-CSCF answers that branch 430 Flow Failed, and the S-CSCF, hearing it, "
	    "ends the binding (RFC 5626 5.3) and tells its reg-event watchers.",
	    access);
	rc = lab_step_message(lab, "hello again from the core", &m);
	if (rc)
		return rc;
	rc = lab_settle(lab, unbound, &g, 0, 5000, s);
	if (rc && rc != -ETIMEDOUT)
		return rc;
	say(out, "     ", "The UE received it over %s; the application server got %d. %s",
	    accesses_of(s, m.delivered, got, sizeof(got)), m.status,
	    rc ? "The S-CSCF STILL HOLDS the binding." :
		 "The S-CSCF has let go of the binding.");
	a->drop = rc ? "flow failed at the P-CSCF, binding kept" :
		       "noticed: flow failed at the P-CSCF, binding ended on its 430";
	return 0;
}

static int step_drop(FILE *out, const struct lab *lab, struct act *a, const char *access,
		     int wait_ms)
{
	struct notice_goal g = { access };
	struct lab_snapshot s;
	struct timespec t0;
	int rc;

	say(out, "\n  -- ",
	    "The %s link drops: the phone loses the access without a word to the "
	    "network (its sockets close, its SAs for %s go).",
	    access, access);
	rc = lab_step_drop(lab, access, &s);
	if (rc)
		return rc;
	show(out, &s);
	rc = step_message(out, lab,
			  "Meanwhile the application server sends another MESSAGE. The S-CSCF "
			  "still forks a copy to the dropped access.",
			  &s);
	if (rc < 0)
		return rc;
	say(out, "\n  -- ",
	    "Does the network notice? The S-CSCF asked every outbound flow for a keepalive "
	    "at least every %d s (Flow-Timer, RFC 5626 4.4.1); the P-CSCF counts what the "
	    "inbound SAs of each flow accept and fails a flow silent for %d s more. "
	    "Watching for %d s.",
	    LAB_FLOW_TIMER_S, LAB_FLOW_GRACE_S, wait_ms / 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = lab_settle(lab, noticed, &g, 0, wait_ms, &s);
	if (rc && rc != -ETIMEDOUT)
		return rc;
	if (!rc) {
		say(out, "     ",
		    "It did, %.1f s after the drop: the P-CSCF judged the %s flow failed "
		    "(its SAs stay until the registration ends).",
		    secs_since(&t0), access);
		show(out, &s);
		rc = step_unbind(out, lab, a, access, &s);
		if (rc)
			return rc;
	} else {
		a->drop = "not noticed until the UE came back";
		say(out, "     ",
		    "Not within %d s: the S-CSCF still holds the %s binding and the "
		    "P-CSCF its flow and SAs; the copies for %s are lost.",
		    wait_ms / 1000, access, access);
	}
	show(out, &s);
	say(out, "\n  -- ",
	    "The %s link comes back; the UE registers it again after the RFC 5626 "
	    "back-off (2 s in the lab).",
	    access);
	rc = lab_step_restore(lab, access, &s);
	if (rc)
		return rc;
	show(out, &s);
	return 0;
}

/* ---- the acts ------------------------------------------------------------------------- */

static int act_up(FILE *out, struct act *a, const struct lab_demo_opts *o, struct lab *lab)
{
	struct lab_deploy_opts d = {
		.mechanism = a->mechanism,
		.binding = a->binding,
		.backend = o->backend,
		.ue_backend = o->ue_backend,
		.keys = true,
		.simreg = o->simreg,
	};
	struct lab_up_opts up = {
		.topology = a->topology,
		.dir = a->dir,
		.ready_timeout_ms = 15000,
		.grace_ms = 3000,
		.deploy = &d,
		.cancel = o->cancel,
	};
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	say(out, "  ",
	    "Bringing up topology %s with mechanism %s and a P-CSCF binding SA sets by "
	    "%s: network namespaces, captures on every link, then HSS, S-CSCF, P-CSCF and UE, "
	    "each awaited until it says it is ready.",
	    a->topology, a->mechanism, a->binding);
	fflush(out);
	rc = lab_up(&up);
	if (rc)
		return rc;
	rc = lab_state_read(a->dir, lab);
	if (!rc)
		say(out, "  ", "Up in %.1f s: lab %s in %s.", secs_since(&t0), lab->id, a->dir);
	return rc;
}

static int act_end(FILE *out, struct act *a, const struct lab_demo_opts *o, const struct lab *lab)
{
	struct lab_capture_evidence e;
	struct lab_key_evidence k;
	int rc, n;

	say(out, "\n  ",
	    "Taking the lab down (the UE deregisters what it still has), then "
	    "reading the captures with tshark.");
	fflush(out);
	rc = lab_down(a->dir, 3000);
	if (rc)
		return rc;
	rc = lab_evidence_captures(lab, -1, -1, &e);
	if (!rc)
		rc = lab_evidence_keys(lab, o->simreg, &k);
	if (rc)
		return rc;
	lab_evidence_print(&e, &k, out);
	a->evidence_ok = e.all_decode && e.counts_agree && lab_keys_ok(&k);
	n = lab_diagram_write(lab);
	if (n < 0)
		return n;
	a->diagram_messages = (unsigned)n;
	say(out, "  ", "Sequence diagram of the %d messages: %s/diagram.svg (and diagram.txt).", n,
	    a->dir);
	return 0;
}

static int act_1(FILE *out, struct act *a, const struct lab_demo_opts *o, const struct lab *lab)
{
	struct lab_snapshot s;
	int rc;

	rc = step_register(
		out, lab, "wlan",
		"The phone registers over wlan. Its first REGISTER goes unprotected; the "
		"S-CSCF gets a vector from the HSS (MAR) and challenges it; the P-CSCF "
		"takes IK and CK out of the 401 and installs an SA set; the phone "
		"answers the challenge over that set.",
		&s);
	if (!rc)
		rc = step_register(
			out, lab, "umts",
			"The phone registers over umts too, the same IMPU, the same IMPI, "
			"with the same +sip.instance and reg-id 2 (RFC 5626). A new "
			"challenge, a new RAND, so new keys and a new SA set.",
			&s);
	if (rc)
		return rc;
	record(a, &s);
	say(out, "\n  ", "Both live: %s at the S-CSCF, %s at the P-CSCF.",
	    a->live[0] && a->live[1] ? "two bindings" : "NOT two bindings",
	    a->protected_[0] && a->protected_[1] ? "two SA sets" : "NOT two SA sets");
	rc = step_message(out, lab,
			  "An application server in the core sends a MESSAGE to the IMPU. The "
			  "S-CSCF forks it to every binding, each through its own Path: the "
			  "P-CSCF's flow token picks the flow, and so the SA set.",
			  &s);
	if (rc < 0)
		return rc;
	a->msg = rc;
	rc = step_reauth(out, lab, a, 0, &s);
	if (!rc)
		rc = step_drop(out, lab, a, "wlan", o->notice_wait_ms);
	return rc;
}

static int act_legacy(FILE *out, struct act *a, const struct lab_demo_opts *o,
		      const struct lab *lab)
{
	struct lab_snapshot s;
	int rc;

	(void)o;
	rc = step_register(out, lab, "wlan", "The phone registers over wlan, as before.", &s);
	if (!rc)
		rc = step_register(
			out, lab, "umts",
			!strcmp(a->mechanism, "outbound")
				? "The phone registers over umts with the same IMPI. This "
				  "P-CSCF keys SA sets by IMPI: when this registration "
				  "succeeds it deletes every other set of the IMPI."
				: "The phone registers over umts with the IMPI it derives for "
				  "its second access. The HSS maps it to the same "
				  "subscription and authenticates it with the same K and "
				  "SQN; to this P-CSCF it is another IMPI, so nothing of "
				  "wlan's is deleted.",
			&s);
	if (rc)
		return rc;
	record(a, &s);
	if (a->live[0] && a->live[1] && !a->protected_[0])
		say(out, "\n  ",
		    "The S-CSCF keeps both bindings, but wlan's SA set is gone at the "
		    "P-CSCF: requests for wlan have no way to the phone.");
	else if (a->protected_[0] && a->protected_[1])
		say(out, "\n  ", "Both accesses are bound and protected.");
	rc = step_message(out, lab, "The application server sends a MESSAGE to the IMPU.", &s);
	if (rc < 0)
		return rc;
	a->msg = rc;
	rc = 0;
	if (a->protected_[0] && a->protected_[1])
		rc = step_reauth(out, lab, a, 1, &s);
	return rc;
}

/* The acts, as written; each run works on a copy. */
static const struct act act_table[] = {
	{
		.name = "1-registration",
		.title = "A P-CSCF that keys SA sets by registration flow",
		.topology = "t1",
		.mechanism = "outbound",
		.binding = "registration",
		.intro =
			"One P-CSCF serves both accesses (T1). The UE registers both with RFC 5626 "
			"outbound; the P-CSCF keeps one SA set per registration flow (IMPI, UE "
			"address, ports).",
	},
	{
		.name = "2-legacy",
		.title = "The legacy P-CSCF: SA sets keyed by IMPI",
		.topology = "t1",
		.mechanism = "outbound",
		.binding = "impi",
		.intro =
			"The same, but the P-CSCF behaves like many deployed ones: an SA set "
			"belongs to the IMPI, and a new registration of the IMPI deletes the older "
			"sets.",
	},
	{
		.name = "3-modified-impi",
		.title = "The legacy P-CSCF again, with modified-impi",
		.topology = "t1",
		.mechanism = "modified-impi",
		.binding = "impi",
		.intro = "Same legacy P-CSCF. The UE registers its second access with an IMPI "
			 "derived from its own (alice+2@ims.test), which the HSS knows belongs to "
			 "the same subscription.",
	},
};

#define N_ACTS (sizeof(act_table) / sizeof(act_table[0]))

static int run_act(FILE *out, struct act *acts, size_t i, const struct lab_demo_opts *o)
{
	struct act *a = &acts[i];
	struct lab lab;
	int rc, down;

	/* Freed below whether or not the lab came up far enough to be read. */
	memset(&lab, 0, sizeof(lab));
	snprintf(a->dir, sizeof(a->dir), "%s/%s", o->dir, a->name);
	fprintf(out, "\n== %zu. %s (%s, %s, P-CSCF binding %s)\n\n", i + 1, a->title, a->topology,
		a->mechanism, a->binding);
	say(out, "  ", "%s", a->intro);
	rc = act_up(out, a, o, &lab);
	if (rc) {
		lab_free(&lab);
		return rc;
	}
	rc = i == 0 ? act_1(out, a, o, &lab) : act_legacy(out, a, o, &lab);
	if (rc) {
		log_error("act %zu: %s", i + 1, strerror(-rc));
		down = lab_down(a->dir, 3000);
		(void)down;
	} else {
		rc = act_end(out, a, o, &lab);
	}
	lab_free(&lab);
	a->ran = rc == 0;
	return rc;
}

/* What each act must show (DESIGN.md section 4). */
static void judge(struct act *a)
{
	bool both = a->live[0] && a->live[1] && a->protected_[0] && a->protected_[1] && a->msg == 3;

	if (!strcmp(a->binding, "impi") && !strncmp(a->mechanism, "outbound", 8))
		a->as_designed = a->live[0] && a->live[1] && !a->protected_[0] && a->msg == 2;
	else
		a->as_designed = both && a->reauth && !strncmp(a->reauth, "alone", 5);
	a->as_designed = a->as_designed && a->evidence_ok;
}

static void summary(FILE *out, struct act *acts, const struct lab_demo_opts *o)
{
	fprintf(out, "\n== Summary\n\n");
	fprintf(out, "  %-2s %-14s %-13s %-9s %-11s %-11s %-33s %s\n", "", "mechanism", "P-CSCF",
		"bindings", "SA sets", "MESSAGE", "re-authentication", "evidence");
	for (size_t i = 0; i < N_ACTS; i++) {
		struct act *a = &acts[i];
		char live[8], prot[8], msg[8];

		if (!a->ran) {
			fprintf(out, "  %zu. %-14s %-13s did not run\n", i + 1, a->mechanism,
				a->binding);
			continue;
		}
		judge(a);
		snprintf(live, sizeof(live), "%c%c", a->live[0] ? 'A' : '-',
			 a->live[1] ? 'B' : '-');
		snprintf(prot, sizeof(prot), "%c%c", a->protected_[0] ? 'A' : '-',
			 a->protected_[1] ? 'B' : '-');
		snprintf(msg, sizeof(msg), "%c%c", a->msg & 1 ? 'A' : '-', a->msg & 2 ? 'B' : '-');
		fprintf(out, "  %zu. %-14s %-13s %-9s %-11s %-11s %-33s %s\n", i + 1, a->mechanism,
			a->binding, live, prot, msg,
			a->reauth ? a->reauth : "not tried (A is broken)",
			a->evidence_ok ? "tshark agrees" : "SEE ABOVE");
	}
	fprintf(out, "\n  A = wlan (registered first), B = umts. bindings: live in the S-CSCF's "
		     "reg-event state;\n  SA sets: protected at the UE and at the P-CSCF; MESSAGE: "
		     "the accesses it reached the UE over.\n");
	if (acts[0].drop)
		fprintf(out, "  Act 1, the wlan link dropping: %s.\n", acts[0].drop);
	fprintf(out,
		"\n  Captures, logs, configurations and key logs of each act: %s/<act>/\n"
		"  Sequence diagrams: %s/<act>/diagram.svg and diagram.txt\n"
		"  The whole outcome table, 24 labs: simreg lab matrix\n",
		o->dir, o->dir);
}

int lab_demo_run(const struct lab_demo_opts *o, FILE *out)
{
	struct act acts[N_ACTS];
	unsigned bad = 0;
	int rc = 0;

	memcpy(acts, act_table, sizeof(acts));
	if (mkdir(o->dir, 0755) && errno != EEXIST) {
		log_error("%s: %s", o->dir, strerror(errno));
		return -errno;
	}
	fprintf(out, "simreg lab demo: one phone, two accesses (wlan and umts), one public "
		     "identity.\n");
	say(out, "",
	    "Can it be registered over both at once, each access protected by its own "
	    "IPsec SAs, re-authenticated on its own? Three small networks, built and torn down "
	    "in front of you; everything below is what the network functions reported.");
	for (size_t i = 0; i < N_ACTS && !rc; i++) {
		if (o->cancel && *o->cancel)
			break;
		rc = run_act(out, acts, i, o);
	}
	summary(out, acts, o);
	for (size_t i = 0; i < N_ACTS; i++)
		bad += !acts[i].ran || !acts[i].as_designed;
	if (rc)
		return rc;
	fprintf(out, "\n  %s\n",
		bad ? "Something did not go as DESIGN.md section 4 says: see above."
		    : "Everything went as DESIGN.md section 4 says.");
	return bad ? 1 : 0;
}
