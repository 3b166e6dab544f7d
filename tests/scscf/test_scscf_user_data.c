/*
 * test_scscf_user_data - the IMPUs scscf_user_data_parse() reads from an
 * SAA's User-Data (TS 29.228 Annex B/E), one row per document: what it
 * yields, or the error. The rows print as "uri[!]" (! when barred),
 * separated by spaces.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scscf/scscf.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static const struct {
	const char *name;
	const char *xml;
	int err;
	const char *want;
} rows[] = {
	{ "what the HSS sends",
	  HEAD "<IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
	       " xsi:noNamespaceSchemaLocation=\"CxDataType.xsd\">\n"
	       "  <PrivateID>alice@ims.test</PrivateID>\n  <ServiceProfile>\n"
	       "    <PublicIdentity>\n      <Identity>sip:alice@ims.test</Identity>\n"
	       "    </PublicIdentity>\n    <PublicIdentity>\n"
	       "      <BarringIndication>1</BarringIndication>\n"
	       "      <Identity>tel:+15550100</Identity>\n    </PublicIdentity>\n"
	       "  </ServiceProfile>\n</IMSSubscription>\n",
	  0, "sip:alice@ims.test tel:+15550100!" },
	{ "two profiles, in document order",
	  "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity>"
	  "</PublicIdentity></ServiceProfile><ServiceProfile><PublicIdentity>"
	  "<Identity>sip:b@x</Identity><BarringIndication>true</BarringIndication>"
	  "</PublicIdentity></ServiceProfile></IMSSubscription>",
	  0, "sip:a@x sip:b@x!" },
	{ "barring 0 and anything else is not barred",
	  "<IMSSubscription><ServiceProfile>"
	  "<PublicIdentity><BarringIndication>0</BarringIndication><Identity>sip:a@x</Identity>"
	  "</PublicIdentity><PublicIdentity><BarringIndication>yes</BarringIndication>"
	  "<Identity>sip:b@x</Identity></PublicIdentity></ServiceProfile></IMSSubscription>",
	  0, "sip:a@x sip:b@x" },
	{ "the last Identity and BarringIndication count",
	  "<IMSSubscription><ServiceProfile><PublicIdentity>"
	  "<BarringIndication>1</BarringIndication><Identity>sip:a@x</Identity>"
	  "<Identity>sip:b@x</Identity><BarringIndication>0</BarringIndication>"
	  "</PublicIdentity></ServiceProfile></IMSSubscription>",
	  0, "sip:b@x" },
	{ "text trimmed, CDATA, entities and nested text read as one",
	  "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>\n\t sip:<![CDATA[a&b]]>"
	  "&amp;<x>c</x>@x \n</Identity><BarringIndication> 1 </BarringIndication>"
	  "</PublicIdentity></ServiceProfile></IMSSubscription>",
	  0, "sip:a&b&c@x!" },
	{ "names compared without their namespace prefix",
	  "<c:IMSSubscription xmlns:c=\"urn:x\"><c:ServiceProfile><c:PublicIdentity>"
	  "<c:Identity>sip:a@x</c:Identity></c:PublicIdentity></c:ServiceProfile>"
	  "</c:IMSSubscription>",
	  0, "sip:a@x" },
	{ "identities outside ServiceProfile/PublicIdentity ignored",
	  "<IMSSubscription><PublicIdentity><Identity>sip:no@x</Identity></PublicIdentity>"
	  "<ServiceProfile><Extension><PublicIdentity><Identity>sip:no2@x</Identity>"
	  "</PublicIdentity></Extension><PublicIdentity><Other><Identity>sip:no3@x</Identity>"
	  "</Other><Identity>sip:yes@x</Identity></PublicIdentity></ServiceProfile>"
	  "</IMSSubscription>",
	  0, "sip:yes@x" },
	{ "no PublicIdentity", "<IMSSubscription><ServiceProfile/></IMSSubscription>",
	  -EBADMSG, NULL },
	{ "a PublicIdentity without Identity",
	  "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity>"
	  "</PublicIdentity><PublicIdentity><BarringIndication>1</BarringIndication>"
	  "</PublicIdentity></ServiceProfile></IMSSubscription>",
	  -EBADMSG, NULL },
	{ "an empty Identity",
	  "<IMSSubscription><ServiceProfile><PublicIdentity><Identity> </Identity>"
	  "</PublicIdentity></ServiceProfile></IMSSubscription>",
	  -EBADMSG, NULL },
	{ "another root",
	  "<Subscription><ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity>"
	  "</PublicIdentity></ServiceProfile></Subscription>",
	  -EBADMSG, NULL },
	{ "not well-formed",
	  "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity>"
	  "</PublicIdentity></ServiceProfile>",
	  -EBADMSG, NULL },
	{ "an undeclared entity", "<IMSSubscription><ServiceProfile><PublicIdentity>"
	  "<Identity>sip:&a;@x</Identity></PublicIdentity></ServiceProfile></IMSSubscription>",
	  -EBADMSG, NULL },
	{ "a DTD",
	  "<!DOCTYPE IMSSubscription [<!ENTITY a \"b\">]><IMSSubscription><ServiceProfile>"
	  "<PublicIdentity><Identity>sip:&a;@x</Identity></PublicIdentity></ServiceProfile>"
	  "</IMSSubscription>",
	  -EBADMSG, NULL },
	{ "empty", "", -EBADMSG, NULL },
};

static void each_row(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct scscf_identity *ids = NULL;
		struct arena a;
		unsigned n = 0;
		char got[512] = "";
		size_t len = 0;
		int err;

		arena_init(&a, 0, 0);
		err = scscf_user_data_parse(str_from_cstr(rows[i].xml), &a, &ids, &n);
		for (unsigned k = 0; !err && k < n; k++)
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%.*s%s",
						k ? " " : "", STR_FMT(ids[k].uri),
						ids[k].barred ? "!" : "");
		if (err != rows[i].err || (!err && strcmp(got, rows[i].want) != 0))
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", rows[i].name, err, got,
				 rows[i].err, rows[i].want ? rows[i].want : "");
		arena_destroy(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
