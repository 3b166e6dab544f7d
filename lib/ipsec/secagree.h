/*
 * secagree.h - security agreement for IMS AKA (RFC 3329, TS 33.203 §7 and
 * Annex H, TS 24.229 §5.1.1.2 / §5.2.2): the ipsec-3gpp mechanisms of
 * Security-Client, Security-Server and Security-Verify.
 *
 * lib/sip decodes the three headers into struct sip_secmech (hdr.h); this
 * module gives them meaning, the same way for the P-CSCF and the UE:
 *
 *   offers      ipsec_offer_decode() keeps the ipsec-3gpp entries simreg can
 *               use (algorithms it knows, ESP, transport mode) and refuses
 *               entries that could not describe an SA set at all (no SPIs,
 *               SPI in the reserved range, port 0, port-c = port-s ...);
 *   choosing    the P-CSCF picks from the UE's Security-Client by its own
 *               preference list (33.203 Annex P.3: "according to its
 *               priorities"), ipsec_offer_choose(); the UE picks from the
 *               P-CSCF's Security-Server the entry with the highest q it
 *               supports (RFC 3329 §2.3.1), ipsec_offer_choose_by_q();
 *   encoding    ipsec_mech_print() writes one entry (Security-Server from the
 *               P-CSCF's half of an SA set, or the UE's Security-Client);
 *   bidding     the comparisons that stop an attacker on the first,
 *   down        unprotected exchange from removing the strong mechanisms
 *               (RFC 3329 §2.3.1 step 4, 33.203 §7.2): the protected
 *               REGISTER's Security-Verify must equal the Security-Server
 *               that was sent, and its Security-Client the first,
 *               unprotected offer. ipsec_secmech_canon() turns a list into
 *               a canonical text (parameter order, case and q spelling no
 *               longer matter, values do), which a P-CSCF can keep in its
 *               registration and its database, and ipsec_secagree_check()
 *               runs both comparisons on a received request.
 *
 * Nothing here allocates except into a caller's struct buf.
 */
#ifndef SIMREG_IPSEC_SECAGREE_H
#define SIMREG_IPSEC_SECAGREE_H

#include <stdbool.h>
#include <stdint.h>

#include "aka/esp_keys.h"
#include "core/buf.h"
#include "core/str.h"
#include "ipsec/sa.h"
#include "sip/hdr.h"
#include "sip/msg.h"

/* The mechanism name of 33.203 Annex H (compared case-insensitively). */
#define IPSEC_MECH_NAME "ipsec-3gpp"

/*
 * Most mechanism entries looked at in one header. A UE offers one entry per
 * algorithm pair it supports (a handful); a longer list is refused rather
 * than walked.
 */
#define IPSEC_OFFER_MAX 16

/* No q parameter (RFC 3329: absent q ranks below every present one). */
#define IPSEC_Q_NONE 0xffffu

/* One integrity / encryption pair: the unit of preference. */
struct ipsec_alg_pair {
	enum esp_auth_alg alg;
	enum esp_enc_alg ealg;
};

/* An ordered preference list, most preferred first. */
#define IPSEC_PREFS_MAX (ESP_AUTH__COUNT * ESP_ENC__COUNT)
struct ipsec_prefs {
	unsigned n;
	struct ipsec_alg_pair v[IPSEC_PREFS_MAX];
};

/*
 * The default preference: HMAC-SHA-1-96 before HMAC-MD5-96 (removed in
 * later releases of 33.203), AES-CBC before NULL, DES-EDE3-CBC last (legacy
 * UEs only). Integrity is mandatory in IMS; confidentiality is an operator
 * choice, so NULL encryption is acceptable by default.
 */
void ipsec_prefs_default(struct ipsec_prefs *p);

/*
 * Parse one entry "ALG/EALG" ("hmac-sha-1-96/aes-cbc"; names as in
 * Security-Client, any case) and append it to p.
 * Returns 0, -EINVAL (unknown name, no '/'), -EEXIST (pair listed twice),
 * -ENOSPC (list full).
 */
int ipsec_prefs_add(struct ipsec_prefs *p, struct str text);

/* Position of a pair in the list (0 = most preferred), or -1. */
int ipsec_prefs_rank(const struct ipsec_prefs *p, enum esp_auth_alg alg, enum esp_enc_alg ealg);

/* One usable ipsec-3gpp mechanism. */
struct ipsec_mech {
	enum esp_auth_alg alg;
	enum esp_enc_alg ealg;  /* ealg absent in the header: NULL (Annex H) */
	uint16_t q;             /* thousandths, or IPSEC_Q_NONE */
	struct ipsec_sec_params sp; /* spi-c, spi-s, port-c, port-s */
	unsigned index;         /* position of the entry in its header (0-based) */
};

/* The usable mechanisms of one header, in header order. */
struct ipsec_offer {
	unsigned n_entries;     /* entries in the header, of any mechanism */
	unsigned n_ignored;     /* entries skipped: other mechanisms, unknown algorithms,
				   AH, tunnel modes */
	unsigned n;
	struct ipsec_mech m[IPSEC_OFFER_MAX];
};

