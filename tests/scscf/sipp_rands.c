/*
 * sipp_rands - RANDs that SIPp 3.6.1 answers correctly, for the HSS's
 * hss.test.rand_file (docs/hss.md, "Test RANDs").
 *
 *     sipp_rands --k HEX (--op HEX | --opc HEX) --count N
 *
 * SIPp 3.6.1 computes a wrong Digest-AKAv1-MD5 response when RES (f2,
 * TS 35.206) holds a 0x00 octet, as about 3% of random RANDs make it (one
 * in 256 per octet, eight octets). This prints N RANDs, one per line in hex, whose
 * RES under K and OP has no 0x00 octet: the candidates are a fixed start
 * value counted up, so every run of a test gets the same challenges.
 * Exit status 0, or 2 for bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/milenage.h"
#include "core/hex.h"

/* The first candidate: "simreg-sipp-rand". */
static const uint8_t first[AKA_RAND_LEN] = { 's', 'i', 'm', 'r', 'e', 'g', '-', 's',
					      'i', 'p', 'p', '-', 'r', 'a', 'n', 'd' };

static void count_up(uint8_t rand[AKA_RAND_LEN])
{
	for (int i = AKA_RAND_LEN - 1; i >= 0 && ++rand[i] == 0; i--)
		;
}

static int usage(void)
{
	fprintf(stderr, "usage: sipp_rands --k HEX (--op HEX | --opc HEX) --count N\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "k", required_argument, NULL, 'k' },
		{ "op", required_argument, NULL, 'o' },
		{ "opc", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t k[AKA_K_LEN], op[AKA_OP_LEN], rand[AKA_RAND_LEN], res[AKA_RES_LEN];
	const char *k_hex = NULL, *op_hex = NULL;
	enum milenage_opkind kind = MILENAGE_OP;
	struct milenage m;
	long count = -1;
	char *end;
	int opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			k_hex = optarg;
			break;
		case 'o':
		case 'c':
			op_hex = optarg;
			kind = opt == 'o' ? MILENAGE_OP : MILENAGE_OPC;
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (!k_hex || !op_hex || count < 0 || optind < argc ||
	    hex_decode(str_from_cstr(k_hex), k, sizeof(k)) ||
	    hex_decode(str_from_cstr(op_hex), op, sizeof(op)))
		return usage();
	if (milenage_init(&m, k, op, kind)) {
		fprintf(stderr, "sipp_rands: Milenage refused the key\n");
		return 1;
	}
	memcpy(rand, first, sizeof(rand));
	while (count > 0) {
		char hex[2 * AKA_RAND_LEN + 1];

		if (milenage_f2_f5star(&m, rand, res, NULL, NULL, NULL, NULL)) {
			rc = 1;
			break;
		}
		if (!memchr(res, 0, sizeof(res))) {
			hex_encode(rand, sizeof(rand), hex);
			printf("%s\n", hex);
			count--;
		}
		count_up(rand);
	}
	milenage_free(&m);
	return rc;
}
