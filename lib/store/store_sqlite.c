/*
 * store_sqlite.c - the SQLite backend of the subscriber store.
 *
 * Durability: WAL journal with synchronous=FULL, so a COMMIT returns only
 * once the WAL is on disk; the HSS relies on it to never hand out an SQN
 * that a crash could make it issue again (TS 33.102 section 6.3.2 wants
 * SQN_HE to only ever grow).
 *
 * Every SQL statement lives in the one table below and is prepared once
 * when the store opens; the schema is built by an ordered list of
 * migrations keyed by PRAGMA user_version.
 */
#define SLOG_COMPONENT "store"

#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/*
 * Schema history. A database records the number of migrations applied in
 * PRAGMA user_version; opening it runs the missing ones in one transaction.
 * Never edit a released migration: append a new one.
 */
static const char *const migrations[] = {
	/* 1: subscriptions with one IMPI, IMPUs in implicit registration sets. */
	"CREATE TABLE subscription ("
	"  id INTEGER PRIMARY KEY,"
	"  k BLOB NOT NULL CHECK (length(k) = 16),"
	"  op BLOB NOT NULL CHECK (length(op) = 16),"
	"  op_is_opc INTEGER NOT NULL CHECK (op_is_opc IN (0, 1)),"
	"  amf BLOB NOT NULL CHECK (length(amf) = 2),"
	"  sqn INTEGER NOT NULL CHECK (sqn BETWEEN 0 AND 281474976710655),"
	"  auth_scheme TEXT NOT NULL,"
	"  roaming_allowed INTEGER NOT NULL DEFAULT 0,"
	"  scscf_name TEXT NOT NULL DEFAULT '',"
	"  auth_pending INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE impi ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE"
	");"
	"CREATE INDEX impi_subscription ON impi (subscription_id);"
	"CREATE TABLE impu ("
	"  id INTEGER PRIMARY KEY,"
	"  uri TEXT NOT NULL UNIQUE,"
	"  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
	"  irs INTEGER NOT NULL CHECK (irs >= 1),"
	"  position INTEGER NOT NULL CHECK (position >= 0),"
	"  barred INTEGER NOT NULL DEFAULT 0,"
	"  unreg_services INTEGER NOT NULL DEFAULT 0,"
	"  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2)"
	");"
	"CREATE INDEX impu_subscription ON impu (subscription_id, irs, position);",

	/*
	 * 2: modified-impi and simultaneous registrations. A subscription
	 * gets derived IMPIs (same K, same SQN) and a limit on how many of
	 * its IMPIs are registered at once; registrations are kept per IMPI
	 * and implicit set. A version-1 database had one IMPI per
	 * subscription, so every registered set there was registered by it.
	 */
	"ALTER TABLE subscription ADD COLUMN derived_rule TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE subscription ADD COLUMN max_registrations INTEGER NOT NULL DEFAULT 0"
	"  CHECK (max_registrations >= 0);"
	"ALTER TABLE impi ADD COLUMN derived INTEGER NOT NULL DEFAULT 0 CHECK (derived >= 0);"
	"CREATE TABLE registration ("
	"  id INTEGER PRIMARY KEY,"
	"  impi_id INTEGER NOT NULL REFERENCES impi(id) ON DELETE CASCADE,"
	"  irs INTEGER NOT NULL,"
	"  contact TEXT NOT NULL DEFAULT '',"
	"  scscf_name TEXT NOT NULL,"
	"  registered_at INTEGER NOT NULL,"
	"  refreshed_at INTEGER NOT NULL,"
	"  UNIQUE (impi_id, irs, contact)"
	");"
	"INSERT INTO registration (impi_id, irs, contact, scscf_name, registered_at, refreshed_at)"
	"  SELECT DISTINCT i.id, u.irs, '', s.scscf_name,"
	"         CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)"
	"  FROM impu u JOIN subscription s ON s.id = u.subscription_id"
	"             JOIN impi i ON i.subscription_id = s.id"
	"  WHERE u.state = 1;",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The columns of a subscription row, as read by sub_from_row(). */
#define SUB_COLUMNS                                                                    \
	"s.id, o.name, s.k, s.op, s.op_is_opc, s.amf, s.sqn, s.auth_scheme,"           \
	" s.derived_rule, s.max_registrations, s.roaming_allowed, s.scscf_name,"       \
	" s.auth_pending"
#define SUB_FROM " FROM subscription s JOIN impi o ON o.subscription_id = s.id AND o.derived = 0"
#define IMPU_COLUMNS "id, subscription_id, uri, irs, position, barred, unreg_services, state"

/* Every statement the backend runs, prepared once at open. */
#define SQL_STATEMENTS(X)                                                                  \
	X(BEGIN, "BEGIN IMMEDIATE")                                                        \
	X(COMMIT, "COMMIT")                                                                \
	X(ROLLBACK, "ROLLBACK")                                                            \
	X(SAVEPOINT, "SAVEPOINT op")                                                       \
	X(RELEASE, "RELEASE op")                                                           \
	X(ROLLBACK_TO, "ROLLBACK TO op")                                                   \
	X(SUB_INSERT,                                                                      \
	  "INSERT INTO subscription (k, op, op_is_opc, amf, sqn, auth_scheme, derived_rule," \
	  " max_registrations, roaming_allowed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")  \
	X(SUB_UPDATE,                                                                      \
	  "UPDATE subscription SET k = coalesce(?2, k), op = coalesce(?3, op),"            \
	  " op_is_opc = coalesce(?4, op_is_opc), amf = coalesce(?5, amf),"                 \
	  " sqn = coalesce(?6, sqn), max_registrations = coalesce(?7, max_registrations)," \
	  " roaming_allowed = coalesce(?8, roaming_allowed),"                              \
	  " auth_scheme = coalesce(?9, auth_scheme) WHERE id = ?1")                        \
	X(SUB_SET_RULE, "UPDATE subscription SET derived_rule = ?2 WHERE id = ?1")          \
	X(SUB_DELETE, "DELETE FROM subscription WHERE id = ?1")                            \
	X(SUB_GET, "SELECT " SUB_COLUMNS SUB_FROM " WHERE s.id = ?1")                       \
	X(SUB_ALL, "SELECT " SUB_COLUMNS SUB_FROM " ORDER BY o.name")                       \
	X(SUB_COUNT, "SELECT count(*) FROM subscription")                                  \
	X(IMPI_INSERT, "INSERT INTO impi (name, subscription_id, derived) VALUES (?1, ?2, ?3)") \
	X(IMPI_DELETE_DERIVED, "DELETE FROM impi WHERE subscription_id = ?1 AND derived > 0") \
	X(IMPI_LOOKUP,                                                                     \
	  "SELECT i.id, i.derived, " SUB_COLUMNS " FROM impi i"                            \
	  " JOIN subscription s ON s.id = i.subscription_id"                               \
	  " JOIN impi o ON o.subscription_id = s.id AND o.derived = 0 WHERE i.name = ?1")    \
	X(IMPI_LIST,                                                                       \
	  "SELECT id, subscription_id, name, derived FROM impi WHERE subscription_id = ?1"  \
	  " ORDER BY derived")                                                             \
	X(IMPU_INSERT,                                                                     \
	  "INSERT INTO impu (uri, subscription_id, irs, position, barred, unreg_services)"  \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                               \
	X(IMPU_SET_FLAGS, "UPDATE impu SET barred = ?2, unreg_services = ?3 WHERE id = ?1")  \
	X(IMPU_DELETE_ALL, "DELETE FROM impu WHERE subscription_id = ?1")                  \
	X(IMPU_LOOKUP, "SELECT " IMPU_COLUMNS " FROM impu WHERE uri = ?1")                  \
	X(IMPU_LIST,                                                                       \
	  "SELECT " IMPU_COLUMNS " FROM impu WHERE subscription_id = ?1 ORDER BY irs, position") \
	X(SQN_SWAP, "UPDATE subscription SET sqn = ?3 WHERE id = ?1 AND sqn = ?2")          \
	X(SUB_EXISTS, "SELECT 1 FROM subscription WHERE id = ?1")                          \
	X(IMPI_EXISTS, "SELECT 1 FROM impi WHERE name = ?1")                               \
	X(IMPU_EXISTS, "SELECT 1 FROM impu WHERE uri = ?1")                                \
	X(SCSCF_SET, "UPDATE subscription SET scscf_name = ?2, auth_pending = ?3 WHERE id = ?1") \
	X(IRS_SET_STATE, "UPDATE impu SET state = ?3 WHERE subscription_id = ?1 AND irs = ?2") \
	X(REG_UPSERT,                                                                      \
	  "INSERT INTO registration (impi_id, irs, contact, scscf_name, registered_at,"     \
	  " refreshed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"                                  \
	  " ON CONFLICT (impi_id, irs, contact) DO UPDATE SET"                             \
	  " scscf_name = excluded.scscf_name, refreshed_at = excluded.refreshed_at")        \
	X(REG_DELETE, "DELETE FROM registration WHERE impi_id = ?1 AND irs = ?2")          \
	X(REG_DELETE_ALL,                                                                  \
	  "DELETE FROM registration WHERE impi_id IN"                                      \
	  " (SELECT id FROM impi WHERE subscription_id = ?1)")                             \
	X(REG_LIST,                                                                        \
	  "SELECT r.id, r.impi_id, i.name, r.irs, r.contact, r.scscf_name, r.registered_at," \
	  " r.refreshed_at FROM registration r JOIN impi i ON i.id = r.impi_id"            \
	  " WHERE i.subscription_id = ?1 ORDER BY i.derived, r.irs, r.contact")

enum sql_stmt {
#define X(id, sql) SQL_##id,
	SQL_STATEMENTS(X)
#undef X
	SQL__COUNT
};

static const char *const sql_text[SQL__COUNT] = {
#define X(id, sql) [SQL_##id] = sql,
	SQL_STATEMENTS(X)
#undef X
};

static const char *const sql_name[SQL__COUNT] = {
#define X(id, sql) [SQL_##id] = #id,
	SQL_STATEMENTS(X)
#undef X
};

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL__COUNT];
	bool in_tx;
};

