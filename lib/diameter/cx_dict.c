/*
 * cx_dict.c - the Cx dictionary, defined into freeDiameter at start-up.
 *
 * Command rules follow the CCF of TS 29.229 section 6.1; grouped AVPs
 * follow section 6.3. freeDiameter checks incoming messages against
 * them and answers DIAMETER_MISSING_AVP (with Failed-AVP) by itself when a
 * required AVP is absent, as RFC 6733 section 7.1.5 wants.
 */
#define SLOG_COMPONENT "diameter"

#include "diameter/cx.h"

#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <freeDiameter/libfdproto.h>
#include <string.h>

#include "core/log.h"
#include "diameter/dmsg.h"

const struct cx_avp_info cx_avp_info[CX_AVP__COUNT] = {
#define X(id, n, c, t, m) [CX_AVP_##id] = { .name = n, .code = c, .type = t, .mandatory = m },
	CX_AVPS(X)
#undef X
};

const struct cx_command_info cx_command_info[CX_CMD__COUNT] = {
#define X(id, req, ans, c) [CX_CMD_##id] = { .request = req, .answer = ans, .code = c },
	CX_COMMANDS(X)
#undef X
};

static const char *const base_avp_name[CX_BASE__COUNT] = {
#define X(id, name) [CX_BASE_##id] = name,
	CX_BASE_AVPS(X)
#undef X
};

const char *cx_sat_name(uint32_t sat)
{
	switch (sat) {
#define X(id, v) \
	case v:  \
		return #id;
		CX_SERVER_ASSIGNMENT_TYPES(X)
#undef X
	}
	return NULL;
}

const char *cx_experimental_name(uint32_t code)
{
	switch (code) {
#define X(id, name, c) \
	case c:        \
		return name;
		CX_EXPERIMENTAL_RESULTS(X)
#undef X
	}
	return NULL;
}

const char *dia_result_name(uint32_t code)
{
	switch (code) {
#define X(id, name, c) \
	case c:        \
		return name;
		DIA_RESULT_CODES(X)
#undef X
	}
	return NULL;
}

/* One ABNF element: an AVP by name, where and how often it may appear. */
struct rule {
	const char *avp;
	enum rule_position pos;
	int min, max;
};

#define FIXED(n) { n, RULE_FIXED_HEAD, 1, 1 }
#define ONE(n) { n, RULE_REQUIRED, 1, 1 }        /* {AVP}   */
#define MAYBE(n) { n, RULE_OPTIONAL, 0, 1 }      /* [AVP]   */
#define ANY(n) { n, RULE_OPTIONAL, 0, -1 }       /* *[AVP]  */
#define SOME(n) { n, RULE_REQUIRED, 1, -1 }      /* 1*{AVP} */
#define RULES_END { NULL, 0, 0, 0 }

/* What every Cx request carries before its own AVPs (29.229 6.1.x). */
#define REQUEST_HEAD                                                               \
	FIXED("Session-Id"), ONE("Vendor-Specific-Application-Id"),                \
		ONE("Auth-Session-State"), ONE("Origin-Host"), ONE("Origin-Realm"), \
		MAYBE("Destination-Host"), ONE("Destination-Realm"), ANY("Supported-Features"), \
		ANY("Proxy-Info"), ANY("Route-Record")
/*
 * Answers are read leniently: Vendor-Specific-Application-Id and
 * Auth-Session-State are {required} in 29.229, but a Diameter node that
 * answers with an error of its own (freeDiameter's DIAMETER_MISSING_AVP, a
 * relay's) leaves them out, and the error must still reach the caller.
 */
#define ANSWER_HEAD                                                                        \
	FIXED("Session-Id"), MAYBE("Vendor-Specific-Application-Id"), MAYBE("Result-Code"), \
		MAYBE("Experimental-Result"), MAYBE("Auth-Session-State"), ONE("Origin-Host"), \
		ONE("Origin-Realm"), ANY("Supported-Features"), ANY("Failed-AVP"),         \
		ANY("Proxy-Info"), ANY("Route-Record")

