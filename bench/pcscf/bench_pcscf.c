/*
 * bench_pcscf - registrations per second through the P-CSCF, SA sets
 * included, and the P-CSCF's memory per registration.
 *
 *   bench_pcscf [--registrations N] [--window W] [--simreg PATH] [--no-peer]
 *               [--ports P] [--backend userspace|xfrm]
 *
 * Everything runs on loopback in the root namespace (no root needed
 * beyond what the userspace backend's raw ESP sockets need):
 *
 *   - a registrar in this process answers the first REGISTER of each UE
 *     with a 401 carrying fixed ik/ck and the second with a 200 (it stands
 *     for the S-CSCF and costs next to nothing);
 *   - the UEs are in this process too: N distinct IMPIs spread over 64
 *     loopback addresses, W registrations in flight at once; each does the
 *     whole IMS AKA exchange of TS 33.203 §6.1 as the P-CSCF sees it:
 *     unprotected REGISTER with Security-Client, 401 with Security-Server,
 *     its side of the SA set installed (lib/ipsec userspace), protected
 *     REGISTER over SA1 with Security-Verify, 200 over SA3;
 *   - `simreg pcscf` runs as a child with the userspace backend: per
 *     registration it chooses the algorithms, allocates SPIs and ports,
 *     installs a set and two protected ports, checks the bidding-down
 *     headers and stores the flow in SQLite. Flows stay: after the run it
 *     holds N flows, N sets, and the memory reported is its resident size
 *     growth divided by N.
 *
 * --ports P gives the P-CSCF P protected ports to allocate from (pcscf.
 * port_min..port_max from 14100; default 256, the P-CSCF's default range)
 * and room for P / 4 flows per UE address (pcscf.flows_per_address). Ports
 * are unique per UE address only, so a small range serves any number of
 * UEs; a wide range (the UE's ipsec: range has 22768 ports) lets the P-CSCF
 * open thousands of protected ports, each a transport of its SIP transport
 * set, which lib/sip finds through its id and port indexes (before and
 * after in docs/performance.md).
 *
 * --backend xfrm makes the P-CSCF install its SA sets in the kernel (the
 * UEs keep doing ESP in userspace, which interoperates): run it where the
 * kernel has ESP, i.e. inside the test VM (bench/pcscf/run-vm.sh), which
 * runs both backends in one boot so their ratio is measured on the same
 * (emulated) machine. Linux exempts loopback from IPsec unless
 * net.ipv4.conf.lo.disable_xfrm and disable_policy are 0 (run-vm.sh clears
 * them): otherwise the P-CSCF's answers leave in the clear and are lost.
 *
 * The peer, measured in the same run, is Kamailio 5.6 as a plain stateful
 * proxy (tm, t_relay) relaying the same two-REGISTER exchange between the
 * same UEs and registrar without any IPsec: what the exchange costs at a
 * well-known SIP proxy when no security agreement is done. The ratio says
 * what security agreement and SA sets cost on top of proxying.
 */
#define SLOG_COMPONENT "bench"
#include "core/log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aka/esp_keys.h"
#include "core/hex.h"
#include "ipsec/backend.h"
#include "ipsec/secagree.h"
#include "ipsec/sip_transport.h"
#include "sip/print.h"
#include "sip/stack.h"

#define UE_ADDRS 64
/* The P-CSCF's protected ports per flow of one address (src/pcscf/context.h). */
#define PORTS_PER_FLOW 4

static const uint8_t IK[16] = { 0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
				0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41 };
static const uint8_t CK[16] = { 0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
				0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb };

struct vue {
	unsigned idx;
	unsigned addr;
	bool challenged;
	char call_id[32];
	char server_hdr[512];
	char client_hdr[512];
	struct ipsec_sec_params mine;
	struct ipsec_sa_set set;
	bool set_on;
	uint32_t tp_uc, tp_us;
};

