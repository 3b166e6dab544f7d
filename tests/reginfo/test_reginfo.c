/*
 * lib/reginfo: the RFC 3680 model, builder, parser, version tracking and
 * schema validation.
 *
 * Golden files live in $SIMREG_TESTDATA/reginfo/expected/. After an
 * intended change of output, regenerate them with
 *
 *     SIMREG_REGEN=1 ctest --test-dir build -R test_reginfo
 *
 * and review the diff. Every document the builder produces is validated
 * twice against RFC 3680's schema: by the library's reginfo_validate() and
 * by an oracle in this file that drives libxml2's xmlSchemaValidateDoc()
 * on its own (schema compiled from the file, the xml.xsd import resolved
 * by an entity loader), so a fault in the library's validation path
 * cannot hide a fault in the builder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>

#include "core/arena.h"
#include "reginfo/reginfo.h"

/* ---- files and golden output ----------------------------------------------- */

static const char *testdata(void)
{
	const char *d = getenv("SIMREG_TESTDATA");

	assert_non_null(d);
	return d;
}

static char *data_path(const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", testdata(), rel) > 0);
	return p;
}

/* Read a file under $SIMREG_TESTDATA; NULL if it does not exist. */
static char *read_data(const char *rel, size_t *len)
{
	char *path = data_path(rel);
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	free(path);
	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Compare with reginfo/expected/<name>, or write it under SIMREG_REGEN=1. */
static void check_golden(const char *name, const char *got, size_t len)
{
	char *rel = NULL, *want;
	size_t want_len = 0;

	assert_true(asprintf(&rel, "reginfo/expected/%s", name) > 0);
	if (getenv("SIMREG_REGEN")) {
		char *path = data_path(rel);
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(got, 1, len, f), len);
		fclose(f);
		free(path);
		free(rel);
		return;
	}
	want = read_data(rel, &want_len);
	if (!want || want_len != len || memcmp(want, got, len) != 0) {
		fprintf(stderr, "golden %s differs; got:\n%.*s\n--- expected:\n%s\n", name,
			(int)len, got, want ? want : "(missing file)");
		fail_msg("output differs from %s (SIMREG_REGEN=1 to accept)", rel);
	}
	free(want);
	free(rel);
}

/* reginfo_print() into a malloc'd string. */
static char *printed(const struct reginfo *doc, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	assert_non_null(f);
	reginfo_print(doc, f);
	fclose(f);
	return text;
}

/* ---- the schema oracle ----------------------------------------------------- */

#define XML_XSD_URL "http://www.w3.org/2001/03/xml.xsd"

static xmlExternalEntityLoader default_loader;
static char *oracle_xml_xsd;

/* Serve the XML namespace schema from the repository; nothing else remote. */
static xmlParserInputPtr local_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	if (url && strcmp(url, XML_XSD_URL) == 0)
		return default_loader(oracle_xml_xsd, id, ctxt);
	if (url && strstr(url, "://") && strncmp(url, "file://", 7) != 0)
		return NULL;
	return default_loader(url, id, ctxt);
}

static xmlSchemaPtr oracle_schema;
static struct reginfo_schema *lib_schema;

static void schemas_load(void)
{
	xmlSchemaParserCtxtPtr pctxt;
	struct reginfo_error err;
	char *xsd;

	if (oracle_schema)
		return;
	xsd = data_path("reginfo/reginfo.xsd");
	oracle_xml_xsd = data_path("reginfo/xml.xsd");
	default_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(local_loader);
	pctxt = xmlSchemaNewParserCtxt(xsd);
	assert_non_null(pctxt);
	oracle_schema = xmlSchemaParse(pctxt);
	xmlSchemaFreeParserCtxt(pctxt);
	assert_non_null(oracle_schema);
	xmlSetExternalEntityLoader(default_loader);

	assert_int_equal(reginfo_schema_load(xsd, oracle_xml_xsd, &lib_schema, &err), 0);
	free(xsd);
}

static void quiet(void *user, xmlErrorPtr e)
{
}

