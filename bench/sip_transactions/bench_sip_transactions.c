/*
 * bench_sip_transactions - non-INVITE transactions per second through a
 * simreg stateful server transaction, driven by SIPp over loopback UDP,
 * against SIPp answering SIPp in the same run.
 *
 *   bench_sip_transactions [CALLS] [ROUNDS] [LIMIT]
 *       defaults: 50000 transactions, 3 rounds, 100 in flight
 *
 * Each round runs SIPp (3.6, options_uac.xml: OPTIONS, expect 200) twice,
 * against
 *   simreg    a child process running the simreg stack with a TU that
 *             answers every request 200: a server transaction per request
 *             (Via fixed, a To tag, the response kept for retransmissions
 *             and the transaction kept for Timer J);
 *   sipp-uas  SIPp answering with options_uas.xml (stateless: no
 *             transaction, nothing kept).
 * SIPp keeps LIMIT transactions in flight (-l) and starts a new one as
 * soon as one ends, so each run goes as fast as the slower side allows.
 * SIPp-against-SIPp is the generator's own ceiling: a ratio near 1 means
 * simreg is not what limits the run. The servers' CPU time per transaction
 * (getrusage of the server process) is printed too: it is the figure that
 * says what a transaction costs simreg. The best of the rounds counts.
 */
#define SLOG_COMPONENT "bench"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "sip/stack.h"

extern char **environ;

#ifndef BENCH_SCENARIOS
#define BENCH_SCENARIOS "."
#endif

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* The simreg server                                                  */

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	if (stx)
		sip_server_txn_respond(st, stx, 200, STR_NULL);
}

static const struct sip_tu_ops server_tu = { .request = on_request };

/* Child: serve on 127.0.0.1, write the port to fd, run until SIGTERM. */
static int run_server(int fd)
{
	struct sip_stack_config cfg;
	struct sip_stack *st = NULL;
	struct loop *loop = NULL;
	uint32_t id;
	uint16_t port;
	int rc;

	slog_init("bench-simreg", SLOG_TARGET_STDERR, SLOG_WARN);
	sip_stack_config_default(&cfg);
	rc = loop_create(&loop, NULL);
	if (rc == 0)
		rc = loop_signals_enable(loop);
	if (rc == 0)
		rc = sip_stack_create(&st, loop, &cfg, &server_tu, NULL);
	if (rc == 0)
		rc = sip_stack_listen_text(st, "udp:127.0.0.1:0", &id);
	if (rc < 0)
		return 1;
	/* The readiness signal: the bound port. */
	port = sip_sockaddr_port(&sip_tpset_get(sip_stack_transports(st), id)->local);
	if (write(fd, &port, sizeof(port)) != sizeof(port))
		return 1;
	close(fd);
	/* Shutdown would wait for Timer J; the parent only wants us gone. */
	loop_set_shutdown_grace(loop, 0);
	loop_run(loop);
	sip_stack_destroy(st);
	loop_destroy(loop);
	slog_drain();
	return 0;
}

static pid_t start_simreg(uint16_t *port)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(run_server(p[1]));
	}
	close(p[1]);
	if (pid < 0 || read(p[0], port, sizeof(*port)) != sizeof(*port)) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

/* ------------------------------------------------------------------ */
/* SIPp                                                               */

static pid_t spawn(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* A port free on 127.0.0.1 right now. */
static uint16_t free_port(void)
{
	union sip_sockaddr a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	sip_sockaddr_parse(STR_LIT("127.0.0.1:0"), 0, &a);
	if (fd >= 0 && bind(fd, &a.sa, sip_sockaddr_len(&a)) == 0 && getsockname(fd, &a.sa, &len) == 0)
		port = sip_sockaddr_port(&a);
	if (fd >= 0)
		close(fd);
	return port;
}

/* SIPp's readiness: its port is taken once it has bound it. */
static int wait_bound(uint16_t port, pid_t pid)
{
	union sip_sockaddr a;
	struct timespec ts = { 0, 5000000 };

	sip_sockaddr_parse(STR_LIT("127.0.0.1"), port, &a);
	for (int i = 0; i < 1000; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int taken = bind(fd, &a.sa, sip_sockaddr_len(&a)) < 0 && errno == EADDRINUSE;

		close(fd);
		if (taken)
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		nanosleep(&ts, NULL); /* polling interval */
	}
	return -1;
}

/* "  Successful call        |        0                  |    50000" */
static long successful_calls(const char *path)
{
	char line[256];
	long n = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *bar;

		if (strncmp(line, "  Successful call", 17) != 0)
			continue;
		bar = strrchr(line, '|');
		if (bar)
			n = strtol(bar + 1, NULL, 10);
	}
	if (f)
		fclose(f);
	return n;
}

