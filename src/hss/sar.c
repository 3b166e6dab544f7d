/*
 * sar.c - Server-Assignment-Request (TS 29.228 section 6.1.2): the S-CSCF
 * tells the HSS what it did with a registration and fetches the profile.
 *
 * State kept (docs/hss.md, "Registration state"):
 *   - per implicit registration set: registered / unregistered / not
 *     registered (every IMPU of the set shares it, 29.228 section 6.5);
 *   - per registered IMPI and set, the registrations, one per contact when
 *     the SAR carries SCSCF-Restoration-Info, so simultaneous registrations
 *     of one IMPU by several IMPIs (modified-impi) or contacts (outbound)
 *     are each known and removed on their own;
 *   - per subscription, the serving S-CSCF.
 */
#define SLOG_COMPONENT "hss"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "diameter/dmsg.h"
#include "hss/hss.h"

struct sar_in {
	struct str user_name, public_identity, server_name, contact;
	bool has_user_name, has_public_identity;
	int32_t type;
	int32_t data_available;
	int32_t multiple;
};

/* What the request names, once looked up. */
struct sar_ctx {
	struct sar_in in;
	struct store_subscription sub;
	struct store_impi impi;         /* valid if in.has_user_name */
	struct store_impu impu;         /* valid if in.has_public_identity */
	struct store_impu *impus;       /* all of the subscription's */
	size_t n_impus;
	struct store_registration *regs;
	size_t n_regs;
};

static int decode(struct hss *h, struct hss_req *r, struct sar_in *in)
{
	const struct cx_dict *d = &h->dict;
	struct avp *sri, *ri;

	memset(in, 0, sizeof(*in));
	if (dmsg_get_str(r->msg, d->avp[CX_AVP_SERVER_NAME], &in->server_name) ||
	    dmsg_get_i32(r->msg, d->avp[CX_AVP_SERVER_ASSIGNMENT_TYPE], &in->type) ||
	    dmsg_get_i32(r->msg, d->avp[CX_AVP_USER_DATA_ALREADY_AVAILABLE],
			 &in->data_available)) {
		hss_missing(r, d->avp[CX_AVP_SERVER_ASSIGNMENT_TYPE]);
		return 1;
	}
	in->has_user_name = dmsg_get_str(r->msg, d->base[CX_BASE_USER_NAME], &in->user_name) == 0;
	in->has_public_identity =
		dmsg_get_str(r->msg, d->avp[CX_AVP_PUBLIC_IDENTITY], &in->public_identity) == 0;
	dmsg_get_i32(r->msg, d->avp[CX_AVP_MULTIPLE_REGISTRATION_INDICATION], &in->multiple);
	/* The contact, when the S-CSCF shares its restoration data
	 * (29.228 section 6.1.2, IMS restoration): a registration per contact. */
	if (dmsg_find(r->msg, d->avp[CX_AVP_SCSCF_RESTORATION_INFO], NULL, &sri) == 0 &&
	    dmsg_find(sri, d->avp[CX_AVP_RESTORATION_INFO], NULL, &ri) == 0)
		dmsg_get_str(ri, d->avp[CX_AVP_CONTACT], &in->contact);
	/* AAA_USER_DATA_REQUEST and PGW_UPDATE belong to SWx, not Cx. */
	if (in->type < 0 || in->type > CX_SAT_DEREGISTRATION_TOO_MUCH_DATA) {
		hss_invalid(h, r, d->avp[CX_AVP_SERVER_ASSIGNMENT_TYPE]);
		return 1;
	}
	if (in->contact.len > STORE_IDENTITY_MAX)
		in->contact = str_sub(in->contact, 0, STORE_IDENTITY_MAX);
	return 0;
}

