/*
 * ue.c - `simreg ue`: the UE process.
 */
#define SLOG_COMPONENT "ue"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/config.h"
#include "core/log.h"
#include "ipsec/backend.h"
#include "ue/config.h"
#include "ue/context.h"
#include "ue/ctl.h"
#include "ue/net.h"

#define SIMREG_CONFIG_SECTION(var) extern const struct config_section var;
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION

static const struct config_section *const sections[] = {
#define SIMREG_CONFIG_SECTION(var) &var,
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION
};

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg ue - an IMS UE with a USIM and several accesses\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg ue --config FILE [--data DIR] [--ctl PATH]\n"
		"\n"
		"DESCRIPTION\n"
		"       One process, one SIP stack, one registration per access (ue.accesses):\n"
		"       an unprotected REGISTER with Security-Client, the USIM's answer to the\n"
		"       401 (TS 33.102: MAC first, then SQN; a MAC failure answered with an\n"
		"       empty response, a sync failure with auts), the temporary and then the\n"
		"       established IPsec SA set (TS 33.203), re-registration 600 s before\n"
		"       expiry, re-authentication when challenged, a reg-event subscription per\n"
		"       registration. ue.mechanism selects how several accesses coexist:\n"
		"       none, outbound (RFC 5626), regevent-probe, modified-impi, or\n"
		"       modified-impi combined with outbound or regevent-probe (docs/ue.md).\n"
		"\n"
		"       Incoming MESSAGE, OPTIONS and INVITE are answered with ue.answer.*\n"
		"       over the access they arrived on; only requests over the SAs are taken.\n"
		"\n"
		"       The control socket (`simreg ctl ue ...`) takes: status; register,\n"
		"       deregister, reauth, drop, restore ACCESS; send MESSAGE|OPTIONS TO via\n"
		"       ACCESS [TEXT]. drop closes the access's sockets and deletes its SAs\n"
		"       without a word to the network; restore brings the sockets back and\n"
		"       registers again after the RFC 5626 back-off.\n"
		"\n"
		"       Every state change, SA set and message goes to the JSON-lines event\n"
		"       log (ue.event_log, default DIR/ue-events.jsonl). The USIM's SQN array\n"
		"       is kept in DIR/ue-sqn.state (ue.usim.sqn_state).\n"
		"\n"
		"       Logs a line containing \"ready\" once its sockets are open. SIGTERM or\n"
		"       SIGINT deregister every access, then stop.\n"
		"\n"
		"OPTIONS\n"
		"       --config FILE   the deployment configuration (YAML, `ue:` section)\n"
		"       --data DIR      the data directory (default: ue.data, ./simreg-data)\n"
		"       --ctl PATH      the control socket (default: ue.ctl, DIR/ue.ctl)\n"
		"\n"
		"EXIT STATUS\n"
		"       0 after a clean shutdown; 1 start-up failed; 2 bad usage or\n"
		"       configuration.\n");
}

struct ue_proc {
	struct loop *loop;
	struct ipsec_backend *ipsec;
	struct ue_net net;
	bool net_up;
	struct ue *ue;
	struct ctl_server *ctl;
	FILE *evlog;
};

