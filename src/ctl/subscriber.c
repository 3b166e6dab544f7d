/*
 * simreg ctl subscriber - provision HSS subscriptions.
 *
 * Every verb runs in one store transaction: a bad field or a conflict is
 * reported by name and leaves the database as it was.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/arena.h"
#include "core/hex.h"
#include "ctl/ctl.h"
#include "ctl/import.h"
#include "ctl/sub_fields.h"
#include "store/model.h"

enum {
	OPT_HELP = 'h',
	OPT_KEYS = 0x100,
	OPT_FIELD = 0x200, /* + enum sub_field */
};

static void usage(FILE *out)
{
	fprintf(out,
		"NAME\n"
		"       simreg ctl subscriber - provision HSS subscriptions\n"
		"\n"
		"SYNOPSIS\n"
		"       simreg ctl [--data DIR] subscriber add --impi I --impu U[,U...] --k HEX\n"
		"                  (--opc HEX | --op HEX) [--amf HEX] [--sqn HEX]\n"
		"                  [--derived-impi RULE] [--max-registrations N] [FIELD...]\n"
		"       simreg ctl [--data DIR] subscriber show IMPI [--keys]\n"
		"       simreg ctl [--data DIR] subscriber list\n"
		"       simreg ctl [--data DIR] subscriber set IMPI FIELD...\n"
		"       simreg ctl [--data DIR] subscriber delete IMPI\n"
		"       simreg ctl [--data DIR] subscriber import FILE.csv\n"
		"\n"
		"DESCRIPTION\n"
		"       A subscription is one USIM: K, OPc (or OP), AMF and one SQN counter,\n"
		"       its private identity (IMPI), the IMPIs derived from it for the\n"
		"       modified-impi mechanism (authenticated with the same K and SQN), and\n"
		"       its public identities (IMPUs) in implicit registration sets.\n"
		"\n"
		"       show and set accept the IMPI positionally or as --impi; show also\n"
		"       finds a subscription by one of its derived IMPIs. set changes only\n"
		"       the fields given; a new --impu list replaces all IMPUs and forgets\n"
		"       their registrations. Keys are shown only with --keys.\n"
		"\n"
		"       import reads a CSV file (RFC 4180) whose first line names the\n"
		"       columns, using the field names below (impi, impu, k, opc or op are\n"
		"       required). The whole file is one transaction: any bad line is\n"
		"       reported as FILE:LINE with its field, and nothing is imported.\n"
		"\n"
		"FIELDS\n");
	for (int i = 0; i < SF__COUNT; i++)
		fprintf(out, "       --%s %s\n              %s\n", sub_field_name[i],
			sub_field_arg[i], sub_field_help[i]);
	fprintf(out,
		"\n"
		"EXIT STATUS\n"
		"       0 success; 1 the operation failed (unknown IMPI, identity taken, bad\n"
		"       file); 2 bad usage or a bad field. Nothing is changed unless 0.\n"
		"\n"
		"SEE ALSO\n"
		"       docs/hss.md\n");
}

static void field_error(const struct sub_error *e)
{
	if (e->detail[0])
		fprintf(stderr, "simreg ctl subscriber: --%s: %s: %s\n", sub_field_name[e->field],
			e->why, e->detail);
	else
		fprintf(stderr, "simreg ctl subscriber: --%s: %s\n", sub_field_name[e->field],
			e->why);
}

/*
 * Parse FIELD options (and --keys) after the verb. The first non-option
 * argument, if any, is the IMPI (as if given with --impi).
 */
static int parse_fields(int argc, char **argv, struct arena *a, struct sub_fields *f,
			bool *keys)
{
	struct option opts[SF__COUNT + 3];
	int n = 0;
	int opt;

	for (int i = 0; i < SF__COUNT; i++)
		opts[n++] = (struct option){ sub_field_name[i], required_argument, NULL,
					     OPT_FIELD + i };
	opts[n++] = (struct option){ "keys", no_argument, NULL, OPT_KEYS };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	memset(f, 0, sizeof(*f));
	/* 0, not 1: glibc then forgets the "+" ordering of `simreg ctl`'s own
	 * parse, so options and the IMPI may come in any order. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt >= OPT_FIELD && opt < OPT_FIELD + SF__COUNT) {
			int id = opt - OPT_FIELD;
			struct str v = str_from_cstr(optarg);

			if (f->set[id] && id != SF_IMPU) {
				cli_usage_error("ctl subscriber", "--%s: given twice",
						sub_field_name[id]);
				return -EINVAL;
			}
			if (f->set[id]) {
				/* Each --impu adds implicit registration sets. */
				char *joined = arena_printf(a, "%.*s|%.*s", STR_FMT(f->v[id]),
							    STR_FMT(v));
				if (!joined)
					return -ENOMEM;
				v = str_from_cstr(joined);
			}
			f->v[id] = v;
			f->set[id] = true;
			continue;
		}
		switch (opt) {
		case OPT_KEYS:
			if (!keys) {
				cli_usage_error("ctl subscriber", "--keys: only for show");
				return -EINVAL;
			}
			*keys = true;
			break;
		case OPT_HELP:
			break;
		case ':':
			cli_usage_error("ctl subscriber", "%s: needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			cli_usage_error("ctl subscriber", "%s: unknown option", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		if (f->set[SF_IMPI] || optind + 1 < argc) {
			cli_usage_error("ctl subscriber", "unexpected argument '%s'", argv[optind]);
			return -EINVAL;
		}
		f->v[SF_IMPI] = str_from_cstr(argv[optind]);
		f->set[SF_IMPI] = true;
	}
	return 0;
}

