/*
 * lib/core/ctlsock: request splitting and joining, and a real server on a Unix socket
 * driven by ctl_client_call() from another thread.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/ctlsock.h"
#include "core/loop.h"

static void test_split(void **state)
{
	struct ctl_request r;
	const char *err = NULL;
	char a[] = "send  MESSAGE \"hello world\" via wlan";
	char b[] = "say \"a \\\"quoted\\\" word\"";
	char c[] = "broken \"quote";
	char d[] = "   ";
	char e[200];

	assert_int_equal(ctl_split(a, strlen(a), &r, &err), 0);
	assert_int_equal(r.argc, 5);
	assert_string_equal(r.argv[0].s, "send");
	assert_string_equal(r.argv[2].s, "hello world");
	assert_int_equal(r.argv[2].len, 11);
	assert_string_equal(r.argv[4].s, "wlan");

	assert_int_equal(ctl_split(b, strlen(b), &r, &err), 0);
	assert_int_equal(r.argc, 2);
	assert_string_equal(r.argv[1].s, "a \"quoted\" word");

	assert_int_equal(ctl_split(c, strlen(c), &r, &err), -EINVAL);
	assert_string_equal(err, "unbalanced double quote");
	assert_int_equal(ctl_split(d, strlen(d), &r, &err), -EINVAL);

	e[0] = '\0';
	for (int i = 0; i < CTL_ARGS_MAX + 1; i++)
		strcat(e, "w ");
	assert_int_equal(ctl_split(e, strlen(e), &r, &err), -E2BIG);
}

/* What ctl_join() writes, ctl_split() reads back word for word. */
static void round_trip(int argc, char *const argv[])
{
	struct ctl_request r;
	const char *err = NULL;
	struct buf line;

	buf_init(&line);
	assert_int_equal(ctl_join(argc, argv, &line), 0);
	assert_int_equal(ctl_split(line.p, strlen(line.p), &r, &err), 0);
	assert_int_equal(r.argc, argc);
	for (int i = 0; i < argc; i++)
		assert_string_equal(r.argv[i].s, argv[i]);
	buf_free(&line);
}

static void test_join(void **state)
{
	char *const plain[] = { "reauth", "sip:alice@ims.test", "binding=3" };
	char *const odd[] = { "send", "MESSAGE", "sip:bob@ims.test", "via", "wlan", "hello world",
			      "say \"hi\"", "back\\slash", "", "tab\there" };
	char *const two_lines[] = { "send", "two\nlines" };
	char *const cr[] = { "x\r" };
	static char big[CTL_LINE_MAX + 8];
	char *const huge[] = { big };
	struct buf line;

	round_trip(3, plain);
	round_trip(10, odd);

	buf_init(&line);
	assert_int_equal(ctl_join(3, plain, &line), 0);
	assert_string_equal(line.p, "reauth sip:alice@ims.test binding=3");
	buf_free(&line);

	buf_init(&line);
	assert_int_equal(ctl_join(2, two_lines, &line), -EINVAL);
	buf_free(&line);
	buf_init(&line);
	assert_int_equal(ctl_join(1, cr, &line), -EINVAL);
	buf_free(&line);
	memset(big, 'a', sizeof(big) - 1);
	buf_init(&line);
	assert_int_equal(ctl_join(1, huge, &line), -E2BIG);
	buf_free(&line);
}

static int cmd_echo(void *ctx, const struct ctl_request *req, struct json_writer *w,
		    const char **error)
{
	int *calls = ctx;

	(*calls)++;
	json_key(w, "words");
	json_begin_array(w);
	for (int i = 1; i < req->argc; i++)
		json_string(w, req->argv[i]);
	json_end_array(w);
	return 0;
}

static int cmd_fail(void *ctx, const struct ctl_request *req, struct json_writer *w,
		    const char **error)
{
	json_kv_int(w, "half", 1); /* dropped: the command failed */
	*error = "no such access";
	return -ENOENT;
}

static const struct ctl_command commands[] = {
	{ "echo", "WORDS...", "answer the words", 0, 8, cmd_echo },
	{ "fail", "", "always fails", 0, 0, cmd_fail },
};

struct fixture {
	char dir[64];
	char path[128];
	struct loop *loop;
	struct ctl_server *srv;
	int calls;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/simreg-ctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.ctl", f->dir);
	assert_int_equal(loop_create(&f->loop, NULL), 0);
	assert_int_equal(ctl_server_open(&f->srv, f->loop, f->path, commands, 2, &f->calls), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ctl_server_close(f->srv);
	loop_destroy(f->loop);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A client thread runs a script of requests; the loop runs meanwhile. */
struct exchange {
	const char *path;
	const char *request;
	char answer[1024];
	int rc;
};

struct script {
	struct fixture *f;
	struct exchange *ex;
	size_t n;
	int raw_fd_test; /* also send an over-long line on a raw socket */
	int raw_rc;
	int half_close_test; /* also requests followed by shutdown(SHUT_WR) */
	char half_answer[1024];
	int half_rc;
};

static void stop_loop(void *ctx, int status)
{
	loop_stop(ctx);
}

static int over_long_line(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char junk[CTL_LINE_MAX + 10];
	char b;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n;

	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -errno;
	memset(junk, 'x', sizeof(junk));
	send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
	n = recv(fd, &b, 1, 0); /* the server hangs up: 0 (or a reset) */
	close(fd);
	return n <= 0 ? 0 : -EPROTO;
}

/*
 * Two requests, the second without its newline, then shutdown(SHUT_WR), as
 * `socat` and `nc -N` do: both answers must arrive before the server's EOF.
 * Returns 0 with everything read into out, or a negative errno.
 */
static int half_close(const char *path, char *out, size_t size)
{
	static const char req[] = "echo one\necho two";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc = 0;

	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1) ||
	    shutdown(fd, SHUT_WR) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, out + got, size - 1 - got, 0);

		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == size - 1) {
			rc = -EMSGSIZE;
			break;
		}
	}
