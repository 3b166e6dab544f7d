/*
 * store.c - the P-CSCF's flows and SA sets in DATA/pcscf.db (SQLite).
 *
 * What a restart needs to go on as if nothing happened (issue 8 §4):
 *   - every flow: its identity and key, its state, the SIP data of its
 *     procedures (contact, IMPUs, the canonical Security-Client and
 *     Security-Server of a running challenge) and the mechanism chosen;
 *   - every SA set with its parameters and ESP keys (the userspace backend
 *     installs them again; xfrm finds them in the kernel), its lifetime,
 *     and the outbound sequence numbers sent so far;
 *   - the flow-token key and the highest flow id handed out, so tokens in
 *     the S-CSCF's Paths stay valid and no id is ever given twice.
 *
 * The file holds keys: it is created 0600. A flow is written in one
 * transaction after each transition (WAL, synchronous=NORMAL: a process
 * crash loses nothing, a power cut at most the last transitions, which the
 * UE then repeats by registering again).
 *
 * Every statement lives in the table below, prepared once; the schema is
 * an ordered list of migrations keyed by PRAGMA user_version.
 */
#define SLOG_COMPONENT "pcscf"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcscf/context.h"

static const char *const migrations[] = {
	/* 1: flows, their SA sets, and the token key. */
	"CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE flow ("
	"  id INTEGER PRIMARY KEY,"
	"  state INTEGER NOT NULL,"
	"  impi TEXT NOT NULL,"
	"  ue BLOB NOT NULL CHECK (length(ue) IN (4, 16)),"
	"  local BLOB NOT NULL CHECK (length(local) IN (4, 16)),"
	"  port_uc INTEGER NOT NULL, port_us INTEGER NOT NULL,"
	"  impu TEXT, contact TEXT, call_id TEXT, client_canon TEXT, server_canon TEXT,"
	"  impus TEXT,"
	"  alg INTEGER NOT NULL, ealg INTEGER NOT NULL,"
	"  spi_c INTEGER NOT NULL, spi_s INTEGER NOT NULL,"
	"  port_c INTEGER NOT NULL, port_s INTEGER NOT NULL,"
	"  expires_s INTEGER NOT NULL, registered_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE saset ("
	"  flow_id INTEGER NOT NULL REFERENCES flow(id) ON DELETE CASCADE,"
	"  slot INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 2),"
	"  state INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  spi_uc INTEGER NOT NULL, spi_us INTEGER NOT NULL,"
	"  port_uc INTEGER NOT NULL, port_us INTEGER NOT NULL,"
	"  spi_pc INTEGER NOT NULL, spi_ps INTEGER NOT NULL,"
	"  port_pc INTEGER NOT NULL, port_ps INTEGER NOT NULL,"
	"  alg INTEGER NOT NULL, ealg INTEGER NOT NULL,"
	"  ik BLOB NOT NULL, ck BLOB NOT NULL,"
	"  seq1 INTEGER NOT NULL, seq2 INTEGER NOT NULL,"
	"  seq3 INTEGER NOT NULL, seq4 INTEGER NOT NULL,"
	"  PRIMARY KEY (flow_id, slot)"
	");",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define FLOW_COLUMNS                                                                \
	"id, state, impi, ue, local, port_uc, port_us, impu, contact, call_id,"     \
	" client_canon, server_canon, impus, alg, ealg, spi_c, spi_s, port_c, port_s," \
	" expires_s, registered_ms"
#define SET_COLUMNS                                                                 \
	"flow_id, slot, state, expires_ms, spi_uc, spi_us, port_uc, port_us, spi_pc,"  \
	" spi_ps, port_pc, port_ps, alg, ealg, ik, ck, seq1, seq2, seq3, seq4"

#define SQL_STATEMENTS(X)                                                                 \
	X(BEGIN, "BEGIN IMMEDIATE")                                                       \
	X(COMMIT, "COMMIT")                                                               \
	X(ROLLBACK, "ROLLBACK")                                                           \
	X(META_GET, "SELECT value FROM meta WHERE name = ?1")                             \
	X(META_SET, "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)")          \
	X(FLOW_PUT, "INSERT OR REPLACE INTO flow (" FLOW_COLUMNS ") VALUES (?1, ?2, ?3, ?4," \
		    " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20," \
		    " ?21)")                                                              \
	X(FLOW_DELETE, "DELETE FROM flow WHERE id = ?1")                                  \
	X(FLOW_ALL, "SELECT " FLOW_COLUMNS " FROM flow ORDER BY id")                       \
	X(SETS_DELETE, "DELETE FROM saset WHERE flow_id = ?1")                            \
	X(SET_PUT, "INSERT INTO saset (" SET_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7," \
		   " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)")      \
	X(SETS_OF, "SELECT " SET_COLUMNS " FROM saset WHERE flow_id = ?1 ORDER BY slot")

enum stmt {
#define X(id, sql) ST_##id,
	SQL_STATEMENTS(X)
#undef X
	ST__COUNT
};

static const char *const sql_text[] = {
#define X(id, sql) sql,
	SQL_STATEMENTS(X)
#undef X
};

struct pcscf_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	uint64_t next_id; /* the highest id written + 1, as stored */
	struct ipsec_table dirty; /* u64 flow id -> (void *)1: to write at the next flush */
	uint64_t flushes, writes;
};

