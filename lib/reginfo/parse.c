/*
 * parse.c - read a reginfo document (a NOTIFY body) into the model.
 *
 * libxml2 builds the tree; everything a peer controls is bounded before or
 * while it does: the size of the body, the nesting depth (libxml2's own
 * limit without XML_PARSE_HUGE), and DTDs, which are refused outright so
 * that no entity is ever declared, let alone expanded or fetched.
 * The walk then follows the RFC 3680 section 6 schema element by element,
 * so a document this accepts is one the schema accepts, except that
 * attributes the schema does not know are ignored.
 */
#include "reginfo/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define XML_NS_URI "http://www.w3.org/XML/1998/namespace"

/*
 * What the parser may do: nothing from the network, no DTD loading, no
 * default attributes from a DTD, no entity substitution (no
 * XML_PARSE_NOENT), no lifting of the depth and size limits (no
 * XML_PARSE_HUGE). CDATA sections arrive as plain text.
 */
#define REGINFO_PARSE_OPTIONS                                                     \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | \
	 XML_PARSE_BIG_LINES)

struct pctx {
	struct arena *arena;
	struct reginfo_error *err;
};

static int fail(struct pctx *p, const xmlNode *at, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct pctx *p, const xmlNode *at, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->err) {
		p->err->line = at ? (int)xmlGetLineNo(at) : 0;
		if (p->err->line < 0)
			p->err->line = 0;
		va_start(ap, fmt);
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool is_reginfo(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, REGINFO_NS) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

static bool in_reginfo_ns(const xmlNode *n)
{
	return n->ns && n->ns->href && strcmp((const char *)n->ns->href, REGINFO_NS) == 0;
}

static bool blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

/*
 * Classify a child of an element with element-only content: returns 1 for
 * an element to look at, 0 for something to skip (whitespace, comments,
 * processing instructions), or a negative errno for text that does not
 * belong there.
 */
static int element_child(struct pctx *p, const xmlNode *parent, const xmlNode *n)
{
	switch (n->type) {
	case XML_ELEMENT_NODE:
		return 1;
	case XML_TEXT_NODE:
		if (blank(n->content))
			return 0;
		return fail(p, n, -EPROTO, "<%s> holds text; only elements belong there",
			    (const char *)parent->name);
	case XML_COMMENT_NODE:
	case XML_PI_NODE:
		return 0;
	default:
		return fail(p, n, -EPROTO, "unexpected XML node type %d in <%s>", (int)n->type,
			    (const char *)parent->name);
	}
}

/*
 * The character data of an element with simple content, copied into the
 * arena. An element without text reads as absent (s == NULL).
 */
static int get_text(struct pctx *p, const xmlNode *el, struct str *out)
{
	size_t total = 0;
	char *buf;

	for (const xmlNode *n = el->children; n; n = n->next) {
		if (n->type == XML_TEXT_NODE)
			total += strlen((const char *)n->content);
		else if (n->type == XML_ELEMENT_NODE || n->type == XML_ENTITY_REF_NODE)
			return fail(p, n, -EPROTO, "<%s> must hold text only",
				    (const char *)el->name);
	}
	*out = STR_NULL;
	if (total == 0)
		return 0;
	buf = arena_alloc(p->arena, total + 1);
	if (!buf)
		return fail(p, el, -ENOMEM, "out of memory");
	total = 0;
	for (const xmlNode *n = el->children; n; n = n->next) {
		if (n->type == XML_TEXT_NODE) {
			size_t l = strlen((const char *)n->content);

			memcpy(buf + total, n->content, l);
			total += l;
		}
	}
	*out = str_make(buf, total);
	return 0;
}

/*
 * An attribute without a namespace (or, with ns_uri, in that namespace),
 * copied into the arena; s == NULL when absent.
 */
static int get_attr(struct pctx *p, const xmlNode *el, const char *name, const char *ns_uri,
		    struct str *out)
{
	const xmlAttr *at;
	xmlChar *joined = NULL;
	const xmlChar *v;
	int rc = 0;

	*out = STR_NULL;
	for (at = el->properties; at; at = at->next) {
		if (strcmp((const char *)at->name, name) != 0)
			continue;
		if (ns_uri ? at->ns && strcmp((const char *)at->ns->href, ns_uri) == 0 : !at->ns)
			break;
	}
	if (!at)
		return 0;
	/* Without a DTD an attribute's value is one text node (or none, when
	 * empty); anything else is joined the long way. */
	if (!at->children)
		v = BAD_CAST "";
	else if (at->children->type == XML_TEXT_NODE && !at->children->next)
		v = at->children->content;
	else
		v = joined = xmlNodeListGetString(el->doc, at->children, 1);
	if (!v)
		return fail(p, el, -ENOMEM, "out of memory");
	*out = arena_str(p->arena, str_from_cstr((const char *)v));
	if (!out->s)
		rc = fail(p, el, -ENOMEM, "out of memory");
	xmlFree(joined);
	return rc;
}

static int required_attr(struct pctx *p, const xmlNode *el, const char *name, struct str *out)
{
	int rc = get_attr(p, el, name, NULL, out);

	if (rc == 0 && !out->s)
		rc = fail(p, el, -EPROTO, "<%s> lacks the required attribute %s",
			  (const char *)el->name, name);
	return rc;
}

/* Look `text` up in a table of wire names; -1 when it is not there. */
static int lookup(struct str text, const char *(*name_of)(int), int count)
{
	for (int i = 0; i < count; i++)
		if (str_eq_cstr(text, name_of(i)))
			return i;
	return -1;
}

static const char *doc_state_at(int i)
{
	return reginfo_doc_state_name((enum reginfo_doc_state)i);
}

static const char *reg_state_at(int i)
{
	return reginfo_reg_state_name((enum reginfo_reg_state)i);
}

static const char *contact_state_at(int i)
{
	/* INIT is the state machine's own; a document never carries it. */
	return i == REGINFO_CONTACT_INIT ? "" : reginfo_contact_state_name(i);
}

static const char *event_at(int i)
{
	return reginfo_event_name((enum reginfo_event)i);
}

static int enum_attr(struct pctx *p, const xmlNode *el, const char *name,
		     const char *(*name_of)(int), int count, int *out)
{
	struct str v;
	int rc = required_attr(p, el, name, &v);

	if (rc)
		return rc;
	*out = v.len ? lookup(v, name_of, count) : -1;
	if (*out < 0)
		return fail(p, el, -EPROTO, "<%s %s=\"%.40s\">: not a value RFC 3680 defines",
			    (const char *)el->name, name, v.s);
	return 0;
}

/*
 * A numeric attribute: xs:unsignedLong (digits only), or, with `signed_ok`,
 * xs:nonNegativeInteger, which may carry a '+' (XML Schema part 2, 3.3.20
 * and 3.3.25). Both collapse surrounding whitespace.
 */
static int number_attr(struct pctx *p, const xmlNode *el, const char *name, bool required,
		       bool signed_ok, bool *present, uint64_t *out)
{
	struct str v, digits;
	int rc = get_attr(p, el, name, NULL, &v);

	*present = false;
	if (rc)
		return rc;
	if (!v.s) {
		if (required)
			return fail(p, el, -EPROTO, "<%s> lacks the required attribute %s",
				    (const char *)el->name, name);
		return 0;
	}
	digits = str_trim(v);
	if (signed_ok && digits.len && digits.s[0] == '+')
		digits = str_sub(digits, 1, digits.len - 1);
	rc = str_to_u64(digits, UINT64_MAX, out);
	if (rc == -ERANGE)
		return fail(p, el, -ERANGE, "<%s %s=\"%.40s\">: number too large",
			    (const char *)el->name, name, v.s);
	if (rc)
		return fail(p, el, -EPROTO, "<%s %s=\"%.40s\">: not an unsigned integer",
			    (const char *)el->name, name, v.s);
	*present = true;
	return 0;
}

static int parse_param(struct pctx *p, struct reginfo_contact *c, const xmlNode *el)
{
	struct reginfo_param *prm;
	int rc;

	if (c->nparams >= REGINFO_MAX_PARAMS)
		return fail(p, el, -EMSGSIZE, "contact %s: more than %d <unknown-param>", c->id.s,
			    REGINFO_MAX_PARAMS);
	prm = arena_alloc(p->arena, sizeof(*prm));
	if (!prm)
		return fail(p, el, -ENOMEM, "out of memory");
	rc = required_attr(p, el, "name", &prm->name);
	if (!rc)
		rc = get_text(p, el, &prm->value);
	if (rc)
		return rc;
	/* Appended by reginfo_add_param's rule: document order. */
	{
		struct reginfo_param **tail = &c->params;

		while (*tail)
			tail = &(*tail)->next;
		*tail = prm;
	}
	c->nparams++;
	return 0;
}

/* The children of <contact>, in the schema's order: uri, display-name?,
 * unknown-param*, then elements of other namespaces. */
enum contact_stage {
	CS_START,
	CS_URI,
	CS_DISPLAY,
	CS_PARAMS,
	CS_OTHER,
};

static int parse_contact_children(struct pctx *p, struct reginfo_contact *c, const xmlNode *el)
{
	enum contact_stage stage = CS_START;
	int rc = 0;

	for (const xmlNode *n = el->children; n && !rc; n = n->next) {
		rc = element_child(p, el, n);
		if (rc <= 0)
			continue;
		rc = 0;
		if (!in_reginfo_ns(n) && n->ns && stage != CS_START) {
			stage = CS_OTHER;	/* an extension (RFC 5628 GRUU, ...) */
		} else if (is_reginfo(n, "uri") && stage == CS_START) {
			stage = CS_URI;
			rc = get_text(p, n, &c->uri);
			c->uri = str_trim(c->uri); /* xs:anyURI collapses whitespace */
			if (!rc && !c->uri.len)
				rc = fail(p, n, -EPROTO, "contact %s: empty <uri>", c->id.s);
		} else if (is_reginfo(n, "display-name") && stage == CS_URI) {
			stage = CS_DISPLAY;
			rc = get_text(p, n, &c->display_name);
			if (!rc && !c->display_name.s)
				c->display_name = STR_LIT("");
			if (!rc)
				rc = get_attr(p, n, "lang", XML_NS_URI, &c->display_lang);
		} else if (is_reginfo(n, "unknown-param") && stage >= CS_URI &&
			   stage <= CS_PARAMS) {
			stage = CS_PARAMS;
			rc = parse_param(p, c, n);
		} else if (stage == CS_START) {
			rc = fail(p, n, -EPROTO, "contact %s: <%s> where <uri> must come first",
				  c->id.s, (const char *)n->name);
		} else {
			rc = fail(p, n, -EPROTO, "contact %s: <%s>%s is out of place", c->id.s,
				  (const char *)n->name,
				  n->ns ? "" : " (without the reginfo namespace)");
		}
	}
	if (!rc && stage == CS_START)
		rc = fail(p, el, -EPROTO, "contact %s: no <uri>", c->id.s);
	return rc;
}

static int parse_contact(struct pctx *p, struct reginfo_reg *r, const xmlNode *el)
{
	struct reginfo_contact *c;
	int state, event, rc;
	bool has;

	if (r->ncontacts >= REGINFO_MAX_CONTACTS)
		return fail(p, el, -EMSGSIZE, "registration %s: more than %d contacts", r->id.s,
			    REGINFO_MAX_CONTACTS);
	c = arena_alloc(p->arena, sizeof(*c));
	if (!c)
		return fail(p, el, -ENOMEM, "out of memory");
	rc = required_attr(p, el, "id", &c->id);
	if (!rc)
		rc = enum_attr(p, el, "state", contact_state_at, REGINFO_CONTACT__COUNT, &state);
	if (!rc)
		rc = enum_attr(p, el, "event", event_at, REGINFO_EV__COUNT, &event);
	if (rc)
		return rc;
	c->state = (enum reginfo_contact_state)state;
	c->event = (enum reginfo_event)event;
	if (reginfo_event_target(c->event) != c->state)
		return fail(p, el, -EPROTO,
			    "contact %s: state %s, but event %s leads to %s (RFC 3680 5.1.2)",
			    c->id.s, reginfo_contact_state_name(c->state),
			    reginfo_event_name(c->event),
			    reginfo_contact_state_name(reginfo_event_target(c->event)));

	static const struct {
		const char *name;
		unsigned bit;
		size_t off;
	} nums[] = {
		{ "expires", REGINFO_HAS_EXPIRES, offsetof(struct reginfo_contact, expires) },
		{ "duration-registered", REGINFO_HAS_DURATION,
		  offsetof(struct reginfo_contact, duration_registered) },
		{ "retry-after", REGINFO_HAS_RETRY_AFTER,
		  offsetof(struct reginfo_contact, retry_after) },
		{ "cseq", REGINFO_HAS_CSEQ, offsetof(struct reginfo_contact, cseq) },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]) && !rc; i++) {
		rc = number_attr(p, el, nums[i].name, false, false, &has,
				 (uint64_t *)((char *)c + nums[i].off));
		if (has)
			c->has |= nums[i].bit;
	}
	if (!rc)
		rc = get_attr(p, el, "q", NULL, &c->q);
	if (!rc)
		rc = get_attr(p, el, "callid", NULL, &c->callid);
	if (!rc)
		rc = parse_contact_children(p, c, el);
	if (rc)
		return rc;
	if (reginfo_find_contact(r, c->id))
		return fail(p, el, -EPROTO, "registration %s: contact id %s appears twice",
			    r->id.s, c->id.s);
	{
		struct reginfo_contact **tail = &r->contacts;

		while (*tail)
			tail = &(*tail)->next;
		*tail = c;
	}
	r->ncontacts++;
	return 0;
}

