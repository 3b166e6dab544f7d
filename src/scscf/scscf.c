/*
 * simreg scscf - the S-CSCF: SIP registrar with IMS AKA, reg-event
 * notifier and terminating router, Cx client of the HSS.
 */
#define SLOG_COMPONENT "scscf"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"
#include "scscf/ctl.h"
#include "scscf/cx.h"
#include "scscf/scscf.h"
#include "scscf/sip_glue.h"
#include "scscf/store.h"

/* Every section of the deployment file (the whole file is validated). */
#define SIMREG_CONFIG_SECTION(var) extern const struct config_section var;
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION

static const struct config_section *const sections[] = {
#define SIMREG_CONFIG_SECTION(var) &var,
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION
};

/* How long "ready" waits for the HSS connection before it is said anyway. */
#define READY_WAIT_MS 10000

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg scscf - the S-CSCF: IMS AKA registrar, reg-event notifier and\n"
		"       terminating router\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg scscf [--config FILE] [--data DIR] [--ctl PATH]\n"
		"\n"
		"DESCRIPTION\n"
		"       Registers IMS users (TS 24.229 5.4.1) with Digest AKAv1-MD5 vectors\n"
		"       from the HSS over Diameter Cx (MAR, SAR), keeps their bindings under\n"
		"       the simultaneous-registration policy of the configuration (none,\n"
		"       outbound, regevent-probe, modified-impi and the combinations),\n"
		"       notifies reg-event watchers (RFC 3680) and forks requests for a\n"
		"       registered IMPU to every live binding through its Path.\n"
		"\n"
		"       Without --config: SIP on UDP and TCP 127.0.0.1:6060, home domain\n"
		"       ims.test, Diameter identity scscf.ims.test, the HSS hss.ims.test at\n"
		"       127.0.0.1:3868. The `scscf:` section of the deployment file changes\n"
		"       these (docs/configuration.md, docs/scscf.md). Bindings, subscriptions\n"
		"       and pending challenges are kept in DIR/scscf.db, so a restarted S-CSCF\n"
		"       goes on serving them.\n"
		"\n"
		"       The Cx client runs on the S-CSCF's own event loop by default\n"
		"       (scscf.diameter.client: loop): one TCP connection to the HSS, with\n"
		"       capabilities exchange, watchdogs (scscf.diameter.watchdog), DPR at\n"
		"       shutdown, and reconnection after 1 s to 30 s. With\n"
		"       scscf.diameter.client: freediameter, freeDiameter's threads carry Cx\n"
		"       instead, and its generated files go to DIR/scscf-diameter/. A\n"
		"       REGISTER that finds no connection to the HSS is answered 503, one\n"
		"       the HSS does not answer in scscf.diameter.timeout 504.\n"
		"\n"
		"       Logs a line containing \"ready\" once it serves SIP and the HSS is\n"
		"       connected (or 10 s later, saying the HSS is not). SIGTERM or SIGINT\n"
		"       stop it cleanly: REGISTERs waiting for the HSS are finished first.\n"
		"\n"
		"       The control socket answers one line of words with one line of JSON:\n"
		"       status, bindings [IMPU], subscriptions [IMPU], reginfo IMPU,\n"
		"       dereg IMPU [binding=N] [event=deactivated|probation|rejected]\n"
		"       [retry=S], reauth IMPU [binding=N].\n"
		"\n"
		"OPTIONS\n"
		"       --config FILE   the deployment configuration (YAML)\n"
		"       --data DIR      the data directory (default: scscf.data, ./simreg-data)\n"
		"       --ctl PATH      the control socket (default: DIR/scscf.ctl)\n"
		"\n"
		"EXIT STATUS\n"
		"       0 after a clean shutdown; 1 start-up failed; 2 bad usage or\n"
		"       configuration.\n");
}

struct scscf_main {
	struct scscf s;
	struct loop *loop;
	pthread_t loop_thread;
	struct scscf_glue *glue;
	struct scscf_cx_client *cx;
	struct ctl_server *ctl;
	struct scscf_ctl ctl_ctx;
	struct loop_timer ready_timer;
	uint64_t ready_waited_ms;
	unsigned restored;
};

struct fd_line {
	struct loop_work work;
	int level;
	char text[];
};

static void fd_line_emit(void *ctx, int status)
{
	struct fd_line *l = ctx;

	if (!status)
		slog_emit((enum slog_level)l->level, "diameter", "%s", l->text);
	free(l);
}

/* freeDiameter logs from its threads; the logger belongs to the loop thread. */
static void log_bridge(void *ctx, int level, const char *line)
{
	struct scscf_main *m = ctx;
	struct fd_line *l;
	size_t len;

	if (level > (int)slog_get_level())
		return;
	if (pthread_equal(pthread_self(), m->loop_thread)) {
		slog_emit((enum slog_level)level, "diameter", "%s", line);
		return;
	}
	len = strlen(line);
	l = malloc(sizeof(*l) + len + 1);
	if (!l)
		return;
	l->level = level;
	memcpy(l->text, line, len + 1);
	l->work.fn = fd_line_emit;
	l->work.ctx = l;
	loop_post(m->loop, &l->work);
}

