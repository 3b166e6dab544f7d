/*
 * simreg pcscf - the P-CSCF: security agreement, an SA set per registration
 * flow, the outbound edge proxy, and restarts that keep the SAs.
 */
#define SLOG_COMPONENT "pcscf"
#include "core/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "pcscf/context.h"

/* Every section of the deployment file (the whole file is validated). */
#define SIMREG_CONFIG_SECTION(var) extern const struct config_section var;
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION

static const struct config_section *const sections[] = {
#define SIMREG_CONFIG_SECTION(var) &var,
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION
};

/*
 * After a crash the outbound sequence numbers in the store may lag behind
 * what was sent; numbering continues this far beyond them so the UE's
 * replay window never sees a number twice (RFC 4303 §3.3.3). A clean stop
 * stores the exact numbers.
 */
#define SEQ_CRASH_MARGIN (1u << 20)

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg pcscf - the P-CSCF: security agreement, IPsec SA sets per\n"
		"       registration, the outbound edge proxy\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg pcscf [--config FILE] [--data DIR] [--ctl PATH]\n"
		"\n"
		"DESCRIPTION\n"
		"       Serves UEs on the unprotected listeners of pcscf.listen (UDP and TCP\n"
		"       127.0.0.1:5060 by default) and forwards their REGISTERs to the S-CSCF\n"
		"       (pcscf.scscf, sip:127.0.0.1:6060), doing the P-CSCF's part of IMS AKA\n"
		"       security agreement (TS 33.203, RFC 3329): on the 401 it takes IK and CK\n"
		"       out, installs the temporary SA set of the registration flow and adds\n"
		"       Security-Server; the protected REGISTER must come over that set with\n"
		"       Security-Verify and Security-Client unchanged; the 200 establishes it.\n"
		"       Every registration flow (IMPI, UE address, port_uc, port_us) has its\n"
		"       own SA set (pcscf.sa_binding: registration), or, in the legacy impi\n"
		"       binding, the newest registration of an IMPI deletes every other set.\n"
		"\n"
		"       Requests from a UE are taken only over SA1 of its registered flow and\n"
		"       get P-Asserted-Identity; requests from the core that name a flow token\n"
		"       (Path, Record-Route) go to the UE over SA2, or get 430 when the flow is\n"
		"       gone. The P-CSCF subscribes to the reg event of every registered IMPU\n"
		"       and ends flows whose contact a NOTIFY terminates.\n"
		"\n"
		"       The IPsec backend is the ipsec: section's (auto, xfrm or userspace).\n"
		"       Flows and SA sets are kept in DIR/pcscf.db: after a restart the\n"
		"       userspace backend installs them again, xfrm adopts its own SAs still in\n"
		"       the kernel (never anyone else's), and registered UEs go on without\n"
		"       registering again.\n"
		"\n"
		"       Logs a line containing \"ready\" once it serves. SIGTERM or SIGINT let\n"
		"       transactions in flight finish, store the flows and stop. The control\n"
		"       socket (DIR/pcscf.ctl) answers status, flows, flow ID, remove ID,\n"
		"       remove-impi IMPI, subscriptions and help (docs/pcscf.md).\n"
		"\n"
		"OPTIONS\n"
		"       --config FILE   the deployment file (default: built-in defaults)\n"
		"       --data DIR      the data directory (default: pcscf.data, ./simreg-data)\n"
		"       --ctl PATH      the control socket (default: pcscf.ctl, DIR/pcscf.ctl)\n"
		"       -h, --help      this manual\n"
		"\n"
		"EXIT STATUS\n"
		"       0 after a clean stop; 1 when it could not start or failed; 2 for bad\n"
		"       usage or configuration.\n");
}

