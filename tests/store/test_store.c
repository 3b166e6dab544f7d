/*
 * lib/store: the SQLite backend through the store interface, and schema
 * upgrades from a frozen version-1 database.
 */
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
#include <sqlite3.h>

#include "core/arena.h"
#include "store/model.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char path[96];
	struct store *st;
	struct arena a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/simreg-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hss.db", f->dir);
	arena_init(&f->a, 0, ARENA_WIPE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->st);
	arena_destroy(&f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A subscription "name@ims.test" with IMPUs sip:name@ims.test and a tel URI. */
static void make_spec(struct store_subscription_spec *spec, struct store_impu_spec *impus,
		      const char *impi, const char *impu1, const char *impu2)
{
	memset(spec, 0, sizeof(*spec));
	spec->impi = str_from_cstr(impi);
	for (int i = 0; i < STORE_KEY_LEN; i++) {
		spec->k[i] = (uint8_t)i;
		spec->op[i] = (uint8_t)(0xf0 | i);
	}
	spec->op_is_opc = true;
	spec->amf[0] = 0x80;
	spec->sqn = 0x20;
	impus[0] = (struct store_impu_spec){ .uri = str_from_cstr(impu1), .irs = 1 };
	impus[1] = (struct store_impu_spec){ .uri = str_from_cstr(impu2), .irs = 1 };
	spec->impus = impus;
	spec->n_impus = 2;
}

static int insert(struct store *st, struct store_subscription_spec *spec, int64_t *id)
{
	int err = store_begin(st);

	if (err)
		return err;
	err = store_sub_insert(st, spec, id);
	if (err) {
		store_rollback(st);
		return err;
	}
	return store_commit(st);
}

static int user_version(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static void test_create_and_lookup(void **state)
{
	struct fixture *f = *state;
	struct store_subscription_spec spec;
	struct store_impu_spec impus[2];
	struct store_subscription sub;
	struct store_impi impi;
	struct store_impu impu;
	struct str derived[2] = { STR_LIT("alice+2@ims.test"), STR_LIT("alice+3@ims.test") };
	int64_t id = 0;

	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(user_version(f->path), 2);

	make_spec(&spec, impus, "alice@ims.test", "sip:alice@ims.test", "tel:+15551230001");
	spec.derived_rule = STR_LIT("{user}+{2..3}@{realm}");
	spec.derived = derived;
	spec.n_derived = 2;
	spec.max_registrations = 2;
	assert_int_equal(insert(f->st, &spec, &id), 0);
	assert_true(id > 0);

	/* The own IMPI and a derived one find the same subscription. */
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice@ims.test"), &f->a, &impi, &sub),
			 0);
	assert_int_equal(impi.derived, 0);
	assert_int_equal(sub.id, id);
	assert_memory_equal(sub.k, spec.k, STORE_KEY_LEN);
	assert_memory_equal(sub.op, spec.op, STORE_KEY_LEN);
	assert_true(sub.op_is_opc);
	assert_int_equal(sub.sqn, 0x20);
	assert_int_equal(sub.amf[0], 0x80);
	assert_int_equal(sub.max_registrations, 2);
	assert_true(str_eq_cstr(sub.derived_rule, "{user}+{2..3}@{realm}"));
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice+3@ims.test"), &f->a, &impi, &sub),
			 0);
	assert_int_equal(impi.derived, 2);
	assert_int_equal(sub.id, id);
	assert_true(str_eq_cstr(sub.impi, "alice@ims.test"));
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice+4@ims.test"), &f->a, NULL, NULL),
			 -ENOENT);

	assert_int_equal(store_impu_lookup(f->st, STR_LIT("tel:+15551230001"), &f->a, &impu), 0);
	assert_int_equal(impu.subscription_id, id);
	assert_int_equal(impu.irs, 1);
	assert_int_equal(impu.position, 1);
	assert_int_equal(impu.state, STORE_NOT_REGISTERED);
	assert_int_equal(store_impu_lookup(f->st, STR_LIT("sip:nobody@ims.test"), &f->a, &impu),
			 -ENOENT);
}

