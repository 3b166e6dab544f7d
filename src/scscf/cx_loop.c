/*
 * cx_loop.c - the S-CSCF's Cx client on its own event loop (TS 29.228 /
 * 29.229): MAR and SAR behind struct scscf_cx_ops, over a dpeer
 * (lib/diameter/dpeer.h) to the HSS, with no thread and no hand-off.
 *
 *   REGISTER --> build the MAR in a scratch buffer --> dpeer_send()
 *                    ... (the write leaves at the end of the iteration)
 *   dpeer reads the MAA --> read_maa() walks it in place --> scscf_cx_maa()
 *
 * The requests carry the same AVPs, in the same order, as the
 * freeDiameter client's (cx.c and cx_request_new()); the code and flags of
 * every Cx AVP come from the dictionary's table (cx_avp_info), so
 * that the two clients cannot drift apart. tests/diameter/test_wire.c
 * parses these requests with freeDiameter's dictionary as the oracle.
 */
#define SLOG_COMPONENT "scscf"

#include "scscf/cx_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "diameter/cx.h"
#include "diameter/dpeer.h"
#include "diameter/wire.h"
#include "scscf/cx.h"

struct scscf_cx_loop {
	struct scscf *s;
	struct dpeer *peer;
	struct str hss, hss_realm, server_name, identity, realm;
	struct buf msg;                 /* the request being built */
};

/* Code and M flag of a Cx AVP, from the dictionary's table (cx_avp_info). */
static uint8_t avp_flags(enum cx_avp a)
{
	return cx_avp_info[a].mandatory ? DW_AVP_MANDATORY : 0;
}

static void put_cx(struct buf *b, enum cx_avp a, struct str v)
{
	dw_put_str(b, cx_avp_info[a].code, avp_flags(a), CX_VENDOR_3GPP, v);
}

static void put_cx_u32(struct buf *b, enum cx_avp a, uint32_t v)
{
	dw_put_u32(b, cx_avp_info[a].code, avp_flags(a), CX_VENDOR_3GPP, v);
}

static size_t group_cx(struct buf *b, enum cx_avp a)
{
	return dw_group_begin(b, cx_avp_info[a].code, avp_flags(a), CX_VENDOR_3GPP);
}

static int find_cx(const struct dw_iter *it, enum cx_avp a, struct dw_avp *out)
{
	return dw_find(it, cx_avp_info[a].code, CX_VENDOR_3GPP, out);
}

/*
 * The head every Cx request shares (cx_request_new()): Session-Id, Origin,
 * Vendor-Specific-Application-Id, Auth-Session-State, Destination.
 */
static size_t request_begin(struct scscf_cx_loop *c, uint32_t code)
{
	struct buf *b = &c->msg;
	char sid[300];
	size_t m, g, n;

	buf_reset(b);
	m = dw_msg_begin(b, DW_REQUEST | DW_PROXIABLE, code, CX_APPLICATION_ID, 0, 0);
	n = dpeer_session_id(c->peer, sid, sizeof(sid));
	if (!n && !b->err)
		b->err = -ENAMETOOLONG;
	dw_put(b, DW_AVP_SESSION_ID, DW_AVP_MANDATORY, 0, sid, n);
	dw_put_str(b, DW_AVP_ORIGIN_HOST, DW_AVP_MANDATORY, 0, c->identity);
	dw_put_str(b, DW_AVP_ORIGIN_REALM, DW_AVP_MANDATORY, 0, c->realm);
	g = dw_group_begin(b, DW_AVP_VENDOR_SPECIFIC_APPLICATION_ID, DW_AVP_MANDATORY, 0);
	dw_put_u32(b, DW_AVP_VENDOR_ID, DW_AVP_MANDATORY, 0, CX_VENDOR_3GPP);
	dw_put_u32(b, DW_AVP_AUTH_APPLICATION_ID, DW_AVP_MANDATORY, 0, CX_APPLICATION_ID);
	dw_group_end(b, g);
	dw_put_u32(b, DW_AVP_AUTH_SESSION_STATE, DW_AVP_MANDATORY, 0, CX_NO_STATE_MAINTAINED);
	dw_put_str(b, DW_AVP_DESTINATION_REALM, DW_AVP_MANDATORY, 0, c->hss_realm);
	dw_put_str(b, DW_AVP_DESTINATION_HOST, DW_AVP_MANDATORY, 0, c->hss);
	return m;
}

