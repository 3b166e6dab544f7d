/*
 * tun.c - the TUN device of the userspace backend and its routing (tun.h).
 */
#include "ipsec/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Write value to /proc/sys/net/<family>/conf/<dev>/<key>. 0 or -errno. */
static int sysctl_dev(const char *family, const char *dev, const char *key, const char *value)
{
	char path[128];
	ssize_t n;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, dev, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	if (n != (ssize_t)strlen(value))
		ret = n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

/* MTU and IFF_UP through the classic interface ioctls. */
static int link_up(const char *name, unsigned mtu)
{
	struct ifreq ifr;
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) != 0)
		goto err;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		goto err;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		goto err;
	goto out;
err:
	ret = -errno;
out:
	close(s);
	return ret;
}

/* ---- rtnetlink: one request, its ACK ------------------------------------ */

struct rtnl {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint8_t buf[8192]; /* an ACK, or an error echoing our request */
};

static int rtnl_open(struct rtnl *r)
{
	/* The kernel always answers; the limit only turns a bug into an error. */
	struct timeval limit = { .tv_sec = 5 };

	r->seq = 0;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;

		mnl_socket_close(r->nl);
		r->nl = NULL;
		return ret;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	return 0;
}

static void rtnl_close(struct rtnl *r)
{
	if (r->nl)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}

/* Send nlh and wait for its ACK. 0 or the kernel's negative errno. */
static int rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;

	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		int left;

		n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (int)n;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)r->buf;
		     mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

			if (m->nlmsg_seq != seq || m->nlmsg_pid != r->portid ||
			    m->nlmsg_type != NLMSG_ERROR)
				continue;
			if (m->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				return -EBADMSG;
			return e->error;
		}
	}
}

static struct nlmsghdr *msg_start(struct rtnl *r, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++r->seq;
	return nlh;
}

/* "ip route add default dev <tun> table <table> metric <ifindex>" */
static int route_add(struct rtnl *r, const struct ipsec_tun *t, uint8_t family)
{
	struct nlmsghdr *nlh = msg_start(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_UNSPEC; /* RTA_TABLE holds all 32 bits */
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, t->table);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)t->ifindex);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, (uint32_t)t->ifindex);
	return rtnl_talk(r, nlh);
}

/* "ip rule add|del oif <tun> lookup <table>" */
static int rule(struct rtnl *r, const struct ipsec_tun *t, uint8_t family, bool add)
{
	struct nlmsghdr *nlh = msg_start(r, add ? RTM_NEWRULE : RTM_DELRULE,
					 add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = family;
	frh->table = RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;
	mnl_attr_put_strz(nlh, FRA_OIFNAME, t->name);
	mnl_attr_put_u32(nlh, FRA_TABLE, t->table);
	return rtnl_talk(r, nlh);
}

static void rules_del(struct rtnl *r, struct ipsec_tun *t)
{
	if (t->rules & 1)
		rule(r, t, AF_INET, false);
	if (t->rules & 2)
		rule(r, t, AF_INET6, false);
	t->rules = 0;
}

/* ---- the device ---------------------------------------------------------- */

int ipsec_tun_open(struct ipsec_tun *t, const char *pattern, uint32_t table, unsigned mtu,
		   char *why, size_t whylen)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct rtnl r = { .nl = NULL };
	struct ifreq ifr;
	int ret;

	memset(t, 0, sizeof(*t));
	t->table = table;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "/dev/net/tun: %s", strerror(errno));
		return ret;
	}
	/* IFF_NO_PI: bare IP packets; no IFF_VNET_HDR, so no checksum offload. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", pattern);
	if (ioctl(t->fd, TUNSETIFF, &ifr) != 0) {
		ret = -errno;
		snprintf(why, whylen, "creating TUN device %s: %s%s", pattern, strerror(errno),
			 errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
		goto fail;
	}
	memcpy(t->name, ifr.ifr_name, sizeof(t->name));
	t->name[sizeof(t->name) - 1] = '\0';
	t->ifindex = (int)if_nametoindex(t->name);
	if (!t->ifindex) {
		ret = -errno;
		snprintf(why, whylen, "%s: no ifindex: %s", t->name, strerror(errno));
		goto fail;
	}
	/* Before the device is up: no link-local address, so no RS/MLD into the pump. */
	ret = sysctl_dev("ipv6", t->name, "addr_gen_mode", "1");
	if (ret && ret != -ENOENT) { /* ENOENT: a kernel without IPv6 */
		snprintf(why, whylen, "%s: addr_gen_mode: %s", t->name, strerror(-ret));
		goto fail;
	}
	ret = sysctl_dev("ipv4", t->name, "rp_filter", "0");
	if (ret) {
		snprintf(why, whylen, "%s: rp_filter: %s", t->name, strerror(-ret));
		goto fail;
	}
	ret = link_up(t->name, mtu);
	if (ret) {
		snprintf(why, whylen, "%s: setting MTU %u and up: %s", t->name, mtu, strerror(-ret));
		goto fail;
	}
	ret = rtnl_open(&r);
	if (ret) {
		snprintf(why, whylen, "rtnetlink: %s", strerror(-ret));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(families); i++) {
		const char *fam = families[i] == AF_INET ? "IPv4" : "IPv6";

		ret = route_add(&r, t, families[i]);
		if (families[i] == AF_INET6 &&
		    (ret == -EOPNOTSUPP || ret == -EAFNOSUPPORT || ret == -EACCES)) {
			/* No IPv6 in the kernel, or disabled on the device: IPv4 only. */
			ret = 0;
			continue;
		}
		if (ret) {
			snprintf(why, whylen, "%s route default dev %s table %u: %s", fam, t->name,
				 table, strerror(-ret));
			goto fail;
		}
		ret = rule(&r, t, families[i], true);
		if (ret == -EEXIST)
			ret = 0; /* left by a process that died: ours now, deleted on close */
		if (ret) {
			snprintf(why, whylen, "%s rule oif %s lookup %u: %s", fam, t->name, table,
				 strerror(-ret));
			goto fail;
		}
		t->rules |= 1u << i;
	}
	rtnl_close(&r);
	return 0;
fail:
	if (r.nl)
		rules_del(&r, t);
	rtnl_close(&r);
	close(t->fd); /* the device and its routes go with it */
	t->fd = -1;
	return ret;
}

void ipsec_tun_close(struct ipsec_tun *t)
{
	struct rtnl r = { .nl = NULL };

	if (t->fd < 0)
		return;
	/* A rule naming a device outlives the device: delete ours. */
	if (t->rules && rtnl_open(&r) == 0) {
		rules_del(&r, t);
		rtnl_close(&r);
	}
	close(t->fd);
	t->fd = -1;
}

int ipsec_tun_bind(const struct ipsec_tun *t, int fd)
{
	if (t->fd < 0)
		return -ENOTSUP;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t->name, (socklen_t)strlen(t->name) + 1))
		return -errno;
	return 0;
}