static struct store_sqlite *to_sqlite(struct store *st)
{
	return (struct store_sqlite *)st;
}

/*
 * Map an SQLite result to our errno convention and log what is not an
 * expected outcome. SQLite's messages name tables and columns, never the
 * bound values, so no key material reaches the log.
 */
static int sql_error(struct store_sqlite *s, enum sql_stmt which, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return -EEXIST;
		log_warn("%s: %s", sql_name[which], sqlite3_errmsg(s->db));
		return -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("%s: database busy", sql_name[which]);
		return -EBUSY;
	case SQLITE_FULL:
		log_error("%s: disk full", sql_name[which]);
		return -ENOSPC;
	default:
		log_error("%s: %s", sql_name[which], sqlite3_errmsg(s->db));
		return -EIO;
	}
}

/* Prepared statement `which`, reset and with its bindings cleared. */
static sqlite3_stmt *stmt_get(struct store_sqlite *s, enum sql_stmt which)
{
	sqlite3_stmt *st = s->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/*
 * Values are bound without a copy (SQLITE_STATIC): every statement is
 * bound, stepped and reset within one function call, while the caller's
 * memory is alive, and stmt_get() clears old bindings before reuse.
 */
static int bind_str(sqlite3_stmt *st, int idx, struct str v)
{
	/* An empty slice may have a NULL pointer; SQLite would store NULL. */
	return sqlite3_bind_text(st, idx, v.s ? v.s : "", (int)v.len, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *st, int idx, const uint8_t *v, size_t len)
{
	return sqlite3_bind_blob(st, idx, v, (int)len, SQLITE_STATIC);
}

/* Run a statement that returns no rows; *changes gets the rows touched. */
static int stmt_exec(struct store_sqlite *s, enum sql_stmt which, int *changes)
{
	int rc = sqlite3_step(s->stmt[which]);

	sqlite3_reset(s->stmt[which]);
	if (rc != SQLITE_DONE)
		return sql_error(s, which, rc);
	if (changes)
		*changes = sqlite3_changes(s->db);
	return 0;
}

static struct str col_str(sqlite3_stmt *st, int col, struct arena *a, int *err)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int len = sqlite3_column_bytes(st, col);
	struct str copy;

	if (!t)
		return STR_LIT("");
	copy = arena_str(a, str_make((const char *)t, (size_t)len));
	if (!copy.s)
		*err = -ENOMEM;
	return copy;
}

static int col_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
	const void *b = sqlite3_column_blob(st, col);

	if (!b || (size_t)sqlite3_column_bytes(st, col) != len)
		return -EIO;
	memcpy(out, b, len);
	return 0;
}

