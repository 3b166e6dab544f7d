/*
 * simreg ctl ue WORDS... - one request to a running UE's control socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "core/ctlsock.h"
#include "core/json.h"
#include "ctl/ctl.h"

/* How long a request may take: the UE answers at once, except when wedged. */
#define ANSWER_TIMEOUT_MS 10000

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg ctl ue - control a running `simreg ue`\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg ctl [--data DIR] ue [--ctl PATH] REQUEST...\n"
		"\n"
		"DESCRIPTION\n"
		"       Sends REQUEST (its words joined by spaces; quote a word that holds\n"
		"       spaces) to the UE's control socket and prints the one-line JSON\n"
		"       answer. Requests (`help` lists them too):\n"
		"\n"
		"       status                     every access: state, SA sets, subscription\n"
		"       register ACCESS            register (or re-register now)\n"
		"       deregister ACCESS          REGISTER with Expires 0\n"
		"       reauth ACCESS              re-register asking to be challenged\n"
		"       drop ACCESS                the link goes away: sockets closed, SAs\n"
		"                                  deleted, nothing sent\n"
		"       restore ACCESS             the link is back; register after the\n"
		"                                  RFC 5626 back-off\n"
		"       send MESSAGE|OPTIONS TO via ACCESS [TEXT...]\n"
		"                                  a request to the URI TO through the\n"
		"                                  access's Service-Route\n"
		"\n"
		"OPTIONS\n"
		"       --ctl PATH   the socket (default DIR/ue.ctl)\n"
		"\n"
		"EXIT STATUS\n"
		"       0 the answer says ok; 1 it says why not, or the UE cannot be reached;\n"
		"       2 bad usage.\n");
}

int ctl_ue(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[4096], req[4096], ans[65536];
	const char *ctl = NULL;
	struct json_value *root;
	struct arena a;
	size_t len = 0;
	bool ok = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			ctl = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			cli_usage_error("ctl ue", "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int n = snprintf(req + len, sizeof(req) - len, "%s%s", i > optind ? " " : "",
				 argv[i]);

		if (n < 0 || (size_t)n >= sizeof(req) - len - 1 || strchr(argv[i], '\n')) {
			cli_usage_error("ctl ue", "request too long or with a newline");
			return CLI_USAGE;
		}
		len += (size_t)n;
	}
	req[len++] = '\n';
	if (ctl)
		snprintf(path, sizeof(path), "%s", ctl);
	else
		snprintf(path, sizeof(path), "%s/ue.ctl", c->data_dir);
	req[len - 1] = '\0'; /* ctl_client_call() adds the newline */
	rc = ctl_client_call(path, req, ans, sizeof(ans), ANSWER_TIMEOUT_MS);
	if (rc < 0) {
		fprintf(stderr, "simreg ctl ue: %s: %s\n", path, strerror(-rc));
		return CLI_FAIL;
	}
	puts(ans);
	arena_init(&a, 0, 0);
	if (json_parse(&a, str_trim(str_from_cstr(ans)), &root, NULL) == 0)
		json_get_bool(root, "ok", &ok);
	arena_destroy(&a);
	return ok ? CLI_OK : CLI_FAIL;
}
