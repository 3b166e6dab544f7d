/*
 * simreg ctl ue WORDS... - one request to a running UE's control socket.
 */
#include <stdio.h>

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
	static const struct ctl_target target = {
		.command = "ctl ue",
		.what = "UE",
		.socket = "ue.ctl",
		.timeout_ms = ANSWER_TIMEOUT_MS,
		.usage = usage,
	};

	return ctl_request(c, &target, argc, argv);
}
