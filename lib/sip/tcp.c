/*
 * tcp.c - the TCP transport (RFC 3261 18, 18.3 framing; RFC 5626 3.5.1
 * keepalives): a listener with the connections accepted on it and the
 * ones opened from it.
 *
 * Connections are reused: a request to an address with an open connection
 * goes over it (18.1.1), a response goes back over the connection of its
 * request (18.2.2). Each connection has
 *   - a receive buffer framed with the parser's stream mode: any number of
 *     messages per read, messages split over any number of reads; bounded
 *     by tcp_max_rx and the parser limits;
 *   - a send queue for what the socket did not take at once, bounded by
 *     tcp_max_tx;
 *   - one timer: connect timeout while connecting, idle timeout after.
 * Breaking a limit, a malformed message, a connect failure or an idle
 * timeout closes that connection only, with a log line naming the peer and
 * the limit, and is reported to the set's user (flow_error) from the loop,
 * never from inside a send call.
 */
#define SLOG_COMPONENT "sip"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/table.h"
#include "sip/tp_int.h"

enum conn_state {
	CONN_CONNECTING,
	CONN_OPEN,
	CONN_DEAD, /* closed; freed by its reap timer (or by the listener) */
};

struct tcp_listener;

struct tcp_conn {
	struct tcp_listener *l;
	uint64_t id;
	enum conn_state state;
	bool inbound;
	int fd;
	int err;            /* why it died; reported when reaped */
	uint32_t sa_set;    /* from the listener's sock_hook: flow.sa_set */
	struct loop_io io;
	struct loop_timer timer;
	union sip_sockaddr local, remote;
	uint64_t last_ns;   /* last byte in or out */
	char *rx;
	size_t rx_len, rx_cap;
	char *tx;
	size_t tx_off, tx_len, tx_cap;
	struct sip_hnode by_remote;
	bool in_map;
};

struct tcp_listener {
	struct sip_tp tp;
	struct sip_tpset *set;
	struct loop *loop;
	int fd;
	struct loop_io io;
	struct sip_slots conns;  /* by id */
	struct sip_htab remotes; /* by remote address, for reuse */
	unsigned busy;           /* callbacks of this listener on the stack */
	int (*sock_hook)(void *arg, int fd, enum sip_sock_kind kind,
			 const union sip_sockaddr *local, const union sip_sockaddr *remote);
	void *sock_hook_arg;
	bool dead;
};

#define RX_INITIAL 4096
#define READS_PER_WAKEUP 16

static const struct sip_tp_ops tcp_ops;

static struct sip_tp_stats *stats(struct tcp_listener *l)
{
	return sip_tpset_stats_mut(l->set);
}

static void listener_free(struct tcp_listener *l);

/*
 * Every callback of a listener or its connections runs between enter()
 * and leave(): a listener closed from inside one (a TU closing a protected
 * port while handling a message that came over it) is unhooked at once
 * and freed by the last leave().
 */
static void enter(struct tcp_listener *l)
{
	l->busy++;
}

static void leave(struct tcp_listener *l)
{
	if (--l->busy == 0 && l->dead)
		listener_free(l);
}

static uint64_t remote_hash(const struct sip_htab *t, const union sip_sockaddr *a)
{
	uint64_t h = sip_hash_u64(t->seed, sip_sockaddr_port(a));

	if (a->sa.sa_family == AF_INET)
		return sip_hash_bytes(h, &a->in.sin_addr, sizeof(a->in.sin_addr));
	return sip_hash_bytes(h, &a->in6.sin6_addr, sizeof(a->in6.sin6_addr));
}

static void conn_flow(const struct tcp_conn *c, struct sip_flow *f)
{
	sip_flow_init(f);
	f->proto = SIP_TRANSPORT_TCP;
	f->tp = c->l->tp.id;
	f->conn = c->id;
	f->local = c->local;
	f->remote = c->remote;
	f->sa_set = c->sa_set;
}

