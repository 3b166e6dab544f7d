/*
 * ipsec_peer - one side of an SA set, driven line by line (test helper).
 *
 *   ipsec_peer --backend userspace|xfrm --side ue|pcscf --ue ADDR --pcscf ADDR
 *              --client SPI_C,SPI_S,PORT_C,PORT_S --server SPI_C,SPI_S,PORT_C,PORT_S
 *              --alg hmac-sha-1-96 --ealg aes-cbc --ik HEX --ck HEX [--keylog FILE]
 *              [--keep] [--tun NAME] [--debug]
 *
 * (--tun: the userspace backend's TUN device for TCP, "simreg%d" unless
 * given; "" for none.)
 *
 * Installs the set (ESP keys expanded from IK/CK by lib/aka), opens its
 * two protected ports as endpoints and prints "ready set=ID". Then reads
 * commands from stdin, one per line, and answers each with one line (or
 * five for counters):
 *
 *   send LPORT RPORT WORD        send WORD from LPORT to the peer's RPORT
 *   sendfile LPORT RPORT PATH    send a file's bytes (a SIP message)
 *   recv LPORT TIMEOUT_MS        wait for one datagram on LPORT
 *                                -> "rx sa=N set=ID from=A:P to=A:P len=L line=FIRST LINE"
 *                                   or "timeout"
 *   counters                     -> "sa1 out packets=.. bytes=.. replay=.. auth=.. other=.."
 *                                   ... "end"
 *   list                         -> "set ID side=.. ue=.. pcscf=.." per owned set, "end"
 *   spi HEX                      -> "spi 0x.. in use" / "spi 0x.. free": an inbound SA to
 *                                   our address with that SPI exists (anybody's)
 *   alloc N                      -> N local halves from an allocator whose RNG is
 *                                   stuck on SPI 0x4242, with the backend's veto:
 *                                   "alloc spi_c=0x.. spi_s=0x.." per half, "end"
 *   stats                        -> "stats udp_in=.. udp_out=.. udp_dropped=.. tcp_in=..
 *                                   tcp_out=.. tcp_dropped=.. unknown_spi=.. malformed=.."
 *   quit                         remove the set (unless --keep) and exit 0
 *
 * and TCP over the SAs, sockets bound with ipsec_backend_tcp_bind():
 *
 *   tlisten LPORT                listen on LPORT -> "listening LPORT"; connections
 *                                are accepted whenever they come
 *   tconnect LPORT RPORT [MS]    connect from LPORT to the peer's RPORT (10 s)
 *                                -> "connected LPORT RPORT" or "error tconnect: ..."
 *   tsend LPORT RPORT WORD       write WORD on the connection LPORT <-> RPORT
 *   tsendfile LPORT RPORT PATH   write a file's bytes (a SIP message) on it
 *   trecv LPORT TIMEOUT_MS       wait for bytes on a connection of LPORT: up to the
 *                                end of a SIP header ("\r\n\r\n") or 200 ms of quiet
 *                                -> "trx from=A:P to=A:P len=L line=FIRST LINE"
 *                                   or "timeout"
 *
 * Between commands, and while one waits, the peer keeps feeding the
 * backend (its raw sockets and TUN) and accepting connections, so either
 * side may be idle while the other one talks.
 *
 *   ipsec_peer inject --pcap FILE --spi HEX [--nth N] [--seq N] [--flip OFF]
 *
 * sends the N-th (from 0) ESP packet with that SPI found in a pcap file
 * again through a raw socket, from its original source to its original
 * destination, optionally with a new sequence number and one byte (offset
 * from the ESP header) inverted: replay and tampering, as an attacker on
 * the link would do them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aka/esp_keys.h"
#include "core/hex.h"
#include "core/log.h"
#include "ipsec/backend.h"
#include "ipsec/sa.h"

static __attribute__((noreturn)) void die(const char *fmt, const char *arg)
{
	slog_drain(); /* the library's lines first */
	fprintf(stderr, "ipsec_peer: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static struct ipsec_sec_params parse_sec(const char *text)
{
	struct ipsec_sec_params s;
	unsigned long v[4];

	if (sscanf(text, "%lu,%lu,%lu,%lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		die("bad SPI_C,SPI_S,PORT_C,PORT_S: %s", text);
	s.spi_c = (uint32_t)v[0];
	s.spi_s = (uint32_t)v[1];
	s.port_c = (uint16_t)v[2];
	s.port_s = (uint16_t)v[3];
	return s;
}

#define TCP_MAX 16

/* A TCP socket over the SAs: a listener (rport 0) or a connection. */
struct tsock {
	int fd;
	uint16_t lport;
	uint16_t rport;
};

struct peer {
	struct ipsec_backend *b;
	struct ipsec_sa_set set;
	struct ipsec_endpoint *ep[2];
	uint16_t port[2];
	struct tsock tcp[TCP_MAX];
	unsigned ntcp;
};

static struct ipsec_endpoint *endpoint(struct peer *p, unsigned long port)
{
	for (int i = 0; i < 2; i++)
		if (p->port[i] == port)
			return p->ep[i];
	return NULL;
}

static void print_dgram(const struct ipsec_dgram_info *info, const uint8_t *buf, ssize_t n)
{
	char src[IPSEC_ADDR_STRLEN], dst[IPSEC_ADDR_STRLEN];
	size_t line = 0;

	while (line < (size_t)n && buf[line] != '\r' && buf[line] != '\n')
		line++;
	printf("rx sa=%u set=%u from=%s:%u to=%s:%u len=%zd line=%.*s\n", info->sa_index,
	       info->set_id, ipsec_addr_str(&info->src, src), info->sport,
	       ipsec_addr_str(&info->dst, dst), info->dport, n, (int)line, (const char *)buf);
}

static void tcp_accept(struct peer *p, const struct tsock *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (p->ntcp == TCP_MAX) {
		close(fd);
		return;
	}
	p->tcp[p->ntcp++] = (struct tsock){
		fd, l->lport,
		ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port) };
}

/*
 * Wait up to timeout_ms (-1: for ever) until fd (-1: none) has one of
 * `events`, feeding the backend and accepting connections meanwhile.
 * Returns fd's revents, or 0 on timeout.
 */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static short pump(struct peer *p, int fd, short events, int timeout_ms)
{
	struct pollfd pfd[1 + 3 + TCP_MAX];
	int64_t deadline = now_ms() + timeout_ms;
	int fds[3];

	for (;;) {
		size_t nb = ipsec_backend_fds(p->b, fds, 3), n = 0, first_tcp;
		int r, left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());

		if (timeout_ms >= 0 && left < 0)
			return 0;

		pfd[n++] = (struct pollfd){ .fd = fd, .events = events };
		for (size_t i = 0; i < nb; i++)
			pfd[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		first_tcp = n;
		for (unsigned i = 0; i < p->ntcp; i++)
			pfd[n++] = (struct pollfd){ .fd = p->tcp[i].rport ? -1 : p->tcp[i].fd,
						    .events = POLLIN };
		r = poll(pfd, n, left);
		if (r <= 0)
			return 0;
		for (size_t i = 0; i < nb; i++)
			if (pfd[i + 1].revents & POLLIN)
				ipsec_backend_input(p->b, fds[i]);
		for (size_t i = first_tcp; i < n; i++)
			if (pfd[i].revents & POLLIN)
				tcp_accept(p, &p->tcp[i - first_tcp]);
		if (fd >= 0 && pfd[0].revents)
			return pfd[0].revents;
	}
}

/* Wait for a datagram on ep, feeding the backend's own descriptors meanwhile. */
static void cmd_recv(struct peer *p, struct ipsec_endpoint *ep, int timeout_ms)
{
	static uint8_t buf[65536];
	struct ipsec_dgram_info info;

	for (;;) {
		ssize_t n = ipsec_endpoint_recv(ep, buf, sizeof(buf), &info);

		if (n >= 0) {
			print_dgram(&info, buf, n);
			return;
		}
		if (n != -EAGAIN) {
			printf("error recv: %s\n", strerror((int)-n));
			return;
		}
		if (!pump(p, ipsec_endpoint_fd(ep), POLLIN, timeout_ms)) {
			printf("timeout\n");
			return;
		}
	}
}

/* ---- TCP ------------------------------------------------------------------- */

static void fill_sockaddr(const struct ipsec_addr *a, uint16_t port, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_addr = a->v4;
		s->sin_port = htons(port);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = a->v6;
		s->sin6_port = htons(port);
		*len = sizeof(*s);
	}
}

/* A TCP socket bound to local:lport and handed to the backend; or -errno. */
static int tcp_socket(struct peer *p, uint16_t lport)
{
	const struct ipsec_addr *local = ipsec_sa_set_local(&p->set);
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, ret;

	if (p->ntcp == TCP_MAX)
		return -ENOSPC;
	fd = socket(local->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	ret = ipsec_backend_tcp_bind(p->b, fd);
	if (ret)
		goto fail;
	/* SIP over TCP: small messages that should leave at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	fill_sockaddr(local, lport, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		ret = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

static void cmd_tlisten(struct peer *p, uint16_t lport)
{
	int fd = tcp_socket(p, lport);

	if (fd >= 0 && listen(fd, 16) != 0) {
		close(fd);
		fd = -errno;
	}
	if (fd < 0) {
		printf("error tlisten: %s\n", strerror(-fd));
		return;
	}
	p->tcp[p->ntcp++] = (struct tsock){ fd, lport, 0 };
	printf("listening %u\n", lport);
}

static void cmd_tconnect(struct peer *p, uint16_t lport, uint16_t rport, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = tcp_socket(p, lport), err = 0;

	if (fd < 0) {
		printf("error tconnect: %s\n", strerror(-fd));
		return;
	}
	fill_sockaddr(ipsec_sa_set_remote(&p->set), rport, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
		err = errno;
	} else if (!pump(p, fd, POLLOUT, timeout_ms)) {
		err = ETIMEDOUT;
	} else {
		len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	}
	if (err) {
		close(fd);
		printf("error tconnect: %s\n", strerror(err));
		return;
	}
	p->tcp[p->ntcp++] = (struct tsock){ fd, lport, rport };
	printf("connected %u %u\n", lport, rport);
}

static struct tsock *tcp_conn(struct peer *p, unsigned long lport, unsigned long rport)
{
	for (unsigned i = 0; i < p->ntcp; i++)
		if (p->tcp[i].rport && p->tcp[i].lport == lport &&
		    (!rport || p->tcp[i].rport == rport))
			return &p->tcp[i];
	return NULL;
}

static void cmd_tsend(struct peer *p, unsigned long lport, unsigned long rport, const uint8_t *buf,
		      size_t len)
{
	struct tsock *c = tcp_conn(p, lport, rport);
	size_t done = 0;

	if (!c) {
		printf("error no connection %lu <-> %lu\n", lport, rport);
		return;
	}
	while (done < len) {
		ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			if (!pump(p, c->fd, POLLOUT, 10000))
				break;
		} else {
			printf("error tsend: %s\n", n < 0 ? strerror(errno) : "closed");
			return;
		}
	}
	if (done < len)
		printf("error tsend: timeout after %zu octets\n", done);
	else
		printf("sent %zu\n", len);
}

static void cmd_trecv(struct peer *p, unsigned long lport, int timeout_ms)
{
	static uint8_t buf[65536];
	char rem[IPSEC_ADDR_STRLEN], loc[IPSEC_ADDR_STRLEN];
	struct tsock *c = NULL;
	size_t got = 0, line = 0;

	/* The first connection of lport with bytes waiting (accepting meanwhile). */
	for (int waited = 0; !c; waited += 50) {
		for (unsigned i = 0; i < p->ntcp && !c; i++) {
			struct pollfd pfd = { .fd = p->tcp[i].fd, .events = POLLIN };

			if (p->tcp[i].rport && p->tcp[i].lport == lport && poll(&pfd, 1, 0) == 1)
				c = &p->tcp[i];
		}
		if (!c && waited >= timeout_ms) {
			printf("timeout\n");
			return;
		}
		if (!c)
			pump(p, -1, 0, 50);
	}
	for (;;) {
		ssize_t n = recv(c->fd, buf + got, sizeof(buf) - got, 0);

		if (n > 0)
			got += (size_t)n;
		if (n == 0 || got == sizeof(buf) || (n < 0 && errno != EAGAIN))
			break;
		if (got >= 4 && memcmp(buf + got - 4, "\r\n\r\n", 4) == 0)
			break;
		if (n < 0 && !pump(p, c->fd, POLLIN, 200))
			break;
	}
	while (line < got && buf[line] != '\r' && buf[line] != '\n')
		line++;
	printf("trx from=%s:%u to=%s:%u len=%zu line=%.*s\n",
	       ipsec_addr_str(ipsec_sa_set_remote(&p->set), rem), c->rport,
	       ipsec_addr_str(ipsec_sa_set_local(&p->set), loc), c->lport, got, (int)line,
	       (const char *)buf);
}

static void cmd_stats(struct peer *p)
{
	struct ipsec_backend_stats st;

	ipsec_backend_stats(p->b, &st);
	printf("stats udp_in=%llu udp_out=%llu udp_dropped=%llu tcp_in=%llu tcp_out=%llu "
	       "tcp_dropped=%llu unknown_spi=%llu malformed=%llu\n",
	       (unsigned long long)st.udp_in, (unsigned long long)st.udp_out,
	       (unsigned long long)st.udp_dropped, (unsigned long long)st.tcp_in,
	       (unsigned long long)st.tcp_out, (unsigned long long)st.tcp_dropped,
	       (unsigned long long)st.unknown_spi, (unsigned long long)st.malformed);
}

/* One line of stdin (without its newline) into line; 0 at EOF. Feeds the backend meanwhile. */
/*
 * The first 64 KiB of a file, for sendfile and tsendfile; NULL (said on
 * stdout) when it cannot be opened. The buffer is reused by the next call.
 */
static const uint8_t *slurp(const char *path, size_t *n)
{
	static uint8_t buf[65536];
	FILE *f = fopen(path, "rb");

	if (!f) {
		printf("error %s: %s\n", path, strerror(errno));
		return NULL;
	}
	*n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

static int read_line(struct peer *p, char *line, size_t cap)
{
	static char buf[8192];
	static size_t have;

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - buf);

			snprintf(line, cap, "%.*s", (int)len, buf);
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
			return 1;
		}
		if (have == sizeof(buf))
			have = 0; /* a line too long to be a command */
		pump(p, STDIN_FILENO, POLLIN, -1);
		n = read(STDIN_FILENO, buf + have, sizeof(buf) - have);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return 0;
		have += (size_t)n;
	}
}

