/*
 * sip_test_tu - a small transaction user on the simreg stack, for the
 * interop tests against SIPp and for raw-socket abuse.
 *
 *   sip_test_tu serve  [--listen SPEC]... [--code N] [--ims]
 *       Answer every request: non-INVITE with --code (200); INVITE with
 *       180 then 200, the 200 retransmitted by this UA core until the ACK
 *       comes (RFC 3261 13.3.1.4). Prints "ready SPEC..." with the bound
 *       addresses once listening. On SIGTERM / SIGINT prints
 *       "stats requests=N duplicates=D acks=A absorbed=B retransmissions=R
 *       bad=X" and exits: `duplicates` counts a transaction handed to the TU
 *       twice (same Call-ID, CSeq and method), which must never happen.
 *
 *   sip_test_tu uac --to SPEC [--method OPTIONS|MESSAGE|INVITE] [--count N]
 *                   [--parallel P] [--listen SPEC]...
 *       Send N requests (P at a time) from a stack listening on SPEC, as
 *       transactions; an INVITE that gets a 2xx is ACKed and ended with a
 *       BYE. Prints "uac started=N ok=K failed=F other=O twice=T" and exits
 *       0 if every transaction got exactly one 2xx final.
 *
 *   sip_test_tu blast --to tcp:ADDR:PORT [--pipeline N] [--split K]
 *       Raw TCP: N OPTIONS in one write (one segment on loopback), then N
 *       more written K bytes at a time with the peer given time to read
 *       between pieces. Counts the 2xx coming back (framed with the sip
 *       parser's stream mode). Prints "blast sent=2N ok=K" and exits 0 if
 *       all 2N were answered.
 *
 *   sip_test_tu garbage --to SPEC(tcp) --udp SPEC
 *       Random bytes, half a message then close, an endless header line (TCP),
 *       a random datagram, a request without To (nothing can be answered)
 *       and one whose CSeq method is not its method (400), then a good
 *       request on a new connection that must get 200. Prints one line per
 *       case and exits 0 if the good one was served.
 *
 *   sip_test_tu port udp|tcp 4|6
 *       Print a loopback port that is free right now (for starting SIPp).
 */
#define SLOG_COMPONENT "tu"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "sip/print.h"
#include "sip/stack.h"
#include "sip/table.h"

#define MAX_LISTEN 8

struct opts {
	const char *mode;
	const char *listen[MAX_LISTEN];
	unsigned n_listen;
	const char *to;
	const char *udp;
	const char *method;
	unsigned code;
	unsigned count;
	unsigned parallel;
	unsigned pipeline;
	unsigned split;
	bool ims;
	bool verbose;
};

static struct opts o = {
	.method = "OPTIONS", .code = 200, .count = 100, .parallel = 10, .pipeline = 50, .split = 7,
};

static void usage(void)
{
	fprintf(stderr,
		"usage: sip_test_tu serve [--listen SPEC]... [--code N] [--ims]\n"
		"       sip_test_tu uac --to SPEC [--method M] [--count N] [--parallel P] [--listen SPEC]...\n"
		"       sip_test_tu blast --to tcp:ADDR:PORT [--pipeline N] [--split K]\n"
		"       sip_test_tu garbage --to tcp:ADDR:PORT --udp udp:ADDR:PORT\n"
		"       sip_test_tu port udp|tcp 4|6\n");
}

/* ------------------------------------------------------------------ */
/* serve                                                              */

/* A key per transaction the TU saw: Call-ID, CSeq number, method. */
struct seen {
	struct sip_hnode node;
	char key[160];
};

/* An INVITE's 2xx, retransmitted until its ACK (13.3.1.4). */
struct pending_2xx {
	struct loop_timer t;
	sip_txn_id stx;
	char callid[128];
	uint32_t interval;
	uint64_t started_ms;
	struct pending_2xx *next;
};

struct server {
	struct loop *loop;
	struct sip_stack *st;
	struct sip_htab seen;
	unsigned long requests, duplicates, acks;
	struct pending_2xx *pending;
};

