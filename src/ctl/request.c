/*
 * request.c - what `simreg ctl ue|scscf|pcscf` have in common: one request
 * line to a running function's control socket, its JSON answer printed,
 * the exit status taken from the answer's "ok".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctlsock.h"
#include "core/json.h"
#include "ctl/ctl.h"

/* Print the answer; its "ok" member decides the exit status. */
static int judge(const char *answer)
{
	struct json_value *root;
	struct arena a;
	bool ok = false;

	puts(answer);
	arena_init(&a, 0, 0);
	if (json_parse(&a, str_trim(str_from_cstr(answer)), &root, NULL) == 0)
		json_get_bool(root, "ok", &ok);
	arena_destroy(&a);
	return ok ? CLI_OK : CLI_FAIL;
}

int ctl_request(struct ctl *c, const struct ctl_target *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[4096], *answer = NULL;
	const char *sock = NULL;
	struct buf req;
	int opt, rc, ret = CLI_USAGE;

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			t->usage(stdout);
			return CLI_OK;
		default:
			cli_usage_error(t->command, "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		t->usage(stderr);
		return CLI_USAGE;
	}
	buf_init(&req);
	rc = ctl_join(argc - optind, argv + optind, &req);
	if (rc) {
		cli_usage_error(t->command,
				rc == -EINVAL ? "a request is one line" : "request too long");
		goto out;
	}
	rc = sock ? snprintf(path, sizeof(path), "%s", sock)
		  : snprintf(path, sizeof(path), "%s/%s", c->data_dir, t->socket);
	if (rc < 0 || rc >= (int)sizeof(path)) {
		cli_usage_error(t->command, "socket path too long");
		goto out;
	}
	ret = CLI_FAIL;
	answer = malloc(CTL_ANSWER_MAX + 1);
	if (!answer) {
		fprintf(stderr, "simreg %s: out of memory\n", t->command);
		goto out;
	}
	rc = ctl_client_call(path, req.p, answer, CTL_ANSWER_MAX + 1, t->timeout_ms);
	if (rc < 0) {
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			fprintf(stderr, "simreg %s: %s: no %s answers there\n", t->command, path,
				t->what);
		else
			fprintf(stderr, "simreg %s: %s: %s\n", t->command, path, strerror(-rc));
		goto out;
	}
	ret = judge(answer);
out:
	free(answer);
	buf_free(&req);
	return ret;
}