/* Fill a subscription from SUB_COLUMNS starting at column `c`. */
static int sub_from_row(sqlite3_stmt *st, int c, struct arena *a, struct store_subscription *out)
{
	struct str scheme;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, c + 0);
	out->impi = col_str(st, c + 1, a, &err);
	if (col_blob(st, c + 2, out->k, sizeof(out->k)) ||
	    col_blob(st, c + 3, out->op, sizeof(out->op)) ||
	    col_blob(st, c + 5, out->amf, sizeof(out->amf)))
		return -EIO;
	out->op_is_opc = sqlite3_column_int(st, c + 4) != 0;
	out->sqn = (uint64_t)sqlite3_column_int64(st, c + 6);
	scheme = str_make((const char *)sqlite3_column_text(st, c + 7),
			  (size_t)sqlite3_column_bytes(st, c + 7));
	if (!scheme.s || store_auth_scheme_parse(scheme, &out->auth_scheme))
		return -EIO;
	out->derived_rule = col_str(st, c + 8, a, &err);
	out->max_registrations = (uint32_t)sqlite3_column_int64(st, c + 9);
	out->roaming_allowed = sqlite3_column_int(st, c + 10) != 0;
	out->scscf_name = col_str(st, c + 11, a, &err);
	out->auth_pending = sqlite3_column_int(st, c + 12) != 0;
	return err;
}

static int impu_from_row(sqlite3_stmt *st, struct arena *a, struct store_impu *out)
{
	int err = 0;
	int state;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->subscription_id = sqlite3_column_int64(st, 1);
	out->uri = col_str(st, 2, a, &err);
	out->irs = (uint32_t)sqlite3_column_int64(st, 3);
	out->position = (uint32_t)sqlite3_column_int64(st, 4);
	out->barred = sqlite3_column_int(st, 5) != 0;
	out->unreg_services = sqlite3_column_int(st, 6) != 0;
	state = sqlite3_column_int(st, 7);
	if (state < 0 || state >= STORE_REG__COUNT)
		return -EIO;
	out->state = (enum store_reg_state)state;
	return err;
}

