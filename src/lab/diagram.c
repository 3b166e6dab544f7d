#define SLOG_COMPONENT "lab"
#include "lab/diagram.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "lab/lab.h"

/* Two captures see one message within this long of each other. */
#define SAME_MESSAGE_S 0.2
/* Messages remembered to find copies: plenty, since the copies of one are
 * captured within a millisecond of each other. */
#define RING 64
/* Diameter Device-Watchdog (RFC 6733 5.5): noise in a diagram. */
#define DIAMETER_DWR 280
#define DIAMETER_PORT 3868

/* ---- lanes ------------------------------------------------------------------- */

static int add_lane(struct lab_diagram *d, const char *name)
{
	if (d->n_lanes == LAB_DIAGRAM_LANES)
		return -1;
	memset(&d->lanes[d->n_lanes], 0, sizeof(d->lanes[0]));
	snprintf(d->lanes[d->n_lanes].name, sizeof(d->lanes[0].name), "%s", name);
	return (int)d->n_lanes++;
}

static void add_addr(struct lab_diagram *d, int lane, uint8_t plane, uint8_t net, uint8_t host)
{
	struct lab_lane *l = &d->lanes[lane];

	for (int f = LAB_V4; f <= LAB_V6 && l->n_addrs < 8; f++)
		lab_fmt_host(l->addrs[l->n_addrs++], (enum lab_family)f, plane, net, host, 0);
}

/* "pcscf-a" -> "P-CSCF A", "scscf" -> "S-CSCF". */
static void lane_name(const struct lab_function_spec *f, char *out, size_t size)
{
	static const char *const kinds[] = { "HSS", "S-CSCF", "P-CSCF", "UE" };
	const char *suffix = strchr(f->name, '-');
	size_t n;

	n = (size_t)snprintf(out, size, "%s", kinds[f->kind]);
	if (suffix && n + 2 < size) {
		out[n++] = ' ';
		for (suffix++; *suffix && n + 1 < size; suffix++)
			out[n++] = (char)toupper((unsigned char)*suffix);
		out[n] = 0;
	}
}

static void build_lanes(const struct lab_topology *t, struct lab_diagram *d)
{
	/* The UE, one lane per access, in link order. */
	for (size_t i = 0; i < t->n_functions; i++) {
		const struct lab_function_spec *f = &t->functions[i];
		int node = lab_node_index(t, f->role);

		if (f->kind != LAB_FN_UE)
			continue;
		for (size_t j = 0; j < t->n_links; j++) {
			const struct lab_link_spec *l = &t->links[j];
			const struct lab_end_spec *e = lab_link_end(t, l, node);
			char name[24];
			int lane;

			if (!e)
				continue;
			snprintf(name, sizeof(name), "UE %s", e == &l->a ? l->b.role : l->a.role);
			lane = add_lane(d, name);
			if (lane >= 0)
				add_addr(d, lane, l->plane, l->net, e->host);
		}
	}
	/* Then the P-CSCFs (every address of their node), the S-CSCF, the
	 * HSS: the order a request travels. */
	static const enum lab_fn_kind order[] = { LAB_FN_PCSCF, LAB_FN_SCSCF, LAB_FN_HSS };

	for (size_t pass = 0; pass < sizeof(order) / sizeof(order[0]); pass++) {
		for (size_t i = 0; i < t->n_functions; i++) {
			const struct lab_function_spec *f = &t->functions[i];
			int node = lab_node_index(t, f->role), lane;
			char name[24];

			if (f->kind != order[pass])
				continue;
			lane_name(f, name, sizeof(name));
			lane = add_lane(d, name);
			if (lane < 0)
				continue;
			if (f->kind == LAB_FN_PCSCF) {
				for (size_t j = 0; j < t->n_links; j++) {
					const struct lab_end_spec *e =
						lab_link_end(t, &t->links[j], node);

					if (e)
						add_addr(d, lane, t->links[j].plane,
							 t->links[j].net, e->host);
				}
			}
			for (size_t j = 0; j < t->n_services; j++) {
				const struct lab_service_spec *s = &t->services[j];

				if (lab_service_of(s, f))
					add_addr(d, lane, s->plane, s->net, s->host);
			}
		}
	}
	/* Services no function owns: the application server SIPp plays. */
	for (size_t j = 0; j < t->n_services; j++) {
		const struct lab_service_spec *s = &t->services[j];
		bool owned = false;
		int lane;

		for (size_t i = 0; i < t->n_functions && !owned; i++)
			owned = lab_service_of(s, &t->functions[i]);
		if (owned)
			continue;
		lane = add_lane(d, !strcmp(s->name, "as") ? "AS" : s->name);
		if (lane >= 0)
			add_addr(d, lane, s->plane, s->net, s->host);
	}
}

