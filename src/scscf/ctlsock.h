/*
 * ctlsock.h - the control socket's plumbing (docs/architecture.md,
 * "Control sockets"): a Unix stream socket on the event loop, one request
 * per connection, a line of words in, a line of JSON out.
 *
 * Kept apart from the commands (ctl.c) so that both can move onto the
 * shared lib/core control socket once it exists.
 */
#ifndef SIMREG_SCSCF_CTLSOCK_H
#define SIMREG_SCSCF_CTLSOCK_H

#include "core/buf.h"
#include "core/loop.h"

#define CTLSOCK_MAX_WORDS 16
#define CTLSOCK_MAX_LINE 4096

struct ctlsock;

/*
 * Answer one request: argv holds its words (argc >= 1); write one line of
 * JSON (without the newline) to out.
 */
typedef void ctlsock_handler(void *ctx, int argc, char **argv, struct buf *out);

/*
 * Listen on `path` (a stale socket file there is replaced). Each
 * connection sends one line, gets one line back and is closed; a
 * connection that says nothing for 5 s is closed.
 * Returns 0 or a negative errno (-ENAMETOOLONG for a path that does not
 * fit a sockaddr_un).
 */
int ctlsock_open(struct loop *loop, const char *path, ctlsock_handler *fn, void *ctx,
		 struct ctlsock **out);

/* Close the socket and its connections, remove the file. NULL is a no-op. */
void ctlsock_close(struct ctlsock *c);

#endif
