/*
 * lib/core/config: a test section with every kind of key, good files
 * (values, dump, round trip), bad files against stored error transcripts
 * (tests/data/config/bad-*.yaml -> bad-*.err), reload, schema checks and
 * the Markdown schema.
 *
 * After an intended change of messages, regenerate the transcripts with
 *     SIMREG_REGENERATE=1 ctest --test-dir build -R test_config
 * and review the diff.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"

struct plmn {
	uint16_t mcc, mnc;
	uint8_t mnc_digits;
};

struct test_cfg {
	const char *name;
	uint16_t port;
	int32_t offset;
	bool flag;
	int mode;
	uint64_t t1_ms, t2_ms, t4_ms;
	struct config_bytes key;
	struct config_bytes token;
	struct config_addr listen;
	struct config_addr peer6;
	struct config_strlist peers;
	struct plmn plmn;
};

/* A custom type: "MCC-MNC" with 3 and 2 or 3 digits (TS 23.003 2.2). */
static int plmn_parse(void *member, const char *text, struct arena *a, char *why, size_t len)
{
	struct plmn *p = member;
	size_t n = strlen(text), dash = strcspn(text, "-");
	unsigned mcc = 0, mnc = 0;

	if (dash != 3 || (n - 4 != 2 && n - 4 != 3) ||
	    strspn(text, "0123456789") != 3 || strspn(text + 4, "0123456789") != n - 4) {
		snprintf(why, len, "expected MCC-MNC such as 001-01");
		return -EINVAL;
	}
	for (size_t i = 0; i < 3; i++)
		mcc = mcc * 10 + (unsigned)(text[i] - '0');
	for (size_t i = 4; i < n; i++)
		mnc = mnc * 10 + (unsigned)(text[i] - '0');
	p->mcc = (uint16_t)mcc;
	p->mnc = (uint16_t)mnc;
	p->mnc_digits = (uint8_t)(n - 4);
	return 0;
}

static int plmn_print(const void *member, char *buf, size_t len)
{
	const struct plmn *p = member;

	return snprintf(buf, len, "%03u-%0*u", p->mcc, p->mnc_digits, p->mnc) < (int)len ? 0 : -ENOSPC;
}

static const struct config_custom plmn_type = {
	.type_doc = "PLMN, MCC-MNC (001-01)", .parse = plmn_parse, .print = plmn_print,
};

static const char *const modes[] = { "registration", "impi", NULL };

static const struct config_key test_keys[] = {
	CONFIG_STRING("test.name", struct test_cfg, name, "simreg", "name in logs | and Via"),
	CONFIG_INT("test.port", struct test_cfg, port, 1, 65535, "5060", "SIP port"),
	CONFIG_INT("test.offset", struct test_cfg, offset, -100, 100, "0", "signed integer"),
	CONFIG_BOOL("test.flag", struct test_cfg, flag, "false", "a switch"),
	CONFIG_ENUM("test.mode", struct test_cfg, mode, modes, "registration",
		    "what an SA set belongs to"),
	CONFIG_DURATION("test.timers.t1", struct test_cfg, t1_ms, 1, 10000, "500ms", "RFC 3261 T1"),
	CONFIG_DURATION("test.timers.t2", struct test_cfg, t2_ms, 1, 60000, "4s", "RFC 3261 T2"),
	CONFIG_DURATION("test.timers.deep.t4", struct test_cfg, t4_ms, 0, 60000, "5s",
			"three levels deep"),
	{ .path = "test.key", .type = CONFIG_T_HEX, .def = "00000000000000000000000000000000",
	  .doc = "a 128-bit key", .min = 16, .max = 16, .flags = CONFIG_SECRET,
	  CONFIG_AT(struct test_cfg, key) },
	CONFIG_HEX("test.token", struct test_cfg, token, 1, 8, "01", "1 to 8 bytes"),
	CONFIG_ADDR("test.listen", struct test_cfg, listen, "127.0.0.1:5060", "IPv4 address"),
	CONFIG_ADDR("test.peer6", struct test_cfg, peer6, "\"[::1]:5061\"", "IPv6 address"),
	CONFIG_STRLIST("test.peers", struct test_cfg, peers, "[]", "next hops"),
	CONFIG_CUSTOM_KEY("test.plmn", struct test_cfg, plmn, &plmn_type, "999-99", "home network"),
};

