/*
 * sec.h - the UE's half of the security agreement (RFC 3329, TS 33.203
 * 7.1-7.4) for one access.
 *
 * An access holds at most two SA sets: the established one, protecting
 * the registration, and a temporary one, built from a challenge and
 * waiting for the 200 that promotes it. Each REGISTER procedure offers a
 * fresh local half (spi_uc, spi_us, port_uc; port_us too on an initial
 * registration, kept on a re-registration) in Security-Client:
 *
 *   initial REGISTER     offer = new local half            (no set)
 *   401                  temporary set = offer + Security-Server
 *   200                  temporary -> established
 *   re-REGISTER          offer = new SPIs and port_uc, same port_us,
 *                        Security-Verify = the established set's server
 *   401 to it            temporary set from that offer
 *   200 to the protected REGISTER over the temporary set
 *                        the temporary set is promoted and the old
 *                        established set deleted: the 200 is the first
 *                        message the P-CSCF protected with the new set
 *                        (33.203 7.4)
 *   200 without a 401    the offer is given back, the established set
 *                        stays
 *
 * The allocator (lib/ipsec alloc.h) keeps SPIs unique and ports unique per
 * P-CSCF address; what a set holds is given back when the set is deleted,
 * what an offer holds when the offer is dropped. The mechanisms are printed,
 * read and chosen by lib/ipsec's security agreement (secagree.h), shared
 * with the P-CSCF. Installing and removing SAs is the caller's (reg.c,
 * through the UE's environment).
 */
#ifndef SIMREG_UE_SEC_H
#define SIMREG_UE_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "ipsec/alloc.h"
#include "ipsec/sa.h"
#include "ipsec/secagree.h"
#include "ue/config.h"

/* Longest Security-Client / Security-Verify value handled. */
#define UE_SECHDR_MAX 640

struct sip_msg;

struct ue_sa {
	bool live;      /* installed (set.id valid) */
	bool temporary; /* not yet promoted */
	struct ipsec_sa_set set; /* keys wiped once installed */
	struct ipsec_alg_pair algs; /* alg and ealg, which outlive the keys */
	char verify[UE_SECHDR_MAX]; /* the Security-Server it came with */
};

struct ue_sec {
	/* The offer of the procedure in progress (Security-Client). */
	struct ipsec_sec_params offer;
	bool offer_held;   /* allocated and not yet owned by a set */
	char client[UE_SECHDR_MAX];
	/* The mechanism chosen from the last Security-Server. */
	struct ipsec_sec_params server;
	struct ipsec_alg_pair chosen;
	char server_text[UE_SECHDR_MAX];
	struct ue_sa est;
	struct ue_sa tmp;
};

/*
 * ue_sec_offer
 *	Allocate the local half for the next REGISTER and print its
 *	Security-Client value (one ipsec-3gpp entry per configured offer, all
 *	with the same SPIs and ports) into s->client. An offer still held is
 *	released first. With `renew` and an established set, port_us is kept
 *	(33.203 7.4, TS 34.229 TC 8.2).
 * Returns 0, -ENOSPC (SPIs or ports exhausted), -ENOMEM.
 */
int ue_sec_offer(struct ue_sec *s, struct ipsec_alloc *al, const struct ipsec_addr *pcscf,
		 const struct ipsec_prefs *offers, bool renew);

/* Give an unused offer back to the allocator. */
void ue_sec_offer_drop(struct ue_sec *s, struct ipsec_alloc *al, const struct ipsec_addr *pcscf);

/*
 * ue_sec_read_server
 *	Read Security-Server from a 401: keep its text for Security-Verify and
 *	choose, among the usable ipsec-3gpp entries (ipsec_offer_decode()),
 *	the one with the highest q whose alg and ealg we offered (RFC 3329
 *	2.3.1, ipsec_offer_choose_by_q()).
 * Returns 0, or -EPROTO with a static reason in *why: TS 24.229
 * 5.1.1.5.1 has the UE abandon a challenge without a usable
 * Security-Server.
 */
int ue_sec_read_server(struct ue_sec *s, const struct sip_msg *msg,
		       const struct ipsec_prefs *offers, const char **why);

/*
 * ue_sec_build_temporary
 *	The temporary set from the held offer, the chosen server half and the
 *	keys of the challenge (ESP keys expanded per 33.203 Annex I). The set
 *	takes the offer over (offer_held becomes false). The caller installs
 *	it (s->tmp.set) and sets s->tmp.live.
 * Returns 0, -EINVAL (no offer, or a set ipsec_sa_set_build() refuses).
 */
int ue_sec_build_temporary(struct ue_sec *s, const struct ipsec_addr *ue,
			   const struct ipsec_addr *pcscf, const uint8_t ik[16],
			   const uint8_t ck[16]);

/* Print the established / temporary set for logs: "set 3 spi_uc=... port_ps=...". */
void ue_sa_describe(const struct ue_sa *sa, struct buf *b);

#endif