uint64_t pcscf_now_ms(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the model's ops ------------------------------------------------------ */

static int op_install(void *ctx, struct pcscf_sa *sa)
{
	return pcscf_ipsec_install(ctx, sa);
}

static void op_remove(void *ctx, struct pcscf_sa *sa)
{
	pcscf_ipsec_remove(ctx, sa);
}

/*
 * Store writes are grouped: every flow changed while the loop handles what
 * arrived together is written in one transaction right after (a zero-delay
 * timer), so a burst of registrations costs one commit, not one per
 * transition. Nothing is sent on the strength of a write, so nothing waits
 * for it.
 */
static void flush_cb(struct loop *loop, struct loop_timer *t)
{
	struct pcscf *pc = t->ctx;

	if (pcscf_store_flush(pc->store, pc) != 0)
		log_error("flows not stored; a restart now would lose their latest state");
}

static void mark(struct pcscf *pc, uint64_t id)
{
	if (!pc->store || pc->restoring)
		return;
	if (pcscf_store_mark(pc->store, id) != 0)
		log_error("flow %" PRIu64 ": not marked for the store", id);
	else if (!loop_timer_armed(&pc->flush_timer))
		loop_timer_arm(pc->loop, &pc->flush_timer, 0);
}

static void op_save(void *ctx, struct pcscf_reg *r)
{
	mark(ctx, r->id);
}

static void op_forget(void *ctx, struct pcscf_reg *r)
{
	struct pcscf *pc = ctx;

	if (r->rev_held)
		pcscf_regevent_release(pc->rev, r);
	pcscf_flow_unwatch(pc, r);
	mark(pc, r->id);
}

static void op_registered(void *ctx, struct pcscf_reg *r)
{
	struct pcscf *pc = ctx;
	struct str impu = pcscf_reg_default_impu(r);

	log_notice("flow %" PRIu64 " registered: IMPI %s IMPU %.*s contact %s, expires %u s",
		   r->id, r->impi, STR_FMT(impu), r->contact ? r->contact : "-", r->expires_s);
	if (pc->rev)
		pcscf_regevent_hold(pc->rev, r);
}

static void op_ended(void *ctx, struct pcscf_reg *r)
{
	struct pcscf *pc = ctx;

	log_notice("flow %" PRIu64 " ended (%s): IMPI %s contact %s", r->id,
		   pcscf_reg_event_name(r->ended_cause), r->impi, r->contact ? r->contact : "-");
	if (pc->rev)
		pcscf_regevent_release(pc->rev, r);
}

static void op_trace(void *ctx, const char *line)
{
	log_info("%s", line);
}

static const struct pcscf_reg_ops reg_ops = {
	.install = op_install,
	.remove = op_remove,
	.save = op_save,
	.forget = op_forget,
	.registered = op_registered,
	.ended = op_ended,
	.trace = op_trace,
};

/* ---- restore ------------------------------------------------------------- */

struct restore_ctx {
	struct pcscf *pc;
	bool clean;
	unsigned flows, sets, lost;
};

static int restore_flow(void *arg, struct pcscf_reg *r)
{
	struct restore_ctx *c = arg;
	struct pcscf *pc = c->pc;
	struct pcscf_sa **slots[3] = { &r->temp, &r->est, &r->old };
	int rc;

	for (unsigned i = 0; i < 3; i++) {
		struct pcscf_sa *sa = *slots[i];

		if (!sa)
			continue;
		if (!c->clean)
			for (unsigned n = 0; n < IPSEC_SET_SAS; n++)
				if (sa->set.sa[n].dir == IPSEC_DIR_OUT)
					sa->set.p.seq_start[n] += SEQ_CRASH_MARGIN;
		rc = pcscf_ipsec_restore(pc, sa);
		if (rc) {
			log_error("flow %" PRIu64 ": SA set (port_ps %u) not restored: %s", r->id,
				  sa->set.p.server.port_s, strerror(-rc));
			ipsec_sa_set_wipe(&sa->set);
			free(sa);
			*slots[i] = NULL;
			c->lost++;
			continue;
		}
		c->sets++;
	}
	rc = pcscf_reg_restore(&pc->regs, r);
	if (rc) {
		log_error("flow %" PRIu64 " not restored: %s", r->id, strerror(-rc));
		for (unsigned i = 0; i < 3; i++)
			if (*slots[i])
				pcscf_ipsec_remove(pc, *slots[i]);
		pcscf_reg_free_unrestored(r);
		return 0;
	}
	c->flows++;
	if (pcscf_reg_usable(r) && pc->rev)
		pcscf_regevent_hold(pc->rev, r);
	return 0;
}

static int restore(struct pcscf *pc)
{
	struct restore_ctx c = { pc, false, 0, 0, 0 };
	uint8_t clean = 0;
	bool found = false;
	int rc;

	rc = pcscf_store_clean_flag(pc->store, &clean, &found);
	if (rc)
		return rc;
	c.clean = found && clean;
	pc->restoring = true;
	rc = pcscf_store_load(pc->store, &pc->regs, restore_flow, &c);
	pc->restoring = false;
	if (rc)
		return rc;
	/* What the kernel holds of ours that no flow claims is a leftover. */
	if (ipsec_backend_kind(pc->ipsec) == IPSEC_BACKEND_XFRM)
		pcscf_ipsec_sweep(pc);
	if (c.flows || c.lost)
		log_notice("restored %u flows with %u SA sets from the store (%s stop before)%s",
			   c.flows, c.sets, c.clean ? "clean" : "unclean",
			   c.lost ? "; some sets could not be restored" : "");
	pcscf_store_set_clean(pc->store, false);
	return 0;
}

static int save_flow(void *arg, const void *key, void *value)
{
	struct pcscf *pc = arg;

	pcscf_store_mark(pc->store, ((const struct pcscf_reg *)value)->id);
	return 0;
}

/* ---- start-up ------------------------------------------------------------ */

static int policy_from(const struct pcscf_config *c, struct pcscf_reg_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->binding = (enum pcscf_binding)c->sa_binding;
	p->await_auth_ms = c->reg_await_auth_ms;
	p->grace_ms = c->sa_grace_ms;
	p->linger_ms = c->sa_linger_ms;
	p->max_flows = (uint32_t)c->max_flows;
	p->flows_per_address = (uint32_t)c->flows_per_address;
	for (size_t i = 0; i < c->algorithms.n; i++)
		if (ipsec_prefs_add(&p->prefs, str_from_cstr(c->algorithms.v[i])) != 0)
			return -EINVAL;
	return 0;
}

static int run(struct pcscf *pc, const struct config *cfg)
{
	const struct config_loop *lc = config_get(cfg, &config_loop_section);
	struct pcscf_clock clock = { pcscf_now_ms, pc };
	struct sip_stack_config sc;
	struct pcscf_reg_policy policy;
	struct ipsec_probe probe;
	char db[600];
	int rc;

	rc = cli_make_dir(pc->data_dir);
	if (rc)
		return rc;
	snprintf(db, sizeof(db), "%s/pcscf.db", pc->data_dir);
	rc = pcscf_store_open(db, &pc->store);
	if (rc)
		return rc;
	rc = pcscf_store_meta(pc->store, pc->token_key, &pc->regs.next_id);
	if (rc)
		return rc;

	rc = loop_create(&pc->loop, NULL);
	if (!rc)
		rc = loop_signals_enable(pc->loop);
	if (rc)
		return rc;
	if (lc)
		loop_set_shutdown_grace(pc->loop, lc->shutdown_grace_ms);
	loop_timer_init(&pc->flush_timer, flush_cb, pc);

	sip_stack_config_default(&sc);
	sc.server_name = "simreg-pcscf";
	rc = sip_stack_create(&pc->st, pc->loop, &sc, &pcscf_tu_ops, pc);
	for (size_t i = 0; !rc && i < pc->cfg.listen.n; i++) {
		rc = sip_stack_listen_text(pc->st, pc->cfg.listen.v[i], NULL);
		if (rc)
			log_error("cannot listen on %s: %s", pc->cfg.listen.v[i], strerror(-rc));
	}
	if (!rc)
		rc = sip_proxy_create(&pc->px, pc->st, &pcscf_proxy_ops, pc);
	if (!rc)
		rc = pcscf_sip_start(pc);
	if (rc)
		return rc;

	rc = ipsec_backend_open(&pc->ipsec_cfg, &pc->ipsec, &probe);
	if (rc) {
		log_error("no IPsec backend: %s", strerror(-rc));
		return rc;
	}
	rc = ipsec_sip_create(&pc->ports, pc->ipsec, sip_stack_transports(pc->st));
	if (rc)
		return rc;

	rc = policy_from(&pc->cfg, &policy);
	if (!rc) {
		uint64_t next = pc->regs.next_id;

		rc = pcscf_regs_init(&pc->regs, pc->loop, &clock, &policy, &pc->ipsec_cfg.alloc,
				     NULL, &reg_ops, pc);
		pc->regs.next_id = next;
	}
	if (rc)
		return rc;
	pc->regs_ready = true;
	if (pc->cfg.regevent) {
		rc = pcscf_regevent_create(pc, &pc->rev);
		if (rc)
			return rc;
	}
	rc = restore(pc);
	if (rc)
		return rc;

	rc = ctl_server_open(&pc->ctl, pc->loop, pc->ctl_path, pcscf_ctl_commands,
			     pcscf_ctl_ncommands, pc);
	if (rc) {
		log_error("control socket %s: %s", pc->ctl_path, strerror(-rc));
		return rc;
	}
	log_notice("ready: P-CSCF on %s, S-CSCF %s, IPsec %s, SA binding %s, %zu flows, "
		   "control socket %s",
		   pc->advertise, pc->cfg.scscf, ipsec_backend_kind_name(ipsec_backend_kind(pc->ipsec)),
		   pc->cfg.sa_binding == PCSCF_BIND_IMPI ? "impi" : "registration",
		   pc->regs.n_flows, pc->ctl_path);
	rc = loop_run(pc->loop);
	/* Stopped cleanly: every flow, with its exact sequence numbers, to the store. */
	ipsec_table_each(&pc->regs.by_id, save_flow, pc);
	if (pcscf_store_flush(pc->store, pc) == 0)
		pcscf_store_set_clean(pc->store, true);
	else
		log_error("the flows could not be stored at the stop; the next start treats it as "
			  "a crash");
	log_notice("stopping: %zu flows stored", pc->regs.n_flows);
	return rc;
}

static void teardown(struct pcscf *pc)
{
	ctl_server_close(pc->ctl);
	pcscf_regevent_destroy(pc->rev);
	if (pc->regs_ready)
		pcscf_regs_destroy(&pc->regs);
	sip_proxy_destroy(pc->px);
	ipsec_sip_destroy(pc->ports);
	if (pc->st)
		pcscf_sip_stop(pc);
	sip_stack_destroy(pc->st);
	if (pc->ipsec)
		ipsec_backend_close(pc->ipsec);
	pcscf_store_close(pc->store);
	loop_destroy(pc->loop);
}

int cmd_pcscf(int argc, char **argv)
{
	struct cli_nf_args args;
	struct config cfg;
	struct pcscf *pc;
	int err;

	err = cli_nf_args(argc, argv, "pcscf", true, usage, &args);
	if (err >= 0)
		return err;
	if (cli_nf_config(args.config, sections, sizeof(sections) / sizeof(sections[0]), &cfg) < 0)
		return CLI_USAGE;
	config_log_apply(config_get(&cfg, &config_log_section), "pcscf");
	pc = calloc(1, sizeof(*pc));
	if (!pc) {
		config_free(&cfg);
		return CLI_FAIL;
	}
	pc->cfg = *(const struct pcscf_config *)config_get(&cfg, &pcscf_config_section);
	pc->ipsec_cfg = *(const struct ipsec_config *)config_get(&cfg, &ipsec_config_section);
	/* The P-CSCF's protected ports are its own range, not the UE's (ipsec:). */
	pc->ipsec_cfg.alloc.port_min = (uint16_t)pc->cfg.port_min;
	pc->ipsec_cfg.alloc.port_max = (uint16_t)pc->cfg.port_max;
	snprintf(pc->data_dir, sizeof(pc->data_dir), "%s", args.data ? args.data : pc->cfg.data);
	if (args.ctl)
		snprintf(pc->ctl_path, sizeof(pc->ctl_path), "%s", args.ctl);
	else if (pc->cfg.ctl[0])
		snprintf(pc->ctl_path, sizeof(pc->ctl_path), "%s", pc->cfg.ctl);
	else
		snprintf(pc->ctl_path, sizeof(pc->ctl_path), "%s/pcscf.ctl", pc->data_dir);

	err = run(pc, &cfg);
	if (err)
		log_error("the P-CSCF stops: %s", strerror(-err));
	teardown(pc);
	OPENSSL_cleanse(pc->token_key, sizeof(pc->token_key));
	free(pc);
	slog_drain();
	config_free(&cfg);
	return err ? CLI_FAIL : CLI_OK;
}