/* --- transactions ------------------------------------------------------- */

static int sq_begin(struct store *st)
{
	struct store_sqlite *s = to_sqlite(st);
	int err;

	if (s->in_tx)
		return -EALREADY;
	stmt_get(s, SQL_BEGIN);
	err = stmt_exec(s, SQL_BEGIN, NULL);
	if (!err)
		s->in_tx = true;
	return err;
}

static int sq_commit(struct store *st)
{
	struct store_sqlite *s = to_sqlite(st);
	int err;

	if (!s->in_tx)
		return -EINVAL;
	stmt_get(s, SQL_COMMIT);
	err = stmt_exec(s, SQL_COMMIT, NULL);
	if (err) {
		/* A failed COMMIT may leave the transaction open; end it. */
		if (!sqlite3_get_autocommit(s->db)) {
			stmt_get(s, SQL_ROLLBACK);
			stmt_exec(s, SQL_ROLLBACK, NULL);
		}
	}
	s->in_tx = false;
	return err;
}

static void sq_rollback(struct store *st)
{
	struct store_sqlite *s = to_sqlite(st);

	if (!s->in_tx)
		return;
	if (!sqlite3_get_autocommit(s->db)) {
		stmt_get(s, SQL_ROLLBACK);
		stmt_exec(s, SQL_ROLLBACK, NULL);
	}
	s->in_tx = false;
}

/*
 * Provisioning operations touch several rows; a savepoint makes each one
 * all-or-nothing even inside a caller's larger transaction (an import
 * goes on checking rows after one fails, and must not see half of it).
 */
static int op_begin(struct store_sqlite *s)
{
	stmt_get(s, SQL_SAVEPOINT);
	return stmt_exec(s, SQL_SAVEPOINT, NULL);
}

static int op_end(struct store_sqlite *s, int err)
{
	if (err) {
		stmt_get(s, SQL_ROLLBACK_TO);
		stmt_exec(s, SQL_ROLLBACK_TO, NULL);
	}
	stmt_get(s, SQL_RELEASE);
	if (stmt_exec(s, SQL_RELEASE, NULL) && !err)
		err = -EIO;
	return err;
}

/* --- provisioning ----------------------------------------------------- */

static int insert_impi(struct store_sqlite *s, int64_t sub_id, struct str name, uint32_t derived)
{
	sqlite3_stmt *q = stmt_get(s, SQL_IMPI_INSERT);

	bind_str(q, 1, name);
	sqlite3_bind_int64(q, 2, sub_id);
	sqlite3_bind_int64(q, 3, derived);
	return stmt_exec(s, SQL_IMPI_INSERT, NULL);
}

static int insert_impus(struct store_sqlite *s, int64_t sub_id,
			const struct store_impu_spec *impus, size_t n)
{
	uint32_t position = 0;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		sqlite3_stmt *q = stmt_get(s, SQL_IMPU_INSERT);

		if (i > 0 && impus[i].irs != impus[i - 1].irs)
			position = 0;
		bind_str(q, 1, impus[i].uri);
		sqlite3_bind_int64(q, 2, sub_id);
		sqlite3_bind_int64(q, 3, impus[i].irs);
		sqlite3_bind_int64(q, 4, position++);
		sqlite3_bind_int(q, 5, impus[i].barred);
		sqlite3_bind_int(q, 6, impus[i].unreg_services);
		err = stmt_exec(s, SQL_IMPU_INSERT, NULL);
	}
	return err;
}

static int sub_insert(struct store_sqlite *s, const struct store_subscription_spec *spec,
		      int64_t *id)
{
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_INSERT);
	int64_t sub_id;
	int err;

	if (spec->sqn > STORE_SQN_MAX || spec->auth_scheme >= STORE_AUTH__COUNT ||
	    spec->n_impus == 0)
		return -EINVAL;
	bind_blob(q, 1, spec->k, sizeof(spec->k));
	bind_blob(q, 2, spec->op, sizeof(spec->op));
	sqlite3_bind_int(q, 3, spec->op_is_opc);
	bind_blob(q, 4, spec->amf, sizeof(spec->amf));
	sqlite3_bind_int64(q, 5, (sqlite3_int64)spec->sqn);
	sqlite3_bind_text(q, 6, store_auth_scheme_name(spec->auth_scheme), -1, SQLITE_STATIC);
	bind_str(q, 7, spec->derived_rule);
	sqlite3_bind_int64(q, 8, spec->max_registrations);
	sqlite3_bind_int(q, 9, spec->roaming_allowed);
	err = stmt_exec(s, SQL_SUB_INSERT, NULL);
	if (err)
		goto out;
	sub_id = sqlite3_last_insert_rowid(s->db);
	err = insert_impi(s, sub_id, spec->impi, 0);
	for (size_t i = 0; i < spec->n_derived && !err; i++)
		err = insert_impi(s, sub_id, spec->derived[i], (uint32_t)(i + 1));
	if (!err)
		err = insert_impus(s, sub_id, spec->impus, spec->n_impus);
	if (!err && id)
		*id = sub_id;
