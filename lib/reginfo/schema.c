/*
 * schema.c - validation against the RFC 3680 section 6 XML schema.
 */
#include "reginfo/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#define XS_URI "http://www.w3.org/2001/XMLSchema"
#define XML_NS_URI "http://www.w3.org/XML/1998/namespace"

struct reginfo_schema {
	xmlDocPtr doc;		/* the schema text; components point into it */
	xmlSchemaPtr schema;
};

static int fail(struct reginfo_error *err, int line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct reginfo_error *err, int line, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err) {
		err->line = line;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		n = strlen(err->msg);
		if (n && err->msg[n - 1] == '\n') /* libxml2 messages end in one */
			err->msg[n - 1] = '\0';
	}
	return rc;
}

/* Keeps the first error libxml2 reports; later ones are usually echoes. */
struct first_error {
	bool seen;
	int line;
	char msg[160];
};

static void keep_first(void *user, xmlErrorPtr e)
{
	struct first_error *f = user;

	if (f->seen || !e || e->level < XML_ERR_ERROR)
		return;
	f->seen = true;
	f->line = e->line;
	snprintf(f->msg, sizeof(f->msg), "%s", e->message ? e->message : "unknown error");
}

static void quiet(void *user, xmlErrorPtr e)
{
}

/*
 * Point every <xs:import namespace="http://www.w3.org/XML/1998/namespace">
 * at the local schema of that namespace, so that compiling the schema never
 * reaches for http://www.w3.org/. Returns the number of imports changed.
 */
static int redirect_xml_import(xmlDocPtr doc, const char *local)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int changed = 0;

	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		xmlChar *ns;

		if (n->type != XML_ELEMENT_NODE || !n->ns ||
		    strcmp((const char *)n->ns->href, XS_URI) != 0 ||
		    strcmp((const char *)n->name, "import") != 0)
			continue;
		ns = xmlGetNoNsProp(n, BAD_CAST "namespace");
		if (ns && strcmp((const char *)ns, XML_NS_URI) == 0 &&
		    xmlSetProp(n, BAD_CAST "schemaLocation", BAD_CAST local))
			changed++;
		xmlFree(ns);
	}
	return changed;
}

int reginfo_schema_load(const char *reginfo_xsd_path, const char *xmlns_xsd_path,
			struct reginfo_schema **out, struct reginfo_error *err)
{
	struct first_error first = { 0 };
	struct reginfo_schema *s = NULL;
	xmlSchemaParserCtxtPtr pctxt = NULL;
	xmlParserCtxtPtr ctxt = NULL;
	char local[PATH_MAX];
	int rc = 0;

	*out = NULL;
	xmlInitParser();
	/* The import is resolved against the schema's own location, so the
	 * local file must be named absolutely. */
	if (!realpath(xmlns_xsd_path, local)) {
		rc = fail(err, 0, -errno, "%s: %s", xmlns_xsd_path, strerror(errno));
		goto out;
	}
	s = calloc(1, sizeof(*s));
	ctxt = xmlNewParserCtxt();
	if (!s || !ctxt) {
		rc = fail(err, 0, -ENOMEM, "out of memory");
		goto out;
	}
	/* Errors stay in the context (the SAX user data is the context itself,
	 * so the handler cannot collect them). */
	ctxt->sax->serror = quiet;
	s->doc = xmlCtxtReadFile(ctxt, reginfo_xsd_path, NULL,
				 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!s->doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		FILE *probe = fopen(reginfo_xsd_path, "r");

		if (!probe)
			rc = fail(err, 0, -errno, "%s: %s", reginfo_xsd_path, strerror(errno));
		else
			rc = fail(err, e ? e->line : 0, -EPROTO, "%s: not XML: %s",
				  reginfo_xsd_path, e && e->message ? e->message : "unknown error");
		if (probe)
			fclose(probe);
		goto out;
	}
	if (redirect_xml_import(s->doc, local) == 0) {
		rc = fail(err, 0, -EPROTO, "%s: no import of the XML namespace; not RFC 3680's schema",
			  reginfo_xsd_path);
		goto out;
	}
	pctxt = xmlSchemaNewDocParserCtxt(s->doc);
	if (!pctxt) {
		rc = fail(err, 0, -ENOMEM, "out of memory");
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, keep_first, &first);
	s->schema = xmlSchemaParse(pctxt);
	if (!s->schema) {
		rc = fail(err, first.line, -EPROTO, "%s: schema does not compile: %s",
			  reginfo_xsd_path, first.seen ? first.msg : "unknown error");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	if (pctxt)
		xmlSchemaFreeParserCtxt(pctxt);
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	reginfo_schema_free(s);
	return rc;
}

void reginfo_schema_free(struct reginfo_schema *s)
{
	if (!s)
		return;
	if (s->schema)
		xmlSchemaFree(s->schema);
	if (s->doc)
		xmlFreeDoc(s->doc);
	free(s);
}

int reginfo_validate(const struct reginfo_schema *s, const char *buf, size_t len,
		     struct reginfo_error *err)
{
	struct first_error first = { 0 };
	xmlSchemaValidCtxtPtr vctxt = NULL;
	xmlDocPtr xml = NULL;
	int rc, v;

	rc = reginfo_read_xml(buf, len, &xml, err);
	if (rc)
		goto out;
	vctxt = xmlSchemaNewValidCtxt(s->schema);
	if (!vctxt) {
		rc = fail(err, 0, -ENOMEM, "out of memory");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctxt, keep_first, &first);
	v = xmlSchemaValidateDoc(vctxt, xml);
	if (v < 0)
		rc = fail(err, 0, -ENOMEM, "libxml2 schema validation failed internally");
	else if (v > 0)
		rc = fail(err, first.line, -EPROTO, "%s",
			  first.seen ? first.msg : "not valid against RFC 3680's schema");
out:
	if (vctxt)
		xmlSchemaFreeValidCtxt(vctxt);
	if (xml)
		xmlFreeDoc(xml);
	return rc;
}