static int fail(struct pcscf_store *s, const char *what)
{
	log_error("pcscf.db: %s: %s", what, sqlite3_errmsg(s->db));
	return -EIO;
}

static sqlite3_stmt *stmt(struct pcscf_store *s, enum stmt id)
{
	sqlite3_reset(s->st[id]);
	sqlite3_clear_bindings(s->st[id]);
	return s->st[id];
}

static int step_done(struct pcscf_store *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : fail(s, what);
}

static int migrate(struct pcscf_store *s)
{
	sqlite3_stmt *q;
	int version = 0, rc;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return fail(s, "user_version");
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version > SCHEMA_VERSION) {
		log_error("pcscf.db has schema %d, newer than this simreg's %d", version,
			  SCHEMA_VERSION);
		return -EPROTO;
	}
	if (version == SCHEMA_VERSION)
		return 0;
	rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	for (int v = version; rc == SQLITE_OK && v < SCHEMA_VERSION; v++)
		rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", SCHEMA_VERSION);
		rc = sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return fail(s, "schema");
	}
	return 0;
}

int pcscf_store_open(const char *path, struct pcscf_store **out)
{
	struct pcscf_store *s = calloc(1, sizeof(*s));
	int fd, rc;

	if (!s)
		return -ENOMEM;
	/* Keys live here: never readable by others, not even for a moment. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		log_error("%s: %s", path, strerror(errno));
		free(s);
		return rc;
	}
	close(fd);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = fail(s, path);
		goto close;
	}
	sqlite3_busy_timeout(s->db, 2000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				"PRAGMA foreign_keys = ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		rc = fail(s, "pragmas");
		goto close;
	}
	rc = migrate(s);
	if (rc)
		goto close;
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			rc = fail(s, sql_text[i]);
			goto close;
		}
	}
	ipsec_table_init(&s->dirty, sizeof(uint64_t));
	*out = s;
	return 0;
close:
	pcscf_store_close(s);
	return rc;
}

void pcscf_store_close(struct pcscf_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	ipsec_table_free(&s->dirty);
	free(s);
}

/* ---- meta ---------------------------------------------------------------- */

static int meta_get(struct pcscf_store *s, const char *name, void *out, size_t len, bool *found)
{
	sqlite3_stmt *q = stmt(s, ST_META_GET);
	int rc = 0;

	*found = false;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	switch (sqlite3_step(q)) {
	case SQLITE_ROW:
		if ((size_t)sqlite3_column_bytes(q, 0) != len) {
			rc = -EPROTO;
			break;
		}
		memcpy(out, sqlite3_column_blob(q, 0), len);
		*found = true;
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = fail(s, "meta");
	}
	sqlite3_reset(q);
	return rc;
}

static int meta_set(struct pcscf_store *s, const char *name, const void *v, size_t len)
{
	sqlite3_stmt *q = stmt(s, ST_META_SET);

	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, v, (int)len, SQLITE_STATIC);
	return step_done(s, q, "meta");
}

