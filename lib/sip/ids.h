/*
 * ids.h - what every part of the SIP library shares: the method and header
 * ids generated from methods.def and headers.def, their name tables, and
 * the error report.
 */
#ifndef SIMREG_SIP_IDS_H
#define SIMREG_SIP_IDS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* ------------------------------------------------------------------ */
/* Methods and headers, generated from methods.def and headers.def    */

enum sip_method {
	SIP_METHOD_OTHER = 0, /* an extension method; see sip_msg.method_name */
#define SIP_METHOD(id, name) SIP_METHOD_##id,
#include "sip/methods.def"
#undef SIP_METHOD
	SIP_METHOD__COUNT
};

enum sip_hdr_id {
	SIP_HDR_OTHER = 0, /* not in headers.def: kept opaque */
#define SIP_HDR(id, name, compact, flags, dec) SIP_HDR_##id,
#include "sip/headers.def"
#undef SIP_HDR
	SIP_HDR__COUNT
};

/* Header flags, used in headers.def without the SIP_HF_ prefix. */
enum sip_hdr_flags {
	SIP_HF_LIST = 1 << 0,
	SIP_HF_SINGLE = 1 << 1,
	SIP_HF_MANDATORY = 1 << 2,
	SIP_HF_EMPTY = 1 << 3,
};

/* Canonical name ("Call-ID"); "" for SIP_HDR_OTHER or an out-of-range id. */
const char *sip_hdr_name(enum sip_hdr_id id);
/* Compact form ('i') or 0. */
char sip_hdr_compact(enum sip_hdr_id id);
/* SIP_HF_* of a header; 0 for SIP_HDR_OTHER. */
unsigned sip_hdr_flags(enum sip_hdr_id id);
/* Header id of a name as written (any case, full or compact); SIP_HDR_OTHER if unknown. */
enum sip_hdr_id sip_hdr_lookup(struct str name);

/* Canonical name ("REGISTER"), or "" for SIP_METHOD_OTHER. */
const char *sip_method_name(enum sip_method m);
/* Exact, case-sensitive match (RFC 3261 7.1); SIP_METHOD_OTHER if unknown. */
enum sip_method sip_method_lookup(struct str name);

/* ------------------------------------------------------------------ */
/* Errors                                                             */

/*
 * Why a parse or a decode failed. All members describe the first problem
 * found; `where` points into the caller's buffer.
 *
 *   code    the negative errno the function returned:
 *           -EBADMSG malformed, -EMSGSIZE a limit was exceeded,
 *           -EPROTONOSUPPORT SIP-Version other than 2.0,
 *           -ENOENT a mandatory header is missing (sip_msg_check)
 *   reason  static English text, e.g. "CSeq number above 2^32-1"
 *   hdr     header at fault; SIP_HDR_OTHER with `name` set for an unknown
 *           one, or -1 when the start line or the framing is at fault
 *   name    header name as written, when hdr != -1
 *   where   the offending line or value
 *   line    1-based line number of `where` in the message (0 if unknown)
 *   status  the response a UAS would answer with: 400, 505, 513 ...
 */
struct sip_error {
	int code;
	const char *reason;
	int hdr;
	struct str name;
	struct str where;
	uint32_t line;
	uint16_t status;
};

/*
 * Fill `err` (if not NULL) and return `code`. `where` is the offending
 * slice; line, hdr and name are left for the caller to add. Used by every
 * decoder so that the single exit of a function can be `return
 * sip_fail(err, -EBADMSG, "reason", slice)`.
 */
int sip_fail(struct sip_error *err, int code, const char *reason, struct str where);

#endif