/* 0 valid, 1 invalid, -1 not well-formed: libxml2's verdict, on its own. */
static int oracle_validate(const char *buf, size_t len)
{
	xmlSchemaValidCtxtPtr v;
	xmlDocPtr doc;
	int rc;

	doc = xmlReadMemory(buf, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -1;
	v = xmlSchemaNewValidCtxt(oracle_schema);
	assert_non_null(v);
	xmlSchemaSetValidStructuredErrors(v, quiet, NULL);
	rc = xmlSchemaValidateDoc(v, doc);
	xmlSchemaFreeValidCtxt(v);
	xmlFreeDoc(doc);
	assert_true(rc >= 0);
	return rc > 0 ? 1 : 0;
}

/* Both validators must call `buf` valid. */
static void assert_schema_valid(const char *what, const char *buf, size_t len)
{
	struct reginfo_error err = { 0 };
	int rc;

	schemas_load();
	if (oracle_validate(buf, len) != 0)
		fail_msg("%s: libxml2 schema oracle says invalid:\n%.*s", what, (int)len, buf);
	rc = reginfo_validate(lib_schema, buf, len, &err);
	if (rc != 0)
		fail_msg("%s: reginfo_validate() = %d: %s", what, rc, err.msg);
}

/* ---- models the builder tests start from ----------------------------------- */

static struct reginfo_contact *contact(struct reginfo_reg *r, struct arena *a, const char *id,
				       const char *uri, enum reginfo_event ev1,
				       enum reginfo_event ev2)
{
	struct reginfo_contact *c = reginfo_add_contact(r, a, str_from_cstr(id),
							str_from_cstr(uri));

	assert_non_null(c);
	assert_int_equal(reginfo_contact_apply(c, ev1), 0);
	if (ev2 != ev1)
		assert_int_equal(reginfo_contact_apply(c, ev2), 0);
	return c;
}

static void param(struct reginfo_contact *c, struct arena *a, const char *name,
		  const char *value)
{
	assert_non_null(reginfo_add_param(c, a, str_from_cstr(name),
					  value ? str_from_cstr(value) : STR_NULL));
}

/* The model of examples/reginfo_full.xml, built the way a notifier would. */
static void model_full_two_flows(struct reginfo *doc, struct arena *a)
{
	struct reginfo_reg *r;
	struct reginfo_contact *c;

	reginfo_init(doc, 0, REGINFO_DOC_FULL);
	r = reginfo_add_reg(doc, a, STR_LIT("sip:alice@ims.example.net"), STR_LIT("a7"),
			    REGINFO_REG_INIT);
	assert_non_null(r);
	c = contact(r, a, "c1", "sip:alice@192.0.2.10:5100", REGINFO_EV_REGISTERED,
		    REGINFO_EV_REGISTERED);
	c->has = REGINFO_HAS_EXPIRES | REGINFO_HAS_DURATION;
	c->expires = 3600;
	c->duration_registered = 12;
	param(c, a, "+sip.instance", "\"<urn:gsma:imei:35209900-176148-0>\"");
	param(c, a, "reg-id", "1");
	c = contact(r, a, "c2", "sip:alice@198.51.100.20:5100", REGINFO_EV_CREATED,
		    REGINFO_EV_CREATED);
	c->has = REGINFO_HAS_EXPIRES | REGINFO_HAS_DURATION;
	c->expires = 3600;
	c->duration_registered = 3;
	param(c, a, "+sip.instance", "\"<urn:gsma:imei:35209900-176148-0>\"");
	param(c, a, "reg-id", "2");
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_ACTIVE);

	r = reginfo_add_reg(doc, a, STR_LIT("tel:+15551234567"), STR_LIT("a8"),
			    REGINFO_REG_INIT);
	assert_non_null(r);
	c = contact(r, a, "c3", "sip:alice@192.0.2.10:5100", REGINFO_EV_REGISTERED,
		    REGINFO_EV_REGISTERED);
	c->has = REGINFO_HAS_EXPIRES;
	c->expires = 3600;
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_ACTIVE);
}

/* The model of examples/reginfo_partial_flow_expired.xml. */
static void model_partial_expired(struct reginfo *doc, struct arena *a)
{
	struct reginfo_reg *r;
	struct reginfo_contact *c;

	reginfo_init(doc, 1, REGINFO_DOC_PARTIAL);
	r = reginfo_add_reg(doc, a, STR_LIT("sip:alice@ims.example.net"), STR_LIT("a7"),
			    REGINFO_REG_ACTIVE);
	assert_non_null(r);
	c = contact(r, a, "c2", "sip:alice@198.51.100.20:5100", REGINFO_EV_CREATED,
		    REGINFO_EV_EXPIRED);
	c->has = REGINFO_HAS_DURATION;
	c->duration_registered = 3603;
}

/*
 * A network-initiated deregistration (TS 24.229 5.4.1.5) as the S-CSCF
 * reports it: one contact refreshed, one deactivated, one IMPU put on
 * probation, one IMPU of the implicit set never registered. It also
 * carries every optional field and characters that need escaping.
 */
static void model_network_dereg(struct reginfo *doc, struct arena *a)
{
	struct reginfo_reg *r;
	struct reginfo_contact *c;

	reginfo_init(doc, 7, REGINFO_DOC_FULL);
	r = reginfo_add_reg(doc, a, STR_LIT("sip:carol@ims.example.net"), STR_LIT("r1"),
			    REGINFO_REG_ACTIVE);
	assert_non_null(r);
	c = contact(r, a, "k1", "sip:carol@198.18.0.30:5064;transport=tcp",
		    REGINFO_EV_REGISTERED, REGINFO_EV_REFRESHED);
	c->has = REGINFO_HAS_EXPIRES | REGINFO_HAS_DURATION | REGINFO_HAS_CSEQ;
	c->expires = 1800;
	c->duration_registered = 5400;
	c->cseq = 42;
	c->q = STR_LIT("0.5");
	c->callid = STR_LIT("f81d4fae\t7dec@198.18.0.30");
	c->display_name = STR_LIT("Carol \"C\" <&> Fran\xc3\xa7oise\r\nline two");
	c->display_lang = STR_LIT("fr");
	param(c, a, "+sip.instance", "\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"");
	param(c, a, "reg-id", "2");
	param(c, a, "+g.3gpp.icsi-ref", "\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel\"");
	param(c, a, "+g.3gpp.smsip", NULL);
	c = contact(r, a, "k2", "sip:carol@198.18.0.31:5064", REGINFO_EV_REGISTERED,
		    REGINFO_EV_DEACTIVATED);
	c->has = REGINFO_HAS_DURATION;
	c->duration_registered = 30;
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_ACTIVE);

	r = reginfo_add_reg(doc, a, STR_LIT("tel:+15550000001"), STR_LIT("r2"),
			    REGINFO_REG_ACTIVE);
	assert_non_null(r);
	c = contact(r, a, "k3", "sip:carol@198.18.0.31:5064", REGINFO_EV_CREATED,
		    REGINFO_EV_PROBATION);
	c->has = REGINFO_HAS_RETRY_AFTER;
	c->retry_after = 120;
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_TERMINATED);

	r = reginfo_add_reg(doc, a, STR_LIT("sip:carol-alias@ims.example.net"), STR_LIT("r3"),
			    REGINFO_REG_INIT);
	assert_non_null(r);
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_INIT);
}

