/*
 * simreg ctl - provisioning and control.
 */
#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"

struct ctl_object {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *summary;
};

static const struct ctl_object objects[] = {
	{ "subscriber", ctl_subscriber, "HSS subscriptions: add, show, list, set, delete, import" },
	{ "ue", ctl_ue, "a running UE: status, register, deregister, reauth, drop, restore, send" },
	{ "scscf", ctl_scscf, "a running S-CSCF: status, bindings, subscriptions, dereg, reauth" },
	{ "pcscf", ctl_pcscf, "a running P-CSCF: status, flows, flow, remove, subscriptions" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg ctl - provision and control a simreg deployment\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg ctl [--data DIR] OBJECT VERB [OPTIONS]\n"
		"       simreg ctl OBJECT --help\n"
		"\n"
		"DESCRIPTION\n"
		"       Works on the data directory the network functions use; the HSS may\n"
		"       be running meanwhile (SQLite in WAL mode lets both in).\n"
		"\n"
		"OBJECTS\n");
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		fprintf(out, "       %-11s %s\n", objects[i].name, objects[i].summary);
	fprintf(out,
		"\n"
		"OPTIONS\n"
		"       --data DIR\n"
		"              the data directory (default ./" CTL_DATA_DIR_DEFAULT ");\n"
		"              the subscriber database is DIR/" CTL_DB_NAME ".\n"
		"\n"
		"EXIT STATUS\n"
		"       0 success; 1 the operation failed (nothing was changed); 2 bad usage\n"
		"       or a bad field, named in the message.\n");
}

int ctl_open_store(struct ctl *c, bool create, struct store **out)
{
	struct stat sb;
	int err;

	if (snprintf(c->db_path, sizeof(c->db_path), "%s/%s", c->data_dir, CTL_DB_NAME) >=
	    (int)sizeof(c->db_path)) {
		fprintf(stderr, "simreg ctl: --data: path too long\n");
		return -ENAMETOOLONG;
	}
	if (stat(c->db_path, &sb) != 0) {
		if (!create) {
			fprintf(stderr, "simreg ctl: no subscriber database at %s\n", c->db_path);
			return -ENOENT;
		}
		if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
			err = -errno;
			fprintf(stderr, "simreg ctl: --data: cannot create %s: %s\n", c->data_dir,
				strerror(errno));
			return err;
		}
	}
	err = store_open(c->db_path, out);
	if (err) {
		slog_drain();
		fprintf(stderr, "simreg ctl: cannot open %s: %s\n", c->db_path,
			err == -EPROTO ? "written by a newer simreg" : strerror(-err));
	}
	return err;
}

int cmd_ctl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .data_dir = CTL_DATA_DIR_DEFAULT };
	int rc = CLI_USAGE;
	int opt;

	slog_init("ctl", SLOG_TARGET_STDERR, SLOG_WARN);
	/* Options before the object only ("+"): the rest belong to it. */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			c.data_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			cli_usage_error("ctl", "unknown option");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		if (strcmp(argv[optind], objects[i].name) == 0) {
			int first = optind;

			optind = 1;
			rc = objects[i].fn(&c, argc - first, argv + first);
			slog_drain();
			return rc;
		}
	}
	cli_usage_error("ctl", "unknown object '%s'", argv[optind]);
	return rc;
}
