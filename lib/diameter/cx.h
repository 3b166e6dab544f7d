/*
 * cx.h - the Cx application (TS 29.228 / 29.229) over freeDiameter.
 *
 * Debian's freeDiameter ships no Cx dictionary, so simreg defines one at
 * start-up from the lists below: the 3GPP vendor, application 16777216,
 * commands 300 to 305 with their ABNF rules, and every AVP Cx uses (one
 * line each; the list is checked against the specification's table,
 * tests/data/cx_dictionary.tsv, by tests/diameter).
 *
 * cx_dict_init() fills a struct cx_dict with the dictionary objects
 * message code needs. freeDiameter's dictionary is process-wide, so the
 * Cx definitions are too; cx_dict_init() may be called once per process.
 */
#ifndef SIMREG_DIAMETER_CX_H
#define SIMREG_DIAMETER_CX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

struct dict_object;
struct msg;

#define CX_VENDOR_3GPP 10415
#define CX_APPLICATION_ID 16777216

/* AVP data types, as the dictionary needs them. */
enum cx_type {
	CX_T_OCTETS,  /* OctetString */
	CX_T_UTF8,    /* UTF8String */
	CX_T_URI,     /* DiameterURI */
	CX_T_U32,     /* Unsigned32 */
	CX_T_ENUM,    /* Enumerated (Integer32) */
	CX_T_GROUPED, /* Grouped */
};

/*
 * The 3GPP AVPs of Cx: X(id, name, code, type, M bit). All carry V; the M
 * bit is set on the Release 5 AVPs and left clear on those added later
 * (29.229 table 6.3.1), so that older peers may ignore them.
 */
