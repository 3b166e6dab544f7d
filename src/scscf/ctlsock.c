/*
 * ctlsock.c - a Unix stream control socket on the event loop.
 */
#define SLOG_COMPONENT "ctl"

#include "scscf/ctlsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

#define CTLSOCK_IDLE_MS 5000

struct ctl_conn {
	struct loop_io io;
	struct loop_timer idle;
	struct ctlsock *c;
	struct ctl_conn *next;
	char in[CTLSOCK_MAX_LINE];
	size_t in_len;
	struct buf out;
	size_t out_off;
};

struct ctlsock {
	struct loop *loop;
	struct loop_io io;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctlsock_handler *fn;
	void *ctx;
	struct ctl_conn *conns;
};

static void conn_close(struct ctl_conn *k)
{
	struct ctlsock *c = k->c;

	for (struct ctl_conn **pp = &c->conns; *pp; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	}
	loop_io_remove(c->loop, &k->io);
	loop_timer_cancel(c->loop, &k->idle);
	close(k->io.fd);
	buf_free(&k->out);
	free(k);
}

static void conn_idle(struct loop *loop, struct loop_timer *t)
{
	conn_close(t->ctx);
}

/* Split the request into words and let the handler answer it. */
static void answer(struct ctl_conn *k)
{
	char *argv[CTLSOCK_MAX_WORDS];
	char *save = NULL;
	int argc = 0;

	for (char *w = strtok_r(k->in, " \t\r", &save); w && argc < CTLSOCK_MAX_WORDS;
	     w = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = w;
	if (!argc)
		buf_puts(&k->out, "{\"ok\":false,\"error\":\"empty request\"}");
	else
		k->c->fn(k->c->ctx, argc, argv, &k->out);
	buf_putc(&k->out, '\n');
	if (buf_error(&k->out)) {
		buf_reset(&k->out);
		buf_puts(&k->out, "{\"ok\":false,\"error\":\"answer too large\"}\n");
	}
}

static void conn_event(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ctl_conn *k = io->ctx;
	ssize_t n;

	if (events & LOOP_READ) {
		n = read(io->fd, k->in + k->in_len, sizeof(k->in) - 1 - k->in_len);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			conn_close(k);
			return;
		}
		k->in_len += (size_t)n;
		k->in[k->in_len] = '\0';
		if (!memchr(k->in, '\n', k->in_len)) {
			if (k->in_len == sizeof(k->in) - 1)
				conn_close(k); /* a line longer than we take */
			return;
		}
		*(char *)memchr(k->in, '\n', k->in_len) = '\0';
		answer(k);
		loop_io_modify(loop, io, LOOP_WRITE);
		return;
	}
	if (events & LOOP_WRITE) {
		n = write(io->fd, k->out.p + k->out_off, k->out.len - k->out_off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0)
			k->out_off += (size_t)n;
		if (n <= 0 || k->out_off == k->out.len)
			conn_close(k);
		return;
	}
	conn_close(k);
}

static void listener_event(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct ctlsock *c = io->ctx;
	struct ctl_conn *k;
	int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return;
	}
	k->c = c;
	buf_init(&k->out);
	if (loop_io_add(loop, &k->io, fd, LOOP_READ, conn_event, k) < 0) {
		close(fd);
		free(k);
		return;
	}
	loop_timer_init(&k->idle, conn_idle, k);
	loop_timer_arm(loop, &k->idle, CTLSOCK_IDLE_MS);
	k->next = c->conns;
	c->conns = k;
}

int ctlsock_open(struct loop *loop, const char *path, ctlsock_handler *fn, void *ctx,
		 struct ctlsock **out)
{
	struct ctlsock *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int err;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->fn = fn;
	c->ctx = ctx;
	c->fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = -errno;
		goto fail;
	}
	/* A socket file left by a process that died is ours to replace. */
	unlink(path);
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(c->fd, 16) < 0) {
		err = -errno;
		goto fail;
	}
	err = loop_io_add(loop, &c->io, c->fd, LOOP_READ, listener_event, c);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	log_error("control socket %s: %s", path, strerror(-err));
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return err;
}

void ctlsock_close(struct ctlsock *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_close(c->conns);
	loop_io_remove(c->loop, &c->io);
	close(c->fd);
	unlink(c->path);
	free(c);
}
