/*
 * userspace.c - ESP done by simreg over raw IP sockets (protocol 50).
 *
 * For kernels without CONFIG_INET_ESP: the kernel still delivers every
 * inbound ESP packet to raw sockets of protocol 50 (before, and here
 * instead of, its own ESP handler), and sends what we hand it with its own
 * IP header. So simreg puts genuine transport-mode ESP on the wire:
 *
 *   send:  endpoint (local addr, port X) -> SA by selectors -> UDP header +
 *          checksum -> esp_encap -> raw socket, source address pinned
 *   input: raw socket -> SA by (destination, SPI) -> esp_decap (replay,
 *          ICV, padding) -> next header UDP, length and checksum -> the
 *          inner ports must be the SA's selectors (RFC 4301 §5.2: an SA
 *          carries only its own traffic) -> the endpoint of (dst, dport)
 *
 * Each endpoint is a datagram socketpair: the backend writes one record
 * (struct ipsec_dgram_info + payload) per datagram into one end, the SIP
 * transport reads the other, so the event loop watches it like a UDP
 * socket. A full queue drops the datagram (counted), as a UDP socket would.
 *
 * TCP stays the kernel's: protected TCP sockets are bound to a TUN device
 * (tun.h, ipsec_backend_tcp_bind()) and the backend pumps segments between
 * the TUN and ESP:
 *
 *   TUN -> IPv4/IPv6 header, TCP ports -> SA by selectors (none: dropped,
 *          nothing leaves in the clear) -> esp_encap (next header 6) -> raw
 *          socket, source address pinned
 *   ESP -> esp_decap -> next header TCP -> the inner ports must be the SA's
 *          selectors -> a fresh IP header (the outer addresses, protocol 6)
 *          -> written into the TUN, where the kernel's TCP takes it
 *
 * The segment is never touched: its checksum covers a pseudo-header with
 * the same addresses on both sides of ESP (transport mode), the TUN hands
 * out complete checksums (no IFF_VNET_HDR, so no offload), and the
 * receiving kernel verifies it.
 *
 * Every raw ESP socket of a namespace gets a copy of every ESP packet: two
 * processes with userspace backends in one namespace each drop (and count)
 * the other's SPIs.
 */
#define SLOG_COMPONENT "ipsec"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipsec/backend_impl.h"
#include "ipsec/esp.h"
#include "ipsec/tun.h"

#define UDP_HDR_LEN 8
#define TCP_HDR_LEN 20
#define IP4_HDR_LEN 20
#define IP6_HDR_LEN 40
/* The worst ESP overhead without extra padding: header, IV, padding, trailer, ICV. */
#define ESP_BLOCK_MAX 16
#define ESP_OVERHEAD_MAX (ESP_HDR_LEN + ESP_IV_MAX + ESP_BLOCK_MAX - 1 + 2 + ESP_ICV_LEN)
#define IPV6_MIN_MTU 1280
#define MAX_DGRAM 65535
/* Packets handled per ipsec_backend_input() call, so one busy peer cannot starve the loop. */
#define INPUT_BUDGET 256

struct us_sa {
	struct esp_sa esp;
	const struct ipsec_sa *sa; /* in the set copy backend.c owns */
	uint32_t set_id;
	uint64_t delivered;
	uint64_t delivered_bytes;
	uint64_t dropped; /* after ESP accepted it: neither UDP nor TCP, checksum, selectors,
			   * no endpoint or TUN, queue full */
};

struct us_set {
	uint32_t id;
	struct us_sa sa[IPSEC_SET_SAS];
};

struct us_ep {
	struct ipsec_endpoint base;
	int queue_fd; /* the backend's end of the socketpair */
};

struct us_backend {
	struct ipsec_backend base;
	int raw4;
	int raw6;
	struct ipsec_table by_id;  /* u32 -> struct us_set * */
	struct ipsec_table by_spi; /* struct spi_key -> struct us_sa * */
	struct ipsec_table eps;    /* struct ep_key -> struct us_ep * */
	struct ipsec_backend_stats st;
	struct ipsec_tun tun;      /* fd -1 until the first protected TCP socket */
	int tun_err;               /* -ENOTSUP once the TUN could not be made (logged once) */
	char tun_pattern[IFNAMSIZ]; /* "" : no protected TCP */
	uint32_t tun_table;
	struct esp_random_pool ivs; /* IVs and padding lengths of all our SAs */
	uint8_t rx[MAX_DGRAM + 64];
	uint8_t udp[MAX_DGRAM];
	uint8_t tx[MAX_DGRAM + 128];
};

