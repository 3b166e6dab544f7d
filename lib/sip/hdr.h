/*
 * hdr.h - typed decoders of SIP header values.
 *
 * Every decoder reads one header value (a struct sip_hdr's `value`, i.e. one
 * element of a comma list) and fills a caller-owned struct with slices into
 * the message; nothing is allocated or copied. Every struct keeps `raw`, the
 * value as written, next to the decoded fields. A string member that is
 * absent has .s == NULL (present but empty has .s != NULL, .len == 0).
 * Quoted strings are stored without their quotes and still escaped: call
 * sip_unquote() to resolve quoted-pairs into a buffer of your own.
 *
 * Folded values are fine: inside a value every CR and LF is part of LWS.
 *
 * Each decoder returns 0, or -EBADMSG / -ERANGE with the reason and the
 * offending part of the value in `err` (which may be NULL). On failure the
 * output struct is unspecified.
 *
 * Messages cache the headers every element needs (top Via, From, To,
 * Call-ID, CSeq, Max-Forwards, Expires, Request-URI): sip_msg_via() and
 * friends decode on first use and return the cached result afterwards.
 */
#ifndef SIMREG_SIP_HDR_H
#define SIMREG_SIP_HDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/ids.h"
#include "sip/uri.h"

struct sip_msg;
struct sip_hdr;

/* ------------------------------------------------------------------ */
/* Building blocks                                                    */

/* One ";name[=value]" parameter of a header value or URI. */
struct sip_param {
	struct str raw;   /* "name = value" as written, without the ';' */
	struct str name;
	struct str value; /* without quotes if quoted; .s == NULL if no '=' */
	bool quoted;
};

/*
 * Take the next parameter from `*rest` (a params slice as stored in the
 * structs below, starting with ';'), advancing `*rest` past it.
 * Returns 1 with `p` filled, 0 at the end, -EBADMSG for an empty or
 * malformed parameter (";;", "name=", an unterminated quoted string).
 */
int sip_param_next(struct str *rest, struct sip_param *p);

/* Find a parameter by name (case-insensitive); false if absent or malformed. */
bool sip_param_find(struct str params, const char *name, struct sip_param *p);

/*
 * Resolve the quoted-pairs of a quoted string's content (as stored by the
 * decoders, without the quotes) into out[0..cap). A quoted-pair may
 * produce NUL (RFC 4475 3.1.1.2): use *outlen, not strlen().
 * Returns 0, -ENOSPC if it does not fit, -EINVAL for a trailing backslash.
 */
int sip_unquote(struct str q, char *out, size_t cap, size_t *outlen);

/* q-value "0.33" -> 330; -EBADMSG unless 0[.ddd] or 1[.000] (RFC 3261 20.10). */
int sip_qvalue_parse(struct str v, uint16_t *thousandths);

/* ------------------------------------------------------------------ */
/* Typed values                                                       */

enum sip_transport {
	SIP_TRANSPORT_OTHER = 0,
	SIP_TRANSPORT_UDP,
	SIP_TRANSPORT_TCP,
	SIP_TRANSPORT_TLS,
	SIP_TRANSPORT_SCTP,
	SIP_TRANSPORT_WS,
	SIP_TRANSPORT_WSS,
};

/* Via (RFC 3261 20.42, RFC 3581 rport, RFC 6223 keep). */
struct sip_via {
	struct str raw;
	struct str protocol;  /* "SIP" */
	struct str version;   /* "2.0" */
	struct str transport; /* "UDP", "UNKNOWN" (RFC 4475 3.1.1.10) */
	enum sip_transport transport_id;
	struct str host;
	enum sip_host_type host_type;
	bool has_port;
	uint16_t port;
	struct str params; /* ";branch=...;rport" as written, or empty */
	struct str branch, received, maddr;
	bool has_ttl;
	uint8_t ttl;
	bool rport;           /* the parameter is present ... */
	bool has_rport_value; /* ... with a value (set by the proxy that received it) */
	uint16_t rport_value;
	bool keep;
	bool has_keep_value;
	uint32_t keep_value;
};

/*
 * From, To, Route, Record-Route, Path, Service-Route, P-Associated-URI,
 * P-Asserted-Identity, P-Preferred-Identity, P-Called-Party-ID, Refer-To:
 * name-addr or addr-spec, then header parameters.
 */