int pcscf_store_meta(struct pcscf_store *s, uint8_t key[PCSCF_TOKEN_KEY_LEN], uint64_t *next_id)
{
	bool found;
	int rc;

	rc = meta_get(s, "token_key", key, PCSCF_TOKEN_KEY_LEN, &found);
	if (rc)
		return rc;
	if (!found) {
		/* First start: a key for the flow tokens, kept for every start after. */
		if (RAND_bytes(key, PCSCF_TOKEN_KEY_LEN) != 1)
			return -EIO;
		rc = meta_set(s, "token_key", key, PCSCF_TOKEN_KEY_LEN);
		if (rc)
			return rc;
	}
	rc = meta_get(s, "next_id", &s->next_id, sizeof(s->next_id), &found);
	if (rc)
		return rc;
	if (!found)
		s->next_id = 1;
	*next_id = s->next_id;
	return 0;
}

int pcscf_store_set_next_id(struct pcscf_store *s, uint64_t next_id)
{
	if (next_id <= s->next_id)
		return 0;
	s->next_id = next_id;
	return meta_set(s, "next_id", &s->next_id, sizeof(s->next_id));
}

int pcscf_store_clean_flag(struct pcscf_store *s, uint8_t *clean, bool *found)
{
	return meta_get(s, "clean", clean, 1, found);
}

int pcscf_store_set_clean(struct pcscf_store *s, bool clean)
{
	uint8_t v = clean;

	return meta_set(s, "clean", &v, 1);
}

/* ---- flows --------------------------------------------------------------- */

static void bind_addr(sqlite3_stmt *q, int col, const struct ipsec_addr *a)
{
	sqlite3_bind_blob(q, col, a->b, (int)ipsec_addr_len(a), SQLITE_TRANSIENT);
}

static void bind_text(sqlite3_stmt *q, int col, const char *t)
{
	if (t)
		sqlite3_bind_text(q, col, t, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, col);
}

static int put_set(struct pcscf_store *s, struct pcscf *pc, const struct pcscf_reg *r,
		   const struct pcscf_sa *sa, int slot)
{
	sqlite3_stmt *q = stmt(s, ST_SET_PUT);
	const struct ipsec_set_params *p = &sa->set.p;
	uint32_t seq[4] = { 0 };

	if (pc)
		pcscf_ipsec_seq(pc, sa, seq);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int(q, 2, slot);
	sqlite3_bind_int(q, 3, sa->state);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)sa->expires_ms);
	sqlite3_bind_int64(q, 5, p->client.spi_c);
	sqlite3_bind_int64(q, 6, p->client.spi_s);
	sqlite3_bind_int(q, 7, p->client.port_c);
	sqlite3_bind_int(q, 8, p->client.port_s);
	sqlite3_bind_int64(q, 9, p->server.spi_c);
	sqlite3_bind_int64(q, 10, p->server.spi_s);
	sqlite3_bind_int(q, 11, p->server.port_c);
	sqlite3_bind_int(q, 12, p->server.port_s);
	sqlite3_bind_int(q, 13, p->keys.auth);
	sqlite3_bind_int(q, 14, p->keys.enc);
	sqlite3_bind_blob(q, 15, p->keys.ik_esp, (int)p->keys.ik_len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 16, p->keys.ck_esp, (int)p->keys.ck_len, SQLITE_TRANSIENT);
	for (int i = 0; i < 4; i++)
		sqlite3_bind_int64(q, 17 + i, seq[i]);
	return step_done(s, q, "saset");
}

