/*
 * reginfo.h - RFC 3680 registration-event documents (application/reginfo+xml)
 * as IMS uses them (TS 24.229 5.4.2.1.2 for the S-CSCF as notifier; 5.1.1.3
 * and 5.2.3 for the UE and the P-CSCF as watchers).
 *
 * One model serves both sides:
 *
 *   struct reginfo               version, full | partial
 *     struct reginfo_reg         one per address-of-record (IMPU)
 *       struct reginfo_contact   one per registered contact (binding / flow)
 *         struct reginfo_param   Contact header parameters the registrar
 *                                kept (+sip.instance, reg-id, ...)
 *
 * The notifier (S-CSCF) fills a model with reginfo_add_reg() and friends,
 * moves contacts through the RFC 3680 section 5.1.2 state machine with
 * reginfo_contact_apply(), and renders it with reginfo_build(). The builder
 * refuses any model that would put an illegal document on the wire.
 *
 * A watcher (UE, P-CSCF) turns a NOTIFY body into the same model with
 * reginfo_parse() and decides what to do with it with reginfo_watch_check().
 *
 * Ownership: every object of a model and every string it points to lives in
 * an arena the caller passes in; arena_destroy() frees the whole model. The
 * library keeps no pointer to it. Strings are struct str; in a parsed model
 * they are NUL-terminated arena copies (XML character references are decoded,
 * so they cannot be slices of the NOTIFY body).
 *
 * Errors: every function returns 0 or a negative errno. Those that take a
 * struct reginfo_error fill it (when not NULL) with a one-line reason that
 * names the element and, for parsed documents, the line.
 */
#ifndef SIMREG_REGINFO_REGINFO_H
#define SIMREG_REGINFO_REGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/str.h"

/* The namespace of every element of the format (RFC 3680 section 6). */
#define REGINFO_NS "urn:ietf:params:xml:ns:reginfo"
/* Its MIME type, for Content-Type and Accept. */
#define REGINFO_CONTENT_TYPE "application/reginfo+xml"

/*
 * Limits on what reginfo_parse() accepts. A NOTIFY for a subscriber with a
 * large implicit registration set and a handful of contacts per IMPU is a
 * few kilobytes; these leave ample room and bound what a hostile peer can
 * make a P-CSCF allocate.
 */
enum {
	REGINFO_MAX_DOC = 256 * 1024,	/* bytes of XML */
	REGINFO_MAX_REGS = 256,		/* <registration> per document */
	REGINFO_MAX_CONTACTS = 64,	/* <contact> per registration */
	REGINFO_MAX_PARAMS = 32,	/* <unknown-param> per contact */
};

/*
 * The enumerations of the format, each listed once. X(ENUM, "wire name").
 */
#define REGINFO_DOC_STATE_LIST(X) \
	X(FULL, "full")           \
	X(PARTIAL, "partial")

/* RFC 3680 section 5.1: the state of one address-of-record. */
#define REGINFO_REG_STATE_LIST(X) \
	X(INIT, "init")           \
	X(ACTIVE, "active")       \
	X(TERMINATED, "terminated")

/*
 * RFC 3680 section 5.1.2: the state of one contact. INIT is the state
 * machine's starting point; it never appears on the wire (the schema allows
 * only active and terminated), so a contact in INIT cannot be rendered.
 */
#define REGINFO_CONTACT_STATE_LIST(X) \
	X(INIT, "init")               \
	X(ACTIVE, "active")           \
	X(TERMINATED, "terminated")

/*
 * RFC 3680 section 5.1.2: the events that move a contact, with the state
 * each one leaves from and the state it leads to. This list is the contact
 * state machine: reginfo_contact_apply() refuses every other pair, the
 * builder refuses a contact whose state is not where its event leads, and
 * the parser refuses a document that claims such a contact.
 *
 *   X(ENUM, "wire name", FROM, TO, why)
 */