static void say_ready(struct scscf_main *m, bool hss)
{
	log_notice("ready: SIP on %s, domain %s, policy %s, %u binding(s) restored, HSS %s %s",
		   m->s.host, m->s.cfg.domain, scscf_policy_names[m->s.cfg.policy], m->restored,
		   m->s.cfg.hss_identity, hss ? "connected" : "NOT connected yet");
}

static void ready_check(struct loop *loop, struct loop_timer *t)
{
	struct scscf_main *m = t->ctx;

	if (scscf_cx_connected(m->cx)) {
		say_ready(m, true);
		return;
	}
	m->ready_waited_ms += 20;
	if (m->ready_waited_ms >= READY_WAIT_MS) {
		say_ready(m, false);
		return;
	}
	loop_timer_arm(loop, t, 20);
}

static int run(struct scscf_main *m, const struct config *cfg, const char *ctl_path)
{
	const struct scscf_config *sc = config_get(cfg, &scscf_config_section);
	const struct config_loop *lc = config_get(cfg, &config_loop_section);
	char db[PATH_MAX], run_dir[PATH_MAX], ctl[PATH_MAX];
	struct scscf_config conf = *sc;
	int err;

	if (snprintf(db, sizeof(db), "%s/scscf.db", conf.data) >= (int)sizeof(db) ||
	    snprintf(run_dir, sizeof(run_dir), "%s/scscf-diameter", conf.data) >=
		    (int)sizeof(run_dir) ||
	    snprintf(ctl, sizeof(ctl), "%s", ctl_path ? ctl_path : "") >= (int)sizeof(ctl))
		return -ENAMETOOLONG;
	if (!ctl_path && snprintf(ctl, sizeof(ctl), "%s/scscf.ctl", conf.data) >= (int)sizeof(ctl))
		return -ENAMETOOLONG;
	err = cli_make_dir(conf.data);
	if (!err && conf.cx_client == SCSCF_CX_FREEDIAMETER)
		err = cli_make_dir(run_dir);
	err = err ?: loop_create(&m->loop, NULL);
	err = err ?: loop_signals_enable(m->loop);
	if (err)
		return err;
	m->loop_thread = pthread_self();
	if (lc)
		loop_set_shutdown_grace(m->loop, lc->shutdown_grace_ms);
	err = scscf_init(&m->s, m->loop, &conf);
	if (err)
		return err;
	err = scscf_store_open(db, &m->s.store);
	if (err) {
		log_error("cannot open %s", db);
		return err;
	}
	err = scscf_glue_start(&m->s, &m->glue);
	if (err)
		return err;
	err = scscf_cx_start(&m->s, run_dir, log_bridge, m, &m->cx);
	if (err) {
		log_error("Diameter did not start: %s", strerror(-err));
		return err;
	}
	/* The registrations of the last run, with their timers. */
	err = scscf_store_load(m->s.store, &m->s, &m->restored);
	scscf_store_batch(m->s.store, m->loop);
	if (err) {
		log_error("cannot read the state in %s: %s", db, strerror(-err));
		return err;
	}
	m->ctl_ctx = (struct scscf_ctl){ .s = &m->s, .cx = m->cx };
	err = ctl_server_open(&m->ctl, m->loop, ctl, scscf_ctl_commands, scscf_ctl_n_commands,
			      &m->ctl_ctx);
	if (err) {
		log_error("control socket %s: %s", ctl, strerror(-err));
		return err;
	}
	loop_timer_init(&m->ready_timer, ready_check, m);
	loop_timer_arm(m->loop, &m->ready_timer, 0);
	err = loop_run(m->loop);
	log_notice("stopping: %" PRIu64 " REGISTERs, %" PRIu64 " registrations, %zu binding(s) kept"
		   " in %s",
		   m->s.stats.registers, m->s.stats.registrations, m->s.bindings.n, db);
	return err;
}

int cmd_scscf(int argc, char **argv)
{
	struct cli_nf_args args;
	struct scscf_main *m;
	struct config cfg;
	int err;

	err = cli_nf_args(argc, argv, "scscf", true, usage, &args);
	if (err >= 0)
		return err;
	if (cli_nf_config(args.config, sections, sizeof(sections) / sizeof(sections[0]), &cfg) < 0)
		return CLI_USAGE;
	m = calloc(1, sizeof(*m));
	if (!m) {
		config_free(&cfg);
		return CLI_FAIL;
	}
	config_log_apply(config_get(&cfg, &config_log_section), "scscf");
	if (args.data) {
		/* --data wins over the file's scscf.data. */
		struct scscf_config *sc = (struct scscf_config *)config_get(&cfg,
									   &scscf_config_section);

		sc->data = args.data;
	}

	err = run(m, &cfg, args.ctl);

	/* SIP first (nothing new comes in), then the state goes to disk, then Diameter. */
	ctl_server_close(m->ctl);
	if (m->loop)
		loop_timer_cancel(m->loop, &m->ready_timer);
	scscf_glue_stop(m->glue);
	if (m->loop)
		scscf_fini(&m->s);
	scscf_store_close(m->s.store);
	/* Last: freeDiameter may abort in its teardown (lib/diameter/engine.h). */
	scscf_cx_stop(m->cx);
	loop_destroy(m->loop);
	slog_drain();
	config_free(&cfg);
	free(m);
	return err ? CLI_FAIL : CLI_OK;
}
