/*
 * net.c - the UE over the SIP stack and the IPsec backend.
 */
#define SLOG_COMPONENT "ue"
#include "ue/net.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "core/log.h"
#include "sip/print.h"
#include "sip/stun.h"
#include "ue/msg.h"

static struct ue_net_access *nacc(struct ue_net *net, const struct ue_access *a)
{
	return &net->acc[a->n - 1];
}

/* ---- protected ports ---------------------------------------------------- */

static int port_get(struct ue_net *net, struct ue_access *a, uint16_t port)
{
	int rc = ipsec_sip_port_get(net->ports, &a->local_ip, port, NULL);

	if (rc)
		log_error("%s: cannot open protected port %u: %s", a->cfg.name, port,
			  strerror(-rc));
	return rc;
}

static void port_put(struct ue_net *net, struct ue_access *a, uint16_t port)
{
	ipsec_sip_port_put(net->ports, &a->local_ip, port);
}

/* The keepalive of the access is over: answered, replaced, or its flow gone. */
static void ka_stop(struct ue_net *net, struct ue_net_access *na)
{
	na->ka_pending = false;
	loop_timer_cancel(net->loop, &na->ka_rtx);
}

static struct ue_access *access_of_flow(struct ue_net *net, const struct sip_flow *f)
{
	struct ipsec_addr local;

	if (!net->ue || ipsec_addr_from_sockaddr(&f->local, &local, NULL))
		return NULL;
	return ue_access_by_local(net->ue, &local);
}

/* ---- the environment ---------------------------------------------------- */

static void on_client_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			       struct sip_rx *rx);
static void on_client_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			      int err);

static const struct sip_client_ops client_ops = {
	.response = on_client_response,
	.failure = on_client_failure,
};

static bool over_tcp(const struct ue_access *a)
{
	return a->cfg.proto == SIP_TRANSPORT_TCP;
}

/*
 * Where a request of access a goes: from its listener to the P-CSCF's SIP
 * port, or over SA1 from port_uc to port_ps in the access's transport
 * (33.203 7.1). UDP leaves from the port_uc socket; TCP from a connection
 * bound to port_uc that the port_us listener opens (or reuses: one per
 * SA set), since a listening socket on port_uc would keep it from binding.
 */
static void dest_flow(struct ue_net *net, struct ue_access *a, const struct ue_sa *sa,
		      struct sip_flow *f)
{
	union sip_sockaddr remote = a->cfg.pcscf;

	if (!sa) {
		sip_flow_to(f, a->cfg.proto, &remote);
		f->tp = nacc(net, a)->tp;
		f->local = a->cfg.local;
		return;
	}
	sip_sockaddr_set_port(&remote, sa->set.p.server.port_s);
	sip_flow_to(f, a->cfg.proto, &remote);
	if (over_tcp(a))
		f->tp = ipsec_sip_tcp_tp(net->ports, &a->local_ip, sa->set.p.client.port_s);
	else
		f->tp = ipsec_sip_port_tp(net->ports, &a->local_ip, sa->set.p.client.port_c);
	f->local = a->cfg.local;
	sip_sockaddr_set_port(&f->local, sa->set.p.client.port_c);
}

static int net_send(void *ctx, struct ue_access *a, const struct ue_sa *sa, struct str msg,
		    uint64_t ref)
{
	struct ue_net *net = ctx;
	struct sip_client_req req;

	if (!nacc(net, a)->tp)
		return -ENETDOWN;
	memset(&req, 0, sizeof(req));
	req.msg = msg;
	dest_flow(net, a, sa, &req.dest);
	if (!req.dest.tp)
		return -ENETDOWN;
	req.ops = &client_ops;
	req.ctx = net;
	req.ref = ref;
	return sip_client_txn_start(net->st, &req, NULL);
}

static int net_sa_install(void *ctx, struct ue_access *a, struct ue_sa *sa)
{
	struct ue_net *net = ctx;
	uint16_t port_uc = sa->set.p.client.port_c, port_us = sa->set.p.client.port_s;
	int rc;

	rc = port_get(net, a, port_uc);
	if (rc)
		return rc;
	rc = port_get(net, a, port_us);
	if (rc)
		goto put_uc;
	if (over_tcp(a)) {
		/* The P-CSCF connects to port_us; we connect from port_uc through it. */
		rc = ipsec_sip_tcp_get(net->ports, &a->local_ip, port_us, NULL);
		if (rc) {
			log_error("%s: cannot listen on protected TCP port %u: %s", a->cfg.name,
				  port_us, strerror(-rc));
			goto put_us;
		}
	}
	rc = ipsec_backend_install(net->ipsec, &sa->set);
	if (rc) {
		log_error("%s: SA set not installed: %s", a->cfg.name, strerror(-rc));
		goto put_tcp;
	}
	return 0;
put_tcp:
	if (over_tcp(a))
		ipsec_sip_tcp_put(net->ports, &a->local_ip, port_us);
put_us:
	port_put(net, a, port_us);
put_uc:
	port_put(net, a, port_uc);
	return rc;
}

