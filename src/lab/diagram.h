/*
 * diagram.h - sequence diagrams of a lab run, drawn from its captures.
 *
 * Every SIP and Diameter message tshark finds in the captures (frames.h),
 * ESP decrypted, becomes an arrow between two lifelines. A lifeline is a
 * network element, and the UE has one per access, so the two registrations
 * read side by side:
 *
 *     UE wlan   UE umts   P-CSCF (or P-CSCF A, B)   S-CSCF   HSS   AS
 *
 * An address belongs to a lifeline by the topology's tables: the UE's
 * address on each access link, every address of a P-CSCF's node, the
 * service addresses of the core. A message crossing several captured links
 * (UE to router, router to P-CSCF) is drawn once. A message carried by ESP
 * is marked with the SA set it travelled on: the set number the UE gave it
 * (its event log) and the SPI from the ESP header. Diameter watchdogs are
 * left out.
 *
 * Two renderings: plain text for a terminal (one line per message, time
 * in seconds from the first one) and SVG.
 */
#ifndef SIMREG_LAB_DIAGRAM_H
#define SIMREG_LAB_DIAGRAM_H

#include <stdio.h>

#include "lab/frames.h"

struct lab;

#define LAB_DIAGRAM_LANES 8

struct lab_lane {
	char name[24]; /* "UE wlan", "P-CSCF A", "S-CSCF" */
	char addrs[8][48];
	unsigned n_addrs;
};

struct lab_arrow {
	double t;	  /* seconds from the first message */
	int from, to;	  /* lanes */
	char label[48];	  /* "REGISTER (2)", "401 (REGISTER 1)", "MAR" */
	char sa[48];	  /* "set 3 0x4495a355", or "" when not protected */
	const char *kind; /* "sip", "diameter" */
	char call_id[96];
};

struct lab_diagram {
	struct lab_lane lanes[LAB_DIAGRAM_LANES];
	size_t n_lanes;
	struct lab_arrow *arrows;
	size_t n, cap;
	char title[160];
	double t0;
};

/*
 * Build the diagram of @lab from @frames (lab_frames_read()). Returns 0 or
 * a negative errno; free with lab_diagram_free().
 */
int lab_diagram_build(const struct lab *lab, const struct lab_frames *frames,
		      struct lab_diagram *d);
void lab_diagram_free(struct lab_diagram *d);

/* Plain text, one message per line, @width columns per lane. */
void lab_diagram_text(const struct lab_diagram *d, FILE *out);
/* A standalone SVG document. */
void lab_diagram_svg(const struct lab_diagram *d, FILE *out);

/*
 * Read @lab's captures and write DIR/diagram.txt and DIR/diagram.svg.
 * Returns the number of messages drawn, or a negative errno.
 */
int lab_diagram_write(const struct lab *lab);

#endif
