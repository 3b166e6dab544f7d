/*
 * ipsec.c - the P-CSCF's SA sets in lib/ipsec: a set goes into the backend
 * and its two protected ports (port_pc, port_ps) into the SIP transport set
 * as transports (ipsec/sip_transport.h); removal undoes both.
 *
 * Ports are shared: port_ps stays the same across re-authentications of a
 * flow, and the same port numbers serve sets towards other UE addresses,
 * so each set holds a reference on its two ports.
 *
 * When the P-CSCF listens on TCP itself, UEs may choose TCP (33.203 7.1:
 * the UE connects from port_uc to port_ps, we from port_pc to port_us),
 * so each set also holds a reference on a protected TCP listener on
 * port_ps; removing the set closes its connections first.
 */
#define SLOG_COMPONENT "pcscf"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "pcscf/context.h"

static int take_tcp(struct pcscf *pc, struct pcscf_sa *sa)
{
	int rc;

	sa->tp_tcp = 0;
	if (!pc->protected_tcp || pc->tcp_unavailable)
		return 0;
	rc = ipsec_sip_tcp_get(pc->ports, &sa->set.p.pcscf, sa->set.p.server.port_s, &sa->tp_tcp);
	if (rc == -ENOTSUP) {
		/* The userspace backend without its TUN: UDP still works. */
		log_warn("no protected TCP (ipsec.tun): UEs registering over TCP will not reach "
			 "their protected port; SA sets get UDP ports only from now on");
		pc->tcp_unavailable = true;
		return 0;
	}
	return rc;
}

static int take_ports(struct pcscf *pc, struct pcscf_sa *sa)
{
	const struct ipsec_addr *local = &sa->set.p.pcscf;
	int rc;

	rc = ipsec_sip_port_get(pc->ports, local, sa->set.p.server.port_c, &sa->tp_pc);
	if (rc)
		return rc;
	rc = ipsec_sip_port_get(pc->ports, local, sa->set.p.server.port_s, &sa->tp_ps);
	if (rc)
		goto put_pc;
	rc = take_tcp(pc, sa);
	if (rc)
		goto put_ps;
	return 0;
put_ps:
	ipsec_sip_port_put(pc->ports, local, sa->set.p.server.port_s);
	sa->tp_ps = 0;
put_pc:
	ipsec_sip_port_put(pc->ports, local, sa->set.p.server.port_c);
	sa->tp_pc = 0;
	return rc;
}

static void drop_ports(struct pcscf *pc, struct pcscf_sa *sa)
{
	const struct ipsec_addr *local = &sa->set.p.pcscf;

	if (sa->tp_pc)
		ipsec_sip_port_put(pc->ports, local, sa->set.p.server.port_c);
	if (sa->tp_ps)
		ipsec_sip_port_put(pc->ports, local, sa->set.p.server.port_s);
	if (sa->tp_tcp)
		ipsec_sip_tcp_put(pc->ports, local, sa->set.p.server.port_s);
	sa->tp_pc = sa->tp_ps = sa->tp_tcp = 0;
}

static void log_set(const char *what, const struct pcscf_sa *sa)
{
	char ue[IPSEC_ADDR_STRLEN];
	const struct ipsec_set_params *p = &sa->set.p;

	log_info("flow %" PRIu64 " (%s): SA set %u %s: ue %s port_uc %u port_us %u spi_uc "
		 "0x%08x spi_us 0x%08x, pcscf port_pc %u port_ps %u spi_pc 0x%08x spi_ps 0x%08x",
		 sa->reg->id, sa->reg->impi, sa->set_id, what, ipsec_addr_str(&p->ue, ue),
		 p->client.port_c, p->client.port_s, p->client.spi_c, p->client.spi_s,
		 p->server.port_c, p->server.port_s, p->server.spi_c, p->server.spi_s);
}

int pcscf_ipsec_install(struct pcscf *pc, struct pcscf_sa *sa)
{
	int rc;

	rc = take_ports(pc, sa);
	if (rc)
		return rc;
	rc = ipsec_backend_install(pc->ipsec, &sa->set);
	if (rc) {
		drop_ports(pc, sa);
		return rc;
	}
	sa->set_id = sa->set.id;
	log_key("IK_ESP", sa->set.p.keys.ik_esp, sa->set.p.keys.ik_len);
	log_key("CK_ESP", sa->set.p.keys.ck_esp, sa->set.p.keys.ck_len);
	log_set("installed", sa);
	return 0;
}