static const char *peer(const struct tcp_conn *c, char *buf, size_t len)
{
	return sip_sockaddr_str(&c->remote, buf, len);
}

/* Free a connection's memory; it must be dead or never added. */
static void conn_free(struct tcp_conn *c)
{
	struct tcp_listener *l = c->l;

	loop_timer_cancel(l->loop, &c->timer);
	if (c->id)
		sip_slots_remove(&l->conns, c->id);
	free(c->rx);
	free(c->tx);
	free(c);
}

static void conn_reap(struct loop *loop, struct loop_timer *t)
{
	struct tcp_conn *c = t->ctx;
	struct tcp_listener *l = c->l;
	struct sip_flow f;
	int err = c->err;

	conn_flow(c, &f);
	conn_free(c);
	if (err) {
		enter(l);
		sip_tpset_flow_error(l->set, &f, err);
		leave(l);
	}
}

/*
 * Close a connection: socket and maps now, memory and the report later
 * from the loop (the caller may be deep inside a send or a delivery).
 */
static void conn_close(struct tcp_conn *c, int err)
{
	struct tcp_listener *l = c->l;

	if (c->state == CONN_DEAD)
		return;
	c->state = CONN_DEAD;
	c->err = err;
	loop_io_remove(l->loop, &c->io);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->in_map)
		sip_htab_remove(&l->remotes, &c->by_remote);
	c->in_map = false;
	stats(l)->conns_open--;
	/* The same timer, re-aimed: disarm the idle / connect timeout first. */
	loop_timer_cancel(l->loop, &c->timer);
	loop_timer_init(&c->timer, conn_reap, c);
	loop_timer_arm(l->loop, &c->timer, 0);
}

static void conn_touch(struct tcp_conn *c)
{
	c->last_ns = loop_now_ns(c->l->loop);
}

static void conn_watch(struct tcp_conn *c)
{
	unsigned ev = LOOP_READ;

	if (c->state == CONN_CONNECTING || c->tx_len > c->tx_off)
		ev |= LOOP_WRITE;
	if (c->io.events != ev)
		loop_io_modify(c->l->loop, &c->io, ev);
}

/* Append to the send queue, within tcp_max_tx. */
static int conn_queue(struct tcp_conn *c, const char *data, size_t len)
{
	uint32_t max = sip_tpset_config(c->l->set)->tcp_max_tx;
	size_t pending = c->tx_len - c->tx_off;
	char p[SIP_SOCKADDR_STRLEN];

	if (pending + len > max) {
		log_warn("tcp %s: more than tcp_max_tx (%u bytes) waiting to be sent; closing",
			 peer(c, p, sizeof(p)), max);
		stats(c->l)->conns_overflow++;
		conn_close(c, -ENOBUFS);
		return -ENOBUFS;
	}
	if (c->tx_off && c->tx_len + len > c->tx_cap) {
		memmove(c->tx, c->tx + c->tx_off, pending);
		c->tx_off = 0;
		c->tx_len = pending;
	}
	if (c->tx_len + len > c->tx_cap) {
		size_t cap = c->tx_cap ? c->tx_cap : 4096;
		char *n;

		while (cap < c->tx_len + len)
			cap *= 2;
		n = realloc(c->tx, cap);
		if (!n)
			return -ENOMEM;
		c->tx = n;
		c->tx_cap = cap;
	}
	memcpy(c->tx + c->tx_len, data, len);
	c->tx_len += len;
	conn_watch(c);
	return 0;
}

/* Write what the socket takes; 0, or the socket error (connection closed). */
static int conn_flush(struct tcp_conn *c)
{
	char p[SIP_SOCKADDR_STRLEN];
	ssize_t n;

	while (c->tx_off < c->tx_len) {
		n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			n = -errno;
			log_info("tcp %s: send: %s; closing", peer(c, p, sizeof(p)), strerror(errno));
			stats(c->l)->conns_failed++;
			conn_close(c, (int)n);
			return (int)n;
		}
		c->tx_off += (size_t)n;
		conn_touch(c);
	}
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	conn_watch(c);
	return 0;
}

