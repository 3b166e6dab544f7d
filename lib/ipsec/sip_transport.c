/*
 * sip_transport.c - protected ports as SIP transports (see sip_transport.h).
 */
#define SLOG_COMPONENT "ipsec"
#include "core/log.h"

#include "ipsec/sip_transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/backend_impl.h"
#include "ipsec/table.h"
#include "sip/txn.h"

#define RXBUF 65536

struct port_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
	uint8_t zero;
};

struct port {
	struct sip_tp tp;          /* first: the transport set hands us &tp */
	struct ipsec_sip *owner;
	struct ipsec_endpoint *ep;
	struct loop_io io;
	struct port_key key;
	unsigned refs;
	bool busy;                 /* inside its own receive callback */
	bool dead;                 /* closed while busy: free on the way out */
};

/*
 * A TCP listener on a protected server port. The transport is lib/sip's
 * TCP transport; what makes it protected is the socket hook below.
 */
struct tcp_port {
	struct ipsec_sip *owner;
	struct port_key key;
	uint32_t tp;
	unsigned refs;
};

struct ipsec_sip {
	struct ipsec_backend *b;
	struct sip_tpset *set;
	struct loop *loop;
	struct ipsec_table ports;  /* struct port_key -> struct port * */
	struct ipsec_table tcp;    /* struct port_key -> struct tcp_port * */
	struct ipsec_table tcp_by_tp; /* uint32_t transport id -> struct tcp_port * */
	bool attached;             /* we attached the backend to the loop */
	uint64_t unprotected_drops;
	char rx[RXBUF];
};

/* ---- addresses ----------------------------------------------------------- */

void ipsec_addr_to_sockaddr(const struct ipsec_addr *a, uint16_t port, union sip_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET) {
		out->in.sin_family = AF_INET;
		out->in.sin_addr = a->v4;
		out->in.sin_port = htons(port);
	} else {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_addr = a->v6;
		out->in6.sin6_port = htons(port);
	}
}

int ipsec_addr_from_sockaddr(const union sip_sockaddr *sa, struct ipsec_addr *out,
			     uint16_t *port)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa.sa_family == AF_INET) {
		out->family = AF_INET;
		out->v4 = sa->in.sin_addr;
	} else if (sa->sa.sa_family == AF_INET6) {
		out->family = AF_INET6;
		out->v6 = sa->in6.sin6_addr;
	} else {
		return -EAFNOSUPPORT;
	}
	if (port)
		*port = sip_sockaddr_port(sa);
	return 0;
}

static void port_key_make(struct port_key *k, const struct ipsec_addr *a, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, a->b, ipsec_addr_len(a));
	k->port = port;
	k->family = (uint8_t)a->family;
}

/* ---- the transport ------------------------------------------------------- */

static struct port *port_of(struct sip_tp *tp)
{
	return (struct port *)tp;
}

static int esp_send(struct sip_tp *tp, struct sip_flow *flow, const char *data, size_t len)
{
	struct port *p = port_of(tp);
	struct ipsec_addr to;
	uint16_t port;

	if (ipsec_addr_from_sockaddr(&flow->remote, &to, &port) || to.family != p->key.family)
		return -EAFNOSUPPORT;
	flow->local = tp->local;
	return ipsec_endpoint_send(p->ep, &to, port, data, len);
}

static void port_free(struct port *p)
{
	free(p);
}

static void esp_close(struct sip_tp *tp)
{
	struct port *p = port_of(tp);
	struct ipsec_sip *is = p->owner;

	if (is) {
		loop_io_remove(is->loop, &p->io);
		ipsec_table_del(&is->ports, &p->key);
	}
	ipsec_endpoint_close(p->ep);
	p->ep = NULL;
	p->owner = NULL;
	if (p->busy)
		p->dead = true;
	else
		port_free(p);
}

static void esp_describe(const struct sip_tp *tp, struct buf *out)
{
	const struct port *p = (const struct port *)tp;
	char a[SIP_SOCKADDR_STRLEN];

	buf_printf(out, "esp-udp %s (%s backend, protected, %u reference%s)",
		   sip_sockaddr_str(&tp->local, a, sizeof(a)),
		   p->owner ? ipsec_backend_kind_name(ipsec_backend_kind(p->owner->b)) : "-",
		   p->refs, p->refs == 1 ? "" : "s");
}

static const struct sip_tp_ops esp_ops = {
	.name = "esp-udp",
	.proto = SIP_TRANSPORT_UDP,
	.flags = 0,
	.send = esp_send,
	.close = esp_close,
	.describe = esp_describe,
	.drop_flow = NULL,
};