static void net_sa_remove(void *ctx, struct ue_access *a, struct ue_sa *sa)
{
	struct ue_net *net = ctx;
	int rc;

	/*
	 * Our connections of the set first, while the SAs still carry their
	 * FIN; after `drop` (the link is down) they vanish without a packet,
	 * as they would with the link: the P-CSCF learns it from silence.
	 */
	ipsec_sip_tcp_drop_set(net->ports, sa->set.id, !a->link_up);
	rc = ipsec_backend_remove(net->ipsec, sa->set.id);
	if (rc)
		log_warn("%s: SA set %u not removed: %s", a->cfg.name, sa->set.id, strerror(-rc));
	if (nacc(net, a)->ka_port_uc == sa->set.p.client.port_c)
		ka_stop(net, nacc(net, a));
	port_put(net, a, sa->set.p.client.port_c);
	port_put(net, a, sa->set.p.client.port_s);
	if (over_tcp(a))
		ipsec_sip_tcp_put(net->ports, &a->local_ip, sa->set.p.client.port_s);
}

/* RFC 5389 7.2.1: RTO 500 ms doubling, Rc = 7 requests in all. */
#define KA_RTO_MS 500
#define KA_SENDS 7

static int ka_send(struct ue_net *net, struct ue_access *a)
{
	struct ue_net_access *na = nacc(net, a);
	uint8_t stun[SIP_STUN_HDR];
	struct sip_flow f;
	size_t n;

	dest_flow(net, a, &a->sec.est, &f);
	if (!f.tp)
		return -ENETDOWN;
	na->ka_sends++;
	if (over_tcp(a)) {
		int rc;

		/*
		 * RFC 5626 4.4.1: a CRLFCRLF ping on the flow's connection
		 * from port_uc (the one our requests use); the pong must come
		 * back on it.
		 */
		rc = sip_stack_send_raw(net->st, &f, STR_LIT("\r\n\r\n"));
		na->ka_conn = f.conn;
		return rc;
	}
	n = sip_stun_request(stun, na->ka_txid);
	return sip_stack_send_raw(net->st, &f, str_make((const char *)stun, n));
}

static void on_ka_rtx(struct loop *loop, struct loop_timer *t)
{
	struct ue_net_access *na = t->ctx;

	if (!na->ka_pending || na->ka_sends >= KA_SENDS || !na->a->sec.est.live ||
	    na->a->sec.est.set.p.client.port_c != na->ka_port_uc)
		return;
	if (ka_send(na->net, na->a) == 0) {
		na->ka_rto_ms *= 2;
		loop_timer_arm(loop, &na->ka_rtx, na->ka_rto_ms);
	}
}

/*
 * RFC 5626 4.4: a keepalive over the flow from port_uc to port_ps. On UDP
 * a STUN binding request (4.4.2), retransmitted until answered; on TCP a
 * CRLFCRLF ping (4.4.1) on the flow's connection, answered by a CRLF pong.
 * The answer comes back through the stack's keepalive callback
 * (on_keepalive below), which tells the UE; the UE judges the flow by its
 * own timeout (ue.keepalive.timeout).
 */
static int net_keepalive(void *ctx, struct ue_access *a, const struct ue_sa *sa)
{
	struct ue_net *net = ctx;
	struct ue_net_access *na = nacc(net, a);
	int rc;

	if (sa != &a->sec.est)
		return -EINVAL;
	ka_stop(net, na);
	na->ka_port_uc = sa->set.p.client.port_c;
	na->ka_sends = 0;
	if (over_tcp(a)) {
		rc = ka_send(net, a);
		if (rc)
			return rc;
		na->ka_pending = true;
		return 0;
	}
	ue_random(net->ue, na->ka_txid, sizeof(na->ka_txid));
	na->ka_rto_ms = KA_RTO_MS;
	rc = ka_send(net, a);
	if (rc)
		return rc;
	na->ka_pending = true;
	loop_timer_arm(net->loop, &na->ka_rtx, na->ka_rto_ms);
	return 0;
}