static void seen_free(struct server *s)
{
	for (size_t i = 0; i <= s->seen.mask; i++) {
		struct sip_hnode *n = s->seen.b[i];

		while (n) {
			struct sip_hnode *next = n->next;

			free(container_of(n, struct seen, node));
			n = next;
		}
	}
	sip_htab_free(&s->seen);
}

static bool note_seen(struct server *s, struct sip_msg *m)
{
	const struct sip_cseq *cseq;
	struct str callid;
	struct seen *e;
	char key[160];
	uint64_t h;

	if (sip_msg_cseq(m, &cseq, NULL) < 0 || sip_msg_call_id(m, &callid, NULL) < 0)
		return false;
	snprintf(key, sizeof(key), "%.*s/%u/%.*s", STR_FMT(callid), cseq->seq, STR_FMT(m->method_name));
	h = sip_hash_bytes(s->seen.seed, key, strlen(key));
	for (struct sip_hnode *n = sip_htab_first(&s->seen, h); n; n = sip_htab_next(n->next, h))
		if (strcmp(container_of(n, struct seen, node)->key, key) == 0)
			return true;
	e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	snprintf(e->key, sizeof(e->key), "%s", key);
	sip_htab_insert(&s->seen, &e->node, h);
	return false;
}

static void pending_drop(struct server *s, struct pending_2xx *p)
{
	struct pending_2xx **pp = &s->pending;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	loop_timer_cancel(s->loop, &p->t);
	free(p);
}

static struct server *server_of_timer;

static void retransmit_2xx(struct loop *loop, struct loop_timer *t)
{
	struct pending_2xx *p = t->ctx;
	struct server *s = server_of_timer;
	const struct sip_timers *tm = &sip_stack_config(s->st)->timers;

	if (loop_now_ms(loop) - p->started_ms >= 64ull * tm->t1 ||
	    sip_server_txn_respond(s->st, p->stx, 200, STR_NULL) < 0) {
		pending_drop(s, p);
		return;
	}
	p->interval = p->interval * 2 < tm->t2 ? p->interval * 2 : tm->t2;
	loop_timer_arm(loop, t, p->interval);
}

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct server *s = ctx;
	struct sip_msg *m = rx->msg;
	struct str callid;

	if (!stx) {
		/* ACK for a 2xx: ends the retransmissions of that 2xx. */
		s->acks++;
		if (sip_msg_call_id(m, &callid, NULL) == 0)
			for (struct pending_2xx *p = s->pending; p; p = p->next)
				if (str_eq_cstr(callid, p->callid)) {
					pending_drop(s, p);
					break;
				}
		return;
	}
	s->requests++;
	if (o.verbose) {
		struct str cid = STR_NULL;

		sip_msg_call_id(m, &cid, NULL);
		log_notice("request %.*s Call-ID %.*s", STR_FMT(m->method_name), STR_FMT(cid));
	}
	if (note_seen(s, m)) {
		s->duplicates++;
		log_error("transaction delivered twice: %.*s", STR_FMT(m->start_line));
	}
	if (m->method == SIP_METHOD_INVITE) {
		struct pending_2xx *p = calloc(1, sizeof(*p));

		sip_server_txn_respond(st, stx, 180, STR_NULL);
		sip_server_txn_respond(st, stx, 200, STR_NULL);
		if (p && sip_msg_call_id(m, &callid, NULL) == 0) {
			const struct sip_timers *tm = &sip_stack_config(st)->timers;

			p->stx = stx;
			snprintf(p->callid, sizeof(p->callid), "%.*s", STR_FMT(callid));
			p->interval = tm->t1;
			p->started_ms = loop_now_ms(s->loop);
			loop_timer_init(&p->t, retransmit_2xx, p);
			loop_timer_arm(s->loop, &p->t, p->interval);
			p->next = s->pending;
			s->pending = p;
		} else {
			free(p);
		}
		return;
	}
	sip_server_txn_respond(st, stx, m->method == SIP_METHOD_BYE ? 200 : o.code, STR_NULL);
}

static void on_cancel(struct sip_stack *st, void *ctx, sip_txn_id invite, uint64_t ref,
		      struct sip_rx *rx)
{
	sip_server_txn_respond(st, invite, 487, STR_NULL);
}