static void port_readable(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct port *p = io->ctx;
	struct ipsec_sip *is = p->owner;

	p->busy = true;
	for (unsigned i = 0; i < IPSEC_SIP_BATCH && !p->dead; i++) {
		struct ipsec_dgram_info info;
		struct sip_flow flow;
		char a[SIP_SOCKADDR_STRLEN];
		ssize_t n;

		n = ipsec_endpoint_recv(p->ep, is->rx, sizeof(is->rx), &info);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			break;
		if (n < 0) {
			sip_tpset_stats_mut(is->set)->rx_dropped++;
			if (n != -EMSGSIZE)
				break;
			continue;
		}
		sip_flow_init(&flow);
		flow.proto = SIP_TRANSPORT_UDP;
		flow.tp = p->tp.id;
		ipsec_addr_to_sockaddr(&info.dst, info.dport, &flow.local);
		ipsec_addr_to_sockaddr(&info.src, info.sport, &flow.remote);
		if (info.set_id == 0) {
			/*
			 * Only xfrm can get here: a plain socket also receives
			 * cleartext for selectors no SA of ours covers.
			 */
			is->unprotected_drops++;
			sip_tpset_stats_mut(is->set)->rx_dropped++;
			log_info("protected port %u: %zd bytes from %s over no SA, dropped",
				 info.dport, n, sip_sockaddr_str(&flow.remote, a, sizeof(a)));
			continue;
		}
		flow.sa_set = info.set_id;
		sip_tpset_input(is->set, &p->tp, &flow, is->rx, (size_t)n);
	}
	p->busy = false;
	if (p->dead)
		port_free(p);
}

/* ---- the set of ports ---------------------------------------------------- */

int ipsec_sip_create(struct ipsec_sip **out, struct ipsec_backend *b, struct sip_tpset *set)
{
	struct ipsec_sip *is = calloc(1, sizeof(*is));
	int rc;

	if (!is)
		return -ENOMEM;
	is->b = b;
	is->set = set;
	is->loop = sip_tpset_loop(set);
	ipsec_table_init(&is->ports, sizeof(struct port_key));
	ipsec_table_init(&is->tcp, sizeof(struct port_key));
	ipsec_table_init(&is->tcp_by_tp, sizeof(uint32_t));
	/*
	 * The backend watches its own descriptors, including the TUN it makes
	 * for the first protected TCP socket.
	 */
	rc = ipsec_backend_attach(b, is->loop);
	if (rc) {
		ipsec_sip_destroy(is);
		return rc;
	}
	is->attached = true;
	*out = is;
	return 0;
}

static void tcp_port_close(struct ipsec_sip *is, struct tcp_port *t);

static int first_port(void *arg, const void *key, void *value)
{
	*(struct port **)arg = value;
	return 1;
}

void ipsec_sip_destroy(struct ipsec_sip *is)
{
	if (!is)
		return;
	/* Closing a port removes it from the table, so take one at a time. */
	while (is->ports.count) {
		struct port *p = NULL;

		ipsec_table_each(&is->ports, first_port, &p);
		sip_tpset_close(is->set, p->tp.id);
	}
	while (is->tcp.count) {
		struct tcp_port *t = NULL;

		ipsec_table_each(&is->tcp, first_port, &t);
		tcp_port_close(is, t);
	}
	if (is->attached)
		ipsec_backend_detach(is->b);
	ipsec_table_free(&is->ports);
	ipsec_table_free(&is->tcp);
	ipsec_table_free(&is->tcp_by_tp);
	free(is);
}

