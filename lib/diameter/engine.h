/*
 * engine.h - freeDiameter set up from simreg's own configuration.
 *
 * simreg's YAML names the local Diameter identity, realm, listening
 * address and the peers; this module turns that into everything
 * freeDiameter 1.2.1 needs and starts it:
 *
 *   - a freeDiameter configuration file (run_dir/freeDiameter.conf),
 *   - a self-signed certificate and key for the identity, and Diffie-
 *     Hellman parameters (RFC 7919 ffdhe2048): freeDiameter refuses to
 *     start without TLS credentials even when no peer uses TLS, and would
 *     otherwise spend seconds generating DH parameters at every start,
 *   - the Cx dictionary (cx.h),
 *   - a peer validator that admits the peers the configuration lists as
 *     connecting to us (freeDiameter alone admits only peers it dials),
 *   - hooks: peers coming and going are logged; every message sent,
 *     received or routed goes to a hook that does nothing, which keeps
 *     freeDiameter from formatting a text dump of each one (engine.c).
 *
 * Peers are plain TCP (No_TLS), as Kamailio's CDP and most lab peers are.
 *
 * freeDiameter is a process-wide singleton: one engine per process, so
 * this module keeps its state in file scope. Its threads call the log
 * hook and dispatch callbacks; everything else here runs on the caller's
 * thread.
 */
#ifndef SIMREG_DIAMETER_ENGINE_H
#define SIMREG_DIAMETER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diameter/cx.h"

#define DIA_PORT_DEFAULT 3868
#define DIA_PEERS_MAX 16

/* One peer. */
struct dia_peer {
	const char *identity;   /* its Diameter identity (Origin-Host) */
	const char *realm;      /* NULL: what follows the first '.' of identity */
	const char *address;    /* numeric IP; required when we connect */
	uint16_t port;          /* 0: 3868 */
	bool connect;           /* true: we open the connection; false: it does */
};

struct dia_config {
	const char *identity;   /* our Diameter identity, an FQDN */
	const char *realm;
	const char *listen;     /* numeric IP to listen on, NULL: do not listen */
	uint16_t port;          /* listening port (0: 3868) */
	const char *run_dir;    /* where the generated files go; must exist */
	unsigned threads;       /* freeDiameter dispatch threads (0: 4) */
	const struct dia_peer *peers;
	size_t n_peers;
};

/*
 * Where freeDiameter's log lines go: level is an enum slog_level
 * (core/log.h), the line has no newline. Called from any thread,
 * freeDiameter's included. NULL: stderr with fprintf.
 */
typedef void dia_log_fn(void *ctx, int level, const char *line);

/*
 * Parse a peer written as one string, as the YAML lists them:
 *
 *     IDENTITY [realm=REALM] [address=IP[:PORT]] [connect=yes|no]
 *
 * connect=yes (we dial) needs an address; connect=no (default) waits for
 * the peer. Strings in out point into buf, a writable copy of the text.
 * Returns 0 or -EINVAL with a reason in why.
 */
int dia_peer_parse(char *buf, struct dia_peer *out, char *why, size_t whylen);

/*
 * Write the freeDiameter configuration, credentials and DH parameters into
 * cfg->run_dir. Exposed so tests can read what was generated. Returns 0 or
 * a negative errno (logged).
 */
int dia_write_config(const struct dia_config *cfg);

/*
 * Start freeDiameter: write the files, initialise the core, define the Cx
 * dictionary into *dict, read the configuration, start the threads and
 * wait until they run. Dispatch callbacks (fd_disp_register) may be
 * registered after this returns; requests received before that get
 * DIAMETER_UNABLE_TO_DELIVER from freeDiameter. Returns 0 or a negative
 * errno; on failure the core is shut down again.
 */
int dia_engine_start(const struct dia_config *cfg, struct cx_dict *dict, dia_log_fn *log,
		     void *log_ctx);

/* True once the peer with this identity is connected (state OPEN). */
bool dia_peer_is_open(const char *identity);

/*
 * Wait (polling every 10 ms) until the peer is OPEN, at most timeout_ms.
 * Returns 0 or -ETIMEDOUT. For clients and tests; the HSS does not wait.
 */
int dia_peer_wait_open(const char *identity, unsigned timeout_ms);

/* Stop freeDiameter and wait for its threads. Safe if never started. */
void dia_engine_stop(void);

/*
 * dia_engine_stop_last
 *	Stop freeDiameter as the last act of a network function whose state
 *	is already saved (store committed and closed, nothing left to write).
 *
 *	freeDiameter 1.2.1 can abort inside its own teardown: fd_fifo_del()
 *	gives the threads still waiting on a queue 20 ms to leave and then
 *	fails an assertion (libfdproto/fifo.c:192), which a starved CPU makes
 *	happen. Nothing is lost by then, so the abort must not turn a clean
 *	stop into a crash: while freeDiameter stops, SIGABRT ends the process
 *	with status 0 after writing
 *
 *	    WHO: freeDiameter aborted in its own shutdown (state was saved)
 *
 *	to stderr. Buffered log lines are written out first (slog_drain).
 *
 *	who : the process's name for that line (truncated to 32 characters)
 * Returns when freeDiameter stopped normally, with SIGABRT's previous
 * action back in place. Safe if the engine never started. Call it on the
 * main thread, once, after everything else that could fail.
 */
void dia_engine_stop_last(const char *who);

#endif
