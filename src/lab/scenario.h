/*
 * scenario.h - the steps of the two-access story, driven from outside the
 * network functions: their control sockets, their logs, and an application
 * server (SIPp) in the core.
 *
 * Each step starts something and then waits until the lab has settled
 * (observe.h, lab_settle()): the step's own condition holds, nothing is in
 * flight, and no function has written anything for a moment. The state
 * after the step is returned as a snapshot, so callers compare before and
 * after rather than trusting what they asked for.
 */
#ifndef SIMREG_LAB_SCENARIO_H
#define SIMREG_LAB_SCENARIO_H

#include "lab/observe.h"

/* How long a step may take to settle, and how long the lab must stay
 * silent to count as settled. A regevent-probe answer may take the
 * S-CSCF's probe timeout (2 s); the P-CSCF lingers 2 s over a flow that
 * ended. */
#define LAB_STEP_TIMEOUT_MS 20000
#define LAB_QUIET_MS 400

/*
 * Register access @access of the UE (`ctl ue register`) and wait until it
 * is registered or has failed. Returns 0 (see @after for the outcome), or
 * a negative errno when the lab did not answer or did not settle.
 */
int lab_step_register(const struct lab *lab, const char *access, struct lab_snapshot *after);

/*
 * Re-authenticate access @access alone, as the network asks it (TS 24.229
 * 5.4.1.6): the S-CSCF marks its binding (`ctl scscf reauth IMPU
 * binding=N`), the UE re-registers it (`ctl ue reauth`) and is challenged,
 * a new SA set is made for that registration. Returns 0 (the outcome is in
 * @after), -ENOENT when the access has no binding at the S-CSCF to
 * re-authenticate, or another negative errno.
 */
int lab_step_reauth(const struct lab *lab, const char *access, struct lab_snapshot *after);

/* The access's link goes away without a word (`ctl ue drop`): its sockets
 * close and its SAs go at the UE only. */
int lab_step_drop(const struct lab *lab, const char *access, struct lab_snapshot *after);

/* The link is back (`ctl ue restore`): wait until the UE has registered
 * the access again (after its back-off) or given up. */
int lab_step_restore(const struct lab *lab, const char *access, struct lab_snapshot *after);

struct lab_msg_result {
	char call_id[96];
	int status;    /* final response the application server got; 0: none */
	int delivered; /* bit i: received by the UE over access i (UE order) */
	int answered;  /* what the UE answered (the last copy) */
};

/*
 * An application server in the core (SIPp, from the "as" service address)
 * sends a MESSAGE with @text to the IMPU through the S-CSCF; then the UE's
 * event log says over which accesses it arrived. Returns 0 with @r filled
 * (whatever the outcome), or a negative errno when SIPp could not run.
 */
int lab_step_message(const struct lab *lab, const char *text, struct lab_msg_result *r);

/* Wait until the lab is quiet (nothing in flight). */
int lab_step_settle(const struct lab *lab, struct lab_snapshot *after);

#endif