out:
	return err;
}

/* Is `name` a row of the EXISTS query `which`? 1, 0 or a negative errno. */
static int exists(struct store_sqlite *s, enum sql_stmt which, struct str name)
{
	sqlite3_stmt *q = stmt_get(s, which);
	int rc;

	bind_str(q, 1, name);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_error(s, which, rc);
}

/*
 * Every identity is checked before the first row is written, so -EEXIST
 * leaves nothing behind; this is cheaper than a savepoint around each of
 * a million imported rows (which costs a copy of every page it touches).
 */
static int sq_sub_insert(struct store *st, const struct store_subscription_spec *spec,
			 int64_t *id)
{
	struct store_sqlite *s = to_sqlite(st);
	int found = exists(s, SQL_IMPI_EXISTS, spec->impi);

	for (size_t i = 0; i < spec->n_derived && !found; i++)
		found = exists(s, SQL_IMPI_EXISTS, spec->derived[i]);
	for (size_t i = 0; i < spec->n_impus && !found; i++)
		found = exists(s, SQL_IMPU_EXISTS, spec->impus[i].uri);
	if (found)
		return found > 0 ? -EEXIST : found;
	return sub_insert(s, spec, id);
}

static int sq_sub_update(struct store *st, int64_t id, unsigned fields,
			 const struct store_subscription_spec *spec)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_UPDATE);
	int changes = 0;
	int err;

	if (((fields & STORE_UPD_SQN) && spec->sqn > STORE_SQN_MAX) ||
	    ((fields & STORE_UPD_SCHEME) && spec->auth_scheme >= STORE_AUTH__COUNT))
		return -EINVAL;
	/* Unbound parameters are NULL, which coalesce() turns into "keep". */
	sqlite3_bind_int64(q, 1, id);
	if (fields & STORE_UPD_K)
		bind_blob(q, 2, spec->k, sizeof(spec->k));
	if (fields & STORE_UPD_OP) {
		bind_blob(q, 3, spec->op, sizeof(spec->op));
		sqlite3_bind_int(q, 4, spec->op_is_opc);
	}
	if (fields & STORE_UPD_AMF)
		bind_blob(q, 5, spec->amf, sizeof(spec->amf));
	if (fields & STORE_UPD_SQN)
		sqlite3_bind_int64(q, 6, (sqlite3_int64)spec->sqn);
	if (fields & STORE_UPD_MAX_REG)
		sqlite3_bind_int64(q, 7, spec->max_registrations);
	if (fields & STORE_UPD_ROAMING)
		sqlite3_bind_int(q, 8, spec->roaming_allowed);
	if (fields & STORE_UPD_SCHEME)
		sqlite3_bind_text(q, 9, store_auth_scheme_name(spec->auth_scheme), -1,
				  SQLITE_STATIC);
	err = stmt_exec(s, SQL_SUB_UPDATE, &changes);
	if (!err && changes != 1)
		err = -ENOENT;
	return err;
}

static int sub_set_derived(struct store_sqlite *s, int64_t id, struct str rule,
			   const struct str *derived, size_t n)
{
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_SET_RULE);
	int changes = 0;
	int err;

	sqlite3_bind_int64(q, 1, id);
	bind_str(q, 2, rule);
	err = stmt_exec(s, SQL_SUB_SET_RULE, &changes);
	if (!err && changes != 1)
		err = -ENOENT;
	if (err)
		return err;
	q = stmt_get(s, SQL_IMPI_DELETE_DERIVED);
	sqlite3_bind_int64(q, 1, id);
	err = stmt_exec(s, SQL_IMPI_DELETE_DERIVED, NULL);
	for (size_t i = 0; i < n && !err; i++)
		err = insert_impi(s, id, derived[i], (uint32_t)(i + 1));
	return err;
}

static int sq_sub_set_derived(struct store *st, int64_t id, struct str rule,
			      const struct str *derived, size_t n)
{
	struct store_sqlite *s = to_sqlite(st);
	int err = op_begin(s);

	if (err)
		return err;
	return op_end(s, sub_set_derived(s, id, rule, derived, n));
}

static int sq_reg_delete_all(struct store *st, int64_t sub_id);
static int sq_scscf_set(struct store *st, int64_t sub_id, struct str name, bool auth_pending);

static int sub_set_impus(struct store_sqlite *s, int64_t id, const struct store_impu_spec *impus,
			 size_t n)
{
	struct store *st = &s->base;
	sqlite3_stmt *q;
	int err;

	if (n == 0)
		return -EINVAL;
	/* New sets invalidate what was registered under the old ones. */
	err = sq_scscf_set(st, id, STR_NULL, false);
	if (!err)
		err = sq_reg_delete_all(st, id);
	if (err)
		return err;
	q = stmt_get(s, SQL_IMPU_DELETE_ALL);
	sqlite3_bind_int64(q, 1, id);
	err = stmt_exec(s, SQL_IMPU_DELETE_ALL, NULL);
	if (!err)
		err = insert_impus(s, id, impus, n);
	return err;
}

