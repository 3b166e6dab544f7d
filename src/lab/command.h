/*
 * command.h - run a helper program (iproute2, sysctl) and check it.
 *
 * Commands are argv arrays handed to posix_spawnp(); no shell is involved,
 * so names and addresses never need quoting. Every exit status is checked:
 * a command that fails is logged as it would be typed, with its exit status
 * and what it printed on stderr, so the reader sees exactly which step of
 * building a lab went wrong and why.
 */
#ifndef SIMREG_LAB_COMMAND_H
#define SIMREG_LAB_COMMAND_H

#include <stddef.h>

enum lab_cmd_flags {
	/* A failure is an expected answer (a probe): do not log it. */
	LAB_CMD_QUIET = 1 << 0,
};

/* Longest argv a lab command has, NULL included. */
#define LAB_CMD_MAX_ARGS 24

/*
 * Run argv (argv[0] looked up in PATH) with stdin from /dev/null, wait for
 * it and collect its output. If @out is not NULL, up to @outsize - 1 bytes
 * of stdout are stored there NUL-terminated (the rest is read and dropped);
 * otherwise stdout is discarded.
 *
 * Returns 0 if the command exited with status 0; -ENOENT if it could not be
 * started; -EIO if it exited with another status or was killed (logged
 * unless LAB_CMD_QUIET, with its stderr); -ENOMEM/-EMFILE and the like for
 * local failures.
 */
int lab_cmd_run(const char *const *argv, unsigned flags, char *out, size_t outsize);

/* "ip -n simreg-1a2b3c-ue addr add ..." into @buf (truncated to fit). */
void lab_cmd_format(const char *const *argv, char *buf, size_t size);

#endif