static void cmd_send(struct peer *p, unsigned long lport, unsigned long rport, const void *buf,
		     size_t len)
{
	struct ipsec_endpoint *ep = endpoint(p, lport);
	int ret;

	if (!ep) {
		printf("error no endpoint on %lu\n", lport);
		return;
	}
	ret = ipsec_endpoint_send(ep, ipsec_sa_set_remote(&p->set), (uint16_t)rport, buf, len);
	if (ret)
		printf("error send: %s\n", strerror(-ret));
	else
		printf("sent %zu\n", len);
}

static void cmd_counters(struct peer *p)
{
	struct ipsec_sa_counters c[IPSEC_SET_SAS];
	int ret = ipsec_backend_counters(p->b, p->set.id, c);

	if (ret) {
		printf("error counters: %s\n", strerror(-ret));
		return;
	}
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++)
		printf("sa%u %s packets=%llu bytes=%llu replay=%llu auth=%llu other=%llu\n", i + 1,
		       p->set.sa[i].dir == IPSEC_DIR_OUT ? "out" : "in",
		       (unsigned long long)c[i].packets, (unsigned long long)c[i].bytes,
		       (unsigned long long)c[i].replay, (unsigned long long)c[i].auth,
		       (unsigned long long)c[i].other);
	printf("end\n");
}

