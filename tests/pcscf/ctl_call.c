/*
 * ctl_call SOCKET WORDS... - one control-socket request, its JSON answer on
 * stdout (lib/core/ctlsock.h's client). For the test scripts, until
 * `simreg ctl <function>` speaks to every function's socket.
 */
#include <stdio.h>
#include <string.h>

#include "core/ctlsock.h"

int main(int argc, char **argv)
{
	char req[CTL_LINE_MAX], answer[1 << 20];
	size_t len = 0;
	int n;

	if (argc < 3) {
		fprintf(stderr, "usage: ctl_call SOCKET WORDS...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		n = snprintf(req + len, sizeof(req) - len, "%s%s", i > 2 ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(req) - len)
			return 2;
		len += (size_t)n;
	}
	n = ctl_client_call(argv[1], req, answer, sizeof(answer), 5000);
	if (n < 0) {
		fprintf(stderr, "ctl_call %s: %s\n", argv[1], strerror(-n));
		return 1;
	}
	puts(answer);
	return 0;
}
