/*
 * simreg lab - bring up, inspect and take down a lab of network namespaces.
 *
 *   simreg lab up --topology t1|t2 --dir DIR [--ready-timeout MS] [--grace MS]
 *                 [--exec NAME ROLE READY CMD [ARG...] ';']...
 *   simreg lab down --dir DIR [--grace MS]
 *   simreg lab status --dir DIR
 *   simreg lab plan --topology t1|t2 [--commands]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"
#include "lab/command.h"
#include "lab/lab.h"
#include "lab/demo.h"
#include "lab/diagram.h"
#include "lab/evidence.h"
#include "lab/matrix.h"
#include "lab/scenario.h"

/* The S-CSCF reports "ready" within 10 s even without the HSS; the lab
 * waits a little longer for the words that say it is connected. */
#define DEFAULT_READY_MS 15000
#define DEFAULT_GRACE_MS 3000
#define MAX_EXEC 16

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	(void)sig;
	cancelled = 1;
}

static void print_help(void)
{
	printf(
		"NAME\n"
		"       simreg lab - one phone, two accesses: the IMS network in namespaces\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg lab demo [--dir DIR] [--backend B] [--ue-backend B]\n"
		"                       [--notice-wait S]\n"
		"       simreg lab matrix [--json] [--rows FILTER] [--jobs N] [--dir DIR]\n"
		"                         [--keep] [--backend B] [--ue-backend B] [--no-evidence]\n"
		"                         [--ready-timeout MS]\n"
		"       simreg lab up --topology t1|t2 --dir DIR [--mechanism M]\n"
		"                     [--binding registration|impi] [--ue-binding B]\n"
		"                     [--backend auto|userspace|xfrm] [--ue-backend B] [--no-keys]\n"
		"                     [--ready-timeout MS] [--grace MS]\n"
		"       simreg lab up --topology t1|t2 --dir DIR\n"
		"                     --exec NAME ROLE READY CMD [ARG...] ';' [--exec ...]\n"
		"       simreg lab run --dir DIR STEP...\n"
		"       simreg lab evidence --dir DIR\n"
		"       simreg lab diagram --dir DIR\n"
		"       simreg lab down --dir DIR [--grace MS]\n"
		"       simreg lab status --dir DIR\n"
		"       simreg lab plan --topology t1|t2 [--commands | --configs [--mechanism M\n"
		"                       --binding B --backend B ...]]\n"
		"\n"
		"DESCRIPTION\n"
		"       demo tells the story of a phone registered over wlan and umts at once\n"
		"       in three acts, each a lab of the real functions: a P-CSCF keying SA\n"
		"       sets by registration; the legacy P-CSCF keying them by IMPI, and what\n"
		"       breaks; modified-impi with the legacy P-CSCF. It ends with a summary,\n"
		"       tshark's evidence and sequence diagrams (DIR, default /tmp/simreg-demo).\n"
		"\n"
		"       matrix runs every row of DESIGN.md section 4 (6 mechanisms x 2 P-CSCF\n"
		"       bindings x 2 topologies), N at a time, each in its own lab, and prints\n"
		"       what it measured and the outcome table computed from it. FILTER:\n"
		"       comma-separated patterns on TOPOLOGY/MECHANISM/BINDING, a bare word\n"
		"       matching any part (\"t2\", \"outbound/impi\"). Without --dir the rows\n"
		"       go to a temporary directory, removed when all ran (unless --keep).\n"
		"\n"
		"       up builds the topology as network namespaces named simreg-<id>-<role>\n"
		"       (<id>: six hex digits derived from DIR), veth links and routes, starts\n"
		"       one capture per link (DIR/<link>.pcap), writes each network function's\n"
		"       configuration (DIR/<name>.yaml), provisions the subscriber in the HSS\n"
		"       and starts HSS, S-CSCF, P-CSCF(s) and UE in their namespaces, each\n"
		"       awaited until its log (DIR/<name>.log) says it is ready. It writes\n"
		"       DIR/lab.json. With --exec it starts the given processes instead of the\n"
		"       functions. If any step fails, or on SIGINT or SIGTERM, everything done\n"
		"       so far is undone.\n"
		"\n"
		"       t1: UE -> access wlan and access umts -> one P-CSCF -> core.\n"
		"       t2: UE -> wlan -> P-CSCF A, UE -> umts -> P-CSCF B; both -> core.\n"
		"       Roles: ue, wlan, umts, pcscf (t1) or pcscf-a, pcscf-b (t2), core.\n"
		"\n"
		"       run drives a lab that is up, step by step, and prints what the\n"
		"       functions report after each: register ACCESS, reauth ACCESS (the\n"
		"       S-CSCF re-authenticates that access alone), drop ACCESS, message (an\n"
		"       application server in the core sends a MESSAGE to the IMPU), observe.\n"
		"\n"
		"       evidence reads the captures of a lab that is down with tshark: every\n"
		"       frame decodes, ESP decrypts with the exported keys, the REGISTER, 401,\n"
		"       MAR and SAR counts agree, every vector verifies under the subscriber's\n"
		"       K, every challenge has its own CK/IK. diagram writes DIR/diagram.svg\n"
		"       and DIR/diagram.txt from the captures.\n"
		"\n"
		"       down stops the processes (SIGTERM, SIGKILL after the grace period),\n"
		"       closes the captures without losing packets, and deletes the\n"
		"       namespaces, from lab.json or, failing that, by name prefix. It can be\n"
		"       run again safely. status compares lab.json with what runs. plan prints\n"
		"       a topology's addresses, routes, services, captures and functions (or\n"
		"       the commands up runs, or the configurations it writes), without root.\n"
		"\n"
		"OPTIONS\n"
		"       --topology t1|t2     which topology (docs/lab.md)\n"
		"       --dir DIR            the lab's directory (created)\n"
		"       --mechanism M        none, outbound, regevent-probe, modified-impi,\n"
		"                            modified-impi+outbound, modified-impi+regevent-probe\n"
		"                            (S-CSCF and UE; default none)\n"
		"       --binding B          the P-CSCFs' SA binding: registration (default) or\n"
		"                            impi (legacy)\n"
		"       --ue-binding B       the UE's SA binding (default registration)\n"
		"       --backend B          the P-CSCFs' IPsec backend: auto (default),\n"
		"                            userspace, xfrm; --ue-backend: the UE's (default\n"
		"                            the same)\n"
		"       --no-keys            no key logging (then tshark cannot decrypt)\n"
		"       --exec NAME ROLE READY CMD [ARG...] ';'\n"
		"                            run CMD in ROLE's namespace; ready when its\n"
		"                            output contains READY. NAME: [a-z0-9_-]+\n"
		"       --ready-timeout MS   how long each process may take to be ready\n"
		"                            (default %d; also each row of matrix)\n"
		"       --grace MS           SIGTERM to SIGKILL delay (default %d)\n"
		"       --commands           plan: print the commands instead\n"
		"       --configs            plan: print the functions' configurations\n"
		"       --json               matrix: the measurements as JSON\n"
		"       --rows FILTER        matrix: only the rows matching\n"
		"       --jobs N             matrix: rows at once (default 4)\n"
		"       --keep               matrix: keep the rows' directories\n"
		"       --no-evidence        matrix: do not read the captures\n"
		"       --notice-wait S      demo: how long to watch whether the network\n"
		"                            notices a dropped link (default 40)\n"
		"\n"
		"EXIT STATUS\n"
		"       0 success (status: everything recorded is present and running;\n"
		"       matrix: every row ran; demo: every act went as DESIGN.md says;\n"
		"       evidence: everything checks out); 1 otherwise; 2 bad usage.\n",
		DEFAULT_READY_MS, DEFAULT_GRACE_MS);
}