static int parse_registration(struct pctx *p, struct reginfo *doc, const xmlNode *el)
{
	struct reginfo_reg *r;
	bool other = false;
	int state, rc;

	if (doc->nregs >= REGINFO_MAX_REGS)
		return fail(p, el, -EMSGSIZE, "more than %d registrations", REGINFO_MAX_REGS);
	r = arena_alloc(p->arena, sizeof(*r));
	if (!r)
		return fail(p, el, -ENOMEM, "out of memory");
	rc = required_attr(p, el, "aor", &r->aor);
	if (!rc)
		rc = required_attr(p, el, "id", &r->id);
	if (!rc)
		rc = enum_attr(p, el, "state", reg_state_at, REGINFO_REG__COUNT, &state);
	if (rc)
		return rc;
	r->aor = str_trim(r->aor); /* xs:anyURI */
	if (!r->aor.len)
		return fail(p, el, -EPROTO, "registration %s: empty aor", r->id.s);
	r->state = (enum reginfo_reg_state)state;
	if (reginfo_find_reg(doc, r->id))
		return fail(p, el, -EPROTO, "registration id %s appears twice", r->id.s);

	for (const xmlNode *n = el->children; n && !rc; n = n->next) {
		rc = element_child(p, el, n);
		if (rc <= 0)
			continue;
		rc = 0;
		if (is_reginfo(n, "contact") && !other)
			rc = parse_contact(p, r, n);
		else if (n->ns && !in_reginfo_ns(n))
			other = true;
		else
			rc = fail(p, n, -EPROTO, "registration %s: <%s> is out of place", r->id.s,
				  (const char *)n->name);
	}
	if (rc)
		return rc;
	{
		struct reginfo_reg **tail = &doc->regs;

		while (*tail)
			tail = &(*tail)->next;
		*tail = r;
	}
	doc->nregs++;
	return 0;
}

