#define SLOG_COMPONENT "lab"
#include "lab/frames.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lab/command.h"
#include "lab/lab.h"

/* tshark's output for one capture; a lab's captures are a few hundred
 * frames, the demo's a few thousand. */
#define TSHARK_OUT_MAX (16u << 20)
#define MAX_ARGS 512

size_t lab_split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *tab = strchr(line, '\t');

		fields[n++] = line;
		if (!tab)
			break;
		*tab = 0;
		line = tab + 1;
	}
	return n;
}

/* argv[0..n) = tshark reading @pcap through @filter with @opts; returns n
 * (at most MAX_ARGS - 16, leaving room for the output options). */
static int tshark_args(const char **argv, const char *pcap, const char *filter,
		       const char *const *opts)
{
	int n = 0;

	argv[n++] = "tshark";
	argv[n++] = "-n"; /* no name resolution: addresses as they are */
	argv[n++] = "-r";
	argv[n++] = pcap;
	if (filter) {
		argv[n++] = "-Y";
		argv[n++] = filter;
	}
	for (size_t i = 0; opts && opts[i] && n < MAX_ARGS - 16; i++)
		argv[n++] = opts[i];
	return n;
}

int lab_tshark(const char *pcap, const char *filter, const char *const *opts,
	       const char *const *fields, struct arena *a, char **out)
{
	const char **argv = arena_alloc(a, MAX_ARGS * sizeof(*argv));
	char *buf = arena_alloc(a, TSHARK_OUT_MAX);
	int n, rc;

	if (!argv || !buf)
		return -ENOMEM;
	n = tshark_args(argv, pcap, filter, opts);
	argv[n++] = "-T";
	argv[n++] = "fields";
	argv[n++] = "-E";
	argv[n++] = "separator=/t";
	argv[n++] = "-E";
	argv[n++] = "occurrence=a";
	argv[n++] = "-E";
	argv[n++] = "aggregator=,";
	for (size_t i = 0; fields[i] && n < MAX_ARGS - 3; i++) {
		argv[n++] = "-e";
		argv[n++] = fields[i];
	}
	argv[n] = NULL;
	rc = lab_cmd_run(argv, 0, buf, TSHARK_OUT_MAX);
	if (rc == -ENOENT)
		log_error("tshark is not installed (Debian package tshark)");
	if (!rc && strlen(buf) == TSHARK_OUT_MAX - 1) {
		log_error("%s: more than %u bytes of tshark output", pcap, TSHARK_OUT_MAX);
		rc = -EFBIG;
	}
	if (!rc)
		*out = buf;
	return rc;
}

int lab_esp_sa_args(const struct lab *lab, const char **argv, int at, int max, struct arena *a,
		    unsigned *n_sas)
{
	int n = 0;

	*n_sas = 0;
	if (max < 6)
		return -ENOSPC;
	argv[at + n++] = "-o";
	argv[at + n++] = "esp.enable_encryption_decode:TRUE";
	argv[at + n++] = "-o";
	argv[at + n++] = "esp.enable_authentication_check:TRUE";
	/* Protected ports are drawn at random from 10000-32767, where other
	 * protocols have registered ports (Quake 3 at 27960 took a NOTIFY in
	 * one run): SIP is recognised by its content first. */
	argv[at + n++] = "-o";
	argv[at + n++] = "udp.try_heuristic_first:TRUE";
	for (size_t i = 0; i < lab->n_members; i++) {
		const struct lab_member *m = &lab->members[i];
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		FILE *f;

		if (m->kind != LAB_MEMBER_FUNCTION || !m->keylog)
			continue;
		f = fopen(m->keylog, "re");
		if (!f)
			continue; /* a function that installed no SA wrote none */
		while ((len = getline(&line, &cap, f)) > 0) {
			const char *opt;
			bool dup = false;

			while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = 0;
			if (!len || line[0] == '#')
				continue;
			opt = arena_printf(a, "uat:esp_sa:%s", line);
			if (!opt)
				break;
			/* Both ends of an SA log it. */
			for (int k = 7; k < n && !dup; k += 2)
				dup = strcmp(argv[at + k], opt) == 0;
			if (dup)
				continue;
			if (n + 2 > max) {
				log_warn("more SAs than tshark is given; some ESP stays encrypted");
				break;
			}
			argv[at + n++] = "-o";
			argv[at + n++] = opt;
			(*n_sas)++;
		}
		free(line);
		fclose(f);
	}
	return n;
}

/* ---- links ------------------------------------------------------------------ */

static const char *role_of_kind(const struct lab_topology *t, enum lab_fn_kind k, size_t nth)
{
	for (size_t i = 0; i < t->n_functions; i++)
		if (t->functions[i].kind == k && nth-- == 0)
			return t->functions[i].role;
	return NULL;
}

static bool is_pcscf_role(const struct lab_topology *t, const char *role)
{
	for (size_t i = 0; i < t->n_functions; i++)
		if (t->functions[i].kind == LAB_FN_PCSCF && strcmp(t->functions[i].role, role) == 0)
			return true;
	return false;
}

