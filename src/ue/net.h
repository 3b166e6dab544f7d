/*
 * net.h - the UE's environment on real sockets: one SIP stack for every
 * access, and the IPsec backend.
 *
 * Per access the stack has an unprotected listener on the access's
 * address and SIP port, and, while SA sets live, the protected ports
 * port_uc and port_us as transports of lib/ipsec (sip_transport.h): with
 * the userspace backend simreg's own ESP, with xfrm sockets the kernel
 * protects. They carry the access's transport: UDP, or TCP (a listener on
 * port_us, our connection from port_uc to port_ps), and they name the SA
 * set every message came over.
 *
 * `drop` closes the access's listeners and forgets its flows; its SAs are
 * deleted by the registration machine, its TCP connections vanish without
 * a FIN. Nothing is sent: the P-CSCF and the S-CSCF keep their state until
 * a request to the UE goes unanswered or the flow falls silent.
 */
#ifndef SIMREG_UE_NET_H
#define SIMREG_UE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "ipsec/backend.h"
#include "ipsec/sip_transport.h"
#include "sip/stack.h"
#include "ue/context.h"

struct ue_net_access {
	struct ue_net *net;
	struct ue_access *a;
	uint32_t tp; /* unprotected listener, 0 while the link is down */
	/*
	 * The keepalive in flight from port_uc to port_ps: on UDP a STUN
	 * binding request (RFC 5626 4.4.2), retransmitted as RFC 5389 7.2.1
	 * says until it is answered, replaced, or its SA set goes; on TCP a
	 * CRLFCRLF ping (4.4.1) on connection ka_conn, sent once.
	 */
	bool ka_pending;
	uint64_t ka_conn;     /* TCP: the connection the CRLFCRLF ping went on */
	uint8_t ka_txid[12];
	uint16_t ka_port_uc;
	unsigned ka_sends;
	uint64_t ka_rto_ms;
	struct loop_timer ka_rtx;
};

struct ue_net {
	struct loop *loop;
	struct sip_stack *st;
	struct ipsec_backend *ipsec;
	struct ipsec_sip *ports; /* the protected ports */
	struct ue *ue;
	struct ue_net_access acc[UE_MAX_ACCESSES];
	struct loop_shutdown_hook hook;
	bool stopping;
};

extern const struct ue_env_ops ue_net_ops;

/*
 * ue_net_init
 *	Create the stack on `loop` (its shutdown hook is registered after
 *	net->hook, so the UE deregisters before the stack stops taking new
 *	transactions) and tie the IPsec backend to its transports.
 *	cfg   : stack configuration
 *	ipsec : the opened backend; owned by the caller
 * Returns 0 or a negative errno.
 */
int ue_net_init(struct ue_net *net, struct loop *loop, const struct sip_stack_config *cfg,
		struct ipsec_backend *ipsec);

/* Open the unprotected listener of every access of ue (ue_create()d with net as context). */
int ue_net_attach(struct ue_net *net, struct ue *ue);

/* Stop watching, destroy the stack. The UE must be destroyed first. */
void ue_net_fini(struct ue_net *net);

/*
 * Resolve `interface=` accesses: the first address of the interface in the
 * P-CSCF's family, port 5060. Returns 0, or -ENOENT with the reason in why.
 */
int ue_net_resolve(struct ue_access_config *acc, char *why, size_t whylen);

#endif