static void model_empty_full(struct reginfo *doc, struct arena *a)
{
	reginfo_init(doc, 12, REGINFO_DOC_FULL);
}

static const struct build_case {
	const char *name;
	void (*make)(struct reginfo *doc, struct arena *a);
	const char *same_model_as; /* a stored document with the same model */
} build_cases[] = {
	{ "full_two_flows", model_full_two_flows, "examples/reginfo_full.xml" },
	{ "partial_expired", model_partial_expired,
	  "examples/reginfo_partial_flow_expired.xml" },
	{ "network_dereg", model_network_dereg, NULL },
	{ "empty_full", model_empty_full, NULL },
};

/* ---- the state machines ---------------------------------------------------- */

/*
 * The contact state machine of RFC 3680 section 5.1.2, written out as the
 * figure draws it, independently of REGINFO_EVENT_LIST.
 */
static void test_contact_fsm(void **state)
{
	static const struct {
		enum reginfo_event ev;
		const char *name;
		enum reginfo_contact_state from, to;
	} rfc[] = {
		{ REGINFO_EV_REGISTERED, "registered", REGINFO_CONTACT_INIT, REGINFO_CONTACT_ACTIVE },
		{ REGINFO_EV_CREATED, "created", REGINFO_CONTACT_INIT, REGINFO_CONTACT_ACTIVE },
		{ REGINFO_EV_REFRESHED, "refreshed", REGINFO_CONTACT_ACTIVE, REGINFO_CONTACT_ACTIVE },
		{ REGINFO_EV_SHORTENED, "shortened", REGINFO_CONTACT_ACTIVE, REGINFO_CONTACT_ACTIVE },
		{ REGINFO_EV_EXPIRED, "expired", REGINFO_CONTACT_ACTIVE,
		  REGINFO_CONTACT_TERMINATED },
		{ REGINFO_EV_DEACTIVATED, "deactivated", REGINFO_CONTACT_ACTIVE,
		  REGINFO_CONTACT_TERMINATED },
		{ REGINFO_EV_PROBATION, "probation", REGINFO_CONTACT_ACTIVE,
		  REGINFO_CONTACT_TERMINATED },
		{ REGINFO_EV_UNREGISTERED, "unregistered", REGINFO_CONTACT_ACTIVE,
		  REGINFO_CONTACT_TERMINATED },
		{ REGINFO_EV_REJECTED, "rejected", REGINFO_CONTACT_ACTIVE,
		  REGINFO_CONTACT_TERMINATED },
	};
	size_t legal = 0;

	assert_int_equal(sizeof(rfc) / sizeof(rfc[0]), REGINFO_EV__COUNT);
	for (size_t i = 0; i < REGINFO_EV__COUNT; i++) {
		assert_string_equal(reginfo_event_name(rfc[i].ev), rfc[i].name);
		for (int from = 0; from < REGINFO_CONTACT__COUNT; from++) {
			struct reginfo_contact c = { .state = from, .event = REGINFO_EV_REJECTED };
			enum reginfo_contact_state to = REGINFO_CONTACT__COUNT;
			bool ok = reginfo_event_allowed(from, rfc[i].ev, &to);

			assert_int_equal(ok, (enum reginfo_contact_state)from == rfc[i].from);
			if (ok) {
				legal++;
				assert_int_equal(to, rfc[i].to);
				assert_int_equal(reginfo_contact_apply(&c, rfc[i].ev), 0);
				assert_int_equal(c.state, rfc[i].to);
				assert_int_equal(c.event, rfc[i].ev);
			} else {
				/* Refused, and nothing about the contact changes. */
				assert_int_equal(reginfo_contact_apply(&c, rfc[i].ev), -EINVAL);
				assert_int_equal(c.state, from);
				assert_int_equal(c.event, REGINFO_EV_REJECTED);
			}
		}
	}
	assert_int_equal(legal, REGINFO_EV__COUNT);
	assert_false(reginfo_event_allowed(REGINFO_CONTACT_ACTIVE, REGINFO_EV__COUNT, NULL));
	assert_string_equal(reginfo_event_name(REGINFO_EV__COUNT), "?");
}

