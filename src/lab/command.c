#define SLOG_COMPONENT "lab"
#include "lab/command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

extern char **environ;

void lab_cmd_format(const char *const *argv, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; argv[i] && n + 1 < size; i++) {
		int w = snprintf(buf + n, size - n, "%s%s", i ? " " : "", argv[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

struct sink {
	int fd;
	char *buf;
	size_t size, len;
};

/* Read what is there; false at end of file (or a read error). */
static bool drain(struct sink *s)
{
	char scratch[4096];

	for (;;) {
		ssize_t n;
		char *dst = scratch;
		size_t room = sizeof(scratch);

		if (s->buf && s->len + 1 < s->size) {
			dst = s->buf + s->len;
			room = s->size - 1 - s->len;
		}
		n = read(s->fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		if (dst != scratch)
			s->len += (size_t)n;
	}
}

/* Last line of a command's stderr worth quoting, without its newline. */
static void trim_newlines(char *s, size_t *len)
{
	while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
		(*len)--;
	s[*len] = '\0';
}

int lab_cmd_run(const char *const *argv, unsigned flags, char *out, size_t outsize)
{
	char errbuf[1024];
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid;
	int status, rc;
	struct sink sinks[2];

	if (pipe2(outp, O_CLOEXEC | O_NONBLOCK) || pipe2(errp, O_CLOEXEC | O_NONBLOCK)) {
		rc = -errno;
		goto close_pipes;
	}
	if ((rc = -posix_spawn_file_actions_init(&fa)))
		goto close_pipes;
	if ((rc = -posix_spawnattr_init(&attr)))
		goto free_fa;
	sigemptyset(&none);
	sigfillset(&all);
	/* The helper starts with default signal handling whatever ours is. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);

	rc = -posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (rc) {
		char line[512];
		lab_cmd_format(argv, line, sizeof(line));
		if (!(flags & LAB_CMD_QUIET))
			log_error("cannot start `%s`: %s", line, strerror(-rc));
		goto free_attr;
	}

	sinks[0] = (struct sink){ outp[0], out, out ? outsize : 0, 0 };
	sinks[1] = (struct sink){ errp[0], errbuf, sizeof(errbuf), 0 };
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd p[2];
		int n = 0;

		for (int i = 0; i < 2; i++)
			if (sinks[i].fd >= 0)
				p[n++] = (struct pollfd){ .fd = sinks[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (sinks[i].fd >= 0 && !drain(&sinks[i])) {
				sinks[i].fd = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (out)
		out[sinks[0].len] = '\0';
	trim_newlines(errbuf, &sinks[1].len);
	if (status != 0) {
		char line[512], how[32];

		lab_cmd_format(argv, line, sizeof(line));
		if (status >= 0 && WIFEXITED(status))
			snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
		else if (status >= 0 && WIFSIGNALED(status))
			snprintf(how, sizeof(how), "signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "status unknown");
		if (!(flags & LAB_CMD_QUIET))
			log_error("`%s` failed (%s): %s", line, how,
				  errbuf[0] ? errbuf : "(nothing on stderr)");
		rc = -EIO;
	}
free_attr:
	posix_spawnattr_destroy(&attr);
free_fa:
	posix_spawn_file_actions_destroy(&fa);
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return rc;
}