static const struct sip_tu_ops server_tu = { .request = on_request, .cancel = on_cancel };

static int print_ready(struct sip_stack *st)
{
	struct sip_tpset *set = sip_stack_transports(st);
	char a[SIP_SOCKADDR_STRLEN];

	printf("ready");
	for (struct sip_tp *tp = sip_tpset_next(set, NULL); tp; tp = sip_tpset_next(set, tp))
		printf(" %s:%s", tp->ops->name, sip_sockaddr_str(&tp->local, a, sizeof(a)));
	printf("\n");
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int make_stack(struct loop *loop, const struct sip_tu_ops *tu, void *ctx,
		      struct sip_stack **st)
{
	struct sip_stack_config cfg;
	int rc;

	sip_stack_config_default(&cfg);
	if (o.ims)
		cfg.timers = sip_timers_ims_ue;
	rc = sip_stack_create(st, loop, &cfg, tu, ctx);
	for (unsigned i = 0; rc == 0 && i < o.n_listen; i++)
		rc = sip_stack_listen_text(*st, o.listen[i], NULL);
	return rc;
}

static int serve(void)
{
	struct server s = { 0 };
	const struct sip_stack_stats *ss;
	int rc;

	if (!o.n_listen)
		o.listen[o.n_listen++] = "udp:127.0.0.1:5060";
	rc = loop_create(&s.loop, NULL);
	if (rc == 0)
		rc = loop_signals_enable(s.loop);
	if (rc == 0)
		rc = sip_htab_init(&s.seen, 4096);
	if (rc == 0)
		rc = make_stack(s.loop, &server_tu, &s, &s.st);
	if (rc < 0) {
		fprintf(stderr, "sip_test_tu: %s\n", strerror(-rc));
		goto out;
	}
	server_of_timer = &s;
	rc = print_ready(s.st);
	if (rc == 0)
		rc = loop_run(s.loop);
	ss = sip_stack_stats(s.st);
	printf("stats requests=%lu duplicates=%lu acks=%lu absorbed=%llu retransmissions=%llu "
	       "bad=%llu stun=%llu pings=%llu\n",
	       s.requests, s.duplicates, s.acks, (unsigned long long)ss->absorbed,
	       (unsigned long long)ss->retransmissions, (unsigned long long)ss->bad_requests,
	       (unsigned long long)sip_tpset_stats(sip_stack_transports(s.st))->stun_answered,
	       (unsigned long long)sip_tpset_stats(sip_stack_transports(s.st))->pings);
	fflush(stdout);
	while (s.pending)
		pending_drop(&s, s.pending);
out:
	sip_stack_destroy(s.st);
	seen_free(&s);
	loop_destroy(s.loop);
	slog_drain();
	return rc < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* uac                                                                */

struct uac {
	struct loop *loop;
	struct sip_stack *st;
	struct sip_flow dest;
	char to_uri[128];
	unsigned started, ok, failed, other, twice, outstanding, done;
	unsigned char *finals; /* per request: finals seen */
};

static void uac_start_more(struct uac *u);

static const struct sip_client_ops uac_ops;

static void uac_format(struct uac *u, char *msg, size_t len, const char *method, unsigned n,
		       unsigned cseq, const char *to_tag)
{
	snprintf(msg, len,
		 "%s %s SIP/2.0\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:tu@simreg.test>;tag=tu%u\r\n"
		 "To: <%s>%s%s\r\n"
		 "Call-ID: %u-%d@simreg.test\r\n"
		 "CSeq: %u %s\r\n"
		 "Contact: <sip:tu@127.0.0.1>\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, u->to_uri, n, u->to_uri, to_tag ? ";tag=" : "", to_tag ? to_tag : "", n,
		 (int)getpid(), cseq, method);
}

/*
 * The ACK for a 2xx: end to end, no transaction (13.2.2.4). Each 2xx
 * retransmission gets the same ACK again, same branch included, so the
 * peer sees a retransmission and not a new request.
 */
static void uac_ack(struct uac *u, unsigned n, const char *to_tag)
{
	struct sip_flow dest = u->dest;
	char msg[1024], branch[64];

	uac_format(u, msg, sizeof(msg), "ACK", n, 1, to_tag);
	snprintf(branch, sizeof(branch), "z9hG4bK-ack-%d-%u", (int)getpid(), n);
	sip_stack_send_stateless(u->st, str_from_cstr(msg), &dest, str_from_cstr(branch));
}

static int uac_request(struct uac *u, const char *method, unsigned n, unsigned cseq,
		       const char *to_tag, uint64_t ref)
{
	struct sip_client_req req = { .ops = &uac_ops, .ctx = u, .ref = ref };
	char msg[1024];

	uac_format(u, msg, sizeof(msg), method, n, cseq, to_tag);
	req.msg = str_from_cstr(msg);
	req.dest = u->dest;
	return sip_client_txn_start(u->st, &req, NULL);
}

/* ref: request number * 2, +1 for the BYE of an INVITE. */
static void uac_finish(struct uac *u)
{
	u->outstanding--;
	u->done++;
	if (u->done == o.count)
		loop_stop(u->loop);
	else
		uac_start_more(u);
}

static void uac_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			 struct sip_rx *rx)
{
	struct uac *u = ctx;
	unsigned n = (unsigned)(ref / 2), status = rx->msg->status;
	bool bye = ref & 1;
	const struct sip_addr *to;
	char tag[64] = "";

	if (status < 200)
		return;
	if (bye) {
		uac_finish(u);
		return;
	}
	if (u->finals[n]++) {
		/* An INVITE's 2xx retransmission in Accepted: ACK again, not a new final. */
		if (status < 300 && strcmp(o.method, "INVITE") == 0) {
			if (sip_msg_to(rx->msg, &to, NULL) == 0 && to->tag.s)
				snprintf(tag, sizeof(tag), "%.*s", STR_FMT(to->tag));
			uac_ack(u, n, tag);
			return;
		}
		u->twice++;
		return;
	}
	if (status >= 300) {
		u->other++;
		uac_finish(u);
		return;
	}
	u->ok++;
	if (strcmp(o.method, "INVITE") != 0) {
		uac_finish(u);
		return;
	}
	/* 13.2.2.4: ACK the 2xx ourselves, then end the call with a BYE. */
	if (sip_msg_to(rx->msg, &to, NULL) == 0 && to->tag.s)
		snprintf(tag, sizeof(tag), "%.*s", STR_FMT(to->tag));
	uac_ack(u, n, tag);
	if (uac_request(u, "BYE", n, 2, tag, (uint64_t)n * 2 + 1) < 0)
		uac_finish(u);
}

static void uac_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref, int err)
{
	struct uac *u = ctx;

	if (!(ref & 1))
		u->failed++;
	log_warn("request %llu failed: %s", (unsigned long long)(ref / 2), strerror(-err));
	uac_finish(u);
}

