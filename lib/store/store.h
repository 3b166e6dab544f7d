/*
 * store.h - the HSS subscriber store: interface and data model.
 *
 * The HSS and the provisioning commands see subscriber data only through
 * this header. A backend (SQLite today, see store_sqlite.c; PostgreSQL
 * later) fills a struct store_ops; everything below dispatches through it,
 * so adding a backend never touches HSS logic.
 *
 * Data model (docs/hss.md has the long version):
 *
 *   subscription  one USIM: K, OP or OPc, AMF, the single SQN counter
 *                 (SQN_HE), the authentication scheme, the serving S-CSCF,
 *                 the derived-IMPI rule and the registration limit.
 *   impi          every private identity that authenticates on a
 *                 subscription: its own (derived == 0) and the derived ones
 *                 (modified-impi, DESIGN.md section 2), which share its K
 *                 and its SQN; a derived IMPI is never a subscriber of its
 *                 own.
 *   impu          public identities, grouped in implicit registration sets
 *                 (irs 1, 2, ...); the first IMPU of a set is its default,
 *                 the first of set 1 the subscription's default. Each has a
 *                 barring flag and a registration state.
 *   registration  per registered IMPI and implicit set, the registrations
 *                 the S-CSCF reported (one per contact when the SAR carries
 *                 restoration information), so several simultaneous ones are
 *                 known.
 *
 * Conventions: functions return 0 or a negative errno; -ENOENT when a row
 * does not exist, -EEXIST when a unique identity is already taken, -EINVAL
 * for values the model forbids, -EAGAIN when a compare-and-set lost a race,
 * -EIO for a backend failure (logged by the backend, without key material).
 * Strings handed in are slices and are copied; strings handed out live in
 * the caller's arena. Records holding K or OP are meant for ARENA_WIPE
 * arenas.
 *
 * A store is used by one thread at a time (the HSS uses it from its event
 * loop only).
 */
#ifndef SIMREG_STORE_STORE_H
#define SIMREG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"

#define STORE_KEY_LEN 16
#define STORE_AMF_LEN 2
/* Longest IMPI, IMPU, S-CSCF name or contact accepted, in bytes. */
#define STORE_IDENTITY_MAX 255
/* The SQN is 48 bits (TS 33.102 section 6.3.2). */
#define STORE_SQN_MAX ((UINT64_C(1) << 48) - 1)
/* At most this many derived IMPIs per subscription (keeps rules honest). */
#define STORE_DERIVED_MAX 32
/* At most this many IMPUs per subscription. */
#define STORE_IMPU_MAX 64

/* Authentication schemes a subscription may use (SIP-Authentication-Scheme). */
#define STORE_AUTH_SCHEMES(X) X(AKAV1_MD5, "Digest-AKAv1-MD5")

enum store_auth_scheme {
#define X(id, name) STORE_AUTH_##id,
	STORE_AUTH_SCHEMES(X)
#undef X
		STORE_AUTH__COUNT
};

/*
 * Registration state of a public identity (TS 29.228 section 6.1.2 and
 * Sh User-State): registered; unregistered (an S-CSCF holds the profile for
 * unregistered services, or kept its name after a deregistration); not
 * registered.
 */
#define STORE_REG_STATES(X)                    \
	X(NOT_REGISTERED, "not-registered")    \
	X(REGISTERED, "registered")            \
	X(UNREGISTERED, "unregistered")

enum store_reg_state {
#define X(id, name) STORE_##id,
	STORE_REG_STATES(X)
#undef X
		STORE_REG__COUNT
};

const char *store_auth_scheme_name(enum store_auth_scheme s);
/* Case-sensitive match of a SIP-Authentication-Scheme value; -EINVAL if none. */
int store_auth_scheme_parse(struct str name, enum store_auth_scheme *out);
const char *store_reg_state_name(enum store_reg_state s);

