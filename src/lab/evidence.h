/*
 * evidence.h - what the captures of a lab prove, read by tshark.
 *
 * Nothing here trusts simreg's own decoders: every field comes out of
 * tshark (Wireshark's SIP, Diameter and ESP dissectors), ESP is decrypted
 * by tshark with the keys the P-CSCFs and the UE exported (ipsec.keylog,
 * Wireshark's esp_sa table format), and the vectors are checked again with
 * Milenage from the subscription's K and OPc, which the lab's subscriber
 * takes from a published test set (TS 35.208 test set 1).
 *
 * Two questions:
 *
 * keys      Did every registration authenticate with a vector of the
 *           original subscription, and did each get its own CK/IK? Every
 *           vector of a Cx MAA (core-lo.pcap) must verify: its AUTN's MAC-A
 *           under the subscription's K for the SQN it hides, its CK and IK
 *           those of its RAND. Every 401 towards a P-CSCF must carry a RAND
 *           the HSS issued and the CK/IK of that vector, and no two 401s
 *           the same CK/IK. The HSS's record (`simreg ctl subscriber show`)
 *           must name the original subscription for every IMPI that was
 *           challenged, and its SQN must be the highest one sent.
 *
 * captures  Does everything decode, does ESP decrypt and hold SIP, and do
 *           the message counts agree: REGISTERs and 401s as the UE logged
 *           them, on the access links, on the core links and in the
 *           S-CSCF's counters; MARs and SARs on the Cx link against 401s
 *           and successful REGISTERs.
 */
#ifndef SIMREG_LAB_EVIDENCE_H
#define SIMREG_LAB_EVIDENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "lab/frames.h"

struct lab;

#define LAB_EV_MAX_KEYS 32
#define LAB_EV_MAX_IMPIS 4
#define LAB_EV_MAX_LINKS 16

struct lab_key_evidence {
	bool measured;		   /* the captures were read */
	unsigned mar;		   /* MARs the S-CSCF sent */
	unsigned vectors;	   /* vectors in the HSS's MAAs */
	unsigned verified;	   /* ... that verify with the subscription's K and OPc */
	unsigned challenges;	   /* 401s towards the P-CSCFs, each counted once */
	unsigned from_hss;	   /* ... whose RAND, CK and IK are those of a vector */
	unsigned distinct_keys;	   /* distinct CK||IK among those 401s */
	uint64_t sqn_min, sqn_max; /* SQNs hidden in the vectors' AUTNs */
	uint64_t hss_sqn;	   /* the subscription's SQN in the HSS's database */
	unsigned n_impis;	   /* IMPIs challenged (User-Name of the MARs) */
	char impis[LAB_EV_MAX_IMPIS][96];
	bool impis_of_subscription;	  /* the HSS maps every one to the lab's subscription */
	unsigned n_hashes;		  /* fingerprint of each challenge's CK||IK */
	char hashes[LAB_EV_MAX_KEYS][17]; /* first 8 octets of SHA-256, hex */
};

/* Every vector verified, every 401 from one, all keys distinct, the HSS's
 * records agree. */
bool lab_keys_ok(const struct lab_key_evidence *k);

/*
 * Read the key evidence of the lab in @lab (after `down`: the captures are
 * complete then). @simreg runs `ctl subscriber show` on the HSS database.
 * Returns 0 (see @k), or a negative errno when tshark cannot run.
 */
int lab_evidence_keys(const struct lab *lab, const char *simreg, struct lab_key_evidence *k);

struct lab_link_evidence {
	char link[32];
	bool access; /* a link of the access side */
	unsigned frames;
	unsigned sip, diameter; /* frames tshark decodes as such */
	unsigned malformed;	/* frames with a malformed-packet error */
	/* The first of them: tshark's words, and the file with the frame's
	 * octets (lab_link_cap). */
	char why[LAB_MALFORMED_SHOWN][256];
	char dump[LAB_MALFORMED_SHOWN][300];
	unsigned esp, esp_sip;	/* ESP frames; of them, decrypted to SIP */
};

struct lab_count_row {
	const char *what; /* "REGISTER" */
	long ue_log;	  /* -1: not applicable */
	long access;	  /* on the UE's links */
	long core;	  /* between P-CSCFs and S-CSCF */
	long scscf;	  /* the S-CSCF's counters */
	long cx;	  /* on the Cx link */
};

struct lab_capture_evidence {
	struct lab_link_evidence links[LAB_EV_MAX_LINKS];
	size_t n_links;
	struct lab_count_row counts[4]; /* REGISTER, 401, MAR, SAR */
	unsigned esa_lines;		/* SAs tshark was given */
	bool counts_agree;
	bool all_decode; /* no malformed frame, every ESP frame decrypted */
};

/*
 * Read every capture of @lab: decoding, ESP decryption with the key logs,
 * and the message counts against the UE's event log and the S-CSCF's
 * counters @scscf_registers, @scscf_challenges (pass -1 to take them from
 * the S-CSCF's log: its "challenged" lines and the REGISTERs its
 * "stopping:" line counts). Returns 0 or a negative errno when tshark
 * cannot run.
 */
int lab_evidence_captures(const struct lab *lab, long scscf_registers, long scscf_challenges,
			  struct lab_capture_evidence *e);

/* Print @e (a table per link, then the counts) and @k for people. */
void lab_evidence_print(const struct lab_capture_evidence *e, const struct lab_key_evidence *k,
			FILE *out);

void lab_keys_write_json(const struct lab_key_evidence *k, struct json_writer *w);
void lab_keys_read_json(const struct json_value *v, struct lab_key_evidence *k);

#endif