struct sip_addr {
	struct str raw;
	struct str display; /* display-name: tokens as written, or the quoted content */
	bool display_quoted;
	bool angle;         /* name-addr form: the URI was inside < > */
	struct str uri;     /* the URI text; decode with sip_uri_parse() */
	struct str params;  /* header params after the URI (";tag=x;lr"), or empty */
	struct str tag;
};

/* Contact (RFC 3261 20.10, RFC 5626 instance/reg-id). */
struct sip_contact {
	struct sip_addr addr;
	bool star; /* "Contact: *" */
	bool has_q;
	uint16_t q; /* thousandths: q=0.33 -> 330 */
	bool has_expires;
	uint32_t expires;
	struct str instance; /* +sip.instance value without its quotes: "<urn:...>" */
	bool has_reg_id;
	uint32_t reg_id;
};

struct sip_cseq {
	struct str raw;
	uint32_t seq;
	struct str method;
	enum sip_method method_id;
};

/* Digest parameters, from auth_params.def. */
enum sip_auth_param_id {
#define SIP_AUTH_PARAM(id, name, form) SIP_AUTH_##id,
#include "sip/auth_params.def"
#undef SIP_AUTH_PARAM
	SIP_AUTH__COUNT
};

const char *sip_auth_param_name(enum sip_auth_param_id id);

struct sip_auth_param {
	struct str raw;   /* name=value as written */
	struct str value; /* without quotes, still escaped */
	bool quoted;
};

/*
 * Authorization, Proxy-Authorization (credentials), WWW-Authenticate,
 * Proxy-Authenticate (challenge), Authentication-Info (no scheme).
 */
struct sip_auth {
	struct str raw;
	/* "Digest", or an unknown scheme (RFC 4475 3.3.7); empty for Authentication-Info */
	struct str scheme;
	struct str params; /* the auth-param list as written */
	uint32_t present;  /* bit (1 << SIP_AUTH_x) per parameter found */
	struct sip_auth_param p[SIP_AUTH__COUNT];
	uint16_t n_other;  /* parameters not in auth_params.def */
};

static inline bool sip_auth_has(const struct sip_auth *a, enum sip_auth_param_id id)
{
	return a->present & (1u << id);
}

/* Value of a parameter (unquoted, escaped) or STR_NULL. */
static inline struct str sip_auth_get(const struct sip_auth *a, enum sip_auth_param_id id)
{
	return sip_auth_has(a, id) ? a->p[id].value : STR_NULL;
}

/*
 * Take the next auth-param from `*rest` (a `params` slice), as
 * sip_param_next() does for ';' lists (auth-params are comma-separated).
 */
int sip_auth_param_next(struct str *rest, struct sip_param *p);

/* Security-Client / -Server / -Verify mechanism (RFC 3329 2.2, TS 33.203 Annex H). */
enum sip_sec_has {
	SIP_SEC_ALG = 1 << 0,
	SIP_SEC_EALG = 1 << 1,
	SIP_SEC_PROT = 1 << 2,
	SIP_SEC_MOD = 1 << 3,
	SIP_SEC_SPI_C = 1 << 4,
	SIP_SEC_SPI_S = 1 << 5,
	SIP_SEC_PORT_C = 1 << 6,
	SIP_SEC_PORT_S = 1 << 7,
	SIP_SEC_Q = 1 << 8,
	SIP_SEC_D_ALG = 1 << 9,
	SIP_SEC_D_QOP = 1 << 10,
	SIP_SEC_D_VER = 1 << 11,
};

struct sip_secmech {
	struct str raw;
	struct str mech;   /* "ipsec-3gpp", "tls", "digest" ... */
	struct str params; /* every parameter as written, known or not */
	uint32_t present;  /* SIP_SEC_* */
	struct str alg, ealg, prot, mod;
	uint32_t spi_c, spi_s;
	uint16_t port_c, port_s;
	uint16_t q; /* thousandths */
	struct str d_alg, d_qop, d_ver; /* RFC 3329 digest parameters */
	uint16_t n_other; /* parameters not named above */
};

