/*
 * bench_hss - what each layer of the HSS costs, measured in one run:
 *
 *   store     vectors per second from the store alone: look the IMPI up,
 *             make a Milenage vector, swap the SQN, COMMIT (WAL,
 *             synchronous=FULL), in batches as the HSS groups them;
 *   echo      MAR/MAA per second over Diameter against a freeDiameter
 *             peer that answers every MAR with a canned MAA (the Diameter
 *             layer alone: the peer every Diameter server is measured
 *             against here);
 *   hss       MAR/MAA per second over Diameter against `simreg hss`, one
 *             vector per answer, SQLite durable, with many MARs in flight.
 *
 * It prints each figure and the ratios hss/echo and hss/store. With
 * --import N it also times `simreg ctl subscriber import` of N generated
 * subscribers against the sqlite3 shell's .import of the same file into a
 * bare table with the same unique columns (raw SQLite, no checks).
 *
 *   bench_hss [--seconds S] [--inflight W] [--subscribers N] [--import N]
 *
 * freeDiameter allows one engine per process, so the echo peer is this
 * program re-executed (--echo-server PORT), the HSS is the simreg binary,
 * and this process is the client of both, one after the other... in two
 * client processes (--client MODE), since a process cannot restart it.
 */

#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aka/milenage.h"
#include "aka/vector.h"
#include "core/arena.h"
#include "diameter/cx.h"
#include "diameter/dmsg.h"
#include "diameter/engine.h"
#include "store/store.h"

static const uint8_t K[16] = { 0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
			       0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc };
static const uint8_t OPC[16] = { 0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
				 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf };

static struct {
	double seconds;
	unsigned inflight;
	unsigned subscribers;
	unsigned import;
	char dir[64];
} opt = { 5.0, 64, 1000, 0, "" };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_hss: %s\n", what);
	exit(1);
}

/* --- subscribers -------------------------------------------------------- */

static void impi_of(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "00101%010u@ims.test", i);
}

static void impu_of(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "sip:00101%010u@ims.test", i);
}

static void provision(const char *db)
{
	struct store *st;

	if (store_open(db, &st) || store_begin(st))
		die("cannot open the store");
	for (unsigned i = 0; i < opt.subscribers; i++) {
		char impi[64], impu[64];
		struct store_impu_spec u = { .irs = 1 };
		struct store_subscription_spec s = { .op_is_opc = true, .n_impus = 1 };

		impi_of(i, impi, sizeof(impi));
		impu_of(i, impu, sizeof(impu));
		u.uri = str_from_cstr(impu);
		s.impi = str_from_cstr(impi);
		s.impus = &u;
		memcpy(s.k, K, 16);
		memcpy(s.op, OPC, 16);
		s.amf[0] = 0x80;
		if (store_sub_insert(st, &s, NULL))
			die("cannot provision");
	}
	if (store_commit(st))
		die("cannot commit the subscribers");
	store_close(st);
}

/* --- store alone ------------------------------------------------------------ */

/* The HSS's MAR work without Diameter, `batch` requests per COMMIT. */
static double bench_store(const char *db, unsigned batch)
{
	struct store *st;
	struct arena a;
	double t0, t1;
	uint64_t n = 0;
	unsigned next = 0;

	if (store_open(db, &st))
		die("cannot open the store");
	arena_init(&a, 0, ARENA_WIPE);
	t0 = now();
	do {
		if (store_begin(st))
			die("begin");
		for (unsigned b = 0; b < batch; b++) {
			struct store_subscription sub;
			struct aka_vector v;
			struct milenage m;
			char impi[64];
			uint64_t last;

			impi_of(next++ % opt.subscribers, impi, sizeof(impi));
			arena_reset(&a);
			if (store_impi_lookup(st, str_from_cstr(impi), &a, NULL, &sub))
				die("lookup");
			last = sub.sqn;
			if (milenage_init(&m, sub.k, sub.op, MILENAGE_OPC) ||
			    aka_vectors_generate(&m, sub.amf, 5, &last, &aka_rand_system, &v, 1))
				die("vector");
			milenage_free(&m);
			if (store_sqn_swap(st, sub.id, sub.sqn, last))
				die("sqn");
			aka_vector_wipe(&v);
			n++;
		}
		if (store_commit(st))
			die("commit");
		t1 = now();
	} while (t1 - t0 < opt.seconds);
	arena_destroy(&a);
	store_close(st);
	return (double)n / (t1 - t0);
}

/* --- import ------------------------------------------------------------- */

