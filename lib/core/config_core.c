/*
 * config_core.c - the configuration sections every process has: log: and
 * loop:. Network functions declare theirs next to their code.
 */
#include "core/config.h"
#include "core/log.h"

static const struct config_key log_keys[] = {
	CONFIG_ENUM("log.level", struct config_log, level, slog_level_names, "info",
		    "lowest level written; debug traces every message and timer"),
	CONFIG_ENUM("log.target", struct config_log, target, slog_target_names, "stderr",
		    "stderr (never blocks the loop; lines wait in a buffer) or syslog (daemon facility)"),
	CONFIG_BOOL("log.keys", struct config_log, keys, "false",
		    "log CK, IK and ESP keys in hex so tshark can decrypt captures; lab use only"),
};

const struct config_section config_log_section =
	CONFIG_SECTION("log", "Logging, shared by every network function.", struct config_log,
		       log_keys);

void config_log_apply(const struct config_log *c, const char *ident)
{
	slog_init(ident, (enum slog_target)c->target, (enum slog_level)c->level);
	slog_set_keys(c->keys);
}

static const struct config_key loop_keys[] = {
	CONFIG_DURATION("loop.shutdown_grace", struct config_loop, shutdown_grace_ms, 0, 600000,
			"5s",
			"on SIGTERM or SIGINT, how long in-flight work may take to finish before it is failed"),
};

const struct config_section config_loop_section =
	CONFIG_SECTION("loop", "The event loop of each process.", struct config_loop, loop_keys);
