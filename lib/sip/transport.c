/*
 * transport.c - the transport set: registry of transports, datagram input
 * (STUN or SIP), choosing a transport for an outgoing flow.
 */
#define SLOG_COMPONENT "sip"
#include "sip/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/stun.h"
#include "sip/tp_int.h"

struct sip_tpset {
	struct loop *loop;
	struct sip_tp_config cfg;
	struct sip_tp_user user;
	struct sip_tp_stats stats;
	struct sip_tp *list, *tail; /* registration order */
	uint32_t count;
	struct sip_htab by_id;   /* struct sip_tp.by_id */
	struct sip_htab by_port; /* struct sip_tp.by_port[] */
	uint32_t next_id;
	char rxbuf[TP_RXBUF];
	struct sip_msg msg;
};

void sip_tp_config_default(struct sip_tp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->parse = sip_limits_default;
	c->tcp_max_conns = 1024;
	c->tcp_max_rx = 65535;
	c->tcp_max_tx = 1u << 20;
	c->tcp_idle_ms = 600000;
	c->tcp_connect_ms = 10000;
	c->udp_batch = 64;
	c->stun = true;
}

int sip_fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int sip_tpset_create(struct sip_tpset **out, struct loop *loop, const struct sip_tp_config *cfg,
		     const struct sip_tp_user *user)
{
	struct sip_tpset *set;
	int rc = -EINVAL;

	if (cfg && (cfg->tcp_max_conns == 0 || cfg->tcp_max_rx < 64 || cfg->tcp_max_tx < 1024 ||
		    cfg->udp_batch == 0 || cfg->parse.max_msg == 0))
		goto out;
	rc = -ENOMEM;
	set = calloc(1, sizeof(*set));
	if (!set)
		goto out;
	set->loop = loop;
	if (cfg)
		set->cfg = *cfg;
	else
		sip_tp_config_default(&set->cfg);
	set->user = *user;
	set->next_id = 1;
	sip_msg_init(&set->msg);
	if ((rc = sip_htab_init(&set->by_id, 64)) < 0 || (rc = sip_htab_init(&set->by_port, 64)) < 0) {
		sip_htab_free(&set->by_id);
		free(set);
		goto out;
	}
	*out = set;
	rc = 0;
out:
	return rc;
}

void sip_tpset_destroy(struct sip_tpset *set)
{
	if (!set)
		return;
	while (set->list)
		sip_tpset_close(set, set->list->id);
	sip_htab_free(&set->by_id);
	sip_htab_free(&set->by_port);
	free(set);
}

struct loop *sip_tpset_loop(const struct sip_tpset *set)
{
	return set->loop;
}

const struct sip_tp_config *sip_tpset_config(const struct sip_tpset *set)
{
	return &set->cfg;
}

const struct sip_tp_stats *sip_tpset_stats(const struct sip_tpset *set)
{
	return &set->stats;
}

struct sip_tp_stats *sip_tpset_stats_mut(struct sip_tpset *set)
{
	return &set->stats;
}

char *sip_tpset_rxbuf(struct sip_tpset *set)
{
	return set->rxbuf;
}

struct sip_msg *sip_tpset_scratch(struct sip_tpset *set)
{
	return &set->msg;
}

/* ------------------------------------------------------------------ */
/* Listeners                                                          */

int sip_listen_parse(struct str text, struct sip_listen *out)
{
	struct str proto, rest, adv = STR_NULL;
	ptrdiff_t colon, semi;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	colon = str_chr(text, ':');
	if (colon <= 0)
		goto out;
	proto = str_sub(text, 0, (size_t)colon);
	rest = str_sub(text, (size_t)colon + 1, text.len);
	semi = str_chr(rest, ';');
	if (semi >= 0) {
		struct str opt = str_sub(rest, (size_t)semi + 1, rest.len);

		rest = str_sub(rest, 0, (size_t)semi);
		if (opt.len <= 10 || !str_caseeq(str_sub(opt, 0, 10), STR_LIT("advertise=")))
			goto out;
		adv = str_sub(opt, 10, opt.len);
		if (str_copy(out->advertise, sizeof(out->advertise), adv) < 0)
			goto out;
	}
	out->proto = sip_transport_lookup(proto);
	if (out->proto != SIP_TRANSPORT_UDP && out->proto != SIP_TRANSPORT_TCP)
		goto out;
	rc = sip_sockaddr_parse(rest, 5060, &out->addr);
out:
	return rc;
}