struct bench {
	struct loop *loop;
	struct sip_stack *reg_st;  /* the registrar */
	struct sip_stack *ue_st;   /* the UEs */
	struct ipsec_backend *b;
	struct ipsec_sip *ports;
	struct ipsec_alloc alloc;
	struct ipsec_addr ue_addr[UE_ADDRS];
	uint32_t ue_tp[UE_ADDRS];
	union sip_sockaddr proxy;  /* the P-CSCF's or Kamailio's unprotected port */
	struct ipsec_addr proxy_addr;
	bool ipsec;                /* security agreement, or plain proxying */
	unsigned n, window, started, done, failed;
	struct vue *ues;
	char reg_uri[64];
};

static const struct sip_client_ops reg_ops;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the registrar --------------------------------------------------------- */

static void registrar_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct sip_msg *m = rx->msg;
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION);
	struct sip_auth a;
	char ik[33], ck[33];
	struct buf b;

	if (!stx)
		return;
	if (m->method != SIP_METHOD_REGISTER || !h || sip_auth_parse(h->value, false, &a, NULL)) {
		sip_server_txn_respond(st, stx, 403, STR_NULL);
		return;
	}
	buf_init(&b);
	if (!sip_auth_get(&a, SIP_AUTH_RESPONSE).len) {
		hex_encode(IK, 16, ik);
		hex_encode(CK, 16, ck);
		sip_server_txn_response_start(st, stx, &b, 401, STR_NULL);
		sip_print_hdrf(&b, SIP_HDR_WWW_AUTHENTICATE,
			       "Digest realm=\"ims.test\", nonce=\"bm9uY2Vub25jZW5vbmNlbm9uY2Vub25jZW5vbmNlbm9uY2U=\", "
			       "algorithm=AKAv1-MD5, ik=\"%s\", ck=\"%s\"", ik, ck);
	} else {
		const struct sip_hdr *c = sip_msg_hdr(m, SIP_HDR_CONTACT);
		const struct sip_addr *to;

		sip_server_txn_response_start(st, stx, &b, 200, STR_NULL);
		if (c)
			sip_print_hdrf(&b, SIP_HDR_CONTACT, "%.*s;expires=600", STR_FMT(c->value));
		if (sip_msg_to(m, &to, NULL) == 0)
			sip_print_hdrf(&b, SIP_HDR_P_ASSOCIATED_URI, "<%.*s>", STR_FMT(to->uri));
		sip_msg_foreach(m, SIP_HDR_PATH, p)
			sip_print_hdr(&b, SIP_HDR_PATH, p->value);
	}
	sip_print_body(&b, STR_NULL, STR_NULL);
	sip_server_txn_send(st, stx, buf_str(&b));
	buf_free(&b);
}

static const struct sip_tu_ops registrar_tu = { .request = registrar_request };

/* ---- the UEs ------------------------------------------------------------- */

static void ue_release(struct bench *bn, struct vue *u)
{
	if (u->set_on) {
		ipsec_backend_remove(bn->b, u->set.id);
		ipsec_sip_port_put(bn->ports, &bn->ue_addr[u->addr], u->mine.port_c);
		ipsec_sip_port_put(bn->ports, &bn->ue_addr[u->addr], u->mine.port_s);
		u->set_on = false;
	}
	if (bn->ipsec)
		ipsec_alloc_release(&bn->alloc, &bn->proxy_addr, &u->mine);
}