struct store_subscription {
	int64_t id;
	struct str impi;                 /* the subscription's own IMPI */
	uint8_t k[STORE_KEY_LEN];
	uint8_t op[STORE_KEY_LEN];       /* OPc when op_is_opc, else OP */
	bool op_is_opc;
	uint8_t amf[STORE_AMF_LEN];
	uint64_t sqn;                    /* SQN_HE: the last SQN issued */
	enum store_auth_scheme auth_scheme;
	struct str derived_rule;         /* empty: no derived IMPIs */
	uint32_t max_registrations;      /* IMPIs registered at once; 0: no limit */
	bool roaming_allowed;
	struct str scscf_name;           /* empty: no S-CSCF assigned */
	bool auth_pending;               /* MAR seen, no SAR(REGISTRATION) yet */
};

struct store_impi {
	int64_t id;
	int64_t subscription_id;
	struct str name;
	uint32_t derived;                /* 0: the subscription's own IMPI */
};

struct store_impu {
	int64_t id;
	int64_t subscription_id;
	struct str uri;
	uint32_t irs;                    /* implicit registration set, from 1 */
	uint32_t position;               /* order inside the set; 0 is its default */
	bool barred;
	bool unreg_services;             /* has services while not registered */
	enum store_reg_state state;
};

struct store_registration {
	int64_t id;
	int64_t impi_id;
	struct str impi;
	uint32_t irs;
	struct str contact;              /* empty when the S-CSCF gave none */
	struct str scscf_name;
	int64_t registered_at;           /* seconds since the epoch */
	int64_t refreshed_at;
};

/* What provisioning creates or replaces. */
struct store_impu_spec {
	struct str uri;
	uint32_t irs;
	bool barred;
	bool unreg_services;
};

struct store_subscription_spec {
	struct str impi;
	uint8_t k[STORE_KEY_LEN];
	uint8_t op[STORE_KEY_LEN];
	bool op_is_opc;
	uint8_t amf[STORE_AMF_LEN];
	uint64_t sqn;
	enum store_auth_scheme auth_scheme;
	struct str derived_rule;
	const struct str *derived;       /* expansion of derived_rule */
	size_t n_derived;
	uint32_t max_registrations;
	bool roaming_allowed;
	const struct store_impu_spec *impus;
	size_t n_impus;
};

/* Fields `subscriber set` may change; a flag says which are present. */
enum store_update_field {
	STORE_UPD_K = 1 << 0,
	STORE_UPD_OP = 1 << 1,           /* op + op_is_opc */
	STORE_UPD_AMF = 1 << 2,
	STORE_UPD_SQN = 1 << 3,
	STORE_UPD_MAX_REG = 1 << 4,
	STORE_UPD_ROAMING = 1 << 5,
	STORE_UPD_SCHEME = 1 << 6,
};

struct store;

/*
 * Iteration callbacks return 0 to continue, a positive value to stop early
 * (the iterating function then returns that value), or a negative errno to
 * abort (returned as is).
 */
typedef int (*store_sub_cb)(void *ctx, const struct store_subscription *sub);

struct store_ops {
	const char *name;
	void (*close)(struct store *st);

