/*
 * usim.h - the card side of AKA: what a UE's USIM does with RAND and AUTN.
 *
 * usim_authenticate() follows TS 33.102 §6.3.3: compute AK from RAND and
 * recover SQN, check MAC-A first (a mismatch is a MAC failure and the SQN is
 * not looked at), then SQN freshness against the SEQ_MS array (sqn.h); a
 * stale SQN gives a synchronisation failure with AUTS. Only a good challenge
 * changes the state. The UE turns the outcome into its next REGISTER
 * (24.229 §5.1.1.5.1: MAC failure -> empty response, no auts; sync failure
 * -> auts).
 *
 * The SQN array survives restarts as a small text file (usim_state_*()):
 *
 *     # simreg USIM SQN state
 *     ind_bits 5
 *     delta 268435456
 *     age_limit 0
 *     seq 0 17
 *     seq 3 16
 *
 * Slots not listed are 0. Keys are never written there.
 */
#ifndef SIMREG_AKA_USIM_H
#define SIMREG_AKA_USIM_H

#include <stddef.h>
#include <stdint.h>

#include "aka/milenage.h"
#include "aka/sqn.h"
#include "core/str.h"

struct usim {
	struct milenage mil;
	struct sqn_ms sqn;
};

/*
 * usim_init
 *	u    : caller's storage
 *	k    : K; op: OP or OPc as told by kind (milenage.h)
 *	p    : SQN profile; NULL for the defaults (sqn_params_default())
 * Returns 0, -EINVAL for bad params, -ENOMEM, -EIO. On failure nothing is
 * held. Free with usim_free(), which wipes the keys.
 */
int usim_init(struct usim *u, const uint8_t k[AKA_K_LEN], const uint8_t op[AKA_OP_LEN],
	      enum milenage_opkind kind, const struct sqn_params *p);
void usim_free(struct usim *u);

enum usim_status {
	USIM_OK = 0,          /* RES, CK, IK valid; SQN recorded */
	USIM_MAC_FAILURE,     /* MAC-A did not match; nothing else computed */
	USIM_SYNC_FAILURE,    /* MAC good, SQN stale; auts valid */
};

/* "ok", "mac-failure", "sync-failure". */
const char *usim_status_name(enum usim_status s);

struct usim_result {
	enum usim_status status;
	enum sqn_verdict sqn_verdict; /* why, for USIM_SYNC_FAILURE */
	uint64_t sqn;                 /* SQN from AUTN (meaningful once MAC is good) */
	uint8_t amf[AKA_AMF_LEN];
	uint8_t res[AKA_RES_LEN];
	uint8_t ck[AKA_CK_LEN];
	uint8_t ik[AKA_IK_LEN];
	uint8_t auts[AKA_AUTS_LEN];
};

/*
 * usim_authenticate
 *	u    : the card
 *	rand : RAND from the challenge (the nonce's first 16 octets)
 *	autn : AUTN from the challenge (the next 16)
 *	r    : out; r->status says which other fields are valid
 *
 * Returns 0 when a verdict was reached (any status), -EIO from the cipher.
 * State changes only for USIM_OK. Wipe *r with usim_result_wipe().
 */
int usim_authenticate(struct usim *u, const uint8_t rand[AKA_RAND_LEN],
		      const uint8_t autn[AKA_AUTN_LEN], struct usim_result *r);

void usim_result_wipe(struct usim_result *r);

/*
 * usim_auts
 *	AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S = f1*(K, SQN_MS || RAND || 0000)
 *	(33.102 §6.3.3). Used by usim_authenticate(); exposed for tools and
 *	tests that need an AUTS for a chosen SQN_MS.
 * Returns 0, -EINVAL for sqn_ms above 48 bits, -EIO.
 */
int usim_auts(struct milenage *m, const uint8_t rand[AKA_RAND_LEN], uint64_t sqn_ms,
	      uint8_t auts[AKA_AUTS_LEN]);

/*
 * usim_state_format
 *	Write the SQN state in the text form above into buf (NUL-terminated).
 * Returns the length written, or -ENOSPC when `size` is too small
 * (2 KiB always suffices for the defaults).
 */
int usim_state_format(const struct usim *u, char *buf, size_t size);

/*
 * usim_state_parse
 *	Replace the SQN state with the one in `text`. Blank lines and lines
 *	starting with '#' are skipped. ind_bits, delta and age_limit must each
 *	appear once, before any seq line; each slot at most once. Unknown keys,
 *	bad numbers, a slot outside 2^ind_bits or a SEQ that does not fit
 *	beside IND are errors.
 *	err_line : out (may be NULL), the 1-based line of the first error.
 * Returns 0, or -EINVAL, leaving the state untouched.
 */
int usim_state_parse(struct usim *u, struct str text, unsigned *err_line);

/*
 * usim_state_save / usim_state_load
 *	The same through a file. Saving writes a temporary file beside `path`,
 *	fsyncs it and renames it over, so a crash leaves the old or the new
 *	state, never half of one.
 * Return 0, a negative errno from the file system, or those of
 * usim_state_parse() (err_line as there).
 */
int usim_state_save(const struct usim *u, const char *path);
int usim_state_load(struct usim *u, const char *path, unsigned *err_line);

#endif