static int sq_sub_set_impus(struct store *st, int64_t id, const struct store_impu_spec *impus,
			    size_t n)
{
	struct store_sqlite *s = to_sqlite(st);
	int err = op_begin(s);

	if (err)
		return err;
	return op_end(s, sub_set_impus(s, id, impus, n));
}

static int sq_sub_delete(struct store *st, int64_t id)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_DELETE);
	int changes = 0;
	int err;

	sqlite3_bind_int64(q, 1, id);
	err = stmt_exec(s, SQL_SUB_DELETE, &changes);
	if (!err && changes != 1)
		err = -ENOENT;
	return err;
}

static int sq_impu_set_flags(struct store *st, int64_t impu_id, bool barred, bool unreg_services)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_IMPU_SET_FLAGS);
	int changes = 0;
	int err;

	sqlite3_bind_int64(q, 1, impu_id);
	sqlite3_bind_int(q, 2, barred);
	sqlite3_bind_int(q, 3, unreg_services);
	err = stmt_exec(s, SQL_IMPU_SET_FLAGS, &changes);
	if (!err && changes != 1)
		err = -ENOENT;
	return err;
}

/* --- queries ----------------------------------------------------------- */

static int sq_impi_lookup(struct store *st, struct str impi, struct arena *a,
			  struct store_impi *impi_out, struct store_subscription *sub_out)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_IMPI_LOOKUP);
	struct store_subscription sub;
	int err = 0;
	int rc;

	bind_str(q, 1, impi);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = sql_error(s, SQL_IMPI_LOOKUP, rc);
		goto out;
	}
	err = sub_from_row(q, 2, a, &sub);
	if (err)
		goto out;
	if (impi_out) {
		impi_out->id = sqlite3_column_int64(q, 0);
		impi_out->derived = (uint32_t)sqlite3_column_int64(q, 1);
		impi_out->subscription_id = sub.id;
		impi_out->name = arena_str(a, impi);
		if (!impi_out->name.s)
			err = -ENOMEM;
	}
	if (sub_out)
		*sub_out = sub;
out:
	explicit_bzero(&sub, sizeof(sub));
	sqlite3_reset(q);
	return err;
}

static int sq_sub_get(struct store *st, int64_t id, struct arena *a,
		      struct store_subscription *out)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_GET);
	int err;
	int rc;

	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		err = sub_from_row(q, 0, a, out);
	else if (rc == SQLITE_DONE)
		err = -ENOENT;
	else
		err = sql_error(s, SQL_SUB_GET, rc);
	sqlite3_reset(q);
	return err;
}

static int sq_sub_foreach(struct store *st, struct arena *scratch, store_sub_cb cb, void *ctx)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_ALL);
	struct store_subscription sub;
	int err = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		arena_reset(scratch);
		err = sub_from_row(q, 0, scratch, &sub);
		if (!err)
			err = cb(ctx, &sub);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_error(s, SQL_SUB_ALL, rc);
	explicit_bzero(&sub, sizeof(sub));
	sqlite3_reset(q);
	return err;
}

static int sq_sub_count(struct store *st, uint64_t *out)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SUB_COUNT);
	int err = 0;
	int rc;

	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(q, 0);
	else
		err = sql_error(s, SQL_SUB_COUNT, rc);
	sqlite3_reset(q);
	return err;
}

static int sq_impu_lookup(struct store *st, struct str uri, struct arena *a,
			  struct store_impu *out)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_IMPU_LOOKUP);
	int err;
	int rc;

	bind_str(q, 1, uri);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		err = impu_from_row(q, a, out);
	else if (rc == SQLITE_DONE)
		err = -ENOENT;
	else
		err = sql_error(s, SQL_IMPU_LOOKUP, rc);
	sqlite3_reset(q);
	return err;
}

/* Fill one element of a list from the current row. */
typedef int (*row_fill_fn)(sqlite3_stmt *q, struct arena *a, void *elem);

/*
 * Collect the rows of a list query into an array in the arena. The array
 * grows by doubling; abandoned copies stay in the arena until it is freed,
 * which is fine for the short lists of one subscription.
 */
static int collect_rows(struct store_sqlite *s, enum sql_stmt which, struct arena *a,
			size_t elem_size, row_fill_fn fill, void **out, size_t *n)
{
	sqlite3_stmt *q = s->stmt[which];
	size_t cap = 0, count = 0;
	unsigned char *v = NULL;
	int err = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			unsigned char *nv = arena_alloc(a, ncap * elem_size);

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			if (count)
				memcpy(nv, v, count * elem_size);
			v = nv;
			cap = ncap;
		}
		err = fill(q, a, v + count * elem_size);
		if (err)
			break;
		count++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_error(s, which, rc);
	sqlite3_reset(q);
	if (!err) {
		*out = v;
		*n = count;
	}
	return err;
}

