/*
 * simreg - the one executable: `simreg <command> [options]`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/config.h"
#include "core/log.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
#define SIMREG_COMMAND(name, fn, summary) { #name, fn, summary },
#include "commands.def"
#undef SIMREG_COMMAND
};

static void print_help(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg - IMS registration and security core (HSS, S-CSCF, P-CSCF, UE)\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg COMMAND [OPTIONS]\n"
		"       simreg COMMAND --help\n"
		"       simreg --help | --version\n"
		"\n"
		"DESCRIPTION\n"
		"       simreg lets one public identity register over several accesses at\n"
		"       once (for example Wi-Fi and cellular), each registration with its own\n"
		"       IMS AKA authentication and its own IPsec security associations. Each\n"
		"       network function runs as its own process with its own event loop;\n"
		"       the tools below help engineers inspect and reproduce what happens on\n"
		"       the wire.\n"
		"\n"
		"COMMANDS\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "       %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"       Run `simreg COMMAND --help` for a command's own manual.\n"
		"\n"
		"EXIT STATUS\n"
		"       0 success; 1 the operation failed; 2 bad usage or configuration.\n"
		"\n"
		"SEE ALSO\n"
		"       README.md, docs/ in the source tree.\n");
}

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "simreg %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see `simreg %s --help`)\n", cmd);
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cli_nf_args(int argc, char **argv, const char *cmd, bool has_ctl, void (*usage)(FILE *),
		struct cli_nf_args *out)
{
	static const struct option with_ctl[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "ctl", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option without_ctl[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(out, 0, sizeof(*out));
	while ((opt = getopt_long(argc, argv, "h", has_ctl ? with_ctl : without_ctl, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			out->config = optarg;
			break;
		case 'd':
			out->data = optarg;
			break;
		case 's':
			out->ctl = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			cli_usage_error(cmd, "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return -1;
}

int cli_nf_config(const char *path, const struct config_section *const *sections, size_t n,
		  struct config *cfg)
{
	struct config_errors errs;
	int rc;

	if (path)
		rc = config_load_file(cfg, sections, n, path, &errs);
	else
		rc = config_load_buffer(cfg, sections, n, "(defaults)", "", 0, &errs);
	if (rc < 0)
		fputs(errs.text, stderr);
	return rc;
}

int cli_make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	log_error("%s: %s", path, strerror(errno));
	return -errno;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_help(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* getopt_long keeps state across calls; start clean. */
			optind = 1;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "simreg: unknown command '%s' (see `simreg --help`)\n", argv[1]);
	return CLI_USAGE;
}