static int parse_num(const char *arg, const char *opt, const char *unit, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < 0 || v > INT_MAX) {
		cli_usage_error("lab", "%s: '%s' is not a number of %s", opt, arg, unit);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

enum {
	OPT_TOPOLOGY = 1,
	OPT_DIR,
	OPT_READY,
	OPT_GRACE,
	OPT_EXEC,
	OPT_COMMANDS,
	OPT_MECHANISM,
	OPT_BINDING,
	OPT_UE_BINDING,
	OPT_BACKEND,
	OPT_UE_BACKEND,
	OPT_NO_KEYS,
	OPT_CONFIGS,
	OPT_JSON,
	OPT_ROWS,
	OPT_JOBS,
	OPT_KEEP,
	OPT_NO_EVIDENCE,
	OPT_NOTICE_WAIT,
};

static const struct option options[] = {
	{ "topology", required_argument, NULL, OPT_TOPOLOGY },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "ready-timeout", required_argument, NULL, OPT_READY },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "exec", required_argument, NULL, OPT_EXEC },
	{ "commands", no_argument, NULL, OPT_COMMANDS },
	{ "mechanism", required_argument, NULL, OPT_MECHANISM },
	{ "binding", required_argument, NULL, OPT_BINDING },
	{ "ue-binding", required_argument, NULL, OPT_UE_BINDING },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "ue-backend", required_argument, NULL, OPT_UE_BACKEND },
	{ "no-keys", no_argument, NULL, OPT_NO_KEYS },
	{ "configs", no_argument, NULL, OPT_CONFIGS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "rows", required_argument, NULL, OPT_ROWS },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "no-evidence", no_argument, NULL, OPT_NO_EVIDENCE },
	{ "notice-wait", required_argument, NULL, OPT_NOTICE_WAIT },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *topology, *dir;
	int ready_ms, grace_ms;
	bool commands, configs, json, keep, no_evidence;
	const char *rows;
	int jobs, notice_wait_s;
	struct lab_deploy_opts deploy;
	struct lab_fn_spec fns[MAX_EXEC];
	size_t n_fns;
	unsigned seen; /* bit per option */
};