static int path_in(char *out, size_t cap, const char *given, const char *dir, const char *name)
{
	int n = given && given[0] ? snprintf(out, cap, "%s", given)
				  : snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int run(struct ue_proc *p, const struct config *cfg, const char *data, const char *ctl)
{
	const struct ue_config *uc = config_get(cfg, &ue_config_section);
	const struct ipsec_config *ic = config_get(cfg, &ipsec_config_section);
	const struct config_loop *lc = config_get(cfg, &config_loop_section);
	struct ue_access_config accs[UE_MAX_ACCESSES];
	char sqn[PATH_MAX], evlog[PATH_MAX], ctlpath[PATH_MAX], why[256];
	struct sip_stack_config sc;
	const char *swhy = NULL;
	int rc;

	if (uc->accesses.n == 0) {
		log_error("ue.accesses is empty: nothing to register");
		return -EINVAL;
	}
	for (size_t i = 0; i < uc->accesses.n; i++) {
		/* Checked when the configuration loaded; interfaces are looked up now. */
		rc = ue_access_config_parse(uc->accesses.v[i], &accs[i], why, sizeof(why));
		if (!rc)
			rc = ue_net_resolve(&accs[i], why, sizeof(why));
		if (rc) {
			log_error("%s", why);
			return rc;
		}
	}
	if (mkdir(data, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		log_error("%s: %s", data, strerror(errno));
		return rc;
	}
	if (path_in(sqn, sizeof(sqn), uc->sqn_state, data, "ue-sqn.state") ||
	    path_in(evlog, sizeof(evlog), uc->event_log, data, "ue-events.jsonl") ||
	    path_in(ctlpath, sizeof(ctlpath), ctl ? ctl : uc->ctl, data, "ue.ctl"))
		return -ENAMETOOLONG;

	rc = loop_create(&p->loop, NULL);
	if (!rc)
		rc = loop_signals_enable(p->loop);
	if (rc)
		return rc;
	if (lc)
		loop_set_shutdown_grace(p->loop, lc->shutdown_grace_ms);
	rc = ipsec_backend_open(ic, &p->ipsec, NULL);
	if (rc) {
		log_error("IPsec backend %s: %s", ipsec_backend_kind_name(ic->backend),
			  strerror(-rc));
		return rc;
	}
	sip_stack_config_default(&sc);
	rc = sip_config_apply(&uc->sip, &sc, &swhy);
	if (rc) {
		log_error("ue.sip: %s", swhy);
		return rc;
	}
	rc = ue_net_init(&p->net, p->loop, &sc, p->ipsec);
	if (rc)
		return rc;
	p->net_up = true;
	p->evlog = strcmp(evlog, "-") == 0 ? stdout : fopen(evlog, "a");
	if (!p->evlog) {
		rc = -errno;
		log_error("event log %s: %s", evlog, strerror(errno));
		return rc;
	}
	rc = ue_create(&p->ue, uc, accs, uc->accesses.n, &ic->alloc, p->loop, &ue_net_ops,
		       &p->net, NULL, p->evlog, sqn, why, sizeof(why));
	if (rc) {
		log_error("%s", why);
		return rc;
	}
	rc = ue_net_attach(&p->net, p->ue);
	if (rc)
		return rc;
	rc = ctl_server_open(&p->ctl, p->loop, ctlpath, ue_ctl_commands, ue_ctl_ncommands, p->ue);
	if (rc) {
		log_error("control socket %s: %s", ctlpath, strerror(-rc));
		return rc;
	}
	log_notice("ready: ue %s, %zu accesses, mechanism %s, SA binding %s, IPsec %s, control %s",
		   uc->impi, p->ue->nacc, ue_mech_name((enum ue_mech)uc->mechanism),
		   uc->sa_binding == UE_SA_BINDING_IMPI ? "impi" : "registration",
		   ipsec_backend_kind_name(ipsec_backend_kind(p->ipsec)), ctlpath);
	ue_start(p->ue);
	rc = loop_run(p->loop);
	log_notice("stopping");
	return rc;
}

static void cleanup(struct ue_proc *p)
{
	ctl_server_close(p->ctl);
	ue_destroy(p->ue);
	if (p->net_up)
		ue_net_fini(&p->net);
	if (p->ipsec)
		ipsec_backend_close(p->ipsec);
	if (p->evlog && p->evlog != stdout)
		fclose(p->evlog);
	loop_destroy(p->loop);
}

int cmd_ue(int argc, char **argv)
{
	struct cli_nf_args args;
	struct config_errors errs;
	const char *data;
	struct config cfg;
	struct ue_proc p;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = cli_nf_args(argc, argv, "ue", true, usage, &args);
	if (rc >= 0)
		return rc;
	if (!args.config) {
		cli_usage_error("ue", "--config FILE is required (the ue: section names the accesses)");
		return CLI_USAGE;
	}
	if (config_load_file(&cfg, sections, sizeof(sections) / sizeof(sections[0]), args.config,
			     &errs) < 0) {
		fputs(errs.text, stderr);
		return CLI_USAGE;
	}
	config_log_apply(config_get(&cfg, &config_log_section), "ue");
	data = args.data;
	if (!data)
		data = ((const struct ue_config *)config_get(&cfg, &ue_config_section))->data;
	rc = run(&p, &cfg, data, args.ctl);
	cleanup(&p);
	slog_drain();
	config_free(&cfg);
	return rc ? CLI_FAIL : CLI_OK;
}