/* Run a shell command; wall-clock seconds it took, or exit on failure. */
static double timed(const char *cmd)
{
	double t0 = now();

	if (system(cmd) != 0) {
		fprintf(stderr, "bench_hss: failed: %s\n", cmd);
		exit(1);
	}
	return now() - t0;
}

static void bench_import(void)
{
	char csv[128], cmd[1024];
	double ours, peer;
	FILE *fp;

	snprintf(csv, sizeof(csv), "%s/import.csv", opt.dir);
	fp = fopen(csv, "w");
	if (!fp)
		die("csv");
	fprintf(fp, "impi,impu,k,opc,sqn\n");
	for (unsigned i = 0; i < opt.import; i++)
		fprintf(fp,
			"00102%010u@ims.test,\"sip:00102%010u@ims.test,tel:+1%010u\","
			"465b5ce8b199b49faa5f0a2ee238a6bc,cd63cb71954a9f4e48a5994e37a02baf,%x\n",
			i, i, i, i * 32);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "%s ctl --data %s/import subscriber import %s >/dev/null",
		 SIMREG_BINARY, opt.dir, csv);
	ours = timed(cmd);
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s/peer.db 'PRAGMA journal_mode=WAL;' 'PRAGMA synchronous=FULL;'"
		 " 'CREATE TABLE s (impi TEXT UNIQUE, impu TEXT UNIQUE, k TEXT, opc TEXT, sqn TEXT);'"
		 " '.mode csv' '.import --skip 1 %s s' >/dev/null",
		 opt.dir, csv);
	peer = timed(cmd);
	printf("import %u subscribers: simreg ctl %.1f s (%.0f/s), sqlite3 .import %.1f s"
	       " (%.0f/s)\n",
	       opt.import, ours, opt.import / ours, peer, opt.import / peer);
	printf("ratio import simreg/sqlite3: %.2fx  (checks, 4 tables and their indexes vs"
	       " 1 bare table)\n",
	       peer / ours);
	fflush(stdout);
}

/* --- Diameter client ------------------------------------------------------- */

static struct {
	struct cx_dict d;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned inflight;
	uint64_t ok, failed;
} cl = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void on_answer(void *data, struct msg **msg)
{
	uint32_t code = 0;
	bool exp;
	bool good = cx_get_result(&cl.d, *msg, &code, &exp) == 0 && !exp && code == DIA_SUCCESS;

	fd_msg_free(*msg);
	*msg = NULL;
	pthread_mutex_lock(&cl.mu);
	cl.inflight--;
	if (good)
		cl.ok++;
	else
		cl.failed++;
	pthread_cond_signal(&cl.cv);
	pthread_mutex_unlock(&cl.mu);
}

static void send_mar(unsigned i)
{
	char impi[64], impu[64];
	struct msg *m = NULL;
	struct avp *item;

	impi_of(i, impi, sizeof(impi));
	impu_of(i, impu, sizeof(impu));
	if (cx_request_new(&cl.d, CX_CMD_MA, STR_LIT("ims.test"), STR_NULL, &m) ||
	    dmsg_add_str(m, cl.d.base[CX_BASE_USER_NAME], str_from_cstr(impi)) ||
	    dmsg_add_str(m, cl.d.avp[CX_AVP_PUBLIC_IDENTITY], str_from_cstr(impu)) ||
	    dmsg_add_group(m, cl.d.avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item) ||
	    dmsg_add_str(item, cl.d.avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
			 STR_LIT("Digest-AKAv1-MD5")) ||
	    dmsg_add_u32(m, cl.d.avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], 1) ||
	    dmsg_add_str(m, cl.d.avp[CX_AVP_SERVER_NAME], STR_LIT("sip:scscf.ims.test")))
		die("cannot build a MAR");
	if (fd_msg_send(&m, on_answer, NULL))
		die("cannot send a MAR");
}