	/* Write transactions; begin takes the write lock at once. */
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);

	/* Provisioning (call inside a transaction). */
	int (*sub_insert)(struct store *st, const struct store_subscription_spec *spec,
			  int64_t *id);
	int (*sub_update)(struct store *st, int64_t id, unsigned fields,
			  const struct store_subscription_spec *spec);
	int (*sub_set_derived)(struct store *st, int64_t id, struct str rule,
			       const struct str *derived, size_t n);
	int (*sub_set_impus)(struct store *st, int64_t id, const struct store_impu_spec *impus,
			     size_t n);
	int (*sub_delete)(struct store *st, int64_t id);
	int (*impu_set_flags)(struct store *st, int64_t impu_id, bool barred, bool unreg_services);

	/* Queries. */
	int (*impi_lookup)(struct store *st, struct str impi, struct arena *a,
			   struct store_impi *impi_out, struct store_subscription *sub_out);
	int (*sub_get)(struct store *st, int64_t id, struct arena *a,
		       struct store_subscription *out);
	int (*sub_foreach)(struct store *st, struct arena *scratch, store_sub_cb cb, void *ctx);
	int (*sub_count)(struct store *st, uint64_t *out);
	int (*impu_lookup)(struct store *st, struct str uri, struct arena *a,
			   struct store_impu *out);
	int (*impu_list)(struct store *st, int64_t sub_id, struct arena *a,
			 struct store_impu **out, size_t *n);
	int (*impi_list)(struct store *st, int64_t sub_id, struct arena *a,
			 struct store_impi **out, size_t *n);
	int (*reg_list)(struct store *st, int64_t sub_id, struct arena *a,
			struct store_registration **out, size_t *n);

	/* HSS state changes (call inside a transaction). */
	int (*sqn_swap)(struct store *st, int64_t sub_id, uint64_t expected, uint64_t sqn);
	int (*scscf_set)(struct store *st, int64_t sub_id, struct str name, bool auth_pending);
	int (*irs_set_state)(struct store *st, int64_t sub_id, uint32_t irs,
			     enum store_reg_state state);
	int (*reg_upsert)(struct store *st, int64_t impi_id, uint32_t irs, struct str contact,
			  struct str scscf_name, int64_t now);
	int (*reg_delete)(struct store *st, int64_t impi_id, uint32_t irs);
	int (*reg_delete_all)(struct store *st, int64_t sub_id);
};

struct store {
	const struct store_ops *ops;
};

/*
 * Open a store. `location` is "sqlite:PATH" or a plain PATH (SQLite). The
 * database is created when missing and its schema upgraded to the current
 * version. Returns 0, -EINVAL for an unknown backend, -EIO when the
 * database cannot be opened or upgraded, -EPROTO when it was written by a
 * newer simreg (its schema version is higher than ours).
 */
int store_open(const char *location, struct store **out);

/* Close and free; NULL is allowed. */
static inline void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

/*
 * Run fn(st, ctx) inside one write transaction: committed when it returns
 * 0, rolled back otherwise (so nothing is half-written). Returns fn's
 * result, or the error of begin/commit.
 */
int store_transaction(struct store *st, int (*fn)(struct store *st, void *ctx), void *ctx);

static inline int store_begin(struct store *st)
{
	return st->ops->begin(st);
}

static inline int store_commit(struct store *st)
{
	return st->ops->commit(st);
}

static inline void store_rollback(struct store *st)
{
	st->ops->rollback(st);
}

/*
 * Insert a subscription with its IMPIs and IMPUs. -EEXIST when one of its
 * identities is taken (the caller looks them up to say which); nothing is
 * written then. After any other error the transaction must be rolled back.
 */
static inline int store_sub_insert(struct store *st, const struct store_subscription_spec *spec,
				   int64_t *id)
{
	return st->ops->sub_insert(st, spec, id);
}

static inline int store_sub_update(struct store *st, int64_t id, unsigned fields,
				   const struct store_subscription_spec *spec)
{
	return st->ops->sub_update(st, id, fields, spec);
}

/* Replace the derived IMPIs (and the rule text) of a subscription. */
static inline int store_sub_set_derived(struct store *st, int64_t id, struct str rule,
					const struct str *derived, size_t n)
{
	return st->ops->sub_set_derived(st, id, rule, derived, n);
}

/* Replace the IMPUs of a subscription; registration state starts over. */
static inline int store_sub_set_impus(struct store *st, int64_t id,
				      const struct store_impu_spec *impus, size_t n)
{
	return st->ops->sub_set_impus(st, id, impus, n);
}

/* Delete a subscription with its IMPIs, IMPUs and registrations. */
static inline int store_sub_delete(struct store *st, int64_t id)
{
	return st->ops->sub_delete(st, id);
}

