/*
 * lib/core/loop + log: a slow stderr reader never blocks the loop; the loop
 * waits for stderr to become writable while lines are pending and flushes
 * them then. Its own program because it takes over the process's stderr.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define SLOG_COMPONENT "test"
#include "core/log.h"
#include "core/loop.h"

#define LINES 300

/*
 * The slow reader. It drains the pipe only while the loop thread sleeps
 * (state 'S', which in loop_run_once() means blocked in epoll_wait, since
 * every descriptor is non-blocking), so the loop can only learn of the
 * room through its log watcher; reading while the loop flushes would let
 * one flush move everything and prove nothing.
 */
struct reader {
	int fd;
	pid_t loop_tid;
	size_t lines;
};

static bool loop_thread_sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char buf[512];
	ssize_t n;

	for (int spins = 0; r->lines < LINES && spins < 5000000; spins++) {
		if (!loop_thread_sleeping(r->loop_tid)) {
			sched_yield();
			continue;
		}
		while ((n = read(r->fd, buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++)
				r->lines += buf[i] == '\n';
	}
	return NULL;
}

/*
 * What happened, gathered while stderr is the test pipe and checked after
 * it is restored (a failing check prints to stderr, which would block on
 * the full pipe).
 */
struct outcome {
	uint64_t logging_ms;
	bool pending_after_logging;
	int idle_calls;
	bool pending_after_idle;
	int rounds, calls;
	int final_calls;
};

static void test_log_waits_for_stderr(void **state)
{
	int p[2], saved = dup(STDERR_FILENO);
	struct outcome o = { 0 };
	struct reader r = { 0 };
	struct loop *loop;
	pthread_t th;
	uint64_t t0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* The smallest pipe the kernel allows: a page. */
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	assert_int_equal(loop_create(&loop, NULL), 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	slog_init("t", SLOG_TARGET_STDERR, SLOG_INFO);

	/* Far more than the pipe holds: logging must return at once. */
	t0 = loop_now_ms(loop);
	for (int i = 0; i < LINES; i++)
		log_info("line %03d %s", i, "................................................");
	o.logging_ms = loop_now_ms(loop) - t0;
	o.pending_after_logging = slog_pending();

	/* Nobody reads yet: an iteration neither blocks nor spins on the log
	 * descriptor, and the lines stay buffered. */
	o.idle_calls = loop_run_once(loop, 0);
	o.pending_after_idle = slog_pending();

	/* A reader appears. The loop sleeps in epoll_wait until the pipe has
	 * room, then its log watcher moves more lines; each watcher call is
	 * counted in the iteration's result. */
	r.fd = p[0];
	r.loop_tid = gettid();
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	while (slog_pending() && o.rounds < 1000) {
		int n = loop_run_once(loop, 1000);
		o.calls += n > 0 ? n : 0;
		o.rounds++;
	}
	pthread_join(th, NULL);
	/* Drained: the watcher is gone, an idle iteration runs nothing. */
	o.final_calls = loop_run_once(loop, 0);

	dup2(saved, STDERR_FILENO);
	close(saved);
	loop_destroy(loop);
	/* slog keeps its own descriptor of the pipe; the read end stays open
	 * so that nothing logged later raises SIGPIPE. */
	close(p[1]);

	printf("logging took %llu ms; %d iterations, %d log watcher calls, %zu lines read\n",
	       (unsigned long long)o.logging_ms, o.rounds, o.calls, r.lines);
	assert_true(o.logging_ms < 1000);
	assert_true(o.pending_after_logging);
	assert_int_equal(o.idle_calls, 0);
	assert_true(o.pending_after_idle);
	assert_true(o.calls >= 1);
	assert_int_equal(r.lines, LINES);
	assert_int_equal(o.final_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_waits_for_stderr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