/* RFC 3680 section 5.1: a registration follows its contacts. */
static void test_registration_fsm(void **state)
{
	struct arena a;
	struct reginfo doc;
	struct reginfo_reg *r;
	struct reginfo_contact *c1, *c2;

	arena_init(&a, 0, 0);
	reginfo_init(&doc, 0, REGINFO_DOC_FULL);
	r = reginfo_add_reg(&doc, &a, STR_LIT("sip:dave@ims.example.net"), STR_LIT("d"),
			    REGINFO_REG_INIT);
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_INIT);
	c1 = contact(r, &a, "1", "sip:dave@198.18.0.40", REGINFO_EV_REGISTERED,
		     REGINFO_EV_REGISTERED);
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_ACTIVE);
	c2 = contact(r, &a, "2", "sip:dave@198.18.0.41", REGINFO_EV_REGISTERED,
		     REGINFO_EV_REGISTERED);
	assert_int_equal(reginfo_contact_apply(c1, REGINFO_EV_UNREGISTERED), 0);
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_ACTIVE);
	assert_int_equal(reginfo_contact_apply(c2, REGINFO_EV_EXPIRED), 0);
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_TERMINATED);
	/* Reported once, then back to init. */
	assert_int_equal(reginfo_reg_settle(r), REGINFO_REG_INIT);
	assert_ptr_equal(reginfo_find_contact(r, STR_LIT("2")), c2);
	assert_null(reginfo_find_contact(r, STR_LIT("3")));
	assert_ptr_equal(reginfo_find_reg(&doc, STR_LIT("d")), r);
	arena_destroy(&a);
}

/* ---- building -------------------------------------------------------------- */

static void test_build_golden(void **state)
{
	for (size_t i = 0; i < sizeof(build_cases) / sizeof(build_cases[0]); i++) {
		const struct build_case *bc = &build_cases[i];
		struct arena a;
		struct reginfo doc, back;
		struct reginfo_error err = { 0 };
		char buf[8192], *name = NULL, *p1, *p2;
		size_t len = 0, l1, l2;
		int rc;

		arena_init(&a, 0, 0);
		bc->make(&doc, &a);
		rc = reginfo_build(&doc, buf, sizeof(buf), &len, &err);
		if (rc)
			fail_msg("%s: reginfo_build() = %d: %s", bc->name, rc, err.msg);
		assert_true(asprintf(&name, "%s.xml", bc->name) > 0);
		check_golden(name, buf, len);
		free(name);
		assert_schema_valid(bc->name, buf, len);

		/* What the builder wrote reads back as the model it was given. */
		assert_int_equal(reginfo_parse(buf, len, &a, &back, &err), 0);
		p1 = printed(&doc, &l1);
		p2 = printed(&back, &l2);
		assert_string_equal(p1, p2);

		/* And the model is the one of the stored example. */
		if (bc->same_model_as) {
			size_t xlen;
			char *xml = read_data(bc->same_model_as, &xlen);
			struct reginfo ex;
			char *p3;
			size_t l3;

			assert_non_null(xml);
			assert_int_equal(reginfo_parse(xml, xlen, &a, &ex, &err), 0);
			p3 = printed(&ex, &l3);
			assert_string_equal(p1, p3);
			free(p3);
			free(xml);
		}
		free(p1);
		free(p2);
		arena_destroy(&a);
	}
}

/* Mutations that make a legal model illegal; the builder must refuse each. */
static void mut_contact_init(struct reginfo *d)
{
	d->regs->contacts->state = REGINFO_CONTACT_INIT;
}

static void mut_state_event(struct reginfo *d)
{
	d->regs->contacts->event = REGINFO_EV_EXPIRED;
}

static void mut_retry_after(struct reginfo *d)
{
	d->regs->contacts->has |= REGINFO_HAS_RETRY_AFTER;
}

static void mut_empty_uri(struct reginfo *d)
{
	d->regs->contacts->uri = STR_LIT("");
}

static void mut_dup_contact(struct reginfo *d)
{
	d->regs->contacts->next->id = d->regs->contacts->id;
}

static void mut_dup_reg(struct reginfo *d)
{
	d->regs->next->next->id = STR_LIT("r1");
}

static void mut_bad_q(struct reginfo *d)
{
	d->regs->contacts->q = STR_LIT("1.5");
}

static void mut_control_char(struct reginfo *d)
{
	d->regs->contacts->display_name = STR_LIT("Carol\x01");
}

static void mut_bad_utf8(struct reginfo *d)
{
	d->regs->contacts->params->value = STR_LIT("\xc3\x28");
}

static void mut_nul_in_name(struct reginfo *d)
{
	d->regs->contacts->params->name = str_make("reg\0id", 6);
}

static void mut_surrogate(struct reginfo *d)
{
	d->regs->contacts->callid = STR_LIT("a\xed\xa0\x80");
}

static void mut_overlong(struct reginfo *d)
{
	d->regs->aor = STR_LIT("sip:\xc0\xaf@ims.example.net");
}

static void mut_active_no_contact(struct reginfo *d)
{
	d->regs->next->next->state = REGINFO_REG_ACTIVE;
}

static void mut_terminated_with_live(struct reginfo *d)
{
	d->regs->state = REGINFO_REG_TERMINATED;
}

static void mut_lang_no_name(struct reginfo *d)
{
	d->regs->contacts->display_name = STR_NULL;
}

static void mut_empty_aor(struct reginfo *d)
{
	d->regs->aor = STR_NULL;
}

static void mut_doc_state(struct reginfo *d)
{
	d->state = (enum reginfo_doc_state)7;
}

static void mut_bad_event(struct reginfo *d)
{
	d->regs->contacts->event = REGINFO_EV__COUNT;
}

