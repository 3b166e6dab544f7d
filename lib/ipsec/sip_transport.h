/*
 * sip_transport.h - protected ports as SIP transports.
 *
 * The P-CSCF and the UE carry SIP over the four SAs of a registration
 * between their protected ports (sa.h): port_ps / port_pc at the P-CSCF,
 * port_uc / port_us at the UE. This module makes each protected port a
 * transport of a SIP transport set (sip/transport.h), so that transactions,
 * the stack and the proxy core use it like any UDP listener:
 *
 *   receive  a datagram that reached the port over one of our SAs is handed
 *            to sip_tpset_input() with a flow whose `sa_set` names the SA
 *            set it came over (and `local` / `remote` the inner addresses
 *            and ports); a datagram that came over no SA is dropped and
 *            counted (rx_dropped): a protected port takes protected traffic
 *            only, whatever the backend;
 *   send     sip_tpset_send() over a flow naming the port's transport (tp)
 *            goes out through the SA whose selectors match (local address
 *            and port, remote address and port); with no such SA nothing
 *            leaves, in the clear or otherwise (-ENOENT).
 *
 * Both backends look the same from here (backend.h endpoints): with xfrm a
 * port is a plain UDP socket bound to it, which the kernel's SAs and
 * policies protect; with the userspace backend it is a queue the backend
 * fills with what it decrypted from its raw ESP sockets. This module
 * attaches the backend to the set's event loop (ipsec_backend_attach()),
 * so that the userspace backend's raw sockets, and its TUN once made, are
 * served there.
 *
 * Transactions over a protected port run on the timers of TS 24.229 table
 * 7.7.1 (T1 2 s, T2 16 s, T4 17 s: sip_timers_ims_ue), which the UE and
 * the P-CSCF towards the UE use.
 *
 * TCP (33.203 7.1: the UE connects from port_uc to port_ps, the P-CSCF
 * from port_pc to port_us; responses go back on the connection of their
 * request) is lib/sip's TCP transport with a socket hook: a listener on
 * the server port (ipsec_sip_tcp_get()) whose sockets, and those of the
 * connections it opens from the client port (flow.local names port_c),
 * the SAs carry (ipsec_backend_tcp_bind()). Each connection is tagged
 * with the SA set whose selectors cover its addresses and ports
 * (flow.sa_set of what it delivers), once, when it is accepted or opened;
 * a connection no SA covers is refused when accepted (counted with the
 * unprotected drops) and not opened when asked for (-ENOENT). There is
 * no listener on the client port: Linux does not let a connection bind
 * the port of a listening socket.
 *
 * Ports are reference counted: the same local port may serve several SA
 * sets (one per peer address, and the port_s a re-registration keeps, see
 * alloc.h), so a port is opened by the first set that needs it and closed
 * when the last one lets go.
 *
 * Protected transports must only carry what an SA selects. A flow for an
 * unprotected destination should name its transport (flow.tp) or a local
 * address that is not a protected one: sip_tpset_select() picks, among
 * transports of equal fit, the one added first, so listeners opened before
 * any protected port win an unqualified choice.
 *
 * Everything runs on the loop thread of the transport set.
 */
#ifndef SIMREG_IPSEC_SIP_TRANSPORT_H
#define SIMREG_IPSEC_SIP_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "ipsec/backend.h"
#include "ipsec/sa.h"
#include "sip/flow.h"
#include "sip/transport.h"

struct ipsec_sip;

/* Datagrams read per wake-up of one port before the loop serves others. */
#define IPSEC_SIP_BATCH 64

/*
 * ipsec_sip_create
 *	Tie a backend to a transport set.
 *	b    : the backend; borrowed, must outlive *out
 *	set  : the SIP transport set; borrowed, must outlive *out
 *	       (destroy *out before the set, or the set first: both work
	       when only UDP ports were opened; with TCP ports, *out first)
 * Returns 0 with *out, -ENOMEM, -EEXIST (the backend is attached to a loop
 * already: one ipsec_sip per backend), or the loop's error adding the
 * backend's descriptors.
 */
int ipsec_sip_create(struct ipsec_sip **out, struct ipsec_backend *b, struct sip_tpset *set);