int ipsec_sip_port_get(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port,
		       uint32_t *tp)
{
	struct port_key k;
	struct port *p;
	char a[IPSEC_ADDR_STRLEN];
	int rc;

	port_key_make(&k, local, port);
	p = ipsec_table_get(&is->ports, &k);
	if (p) {
		p->refs++;
		goto done;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->key = k;
	p->owner = is;
	p->refs = 1;
	p->tp.ops = &esp_ops;
	/*
	 * TS 24.229 table 7.7.1: the UE, and the P-CSCF towards the UE, run
	 * their transactions on T1 2 s, T2 16 s, T4 17 s; every transaction
	 * over a protected port is one between the two.
	 */
	p->tp.timers = &sip_timers_ims_ue;
	ipsec_addr_to_sockaddr(local, port, &p->tp.local);
	sip_sockaddr_str(&p->tp.local, p->tp.sent_by, sizeof(p->tp.sent_by));
	rc = ipsec_endpoint_open(is->b, local, port, &p->ep);
	if (rc) {
		log_warn("protected port %s:%u cannot be opened: %s", ipsec_addr_str(local, a),
			 port, strerror(-rc));
		goto free_port;
	}
	rc = ipsec_table_add(&is->ports, &k, p);
	if (rc)
		goto close_ep;
	rc = loop_io_add(is->loop, &p->io, ipsec_endpoint_fd(p->ep), LOOP_READ, port_readable, p);
	if (rc)
		goto unindex;
	rc = sip_tpset_add(is->set, &p->tp, NULL);
	if (rc)
		goto unwatch;
	log_debug("protected port %s:%u open as transport %u", ipsec_addr_str(local, a), port,
		  p->tp.id);
done:
	if (tp)
		*tp = p->tp.id;
	return 0;
unwatch:
	loop_io_remove(is->loop, &p->io);
unindex:
	ipsec_table_del(&is->ports, &k);
close_ep:
	ipsec_endpoint_close(p->ep);
free_port:
	free(p);
	return rc;
}

int ipsec_sip_port_put(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port)
{
	struct port_key k;
	struct port *p;

	port_key_make(&k, local, port);
	p = ipsec_table_get(&is->ports, &k);
	if (!p)
		return -ENOENT;
	if (--p->refs == 0)
		sip_tpset_close(is->set, p->tp.id);
	return 0;
}

static struct tcp_port *tcp_find(const struct ipsec_sip *is, const struct ipsec_addr *local,
				 uint16_t port)
{
	struct port_key k;

	port_key_make(&k, local, port);
	return ipsec_table_get(&is->tcp, &k);
}

static struct port *find(const struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port)
{
	struct port_key k;

	port_key_make(&k, local, port);
	return ipsec_table_get(&is->ports, &k);
}

uint32_t ipsec_sip_port_tp(const struct ipsec_sip *is, const struct ipsec_addr *local,
			   uint16_t port)
{
	struct port *p = find(is, local, port);

	return p ? p->tp.id : 0;
}

unsigned ipsec_sip_port_refs(const struct ipsec_sip *is, const struct ipsec_addr *local,
			     uint16_t port)
{
	struct port *p = find(is, local, port);

	return p ? p->refs : 0;
}

unsigned ipsec_sip_port_count(const struct ipsec_sip *is)
{
	return (unsigned)is->ports.count;
}

bool ipsec_sip_is_protected(const struct ipsec_sip *is, uint32_t tp)
{
	const struct sip_tp *t = tp ? sip_tpset_get(is->set, tp) : NULL;

	return t && (t->ops == &esp_ops || ipsec_table_get(&is->tcp_by_tp, &tp));
}

uint64_t ipsec_sip_unprotected_drops(const struct ipsec_sip *is)
{
	return is->unprotected_drops;
}

/* ---- TCP ----------------------------------------------------------------- */

/*
 * The socket hook of a protected TCP listener (sip/transport.h), called on
 * the listener, on each connection it opens from a client port, and on each
 * connection it accepts:
 *   - every socket is made one the SAs carry (ipsec_backend_tcp_bind()):
 *     with the userspace backend its segments go through the TUN;
 *   - a connection is tagged with the SA set whose selectors cover its
 *     addresses and ports, as a datagram is; one no SA covers is refused.
 *     Accepted, that is RFC 4301's inbound policy (5.2): with xfrm a
 *     cleartext connection to a protected port would otherwise get in, the
 *     kernel's policies naming only the selectors of our SAs. Opened, it
 *     would leave in the clear (or, userspace, not at all).
 */
static int tcp_hook(void *arg, int fd, enum sip_sock_kind kind, const union sip_sockaddr *local,
		    const union sip_sockaddr *remote)
{
	struct tcp_port *t = arg;
	struct ipsec_sip *is = t->owner;
	const struct ipsec_sa_set *set = NULL;
	const struct ipsec_sa *sa;
	struct ipsec_addr l, r;
	uint16_t lport, rport;
	char a[SIP_SOCKADDR_STRLEN], b[SIP_SOCKADDR_STRLEN];
	bool accepted;
	int rc;

	/* An accepted socket inherits the listener's binding. */
	accepted = kind == SIP_SOCK_ACCEPTED;
	if (!accepted) {
		rc = ipsec_backend_tcp_bind(is->b, fd);
		if (rc)
			return rc;
	}
	if (kind == SIP_SOCK_LISTENER)
		return 0;
	if (ipsec_addr_from_sockaddr(local, &l, &lport) ||
	    ipsec_addr_from_sockaddr(remote, &r, &rport))
		return -EAFNOSUPPORT;
	if (accepted)
		sa = ipsec_backend_match(is->b, &r, rport, &l, lport, &set);
	else
		sa = ipsec_backend_match(is->b, &l, lport, &r, rport, &set);
	if (sa && sa->dir == (accepted ? IPSEC_DIR_IN : IPSEC_DIR_OUT))
		return (int)set->id;
	sip_sockaddr_str(local, a, sizeof(a));
	sip_sockaddr_str(remote, b, sizeof(b));
	if (accepted) {
		is->unprotected_drops++;
		log_info("protected port %s: TCP connection from %s over no SA, refused", a, b);
		return -EACCES;
	}
	log_info("protected TCP %s -> %s: no SA selects it, not opened", a, b);
	return -ENOENT;
}

static void tcp_port_close(struct ipsec_sip *is, struct tcp_port *t)
{
	ipsec_table_del(&is->tcp, &t->key);
	ipsec_table_del(&is->tcp_by_tp, &t->tp);
	sip_tpset_close(is->set, t->tp);
	free(t);
}

int ipsec_sip_tcp_get(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port,
		      uint32_t *tp)
{
	struct sip_listen l;
	struct tcp_port *t;
	struct sip_tp *sip_tp;
	char a[IPSEC_ADDR_STRLEN];
	int rc;

	t = tcp_find(is, local, port);
	if (t) {
		t->refs++;
		goto done;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->owner = is;
	t->refs = 1;
	port_key_make(&t->key, local, port);
	memset(&l, 0, sizeof(l));
	l.proto = SIP_TRANSPORT_TCP;
	ipsec_addr_to_sockaddr(local, port, &l.addr);
	l.sock_hook = tcp_hook;
	l.sock_hook_arg = t;
	rc = sip_tpset_listen(is->set, &l, &t->tp);
	if (rc) {
		log_warn("protected TCP port %s:%u cannot be opened: %s", ipsec_addr_str(local, a),
			 port, strerror(-rc));
		goto free_port;
	}
	sip_tp = sip_tpset_get(is->set, t->tp);
	/* TS 24.229 table 7.7.1, as for the UDP ports (above). */
	sip_tp->timers = &sip_timers_ims_ue;
	rc = ipsec_table_add(&is->tcp, &t->key, t);
	if (rc)
		goto close_tp;
	rc = ipsec_table_add(&is->tcp_by_tp, &t->tp, t);
	if (rc)
		goto unindex;
	log_debug("protected TCP port %s:%u open as transport %u", ipsec_addr_str(local, a), port,
		  t->tp);
done:
	if (tp)
		*tp = t->tp;
	return 0;
unindex:
	ipsec_table_del(&is->tcp, &t->key);
close_tp:
	sip_tpset_close(is->set, t->tp);
free_port:
	free(t);
	return rc;
}

int ipsec_sip_tcp_put(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port)
{
	struct tcp_port *t = tcp_find(is, local, port);

	if (!t)
		return -ENOENT;
	if (--t->refs == 0)
		tcp_port_close(is, t);
	return 0;
}

uint32_t ipsec_sip_tcp_tp(const struct ipsec_sip *is, const struct ipsec_addr *local,
			  uint16_t port)
{
	struct tcp_port *t = tcp_find(is, local, port);

	return t ? t->tp : 0;
}

unsigned ipsec_sip_tcp_refs(const struct ipsec_sip *is, const struct ipsec_addr *local,
			    uint16_t port)
{
	struct tcp_port *t = tcp_find(is, local, port);

	return t ? t->refs : 0;
}

struct drop_arg {
	struct ipsec_sip *is;
	uint32_t set_id;
	unsigned n;
	bool vanish;
};

static int drop_one(void *arg, const void *key, void *value)
{
	struct drop_arg *d = arg;
	const struct tcp_port *t = value;

	d->n += sip_tpset_drop_sa_set(d->is->set, t->tp, d->set_id, d->vanish);
	return 0;
}

unsigned ipsec_sip_tcp_drop_set(struct ipsec_sip *is, uint32_t set_id, bool vanish)
{
	struct drop_arg d = { is, set_id, 0, vanish };
	int fds[16];
	size_t n;

	if (set_id)
		ipsec_table_each(&is->tcp, drop_one, &d);
	if (!d.n || vanish)
		return d.n;
	/*
	 * close() put the FINs into the userspace backend's TUN at once;
	 * send them through the SAs now, before the caller removes the set,
	 * rather than when the loop next reads the TUN and finds no SA.
	 */
	n = ipsec_backend_fds(is->b, fds, sizeof(fds) / sizeof(fds[0]));
	for (size_t i = 0; i < n; i++)
		ipsec_backend_input(is->b, fds[i]);
	return d.n;
}
