/*
 * bench_reginfo - how fast lib/reginfo builds and parses a NOTIFY body,
 * measured against a peer in the same run:
 *
 *   build: reginfo_build() (checks the model, then libxml2's text writer
 *          straight into a caller buffer) against the libxml2 tree route a
 *          notifier commonly takes: xmlNewDoc / xmlNewChild / xmlNewProp,
 *          then xmlDocDumpFormatMemoryEnc() and xmlFree().
 *   parse: reginfo_parse() (hardened read, schema-order walk, model in an
 *          arena) against xmlReadMemory() + xmlFreeDoc() alone, the floor
 *          any libxml2-based reader pays before it looks at a single
 *          element.
 *
 * The document is a subscriber with an implicit registration set of
 * REGS IMPUs, each with CONTACTS contacts (two flows, + refreshed/expired
 * ones), about what a multi-access UE's S-CSCF reports.
 *
 * Usage: bench_reginfo [SECONDS_PER_SIDE]   (default 1; build and parse
 *        each take twice that)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/arena.h"
#include "reginfo/reginfo.h"

enum { REGS = 8, CONTACTS = 4 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_model(struct reginfo *doc, struct arena *a)
{
	reginfo_init(doc, 41, REGINFO_DOC_FULL);
	for (int i = 0; i < REGS; i++) {
		char aor[64], id[16];
		struct reginfo_reg *r;

		snprintf(aor, sizeof(aor), "sip:user%d@ims.example.net", i);
		snprintf(id, sizeof(id), "r%d", i);
		r = reginfo_add_reg(doc, a, str_from_cstr(aor), str_from_cstr(id),
				    REGINFO_REG_INIT);
		for (int k = 0; k < CONTACTS; k++) {
			char cid[16], uri[64], regid[4];
			struct reginfo_contact *c;

			snprintf(cid, sizeof(cid), "c%d.%d", i, k);
			snprintf(uri, sizeof(uri), "sip:user%d@198.18.%d.%d:5060", i, i, k + 10);
			snprintf(regid, sizeof(regid), "%d", k + 1);
			c = reginfo_add_contact(r, a, str_from_cstr(cid), str_from_cstr(uri));
			reginfo_contact_apply(c, REGINFO_EV_REGISTERED);
			if (k == 3)
				reginfo_contact_apply(c, REGINFO_EV_EXPIRED);
			else if (k == 2)
				reginfo_contact_apply(c, REGINFO_EV_REFRESHED);
			c->has = REGINFO_HAS_EXPIRES | REGINFO_HAS_DURATION;
			c->expires = c->state == REGINFO_CONTACT_ACTIVE ? 3600 : 0;
			c->duration_registered = 120;
			reginfo_add_param(c, a, STR_LIT("+sip.instance"),
					  STR_LIT("\"<urn:gsma:imei:35209900-176148-0>\""));
			reginfo_add_param(c, a, STR_LIT("reg-id"), str_from_cstr(regid));
		}
		reginfo_reg_settle(r);
	}
}

/* The peer: the same document through libxml2's tree API. */
static size_t peer_build(const struct reginfo *doc)
{
	xmlDocPtr x = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "reginfo");
	xmlChar *mem = NULL;
	char num[24];
	int size = 0;

	xmlDocSetRootElement(x, root);
	xmlSetNs(root, xmlNewNs(root, BAD_CAST REGINFO_NS, NULL));
	snprintf(num, sizeof(num), "%" PRIu64, doc->version);
	xmlNewProp(root, BAD_CAST "version", BAD_CAST num);
	xmlNewProp(root, BAD_CAST "state", BAD_CAST reginfo_doc_state_name(doc->state));
	for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
		xmlNodePtr rn = xmlNewChild(root, NULL, BAD_CAST "registration", NULL);

		xmlNewProp(rn, BAD_CAST "aor", BAD_CAST r->aor.s);
		xmlNewProp(rn, BAD_CAST "id", BAD_CAST r->id.s);
		xmlNewProp(rn, BAD_CAST "state", BAD_CAST reginfo_reg_state_name(r->state));
		for (const struct reginfo_contact *c = r->contacts; c; c = c->next) {
			xmlNodePtr cn = xmlNewChild(rn, NULL, BAD_CAST "contact", NULL);

			xmlNewProp(cn, BAD_CAST "id", BAD_CAST c->id.s);
			xmlNewProp(cn, BAD_CAST "state",
				   BAD_CAST reginfo_contact_state_name(c->state));
			xmlNewProp(cn, BAD_CAST "event", BAD_CAST reginfo_event_name(c->event));
			snprintf(num, sizeof(num), "%" PRIu64, c->expires);
			xmlNewProp(cn, BAD_CAST "expires", BAD_CAST num);
			snprintf(num, sizeof(num), "%" PRIu64, c->duration_registered);
			xmlNewProp(cn, BAD_CAST "duration-registered", BAD_CAST num);
			xmlNewTextChild(cn, NULL, BAD_CAST "uri", BAD_CAST c->uri.s);
			for (const struct reginfo_param *p = c->params; p; p = p->next) {
				xmlNodePtr pn = xmlNewTextChild(cn, NULL, BAD_CAST "unknown-param",
								BAD_CAST p->value.s);

				xmlNewProp(pn, BAD_CAST "name", BAD_CAST p->name.s);
			}
		}
	}
	xmlDocDumpFormatMemoryEnc(x, &mem, &size, "UTF-8", 1);
	xmlFree(mem);
	xmlFreeDoc(x);
	return (size_t)size;
}