static int parse_root(struct pctx *p, struct reginfo *doc, const xmlNode *root)
{
	bool has_version, other = false;
	int state, rc;

	if (!root)
		return fail(p, NULL, -EPROTO, "no root element");
	if (!is_reginfo(root, "reginfo"))
		return fail(p, root, -EPROTO, "root element is {%s}%s, not {" REGINFO_NS "}reginfo",
			    root->ns && root->ns->href ? (const char *)root->ns->href : "",
			    (const char *)root->name);
	rc = number_attr(p, root, "version", true, true, &has_version, &doc->version);
	if (!rc)
		rc = enum_attr(p, root, "state", doc_state_at, REGINFO_DOC__COUNT, &state);
	if (rc)
		return rc;
	doc->state = (enum reginfo_doc_state)state;

	for (const xmlNode *n = root->children; n && !rc; n = n->next) {
		rc = element_child(p, root, n);
		if (rc <= 0)
			continue;
		rc = 0;
		if (is_reginfo(n, "registration") && !other)
			rc = parse_registration(p, doc, n);
		else if (n->ns && !in_reginfo_ns(n))
			other = true;
		else
			rc = fail(p, n, -EPROTO, "<%s> is out of place in <reginfo>",
				  (const char *)n->name);
	}
	return rc;
}