void pcscf_ipsec_remove(struct pcscf *pc, struct pcscf_sa *sa)
{
	unsigned closed = 0;
	int rc;

	/* Its TCP connections first, while the SAs still carry their FIN. */
	if (sa->set_id)
		closed = ipsec_sip_tcp_drop_set(pc->ports, sa->set_id, false);
	if (closed)
		log_info("flow %" PRIu64 ": %u TCP connection%s of SA set %u closed", sa->reg->id,
			 closed, closed == 1 ? "" : "s", sa->set_id);
	rc = ipsec_backend_remove(pc->ipsec, sa->set_id);
	if (rc)
		log_warn("flow %" PRIu64 ": SA set %u could not be removed: %s", sa->reg->id,
			 sa->set_id, strerror(-rc));
	else
		log_set("removed", sa);
	drop_ports(pc, sa);
}

/* A kernel set that is this one (xfrm adoption): same parameters and keys. */
struct find_arg {
	const struct pcscf_sa *sa;
	uint32_t id;
};

static int find_same(void *arg, const struct ipsec_sa_set *set)
{
	struct find_arg *f = arg;
	const struct ipsec_set_params *a = &set->p, *b = &f->sa->set.p;

	if (set->side == IPSEC_SIDE_PCSCF && ipsec_addr_eq(&a->ue, &b->ue) &&
	    ipsec_addr_eq(&a->pcscf, &b->pcscf) &&
	    memcmp(&a->client, &b->client, sizeof(a->client)) == 0 &&
	    memcmp(&a->server, &b->server, sizeof(a->server)) == 0) {
		f->id = set->id;
		return 1;
	}
	return 0;
}

int pcscf_ipsec_restore(struct pcscf *pc, struct pcscf_sa *sa)
{
	struct find_arg f = { sa, 0 };
	int rc;

	if (ipsec_backend_kind(pc->ipsec) == IPSEC_BACKEND_XFRM) {
		/* The kernel kept it across our restart: adopt, never re-create. */
		ipsec_backend_list(pc->ipsec, find_same, &f);
		if (f.id) {
			rc = take_ports(pc, sa);
			if (rc)
				return rc;
			sa->set.id = f.id;
			sa->set_id = f.id;
			log_set("adopted from the kernel", sa);
			return 0;
		}
	}
	/* Userspace (or a kernel that lost it): the stored keys, numbering continued. */
	sa->set.id = 0;
	sa->set.reqid = 0;
	rc = pcscf_ipsec_install(pc, sa);
	if (rc == 0)
		log_info("flow %" PRIu64 ": SA set %u restored from the store, outbound sequence "
			 "numbers continue after %u (SA2) and %u (SA3)",
			 sa->reg->id, sa->set_id, sa->set.p.seq_start[1], sa->set.p.seq_start[2]);
	return rc;
}

static int sweep_one(void *arg, const struct ipsec_sa_set *set)
{
	struct pcscf *pc = arg;

	if (!pcscf_sa_by_set(&pc->regs, set->id)) {
		log_notice("SA set %u in the kernel belongs to no stored flow: removed", set->id);
		ipsec_backend_remove(pc->ipsec, set->id);
		return 1; /* the walk must not go on after a change; start again */
	}
	return 0;
}

void pcscf_ipsec_sweep(struct pcscf *pc)
{
	/* Ours only: ipsec_backend_list() never reports another owner's SAs. */
	for (int i = 0; i < 100000 && ipsec_backend_list(pc->ipsec, sweep_one, pc) == 1; i++)
		;
}

void pcscf_ipsec_seq(struct pcscf *pc, const struct pcscf_sa *sa, uint32_t seq[4])
{
	struct ipsec_sa_counters ctr[IPSEC_SET_SAS];

	memset(seq, 0, 4 * sizeof(seq[0]));
	if (!sa->set_id || ipsec_backend_counters(pc->ipsec, sa->set_id, ctr) != 0)
		return;
	for (unsigned i = 0; i < IPSEC_SET_SAS; i++)
		if (sa->set.sa[i].dir == IPSEC_DIR_OUT)
			seq[i] = ctr[i].seq;
}
