/*
 * flow.h - socket addresses, and the flow: where a SIP message came from and
 * how to answer it.
 *
 * A flow is a value (copy it freely): the transport that carried the
 * message, the local and remote address, the stream connection for TCP, and
 * room for what later layers attach:
 *
 *   sa_set   the IPsec SA set a protected message arrived over (P-CSCF) or
 *            must leave over. With kernel (xfrm) protection the protected
 *            ports are ordinary listeners, so the transport and the ports
 *            already say it; the P-CSCF writes the set id here so that the
 *            registration that owns the set can be found without a lookup.
 *   token    an RFC 5626 flow token (section 5.2): opaque bytes an edge
 *            proxy puts in Path / Record-Route and that name this flow when
 *            they come back. The transport layer carries it; the P-CSCF
 *            computes and checks it.
 *
 * Nothing in a flow points at memory: the transport and the connection are
 * named by ids, so a flow kept in a registration after its connection died
 * is harmless (sending over it fails with -ENOTCONN, or opens a new
 * connection when the caller allows it).
 */
#ifndef SIMREG_SIP_FLOW_H
#define SIMREG_SIP_FLOW_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/str.h"
#include "sip/hdr.h"

/* ------------------------------------------------------------------ */
/* Socket addresses                                                   */

/* An IPv4 or IPv6 address with a port; sa.sa_family AF_UNSPEC = none. */
union sip_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* Room for "[" IPv6 "%scope]:65535" and the NUL. */
#define SIP_SOCKADDR_STRLEN 64

/* sizeof the family's struct, 0 for AF_UNSPEC. */
socklen_t sip_sockaddr_len(const union sip_sockaddr *a);

static inline bool sip_sockaddr_is_set(const union sip_sockaddr *a)
{
	return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

uint16_t sip_sockaddr_port(const union sip_sockaddr *a);
void sip_sockaddr_set_port(union sip_sockaddr *a, uint16_t port);

/* The wildcard address (0.0.0.0 / ::) of a family, port 0. */
void sip_sockaddr_any(union sip_sockaddr *a, int family);
bool sip_sockaddr_is_any(const union sip_sockaddr *a);

/* Same family, address and port (scope id included for IPv6). */
bool sip_sockaddr_equal(const union sip_sockaddr *a, const union sip_sockaddr *b);
/* Same family and address, ports ignored. */
bool sip_sockaddr_same_host(const union sip_sockaddr *a, const union sip_sockaddr *b);

/*
 * Parse "198.18.0.1:5060", "[2001:db8::1]:5060", "198.18.0.1",
 * "[2001:db8::1]" or "2001:db8::1" (numeric only, no name resolution).
 *   default_port  used when the text has no port
 * Returns 0, or -EINVAL for anything else (a name, a port above 65535).
 */
int sip_sockaddr_parse(struct str text, uint16_t default_port, union sip_sockaddr *out);

/*
 * An address from a host as written in a Via or a SIP URI ("198.18.0.1",
 * "[2001:db8::1]"; an IPv6 received= value may come without brackets).
 * Returns 0, -EINVAL for a malformed literal, -EHOSTUNREACH for a host
 * name: simreg resolves no names on its own (see sip_stack_config.resolve).
 */
int sip_sockaddr_from_host(struct str host, uint16_t port, union sip_sockaddr *out);

/*
 * Print "198.18.0.1:5060" / "[2001:db8::1]:5060" into buf (NUL-terminated,
 * truncated if too small; SIP_SOCKADDR_STRLEN always fits). Returns buf, so
 * it can sit in a printf argument list. AF_UNSPEC prints "-".
 */
const char *sip_sockaddr_str(const union sip_sockaddr *a, char *buf, size_t len);

/*
 * Print the host only, as Via sent-by and SIP URIs want it: "198.18.0.1" or
 * "[2001:db8::1]" (brackets when `brackets`; RFC 3261 received= takes the
 * IPv6 address without them). Returns the length written, or -ENOSPC.
 */
int sip_sockaddr_host(const union sip_sockaddr *a, bool brackets, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Flows                                                              */

#define SIP_FLOW_TOKEN_MAX 48

struct sip_flow_token {
	uint8_t len; /* 0: none */
	uint8_t b[SIP_FLOW_TOKEN_MAX];
};

struct sip_flow {
	/* What the Via of a message over this flow says: UDP, TCP ... */
	enum sip_transport proto;
	/*
	 * The transport (listener) id in the transport set; 0 on an outgoing
	 * flow = "any transport of `proto` that fits the remote family (and
	 * `local`, when set)".
	 */
	uint32_t tp;
	/*
	 * Stream connection id; 0 = none (datagram), or on an outgoing flow
	 * "reuse a connection to `remote` or open one".
	 */
	uint64_t conn;
	/*
	 * Local address and port; AF_UNSPEC on an outgoing flow = the
	 * transport's. A set port sends from that port (a protected client
	 * port: the transport bound to it is used, or for TCP the connection
	 * is bound to it).
	 */
	union sip_sockaddr local;
	union sip_sockaddr remote;
	uint32_t sa_set; /* IPsec SA set id, 0 = unprotected */
	/*
	 * Outgoing: `conn` must be used as it is; if that connection is gone
	 * the send fails with -ENOTCONN instead of opening a new one (an RFC
	 * 5626 flow: the UE must see 430, not a connection from us).
	 */
	bool strict;
	struct sip_flow_token token;
};

/* Zero a flow (proto SIP_TRANSPORT_OTHER, no addresses, no ids). */
void sip_flow_init(struct sip_flow *f);

/*
 * An outgoing flow to `remote` over `proto`, everything else left to the
 * transport set to choose.
 */
void sip_flow_to(struct sip_flow *f, enum sip_transport proto, const union sip_sockaddr *remote);

/*
 * True if a and b are the same flow: protocol, transport, connection,
 * addresses, SA set. The token is not compared (it names the flow, it is
 * not part of it).
 */
bool sip_flow_same(const struct sip_flow *a, const struct sip_flow *b);

/* Protocol name for logs and Via: "UDP", "TCP" ...; "?" when unknown. */
const char *sip_transport_name(enum sip_transport proto);

/* "UDP" / "udp" (any case) -> SIP_TRANSPORT_UDP ...; SIP_TRANSPORT_OTHER if unknown. */
enum sip_transport sip_transport_lookup(struct str name);

/*
 * One line for logs: "udp 198.18.0.1:5060 <> 198.18.0.2:5062 tp 1 conn 7
 * sa 3". Returns buf (NUL-terminated, truncated when len is short; 160
 * bytes always fit).
 */
#define SIP_FLOW_STRLEN 160
const char *sip_flow_str(const struct sip_flow *f, char *buf, size_t len);

#endif