#define CX_AVPS(X)                                                                                 \
	X(VISITED_NETWORK_IDENTIFIER, "Visited-Network-Identifier", 600, CX_T_OCTETS, 1)           \
	X(PUBLIC_IDENTITY, "Public-Identity", 601, CX_T_UTF8, 1)                                   \
	X(SERVER_NAME, "Server-Name", 602, CX_T_UTF8, 1)                                           \
	X(SERVER_CAPABILITIES, "Server-Capabilities", 603, CX_T_GROUPED, 1)                        \
	X(MANDATORY_CAPABILITY, "Mandatory-Capability", 604, CX_T_U32, 1)                          \
	X(OPTIONAL_CAPABILITY, "Optional-Capability", 605, CX_T_U32, 1)                            \
	X(USER_DATA, "User-Data", 606, CX_T_OCTETS, 1)                                             \
	X(SIP_NUMBER_AUTH_ITEMS, "SIP-Number-Auth-Items", 607, CX_T_U32, 1)                        \
	X(SIP_AUTHENTICATION_SCHEME, "SIP-Authentication-Scheme", 608, CX_T_UTF8, 1)               \
	X(SIP_AUTHENTICATE, "SIP-Authenticate", 609, CX_T_OCTETS, 1)                               \
	X(SIP_AUTHORIZATION, "SIP-Authorization", 610, CX_T_OCTETS, 1)                             \
	X(SIP_AUTHENTICATION_CONTEXT, "SIP-Authentication-Context", 611, CX_T_OCTETS, 1)           \
	X(SIP_AUTH_DATA_ITEM, "SIP-Auth-Data-Item", 612, CX_T_GROUPED, 1)                          \
	X(SIP_ITEM_NUMBER, "SIP-Item-Number", 613, CX_T_U32, 1)                                    \
	X(SERVER_ASSIGNMENT_TYPE, "Server-Assignment-Type", 614, CX_T_ENUM, 1)                     \
	X(DEREGISTRATION_REASON, "Deregistration-Reason", 615, CX_T_GROUPED, 1)                    \
	X(REASON_CODE, "Reason-Code", 616, CX_T_ENUM, 1)                                           \
	X(REASON_INFO, "Reason-Info", 617, CX_T_UTF8, 1)                                           \
	X(CHARGING_INFORMATION, "Charging-Information", 618, CX_T_GROUPED, 1)                      \
	X(PRIMARY_EVENT_CHARGING_FUNCTION_NAME, "Primary-Event-Charging-Function-Name",            \
	  619, CX_T_URI, 1)                                                                        \
	X(SECONDARY_EVENT_CHARGING_FUNCTION_NAME, "Secondary-Event-Charging-Function-Name",        \
	  620, CX_T_URI, 1)                                                                        \
	X(PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME, "Primary-Charging-Collection-Function-Name",  \
	  621, CX_T_URI, 1)                                                                        \
	X(SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME, "Secondary-Charging-Collection-Function-Name", \
	  622, CX_T_URI, 1)                                                                        \
	X(USER_AUTHORIZATION_TYPE, "User-Authorization-Type", 623, CX_T_ENUM, 1)                   \
	X(USER_DATA_ALREADY_AVAILABLE, "User-Data-Already-Available", 624, CX_T_ENUM, 1)           \
	X(CONFIDENTIALITY_KEY, "Confidentiality-Key", 625, CX_T_OCTETS, 1)                         \
	X(INTEGRITY_KEY, "Integrity-Key", 626, CX_T_OCTETS, 1)                                     \
	X(SUPPORTED_FEATURES, "Supported-Features", 628, CX_T_GROUPED, 0)                          \
	X(FEATURE_LIST_ID, "Feature-List-ID", 629, CX_T_U32, 0)                                    \
	X(FEATURE_LIST, "Feature-List", 630, CX_T_U32, 0)                                          \
	X(SUPPORTED_APPLICATIONS, "Supported-Applications", 631, CX_T_GROUPED, 0)                  \
	X(ASSOCIATED_IDENTITIES, "Associated-Identities", 632, CX_T_GROUPED, 0)                    \
	X(ORIGINATING_REQUEST, "Originating-Request", 633, CX_T_ENUM, 1)                           \
	X(WILDCARDED_PUBLIC_IDENTITY, "Wildcarded-Public-Identity", 634, CX_T_UTF8, 0)             \
	X(SIP_DIGEST_AUTHENTICATE, "SIP-Digest-Authenticate", 635, CX_T_GROUPED, 0)                \
	X(UAR_FLAGS, "UAR-Flags", 637, CX_T_U32, 0)                                                \
	X(LOOSE_ROUTE_INDICATION, "Loose-Route-Indication", 638, CX_T_ENUM, 0)                     \
	X(SCSCF_RESTORATION_INFO, "SCSCF-Restoration-Info", 639, CX_T_GROUPED, 0)                  \
	X(PATH, "Path", 640, CX_T_OCTETS, 0)                                                       \
	X(CONTACT, "Contact", 641, CX_T_OCTETS, 0)                                                 \
	X(SUBSCRIPTION_INFO, "Subscription-Info", 642, CX_T_GROUPED, 0)                            \
	X(CALL_ID_SIP_HEADER, "Call-ID-SIP-Header", 643, CX_T_OCTETS, 0)                           \
	X(FROM_SIP_HEADER, "From-SIP-Header", 644, CX_T_OCTETS, 0)                                 \
	X(TO_SIP_HEADER, "To-SIP-Header", 645, CX_T_OCTETS, 0)                                     \
	X(RECORD_ROUTE, "Record-Route", 646, CX_T_OCTETS, 0)                                       \
	X(ASSOCIATED_REGISTERED_IDENTITIES, "Associated-Registered-Identities",                    \
	  647, CX_T_GROUPED, 0)                                                                    \
	X(MULTIPLE_REGISTRATION_INDICATION, "Multiple-Registration-Indication",                    \
	  648, CX_T_ENUM, 0)                                                                       \
	X(RESTORATION_INFO, "Restoration-Info", 649, CX_T_GROUPED, 0)                              \
	X(SESSION_PRIORITY, "Session-Priority", 650, CX_T_ENUM, 0)                                 \
	X(LIA_FLAGS, "LIA-Flags", 653, CX_T_U32, 0)                                                \
	X(INITIAL_CSEQ_SEQUENCE_NUMBER, "Initial-CSeq-Sequence-Number", 654, CX_T_U32, 0)          \
	X(SAR_FLAGS, "SAR-Flags", 655, CX_T_U32, 0)

enum cx_avp {
#define X(id, name, code, type, m) CX_AVP_##id,
	CX_AVPS(X)
#undef X
	CX_AVP__COUNT
};

/* Base-protocol AVPs (RFC 6733) Cx messages carry; freeDiameter defines them. */
#define CX_BASE_AVPS(X)                                                         \
	X(SESSION_ID, "Session-Id")                                             \
	X(ORIGIN_HOST, "Origin-Host")                                           \
	X(ORIGIN_REALM, "Origin-Realm")                                         \
	X(DESTINATION_HOST, "Destination-Host")                                 \
	X(DESTINATION_REALM, "Destination-Realm")                               \
	X(USER_NAME, "User-Name")                                               \
	X(RESULT_CODE, "Result-Code")                                           \
	X(EXPERIMENTAL_RESULT, "Experimental-Result")                           \
	X(EXPERIMENTAL_RESULT_CODE, "Experimental-Result-Code")                 \
	X(VENDOR_ID, "Vendor-Id")                                               \
	X(AUTH_APPLICATION_ID, "Auth-Application-Id")                           \
	X(VENDOR_SPECIFIC_APPLICATION_ID, "Vendor-Specific-Application-Id")     \
	X(AUTH_SESSION_STATE, "Auth-Session-State")                             \
	X(FAILED_AVP, "Failed-AVP")                                             \
	X(PROXY_INFO, "Proxy-Info")                                             \
	X(ROUTE_RECORD, "Route-Record")