static int lane_of(const struct lab_diagram *d, const char *addr)
{
	for (size_t i = 0; i < d->n_lanes; i++)
		for (unsigned j = 0; j < d->lanes[i].n_addrs; j++)
			if (!strcmp(d->lanes[i].addrs[j], addr))
				return (int)i;
	return -1;
}

/* ---- the UE's SA sets, by SPI ------------------------------------------------- */

struct spi_set {
	uint32_t spi;
	uint64_t set;
};

static size_t read_sets(const struct lab *lab, struct spi_set *out, size_t max)
{
	const struct lab_member *ue = lab_function_of_kind(lab, "ue");
	char *path = NULL, *line = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	if (!ue || !ue->data || asprintf(&path, "%s/ue-events.jsonl", ue->data) < 0)
		return 0;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		static const char *const spis[] = { "spi_uc", "spi_us", "spi_pc", "spi_ps" };
		struct arena a;
		struct json_value *v;
		struct str ev;
		int64_t set, spi;

		if (!strstr(line, "\"event\":\"sa\""))
			continue;
		arena_init(&a, 0, 0);
		if (json_parse(&a, str_from_cstr(line), &v, NULL) == 0 &&
		    json_get_str(v, "event", &ev) == 0 && str_eq_cstr(ev, "sa") &&
		    json_get_int(v, "set", &set) == 0) {
			for (size_t k = 0; k < 4 && n < max; k++)
				if (json_get_int(v, spis[k], &spi) == 0)
					out[n++] = (struct spi_set){ (uint32_t)spi, (uint64_t)set };
		}
		arena_destroy(&a);
	}
	free(line);
	fclose(f);
	return n;
}

/* ---- arrows ----------------------------------------------------------------------- */

static const char *dia_name(unsigned code, bool request)
{
	static const struct {
		unsigned code;
		const char *req, *ans;
	} names[] = {
		{ 257, "CER", "CEA" }, { 282, "DPR", "DPA" }, { 300, "UAR", "UAA" },
		{ 301, "SAR", "SAA" }, { 302, "LIR", "LIA" }, { 303, "MAR", "MAA" },
		{ 304, "RTR", "RTA" }, { 305, "PPR", "PPA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return request ? names[i].req : names[i].ans;
	return request ? "request" : "answer";
}

static int push(struct lab_diagram *d, const struct lab_arrow *a)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 128;
		struct lab_arrow *v = realloc(d->arrows, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->arrows = v;
		d->cap = cap;
	}
	d->arrows[d->n++] = *a;
	return 0;
}

static int by_time(const void *x, const void *y)
{
	const struct lab_frame *a = *(const struct lab_frame *const *)x;
	const struct lab_frame *b = *(const struct lab_frame *const *)y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->link != b->link ? (a->link < b->link ? -1 : 1) : 0;
}

static void message_key(const struct lab_frame *x, char *out, size_t size)
{
	snprintf(out, size, "%s:%u>%s:%u|%u.%u|%s|%d|%s|%s|%u:%u", x->src, x->sport, x->dst,
		 x->dport, x->spi, x->esp_seq, x->method, x->status, x->cseq, x->call_id, x->n_dia,
		 x->n_dia ? x->dia_code[0] : 0);
}

static void label_of(const struct lab_frame *x, char *out, size_t size)
{
	unsigned long n = strtoul(x->cseq, NULL, 10);
	const char *m = strchr(x->cseq, ' ');

	if (x->n_dia) {
		size_t len = 0;

		out[0] = 0;
		for (unsigned i = 0; i < x->n_dia && len + 8 < size; i++)
			len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "+" : "",
						dia_name(x->dia_code[i], x->dia_request[i]));
	} else if (x->method[0]) {
		snprintf(out, size, "%s %lu", x->method, n);
	} else {
		snprintf(out, size, "%d %s %lu", x->status, m ? m + 1 : "", n);
	}
}

