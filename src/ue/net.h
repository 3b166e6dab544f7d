/*
 * net.h - the UE's environment on real sockets: one SIP stack for every
 * access, and the IPsec backend.
 *
 * Per access the stack has an unprotected listener on the access's
 * address and SIP port, and, while SA sets live, listeners on the
 * protected ports port_uc and port_us. With the xfrm backend those are
 * ordinary UDP or TCP sockets that the kernel protects; the set a message
 * came over is found from its addresses and ports (ipsec_sa_set_match()).
 *
 * `drop` closes the access's listeners and forgets its flows; its SAs are
 * deleted by the registration machine. Nothing is sent: the P-CSCF and the
 * S-CSCF keep their state until a request to the UE goes unanswered.
 */
#ifndef SIMREG_UE_NET_H
#define SIMREG_UE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "ipsec/backend.h"
#include "sip/stack.h"
#include "ue/context.h"

/* A protected listener of an access, shared by the sets that use its port. */
struct ue_net_port {
	uint16_t port;
	uint32_t tp;
	unsigned refs;
};

#define UE_NET_PORTS 6

struct ue_net_access {
	uint32_t tp; /* unprotected listener, 0 while the link is down */
	struct ue_net_port ports[UE_NET_PORTS];
};

struct ue_net {
	struct loop *loop;
	struct sip_stack *st;
	struct ipsec_backend *ipsec;
	struct ue *ue;
	struct ue_net_access acc[UE_MAX_ACCESSES];
	struct loop_io ipsec_io[4];
	size_t nipsec_io;
	struct loop_shutdown_hook hook;
	bool stopping;
};

extern const struct ue_env_ops ue_net_ops;

/*
 * ue_net_init
 *	Create the stack on `loop` (its shutdown hook is registered after
 *	net->hook, so the UE deregisters before the stack stops taking new
 *	transactions) and watch the IPsec backend's descriptors.
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
