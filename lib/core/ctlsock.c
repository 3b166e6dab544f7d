#define SLOG_COMPONENT "ctl"

#include "core/ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

struct ctl_client {
	struct ctl_server *srv;
	struct loop_io io;
	int fd;
	bool in_use;
	bool eof; /* the client shut its sending side: answer, then close */
	size_t in_len;
	char in[CTL_LINE_MAX + 1];
	char *out;
	size_t out_len, out_off, out_cap;
};

struct ctl_server {
	struct loop *loop;
	struct loop_io io;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct ctl_command *cmds;
	size_t n_cmds;
	void *ctx;
	struct ctl_client clients[CTL_CLIENTS_MAX];
};

static void client_close(struct ctl_client *c)
{
	if (!c->in_use)
		return;
	loop_io_remove(c->srv->loop, &c->io);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	c->in_len = 0;
	c->eof = false;
	c->in_use = false;
}

static int client_queue(struct ctl_client *c, const char *data, size_t len)
{
	size_t pending = c->out_len - c->out_off;

	if (pending + len > CTL_ANSWER_MAX)
		return -ENOBUFS;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_len = pending;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *p;
		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Write what is pending; returns 0, or -errno when the client is gone. */
static int client_flush(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		c->out_off += (size_t)n;
	}
	/* After the client's EOF only the answers are left to write. */
	return loop_io_modify(c->srv->loop, &c->io,
			      (c->eof ? 0 : LOOP_READ) | (c->out_off < c->out_len ? LOOP_WRITE : 0));
}

int ctl_split(char *line, size_t len, struct ctl_request *req, const char **error)
{
	size_t i = 0;

	req->argc = 0;
	while (i < len) {
		char *word;
		size_t o;
		bool quoted = false;

		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i == len)
			break;
		if (req->argc == CTL_ARGS_MAX) {
			*error = "too many words in the request";
			return -E2BIG;
		}
		word = line + i;
		o = i;
		while (i < len) {
			char ch = line[i];
			if (!quoted && (ch == ' ' || ch == '\t' || ch == '\r'))
				break;
			i++;
			if (ch == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && ch == '\\' && i < len)
				ch = line[i++];
			line[o++] = ch;
		}
		if (quoted) {
			*error = "unbalanced double quote";
			return -EINVAL;
		}
		/* The terminator overwrites a separator or a consumed quote,
		 * never a byte still to be read: o <= i here. */
		req->argv[req->argc++] = str_make(word, (size_t)(line + o - word));
		if (i < len)
			i++;
		line[o] = '\0';
	}
	if (req->argc == 0) {
		*error = "empty request";
		return -EINVAL;
	}
	return 0;
}

static const struct ctl_command *find_command(const struct ctl_server *s, struct str name)
{
	for (size_t i = 0; i < s->n_cmds; i++)
		if (str_eq_cstr(name, s->cmds[i].name))
			return &s->cmds[i];
	return NULL;
}

static void write_help(const struct ctl_server *s, struct json_writer *w)
{
	json_key(w, "commands");
	json_begin_array(w);
	for (size_t i = 0; i < s->n_cmds; i++) {
		json_begin_object(w);
		json_kv_cstring(w, "name", s->cmds[i].name);
		json_kv_cstring(w, "usage", s->cmds[i].usage);
		json_kv_cstring(w, "help", s->cmds[i].help);
		json_end_object(w);
	}
	json_end_array(w);
}

/* Run one request line and queue its answer. */
static int client_serve_line(struct ctl_client *c, char *line, size_t len)
{
	struct ctl_server *s = c->srv;
	struct ctl_request req;
	struct json_writer w;
	const char *error = NULL;
	const struct ctl_command *cmd = NULL;
	struct str doc;
	int rc;

	json_writer_init(&w, 0);
	json_begin_object(&w);
	json_kv_bool(&w, "ok", true);
	rc = ctl_split(line, len, &req, &error);
	if (rc == 0 && str_eq_cstr(req.argv[0], "help")) {
		write_help(s, &w);
	} else if (rc == 0) {
		cmd = find_command(s, req.argv[0]);
		if (!cmd) {
			error = "unknown command (try 'help')";
			rc = -ENOENT;
		} else if (req.argc - 1 < cmd->min_args || req.argc - 1 > cmd->max_args) {
			error = "wrong number of arguments (try 'help')";
			rc = -EINVAL;
		} else {
			rc = cmd->fn(s->ctx, &req, &w, &error);
			if (rc < 0 && !error)
				error = strerror(-rc);
		}
	}
	json_end_object(&w);
	if (rc == 0)
		rc = json_writer_finish(&w, &doc);
	if (rc < 0) {
		json_writer_free(&w);
		json_writer_init(&w, 0);
		json_begin_object(&w);
		json_kv_bool(&w, "ok", false);
		json_kv_cstring(&w, "error", error ? error : "internal error writing the answer");
		json_end_object(&w);
		if (json_writer_finish(&w, &doc) < 0) {
			json_writer_free(&w);
			return -ENOMEM;
		}
		log_info("request '%s' refused: %s", req.argc > 0 ? req.argv[0].s : "",
			 error ? error : "?");
	}
	rc = client_queue(c, doc.s, doc.len);
	if (rc == 0)
		rc = client_queue(c, "\n", 1);
	json_writer_free(&w);
	return rc;
}