struct result {
	double ops;
	size_t bytes;
};

/*
 * Time `ours` and `peer` in alternating batches of 64 for `secs` seconds
 * in total, so that load from elsewhere on the machine falls on both
 * sides alike instead of on whichever ran second.
 */
#define DUEL(ours_res, ours_body, peer_res, peer_body, secs)                  \
	do {                                                                  \
		double spent_o = 0, spent_p = 0, t0, t1;                      \
		unsigned long n = 0;                                          \
		while (spent_o + spent_p < (secs)) {                          \
			t0 = now();                                           \
			for (int rep = 0; rep < 64; rep++) {                  \
				ours_body;                                    \
			}                                                     \
			t1 = now();                                           \
			spent_o += t1 - t0;                                   \
			for (int rep = 0; rep < 64; rep++) {                  \
				peer_body;                                    \
			}                                                     \
			spent_p += now() - t1;                                \
			n += 64;                                              \
		}                                                             \
		(ours_res).ops = (double)n / spent_o;                         \
		(peer_res).ops = (double)n / spent_p;                         \
	} while (0)

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	struct result ours_b, peer_b, ours_p, peer_p;
	struct reginfo_error err;
	struct arena a, pa;
	struct reginfo doc, parsed;
	static char buf[65536];
	size_t len = 0;

	if (secs <= 0)
		secs = 1.0;
	xmlInitParser();
	arena_init(&a, 0, 0);
	make_model(&doc, &a);
	if (reginfo_build(&doc, buf, sizeof(buf), &len, &err)) {
		fprintf(stderr, "bench_reginfo: %s\n", err.msg);
		return 1;
	}
	ours_b.bytes = len;
	peer_b.bytes = peer_build(&doc);

	DUEL(ours_b, reginfo_build(&doc, buf, sizeof(buf), &len, &err), peer_b,
	     peer_build(&doc), 2 * secs);
	arena_init(&pa, 16384, 0);
	DUEL(ours_p,
	     {
		     reginfo_parse(buf, len, &pa, &parsed, &err);
		     arena_reset(&pa);
	     },
	     peer_p, xmlFreeDoc(xmlReadMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET)),
	     2 * secs);

	printf("document: %d registrations x %d contacts, %zu bytes (peer's rendering %zu)\n",
	       REGS, CONTACTS, ours_b.bytes, peer_b.bytes);
	printf("build  reginfo_build            %9.0f docs/s\n", ours_b.ops);
	printf("build  libxml2 tree + dump      %9.0f docs/s   ratio %.2f\n", peer_b.ops,
	       ours_b.ops / peer_b.ops);
	printf("parse  reginfo_parse (model)    %9.0f docs/s\n", ours_p.ops);
	printf("parse  xmlReadMemory only       %9.0f docs/s   ratio %.2f\n", peer_p.ops,
	       ours_p.ops / peer_p.ops);
	arena_destroy(&pa);
	arena_destroy(&a);
	xmlCleanupParser();
	return 0;
}
