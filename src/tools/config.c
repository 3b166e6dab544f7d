/*
 * simreg config check|dump|schema - validate, print and document the
 * deployment configuration.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/config.h"
#include "ipsec/backend.h"

/* Declare every section of the list, so adding one needs no header here. */
#define SIMREG_CONFIG_SECTION(var) extern const struct config_section var;
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION

static const struct config_section *const sections[] = {
#define SIMREG_CONFIG_SECTION(var) &var,
#include "config_sections.def"
#undef SIMREG_CONFIG_SECTION
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void help(void)
{
	printf("NAME\n"
	       "       simreg config - validate, print and document the configuration\n"
	       "\n"
	       "SYNOPSIS\n"
	       "       simreg config check FILE\n"
	       "       simreg config dump FILE\n"
	       "       simreg config schema\n"
	       "\n"
	       "DESCRIPTION\n"
	       "       One YAML file configures a whole deployment, with a section per\n"
	       "       network function and shared sections (log:, loop:, ...). Every\n"
	       "       process validates the whole file against the schema compiled into\n"
	       "       simreg; each error names the file, the line and the dotted key:\n"
	       "\n"
	       "           deploy.yaml:12: key 'log.level': expected one of error, warn, ...\n"
	       "\n"
	       "       check   validate FILE; print every error to stderr.\n"
	       "       dump    print the effective configuration (defaults and FILE\n"
	       "               merged) as YAML; key material is shown as <secret>.\n"
	       "       schema  print every section's keys as Markdown tables, the source of\n"
	       "               the tables in docs/configuration.md.\n"
	       "\n"
	       "EXIT STATUS\n"
	       "       0 valid (or printed); 2 bad usage or the file was rejected.\n");
}

static int load(const char *path, struct config *cfg)
{
	struct config_errors err;
	int rc = config_load_file(cfg, sections, NSECTIONS, path, &err);

	if (rc < 0) {
		fputs(err.text, stderr);
		if (err.count > 1)
			fprintf(stderr, "%s: %u errors, file rejected\n", path, err.count);
	}
	return rc;
}

int cmd_config(int argc, char **argv)
{
	struct config cfg;
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (cli_wants_help(argc, argv)) {
		help();
		return CLI_OK;
	}
	if (sub && strcmp(sub, "schema") == 0 && argc == 2)
		return config_schema_markdown(sections, NSECTIONS, stdout) < 0 ? CLI_FAIL : CLI_OK;
	if (!sub || (strcmp(sub, "check") != 0 && strcmp(sub, "dump") != 0)) {
		cli_usage_error("config", "expected check FILE, dump FILE or schema");
		return CLI_USAGE;
	}
	if (argc != 3) {
		cli_usage_error("config", "%s: expected one FILE", sub);
		return CLI_USAGE;
	}
	if (load(argv[2], &cfg) < 0)
		return CLI_USAGE;
	if (strcmp(sub, "dump") == 0 && config_dump(&cfg, stdout) < 0) {
		config_free(&cfg);
		return CLI_FAIL;
	}
	config_free(&cfg);
	return CLI_OK;
}
