/*
 * dia_engine_stop_last(): an abort inside freeDiameter's teardown ends the
 * process with status 0 and one line on stderr; a normal stop returns with
 * SIGABRT's previous action back.
 *
 * freeDiameter 1.2.1 aborts in its teardown only when its threads are
 * starved (libfdproto/fifo.c:192), which no test can arrange on purpose.
 * The abort is raised here from where freeDiameter's own would come: inside
 * fd_core_shutdown(), on the line it logs when its shutdown sequence
 * begins (through the engine's log hook). Each case runs in a child
 * process, since freeDiameter is a process-wide singleton and the abort
 * ends the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "diameter/cx.h"
#include "diameter/engine.h"

static char run_dir[64];

static int make_run_dir(void **state)
{
	(void)state;
	strcpy(run_dir, "/tmp/simreg-dia-stop-XXXXXX");
	assert_non_null(mkdtemp(run_dir));
	return 0;
}

static int remove_run_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	return system(cmd);
}

/* freeDiameter's first line of fd_core_shutdown(): abort right there. */
static void abort_in_teardown(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	if (strstr(line, "shutdown sequence"))
		abort();
}

static void quiet(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

/*
 * Run the engine in a child with the given log hook, then stop it with
 * dia_engine_stop_last("test"). The child's stderr goes to `err_path`.
 * When the stop returns, the child exits 7 if SIGABRT's action is the
 * default again, 8 otherwise. Returns the child's wait status.
 */
static int run_child(dia_log_fn *log, const char *err_path)
{
	struct dia_config cfg = {
		.identity = "stop.ims.test", .realm = "ims.test", .listen = NULL,
		.run_dir = run_dir,
	};
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sigaction now;
		struct cx_dict d;
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(10);
		close(fd);
		if (dia_engine_start(&cfg, &d, log, NULL))
			_exit(11);
		dia_engine_stop_last("test");
		sigaction(SIGABRT, NULL, &now);
		_exit(now.sa_handler == SIG_DFL ? 7 : 8);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void test_abort_in_teardown_is_a_clean_exit(void **state)
{
	char path[128], text[4096];
	int status;

	(void)state;
	snprintf(path, sizeof(path), "%s/abort.err", run_dir);
	status = run_child(abort_in_teardown, path);
	read_file(path, text, sizeof(text));
	if (WIFSIGNALED(status))
		fail_msg("the child died of signal %d; stderr: %s", WTERMSIG(status), text);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(text, "test: freeDiameter aborted in its own shutdown "
				     "(state was saved)\n"));
}

static void test_normal_stop_returns(void **state)
{
	char path[128], text[4096];
	int status;

	(void)state;
	snprintf(path, sizeof(path), "%s/normal.err", run_dir);
	status = run_child(quiet, path);
	read_file(path, text, sizeof(text));
	assert_true(WIFEXITED(status));
	/* 7: returned, SIGABRT's default action back in place. */
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_null(strstr(text, "aborted"));
}

/* Never started: nothing to stop, and it returns. */
static void test_stop_without_start(void **state)
{
	struct sigaction now;

	(void)state;
	dia_engine_stop_last("test");
	sigaction(SIGABRT, NULL, &now);
	assert_true(now.sa_handler == SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abort_in_teardown_is_a_clean_exit),
		cmocka_unit_test(test_normal_stop_returns),
		cmocka_unit_test(test_stop_without_start),
	};

	return cmocka_run_group_tests(tests, make_run_dir, remove_run_dir);
}