static const struct rule uar_rules[] = {
	REQUEST_HEAD, ONE("User-Name"), ONE("Public-Identity"),
	ONE("Visited-Network-Identifier"), MAYBE("User-Authorization-Type"), MAYBE("UAR-Flags"),
	RULES_END,
};
static const struct rule uaa_rules[] = {
	ANSWER_HEAD, MAYBE("Server-Name"), MAYBE("Server-Capabilities"), RULES_END,
};
static const struct rule sar_rules[] = {
	REQUEST_HEAD, MAYBE("User-Name"), ANY("Public-Identity"),
	MAYBE("Wildcarded-Public-Identity"), ONE("Server-Name"), ONE("Server-Assignment-Type"),
	ONE("User-Data-Already-Available"), MAYBE("SCSCF-Restoration-Info"),
	MAYBE("Multiple-Registration-Indication"), MAYBE("Session-Priority"), MAYBE("SAR-Flags"),
	RULES_END,
};
static const struct rule saa_rules[] = {
	ANSWER_HEAD, MAYBE("User-Name"), MAYBE("User-Data"), MAYBE("Charging-Information"),
	MAYBE("Associated-Identities"), MAYBE("Loose-Route-Indication"),
	ANY("SCSCF-Restoration-Info"), MAYBE("Associated-Registered-Identities"),
	MAYBE("Server-Name"), MAYBE("Wildcarded-Public-Identity"), RULES_END,
};
static const struct rule lir_rules[] = {
	REQUEST_HEAD, MAYBE("Originating-Request"), ONE("Public-Identity"),
	MAYBE("User-Authorization-Type"), MAYBE("Session-Priority"), RULES_END,
};
static const struct rule lia_rules[] = {
	ANSWER_HEAD, MAYBE("Server-Name"), MAYBE("Server-Capabilities"),
	MAYBE("Wildcarded-Public-Identity"), MAYBE("LIA-Flags"), RULES_END,
};
static const struct rule mar_rules[] = {
	REQUEST_HEAD, ONE("User-Name"), ONE("Public-Identity"), ONE("SIP-Auth-Data-Item"),
	ONE("SIP-Number-Auth-Items"), ONE("Server-Name"), RULES_END,
};
static const struct rule maa_rules[] = {
	ANSWER_HEAD, MAYBE("User-Name"), MAYBE("Public-Identity"), MAYBE("SIP-Number-Auth-Items"),
	ANY("SIP-Auth-Data-Item"), RULES_END,
};
static const struct rule rtr_rules[] = {
	REQUEST_HEAD, ONE("User-Name"), MAYBE("Associated-Identities"), ANY("Public-Identity"),
	ONE("Deregistration-Reason"), RULES_END,
};
static const struct rule rta_rules[] = {
	ANSWER_HEAD, MAYBE("Associated-Identities"), RULES_END,
};
static const struct rule ppr_rules[] = {
	REQUEST_HEAD, ONE("User-Name"), MAYBE("User-Data"), MAYBE("Charging-Information"),
	RULES_END,
};
static const struct rule ppa_rules[] = {
	ANSWER_HEAD, RULES_END,
};

static const struct rule *const request_rules[CX_CMD__COUNT] = {
	[CX_CMD_UA] = uar_rules, [CX_CMD_SA] = sar_rules, [CX_CMD_LI] = lir_rules,
	[CX_CMD_MA] = mar_rules, [CX_CMD_RT] = rtr_rules, [CX_CMD_PP] = ppr_rules,
};
static const struct rule *const answer_rules[CX_CMD__COUNT] = {
	[CX_CMD_UA] = uaa_rules, [CX_CMD_SA] = saa_rules, [CX_CMD_LI] = lia_rules,
	[CX_CMD_MA] = maa_rules, [CX_CMD_RT] = rta_rules, [CX_CMD_PP] = ppa_rules,
};

/* Grouped AVPs whose children we know (29.229 section 6.3). */
struct group_rules {
	enum cx_avp avp;
	struct rule rules[12];
};