/* Only the IMPI may be given (show, delete). */
static int only_impi(const struct sub_fields *f)
{
	for (int i = 0; i < SF__COUNT; i++) {
		if (i != SF_IMPI && f->set[i]) {
			cli_usage_error("ctl subscriber", "--%s: not used by this verb",
					sub_field_name[i]);
			return -EINVAL;
		}
	}
	if (!f->set[SF_IMPI]) {
		cli_usage_error("ctl subscriber", "--impi: is missing");
		return -EINVAL;
	}
	return 0;
}

static int do_add(struct ctl *c, const struct sub_fields *f, struct arena *a)
{
	struct store_subscription_spec spec;
	struct store *st = NULL;
	struct sub_error e;
	int rc = CLI_FAIL;
	int err;

	err = sub_fields_to_spec(f, a, &spec, &e);
	if (err) {
		field_error(&e);
		rc = err == -EINVAL ? CLI_USAGE : CLI_FAIL;
		goto out;
	}
	if (ctl_open_store(c, true, &st))
		goto out;
	err = store_begin(st);
	if (!err)
		err = store_sub_insert(st, &spec, NULL);
	if (err == -EEXIST && sub_find_conflict(st, &spec, a, &e) == 0) {
		store_rollback(st);
		field_error(&e);
		goto out;
	}
	if (err) {
		store_rollback(st);
		fprintf(stderr, "simreg ctl subscriber: add: %s\n", strerror(-err));
		goto out;
	}
	err = store_commit(st);
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: add: commit: %s\n", strerror(-err));
		goto out;
	}
	printf("added %.*s\n", STR_FMT(spec.impi));
	rc = CLI_OK;
out:
	explicit_bzero(&spec, sizeof(spec));
	store_close(st);
	return rc;
}

/* Look the IMPI up; prints the error. Returns 0, or a CLI_* failure. */
static int find_sub(struct store *st, struct str impi, struct arena *a,
		    struct store_subscription *sub, struct store_impi *which)
{
	int err = store_impi_lookup(st, impi, a, which, sub);

	if (err == -ENOENT) {
		fprintf(stderr, "simreg ctl subscriber: --impi: %.*s is not provisioned\n",
			STR_FMT(impi));
		return CLI_FAIL;
	}
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: lookup: %s\n", strerror(-err));
		return CLI_FAIL;
	}
	return 0;
}

static void print_time(const char *label, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf(" %s=%s", label, buf);
}