static int send_register(struct bench *bn, struct vue *u, const struct sip_flow *dest,
			 bool second)
{
	struct sip_client_req req = { .ops = &reg_ops, .ctx = bn, .ref = u->idx, .dest = *dest };
	char addr[IPSEC_ADDR_STRLEN];
	struct buf b;
	int rc;

	ipsec_addr_str(&bn->ue_addr[u->addr], addr);
	buf_init(&b);
	sip_print_request_line(&b, STR_LIT("REGISTER"), STR_LIT("sip:ims.test"));
	sip_print_hdr(&b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	sip_print_hdrf(&b, SIP_HDR_FROM, "<sip:u%u@ims.test>;tag=t%u", u->idx, u->idx);
	sip_print_hdrf(&b, SIP_HDR_TO, "<sip:u%u@ims.test>", u->idx);
	sip_print_hdr(&b, SIP_HDR_CALL_ID, str_from_cstr(u->call_id));
	sip_print_hdrf(&b, SIP_HDR_CSEQ, "%u REGISTER", second ? 2 : 1);
	sip_print_hdrf(&b, SIP_HDR_CONTACT, "<sip:u%u@%s:%u>", u->idx, addr,
		       bn->ipsec ? u->mine.port_s : 5060 + u->idx % 1000);
	sip_print_hdr(&b, SIP_HDR_EXPIRES, STR_LIT("600000"));
	if (second)
		sip_print_hdrf(&b, SIP_HDR_AUTHORIZATION,
			       "Digest username=\"u%u@ims.test\", realm=\"ims.test\", "
			       "uri=\"sip:ims.test\", nonce=\"bm9uY2Vub25jZW5vbmNlbm9uY2Vub25jZW5vbmNlbm9uY2U=\", "
			       "response=\"0123456789abcdef0123456789abcdef\", algorithm=AKAv1-MD5",
			       u->idx);
	else
		sip_print_hdrf(&b, SIP_HDR_AUTHORIZATION,
			       "Digest username=\"u%u@ims.test\", realm=\"ims.test\", "
			       "uri=\"sip:ims.test\", nonce=\"\", response=\"\"",
			       u->idx);
	if (bn->ipsec) {
		sip_print_hdr(&b, SIP_HDR_SECURITY_CLIENT, str_from_cstr(u->client_hdr));
		if (second)
			sip_print_hdr(&b, SIP_HDR_SECURITY_VERIFY, str_from_cstr(u->server_hdr));
		sip_print_hdr(&b, SIP_HDR_REQUIRE, STR_LIT("sec-agree"));
		sip_print_hdr(&b, SIP_HDR_PROXY_REQUIRE, STR_LIT("sec-agree"));
	}
	sip_print_hdr(&b, SIP_HDR_SUPPORTED, STR_LIT("path"));
	sip_print_body(&b, STR_NULL, STR_NULL);
	req.msg = buf_str(&b);
	rc = buf_error(&b) ? buf_error(&b) : sip_client_txn_start(bn->ue_st, &req, NULL);
	buf_free(&b);
	return rc;
}

static void ue_start(struct bench *bn)
{
	struct vue *u;
	struct sip_flow f;

	if (bn->started >= bn->n)
		return;
	u = &bn->ues[bn->started];
	u->idx = bn->started++;
	u->addr = u->idx % UE_ADDRS;
	snprintf(u->call_id, sizeof(u->call_id), "bench-%u", u->idx);
	if (bn->ipsec) {
		struct ipsec_mech m = { .alg = ESP_AUTH_HMAC_SHA1_96, .ealg = ESP_ENC_AES_CBC,
					.q = IPSEC_Q_NONE };
		struct buf b;

		if (ipsec_alloc_local(&bn->alloc, &bn->proxy_addr, &u->mine)) {
			bn->failed++;
			return;
		}
		m.sp = u->mine;
		buf_init_fixed(&b, u->client_hdr, sizeof(u->client_hdr));
		ipsec_mech_print(&b, &m);
	}
	sip_flow_to(&f, SIP_TRANSPORT_UDP, &bn->proxy);
	f.tp = bn->ue_tp[u->addr];
	if (send_register(bn, u, &f, false))
		bn->failed++;
}

static void ue_finished(struct bench *bn, struct vue *u, bool ok)
{
	ue_release(bn, u);
	if (ok)
		bn->done++;
	else
		bn->failed++;
	if (bn->done + bn->failed >= bn->n)
		loop_stop(bn->loop);
	else
		ue_start(bn);
}

static void on_401(struct bench *bn, struct vue *u, struct sip_msg *m)
{
	struct ipsec_set_params p;
	struct ipsec_offer offer;
	struct ipsec_mech server;
	struct ipsec_prefs prefs;
	const struct sip_hdr *ss = sip_msg_hdr(m, SIP_HDR_SECURITY_SERVER);
	struct sip_flow f;

	sip_flow_to(&f, SIP_TRANSPORT_UDP, &bn->proxy);
	f.tp = bn->ue_tp[u->addr];
	if (!bn->ipsec) {
		if (send_register(bn, u, &f, true))
			ue_finished(bn, u, false);
		return;
	}
	ipsec_prefs_default(&prefs);
	if (!ss || ipsec_offer_from_msg(m, SIP_HDR_SECURITY_SERVER, &offer, NULL) ||
	    ipsec_offer_choose_by_q(&offer, &prefs, &server) ||
	    str_copy(u->server_hdr, sizeof(u->server_hdr), ss->value)) {
		ue_finished(bn, u, false);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.ue = bn->ue_addr[u->addr];
	p.pcscf = bn->proxy_addr;
	p.client = u->mine;
	p.server = server.sp;
	if (esp_keys_derive(server.alg, server.ealg, IK, CK, &p.keys) ||
	    ipsec_sa_set_build(&u->set, IPSEC_SIDE_UE, &p) ||
	    ipsec_backend_install(bn->b, &u->set)) {
		ue_finished(bn, u, false);
		return;
	}
	u->set_on = true;
	ipsec_sip_port_get(bn->ports, &p.ue, p.client.port_c, &u->tp_uc);
	ipsec_sip_port_get(bn->ports, &p.ue, p.client.port_s, &u->tp_us);
	sip_flow_init(&f);
	f.proto = SIP_TRANSPORT_UDP;
	f.tp = u->tp_uc;
	ipsec_addr_to_sockaddr(&bn->proxy_addr, server.sp.port_s, &f.remote);
	if (send_register(bn, u, &f, true))
		ue_finished(bn, u, false);
}

static void on_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			struct sip_rx *rx)
{
	struct bench *bn = ctx;
	struct vue *u = &bn->ues[ref];
	unsigned status = rx->msg->status;

	if (status < 200)
		return;
	if (status == 401 && !u->challenged) {
		u->challenged = true;
		on_401(bn, u, rx->msg);
		return;
	}
	ue_finished(bn, u, status == 200);
}

static void on_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct bench *bn = ctx;

	ue_finished(bn, &bn->ues[ref], false);
}

