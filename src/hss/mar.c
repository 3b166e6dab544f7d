/*
 * mar.c - Multimedia-Auth-Request (TS 29.228 section 6.3): authentication
 * vectors for IMS AKA, and resynchronisation.
 *
 * A derived IMPI (modified-impi) is authenticated exactly like its
 * subscription's own IMPI: same K, same OPc, same single SQN counter (one
 * USIM, one SQN_HE; DESIGN.md section 2).
 */
#define SLOG_COMPONENT "hss"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "aka/milenage.h"
#include "aka/sqn.h"
#include "core/log.h"
#include "diameter/dmsg.h"
#include "hss/hss.h"

/* SIP-Authorization of a resync MAR: RAND (16) || AUTS (14), 29.229 6.3.11. */
#define RESYNC_LEN (AKA_RAND_LEN + AKA_AUTS_LEN)

struct mar_in {
	struct str user_name, public_identity, server_name, scheme, authorization;
	bool has_authorization;
	uint32_t items;
};

static int decode(struct hss *h, struct hss_req *r, struct mar_in *in)
{
	const struct cx_dict *d = &h->dict;
	struct avp *item;

	memset(in, 0, sizeof(*in));
	if (dmsg_get_str(r->msg, d->base[CX_BASE_USER_NAME], &in->user_name) ||
	    dmsg_get_str(r->msg, d->avp[CX_AVP_PUBLIC_IDENTITY], &in->public_identity) ||
	    dmsg_get_str(r->msg, d->avp[CX_AVP_SERVER_NAME], &in->server_name) ||
	    dmsg_get_u32(r->msg, d->avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], &in->items) ||
	    dmsg_find(r->msg, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM], NULL, &item)) {
		hss_missing(r, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM]);
		return 1;
	}
	dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHENTICATION_SCHEME], &in->scheme);
	in->has_authorization =
		dmsg_get_str(item, d->avp[CX_AVP_SIP_AUTHORIZATION], &in->authorization) == 0;
	if (in->has_authorization && in->authorization.len != RESYNC_LEN) {
		/* Inside SIP-Auth-Data-Item: name the AVP, value as received. */
		hss_result(r, DIA_INVALID_AVP_VALUE);
		r->failed_avp = d->avp[CX_AVP_SIP_AUTHORIZATION];
		dmsg_find(item, d->avp[CX_AVP_SIP_AUTHORIZATION], NULL, &r->failed_value);
		return 1;
	}
	return 0;
}

/*
 * The scheme asked for must be the subscription's; "Unknown" (or none)
 * lets the HSS choose (29.229 section 6.3.9).
 */
static bool scheme_ok(struct str asked, const struct store_subscription *sub)
{
	enum store_auth_scheme s;

	if (asked.len == 0 || str_eq_cstr(asked, "Unknown"))
		return true;
	return store_auth_scheme_parse(asked, &s) == 0 && s == sub->auth_scheme;
}

/*
 * Synchronisation failure (TS 33.102 section 6.3.5). AUTS is checked with
 * MAC-S first; a forged or stale one changes nothing. A valid one moves
 * SQN_HE up to SQN_MS when the USIM is ahead, so the next vector is fresh
 * for it. SQN_HE never moves back (unless it is so far ahead that the USIM
 * would refuse it for wrap-around, Annex C.2.2): the HSS never issues an
 * SQN twice, even across resynchronisations.
 */
static int resync(struct hss *h, struct milenage *m, const struct mar_in *in,
		  const struct str impi, uint64_t *last)
{
	unsigned bits = (unsigned)h->cfg.sqn_ind_bits;
	const uint8_t *rand = (const uint8_t *)in->authorization.s;
	uint64_t sqn_ms, seq_he, seq_ms;
	int err;

	err = aka_resync(m, rand, rand + AKA_RAND_LEN, &sqn_ms);
	if (err == -EBADMSG) {
		log_warn("MAR resync for %.*s: MAC-S does not verify; SQN_HE kept",
			 STR_FMT(impi));
		return 0;
	}
	if (err)
		return err;
	seq_he = sqn_seq(*last, bits);
	seq_ms = sqn_seq(sqn_ms, bits);
	if (seq_ms < seq_he && seq_he - seq_ms < SQN_DELTA_DEFAULT) {
		log_info("MAR resync for %.*s: SQN_HE %012" PRIx64 " already ahead of SQN_MS"
			 " %012" PRIx64,
			 STR_FMT(impi), *last, sqn_ms);
		return 0;
	}
	log_info("MAR resync for %.*s: SQN_HE %012" PRIx64 " -> SQN_MS %012" PRIx64,
		 STR_FMT(impi), *last, sqn_ms);
	return sqn_he_resync(sqn_ms, last);
}