/* An RNG stuck at 0: every draw proposes the bottom of the range, 0x4242. */
static uint32_t stuck(void *ctx)
{
	return 0;
}

static void cmd_alloc(struct peer *p, unsigned long n)
{
	struct ipsec_spi_veto veto = { p->b, *ipsec_sa_set_local(&p->set) };
	struct ipsec_alloc_seam seam = { .random32 = stuck, .spi_usable = ipsec_spi_veto,
					 .ctx = &veto };
	/* Draws give 0x4242; when it is vetoed the allocator scans upwards. */
	struct ipsec_alloc_config cfg = { 0x4242, 0x4250, 20000, 20099 };
	struct ipsec_alloc a;

	if (ipsec_alloc_init(&a, &cfg, &seam)) {
		printf("error alloc init\n");
		return;
	}
	for (unsigned long i = 0; i < n; i++) {
		struct ipsec_sec_params half;
		int ret = ipsec_alloc_local(&a, ipsec_sa_set_remote(&p->set), &half);

		if (ret) {
			printf("error alloc: %s\n", strerror(-ret));
			break;
		}
		printf("alloc spi_c=0x%08x spi_s=0x%08x\n", half.spi_c, half.spi_s);
	}
	printf("end\n");
	ipsec_alloc_destroy(&a);
}