enum cx_base_avp {
#define X(id, name) CX_BASE_##id,
	CX_BASE_AVPS(X)
#undef X
	CX_BASE__COUNT
};

/* Commands: X(id, request name, answer name, code). */
#define CX_COMMANDS(X)                                                                   \
	X(UA, "User-Authorization-Request", "User-Authorization-Answer", 300)            \
	X(SA, "Server-Assignment-Request", "Server-Assignment-Answer", 301)              \
	X(LI, "Location-Info-Request", "Location-Info-Answer", 302)                      \
	X(MA, "Multimedia-Auth-Request", "Multimedia-Auth-Answer", 303)                  \
	X(RT, "Registration-Termination-Request", "Registration-Termination-Answer", 304) \
	X(PP, "Push-Profile-Request", "Push-Profile-Answer", 305)

enum cx_command {
#define X(id, req, ans, code) CX_CMD_##id,
	CX_COMMANDS(X)
#undef X
	CX_CMD__COUNT
};

/* The command codes on the wire: CX_CMD_CODE_MA is 303. */
enum cx_command_code {
#define X(id, req, ans, code) CX_CMD_CODE_##id = code,
	CX_COMMANDS(X)
#undef X
};

/* Experimental-Result-Code values of Cx (29.229 section 6.2), vendor 10415. */
#define CX_EXPERIMENTAL_RESULTS(X)                                               \
	X(FIRST_REGISTRATION, "DIAMETER_FIRST_REGISTRATION", 2001)              \
	X(SUBSEQUENT_REGISTRATION, "DIAMETER_SUBSEQUENT_REGISTRATION", 2002)    \
	X(UNREGISTERED_SERVICE, "DIAMETER_UNREGISTERED_SERVICE", 2003)          \
	X(SUCCESS_SERVER_NAME_NOT_STORED, "DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED", 2004) \
	X(ERROR_USER_UNKNOWN, "DIAMETER_ERROR_USER_UNKNOWN", 5001)              \
	X(ERROR_IDENTITIES_DONT_MATCH, "DIAMETER_ERROR_IDENTITIES_DONT_MATCH", 5002) \
	X(ERROR_IDENTITY_NOT_REGISTERED, "DIAMETER_ERROR_IDENTITY_NOT_REGISTERED", 5003) \
	X(ERROR_ROAMING_NOT_ALLOWED, "DIAMETER_ERROR_ROAMING_NOT_ALLOWED", 5004) \
	X(ERROR_IDENTITY_ALREADY_REGISTERED, "DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED", 5005) \
	X(ERROR_AUTH_SCHEME_NOT_SUPPORTED, "DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED", 5006) \
	X(ERROR_IN_ASSIGNMENT_TYPE, "DIAMETER_ERROR_IN_ASSIGNMENT_TYPE", 5007)  \
	X(ERROR_TOO_MUCH_DATA, "DIAMETER_ERROR_TOO_MUCH_DATA", 5008)            \
	X(ERROR_NOT_SUPPORTED_USER_DATA, "DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA", 5009) \
	X(ERROR_FEATURE_UNSUPPORTED, "DIAMETER_ERROR_FEATURE_UNSUPPORTED", 5011)

enum cx_experimental_result {
#define X(id, name, code) CX_EXP_##id = code,
	CX_EXPERIMENTAL_RESULTS(X)
#undef X
};

/* Base Result-Code values used by Cx (RFC 6733 section 7.1). */
#define DIA_RESULT_CODES(X)                                             \
	X(SUCCESS, "DIAMETER_SUCCESS", 2001)                            \
	X(UNABLE_TO_DELIVER, "DIAMETER_UNABLE_TO_DELIVER", 3002)        \
	X(TOO_BUSY, "DIAMETER_TOO_BUSY", 3004)                          \
	X(AVP_UNSUPPORTED, "DIAMETER_AVP_UNSUPPORTED", 5001)            \
	X(AUTHORIZATION_REJECTED, "DIAMETER_AUTHORIZATION_REJECTED", 5003) \
	X(INVALID_AVP_VALUE, "DIAMETER_INVALID_AVP_VALUE", 5004)        \
	X(MISSING_AVP, "DIAMETER_MISSING_AVP", 5005)                    \
	X(UNABLE_TO_COMPLY, "DIAMETER_UNABLE_TO_COMPLY", 5012)

enum dia_result_code {
#define X(id, name, code) DIA_##id = code,
	DIA_RESULT_CODES(X)
#undef X
};