static int delete_one(struct pcscf_store *s, uint64_t id)
{
	sqlite3_stmt *q = stmt(s, ST_SETS_DELETE);
	int rc;

	sqlite3_bind_int64(q, 1, (sqlite3_int64)id);
	rc = step_done(s, q, "saset delete");
	if (rc)
		return rc;
	q = stmt(s, ST_FLOW_DELETE);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)id);
	return step_done(s, q, "flow delete");
}

/* One flow and its sets, inside the caller's transaction. */
static int save_one(struct pcscf_store *s, struct pcscf *pc, const struct pcscf_reg *r)
{
	const struct pcscf_sa *sets[3] = { r->temp, r->est, r->old };
	sqlite3_stmt *q;
	int rc;

	q = stmt(s, ST_FLOW_PUT);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int(q, 2, r->state);
	sqlite3_bind_text(q, 3, r->impi, -1, SQLITE_TRANSIENT);
	bind_addr(q, 4, &r->key.ue);
	bind_addr(q, 5, &r->local);
	sqlite3_bind_int(q, 6, r->key.port_uc);
	sqlite3_bind_int(q, 7, r->key.port_us);
	bind_text(q, 8, r->impu);
	bind_text(q, 9, r->contact);
	bind_text(q, 10, r->call_id);
	bind_text(q, 11, r->client_canon);
	bind_text(q, 12, r->server_canon);
	bind_text(q, 13, r->impus);
	sqlite3_bind_int(q, 14, r->chosen.alg);
	sqlite3_bind_int(q, 15, r->chosen.ealg);
	sqlite3_bind_int64(q, 16, r->chosen.sp.spi_c);
	sqlite3_bind_int64(q, 17, r->chosen.sp.spi_s);
	sqlite3_bind_int(q, 18, r->chosen.sp.port_c);
	sqlite3_bind_int(q, 19, r->chosen.sp.port_s);
	sqlite3_bind_int64(q, 20, r->expires_s);
	sqlite3_bind_int64(q, 21, (sqlite3_int64)r->registered_ms);
	rc = step_done(s, q, "flow");
	if (!rc) {
		q = stmt(s, ST_SETS_DELETE);
		sqlite3_bind_int64(q, 1, (sqlite3_int64)r->id);
		rc = step_done(s, q, "saset delete");
	}
	for (int i = 0; i < 3 && !rc; i++)
		if (sets[i] && sets[i]->set_id)
			rc = put_set(s, pc, r, sets[i], i);
	if (!rc && r->id >= s->next_id) {
		s->next_id = r->id + 1;
		rc = meta_set(s, "next_id", &s->next_id, sizeof(s->next_id));
	}
	return rc;
}

int pcscf_store_delete(struct pcscf_store *s, uint64_t id)
{
	ipsec_table_del(&s->dirty, &id);
	return delete_one(s, id);
}

int pcscf_store_mark(struct pcscf_store *s, uint64_t id)
{
	int rc = ipsec_table_add(&s->dirty, &id, (void *)1);

	return rc == -EEXIST ? 0 : rc;
}

static int collect(void *arg, const void *key, void *value)
{
	uint64_t **cursor = arg;

	memcpy(*cursor, key, sizeof(uint64_t));
	(*cursor)++;
	return 0;
}