struct spi_key {
	uint32_t spi;
	uint8_t family;
	uint8_t zero[3];
	uint8_t dst[16];
};

struct ep_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
	uint8_t zero;
};

static struct us_backend *us(struct ipsec_backend *b)
{
	return (struct us_backend *)b;
}

static void spi_key(struct spi_key *k, const struct ipsec_addr *dst, uint32_t spi)
{
	memset(k, 0, sizeof(*k));
	k->spi = spi;
	k->family = (uint8_t)dst->family;
	memcpy(k->dst, dst->b, ipsec_addr_len(dst));
}

static void ep_key(struct ep_key *k, const struct ipsec_addr *a, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, a->b, ipsec_addr_len(a));
	k->port = port;
	k->family = (uint8_t)a->family;
}

/* ---- sets -------------------------------------------------------------- */

static void us_set_free(struct us_backend *u, struct us_set *s, unsigned indexed)
{
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		struct us_sa *a = &s->sa[i];

		if (i < indexed && a->sa->dir == IPSEC_DIR_IN) {
			struct spi_key k;

			spi_key(&k, &a->sa->dst, a->sa->spi);
			ipsec_table_del(&u->by_spi, &k);
		}
		esp_sa_clear(&a->esp);
	}
	free(s);
}

static int us_install(struct ipsec_backend *b, const struct ipsec_sa_set *set)
{
	struct us_backend *u = us(b);
	struct us_set *s = calloc(1, sizeof(*s));
	unsigned i = 0;
	int ret;

	if (!s)
		return -ENOMEM;
	s->id = set->id;
	for (i = 0; i < IPSEC_SET_SAS; i++) {
		const struct ipsec_sa *sa = &set->sa[i];
		struct us_sa *a = &s->sa[i];
		char dst[IPSEC_ADDR_STRLEN];

		a->sa = sa;
		a->set_id = set->id;
		struct esp_seam seam = { esp_pool_random, &u->ivs };

		ret = esp_sa_init(&a->esp, sa->spi, sa->dir == IPSEC_DIR_OUT, &set->p.keys, &seam);
		if (ret)
			goto fail;
		a->esp.pad_blocks_max = b->cfg.pad_blocks_max;
		if (sa->dir == IPSEC_DIR_OUT)
			a->esp.seq = set->p.seq_start[i];
		if (sa->dir == IPSEC_DIR_IN) {
			struct spi_key k;

			spi_key(&k, &sa->dst, sa->spi);
			ret = ipsec_table_add(&u->by_spi, &k, a);
			if (ret == -EEXIST)
				log_error("SA%u of set %u: SPI 0x%08x to %s is installed already",
					  sa->index, set->id, sa->spi, ipsec_addr_str(&sa->dst, dst));
			if (ret) {
				esp_sa_clear(&a->esp);
				goto fail;
			}
		}
	}
	ret = ipsec_table_add(&u->by_id, &s->id, s);
	if (ret)
		goto fail;
	return 0;
fail:
	us_set_free(u, s, i);
	return ret;
}

static int us_remove(struct ipsec_backend *b, const struct ipsec_sa_set *set)
{
	struct us_backend *u = us(b);
	struct us_set *s = ipsec_table_del(&u->by_id, &set->id);

	if (!s)
		return -ENOENT;
	us_set_free(u, s, IPSEC_SET_SAS);
	return 0;
}

static int us_counters(struct ipsec_backend *b, const struct ipsec_sa_set *set,
		       struct ipsec_sa_counters out[IPSEC_SET_SAS])
{
	struct us_set *s = ipsec_table_get(&us(b)->by_id, &set->id);

