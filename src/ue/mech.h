/*
 * mech.h - the UE's side of the simultaneous-registration mechanisms, and
 * the timing rules every access follows.
 *
 * Pure functions: no state, no I/O, randomness passed in. They are what
 * the registration state machine (reg.h) asks when it builds a REGISTER
 * or arms a timer, and what the unit tests pin down number by number.
 */
#ifndef SIMREG_UE_MECH_H
#define SIMREG_UE_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* What a mechanism makes the UE do; one mechanism is a set of these. */
enum ue_mech_flags {
	/* RFC 5626: +sip.instance, reg-id = access number, keepalives. */
	UE_MF_OUTBOUND = 1 << 0,
	/* A reg-event subscription per access, kept alive to answer probes. */
	UE_MF_PROBE = 1 << 1,
	/* Access n >= 2 registers with an IMPI derived by the template. */
	UE_MF_MODIFIED_IMPI = 1 << 2,
};

/* X(id, configuration name, flags) */
#define UE_MECHS(X)                                                                     \
	X(NONE, "none", 0)                                                              \
	X(OUTBOUND, "outbound", UE_MF_OUTBOUND)                                         \
	X(REGEVENT_PROBE, "regevent-probe", UE_MF_PROBE)                                \
	X(MODIFIED_IMPI, "modified-impi", UE_MF_MODIFIED_IMPI)                          \
	X(MODIFIED_IMPI_OUTBOUND, "modified-impi+outbound", UE_MF_MODIFIED_IMPI | UE_MF_OUTBOUND) \
	X(MODIFIED_IMPI_PROBE, "modified-impi+regevent-probe", UE_MF_MODIFIED_IMPI | UE_MF_PROBE)

enum ue_mech {
#define X(id, name, flags) UE_MECH_##id,
	UE_MECHS(X)
#undef X
	UE_MECH__COUNT
};

/* NULL-terminated names, indexed by enum ue_mech (for the configuration). */
extern const char *const ue_mech_names[];

const char *ue_mech_name(enum ue_mech m);
/* UE_MF_* of a mechanism; 0 for a value out of range. */
unsigned ue_mech_flags(enum ue_mech m);

/* ---- modified IMPI --------------------------------------------------- */

/*
 * The default rule: access 1 keeps the IMPI, access n >= 2 uses
 * "{user}+{n}@{realm}" (alice@ims.test -> alice+2@ims.test). The HSS maps
 * such an IMPI back to its subscription (docs/architecture.md).
 */
#define UE_IMPI_TEMPLATE_DEFAULT "{user}+{n}@{realm}"

/* Longest IMPI handled anywhere in the UE. */
#define UE_IMPI_MAX 256

/*
 * ue_impi_derive
 *	The IMPI access n uses under modified-impi. n == 1 gives the IMPI
 *	itself; for n >= 2 the template is expanded, its placeholders being
 *	  {user}   the IMPI before its last '@'
 *	  {realm}  the IMPI after its last '@'
 *	  {impi}   the whole IMPI
 *	  {n}      the access number in decimal
 *	and every other character copied.
 *	out, cap : receives the NUL-terminated IMPI
 * Returns its length; -EINVAL (n == 0, an IMPI without '@' or with an
 * empty user or realm, an unknown or unterminated placeholder),
 * -ENOSPC (does not fit in cap).
 */
int ue_impi_derive(const char *tmpl, struct str impi, unsigned n, char *out, size_t cap);

/*
 * ue_impi_template_check
 *	A template is usable when it expands for n = 2 and 3 to two distinct
 *	IMPIs that each hold exactly one '@' with a user and a realm around
 *	it (otherwise two accesses would share an IMPI, which is what the
 *	mechanism exists to avoid). Returns 0, or -EINVAL with the reason in
 *	why.
 */
int ue_impi_template_check(const char *tmpl, char *why, size_t whylen);

/* ---- timing ------------------------------------------------------------ */

/*
 * ue_refresh_delay_s
 *	When to re-register after a registration granted for `expires`
 *	seconds (TS 24.229 5.1.1.4.1): 600 s before expiry if the
 *	registration lasts more than 1200 s, otherwise at half of it.
 *	0 for expires == 0.
 */
uint32_t ue_refresh_delay_s(uint32_t expires);

/*
 * The flow recovery back-off of RFC 5626 section 4.5: after
 * `failures` consecutive failed attempts the UA waits a random time
 * between 50 % and 100 % of
 *
 *	W = min(max_time, base_time * 2^failures)
 *
 * where base_time is base_all_failed (30 s) when no flow of the UA works
 * and base_some_ok (90 s) otherwise; max_time is 1800 s.
 */
struct ue_backoff {
	uint64_t base_all_failed_ms;
	uint64_t base_some_ok_ms;
	uint64_t max_ms;
};

#define UE_BACKOFF_RFC5626 ((struct ue_backoff){ 30000, 90000, 1800000 })

/*
 * ue_backoff_ms
 *	rand32 : 32 random bits (the seam); 0 gives the 50 % bound, UINT32_MAX
 *	         (almost) the 100 % bound
 * Returns the wait in milliseconds.
 */
uint64_t ue_backoff_ms(const struct ue_backoff *b, unsigned failures, bool some_flow_ok,
		       uint32_t rand32);

/*
 * ue_keepalive_ms
 *	Interval between two RFC 5626 keepalives on one flow (4.4.1): a
 *	random 80 % to 100 % of the registrar's Flow-Timer when it sent one
 *	(flow_timer_s > 0), otherwise a random 95 s to 120 s on a stream
 *	(CRLFCRLF) and 24 s to 29 s on UDP (STUN).
 */
uint64_t ue_keepalive_ms(uint32_t flow_timer_s, bool stream, uint32_t rand32);

#endif