static const struct sip_client_ops reg_ops = { .response = on_response, .failure = on_failure };

static const struct sip_tu_ops ue_tu = { 0 };

/* ---- one run ------------------------------------------------------------- */

static double run(struct bench *bn)
{
	double t0;

	free(bn->ues);
	bn->ues = calloc(bn->n, sizeof(*bn->ues));
	bn->started = bn->done = bn->failed = 0;
	t0 = now();
	for (unsigned i = 0; i < bn->window; i++)
		ue_start(bn);
	loop_run(bn->loop);
	t0 = now() - t0;
	fprintf(stderr, "  (UE side: %" PRIu64 " retransmissions, registrar: %" PRIu64 ")\n",
		sip_stack_stats(bn->ue_st)->retransmissions,
		sip_stack_stats(bn->reg_st)->retransmissions);
	return t0;
}

/* ---- the proxies under test ------------------------------------------------ */

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Start argv with its output into `log`. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid;

	fflush(stdout); /* not twice: the child would flush our buffer too */
	pid = fork();
	if (pid == 0) {
		if (!freopen(log, "w", stderr) || !freopen(log, "a", stdout))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Readiness: `log` holds `ready` (the P-CSCF's "ready" line). */
static bool log_ready(pid_t pid, const char *log, const char *ready)
{
	char buf[65536];

	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(log, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, ready))
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(25000);
	}
	return false;
}

/* Readiness of a proxy without a ready line: it relays an OPTIONS to the registrar. */
static int probe_status;

static void probe_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			   struct sip_rx *rx)
{
	if (rx->msg->status >= 200)
		probe_status = rx->msg->status;
}

static void probe_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	probe_status = -1;
}

static const struct sip_client_ops probe_ops = { .response = probe_response,
						 .failure = probe_failure };