static void test_duplicate_is_atomic(void **state)
{
	struct fixture *f = *state;
	struct store_subscription_spec spec;
	struct store_impu_spec impus[2];
	uint64_t count = 0;

	assert_int_equal(store_open(f->path, &f->st), 0);
	make_spec(&spec, impus, "alice@ims.test", "sip:alice@ims.test", "tel:+15551230001");
	assert_int_equal(insert(f->st, &spec, NULL), 0);
	/* Same IMPI: refused. */
	make_spec(&spec, impus, "alice@ims.test", "sip:other@ims.test", "tel:+15551230002");
	assert_int_equal(insert(f->st, &spec, NULL), -EEXIST);
	/* New IMPI but its second IMPU is taken: nothing of it may remain,
	 * not even inside the transaction that goes on. */
	make_spec(&spec, impus, "bob@ims.test", "sip:bob@ims.test", "tel:+15551230001");
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sub_insert(f->st, &spec, NULL), -EEXIST);
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("bob@ims.test"), &f->a, NULL, NULL),
			 -ENOENT);
	store_rollback(f->st);
	assert_int_equal(insert(f->st, &spec, NULL), -EEXIST);
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("bob@ims.test"), &f->a, NULL, NULL),
			 -ENOENT);
	assert_int_equal(store_impu_lookup(f->st, STR_LIT("sip:bob@ims.test"), &f->a,
					   &(struct store_impu){ 0 }),
			 -ENOENT);
	assert_int_equal(store_sub_count(f->st, &count), 0);
	assert_int_equal(count, 1);
}