static int listen_unprotected(struct ue_net *net, struct ue_access *a)
{
	char addr[SIP_SOCKADDR_STRLEN];
	struct sip_listen l;
	int rc;

	memset(&l, 0, sizeof(l));
	l.proto = a->cfg.proto;
	l.addr = a->cfg.local;
	rc = sip_stack_listen(net->st, &l, &nacc(net, a)->tp);
	if (rc)
		log_error("%s: cannot listen on %s: %s", a->cfg.name,
			  sip_sockaddr_str(&l.addr, addr, sizeof(addr)), strerror(-rc));
	return rc;
}

static int net_link(void *ctx, struct ue_access *a, bool up)
{
	struct ue_net *net = ctx;
	struct ue_net_access *na = nacc(net, a);

	if (up)
		return na->tp ? 0 : listen_unprotected(net, a);
	/* The SA sets are gone already (reg.c), and with them the protected ports. */
	if (na->tp)
		sip_stack_unlisten(net->st, na->tp);
	na->tp = 0;
	return 0;
}

const struct ue_env_ops ue_net_ops = {
	.send = net_send,
	.sa_install = net_sa_install,
	.sa_remove = net_sa_remove,
	.keepalive = net_keepalive,
	.link = net_link,
};

/* ---- what the stack reports --------------------------------------------- */

static void check_stopped(struct ue_net *net)
{
	if (net->stopping && !ue_busy(net->ue)) {
		net->stopping = false;
		loop_shutdown_done(net->loop, &net->hook);
	}
}

static void on_client_response(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			       struct sip_rx *rx)
{
	struct ue_net *net = ctx;

	if (rx->msg->status < 200)
		return;
	ue_on_response(net->ue, ref, rx->msg, rx->flow.sa_set);
	check_stopped(net);
}

static void on_client_failure(struct sip_stack *st, void *ctx, sip_txn_id id, uint64_t ref,
			      int err)
{
	struct ue_net *net = ctx;

	ue_on_failure(net->ue, ref, err);
	check_stopped(net);
}

static void on_request(struct sip_stack *st, void *ctx, sip_txn_id stx, struct sip_rx *rx)
{
	struct ue_net *net = ctx;
	struct ue_access *a = access_of_flow(net, &rx->flow);
	struct ue_reply rep;
	char contact[256];
	struct buf b;
	int rc;

	if (!stx)
		return; /* ACK for a 2xx: nothing to do, no dialog state kept */
	if (!a) {
		sip_server_txn_respond(st, stx, 404, STR_NULL);
		return;
	}
	ue_on_request(net->ue, a, rx->msg, rx->flow.sa_set, &rep);
	if (!rep.code)
		return;
	buf_init(&b);
	rc = sip_server_txn_response_start(st, stx, &b, rep.code, str_from_cstr(rep.reason));
	if (rc == 0) {
		if (rep.contact && ue_contact_uri(a, contact, sizeof(contact)) > 0)
			buf_printf(&b, "Contact: <%s>\r\n", contact);
		if (rep.allow)
			buf_puts(&b, "Allow: " UE_ALLOW "\r\n");
		sip_print_body(&b, STR_NULL, STR_NULL);
		rc = buf_error(&b);
	}
	if (rc == 0)
		rc = sip_server_txn_send(st, stx, buf_str(&b));
	if (rc)
		log_warn("%s: no answer sent to %.*s: %s", a->cfg.name,
			 STR_FMT(rx->msg->method_name), strerror(-rc));
	buf_free(&b);
}

/*
 * A protected TCP connection broke (RFC 5626 4.4: the flow failed). Only
 * the flow's own connection counts, ours from port_uc to port_ps of the
 * established set, which the keepalives keep busy: one of a set already
 * replaced (the P-CSCF closes those) is no news, nor the P-CSCF's
 * connection to port_us going away (idle: its next request opens another).
 */
static void on_flow_failure(struct sip_stack *st, void *ctx, const struct sip_flow *flow, int err)
{
	struct ue_net *net = ctx;
	struct ue_access *a = access_of_flow(net, flow);
	struct ue_reg_input in = { .err = err };

	if (!a || !flow->sa_set || !a->sec.est.live || flow->sa_set != a->sec.est.set.id ||
	    sip_sockaddr_port(&flow->local) != a->sec.est.set.p.client.port_c)
		return;
	log_warn("%s: protected TCP connection of SA set %u closed (%s): flow failed",
		 a->cfg.name, flow->sa_set, strerror(-err));
	if (nacc(net, a)->ka_conn == flow->conn)
		ka_stop(net, nacc(net, a));
	if (ue_reg_accepts(a->reg.state, UE_REG_EV_FLOW_FAIL))
		ue_reg_event(net->ue, a, UE_REG_EV_FLOW_FAIL, &in);
}