	if (!s)
		return -ENOENT;
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++) {
		const struct us_sa *a = &s->sa[i];
		const struct esp_counters *c = &a->esp.ctr;

		if (a->sa->dir == IPSEC_DIR_OUT) {
			out[i].packets = c->packets;
			out[i].bytes = c->bytes;
			out[i].seq = a->esp.seq;
			continue;
		}
		out[i].packets = a->delivered;
		out[i].bytes = a->delivered_bytes;
		out[i].replay = c->drops[ESP_E_REPLAY];
		out[i].auth = c->drops[ESP_E_AUTH];
		out[i].other = c->drops[ESP_E_MALFORMED] + c->drops[ESP_E_PADDING] +
			       c->drops[ESP_E_CRYPTO] + a->dropped;
	}
	return 0;
}

static int us_spi_in_use(struct ipsec_backend *b, const struct ipsec_addr *dst, uint32_t spi)
{
	struct spi_key k;

	spi_key(&k, dst, spi);
	return ipsec_table_get(&us(b)->by_spi, &k) != NULL;
}

/* ---- input ------------------------------------------------------------- */

static void tcp_to_tun(struct us_backend *u, struct us_sa *a, const struct ipsec_addr *src,
		       const struct ipsec_addr *dst, const struct esp_plain *plain);
static int tun_input(struct us_backend *u);

