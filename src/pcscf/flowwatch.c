/*
 * flowwatch.c - the edge proxy notices a flow that went silent (RFC 5626).
 *
 * When the registrar's 2xx to an outbound registration carries Flow-Timer
 * F, the UE promises traffic on the flow at least every F seconds: its
 * keepalives (STUN over UDP, RFC 5626 4.4.1) if nothing else. The P-CSCF
 * cannot see STUN inside the transport, but it sees every ESP packet the
 * flow's inbound SAs accept, with either backend. So it reads those
 * counters: nothing new for F + pcscf.flow_grace means the flow has
 * failed. From then on a request for its flow token is answered 430 Flow
 * Failed (5.3), and the registrar, hearing the 430, stops routing to the
 * binding. The SAs stay until the registration ends (the S-CSCF's NOTIFY,
 * an expiry, or a new registration of the flow): failing a flow is a
 * routing decision, not a security one.
 *
 * Over TCP the keepalives are CRLF pings on the connection from port_uc
 * (4.4.1), which the counters see as well; and a protected connection of
 * the flow's established set that closes (the UE's stack reset it, a
 * connect of ours to port_us failed) fails the flow at once.
 *
 * A registration without Flow-Timer is not watched: without the
 * registrar's number there is no promise to hold the UE to.
 */
#define SLOG_COMPONENT "pcscf"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "core/log.h"
#include "pcscf/context.h"

static struct pcscf *owner(struct pcscf_reg *r)
{
	return (struct pcscf *)((char *)r->regs - offsetof(struct pcscf, regs));
}

/* Packets accepted by the inbound SAs of the flow's established set. */
static int inbound_packets(struct pcscf *pc, const struct pcscf_sa *sa, uint64_t *out)
{
	struct ipsec_sa_counters c[IPSEC_SET_SAS];
	int rc;

	*out = 0;
	rc = ipsec_backend_counters(pc->ipsec, sa->set_id, c);
	if (rc)
		return rc;
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++)
		if (sa->set.sa[i].dir == IPSEC_DIR_IN)
			*out += c[i].packets;
	return 0;
}

static uint64_t window_ms(const struct pcscf *pc, const struct pcscf_reg *r)
{
	return (uint64_t)r->flow_timer_s * 1000 + pc->cfg.flow_grace_ms;
}

static void flow_fail(struct pcscf *pc, struct pcscf_reg *r)
{
	r->flow_failed = true;
	pc->stats.flows_failed++;
	loop_timer_cancel(pc->loop, &r->watch);
}

static void on_watch(struct loop *loop, struct loop_timer *t)
{
	struct pcscf_reg *r = t->ctx;
	struct pcscf *pc = owner(r);
	uint64_t pkts;

	if (!pcscf_reg_usable(r) || !r->est || !r->est->set_id)
		return; /* ended or between sets: the next 2xx watches again */
	if (inbound_packets(pc, r->est, &pkts) != 0)
		return;
	if (r->est->set_id != r->watch_set || pkts != r->watch_pkts) {
		r->watch_set = r->est->set_id;
		r->watch_pkts = pkts;
		loop_timer_arm(loop, t, window_ms(pc, r));
		return;
	}
	flow_fail(pc, r);
	log_notice("flow %" PRIu64 " (%s, contact %s) failed: nothing over SA set %u for %" PRIu64
		   " s (Flow-Timer %u s + grace); requests for it now get 430 (RFC 5626 5.3)",
		   r->id, r->impi, r->contact ? r->contact : "-", r->est->set_id,
		   window_ms(pc, r) / 1000, r->flow_timer_s);
}

void pcscf_flow_watch(struct pcscf *pc, struct pcscf_reg *r, uint32_t flow_timer_s)
{
	if (!r->watch_ready) {
		loop_timer_init(&r->watch, on_watch, r);
		r->watch_ready = true;
	}
	r->flow_failed = false;
	r->flow_timer_s = flow_timer_s;
	if (!flow_timer_s || !r->est || !r->est->set_id) {
		loop_timer_cancel(pc->loop, &r->watch);
		return;
	}
	/* Counting starts now: what arrived before does not prove the flow alive. */
	r->watch_set = r->est->set_id;
	if (inbound_packets(pc, r->est, &r->watch_pkts) != 0)
		r->watch_pkts = 0;
	loop_timer_arm(pc->loop, &r->watch, window_ms(pc, r));
}

void pcscf_flow_unwatch(struct pcscf *pc, struct pcscf_reg *r)
{
	if (r->watch_ready)
		loop_timer_cancel(pc->loop, &r->watch);
}

void pcscf_flow_conn_closed(struct pcscf *pc, const struct sip_flow *flow, int err)
{
	uint32_t sa_set = flow->sa_set;
	struct pcscf_sa *sa = pcscf_sa_by_set(&pc->regs, sa_set);
	struct pcscf_reg *r = sa ? sa->reg : NULL;

	if (!r || r->est != sa || !r->flow_timer_s || r->flow_failed || !pcscf_reg_usable(r) ||
	    sip_sockaddr_port(&flow->local) != sa->set.p.server.port_s)
		return;
	flow_fail(pc, r);
	log_notice("flow %" PRIu64 " (%s, contact %s) failed: its TCP connection over SA set %u "
		   "closed (%s); requests for it now get 430 (RFC 5626 5.3)",
		   r->id, r->impi, r->contact ? r->contact : "-", sa_set, strerror(-err));
}
