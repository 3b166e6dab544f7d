/*
 * frames.h - the packets of a lab's captures, as tshark decodes them.
 *
 * One tshark run per capture with `-T fields` gives, per frame: time,
 * addresses and ports, SIP method, status, CSeq and Call-ID, Diameter
 * command codes, the ESP SPI and sequence number and whether the ICV
 * checked out. ESP is decrypted by tshark itself with the SAs of the key
 * logs the P-CSCFs and the UE wrote (lab_esp_sa_args()), so the SIP inside
 * ESP is decoded like any other. A second run per capture counts the
 * frames tshark calls malformed, and keeps what tshark says of the first
 * ones and their octets, so that a failed run explains itself.
 *
 * Each capture's link is classified from the topology tables: a link with
 * the UE at one end is an access link, one between a P-CSCF and the core a
 * core link, a loopback capture is where the core's own traffic (Cx, the
 * application server) is seen.
 */
#ifndef SIMREG_LAB_FRAMES_H
#define SIMREG_LAB_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

struct lab;

enum lab_link_kind {
	LAB_LINK_ACCESS, /* UE to its access router */
	LAB_LINK_ROUTER, /* access router to P-CSCF: the same packets again */
	LAB_LINK_CORE,	 /* P-CSCF to the core */
	LAB_LINK_LOCAL,	 /* a node's loopback: S-CSCF to HSS, the AS */
};

#define LAB_FRAME_DIA 4

struct lab_frame {
	unsigned link;	 /* index into lab_frames.links */
	unsigned number; /* in its capture */
	double t;	 /* seconds since the epoch */
	char src[48], dst[48];
	uint16_t sport, dport;
	bool esp, icv_good;
	uint32_t spi, esp_seq;
	bool sip;	 /* tshark decoded SIP (inside ESP too) */
	char method[20]; /* request method, or "" for a response */
	int status;	 /* response status, or 0 */
	char cseq[32];	 /* "2 REGISTER" */
	char call_id[96];
	unsigned n_dia; /* Diameter messages in the frame */
	unsigned dia_code[LAB_FRAME_DIA];
	bool dia_request[LAB_FRAME_DIA];
	char proto[24]; /* tshark's protocol column */
	bool stun;
	int sat;	    /* Server-Assignment-Type of a SAR, or 0 */
	bool authenticated; /* a REGISTER answering a challenge */
};

#define LAB_MALFORMED_SHOWN 2

struct lab_link_cap {
	char name[32];
	char pcap[256];
	enum lab_link_kind kind;
	unsigned frames, malformed;
	/* The first malformed frames: "frame N (protocols): tshark's words",
	 * and a file beside the capture with the frame as tshark -x shows
	 * it (PCAP.frame-N.txt; "" if it could not be written). */
	char why[LAB_MALFORMED_SHOWN][256];
	char dump[LAB_MALFORMED_SHOWN][300];
};

struct lab_frames {
	struct lab_frame *v;
	size_t n, cap;
	struct lab_link_cap links[16];
	size_t n_links;
	unsigned esp_sa_lines; /* SAs given to tshark */
};

/*
 * Read every capture of @lab (after `down`). Returns 0, -ENOENT when
 * tshark is not installed (logged), or another negative errno. Free with
 * lab_frames_free() in any case.
 */
int lab_frames_read(const struct lab *lab, struct lab_frames *f);
void lab_frames_free(struct lab_frames *f);

/*
 * Run tshark on @pcap with display filter @filter (NULL: every frame),
 * extra options @opts (NULL-terminated, may be NULL) and the fields @fields
 * (NULL-terminated); the output (tab-separated, one line per frame,
 * repeated fields joined by ',') is put in *out, allocated in @a. Returns
 * 0 or a negative errno (-ENOENT: no tshark).
 */
int lab_tshark(const char *pcap, const char *filter, const char *const *opts,
	       const char *const *fields, struct arena *a, char **out);

/*
 * The options that let tshark check and decrypt the lab's ESP: the ESP
 * preferences, then "-o" "uat:esp_sa:LINE" for each distinct line of every
 * function's key log, into @argv from index @at (room for @max entries).
 * Returns how many entries were added (*n_sas gets the number of SAs), or
 * a negative errno.
 */
int lab_esp_sa_args(const struct lab *lab, const char **argv, int at, int max, struct arena *a,
		    unsigned *n_sas);

/* Split @line at tabs in place into at most @max fields; returns how many. */
size_t lab_split_tabs(char *line, char **fields, size_t max);

#endif