static void test_sqn_compare_and_set(void **state)
{
	struct fixture *f = *state;
	struct store_subscription_spec spec;
	struct store_impu_spec impus[2];
	struct store_subscription sub;
	int64_t id;

	assert_int_equal(store_open(f->path, &f->st), 0);
	make_spec(&spec, impus, "alice@ims.test", "sip:alice@ims.test", "tel:+15551230001");
	assert_int_equal(insert(f->st, &spec, &id), 0);

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sqn_swap(f->st, id, 0x20, 0x40), 0);
	/* Someone else's value: the swap loses and says so. */
	assert_int_equal(store_sqn_swap(f->st, id, 0x20, 0x60), -EAGAIN);
	assert_int_equal(store_sqn_swap(f->st, id + 100, 0x40, 0x60), -ENOENT);
	assert_int_equal(store_sqn_swap(f->st, id, 0x40, STORE_SQN_MAX + 1), -EINVAL);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_sub_get(f->st, id, &f->a, &sub), 0);
	assert_int_equal(sub.sqn, 0x40);

	/* A rolled-back swap leaves the old value. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sqn_swap(f->st, id, 0x40, 0x80), 0);
	store_rollback(f->st);
	assert_int_equal(store_sub_get(f->st, id, &f->a, &sub), 0);
	assert_int_equal(sub.sqn, 0x40);

	/* And a committed one survives closing the store. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sqn_swap(f->st, id, 0x40, 0xa0), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_sub_get(f->st, id, &f->a, &sub), 0);
	assert_int_equal(sub.sqn, 0xa0);
}

static void test_registrations(void **state)
{
	struct fixture *f = *state;
	struct store_subscription_spec spec;
	struct store_impu_spec impus[2];
	struct str derived[1] = { STR_LIT("alice.wlan@ims.test") };
	struct store_registration *regs;
	struct store_subscription sub;
	struct store_impi own, alt;
	struct store_impu *list;
	size_t n;
	int64_t id;

	assert_int_equal(store_open(f->path, &f->st), 0);
	make_spec(&spec, impus, "alice@ims.test", "sip:alice@ims.test", "tel:+15551230001");
	impus[1].irs = 2;
	spec.derived = derived;
	spec.n_derived = 1;
	assert_int_equal(insert(f->st, &spec, &id), 0);
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice@ims.test"), &f->a, &own, NULL), 0);
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice.wlan@ims.test"), &f->a, &alt,
					   NULL),
			 0);

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_scscf_set(f->st, id, STR_LIT("sip:scscf.ims.test"), false), 0);
	assert_int_equal(store_irs_set_state(f->st, id, 1, STORE_REGISTERED), 0);
	assert_int_equal(store_irs_set_state(f->st, id, 7, STORE_REGISTERED), -ENOENT);
	assert_int_equal(store_reg_upsert(f->st, own.id, 1, STR_LIT(""),
					  STR_LIT("sip:scscf.ims.test"), 1000),
			 0);
	assert_int_equal(store_reg_upsert(f->st, alt.id, 1, STR_LIT("sip:198.18.0.2:5060"),
					  STR_LIT("sip:scscf.ims.test"), 1001),
			 0);
	/* Refreshing keeps registered_at. */
	assert_int_equal(store_reg_upsert(f->st, own.id, 1, STR_LIT(""),
					  STR_LIT("sip:scscf.ims.test"), 2000),
			 0);
	assert_int_equal(store_commit(f->st), 0);

	assert_int_equal(store_reg_list(f->st, id, &f->a, &regs, &n), 0);
	assert_int_equal(n, 2);
	assert_true(str_eq_cstr(regs[0].impi, "alice@ims.test"));
	assert_int_equal(regs[0].registered_at, 1000);
	assert_int_equal(regs[0].refreshed_at, 2000);
	assert_true(str_eq_cstr(regs[1].impi, "alice.wlan@ims.test"));
	assert_true(str_eq_cstr(regs[1].contact, "sip:198.18.0.2:5060"));

	assert_int_equal(store_impu_list(f->st, id, &f->a, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].state, STORE_REGISTERED);
	assert_int_equal(list[1].state, STORE_NOT_REGISTERED);
	assert_int_equal(list[1].position, 0);

	/* Deregistering one IMPI leaves the other's registration. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_reg_delete(f->st, own.id, 1), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_reg_list(f->st, id, &f->a, &regs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(regs[0].impi_id, alt.id);

	/* New IMPUs start registration state over. */
	assert_int_equal(store_begin(f->st), 0);
	impus[1].irs = 1;
	assert_int_equal(store_sub_set_impus(f->st, id, impus, 2), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_reg_list(f->st, id, &f->a, &regs, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_sub_get(f->st, id, &f->a, &sub), 0);
	assert_int_equal(sub.scscf_name.len, 0);
	assert_int_equal(store_impu_list(f->st, id, &f->a, &list, &n), 0);
	assert_int_equal(list[1].irs, 1);
	assert_int_equal(list[1].position, 1);

	/* Deleting the subscription removes its identities. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sub_delete(f->st, id), 0);
	assert_int_equal(store_sub_delete(f->st, id), -ENOENT);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice.wlan@ims.test"), &f->a, NULL,
					   NULL),
			 -ENOENT);
	assert_int_equal(store_impu_lookup(f->st, STR_LIT("sip:alice@ims.test"), &f->a,
					   &(struct store_impu){ 0 }),
			 -ENOENT);
}

static void test_update_and_derived(void **state)
{
	struct fixture *f = *state;
	struct store_subscription_spec spec, upd = { 0 };
	struct store_impu_spec impus[2];
	struct str derived[2] = { STR_LIT("a1@ims.test"), STR_LIT("a2@ims.test") };
	struct store_subscription sub;
	struct store_impi *impis;
	size_t n;
	int64_t id;

	assert_int_equal(store_open(f->path, &f->st), 0);
	make_spec(&spec, impus, "alice@ims.test", "sip:alice@ims.test", "tel:+15551230001");
	assert_int_equal(insert(f->st, &spec, &id), 0);

	upd.amf[0] = 0x12;
	upd.amf[1] = 0x34;
	upd.sqn = 0x1000;
	upd.op_is_opc = false;
	memset(upd.op, 0xaa, sizeof(upd.op));
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sub_update(f->st, id, STORE_UPD_AMF | STORE_UPD_SQN | STORE_UPD_OP,
					  &upd),
			 0);
	assert_int_equal(store_sub_set_derived(f->st, id, STR_LIT("a{1..2}@{realm}"), derived, 2),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_sub_get(f->st, id, &f->a, &sub), 0);
	assert_memory_equal(sub.k, spec.k, STORE_KEY_LEN); /* untouched */
	assert_int_equal(sub.amf[1], 0x34);
	assert_int_equal(sub.sqn, 0x1000);
	assert_false(sub.op_is_opc);
	assert_int_equal(sub.op[0], 0xaa);
	assert_int_equal(store_impi_list(f->st, id, &f->a, &impis, &n), 0);
	assert_int_equal(n, 3);
	assert_true(str_eq_cstr(impis[0].name, "alice@ims.test"));
	assert_true(str_eq_cstr(impis[2].name, "a2@ims.test"));

	/* Replacing the rule drops the old derived IMPIs. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_sub_set_derived(f->st, id, STR_NULL, NULL, 0), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_impi_list(f->st, id, &f->a, &impis, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_sub_update(f->st, id + 1, STORE_UPD_AMF, &upd), -ENOENT);
}

/* Build a database from SQL text, as an older simreg would have left it. */
static void load_sql(const char *path, const char *sql_file)
{
	char full[512];
	FILE *fp;
	char *sql;
	long len;
	sqlite3 *db = NULL;

	snprintf(full, sizeof(full), "%s/%s", getenv("SIMREG_TESTDATA"), sql_file);
	fp = fopen(full, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	sql = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(sql, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);
}

static void test_upgrade_from_v1(void **state)
{
	struct fixture *f = *state;
	struct store_subscription sub;
	struct store_registration *regs;
	struct store_impi impi;
	size_t n;

	load_sql(f->path, "store/schema_v1.sql");
	assert_int_equal(user_version(f->path), 1);
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(user_version(f->path), 2);

	assert_int_equal(store_impi_lookup(f->st, STR_LIT("alice@ims.test"), &f->a, &impi, &sub),
			 0);
	assert_int_equal(impi.derived, 0);
	assert_int_equal(sub.sqn, 4128);
	assert_int_equal(sub.k[0], 0x46);
	assert_true(str_eq_cstr(sub.scscf_name, "sip:scscf.ims.test:6060"));
	assert_int_equal(sub.derived_rule.len, 0);
	assert_int_equal(sub.max_registrations, 0);
	/* The registered set of version 1 became a registration of its IMPI. */
	assert_int_equal(store_reg_list(f->st, sub.id, &f->a, &regs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(regs[0].irs, 1);
	assert_true(str_eq_cstr(regs[0].scscf_name, "sip:scscf.ims.test:6060"));

	assert_int_equal(store_impi_lookup(f->st, STR_LIT("bob@ims.test"), &f->a, NULL, &sub), 0);
	assert_false(sub.op_is_opc);
	assert_true(sub.roaming_allowed);
	assert_int_equal(store_reg_list(f->st, sub.id, &f->a, &regs, &n), 0);
	assert_int_equal(n, 0);

	/* Opening again is a no-op. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(user_version(f->path), 2);
}

static void test_failed_upgrade_changes_nothing(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	load_sql(f->path, "store/schema_v1.sql");
	/* A stray table in the way of migration 2 makes it fail half-way. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE registration (x)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->path, &f->st), -EIO);
	assert_null(f->st);
	assert_int_equal(user_version(f->path), 1);
	/* Its ALTERs were rolled back with it. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_not_equal(
		sqlite3_exec(db, "SELECT derived_rule FROM subscription", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->path, &f->st), -EPROTO);
	assert_int_equal(user_version(f->path), 99);
	assert_int_equal(store_open("nosuch:thing", &f->st), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqn_compare_and_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_and_derived, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_upgrade_changes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
