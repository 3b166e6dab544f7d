/*
 * simreg ipsec probe | list | remove
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipsec/backend.h"

static void help(void)
{
	printf("NAME\n"
	       "       simreg ipsec - which IPsec backend this host can use, and the SA sets\n"
	       "       simreg owns\n"
	       "\n"
	       "SYNOPSIS\n"
	       "       simreg ipsec probe\n"
	       "       simreg ipsec list [--backend xfrm|userspace]\n"
	       "       simreg ipsec remove [--backend xfrm] SET_ID... | --all\n"
	       "\n"
	       "DESCRIPTION\n"
	       "       probe   does what ipsec.backend: auto does at start-up: in a scratch\n"
	       "               network namespace (a child process that unshares its network\n"
	       "               namespace, so nothing the host holds is touched) it asks the\n"
	       "               kernel to install an ESP transport SA with cbc(aes) and\n"
	       "               hmac(sha1) through XFRM netlink, and opens a raw ESP socket.\n"
	       "               It prints what each attempt said, the backend auto would choose\n"
	       "               and why. Kernels built without CONFIG_INET_ESP refuse the SA;\n"
	       "               simreg then does ESP itself (the userspace backend).\n"
	       "\n"
	       "       list    prints the SA sets simreg owns. With the xfrm backend (the\n"
	       "               default here) they are read from the kernel: every SA whose\n"
	       "               reqid carries simreg's tag (0x53xxxxxx), grouped by set. SAs of\n"
	       "               anybody else are not shown and never touched.\n"
	       "\n"
	       "       remove  deletes the SAs and policies of the given sets (or of all sets\n"
	       "               simreg owns) from the kernel, e.g. after a crashed P-CSCF.\n"
	       "\n"
	       "OPTIONS\n"
	       "       --backend KIND\n"
	       "              xfrm (default for list and remove) or userspace (which owns\n"
	       "              nothing outside a running process, so lists nothing).\n"
	       "\n"
	       "EXIT STATUS\n"
	       "       0 success (probe: a backend is usable); 1 the operation failed (probe:\n"
	       "       neither backend can work here); 2 bad usage.\n");
}

static int probe(void)
{
	struct ipsec_probe p;
	int ret = ipsec_probe_run(&p);

	if (ret) {
		printf("probe failed: %s\n", p.reason);
		return CLI_FAIL;
	}
	printf("kernel ESP: %s\n", p.kernel);
	printf("raw ESP:    %s\n", p.raw);
	printf("auto:       %s\n", ipsec_backend_kind_name(p.choice));
	printf("reason:     %s\n", p.reason);
	return p.choice == IPSEC_BACKEND_AUTO ? CLI_FAIL : CLI_OK;
}

static int print_set(void *arg, const struct ipsec_sa_set *set)
{
	char ue[IPSEC_ADDR_STRLEN], pc[IPSEC_ADDR_STRLEN];

	printf("set %u %s ue %s ports %u/%u spis 0x%08x/0x%08x pcscf %s ports %u/%u "
	       "spis 0x%08x/0x%08x %s %s\n",
	       set->id, ipsec_side_name(set->side), ipsec_addr_str(&set->p.ue, ue),
	       set->p.client.port_c, set->p.client.port_s, set->p.client.spi_c,
	       set->p.client.spi_s, ipsec_addr_str(&set->p.pcscf, pc), set->p.server.port_c,
	       set->p.server.port_s, set->p.server.spi_c, set->p.server.spi_s,
	       esp_auth_alg_name(set->p.keys.auth), esp_enc_alg_name(set->p.keys.enc));
	(*(unsigned *)arg)++;
	return 0;
}

struct ids {
	uint32_t v[4096];
	size_t n;
};

static int collect(void *arg, const struct ipsec_sa_set *set)
{
	struct ids *ids = arg;

	if (ids->n < sizeof(ids->v) / sizeof(ids->v[0]))
		ids->v[ids->n++] = set->id;
	return 0;
}

int cmd_ipsec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", 1, NULL, 'b' },
		{ "all", 0, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipsec_config cfg = { .backend = IPSEC_BACKEND_XFRM };
	struct ipsec_backend *b;
	const char *sub;
	bool all = false;
	int c, ret, status = CLI_OK;

	if (cli_wants_help(argc, argv)) {
		help();
		return CLI_OK;
	}
	if (argc < 2) {
		cli_usage_error("ipsec", "which one: probe, list or remove?");
		return CLI_USAGE;
	}
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (ipsec_backend_kind_parse(optarg, &cfg.backend) ||
			    cfg.backend == IPSEC_BACKEND_AUTO) {
				cli_usage_error("ipsec", "--backend: xfrm or userspace, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'a':
			all = true;
			break;
		default:
			cli_usage_error("ipsec", "unknown option");
			return CLI_USAGE;
		}
	}
	if (strcmp(sub, "probe") == 0)
		return probe();
	if (strcmp(sub, "list") != 0 && strcmp(sub, "remove") != 0) {
		cli_usage_error("ipsec", "unknown subcommand '%s'", sub);
		return CLI_USAGE;
	}
	if (strcmp(sub, "remove") == 0 && !all && optind >= argc) {
		cli_usage_error("ipsec", "remove: which sets? (SET_ID... or --all)");
		return CLI_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		char *end;
		unsigned long id = strtoul(argv[i], &end, 10);

		if (*end || !id || id > IPSEC_SET_ID_MAX) {
			cli_usage_error("ipsec", "bad set id '%s'", argv[i]);
			return CLI_USAGE;
		}
	}
	ret = ipsec_backend_open(&cfg, &b, NULL);
	if (ret) {
		fprintf(stderr, "simreg ipsec: cannot open the %s backend: %s\n",
			ipsec_backend_kind_name(cfg.backend), strerror(-ret));
		return CLI_FAIL;
	}
	if (strcmp(sub, "list") == 0) {
		unsigned n = 0;

		ret = ipsec_backend_list(b, print_set, &n);
		if (!ret)
			printf("%u set%s\n", n, n == 1 ? "" : "s");
	} else {
		static struct ids ids;

		ret = ipsec_backend_list(b, collect, &ids);
		for (size_t i = 0; !ret && all && i < ids.n; i++)
			if (ipsec_backend_remove(b, ids.v[i]))
				status = CLI_FAIL;
		for (int i = optind; !ret && !all && i < argc; i++) {
			uint32_t id = (uint32_t)strtoul(argv[i], NULL, 10);
			int r = ipsec_backend_remove(b, id);

			if (r) {
				fprintf(stderr, "simreg ipsec: set %u: %s\n", id, strerror(-r));
				status = CLI_FAIL;
			}
		}
	}
	if (ret) {
		fprintf(stderr, "simreg ipsec %s: %s\n", sub, strerror(-ret));
		status = CLI_FAIL;
	}
	ipsec_backend_close(b);
	return status;
}