/* --exec NAME ROLE READY CMD [ARG...] ';' (like find -exec). The words
 * after NAME are taken from argv as they are, and the ';' ends the command
 * (it becomes the NULL that terminates its argv). */
static int parse_exec(struct args *a, int argc, char **argv)
{
	struct lab_fn_spec *f;
	int start = optind, end;

	if (a->n_fns == MAX_EXEC) {
		cli_usage_error("lab", "--exec: at most %d processes", MAX_EXEC);
		return -EINVAL;
	}
	for (end = start; end < argc && strcmp(argv[end], ";") != 0; end++)
		;
	if (end == argc || end - start < 3) {
		cli_usage_error("lab", "--exec %s: expected ROLE READY CMD [ARG...] ';'", optarg);
		return -EINVAL;
	}
	f = &a->fns[a->n_fns++];
	f->name = optarg;
	f->role = argv[start];
	f->ready = argv[start + 1];
	argv[end] = NULL;
	f->argv = (const char *const *)&argv[start + 2];
	optind = end + 1;
	return 0;
}

static int bad_name(const char *opt, const char *arg, const char *const *list)
{
	char names[256] = "";

	for (size_t i = 0; list[i]; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", list[i]);
	cli_usage_error("lab", "%s: no '%s' (%s)", opt, arg, names);
	return -EINVAL;
}

/* Our own binary, which the lab runs as every network function. */
static int self_path(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);

	if (n <= 0 || (size_t)n >= size - 1) {
		log_error("cannot find the simreg binary (/proc/self/exe): %s", strerror(errno));
		return -ENOENT;
	}
	out[n] = 0;
	return 0;
}

#define BIT(o) (1u << (o))
/* Not an option: --dir may be left out (the command picks a directory). */
#define DIR_OPTIONAL (1u << 31)

static int parse_prefix(struct args *a, int argc, char **argv, unsigned allowed, int *rest);

static int parse(struct args *a, int argc, char **argv, unsigned allowed)
{
	int rest, rc = parse_prefix(a, argc, argv, allowed, &rest);

	if (!rc && rest < argc) {
		cli_usage_error("lab", "%s: unexpected argument '%s'", argv[0], argv[rest]);
		return -EINVAL;
	}
	return rc;
}

