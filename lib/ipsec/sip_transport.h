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
 * Only UDP is carried here. (Both backends carry TCP between protected
 * ports, see ipsec_backend_tcp_bind(); SIP transports over it are not
 * made yet.)
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
 *	       (destroy *out before the set, or the set first: both work)
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

/* Datagrams that reached a protected port over no SA and were dropped. */
uint64_t ipsec_sip_unprotected_drops(const struct ipsec_sip *is);

/* ---- addresses ----------------------------------------------------------- */

/* An ipsec_addr and port as a socket address; and back (-EAFNOSUPPORT). */
void ipsec_addr_to_sockaddr(const struct ipsec_addr *a, uint16_t port, union sip_sockaddr *out);
int ipsec_addr_from_sockaddr(const union sip_sockaddr *sa, struct ipsec_addr *out,
			     uint16_t *port);

#endif