out:
	out[got] = '\0';
	close(fd);
	return rc;
}

static void *client_thread(void *arg)
{
	struct script *s = arg;

	for (size_t i = 0; i < s->n; i++)
		s->ex[i].rc = ctl_client_call(s->ex[i].path, s->ex[i].request, s->ex[i].answer,
					      sizeof(s->ex[i].answer), 5000);
	if (s->raw_fd_test)
		s->raw_rc = over_long_line(s->f->path);
	if (s->half_close_test)
		s->half_rc = half_close(s->f->path, s->half_answer, sizeof(s->half_answer));
	loop_call(s->f->loop, stop_loop, s->f->loop);
	return NULL;
}

static void run_script(struct script *s)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, client_thread, s), 0);
	assert_int_equal(loop_run(s->f->loop), 0);
	pthread_join(t, NULL);
}

static void test_server(void **state)
{
	struct fixture *f = *state;
	struct exchange ex[] = {
		{ f->path, "echo a \"b c\"", "", 0 },
		{ f->path, "fail", "", 0 },
		{ f->path, "nope", "", 0 },
		{ f->path, "fail extra", "", 0 },
		{ f->path, "echo \"open", "", 0 },
		{ f->path, "help", "", 0 },
	};
	struct script s = { .f = f, .ex = ex, .n = sizeof(ex) / sizeof(ex[0]), .raw_fd_test = 1,
			     .raw_rc = -1 };

	run_script(&s);
	assert_string_equal(ex[0].answer, "{\"ok\":true,\"words\":[\"a\",\"b c\"]}");
	assert_int_equal(ex[0].rc, (int)strlen(ex[0].answer));
	assert_string_equal(ex[1].answer, "{\"ok\":false,\"error\":\"no such access\"}");
	assert_string_equal(ex[2].answer, "{\"ok\":false,\"error\":\"unknown command (try 'help')\"}");
	assert_string_equal(ex[3].answer,
			    "{\"ok\":false,\"error\":\"wrong number of arguments (try 'help')\"}");
	assert_string_equal(ex[4].answer, "{\"ok\":false,\"error\":\"unbalanced double quote\"}");
	assert_non_null(strstr(ex[5].answer, "{\"name\":\"echo\",\"usage\":\"WORDS...\""));
	assert_int_equal(f->calls, 1);
	assert_int_equal(s.raw_rc, 0);
}

/* The server survives its clients: after the over-long line it still answers. */
static void test_server_after_abuse(void **state)
{
	struct fixture *f = *state;
	struct exchange ex[] = { { f->path, "echo still", "", 0 } };
	struct script s1 = { .f = f, .raw_fd_test = 1, .raw_rc = -1 };
	struct script s2 = { .f = f, .ex = ex, .n = 1 };

	run_script(&s1);
	assert_int_equal(s1.raw_rc, 0);
	run_script(&s2);
	assert_string_equal(ex[0].answer, "{\"ok\":true,\"words\":[\"still\"]}");
}

/* A client that half-closes after its requests still gets every answer. */
static void test_half_close(void **state)
{
	struct fixture *f = *state;
	struct script s = { .f = f, .raw_rc = -1, .half_close_test = 1, .half_rc = -1 };

	run_script(&s);
	assert_int_equal(s.half_rc, 0);
	assert_string_equal(s.half_answer, "{\"ok\":true,\"words\":[\"one\"]}\n"
					   "{\"ok\":true,\"words\":[\"two\"]}\n");
	assert_int_equal(f->calls, 2);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct ctl_server *other = NULL;
	char file[160], longpath[200];
	FILE *fp;

	/* Somebody answers on the path: refuse to steal it. */
	assert_int_equal(ctl_server_open(&other, f->loop, f->path, commands, 2, NULL),
			 -EADDRINUSE);
	/* A regular file is never replaced. */
	snprintf(file, sizeof(file), "%s/file", f->dir);
	fp = fopen(file, "w");
	fclose(fp);
	assert_int_equal(ctl_server_open(&other, f->loop, file, commands, 2, NULL), -EEXIST);
	unlink(file);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ctl_server_open(&other, f->loop, longpath, commands, 2, NULL),
			 -ENAMETOOLONG);
	/* Nobody listening. */
	char answer[64];
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/none.ctl", f->dir);
	assert_int_equal(ctl_client_call(missing, "status", answer, sizeof(answer), 100),
			 -ENOENT);
}

/* A stale socket file (its process died) is replaced. */
static void test_stale_socket(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *srv = NULL;
	struct stat st;
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/stale.ctl", f->dir);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd); /* never listened: connect is refused */
	assert_int_equal(ctl_server_open(&srv, f->loop, path, commands, 2, NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	ctl_server_close(srv);
	assert_int_equal(stat(path, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_join),
		cmocka_unit_test_setup_teardown(test_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_after_abuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