int lab_diagram_build(const struct lab *lab, const struct lab_frames *fr, struct lab_diagram *d)
{
	const struct lab_topology *t = lab_topology_find(lab->topology ? lab->topology : "");
	const struct lab_frame **order = NULL;
	struct spi_set sets[256];
	size_t n_sets, n = 0;
	char(*recent)[400] = NULL;
	double *recent_t = NULL;
	size_t ring_n = 0, ring_at = 0;
	int scscf = -1;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if (!t)
		return -EINVAL;
	snprintf(d->title, sizeof(d->title), "lab %s: %s (%s), mechanism %s, P-CSCF binding %s",
		 lab->id, t->name, t->summary, lab->deploy.mechanism ? lab->deploy.mechanism : "?",
		 lab->deploy.binding ? lab->deploy.binding : "?");
	build_lanes(t, d);
	for (size_t i = 0; i < d->n_lanes; i++)
		if (!strcmp(d->lanes[i].name, "S-CSCF"))
			scscf = (int)i;
	n_sets = read_sets(lab, sets, sizeof(sets) / sizeof(sets[0]));
	order = calloc(fr->n ? fr->n : 1, sizeof(*order));
	recent = calloc(RING, sizeof(*recent));
	recent_t = calloc(RING, sizeof(*recent_t));
	if (!order || !recent || !recent_t) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < fr->n; i++)
		if (fr->v[i].sip || (fr->v[i].n_dia && fr->v[i].dia_code[0] != DIAMETER_DWR))
			order[n++] = &fr->v[i];
	qsort(order, n, sizeof(*order), by_time);
	for (size_t i = 0; !rc && i < n; i++) {
		const struct lab_frame *x = order[i];
		struct lab_arrow a = { 0 };
		char key[400];
		bool dup = false;

		message_key(x, key, sizeof(key));
		for (size_t k = 0; k < ring_n && !dup; k++)
			dup = !strcmp(recent[k], key) && x->t - recent_t[k] < SAME_MESSAGE_S;
		if (dup)
			continue;
		snprintf(recent[ring_at], sizeof(recent[0]), "%s", key);
		recent_t[ring_at] = x->t;
		ring_at = (ring_at + 1) % RING;
		ring_n += ring_n < RING;
		a.from = lane_of(d, x->src);
		a.to = lane_of(d, x->dst);
		/* The S-CSCF dials the HSS without binding an address, so on the
		 * core's loopback its Cx connection comes from the HSS's own
		 * address; the end that is not the Diameter port is the S-CSCF. */
		if (x->n_dia && a.from == a.to && a.from >= 0 && scscf >= 0) {
			if (x->sport != DIAMETER_PORT)
				a.from = scscf;
			else
				a.to = scscf;
		}
		if (a.from < 0 || a.to < 0 || a.from == a.to)
			continue;
		if (!d->n)
			d->t0 = x->t;
		a.t = x->t - d->t0;
		label_of(x, a.label, sizeof(a.label));
		a.kind = x->n_dia ? "diameter" : "sip";
		snprintf(a.call_id, sizeof(a.call_id), "%s", x->call_id);
		if (x->esp) {
			uint64_t set = 0;

			for (size_t k = 0; k < n_sets && !set; k++)
				if (sets[k].spi == x->spi)
					set = sets[k].set;
			if (set)
				snprintf(a.sa, sizeof(a.sa), "set %llu 0x%08x",
					 (unsigned long long)set, x->spi);
			else
				snprintf(a.sa, sizeof(a.sa), "ESP 0x%08x", x->spi);
		}
		rc = push(d, &a);
	}
out:
	free(order);
	free(recent);
	free(recent_t);
	return rc;
}

void lab_diagram_free(struct lab_diagram *d)
{
	free(d->arrows);
	memset(d, 0, sizeof(*d));
}

/* ---- text ----------------------------------------------------------------------- */

#define COL 20

void lab_diagram_text(const struct lab_diagram *d, FILE *out)
{
	size_t width = d->n_lanes * COL;
	char *line = malloc(width + 1);

	if (!line)
		return;
	fprintf(out, "%s\n\n%9s  ", d->title, "t (s)");
	for (size_t i = 0; i < d->n_lanes; i++)
		fprintf(out, "%-*s", i + 1 < d->n_lanes ? COL : 1, d->lanes[i].name);
	fprintf(out, "\n");
	for (size_t k = 0; k < d->n; k++) {
		const struct lab_arrow *a = &d->arrows[k];
		size_t x1 = (size_t)a->from * COL, x2 = (size_t)a->to * COL;
		size_t lo = x1 < x2 ? x1 : x2, hi = x1 < x2 ? x2 : x1, len = strlen(a->label);

		memset(line, ' ', width);
		line[width] = 0;
		for (size_t i = 0; i < d->n_lanes; i++)
			line[i * COL] = '|';
		for (size_t i = lo + 1; i < hi; i++)
			line[i] = '-';
		if (x2 > x1)
			line[hi - 1] = '>';
		else
			line[lo + 1] = '<';
		/* The label on the arrow when it fits, else after it. */
		if (len + 4 <= hi - lo) {
			size_t at = lo + (hi - lo - len) / 2;

			line[at - 1] = ' ';
			memcpy(line + at, a->label, len);
			line[at + len] = ' ';
		}
		/* Up to the last lifeline; what follows goes right after it. */
		line[(d->n_lanes - 1) * COL + 1] = 0;
		fprintf(out, "%9.3f  %s", a->t, line);
		if (len + 4 > hi - lo)
			fprintf(out, "  %s", a->label);
		if (a->sa[0])
			fprintf(out, "  [ESP %s]", a->sa);
		fputc('\n', out);
	}
	fprintf(out,
		"\n%zu messages; [ESP set N 0xSPI]: carried by the UE's SA set N, SPI of the "
		"receiving SA\n",
		d->n);
	free(line);
}