/* Look up the identities: 29.228 section 6.1.2.1, steps 1 and 2. */
static int identify(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	const struct sar_in *in = &c->in;
	int err;

	if (!in->has_user_name && !in->has_public_identity) {
		hss_missing(r, h->dict.avp[CX_AVP_PUBLIC_IDENTITY]);
		return 1;
	}
	if (in->has_user_name) {
		err = hss_find_impi(h, r, in->user_name, &c->impi, &c->sub);
		if (err)
			return err;
	}
	if (in->has_public_identity) {
		err = hss_find_impu(h, r, in->public_identity, &c->impu);
		if (err)
			return err;
		if (!in->has_user_name) {
			err = store_sub_get(h->store, c->impu.subscription_id, &r->arena, &c->sub);
			if (err)
				return err;
		} else if (c->impu.subscription_id != c->sub.id) {
			hss_experimental(r, CX_EXP_ERROR_IDENTITIES_DONT_MATCH);
			return 1;
		}
	}
	err = store_impu_list(h->store, c->sub.id, &r->arena, &c->impus, &c->n_impus);
	if (!err)
		err = store_reg_list(h->store, c->sub.id, &r->arena, &c->regs, &c->n_regs);
	return err;
}

static bool irs_has_registration(const struct sar_ctx *c, uint32_t irs)
{
	for (size_t i = 0; i < c->n_regs; i++) {
		if (c->regs[i].irs == irs)
			return true;
	}
	return false;
}

static bool any_irs_in_state(const struct sar_ctx *c, enum store_reg_state s)
{
	for (size_t i = 0; i < c->n_impus; i++) {
		if (c->impus[i].state == s)
			return true;
	}
	return false;
}

static int reload_state(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	int err = store_impu_list(h->store, c->sub.id, &r->arena, &c->impus, &c->n_impus);

	if (!err)
		err = store_reg_list(h->store, c->sub.id, &r->arena, &c->regs, &c->n_regs);
	return err;
}

/* The profile, when the S-CSCF does not have it yet, from the IMPUs
 * reload_state() read. */
static int profile(struct hss *h, struct hss_req *r, const struct sar_ctx *c, struct str impi)
{
	if (c->in.data_available == CX_USER_DATA_ALREADY_AVAILABLE)
		return 0;
	return hss_user_data(r, c->impus, c->n_impus, c->impu.irs, impi);
}

/* Other IMPIs of the subscription, and the IMPIs registered with the set. */
static int associated(struct hss *h, struct hss_req *r, const struct sar_ctx *c)
{
	struct store_impi *impis;
	size_t n, k = 0;
	int err = store_impi_list(h->store, c->sub.id, &r->arena, &impis, &n);

	if (err)
		return err;
	if (n > 1) {
		r->associated = arena_alloc(&r->arena, n * sizeof(*r->associated));
		if (!r->associated)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			if (impis[i].id != c->impi.id)
				r->associated[k++] = impis[i].name;
		}
		r->n_associated = k;
	}
	/* 29.229 section 6.3.50: the IMPIs registered with the IMPU. Only
	 * worth saying when there is more than one (simultaneous ones). */
	r->registered = arena_alloc(&r->arena, (c->n_regs + 1) * sizeof(*r->registered));
	if (!r->registered)
		return -ENOMEM;
	k = 0;
	for (size_t i = 0; i < c->n_regs; i++) {
		bool seen = false;

		if (c->regs[i].irs != c->impu.irs)
			continue;
		for (size_t j = 0; j < k; j++)
			seen |= str_eq(r->registered[j], c->regs[i].impi);
		if (!seen)
			r->registered[k++] = c->regs[i].impi;
	}
	r->n_registered = k > 1 ? k : 0;
	return 0;
}

static int do_registration(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	const struct sar_in *in = &c->in;
	bool at_limit = false;
	int err;

	if (!in->has_user_name) {
		hss_missing(r, h->dict.base[CX_BASE_USER_NAME]);
		return 0;
	}
	/* Another S-CSCF holds the registration: not ours to take over
	 * without a MAR (29.228 section 8.1). */
	if (c->sub.scscf_name.len && !str_eq(c->sub.scscf_name, in->server_name) &&
	    c->impu.state == STORE_REGISTERED) {
		hss_result(r, DIA_UNABLE_TO_COMPLY);
		return 0;
	}
	err = hss_registration_limit(h, r, &c->sub, &c->impi, &at_limit);
	if (err)
		return err;
	if (at_limit) {
		log_info("SAR %.*s: max-registrations %u reached", STR_FMT(in->user_name),
			 c->sub.max_registrations);
		hss_result(r, DIA_AUTHORIZATION_REJECTED);
		return 0;
	}
	err = store_reg_upsert(h->store, c->impi.id, c->impu.irs, in->contact, in->server_name,
			       (int64_t)time(NULL));
	if (!err)
		err = store_irs_set_state(h->store, c->sub.id, c->impu.irs, STORE_REGISTERED);
	if (!err)
		err = store_scscf_set(h->store, c->sub.id, in->server_name, false);
	if (!err)
		err = reload_state(h, r, c);
	if (!err)
		err = profile(h, r, c, in->user_name);
	if (!err)
		err = associated(h, r, c);
	if (!err)
		hss_result(r, DIA_SUCCESS);
	return err;
}