static int conn_write(struct tcp_conn *c, const char *data, size_t len)
{
	char p[SIP_SOCKADDR_STRLEN];
	ssize_t n = 0;

	if (c->state == CONN_OPEN && c->tx_len == c->tx_off) {
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				n = -errno;
				log_info("tcp %s: send: %s; closing", peer(c, p, sizeof(p)),
					 strerror(errno));
				stats(c->l)->conns_failed++;
				conn_close(c, (int)n);
				return (int)n;
			}
			n = 0;
		}
		conn_touch(c);
		if ((size_t)n == len)
			return 0;
	}
	return conn_queue(c, data + n, len - (size_t)n);
}

/* Idle and connect timeout (also the first thing a dead connection hears). */
static void conn_timer(struct loop *loop, struct loop_timer *t)
{
	struct tcp_conn *c = t->ctx;
	struct tcp_listener *l = c->l;
	const struct sip_tp_config *cfg = sip_tpset_config(l->set);
	uint64_t idle_ns = cfg->tcp_idle_ms * 1000000ull, now = loop_now_ns(loop);
	char p[SIP_SOCKADDR_STRLEN];

	enter(l);
	if (c->state == CONN_CONNECTING) {
		log_info("tcp %s: connect timed out after %llu ms", peer(c, p, sizeof(p)),
			 (unsigned long long)cfg->tcp_connect_ms);
		stats(l)->conns_failed++;
		conn_close(c, -ETIMEDOUT);
	} else if (now - c->last_ns >= idle_ns) {
		log_info("tcp %s: idle for %llu ms; closing", peer(c, p, sizeof(p)),
			 (unsigned long long)cfg->tcp_idle_ms);
		stats(l)->conns_idle++;
		conn_close(c, -ETIMEDOUT);
	} else {
		loop_timer_arm_at(loop, t, c->last_ns + idle_ns);
	}
	leave(l);
}