/* Options up to the first other word, whose index goes to *rest. */
static int parse_prefix(struct args *a, int argc, char **argv, unsigned allowed, int *rest)
{
	int c;

	a->ready_ms = DEFAULT_READY_MS;
	a->grace_ms = DEFAULT_GRACE_MS;
	a->deploy = (struct lab_deploy_opts){
		.mechanism = "none",
		.binding = "registration",
		.backend = "auto",
		.keys = true,
	};
	/* '+': stop at the first non-option, so --exec can take its words. */
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		if (c == '?')
			return -EINVAL;
		if (!(allowed & (1u << c))) {
			cli_usage_error("lab", "%s: option --%s does not apply", argv[0],
					options[c - 1].name);
			return -EINVAL;
		}
		a->seen |= 1u << c;
		switch (c) {
		case OPT_TOPOLOGY:
			a->topology = optarg;
			break;
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_READY:
			if (parse_num(optarg, "--ready-timeout", "milliseconds", &a->ready_ms))
				return -EINVAL;
			break;
		case OPT_GRACE:
			if (parse_num(optarg, "--grace", "milliseconds", &a->grace_ms))
				return -EINVAL;
			break;
		case OPT_EXEC:
			if (parse_exec(a, argc, argv))
				return -EINVAL;
			break;
		case OPT_COMMANDS:
			a->commands = true;
			break;
		case OPT_MECHANISM:
			a->deploy.mechanism = optarg;
			if (!lab_name_in(lab_mechanisms, optarg))
				return bad_name("--mechanism", optarg, lab_mechanisms);
			break;
		case OPT_BINDING:
		case OPT_UE_BINDING:
			*(c == OPT_BINDING ? &a->deploy.binding : &a->deploy.ue_binding) = optarg;
			if (!lab_name_in(lab_bindings, optarg))
				return bad_name(c == OPT_BINDING ? "--binding" : "--ue-binding", optarg,
						lab_bindings);
			break;
		case OPT_BACKEND:
		case OPT_UE_BACKEND:
			*(c == OPT_BACKEND ? &a->deploy.backend : &a->deploy.ue_backend) = optarg;
			if (!lab_name_in(lab_backends, optarg))
				return bad_name(c == OPT_BACKEND ? "--backend" : "--ue-backend", optarg,
						lab_backends);
			break;
		case OPT_NO_KEYS:
			a->deploy.keys = false;
			break;
		case OPT_CONFIGS:
			a->configs = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_ROWS:
			a->rows = optarg;
			break;
		case OPT_JOBS:
			if (parse_num(optarg, "--jobs", "processes", &a->jobs))
				return -EINVAL;
			if (a->jobs < 1 || a->jobs > 24) {
				cli_usage_error("lab", "--jobs: 1 to 24");
				return -EINVAL;
			}
			break;
		case OPT_KEEP:
			a->keep = true;
			break;
		case OPT_NO_EVIDENCE:
			a->no_evidence = true;
			break;
		case OPT_NOTICE_WAIT:
			if (parse_num(optarg, "--notice-wait", "seconds", &a->notice_wait_s))
				return -EINVAL;
			if (a->notice_wait_s > 600) {
				cli_usage_error("lab", "--notice-wait: at most 600 seconds");
				return -EINVAL;
			}
			break;
		}
	}
	*rest = optind;
	if ((allowed & (1u << OPT_DIR)) && !(allowed & DIR_OPTIONAL) && !a->dir) {
		cli_usage_error("lab", "%s: --dir is required", argv[0]);
		return -EINVAL;
	}
	if ((allowed & (1u << OPT_TOPOLOGY)) &&
	    (!a->topology || !lab_topology_find(a->topology))) {
		cli_usage_error("lab", "%s: --topology must be t1 or t2", argv[0]);
		return -EINVAL;
	}
	return 0;
}

#define DEPLOY_BITS                                                                         \
	(BIT(OPT_MECHANISM) | BIT(OPT_BINDING) | BIT(OPT_UE_BINDING) | BIT(OPT_BACKEND) |   \
	 BIT(OPT_UE_BACKEND) | BIT(OPT_NO_KEYS))