void sip_tp_set_sent_by(struct sip_tp *tp, const struct sip_listen *l)
{
	char host[SIP_SOCKADDR_STRLEN];

	if (l && l->advertise[0]) {
		/* "name", "name:port", "[v6]" or "[v6]:port"; no port: the bound one. */
		const char *a = l->advertise;
		bool has_port = a[0] == '[' ? strstr(a, "]:") != NULL : strchr(a, ':') != NULL;

		if (has_port)
			snprintf(tp->sent_by, sizeof(tp->sent_by), "%s", a);
		else
			snprintf(tp->sent_by, sizeof(tp->sent_by), "%s:%u", a,
				 sip_sockaddr_port(&tp->local));
		return;
	}
	if (sip_sockaddr_is_any(&tp->local)) {
		tp->sent_by[0] = '\0';
		return;
	}
	sip_sockaddr_host(&tp->local, true, host, sizeof(host));
	snprintf(tp->sent_by, sizeof(tp->sent_by), "%s:%u", host, sip_sockaddr_port(&tp->local));
}

/* The port of a sent-by ("host:port", "[v6]:port"), or 0. */
static uint16_t sent_by_port(const char *sent_by)
{
	const char *colon = strrchr(sent_by, ':');
	const char *bracket = strrchr(sent_by, ']');
	unsigned long v;
	char *end;

	if (!colon || (bracket && bracket > colon))
		return 0;
	v = strtoul(colon + 1, &end, 10);
	return *end == '\0' && v > 0 && v <= 65535 ? (uint16_t)v : 0;
}

static uint64_t id_hash(const struct sip_tpset *set, uint32_t id)
{
	return sip_hash_u64(set->by_id.seed, id);
}

static uint64_t port_hash(const struct sip_tpset *set, uint16_t port)
{
	return sip_hash_u64(set->by_port.seed, port);
}

int sip_tpset_add(struct sip_tpset *set, struct sip_tp *tp, uint32_t *id)
{
	uint16_t local = sip_sockaddr_port(&tp->local), adv = sent_by_port(tp->sent_by);

	if (set->next_id == 0)
		return -ENOSPC;
	tp->id = set->next_id++;
	tp->set = set;
	/* Keep registration order: select() prefers the first that fits. */
	tp->next = NULL;
	tp->prev = set->tail;
	if (set->tail)
		set->tail->next = tp;
	else
		set->list = tp;
	set->tail = tp;
	set->count++;
	sip_htab_insert(&set->by_id, &tp->by_id, id_hash(set, tp->id));
	memset(tp->by_port, 0, sizeof(tp->by_port));
	tp->by_port[0].tp = tp->by_port[1].tp = tp;
	tp->by_port[0].port = local;
	if (local)
		sip_htab_insert(&set->by_port, &tp->by_port[0].node, port_hash(set, local));
	if (adv && adv != local) {
		tp->by_port[1].port = adv;
		sip_htab_insert(&set->by_port, &tp->by_port[1].node, port_hash(set, adv));
	}
	if (id)
		*id = tp->id;
	return 0;
}

