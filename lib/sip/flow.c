/*
 * flow.c - socket addresses and flows.
 */
#include "sip/flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

socklen_t sip_sockaddr_len(const union sip_sockaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return sizeof(a->in);
	case AF_INET6:
		return sizeof(a->in6);
	default:
		return 0;
	}
}

uint16_t sip_sockaddr_port(const union sip_sockaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return ntohs(a->in.sin_port);
	case AF_INET6:
		return ntohs(a->in6.sin6_port);
	default:
		return 0;
	}
}

void sip_sockaddr_set_port(union sip_sockaddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
}

void sip_sockaddr_any(union sip_sockaddr *a, int family)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = (sa_family_t)family;
}

bool sip_sockaddr_is_any(const union sip_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
	return true;
}

bool sip_sockaddr_same_host(const union sip_sockaddr *a, const union sip_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0 &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return true;
}

bool sip_sockaddr_equal(const union sip_sockaddr *a, const union sip_sockaddr *b)
{
	return sip_sockaddr_same_host(a, b) && sip_sockaddr_port(a) == sip_sockaddr_port(b);
}

/* A numeric host without brackets into a[...] of the family it is. */
static int parse_numeric(const char *host, union sip_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &out->in.sin_addr) == 1) {
		out->sa.sa_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1) {
		out->sa.sa_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int parse_port(struct str p, uint16_t *port)
{
	uint64_t v;

	if (str_to_u64(p, 65535, &v) < 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int sip_sockaddr_parse(struct str text, uint16_t default_port, union sip_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct str h = text, port = STR_NULL;
	uint16_t pnum = default_port;
	ptrdiff_t colon;
	int rc = -EINVAL;

	if (text.len == 0)
		goto out;
	if (text.s[0] == '[') {
		ptrdiff_t close = str_chr(text, ']');

		if (close < 0)
			goto out;
		h = str_sub(text, 1, (size_t)close - 1);
		if ((size_t)close + 1 < text.len) {
			if (text.s[close + 1] != ':')
				goto out;
			port = str_sub(text, (size_t)close + 2, text.len);
			if (port.len == 0)
				goto out;
		}
	} else {
		colon = str_chr(text, ':');
		/* One colon: IPv4 with a port; more: a bare IPv6 address. */
		if (colon >= 0 && str_chr(str_sub(text, (size_t)colon + 1, text.len), ':') < 0) {
			h = str_sub(text, 0, (size_t)colon);
			port = str_sub(text, (size_t)colon + 1, text.len);
			if (port.len == 0)
				goto out;
		}
	}
	if (port.s && parse_port(port, &pnum) < 0)
		goto out;
	if (str_copy(host, sizeof(host), h) < 0)
		goto out;
	rc = parse_numeric(host, out);
	if (rc < 0)
		goto out;
	if (text.s[0] == '[' && out->sa.sa_family != AF_INET6) {
		rc = -EINVAL;
		goto out;
	}
	sip_sockaddr_set_port(out, pnum);
out:
	return rc;
}

int sip_sockaddr_from_host(struct str host, uint16_t port, union sip_sockaddr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct str h = host;
	bool bracketed = false;
	int rc = -EINVAL;

	if (h.len >= 2 && h.s[0] == '[' && h.s[h.len - 1] == ']') {
		h = str_sub(h, 1, h.len - 2);
		bracketed = true;
	}
	if (h.len == 0)
		goto out;
	if (str_copy(buf, sizeof(buf), h) < 0) {
		rc = bracketed ? -EINVAL : -EHOSTUNREACH;
		goto out;
	}
	rc = parse_numeric(buf, out);
	if (rc < 0) {
		/* Not an address literal: a name, unless it is an obvious mess. */
		bool name = !bracketed;

		for (size_t i = 0; name && i < h.len; i++) {
			char c = h.s[i];
			name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '-' || c == '.';
		}
		rc = name ? -EHOSTUNREACH : -EINVAL;
		goto out;
	}
	if (bracketed && out->sa.sa_family != AF_INET6) {
		rc = -EINVAL;
		goto out;
	}
	sip_sockaddr_set_port(out, port);
out:
	return rc;
}

int sip_sockaddr_host(const union sip_sockaddr *a, bool brackets, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int n;

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, tmp, sizeof(tmp));
		n = snprintf(buf, len, "%s", tmp);
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, tmp, sizeof(tmp));
		n = snprintf(buf, len, brackets ? "[%s]" : "%s", tmp);
	} else {
		n = snprintf(buf, len, "-");
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

const char *sip_sockaddr_str(const union sip_sockaddr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + 3];

	if (!len)
		return buf;
	if (!sip_sockaddr_is_set(a)) {
		snprintf(buf, len, "-");
		return buf;
	}
	sip_sockaddr_host(a, true, host, sizeof(host));
	snprintf(buf, len, "%s:%u", host, sip_sockaddr_port(a));
	return buf;
}

void sip_flow_init(struct sip_flow *f)
{
	memset(f, 0, sizeof(*f));
}

void sip_flow_to(struct sip_flow *f, enum sip_transport proto, const union sip_sockaddr *remote)
{
	sip_flow_init(f);
	f->proto = proto;
	f->remote = *remote;
}

bool sip_flow_same(const struct sip_flow *a, const struct sip_flow *b)
{
	return a->proto == b->proto && a->tp == b->tp && a->conn == b->conn &&
	       a->sa_set == b->sa_set && sip_sockaddr_equal(&a->local, &b->local) &&
	       sip_sockaddr_equal(&a->remote, &b->remote);
}

static const char *const transport_names[] = {
	[SIP_TRANSPORT_OTHER] = "?",
	[SIP_TRANSPORT_UDP] = "UDP",
	[SIP_TRANSPORT_TCP] = "TCP",
	[SIP_TRANSPORT_TLS] = "TLS",
	[SIP_TRANSPORT_SCTP] = "SCTP",
	[SIP_TRANSPORT_WS] = "WS",
	[SIP_TRANSPORT_WSS] = "WSS",
};

const char *sip_transport_name(enum sip_transport proto)
{
	if ((unsigned)proto >= sizeof(transport_names) / sizeof(transport_names[0]))
		return "?";
	return transport_names[proto];
}

enum sip_transport sip_transport_lookup(struct str name)
{
	for (unsigned i = SIP_TRANSPORT_UDP; i < sizeof(transport_names) / sizeof(transport_names[0]);
	     i++)
		if (str_caseeq_cstr(name, transport_names[i]))
			return (enum sip_transport)i;
	return SIP_TRANSPORT_OTHER;
}

const char *sip_flow_str(const struct sip_flow *f, char *buf, size_t len)
{
	char l[SIP_SOCKADDR_STRLEN], r[SIP_SOCKADDR_STRLEN];
	int n;

	if (!len)
		return buf;
	n = snprintf(buf, len, "%s %s <> %s tp %u", sip_transport_name(f->proto),
		     sip_sockaddr_str(&f->local, l, sizeof(l)),
		     sip_sockaddr_str(&f->remote, r, sizeof(r)), f->tp);
	if (n > 0 && (size_t)n < len && f->conn)
		n += snprintf(buf + n, len - (size_t)n, " conn %llu", (unsigned long long)f->conn);
	if (n > 0 && (size_t)n < len && f->sa_set)
		snprintf(buf + n, len - (size_t)n, " sa %u", f->sa_set);
	return buf;
}
