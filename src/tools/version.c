/*
 * simreg version
 */
#include <openssl/crypto.h>
#include <stdio.h>

#include "cli.h"
#include "simreg_version.h"

int cmd_version(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		printf("NAME\n"
		       "       simreg version - print the version and the libraries in use\n"
		       "\n"
		       "SYNOPSIS\n"
		       "       simreg version\n");
		return CLI_OK;
	}
	printf("simreg %s\n", SIMREG_VERSION);
	printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	return CLI_OK;
}