static int test_check(const void *data, char *why, size_t len)
{
	const struct test_cfg *c = data;

	if (c->t2_ms < c->t1_ms) {
		snprintf(why, len, "timers.t2 must not be shorter than timers.t1");
		return -EINVAL;
	}
	return 0;
}

static const struct config_section test_section = {
	.name = "test", .doc = "A section with every kind of key.", .size = sizeof(struct test_cfg),
	.keys = test_keys, .nkeys = sizeof(test_keys) / sizeof(test_keys[0]), .check = test_check,
};

static const struct config_section *const sections[] = {
	&config_log_section, &config_loop_section, &test_section,
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* ---------------------------------------------------------------------------
 * Helpers
 */

static char datadir[4096];

static int chdir_data(void **state)
{
	const char *d = getenv("SIMREG_TESTDATA");

	if (!d)
		return -1;
	snprintf(datadir, sizeof(datadir), "%s/config", d);
	return chdir(datadir);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static bool regenerate(void)
{
	const char *r = getenv("SIMREG_REGENERATE");
	return r && *r == '1';
}

/* Compare text with a stored transcript (or rewrite it when regenerating). */
static void assert_matches_file(const char *text, const char *path)
{
	char *want;

	if (regenerate()) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	want = slurp(path, NULL);
	if (!want)
		fail_msg("missing transcript %s/%s (run with SIMREG_REGENERATE=1)", datadir, path);
	if (strcmp(want, text) != 0) {
		printf("--- %s (stored)\n%s--- produced\n%s", path, want, text);
		free(want);
		fail_msg("%s differs", path);
	}
	free(want);
}

static char *dump_to_string(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	assert_int_equal(config_dump(cfg, f), 0);
	fclose(f);
	return out;
}

static int load_text(struct config *cfg, const char *text, struct config_errors *err)
{
	return config_load_buffer(cfg, sections, NSECTIONS, "inline.yaml", text, strlen(text), err);
}

/* ---------------------------------------------------------------------------
 * Tests
 */

static void test_good_file(void **state)
{
	struct config cfg;
	struct config_errors err;
	const struct test_cfg *t;
	const struct config_log *l;
	static const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	char *dump;

	assert_int_equal(config_load_file(&cfg, sections, NSECTIONS, "good.yaml", &err), 0);
	assert_int_equal(err.count, 0);
	assert_string_equal(cfg.source, "good.yaml");
	t = config_get(&cfg, &test_section);
	l = config_get(&cfg, &config_log_section);
	assert_non_null(t);
	assert_string_equal(t->name, "pcscf-a");
	assert_int_equal(t->port, 5070);
	assert_int_equal(t->offset, -7);
	assert_true(t->flag);
	assert_int_equal(t->mode, 1);
	assert_int_equal(t->t1_ms, 1000);
	assert_int_equal(t->t2_ms, 8000);
	assert_int_equal(t->t4_ms, 250);
	assert_int_equal(t->key.len, 16);
	assert_memory_equal(t->key.data, key, 16);
	assert_int_equal(t->token.len, 2);
	assert_int_equal(t->token.data[1], 0xff);
	assert_int_equal(t->listen.sa.ss_family, AF_INET);
	assert_int_equal(t->peer6.sa.ss_family, AF_INET6);
	assert_int_equal(t->peers.n, 3);
	assert_string_equal(t->peers.v[1], "hss.example.net");
	/* Quoted "null" is a string, not a missing value. */
	assert_string_equal(t->peers.v[2], "null");
	assert_int_equal(t->plmn.mcc, 1);
	assert_int_equal(t->plmn.mnc, 1);
	assert_int_equal(l->level, 4); /* debug */
	assert_true(l->keys);
	assert_int_equal(((const struct config_loop *)config_get(&cfg, &config_loop_section))
				 ->shutdown_grace_ms, 90000);

	dump = dump_to_string(&cfg);
	assert_matches_file(dump, "good.dump");
	free(dump);
	config_free(&cfg);
	config_free(&cfg);
}

/* The dump loads back to the same dump (secrets aside: they are printed
 * as <secret>, so their line is left out of the reload). */
static void test_dump_round_trip(void **state)
{
	struct config a, b;
	struct config_errors err;
	char *d1, *d2, *line, *filtered;
	size_t off = 0;

	assert_int_equal(config_load_file(&a, sections, NSECTIONS, "good.yaml", &err), 0);
	d1 = dump_to_string(&a);
	filtered = calloc(1, strlen(d1) + 1);
	for (line = d1; *line;) {
		size_t n = strcspn(line, "\n") + (line[strcspn(line, "\n")] ? 1 : 0);
		if (!memmem(line, n, "<secret>", 8)) {
			memcpy(filtered + off, line, n);
			off += n;
		}
		line += n;
	}
	assert_int_equal(load_text(&b, filtered, &err), 0);
	d2 = dump_to_string(&b);
	/* Only the secret differs: a's key is the file's, b's the default. */
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	free(filtered);
	config_free(&a);
	config_free(&b);
}

static void test_defaults(void **state)
{
	struct config cfg;
	struct config_errors err;
	const struct test_cfg *t;
	char *dump;

	assert_int_equal(config_load_file(&cfg, sections, NSECTIONS, "empty.yaml", &err), 0);
	t = config_get(&cfg, &test_section);
	assert_string_equal(t->name, "simreg");
	assert_int_equal(t->port, 5060);
	assert_int_equal(t->t1_ms, 500);
	assert_int_equal(t->key.len, 16);
	assert_int_equal(t->peers.n, 0);
	assert_int_equal(t->plmn.mcc, 999);
	dump = dump_to_string(&cfg);
	assert_matches_file(dump, "defaults.dump");
	free(dump);
	config_free(&cfg);
	assert_null(config_get(&cfg, &test_section));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_bad_yaml(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return strncmp(d->d_name, "bad-", 4) == 0 && n > 5 && strcmp(d->d_name + n - 5, ".yaml") == 0;
}

/* Every bad-*.yaml is rejected with exactly the lines in bad-*.err, and
 * the output struct is not touched. */
static void test_bad_files(void **state)
{
	struct dirent **list;
	int n = scandir(".", &list, is_bad_yaml, by_name);

	assert_true(n >= 10);
	for (int i = 0; i < n; i++) {
		struct config cfg;
		struct config_errors err;
		char errfile[300];
		int rc;

		memset(&cfg, 0xa5, sizeof(cfg));
		rc = config_load_file(&cfg, sections, NSECTIONS, list[i]->d_name, &err);
		if (rc != -EINVAL)
			fail_msg("%s: load returned %d", list[i]->d_name, rc);
		for (size_t b = 0; b < sizeof(cfg); b++)
			assert_int_equal(((unsigned char *)&cfg)[b], 0xa5);
		assert_true(err.count > 0);
		snprintf(errfile, sizeof(errfile), "%.*s.err",
			 (int)(strlen(list[i]->d_name) - 5), list[i]->d_name);
		printf("%s", err.text);
		assert_matches_file(err.text, errfile);
		free(list[i]);
	}
	free(list);
}

static void test_missing_file(void **state)
{
	struct config cfg;
	struct config_errors err;

	assert_int_equal(config_load_file(&cfg, sections, NSECTIONS, "no-such.yaml", &err), -ENOENT);
	assert_string_equal(err.text, "no-such.yaml: cannot open: No such file or directory\n");
	assert_int_equal(config_load_file(&cfg, sections, NSECTIONS, ".", &err), -EINVAL);
	assert_string_equal(err.text, ".: not a regular file\n");
}

static void test_reload_keeps_live(void **state)
{
	struct config live, before;
	struct config_errors err;
	const struct test_cfg *t;
	char *dump_before, *dump_after;

	assert_int_equal(config_load_file(&live, sections, NSECTIONS, "good.yaml", &err), 0);
	before = live;
	dump_before = dump_to_string(&live);
	assert_int_equal(config_reload(&live, "bad-types.yaml", &err), -EINVAL);
	assert_true(err.count > 5);
	assert_memory_equal(&live, &before, sizeof(live));
	dump_after = dump_to_string(&live);
	assert_string_equal(dump_before, dump_after);
	free(dump_after);
	assert_int_equal(config_reload(&live, "no-such.yaml", &err), -ENOENT);
	assert_memory_equal(&live, &before, sizeof(live));

	assert_int_equal(config_reload(&live, "good2.yaml", &err), 0);
	t = config_get(&live, &test_section);
	assert_string_equal(t->name, "pcscf-b");
	assert_int_equal(t->port, 5060); /* back to the default: not in good2 */
	assert_string_equal(live.source, "good2.yaml");
	free(dump_before);
	config_free(&live);
}

/* Values of each type at their edges, through a one-key file. */
static void test_values(void **state)
{
	static const struct {
		const char *yaml;
		bool ok;
	} cases[] = {
		{ "test: {port: 1}", true },
		{ "test: {port: 65535}", true },
		{ "test: {port: 0}", false },
		{ "test: {port: 0x10}", false },
		{ "test: {port: '5060 '}", false },
		{ "test: {port: 99999999999999999999999}", false },
		{ "test: {offset: -100}", true },
		{ "test: {offset: +100}", true },
		{ "test: {flag: TRUE}", true },
		{ "test: {flag: 1}", false },
		{ "test: {mode: IMPI}", false },
		{ "test: {timers: {t1: 10s}}", false }, /* t2 (4s) < t1: the section check */
		{ "test: {timers: {t1: 10s, t2: 1m}}", true },
		{ "test: {timers: {t1: 10001ms, t2: 1m}}", false },
		{ "test: {timers: {t1: 0, t2: 1m}}", false },
		{ "test: {timers: {deep: {t4: 0}}}", true },
		{ "test: {timers: {deep: {t4: 1m0s}}}", true },
		{ "test: {timers: {deep: {t4: 99999999999999999999ms}}}", false },
		{ "test: {timers: {deep: {t4: 18446744073709551615h}}}", false },
		{ "test: {timers: {deep: {t4: 5 s}}}", false },
		{ "test: {timers: {deep: {t4: s}}}", false },
		{ "test: {token: 0x01}", true },
		{ "test: {token: ''}", false },
		{ "test: {token: 0g}", false },
		{ "test: {token: 012}", false },
		{ "test: {listen: '0.0.0.0:0'}", true },
		{ "test: {listen: '198.18.0.1:65536'}", false },
		{ "test: {listen: '198.18.0.1:-1'}", false },
		{ "test: {listen: '198.18.0.256:5060'}", false },
		{ "test: {listen: 'host.example:5060'}", false },
		{ "test: {listen: '2001:db8::1:5060'}", false },
		{ "test: {peer6: '[2001:db8::1]:5060'}", true },
		{ "test: {peer6: '[198.18.0.1]:5060'}", false },
		{ "test: {peer6: '[2001:db8::1]5060'}", false },
		{ "test: {peers: []}", true },
		{ "test: {peers: [a, '']}", true },
		{ "test: {plmn: 262-001}", true },
		{ "test: {plmn: 262-0011}", false },
		{ "test: {name: 'yes'}", true },
		{ "test: {name: ''}", true },
		{ "log: ~", true },
		{ "", true },
		{ "# nothing\n", true },
		{ "test: &a {port: 5062}\nlog: *a", false },
		{ "? [a]\n: b", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct config_errors err;
		int rc = load_text(&cfg, cases[i].yaml, &err);

		if ((rc == 0) != cases[i].ok)
			fail_msg("case '%s': rc %d, errors:\n%s", cases[i].yaml, rc, err.text);
		if (rc == 0)
			config_free(&cfg);
	}
}

/* Tables with programming errors are caught before any file is read. */
static void test_schema_check(void **state)
{
	struct bad {
		int32_t i;
		uint8_t small;
		bool b;
		uint64_t d;
		const char *s;
	};
	static const char *const no_names[] = { NULL };
	static const struct {
		struct config_key key[2];
		size_t n;
		const char *why;
	} cases[] = {
		{ { CONFIG_DURATION("bad.d", struct bad, i, 0, 10, "1s", "x") }, 1,
		  "key 'bad.d': member size 4 at offset 0 does not fit duration (500ms, 30s, 4m, 1h)" },
		{ { CONFIG_INT("bad.small", struct bad, small, 0, 256, "1", "x") }, 1,
		  "key 'bad.small': range 0..256 does not fit a 1-byte member" },
		{ { CONFIG_INT("bad.i", struct bad, i, 0, 10, "11", "x") }, 1,
		  "key 'bad.i': default '11': expected an integer from 0 to 10" },
		{ { CONFIG_BOOL("other.b", struct bad, b, "true", "x") }, 1,
		  "key 'other.b': path must be 'bad.name[.name...]'" },
		{ { CONFIG_BOOL("bad.b", struct bad, b, "true", "") }, 1,
		  "key 'bad.b': no documentation" },
		{ { CONFIG_ENUM("bad.i", struct bad, i, no_names, "a", "x") }, 1,
		  "key 'bad.i': enum needs a NULL-terminated list of names" },
		{ { CONFIG_BOOL("bad.b", struct bad, b, "true", "x"),
		    CONFIG_STRING("bad.b.s", struct bad, s, "x", "x") }, 2,
		  "key 'bad.b.s' clashes with key 'bad.b'" },
		{ { CONFIG_BOOL("bad.b", struct bad, b, NULL, "x") }, 1,
		  "key 'bad.b': no default" },
		{ { CONFIG_STRING("bad.s", struct bad, s, "[a", "x") }, 1,
		  "key 'bad.s': default '[a' is not YAML" },
	};
	static const struct config_key ungrouped[] = {
		CONFIG_BOOL("bad.x.b", struct bad, b, "true", "x"),
		CONFIG_INT("bad.i", struct bad, i, 0, 10, "1", "x"),
		CONFIG_STRING("bad.x.s", struct bad, s, "x", "x"),
	};
	struct config_section sec = { .name = "bad", .doc = "x", .size = sizeof(struct bad) };
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sec.keys = cases[i].key;
		sec.nkeys = cases[i].n;
		assert_int_equal(config_schema_check(&sec, why, sizeof(why)), -EINVAL);
		assert_string_equal(why, cases[i].why);
	}
	sec.keys = ungrouped;
	sec.nkeys = 3;
	assert_int_equal(config_schema_check(&sec, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "key 'bad.x.s' must be listed next to the other keys under 'bad.x'");

	/* A broken table refuses every load, naming the section. */
	{
		const struct config_section *const list[] = { &sec };
		struct config cfg;
		struct config_errors err;
		assert_int_equal(config_load_buffer(&cfg, list, 1, "x.yaml", "", 0, &err), -EINVAL);
		assert_string_equal(err.text, "x.yaml: schema of section 'bad': key 'bad.x.s' must be "
					      "listed next to the other keys under 'bad.x'\n");
	}
	for (size_t i = 0; i < NSECTIONS; i++)
		assert_int_equal(config_schema_check(sections[i], why, sizeof(why)), 0);
}

static void test_schema_markdown(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(config_schema_markdown(sections, NSECTIONS, f), 0);
	fclose(f);
	assert_matches_file(out, "schema.md");
	free(out);
}

/* Many errors: the buffer keeps what fits and says that more followed. */
static void test_many_errors(void **state)
{
	struct config cfg;
	struct config_errors err;
	char *text = malloc(200 * 40 + 16), *p = text;

	p += sprintf(p, "test:\n");
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "  unknown_key_number_%03d: 1\n", i);
	assert_int_equal(load_text(&cfg, text, &err), -EINVAL);
	assert_int_equal(err.count, 200);
	assert_true(err.len < sizeof(err.text));
	assert_non_null(strstr(err.text, "... further errors not shown\n"));
	assert_non_null(strstr(err.text, "inline.yaml:2: key 'test.unknown_key_number_000': unknown key\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_reload_keeps_live),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_schema_check),
		cmocka_unit_test(test_schema_markdown),
		cmocka_unit_test(test_many_errors),
	};
	return cmocka_run_group_tests(tests, chdir_data, NULL);
}
