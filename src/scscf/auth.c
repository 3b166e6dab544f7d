/*
 * auth.c - pending authentications: the vector behind each challenge, the
 * reg-await-auth timer (TS 24.229 5.4.1.2.1), and their keys.
 *
 * A challenge is found again by its nonce, which the UE echoes (RFC 2617
 * 3.2.2) and which is unique (it carries RAND). It is also indexed by
 * (IMPI, Call-ID): a new initial REGISTER on the same Call-ID (the same
 * access restarting, 24.229 5.1.1.2.1) replaces the challenge, while a
 * second access of the same IMPI, on its own Call-ID, gets a challenge of
 * its own and never touches the first one's.
 */
#define SLOG_COMPONENT "scscf"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "aka/digest.h"
#include "core/log.h"
#include "scscf/scscf.h"
#include "scscf/store.h"

struct scscf_auth *scscf_auth_by_nonce(struct scscf *s, struct str nonce)
{
	struct ht_node *n = ht_find_str(&s->auths, nonce);

	return n ? ht_entry(n, struct scscf_auth, by_nonce) : NULL;
}

static struct scscf_auth *by_access(struct scscf *s, struct str key)
{
	struct ht_node *n = ht_find_str(&s->auth_access, key);

	return n ? ht_entry(n, struct scscf_auth, by_access) : NULL;
}

void scscf_auth_free(struct scscf *s, struct scscf_auth *a, const char *why)
{
	if (why) {
		scscf_trace(s, "auth %" PRIu64 " %.*s: dropped, %s", a->id, STR_FMT(a->impi), why);
		if (a->persisted && s->store && scscf_store_auth_delete(s->store, a->id) < 0)
			log_error("pending authentication %" PRIu64 " not deleted from the store",
				  a->id);
	}
	loop_timer_cancel(s->loop, &a->timer);
	ht_remove(&s->auths, &a->by_nonce);
	ht_remove(&s->auth_access, &a->by_access);
	arena_destroy(&a->arena);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

void scscf_auth_free_all(struct scscf *s)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;

	while ((n = ht_iter_next(&s->auths, &it)))
		scscf_auth_free(s, ht_entry(n, struct scscf_auth, by_nonce), NULL);
}

/*
 * reg-await-auth ran out (24.229 5.4.1.2.1): the authentication failed. A
 * user that is still registered by another binding stays so; otherwise
 * the HSS hears AUTHENTICATION_TIMEOUT, which undoes what the MAR set up.
 */
static void await_auth_expired(struct loop *loop, struct loop_timer *t)
{
	struct scscf_auth *a = t->ctx;
	struct scscf *s = a->s;

	log_info("reg-await-auth expired for %.*s (%.*s), Call-ID %.*s", STR_FMT(a->impi),
		 STR_FMT(a->impu), STR_FMT(a->call_id));
	s->stats.auth_failures++;
	if (!scscf_impi_registered(s, a->impu, a->impi, NULL))
		scscf_sar_background(s, a->impi, a->impu, CX_SAT_AUTHENTICATION_TIMEOUT);
	scscf_auth_free(s, a, "reg-await-auth expired");
}

static int auth_link(struct scscf *s, struct scscf_auth *a)
{
	struct scscf_auth *old;
	uint64_t now = scscf_now_ms(s);
	int err;

	a->s = s;
	a->access_key = str_from_cstr(arena_printf(&a->arena, "%.*s\n%.*s", STR_FMT(a->impi),
						   STR_FMT(a->call_id)));
	if (!a->access_key.s)
		return -ENOMEM;
	old = by_access(s, a->access_key);
	if (old)
		scscf_auth_free(s, old, "a new challenge on the same Call-ID");
	err = ht_insert_str(&s->auths, &a->by_nonce, str_from_cstr(a->nonce));
	if (!err)
		err = ht_insert_str(&s->auth_access, &a->by_access, a->access_key);
	if (err) {
		ht_remove(&s->auths, &a->by_nonce);
		return err;
	}
	loop_timer_init(&a->timer, await_auth_expired, a);
	loop_timer_arm(s->loop, &a->timer, a->expires_ms > now ? a->expires_ms - now : 0);
	return 0;
}

int scscf_auth_create(struct scscf *s, struct str impi, struct str impu, struct str call_id,
		      const struct scscf_maa *v, struct scscf_auth **out)
{
	struct scscf_auth *a = calloc(1, sizeof(*a));
	int err = -ENOMEM;

	if (!a)
		return -ENOMEM;
	arena_init(&a->arena, 512, ARENA_WIPE);
	a->id = scscf_new_id(s);
	a->impi = arena_str(&a->arena, impi);
	a->impu = arena_str(&a->arena, impu);
	a->call_id = arena_str(&a->arena, call_id);
	if (!a->impi.s || !a->impu.s || !a->call_id.s)
		goto fail;
	memcpy(a->rand, v->rand, sizeof(a->rand));
	memcpy(a->autn, v->autn, sizeof(a->autn));
	memcpy(a->xres, v->xres, v->xres_len);
	a->xres_len = v->xres_len;
	memcpy(a->ck, v->ck, sizeof(a->ck));
	memcpy(a->ik, v->ik, sizeof(a->ik));
	/* RFC 3310 3.2: nonce = base64(RAND || AUTN), no server data. */
	err = akav1_nonce_encode(a->rand, a->autn, NULL, 0, a->nonce, sizeof(a->nonce));
	if (err < 0)
		goto fail;
	a->expires_ms = scscf_now_ms(s) + s->cfg.reg_await_auth_ms;
	err = auth_link(s, a);
	if (err)
		goto fail;
	if (s->store && !loop_timer_armed(&s->auth_checkpoint))
		loop_timer_arm(s->loop, &s->auth_checkpoint, SCSCF_AUTH_CHECKPOINT_MS);
	scscf_trace(s, "auth %" PRIu64 " %.*s: challenged on Call-ID %.*s", a->id,
		    STR_FMT(a->impi), STR_FMT(a->call_id));
	*out = a;
	return 0;
fail:
	arena_destroy(&a->arena);
	explicit_bzero(a, sizeof(*a));
	free(a);
	return err;
}

void scscf_auth_checkpoint(struct scscf *s)
{
	struct ht_iter it = { 0 };
	struct ht_node *n;

	loop_timer_cancel(s->loop, &s->auth_checkpoint);
	if (!s->store)
		return;
	while ((n = ht_iter_next(&s->auths, &it))) {
		struct scscf_auth *a = ht_entry(n, struct scscf_auth, by_nonce);

		if (a->persisted)
			continue;
		if (scscf_store_auth_put(s->store, a) < 0)
			log_error("pending authentication of %.*s not written to the store",
				  STR_FMT(a->impi));
		else
			a->persisted = true;
	}
}

int scscf_auth_restore(struct scscf *s, struct scscf_auth *a)
{
	int err;

	a->persisted = true;
	err = auth_link(s, a);

	if (err)
		scscf_auth_free(s, a, NULL);
	return err;
}