int sip_tpset_listen(struct sip_tpset *set, const struct sip_listen *l, uint32_t *id)
{
	char a[SIP_SOCKADDR_STRLEN];
	struct sip_tp *tp = NULL;
	int rc;

	if (!sip_sockaddr_is_set(&l->addr)) {
		rc = -EINVAL;
		goto out;
	}
	switch (l->proto) {
	case SIP_TRANSPORT_UDP:
		rc = sip_udp_open(set, l, &tp);
		break;
	case SIP_TRANSPORT_TCP:
		rc = sip_tcp_open(set, l, &tp);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (rc < 0) {
		log_error("cannot listen on %s %s: %s", sip_transport_name(l->proto),
			  sip_sockaddr_str(&l->addr, a, sizeof(a)), strerror(-rc));
		goto out;
	}
	rc = sip_tpset_add(set, tp, id);
	if (rc < 0) {
		tp->ops->close(tp);
		goto out;
	}
	log_info("listening on %s %s (transport %u, Via sent-by %s)", tp->ops->name,
		 sip_sockaddr_str(&tp->local, a, sizeof(a)), tp->id,
		 tp->sent_by[0] ? tp->sent_by : "per destination");
out:
	return rc;
}

int sip_tpset_close(struct sip_tpset *set, uint32_t id)
{
	struct sip_tp *tp = sip_tpset_get(set, id);

	if (!tp)
		return -ENOENT;
	if (tp->prev)
		tp->prev->next = tp->next;
	else
		set->list = tp->next;
	if (tp->next)
		tp->next->prev = tp->prev;
	else
		set->tail = tp->prev;
	tp->next = tp->prev = NULL;
	set->count--;
	sip_htab_remove(&set->by_id, &tp->by_id);
	for (int i = 0; i < 2; i++)
		if (tp->by_port[i].port)
			sip_htab_remove(&set->by_port, &tp->by_port[i].node);
	tp->ops->close(tp);
	return 0;
}

struct sip_tp *sip_tpset_get(const struct sip_tpset *set, uint32_t id)
{
	uint64_t h = id_hash(set, id);

	for (struct sip_hnode *n = sip_htab_first(&set->by_id, h); n; n = sip_htab_next(n->next, h)) {
		struct sip_tp *tp = container_of(n, struct sip_tp, by_id);

		if (tp->id == id)
			return tp;
	}
	return NULL;
}

struct sip_tp *sip_tpset_next(const struct sip_tpset *set, const struct sip_tp *prev)
{
	return prev ? prev->next : set->list;
}

uint32_t sip_tpset_count(const struct sip_tpset *set)
{
	return set->count;
}

struct sip_tp *sip_tpset_next_on_port(const struct sip_tpset *set, uint16_t port,
				      const struct sip_tp *prev)
{
	uint64_t h = port_hash(set, port);
	struct sip_hnode *n;

	if (!prev)
		n = sip_htab_first(&set->by_port, h);
	else
		n = sip_htab_next(prev->by_port[prev->by_port[0].port == port ? 0 : 1].node.next, h);
	for (; n; n = sip_htab_next(n->next, h)) {
		struct sip_tp_port *p = container_of(n, struct sip_tp_port, node);

		if (p->port == port)
			return p->tp;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Input                                                              */

void sip_tpset_deliver(struct sip_tpset *set, struct sip_rx *rx)
{
	set->stats.rx_msgs++;
	set->stats.rx_bytes += rx->msg->buf.len;
	if (set->user.recv)
		set->user.recv(set->user.ctx, rx);
}

void sip_tpset_flow_error(struct sip_tpset *set, const struct sip_flow *flow, int err)
{
	if (set->user.flow_error)
		set->user.flow_error(set->user.ctx, flow, err);
}

void sip_tpset_keepalive(struct sip_tpset *set, const struct sip_keepalive *ka)
{
	if (set->user.keepalive)
		set->user.keepalive(set->user.ctx, ka);
}

/* A binding response: the answer to the user's own keepalive (RFC 5626 4.4.2). */
static void stun_response(struct sip_tpset *set, const struct sip_flow *flow, const uint8_t *p,
			  size_t len)
{
	struct sip_keepalive ka = { .kind = SIP_KEEPALIVE_STUN, .flow = *flow };
	char r[SIP_SOCKADDR_STRLEN];

	memcpy(ka.txid, p + 8, sizeof(ka.txid));
	ka.stun_status = sip_stun_parse_response(p, len, ka.txid, &ka.mapped);
	if (ka.stun_status == -EBADMSG) {
		set->stats.stun_dropped++;
		log_debug("STUN response from %s malformed: dropped",
			  sip_sockaddr_str(&flow->remote, r, sizeof(r)));
		return;
	}
	ka.at_ns = loop_now_ns(set->loop);
	set->stats.stun_responses++;
	sip_tpset_keepalive(set, &ka);
}

static void input_stun(struct sip_tpset *set, struct sip_tp *tp, const struct sip_flow *flow,
		       const char *data, size_t len)
{
	uint8_t resp[SIP_STUN_MAX];
	struct sip_flow reply = *flow;
	char r[SIP_SOCKADDR_STRLEN];
	int n;

	if (sip_stun_is_response((const uint8_t *)data, len)) {
		stun_response(set, flow, (const uint8_t *)data, len);
		return;
	}
	n = sip_stun_answer((const uint8_t *)data, len, &flow->remote, resp, sizeof(resp));
	if (n <= 0) {
		set->stats.stun_dropped++;
		log_debug("STUN from %s not answered (%s)", sip_sockaddr_str(&flow->remote, r, sizeof(r)),
			  n < 0 ? "malformed" : "not a binding request");
		return;
	}
	if (tp->ops->send(tp, &reply, (const char *)resp, (size_t)n) == 0)
		set->stats.stun_answered++;
}

void sip_tpset_input(struct sip_tpset *set, struct sip_tp *tp, const struct sip_flow *flow,
		     const char *data, size_t len)
{
	char r[SIP_SOCKADDR_STRLEN];
	struct sip_error err;
	struct sip_rx rx;
	int rc;

	if (len == 0)
		return;
	/* RFC 7983 7: 0..3 is STUN; SIP starts with a letter. */
	if ((unsigned char)data[0] < 4) {
		if (set->cfg.stun && sip_stun_is((const uint8_t *)data, len))
			input_stun(set, tp, flow, data, len);
		else
			set->stats.stun_dropped++;
		return;
	}
	rc = sip_parse(&set->msg, data, len, SIP_FRAME_DATAGRAM, &set->cfg.parse, &err);
	if (rc < 0) {
		set->stats.rx_dropped++;
		log_info("%s datagram of %zu bytes from %s dropped: %s (line %u)", tp->ops->name, len,
			 sip_sockaddr_str(&flow->remote, r, sizeof(r)), err.reason, err.line);
		return;
	}
	if (set->msg.kind == SIP_MSG_PING || set->msg.kind == SIP_MSG_PONG) {
		/* CRLF keepalives belong to streams (RFC 5626 3.5.1); on UDP ignore. */
		set->stats.pongs++;
		return;
	}
	rx.msg = &set->msg;
	rx.flow = *flow;
	rx.tp = tp;
	rx.at_ns = loop_now_ns(set->loop);
	sip_tpset_deliver(set, &rx);
}

/* ------------------------------------------------------------------ */
/* Output                                                             */

/* How well tp fits flow: 0 not at all, 1 wildcard address, 2 exact. */
static int fit(const struct sip_tp *tp, const struct sip_flow *flow)
{
	const union sip_sockaddr *want = &flow->local;

	if (tp->ops->proto != flow->proto || tp->local.sa.sa_family != flow->remote.sa.sa_family)
		return 0;
	if (!sip_sockaddr_is_set(want))
		return sip_sockaddr_is_any(&tp->local) ? 1 : 2;
	/*
	 * A datagram flow from a given port needs the socket bound to it; a
	 * stream transport binds each connection it opens to the port asked
	 * for, so only the address must fit.
	 */
	if (!(tp->ops->flags & SIP_TPF_STREAM) && sip_sockaddr_port(want) &&
	    sip_sockaddr_port(want) != sip_sockaddr_port(&tp->local))
		return 0;
	if (sip_sockaddr_is_any(want) || sip_sockaddr_same_host(want, &tp->local))
		return 2;
	return sip_sockaddr_is_any(&tp->local) ? 1 : 0;
}

/*
 * A datagram flow from a given local address and port (a reply from a
 * protected port) fits only the transport bound there: found through the
 * port index, the earliest registered if several are. NULL when the flow
 * does not name one, or none is bound there (the walk decides then).
 */
static struct sip_tp *select_by_port(const struct sip_tpset *set, const struct sip_flow *flow)
{
	const union sip_sockaddr *want = &flow->local;
	uint16_t port = sip_sockaddr_is_set(want) ? sip_sockaddr_port(want) : 0;
	struct sip_tp *tp = NULL, *best = NULL;

	if (!port || sip_sockaddr_is_any(want))
		return NULL;
	while ((tp = sip_tpset_next_on_port(set, port, tp)))
		if (!(tp->ops->flags & SIP_TPF_STREAM) && fit(tp, flow) == 2 &&
		    (!best || tp->id < best->id))
			best = tp;
	return best;
}

int sip_tpset_select(struct sip_tpset *set, struct sip_flow *flow, struct sip_tp **out)
{
	struct sip_tp *tp = NULL, *best = NULL;
	int best_fit = 0, rc = 0;

	if (flow->tp) {
		best = sip_tpset_get(set, flow->tp);
		if (!best) {
			rc = -ENOTCONN;
			goto out;
		}
	} else {
		if (!sip_sockaddr_is_set(&flow->remote)) {
			rc = -EINVAL;
			goto out;
		}
		best = select_by_port(set, flow);
		/* The first in registration order that fits best (2 is the best there is). */
		for (tp = set->list; !best && tp && best_fit < 2; tp = tp->next) {
			int f = fit(tp, flow);

			if (f > best_fit) {
				best = tp;
				best_fit = f;
			}
		}
		if (!best) {
			rc = -ENETUNREACH;
			goto out;
		}
		flow->tp = best->id;
	}
	if (!sip_sockaddr_is_set(&flow->local))
		flow->local = best->local;
	if (out)
		*out = best;
out:
	return rc;
}

/* The local address the kernel would use towards remote (a wildcard listener's Via). */
static int route_source(const union sip_sockaddr *remote, union sip_sockaddr *src)
{
	socklen_t len = sizeof(*src);
	int fd, rc = 0;

	fd = socket(remote->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, &remote->sa, sip_sockaddr_len(remote)) < 0 ||
	    getsockname(fd, &src->sa, &len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int sip_tpset_sent_by(struct sip_tpset *set, const struct sip_flow *flow, char *buf, size_t len)
{
	struct sip_tp *tp = sip_tpset_get(set, flow->tp);
	char host[SIP_SOCKADDR_STRLEN];
	union sip_sockaddr src;
	int n, rc;

	if (!tp)
		return -ENOTCONN;
	if (tp->sent_by[0]) {
		n = snprintf(buf, len, "%s", tp->sent_by);
		goto done;
	}
	if (sip_sockaddr_is_set(&flow->local) && !sip_sockaddr_is_any(&flow->local)) {
		src = flow->local;
	} else {
		rc = route_source(&flow->remote, &src);
		if (rc < 0)
			return rc;
	}
	sip_sockaddr_host(&src, true, host, sizeof(host));
	n = snprintf(buf, len, "%s:%u", host, sip_sockaddr_port(&tp->local));
done:
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int sip_tpset_send(struct sip_tpset *set, struct sip_flow *flow, const char *data, size_t len)
{
	char f[SIP_FLOW_STRLEN];
	struct sip_tp *tp;
	int rc;

	rc = sip_tpset_select(set, flow, &tp);
	if (rc < 0)
		goto fail;
	rc = tp->ops->send(tp, flow, data, len);
	if (rc < 0)
		goto fail;
	set->stats.tx_msgs++;
	set->stats.tx_bytes += len;
	return 0;
fail:
	set->stats.tx_errors++;
	log_info("send over %s failed: %s", sip_flow_str(flow, f, sizeof(f)), strerror(-rc));
	return rc;
}

int sip_tpset_drop_flow(struct sip_tpset *set, const struct sip_flow *flow)
{
	struct sip_tp *tp = sip_tpset_get(set, flow->tp);

	if (!tp || !tp->ops->drop_flow)
		return -ENOENT;
	return tp->ops->drop_flow(tp, flow);
}

unsigned sip_tpset_drop_sa_set(struct sip_tpset *set, uint32_t tp, uint32_t sa_set, bool vanish)
{
	struct sip_tp *t = sip_tpset_get(set, tp);

	return t ? sip_tcp_drop_sa_set(t, sa_set, vanish) : 0;
}

void sip_tpset_describe(const struct sip_tpset *set, struct buf *out)
{
	for (const struct sip_tp *tp = set->list; tp; tp = tp->next) {
		buf_printf(out, "%u ", tp->id);
		tp->ops->describe(tp, out);
		buf_putc(out, '\n');
	}
}