int pcscf_store_flush(struct pcscf_store *s, struct pcscf *pc)
{
	size_t n = s->dirty.count;
	uint64_t *ids, *cursor;
	int rc;

	if (!n)
		return 0;
	ids = malloc(n * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	cursor = ids;
	ipsec_table_each(&s->dirty, collect, &cursor);
	rc = step_done(s, stmt(s, ST_BEGIN), "begin");
	for (size_t i = 0; i < n && !rc; i++) {
		const struct pcscf_reg *r = pcscf_reg_by_id(&pc->regs, ids[i]);

		/* Gone since it was marked: gone from the store too. */
		rc = r ? save_one(s, pc, r) : delete_one(s, ids[i]);
	}
	if (!rc)
		rc = step_done(s, stmt(s, ST_COMMIT), "commit");
	if (rc) {
		step_done(s, stmt(s, ST_ROLLBACK), "rollback");
	} else {
		for (size_t i = 0; i < n; i++)
			ipsec_table_del(&s->dirty, &ids[i]);
		s->flushes++;
		s->writes += n;
	}
	free(ids);
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

static int col_addr(sqlite3_stmt *q, int col, struct ipsec_addr *a)
{
	int n = sqlite3_column_bytes(q, col);

	memset(a, 0, sizeof(*a));
	if (n != 4 && n != 16)
		return -EPROTO;
	a->family = n == 4 ? AF_INET : AF_INET6;
	memcpy(a->b, sqlite3_column_blob(q, col), (size_t)n);
	return 0;
}

static int col_text(sqlite3_stmt *q, int col, char **field)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	if (!t)
		return 0;
	return pcscf_str_set(field, str_make((const char *)t, (size_t)sqlite3_column_bytes(q, col)));
}

static int load_sets(struct pcscf_store *s, struct pcscf_reg *r)
{
	sqlite3_stmt *q = stmt(s, ST_SETS_OF);
	int rc = 0, step;

	sqlite3_bind_int64(q, 1, (sqlite3_int64)r->id);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		int slot = sqlite3_column_int(q, 1);
		struct ipsec_set_params p;
		struct pcscf_sa *sa;
		size_t ik = (size_t)sqlite3_column_bytes(q, 14);
		size_t ck = (size_t)sqlite3_column_bytes(q, 15);

		memset(&p, 0, sizeof(p));
		p.ue = r->key.ue;
		p.pcscf = r->local;
		p.client = (struct ipsec_sec_params){
			(uint32_t)sqlite3_column_int64(q, 4), (uint32_t)sqlite3_column_int64(q, 5),
			(uint16_t)sqlite3_column_int(q, 6), (uint16_t)sqlite3_column_int(q, 7) };
		p.server = (struct ipsec_sec_params){
			(uint32_t)sqlite3_column_int64(q, 8), (uint32_t)sqlite3_column_int64(q, 9),
			(uint16_t)sqlite3_column_int(q, 10), (uint16_t)sqlite3_column_int(q, 11) };
		p.keys.auth = (enum esp_auth_alg)sqlite3_column_int(q, 12);
		p.keys.enc = (enum esp_enc_alg)sqlite3_column_int(q, 13);
		if (ik > sizeof(p.keys.ik_esp) || ck > sizeof(p.keys.ck_esp)) {
			rc = -EPROTO;
			break;
		}
		p.keys.ik_len = ik;
		p.keys.ck_len = ck;
		memcpy(p.keys.ik_esp, sqlite3_column_blob(q, 14), ik);
		if (ck)
			memcpy(p.keys.ck_esp, sqlite3_column_blob(q, 15), ck);
		for (int i = 0; i < 4; i++)
			p.seq_start[i] = (uint32_t)sqlite3_column_int64(q, 16 + i);
		sa = pcscf_sa_alloc(r, (enum pcscf_sa_state)sqlite3_column_int(q, 2));
		if (!sa) {
			rc = -ENOMEM;
			break;
		}
		sa->expires_ms = (uint64_t)sqlite3_column_int64(q, 3);
		if (slot < 0 || slot > 2 || sa->state >= PCSCF_SA_REMOVED ||
		    ipsec_sa_set_build(&sa->set, IPSEC_SIDE_PCSCF, &p) != 0) {
			free(sa);
			rc = -EPROTO;
			break;
		}
		OPENSSL_cleanse(&p, sizeof(p));
		if (slot == 0)
			r->temp = sa;
		else if (slot == 1)
			r->est = sa;
		else
			r->old = sa;
	}
	if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = fail(s, "saset");
	sqlite3_reset(q);
	return rc;
}