#define REGINFO_EVENT_LIST(X)                                                            \
	X(REGISTERED, "registered", INIT, ACTIVE, "the UA registered it (REGISTER)")     \
	X(CREATED, "created", INIT, ACTIVE, "the registrar added it (administrative)")    \
	X(REFRESHED, "refreshed", ACTIVE, ACTIVE, "the UA refreshed it")                 \
	X(SHORTENED, "shortened", ACTIVE, ACTIVE, "the registrar shortened its expiry")  \
	X(EXPIRED, "expired", ACTIVE, TERMINATED, "it was not refreshed in time")        \
	X(DEACTIVATED, "deactivated", ACTIVE, TERMINATED,                                \
	  "the registrar removed it; the UA should re-register now")                     \
	X(PROBATION, "probation", ACTIVE, TERMINATED,                                    \
	  "the registrar removed it; the UA may re-register after retry-after")          \
	X(UNREGISTERED, "unregistered", ACTIVE, TERMINATED,                              \
	  "the UA removed it (Expires: 0)")                                              \
	X(REJECTED, "rejected", ACTIVE, TERMINATED,                                      \
	  "the registrar removed it; the UA must not re-register")

enum reginfo_doc_state {
#define X(e, name) REGINFO_DOC_##e,
	REGINFO_DOC_STATE_LIST(X)
#undef X
	REGINFO_DOC__COUNT
};

enum reginfo_reg_state {
#define X(e, name) REGINFO_REG_##e,
	REGINFO_REG_STATE_LIST(X)
#undef X
	REGINFO_REG__COUNT
};

enum reginfo_contact_state {
#define X(e, name) REGINFO_CONTACT_##e,
	REGINFO_CONTACT_STATE_LIST(X)
#undef X
	REGINFO_CONTACT__COUNT
};

enum reginfo_event {
#define X(e, name, from, to, why) REGINFO_EV_##e,
	REGINFO_EVENT_LIST(X)
#undef X
	REGINFO_EV__COUNT
};

/* Wire names ("full", "active", "expired", ...); "?" for an invalid value. */
const char *reginfo_doc_state_name(enum reginfo_doc_state s);
const char *reginfo_reg_state_name(enum reginfo_reg_state s);
const char *reginfo_contact_state_name(enum reginfo_contact_state s);
const char *reginfo_event_name(enum reginfo_event e);

/* Optional numeric attributes of a contact: which of them are present. */
enum reginfo_contact_has {
	REGINFO_HAS_EXPIRES = 1 << 0,
	REGINFO_HAS_DURATION = 1 << 1,	  /* duration-registered */
	REGINFO_HAS_RETRY_AFTER = 1 << 2, /* retry-after */
	REGINFO_HAS_CSEQ = 1 << 3,
};

/*
 * A Contact header parameter the registrar reports (RFC 3680 section 5.1,
 * <unknown-param>). value.s == NULL for a parameter without a value
 * (";+g.3gpp.smsip"); otherwise the value as it stood in the Contact header,
 * quotes included ("\"<urn:gsma:imei:...>\"").
 */
struct reginfo_param {
	struct str name;
	struct str value;
	struct reginfo_param *next;
};

struct reginfo_contact {
	struct str id;
	enum reginfo_contact_state state;
	enum reginfo_event event;	/* the event that caused the last change */
	unsigned has;			/* enum reginfo_contact_has */
	uint64_t expires;		/* seconds left; with REGINFO_HAS_EXPIRES */
	uint64_t duration_registered;	/* seconds since first registered */
	uint64_t retry_after;		/* with the probation event */
	uint64_t cseq;			/* CSeq of the REGISTER that set it */
	struct str callid;		/* Call-ID of that REGISTER; s NULL if absent */
	struct str q;			/* qvalue as text ("0.5"); s NULL if absent */
	struct str uri;			/* the contact URI; required */
	struct str display_name;	/* s NULL if absent */
	struct str display_lang;	/* xml:lang of display-name; s NULL if absent */
	struct reginfo_param *params;	/* in document order */
	size_t nparams;
	struct reginfo_contact *next;
};

struct reginfo_reg {
	struct str aor;			/* the IMPU, "sip:alice@ims.example.net" */
	struct str id;
	enum reginfo_reg_state state;
	struct reginfo_contact *contacts; /* in document order */
	size_t ncontacts;
	struct reginfo_reg *next;
};

struct reginfo {
	uint64_t version;
	enum reginfo_doc_state state;
	struct reginfo_reg *regs;	/* in document order */
	size_t nregs;
};