static int impu_fill(sqlite3_stmt *q, struct arena *a, void *elem)
{
	return impu_from_row(q, a, elem);
}

static int sq_impu_list(struct store *st, int64_t sub_id, struct arena *a,
			struct store_impu **out, size_t *n)
{
	struct store_sqlite *s = to_sqlite(st);

	sqlite3_bind_int64(stmt_get(s, SQL_IMPU_LIST), 1, sub_id);
	return collect_rows(s, SQL_IMPU_LIST, a, sizeof(**out), impu_fill, (void **)out, n);
}

static int impi_fill(sqlite3_stmt *q, struct arena *a, void *elem)
{
	struct store_impi *out = elem;
	int err = 0;

	out->id = sqlite3_column_int64(q, 0);
	out->subscription_id = sqlite3_column_int64(q, 1);
	out->name = col_str(q, 2, a, &err);
	out->derived = (uint32_t)sqlite3_column_int64(q, 3);
	return err;
}

static int sq_impi_list(struct store *st, int64_t sub_id, struct arena *a,
			struct store_impi **out, size_t *n)
{
	struct store_sqlite *s = to_sqlite(st);

	sqlite3_bind_int64(stmt_get(s, SQL_IMPI_LIST), 1, sub_id);
	return collect_rows(s, SQL_IMPI_LIST, a, sizeof(**out), impi_fill, (void **)out, n);
}

static int reg_fill(sqlite3_stmt *q, struct arena *a, void *elem)
{
	struct store_registration *out = elem;
	int err = 0;

	out->id = sqlite3_column_int64(q, 0);
	out->impi_id = sqlite3_column_int64(q, 1);
	out->impi = col_str(q, 2, a, &err);
	out->irs = (uint32_t)sqlite3_column_int64(q, 3);
	out->contact = col_str(q, 4, a, &err);
	out->scscf_name = col_str(q, 5, a, &err);
	out->registered_at = sqlite3_column_int64(q, 6);
	out->refreshed_at = sqlite3_column_int64(q, 7);
	return err;
}

static int sq_reg_list(struct store *st, int64_t sub_id, struct arena *a,
		       struct store_registration **out, size_t *n)
{
	struct store_sqlite *s = to_sqlite(st);

	sqlite3_bind_int64(stmt_get(s, SQL_REG_LIST), 1, sub_id);
	return collect_rows(s, SQL_REG_LIST, a, sizeof(**out), reg_fill, (void **)out, n);
}

/* --- HSS state --------------------------------------------------------- */

static int sq_sqn_swap(struct store *st, int64_t sub_id, uint64_t expected, uint64_t sqn)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SQN_SWAP);
	int changes = 0;
	int err;
	int rc;

	if (sqn > STORE_SQN_MAX)
		return -EINVAL;
	sqlite3_bind_int64(q, 1, sub_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)expected);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)sqn);
	err = stmt_exec(s, SQL_SQN_SWAP, &changes);
	if (err || changes == 1)
		return err;
	/* Nothing changed: the row is gone, or its SQN moved on. */
	q = stmt_get(s, SQL_SUB_EXISTS);
	sqlite3_bind_int64(q, 1, sub_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		err = -EAGAIN;
	else if (rc == SQLITE_DONE)
		err = -ENOENT;
	else
		err = sql_error(s, SQL_SUB_EXISTS, rc);
	sqlite3_reset(q);
	return err;
}

static int sq_scscf_set(struct store *st, int64_t sub_id, struct str name, bool auth_pending)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_SCSCF_SET);
	int changes = 0;
	int err;

	sqlite3_bind_int64(q, 1, sub_id);
	bind_str(q, 2, name);
	sqlite3_bind_int(q, 3, auth_pending);
	err = stmt_exec(s, SQL_SCSCF_SET, &changes);
	if (!err && changes != 1)
		err = -ENOENT;
	return err;
}

static int sq_irs_set_state(struct store *st, int64_t sub_id, uint32_t irs,
			    enum store_reg_state state)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_IRS_SET_STATE);
	int changes = 0;
	int err;

	if (state >= STORE_REG__COUNT)
		return -EINVAL;
	sqlite3_bind_int64(q, 1, sub_id);
	sqlite3_bind_int64(q, 2, irs);
	sqlite3_bind_int(q, 3, (int)state);
	err = stmt_exec(s, SQL_IRS_SET_STATE, &changes);
	if (!err && changes == 0)
		err = -ENOENT;
	return err;
}

