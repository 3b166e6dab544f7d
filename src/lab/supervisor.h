/*
 * supervisor.h - start the lab's processes, know when they are ready, stop
 * them for certain.
 *
 * A process is started in its own session (so a terminal's ^C or hang-up
 * reaches only the lab command, which then stops everything in order),
 * optionally inside a network namespace through `ip netns exec` (which
 * execs, so the pid we record is the program's own), with stdin from
 * /dev/null and stdout and stderr appended to one log file.
 *
 * Readiness is a line the program prints ("ready", "Capturing on"): the
 * supervisor follows the log with inotify and the process with a pidfd,
 * and returns as soon as the text appears, the process dies, or the
 * deadline passes. Nothing sleeps.
 *
 * A process is identified by its pid and its start time (field 22 of
 * /proc/<pid>/stat), so a later `lab down` never signals an unrelated
 * process that happens to have been given the same pid.
 */
#ifndef SIMREG_LAB_SUPERVISOR_H
#define SIMREG_LAB_SUPERVISOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct lab_proc_spec {
	const char *name;           /* for messages */
	const char *netns;          /* namespace to run in, or NULL for ours */
	const char *const *argv;    /* argv[0] is looked up in PATH */
	const char *log_path;       /* created or truncated */
	const char *ready;          /* text announcing readiness; NULL: none awaited */
	int ready_timeout_ms;
	/* Set (by a signal handler) to give up waiting; may be NULL. */
	const volatile sig_atomic_t *cancel;
};

struct lab_proc {
	pid_t pid;
	uint64_t start_time; /* clock ticks since boot, from /proc/<pid>/stat */
};

/*
 * Start @spec and wait until it is ready. On success fills @p and returns
 * 0; the process keeps running after the caller exits. On failure the
 * process (if it started) has been stopped and reaped, the failure is
 * logged with the last lines of the log, and the return value says why:
 * -ETIMEDOUT (no readiness text in time), -ECHILD (it exited first),
 * -EINTR (@cancel was set), -ENOENT (the program could not be started), or
 * another negative errno.
 */
int lab_proc_start(const struct lab_proc_spec *spec, struct lab_proc *p);

/*
 * lab_proc_start() in two steps, for a caller that records the pid before
 * waiting (so that a crash while waiting leaves the pid on record):
 * lab_proc_spawn() starts the process and fills @p (0, or -ENOENT and the
 * like, logged); lab_proc_await() waits for readiness and, on failure,
 * stops the process and zeroes @p, returning as lab_proc_start() does.
 */
int lab_proc_spawn(const struct lab_proc_spec *spec, struct lab_proc *p);
int lab_proc_await(const struct lab_proc_spec *spec, struct lab_proc *p);

enum lab_stop_result {
	LAB_STOP_GONE = 0,   /* was not running (or the pid now belongs to another) */
	LAB_STOP_EXITED = 1, /* exited after the first signal */
	LAB_STOP_KILLED = 2, /* needed SIGKILL */
};

/*
 * Stop @p: @sig to its process group (its session, when we started it),
 * then SIGKILL if it is still there after @grace_ms. A @p.start_time of 0
 * skips the identity check (for pids just read from `ip netns pids`).
 * Reaps the process if it is our child. Returns an enum lab_stop_result,
 * or -ETIMEDOUT if it survived SIGKILL for a second (stuck in the kernel).
 */
int lab_proc_stop(const struct lab_proc *p, int sig, int grace_ms);

/* True if @p is running: the pid exists, is not a zombie and has the
 * recorded start time. */
bool lab_proc_alive(const struct lab_proc *p);

/* Start time of @pid from /proc, or 0 if it does not exist. */
uint64_t lab_proc_start_time(pid_t pid);

/*
 * Wait until the file @path contains @text (a byte string: this also finds
 * a marker in a pcap file). If @pid is not 0, stop waiting when that
 * process exits. Returns 0, -ETIMEDOUT, -ECHILD (the process exited
 * without writing it), -EINTR (@cancel set) or another negative errno.
 */
int lab_wait_for_text(const char *path, const char *text, pid_t pid, int timeout_ms,
		      const volatile sig_atomic_t *cancel);

/* Log the last @lines lines of @path at error level, indented. */
void lab_log_tail(const char *path, unsigned lines);

#endif