/* The MAR names the S-CSCF that authenticates: remember it (29.228 8.1). */
static int note_scscf(struct hss *h, struct hss_req *r, const struct store_subscription *sub,
		      struct str server_name)
{
	struct store_impu *impus;
	bool registered = false;
	size_t n;
	int err = store_impu_list(h->store, sub->id, &r->arena, &impus, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		registered |= impus[i].state == STORE_REGISTERED;
	if (str_eq(sub->scscf_name, server_name) && sub->auth_pending == !registered)
		return 0;
	return store_scscf_set(h->store, sub->id, server_name, !registered);
}

static int act(struct hss *h, struct hss_req *r, const struct mar_in *in,
	       const struct store_subscription *sub)
{
	struct milenage m;
	uint64_t last = sub->sqn;
	size_t n = in->items;
	int err;

	if (n == 0)
		n = 1;
	if (n > (size_t)h->cfg.max_vectors)
		n = (size_t)h->cfg.max_vectors;
	r->vectors = arena_alloc(&r->arena, n * sizeof(*r->vectors));
	if (!r->vectors)
		return -ENOMEM;
	err = milenage_init(&m, sub->k, sub->op, sub->op_is_opc ? MILENAGE_OPC : MILENAGE_OP);
	if (err)
		return err;
	if (in->has_authorization)
		err = resync(h, &m, in, in->user_name, &last);
	if (!err)
		err = aka_vectors_generate(&m, sub->amf, (unsigned)h->cfg.sqn_ind_bits, &last,
					   &h->rand, r->vectors, n);
	milenage_free(&m);
	if (err == -EOVERFLOW) {
		/* SEQ exhausted: this K must be replaced (Annex C.3.2). */
		log_error("SQN of %.*s exhausted; the subscription needs a new K",
			  STR_FMT(in->user_name));
		hss_result(r, DIA_UNABLE_TO_COMPLY);
		return 0;
	}
	if (err)
		return err;
	r->n_vectors = n;
	/* The caller commits this before the answer leaves. */
	err = store_sqn_swap(h->store, sub->id, sub->sqn, last);
	if (!err && !in->has_authorization)
		err = note_scscf(h, r, sub, in->server_name);
	return err;
}

int hss_mar_process(struct hss *h, struct hss_req *r)
{
	struct store_subscription sub;
	struct store_impu impu;
	struct mar_in in;
	int err;

	memset(&sub, 0, sizeof(sub));
	if (decode(h, r, &in))
		return 0;
	err = hss_find_impi(h, r, in.user_name, NULL, &sub);
	if (!err)
		err = hss_find_impu(h, r, in.public_identity, &impu);
	if (err)
		goto out;
	if (impu.subscription_id != sub.id) {
		hss_experimental(r, CX_EXP_ERROR_IDENTITIES_DONT_MATCH);
		goto out;
	}
	if (!scheme_ok(in.scheme, &sub)) {
		hss_experimental(r, CX_EXP_ERROR_AUTH_SCHEME_NOT_SUPPORTED);
		goto out;
	}
	hss_result(r, DIA_SUCCESS);
	err = act(h, r, &in, &sub);
	if (!err && r->result == DIA_SUCCESS) {
		r->user_name = in.user_name;
		r->public_identity = in.public_identity;
		r->scheme = str_from_cstr(store_auth_scheme_name(sub.auth_scheme));
	}
out:
	explicit_bzero(&sub, sizeof(sub));
	return err < 0 ? err : 0;
}

int hss_mar_encode(struct hss *h, struct hss_req *r, struct msg *ans)
{
	const struct cx_dict *d = &h->dict;
	int err = dmsg_add_u32(ans, d->avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], (uint32_t)r->n_vectors);

	for (size_t i = 0; !err && i < r->n_vectors; i++) {
		const struct aka_vector *v = &r->vectors[i];
		uint8_t authenticate[AKA_RAND_LEN + AKA_AUTN_LEN];
		struct avp *item;

		/* SIP-Authenticate = RAND || AUTN, SIP-Authorization = XRES
		 * (29.229 sections 6.3.10 and 6.3.11). */
		memcpy(authenticate, v->rand, AKA_RAND_LEN);
		memcpy(authenticate + AKA_RAND_LEN, v->autn, AKA_AUTN_LEN);
		err = dmsg_add_group(ans, d->avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item);
		if (!err)
			err = dmsg_add_u32(item, d->avp[CX_AVP_SIP_ITEM_NUMBER], (uint32_t)i + 1);
		if (!err)
			err = dmsg_add_str(item, d->avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
					   r->scheme);
		if (!err)
			err = dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHENTICATE], authenticate,
					      sizeof(authenticate));
		if (!err)
			err = dmsg_add_octets(item, d->avp[CX_AVP_SIP_AUTHORIZATION], v->xres,
					      sizeof(v->xres));
		if (!err)
			err = dmsg_add_octets(item, d->avp[CX_AVP_CONFIDENTIALITY_KEY], v->ck,
					      sizeof(v->ck));
		if (!err)
			err = dmsg_add_octets(item, d->avp[CX_AVP_INTEGRITY_KEY], v->ik,
					      sizeof(v->ik));
	}
	return err;
}
