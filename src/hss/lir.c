/*
 * lir.c - Location-Info-Request (TS 29.228 section 6.1.4): which S-CSCF
 * serves a public identity, for a terminating (or originating) request.
 */
#include <errno.h>
#include <string.h>

#include "diameter/dmsg.h"
#include "hss/hss.h"

int hss_lir_process(struct hss *h, struct hss_req *r)
{
	struct store_subscription sub;
	struct store_impu impu;
	struct str public_identity;
	int err;

	memset(&sub, 0, sizeof(sub));
	if (dmsg_get_str(r->msg, h->dict.avp[CX_AVP_PUBLIC_IDENTITY], &public_identity)) {
		hss_missing(r, h->dict.avp[CX_AVP_PUBLIC_IDENTITY]);
		return 0;
	}
	err = hss_find_impu(h, r, public_identity, &impu);
	if (!err)
		err = store_sub_get(h->store, impu.subscription_id, &r->arena, &sub);
	if (err)
		goto out;
	if (sub.scscf_name.len &&
	    (impu.state != STORE_NOT_REGISTERED || sub.auth_pending || impu.unreg_services)) {
		/* Registered, or unregistered with an S-CSCF holding the
		 * profile, or an S-CSCF authenticating the user right now. */
		r->server_name = sub.scscf_name;
		hss_result(r, DIA_SUCCESS);
	} else if (impu.unreg_services) {
		/* No S-CSCF yet, but services for the unregistered state: the
		 * I-CSCF picks one with these capabilities. */
		r->capabilities = true;
		hss_experimental(r, CX_EXP_UNREGISTERED_SERVICE);
	} else {
		hss_experimental(r, CX_EXP_ERROR_IDENTITY_NOT_REGISTERED);
	}
out:
	explicit_bzero(&sub, sizeof(sub));
	return err < 0 ? err : 0;
}
