/*
 * ctlsock.c - line-in, JSON-out over a Unix stream socket.
 */
#define SLOG_COMPONENT "ue"
#include "ue/ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

static void conn_close(struct ue_ctlsock_conn *c)
{
	loop_io_remove(c->srv->loop, &c->io);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/*
 * Write a whole answer. Answers are small and the peer is a local tool
 * waiting for them; a peer that stops reading for a second loses its
 * connection rather than stalling the UE.
 */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, 1000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int answer(struct ue_ctlsock_conn *c, struct str line)
{
	struct json_writer w;
	struct str out;
	int rc;

	json_writer_init(&w, 0);
	c->srv->fn(c->srv->ctx, line, &w);
	rc = json_writer_finish(&w, &out);
	if (rc == 0)
		rc = write_all(c->fd, out.s, out.len);
	if (rc == 0)
		rc = write_all(c->fd, "\n", 1);
	json_writer_free(&w);
	return rc;
}

static void on_conn(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ue_ctlsock_conn *c = io->ctx;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl - c->buf) + 1;

		if (answer(c, str_make(c->buf, used - 1)) < 0) {
			conn_close(c);
			return;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (c->len == sizeof(c->buf)) {
		log_warn("control connection sent a line over %d bytes: closed",
			 UE_CTLSOCK_LINE_MAX);
		conn_close(c);
	}
}

static void on_accept(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ue_ctlsock *s = io->ctx;
	struct ue_ctlsock_conn *c = NULL;
	int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < UE_CTLSOCK_MAX_CONNS && !c; i++)
		if (s->conns[i].fd < 0)
			c = &s->conns[i];
	if (!c) {
		static const char busy[] = "{\"ok\":false,\"error\":\"too many connections\"}\n";

		write_all(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	c->fd = fd;
	c->len = 0;
	c->srv = s;
	if (loop_io_add(loop, &c->io, fd, LOOP_READ, on_conn, c) < 0) {
		close(fd);
		c->fd = -1;
	}
}

int ue_ctlsock_open(struct ue_ctlsock *s, struct loop *loop, const char *path,
		    ue_ctl_handler *fn, void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	for (unsigned i = 0; i < UE_CTLSOCK_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	strcpy(s->path, path);
	s->loop = loop;
	s->fn = fn;
	s->ctx = ctx;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	unlink(path);
	if (bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(s->fd, 8) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = loop_io_add(loop, &s->io, s->fd, LOOP_READ, on_accept, s);
	if (rc)
		goto fail;
	return 0;
fail:
	close(s->fd);
	s->fd = -1;
	return rc;
}

void ue_ctlsock_close(struct ue_ctlsock *s)
{
	if (s->fd < 0)
		return;
	for (unsigned i = 0; i < UE_CTLSOCK_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(&s->conns[i]);
	loop_io_remove(s->loop, &s->io);
	close(s->fd);
	s->fd = -1;
	unlink(s->path);
}
