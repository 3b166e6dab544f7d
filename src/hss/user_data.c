/*
 * user_data.c - the User-Data of an SAA: an IMSSubscription document
 * (TS 29.228 Annex B and the CxDataType schema of Annex E).
 *
 * The S-CSCF gets the service profile of the implicit registration set
 * being registered (29.228 section 6.5.1.1): every IMPU of the set, the
 * set's default first, each with its barring indication. simreg has no
 * initial filter criteria to give, so the ServiceProfile holds identities
 * only; the schema allows that.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hss/hss.h"

size_t hss_xml_escape(struct str in, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < in.len; i++) {
		const char *rep = NULL;
		char c = in.s[i];

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		}
		if (rep) {
			size_t l = strlen(rep);

			if (o + l < cap)
				memcpy(out + o, rep, l);
			o += l;
		} else {
			if (o + 1 < cap)
				out[o] = c;
			o++;
		}
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

struct doc {
	char *buf;
	size_t len, cap;
	bool overflow;
};

static void put(struct doc *d, const char *s)
{
	size_t l = strlen(s);

	if (d->len + l >= d->cap) {
		d->overflow = true;
		return;
	}
	memcpy(d->buf + d->len, s, l + 1);
	d->len += l;
}

static void put_escaped(struct doc *d, struct str s)
{
	size_t need = hss_xml_escape(s, NULL, 0);

	if (d->len + need >= d->cap) {
		d->overflow = true;
		return;
	}
	hss_xml_escape(s, d->buf + d->len, d->cap - d->len);
	d->len += need;
}

int hss_user_data(struct hss_req *r, const struct store_impu *impus, size_t n, uint32_t irs,
		  struct str impi)
{
	struct doc d = { 0 };

	/* Identities are at most 255 bytes and escape to at most 6x. */
	d.cap = 512 + (n + 1) * (STORE_IDENTITY_MAX * 6 + 160);
	d.buf = arena_alloc(&r->arena, d.cap);
	if (!d.buf)
		return -ENOMEM;
	put(&d, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
		" xsi:noNamespaceSchemaLocation=\"CxDataType.xsd\">\n"
		"  <PrivateID>");
	put_escaped(&d, impi);
	put(&d, "</PrivateID>\n  <ServiceProfile>\n");
	for (size_t i = 0; i < n; i++) {
		if (impus[i].irs != irs)
			continue;
		put(&d, "    <PublicIdentity>\n");
		if (impus[i].barred)
			put(&d, "      <BarringIndication>1</BarringIndication>\n");
		put(&d, "      <Identity>");
		put_escaped(&d, impus[i].uri);
		put(&d, "</Identity>\n    </PublicIdentity>\n");
	}
	put(&d, "  </ServiceProfile>\n</IMSSubscription>\n");
	if (d.overflow)
		return -EMSGSIZE;
	r->user_data = str_make(d.buf, d.len);
	return 0;
}