/* Run the SIPp UAC against port; returns transactions per second, or < 0. */
static double drive(uint16_t port, long calls, int limit, const char *out)
{
	char target[32], m[32], l[32], scen[512];
	char *argv[] = { "sipp", "-sf", scen, "-m", m, "-r", "1000000", "-l", l, "-t", "u1",
			 "-i", "127.0.0.1", "-buff_size", "4194304", "-nostdin", "-timeout", "120s",
			 target, NULL };
	double t0, t1;
	int status;
	pid_t pid;

	snprintf(scen, sizeof(scen), "%s/options_uac.xml", BENCH_SCENARIOS);
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	snprintf(m, sizeof(m), "%ld", calls);
	snprintf(l, sizeof(l), "%d", limit);
	t0 = now_s();
	pid = spawn(argv, out);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	t1 = now_s();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || successful_calls(out) != calls) {
		fprintf(stderr, "bench: SIPp run failed (see %s)\n", out);
		return -1;
	}
	return (double)calls / (t1 - t0);
}

struct result {
	double rate;
	double cpu_us; /* server CPU per transaction */
};

static int round_simreg(long calls, int limit, struct result *r)
{
	struct rusage ru;
	uint16_t port;
	pid_t pid = start_simreg(&port);
	int status;

	if (pid < 0)
		return -1;
	r->rate = drive(port, calls, limit, "/tmp/bench_sip_transactions.simreg.out");
	kill(pid, SIGTERM);
	if (wait4(pid, &status, 0, &ru) != pid)
		return -1;
	r->cpu_us = cpu_s(&ru) * 1e6 / (double)calls;
	return r->rate > 0 ? 0 : -1;
}

static int round_sipp(long calls, int limit, struct result *r)
{
	char scen[512], p[16], m[32];
	char *argv[] = { "sipp", "-sf", scen, "-p", p, "-t", "u1", "-i", "127.0.0.1",
			 "-buff_size", "4194304", "-m", m, "-nostdin", "-timeout", "120s", NULL };
	struct rusage ru;
	uint16_t port = free_port();
	pid_t pid;
	int status;

	snprintf(scen, sizeof(scen), "%s/options_uas.xml", BENCH_SCENARIOS);
	snprintf(p, sizeof(p), "%u", port);
	snprintf(m, sizeof(m), "%ld", calls);
	pid = spawn(argv, "/tmp/bench_sip_transactions.uas.out");
	if (pid < 0 || wait_bound(port, pid) < 0)
		return -1;
	r->rate = drive(port, calls, limit, "/tmp/bench_sip_transactions.sipp.out");
	kill(pid, SIGTERM);
	if (wait4(pid, &status, 0, &ru) != pid)
		return -1;
	r->cpu_us = cpu_s(&ru) * 1e6 / (double)calls;
	return r->rate > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	int limit = argc > 3 ? atoi(argv[3]) : 100;
	struct result best_s = { 0 }, best_p = { 0 };

	if (calls <= 0 || rounds <= 0 || limit <= 0) {
		fprintf(stderr, "usage: bench_sip_transactions [CALLS] [ROUNDS] [LIMIT]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("sip_transactions: %ld OPTIONS transactions per run over loopback UDP, SIPp as UAC "
	       "(-l %d)\n",
	       calls, limit);
	printf("%-6s %14s %14s %8s %18s %18s\n", "round", "simreg txn/s", "sipp-uas txn/s", "ratio",
	       "simreg CPU us/txn", "sipp-uas CPU us/txn");
	for (int i = 0; i < rounds; i++) {
		struct result s, p;

		/* Alternate the order so that load from elsewhere falls on both. */
		if ((i % 2 ? round_sipp(calls, limit, &p) : round_simreg(calls, limit, &s)) < 0 ||
		    (i % 2 ? round_simreg(calls, limit, &s) : round_sipp(calls, limit, &p)) < 0) {
			fprintf(stderr, "bench: round %d failed\n", i + 1);
			return 1;
		}
		printf("%-6d %14.0f %14.0f %7.2fx %18.1f %18.1f\n", i + 1, s.rate, p.rate,
		       s.rate / p.rate, s.cpu_us, p.cpu_us);
		if (s.rate > best_s.rate)
			best_s = s;
		if (p.rate > best_p.rate)
			best_p = p;
	}
	printf("%-6s %14.0f %14.0f %7.2fx %18.1f %18.1f\n", "best", best_s.rate, best_p.rate,
	       best_s.rate / best_p.rate, best_s.cpu_us, best_p.cpu_us);
	printf("ratio = simreg rate / SIPp-against-SIPp rate (the generator's ceiling)\n");
	return 0;
}