static const struct group_rules group_rules[] = {
	{ CX_AVP_SERVER_CAPABILITIES,
	  { ANY("Mandatory-Capability"), ANY("Optional-Capability"), ANY("Server-Name"),
	    RULES_END } },
	{ CX_AVP_SIP_AUTH_DATA_ITEM,
	  { MAYBE("SIP-Item-Number"), MAYBE("SIP-Authentication-Scheme"),
	    MAYBE("SIP-Authenticate"), MAYBE("SIP-Authorization"),
	    MAYBE("SIP-Authentication-Context"), MAYBE("Confidentiality-Key"),
	    MAYBE("Integrity-Key"), MAYBE("SIP-Digest-Authenticate"), RULES_END } },
	{ CX_AVP_DEREGISTRATION_REASON, { ONE("Reason-Code"), MAYBE("Reason-Info"), RULES_END } },
	{ CX_AVP_CHARGING_INFORMATION,
	  { MAYBE("Primary-Event-Charging-Function-Name"),
	    MAYBE("Secondary-Event-Charging-Function-Name"),
	    MAYBE("Primary-Charging-Collection-Function-Name"),
	    MAYBE("Secondary-Charging-Collection-Function-Name"), RULES_END } },
	{ CX_AVP_SUPPORTED_FEATURES,
	  { ONE("Vendor-Id"), ONE("Feature-List-ID"), ONE("Feature-List"), RULES_END } },
	{ CX_AVP_ASSOCIATED_IDENTITIES, { ANY("User-Name"), RULES_END } },
	{ CX_AVP_ASSOCIATED_REGISTERED_IDENTITIES, { ANY("User-Name"), RULES_END } },
	{ CX_AVP_SCSCF_RESTORATION_INFO,
	  { ONE("User-Name"), SOME("Restoration-Info"), MAYBE("SIP-Authentication-Scheme"),
	    RULES_END } },
	{ CX_AVP_RESTORATION_INFO,
	  { ONE("Path"), ONE("Contact"), MAYBE("Initial-CSeq-Sequence-Number"),
	    MAYBE("Call-ID-SIP-Header"), MAYBE("Subscription-Info"), RULES_END } },
	{ CX_AVP_SUBSCRIPTION_INFO,
	  { ONE("Call-ID-SIP-Header"), ONE("From-SIP-Header"), ONE("To-SIP-Header"),
	    ONE("Record-Route"), ONE("Contact"), RULES_END } },
};

static int fail(int rc, const char *what, const char *name)
{
	log_error("Cx dictionary: cannot define %s %s: %s", what, name, strerror(rc));
	return -rc;
}

static int find_avp(const char *name, struct dict_object **out)
{
	int rc = fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME_ALL_VENDORS, name,
				out, ENOENT);

	return rc ? fail(rc, "a rule for AVP", name) : 0;
}

static int add_rules(struct dict_object *parent, const struct rule *rules)
{
	unsigned head = 0;

	for (const struct rule *r = rules; r->avp; r++) {
		struct dict_rule_data data = {
			.rule_position = r->pos,
			.rule_min = r->min,
			.rule_max = r->max,
		};
		int err = find_avp(r->avp, &data.rule_avp);
		int rc;

		if (err)
			return err;
		if (r->pos == RULE_FIXED_HEAD)
			data.rule_order = ++head;
		rc = fd_dict_new(fd_g_config->cnf_dict, DICT_RULE, &data, parent, NULL);
		if (rc)
			return fail(rc, "rule", r->avp);
	}
	return 0;
}

/* The derived type for UTF8String and DiameterURI AVPs (base dictionary). */
static int derived_type(enum cx_type t, struct dict_object **out)
{
	const char *name = t == CX_T_UTF8 ? "UTF8String" : t == CX_T_URI ? "DiameterURI" : NULL;
	int rc;

	*out = NULL;
	if (!name)
		return 0;
	rc = fd_dict_search(fd_g_config->cnf_dict, DICT_TYPE, TYPE_BY_NAME, name, out, ENOENT);
	return rc ? fail(rc, "type", name) : 0;
}