struct reginfo_error {
	int line;		/* line in the parsed document; 0 when not known */
	char msg[200];
};

/* ---- building a model (notifier side) ---------------------------------- */

/* An empty document: no registrations. */
void reginfo_init(struct reginfo *doc, uint64_t version, enum reginfo_doc_state state);

/*
 * Append a registration / a contact / a parameter. The strings are copied
 * into `arena`. A contact starts in REGINFO_CONTACT_INIT; move it with
 * reginfo_contact_apply(). A parameter's value may be STR_NULL (no value).
 * Return the new object, or NULL when out of memory.
 */
struct reginfo_reg *reginfo_add_reg(struct reginfo *doc, struct arena *arena, struct str aor,
				    struct str id, enum reginfo_reg_state state);
struct reginfo_contact *reginfo_add_contact(struct reginfo_reg *reg, struct arena *arena,
					    struct str id, struct str uri);
struct reginfo_param *reginfo_add_param(struct reginfo_contact *c, struct arena *arena,
					struct str name, struct str value);

/* Lookups by id; NULL when absent. */
struct reginfo_reg *reginfo_find_reg(const struct reginfo *doc, struct str id);
struct reginfo_contact *reginfo_find_contact(const struct reginfo_reg *reg, struct str id);

/*
 * The contact state machine (RFC 3680 section 5.1.2, REGINFO_EVENT_LIST).
 *
 * reginfo_event_allowed(): true if `ev` may happen to a contact in `from`;
 * the resulting state is stored in *to when `to` is not NULL.
 *
 * reginfo_contact_apply(): move `c` by `ev`. Returns 0, or -EINVAL and
 * leaves `c` unchanged when the state machine has no such transition (a
 * terminated contact is finished: a new registration of the same URI is a
 * new contact, starting again in INIT).
 */
bool reginfo_event_allowed(enum reginfo_contact_state from, enum reginfo_event ev,
			   enum reginfo_contact_state *to);
int reginfo_contact_apply(struct reginfo_contact *c, enum reginfo_event ev);

/* The state an event leads to (ACTIVE or TERMINATED); INIT for an invalid event. */
enum reginfo_contact_state reginfo_event_target(enum reginfo_event ev);

/*
 * The registration state machine (RFC 3680 section 5.1): derive the next
 * state of `reg` from its contacts. With an active contact it is active; an
 * active registration whose last contact went away becomes terminated; a
 * terminated one (already reported) returns to init. Returns the new state
 * (also stored in reg->state). Call it once per notification, after the
 * contact changes that notification reports.
 */
enum reginfo_reg_state reginfo_reg_settle(struct reginfo_reg *reg);

/* ---- rendering ----------------------------------------------------------- */

/*
 * Check that `doc` is a legal RFC 3680 document and render it as XML
 * (UTF-8, two-space indentation, a trailing newline) into buf[0..cap).
 * Nothing is written past cap; the text is not NUL-terminated.
 *
 * Refused with -EINVAL (and the reason in *err):
 *   - a contact in INIT, or whose state is not where its event leads;
 *   - retry-after on a contact whose event is not probation;
 *   - an empty aor, id or contact uri, a duplicate registration id or
 *     contact id, a q that is not an RFC 3261 qvalue;
 *   - a string that is not UTF-8 or holds a character XML 1.0 forbids;
 *   - in a full document, a registration whose state contradicts its
 *     contacts (active without an active contact, init or terminated with
 *     one).
 * Returns 0 and the length in *len; -ENOSPC when cap is too small (*len is
 * then undefined); -ENOMEM.
 */
int reginfo_build(const struct reginfo *doc, char *buf, size_t cap, size_t *len,
		  struct reginfo_error *err);

/*
 * Print the model, one line per object, for logs and golden tests:
 *
 *   reginfo version=1 state=partial
 *     registration aor=sip:alice@ims.example.net id=a7 state=active
 *       contact id=c2 state=terminated event=expired duration-registered=3603
 *         uri sip:alice@198.51.100.20:5100
 *         param +sip.instance="<urn:gsma:imei:35209900-176148-0>"
 *
 * Bytes below 0x20 and 0x7f in strings are printed as \xNN.
 */
void reginfo_print(const struct reginfo *doc, FILE *out);