static int do_show(struct ctl *c, const struct sub_fields *f, bool keys, struct arena *a)
{
	struct store_subscription sub;
	struct store_registration *regs;
	struct store_impi *impis;
	struct store_impu *impus;
	struct store *st = NULL;
	size_t n_impis, n_impus, n_regs;
	char hex[2 * STORE_KEY_LEN + 1];
	int rc = CLI_FAIL;

	memset(&sub, 0, sizeof(sub));
	if (only_impi(f))
		return CLI_USAGE;
	if (ctl_open_store(c, false, &st))
		return CLI_FAIL;
	rc = find_sub(st, str_trim(f->v[SF_IMPI]), a, &sub, NULL);
	if (rc)
		goto out;
	rc = CLI_FAIL;
	if (store_impi_list(st, sub.id, a, &impis, &n_impis) ||
	    store_impu_list(st, sub.id, a, &impus, &n_impus) ||
	    store_reg_list(st, sub.id, a, &regs, &n_regs)) {
		fprintf(stderr, "simreg ctl subscriber: show: cannot read the subscription\n");
		goto out;
	}
	printf("impi: %.*s\n", STR_FMT(sub.impi));
	for (size_t i = 1; i < n_impis; i++)
		printf("derived-impi: %.*s\n", STR_FMT(impis[i].name));
	printf("derived-rule: %.*s\n", STR_FMT(sub.derived_rule.len ? sub.derived_rule :
					       STR_LIT("none")));
	if (sub.max_registrations)
		printf("max-registrations: %u\n", sub.max_registrations);
	else
		printf("max-registrations: no limit\n");
	if (keys) {
		hex_encode(sub.k, sizeof(sub.k), hex);
		printf("k: %s\n", hex);
		hex_encode(sub.op, sizeof(sub.op), hex);
		printf("%s: %s\n", sub.op_is_opc ? "opc" : "op", hex);
		explicit_bzero(hex, sizeof(hex));
	} else {
		printf("k: <hidden>\n%s: <hidden>\n", sub.op_is_opc ? "opc" : "op");
	}
	hex_encode(sub.amf, sizeof(sub.amf), hex);
	printf("amf: %s\n", hex);
	printf("sqn: %012" PRIx64 "\n", sub.sqn);
	printf("auth-scheme: %s\n", store_auth_scheme_name(sub.auth_scheme));
	printf("roaming: %s\n", sub.roaming_allowed ? "yes" : "no");
	printf("scscf: %.*s%s\n", STR_FMT(sub.scscf_name.len ? sub.scscf_name : STR_LIT("none")),
	       sub.auth_pending ? " (authentication pending)" : "");
	for (size_t i = 0; i < n_impus; i++) {
		printf("impu: %.*s set=%u%s state=%s%s%s\n", STR_FMT(impus[i].uri), impus[i].irs,
		       impus[i].position == 0 ? " default" : "",
		       store_reg_state_name(impus[i].state), impus[i].barred ? " barred" : "",
		       impus[i].unreg_services ? " unregistered-services" : "");
	}
	for (size_t i = 0; i < n_regs; i++) {
		printf("registration: %.*s set=%u", STR_FMT(regs[i].impi), regs[i].irs);
		if (regs[i].contact.len)
			printf(" contact=%.*s", STR_FMT(regs[i].contact));
		printf(" scscf=%.*s", STR_FMT(regs[i].scscf_name));
		print_time("since", regs[i].registered_at);
		print_time("refreshed", regs[i].refreshed_at);
		printf("\n");
	}
	rc = CLI_OK;
out:
	explicit_bzero(&sub, sizeof(sub));
	store_close(st);
	return rc;
}

struct list_ctx {
	struct store *st;
	struct arena *scratch;
	uint64_t count;
};

static int list_one(void *ctx, const struct store_subscription *sub)
{
	struct list_ctx *l = ctx;
	struct store_impu *impus;
	size_t n;
	int err = store_impu_list(l->st, sub->id, l->scratch, &impus, &n);

	if (err)
		return err;
	printf("%.*s sqn=%012" PRIx64 " impus=%zu default=%.*s scscf=%.*s\n", STR_FMT(sub->impi),
	       sub->sqn, n, STR_FMT(n ? impus[0].uri : STR_LIT("none")),
	       STR_FMT(sub->scscf_name.len ? sub->scscf_name : STR_LIT("none")));
	l->count++;
	return 0;
}

static int do_list(struct ctl *c, const struct sub_fields *f)
{
	struct list_ctx l = { 0 };
	struct arena scratch;
	int rc = CLI_FAIL;
	int err;

	for (int i = 0; i < SF__COUNT; i++) {
		if (f->set[i]) {
			cli_usage_error("ctl subscriber", "list takes no fields");
			return CLI_USAGE;
		}
	}
	if (ctl_open_store(c, false, &l.st))
		return CLI_FAIL;
	arena_init(&scratch, 0, ARENA_WIPE);
	l.scratch = &scratch;
	err = store_sub_foreach(l.st, &scratch, list_one, &l);
	if (err)
		fprintf(stderr, "simreg ctl subscriber: list: %s\n", strerror(-err));
	else
		rc = CLI_OK;
	arena_destroy(&scratch);
	store_close(l.st);
	return rc;
}

