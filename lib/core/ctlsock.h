/*
 * ctlsock.h - the control socket of a network function.
 *
 * Every long-running simreg process answers requests on a Unix stream
 * socket (docs/architecture.md, "Control sockets"). A request is one line of
 * words; double quotes group words with spaces ("text with spaces") and a
 * backslash inside quotes escapes the next byte. The answer is one line of
 * JSON:
 *
 *     {"ok":true, ...members the command wrote...}
 *     {"ok":false,"error":"unknown access 'umts2'"}
 *
 * A client may send several requests on one connection; answers come in
 * order. It may shut its sending side after the last request (`socat`,
 * `nc -N`; a last line without its newline counts): every answer is still
 * written before the server closes the connection. `help` is built in and
 * lists the commands with their usage.
 *
 * The server runs on the function's event loop and never blocks it: sockets
 * are non-blocking, a slow client's answers wait in its own bounded buffer,
 * and a client that exceeds the line or buffer limits is disconnected
 * (nothing else is affected).
 */
#ifndef SIMREG_CORE_CTLSOCK_H
#define SIMREG_CORE_CTLSOCK_H

#include <stddef.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/loop.h"
#include "core/str.h"

/* Longest request line, and most words in one request. */
#define CTL_LINE_MAX 4096
#define CTL_ARGS_MAX 32
/* Most clients connected at once; more are accepted and closed at once. */
#define CTL_CLIENTS_MAX 16
/*
 * Answers a client has not read yet, beyond which the server disconnects
 * it; so also the longest answer a client need make room for.
 */
#define CTL_ANSWER_MAX (4u << 20)

struct ctl_request {
	int argc;                      /* >= 1: argv[0] is the command */
	struct str argv[CTL_ARGS_MAX]; /* unquoted words, NUL-terminated */
};

/*
 * A command handler. It writes the members of the answer object (the
 * object itself and "ok" are written by the server) and returns 0; or it
 * sets *error to a short explanation (static, or valid until the next
 * request) and returns a negative errno, and whatever it wrote is dropped.
 */
typedef int ctl_cmd_fn(void *ctx, const struct ctl_request *req, struct json_writer *w,
		       const char **error);

struct ctl_command {
	const char *name;  /* "status" */
	const char *usage; /* "ACCESS" (arguments only), or "" */
	const char *help;  /* one line for `help` */
	int min_args;      /* words after the name */
	int max_args;
	ctl_cmd_fn *fn;
};

struct ctl_server;

/*
 * ctl_server_open
 *	Listen on `path` (mode 0600; an existing stale socket there is
 *	replaced, anything else at that path is an error).
 *	loop  : the function's loop
 *	cmds  : n commands, kept by pointer: must outlive the server
 *	ctx   : passed to every handler
 * Returns 0 and *out, -ENAMETOOLONG for a path beyond sun_path, -EEXIST
 * when `path` is something other than a socket, -EADDRINUSE when another
 * process answers on it, or another negative errno.
 */
int ctl_server_open(struct ctl_server **out, struct loop *loop, const char *path,
		    const struct ctl_command *cmds, size_t n, void *ctx);

/* Disconnect every client, close and unlink the socket; NULL is ignored. */
void ctl_server_close(struct ctl_server *s);

/*
 * ctl_split
 *	Split one request line into words in place (quotes removed, escapes
 *	applied, each word NUL-terminated inside `line`, so line[len] must be
 *	writable).
 * Returns 0, or -EINVAL (unbalanced quote, empty line) / -E2BIG (too many
 * words) with *error set.
 */
int ctl_split(char *line, size_t len, struct ctl_request *req, const char **error);

/*
 * ctl_join
 *	The inverse of ctl_split(): append argv to `req` as one request line
 *	that ctl_split() reads back word for word. A word that is empty or
 *	holds a blank, a quote or a backslash goes quoted, its quotes and
 *	backslashes escaped; the line is NUL-terminated, without a newline.
 * Returns 0, -EINVAL for a word with a line break, -E2BIG when the line
 * would be longer than CTL_LINE_MAX (or out of memory).
 */
int ctl_join(int argc, char *const argv[], struct buf *req);

/*
 * ctl_client_call
 *	Connect to `path`, send one request line (a newline is appended) and
 *	read one answer line into `answer` (NUL-terminated, newline removed).
 *	timeout_ms : for connect, send and receive together
 * Returns the answer's length, -ENOENT/-ECONNREFUSED when nobody listens,
 * -ETIMEDOUT, -EMSGSIZE when the answer does not fit, or another negative
 * errno.
 */
int ctl_client_call(const char *path, const char *request, char *answer, size_t size,
		    int timeout_ms);

#endif