static const struct sip_client_ops uac_ops = { .response = uac_response, .failure = uac_failure };

static void uac_start_more(struct uac *u)
{
	while (u->started < o.count && u->outstanding < o.parallel) {
		unsigned n = u->started++;

		u->outstanding++;
		if (uac_request(u, o.method, n, 1, NULL, (uint64_t)n * 2) < 0) {
			u->failed++;
			uac_finish(u);
		}
	}
}

static const struct sip_tu_ops uac_tu = { 0 };

static int uac(void)
{
	struct uac u = { 0 };
	struct sip_listen l;
	char host[SIP_SOCKADDR_STRLEN];
	int rc;

	if (!o.to || sip_listen_parse(str_from_cstr(o.to), &l) < 0) {
		usage();
		return 2;
	}
	if (!o.n_listen) {
		bool v6 = l.addr.sa.sa_family == AF_INET6;

		if (l.proto == SIP_TRANSPORT_TCP)
			o.listen[o.n_listen++] = v6 ? "tcp:[::1]:0" : "tcp:127.0.0.1:0";
		else
			o.listen[o.n_listen++] = v6 ? "udp:[::1]:0" : "udp:127.0.0.1:0";
	}
	sip_flow_to(&u.dest, l.proto, &l.addr);
	sip_sockaddr_host(&l.addr, true, host, sizeof(host));
	snprintf(u.to_uri, sizeof(u.to_uri), "sip:service@%s:%u%s", host,
		 sip_sockaddr_port(&l.addr), l.proto == SIP_TRANSPORT_TCP ? ";transport=tcp" : "");
	u.finals = calloc(o.count + 1, 1);
	rc = loop_create(&u.loop, NULL);
	if (rc == 0)
		rc = make_stack(u.loop, &uac_tu, &u, &u.st);
	if (rc < 0 || !u.finals) {
		fprintf(stderr, "sip_test_tu: %s\n", strerror(rc < 0 ? -rc : ENOMEM));
		goto out;
	}
	uac_start_more(&u);
	if (u.done < o.count)
		rc = loop_run(u.loop);
	printf("uac started=%u ok=%u failed=%u other=%u twice=%u retransmissions=%llu\n", u.started,
	       u.ok, u.failed, u.other, u.twice,
	       (unsigned long long)sip_stack_stats(u.st)->retransmissions);
	fflush(stdout);
out:
	sip_stack_destroy(u.st);
	loop_destroy(u.loop);
	free(u.finals);
	slog_drain();
	return rc == 0 && u.ok == o.count && u.twice == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* blast and garbage: raw sockets                                     */

static int raw_connect(const char *spec, enum sip_transport want)
{
	struct sip_listen l;
	int fd, one = 1;

	if (sip_listen_parse(str_from_cstr(spec), &l) < 0 || l.proto != want)
		return -1;
	fd = socket(l.addr.sa.sa_family,
		    (want == SIP_TRANSPORT_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (want == SIP_TRANSPORT_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, &l.addr.sa, sip_sockaddr_len(&l.addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static size_t fmt_request(char *buf, size_t len, const char *proto, unsigned n, bool with_to)
{
	return (size_t)snprintf(buf, len,
				"OPTIONS sip:service@simreg.test SIP/2.0\r\n"
				"Via: SIP/2.0/%s 127.0.0.1:9;rport;branch=z9hG4bK-blast-%d-%u\r\n"
				"Max-Forwards: 70\r\n"
				"From: <sip:blast@simreg.test>;tag=b%u\r\n"
				"%s"
				"Call-ID: blast-%d-%u\r\n"
				"CSeq: 1 OPTIONS\r\n"
				"Content-Length: 0\r\n\r\n",
				proto, (int)getpid(), n, n,
				with_to ? "To: <sip:service@simreg.test>\r\n" : "", (int)getpid(), n);
}

/* Read from fd, framing responses, until `want` arrive or 5 s pass; returns how many were 2xx. */
static unsigned read_responses(int fd, unsigned want, unsigned *total)
{
	static struct sip_msg m;
	static char buf[1 << 20];
	size_t len = 0;
	unsigned ok = 0, n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	sip_msg_init(&m);
	while (n < want && poll(&p, 1, 5000) > 0) {
		ssize_t k = read(fd, buf + len, sizeof(buf) - len);
		size_t off = 0;
		int r;

		if (k <= 0)
			break;
		len += (size_t)k;
		while ((r = sip_parse(&m, buf + off, len - off, SIP_FRAME_STREAM, NULL, NULL)) > 0) {
			off += (size_t)r;
			if (m.kind != SIP_MSG_RESPONSE)
				continue;
			n++;
			ok += m.status >= 200 && m.status < 300;
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	*total = n;
	return ok;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int blast(void)
{
	char *burst = malloc((size_t)o.pipeline * 512 + 1), one[512];
	unsigned ok1, ok2, n1, n2;
	size_t len = 0;
	int fd = o.to ? raw_connect(o.to, SIP_TRANSPORT_TCP) : -1;
	int rc = 1;

	if (fd < 0 || !burst) {
		fprintf(stderr, "sip_test_tu: cannot connect to %s\n", o.to ? o.to : "(none)");
		goto out;
	}
	for (unsigned i = 0; i < o.pipeline; i++)
		len += fmt_request(burst + len, (size_t)o.pipeline * 512 + 1 - len, "TCP", i, true);
	/* One write: on loopback that is one segment up to the 64 KiB MSS. */
	if (write(fd, burst, len) != (ssize_t)len)
		goto out;
	ok1 = read_responses(fd, o.pipeline, &n1);
	printf("blast pipelined=%u bytes=%zu answered=%u ok=%u\n", o.pipeline, len, n1, ok1);
	/* Now each message in pieces of `split` bytes, with time for the peer to read each. */
	ok2 = 0;
	n2 = 0;
	for (unsigned i = 0; i < o.pipeline; i++) {
		size_t l = fmt_request(one, sizeof(one), "TCP", 1000 + i, true);
		unsigned got;

		for (size_t off = 0; off < l; off += o.split) {
			size_t k = l - off < o.split ? l - off : o.split;

			if (write(fd, one + off, k) != (ssize_t)k)
				goto out;
			if (i < 3)
				pause_ms(2); /* the first few: really one piece per segment */
		}
		ok2 += read_responses(fd, 1, &got);
		n2 += got;
	}
	printf("blast split=%u answered=%u ok=%u\n", o.split, n2, ok2);
	printf("blast sent=%u ok=%u\n", 2 * o.pipeline, ok1 + ok2);
	rc = ok1 + ok2 == 2 * o.pipeline ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(burst);
	return rc;
}

/* Did the peer close fd (EOF or reset) within 2 s? */
static bool closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	while (poll(&p, 1, 2000) > 0) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k <= 0)
			return true;
	}
	return false;
}

static int garbage(void)
{
	char buf[70000], resp[2048];
	unsigned total, ok;
	int fd, ufd, urandom;
	ssize_t k;
	int rc = 1;

	if (!o.to || !o.udp) {
		usage();
		return 2;
	}
	urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (urandom < 0 || read(urandom, buf, 4096) != 4096)
		goto out;
	/* Random bytes on a connection. */
	fd = raw_connect(o.to, SIP_TRANSPORT_TCP);
	if (fd < 0)
		goto out;
	buf[0] = 'Z'; /* start like a token, so the start line parser looks further */
	if (write(fd, buf, 4096) < 0)
		goto out;
	printf("garbage tcp random: %s\n", closed_by_peer(fd) ? "closed" : "still open");
	close(fd);
	/* Half a message, then close. */
	fd = raw_connect(o.to, SIP_TRANSPORT_TCP);
	if (fd < 0)
		goto out;
	k = (ssize_t)fmt_request(buf, sizeof(buf), "TCP", 1, true);
	if (write(fd, buf, (size_t)k / 2) < 0)
		goto out;
	close(fd);
	printf("garbage tcp half-then-close: sent %zd of %zd bytes\n", k / 2, k);
	/* An endless header line. */
	fd = raw_connect(o.to, SIP_TRANSPORT_TCP);
	if (fd < 0)
		goto out;
	k = snprintf(buf, sizeof(buf), "OPTIONS sip:x SIP/2.0\r\nX-Endless: ");
	memset(buf + k, 'e', sizeof(buf) - (size_t)k);
	if (write(fd, buf, sizeof(buf)) < 0 && errno != EPIPE && errno != ECONNRESET)
		goto out;
	printf("garbage tcp endless-line: %s\n", closed_by_peer(fd) ? "closed" : "still open");
	close(fd);
	/* UDP: a random datagram (nothing back), a request without To (400 back, or nothing). */
	ufd = raw_connect(o.udp, SIP_TRANSPORT_UDP);
	if (ufd < 0)
		goto out;
	if (read(urandom, buf, 1200) != 1200 || send(ufd, buf, 1200, 0) < 0)
		goto out;
	k = (ssize_t)fmt_request(buf, sizeof(buf), "UDP", 2, false);
	if (send(ufd, buf, (size_t)k, 0) < 0)
		goto out;
	{
		struct pollfd p = { .fd = ufd, .events = POLLIN };

		k = poll(&p, 1, 2000) > 0 ? recv(ufd, resp, sizeof(resp) - 1, 0) : 0;
		resp[k > 0 ? k : 0] = '\0';
		printf("garbage udp no-To: %s\n", k > 0 ? strtok(resp, "\r") : "no answer");
	}
	/* Well framed, but the CSeq method is not the request's (8.1.1.5): 400 with a Warning. */
	k = snprintf(buf, sizeof(buf),
		     "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK-cseq-%d\r\n"
		     "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: cseq-%d\r\n"
		     "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		     (int)getpid(), (int)getpid());
	if (send(ufd, buf, (size_t)k, 0) < 0)
		goto out;
	{
		struct pollfd p = { .fd = ufd, .events = POLLIN };

		k = poll(&p, 1, 2000) > 0 ? recv(ufd, resp, sizeof(resp) - 1, 0) : 0;
		resp[k > 0 ? k : 0] = '\0';
		printf("garbage udp cseq-mismatch: %s\n", k > 0 ? strtok(resp, "\r") : "no answer");
	}
	close(ufd);
	/* And a good one on a new connection: must be served. */
	fd = raw_connect(o.to, SIP_TRANSPORT_TCP);
	if (fd < 0)
		goto out;
	k = (ssize_t)fmt_request(buf, sizeof(buf), "TCP", 3, true);
	if (write(fd, buf, (size_t)k) != k)
		goto out;
	ok = read_responses(fd, 1, &total);
	printf("garbage good-after: %s\n", ok == 1 ? "served" : "NOT served");
	close(fd);
	rc = ok == 1 ? 0 : 1;
out:
	if (urandom >= 0)
		close(urandom);
	return rc;
}

static int free_port(const char *proto, const char *fam)
{
	union sip_sockaddr a;
	socklen_t len = sizeof(a);
	int fd, rc = 1;

	sip_sockaddr_parse(strcmp(fam, "6") == 0 ? STR_LIT("[::1]:0") : STR_LIT("127.0.0.1:0"), 0, &a);
	fd = socket(a.sa.sa_family,
		    (strcmp(proto, "tcp") == 0 ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, &a.sa, sip_sockaddr_len(&a)) == 0 &&
	    getsockname(fd, &a.sa, &len) == 0) {
		printf("%u\n", sip_sockaddr_port(&a));
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv)
{
	if (argc < 2)
		return -1;
	o.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--ims") == 0) {
			o.ims = true;
			continue;
		}
		if (strcmp(a, "--verbose") == 0) {
			o.verbose = true;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (strcmp(a, "--listen") == 0 && o.n_listen < MAX_LISTEN)
			o.listen[o.n_listen++] = v;
		else if (strcmp(a, "--to") == 0)
			o.to = v;
		else if (strcmp(a, "--udp") == 0)
			o.udp = v;
		else if (strcmp(a, "--method") == 0)
			o.method = v;
		else if (strcmp(a, "--code") == 0)
			o.code = (unsigned)atoi(v);
		else if (strcmp(a, "--count") == 0)
			o.count = (unsigned)atoi(v);
		else if (strcmp(a, "--parallel") == 0)
			o.parallel = (unsigned)atoi(v);
		else if (strcmp(a, "--pipeline") == 0)
			o.pipeline = (unsigned)atoi(v);
		else if (strcmp(a, "--split") == 0)
			o.split = (unsigned)atoi(v);
		else
			return -1;
	}
	if (o.code < 200 || o.code > 699 || !o.count || !o.parallel || !o.pipeline || !o.split)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "port") == 0)
		return free_port(argv[2], argv[3]);
	if (parse_args(argc, argv) < 0) {
		usage();
		return 2;
	}
	slog_init("sip_test_tu", SLOG_TARGET_STDERR, SLOG_NOTICE);
	if (strcmp(o.mode, "serve") == 0)
		return serve();
	if (strcmp(o.mode, "uac") == 0)
		return uac();
	if (strcmp(o.mode, "blast") == 0)
		return blast();
	if (strcmp(o.mode, "garbage") == 0)
		return garbage();
	usage();
	return 2;
}