/* Keep `inflight` MARs outstanding for the measured time; MAR/MAA per s. */
static int run_client(unsigned port)
{
	char peer_text[128], why[128];
	struct dia_peer peer;
	struct dia_config cfg;
	uint64_t start_ok = 0;
	unsigned next = 0;
	double t0 = 0, t1 = 0, warm;

	snprintf(peer_text, sizeof(peer_text),
		 "hss.ims.test realm=ims.test address=127.0.0.1:%u connect=yes", port);
	if (dia_peer_parse(peer_text, &peer, why, sizeof(why)))
		die(why);
	cfg = (struct dia_config){ .identity = "bench.ims.test", .realm = "ims.test",
				   .run_dir = opt.dir, .peers = &peer, .n_peers = 1 };
	if (dia_engine_start(&cfg, &cl.d, NULL, NULL) || dia_peer_wait_open("hss.ims.test", 15000))
		die("cannot connect to the server");
	warm = now() + 0.5;
	pthread_mutex_lock(&cl.mu);
	for (;;) {
		double t = now();

		if (!t0 && t >= warm) {
			t0 = t;
			start_ok = cl.ok;
		}
		if (t0 && t - t0 >= opt.seconds)
			break;
		while (cl.inflight >= opt.inflight)
			pthread_cond_wait(&cl.cv, &cl.mu);
		cl.inflight++;
		pthread_mutex_unlock(&cl.mu);
		send_mar(next++ % opt.subscribers);
		pthread_mutex_lock(&cl.mu);
	}
	t1 = now();
	while (cl.inflight)
		pthread_cond_wait(&cl.cv, &cl.mu);
	pthread_mutex_unlock(&cl.mu);
	printf("%.0f %" PRIu64 "\n", (double)(cl.ok - start_ok) / (t1 - t0), cl.failed);
	fflush(stdout);
	/* No freeDiameter shutdown (it can abort under load, see cx_client.c). */
	_exit(0);
}

/* --- the echo peer ------------------------------------------------------------ */

static struct cx_dict echo_dict;

/* Answer on freeDiameter's thread: the cost of Diameter and nothing else. */
static int echo_mar(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
		    enum disp_action *act)
{
	static const uint8_t auth[32], xres[8], key[16];
	const struct cx_dict *d = &echo_dict;
	struct avp *item;

	if (cx_answer_new(d, msg) || cx_set_result(d, *msg, DIA_SUCCESS) ||
	    dmsg_add_u32(*msg, d->avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], 1) ||
	    dmsg_add_group(*msg, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item) ||
	    dmsg_add_u32(item, d->avp[CX_AVP_SIP_ITEM_NUMBER], 1) ||
	    dmsg_add_str(item, d->avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
			 STR_LIT("Digest-AKAv1-MD5")) ||
	    dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHENTICATE], auth, sizeof(auth)) ||
	    dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHORIZATION], xres, sizeof(xres)) ||
	    dmsg_add_octets(item, d->avp[CX_AVP_CONFIDENTIALITY_KEY], key, sizeof(key)) ||
	    dmsg_add_octets(item, d->avp[CX_AVP_INTEGRITY_KEY], key, sizeof(key)))
		return EINVAL;
	*act = DISP_ACT_CONT;
	return fd_msg_send(msg, NULL, NULL);
}

static int run_echo(unsigned port)
{
	struct dia_peer peer = { .identity = "bench.ims.test" };
	struct dia_config cfg = { .identity = "hss.ims.test", .realm = "ims.test",
				  .listen = "127.0.0.1", .port = (uint16_t)port, .run_dir = opt.dir,
				  .peers = &peer, .n_peers = 1 };
	struct disp_when when;
	struct disp_hdl *hdl = NULL;
	sigset_t set;
	int sig;

	/* Block SIGTERM before freeDiameter's threads exist; wait for it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (dia_engine_start(&cfg, &echo_dict, NULL, NULL))
		die("echo: freeDiameter did not start");
	when = (struct disp_when){ .app = echo_dict.app, .command = echo_dict.request[CX_CMD_MA] };
	if (fd_disp_register(echo_mar, DISP_HOW_CC, &when, NULL, &hdl))
		die("echo: cannot register");
	fprintf(stderr, "echo peer ready\n");
	sigwait(&set, &sig);
	fd_disp_unregister(&hdl, NULL);
	dia_engine_stop();
	return 0;
}

/* --- orchestration ----------------------------------------------------------- */

/* A TCP port free right now on 127.0.0.1 (the kernel picks it). */
static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	if (!port)
		die("no free port");
	return port;
}

/* Start a server (argv) and wait for `ready` on its stderr. */
static pid_t start_server(char *const argv[], const char *ready)
{
	int fds[2];
	pid_t pid;
	FILE *fp;
	char line[512];

	if (pipe(fds))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		if (strstr(line, ready)) {
			/* Keep draining its stderr so it never blocks on a full pipe. */
			if (fork() == 0) {
				while (fgets(line, sizeof(line), fp))
					;
				_exit(0);
			}
			fclose(fp);
			return pid;
		}
	}
	die("a server did not start");
	return -1;
}

static void stop_server(pid_t pid, int sig)
{
	kill(pid, sig);
	waitpid(pid, NULL, 0);
}