static int do_unregistered_user(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	const struct sar_in *in = &c->in;
	int err = 0;

	if (c->sub.scscf_name.len && !str_eq(c->sub.scscf_name, in->server_name)) {
		/* Another S-CSCF serves the user: say which. */
		r->server_name = c->sub.scscf_name;
		hss_experimental(r, CX_EXP_ERROR_IN_ASSIGNMENT_TYPE);
		return 0;
	}
	if (!c->sub.scscf_name.len)
		err = store_scscf_set(h->store, c->sub.id, in->server_name, false);
	if (!err && c->impu.state == STORE_NOT_REGISTERED)
		err = store_irs_set_state(h->store, c->sub.id, c->impu.irs, STORE_UNREGISTERED);
	/* The HSS picks the IMPI (29.228 section 6.1.2.1): the subscription's. */
	r->user_name = in->has_user_name ? in->user_name : c->sub.impi;
	if (!err)
		err = profile(h, r, c, r->user_name);
	if (!err)
		hss_result(r, DIA_SUCCESS);
	return err;
}

/*
 * Deregistration (types 4-8 and 11). With an IMPU: its set, for the IMPI
 * given or for every IMPI registered with it. With an IMPI only: every set
 * that IMPI registered. Sets left without a registration become not
 * registered, or unregistered when the S-CSCF asked to keep its name and
 * the configuration allows it (else 2004, name not stored).
 */
static int do_deregistration(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	const struct sar_in *in = &c->in;
	bool store_name = in->type == CX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME ||
			  in->type == CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME;
	bool keep = store_name && h->cfg.keep_server_name;
	uint32_t sets[STORE_IMPU_MAX];
	size_t n_sets = 0;
	int err = 0;

	for (size_t i = 0; i < c->n_regs && !err; i++) {
		const struct store_registration *g = &c->regs[i];
		bool hit = in->has_public_identity ? g->irs == c->impu.irs : true;

		if (in->has_user_name && g->impi_id != c->impi.id)
			hit = false;
		if (!hit)
			continue;
		err = store_reg_delete(h->store, g->impi_id, g->irs);
		if (n_sets < STORE_IMPU_MAX && (n_sets == 0 || sets[n_sets - 1] != g->irs))
			sets[n_sets++] = g->irs;
	}
	if (in->has_public_identity && n_sets < STORE_IMPU_MAX)
		sets[n_sets++] = c->impu.irs;
	if (!err)
		err = reload_state(h, r, c);
	for (size_t i = 0; i < n_sets && !err; i++) {
		if (irs_has_registration(c, sets[i]))
			continue;
		err = store_irs_set_state(h->store, c->sub.id, sets[i],
					  keep ? STORE_UNREGISTERED : STORE_NOT_REGISTERED);
	}
	if (!err)
		err = reload_state(h, r, c);
	if (!err && !any_irs_in_state(c, STORE_REGISTERED) &&
	    !any_irs_in_state(c, STORE_UNREGISTERED))
		err = store_scscf_set(h->store, c->sub.id, STR_NULL, false);
	if (err)
		return err;
	if (store_name && !keep)
		hss_experimental(r, CX_EXP_SUCCESS_SERVER_NAME_NOT_STORED);
	else
		hss_result(r, DIA_SUCCESS);
	return 0;
}