/* SAX hook: a DOCTYPE was seen. Stop before its internal subset is read. */
static void on_doctype(void *user, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = user;

	ctxt->_private = (void *)"doctype";
	xmlStopParser(ctxt);
}

/* libxml2 reports errors through the context; nothing goes to stderr. */
static void quiet(void *user, xmlErrorPtr error)
{
}

int reginfo_read_xml(const char *buf, size_t len, xmlDocPtr *out, struct reginfo_error *err)
{
	struct pctx p = { .err = err };
	xmlStructuredErrorFunc saved_handler;
	xmlParserCtxtPtr ctxt = NULL;
	void *saved_data;
	xmlDocPtr xml = NULL;
	int rc = 0;

	*out = NULL;
	if (len > REGINFO_MAX_DOC) {
		rc = fail(&p, NULL, -EMSGSIZE, "document of %zu bytes, more than %d", len,
			  REGINFO_MAX_DOC);
		goto out;
	}
	if (len == 0) {
		rc = fail(&p, NULL, -EBADMSG, "empty document");
		goto out;
	}
	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		rc = fail(&p, NULL, -ENOMEM, "out of memory");
		goto out;
	}
	ctxt->sax->internalSubset = on_doctype;
	ctxt->sax->serror = quiet;
	/*
	 * Some layers of libxml2 (character encoding conversion) report
	 * without a parser context, through the thread's structured error
	 * handler, whose default prints to stderr. A peer must not be able
	 * to write into our logs that way: silence it while parsing.
	 */
	saved_handler = xmlStructuredError;
	saved_data = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(NULL, quiet);
	xml = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, REGINFO_PARSE_OPTIONS);
	xmlSetStructuredErrorFunc(saved_data, saved_handler);
	if (ctxt->_private) {
		rc = fail(&p, NULL, -EBADMSG, "DOCTYPE not allowed in a reginfo document");
		goto out_doc;
	}
	if (!xml || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		if (e && e->code == XML_ERR_NO_MEMORY) {
			rc = fail(&p, NULL, -ENOMEM, "out of memory");
		} else {
			rc = fail(&p, NULL, -EBADMSG, "not well-formed XML: %s",
				  e && e->message ? e->message : "unknown error");
			if (err && e)
				err->line = e->line;
			/* libxml2's messages end in a newline; drop it. */
			if (err && strlen(err->msg) &&
			    err->msg[strlen(err->msg) - 1] == '\n')
				err->msg[strlen(err->msg) - 1] = '\0';
		}
		goto out_doc;
	}
	*out = xml;
	xml = NULL;
out_doc:
	if (xml)
		xmlFreeDoc(xml);
	xmlFreeParserCtxt(ctxt);
out:
	return rc;
}

int reginfo_parse(const char *buf, size_t len, struct arena *arena, struct reginfo *doc,
		  struct reginfo_error *err)
{
	struct pctx p = { .arena = arena, .err = err };
	xmlDocPtr xml;
	int rc;

	reginfo_init(doc, 0, REGINFO_DOC_FULL);
	rc = reginfo_read_xml(buf, len, &xml, err);
	if (rc)
		goto out;
	rc = parse_root(&p, doc, xmlDocGetRootElement(xml));
	xmlFreeDoc(xml);
	if (rc)
		reginfo_init(doc, 0, REGINFO_DOC_FULL);
out:
	return rc;
}