/* Event (RFC 6665 8.2.1): package "reg", optional id. */
struct sip_event {
	struct str raw;
	struct str package; /* event-type, e.g. "reg" or "presence.winfo" */
	struct str id;
	struct str params;
};

enum sip_substate_value {
	SIP_SUBSTATE_OTHER = 0,
	SIP_SUBSTATE_ACTIVE,
	SIP_SUBSTATE_PENDING,
	SIP_SUBSTATE_TERMINATED,
};

/* Subscription-State (RFC 6665 8.2.3). */
struct sip_substate {
	struct str raw;
	struct str state;
	enum sip_substate_value state_id;
	struct str reason;
	bool has_expires;
	uint32_t expires;
	bool has_retry_after;
	uint32_t retry_after;
	struct str params;
};

/* Content-Type, Accept elements: type "/" subtype *(; param). */
struct sip_media {
	struct str raw;
	struct str type, subtype;
	struct str params;
};

/*
 * A token or quoted string with parameters: Content-Disposition,
 * P-Visited-Network-ID (RFC 7315 4.3).
 */
struct sip_tparams {
	struct str raw;
	struct str value; /* without quotes if quoted */
	bool quoted;
	struct str params;
};

/* Retry-After (RFC 3261 20.33). */
struct sip_retry_after {
	struct str raw;
	uint32_t seconds;
	struct str comment; /* inside the parentheses; .s == NULL if none */
	bool has_duration;
	uint32_t duration;
	struct str params;
};

/* P-Charging-Vector (RFC 7315 4.6, TS 24.229 7.2A.5). */
struct sip_pcv {
	struct str raw;
	struct str icid; /* icid-value, unquoted */
	struct str icid_generated_at, orig_ioi, term_ioi, transit_ioi, related_icid;
	struct str params; /* every parameter, icid-value included */
};

/* Date (RFC 3261 20.17): rfc1123-date, GMT only. */
struct sip_date {
	struct str raw;
	int64_t epoch; /* seconds since 1970-01-01T00:00:00Z */
};

/* Warning element (RFC 3261 20.43). */
struct sip_warning {
	struct str raw;
	uint16_t code; /* three digits */
	struct str agent;
	struct str text; /* without quotes */
};

/* The typed decoders, named in headers.def's last column. */
enum sip_dec {
	SIP_DEC_OPAQUE = 0,
	SIP_DEC_VIA,
	SIP_DEC_ADDR,
	SIP_DEC_CONTACT,
	SIP_DEC_CALLID,
	SIP_DEC_CSEQ,
	SIP_DEC_UINT8,
	SIP_DEC_UINT32,
	SIP_DEC_CREDENTIALS,
	SIP_DEC_CHALLENGE,
	SIP_DEC_AUTHINFO,
	SIP_DEC_SECMECH,
	SIP_DEC_TOKEN,
	SIP_DEC_TPARAMS,
	SIP_DEC_EVENT,
	SIP_DEC_SUBSTATE,
	SIP_DEC_MEDIA,
	SIP_DEC_RETRY_AFTER,
	SIP_DEC_PCV,
	SIP_DEC_DATE,
	SIP_DEC_WARNING,
	SIP_DEC__COUNT
};

/* The decoder of a header id (SIP_DEC_OPAQUE for unknown headers). */
enum sip_dec sip_hdr_decoder(enum sip_hdr_id id);

/* Any decoded value; which member is valid follows from sip_hdr_decoder(). */
union sip_hdr_value {
	struct sip_via via;
	struct sip_addr addr;
	struct sip_contact contact;
	struct str callid;
	struct sip_cseq cseq;
	uint32_t number; /* UINT8 and UINT32 */
	struct sip_auth auth;
	struct sip_secmech sec;
	struct str token;
	struct sip_tparams tparams;
	struct sip_event event;
	struct sip_substate substate;
	struct sip_media media;
	struct sip_retry_after retry_after;
	struct sip_pcv pcv;
	struct sip_date date;
	struct sip_warning warning;
	struct str opaque;
};

/* ------------------------------------------------------------------ */
/* Decoders of one value                                              */