/*
 * Read what the client sent and queue an answer for each complete line.
 * At EOF (the client closed, or only shut its sending side as `socat` and
 * `nc -N` do after the request) a last line without a newline is served too,
 * and the answers queued so far still go out: the caller closes once they
 * are written. Returns 0, or -EPROTO when the client broke a limit.
 */
static int client_read(struct ctl_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, CTL_LINE_MAX - c->in_len, 0);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0) {
			c->eof = true;
			if (c->in_len > 0 && client_serve_line(c, c->in, c->in_len) < 0) {
				log_warn("control client disconnected: answer buffer full");
				return -EPROTO;
			}
			c->in_len = 0;
			return 0;
		}
		c->in_len += (size_t)n;
		while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
			size_t line_len = (size_t)(nl - c->in);
			if (client_serve_line(c, c->in, line_len) < 0) {
				log_warn("control client disconnected: answer buffer full");
				return -EPROTO;
			}
			memmove(c->in, nl + 1, c->in_len - line_len - 1);
			c->in_len -= line_len + 1;
		}
		if (c->in_len == CTL_LINE_MAX) {
			log_warn("control client disconnected: request line over %d bytes",
				 CTL_LINE_MAX);
			return -EPROTO;
		}
	}
}

static void client_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ctl_client *c = io->ctx;

	if ((events & (LOOP_READ | LOOP_ERROR)) && !c->eof && client_read(c) < 0) {
		client_close(c);
		return;
	}
	/* Gone, or everything answered after its EOF: nothing more to do. */
	if (client_flush(c) < 0 || (c->eof && c->out_off == c->out_len))
		client_close(c);
	(void)loop;
}

static void accept_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ctl_server *s = io->ctx;

	for (;;) {
		struct ctl_client *c = NULL;
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on %s: %s", s->path, strerror(errno));
			return;
		}
		for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
			if (!s->clients[i].in_use) {
				c = &s->clients[i];
				break;
			}
		}
		if (!c) {
			log_warn("control socket %s: more than %d clients, closing one",
				 s->path, CTL_CLIENTS_MAX);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->srv = s;
		c->fd = fd;
		if (loop_io_add(loop, &c->io, fd, LOOP_READ, client_cb, c) < 0) {
			close(fd);
			continue;
		}
		c->in_use = true;
	}
	(void)events;
}

/* Is somebody answering on this socket path? */
static bool socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

int ctl_server_open(struct ctl_server **out, struct loop *loop, const char *path,
		    const struct ctl_command *cmds, size_t n, void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *s = NULL;
	struct stat st;
	mode_t old_mask;
	int rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (socket_alive(&sun))
			return -EADDRINUSE;
		unlink(path);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cmds = cmds;
	s->n_cmds = n;
	s->ctx = ctx;
	memcpy(s->path, sun.sun_path, sizeof(s->path));
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		goto fail_free;
	}
	old_mask = umask(0177);
	rc = bind(s->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc < 0) {
		rc = -errno;
		goto fail_close;
	}
	if (listen(s->fd, 16) < 0) {
		rc = -errno;
		goto fail_unlink;
	}
	rc = loop_io_add(loop, &s->io, s->fd, LOOP_READ, accept_cb, s);
	if (rc < 0)
		goto fail_unlink;
	*out = s;
	return 0;

fail_unlink:
	unlink(path);
fail_close:
	close(s->fd);
fail_free:
	free(s);
	return rc;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		client_close(&s->clients[i]);
	loop_io_remove(s->loop, &s->io);
	close(s->fd);
	unlink(s->path);
	free(s);
}

static int64_t ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait for `events` on fd until the deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = ms_left(deadline);
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

int ctl_client_call(const char *path, const char *request, char *answer, size_t size,
		    int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timespec deadline;
	size_t req_len = strlen(request), sent = 0, got = 0;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if (size == 0 || memchr(request, '\n', req_len))
		return -EINVAL;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		goto out;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (sent < req_len + 1) {
		const char *p = sent < req_len ? request + sent : "\n";
		size_t len = sent < req_len ? req_len - sent : 1;
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			rc = wait_fd(fd, POLLOUT, &deadline);
			if (rc < 0)
				goto out;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		sent += (size_t)n;
	}
	for (;;) {
		ssize_t n;
		char *nl;

		if (got == size - 1) {
			rc = -EMSGSIZE;
			goto out;
		}
		n = recv(fd, answer + got, size - 1 - got, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			rc = wait_fd(fd, POLLIN, &deadline);
			if (rc < 0)
				goto out;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			goto out;
		}
		got += (size_t)n;
		nl = memchr(answer, '\n', got);
		if (nl) {
			*nl = '\0';
			rc = (int)(nl - answer);
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int ctl_join(int argc, char *const argv[], struct buf *req)
{
	for (int i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n"))
			return -EINVAL;
		if (i > 0)
			buf_putc(req, ' ');
		if (!*argv[i] || strpbrk(argv[i], " \t\"\\")) {
			buf_putc(req, '"');
			for (const char *p = argv[i]; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_putc(req, '\\');
				buf_putc(req, *p);
			}
			buf_putc(req, '"');
		} else {
			buf_puts(req, argv[i]);
		}
	}
	buf_putc(req, '\0');
	if (buf_error(req) || req->len > CTL_LINE_MAX)
		return -E2BIG;
	return 0;
}