/* --- answers (loop thread) ---------------------------------------------------------- */

static void read_result(const struct dpeer_answer *a, struct dw_iter *it,
			struct scscf_cx_result *r)
{
	memset(r, 0, sizeof(*r));
	r->err = a->err;
	if (r->err)
		return;
	dw_iter_msg(it, a->msg, a->len);
	if (dw_result(it, &r->code, &r->experimental) < 0)
		r->err = -EBADMSG;
}

static void read_maa(const struct dpeer_answer *ans, struct scscf_maa *a)
{
	struct dw_iter it, item_it;
	struct dw_avp item, auth, xres, ck, ik;

	memset(a, 0, sizeof(*a));
	read_result(ans, &it, &a->result);
	if (!scscf_cx_success(&a->result))
		return;
	if (find_cx(&it, CX_AVP_SIP_AUTH_DATA_ITEM, &item) < 0)
		return;
	dw_iter_group(&item_it, &item);
	if (find_cx(&item_it, CX_AVP_SIP_AUTHENTICATE, &auth) == 0 &&
	    find_cx(&item_it, CX_AVP_SIP_AUTHORIZATION, &xres) == 0 &&
	    find_cx(&item_it, CX_AVP_CONFIDENTIALITY_KEY, &ck) == 0 &&
	    find_cx(&item_it, CX_AVP_INTEGRITY_KEY, &ik) == 0)
		scscf_cx_maa_vector(a, dw_str(&auth), dw_str(&xres), dw_str(&ck), dw_str(&ik));
}

static void on_maa(void *ctx, uint64_t ref, const struct dpeer_answer *ans)
{
	struct scscf_cx_loop *c = ctx;
	struct scscf_maa a;

	read_maa(ans, &a);
	if (scscf_cx_success(&a.result) && !a.have_vector)
		log_warn("MAA without a usable SIP-Auth-Data-Item");
	scscf_cx_maa(c->s, ref, &a);
	explicit_bzero(&a, sizeof(a));
}

static void on_saa(void *ctx, uint64_t ref, const struct dpeer_answer *ans)
{
	struct scscf_cx_loop *c = ctx;
	struct scscf_saa a;
	struct dw_iter it;
	struct dw_avp ud;

	memset(&a, 0, sizeof(a));
	read_result(ans, &it, &a.result);
	/* User-Data points into the answer, which lives until we return. */
	if (scscf_cx_success(&a.result) && find_cx(&it, CX_AVP_USER_DATA, &ud) == 0)
		a.user_data = dw_str(&ud);
	scscf_cx_saa(c->s, ref, &a);
}

/* --- requests ----------------------------------------------------------------------- */

static int send_built(struct scscf_cx_loop *c, size_t m, dpeer_answer_fn *fn, uint64_t ref)
{
	dw_msg_end(&c->msg, m);
	if (buf_error(&c->msg))
		return buf_error(&c->msg);
	return dpeer_send(c->peer, c->msg.p, c->msg.len, fn, c, ref);
}

static int cx_mar(void *ctx, const struct scscf_mar *req, uint64_t ref)
{
	struct scscf_cx_loop *c = ctx;
	struct buf *b = &c->msg;
	size_t m, g;

	m = request_begin(c, CX_CMD_CODE_MA);
	dw_put_str(b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, req->impi);
	put_cx(b, CX_AVP_PUBLIC_IDENTITY, req->impu);
	put_cx_u32(b, CX_AVP_SIP_NUMBER_AUTH_ITEMS, 1);
	g = group_cx(b, CX_AVP_SIP_AUTH_DATA_ITEM);
	put_cx(b, CX_AVP_SIP_AUTHENTICATION_SCHEME, STR_LIT("Digest-AKAv1-MD5"));
	/* Resynchronisation: RAND of the failed challenge || AUTS (29.229 6.3.11). */
	if (req->resync)
		put_cx(b, CX_AVP_SIP_AUTHORIZATION,
		       str_make((const char *)req->rand_auts, sizeof(req->rand_auts)));
	dw_group_end(b, g);
	put_cx(b, CX_AVP_SERVER_NAME, c->server_name);
	return send_built(c, m, on_maa, ref);
}

