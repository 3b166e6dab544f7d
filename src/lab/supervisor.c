#define SLOG_COMPONENT "lab"
#include "lab/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "lab/command.h"

extern char **environ;

/* How long a process that ignored SIGKILL's delivery gets to disappear. */
#define KILL_WAIT_MS 1000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* State letter and start time (fields 3 and 22 of proc(5) stat). */
static int read_stat(pid_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, rc = -ESRCH;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses; the
	 * fields after it start behind the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		goto out;
	p += 2;
	*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			goto out;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	rc = 0;
out:
	return rc;
}

uint64_t lab_proc_start_time(pid_t pid)
{
	char state;
	uint64_t start;

	return read_stat(pid, &state, &start) ? 0 : start;
}

bool lab_proc_alive(const struct lab_proc *p)
{
	char state;
	uint64_t start;

	if (p->pid <= 0 || read_stat(p->pid, &state, &start))
		return false;
	return state != 'Z' && (p->start_time == 0 || start == p->start_time);
}

static void reap(pid_t pid)
{
	/* Only our own children can be reaped; for others this is ECHILD. */
	while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR)
		;
}

/* Poll a pidfd for the process's exit; true if it exited in time. */
static bool wait_exit(int pidfd, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return true;
		if (n == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

int lab_proc_stop(const struct lab_proc *p, int sig, int grace_ms)
{
	char state;
	uint64_t start;
	pid_t target;
	int pidfd, rc = LAB_STOP_GONE;

	if (p->pid <= 0)
		return LAB_STOP_GONE;
	/* Pin the pid first, then check it is still the process we started:
	 * from here on it cannot be recycled under us. */
	pidfd = pidfd_open(p->pid, 0);
	if (pidfd < 0)
		return LAB_STOP_GONE;
	if (read_stat(p->pid, &state, &start) ||
	    (p->start_time && start != p->start_time))
		goto out;
	if (state == 'Z') {
		reap(p->pid);
		goto out;
	}
	/* A process we started leads its own session and group: signal the
	 * group so helpers it forked go with it. */
	target = getpgid(p->pid) == p->pid ? -p->pid : p->pid;
	kill(target, sig);
	if (wait_exit(pidfd, grace_ms)) {
		rc = LAB_STOP_EXITED;
	} else {
		log_warn("pid %d ignored signal %d for %d ms: SIGKILL", (int)p->pid, sig, grace_ms);
		kill(target, SIGKILL);
		rc = wait_exit(pidfd, KILL_WAIT_MS) ? LAB_STOP_KILLED : -ETIMEDOUT;
	}
	reap(p->pid);
out:
	close(pidfd);
	return rc;
}

/* ---- following a file ----------------------------------------------------- */

struct follower {
	int fd;
	const char *text;
	size_t tlen;
	char *buf;  /* carry (tlen - 1 bytes at most) + one read */
	size_t carry;
};

#define FOLLOW_CHUNK 65536

/* Read to the current end of the file; true once the text was seen. */
static bool follow(struct follower *f, int *err)
{
	for (;;) {
		ssize_t n = read(f->fd, f->buf + f->carry, FOLLOW_CHUNK);
		size_t have;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = -errno;
			return false;
		}
		if (n == 0)
			return false;
		have = f->carry + (size_t)n;
		if (memmem(f->buf, have, f->text, f->tlen))
			return true;
		/* Keep a tail so a text split across two reads is found. */
		f->carry = have < f->tlen - 1 ? have : f->tlen - 1;
		memmove(f->buf, f->buf + have - f->carry, f->carry);
	}
}

int lab_wait_for_text(const char *path, const char *text, pid_t pid, int timeout_ms,
		      const volatile sig_atomic_t *cancel)
{
	struct follower f = { .fd = -1, .text = text, .tlen = strlen(text) };
	int64_t deadline = now_ms() + timeout_ms;
	int ino = -1, pidfd = -1, rc = 0;
	bool exited = false;

	if (f.tlen == 0)
		return -EINVAL;
	f.buf = malloc(f.tlen + FOLLOW_CHUNK);
	if (!f.buf)
		return -ENOMEM;
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, path, IN_MODIFY | IN_CLOSE_WRITE) < 0) {
		rc = -errno;
		goto out;
	}
	/* Watch first, then read: whatever is written after the read wakes us. */
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0) {
		rc = -errno;
		goto out;
	}
	if (pid > 0) {
		pidfd = pidfd_open(pid, 0);
		if (pidfd < 0)
			exited = true;
	}
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = ino, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		char events[4096];
		int64_t left;

		if (follow(&f, &rc))
			goto out;
		if (rc)
			goto out;
		if (exited) {
			/* Read once more after the exit (done above): the text
			 * might have been the last thing it wrote. */
			rc = -ECHILD;
			goto out;
		}
		if (cancel && *cancel) {
			rc = -EINTR;
			goto out;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (poll(pf, pidfd >= 0 ? 2 : 1, (int)left) < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		if (pidfd >= 0 && (pf[1].revents & POLLIN))
			exited = true;
		while (read(ino, events, sizeof(events)) > 0)
			;
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	if (f.fd >= 0)
		close(f.fd);
	if (ino >= 0)
		close(ino);
	free(f.buf);
	return rc;
}

void lab_log_tail(const char *path, unsigned lines)
{
	char buf[4096];
	ssize_t n;
	off_t size;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *start, *end;
	unsigned seen = 0;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		log_error("  (%s is empty)", path);
		return;
	}
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		end--;
	/* Walk back over the last lines. */
	start = end;
	while (start > buf && seen < lines) {
		start--;
		if (*start == '\n' && ++seen == lines) {
			start++;
			break;
		}
	}
	log_error("  last lines of %s:", path);
	while (start < end) {
		const char *nl = memchr(start, '\n', (size_t)(end - start));
		size_t len = nl ? (size_t)(nl - start) : (size_t)(end - start);

		log_error("  | %.*s", (int)len, start);
		start += len + 1;
	}
}

