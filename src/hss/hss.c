/*
 * simreg hss - the HSS: Cx over freeDiameter, subscribers in SQLite.
 */
#define SLOG_COMPONENT "hss"

#include "hss/hss.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/log.h"

/* Every section of the deployment file (the whole file is validated). */
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
		"       simreg hss - the HSS: IMS subscribers and Diameter Cx\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg hss [--config FILE] [--data DIR]\n"
		"\n"
		"DESCRIPTION\n"
		"       Serves UAR, MAR, SAR and LIR (TS 29.228/29.229) over Diameter (TCP,\n"
		"       freeDiameter) from the subscriber database DIR/hss.db, which `simreg\n"
		"       ctl subscriber` provisions (it may run at the same time). Authentication\n"
		"       vectors are Milenage, Digest-AKAv1-MD5; every SQN is on disk before the\n"
		"       answer that carries it leaves.\n"
		"\n"
		"       Without --config: Diameter identity hss.ims.test, realm ims.test,\n"
		"       listening on 127.0.0.1:3868, admitting the S-CSCF scscf.ims.test (what\n"
		"       `simreg scscf` is without --config). The `hss:` section of the\n"
		"       deployment file changes these (docs/configuration.md, docs/hss.md).\n"
		"       Generated freeDiameter files go to DIR/diameter/.\n"
		"\n"
		"       Logs a line containing \"ready\" once it accepts peers. SIGTERM or SIGINT\n"
		"       stop it cleanly after answering what it has received.\n"
		"\n"
		"OPTIONS\n"
		"       --config FILE   the deployment configuration (YAML)\n"
		"       --data DIR      the data directory (default: hss.data, ./simreg-data)\n"
		"\n"
		"EXIT STATUS\n"
		"       0 after a clean shutdown; 1 start-up failed; 2 bad usage or\n"
		"       configuration.\n");
}

struct fd_line {
	struct loop_work work;
	int level;
	char text[];
};

static void fd_line_emit(void *ctx, int status)
{
	struct fd_line *l = ctx;

	slog_emit((enum slog_level)l->level, "diameter", "%s", l->text);
	free(l);
}

/*
 * freeDiameter logs from its own threads; the logger belongs to the loop
 * thread, so lines from elsewhere travel through the hand-off queue.
 */
static void log_bridge(void *ctx, int level, const char *line)
{
	struct hss *h = ctx;
	struct fd_line *l;
	size_t len;

	if (level > (int)slog_get_level())
		return;
	if (pthread_equal(pthread_self(), h->loop_thread)) {
		slog_emit((enum slog_level)level, "diameter", "%s", line);
		return;
	}
	if (atomic_load(&h->loop_over)) {
		/* freeDiameter's shutdown: no loop runs any more, and a line
		 * queued now would be lost if freeDiameter aborted. */
		static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;

		pthread_mutex_lock(&mtx);
		slog_emit((enum slog_level)level, "diameter", "%s", line);
		slog_flush();
		pthread_mutex_unlock(&mtx);
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
	loop_post(h->loop, &l->work);
}

/* Diameter set-up from the `hss:` section. */
static int diameter_config(struct hss *h, const char *run_dir, struct dia_config *dc,
			   struct dia_peer *peers, char (*bufs)[512], char *listen,
			   size_t listen_len)
{
	const struct sockaddr *sa = (const struct sockaddr *)&h->cfg.listen.sa;
	uint16_t port;

	memset(dc, 0, sizeof(*dc));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, listen, (socklen_t)listen_len);
		port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, listen, (socklen_t)listen_len);
		port = ntohs(in6->sin6_port);
	}
	dc->identity = h->cfg.identity;
	dc->realm = h->cfg.realm;
	dc->listen = listen;
	dc->port = port;
	dc->run_dir = run_dir;
	dc->threads = (unsigned)h->cfg.threads;
	for (size_t i = 0; i < h->cfg.peers.n; i++) {
		char why[200];

		snprintf(bufs[i], sizeof(bufs[i]), "%s", h->cfg.peers.v[i]);
		/* Checked when the configuration loaded. */
		if (dia_peer_parse(bufs[i], &peers[i], why, sizeof(why)))
			return -EINVAL;
	}
	dc->peers = peers;
	dc->n_peers = h->cfg.peers.n;
	return 0;
}