static void test_build_refuses(void **state)
{
	static const struct {
		void (*mutate)(struct reginfo *d);
		const char *why;
	} cases[] = {
		{ mut_contact_init, "contact k1: state init cannot be reported" },
		{ mut_state_event, "event expired leads to terminated, not active" },
		{ mut_retry_after, "retry-after belongs to event probation" },
		{ mut_empty_uri, "contact k1: no usable uri" },
		{ mut_dup_contact, "duplicate contact id k1" },
		{ mut_dup_reg, "duplicate registration id r1" },
		{ mut_bad_q, "q \"1.5\" is not a qvalue" },
		{ mut_control_char, "not XML-clean" },
		{ mut_bad_utf8, "unknown-param" },
		{ mut_nul_in_name, "unknown-param" },
		{ mut_surrogate, "not XML-clean" },
		{ mut_overlong, "without a usable aor" },
		{ mut_active_no_contact, "registration r3: state active but no active contact" },
		{ mut_terminated_with_live, "registration r1: state terminated but an active" },
		{ mut_lang_no_name, "language without a name" },
		{ mut_empty_aor, "without a usable aor" },
		{ mut_doc_state, "invalid document state 7" },
		{ mut_bad_event, "invalid event" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena a;
		struct reginfo doc;
		struct reginfo_error err = { 0 };
		char buf[4096], untouched[4096];
		size_t len = 12345;
		int rc;

		arena_init(&a, 0, 0);
		model_network_dereg(&doc, &a);
		cases[i].mutate(&doc);
		memset(buf, 0x5a, sizeof(buf));
		memset(untouched, 0x5a, sizeof(untouched));
		rc = reginfo_build(&doc, buf, sizeof(buf), &len, &err);
		if (rc != -EINVAL || !strstr(err.msg, cases[i].why))
			fail_msg("case %zu: rc %d, \"%s\"; want -EINVAL and \"%s\"", i, rc, err.msg,
				 cases[i].why);
		assert_memory_equal(buf, untouched, sizeof(buf));
		assert_int_equal(len, 12345);
		arena_destroy(&a);
	}
}

/* Partial state lists only changes, so registration/contact consistency is
 * not required of it. */
static void test_build_partial_unchecked(void **state)
{
	struct arena a;
	struct reginfo doc;
	struct reginfo_error err;
	char buf[4096];
	size_t len;

	arena_init(&a, 0, 0);
	model_network_dereg(&doc, &a);
	mut_active_no_contact(&doc);
	assert_int_equal(reginfo_build(&doc, buf, sizeof(buf), &len, &err), -EINVAL);
	doc.state = REGINFO_DOC_PARTIAL;
	assert_int_equal(reginfo_build(&doc, buf, sizeof(buf), &len, &err), 0);
	assert_schema_valid("partial", buf, len);
	arena_destroy(&a);
}

/* Every buffer size short of the document: -ENOSPC and not a byte beyond. */
static void test_build_nospace(void **state)
{
	enum { GUARD = 64 };
	struct arena a;
	struct reginfo doc;
	struct reginfo_error err;
	char full[8192], *buf;
	size_t need, len;

	arena_init(&a, 0, 0);
	model_network_dereg(&doc, &a);
	assert_int_equal(reginfo_build(&doc, full, sizeof(full), &need, &err), 0);
	buf = malloc(need + GUARD);
	assert_non_null(buf);
	for (size_t cap = 0; cap < need; cap++) {
		memset(buf, 0x5a, need + GUARD);
		assert_int_equal(reginfo_build(&doc, buf, cap, &len, &err), -ENOSPC);
		for (size_t k = cap; k < need + GUARD; k++)
			assert_int_equal((unsigned char)buf[k], 0x5a);
	}
	assert_int_equal(reginfo_build(&doc, buf, need, &len, &err), 0);
	assert_int_equal(len, need);
	assert_memory_equal(buf, full, need);
	free(buf);
	arena_destroy(&a);
}

/* ---- parsing --------------------------------------------------------------- */

static void test_parse_golden(void **state)
{
	static const struct {
		const char *input;
		const char *expected; /* .txt: printed model; .rebuilt.xml: rebuilt */
	} cases[] = {
		{ "examples/reginfo_full.xml", "reginfo_full" },
		{ "examples/reginfo_partial_flow_expired.xml", "reginfo_partial_flow_expired" },
		{ "reginfo/parse/ims_extensions.xml", "ims_extensions" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena a;
		struct reginfo doc;
		struct reginfo_error err = { 0 };
		char *xml, *text, *name = NULL, out[8192];
		size_t xlen, tlen, olen;
		int rc;

		xml = read_data(cases[i].input, &xlen);
		assert_non_null(xml);
		assert_schema_valid(cases[i].input, xml, xlen);
		arena_init(&a, 0, 0);
		rc = reginfo_parse(xml, xlen, &a, &doc, &err);
		if (rc)
			fail_msg("%s: %d at line %d: %s", cases[i].input, rc, err.line, err.msg);
		text = printed(&doc, &tlen);
		assert_true(asprintf(&name, "%s.txt", cases[i].expected) > 0);
		check_golden(name, text, tlen);
		free(name);

		/* Rebuilt from the model: the same content, in the builder's form. */
		assert_int_equal(reginfo_build(&doc, out, sizeof(out), &olen, &err), 0);
		assert_true(asprintf(&name, "%s.rebuilt.xml", cases[i].expected) > 0);
		check_golden(name, out, olen);
		free(name);
		assert_schema_valid(cases[i].expected, out, olen);
		free(text);
		free(xml);
		arena_destroy(&a);
	}
}

/* A generated document: `n` copies of `unit` between a header and a footer. */
static char *repeat_doc(const char *head, const char *unit, size_t n, const char *tail,
			size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *buf = malloc(hl + ul * n + tl + 1), *p = buf;

	assert_non_null(buf);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, unit, ul);
		p += ul;
	}
	memcpy(p, tail, tl);
	p += tl;
	*p = '\0';
	*len = (size_t)(p - buf);
	return buf;
}