static int deliver(struct us_backend *u, struct us_sa *a, const struct ipsec_dgram_info *info,
		   const uint8_t *payload, size_t len)
{
	struct ep_key k;
	struct us_ep *ep;
	struct iovec iov[2] = {
		{ .iov_base = (void *)info, .iov_len = sizeof(*info) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	ep_key(&k, &info->dst, info->dport);
	ep = ipsec_table_get(&u->eps, &k);
	if (!ep) {
		a->dropped++;
		log_debug("SA%u of set %u: no endpoint on port %u", a->sa->index, a->set_id,
			  info->dport);
		return -ENOENT;
	}
	if (sendmsg(ep->queue_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		a->dropped++;
		log_debug("endpoint port %u: queue full, datagram dropped", info->dport);
		return -errno;
	}
	return 0;
}

static void handle_esp(struct us_backend *u, const struct ipsec_addr *src,
		       const struct ipsec_addr *dst, uint8_t *pkt, size_t len)
{
	struct ipsec_dgram_info info;
	struct esp_plain plain;
	enum esp_result r;
	struct spi_key k;
	struct us_sa *a;
	uint32_t spi;
	uint16_t ulen, csum;

	if (len < ESP_HDR_LEN) {
		u->st.malformed++;
		return;
	}
	memcpy(&spi, pkt, 4);
	spi_key(&k, dst, ntohl(spi));
	a = ipsec_table_get(&u->by_spi, &k);
	if (!a) {
		u->st.unknown_spi++;
		log_debug("ESP with unknown SPI 0x%08x dropped", ntohl(spi));
		return;
	}
	r = esp_decap(&a->esp, pkt, len, &plain);
	if (r != ESP_OK) {
		log_debug("SA%u of set %u: %s, dropped", a->sa->index, a->set_id,
			  esp_result_name(r));
		return;
	}
	if (plain.next_header == IPPROTO_TCP) {
		tcp_to_tun(u, a, src, dst, &plain);
		return;
	}
	if (plain.next_header != IPPROTO_UDP) {
		a->dropped++;
		log_debug("SA%u of set %u: next header %u is neither UDP nor TCP, dropped",
			  a->sa->index, a->set_id, plain.next_header);
		return;
	}
	if (plain.len < UDP_HDR_LEN)
		goto drop;
	ulen = (uint16_t)(plain.payload[4] << 8 | plain.payload[5]);
	csum = (uint16_t)(plain.payload[6] << 8 | plain.payload[7]);
	if (ulen != plain.len)
		goto drop;
	/* RFC 768: 0 is "no checksum" over IPv4; RFC 8200 §8.1: mandatory over IPv6. */
	if ((csum || src->family == AF_INET6) &&
	    ipsec_udp_checksum(src, dst, plain.payload, plain.len) != 0)
		goto drop;

	memset(&info, 0, sizeof(info));
	info.src = *src;
	info.dst = *dst;
	info.sport = (uint16_t)(plain.payload[0] << 8 | plain.payload[1]);
	info.dport = (uint16_t)(plain.payload[2] << 8 | plain.payload[3]);
	info.set_id = a->set_id;
	info.sa_index = a->sa->index;
	if (info.sport != a->sa->sport || info.dport != a->sa->dport ||
	    !ipsec_addr_eq(src, &a->sa->src)) {
		log_debug("SA%u of set %u: datagram %u -> %u outside its selectors, dropped",
			  a->sa->index, a->set_id, info.sport, info.dport);
		goto drop;
	}
	if (deliver(u, a, &info, plain.payload + UDP_HDR_LEN, plain.len - UDP_HDR_LEN) == 0) {
		a->delivered++;
		a->delivered_bytes += plain.len; /* like the sender: the UDP datagram */
		u->st.udp_in++;
	} else {
		u->st.udp_dropped++;
	}
	return;
drop:
	a->dropped++;
	u->st.udp_dropped++;
}

static int input4(struct us_backend *u)
{
	struct ipsec_addr src, dst;
	ssize_t n = recv(u->raw4, u->rx, sizeof(u->rx), MSG_DONTWAIT);
	size_t ihl;

	if (n < 0)
		return -errno;
	/* Raw IPv4 sockets deliver the (reassembled) packet with its header. */
	if (n < 20 || u->rx[0] >> 4 != 4 || u->rx[9] != IPPROTO_ESP) {
		u->st.malformed++;
		return 0;
	}
	ihl = (size_t)(u->rx[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > (size_t)n) {
		u->st.malformed++;
		return 0;
	}
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	src.family = dst.family = AF_INET;
	memcpy(&src.v4, u->rx + 12, 4);
	memcpy(&dst.v4, u->rx + 16, 4);
	handle_esp(u, &src, &dst, u->rx + ihl, (size_t)n - ihl);
	return 0;
}

static int input6(struct us_backend *u)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control;
	struct sockaddr_in6 from;
	struct iovec iov = { .iov_base = u->rx, .iov_len = sizeof(u->rx) };
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct ipsec_addr src, dst;
	bool have_dst = false;
	ssize_t n = recvmsg(u->raw6, &msg, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	src.family = dst.family = AF_INET6;
	src.v6 = from.sin6_addr;
	/* Raw IPv6 sockets deliver the payload only; the destination comes as ancillary data. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst.v6 = pi.ipi6_addr;
			have_dst = true;
		}
	}
	if (!have_dst) {
		u->st.malformed++;
		return 0;
	}
	handle_esp(u, &src, &dst, u->rx, (size_t)n);
	return 0;
}

static int us_input(struct ipsec_backend *b, int fd)
{
	struct us_backend *u = us(b);
	int ret = 0;

	if (fd < 0 || (fd != u->raw4 && fd != u->raw6 && fd != u->tun.fd))
		return -EINVAL;
	for (int i = 0; i < INPUT_BUDGET && !ret; i++)
		ret = fd == u->raw4 ? input4(u) : fd == u->raw6 ? input6(u) : tun_input(u);
	return ret == -EAGAIN || ret == -EWOULDBLOCK ? 0 : ret;
}

static size_t us_fds(const struct ipsec_backend *b, int *fds, size_t cap)
{
	const struct us_backend *u = (const struct us_backend *)b;
	size_t n = 0;

	if (u->raw4 >= 0 && n < cap)
		fds[n++] = u->raw4;
	if (u->raw6 >= 0 && n < cap)
		fds[n++] = u->raw6;
	if (u->tun.fd >= 0 && n < cap)
		fds[n++] = u->tun.fd;
	return n;
}

/* ---- endpoints --------------------------------------------------------- */

static int us_ep_open(struct ipsec_backend *b, const struct ipsec_addr *local, uint16_t port,
		      struct ipsec_endpoint **out)
{
	struct us_backend *u = us(b);
	struct us_ep *ep;
	struct ep_key k;
	int sv[2], ret;

	if ((local->family == AF_INET ? u->raw4 : u->raw6) < 0)
		return -EAFNOSUPPORT;
	ep_key(&k, local, port);
	if (ipsec_table_get(&u->eps, &k))
		return -EADDRINUSE;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
		ret = -errno;
		goto free_ep;
	}
	ep->base.b = b;
	ep->base.local = *local;
	ep->base.port = port;
	ep->base.fd = sv[0];
	ep->queue_fd = sv[1];
	ret = ipsec_table_add(&u->eps, &k, ep);
	if (ret)
		goto close_pair;
	*out = &ep->base;
	return 0;
close_pair:
	close(sv[0]);
	close(sv[1]);
free_ep:
	free(ep);
	return ret;
}

static void us_ep_close(struct ipsec_endpoint *base)
{
	struct us_ep *ep = (struct us_ep *)base;
	struct ep_key k;

	ep_key(&k, &base->local, base->port);
	ipsec_table_del(&us(base->b)->eps, &k);
	close(base->fd);
	close(ep->queue_fd);
	free(ep);
}

static int raw_send(struct us_backend *u, const struct ipsec_addr *src,
		    const struct ipsec_addr *dst, const uint8_t *pkt, size_t len)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control;
	struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf };
	struct sockaddr_in to4;
	struct sockaddr_in6 to6;
	struct cmsghdr *c;
	int fd;

	memset(&control, 0, sizeof(control));
	c = (struct cmsghdr *)control.buf;
	/* Pin the source address: the SA's selectors name it. */
	if (dst->family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = src->v4 };

		memset(&to4, 0, sizeof(to4));
		to4.sin_family = AF_INET;
		to4.sin_addr = dst->v4;
		msg.msg_name = &to4;
		msg.msg_namelen = sizeof(to4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		fd = u->raw4;
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = src->v6 };

		memset(&to6, 0, sizeof(to6));
		to6.sin6_family = AF_INET6;
		to6.sin6_addr = dst->v6;
		msg.msg_name = &to6;
		msg.msg_namelen = sizeof(to6);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		msg.msg_controllen = CMSG_SPACE(sizeof(pi));
		fd = u->raw6;
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int us_ep_send(struct ipsec_endpoint *ep, const struct ipsec_addr *to, uint16_t port,
		      const void *buf, size_t len)
{
	struct us_backend *u = us(ep->b);
	const struct ipsec_sa_set *set;
	const struct ipsec_sa *sa;
	struct us_set *s;
	struct us_sa *a;
	uint8_t *udp = u->udp;
	size_t ulen = len + UDP_HDR_LEN, n;
	uint16_t csum;
	int ret;

	sa = ipsec_backend_match(ep->b, &ep->local, ep->port, to, port, &set);
	if (!sa || sa->dir != IPSEC_DIR_OUT)
		return -ENOENT;
	if (ulen > MAX_DGRAM)
		return -EMSGSIZE;
	s = ipsec_table_get(&u->by_id, &set->id);
	if (!s)
		return -ENOENT;
	a = &s->sa[sa->index - 1];

	udp[0] = (uint8_t)(ep->port >> 8);
	udp[1] = (uint8_t)ep->port;
	udp[2] = (uint8_t)(port >> 8);
	udp[3] = (uint8_t)port;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;
	memcpy(udp + UDP_HDR_LEN, buf, len);
	/* The pseudo-header holds the real addresses: transport mode, no NAT. */
	csum = ipsec_udp_checksum(&ep->local, to, udp, ulen);
	if (!csum)
		csum = 0xffff;
	udp[6] = (uint8_t)(csum >> 8);
	udp[7] = (uint8_t)csum;

	ret = esp_encap(&a->esp, IPPROTO_UDP, udp, ulen, u->tx, sizeof(u->tx), &n);
	if (ret)
		return ret;
	ret = raw_send(u, &ep->local, to, u->tx, n);
	if (ret == 0)
		u->st.udp_out++;
	return ret;
}

static ssize_t us_ep_recv(struct ipsec_endpoint *ep, void *buf, size_t cap,
			  struct ipsec_dgram_info *info)
{
	struct iovec iov[2] = {
		{ .iov_base = info, .iov_len = sizeof(*info) },
		{ .iov_base = buf, .iov_len = cap },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = recvmsg(ep->fd, &msg, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*info))
		return -EIO;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return n - (ssize_t)sizeof(*info);
}

/* ---- TCP through the TUN ------------------------------------------------- */

static void tcp_drop(struct us_backend *u, const char *why, const struct ipsec_addr *src,
		     uint16_t sport, const struct ipsec_addr *dst, uint16_t dport,
		     const struct us_sa *a)
{
	char s[IPSEC_ADDR_STRLEN], d[IPSEC_ADDR_STRLEN];

	u->st.tcp_dropped++;
	if (a)
		log_debug("TCP %s port %u -> %s port %u over SA%u of set %u (spi 0x%08x): %s, "
			  "dropped", ipsec_addr_str(src, s), sport, ipsec_addr_str(dst, d), dport,
			  a->sa->index, a->set_id, a->sa->spi, why);
	else
		log_debug("TCP %s port %u -> %s port %u from %s: %s, dropped",
			  ipsec_addr_str(src, s), sport, ipsec_addr_str(dst, d), dport,
			  u->tun.name, why);
}

static uint16_t ip4_header_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < IP4_HDR_LEN; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * A decrypted TCP segment: check it is the SA's traffic (RFC 4301 §5.2),
 * give it back the IP header that transport mode took off (the outer
 * addresses, protocol 6) and hand it to the kernel through the TUN.
 */
static void tcp_to_tun(struct us_backend *u, struct us_sa *a, const struct ipsec_addr *src,
		       const struct ipsec_addr *dst, const struct esp_plain *plain)
{
	const uint8_t *seg = plain->payload;
	uint8_t hdr[IP6_HDR_LEN];
	struct iovec iov[2];
	uint16_t sport, dport;
	size_t hlen;

	if (plain->len < TCP_HDR_LEN || (size_t)(seg[12] >> 4) * 4 < TCP_HDR_LEN ||
	    (size_t)(seg[12] >> 4) * 4 > plain->len || plain->len > 0xffff - IP4_HDR_LEN) {
		a->dropped++;
		tcp_drop(u, "not a TCP segment", src, 0, dst, 0, a);
		return;
	}
	sport = (uint16_t)(seg[0] << 8 | seg[1]);
	dport = (uint16_t)(seg[2] << 8 | seg[3]);
	if (sport != a->sa->sport || dport != a->sa->dport || !ipsec_addr_eq(src, &a->sa->src)) {
		a->dropped++;
		tcp_drop(u, "outside the SA's selectors", src, sport, dst, dport, a);
		return;
	}
	if (u->tun.fd < 0) {
		a->dropped++;
		tcp_drop(u, "no TUN device, no protected TCP here", src, sport, dst, dport, a);
		return;
	}
	memset(hdr, 0, sizeof(hdr));
	if (src->family == AF_INET) {
		size_t total = IP4_HDR_LEN + plain->len;
		uint16_t csum;

		hdr[0] = 0x45;
		hdr[2] = (uint8_t)(total >> 8);
		hdr[3] = (uint8_t)total;
		hdr[6] = 0x40; /* DF: TCP does path MTU discovery */
		hdr[8] = 64;
		hdr[9] = IPPROTO_TCP;
		memcpy(hdr + 12, &src->v4, 4);
		memcpy(hdr + 16, &dst->v4, 4);
		csum = ip4_header_checksum(hdr);
		hdr[10] = (uint8_t)(csum >> 8);
		hdr[11] = (uint8_t)csum;
		hlen = IP4_HDR_LEN;
	} else {
		hdr[0] = 0x60;
		hdr[4] = (uint8_t)(plain->len >> 8);
		hdr[5] = (uint8_t)plain->len;
		hdr[6] = IPPROTO_TCP;
		hdr[7] = 64;
		memcpy(hdr + 8, &src->v6, 16);
		memcpy(hdr + 24, &dst->v6, 16);
		hlen = IP6_HDR_LEN;
	}
	iov[0] = (struct iovec){ .iov_base = hdr, .iov_len = hlen };
	iov[1] = (struct iovec){ .iov_base = plain->payload, .iov_len = plain->len };
	if (writev(u->tun.fd, iov, 2) != (ssize_t)(hlen + plain->len)) {
		a->dropped++;
		tcp_drop(u, strerror(errno), src, sport, dst, dport, a);
		return;
	}
	a->delivered++;
	a->delivered_bytes += plain->len;
	u->st.tcp_in++;
}

/* One packet the kernel routed into the TUN: a segment of a protected TCP socket. */
static int tun_input(struct us_backend *u)
{
	struct ipsec_addr src, dst;
	const struct ipsec_sa_set *set;
	const struct ipsec_sa *sa;
	ssize_t n = read(u->tun.fd, u->rx, sizeof(u->rx));
	uint8_t *seg;
	size_t hlen, len, out;
	uint16_t sport, dport;
	struct us_set *s;
	struct us_sa *a;
	int ret;

	if (n < 0)
		return -errno;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (n >= IP4_HDR_LEN && u->rx[0] >> 4 == 4) {
		hlen = (size_t)(u->rx[0] & 0x0f) * 4;
		len = (size_t)(u->rx[2] << 8 | u->rx[3]);
		/* Fragments would need reassembly; TCP sets DF and sizes to the MTU. */
		if (hlen < IP4_HDR_LEN || len < hlen || len > (size_t)n || u->rx[9] != IPPROTO_TCP ||
		    (u->rx[6] & 0x3f) || u->rx[7])
			goto not_tcp;
		src.family = dst.family = AF_INET;
		memcpy(&src.v4, u->rx + 12, 4);
		memcpy(&dst.v4, u->rx + 16, 4);
	} else if (n >= IP6_HDR_LEN && u->rx[0] >> 4 == 6) {
		hlen = IP6_HDR_LEN;
		len = IP6_HDR_LEN + (size_t)(u->rx[4] << 8 | u->rx[5]);
		/* The kernel's TCP puts no extension headers on its segments. */
		if (len > (size_t)n || u->rx[6] != IPPROTO_TCP)
			goto not_tcp;
		src.family = dst.family = AF_INET6;
		memcpy(&src.v6, u->rx + 8, 16);
		memcpy(&dst.v6, u->rx + 24, 16);
	} else {
		goto not_tcp;
	}
	seg = u->rx + hlen;
	len -= hlen;
	if (len < TCP_HDR_LEN)
		goto not_tcp;
	sport = (uint16_t)(seg[0] << 8 | seg[1]);
	dport = (uint16_t)(seg[2] << 8 | seg[3]);

	sa = ipsec_backend_match(&u->base, &src, sport, &dst, dport, &set);
	s = sa && sa->dir == IPSEC_DIR_OUT ? ipsec_table_get(&u->by_id, &set->id) : NULL;
	if (!s) {
		tcp_drop(u, "no SA selects it", &src, sport, &dst, dport, NULL);
		return 0;
	}
	a = &s->sa[sa->index - 1];
	ret = esp_encap(&a->esp, IPPROTO_TCP, seg, len, u->tx, sizeof(u->tx), &out);
	if (ret == 0)
		ret = raw_send(u, &src, &dst, u->tx, out);
	if (ret) {
		tcp_drop(u, strerror(-ret), &src, sport, &dst, dport, a);
		return 0;
	}
	u->st.tcp_out++;
	return 0;
not_tcp:
	u->st.tcp_dropped++;
	log_debug("%s: a packet that is not TCP over IPv4/IPv6 (%zd octets), dropped", u->tun.name,
		  n);
	return 0;
}

/* The TUN device, made when the first protected TCP socket needs it. */
static int tun_start(struct us_backend *u)
{
	char why[256];
	unsigned mtu;
	int ret;

	if (u->tun.fd >= 0)
		return 0;
	if (u->tun_err)
		return u->tun_err;
	if (!u->tun_pattern[0]) {
		log_warn("userspace ESP: ipsec.tun is empty, so TCP over the SAs is unavailable");
		u->tun_err = -ENOTSUP;
		return u->tun_err;
	}
	/* Segments sized so that the ESP packet still fits a 1500-octet link. */
	mtu = IPSEC_TUN_LINK_MTU - ESP_OVERHEAD_MAX - u->base.cfg.pad_blocks_max * ESP_BLOCK_MAX;
	if (mtu < IPV6_MIN_MTU)
		mtu = IPV6_MIN_MTU;
	ret = ipsec_tun_open(&u->tun, u->tun_pattern, u->tun_table, mtu, why, sizeof(why));
	if (ret == 0) {
		ret = ipsec_backend_watch(&u->base, u->tun.fd);
		if (ret) {
			snprintf(why, sizeof(why), "watching %s: %s", u->tun.name, strerror(-ret));
			ipsec_tun_close(&u->tun);
		}
	}
	if (ret) {
		log_error("userspace ESP: no TUN device, so TCP over the SAs is unavailable (UDP is "
			  "not affected): %s", why);
		/* Said once: every later protected TCP socket gets the same answer. */
		u->tun_err = -ENOTSUP;
		return u->tun_err;
	}
	log_notice("userspace ESP: TCP over the SAs through TUN device %s (MTU %u, rule oif %s "
		   "lookup %u)", u->tun.name, mtu, u->tun.name, u->tun_table);
	return 0;
}

static int us_tcp_bind(struct ipsec_backend *b, int fd)
{
	struct us_backend *u = us(b);
	int ret = tun_start(u);

	return ret ? ret : ipsec_tun_bind(&u->tun, fd);
}

static void us_stats(const struct ipsec_backend *b, struct ipsec_backend_stats *out)
{
	*out = ((const struct us_backend *)b)->st;
}

/* ---- life --------------------------------------------------------------- */

static int free_us_set(void *arg, const void *key, void *value)
{
	us_set_free(arg, value, 0);
	return 0;
}

static void us_destroy(struct ipsec_backend *b)
{
	struct us_backend *u = us(b);

	/* by_spi goes as a whole; the sets only need their contexts freed. */
	ipsec_table_each(&u->by_id, free_us_set, u);
	ipsec_table_free(&u->by_id);
	ipsec_table_free(&u->by_spi);
	ipsec_table_free(&u->eps);
	ipsec_tun_close(&u->tun);
	if (u->raw4 >= 0)
		close(u->raw4);
	if (u->raw6 >= 0)
		close(u->raw6);
	free(u);
}

static const struct ipsec_backend_ops us_ops = {
	.kind = IPSEC_BACKEND_USERSPACE,
	.install = us_install,
	.remove = us_remove,
	.scan = NULL,
	.counters = us_counters,
	.spi_in_use = us_spi_in_use,
	.fds = us_fds,
	.input = us_input,
	.ep_open = us_ep_open,
	.ep_close = us_ep_close,
	.ep_send = us_ep_send,
	.ep_recv = us_ep_recv,
	.tcp_bind = us_tcp_bind,
	.stats = us_stats,
	.destroy = us_destroy,
};

int ipsec_userspace_create(const struct ipsec_config *cfg, struct ipsec_backend **out)
{
	struct us_backend *u = calloc(1, sizeof(*u));
	int one = 1, dont = IP_PMTUDISC_DONT, dont6 = IPV6_PMTUDISC_DONT, ret;

	if (!u)
		return -ENOMEM;
	u->base.ops = &us_ops;
	ipsec_table_init(&u->by_id, sizeof(uint32_t));
	ipsec_table_init(&u->by_spi, sizeof(struct spi_key));
	ipsec_table_init(&u->eps, sizeof(struct ep_key));
	u->tun.fd = -1;
	if (cfg->tun)
		snprintf(u->tun_pattern, sizeof(u->tun_pattern), "%s", cfg->tun);
	u->tun_table = cfg->tun_table;
	u->raw6 = -1;
	u->raw4 = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	if (u->raw4 < 0) {
		ret = -errno;
		log_error("userspace ESP: raw IPv4 socket for protocol 50: %s (needs CAP_NET_RAW)",
			  strerror(errno));
		free(u);
		return ret;
	}
	/* Large SIP messages are fragmented by the IP layer, as with kernel ESP. */
	setsockopt(u->raw4, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont));
	u->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	if (u->raw6 >= 0) {
		if (setsockopt(u->raw6, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0) {
			close(u->raw6);
			u->raw6 = -1;
		} else {
			setsockopt(u->raw6, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &dont6, sizeof(dont6));
		}
	}
	if (u->raw6 < 0)
		log_warn("userspace ESP: no raw IPv6 socket (%s); IPv4 only", strerror(errno));
	*out = &u->base;
	return 0;
}