/* Frame and deliver what is buffered; false if the connection died. */
static bool conn_frame(struct tcp_conn *c)
{
	struct tcp_listener *l = c->l;
	struct sip_msg *m = sip_tpset_scratch(l->set);
	const struct sip_tp_config *cfg = sip_tpset_config(l->set);
	char p[SIP_SOCKADDR_STRLEN];
	struct sip_error err;
	struct sip_rx rx;
	size_t off = 0;
	int n;

	while (off < c->rx_len && c->state == CONN_OPEN) {
		n = sip_parse(m, c->rx + off, c->rx_len - off, SIP_FRAME_STREAM, &cfg->parse, &err);
		if (n == SIP_INCOMPLETE)
			break;
		if (n < 0) {
			/* Framing is lost: nothing after this can be trusted. */
			log_notice("tcp %s: %s (line %u); closing", peer(c, p, sizeof(p)), err.reason,
				   err.line);
			stats(l)->rx_dropped++;
			if (n == -EMSGSIZE)
				stats(l)->conns_overflow++;
			conn_close(c, n == -EMSGSIZE ? -EMSGSIZE : -EBADMSG);
			return false;
		}
		off += (size_t)n;
		if (m->kind == SIP_MSG_PING) {
			stats(l)->pings++;
			conn_write(c, "\r\n", 2);
			continue;
		}
		if (m->kind == SIP_MSG_PONG) {
			struct sip_keepalive ka = { .kind = SIP_KEEPALIVE_PONG };

			stats(l)->pongs++;
			conn_flow(c, &ka.flow);
			ka.at_ns = loop_now_ns(l->loop);
			sip_tpset_keepalive(l->set, &ka);
			continue;
		}
		conn_flow(c, &rx.flow);
		rx.msg = m;
		rx.tp = &l->tp;
		rx.at_ns = loop_now_ns(l->loop);
		sip_tpset_deliver(l->set, &rx);
	}
	if (c->state != CONN_OPEN)
		return false;
	if (off) {
		memmove(c->rx, c->rx + off, c->rx_len - off);
		c->rx_len -= off;
	}
	if (c->rx_len == 0 && c->rx_cap > RX_INITIAL) {
		/* Give back a large buffer once it is empty: many idle connections. */
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	return true;
}

static void conn_read(struct tcp_conn *c)
{
	const struct sip_tp_config *cfg = sip_tpset_config(c->l->set);
	char p[SIP_SOCKADDR_STRLEN];
	ssize_t n;

	for (int i = 0; i < READS_PER_WAKEUP && c->state == CONN_OPEN; i++) {
		if (c->rx_len == c->rx_cap) {
			size_t cap = c->rx_cap ? c->rx_cap * 2 : RX_INITIAL;
			char *nb;

			if (cap > cfg->tcp_max_rx)
				cap = cfg->tcp_max_rx;
			if (c->rx_len >= cap) {
				log_warn("tcp %s: %zu bytes without a whole message (tcp_max_rx); closing",
					 peer(c, p, sizeof(p)), c->rx_len);
				stats(c->l)->conns_overflow++;
				stats(c->l)->rx_dropped++;
				conn_close(c, -EMSGSIZE);
				return;
			}
			nb = realloc(c->rx, cap);
			if (!nb) {
				conn_close(c, -ENOMEM);
				return;
			}
			c->rx = nb;
			c->rx_cap = cap;
		}
		n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			log_info("tcp %s: recv: %s; closing", peer(c, p, sizeof(p)), strerror(errno));
			stats(c->l)->conns_failed++;
			conn_close(c, -errno);
			return;
		}
		if (n == 0) {
			if (c->rx_len) {
				log_notice("tcp %s: closed by the peer with %zu bytes of an unfinished message",
					   peer(c, p, sizeof(p)), c->rx_len);
				stats(c->l)->rx_dropped++;
			} else {
				log_debug("tcp %s: closed by the peer", peer(c, p, sizeof(p)));
			}
			conn_close(c, -ENOTCONN);
			return;
		}
		c->rx_len += (size_t)n;
		conn_touch(c);
		if (!conn_frame(c))
			return;
		if (c->rx_len < c->rx_cap)
			return; /* the socket is drained */
	}
}

static void conn_connected(struct tcp_conn *c)
{
	const struct sip_tp_config *cfg = sip_tpset_config(c->l->set);
	char p[SIP_SOCKADDR_STRLEN];
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		log_info("tcp %s: connect: %s", peer(c, p, sizeof(p)), strerror(err));
		stats(c->l)->conns_failed++;
		conn_close(c, -err);
		return;
	}
	len = sizeof(c->local);
	getsockname(c->fd, &c->local.sa, &len);
	c->state = CONN_OPEN;
	conn_touch(c);
	loop_timer_arm(c->l->loop, &c->timer, cfg->tcp_idle_ms);
	log_debug("tcp %s: connected", peer(c, p, sizeof(p)));
	conn_flush(c);
}

static void conn_io(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct tcp_conn *c = io->ctx;
	struct tcp_listener *l = c->l;

	enter(l);
	if (c->state == CONN_CONNECTING && (events & (LOOP_WRITE | LOOP_ERROR)))
		conn_connected(c);
	if (c->state == CONN_OPEN && (events & (LOOP_READ | LOOP_ERROR)))
		conn_read(c);
	if (c->state == CONN_OPEN && (events & LOOP_WRITE))
		conn_flush(c);
	leave(l);
}