static int run_up(int argc, char **argv)
{
	struct args a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct lab_up_opts o;
	char self[PATH_MAX];

	if (parse(&a, argc, argv,
		  BIT(OPT_TOPOLOGY) | BIT(OPT_DIR) | BIT(OPT_READY) | BIT(OPT_GRACE) | BIT(OPT_EXEC) |
			  DEPLOY_BITS))
		return CLI_USAGE;
	if (a.n_fns && (a.seen & DEPLOY_BITS)) {
		cli_usage_error("lab", "up: --exec runs your processes instead of the network "
				       "functions; it takes no --mechanism, --binding or --backend");
		return CLI_USAGE;
	}
	if (!a.n_fns && self_path(self, sizeof(self)))
		return CLI_FAIL;
	a.deploy.simreg = self;
	/* No SA_RESTART: a signal must wake the readiness wait. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	o = (struct lab_up_opts){
		.topology = a.topology,
		.dir = a.dir,
		.ready_timeout_ms = a.ready_ms,
		.grace_ms = a.grace_ms,
		.fns = a.fns,
		.n_fns = a.n_fns,
		.deploy = a.n_fns ? NULL : &a.deploy,
		.cancel = &cancelled,
	};
	return lab_up(&o) ? CLI_FAIL : CLI_OK;
}

static int run_down(int argc, char **argv)
{
	struct args a = { 0 };

	if (parse(&a, argc, argv, BIT(OPT_DIR) | BIT(OPT_GRACE)))
		return CLI_USAGE;
	/* Taking a lab down is not to be interrupted half-way by ^C. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return lab_down(a.dir, a.grace_ms) ? CLI_FAIL : CLI_OK;
}

static int run_status(int argc, char **argv)
{
	struct args a = { 0 };

	if (parse(&a, argc, argv, BIT(OPT_DIR)))
		return CLI_USAGE;
	return lab_status(a.dir, stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static int run_plan(int argc, char **argv)
{
	struct args a = { 0 };

	if (parse(&a, argc, argv, BIT(OPT_TOPOLOGY) | BIT(OPT_COMMANDS) | BIT(OPT_CONFIGS) |
					  DEPLOY_BITS))
		return CLI_USAGE;
	if (a.commands && a.configs) {
		cli_usage_error("lab", "plan: --commands or --configs, not both");
		return CLI_USAGE;
	}
	if ((a.seen & DEPLOY_BITS) && !a.configs) {
		cli_usage_error("lab", "plan: --mechanism, --binding and --backend go with --configs");
		return CLI_USAGE;
	}
	return lab_print_plan(a.topology, a.commands, a.configs ? &a.deploy : NULL, stdout)
		       ? CLI_FAIL
		       : CLI_OK;
}

/* ---- run: scenario steps on a lab that is up ------------------------------- */

static void print_message(const struct lab_snapshot *s, const struct lab_msg_result *r)
{
	printf("  MESSAGE %s: the AS got %d; the UE got it over", r->call_id, r->status);
	if (!r->delivered)
		printf(" no access");
	for (size_t i = 0; i < s->n_accesses; i++)
		if (r->delivered & (1 << i))
			printf(" %s", s->accesses[i].name);
	printf("\n");
}

static int run_steps(int argc, char **argv)
{
	struct args a = { 0 };
	struct lab lab;
	int rc, i;

	/* The steps follow the options: stop at the first non-option. */
	if (parse_prefix(&a, argc, argv, BIT(OPT_DIR), &i))
		return CLI_USAGE;
	if (i == argc) {
		cli_usage_error("lab", "run: expected steps (register ACCESS, reauth ACCESS, drop "
				       "ACCESS, message, observe)");
		return CLI_USAGE;
	}
	rc = lab_state_read(a.dir, &lab);
	if (rc) {
		if (rc == -ENOENT)
			log_error("%s: no lab.json: bring a lab up there first", a.dir);
		lab_free(&lab);
		return CLI_FAIL;
	}
	if (!lab.deploy.present) {
		log_error("%s: this lab runs no network functions (it was brought up with --exec)",
			  a.dir);
		lab_free(&lab);
		return CLI_FAIL;
	}
	for (rc = 0; !rc && i < argc; i++) {
		struct lab_snapshot s;
		const char *step = argv[i], *arg = NULL;
		bool takes_access = !strcmp(step, "register") || !strcmp(step, "reauth") ||
				    !strcmp(step, "drop");

		if (takes_access) {
			if (++i == argc) {
				cli_usage_error("lab", "run: %s needs an access", step);
				rc = -EINVAL;
				break;
			}
			arg = argv[i];
		}
		printf("step: %s%s%s\n", step, arg ? " " : "", arg ? arg : "");
		fflush(stdout);
		if (!strcmp(step, "register"))
			rc = lab_step_register(&lab, arg, &s);
		else if (!strcmp(step, "reauth"))
			rc = lab_step_reauth(&lab, arg, &s);
		else if (!strcmp(step, "drop"))
			rc = lab_step_drop(&lab, arg, &s);
		else if (!strcmp(step, "observe"))
			rc = lab_observe(&lab, &s);
		else if (!strcmp(step, "settle"))
			rc = lab_step_settle(&lab, &s);
		else if (!strcmp(step, "message")) {
			struct lab_msg_result r;

			rc = lab_step_message(&lab, "hello from the core", &r);
			if (!rc)
				rc = lab_observe(&lab, &s);
			if (!rc)
				print_message(&s, &r);
		} else {
			cli_usage_error("lab", "run: unknown step '%s'", step);
			rc = -EINVAL;
			break;
		}
		if (rc == -ENOENT && !strcmp(step, "reauth")) {
			printf("  %s has no binding at the S-CSCF: nothing to re-authenticate\n", arg);
			rc = 0;
		}
		if (!rc)
			lab_snapshot_print(&s, stdout);
		else
			log_error("step %s failed: %s", step, strerror(-rc));
	}
	lab_free(&lab);
	return rc == -EINVAL ? CLI_USAGE : rc ? CLI_FAIL : CLI_OK;
}

/* ---- matrix --------------------------------------------------------------------- */

static int run_matrix(int argc, char **argv)
{
	struct args a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct lab_matrix_opts o;
	char self[PATH_MAX], tmp[] = "/tmp/simreg-matrix-XXXXXX";
	bool ours = false;
	int rc;

	a.jobs = 4;
	if (parse(&a, argc, argv,
		  BIT(OPT_DIR) | DIR_OPTIONAL | BIT(OPT_JSON) | BIT(OPT_ROWS) | BIT(OPT_JOBS) |
			  BIT(OPT_KEEP) | BIT(OPT_BACKEND) | BIT(OPT_UE_BACKEND) |
			  BIT(OPT_NO_EVIDENCE) | BIT(OPT_READY)))
		return CLI_USAGE;
	if (geteuid() != 0) {
		log_error("`simreg lab matrix` must run as root: each row is a lab of network "
			  "namespaces");
		return CLI_FAIL;
	}
	if (self_path(self, sizeof(self)))
		return CLI_FAIL;
	if (!a.dir) {
		/* A short path: the rows' control sockets live under it. */
		if (!mkdtemp(tmp)) {
			log_error("mkdtemp: %s", strerror(errno));
			return CLI_FAIL;
		}
		a.dir = tmp;
		ours = true;
	} else if (mkdir(a.dir, 0755) && errno != EEXIST) {
		log_error("%s: %s", a.dir, strerror(errno));
		return CLI_FAIL;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o = (struct lab_matrix_opts){
		.run = {
			.simreg = self,
			.backend = a.deploy.backend,
			.ue_backend = a.deploy.ue_backend,
			.evidence = !a.no_evidence,
			.ready_timeout_ms = a.ready_ms,
			.cancel = &cancelled,
		},
		.dir = a.dir,
		.filter = a.rows,
		.jobs = (unsigned)a.jobs,
		.json = a.json,
	};
	rc = lab_matrix_run(&o, stdout);
	if (ours && !a.keep && rc == 0) {
		const char *rm[] = { "rm", "-rf", "--one-file-system", "--", tmp, NULL };

		lab_cmd_run(rm, 0, NULL, 0);
	} else {
		log_info("the rows' labs (logs, captures, results) are in %s", a.dir);
	}
	return rc < 0 ? CLI_FAIL : rc > 0 ? CLI_FAIL : CLI_OK;
}

/* ---- evidence: what the captures of a lab that is down prove ------------------- */

static int run_evidence(int argc, char **argv)
{
	struct args a = { 0 };
	struct lab_capture_evidence e;
	struct lab_key_evidence k;
	struct lab lab;
	char self[PATH_MAX];
	int rc;

	if (parse(&a, argc, argv, BIT(OPT_DIR)))
		return CLI_USAGE;
	if (self_path(self, sizeof(self)))
		return CLI_FAIL;
	rc = lab_state_read(a.dir, &lab);
	if (rc || !lab.deploy.present) {
		log_error("%s: no lab with network functions here", a.dir);
		lab_free(&lab);
		return CLI_FAIL;
	}
	rc = lab_evidence_captures(&lab, -1, -1, &e);
	if (!rc)
		rc = lab_evidence_keys(&lab, self, &k);
	if (!rc) {
		printf("lab %s (%s, %s, P-CSCF binding %s): what the captures show\n", lab.id,
		       lab.topology, lab.deploy.mechanism, lab.deploy.binding);
		lab_evidence_print(&e, &k, stdout);
	}
	lab_free(&lab);
	if (rc)
		return CLI_FAIL;
	return e.all_decode && e.counts_agree && lab_keys_ok(&k) ? CLI_OK : CLI_FAIL;
}

/* ---- demo ------------------------------------------------------------------------- */

static int run_demo(int argc, char **argv)
{
	struct args a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct lab_demo_opts o;
	char self[PATH_MAX];
	int rc;

	a.notice_wait_s = 40;
	if (parse(&a, argc, argv,
		  BIT(OPT_DIR) | DIR_OPTIONAL | BIT(OPT_BACKEND) | BIT(OPT_UE_BACKEND) |
			  BIT(OPT_NOTICE_WAIT)))
		return CLI_USAGE;
	if (geteuid() != 0) {
		log_error("`simreg lab demo` must run as root: it builds network namespaces "
			  "(sudo simreg lab demo, or scripts/demo.sh)");
		return CLI_FAIL;
	}
	if (self_path(self, sizeof(self)))
		return CLI_FAIL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o = (struct lab_demo_opts){
		.dir = a.dir ? a.dir : "/tmp/simreg-demo",
		.simreg = self,
		.backend = a.deploy.backend,
		.ue_backend = a.deploy.ue_backend,
		.notice_wait_ms = a.notice_wait_s * 1000,
		.cancel = &cancelled,
	};
	/* The demo's narration on stdout; the lab's own log lines only when
	 * something goes wrong. */
	slog_set_level(SLOG_WARN);
	rc = lab_demo_run(&o, stdout);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

/* ---- diagram ----------------------------------------------------------------------- */

static int run_diagram(int argc, char **argv)
{
	struct args a = { 0 };
	struct lab lab;
	int rc;

	if (parse(&a, argc, argv, BIT(OPT_DIR)))
		return CLI_USAGE;
	rc = lab_state_read(a.dir, &lab);
	if (rc || !lab.deploy.present) {
		log_error("%s: no lab with network functions here", a.dir);
		lab_free(&lab);
		return CLI_FAIL;
	}
	rc = lab_diagram_write(&lab);
	if (rc >= 0) {
		char path[PATH_MAX];
		FILE *f;

		snprintf(path, sizeof(path), "%s/diagram.txt", a.dir);
		f = fopen(path, "re");
		if (f) {
			char buf[4096];
			size_t n;

			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, stdout);
			fclose(f);
		}
		printf("written: %s/diagram.txt and %s/diagram.svg\n", a.dir, a.dir);
	}
	lab_free(&lab);
	return rc < 0 ? CLI_FAIL : CLI_OK;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "up", run_up },
	{ "down", run_down },
	{ "status", run_status },
	{ "plan", run_plan },
	{ "run", run_steps },
	{ "matrix", run_matrix },
	{ "evidence", run_evidence },
	{ "diagram", run_diagram },
	{ "demo", run_demo },
};

int cmd_lab(int argc, char **argv)
{
	int rc = CLI_USAGE;

	if (cli_wants_help(argc, argv)) {
		print_help();
		return CLI_OK;
	}
	if (argc < 2) {
		cli_usage_error("lab", "expected demo, matrix, up, run, evidence, diagram, down, "
				       "status or plan");
		return CLI_USAGE;
	}
	slog_init("simreg-lab", SLOG_TARGET_STDERR, SLOG_INFO);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0) {
			optind = 1;
			rc = subcommands[i].run(argc - 1, argv + 1);
			goto out;
		}
	}
	cli_usage_error("lab", "unknown subcommand '%s' (demo, matrix, up, run, evidence, diagram, "
			       "down, status, plan)", argv[1]);
out:
	fflush(stdout);
	slog_drain();
	return rc;
}
