/*
 * build.c - check a reginfo model and render it as RFC 3680 XML.
 *
 * The check comes first and is complete, so that nothing is written for a
 * model the notifier should never have produced. Rendering uses libxml2's
 * text writer for the document structure and indentation; character data
 * is escaped here, by length, because model strings are slices that need
 * not be NUL-terminated.
 */
#include "reginfo/reginfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/xmlwriter.h>

static int fail(struct reginfo_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct reginfo_error *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->line = 0;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

/*
 * True if `s` is UTF-8 made only of characters XML 1.0 allows (section
 * 2.2, production [2] Char): TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD,
 * U+10000..U+10FFFF. Overlong forms and surrogates are not UTF-8.
 */
static bool xml_chars_ok(struct str s)
{
	const unsigned char *p = (const unsigned char *)s.s;
	size_t i = 0;

	while (i < s.len) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			cp = p[i];
			n = 1;
		} else if ((p[i] & 0xe0) == 0xc0) {
			cp = p[i] & 0x1f;
			n = 2;
		} else if ((p[i] & 0xf0) == 0xe0) {
			cp = p[i] & 0x0f;
			n = 3;
		} else if ((p[i] & 0xf8) == 0xf0) {
			cp = p[i] & 0x07;
			n = 4;
		} else {
			return false;
		}
		if (s.len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
			return false;
		if (cp < 0x20 && cp != 0x9 && cp != 0xa && cp != 0xd)
			return false;
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
		    cp > 0x10ffff)
			return false;
		i += n;
	}
	return true;
}

/* RFC 3261 section 25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static bool qvalue_ok(struct str q)
{
	if (q.len == 0 || q.len > 5 || (q.s[0] != '0' && q.s[0] != '1'))
		return false;
	if (q.len == 1)
		return true;
	if (q.s[1] != '.')
		return false;
	for (size_t i = 2; i < q.len; i++) {
		if (q.s[i] < '0' || q.s[i] > '9')
			return false;
		if (q.s[0] == '1' && q.s[i] != '0')
			return false;
	}
	return true;
}

/* A required string: present, non-empty, XML-clean. */
static bool required_ok(struct str s)
{
	return s.s && s.len > 0 && xml_chars_ok(s);
}

/* An optional string: absent, or XML-clean. */
static bool optional_ok(struct str s)
{
	return !s.s || xml_chars_ok(s);
}

static int check_contact(const struct reginfo_reg *r, const struct reginfo_contact *c,
			 struct reginfo_error *err)
{
	enum reginfo_contact_state to;

	if (!required_ok(c->id))
		return fail(err, -EINVAL, "registration %.*s: contact without a usable id",
			    STR_FMT(r->id));
	/*
	 * The event in a document is the one that brought the contact into
	 * its current state, so the state must be where that event leads.
	 */
	if (c->state == REGINFO_CONTACT_INIT ||
	    (unsigned)c->state >= REGINFO_CONTACT__COUNT)
		return fail(err, -EINVAL,
			    "contact %.*s: state %s cannot be reported (only active or terminated)",
			    STR_FMT(c->id), reginfo_contact_state_name(c->state));
	if ((unsigned)c->event >= REGINFO_EV__COUNT)
		return fail(err, -EINVAL, "contact %.*s: invalid event %d", STR_FMT(c->id),
			    (int)c->event);
	to = reginfo_event_target(c->event);
	if (to != c->state)
		return fail(err, -EINVAL,
			    "contact %.*s: event %s leads to %s, not %s (RFC 3680 5.1.2)",
			    STR_FMT(c->id), reginfo_event_name(c->event),
			    reginfo_contact_state_name(to), reginfo_contact_state_name(c->state));
	if ((c->has & REGINFO_HAS_RETRY_AFTER) && c->event != REGINFO_EV_PROBATION)
		return fail(err, -EINVAL, "contact %.*s: retry-after belongs to event probation",
			    STR_FMT(c->id));
	if (!required_ok(c->uri))
		return fail(err, -EINVAL, "contact %.*s: no usable uri", STR_FMT(c->id));
	if (c->q.s && !qvalue_ok(c->q))
		return fail(err, -EINVAL, "contact %.*s: q \"%.*s\" is not a qvalue",
			    STR_FMT(c->id), STR_FMT(c->q));
	if (!optional_ok(c->callid) || !optional_ok(c->display_name) ||
	    !optional_ok(c->display_lang))
		return fail(err, -EINVAL,
			    "contact %.*s: callid or display-name is not XML-clean UTF-8",
			    STR_FMT(c->id));
	if (c->display_lang.s && !c->display_name.s)
		return fail(err, -EINVAL, "contact %.*s: display-name language without a name",
			    STR_FMT(c->id));
	for (const struct reginfo_param *p = c->params; p; p = p->next)
		if (!required_ok(p->name) || !optional_ok(p->value))
			return fail(err, -EINVAL,
				    "contact %.*s: unknown-param with a missing or unusable name "
				    "or value",
				    STR_FMT(c->id));
	for (const struct reginfo_contact *o = r->contacts; o != c; o = o->next)
		if (str_eq(o->id, c->id))
			return fail(err, -EINVAL, "registration %.*s: duplicate contact id %.*s",
				    STR_FMT(r->id), STR_FMT(c->id));
	return 0;
}

