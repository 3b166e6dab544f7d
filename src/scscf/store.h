/*
 * store.h - the S-CSCF's own state on disk: bindings, reg-event
 * subscriptions and pending authentications in SQLite (DATA/scscf.db),
 * so that a restarted S-CSCF still knows every registration and serves it.
 *
 * Writes go through as they happen, WAL with synchronous=NORMAL: a killed
 * process loses nothing that was committed; a power cut may lose the last
 * moments, which the UEs repair by re-registering. The HSS is where
 * durability is strict (SQNs), not here. On an event loop
 * (scscf_store_batch()) the changes one wake-up of the loop makes share a
 * transaction, committed as soon as that work is done.
 *
 * Every SQL statement lives in one table in store.c, prepared at open; the
 * schema is built by migrations counted in PRAGMA user_version, as
 * lib/store does it.
 *
 * A store is used from the event loop thread only. Functions return 0 or
 * a negative errno (-EIO for an SQLite failure, logged without values).
 */
#ifndef SIMREG_SCSCF_STORE_H
#define SIMREG_SCSCF_STORE_H

#include <stdint.h>

struct scscf;
struct scscf_binding;
struct scscf_auth;
struct scscf_sub;
struct scscf_store;

/*
 * Open (creating it if needed) the database at path; ":memory:" for a
 * private in-memory one. Returns 0, -EPROTO for a database written by a
 * newer simreg, -EIO.
 */
int scscf_store_open(const char *path, struct scscf_store **out);
/* Commit what is pending, and close. NULL is a no-op. */
void scscf_store_close(struct scscf_store *st);

/*
 * Batch the changes made during one loop iteration into one transaction
 * (committed by a zero-delay timer on `loop`). Without it every change is
 * its own transaction.
 */
struct loop;
void scscf_store_batch(struct scscf_store *st, struct loop *loop);

int scscf_store_binding_put(struct scscf_store *st, const struct scscf_binding *b);
int scscf_store_binding_delete(struct scscf_store *st, uint64_t id);
int scscf_store_auth_put(struct scscf_store *st, const struct scscf_auth *a);
int scscf_store_auth_delete(struct scscf_store *st, uint64_t id);
int scscf_store_sub_put(struct scscf_store *st, const struct scscf_sub *sub);
int scscf_store_sub_delete(struct scscf_store *st, uint64_t id);

/*
 * Rebuild the context's state from the database: every binding,
 * subscription and pending authentication, with their timers (what is
 * already due fires at once, so an expiry that happened while the S-CSCF
 * was down is handled as an expiry). s->next_id moves past every stored
 * id. Rows that no longer make sense (a binding whose strings do not
 * parse) are logged and dropped. *n_bindings (may be NULL) gets the count.
 */
int scscf_store_load(struct scscf_store *st, struct scscf *s, unsigned *n_bindings);

#endif