static bool sip_ready(struct bench *bn, pid_t pid)
{
	static const char opt[] = "OPTIONS sip:probe@ims.test SIP/2.0\r\nMax-Forwards: 70\r\n"
				  "From: <sip:probe@ims.test>;tag=p\r\nTo: <sip:probe@ims.test>\r\n"
				  "Call-ID: probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

	for (int i = 0; i < 50; i++) {
		struct sip_client_req req = { .msg = STR_LIT(opt), .ops = &probe_ops };

		sip_flow_to(&req.dest, SIP_TRANSPORT_UDP, &bn->proxy);
		req.dest.tp = bn->ue_tp[0];
		probe_status = 0;
		sip_client_txn_start(bn->ue_st, &req, NULL);
		for (int k = 0; k < 20 && !probe_status; k++)
			loop_run_once(bn->loop, 10);
		if (probe_status > 0)
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
	}
	return false;
}

static void reap(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registrations", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "simreg", required_argument, NULL, 's' },
		{ "no-peer", no_argument, NULL, 'p' },
		{ "ports", required_argument, NULL, 'P' },
		{ "backend", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipsec_config icfg = { .backend = IPSEC_BACKEND_USERSPACE };
	struct ipsec_alloc_config ac = { 0x10000, 0xffffffffu, 33000, 60999 };
	const char *simreg = SIMREG_BIN;
	char dir[] = "/tmp/bench-pcscf-XXXXXX", cfg[256], log[256], data[300], text[128];
	struct bench bn;
	bool peer = true;
	unsigned ports = 256;
	const char *backend = "userspace";
	double t_simreg, t_peer = 0, rate_simreg;
	long rss0, rss1;
	pid_t pid;
	FILE *f;
	int opt;

	memset(&bn, 0, sizeof(bn));
	bn.n = 2000;
	bn.window = 32;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			bn.n = (unsigned)atoi(optarg);
			break;
		case 'w':
			bn.window = (unsigned)atoi(optarg);
			break;
		case 's':
			simreg = optarg;
			break;
		case 'p':
			peer = false;
			break;
		case 'P':
			ports = (unsigned)atoi(optarg);
			break;
		case 'b':
			backend = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!bn.n || !bn.window || ports < 16 || ports > 65536 - 14100 ||
	    (strcmp(backend, "userspace") != 0 && strcmp(backend, "xfrm") != 0) || !mkdtemp(dir))
		return 2;
	if ((bn.n + UE_ADDRS - 1) / UE_ADDRS > ports / PORTS_PER_FLOW) {
		fprintf(stderr, "bench_pcscf: %u registrations over %u addresses need --ports %u\n",
			bn.n, UE_ADDRS, (bn.n + UE_ADDRS - 1) / UE_ADDRS * PORTS_PER_FLOW);
		return 2;
	}
	slog_init("bench", SLOG_TARGET_STDERR, SLOG_WARN);
	if (loop_create(&bn.loop, NULL) || sip_stack_create(&bn.reg_st, bn.loop, NULL,
							    &registrar_tu, &bn) ||
	    sip_stack_listen_text(bn.reg_st, "udp:127.0.0.1:47060", NULL) ||
	    sip_stack_create(&bn.ue_st, bn.loop, NULL, &ue_tu, &bn) ||
	    ipsec_backend_open(&icfg, &bn.b, NULL) ||
	    ipsec_sip_create(&bn.ports, bn.b, sip_stack_transports(bn.ue_st)) ||
	    ipsec_alloc_init(&bn.alloc, &ac, NULL)) {
		fprintf(stderr, "bench_pcscf: set-up failed (raw ESP sockets need CAP_NET_RAW)\n");
		return 1;
	}
	for (unsigned i = 0; i < UE_ADDRS; i++) {
		char l[160];

		snprintf(text, sizeof(text), "127.0.%u.%u", 1 + i / 200, 1 + i % 200);
		ipsec_addr_parse(text, &bn.ue_addr[i]);
		snprintf(l, sizeof(l), "udp:%s:0", text);
		if (sip_stack_listen_text(bn.ue_st, l, &bn.ue_tp[i]))
			return 1;
	}

	/* simreg's P-CSCF, userspace ESP, every flow and set kept. */
	snprintf(cfg, sizeof(cfg), "%s/pcscf.yaml", dir);
	snprintf(log, sizeof(log), "%s/pcscf.log", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	f = fopen(cfg, "w");
	if (!f)
		return 1;
	fprintf(f, "log:\n  level: notice\nipsec:\n  backend: %s\n"
		   "pcscf:\n  listen: [\"udp:127.0.0.1:45060\"]\n"
		   "  scscf: \"sip:127.0.0.1:47060\"\n  regevent: false\n"
		   "  port_min: 14100\n  port_max: %u\n  flows_per_address: %u\n",
		   backend, 14100 + ports - 1, ports / PORTS_PER_FLOW);
	fclose(f);
	{
		char *av[] = { (char *)simreg, "pcscf", "--config", cfg, "--data", data, NULL };

		pid = spawn(av, log);
	}
	if (pid < 0 || !log_ready(pid, log, "ready")) {
		fprintf(stderr, "bench_pcscf: the P-CSCF did not start (see %s)\n", log);
		return 1;
	}
	sip_sockaddr_parse(STR_LIT("127.0.0.1:45060"), 5060, &bn.proxy);
	ipsec_addr_from_sockaddr(&bn.proxy, &bn.proxy_addr, NULL);
	bn.ipsec = true;
	rss0 = rss_kb(pid);
	t_simreg = run(&bn);
	rss1 = rss_kb(pid);
	rate_simreg = bn.done / t_simreg;
	printf("simreg pcscf (security agreement, %s SA sets, SQLite; %u protected ports): "
	       "%u registrations in %.2f s: %.0f/s (%u failed)\n",
	       backend, ports, bn.done, t_simreg, rate_simreg, bn.failed);
	printf("  P-CSCF resident memory %ld kB -> %ld kB: %.1f kB per registration (flow, set, "
	       "ports)\n",
	       rss0, rss1, bn.done ? (double)(rss1 - rss0) / bn.done : 0.0);
	reap(pid);

	if (peer) {
		char kcfg[256], klog[256];
		char *av[] = { "kamailio", "-f", kcfg, "-D", "-E", "-n", "1", "-Y", dir, "-m", "256",
			       "-M", "32", NULL };

		snprintf(kcfg, sizeof(kcfg), "%s/kamailio.cfg", dir);
		snprintf(klog, sizeof(klog), "%s/kamailio.log", dir);
		f = fopen(kcfg, "w");
		if (!f)
			return 1;
		fprintf(f, "#!KAMAILIO\ndebug=1\nlog_stderror=yes\nlisten=udp:127.0.0.1:46060\n"
			   "children=1\nloadmodule \"tm.so\"\nloadmodule \"sl.so\"\n"
			   "loadmodule \"pv.so\"\n"
			   "request_route {\n  $du = \"sip:127.0.0.1:47060\";\n  t_relay();\n  exit;\n}\n");
		fclose(f);
		sip_sockaddr_parse(STR_LIT("127.0.0.1:46060"), 5060, &bn.proxy);
		pid = spawn(av, klog);
		if (pid < 0 || !sip_ready(&bn, pid)) {
			fprintf(stderr, "bench_pcscf: Kamailio did not start (see %s)\n", klog);
			return 1;
		}
		bn.ipsec = false;
		t_peer = run(&bn);
		printf("Kamailio 5.6 plain stateful proxy (t_relay, no IPsec): %u registrations in "
		       "%.2f s: %.0f/s (%u failed)\n",
		       bn.done, t_peer, bn.done / t_peer, bn.failed);
		printf("ratio simreg / Kamailio: %.2f\n", rate_simreg / (bn.done / t_peer));
		reap(pid);
	}
	ipsec_sip_destroy(bn.ports);
	sip_stack_destroy(bn.ue_st);
	sip_stack_destroy(bn.reg_st);
	ipsec_backend_close(bn.b);
	ipsec_alloc_destroy(&bn.alloc);
	loop_destroy(bn.loop);
	free(bn.ues);
	slog_drain();
	return 0;
}