static int cx_sar(void *ctx, const struct scscf_sar *req, uint64_t ref)
{
	struct scscf_cx_loop *c = ctx;
	struct buf *b = &c->msg;
	size_t m;

	m = request_begin(c, CX_CMD_CODE_SA);
	if (req->impi.len)
		dw_put_str(b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, req->impi);
	put_cx(b, CX_AVP_PUBLIC_IDENTITY, req->impu);
	put_cx(b, CX_AVP_SERVER_NAME, c->server_name);
	put_cx_u32(b, CX_AVP_SERVER_ASSIGNMENT_TYPE, (uint32_t)req->type);
	put_cx_u32(b, CX_AVP_USER_DATA_ALREADY_AVAILABLE,
		   req->data_available ? CX_USER_DATA_ALREADY_AVAILABLE :
					 CX_USER_DATA_NOT_AVAILABLE);
	/* 29.228 6.1.2: the contact as restoration information (as cx.c). */
	if (req->contact.len && req->impi.len) {
		size_t sri = group_cx(b, CX_AVP_SCSCF_RESTORATION_INFO), ri;

		dw_put_str(b, DW_AVP_USER_NAME, DW_AVP_MANDATORY, 0, req->impi);
		ri = group_cx(b, CX_AVP_RESTORATION_INFO);
		put_cx(b, CX_AVP_PATH, req->path);
		put_cx(b, CX_AVP_CONTACT, req->contact);
		dw_group_end(b, ri);
		dw_group_end(b, sri);
	}
	if (req->multiple)
		put_cx_u32(b, CX_AVP_MULTIPLE_REGISTRATION_INDICATION, CX_MULTIPLE_REGISTRATION);
	return send_built(c, m, on_saa, ref);
}

const struct scscf_cx_ops scscf_cx_loop_ops = {
	.mar = cx_mar,
	.sar = cx_sar,
};

/* --- life ----------------------------------------------------------------------------- */

int scscf_cx_loop_start(struct scscf *s, struct scscf_cx_loop **out)
{
	const struct scscf_config *cfg = &s->cfg;
	struct dpeer_config dc = {
		.identity = cfg->identity,
		.realm = cfg->realm,
		.peer_identity = cfg->hss_identity,
		.address = cfg->hss_address.sa,
		.vendor_id = CX_VENDOR_3GPP,
		.app_id = CX_APPLICATION_ID,
		.timeout_ms = cfg->cx_timeout_ms,
		.watchdog_ms = cfg->cx_watchdog_ms,
	};
	struct scscf_cx_loop *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->hss = str_from_cstr(cfg->hss_identity);
	c->hss_realm = str_from_cstr(cfg->hss_realm);
	c->server_name = str_from_cstr(cfg->server_name);
	c->identity = str_from_cstr(cfg->identity);
	c->realm = str_from_cstr(cfg->realm);
	buf_init(&c->msg);
	err = dpeer_start(s->loop, &dc, &c->peer);
	if (err) {
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

bool scscf_cx_loop_connected(const struct scscf_cx_loop *c)
{
	return dpeer_is_open(c->peer);
}

void scscf_cx_loop_stats(const struct scscf_cx_loop *c, struct dpeer_stats *out)
{
	dpeer_get_stats(c->peer, out);
}

void scscf_cx_loop_stop(struct scscf_cx_loop *c)
{
	if (!c)
		return;
	dpeer_free(c->peer);
	buf_free(&c->msg);
	free(c);
}
