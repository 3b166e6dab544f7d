/*
 * demo.h - `simreg lab demo`: the story of one phone with two accesses,
 * told by running it.
 *
 * Three acts, each a lab of the real functions in its own directory:
 *
 *   1. A P-CSCF that keys SA sets by registration flow (T1, outbound):
 *      register over wlan, over umts, both live, a MESSAGE reaches the
 *      phone over both, wlan re-authenticated alone, the wlan link drops
 *      (what the network sees of it) and comes back.
 *   2. The legacy P-CSCF that keys SA sets by IMPI (T1, outbound): the
 *      second registration deletes the first one's SAs; what breaks.
 *   3. The same legacy P-CSCF with modified-impi (T1): each access its own
 *      IMPI, so nothing is deleted, and everything works.
 *
 * Every sentence about what happened is made from what the lab observed
 * (control sockets, the UE's event log, SIPp); the commentary says what to
 * look for. Each act ends with tshark's evidence over its captures and its
 * sequence diagrams; the demo ends with a summary table and the paths.
 */
#ifndef SIMREG_LAB_DEMO_H
#define SIMREG_LAB_DEMO_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

struct lab_demo_opts {
	const char *dir;	/* one subdirectory per act */
	const char *simreg;	/* absolute path of the binary */
	const char *backend;	/* P-CSCF's IPsec backend */
	const char *ue_backend; /* the UE's (NULL: the same) */
	int notice_wait_ms;	/* how long act 1 watches for the network to notice the drop */
	const volatile sig_atomic_t *cancel;
};

/* Run the demo, narrating to @out. Returns 0 when every act ran as the
 * design says it must, 1 when one did not (told in the summary), or a
 * negative errno when the demo itself could not run. */
int lab_demo_run(const struct lab_demo_opts *o, FILE *out);

#endif
