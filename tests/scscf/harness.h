/*
 * harness.h - drive the S-CSCF logic from a scenario script and print
 * what happens as a transcript.
 *
 * The S-CSCF runs on a loop with a manual clock, behind its two seams:
 * the SIP side prints every response, NOTIFY and fork; the Cx side is a
 * small HSS that computes real Milenage vectors (lib/aka) with a RAND
 * counter, so transcripts are byte-exact. UEs are scripted too: each owns
 * a USIM (lib/aka) and answers challenges the way 24.229 5.1.1.5 says
 * (response, empty response on a MAC failure, auts on a sync failure).
 * Every NOTIFY body is validated against the RFC 3680 schema.
 *
 * Scenario language (one command per line; '#' starts a comment):
 *
 *   start [policy=P] [reauth=R] [notify=N] [max_flows=N] [probe_timeout=MS]
 *         [min_expires=S] [default_expires=S] [reauth_expiry=MS] [reg_await_auth=MS]
 *   hss IMPI k=HEX opc=HEX impus=URI[,URI...] [barred=URI] [also=IMPI[,IMPI]]
 *   hss-sqn IMPI SQN            set the HSS's SQN (a stale HSS: sync failure)
 *   ue NAME impi=I impu=U contact=URI [path=URI] [instance=URN] [reg-id=N]
 *         [outbound] [k=HEX opc=HEX]    (keys: the HSS's when absent)
 *   register NAME [expires=S]   initial REGISTER, answer the 401, 200
 *   send NAME initial|answer|wrong|protected|star|unprotected-star|answer-star|reauth
 *         [expires=S] [auth=UE]
 *                               protected, star: over the UE's SAs with the last
 *                               nonce and response (those of UE with auth=: a
 *                               contact over another UE's SAs); reauth: over
 *                               them with nonce="", asking to be challenged
 *   raw NAME                    the lines up to "." are sent as they are
 *   subscribe NAME [expires=S]  the UE subscribes to reg of its IMPU
 *   subscribe-pcscf IMPU from=URI contact=URI
 *   notify-reply STATUS [all]   answer the oldest NOTIFY (or every one)
 *   route METHOD IMPU           a request to an IMPU: where does it go?
 *   ctl dereg|reauth IMPU [binding=N] [event=E] [retry=S]
 *   advance SECONDS             move the clock; timers fire
 *   restart [down=S]            stop the S-CSCF, let S seconds pass, start it
 *                               from its store
 *   dump                        bindings, subscriptions, challenges
 */
#ifndef SIMREG_TESTS_SCSCF_HARNESS_H
#define SIMREG_TESTS_SCSCF_HARNESS_H

#include <stdio.h>

/*
 * Run the scenario at `path`, writing the transcript to `out`. `testdata`
 * is the tests/data directory (schemas). Returns 0, or -1 when the script
 * itself is broken (the reason is in the transcript).
 */
int harness_run(const char *path, const char *testdata, FILE *out);

#endif