static int sq_reg_upsert(struct store *st, int64_t impi_id, uint32_t irs, struct str contact,
			 struct str scscf_name, int64_t now)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_REG_UPSERT);
	int changes = 0;
	int err;

	sqlite3_bind_int64(q, 1, impi_id);
	sqlite3_bind_int64(q, 2, irs);
	bind_str(q, 3, contact);
	bind_str(q, 4, scscf_name);
	sqlite3_bind_int64(q, 5, now);
	err = stmt_exec(s, SQL_REG_UPSERT, &changes);
	if (!err && changes != 1)
		err = -EIO;
	return err;
}

static int sq_reg_delete(struct store *st, int64_t impi_id, uint32_t irs)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_REG_DELETE);

	sqlite3_bind_int64(q, 1, impi_id);
	sqlite3_bind_int64(q, 2, irs);
	return stmt_exec(s, SQL_REG_DELETE, NULL);
}

static int sq_reg_delete_all(struct store *st, int64_t sub_id)
{
	struct store_sqlite *s = to_sqlite(st);
	sqlite3_stmt *q = stmt_get(s, SQL_REG_DELETE_ALL);

	sqlite3_bind_int64(q, 1, sub_id);
	return stmt_exec(s, SQL_REG_DELETE_ALL, NULL);
}

/* --- open / close ---------------------------------------------------------- */

static void sq_close(struct store *st)
{
	struct store_sqlite *s = to_sqlite(st);

	sq_rollback(st);
	for (int i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.sub_insert = sq_sub_insert,
	.sub_update = sq_sub_update,
	.sub_set_derived = sq_sub_set_derived,
	.sub_set_impus = sq_sub_set_impus,
	.sub_delete = sq_sub_delete,
	.impu_set_flags = sq_impu_set_flags,
	.impi_lookup = sq_impi_lookup,
	.sub_get = sq_sub_get,
	.sub_foreach = sq_sub_foreach,
	.sub_count = sq_sub_count,
	.impu_lookup = sq_impu_lookup,
	.impu_list = sq_impu_list,
	.impi_list = sq_impi_list,
	.reg_list = sq_reg_list,
	.sqn_swap = sq_sqn_swap,
	.scscf_set = sq_scscf_set,
	.irs_set_state = sq_irs_set_state,
	.reg_upsert = sq_reg_upsert,
	.reg_delete = sq_reg_delete,
	.reg_delete_all = sq_reg_delete_all,
};

static int exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("%s: %s", what, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);

	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		*version = sqlite3_column_int(q, 0);
	else
		rc = SQLITE_ERROR;
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/*
 * Bring the schema to SCHEMA_VERSION. The whole upgrade is one
 * transaction: a failure leaves the database as it was.
 */
static int migrate(sqlite3 *db, const char *path)
{
	char pragma[48];
	int version = 0;
	int err;

	err = exec_sql(db, "BEGIN IMMEDIATE", "schema upgrade");
	if (err)
		return err;
	err = schema_version(db, &version);
	if (err)
		goto fail;
	if (version > SCHEMA_VERSION) {
		log_error("%s: schema version %d is newer than this simreg (%d)", path, version,
			  SCHEMA_VERSION);
		err = -EPROTO;
		goto fail;
	}
	if (version == SCHEMA_VERSION)
		return exec_sql(db, "COMMIT", "schema check");
	for (int v = version; v < SCHEMA_VERSION; v++) {
		err = exec_sql(db, migrations[v], "schema upgrade");
		if (err)
			goto fail;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", SCHEMA_VERSION);
	err = exec_sql(db, pragma, "schema upgrade");
	if (!err)
		err = exec_sql(db, "COMMIT", "schema upgrade");
	if (err)
		goto fail;
	if (version > 0)
		log_notice("%s: schema upgraded from version %d to %d", path, version,
			   SCHEMA_VERSION);
	return 0;
fail:
	exec_sql(db, "ROLLBACK", "schema upgrade rollback");
	return err;
}

int store_sqlite_open(const char *path, struct store **out)
{
	struct store_sqlite *s;
	int err = 0;
	int rc;

	/*
	 * Memory statistics cost a global mutex on every allocation, which
	 * shows in bulk imports; simreg never reads them. Only possible
	 * before SQLite initialises, so later calls fail harmlessly.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &sqlite_ops;
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		log_error("%s: cannot open: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		err = -EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	/*
	 * WAL lets `simreg ctl` read while the HSS writes; FULL makes every
	 * COMMIT wait for the WAL to reach the disk (the SQN guarantee).
	 */
	err = exec_sql(s->db,
		       "PRAGMA journal_mode = WAL;"
		       "PRAGMA synchronous = FULL;"
		       "PRAGMA foreign_keys = ON;"
		       "PRAGMA cache_size = -65536;"
		       "PRAGMA temp_store = MEMORY;",
		       path);
	if (!err)
		err = migrate(s->db, path);
	if (err)
		goto fail;
	for (int i = 0; i < SQL__COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
					&s->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			log_error("prepare %s: %s", sql_name[i], sqlite3_errmsg(s->db));
			err = -EIO;
			goto fail;
		}
	}
	*out = &s->base;
	return 0;
fail:
	for (int i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
	return err;
}
