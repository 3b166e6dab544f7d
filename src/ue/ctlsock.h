/*
 * ctlsock.h - the Unix stream socket the UE's control commands arrive on
 * (docs/architecture.md: one request line in, one JSON line out, any
 * number of requests per connection).
 *
 * Only the plumbing lives here; the commands are ctl.h's, so this part can
 * move onto the shared control-socket server once lib/core has one.
 */
#ifndef SIMREG_UE_CTLSOCK_H
#define SIMREG_UE_CTLSOCK_H

#include <stdbool.h>

#include "core/json.h"
#include "core/loop.h"
#include "core/str.h"

/* Answer one request line into w; the return value is not used on the wire. */
typedef int ue_ctl_handler(void *ctx, struct str line, struct json_writer *w);

#define UE_CTLSOCK_MAX_CONNS 8
#define UE_CTLSOCK_LINE_MAX 4096

struct ue_ctlsock_conn {
	int fd;
	struct loop_io io;
	struct ue_ctlsock *srv;
	size_t len;
	char buf[UE_CTLSOCK_LINE_MAX];
};

struct ue_ctlsock {
	struct loop *loop;
	int fd;
	struct loop_io io;
	char path[108];
	ue_ctl_handler *fn;
	void *ctx;
	struct ue_ctlsock_conn conns[UE_CTLSOCK_MAX_CONNS];
};

/*
 * Listen on path (a stale socket file is replaced; mode 0600). Returns 0,
 * -ENAMETOOLONG, or the errno of socket()/bind()/listen().
 */
int ue_ctlsock_open(struct ue_ctlsock *s, struct loop *loop, const char *path,
		    ue_ctl_handler *fn, void *ctx);

/* Close the listener and every connection, and remove the socket file. */
void ue_ctlsock_close(struct ue_ctlsock *s);

#endif