/*
 * The answer to a keepalive: a CRLF pong on the connection the ping left
 * on (RFC 5626 4.4.1), or a STUN binding response over the access's
 * protected flow with the transaction id we sent (4.4.2). An error
 * response is an answer too: the P-CSCF is there.
 */
static void on_keepalive(struct sip_stack *st, void *ctx, const struct sip_keepalive *ka)
{
	struct ue_net *net = ctx;
	struct ue_access *a = access_of_flow(net, &ka->flow);
	struct ue_net_access *na;

	if (!a)
		return;
	na = nacc(net, a);
	if (ka->kind == SIP_KEEPALIVE_PONG) {
		if (!na->ka_pending || !over_tcp(a) || ka->flow.conn != na->ka_conn) {
			log_debug("%s: CRLF pong to no ping of ours", a->cfg.name);
			return;
		}
		ka_stop(net, na);
		ue_on_keepalive(net->ue, a, NULL);
		return;
	}
	if (ka->kind != SIP_KEEPALIVE_STUN)
		return;
	if (!na->ka_pending || memcmp(ka->txid, na->ka_txid, sizeof(na->ka_txid)) ||
	    sip_sockaddr_port(&ka->flow.local) != na->ka_port_uc) {
		log_debug("%s: STUN response to no keepalive of ours", a->cfg.name);
		return;
	}
	ka_stop(net, na);
	if (ka->stun_status == -EPROTO)
		log_info("%s: keepalive answered with a STUN error response", a->cfg.name);
	ue_on_keepalive(net->ue, a, ka->stun_status == 0 ? &ka->mapped : NULL);
}

static const struct sip_tu_ops tu_ops = {
	.request = on_request,
	.flow_failure = on_flow_failure,
	.keepalive = on_keepalive,
};

/* ---- life --------------------------------------------------------------- */

/* Shutdown: deregister every access before the stack refuses new transactions. */
static int shutdown_begin(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct ue_net *net = h->ctx;

	if (!net->ue || ue_stop(net->ue) == 0)
		return 0;
	log_info("shutdown: deregistering");
	net->stopping = true;
	return LOOP_SHUTDOWN_PENDING;
}

int ue_net_init(struct ue_net *net, struct loop *loop, const struct sip_stack_config *cfg,
		struct ipsec_backend *ipsec)
{
	int rc;

	memset(net, 0, sizeof(*net));
	net->loop = loop;
	net->ipsec = ipsec;
	net->hook.name = "ue deregistration";
	net->hook.begin = shutdown_begin;
	net->hook.ctx = net;
	loop_on_shutdown(loop, &net->hook);
	rc = sip_stack_create(&net->st, loop, cfg, &tu_ops, net);
	if (rc)
		goto fail;
	rc = ipsec_sip_create(&net->ports, ipsec, sip_stack_transports(net->st));
	if (rc)
		goto fail;
	return 0;
fail:
	ue_net_fini(net);
	return rc;
}

int ue_net_attach(struct ue_net *net, struct ue *ue)
{
	net->ue = ue;
	for (size_t i = 0; i < ue->nacc; i++) {
		struct ue_net_access *na = &net->acc[i];
		int rc;

		na->net = net;
		na->a = &ue->acc[i];
		loop_timer_init(&na->ka_rtx, on_ka_rtx, na);
		rc = listen_unprotected(net, &ue->acc[i]);

		if (rc)
			return rc;
	}
	return 0;
}

void ue_net_fini(struct ue_net *net)
{
	for (size_t i = 0; i < UE_MAX_ACCESSES; i++)
		if (net->acc[i].net)
			ka_stop(net, &net->acc[i]);
	ipsec_sip_destroy(net->ports);
	net->ports = NULL;
	sip_stack_destroy(net->st);
	net->st = NULL;
	loop_shutdown_hook_remove(net->loop, &net->hook);
}

int ue_net_resolve(struct ue_access_config *acc, char *why, size_t whylen)
{
	struct ifaddrs *ifs, *i;
	int family = acc->pcscf.sa.sa_family;
	int rc = -ENOENT;

	if (!acc->ifname[0])
		return 0;
	if (getifaddrs(&ifs) < 0) {
		rc = -errno;
		snprintf(why, whylen, "getifaddrs: %s", strerror(errno));
		return rc;
	}
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, acc->ifname))
			continue;
		memset(&acc->local, 0, sizeof(acc->local));
		memcpy(&acc->local, i->ifa_addr,
		       family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&acc->local.in6.sin6_addr))
			continue;
		sip_sockaddr_set_port(&acc->local, 5060);
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	if (rc)
		snprintf(why, whylen, "access %s: interface %s has no %s address", acc->name,
			 acc->ifname, family == AF_INET ? "IPv4" : "IPv6");
	return rc;
}