static int print_set(void *arg, const struct ipsec_sa_set *set)
{
	char ue[IPSEC_ADDR_STRLEN], pc[IPSEC_ADDR_STRLEN];

	printf("set %u side=%s ue=%s pcscf=%s spi_ps=0x%08x\n", set->id, ipsec_side_name(set->side),
	       ipsec_addr_str(&set->p.ue, ue), ipsec_addr_str(&set->p.pcscf, pc),
	       set->p.server.spi_s);
	return 0;
}

static int run_peer(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", 1, NULL, 'b' }, { "side", 1, NULL, 's' },   { "ue", 1, NULL, 'u' },
		{ "pcscf", 1, NULL, 'p' },   { "client", 1, NULL, 'c' }, { "server", 1, NULL, 'S' },
		{ "alg", 1, NULL, 'a' },     { "ealg", 1, NULL, 'e' },   { "ik", 1, NULL, 'i' },
		{ "ck", 1, NULL, 'k' },      { "keylog", 1, NULL, 'l' }, { "keep", 0, NULL, 'K' },
		{ "tun", 1, NULL, 't' },     { "debug", 0, NULL, 'D' }, { NULL, 0, NULL, 0 },
	};
	struct ipsec_config cfg = { .backend = IPSEC_BACKEND_USERSPACE, .tun = "simreg%d" };
	struct ipsec_set_params prm;
	enum ipsec_side side = IPSEC_SIDE_UE;
	enum esp_auth_alg alg = ESP_AUTH_HMAC_SHA1_96;
	enum esp_enc_alg ealg = ESP_ENC_AES_CBC;
	uint8_t ik[AKA_IK_LEN] = { 0 }, ck[AKA_CK_LEN] = { 0 };
	struct peer p;
	bool keep = false;
	char line[4096];
	int c, ret;

	memset(&prm, 0, sizeof(prm));
	memset(&p, 0, sizeof(p));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (ipsec_backend_kind_parse(optarg, &cfg.backend))
				die("bad backend %s", optarg);
			break;
		case 's':
			side = strcmp(optarg, "pcscf") == 0 ? IPSEC_SIDE_PCSCF : IPSEC_SIDE_UE;
			break;
		case 'u':
			if (ipsec_addr_parse(optarg, &prm.ue))
				die("bad address %s", optarg);
			break;
		case 'p':
			if (ipsec_addr_parse(optarg, &prm.pcscf))
				die("bad address %s", optarg);
			break;
		case 'c': prm.client = parse_sec(optarg); break;
		case 'S': prm.server = parse_sec(optarg); break;
		case 'a':
			if (esp_auth_alg_parse(str_from_cstr(optarg), &alg))
				die("bad alg %s", optarg);
			break;
		case 'e':
			if (esp_enc_alg_parse(str_from_cstr(optarg), &ealg))
				die("bad ealg %s", optarg);
			break;
		case 'i':
			if (hex_decode(str_from_cstr(optarg), ik, sizeof(ik)))
				die("bad IK %s", optarg);
			break;
		case 'k':
			if (hex_decode(str_from_cstr(optarg), ck, sizeof(ck)))
				die("bad CK %s", optarg);
			break;
		case 'l': cfg.keylog_path = optarg; break;
		case 'K': keep = true; break;
		case 't': cfg.tun = optarg; break;
		case 'D': slog_set_level(SLOG_DEBUG); break;
		default: die("bad option%s", "");
		}
	}
	if (esp_keys_derive(alg, ealg, ik, ck, &prm.keys))
		die("cannot derive keys%s", "");
	if (ipsec_sa_set_build(&p.set, side, &prm))
		die("invalid SA set parameters%s", "");
	ret = ipsec_backend_open(&cfg, &p.b, NULL);
	if (ret)
		die("backend: %s", strerror(-ret));
	ret = ipsec_backend_install(p.b, &p.set);
	if (ret)
		die("install: %s", strerror(-ret));
	const struct ipsec_sec_params *own = side == IPSEC_SIDE_UE ? &prm.client : &prm.server;
	p.port[0] = own->port_c;
	p.port[1] = own->port_s;
	for (int i = 0; i < 2; i++) {
		ret = ipsec_endpoint_open(p.b, ipsec_sa_set_local(&p.set), p.port[i], &p.ep[i]);
		if (ret)
			die("endpoint: %s", strerror(-ret));
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready set=%u backend=%s\n", p.set.id,
	       ipsec_backend_kind_name(ipsec_backend_kind(p.b)));

	while (read_line(&p, line, sizeof(line))) {
		char word[2048], path[2048];
		const uint8_t *data;
		unsigned long a, b;
		size_t n;
		int t;

		if (sscanf(line, "tsend %lu %lu %2047s", &a, &b, word) == 3) {
			cmd_tsend(&p, a, b, (const uint8_t *)word, strlen(word));
		} else if (sscanf(line, "tsendfile %lu %lu %2047s", &a, &b, path) == 3) {
			if ((data = slurp(path, &n)))
				cmd_tsend(&p, a, b, data, n);
		} else if (sscanf(line, "tlisten %lu", &a) == 1 && a && a <= 65535) {
			cmd_tlisten(&p, (uint16_t)a);
		} else if ((t = 10000, sscanf(line, "tconnect %lu %lu %d", &a, &b, &t)) >= 2 && a &&
			   a <= 65535 && b && b <= 65535) {
			cmd_tconnect(&p, (uint16_t)a, (uint16_t)b, t);
		} else if (sscanf(line, "trecv %lu %d", &a, &t) == 2) {
			cmd_trecv(&p, a, t);
		} else if (strcmp(line, "stats") == 0) {
			cmd_stats(&p);
		} else if (sscanf(line, "send %lu %lu %2047s", &a, &b, word) == 3) {
			cmd_send(&p, a, b, word, strlen(word));
		} else if (sscanf(line, "sendfile %lu %lu %2047s", &a, &b, path) == 3) {
			if ((data = slurp(path, &n)))
				cmd_send(&p, a, b, data, n);
		} else if (sscanf(line, "recv %lu %d", &a, &t) == 2) {
			struct ipsec_endpoint *ep = endpoint(&p, a);

			if (ep)
				cmd_recv(&p, ep, t);
			else
				printf("error no endpoint on %lu\n", a);
		} else if (strcmp(line, "counters") == 0) {
			cmd_counters(&p);
		} else if (strcmp(line, "list") == 0) {
			ipsec_backend_list(p.b, print_set, NULL);
			printf("end\n");
		} else if (sscanf(line, "spi %lx", &a) == 1) {
			int r = ipsec_backend_spi_in_use(p.b, ipsec_sa_set_local(&p.set), (uint32_t)a);

			if (r < 0)
				printf("error spi: %s\n", strerror(-r));
			else
				printf("spi 0x%08lx %s\n", a, r ? "in use" : "free");
		} else if (sscanf(line, "alloc %lu", &a) == 1) {
			cmd_alloc(&p, a);
		} else if (strcmp(line, "quit") == 0) {
			break;
		} else {
			printf("error unknown command: %s\n", line);
		}
	}
	for (unsigned i = 0; i < p.ntcp; i++)
		close(p.tcp[i].fd);
	for (int i = 0; i < 2; i++)
		ipsec_endpoint_close(p.ep[i]);
	if (!keep) {
		ret = ipsec_backend_remove(p.b, p.set.id);
		if (ret)
			fprintf(stderr, "ipsec_peer: remove: %s\n", strerror(-ret));
	}
	ipsec_sa_set_wipe(&p.set);
	ipsec_backend_close(p.b);
	return ret ? 1 : 0;
}

