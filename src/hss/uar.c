/*
 * uar.c - User-Authorization-Request (TS 29.228 section 6.1.1).
 *
 * The I-CSCF asks, on a REGISTER, whether the user may register and which
 * S-CSCF serves it (or what the S-CSCF it picks must be capable of).
 */
#include <errno.h>

#include "diameter/dmsg.h"
#include "hss/hss.h"

/* Steps 2 to 5 of 29.228 section 6.1.1.1, once the IMPI is known. */
static int decide(struct hss *h, struct hss_req *r, const struct store_subscription *sub,
		  const struct store_impi *impi, struct str public_identity, struct str visited,
		  uint32_t type, bool emergency)
{
	struct store_impu impu, *impus;
	size_t n_impus;
	int err;

	err = hss_find_impu(h, r, public_identity, &impu);
	if (err)
		return err < 0 ? err : 0;
	if (impu.subscription_id != sub->id) {
		hss_experimental(r, CX_EXP_ERROR_IDENTITIES_DONT_MATCH);
		return 0;
	}
	err = store_impu_list(h->store, sub->id, &r->arena, &impus, &n_impus);
	if (err)
		return err;

	/* 3: a barred identity registers only inside a set that has an
	 * unbarred one; emergency registration ignores barring. */
	if (impu.barred && !emergency && !hss_irs_has_unbarred(impus, n_impus, impu.irs)) {
		hss_result(r, DIA_AUTHORIZATION_REJECTED);
		return 0;
	}

	/* 4: for a registration, roaming and the registration limit. */
	if (type != CX_UAT_DE_REGISTRATION) {
		bool at_limit = false;

		if (!emergency && !sub->roaming_allowed && !hss_is_home_network(h, visited)) {
			hss_experimental(r, CX_EXP_ERROR_ROAMING_NOT_ALLOWED);
			return 0;
		}
		err = hss_registration_limit(h, r, sub, impi, &at_limit);
		if (err)
			return err;
		if (at_limit) {
			hss_result(r, DIA_AUTHORIZATION_REJECTED);
			return 0;
		}
	}

	/* 5: who serves the user. */
	if (type == CX_UAT_REGISTRATION_AND_CAPABILITIES) {
		/* The I-CSCF wants to pick another S-CSCF. */
		r->capabilities = true;
		hss_result(r, DIA_SUCCESS);
		return 0;
	}
	if (sub->scscf_name.len) {
		/* Registered, unregistered, or an S-CSCF already authenticating. */
		r->server_name = sub->scscf_name;
		if (type == CX_UAT_DE_REGISTRATION)
			hss_result(r, DIA_SUCCESS);
		else
			hss_experimental(r, CX_EXP_SUBSEQUENT_REGISTRATION);
		return 0;
	}
	if (type == CX_UAT_DE_REGISTRATION) {
		hss_experimental(r, CX_EXP_ERROR_IDENTITY_NOT_REGISTERED);
		return 0;
	}
	r->capabilities = true;
	hss_experimental(r, CX_EXP_FIRST_REGISTRATION);
	return 0;
}

int hss_uar_process(struct hss *h, struct hss_req *r)
{
	const struct cx_dict *d = &h->dict;
	struct store_subscription sub;
	struct store_impi impi;
	struct str user_name, public_identity, visited;
	uint32_t type = CX_UAT_REGISTRATION, flags = 0;
	int32_t uat;
	bool emergency;
	int err;

	/* Decode: freeDiameter's rules already enforced the required AVPs. */
	if (dmsg_get_str(r->msg, d->base[CX_BASE_USER_NAME], &user_name) ||
	    dmsg_get_str(r->msg, d->avp[CX_AVP_PUBLIC_IDENTITY], &public_identity) ||
	    dmsg_get_str(r->msg, d->avp[CX_AVP_VISITED_NETWORK_IDENTIFIER], &visited)) {
		hss_missing(r, d->avp[CX_AVP_PUBLIC_IDENTITY]);
		return 0;
	}
	if (dmsg_get_i32(r->msg, d->avp[CX_AVP_USER_AUTHORIZATION_TYPE], &uat) == 0)
		type = (uint32_t)uat;
	dmsg_get_u32(r->msg, d->avp[CX_AVP_UAR_FLAGS], &flags);
	if (type > CX_UAT_REGISTRATION_AND_CAPABILITIES) {
		return hss_invalid(h, r, d->avp[CX_AVP_USER_AUTHORIZATION_TYPE]);
	}
	emergency = flags & CX_UAR_FLAG_EMERGENCY;

	/* 1, 2: both identities known, and of one subscription. */
	err = hss_find_impi(h, r, user_name, &impi, &sub);
	if (err)
		return err < 0 ? err : 0;
	err = decide(h, r, &sub, &impi, public_identity, visited, type, emergency);
	explicit_bzero(&sub, sizeof(sub));
	return err;
}