/*
 * ipsec_offer_decode
 *	Keep the usable ipsec-3gpp entries of a decoded Security-Client or
 *	Security-Server list.
 *	v, n  : the entries (sip_msg_secmechs())
 *	out   : filled on success
 *	why   : on failure, a static sentence naming the fault
 *
 * An ipsec-3gpp entry is skipped (counted in n_ignored) when simreg cannot
 * use it but a peer legitimately might offer it: an algorithm simreg does
 * not implement (aes-gmac, aes-gcm), prot=ah, mod=tun / UDP-enc-tun (NAT
 * traversal, Annex M). An entry is refused as malformed, failing the whole
 * list, when it cannot name an SA set: no alg, a missing spi-c, spi-s,
 * port-c or port-s, an SPI below 256 (reserved, RFC 4303 §2.1), spi-c equal
 * to spi-s, a port 0, port-c equal to port-s.
 *
 * Returns 0 (out->n may be 0: nothing usable was offered), -E2BIG (more
 * than IPSEC_OFFER_MAX entries), -EBADMSG (a malformed ipsec-3gpp entry).
 */
int ipsec_offer_decode(const struct sip_secmech *v, unsigned n, struct ipsec_offer *out,
		       const char **why);

/*
 * The same, reading the header `id` (SIP_HDR_SECURITY_CLIENT or
 * SIP_HDR_SECURITY_SERVER) of a message. Returns as above, -ENOENT when
 * the header is absent, or -EBADMSG when lib/sip cannot decode it.
 */
int ipsec_offer_from_msg(const struct sip_msg *m, enum sip_hdr_id id, struct ipsec_offer *out,
			 const char **why);

/*
 * ipsec_offer_choose
 *	The server's choice (P-CSCF): the offered mechanism whose algorithm
 *	pair comes first in `prefs`; among entries with the same pair, the
 *	first in the header.
 * Returns 0 with *out, or -ENOENT when no offered pair is in prefs.
 */
int ipsec_offer_choose(const struct ipsec_offer *o, const struct ipsec_prefs *prefs,
		       struct ipsec_mech *out);

/*
 * ipsec_offer_choose_by_q
 *	The client's choice (UE, RFC 3329 §2.3.1): among the entries whose
 *	pair is in `supported`, the one with the highest q (absent q ranks
 *	lowest); ties go to the earlier entry.
 * Returns 0 with *out, or -ENOENT.
 */
int ipsec_offer_choose_by_q(const struct ipsec_offer *o, const struct ipsec_prefs *supported,
			    struct ipsec_mech *out);

/*
 * ipsec_mech_print
 *	Append one mechanism as a header value:
 *	  ipsec-3gpp;prot=esp;mod=trans;spi-c=1;spi-s=2;port-c=3;port-s=4;ealg=aes-cbc;alg=hmac-sha-1-96[;q=0.1]
 *	(q only when m->q != IPSEC_Q_NONE, printed with up to three decimals).
 *	Errors are the buffer's (buf_error()).
 */
void ipsec_mech_print(struct buf *b, const struct ipsec_mech *m);

/*
 * ipsec_secmech_canon
 *	A canonical text of a mechanism list, for equality: two lists are the
 *	same mechanisms with the same parameters exactly when their canonical
 *	texts are equal, whatever the order of parameters and entries, the
 *	case of names and tokens, and the spelling of q ("0.1" = "0.100").
 *	Every parameter counts, known or not; a parameter present in one and
 *	absent in the other makes them differ (prot=esp is not "no prot").
 *	Errors are the buffer's (buf_error()).
 */
void ipsec_secmech_canon(struct buf *b, const struct sip_secmech *v, unsigned n);

/*
 * The canonical text of the header `id` of a message. Returns 0, -ENOENT
 * (absent), -E2BIG (more than IPSEC_OFFER_MAX entries), -EBADMSG (does not
 * decode), or the buffer's error.
 */
int ipsec_secmech_canon_msg(struct buf *b, const struct sip_msg *m, enum sip_hdr_id id);

/* The outcomes of ipsec_secagree_check(), each with its reason. */
#define IPSEC_SECAGREE_RESULTS(X)                                                          \
	X(OK, "security agreement verified")                                              \
	X(NO_VERIFY, "Security-Verify is missing")                                         \
	X(BAD_VERIFY, "Security-Verify does not decode")                                   \
	X(VERIFY_MISMATCH, "Security-Verify differs from the Security-Server sent")        \
	X(NO_CLIENT, "Security-Client is missing")                                         \
	X(BAD_CLIENT, "Security-Client does not decode")                                   \
	X(CLIENT_MISMATCH, "Security-Client differs from the first offer")

enum ipsec_secagree_result {
#define X(id, text) IPSEC_SECAGREE_##id,
	IPSEC_SECAGREE_RESULTS(X)
#undef X
	IPSEC_SECAGREE__COUNT
};

const char *ipsec_secagree_result_text(enum ipsec_secagree_result r);

/*
 * ipsec_secagree_check
 *	The bidding-down check of the first protected request after a
 *	challenge (33.203 §7.2, 24.229 §5.2.2.1; RFC 3329 §2.3.1 step 4):
 *	  - Security-Verify must equal `sent_server`, the canonical text of
 *	    the Security-Server list sent with the challenge;
 *	  - Security-Client must equal `first_client`, the canonical text of
 *	    the Security-Client of the unprotected request that started the
 *	    procedure (the UE repeats it unchanged).
 *	Either canonical text may be empty to skip that comparison.
 * Returns the outcome; anything but IPSEC_SECAGREE_OK means the request
 * must be refused.
 */
enum ipsec_secagree_result ipsec_secagree_check(const struct sip_msg *m, struct str sent_server,
						struct str first_client);

#endif