/* ---- SVG ------------------------------------------------------------------------ */

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '"')
			fputs("&quot;", out);
		else
			fputc(*s, out);
	}
}

#define LANE_W 170
#define ROW_H 24
#define TOP 70
#define LEFT 70

void lab_diagram_svg(const struct lab_diagram *d, FILE *out)
{
	int w = LEFT + (int)d->n_lanes * LANE_W + 40;
	int h = TOP + (int)d->n * ROW_H + 60;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"12\">\n",
		w, h, w, h);
	fprintf(out, "<defs>\n");
	for (int k = 0; k < 3; k++) {
		static const char *const colour[] = { "#222222", "#1a7f37", "#0550ae" };

		fprintf(out,
			"  <marker id=\"a%d\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
			"markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">"
			"<path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>\n",
			k, colour[k]);
	}
	fprintf(out, "</defs>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(out, "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">");
	xml_text(out, d->title);
	fprintf(out, "</text>\n<text x=\"10\" y=\"38\" fill=\"#555\">black: SIP in the clear; "
		     "green: SIP inside ESP (SA set and SPI marked); blue: Diameter Cx</text>\n");
	for (size_t i = 0; i < d->n_lanes; i++) {
		int x = LEFT + (int)i * LANE_W + LANE_W / 2;

		fprintf(out,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"22\" rx=\"4\" "
			"fill=\"#eef\" stroke=\"#446\"/>\n",
			x - 60, TOP - 24, 120);
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">",
			x, TOP - 9);
		xml_text(out, d->lanes[i].name);
		fprintf(out,
			"</text>\n<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#aaa\" "
			"stroke-dasharray=\"4 3\"/>\n",
			x, TOP, x, h - 30);
	}
	for (size_t k = 0; k < d->n; k++) {
		const struct lab_arrow *a = &d->arrows[k];
		int y = TOP + 18 + (int)k * ROW_H;
		int x1 = LEFT + a->from * LANE_W + LANE_W / 2,
		    x2 = LEFT + a->to * LANE_W + LANE_W / 2;
		int style = !strcmp(a->kind, "diameter") ? 2 : a->sa[0] ? 1 : 0;
		static const char *const colour[] = { "#222222", "#1a7f37", "#0550ae" };

		fprintf(out, "<text x=\"8\" y=\"%d\" fill=\"#777\">%.3f</text>\n", y + 4, a->t);
		fprintf(out,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
			"stroke-width=\"%s\" marker-end=\"url(#a%d)\"/>\n",
			x1, y, x2 + (x2 > x1 ? -2 : 2), y, colour[style], a->sa[0] ? "2.5" : "1.2",
			style);
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">",
			(x1 + x2) / 2, y - 4, colour[style]);
		xml_text(out, a->label);
		if (a->sa[0]) {
			fprintf(out, " <tspan font-size=\"10\">[");
			xml_text(out, a->sa);
			fprintf(out, "]</tspan>");
		}
		fprintf(out, "</text>\n");
	}
	fprintf(out, "</svg>\n");
}

int lab_diagram_write(const struct lab *lab)
{
	struct lab_frames fr;
	struct lab_diagram d;
	char *path = NULL;
	FILE *f;
	int rc;

	rc = lab_frames_read(lab, &fr);
	if (!rc)
		rc = lab_diagram_build(lab, &fr, &d);
	lab_frames_free(&fr);
	if (rc)
		return rc;
	for (int k = 0; k < 2 && !rc; k++) {
		if (asprintf(&path, "%s/diagram.%s", lab->dir, k ? "svg" : "txt") < 0) {
			rc = -ENOMEM;
			break;
		}
		f = fopen(path, "we");
		if (!f) {
			rc = -errno;
			log_error("%s: %s", path, strerror(errno));
		} else {
			if (k)
				lab_diagram_svg(&d, f);
			else
				lab_diagram_text(&d, f);
			if (fclose(f))
				rc = -errno;
		}
		free(path);
		path = NULL;
	}
	if (!rc)
		rc = (int)d.n;
	lab_diagram_free(&d);
	return rc;
}