static int check_reg(const struct reginfo *doc, const struct reginfo_reg *r,
		     struct reginfo_error *err)
{
	bool live = false;
	int rc;

	if (!required_ok(r->aor) || !required_ok(r->id))
		return fail(err, -EINVAL, "registration without a usable aor or id");
	if ((unsigned)r->state >= REGINFO_REG__COUNT)
		return fail(err, -EINVAL, "registration %.*s: invalid state %d", STR_FMT(r->id),
			    (int)r->state);
	for (const struct reginfo_reg *o = doc->regs; o != r; o = o->next)
		if (str_eq(o->id, r->id))
			return fail(err, -EINVAL, "duplicate registration id %.*s",
				    STR_FMT(r->id));
	for (const struct reginfo_contact *c = r->contacts; c; c = c->next) {
		rc = check_contact(r, c, err);
		if (rc)
			return rc;
		if (c->state == REGINFO_CONTACT_ACTIVE)
			live = true;
	}
	/*
	 * RFC 3680 section 5.1: a registration is active while it has an
	 * active contact. A partial document lists only what changed, so
	 * only full state can be checked.
	 */
	if (doc->state == REGINFO_DOC_FULL && live != (r->state == REGINFO_REG_ACTIVE))
		return fail(err, -EINVAL, "registration %.*s: state %s but %s active contact",
			    STR_FMT(r->id), reginfo_reg_state_name(r->state),
			    live ? "an" : "no");
	return 0;
}