static enum lab_link_kind link_kind(const struct lab_topology *t, const char *name)
{
	const char *ue = role_of_kind(t, LAB_FN_UE, 0);

	for (size_t i = 0; t && i < t->n_links; i++) {
		const struct lab_link_spec *l = &t->links[i];

		if (strcmp(l->name, name) != 0)
			continue;
		if (ue && (!strcmp(l->a.role, ue) || !strcmp(l->b.role, ue)))
			return LAB_LINK_ACCESS;
		if (l->plane == LAB_PLANE_ACCESS)
			return LAB_LINK_ROUTER;
		if (is_pcscf_role(t, l->a.role) || is_pcscf_role(t, l->b.role))
			return LAB_LINK_CORE;
	}
	return LAB_LINK_LOCAL;
}

/* ---- frames ------------------------------------------------------------------- */

static const char *const frame_fields[] = {
	"frame.number",
	"frame.time_epoch",
	"ip.src",
	"ipv6.src",
	"ip.dst",
	"ipv6.dst",
	"udp.srcport",
	"tcp.srcport",
	"udp.dstport",
	"tcp.dstport",
	"esp.spi",
	"esp.sequence",
	"esp.icv_good",
	"sip.Method",
	"sip.Status-Code",
	"sip.CSeq",
	"sip.Call-ID",
	"diameter.cmd.code",
	"diameter.flags.request",
	"_ws.col.Protocol",
	"stun.type",
	"ip.proto",
	"ipv6.nxt",
	"diameter.Server-Assignment-Type",
	"sip.auth.digest.response",
	NULL,
};

enum {
	F_NUM,
	F_TIME,
	F_SRC4,
	F_SRC6,
	F_DST4,
	F_DST6,
	F_USPORT,
	F_TSPORT,
	F_UDPORT,
	F_TDPORT,
	F_SPI,
	F_SEQ,
	F_ICV,
	F_METHOD,
	F_STATUS,
	F_CSEQ,
	F_CALLID,
	F_DIA,
	F_DIAREQ,
	F_PROTO,
	F_STUN,
	F_IPPROTO,
	F_IP6NXT,
	F_SAT,
	F_DIGEST,
	F_COUNT,
};

/* The first of a ','-joined list (addresses of an ICMP error's inner
 * header come second). */
static void first_of(const char *s, char *out, size_t size)
{
	size_t n = strcspn(s, ",");

	snprintf(out, size, "%.*s", (int)n, s);
}

static int push(struct lab_frames *f, const struct lab_frame *x)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		struct lab_frame *v = realloc(f->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = *x;
	return 0;
}

static int parse_frame(char *line, unsigned link, struct lab_frames *f)
{
	char *v[F_COUNT + 1];
	struct lab_frame x;
	char *p;

	if (lab_split_tabs(line, v, F_COUNT + 1) < F_COUNT)
		return 0;
	memset(&x, 0, sizeof(x));
	x.link = link;
	x.number = (unsigned)strtoul(v[F_NUM], NULL, 10);
	x.t = strtod(v[F_TIME], NULL);
	first_of(v[F_SRC4][0] ? v[F_SRC4] : v[F_SRC6], x.src, sizeof(x.src));
	first_of(v[F_DST4][0] ? v[F_DST4] : v[F_DST6], x.dst, sizeof(x.dst));
	x.sport = (uint16_t)strtoul(v[F_USPORT][0] ? v[F_USPORT] : v[F_TSPORT], NULL, 10);
	x.dport = (uint16_t)strtoul(v[F_UDPORT][0] ? v[F_UDPORT] : v[F_TDPORT], NULL, 10);
	/* ESP itself, not an ICMP error quoting an ESP header. */
	if ((x.esp = v[F_SPI][0] && atoi(v[F_IPPROTO][0] ? v[F_IPPROTO] : v[F_IP6NXT]) == 50)) {
		x.spi = (uint32_t)strtoul(v[F_SPI], NULL, 0);
		x.esp_seq = (uint32_t)strtoul(v[F_SEQ], NULL, 10);
		x.icv_good = v[F_ICV][0] == '1' || !strcmp(v[F_ICV], "True");
	}
	x.sip = v[F_METHOD][0] || v[F_STATUS][0];
	first_of(v[F_METHOD], x.method, sizeof(x.method));
	x.status = (int)strtol(v[F_STATUS], NULL, 10);
	first_of(v[F_CSEQ], x.cseq, sizeof(x.cseq));
	first_of(v[F_CALLID], x.call_id, sizeof(x.call_id));
	p = v[F_DIA];
	for (char *q = v[F_DIAREQ]; *p && x.n_dia < LAB_FRAME_DIA;) {
		x.dia_code[x.n_dia] = (unsigned)strtoul(p, &p, 10);
		x.dia_request[x.n_dia] = *q == '1' || *q == 'T';
		x.n_dia++;
		p += *p == ',';
		q += strcspn(q, ",");
		q += *q == ',';
	}
	snprintf(x.proto, sizeof(x.proto), "%s", v[F_PROTO]);
	x.sat = (int)strtol(v[F_SAT], NULL, 10);
	/* An Authorization with a non-empty response: the answer to a
	 * challenge. tshark shows the value quoted. */
	x.authenticated = strlen(v[F_DIGEST]) > 2;
	x.stun = v[F_STUN][0] != 0;
	return push(f, &x);
}

