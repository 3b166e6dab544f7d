/*
 * auth.h - the UE's USIM and its answers to Digest AKAv1-MD5 challenges.
 *
 * The card itself is lib/aka's struct usim (AUTN check, SQN array); this
 * file adds what a UE around it does (TS 24.229 5.1.1.5):
 *   - reads the challenge out of WWW-Authenticate (RFC 3310 nonce =
 *     base64(RAND || AUTN [|| server data]));
 *   - persists the SQN array to its state file after every accepted
 *     challenge, before the response that proves it leaves the UE, so a
 *     crash can never make the USIM accept the same AUTN twice;
 *   - turns the verdict into the next Authorization header: the response
 *     (RES as the Digest password), an empty response on a MAC failure,
 *     or auts (and the response computed with an empty password, RFC
 *     3310 3.4) on a synchronisation failure.
 */
#ifndef SIMREG_UE_AUTH_H
#define SIMREG_UE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "aka/digest.h"
#include "aka/usim.h"
#include "core/buf.h"
#include "core/str.h"
#include "sip/hdr.h"

struct ue_usim {
	struct usim card;
	char state_path[4096];
	bool check_amf;
	uint8_t amf[AKA_AMF_LEN];
};

/*
 * ue_usim_open
 *	k, op, kind : the subscription's keys (milenage.h)
 *	ind_bits    : SQN profile; delta and L keep their defaults
 *	amf         : AMF to insist on, or NULL to take any
 *	state_path  : SQN state file; loaded when it exists, created on the
 *	              first accepted challenge otherwise
 *	why         : reason on failure (a malformed state file names its line)
 * Returns 0, -EINVAL (bad state file, path too long), -EIO, -ENOMEM, or the
 * errno of reading the file. Close with ue_usim_close(), which wipes keys.
 */
int ue_usim_open(struct ue_usim *u, const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN],
		 enum milenage_opkind kind, unsigned ind_bits, const uint8_t *amf,
		 const char *state_path, char *why, size_t whylen);
void ue_usim_close(struct ue_usim *u);

/* What the UE makes of a 401 (TS 24.229 5.1.1.5.1, 5.1.1.5.3). */
enum ue_aka_verdict {
	UE_AKA_OK,           /* network authenticated; RES, CK, IK valid */
	UE_AKA_MAC_FAILURE,  /* MAC-A wrong (or AMF refused): empty response */
	UE_AKA_SYNC_FAILURE, /* SQN not fresh: auts */
	UE_AKA_BAD,          /* not an AKAv1-MD5 challenge we can read */
};

const char *ue_aka_verdict_name(enum ue_aka_verdict v);

/*
 * The challenge as received, copied so that it outlives the 401, and what
 * the USIM made of it. Holds RES, CK and IK: wipe with ue_challenge_wipe().
 */
struct ue_challenge {
	char realm[128];
	char nonce[AKAV1_NONCE_MAX + 1];
	char opaque[128];
	bool has_opaque;
	bool qop_auth;       /* the challenge offered qop=auth: we use it */
	enum ue_aka_verdict verdict;
	const char *why;     /* for UE_AKA_BAD and UE_AKA_MAC_FAILURE: static text */
	enum sqn_verdict sqn_verdict;
	uint64_t sqn;        /* SQN of the challenge, once its MAC was good */
	uint8_t rand[AKA_RAND_LEN];
	uint8_t res[AKA_RES_LEN];
	uint8_t ck[AKA_CK_LEN];
	uint8_t ik[AKA_IK_LEN];
	uint8_t auts[AKA_AUTS_LEN];
};

void ue_challenge_wipe(struct ue_challenge *c);

/*
 * ue_usim_challenge
 *	Pick the Digest AKAv1-MD5 challenge out of a 401's WWW-Authenticate
 *	values, run the USIM on it, and on UE_AKA_OK save the SQN state.
 *	msg : the 401 (decoded on demand; not modified)
 *	c   : out; c->verdict says what happened
 * Returns 0 once a verdict is reached (UE_AKA_BAD included); a negative
 * errno when the state file could not be written (-EIO ...): the challenge
 * must then not be answered, since a restart would accept it again.
 */
struct sip_msg;
int ue_usim_challenge(struct ue_usim *u, const struct sip_msg *msg, struct ue_challenge *c);

/* Which Authorization header a REGISTER carries. */
enum ue_cred_kind {
	UE_CRED_INITIAL,  /* nonce="", response="": "authenticate me" (24.229 5.1.1.2.1) */
	UE_CRED_RESPONSE, /* the answer to the challenge */
	UE_CRED_MAC_FAIL, /* nonce of the challenge, response="" (5.1.1.5.3) */
	UE_CRED_AUTS,     /* nonce of the challenge, auts=, empty-password response */
	UE_CRED_LAST,     /* re-registration: last nonce and last response (5.1.1.4.1) */
};

/*
 * The Digest state of one registration: the last challenge answered and
 * the response sent, for UE_CRED_LAST and nonce counting.
 */
struct ue_digest {
	struct ue_challenge ch;
	bool have;          /* ch holds a challenge */
	uint32_t nc;        /* nonce count of the last response with qop */
	char cnonce[17];
	char response[DIGEST_HEX_LEN + 1];
};

/*
 * ue_print_authorization
 *	Append "Authorization: Digest ...\r\n" for `kind` to b.
 *	impi, domain : username and (for UE_CRED_INITIAL) realm; the digest
 *	               uri is "sip:" domain
 *	d            : the registration's digest state; UE_CRED_RESPONSE and
 *	               UE_CRED_AUTS compute d->response and advance d->nc
 *	cnonce       : 16 characters for qop=auth (taken when nc goes to 1)
 * Returns 0, -EINVAL (no challenge for a kind that needs one), -EIO.
 */
int ue_print_authorization(struct buf *b, enum ue_cred_kind kind, struct str impi,
			   struct str domain, struct ue_digest *d, const char *cnonce);

#endif