/* Change an IMPU's barring and unregistered-services flags in place. */
static inline int store_impu_set_flags(struct store *st, int64_t impu_id, bool barred,
				       bool unreg_services)
{
	return st->ops->impu_set_flags(st, impu_id, barred, unreg_services);
}

/*
 * Find an IMPI (own or derived) and the subscription it authenticates on.
 * Either output may be NULL. -ENOENT when unknown.
 */
static inline int store_impi_lookup(struct store *st, struct str impi, struct arena *a,
				    struct store_impi *impi_out,
				    struct store_subscription *sub_out)
{
	return st->ops->impi_lookup(st, impi, a, impi_out, sub_out);
}

static inline int store_sub_get(struct store *st, int64_t id, struct arena *a,
				struct store_subscription *out)
{
	return st->ops->sub_get(st, id, a, out);
}

/* Every subscription in IMPI order; `scratch` is reset between rows. */
static inline int store_sub_foreach(struct store *st, struct arena *scratch, store_sub_cb cb,
				    void *ctx)
{
	return st->ops->sub_foreach(st, scratch, cb, ctx);
}

static inline int store_sub_count(struct store *st, uint64_t *out)
{
	return st->ops->sub_count(st, out);
}

static inline int store_impu_lookup(struct store *st, struct str uri, struct arena *a,
				    struct store_impu *out)
{
	return st->ops->impu_lookup(st, uri, a, out);
}

/* IMPUs of a subscription ordered by (irs, position); *out in the arena. */
static inline int store_impu_list(struct store *st, int64_t sub_id, struct arena *a,
				  struct store_impu **out, size_t *n)
{
	return st->ops->impu_list(st, sub_id, a, out, n);
}

/* IMPIs of a subscription, its own first, then derived in order. */
static inline int store_impi_list(struct store *st, int64_t sub_id, struct arena *a,
				  struct store_impi **out, size_t *n)
{
	return st->ops->impi_list(st, sub_id, a, out, n);
}

/* Registrations of every IMPI of a subscription, by IMPI, set, contact. */
static inline int store_reg_list(struct store *st, int64_t sub_id, struct arena *a,
				 struct store_registration **out, size_t *n)
{
	return st->ops->reg_list(st, sub_id, a, out, n);
}

/*
 * Compare-and-set SQN_HE: becomes `sqn` only if it is still `expected`.
 * -EAGAIN if someone changed it in between (e.g. `simreg ctl subscriber
 * set --sqn` while the HSS runs), -ENOENT if the subscription is gone.
 */
static inline int store_sqn_swap(struct store *st, int64_t sub_id, uint64_t expected,
				 uint64_t sqn)
{
	return st->ops->sqn_swap(st, sub_id, expected, sqn);
}

/* Set (or clear, with an empty name) the serving S-CSCF. */
static inline int store_scscf_set(struct store *st, int64_t sub_id, struct str name,
				  bool auth_pending)
{
	return st->ops->scscf_set(st, sub_id, name, auth_pending);
}

static inline int store_irs_set_state(struct store *st, int64_t sub_id, uint32_t irs,
				      enum store_reg_state state)
{
	return st->ops->irs_set_state(st, sub_id, irs, state);
}

/* Record (or refresh) a registration of (IMPI, set, contact). */
static inline int store_reg_upsert(struct store *st, int64_t impi_id, uint32_t irs,
				   struct str contact, struct str scscf_name, int64_t now)
{
	return st->ops->reg_upsert(st, impi_id, irs, contact, scscf_name, now);
}

/* Forget every registration of an IMPI for a set (all its contacts). */
static inline int store_reg_delete(struct store *st, int64_t impi_id, uint32_t irs)
{
	return st->ops->reg_delete(st, impi_id, irs);
}

static inline int store_reg_delete_all(struct store *st, int64_t sub_id)
{
	return st->ops->reg_delete_all(st, sub_id);
}

/* The SQLite backend (store_sqlite.c). */
int store_sqlite_open(const char *path, struct store **out);

#endif