static int do_set(struct ctl *c, const struct sub_fields *f, struct arena *a)
{
	struct store_subscription sub;
	struct store_impi which;
	struct store *st = NULL;
	struct sub_error e;
	bool any = false;
	int rc = CLI_FAIL;
	int err;

	memset(&sub, 0, sizeof(sub));
	for (int i = 0; i < SF__COUNT; i++)
		any |= i != SF_IMPI && f->set[i];
	if (!f->set[SF_IMPI] || !any) {
		cli_usage_error("ctl subscriber", f->set[SF_IMPI] ? "set: no field to change" :
								    "--impi: is missing");
		return CLI_USAGE;
	}
	if (ctl_open_store(c, false, &st))
		return CLI_FAIL;
	err = store_begin(st);
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: set: %s\n", strerror(-err));
		goto out;
	}
	rc = find_sub(st, str_trim(f->v[SF_IMPI]), a, &sub, &which);
	if (rc)
		goto rollback;
	rc = CLI_FAIL;
	if (which.derived) {
		fprintf(stderr,
			"simreg ctl subscriber: --impi: %.*s is derived from %.*s; name the"
			" subscription by its own IMPI\n",
			STR_FMT(which.name), STR_FMT(sub.impi));
		goto rollback;
	}
	err = sub_fields_apply(f, st, sub.id, sub.impi, a, &e);
	if (err == -EINVAL) {
		field_error(&e);
		rc = CLI_USAGE;
		goto rollback;
	}
	if (err == -EEXIST) {
		fprintf(stderr, "simreg ctl subscriber: --%s: names an identity that is already"
				" provisioned\n",
			f->set[SF_IMPU] ? "impu" : "derived-impi");
		goto rollback;
	}
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: set: %s\n", strerror(-err));
		goto rollback;
	}
	err = store_commit(st);
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: set: commit: %s\n", strerror(-err));
		goto out;
	}
	printf("updated %.*s\n", STR_FMT(sub.impi));
	rc = CLI_OK;
	goto out;
rollback:
	store_rollback(st);
out:
	explicit_bzero(&sub, sizeof(sub));
	store_close(st);
	return rc;
}

static int do_delete(struct ctl *c, const struct sub_fields *f, struct arena *a)
{
	struct store_subscription sub;
	struct store_impi which;
	struct store *st = NULL;
	int rc;
	int err;

	memset(&sub, 0, sizeof(sub));
	if (only_impi(f))
		return CLI_USAGE;
	if (ctl_open_store(c, false, &st))
		return CLI_FAIL;
	rc = find_sub(st, str_trim(f->v[SF_IMPI]), a, &sub, &which);
	if (rc)
		goto out;
	rc = CLI_FAIL;
	if (which.derived) {
		fprintf(stderr,
			"simreg ctl subscriber: --impi: %.*s is derived from %.*s; delete the"
			" subscription by its own IMPI\n",
			STR_FMT(which.name), STR_FMT(sub.impi));
		goto out;
	}
	err = store_begin(st);
	if (!err)
		err = store_sub_delete(st, sub.id);
	if (!err)
		err = store_commit(st);
	else
		store_rollback(st);
	if (err) {
		fprintf(stderr, "simreg ctl subscriber: delete: %s\n", strerror(-err));
		goto out;
	}
	printf("deleted %.*s\n", STR_FMT(sub.impi));
	rc = CLI_OK;
out:
	explicit_bzero(&sub, sizeof(sub));
	store_close(st);
	return rc;
}

static int do_import(struct ctl *c, int argc, char **argv)
{
	struct store *st = NULL;
	struct import_result res = { 0 };
	int rc;

	if (argc != 2 || argv[1][0] == '-') {
		cli_usage_error("ctl subscriber", "import: needs exactly one FILE.csv");
		return CLI_USAGE;
	}
	if (ctl_open_store(c, true, &st))
		return CLI_FAIL;
	rc = import_csv(st, argv[1], &res);
	if (rc == 0)
		printf("imported %" PRIu64 " subscriptions from %s\n", res.rows, argv[1]);
	store_close(st);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

int ctl_subscriber(struct ctl *c, int argc, char **argv)
{
	struct sub_fields f;
	struct arena a;
	bool keys = false;
	const char *verb;
	int rc = CLI_USAGE;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "import") == 0)
		return cli_wants_help(argc - 1, argv + 1) ? (usage(stdout), CLI_OK) :
							       do_import(c, argc - 1, argv + 1);
	arena_init(&a, 0, ARENA_WIPE);
	if (parse_fields(argc - 1, argv + 1, &a, &f, strcmp(verb, "show") == 0 ? &keys : NULL))
		goto out;
	if (cli_wants_help(argc - 1, argv + 1)) {
		usage(stdout);
		rc = CLI_OK;
	} else if (strcmp(verb, "add") == 0) {
		rc = do_add(c, &f, &a);
	} else if (strcmp(verb, "show") == 0) {
		rc = do_show(c, &f, keys, &a);
	} else if (strcmp(verb, "list") == 0) {
		rc = do_list(c, &f);
	} else if (strcmp(verb, "set") == 0) {
		rc = do_set(c, &f, &a);
	} else if (strcmp(verb, "delete") == 0) {
		rc = do_delete(c, &f, &a);
	} else {
		cli_usage_error("ctl subscriber", "unknown verb '%s'", verb);
	}
out:
	arena_destroy(&a);
	return rc;
}
