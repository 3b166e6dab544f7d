/*
 * log.h - levelled, tagged logging that never blocks the event loop.
 *
 * Each .c file names its component before including this header:
 *
 *     #define SLOG_COMPONENT "pcscf"
 *     #include "core/log.h"
 *
 * and then writes log_info("SA set %u installed spi_pc=%u", id, spi).
 * Lines go to stderr (through a private non-blocking descriptor; if the
 * reader is slow they wait in a bounded buffer and are dropped, counted and
 * reported, beyond it) or to syslog.
 *
 * Key material is logged only through log_key(), which prints nothing unless
 * key logging was switched on (configuration `log.keys: true`).
 */
#ifndef SIMREG_CORE_LOG_H
#define SIMREG_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum slog_level {
	SLOG_ERROR,
	SLOG_WARN,
	SLOG_NOTICE,
	SLOG_INFO,
	SLOG_DEBUG,
};

enum slog_target {
	SLOG_TARGET_STDERR,
	SLOG_TARGET_SYSLOG,
};

/* Name of the process for syslog and the line prefix ("scscf"). */
void slog_init(const char *ident, enum slog_target target, enum slog_level level);
void slog_set_level(enum slog_level level);
enum slog_level slog_get_level(void);
void slog_set_keys(bool enabled);
bool slog_keys_enabled(void);

/* Names indexed by enum slog_level / enum slog_target, NULL-terminated. */
extern const char *const slog_level_names[];
extern const char *const slog_target_names[];

/* "error" ... "debug" -> level; returns -EINVAL for anything else. */
int slog_level_parse(const char *name, enum slog_level *out);
const char *slog_level_name(enum slog_level level);

void slog_emit(enum slog_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Hex dump of key material, only when key logging is enabled. */
void slog_key(const char *component, const char *what, const uint8_t *key, size_t len);

/* Write out buffered lines without blocking; called by the event loop. */
void slog_flush(void);
/* True while lines wait in the buffer (the reader is slow). */
bool slog_pending(void);
/*
 * The descriptor lines are written to, or -1 when logging goes to syslog.
 * The event loop watches it for writability while slog_pending().
 */
int slog_fd(void);
/* Block until every buffered line is written (shutdown only). */
void slog_drain(void);

#ifndef SLOG_COMPONENT
#define SLOG_COMPONENT "simreg"
#endif

#define log_error(...) slog_emit(SLOG_ERROR, SLOG_COMPONENT, __VA_ARGS__)
#define log_warn(...) slog_emit(SLOG_WARN, SLOG_COMPONENT, __VA_ARGS__)
#define log_notice(...) slog_emit(SLOG_NOTICE, SLOG_COMPONENT, __VA_ARGS__)
#define log_info(...) slog_emit(SLOG_INFO, SLOG_COMPONENT, __VA_ARGS__)
#define log_debug(...)                                                   \
	do {                                                             \
		if (slog_get_level() >= SLOG_DEBUG)                      \
			slog_emit(SLOG_DEBUG, SLOG_COMPONENT, __VA_ARGS__); \
	} while (0)
#define log_key(what, key, len) slog_key(SLOG_COMPONENT, (what), (key), (len))

#endif
