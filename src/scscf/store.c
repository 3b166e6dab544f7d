/*
 * store.c - bindings, subscriptions and pending authentications of the
 * S-CSCF in SQLite.
 *
 * Lists (a Path, a route set, the implicit registration set) are kept as
 * text, one value per line: none of them may hold a line break (they come
 * out of parsed SIP header values and profile identities).
 */
#define SLOG_COMPONENT "scscf"

#include "scscf/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "scscf/scscf.h"

static const char *const migrations[] = {
	/* 1: bindings, pending authentications, reg-event subscriptions. */
	"CREATE TABLE binding ("
	"  id INTEGER PRIMARY KEY,"
	"  impu TEXT NOT NULL,"
	"  impi TEXT NOT NULL,"
	"  contact TEXT NOT NULL,"
	"  params TEXT NOT NULL,"
	"  instance TEXT NOT NULL,"
	"  reg_id INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  call_id TEXT NOT NULL,"
	"  cseq INTEGER NOT NULL,"
	"  icid TEXT NOT NULL,"
	"  orig_ioi TEXT NOT NULL,"
	"  irs TEXT NOT NULL,"
	"  registered_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  event INTEGER NOT NULL,"
	"  outbound INTEGER NOT NULL,"
	"  reauth INTEGER NOT NULL"
	");"
	"CREATE TABLE auth ("
	"  id INTEGER PRIMARY KEY,"
	"  impi TEXT NOT NULL,"
	"  impu TEXT NOT NULL,"
	"  call_id TEXT NOT NULL,"
	"  nonce TEXT NOT NULL UNIQUE,"
	"  rand BLOB NOT NULL,"
	"  autn BLOB NOT NULL,"
	"  xres BLOB NOT NULL,"
	"  ck BLOB NOT NULL,"
	"  ik BLOB NOT NULL,"
	"  expires_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE subscription ("
	"  id INTEGER PRIMARY KEY,"
	"  impu TEXT NOT NULL,"
	"  watcher TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  call_id TEXT NOT NULL,"
	"  local_tag TEXT NOT NULL,"
	"  remote_tag TEXT NOT NULL,"
	"  local_uri TEXT NOT NULL,"
	"  remote_uri TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  routes TEXT NOT NULL,"
	"  cseq INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  sent_full INTEGER NOT NULL"
	");",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define BINDING_COLUMNS                                                                   \
	"id, impu, impi, contact, params, instance, reg_id, path, call_id, cseq, icid,"   \
	" orig_ioi, irs, registered_ms, expires_ms, event, outbound, reauth"
#define AUTH_COLUMNS "id, impi, impu, call_id, nonce, rand, autn, xres, ck, ik, expires_ms"
#define SUB_COLUMNS                                                                       \
	"id, impu, watcher, kind, call_id, local_tag, remote_tag, local_uri, remote_uri,"  \
	" target, routes, cseq, version, expires_ms, sent_full"

#define SQL_STATEMENTS(X)                                                                  \
	X(BEGIN, "BEGIN")                                                                  \
	X(COMMIT, "COMMIT")                                                                \
	X(BINDING_PUT, "INSERT OR REPLACE INTO binding (" BINDING_COLUMNS ") VALUES"       \
		       " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"  \
		       " ?16, ?17, ?18)")                                                       \
	X(BINDING_DELETE, "DELETE FROM binding WHERE id = ?1")                             \
	X(BINDING_ALL, "SELECT " BINDING_COLUMNS " FROM binding ORDER BY id")              \
	X(AUTH_PUT, "INSERT OR REPLACE INTO auth (" AUTH_COLUMNS ") VALUES"                \
		    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")                     \
	X(AUTH_DELETE, "DELETE FROM auth WHERE id = ?1")                                   \
	X(AUTH_ALL, "SELECT " AUTH_COLUMNS " FROM auth ORDER BY id")                       \
	X(SUB_PUT, "INSERT OR REPLACE INTO subscription (" SUB_COLUMNS ") VALUES"          \
		   " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")  \
	X(SUB_DELETE, "DELETE FROM subscription WHERE id = ?1")                            \
	X(SUB_ALL, "SELECT " SUB_COLUMNS " FROM subscription ORDER BY id")

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

struct scscf_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL__COUNT];
	struct loop *loop;              /* batching: NULL writes each change at once */
	struct loop_timer commit;
	bool in_tx;
	uint64_t batches, writes;
};