static enum dict_avp_basetype basetype(enum cx_type t)
{
	switch (t) {
	case CX_T_U32:
		return AVP_TYPE_UNSIGNED32;
	case CX_T_ENUM:
		return AVP_TYPE_INTEGER32;
	case CX_T_GROUPED:
		return AVP_TYPE_GROUPED;
	default:
		return AVP_TYPE_OCTETSTRING;
	}
}

static int define_avps(struct cx_dict *d)
{
	for (int i = 0; i < CX_AVP__COUNT; i++) {
		const struct cx_avp_info *info = &cx_avp_info[i];
		struct dict_avp_data data = {
			.avp_code = info->code,
			.avp_vendor = CX_VENDOR_3GPP,
			.avp_name = (char *)info->name,
			.avp_flag_mask = AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY,
			.avp_flag_val = AVP_FLAG_VENDOR |
					(info->mandatory ? AVP_FLAG_MANDATORY : 0),
			.avp_basetype = basetype(info->type),
		};
		struct dict_object *type;
		int err = derived_type(info->type, &type);
		int rc;

		if (err)
			return err;
		rc = fd_dict_new(fd_g_config->cnf_dict, DICT_AVP, &data, type, &d->avp[i]);
		if (rc)
			return fail(rc, "AVP", info->name);
	}
	return 0;
}

static int define_commands(struct cx_dict *d)
{
	for (int i = 0; i < CX_CMD__COUNT; i++) {
		struct dict_cmd_data req = {
			.cmd_code = cx_command_info[i].code,
			.cmd_name = (char *)cx_command_info[i].request,
			.cmd_flag_mask = CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | CMD_FLAG_ERROR,
			.cmd_flag_val = CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE,
		};
		struct dict_cmd_data ans = {
			.cmd_code = cx_command_info[i].code,
			.cmd_name = (char *)cx_command_info[i].answer,
			.cmd_flag_mask = CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE,
			.cmd_flag_val = CMD_FLAG_PROXIABLE,
		};
		int rc, err;

		rc = fd_dict_new(fd_g_config->cnf_dict, DICT_COMMAND, &req, d->app, &d->request[i]);
		if (rc)
			return fail(rc, "command", req.cmd_name);
		rc = fd_dict_new(fd_g_config->cnf_dict, DICT_COMMAND, &ans, d->app, &d->answer[i]);
		if (rc)
			return fail(rc, "command", ans.cmd_name);
		err = add_rules(d->request[i], request_rules[i]);
		if (!err)
			err = add_rules(d->answer[i], answer_rules[i]);
		if (err)
			return err;
	}
	return 0;
}

int cx_dict_init(struct cx_dict *d)
{
	struct dict_vendor_data vendor = { CX_VENDOR_3GPP, (char *)"3GPP" };
	struct dict_application_data app = { CX_APPLICATION_ID, (char *)"3GPP Cx" };
	int rc, err;

	memset(d, 0, sizeof(*d));
	/* Other code (an extension) may have defined the 3GPP vendor already. */
	rc = fd_dict_search(fd_g_config->cnf_dict, DICT_VENDOR, VENDOR_BY_ID, &vendor.vendor_id,
			    &d->vendor, ENOENT);
	if (rc == ENOENT)
		rc = fd_dict_new(fd_g_config->cnf_dict, DICT_VENDOR, &vendor, NULL, &d->vendor);
	if (rc)
		return fail(rc, "vendor", "3GPP");
	rc = fd_dict_new(fd_g_config->cnf_dict, DICT_APPLICATION, &app, d->vendor, &d->app);
	if (rc)
		return fail(rc, "application", app.application_name);
	for (int i = 0; i < CX_BASE__COUNT; i++) {
		rc = fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME, base_avp_name[i],
				    &d->base[i], ENOENT);
		if (rc)
			return fail(rc, "base AVP (missing from freeDiameter)", base_avp_name[i]);
	}
	err = define_avps(d);
	for (size_t i = 0; !err && i < sizeof(group_rules) / sizeof(group_rules[0]); i++)
		err = add_rules(d->avp[group_rules[i].avp], group_rules[i].rules);
	if (!err)
		err = define_commands(d);
	if (err)
		return err;
	/* Advertise Cx (auth) in our CER/CEA. */
	rc = fd_disp_app_support(d->app, d->vendor, 1, 0);
	if (rc)
		return fail(rc, "application support", "3GPP Cx");
	return 0;
}