static int check_doc(const struct reginfo *doc, struct reginfo_error *err)
{
	int rc;

	if ((unsigned)doc->state >= REGINFO_DOC__COUNT)
		return fail(err, -EINVAL, "invalid document state %d", (int)doc->state);
	for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
		rc = check_reg(doc, r, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- rendering ------------------------------------------------------------- */

/*
 * Where libxml2's output buffer flushes to: the caller's buffer. Once it is
 * full the rest is counted and dropped rather than refused, because libxml2
 * reports a refused write on stderr; reginfo_build() turns the overflow
 * into -ENOSPC.
 */
struct sink {
	char *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

static int sink_write(void *ctx, const char *data, int n)
{
	struct sink *s = ctx;

	if (n < 0)
		return -1;
	if (s->overflow || (size_t)n > s->cap - s->len) {
		s->overflow = true;
		return n;
	}
	memcpy(s->buf + s->len, data, (size_t)n);
	s->len += (size_t)n;
	return n;
}

/*
 * Escape character data. In attribute values TAB, LF and CR are written as
 * references too, since attribute-value normalisation (XML 1.0 section
 * 3.3.3) would otherwise turn them into spaces; in element content only CR
 * is, since a parser folds a bare CR into LF (section 2.11).
 */
static int write_escaped(xmlTextWriterPtr w, struct str s, bool attr)
{
	size_t start = 0;

	for (size_t i = 0; i <= s.len; i++) {
		const char *ref = NULL;

		if (i < s.len) {
			switch (s.s[i]) {
			case '&':
				ref = "&amp;";
				break;
			case '<':
				ref = "&lt;";
				break;
			case '>':
				ref = "&gt;";
				break;
			case '"':
				ref = attr ? "&quot;" : NULL;
				break;
			case '\t':
				ref = attr ? "&#9;" : NULL;
				break;
			case '\n':
				ref = attr ? "&#10;" : NULL;
				break;
			case '\r':
				ref = "&#13;";
				break;
			default:
				break;
			}
			if (!ref)
				continue;
		}
		if (i > start &&
		    xmlTextWriterWriteRawLen(w, BAD_CAST(s.s + start), (int)(i - start)) < 0)
			return -1;
		if (ref && xmlTextWriterWriteRaw(w, BAD_CAST ref) < 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

static int write_attr(xmlTextWriterPtr w, const char *name, struct str value)
{
	if (!value.s)
		return 0;
	if (xmlTextWriterStartAttribute(w, BAD_CAST name) < 0 || write_escaped(w, value, true) ||
	    xmlTextWriterEndAttribute(w) < 0)
		return -1;
	return 0;
}

static int write_attr_cstr(xmlTextWriterPtr w, const char *name, const char *value)
{
	return write_attr(w, name, str_from_cstr(value));
}

static int write_num(xmlTextWriterPtr w, const char *name, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	return write_attr_cstr(w, name, text);
}

/* <name attr...>text</name> on one line; `attr_name` may be NULL. */
static int write_leaf(xmlTextWriterPtr w, const char *name, const char *attr_name,
		      struct str attr, struct str text)
{
	if (xmlTextWriterStartElement(w, BAD_CAST name) < 0)
		return -1;
	if (attr_name && write_attr(w, attr_name, attr))
		return -1;
	if (text.s && text.len && write_escaped(w, text, false))
		return -1;
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

static int write_contact(xmlTextWriterPtr w, const struct reginfo_contact *c)
{
	static const struct {
		unsigned bit;
		const char *name;
		size_t off;
	} nums_before_q[] = {
		{ REGINFO_HAS_EXPIRES, "expires", offsetof(struct reginfo_contact, expires) },
		{ REGINFO_HAS_DURATION, "duration-registered",
		  offsetof(struct reginfo_contact, duration_registered) },
		{ REGINFO_HAS_RETRY_AFTER, "retry-after",
		  offsetof(struct reginfo_contact, retry_after) },
	};

	if (xmlTextWriterStartElement(w, BAD_CAST "contact") < 0 || write_attr(w, "id", c->id) ||
	    write_attr_cstr(w, "state", reginfo_contact_state_name(c->state)) ||
	    write_attr_cstr(w, "event", reginfo_event_name(c->event)))
		return -1;
	for (size_t i = 0; i < sizeof(nums_before_q) / sizeof(nums_before_q[0]); i++) {
		const uint64_t *v = (const uint64_t *)((const char *)c + nums_before_q[i].off);

		if ((c->has & nums_before_q[i].bit) && write_num(w, nums_before_q[i].name, *v))
			return -1;
	}
	if (write_attr(w, "q", c->q) || write_attr(w, "callid", c->callid))
		return -1;
	if ((c->has & REGINFO_HAS_CSEQ) && write_num(w, "cseq", c->cseq))
		return -1;
	if (write_leaf(w, "uri", NULL, STR_NULL, c->uri))
		return -1;
	if (c->display_name.s &&
	    write_leaf(w, "display-name", "xml:lang", c->display_lang, c->display_name))
		return -1;
	for (const struct reginfo_param *p = c->params; p; p = p->next)
		if (write_leaf(w, "unknown-param", "name", p->name, p->value))
			return -1;
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

static int write_doc(xmlTextWriterPtr w, const struct reginfo *doc)
{
	if (xmlTextWriterSetIndent(w, 1) < 0 || xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0)
		return -1;
	if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0)
		return -1;
	/* The namespace declaration goes first, as every example in RFC 3680
	 * and TS 24.229 has it. */
	if (xmlTextWriterStartElement(w, BAD_CAST "reginfo") < 0 ||
	    write_attr_cstr(w, "xmlns", REGINFO_NS) || write_num(w, "version", doc->version) ||
	    write_attr_cstr(w, "state", reginfo_doc_state_name(doc->state)))
		return -1;
	for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
		if (xmlTextWriterStartElement(w, BAD_CAST "registration") < 0 ||
		    write_attr(w, "aor", r->aor) || write_attr(w, "id", r->id) ||
		    write_attr_cstr(w, "state", reginfo_reg_state_name(r->state)))
			return -1;
		for (const struct reginfo_contact *c = r->contacts; c; c = c->next)
			if (write_contact(w, c))
				return -1;
		if (xmlTextWriterEndElement(w) < 0)
			return -1;
	}
	if (xmlTextWriterEndDocument(w) < 0 || xmlTextWriterFlush(w) < 0)
		return -1;
	return 0;
}

int reginfo_build(const struct reginfo *doc, char *buf, size_t cap, size_t *len,
		  struct reginfo_error *err)
{
	struct sink sink = { .buf = buf, .cap = cap };
	xmlOutputBufferPtr out = NULL;
	xmlTextWriterPtr w = NULL;
	int rc;

	rc = check_doc(doc, err);
	if (rc)
		goto out;
	xmlInitParser();
	out = xmlOutputBufferCreateIO(sink_write, NULL, &sink, NULL);
	if (!out) {
		rc = fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	w = xmlNewTextWriter(out); /* owns `out` from here on */
	if (!w) {
		xmlOutputBufferClose(out);
		rc = fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (write_doc(w, doc)) {
		rc = fail(err, -ENOMEM, "libxml2 text writer failed");
		goto out_writer;
	}
	if (sink.overflow) {
		rc = fail(err, -ENOSPC, "document does not fit in %zu bytes", cap);
		goto out_writer;
	}
	*len = sink.len;
out_writer:
	xmlFreeTextWriter(w);
out:
	return rc;
}
