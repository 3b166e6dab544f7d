/*
 * simreg ctl scscf REQUEST... - one request to a running S-CSCF's control
 * socket (docs/architecture.md, "Control sockets"; docs/scscf.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctlsock.h"
#include "core/json.h"
#include "ctl/ctl.h"

/* The S-CSCF answers from its loop at once; longer means it is wedged. */
#define SCSCF_CTL_TIMEOUT_MS 10000

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg ctl scscf - ask or tell a running `simreg scscf`\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg ctl [--data DIR] scscf [--ctl PATH] REQUEST...\n"
		"\n"
		"DESCRIPTION\n"
		"       Sends one request to the S-CSCF's control socket and prints its\n"
		"       answer, one line of JSON. Requests (`help` lists them too):\n"
		"\n"
		"       status                        counters, policy, HSS connection\n"
		"       bindings [IMPU]               registered contacts, each with its IMPI,\n"
		"                                     expiry, last event, Path, Service-Route\n"
		"       subscriptions [IMPU]          reg-event watchers (UE, P-CSCF)\n"
		"       reginfo IMPU                  the full RFC 3680 document of an IMPU\n"
		"       dereg IMPU [binding=N] [event=deactivated|probation|rejected]\n"
		"             [retry=S]               network-initiated deregistration of an\n"
		"                                     IMPU, or of one binding (TS 24.229 5.4.1.5)\n"
		"       reauth IMPU [binding=N]       network-initiated re-authentication\n"
		"                                     (5.4.1.6): expiry shortened, NOTIFY\n"
		"                                     \"shortened\", the next REGISTER challenged\n"
		"\n"
		"OPTIONS\n"
		"       --ctl PATH   the socket (default DIR/scscf.ctl)\n"
		"\n"
		"EXIT STATUS\n"
		"       0 the answer says ok; 1 it says why not, or the S-CSCF cannot be\n"
		"       reached; 2 bad usage.\n");
}

int ctl_scscf(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[4096], answer[1 << 17];
	const char *ctl = NULL;
	struct json_value *root;
	struct buf req;
	struct arena a;
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
			cli_usage_error("ctl scscf", "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	/* One line of words; a word with a space or a quote in it goes quoted. */
	buf_init(&req);
	for (int i = optind; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n")) {
			buf_free(&req);
			cli_usage_error("ctl scscf", "a request is one line");
			return CLI_USAGE;
		}
		if (i > optind)
			buf_putc(&req, ' ');
		if (!*argv[i] || strpbrk(argv[i], " \t\"\\")) {
			buf_putc(&req, '"');
			for (const char *p = argv[i]; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_putc(&req, '\\');
				buf_putc(&req, *p);
			}
			buf_putc(&req, '"');
		} else {
			buf_puts(&req, argv[i]);
		}
	}
	buf_putc(&req, '\0');
	if (buf_error(&req) || req.len > CTL_LINE_MAX) {
		buf_free(&req);
		cli_usage_error("ctl scscf", "request too long");
		return CLI_USAGE;
	}
	if (snprintf(path, sizeof(path), "%s", ctl ? ctl : "") >= (int)sizeof(path) ||
	    (!ctl && snprintf(path, sizeof(path), "%s/scscf.ctl", c->data_dir) >= (int)sizeof(path))) {
		buf_free(&req);
		cli_usage_error("ctl scscf", "socket path too long");
		return CLI_USAGE;
	}
	rc = ctl_client_call(path, req.p, answer, sizeof(answer), SCSCF_CTL_TIMEOUT_MS);
	buf_free(&req);
	if (rc < 0) {
		fprintf(stderr, "simreg ctl scscf: %s: %s\n", path, strerror(-rc));
		return CLI_FAIL;
	}
	puts(answer);
	arena_init(&a, 0, 0);
	if (json_parse(&a, str_trim(str_from_cstr(answer)), &root, NULL) == 0)
		json_get_bool(root, "ok", &ok);
	arena_destroy(&a);
	return ok ? CLI_OK : CLI_FAIL;
}
