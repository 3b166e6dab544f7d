/*
 * simreg ctl scscf REQUEST... - one request to a running S-CSCF's control
 * socket (docs/architecture.md, "Control sockets"; docs/scscf.md).
 */
#include <stdio.h>

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
	static const struct ctl_target target = {
		.command = "ctl scscf",
		.what = "S-CSCF",
		.socket = "scscf.ctl",
		.timeout_ms = SCSCF_CTL_TIMEOUT_MS,
		.usage = usage,
	};

	return ctl_request(c, &target, argc, argv);
}