/* ---- parsing (watcher side) ---------------------------------------------- */

/*
 * Parse a reginfo document (a NOTIFY body) into *doc, allocating from
 * `arena`. The parser never touches the network, never loads or expands a
 * DTD, and refuses a document that carries one (RFC 3680 bodies never do).
 * Elements of other namespaces (RFC 5628 GRUUs, vendor extensions) are
 * skipped, as the schema's <xs:any namespace="##other"> allows.
 *
 * Returns 0, or:
 *   -EMSGSIZE  len above REGINFO_MAX_DOC, or more registrations, contacts or
 *              parameters than the REGINFO_MAX_* limits;
 *   -EBADMSG   not well-formed XML (including nesting beyond libxml2's depth
 *              limit), or a DOCTYPE;
 *   -EPROTO    well-formed, but not an RFC 3680 document: wrong root or
 *              namespace, a missing or malformed attribute, an unknown
 *              element of the reginfo namespace, children out of order, a
 *              contact state its event cannot lead to, a duplicate id;
 *   -ERANGE    a number too large for 64 bits;
 *   -ENOMEM.
 * On error *doc is left empty and whatever was allocated stays in the
 * arena (freed with it).
 */
int reginfo_parse(const char *buf, size_t len, struct arena *arena, struct reginfo *doc,
		  struct reginfo_error *err);

/* ---- version tracking (watcher side) ------------------------------------- */

/*
 * RFC 3680 section 5.2: the version of a document increases by one
 * per NOTIFY on a subscription. A watcher ignores a document whose version
 * is not above the last one it used; a partial document that skips a
 * version means a change was lost, so the watcher must fetch full state
 * again (re-SUBSCRIBE) and ignore partial documents until full state comes.
 *
 * One struct reginfo_watch per subscription dialog, zero-initialised (or
 * reginfo_watch_reset() after a new dialog is set up).
 */
struct reginfo_watch {
	bool have;		/* a full document has been applied */
	bool need_full;		/* a gap was seen; waiting for full state */
	uint64_t last;		/* version of the last applied document */
};

enum reginfo_verdict {
	REGINFO_APPLY,		/* new state: apply the document */
	REGINFO_STALE,		/* old or repeated version: ignore it */
	REGINFO_NEED_FULL,	/* cannot be applied: re-SUBSCRIBE for full state */
};

void reginfo_watch_reset(struct reginfo_watch *w);

/*
 * Decide what to do with a document of `version` and `state`, and on
 * REGINFO_APPLY record it as the last version. Pure bookkeeping: the
 * caller applies the document.
 */
enum reginfo_verdict reginfo_watch_check(struct reginfo_watch *w, uint64_t version,
					 enum reginfo_doc_state state);
const char *reginfo_verdict_name(enum reginfo_verdict v);

/* ---- schema validation --------------------------------------------------- */

/*
 * The RFC 3680 section 6 XML schema, compiled once and used to validate
 * documents with libxml2 (xmlSchemaValidateDoc).
 *
 * RFC 3680's schema imports the schema of the XML namespace (for xml:lang)
 * from http://www.w3.org/2001/03/xml.xsd. Nothing here fetches it: the
 * import is pointed at `xmlns_xsd_path`, a local schema of that namespace.
 *
 * reginfo_schema_load() returns 0 and a schema in *out (free it with
 * reginfo_schema_free()), -ENOENT / -EACCES when a file cannot be read,
 * -EPROTO when a file is not a usable schema, -ENOMEM.
 */
struct reginfo_schema;

int reginfo_schema_load(const char *reginfo_xsd_path, const char *xmlns_xsd_path,
			struct reginfo_schema **out, struct reginfo_error *err);
void reginfo_schema_free(struct reginfo_schema *schema);

/*
 * Validate a document against the schema. It is read with the same
 * hardening as reginfo_parse() (no network, no DTD). Returns 0 if valid,
 * -EBADMSG if not well-formed, -EPROTO if it does not conform (first
 * violation in *err), -EMSGSIZE above REGINFO_MAX_DOC, -ENOMEM.
 */
int reginfo_validate(const struct reginfo_schema *schema, const char *buf, size_t len,
		     struct reginfo_error *err);

#endif
