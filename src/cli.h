/*
 * cli.h - what every `simreg <command>` entry point shares.
 *
 * A command is int cmd_x(int argc, char **argv) with argv[0] the command
 * name; it returns the process exit status: 0 success, 1 the operation
 * failed, 2 bad usage (the message names the argument).
 */
#ifndef SIMREG_CLI_H
#define SIMREG_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum cli_exit {
	CLI_OK = 0,
	CLI_FAIL = 1,
	CLI_USAGE = 2,
};

#define SIMREG_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.def"
#undef SIMREG_COMMAND

/* Print a usage error naming the command ("simreg aka: --k: ...") to stderr. */
void cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True if argv holds -h or --help anywhere before a "--". */
bool cli_wants_help(int argc, char **argv);

/* The options of a network function (`simreg hss|scscf|pcscf|ue`). */
struct cli_nf_args {
	const char *config; /* --config FILE, or NULL (embedded defaults) */
	const char *data;   /* --data DIR, or NULL (the file's data key) */
	const char *ctl;    /* --ctl PATH, or NULL; only with has_ctl */
};

/*
 * Parse --config, --data, --ctl (when has_ctl) and --help for command
 * `cmd`; usage prints its manual. Returns -1 when the command should go
 * on with *out filled, otherwise the exit status to return at once:
 * CLI_OK after --help, CLI_USAGE after an unknown option or a stray
 * argument (already reported on stderr).
 */
int cli_nf_args(int argc, char **argv, const char *cmd, bool has_ctl, void (*usage)(FILE *),
		struct cli_nf_args *out);

struct config;
struct config_section;

/*
 * A network function's configuration: the file at path, or the embedded
 * defaults when path is NULL. Errors (file, line, key) go to stderr.
 * Returns 0 or what config_load_file() returns.
 */
int cli_nf_config(const char *path, const struct config_section *const *sections, size_t n,
		  struct config *cfg);

/* Make a data or run directory (0700) if it is not there; logs why not. 0 or -errno. */
int cli_make_dir(const char *path);

#endif
