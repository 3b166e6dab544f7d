/*
 * simreg ctl pcscf REQUEST... - one request to a running P-CSCF's control
 * socket (docs/architecture.md, "Control sockets"; docs/pcscf.md).
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

/* The P-CSCF answers from its loop at once; longer means it is wedged. */
#define PCSCF_CTL_TIMEOUT_MS 10000
/*
 * `flows` of a busy P-CSCF is long: room for as much as the server queues
 * for one client (lib/core/ctlsock.c) before it gives up on it.
 */
#define PCSCF_ANSWER_MAX (4u << 20)

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg ctl pcscf - ask or tell a running `simreg pcscf`\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg ctl [--data DIR] pcscf [--ctl PATH] REQUEST...\n"
		"\n"
		"DESCRIPTION\n"
		"       Sends one request to the P-CSCF's control socket and prints its\n"
		"       answer, one line of JSON. Requests (`help` lists them too):\n"
		"\n"
		"       status             IPsec backend, SA binding, flows per state, SA\n"
		"                          sets, protected ports, reg-event subscriptions,\n"
		"                          counters (refusals, drops, forged tokens, ...)\n"
		"       flows              every registration flow: IMPI, IMPU, UE address\n"
		"                          and ports, contact, expiry, flow token, and its SA\n"
		"                          sets (state, lifetime left, algorithms, SPIs,\n"
		"                          ports, packets and drops per SA)\n"
		"       flow ID            one registration flow\n"
		"       remove ID          end a registration flow; its SA sets stay for\n"
		"                          pcscf.sa_linger, then go\n"
		"       remove-impi IMPI   end every registration flow of an IMPI\n"
		"       subscriptions      the reg-event subscriptions to the S-CSCF\n"
		"       help               the requests, as the P-CSCF knows them\n"
		"\n"
		"OPTIONS\n"
		"       --ctl PATH   the socket (default DIR/pcscf.ctl, as `simreg pcscf\n"
		"                    --data DIR` opens it)\n"
		"\n"
		"EXAMPLES\n"
		"       simreg ctl pcscf status\n"
		"       simreg ctl --data /var/lib/simreg pcscf flows | jq '.flows[].sets'\n"
		"       simreg ctl pcscf remove-impi alice@ims.test\n"
		"\n"
		"EXIT STATUS\n"
		"       0 the answer says ok; 1 it says why not, or the P-CSCF cannot be\n"
		"       reached; 2 bad usage.\n");
}

/* One line of words; a word with a space, a quote or a backslash goes quoted. */
static int request_line(int argc, char **argv, struct buf *req)
{
	for (int i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n"))
			return -EINVAL;
		if (i > 0)
			buf_putc(req, ' ');
		if (!*argv[i] || strpbrk(argv[i], " \t\"\\")) {
			buf_putc(req, '"');
			for (const char *p = argv[i]; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_putc(req, '\\');
				buf_putc(req, *p);
			}
			buf_putc(req, '"');
		} else {
			buf_puts(req, argv[i]);
		}
	}
	buf_putc(req, '\0');
	if (buf_error(req) || req->len > CTL_LINE_MAX)
		return -E2BIG;
	return 0;
}

int ctl_pcscf(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[4096], *answer = NULL;
	const char *ctl = NULL;
	struct json_value *root;
	struct buf req;
	struct arena a;
	bool ok = false;
	int opt, rc, ret = CLI_USAGE;

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			ctl = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			cli_usage_error("ctl pcscf", "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	buf_init(&req);
	rc = request_line(argc - optind, argv + optind, &req);
	if (rc) {
		cli_usage_error("ctl pcscf", rc == -EINVAL ? "a request is one line"
							   : "request too long");
		goto out;
	}
	rc = ctl ? snprintf(path, sizeof(path), "%s", ctl)
		 : snprintf(path, sizeof(path), "%s/pcscf.ctl", c->data_dir);
	if (rc < 0 || rc >= (int)sizeof(path)) {
		cli_usage_error("ctl pcscf", "socket path too long");
		goto out;
	}
	ret = CLI_FAIL;
	answer = malloc(PCSCF_ANSWER_MAX + 1);
	if (!answer) {
		fprintf(stderr, "simreg ctl pcscf: out of memory\n");
		goto out;
	}
	rc = ctl_client_call(path, req.p, answer, PCSCF_ANSWER_MAX + 1, PCSCF_CTL_TIMEOUT_MS);
	if (rc < 0) {
		fprintf(stderr, "simreg ctl pcscf: %s: %s\n", path,
			rc == -ENOENT || rc == -ECONNREFUSED ? "no P-CSCF answers there"
							     : strerror(-rc));
		goto out;
	}
	puts(answer);
	arena_init(&a, 0, 0);
	if (json_parse(&a, str_trim(str_from_cstr(answer)), &root, NULL) == 0)
		json_get_bool(root, "ok", &ok);
	arena_destroy(&a);
	ret = ok ? CLI_OK : CLI_FAIL;
out:
	free(answer);
	buf_free(&req);
	return ret;
}