int cx_request_new(const struct cx_dict *d, enum cx_command cmd, struct str dest_realm,
		   struct str dest_host, struct msg **out)
{
	struct msg *m = NULL;
	struct avp *vsai;
	int rc, err;

	rc = fd_msg_new(d->request[cmd], MSGFL_ALLOC_ETEID, &m);
	if (rc)
		return -rc;
	rc = fd_msg_new_session(m, NULL, 0);
	if (!rc)
		rc = fd_msg_add_origin(m, 0);
	err = -rc;
	if (!err)
		err = dmsg_add_group(m, d->base[CX_BASE_VENDOR_SPECIFIC_APPLICATION_ID], &vsai);
	if (!err)
		err = dmsg_add_u32(vsai, d->base[CX_BASE_VENDOR_ID], CX_VENDOR_3GPP);
	if (!err)
		err = dmsg_add_u32(vsai, d->base[CX_BASE_AUTH_APPLICATION_ID], CX_APPLICATION_ID);
	if (!err)
		err = dmsg_add_i32(m, d->base[CX_BASE_AUTH_SESSION_STATE], CX_NO_STATE_MAINTAINED);
	if (!err)
		err = dmsg_add_str(m, d->base[CX_BASE_DESTINATION_REALM], dest_realm);
	if (!err && dest_host.len)
		err = dmsg_add_str(m, d->base[CX_BASE_DESTINATION_HOST], dest_host);
	if (err) {
		fd_msg_free(m);
		return err;
	}
	*out = m;
	return 0;
}

int cx_answer_new(const struct cx_dict *d, struct msg **msg)
{
	struct avp *vsai;
	int rc, err;

	rc = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (rc)
		return -rc;
	err = dmsg_add_group(*msg, d->base[CX_BASE_VENDOR_SPECIFIC_APPLICATION_ID], &vsai);
	if (!err)
		err = dmsg_add_u32(vsai, d->base[CX_BASE_VENDOR_ID], CX_VENDOR_3GPP);
	if (!err)
		err = dmsg_add_u32(vsai, d->base[CX_BASE_AUTH_APPLICATION_ID], CX_APPLICATION_ID);
	if (!err)
		err = dmsg_add_i32(*msg, d->base[CX_BASE_AUTH_SESSION_STATE],
				   CX_NO_STATE_MAINTAINED);
	if (!err)
		err = -fd_msg_add_origin(*msg, 0);
	return err;
}

int cx_set_result(const struct cx_dict *d, struct msg *ans, uint32_t code)
{
	return dmsg_add_u32(ans, d->base[CX_BASE_RESULT_CODE], code);
}

int cx_set_experimental(const struct cx_dict *d, struct msg *ans, uint32_t code)
{
	struct avp *er;
	int err = dmsg_add_group(ans, d->base[CX_BASE_EXPERIMENTAL_RESULT], &er);

	if (!err)
		err = dmsg_add_u32(er, d->base[CX_BASE_VENDOR_ID], CX_VENDOR_3GPP);
	if (!err)
		err = dmsg_add_u32(er, d->base[CX_BASE_EXPERIMENTAL_RESULT_CODE], code);
	return err;
}

int cx_get_result(const struct cx_dict *d, struct msg *ans, uint32_t *code, bool *experimental)
{
	struct avp *er;

	if (dmsg_get_u32(ans, d->base[CX_BASE_RESULT_CODE], code) == 0) {
		*experimental = false;
		return 0;
	}
	if (dmsg_find(ans, d->base[CX_BASE_EXPERIMENTAL_RESULT], NULL, &er) == 0 &&
	    dmsg_get_u32(er, d->base[CX_BASE_EXPERIMENTAL_RESULT_CODE], code) == 0) {
		*experimental = true;
		return 0;
	}
	return -ENOENT;
}