/* Run this program as a client of the server on port; MAR/MAA per s. */
static double client(const char *self, unsigned port, uint64_t *failed)
{
	char cmd[1024];
	double rate = 0;
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "%s --client %u --seconds %g --inflight %u --subscribers %u",
		 self, port, opt.seconds, opt.inflight, opt.subscribers);
	fp = popen(cmd, "r");
	if (!fp || fscanf(fp, "%lf %" SCNu64, &rate, failed) != 2)
		die("the client failed");
	pclose(fp);
	return rate;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'w' },
		{ "subscribers", required_argument, NULL, 'n' },
		{ "import", required_argument, NULL, 'i' },
		{ "client", required_argument, NULL, 'c' },
		{ "echo-server", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	char db[128], cfg_path[128], data_opt[128], self[1024];
	unsigned client_port = 0, echo_port = 0, port;
	double store1, store256, echo, hss;
	uint64_t failed_echo = 0, failed_hss = 0;
	ssize_t n;
	int o;
	FILE *fp;
	pid_t pid;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			opt.seconds = atof(optarg);
			break;
		case 'w':
			opt.inflight = (unsigned)atoi(optarg);
			break;
		case 'n':
			opt.subscribers = (unsigned)atoi(optarg);
			break;
		case 'i':
			opt.import = (unsigned)atoi(optarg);
			break;
		case 'c':
			client_port = (unsigned)atoi(optarg);
			break;
		case 'e':
			echo_port = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_hss [--seconds S] [--inflight W]"
					" [--subscribers N] [--import N]\n");
			return 2;
		}
	}
	if (opt.seconds <= 0 || opt.inflight == 0 || opt.subscribers == 0)
		die("bad option value");
	strcpy(opt.dir, "/tmp/simreg-bench-hss-XXXXXX");
	if (!mkdtemp(opt.dir))
		die("mkdtemp");
	if (client_port)
		return run_client(client_port);
	if (echo_port)
		return run_echo(echo_port);

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		die("readlink");
	self[n] = '\0';
	snprintf(db, sizeof(db), "%s/hss.db", opt.dir);
	provision(db);
	printf("bench_hss: %u subscribers, %g s per figure, %u MARs in flight\n",
	       opt.subscribers, opt.seconds, opt.inflight);

	if (opt.import)
		bench_import();
	store1 = bench_store(db, 1);
	printf("store alone, 1 vector per COMMIT:    %10.0f vectors/s\n", store1);
	store256 = bench_store(db, 256);
	printf("store alone, 256 vectors per COMMIT: %10.0f vectors/s\n", store256);
	fflush(stdout);

	port = free_port();
	{
		char port_s[16];
		char *echo_argv[] = { self, (char *)"--echo-server", port_s, NULL };

		snprintf(port_s, sizeof(port_s), "%u", port);
		pid = start_server(echo_argv, "echo peer ready");
		echo = client(self, port, &failed_echo);
		/* freeDiameter 1.2.1 can trip an assertion in its own shutdown
		 * under load; the echo peer has nothing to save. */
		stop_server(pid, SIGKILL);
	}
	printf("freeDiameter echo peer (canned MAA): %10.0f MAA/s\n", echo);
	fflush(stdout);

	port = free_port();
	snprintf(cfg_path, sizeof(cfg_path), "%s/hss.yaml", opt.dir);
	fp = fopen(cfg_path, "w");
	if (!fp)
		die("config");
	fprintf(fp, "log:\n  level: notice\nhss:\n  diameter:\n    listen: 127.0.0.1:%u\n"
		    "    peers: [ \"bench.ims.test\" ]\n",
		port);
	fclose(fp);
	snprintf(data_opt, sizeof(data_opt), "%s", opt.dir);
	{
		char *hss_argv[] = { (char *)SIMREG_BINARY, (char *)"hss", (char *)"--config",
				     cfg_path, (char *)"--data", data_opt, NULL };

		pid = start_server(hss_argv, " ready: ");
		hss = client(self, port, &failed_hss);
		stop_server(pid, SIGTERM);
	}
	printf("simreg hss (Milenage, SQLite FULL):   %10.0f MAA/s\n", hss);
	if (failed_echo || failed_hss)
		printf("failed answers: echo %" PRIu64 ", hss %" PRIu64 "\n", failed_echo,
		       failed_hss);
	printf("ratio hss/echo: %.2fx  (Diameter layer: what the HSS keeps of the bare"
	       " freeDiameter rate)\n",
	       hss / echo);
	printf("ratio hss/store-256: %.2fx  (store layer: what Diameter keeps of the store"
	       " rate)\n",
	       hss / store256);
	{
		char rm[256];

		snprintf(rm, sizeof(rm), "rm -rf '%s'", opt.dir);
		if (system(rm) != 0)
			fprintf(stderr, "bench_hss: cannot remove %s\n", opt.dir);
	}
	return failed_hss ? 1 : 0;
}