/* One flow row into a new flow (no sets yet). */
static int flow_from_row(sqlite3_stmt *q, struct pcscf_regs *rs, struct pcscf_reg **out)
{
	struct pcscf_reg *r = pcscf_reg_alloc(rs);
	int rc;

	if (!r)
		return -ENOMEM;
	r->id = (uint64_t)sqlite3_column_int64(q, 0);
	r->state = (enum pcscf_reg_state)sqlite3_column_int(q, 1);
	str_copy(r->impi, sizeof(r->impi), str_from_cstr((const char *)sqlite3_column_text(q, 2)));
	rc = col_addr(q, 3, &r->key.ue);
	if (!rc)
		rc = col_addr(q, 4, &r->local);
	r->key.port_uc = (uint16_t)sqlite3_column_int(q, 5);
	r->key.port_us = (uint16_t)sqlite3_column_int(q, 6);
	for (int col = 7; col <= 12 && !rc; col++) {
		char **fields[] = { &r->impu, &r->contact, &r->call_id, &r->client_canon,
				    &r->server_canon, &r->impus };

		rc = col_text(q, col, fields[col - 7]);
	}
	r->chosen.alg = (enum esp_auth_alg)sqlite3_column_int(q, 13);
	r->chosen.ealg = (enum esp_enc_alg)sqlite3_column_int(q, 14);
	r->chosen.sp.spi_c = (uint32_t)sqlite3_column_int64(q, 15);
	r->chosen.sp.spi_s = (uint32_t)sqlite3_column_int64(q, 16);
	r->chosen.sp.port_c = (uint16_t)sqlite3_column_int(q, 17);
	r->chosen.sp.port_s = (uint16_t)sqlite3_column_int(q, 18);
	r->chosen.q = IPSEC_Q_NONE;
	r->expires_s = (uint32_t)sqlite3_column_int64(q, 19);
	r->registered_ms = (uint64_t)sqlite3_column_int64(q, 20);
	if (!rc && (r->state >= PCSCF_REG_GONE || !r->impi[0]))
		rc = -EPROTO;
	if (rc) {
		pcscf_reg_free_unrestored(r);
		return rc;
	}
	*out = r;
	return 0;
}

int pcscf_store_load(struct pcscf_store *s, struct pcscf_regs *rs,
		     int (*fn)(void *arg, struct pcscf_reg *r), void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_FLOW_ALL);
	struct pcscf_reg **flows = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0, step;

	/* All rows first: fn installs sets and may write to the store. */
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct pcscf_reg *r = NULL;
		int one;

		if (n == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct pcscf_reg **v = realloc(flows, c * sizeof(*v));

			if (!v) {
				rc = -ENOMEM;
				break;
			}
			flows = v;
			cap = c;
		}
		one = flow_from_row(q, rs, &r);
		if (one == -ENOMEM) {
			rc = one;
			break;
		}
		if (one) {
			log_warn("pcscf.db: flow %" PRId64 " cannot be read back: skipped",
				 (int64_t)sqlite3_column_int64(q, 0));
			continue;
		}
		flows[n++] = r;
	}
	if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = fail(s, "flow");
	sqlite3_reset(q);
	for (i = 0; i < n && !rc; i++) {
		struct pcscf_reg *r = flows[i];

		flows[i] = NULL;
		rc = load_sets(s, r);
		if (rc && rc != -ENOMEM) {
			log_warn("pcscf.db: the sets of flow %" PRIu64 " cannot be read back (%s): "
				 "flow dropped", r->id, strerror(-rc));
			pcscf_store_delete(s, r->id);
			pcscf_reg_free_unrestored(r);
			rc = 0;
			continue;
		}
		if (rc) {
			pcscf_reg_free_unrestored(r);
			break;
		}
		rc = fn(arg, r);
	}
	for (i = 0; i < n; i++)
		if (flows[i])
			pcscf_reg_free_unrestored(flows[i]);
	free(flows);
	return rc;
}
