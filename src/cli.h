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

#endif