/* Server-Assignment-Type (29.229 section 6.3.15). */
#define CX_SERVER_ASSIGNMENT_TYPES(X)                                                    \
	X(NO_ASSIGNMENT, 0)                                                              \
	X(REGISTRATION, 1)                                                               \
	X(RE_REGISTRATION, 2)                                                            \
	X(UNREGISTERED_USER, 3)                                                          \
	X(TIMEOUT_DEREGISTRATION, 4)                                                     \
	X(USER_DEREGISTRATION, 5)                                                        \
	X(TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME, 6)                                   \
	X(USER_DEREGISTRATION_STORE_SERVER_NAME, 7)                                      \
	X(ADMINISTRATIVE_DEREGISTRATION, 8)                                              \
	X(AUTHENTICATION_FAILURE, 9)                                                     \
	X(AUTHENTICATION_TIMEOUT, 10)                                                    \
	X(DEREGISTRATION_TOO_MUCH_DATA, 11)                                              \
	X(AAA_USER_DATA_REQUEST, 12)                                                     \
	X(PGW_UPDATE, 13)

enum cx_sat {
#define X(id, v) CX_SAT_##id = v,
	CX_SERVER_ASSIGNMENT_TYPES(X)
#undef X
	CX_SAT__COUNT
};

/* User-Authorization-Type (29.229 section 6.3.24). */
enum cx_uat {
	CX_UAT_REGISTRATION = 0,
	CX_UAT_DE_REGISTRATION = 1,
	CX_UAT_REGISTRATION_AND_CAPABILITIES = 2,
};

/* User-Data-Already-Available (6.3.26), Multiple-Registration-Indication (6.3.51). */
enum {
	CX_USER_DATA_NOT_AVAILABLE = 0,
	CX_USER_DATA_ALREADY_AVAILABLE = 1,
	CX_NOT_MULTIPLE_REGISTRATION = 0,
	CX_MULTIPLE_REGISTRATION = 1,
};

/* UAR-Flags bit 0 (6.3.44). */
#define CX_UAR_FLAG_EMERGENCY 0x1
/* Auth-Session-State NO_STATE_MAINTAINED (RFC 6733 section 8.11). */
#define CX_NO_STATE_MAINTAINED 1

/* What the tables above say about an entry, for checks and dumps. */
struct cx_avp_info {
	const char *name;
	uint32_t code;
	enum cx_type type;
	bool mandatory;         /* M bit set when we send it */
};
extern const struct cx_avp_info cx_avp_info[CX_AVP__COUNT];

struct cx_command_info {
	const char *request, *answer;
	uint32_t code;
};
extern const struct cx_command_info cx_command_info[CX_CMD__COUNT];

/* Name of a Server-Assignment-Type value, or NULL. */
const char *cx_sat_name(uint32_t sat);
/* Name of an Experimental-Result-Code (vendor 10415) or Result-Code, or NULL. */
const char *cx_experimental_name(uint32_t code);
const char *dia_result_name(uint32_t code);

/* The dictionary objects Cx code uses. */
struct cx_dict {
	struct dict_object *vendor;
	struct dict_object *app;
	struct dict_object *avp[CX_AVP__COUNT];
	struct dict_object *base[CX_BASE__COUNT];
	struct dict_object *request[CX_CMD__COUNT];
	struct dict_object *answer[CX_CMD__COUNT];
};

/*
 * Define the Cx vendor, application, AVPs, commands and their rules in
 * freeDiameter's dictionary (fd_core_initialize() must have run), and
 * fill d. Returns 0, or a negative errno (the freeDiameter error) after
 * logging which definition failed.
 */
int cx_dict_init(struct cx_dict *d);

/*
 * Message helpers for Cx (the generic ones are in diameter/dmsg.h).
 */

/*
 * A new Cx request of command `cmd` with Session-Id (optional suffix
 * `sid_opt`), Vendor-Specific-Application-Id, Auth-Session-State,
 * Origin-Host/Realm and Destination-Realm (and Destination-Host if not
 * empty). The caller owns *out until fd_msg_send(). Returns 0 or -errno.
 */
int cx_request_new(const struct cx_dict *d, enum cx_command cmd, struct str dest_realm,
		   struct str dest_host, struct msg **out);

/*
 * Turn the request *msg into a new answer (freeDiameter links the request
 * to it) with Vendor-Specific-Application-Id, Auth-Session-State and
 * Origin-Host/Realm. Returns 0 or -errno.
 */
int cx_answer_new(const struct cx_dict *d, struct msg **msg);

/* Result-Code AVP (base codes). */
int cx_set_result(const struct cx_dict *d, struct msg *ans, uint32_t code);

/* Experimental-Result { Vendor-Id 10415, Experimental-Result-Code }. */
int cx_set_experimental(const struct cx_dict *d, struct msg *ans, uint32_t code);

/*
 * Read the outcome of an answer: *code gets Result-Code or the
 * Experimental-Result-Code, *experimental says which. -ENOENT if neither.
 */
int cx_get_result(const struct cx_dict *d, struct msg *ans, uint32_t *code, bool *experimental);

#endif