static int sql_error(struct scscf_store *st, enum sql_stmt which, int rc)
{
	log_error("scscf.db %s: %s", sql_name[which], sqlite3_errstr(rc));
	return (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;
}

static sqlite3_stmt *stmt_get(struct scscf_store *st, enum sql_stmt which)
{
	sqlite3_stmt *q = st->stmt[which];

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

static int stmt_exec(struct scscf_store *st, enum sql_stmt which)
{
	int rc = sqlite3_step(st->stmt[which]);

	sqlite3_reset(st->stmt[which]);
	return rc == SQLITE_DONE ? 0 : sql_error(st, which, rc);
}

/* --- batches ------------------------------------------------------------- */

static void commit_batch(struct loop *loop, struct loop_timer *t)
{
	struct scscf_store *st = t->ctx;

	if (!st->in_tx)
		return;
	st->in_tx = false;
	st->batches++;
	stmt_get(st, SQL_COMMIT);
	if (stmt_exec(st, SQL_COMMIT) < 0)
		log_error("scscf.db: a batch of changes was not committed");
}

/*
 * Changes made while the loop handles what one wake-up brought share one
 * transaction, committed by a zero-delay timer when that work is done: a
 * burst of REGISTERs costs one WAL commit instead of one per row.
 */
static void batch_begin(struct scscf_store *st)
{
	st->writes++;
	if (!st->loop || st->in_tx)
		return;
	stmt_get(st, SQL_BEGIN);
	if (stmt_exec(st, SQL_BEGIN) < 0)
		return;
	st->in_tx = true;
	loop_timer_arm(st->loop, &st->commit, 0);
}

void scscf_store_batch(struct scscf_store *st, struct loop *loop)
{
	st->loop = loop;
	loop_timer_init(&st->commit, commit_batch, st);
}

/* Values are bound without a copy: each is stepped before the caller returns. */
static void bind_str(sqlite3_stmt *q, int idx, struct str v)
{
	sqlite3_bind_text(q, idx, v.s ? v.s : "", (int)v.len, SQLITE_STATIC);
}

static void bind_u64(sqlite3_stmt *q, int idx, uint64_t v)
{
	sqlite3_bind_int64(q, idx, (sqlite3_int64)v);
}

static struct str col_str(sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	return t ? str_make((const char *)t, (size_t)sqlite3_column_bytes(q, col)) : STR_LIT("");
}

static uint64_t col_u64(sqlite3_stmt *q, int col)
{
	return (uint64_t)sqlite3_column_int64(q, col);
}

static int col_blob(sqlite3_stmt *q, int col, uint8_t *out, size_t cap, size_t *len)
{
	const void *b = sqlite3_column_blob(q, col);
	size_t n = (size_t)sqlite3_column_bytes(q, col);

	if (!b || n > cap || (!len && n != cap))
		return -EIO;
	memcpy(out, b, n);
	if (len)
		*len = n;
	return 0;
}

/* --- open / close ------------------------------------------------------- */

static int exec_sql(struct scscf_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("scscf.db: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int migrate(struct scscf_store *st)
{
	sqlite3_stmt *q;
	int version = 0, err;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version > SCHEMA_VERSION)
		return -EPROTO;
	if (version == SCHEMA_VERSION)
		return 0;
	err = exec_sql(st, "BEGIN IMMEDIATE");
	for (int i = version; !err && i < SCHEMA_VERSION; i++)
		err = exec_sql(st, migrations[i]);
	if (!err) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", SCHEMA_VERSION);
		err = exec_sql(st, pragma);
	}
	if (!err)
		err = exec_sql(st, "COMMIT");
	else
		exec_sql(st, "ROLLBACK");
	return err;
}

int scscf_store_open(const char *path, struct scscf_store **out)
{
	struct scscf_store *st = calloc(1, sizeof(*st));
	int err = -EIO;

	if (!st)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_error("cannot open %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 2000);
	err = exec_sql(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
	if (!err)
		err = migrate(st);
	if (err == -EPROTO)
		log_error("%s was written by a newer simreg", path);
	for (int i = 0; !err && i < SQL__COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL) != SQLITE_OK) {
			log_error("scscf.db: cannot prepare %s: %s", sql_name[i],
				  sqlite3_errmsg(st->db));
			err = -EIO;
		}
	}
	if (err)
		goto fail;
	*out = st;
	return 0;
fail:
	scscf_store_close(st);
	return err;
}

void scscf_store_close(struct scscf_store *st)
{
	if (!st)
		return;
	if (st->loop) {
		loop_timer_cancel(st->loop, &st->commit);
		commit_batch(st->loop, &st->commit);
	}
	for (int i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

/* --- writes ---------------------------------------------------------------- */

static void join_lines(struct buf *b, const struct str *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			buf_putc(b, '\n');
		buf_put_str(b, v[i]);
	}
}

int scscf_store_binding_put(struct scscf_store *st, const struct scscf_binding *b)
{
	sqlite3_stmt *q;
	struct buf path, irs;
	int err;

	batch_begin(st);
	q = stmt_get(st, SQL_BINDING_PUT);
	buf_init(&path);
	buf_init(&irs);
	join_lines(&path, b->path, b->n_path);
	for (unsigned i = 0; i < b->n_irs; i++)
		buf_printf(&irs, "%s%.*s\t%d", i ? "\n" : "", STR_FMT(b->irs[i].uri),
			   b->irs[i].barred);
	err = buf_error(&path) ? buf_error(&path) : buf_error(&irs);
	if (err)
		goto out;
	bind_u64(q, 1, b->id);
	bind_str(q, 2, b->impu);
	bind_str(q, 3, b->impi);
	bind_str(q, 4, b->contact);
	bind_str(q, 5, b->params);
	bind_str(q, 6, b->instance);
	bind_u64(q, 7, b->reg_id);
	bind_str(q, 8, buf_str(&path));
	bind_str(q, 9, b->call_id);
	bind_u64(q, 10, b->cseq);
	bind_str(q, 11, b->icid);
	bind_str(q, 12, b->orig_ioi);
	bind_str(q, 13, buf_str(&irs));
	bind_u64(q, 14, b->registered_ms);
	bind_u64(q, 15, b->expires_ms);
	bind_u64(q, 16, (uint64_t)b->event);
	bind_u64(q, 17, b->outbound);
	bind_u64(q, 18, b->reauth);
	err = stmt_exec(st, SQL_BINDING_PUT);
out:
	buf_free(&path);
	buf_free(&irs);
	return err;
}

static int delete_id(struct scscf_store *st, enum sql_stmt which, uint64_t id)
{
	sqlite3_stmt *q;

	batch_begin(st);
	q = stmt_get(st, which);

	bind_u64(q, 1, id);
	return stmt_exec(st, which);
}

int scscf_store_binding_delete(struct scscf_store *st, uint64_t id)
{
	return delete_id(st, SQL_BINDING_DELETE, id);
}

int scscf_store_auth_put(struct scscf_store *st, const struct scscf_auth *a)
{
	sqlite3_stmt *q;

	batch_begin(st);
	q = stmt_get(st, SQL_AUTH_PUT);

	bind_u64(q, 1, a->id);
	bind_str(q, 2, a->impi);
	bind_str(q, 3, a->impu);
	bind_str(q, 4, a->call_id);
	bind_str(q, 5, str_from_cstr(a->nonce));
	sqlite3_bind_blob(q, 6, a->rand, sizeof(a->rand), SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, a->autn, sizeof(a->autn), SQLITE_STATIC);
	sqlite3_bind_blob(q, 8, a->xres, (int)a->xres_len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 9, a->ck, sizeof(a->ck), SQLITE_STATIC);
	sqlite3_bind_blob(q, 10, a->ik, sizeof(a->ik), SQLITE_STATIC);
	bind_u64(q, 11, a->expires_ms);
	return stmt_exec(st, SQL_AUTH_PUT);
}

int scscf_store_auth_delete(struct scscf_store *st, uint64_t id)
{
	return delete_id(st, SQL_AUTH_DELETE, id);
}

int scscf_store_sub_put(struct scscf_store *st, const struct scscf_sub *sub)
{
	sqlite3_stmt *q;
	struct buf routes;
	int err;

	batch_begin(st);
	q = stmt_get(st, SQL_SUB_PUT);
	buf_init(&routes);
	join_lines(&routes, sub->routes, sub->n_routes);
	err = buf_error(&routes);
	if (!err) {
		bind_u64(q, 1, sub->id);
		bind_str(q, 2, sub->impu);
		bind_str(q, 3, sub->watcher);
		bind_u64(q, 4, (uint64_t)sub->kind);
		bind_str(q, 5, sub->call_id);
		bind_str(q, 6, sub->local_tag);
		bind_str(q, 7, sub->remote_tag);
		bind_str(q, 8, sub->local_uri);
		bind_str(q, 9, sub->remote_uri);
		bind_str(q, 10, sub->target);
		bind_str(q, 11, buf_str(&routes));
		bind_u64(q, 12, sub->cseq);
		bind_u64(q, 13, sub->version);
		bind_u64(q, 14, sub->expires_ms);
		bind_u64(q, 15, sub->sent_full);
		err = stmt_exec(st, SQL_SUB_PUT);
	}
	buf_free(&routes);
	return err;
}

int scscf_store_sub_delete(struct scscf_store *st, uint64_t id)
{
	return delete_id(st, SQL_SUB_DELETE, id);
}

/* --- loading -------------------------------------------------------------- */

/* Split text on '\n' into at most cap slices (pointing into text). */
static unsigned split_lines(struct str text, struct str *out, unsigned cap)
{
	unsigned n = 0;

	while (text.len && n < cap) {
		ptrdiff_t nl = str_chr(text, '\n');
		size_t l = nl < 0 ? text.len : (size_t)nl;

		out[n++] = str_make(text.s, l);
		text = str_sub(text, l + (nl >= 0), text.len);
	}
	return n;
}

static int load_binding(struct scscf *s, sqlite3_stmt *q)
{
	struct scscf_binding_spec sp;
	struct str path[SCSCF_MAX_PATH], lines[64];
	struct scscf_identity irs[64];
	struct scscf_binding *b;
	uint64_t id = col_u64(q, 0);
	unsigned n_irs;
	int ev;

	memset(&sp, 0, sizeof(sp));
	sp.impu = col_str(q, 1);
	sp.impi = col_str(q, 2);
	sp.contact = col_str(q, 3);
	sp.params = col_str(q, 4);
	sp.instance = col_str(q, 5);
	sp.reg_id = (uint32_t)col_u64(q, 6);
	sp.n_path = split_lines(col_str(q, 7), path, SCSCF_MAX_PATH);
	sp.path = path;
	sp.call_id = col_str(q, 8);
	sp.cseq = (uint32_t)col_u64(q, 9);
	sp.icid = col_str(q, 10);
	sp.orig_ioi = col_str(q, 11);
	n_irs = split_lines(col_str(q, 12), lines, 64);
	for (unsigned i = 0; i < n_irs; i++) {
		ptrdiff_t tab = str_chr(lines[i], '\t');

		irs[i].uri = tab < 0 ? lines[i] : str_make(lines[i].s, (size_t)tab);
		irs[i].barred = tab >= 0 && str_eq_cstr(str_sub(lines[i], (size_t)tab + 1, 1), "1");
	}
	sp.irs = irs;
	sp.n_irs = n_irs;
	sp.registered_ms = col_u64(q, 13);
	sp.expires_ms = col_u64(q, 14);
	ev = sqlite3_column_int(q, 15);
	sp.event = ev >= 0 && ev < REGINFO_EV__COUNT ? (enum reginfo_event)ev : REGINFO_EV_REGISTERED;
	sp.outbound = sqlite3_column_int(q, 16) != 0;
	sp.reauth = sqlite3_column_int(q, 17) != 0;
	if (!n_irs || !sp.impu.len || !sp.contact.len) {
		log_warn("scscf.db: binding %llu is incomplete; dropped", (unsigned long long)id);
		return 0;
	}
	if (id >= s->next_id)
		s->next_id = id + 1;
	return scscf_binding_add(s, &sp, id, &b);
}

static int load_auth(struct scscf *s, sqlite3_stmt *q)
{
	struct scscf_auth *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	arena_init(&a->arena, 512, ARENA_WIPE);
	a->id = col_u64(q, 0);
	a->impi = arena_str(&a->arena, col_str(q, 1));
	a->impu = arena_str(&a->arena, col_str(q, 2));
	a->call_id = arena_str(&a->arena, col_str(q, 3));
	err = str_copy(a->nonce, sizeof(a->nonce), col_str(q, 4));
	if (!err)
		err = col_blob(q, 5, a->rand, sizeof(a->rand), NULL);
	if (!err)
		err = col_blob(q, 6, a->autn, sizeof(a->autn), NULL);
	if (!err)
		err = col_blob(q, 7, a->xres, sizeof(a->xres), &a->xres_len);
	if (!err)
		err = col_blob(q, 8, a->ck, sizeof(a->ck), NULL);
	if (!err)
		err = col_blob(q, 9, a->ik, sizeof(a->ik), NULL);
	a->expires_ms = col_u64(q, 10);
	if (!err && (!a->impi.s || !a->impu.s || !a->call_id.s))
		err = -ENOMEM;
	if (err) {
		log_warn("scscf.db: pending authentication %llu unreadable; dropped",
			 (unsigned long long)a->id);
		arena_destroy(&a->arena);
		explicit_bzero(a, sizeof(*a));
		free(a);
		return err == -ENOMEM ? err : 0;
	}
	if (a->id >= s->next_id)
		s->next_id = a->id + 1;
	return scscf_auth_restore(s, a);
}

static int load_sub(struct scscf *s, sqlite3_stmt *q)
{
	struct scscf_sub *sub = calloc(1, sizeof(*sub));
	struct str routes[SCSCF_MAX_PATH];
	struct arena *a;
	int kind;

	if (!sub)
		return -ENOMEM;
	a = &sub->arena;
	arena_init(a, 1024, 0);
	sub->id = col_u64(q, 0);
	sub->impu = arena_str(a, col_str(q, 1));
	sub->watcher = arena_str(a, col_str(q, 2));
	kind = sqlite3_column_int(q, 3);
	sub->kind = kind >= 0 && kind <= SCSCF_WATCHER_OTHER ? (enum scscf_watcher)kind :
								 SCSCF_WATCHER_OTHER;
	sub->call_id = arena_str(a, col_str(q, 4));
	sub->local_tag = arena_str(a, col_str(q, 5));
	sub->remote_tag = arena_str(a, col_str(q, 6));
	sub->local_uri = arena_str(a, col_str(q, 7));
	sub->remote_uri = arena_str(a, col_str(q, 8));
	sub->target = arena_str(a, col_str(q, 9));
	sub->n_routes = split_lines(col_str(q, 10), routes, SCSCF_MAX_PATH);
	for (unsigned i = 0; i < sub->n_routes; i++)
		sub->routes[i] = arena_str(a, routes[i]);
	sub->cseq = (uint32_t)col_u64(q, 11);
	sub->version = col_u64(q, 12);
	sub->expires_ms = col_u64(q, 13);
	sub->sent_full = sqlite3_column_int(q, 14) != 0;
	if (sub->id >= s->next_id)
		s->next_id = sub->id + 1;
	return scscf_sub_restore(s, sub);
}

static int load_all(struct scscf_store *st, enum sql_stmt which, struct scscf *s,
		    int (*fn)(struct scscf *, sqlite3_stmt *), unsigned *count)
{
	sqlite3_stmt *q = stmt_get(st, which);
	int rc, err = 0;

	while (!err && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		err = fn(s, q);
		if (!err && count)
			(*count)++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_error(st, which, rc);
	sqlite3_reset(q);
	return err;
}

int scscf_store_load(struct scscf_store *st, struct scscf *s, unsigned *n_bindings)
{
	unsigned nb = 0;
	int err;

	/* Bindings first: subscriptions are tied to them. */
	err = load_all(st, SQL_BINDING_ALL, s, load_binding, &nb);
	if (!err)
		err = load_all(st, SQL_SUB_ALL, s, load_sub, NULL);
	if (!err)
		err = load_all(st, SQL_AUTH_ALL, s, load_auth, NULL);
	if (n_bindings)
		*n_bindings = nb;
	return err;
}
