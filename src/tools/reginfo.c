/*
 * simreg reginfo - read, re-render and validate RFC 3680 reg-event bodies.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "reginfo/reginfo.h"

static void print_manual(void)
{
	printf("NAME\n"
	       "       simreg reginfo - read, re-render and validate RFC 3680 reg-event documents\n"
	       "\n"
	       "SYNOPSIS\n"
	       "       simreg reginfo parse [FILE]\n"
	       "       simreg reginfo rebuild [FILE]\n"
	       "       simreg reginfo validate --schema XSD --xml-schema XSD [FILE]\n"
	       "\n"
	       "DESCRIPTION\n"
	       "       Reads an application/reginfo+xml body (the body of a NOTIFY for the\n"
	       "       reg event) from FILE, or from standard input when FILE is absent or -.\n"
	       "       It is read the way simreg's UE and P-CSCF read it: no network, no DTD,\n"
	       "       at most %d bytes, the contact state machine of RFC 3680 5.1.2\n"
	       "       enforced.\n"
	       "\n"
	       "       parse     print the decoded document, one line per registration,\n"
	       "                 contact, URI and parameter.\n"
	       "       rebuild   print the document as simreg's S-CSCF would render the same\n"
	       "                 content.\n"
	       "       validate  check the document against the XML schema of RFC 3680\n"
	       "                 section 6 with libxml2. libxml2 checks xs:anyURI by RFC 3986,\n"
	       "                 so a SIP URI with an IPv6 reference fails this check although\n"
	       "                 XML Schema accepts it.\n"
	       "\n"
	       "OPTIONS\n"
	       "       --schema XSD\n"
	       "              the schema of RFC 3680 section 6 (tests/data/reginfo/reginfo.xsd).\n"
	       "       --xml-schema XSD\n"
	       "              a local schema of the XML namespace, used instead of fetching\n"
	       "              http://www.w3.org/2001/03/xml.xsd (tests/data/reginfo/xml.xsd).\n"
	       "       -h, --help\n"
	       "              this manual.\n"
	       "\n"
	       "EXIT STATUS\n"
	       "       0 the document was read (and is valid); 1 it was refused, with the\n"
	       "       reason and line on standard error; 2 bad usage.\n",
	       REGINFO_MAX_DOC);
}

/* The whole input, up to one byte over the library's limit so that the
 * library is the one to refuse an oversized body. */
static int slurp(const char *path, char **out, size_t *len)
{
	size_t cap = (size_t)REGINFO_MAX_DOC + 1, n = 0;
	FILE *f = stdin;
	char *buf;
	int rc = 0;

	if (path && strcmp(path, "-") != 0) {
		f = fopen(path, "rb");
		if (!f)
			return -errno;
	}
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, cap, f);
	if (ferror(f)) {
		rc = -EIO;
		free(buf);
		goto out;
	}
	*out = buf;
	*len = n;
out:
	if (f != stdin)
		fclose(f);
	return rc;
}

static int report(const char *cmd, const char *what, int rc, const struct reginfo_error *err)
{
	if (err->line > 0)
		fprintf(stderr, "simreg reginfo %s: %s: line %d: %s (%s)\n", cmd, what, err->line,
			err->msg, strerror(-rc));
	else
		fprintf(stderr, "simreg reginfo %s: %s: %s (%s)\n", cmd, what, err->msg,
			strerror(-rc));
	return CLI_FAIL;
}

static int do_parse(const char *cmd, const char *path, const char *buf, size_t len)
{
	struct reginfo_error err = { 0 };
	struct arena arena;
	struct reginfo doc;
	char *out = NULL;
	size_t cap, olen;
	int rc, status = CLI_OK;

	arena_init(&arena, 0, 0);
	rc = reginfo_parse(buf, len, &arena, &doc, &err);
	if (rc) {
		status = report(cmd, path, rc, &err);
		goto out;
	}
	if (strcmp(cmd, "parse") == 0) {
		reginfo_print(&doc, stdout);
		goto out;
	}
	/* Escaping grows text at most sixfold ("\"" becomes "&quot;"). */
	cap = 6 * len + 4096;
	out = malloc(cap);
	if (!out) {
		fprintf(stderr, "simreg reginfo: out of memory\n");
		status = CLI_FAIL;
		goto out;
	}
	rc = reginfo_build(&doc, out, cap, &olen, &err);
	if (rc) {
		status = report(cmd, path, rc, &err);
		goto out;
	}
	fwrite(out, 1, olen, stdout);
out:
	free(out);
	arena_destroy(&arena);
	return status;
}

static int do_validate(const char *path, const char *buf, size_t len, const char *xsd,
		       const char *xml_xsd)
{
	struct reginfo_error err = { 0 };
	struct reginfo_schema *schema;
	int rc;

	rc = reginfo_schema_load(xsd, xml_xsd, &schema, &err);
	if (rc) {
		fprintf(stderr, "simreg reginfo validate: %s\n", err.msg);
		return CLI_USAGE;
	}
	rc = reginfo_validate(schema, buf, len, &err);
	reginfo_schema_free(schema);
	if (rc)
		return report("validate", path, rc, &err);
	printf("%s: valid against RFC 3680's schema\n", path);
	return CLI_OK;
}

int cmd_reginfo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "schema", required_argument, NULL, 's' },
		{ "xml-schema", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *xsd = NULL, *xml_xsd = NULL, *sub, *path;
	char *buf = NULL;
	size_t len = 0;
	int c, rc, status;

	if (cli_wants_help(argc, argv)) {
		print_manual();
		return CLI_OK;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			xsd = optarg;
			break;
		case 'x':
			xml_xsd = optarg;
			break;
		default:
			cli_usage_error("reginfo", "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_usage_error("reginfo", "missing subcommand (parse, rebuild or validate)");
		return CLI_USAGE;
	}
	sub = argv[optind++];
	path = optind < argc ? argv[optind++] : "-";
	if (optind < argc) {
		cli_usage_error("reginfo", "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (strcmp(sub, "parse") != 0 && strcmp(sub, "rebuild") != 0 &&
	    strcmp(sub, "validate") != 0) {
		cli_usage_error("reginfo", "unknown subcommand '%s'", sub);
		return CLI_USAGE;
	}
	if (strcmp(sub, "validate") == 0 && (!xsd || !xml_xsd)) {
		cli_usage_error("reginfo", "validate needs --schema and --xml-schema");
		return CLI_USAGE;
	}
	rc = slurp(path, &buf, &len);
	if (rc) {
		fprintf(stderr, "simreg reginfo %s: %s: %s\n", sub, path, strerror(-rc));
		return CLI_FAIL;
	}
	if (strcmp(sub, "validate") == 0)
		status = do_validate(path, buf, len, xsd, xml_xsd);
	else
		status = do_parse(sub, path, buf, len);
	free(buf);
	return status;
}
