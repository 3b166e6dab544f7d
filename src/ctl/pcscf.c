/*
 * simreg ctl pcscf REQUEST... - one request to a running P-CSCF's control
 * socket (docs/architecture.md, "Control sockets"; docs/pcscf.md).
 */
#include <stdio.h>

#include "ctl/ctl.h"

/* The P-CSCF answers from its loop at once; longer means it is wedged. */
#define PCSCF_CTL_TIMEOUT_MS 10000

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

int ctl_pcscf(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_target target = {
		.command = "ctl pcscf",
		.what = "P-CSCF",
		.socket = "pcscf.ctl",
		.timeout_ms = PCSCF_CTL_TIMEOUT_MS,
		.usage = usage,
	};

	return ctl_request(c, &target, argc, argv);
}
