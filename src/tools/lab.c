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

#include "cli.h"
#include "core/log.h"
#include "lab/lab.h"

#define DEFAULT_READY_MS 10000
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
		"       simreg lab - network-namespace labs: topologies, processes, captures\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg lab up --topology t1|t2 --dir DIR [--ready-timeout MS] [--grace MS]\n"
		"                     [--exec NAME ROLE READY CMD [ARG...] ';']...\n"
		"       simreg lab down --dir DIR [--grace MS]\n"
		"       simreg lab status --dir DIR\n"
		"       simreg lab plan --topology t1|t2 [--commands]\n"
		"\n"
		"DESCRIPTION\n"
		"       up builds the topology as network namespaces named simreg-<id>-<role>\n"
		"       (<id>: six hex digits derived from DIR), veth links and routes, starts\n"
		"       one capture per link (DIR/<link>.pcap), then each --exec process in\n"
		"       its namespace, waiting until its output (DIR/<NAME>.log) contains\n"
		"       READY. It writes DIR/lab.json. If any step fails, or on SIGINT or\n"
		"       SIGTERM, everything done so far is undone.\n"
		"\n"
		"       t1: UE -> access wlan and access umts -> one P-CSCF -> core.\n"
		"       t2: UE -> wlan -> P-CSCF A, UE -> umts -> P-CSCF B; both -> core.\n"
		"       Roles: ue, wlan, umts, pcscf (t1) or pcscf-a, pcscf-b (t2), core.\n"
		"\n"
		"       down stops the processes (SIGTERM, SIGKILL after the grace period),\n"
		"       closes the captures without losing packets, and deletes the\n"
		"       namespaces, from lab.json or, failing that, by name prefix. It can be\n"
		"       run again safely.\n"
		"\n"
		"       status compares lab.json with what runs. plan prints a topology's\n"
		"       addresses, routes, services and captures (or, with --commands, the\n"
		"       commands up runs), and needs no privileges.\n"
		"\n"
		"OPTIONS\n"
		"       --topology t1|t2     which topology (docs/lab.md)\n"
		"       --dir DIR            the lab's directory (created by up)\n"
		"       --exec NAME ROLE READY CMD [ARG...] ';'\n"
		"                            run CMD in ROLE's namespace; ready when its\n"
		"                            output contains READY. NAME: [a-z0-9_-]+\n"
		"       --ready-timeout MS   how long each process may take to be ready\n"
		"                            (default %d)\n"
		"       --grace MS           SIGTERM to SIGKILL delay (default %d)\n"
		"       --commands           plan: print the commands instead\n"
		"\n"
		"EXIT STATUS\n"
		"       0 success (status: everything recorded is present and running);\n"
		"       1 the operation failed (status: something is missing); 2 bad usage.\n",
		DEFAULT_READY_MS, DEFAULT_GRACE_MS);
}

static int parse_ms(const char *arg, const char *opt, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < 0 || v > INT_MAX) {
		cli_usage_error("lab", "%s: '%s' is not a number of milliseconds", opt, arg);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

enum { OPT_TOPOLOGY = 1, OPT_DIR, OPT_READY, OPT_GRACE, OPT_EXEC, OPT_COMMANDS };

static const struct option options[] = {
	{ "topology", required_argument, NULL, OPT_TOPOLOGY },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "ready-timeout", required_argument, NULL, OPT_READY },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "exec", required_argument, NULL, OPT_EXEC },
	{ "commands", no_argument, NULL, OPT_COMMANDS },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *topology, *dir;
	int ready_ms, grace_ms;
	bool commands;
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

static int parse(struct args *a, int argc, char **argv, unsigned allowed)
{
	int c;

	a->ready_ms = DEFAULT_READY_MS;
	a->grace_ms = DEFAULT_GRACE_MS;
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
			if (parse_ms(optarg, "--ready-timeout", &a->ready_ms))
				return -EINVAL;
			break;
		case OPT_GRACE:
			if (parse_ms(optarg, "--grace", &a->grace_ms))
				return -EINVAL;
			break;
		case OPT_EXEC:
			if (parse_exec(a, argc, argv))
				return -EINVAL;
			break;
		case OPT_COMMANDS:
			a->commands = true;
			break;
		}
	}
	if (optind < argc) {
		cli_usage_error("lab", "%s: unexpected argument '%s'", argv[0], argv[optind]);
		return -EINVAL;
	}
	if ((allowed & (1u << OPT_DIR)) && !a->dir) {
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

#define BIT(o) (1u << (o))

static int run_up(int argc, char **argv)
{
	struct args a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct lab_up_opts o;

	if (parse(&a, argc, argv,
		  BIT(OPT_TOPOLOGY) | BIT(OPT_DIR) | BIT(OPT_READY) | BIT(OPT_GRACE) | BIT(OPT_EXEC)))
		return CLI_USAGE;
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

	if (parse(&a, argc, argv, BIT(OPT_TOPOLOGY) | BIT(OPT_COMMANDS)))
		return CLI_USAGE;
	return lab_print_plan(a.topology, a.commands, stdout) ? CLI_FAIL : CLI_OK;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "up", run_up },
	{ "down", run_down },
	{ "status", run_status },
	{ "plan", run_plan },
};

int cmd_lab(int argc, char **argv)
{
	int rc = CLI_USAGE;

	if (cli_wants_help(argc, argv)) {
		print_help();
		return CLI_OK;
	}
	if (argc < 2) {
		cli_usage_error("lab", "expected up, down, status or plan");
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
	cli_usage_error("lab", "unknown subcommand '%s' (up, down, status, plan)", argv[1]);
out:
	fflush(stdout);
	slog_drain();
	return rc;
}