/* ---- inject --------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int run_inject(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pcap", 1, NULL, 'f' }, { "spi", 1, NULL, 's' }, { "nth", 1, NULL, 'n' },
		{ "seq", 1, NULL, 'q' },  { "flip", 1, NULL, 'x' }, { NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	uint32_t spi = 0, seq = 0;
	long nth = 0, flip = -1;
	bool set_seq = false;
	static uint8_t file[1 << 22];
	size_t len, off;
	FILE *f = NULL;
	int c, link;
	bool swap;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 's': spi = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'n': nth = strtol(optarg, NULL, 10); break;
		case 'q': seq = (uint32_t)strtoul(optarg, NULL, 10); set_seq = true; break;
		case 'x': flip = strtol(optarg, NULL, 10); break;
		default: die("bad option%s", "");
		}
	}
	if (!path || !(f = fopen(path, "rb")))
		die("cannot open pcap %s", path ? path : "(none)");
	len = fread(file, 1, sizeof(file), f);
	fclose(f);
	if (len < 24)
		die("%s: not a pcap file", path);
	swap = rd32(file, false) == 0xd4c3b2a1u;
	if (!swap && rd32(file, false) != 0xa1b2c3d4u)
		die("%s: not a classic pcap file (write it with -F pcap)", path);
	link = (int)rd32(file + 20, swap);
	if (link != 1)
		die("%s: link type is not Ethernet", path);
	for (off = 24; off + 16 <= len;) {
		size_t caplen = rd32(file + off + 8, swap), l3 = off + 16 + 14, ip_len, hl;
		const uint8_t *eth = file + off + 16;
		struct ipsec_addr src, dst;
		uint16_t type;

		if (off + 16 + caplen > len || caplen < 14 + 20)
			break;
		off += 16 + caplen;
		type = (uint16_t)(eth[12] << 8 | eth[13]);
		memset(&src, 0, sizeof(src));
		memset(&dst, 0, sizeof(dst));
		if (type == 0x0800 && file[l3 + 9] == IPPROTO_ESP) {
			hl = (size_t)(file[l3] & 15) * 4;
			ip_len = (size_t)(file[l3 + 2] << 8 | file[l3 + 3]);
			src.family = dst.family = AF_INET;
			memcpy(&src.v4, file + l3 + 12, 4);
			memcpy(&dst.v4, file + l3 + 16, 4);
		} else if (type == 0x86dd && caplen >= 14 + 40 && file[l3 + 6] == IPPROTO_ESP) {
			hl = 40;
			ip_len = 40 + (size_t)(file[l3 + 4] << 8 | file[l3 + 5]);
			src.family = dst.family = AF_INET6;
			memcpy(&src.v6, file + l3 + 8, 16);
			memcpy(&dst.v6, file + l3 + 24, 16);
		} else {
			continue;
		}
		if (l3 + ip_len > off || ip_len < hl + 8)
			continue;
		uint8_t *esp = file + l3 + hl;
		size_t esp_len = ip_len - hl;
		if (rd32(esp, false) != htonl(spi) || nth-- > 0)
			continue;
		if (set_seq) {
			uint32_t be = htonl(seq);
			memcpy(esp + 4, &be, 4);
		}
		if (flip >= 0 && (size_t)flip < esp_len)
			esp[flip] ^= 0xff;
		int fd = socket(src.family, SOCK_RAW, IPPROTO_ESP);
		if (fd < 0)
			die("raw socket: %s", strerror(errno));
		struct sockaddr_storage ss, sl;
		socklen_t sslen;
		memset(&ss, 0, sizeof(ss));
		memset(&sl, 0, sizeof(sl));
		if (src.family == AF_INET) {
			((struct sockaddr_in *)&ss)->sin_family = AF_INET;
			((struct sockaddr_in *)&ss)->sin_addr = dst.v4;
			((struct sockaddr_in *)&sl)->sin_family = AF_INET;
			((struct sockaddr_in *)&sl)->sin_addr = src.v4;
			sslen = sizeof(struct sockaddr_in);
		} else {
			((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
			((struct sockaddr_in6 *)&ss)->sin6_addr = dst.v6;
			((struct sockaddr_in6 *)&sl)->sin6_family = AF_INET6;
			((struct sockaddr_in6 *)&sl)->sin6_addr = src.v6;
			sslen = sizeof(struct sockaddr_in6);
		}
		if (bind(fd, (struct sockaddr *)&sl, sslen) != 0)
			die("bind to the original source: %s", strerror(errno));
		if (sendto(fd, esp, esp_len, 0, (struct sockaddr *)&ss, sslen) < 0)
			die("sendto: %s", strerror(errno));
		close(fd);
		printf("injected %zu bytes spi 0x%08x\n", esp_len, spi);
		return 0;
	}
	die("no such ESP packet in %s", path);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "inject") == 0)
		return run_inject(argc - 1, argv + 1);
	return run_peer(argc, argv);
}