/*
 * Close every port still open (each leaves the transport set) and stop
 * watching the backend. NULL is a no-op.
 */
void ipsec_sip_destroy(struct ipsec_sip *is);

/*
 * ipsec_sip_port_get
 *	Take a reference on the protected port local:port, opening it (an
 *	endpoint of the backend, a transport in the set) on first use.
 *	tp  : receives the transport id (flow.tp for sends); may be NULL
 * Returns 0, or the error of opening it: -EADDRINUSE (the port is bound by
 * someone else), -EAFNOSUPPORT (the backend has no socket of that family),
 * -ENOMEM.
 */
int ipsec_sip_port_get(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port,
		       uint32_t *tp);

/*
 * Drop a reference taken with ipsec_sip_port_get(); the last one closes the
 * port. Returns 0 or -ENOENT (not open).
 */
int ipsec_sip_port_put(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port);

/* The transport id of an open port, or 0. */
uint32_t ipsec_sip_port_tp(const struct ipsec_sip *is, const struct ipsec_addr *local,
			   uint16_t port);

/* References held on a port (0 when it is not open). */
unsigned ipsec_sip_port_refs(const struct ipsec_sip *is, const struct ipsec_addr *local,
			     uint16_t port);

/* Ports open. */
unsigned ipsec_sip_port_count(const struct ipsec_sip *is);

/* True if transport `tp` of the set is one of this module's protected ports. */
bool ipsec_sip_is_protected(const struct ipsec_sip *is, uint32_t tp);

/*
 * Datagrams that reached a protected port over no SA and were dropped, and
 * TCP connections to one that no SA covers, refused.
 */
uint64_t ipsec_sip_unprotected_drops(const struct ipsec_sip *is);

/* ---- TCP ----------------------------------------------------------------- */

/*
 * ipsec_sip_tcp_get
 *	Take a reference on the protected TCP listener on the server port
 *	local:port (port_ps, port_us), opening it on first use: a TCP
 *	transport of the set whose listener, accepted connections and
 *	connections opened from a client port the SAs carry (see above).
 *	Send over it with flow.tp = *tp, flow.local naming local's address
 *	and the client port (port_pc, port_uc), flow.remote the peer's
 *	server port. Counted per address and port, apart from the UDP ports.
 *	tp  : receives the transport id; may be NULL
 * Returns 0, -ENOTSUP (the userspace backend has no TUN device for TCP),
 * -EADDRINUSE, -ENOMEM, or another error of opening the listener.
 */
int ipsec_sip_tcp_get(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port,
		      uint32_t *tp);

/*
 * Drop a reference from ipsec_sip_tcp_get(); the last one closes the
 * listener with its connections. Returns 0 or -ENOENT (not open).
 */
int ipsec_sip_tcp_put(struct ipsec_sip *is, const struct ipsec_addr *local, uint16_t port);

/* The transport id of an open TCP listener, or 0; its references. */
uint32_t ipsec_sip_tcp_tp(const struct ipsec_sip *is, const struct ipsec_addr *local,
			  uint16_t port);
unsigned ipsec_sip_tcp_refs(const struct ipsec_sip *is, const struct ipsec_addr *local,
			    uint16_t port);

/*
 * Close every protected TCP connection tagged with SA set set_id (the set
 * is going away: call it before removing the SAs, so that the FIN still
 * leaves through them). The set's receiver hears nothing of these.
 *   vanish  true: no FIN, no RST, the connections just go (a link that
 *           went away; sip_tpset_drop_sa_set())
 * Returns how many were closed.
 */
unsigned ipsec_sip_tcp_drop_set(struct ipsec_sip *is, uint32_t set_id, bool vanish);

/* ---- addresses ----------------------------------------------------------- */

/* An ipsec_addr and port as a socket address; and back (-EAFNOSUPPORT). */
void ipsec_addr_to_sockaddr(const struct ipsec_addr *a, uint16_t port, union sip_sockaddr *out);
int ipsec_addr_from_sockaddr(const union sip_sockaddr *sa, struct ipsec_addr *out,
			     uint16_t *port);

#endif