#define DOC_HEAD "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\" state=\"full\">"
#define REG_HEAD "<registration aor=\"sip:a@ims.example.net\" id=\"a\" state=\"active\">"
#define CONTACT_HEAD "<contact id=\"c\" state=\"active\" event=\"registered\"><uri>sip:a@198.18.0.1</uri>"

/* Depth far beyond libxml2's limit of 256, inside an extension element. */
static char *gen_deep(size_t *len)
{
	enum { DEPTH = 20000 };
	char *open = repeat_doc(DOC_HEAD REG_HEAD CONTACT_HEAD "<x:e xmlns:x=\"urn:x\">", "<x:e>",
				DEPTH, "", len);
	char *close = repeat_doc("", "</x:e>", DEPTH, "</x:e></contact></registration></reginfo>",
				 len);
	char *doc = NULL;

	assert_true(asprintf(&doc, "%s%s", open, close) > 0);
	*len = strlen(doc);
	free(open);
	free(close);
	return doc;
}

/* One byte over the size limit, otherwise a fine document. */
static char *gen_huge(size_t *len)
{
	const char *head = "<?xml version=\"1.0\"?>\n<!--";
	const char *tail = "-->\n" DOC_HEAD "</reginfo>\n";
	size_t pad = REGINFO_MAX_DOC + 1 - strlen(head) - strlen(tail);

	return repeat_doc(head, " ", pad, tail, len);
}

static char *gen_regs(size_t n, size_t *len)
{
	char *units = NULL, *doc;
	size_t ul;

	/* Distinct ids: "r" plus the position, written by the generator. */
	units = malloc(n * 64 + 1);
	assert_non_null(units);
	ul = 0;
	for (size_t i = 0; i < n; i++)
		ul += (size_t)sprintf(units + ul,
				      "<registration aor=\"sip:a@b\" id=\"r%zu\" state=\"init\"/>", i);
	doc = repeat_doc(DOC_HEAD, units, 1, "</reginfo>", len);
	free(units);
	return doc;
}

static char *gen_too_many_regs(size_t *len)
{
	return gen_regs(REGINFO_MAX_REGS + 1, len);
}

static char *gen_too_many_contacts(size_t *len)
{
	char *units = malloc((REGINFO_MAX_CONTACTS + 1) * 96 + 1), *doc;
	size_t ul = 0;

	assert_non_null(units);
	for (int i = 0; i <= REGINFO_MAX_CONTACTS; i++)
		ul += (size_t)sprintf(units + ul,
				      "<contact id=\"c%d\" state=\"active\" event=\"registered\">"
				      "<uri>sip:a@198.18.0.1</uri></contact>",
				      i);
	doc = repeat_doc(DOC_HEAD REG_HEAD, units, 1, "</registration></reginfo>", len);
	free(units);
	return doc;
}

static char *gen_too_many_params(size_t *len)
{
	return repeat_doc(DOC_HEAD REG_HEAD CONTACT_HEAD, "<unknown-param name=\"p\"/>",
			  REGINFO_MAX_PARAMS + 1, "</contact></registration></reginfo>", len);
}