/* ---- starting ------------------------------------------------------------ */

static const char *const *full_argv(const struct lab_proc_spec *spec, const char ***owned)
{
	size_t n = 0;
	const char **v;

	*owned = NULL;
	if (!spec->netns)
		return spec->argv;
	while (spec->argv[n])
		n++;
	v = calloc(n + 5, sizeof(*v));
	if (!v)
		return NULL;
	v[0] = "ip";
	v[1] = "netns";
	v[2] = "exec";
	v[3] = spec->netns;
	memcpy(v + 4, spec->argv, (n + 1) * sizeof(*v));
	*owned = v;
	return v;
}

static const char *why(int rc)
{
	switch (rc) {
	case -ETIMEDOUT: return "did not print its readiness text in time";
	case -ECHILD: return "exited before it was ready";
	case -EINTR: return "interrupted while waiting for it";
	default: return strerror(-rc);
	}
}

int lab_proc_spawn(const struct lab_proc_spec *spec, struct lab_proc *p)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	const char *const *argv;
	const char **owned;
	sigset_t none, all;
	char line[512];
	int logfd, rc;

	p->pid = 0;
	p->start_time = 0;
	logfd = open(spec->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		rc = -errno;
		log_error("%s: cannot open its log %s: %s", spec->name, spec->log_path,
			  strerror(-rc));
		goto out;
	}
	argv = full_argv(spec, &owned);
	if (!argv) {
		rc = -ENOMEM;
		goto close_log;
	}
	if ((rc = -posix_spawn_file_actions_init(&fa)))
		goto free_argv;
	if ((rc = -posix_spawnattr_init(&attr)))
		goto free_fa;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own session: no controlling terminal, its own process group. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, logfd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO);

	lab_cmd_format(argv, line, sizeof(line));
	rc = -posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	if (rc) {
		log_error("%s: cannot start `%s`: %s", spec->name, line, strerror(-rc));
		p->pid = 0;
		goto free_attr;
	}
	p->start_time = lab_proc_start_time(p->pid);
	log_info("%s: started pid %d: %s", spec->name, (int)p->pid, line);
free_attr:
	posix_spawnattr_destroy(&attr);
free_fa:
	posix_spawn_file_actions_destroy(&fa);
free_argv:
	free(owned);
close_log:
	close(logfd);
out:
	return rc;
}

int lab_proc_await(const struct lab_proc_spec *spec, struct lab_proc *p)
{
	int rc, status;

	if (!spec->ready)
		return 0;
	rc = lab_wait_for_text(spec->log_path, spec->ready, p->pid, spec->ready_timeout_ms,
			       spec->cancel);
	if (rc == 0) {
		log_info("%s: ready (\"%s\" seen)", spec->name, spec->ready);
		return 0;
	}
	if (rc == -ECHILD && waitpid(p->pid, &status, 0) == p->pid) {
		if (WIFEXITED(status))
			log_error("%s (pid %d) exited with status %d before it was ready",
				  spec->name, (int)p->pid, WEXITSTATUS(status));
		else
			log_error("%s (pid %d) was killed by signal %d before it was ready",
				  spec->name, (int)p->pid, WTERMSIG(status));
	} else if (rc == -ETIMEDOUT) {
		log_error("%s (pid %d) did not print \"%s\" within %d ms", spec->name, (int)p->pid,
			  spec->ready, spec->ready_timeout_ms);
	} else {
		log_error("%s (pid %d): %s", spec->name, (int)p->pid, why(rc));
	}
	lab_log_tail(spec->log_path, 10);
	lab_proc_stop(p, SIGTERM, 1000);
	p->pid = 0;
	p->start_time = 0;
	return rc;
}

int lab_proc_start(const struct lab_proc_spec *spec, struct lab_proc *p)
{
	int rc = lab_proc_spawn(spec, p);

	return rc ? rc : lab_proc_await(spec, p);
}