static int run(struct hss *h, const struct config *cfg)
{
	char db[PATH_MAX], run_dir[PATH_MAX], listen[INET6_ADDRSTRLEN];
	char peer_bufs[DIA_PEERS_MAX][512];
	struct dia_peer peers[DIA_PEERS_MAX];
	const struct config_loop *lc = config_get(cfg, &config_loop_section);
	struct dia_config dc;
	uint64_t subs = 0;
	int err;

	if (snprintf(db, sizeof(db), "%s/hss.db", h->cfg.data) >= (int)sizeof(db) ||
	    snprintf(run_dir, sizeof(run_dir), "%s/diameter", h->cfg.data) >= (int)sizeof(run_dir))
		return -ENAMETOOLONG;
	err = cli_make_dir(h->cfg.data);
	if (!err)
		err = cli_make_dir(run_dir);
	if (!err)
		err = store_open(db, &h->store);
	if (err) {
		log_error("cannot open the subscriber database %s", db);
		return err;
	}
	store_sub_count(h->store, &subs);

	err = loop_create(&h->loop, NULL);
	if (!err)
		err = loop_signals_enable(h->loop);
	if (err)
		return err;
	h->loop_thread = pthread_self();
	if (lc)
		loop_set_shutdown_grace(h->loop, lc->shutdown_grace_ms);
	h->rand = aka_rand_system;
	if (h->cfg.test_rand_file[0]) {
		err = hss_test_rands_load(h->cfg.test_rand_file, &h->test_rands);
		if (err)
			return err;
		h->rand = hss_test_rands_source(&h->test_rands);
	}

	err = diameter_config(h, run_dir, &dc, peers, peer_bufs, listen, sizeof(listen));
	if (!err)
		err = dia_engine_start(&dc, &h->dict, log_bridge, h);
	if (!err)
		err = hss_cx_start(h);
	if (err) {
		log_error("Diameter did not start: %s", strerror(-err));
		return err;
	}
	log_notice("ready: %s (realm %s) on %s port %u, %" PRIu64 " subscriptions in %s",
		   h->cfg.identity, h->cfg.realm, listen, dc.port, subs, db);
	err = loop_run(h->loop);
	log_notice("stopping: %" PRIu64 " answers in %" PRIu64 " store transactions",
		   h->answered, h->batches);
	if (h->held_answers)
		log_info("%" PRIu64 " answers waited for a reconnected peer to leave REOPEN",
			 h->held_answers);
	return err;
}

int cmd_hss(int argc, char **argv)
{
	struct cli_nf_args args;
	struct config cfg;
	struct hss h;
	int err;

	memset(&h, 0, sizeof(h));
	err = cli_nf_args(argc, argv, "hss", false, usage, &args);
	if (err >= 0)
		return err;
	if (cli_nf_config(args.config, sections, sizeof(sections) / sizeof(sections[0]), &cfg) < 0)
		return CLI_USAGE;
	config_log_apply(config_get(&cfg, &config_log_section), "hss");
	h.cfg = *(const struct hss_config *)config_get(&cfg, &hss_config_section);
	if (args.data)
		h.cfg.data = args.data;

	err = run(&h, &cfg);
	atomic_store(&h.loop_over, true);

	hss_cx_stop(&h);
	/* Only the loop used the store: everything is on disk once it is
	 * closed, and only then may freeDiameter stop, since it can abort in
	 * its teardown on a starved CPU (lib/diameter/engine.h). */
	store_close(h.store);
	dia_engine_stop_last("hss");
	hss_test_rands_free(&h.test_rands);
	loop_destroy(h.loop);
	slog_drain();
	config_free(&cfg);
	return err ? CLI_FAIL : CLI_OK;
}