int sip_via_parse(struct str v, struct sip_via *out, struct sip_error *err);
int sip_addr_parse(struct str v, struct sip_addr *out, struct sip_error *err);
int sip_contact_parse(struct str v, struct sip_contact *out, struct sip_error *err);
/* Call-ID: word ["@" word] (RFC 3261 25.1); *out is the trimmed value. */
int sip_callid_parse(struct str v, struct str *out, struct sip_error *err);
int sip_cseq_parse(struct str v, struct sip_cseq *out, struct sip_error *err);
/* 1*DIGIT no larger than `max` (leading zeros fine); -ERANGE above it. */
int sip_uint_parse(struct str v, uint32_t max, uint32_t *out, struct sip_error *err);
/* `challenge` selects WWW-/Proxy-Authenticate rules (qop is a quoted list). */
int sip_auth_parse(struct str v, bool challenge, struct sip_auth *out, struct sip_error *err);
int sip_authinfo_parse(struct str v, struct sip_auth *out, struct sip_error *err);
int sip_secmech_parse(struct str v, struct sip_secmech *out, struct sip_error *err);
int sip_token_parse(struct str v, struct str *out, struct sip_error *err);
int sip_tparams_parse(struct str v, struct sip_tparams *out, struct sip_error *err);
int sip_event_parse(struct str v, struct sip_event *out, struct sip_error *err);
int sip_substate_parse(struct str v, struct sip_substate *out, struct sip_error *err);
int sip_media_parse(struct str v, struct sip_media *out, struct sip_error *err);
int sip_retry_after_parse(struct str v, struct sip_retry_after *out, struct sip_error *err);
int sip_pcv_parse(struct str v, struct sip_pcv *out, struct sip_error *err);
int sip_date_parse(struct str v, struct sip_date *out, struct sip_error *err);
int sip_warning_parse(struct str v, struct sip_warning *out, struct sip_error *err);

/*
 * Decode an entry with the decoder headers.def names for it. On failure
 * `err` also carries the header id, name and line.
 */
int sip_hdr_decode(const struct sip_hdr *h, union sip_hdr_value *out, struct sip_error *err);

/* ------------------------------------------------------------------ */
/* Cached accessors of a message                                      */

/* Decode cache embedded in struct sip_msg. */
struct sip_msg_cache {
	struct sip_via via; /* topmost Via value */
	struct sip_addr from, to;
	struct sip_cseq cseq;
	struct str call_id;
	struct sip_uri ruri;
	uint32_t max_forwards;
	uint32_t expires;
};

/*
 * Each returns 0 with a pointer into the message's cache (valid until the
 * next sip_parse() on it), -ENOENT if the header is absent, or the
 * decoder's error (the same on every call). `err` may be NULL.
 */
int sip_msg_via(struct sip_msg *m, const struct sip_via **out, struct sip_error *err);
int sip_msg_from(struct sip_msg *m, const struct sip_addr **out, struct sip_error *err);
int sip_msg_to(struct sip_msg *m, const struct sip_addr **out, struct sip_error *err);
int sip_msg_cseq(struct sip_msg *m, const struct sip_cseq **out, struct sip_error *err);
int sip_msg_call_id(struct sip_msg *m, struct str *out, struct sip_error *err);
int sip_msg_ruri(struct sip_msg *m, const struct sip_uri **out, struct sip_error *err);
int sip_msg_max_forwards(struct sip_msg *m, uint32_t *out, struct sip_error *err);
int sip_msg_expires(struct sip_msg *m, uint32_t *out, struct sip_error *err);

/*
 * Decode every value of a list header into a caller array, in message
 * order. Return 0 and the count in *n, -ENOSPC if there are more than
 * `cap` (the first `cap` are filled, *n is the full count), or the first
 * decoder error.
 */
int sip_msg_addrs(const struct sip_msg *m, enum sip_hdr_id id, struct sip_addr *out,
		  unsigned cap, unsigned *n, struct sip_error *err);
int sip_msg_contacts(const struct sip_msg *m, struct sip_contact *out, unsigned cap,
		     unsigned *n, struct sip_error *err);
int sip_msg_secmechs(const struct sip_msg *m, enum sip_hdr_id id, struct sip_secmech *out,
		     unsigned cap, unsigned *n, struct sip_error *err);

#endif
