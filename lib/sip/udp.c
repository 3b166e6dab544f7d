/*
 * udp.c - the UDP transport: one socket per listening address.
 *
 * A socket bound to a wildcard address learns the local address of each
 * datagram (IP_PKTINFO / IPV6_RECVPKTINFO) and answers from it, so that a
 * UE with one wildcard listener still replies from the address a request
 * reached (RFC 3581 4 asks for the same address and port).
 *
 * A full socket buffer loses the datagram, as the network might: the send
 * counts as done and the transaction layer's retransmissions cover it.
 */
#define SLOG_COMPONENT "sip"
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/tp_int.h"

struct udp_tp {
	struct sip_tp tp;
	struct sip_tpset *set;
	int fd;
	struct loop_io io;
	bool wildcard;
	bool busy; /* inside on_read: close() must not free yet */
	bool dead;
};

/* Socket buffers: room for a burst of retransmissions under load. */
#define UDP_SOCKBUF (4 << 20)

static void udp_free(struct udp_tp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

/* The destination address of a datagram from its IP_PKTINFO / IPV6_PKTINFO. */
static void pktinfo_local(struct msghdr *mh, struct udp_tp *u, union sip_sockaddr *local)
{
	*local = u->tp.local;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in.sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in6.sin6_addr = pi.ipi6_addr;
		}
	}
}

static void on_read(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct udp_tp *u = io->ctx;
	char *buf = sip_tpset_rxbuf(u->set);
	uint32_t batch = sip_tpset_config(u->set)->udp_batch;
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control;
	struct sip_flow flow;
	union sip_sockaddr from;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	u->busy = true;
	for (uint32_t i = 0; i < batch && !u->dead; i++) {
		iov.iov_base = buf;
		iov.iov_len = TP_RXBUF;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (u->wildcard) {
			mh.msg_control = control.b;
			mh.msg_controllen = sizeof(control.b);
		}
		n = recvmsg(u->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_info("udp %s: recvmsg: %s", u->tp.sent_by, strerror(errno));
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			sip_tpset_stats_mut(u->set)->rx_dropped++;
			continue;
		}
		sip_flow_init(&flow);
		flow.proto = SIP_TRANSPORT_UDP;
		flow.tp = u->tp.id;
		flow.remote = from;
		if (u->wildcard)
			pktinfo_local(&mh, u, &flow.local);
		else
			flow.local = u->tp.local;
		sip_tpset_input(u->set, &u->tp, &flow, buf, (size_t)n);
	}
	u->busy = false;
	if (u->dead)
		udp_free(u);
}

static int udp_send(struct sip_tp *tp, struct sip_flow *flow, const char *data, size_t len)
{
	struct udp_tp *u = (struct udp_tp *)tp;
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { 0 };
	int rc = 0;

	if (len > 65507) {
		rc = -EMSGSIZE;
		goto out;
	}
	mh.msg_name = &flow->remote;
	mh.msg_namelen = sip_sockaddr_len(&flow->remote);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (u->wildcard && sip_sockaddr_is_set(&flow->local) && !sip_sockaddr_is_any(&flow->local)) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.b;
		c = (struct cmsghdr *)control.b;
		if (flow->local.sa.sa_family == AF_INET) {
			struct in_pktinfo pi = { .ipi_spec_dst = flow->local.in.sin_addr };

			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = { .ipi6_addr = flow->local.in6.sin6_addr };

			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
	if (sendmsg(u->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		rc = -errno;
		/* A full buffer is loss, not failure: retransmission covers it. */
		if (rc == -EAGAIN || rc == -ENOBUFS || rc == -EWOULDBLOCK) {
			log_debug("udp %s: datagram of %zu bytes lost: %s", u->tp.sent_by, len,
				  strerror(-rc));
			rc = 0;
		}
	}
out:
	return rc;
}

static void udp_close(struct sip_tp *tp)
{
	struct udp_tp *u = (struct udp_tp *)tp;

	loop_io_remove(sip_tpset_loop(u->set), &u->io);
	if (u->busy) {
		u->dead = true;
		return;
	}
	udp_free(u);
}

static void udp_describe(const struct sip_tp *tp, struct buf *out)
{
	char a[SIP_SOCKADDR_STRLEN];

	buf_printf(out, "udp %s sent-by %s", sip_sockaddr_str(&tp->local, a, sizeof(a)),
		   tp->sent_by[0] ? tp->sent_by : "per destination");
}

static const struct sip_tp_ops udp_ops = {
	.name = "udp",
	.proto = SIP_TRANSPORT_UDP,
	.flags = 0,
	.send = udp_send,
	.close = udp_close,
	.describe = udp_describe,
	.drop_flow = NULL,
};

int sip_udp_open(struct sip_tpset *set, const struct sip_listen *l, struct sip_tp **out)
{
	int family = l->addr.sa.sa_family, one = 1, size = UDP_SOCKBUF;
	socklen_t alen = sizeof(union sip_sockaddr);
	struct udp_tp *u;
	int rc;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->set = set;
	u->tp.ops = &udp_ops;
	u->wildcard = sip_sockaddr_is_any(&l->addr);
	u->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		rc = -errno;
		goto fail;
	}
	setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Best effort: the kernel caps them at rmem_max / wmem_max. */
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (family == AF_INET6 &&
	    setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (u->wildcard) {
		if (family == AF_INET)
			rc = setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			rc = setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (rc < 0) {
			rc = -errno;
			goto fail;
		}
	}
	if (bind(u->fd, &l->addr.sa, sip_sockaddr_len(&l->addr)) < 0 ||
	    getsockname(u->fd, &u->tp.local.sa, &alen) < 0) {
		rc = -errno;
		goto fail;
	}
	sip_tp_set_sent_by(&u->tp, l);
	rc = loop_io_add(sip_tpset_loop(set), &u->io, u->fd, LOOP_READ, on_read, u);
	if (rc < 0)
		goto fail;
	*out = &u->tp;
	return 0;
fail:
	udp_free(u);
	return rc;
}