/* Authentication failed or timed out: undo what the MAR set up. */
static int do_auth_failure(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	int err = 0;

	if (!any_irs_in_state(c, STORE_REGISTERED) && !any_irs_in_state(c, STORE_UNREGISTERED))
		err = store_scscf_set(h->store, c->sub.id, STR_NULL, false);
	else if (c->sub.auth_pending)
		err = store_scscf_set(h->store, c->sub.id, c->sub.scscf_name, false);
	if (!err)
		hss_result(r, DIA_SUCCESS);
	return err;
}

static int assign(struct hss *h, struct hss_req *r, struct sar_ctx *c)
{
	const struct sar_in *in = &c->in;
	bool needs_impu = in->type != CX_SAT_TIMEOUT_DEREGISTRATION &&
			  in->type != CX_SAT_USER_DEREGISTRATION &&
			  in->type != CX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME &&
			  in->type != CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME &&
			  in->type != CX_SAT_ADMINISTRATIVE_DEREGISTRATION &&
			  in->type != CX_SAT_DEREGISTRATION_TOO_MUCH_DATA;

	if (needs_impu && !in->has_public_identity) {
		hss_missing(r, h->dict.avp[CX_AVP_PUBLIC_IDENTITY]);
		return 0;
	}
	/* Except for the S-CSCF taking over, only the assigned S-CSCF may
	 * change or read the registration (29.228 section 8.1). */
	if (in->type != CX_SAT_REGISTRATION && in->type != CX_SAT_RE_REGISTRATION &&
	    in->type != CX_SAT_UNREGISTERED_USER && c->sub.scscf_name.len &&
	    !str_eq(c->sub.scscf_name, in->server_name)) {
		hss_result(r, DIA_UNABLE_TO_COMPLY);
		return 0;
	}
	switch (in->type) {
	case CX_SAT_NO_ASSIGNMENT:
		if (!c->sub.scscf_name.len) {
			hss_result(r, DIA_UNABLE_TO_COMPLY);
			return 0;
		}
		hss_result(r, DIA_SUCCESS);
		return profile(h, r, c, in->has_user_name ? in->user_name : c->sub.impi);
	case CX_SAT_REGISTRATION:
	case CX_SAT_RE_REGISTRATION:
		return do_registration(h, r, c);
	case CX_SAT_UNREGISTERED_USER:
		return do_unregistered_user(h, r, c);
	case CX_SAT_AUTHENTICATION_FAILURE:
	case CX_SAT_AUTHENTICATION_TIMEOUT:
		return do_auth_failure(h, r, c);
	default:
		return do_deregistration(h, r, c);
	}
}

int hss_sar_process(struct hss *h, struct hss_req *r)
{
	struct sar_ctx c;
	int err;

	memset(&c, 0, sizeof(c));
	if (decode(h, r, &c.in))
		return 0;
	err = identify(h, r, &c);
	if (!err)
		err = assign(h, r, &c);
	log_debug("SAR %s for %.*s/%.*s: %u%s", cx_sat_name((uint32_t)c.in.type),
		  STR_FMT(c.in.user_name), STR_FMT(c.in.public_identity), r->result,
		  r->experimental ? " (experimental)" : "");
	explicit_bzero(&c.sub, sizeof(c.sub));
	return err < 0 ? err : 0;
}

int hss_sar_encode(struct hss *h, struct hss_req *r, struct msg *ans)
{
	const struct cx_dict *d = &h->dict;
	struct avp *group;
	int err = 0;

	if (r->user_data.len)
		err = dmsg_add_str(ans, d->avp[CX_AVP_USER_DATA], r->user_data);
	if (!err && r->n_associated) {
		err = dmsg_add_group(ans, d->avp[CX_AVP_ASSOCIATED_IDENTITIES], &group);
		for (size_t i = 0; !err && i < r->n_associated; i++)
			err = dmsg_add_str(group, d->base[CX_BASE_USER_NAME], r->associated[i]);
	}
	if (!err && r->n_registered) {
		err = dmsg_add_group(ans, d->avp[CX_AVP_ASSOCIATED_REGISTERED_IDENTITIES], &group);
		for (size_t i = 0; !err && i < r->n_registered; i++)
			err = dmsg_add_str(group, d->base[CX_BASE_USER_NAME], r->registered[i]);
	}
	return err;
}