/* A new connection object for fd (accepted or connecting). */
static struct tcp_conn *conn_new(struct tcp_listener *l, int fd, enum conn_state state,
				 const union sip_sockaddr *remote)
{
	const struct sip_tp_config *cfg = sip_tpset_config(l->set);
	struct tcp_conn *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(c->local);
	int one = 1;

	if (!c)
		goto fail;
	c->l = l;
	c->fd = fd;
	c->state = state;
	c->remote = *remote;
	getsockname(fd, &c->local.sa, &len);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->id = sip_slots_add(&l->conns, c);
	if (!c->id)
		goto fail;
	if (loop_io_add(l->loop, &c->io, fd, state == CONN_OPEN ? LOOP_READ : LOOP_READ | LOOP_WRITE,
			conn_io, c) < 0)
		goto fail;
	loop_timer_init(&c->timer, conn_timer, c);
	loop_timer_arm(l->loop, &c->timer,
		       state == CONN_OPEN ? cfg->tcp_idle_ms : cfg->tcp_connect_ms);
	sip_htab_insert(&l->remotes, &c->by_remote, remote_hash(&l->remotes, remote));
	c->in_map = true;
	conn_touch(c);
	stats(l)->conns_open++;
	return c;
fail:
	if (c) {
		if (c->id)
			sip_slots_remove(&l->conns, c->id);
		free(c);
	}
	return NULL;
}

static void on_accept(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct tcp_listener *l = io->ctx;
	const struct sip_tp_config *cfg = sip_tpset_config(l->set);
	char p[SIP_SOCKADDR_STRLEN];
	union sip_sockaddr from;
	struct tcp_conn *c;
	socklen_t len;
	int fd, hooked;

	enter(l);
	for (int i = 0; i < 64 && !l->dead; i++) {
		len = sizeof(from);
		fd = accept4(l->fd, &from.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("tcp %s: accept: %s", l->tp.sent_by, strerror(errno));
			break;
		}
		if (stats(l)->conns_open >= cfg->tcp_max_conns) {
			log_warn("tcp %s: connection from %s refused: tcp_max_conns (%u) open",
				 l->tp.sent_by, sip_sockaddr_str(&from, p, sizeof(p)),
				 cfg->tcp_max_conns);
			stats(l)->conns_refused++;
			close(fd);
			continue;
		}
		hooked = 0;
		if (l->sock_hook) {
			union sip_sockaddr local;

			len = sizeof(local);
			getsockname(fd, &local.sa, &len);
			hooked = l->sock_hook(l->sock_hook_arg, fd, SIP_SOCK_ACCEPTED, &local, &from);
			if (hooked < 0) {
				log_info("tcp %s: connection from %s refused: %s", l->tp.sent_by,
					 sip_sockaddr_str(&from, p, sizeof(p)), strerror(-hooked));
				stats(l)->conns_refused++;
				close(fd);
				continue;
			}
		}
		c = conn_new(l, fd, CONN_OPEN, &from);
		if (!c) {
			close(fd);
			continue;
		}
		c->sa_set = (uint32_t)hooked;
		stats(l)->conns_accepted++;
		log_debug("tcp %s: accepted %s", l->tp.sent_by, sip_sockaddr_str(&from, p, sizeof(p)));
	}
	leave(l);
}

/* An open (or opening) connection to flow->remote that fits flow->local. */
static struct tcp_conn *find_conn(struct tcp_listener *l, const struct sip_flow *flow)
{
	uint64_t h = remote_hash(&l->remotes, &flow->remote);
	uint16_t want_port = sip_sockaddr_is_set(&flow->local) ? sip_sockaddr_port(&flow->local) : 0;

	for (struct sip_hnode *n = sip_htab_first(&l->remotes, h); n;
	     n = sip_htab_next(n->next, h)) {
		struct tcp_conn *c = container_of(n, struct tcp_conn, by_remote);

		if (!sip_sockaddr_equal(&c->remote, &flow->remote))
			continue;
		if (want_port && want_port != sip_sockaddr_port(&l->tp.local) &&
		    want_port != sip_sockaddr_port(&c->local))
			continue;
		return c;
	}
	return NULL;
}