static const char *const malformed_fields[] = { "frame.number", "frame.protocols",
						 "_ws.expert.message", NULL };

/*
 * One malformed frame ("number<TAB>protocols<TAB>messages"): what tshark
 * says of it in lc->why[i], its octets (tshark -x) in the file
 * lc->dump[i]. Best effort: a failure leaves the count alone.
 */
static void explain_malformed(const char *pcap, const char *const *esp_opts, char *line,
			      struct lab_link_cap *lc, unsigned i)
{
	char *protocols = strchr(line, '\t'), *words = NULL, *hex, filter[40];
	FILE *fp;
	const char *argv[MAX_ARGS];
	enum { HEX_MAX = 16384 };
	int n;

	if (protocols) {
		*protocols++ = 0;
		words = strchr(protocols, '\t');
		if (words)
			*words++ = 0;
	}
	snprintf(lc->why[i], sizeof(lc->why[i]), "frame %s (%s): %s", line,
		 protocols ? protocols : "?", words && *words ? words : "malformed");
	/* The same decoding options; -x prints the frame's summary line,
	 * then its octets (and those of a reassembled PDU). */
	snprintf(filter, sizeof(filter), "frame.number == %s", line);
	n = tshark_args(argv, pcap, filter, esp_opts);
	argv[n++] = "-x";
	argv[n] = NULL;
	hex = malloc(HEX_MAX);
	if (hex && lab_cmd_run(argv, LAB_CMD_QUIET, hex, HEX_MAX) == 0 &&
	    snprintf(lc->dump[i], sizeof(lc->dump[i]), "%s.frame-%s.txt", pcap, line) <
		    (int)sizeof(lc->dump[i]) &&
	    (fp = fopen(lc->dump[i], "we"))) {
		fputs(hex, fp);
		if (fclose(fp) != 0)
			lc->dump[i][0] = 0;
	} else {
		lc->dump[i][0] = 0;
	}
	free(hex);
}

static int read_capture(const struct lab *lab, const struct lab_member *m,
			const struct lab_topology *t, const char *const *esp_opts,
			struct lab_frames *f)
{
	struct lab_link_cap *lc;
	struct arena a;
	char *out, *line, *next;
	int rc;

	if (f->n_links == sizeof(f->links) / sizeof(f->links[0]))
		return -ENOSPC;
	lc = &f->links[f->n_links];
	memset(lc, 0, sizeof(*lc));
	snprintf(lc->name, sizeof(lc->name), "%s", m->name);
	snprintf(lc->pcap, sizeof(lc->pcap), "%s", m->pcap);
	lc->kind = link_kind(t, m->name);
	arena_init(&a, 0, 0);
	rc = lab_tshark(m->pcap, NULL, esp_opts, frame_fields, &a, &out);
	for (line = rc ? NULL : out; !rc && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		rc = parse_frame(line, (unsigned)f->n_links, f);
		lc->frames++;
	}
	if (!rc) {
		arena_reset(&a);
		rc = lab_tshark(m->pcap, "_ws.malformed", esp_opts, malformed_fields, &a, &out);
		for (line = rc ? NULL : out; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = 0;
			if (lc->malformed < LAB_MALFORMED_SHOWN)
				explain_malformed(m->pcap, esp_opts, line, lc, lc->malformed);
			lc->malformed++;
		}
	}
	arena_destroy(&a);
	if (!rc)
		f->n_links++;
	(void)lab;
	return rc;
}

int lab_frames_read(const struct lab *lab, struct lab_frames *f)
{
	const struct lab_topology *t = lab_topology_find(lab->topology ? lab->topology : "");
	const char *opts[MAX_ARGS];
	struct arena a;
	int n, rc = 0;

	memset(f, 0, sizeof(*f));
	if (!t)
		return -EINVAL;
	arena_init(&a, 0, 0);
	n = lab_esp_sa_args(lab, opts, 0, MAX_ARGS - 64, &a, &f->esp_sa_lines);
	if (n < 0)
		rc = n;
	else
		opts[n] = NULL;
	for (size_t i = 0; !rc && i < lab->n_members; i++)
		if (lab->members[i].kind == LAB_MEMBER_CAPTURE && lab->members[i].pcap)
			rc = read_capture(lab, &lab->members[i], t, opts, f);
	arena_destroy(&a);
	return rc;
}

void lab_frames_free(struct lab_frames *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}