static void test_parse_hostile(void **state)
{
	static const struct {
		const char *file;		/* under reginfo/hostile/, or NULL */
		char *(*gen)(size_t *len);	/* or a generated document */
		int rc;
		const char *why;
	} cases[] = {
		{ "billion_laughs.xml", NULL, -EBADMSG, "DOCTYPE not allowed" },
		{ "external_entity.xml", NULL, -EBADMSG, "DOCTYPE not allowed" },
		{ "external_dtd.xml", NULL, -EBADMSG, "DOCTYPE not allowed" },
		{ "parameter_entity.xml", NULL, -EBADMSG, "DOCTYPE not allowed" },
		{ "undeclared_entity.xml", NULL, -EBADMSG, "Entity 'nope' not defined" },
		{ "wrong_namespace.xml", NULL, -EPROTO,
		  "root element is {urn:ietf:params:xml:ns:reginfo-not}reginfo" },
		{ "no_namespace.xml", NULL, -EPROTO, "root element is {}reginfo" },
		{ "wrong_root.xml", NULL, -EPROTO, "root element is {urn:ietf:params:xml:ns:pidf}" },
		{ "unqualified_child.xml", NULL, -EPROTO,
		  "<registration> is out of place in <reginfo>" },
		{ "truncated.xml", NULL, -EBADMSG, "not well-formed XML" },
		{ "bad_version.xml", NULL, -EPROTO, "version=\"-1\">: not an unsigned integer" },
		{ "huge_version.xml", NULL, -ERANGE, "number too large" },
		{ "no_version.xml", NULL, -EPROTO, "lacks the required attribute version" },
		{ "bad_doc_state.xml", NULL, -EPROTO, "<reginfo state=\"Full\">" },
		{ "bad_event.xml", NULL, -EPROTO, "event=\"resurrected\">" },
		{ "init_contact.xml", NULL, -EPROTO, "<contact state=\"init\">" },
		{ "illegal_transition.xml", NULL, -EPROTO,
		  "contact c1: state active, but event expired leads to terminated" },
		{ "missing_uri.xml", NULL, -EPROTO, "contact c1: no <uri>" },
		{ "two_uris.xml", NULL, -EPROTO, "<uri> is out of place" },
		{ "out_of_order.xml", NULL, -EPROTO, "<display-name> is out of place" },
		{ "element_in_uri.xml", NULL, -EPROTO, "<uri> must hold text only" },
		{ "stray_text.xml", NULL, -EPROTO, "<reginfo> holds text" },
		{ "duplicate_contact.xml", NULL, -EPROTO, "contact id c1 appears twice" },
		{ "duplicate_registration.xml", NULL, -EPROTO, "registration id a1 appears twice" },
		{ "bad_expires.xml", NULL, -EPROTO, "expires=\"3600s\">: not an unsigned integer" },
		{ "signed_cseq.xml", NULL, -EPROTO, "cseq=\"+1\">: not an unsigned integer" },
		{ "param_without_name.xml", NULL, -EPROTO, "lacks the required attribute name" },
		{ "bad_utf8.xml", NULL, -EBADMSG, "not well-formed XML" },
		{ "embedded_nul.xml", NULL, -EBADMSG, "not well-formed XML" },
		{ "empty.xml", NULL, -EBADMSG, "empty document" },
		{ NULL, gen_deep, -EBADMSG, "Excessive depth" },
		{ NULL, gen_huge, -EMSGSIZE, "more than 262144" },
		{ NULL, gen_too_many_regs, -EMSGSIZE, "more than 256 registrations" },
		{ NULL, gen_too_many_contacts, -EMSGSIZE, "more than 64 contacts" },
		{ NULL, gen_too_many_params, -EMSGSIZE, "more than 32 <unknown-param>" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena a;
		struct reginfo doc = { .version = 99, .nregs = 99 };
		struct reginfo_error err = { 0 };
		char *buf, *rel = NULL;
		size_t len = 0;
		int rc;

		if (cases[i].file) {
			assert_true(asprintf(&rel, "reginfo/hostile/%s", cases[i].file) > 0);
			buf = read_data(rel, &len);
			assert_non_null(buf);
			free(rel);
		} else {
			buf = cases[i].gen(&len);
		}
		arena_init(&a, 0, 0);
		rc = reginfo_parse(buf, len, &a, &doc, &err);
		if (rc != cases[i].rc || !strstr(err.msg, cases[i].why))
			fail_msg("hostile case %zu (%s): rc %d \"%s\"; want %d \"%s\"", i,
				 cases[i].file ? cases[i].file : "generated", rc, err.msg,
				 cases[i].rc, cases[i].why);
		/* Nothing half-parsed is left for the caller to act on. */
		assert_int_equal(doc.nregs, 0);
		assert_null(doc.regs);
		/* What is not well-formed XML, the validator refuses too. */
		if (cases[i].rc == -EBADMSG) {
			schemas_load();
			assert_int_not_equal(reginfo_validate(lib_schema, buf, len, &err), 0);
		}
		free(buf);
		arena_destroy(&a);
	}
}

/* The limits leave room: exactly at each, a document is accepted. */
static void test_parse_limits(void **state)
{
	struct arena a;
	struct reginfo doc;
	struct reginfo_error err = { 0 };
	size_t len;
	char *buf;

	arena_init(&a, 0, 0);
	buf = gen_regs(REGINFO_MAX_REGS, &len);
	assert_int_equal(reginfo_parse(buf, len, &a, &doc, &err), 0);
	assert_int_equal(doc.nregs, REGINFO_MAX_REGS);
	free(buf);

	buf = gen_huge(&len);
	/* One byte shorter: drop a space from the comment. */
	memmove(buf + 30, buf + 31, len - 31);
	len--;
	assert_int_equal(len, REGINFO_MAX_DOC);
	assert_int_equal(reginfo_parse(buf, len, &a, &doc, &err), 0);
	assert_int_equal(doc.version, 0);
	free(buf);
	arena_destroy(&a);
}

/* Schema-valid documents that break RFC 3680's rules are the parser's to
 * catch: the schema does not encode the contact state machine. */
static void test_schema_vs_parser(void **state)
{
	size_t len;
	char *buf = read_data("reginfo/hostile/illegal_transition.xml", &len);
	struct reginfo_error err;

	assert_non_null(buf);
	schemas_load();
	assert_int_equal(oracle_validate(buf, len), 0);
	assert_int_equal(reginfo_validate(lib_schema, buf, len, &err), 0);
	free(buf);

	buf = read_data("reginfo/hostile/bad_doc_state.xml", &len);
	assert_non_null(buf);
	assert_int_equal(oracle_validate(buf, len), 1);
	assert_int_equal(reginfo_validate(lib_schema, buf, len, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "state"));
	free(buf);
}

/*
 * A SIP URI with an IPv6 reference ("sip:erin@[2001:db8::50]:5060") is an
 * xs:anyURI by XML Schema 1.0, which defers to RFC 2396 as amended by RFC
 * 2732; libxml2 checks xs:anyURI with its RFC 3986 parser, under which
 * brackets are legal only inside an authority, and so refuses it. The
 * parser and builder handle such contacts; schema validation, which is
 * libxml2's, cannot. This test pins that down so that a libxml2 that
 * changes its mind is noticed (and docs/reginfo.md updated).
 */
static void test_ipv6_contact(void **state)
{
	struct arena a;
	struct reginfo doc, back;
	struct reginfo_error err;
	char *xml, *p1, *p2, out[4096];
	size_t xlen, l1, l2, olen;

	xml = read_data("reginfo/parse/ipv6_contact.xml", &xlen);
	assert_non_null(xml);
	arena_init(&a, 0, 0);
	assert_int_equal(reginfo_parse(xml, xlen, &a, &doc, &err), 0);
	assert_true(str_eq_cstr(doc.regs->contacts->uri, "sip:erin@[2001:db8::50]:5060"));
	assert_int_equal(reginfo_build(&doc, out, sizeof(out), &olen, &err), 0);
	assert_int_equal(reginfo_parse(out, olen, &a, &back, &err), 0);
	p1 = printed(&doc, &l1);
	p2 = printed(&back, &l2);
	assert_string_equal(p1, p2);

	schemas_load();
	assert_int_equal(oracle_validate(xml, xlen), 1);
	assert_int_equal(reginfo_validate(lib_schema, xml, xlen, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "anyURI"));
	free(p1);
	free(p2);
	free(xml);
	arena_destroy(&a);
}

static void test_schema_load_errors(void **state)
{
	struct reginfo_schema *s = (void *)1;
	struct reginfo_error err = { 0 };
	char *xsd = data_path("reginfo/reginfo.xsd");
	char *xmlxsd = data_path("reginfo/xml.xsd");
	char *notxsd = data_path("examples/reginfo_full.xml");

	assert_int_equal(reginfo_schema_load(xsd, "/nonexistent/xml.xsd", &s, &err), -ENOENT);
	assert_null(s);
	assert_int_equal(reginfo_schema_load("/nonexistent/reginfo.xsd", xmlxsd, &s, &err),
			 -ENOENT);
	assert_int_equal(reginfo_schema_load(notxsd, xmlxsd, &s, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "no import of the XML namespace"));
	/* The XML namespace schema in place of RFC 3680's. */
	assert_int_equal(reginfo_schema_load(xmlxsd, xmlxsd, &s, &err), -EPROTO);
	assert_null(s);
	free(xsd);
	free(xmlxsd);
	free(notxsd);
}

/* ---- version tracking ------------------------------------------------------ */

static void test_watch(void **state)
{
	static const struct {
		uint64_t version;
		enum reginfo_doc_state st;
		enum reginfo_verdict want;
		uint64_t last_after;
	} steps[] = {
		{ 0, REGINFO_DOC_PARTIAL, REGINFO_NEED_FULL, 0 }, /* nothing to apply it to */
		{ 0, REGINFO_DOC_FULL, REGINFO_APPLY, 0 },
		{ 0, REGINFO_DOC_FULL, REGINFO_STALE, 0 },	  /* retransmission */
		{ 1, REGINFO_DOC_PARTIAL, REGINFO_APPLY, 1 },
		{ 1, REGINFO_DOC_PARTIAL, REGINFO_STALE, 1 },
		{ 3, REGINFO_DOC_PARTIAL, REGINFO_NEED_FULL, 1 }, /* version 2 was lost */
		{ 2, REGINFO_DOC_PARTIAL, REGINFO_NEED_FULL, 1 }, /* late, but 3 is gone */
		{ 4, REGINFO_DOC_PARTIAL, REGINFO_NEED_FULL, 1 },
		{ 1, REGINFO_DOC_PARTIAL, REGINFO_STALE, 1 },
		{ 5, REGINFO_DOC_FULL, REGINFO_APPLY, 5 },	  /* after re-SUBSCRIBE */
		{ 6, REGINFO_DOC_PARTIAL, REGINFO_APPLY, 6 },
		{ 6, REGINFO_DOC_FULL, REGINFO_STALE, 6 },
		{ 9, REGINFO_DOC_FULL, REGINFO_APPLY, 9 },	  /* full state may skip */
		{ 10, REGINFO_DOC_PARTIAL, REGINFO_APPLY, 10 },
	};
	struct reginfo_watch w;

	reginfo_watch_reset(&w);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum reginfo_verdict v = reginfo_watch_check(&w, steps[i].version, steps[i].st);

		if (v != steps[i].want || w.last != steps[i].last_after)
			fail_msg("step %zu: %s, last %llu; want %s, last %llu", i,
				 reginfo_verdict_name(v), (unsigned long long)w.last,
				 reginfo_verdict_name(steps[i].want),
				 (unsigned long long)steps[i].last_after);
	}
	/* The largest version does not wrap into "next". */
	reginfo_watch_reset(&w);
	assert_int_equal(reginfo_watch_check(&w, UINT64_MAX, REGINFO_DOC_FULL), REGINFO_APPLY);
	assert_int_equal(reginfo_watch_check(&w, 0, REGINFO_DOC_PARTIAL), REGINFO_STALE);
}

static int teardown(void **state)
{
	if (oracle_schema)
		xmlSchemaFree(oracle_schema);
	reginfo_schema_free(lib_schema);
	free(oracle_xml_xsd);
	xmlCleanupParser();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contact_fsm),
		cmocka_unit_test(test_registration_fsm),
		cmocka_unit_test(test_build_golden),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_build_partial_unchecked),
		cmocka_unit_test(test_build_nospace),
		cmocka_unit_test(test_parse_golden),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_schema_vs_parser),
		cmocka_unit_test(test_ipv6_contact),
		cmocka_unit_test(test_schema_load_errors),
		cmocka_unit_test(test_watch),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