static int conn_open(struct tcp_listener *l, const struct sip_flow *flow, struct tcp_conn **out)
{
	const struct sip_tp_config *cfg = sip_tpset_config(l->set);
	union sip_sockaddr bind_to;
	char p[SIP_SOCKADDR_STRLEN];
	struct tcp_conn *c;
	int fd, one = 1, rc, hooked = 0;

	if (stats(l)->conns_open >= cfg->tcp_max_conns) {
		log_warn("tcp: no connection to %s: tcp_max_conns (%u) open",
			 sip_sockaddr_str(&flow->remote, p, sizeof(p)), cfg->tcp_max_conns);
		return -ENOBUFS;
	}
	fd = socket(flow->remote.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * Source address: a requested local port (a protected client port;
	 * SO_REUSEADDR lets several connections to different peers share
	 * it), otherwise the listener's address with any port.
	 */
	bind_to = l->tp.local;
	sip_sockaddr_set_port(&bind_to, 0);
	if (sip_sockaddr_is_set(&flow->local) && sip_sockaddr_port(&flow->local) &&
	    sip_sockaddr_port(&flow->local) != sip_sockaddr_port(&l->tp.local)) {
		sip_sockaddr_set_port(&bind_to, sip_sockaddr_port(&flow->local));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (l->sock_hook) {
		hooked = l->sock_hook(l->sock_hook_arg, fd, SIP_SOCK_OUTGOING, &bind_to,
				      &flow->remote);
		if (hooked < 0) {
			rc = hooked;
			goto fail;
		}
	}
	if (!sip_sockaddr_is_any(&bind_to) || sip_sockaddr_port(&bind_to)) {
		if (bind(fd, &bind_to.sa, sip_sockaddr_len(&bind_to)) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	if (connect(fd, &flow->remote.sa, sip_sockaddr_len(&flow->remote)) < 0 &&
	    errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	c = conn_new(l, fd, CONN_CONNECTING, &flow->remote);
	if (!c) {
		rc = -ENOMEM;
		goto fail;
	}
	c->sa_set = (uint32_t)hooked;
	stats(l)->conns_opened++;
	*out = c;
	return 0;
fail:
	close(fd);
	log_info("tcp: connect to %s: %s", sip_sockaddr_str(&flow->remote, p, sizeof(p)),
		 strerror(-rc));
	return rc;
}

static int tcp_send(struct sip_tp *tp, struct sip_flow *flow, const char *data, size_t len)
{
	struct tcp_listener *l = (struct tcp_listener *)tp;
	struct tcp_conn *c = NULL;
	int rc;

	if (flow->conn) {
		c = sip_slots_get(&l->conns, flow->conn);
		if (c && c->state == CONN_DEAD)
			c = NULL;
		if (!c && flow->strict) {
			rc = -ENOTCONN;
			goto out;
		}
	}
	if (!c) {
		if (flow->strict) {
			rc = -ENOTCONN;
			goto out;
		}
		c = find_conn(l, flow);
	}
	if (!c) {
		rc = conn_open(l, flow, &c);
		if (rc < 0)
			goto out;
	}
	flow->conn = c->id;
	flow->local = c->local;
	flow->sa_set = c->sa_set;
	rc = conn_write(c, data, len);
out:
	return rc;
}

static int tcp_drop_flow(struct sip_tp *tp, const struct sip_flow *flow)
{
	struct tcp_listener *l = (struct tcp_listener *)tp;
	struct tcp_conn *c = sip_slots_get(&l->conns, flow->conn);

	if (!c || c->state == CONN_DEAD)
		return -ENOENT;
	conn_close(c, 0);
	return 0;
}

/*
 * Make close() of c silent: in repair mode the kernel tears the connection
 * down without a FIN or a RST (tcp_close() takes the disconnect path of a
 * socket being checkpointed), which is what a peer sees of a link that
 * went away.
 */
static void conn_vanish(struct tcp_conn *c)
{
	char p[SIP_SOCKADDR_STRLEN];
	int one = 1;

	if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)) == 0)
		return;
	log_info("tcp %s: connection to %s closes with a FIN: TCP_REPAIR: %s", c->l->tp.sent_by,
		 peer(c, p, sizeof(p)), strerror(errno));
}

unsigned sip_tcp_drop_sa_set(struct sip_tp *tp, uint32_t sa_set, bool vanish)
{
	struct tcp_listener *l = (struct tcp_listener *)tp;
	struct tcp_conn *c;
	uint32_t pos = 0;
	unsigned n = 0;

	if (tp->ops != &tcp_ops || !sa_set)
		return 0;
	while ((c = sip_slots_next(&l->conns, &pos))) {
		if (c->state == CONN_DEAD || c->sa_set != sa_set)
			continue;
		if (vanish)
			conn_vanish(c);
		conn_close(c, 0);
		n++;
	}
	return n;
}

static void listener_free(struct tcp_listener *l)
{
	uint32_t pos = 0;
	struct tcp_conn *c;

	while ((c = sip_slots_next(&l->conns, &pos))) {
		if (c->state != CONN_DEAD) {
			loop_io_remove(l->loop, &c->io);
			close(c->fd);
			stats(l)->conns_open--;
		}
		loop_timer_cancel(l->loop, &c->timer);
		free(c->rx);
		free(c->tx);
		free(c);
	}
	sip_slots_free(&l->conns);
	sip_htab_free(&l->remotes);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static void tcp_close(struct sip_tp *tp)
{
	struct tcp_listener *l = (struct tcp_listener *)tp;
	uint32_t pos = 0;
	struct tcp_conn *c;

	loop_io_remove(l->loop, &l->io);
	if (!l->busy) {
		listener_free(l);
		return;
	}
	/* Unhook everything now; memory goes with the last leave(). */
	l->dead = true;
	while ((c = sip_slots_next(&l->conns, &pos)))
		conn_close(c, 0);
	close(l->fd);
	l->fd = -1;
}

static void tcp_describe(const struct sip_tp *tp, struct buf *out)
{
	const struct tcp_listener *l = (const struct tcp_listener *)tp;
	char a[SIP_SOCKADDR_STRLEN];

	buf_printf(out, "tcp %s sent-by %s connections %u", sip_sockaddr_str(&tp->local, a, sizeof(a)),
		   tp->sent_by[0] ? tp->sent_by : "per destination", l->conns.used);
}

static const struct sip_tp_ops tcp_ops = {
	.name = "tcp",
	.proto = SIP_TRANSPORT_TCP,
	.flags = SIP_TPF_RELIABLE | SIP_TPF_STREAM,
	.send = tcp_send,
	.close = tcp_close,
	.describe = tcp_describe,
	.drop_flow = tcp_drop_flow,
};

int sip_tcp_open(struct sip_tpset *set, const struct sip_listen *l_in, struct sip_tp **out)
{
	int family = l_in->addr.sa.sa_family, one = 1;
	socklen_t alen = sizeof(union sip_sockaddr);
	struct tcp_listener *l;
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->set = set;
	l->loop = sip_tpset_loop(set);
	l->tp.ops = &tcp_ops;
	sip_slots_init(&l->conns);
	l->fd = -1;
	rc = sip_htab_init(&l->remotes, 64);
	if (rc < 0)
		goto fail;
	l->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		rc = -errno;
		goto fail;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	l->sock_hook = l_in->sock_hook;
	l->sock_hook_arg = l_in->sock_hook_arg;
	if (l->sock_hook) {
		rc = l->sock_hook(l->sock_hook_arg, l->fd, SIP_SOCK_LISTENER, &l_in->addr, NULL);
		if (rc < 0)
			goto fail;
	}
	if (family == AF_INET6 &&
	    setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (bind(l->fd, &l_in->addr.sa, sip_sockaddr_len(&l_in->addr)) < 0 ||
	    listen(l->fd, 1024) < 0 || getsockname(l->fd, &l->tp.local.sa, &alen) < 0) {
		rc = -errno;
		goto fail;
	}
	sip_tp_set_sent_by(&l->tp, l_in);
	rc = loop_io_add(l->loop, &l->io, l->fd, LOOP_READ, on_accept, l);
	if (rc < 0)
		goto fail;
	*out = &l->tp;
	return 0;
fail:
	listener_free(l);
	return rc;
}
