/*
 * loop_signal_prog - a small process around the event loop, driven by
 * loop_signal.sh with real signals.
 *
 *   loop_signal_prog WORK_MS GRACE_MS [stuck]
 *
 * It listens on a TCP socket (127.0.0.1, any port), starts a thread that
 * hands a work item to the loop (as freeDiameter's threads will), and
 * prints "ready" from that item, on the loop thread. On SIGTERM/SIGINT:
 *   listener      closes its socket and is done at once;
 *   transactions  has WORK_MS of in-flight work that it finishes;
 *   stuck         (optional) never finishes; failed when the grace ends.
 * SIGHUP prints "reload". Exit status 0 after a clean shutdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"

static struct loop *loop;

static struct {
	struct loop_io io;
	int fd;
	struct loop_shutdown_hook hook;
} listener;

static struct {
	struct loop_timer work;
	uint64_t work_ms;
	struct loop_shutdown_hook hook;
} transactions;

static struct loop_shutdown_hook stuck;

static void say(const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}

static void on_accept(struct loop *l, struct loop_io *io, unsigned events)
{
	int c = accept(io->fd, NULL, NULL);

	if (c >= 0)
		close(c);
}

static int listener_begin(struct loop *l, struct loop_shutdown_hook *h)
{
	loop_io_remove(l, &listener.io);
	close(listener.fd);
	say("listener: closed");
	return 0;
}

static void transactions_done(struct loop *l, struct loop_timer *t)
{
	say("transactions: finished in-flight work");
	loop_shutdown_done(l, &transactions.hook);
}

static int transactions_begin(struct loop *l, struct loop_shutdown_hook *h)
{
	say("transactions: finishing in-flight work");
	loop_timer_arm(l, &transactions.work, transactions.work_ms);
	return LOOP_SHUTDOWN_PENDING;
}

static void transactions_expire(struct loop *l, struct loop_shutdown_hook *h)
{
	loop_timer_cancel(l, &transactions.work);
	say("transactions: failed in-flight work");
}

static int stuck_begin(struct loop *l, struct loop_shutdown_hook *h)
{
	say("stuck: begin");
	return LOOP_SHUTDOWN_PENDING;
}

static void stuck_expire(struct loop *l, struct loop_shutdown_hook *h)
{
	say("stuck: failed in-flight work");
}

static void on_reload(struct loop *l, void *ctx)
{
	say("reload");
}

static void ready(void *ctx, int status)
{
	if (status == 0)
		say("ready");
}

static void *library_thread(void *arg)
{
	static struct loop_work w = { .fn = ready };

	loop_post(loop, &w);
	return NULL;
}

static int listen_any(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: %s WORK_MS GRACE_MS [stuck]\n", argv[0]);
		return 2;
	}
	if (loop_create(&loop, NULL) < 0 || loop_signals_enable(loop) < 0)
		return 1;
	loop_set_shutdown_grace(loop, strtoull(argv[2], NULL, 10));
	loop_on_reload(loop, on_reload, NULL);

	listener.fd = listen_any();
	if (listener.fd < 0 ||
	    loop_io_add(loop, &listener.io, listener.fd, LOOP_READ, on_accept, NULL) < 0)
		return 1;
	listener.hook = (struct loop_shutdown_hook){ .name = "listener", .begin = listener_begin };
	loop_on_shutdown(loop, &listener.hook);

	transactions.work_ms = strtoull(argv[1], NULL, 10);
	loop_timer_init(&transactions.work, transactions_done, NULL);
	transactions.hook = (struct loop_shutdown_hook){
		.name = "transactions", .begin = transactions_begin, .expire = transactions_expire
	};
	loop_on_shutdown(loop, &transactions.hook);

	if (argc > 3 && strcmp(argv[3], "stuck") == 0) {
		stuck = (struct loop_shutdown_hook){ .name = "stuck", .begin = stuck_begin,
						     .expire = stuck_expire };
		loop_on_shutdown(loop, &stuck);
	}

	/* After loop_signals_enable(): the thread inherits the blocked mask. */
	if (pthread_create(&th, NULL, library_thread, NULL) != 0)
		return 1;
	rc = loop_run(loop);
	pthread_join(th, NULL);
	loop_destroy(loop);
	say(rc == 0 ? "exit clean" : "exit with error");
	return rc == 0 ? 0 : 1;
}
