/*
 * URIs: parsing, escapes and RFC 3261 19.1.4 comparison.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sip/uri.h"

static struct sip_uri parse_ok(const char *text)
{
	struct sip_uri u;
	struct sip_error err;

	if (sip_uri_parse(str_from_cstr(text), &u, &err))
		fail_msg("%s: %s", text, err.reason);
	return u;
}

static void test_parts(void **state)
{
	struct sip_uri u = parse_ok(
		"sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr;ob;"
		"maddr=198.18.0.9;ttl=5;user=phone;method=INVITE?Subject=hi&Priority=urgent");

	assert_int_equal(u.scheme, SIP_URI_SIPS);
	assert_true(str_eq_cstr(u.user, "alice"));
	assert_true(u.has_password);
	assert_true(str_eq_cstr(u.password, "secret"));
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_true(str_eq_cstr(u.host, "[2001:db8::10]"));
	assert_int_equal(u.port, 5061);
	assert_true(str_eq_cstr(u.transport, "tcp"));
	assert_true(str_eq_cstr(u.maddr, "198.18.0.9"));
	assert_true(str_eq_cstr(u.ttl, "5"));
	assert_true(str_eq_cstr(u.user_param, "phone"));
	assert_true(str_eq_cstr(u.method, "INVITE"));
	assert_true(u.lr && u.ob);
	assert_true(u.has_headers);
	assert_true(str_eq_cstr(u.headers, "Subject=hi&Priority=urgent"));

	u = parse_ok("sip:198.18.0.1");
	assert_false(u.has_user);
	assert_false(u.has_port);
	assert_int_equal(u.host_type, SIP_HOST_IPV4);
	assert_int_equal(u.params.len, 0);

	u = parse_ok("tel:+1-201-555-0123;phone-context=ims.example.net");
	assert_int_equal(u.scheme, SIP_URI_TEL);
	assert_true(str_eq_cstr(u.number, "+1-201-555-0123"));
	assert_true(str_eq_cstr(u.params, ";phone-context=ims.example.net"));

	u = parse_ok("urn:gsma:imei:35209900-176148-0");
	assert_int_equal(u.scheme, SIP_URI_OTHER);
	assert_true(str_eq_cstr(u.scheme_name, "urn"));
	assert_true(str_eq_cstr(u.opaque, "gsma:imei:35209900-176148-0"));
}

static void test_bad(void **state)
{
	static const struct {
		const char *uri;
		const char *reason;
	} bad[] = {
		{ "sip:", "URI without a host" },
		{ "sip:alice@", "URI without a host" },
		{ "sip:@example.com", "empty user part before '@'" },
		{ "sip:a b@example.com", "invalid character in the user part of the URI" },
		{ "sip:example.com:65536", "URI port is not a number from 0 to 65535" },
		{ "sip:example.com:", "URI port is not a number from 0 to 65535" },
		{ "sip:[2001:db8::1", "IPv6 reference without ']'" },
		{ "sip:[zz]", "malformed host in the URI" },
		{ "sip:1.2.3.256", "malformed host in the URI" },
		{ "sip:-bad.example.com", "malformed host in the URI" },
		{ "sip:a%4@example.com", "malformed %-escape in the user part" },
		{ "sip:example.com;;lr", "empty URI parameter" },
		{ "sip:example.com;a=", "URI parameter with '=' but no value" },
		{ "sip:example.com?x", "URI header without '='" },
		{ "sip:example.com>", "invalid character in the URI" },
		{ "tel:", "tel URI without a number" },
		{ "1sip:a", "URI does not start with a scheme" },
		{ "sip", "URI without ':' after the scheme" },
		{ "http:", "nothing after the URI scheme" },
		{ "http:a<b", "invalid character in the URI" },
	};
	struct sip_uri u;
	struct sip_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sip_uri_parse(str_from_cstr(bad[i].uri), &u, &err) != -EBADMSG)
			fail_msg("%s accepted", bad[i].uri);
		if (strcmp(err.reason, bad[i].reason) != 0)
			fail_msg("%s: \"%s\", expected \"%s\"", bad[i].uri, err.reason,
				 bad[i].reason);
	}
}

static void test_unescape(void **state)
{
	char out[16];
	size_t n;

	assert_int_equal(sip_unescape(STR_LIT("a%20b%2541"), out, sizeof(out), &n), 0);
	assert_true(str_eq_cstr(str_make(out, n), "a b%41"));
	assert_int_equal(sip_unescape(STR_LIT("%00"), out, sizeof(out), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(sip_unescape(STR_LIT("%4"), out, sizeof(out), &n), -EINVAL);
	assert_int_equal(sip_unescape(STR_LIT("%zz"), out, sizeof(out), &n), -EINVAL);
	assert_int_equal(sip_unescape(STR_LIT("0123456789abcdefg"), out, sizeof(out), &n), -ENOSPC);
}

static bool same(const char *a, const char *b)
{
	struct sip_uri ua = parse_ok(a), ub = parse_ok(b);
	bool ab = sip_uri_equal(&ua, &ub), ba = sip_uri_equal(&ub, &ua);

	/* comparison is symmetric */
	assert_true(ab == ba);
	return ab;
}

/* The examples of RFC 3261 19.1.4, then tel (RFC 3966 4). */
static void test_compare(void **state)
{
	assert_true(same("sip:%61lice@atlanta.com;transport=TCP",
			 "sip:alice@AtLanTa.CoM;Transport=tcp"));
	assert_true(same("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
	assert_true(same("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
	assert_true(same("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
	assert_true(same("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
			 "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
	assert_true(same("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
			 "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));

	assert_false(
		same("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
	assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
	assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com:0"));
	assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
	assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
	assert_false(same("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
	assert_false(same("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
	assert_false(
		same("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));

	/* repeated parameters (found by fuzz_sip_uri): a URI still equals itself */
	assert_true(same("sip:a@h;transport=.com;transport=TCP",
			 "sip:a@h;transport=.com;transport=TCP"));
	assert_true(same("sip:h;x=1;x=2", "sip:h;x=2;x=1"));
	assert_false(same("sip:h;x=1;x=2", "sip:h;x=3"));

	/* escapes are decoded exactly once, sip and sips never match */
	assert_false(same("sip:value%41@h", "sip:value%2541@h"));
	assert_true(same("sip:valueA@h", "sip:value%41@h"));
	assert_false(same("sip:a@h", "sips:a@h"));
	assert_false(same("sip:a:pw@h", "sip:a@h"));

	assert_true(same("tel:+1-201-555-0123", "tel:+12015550123"));
	assert_true(
		same("tel:7042;phone-context=Example.COM", "tel:7042;phone-context=example.com"));
	assert_false(same("tel:7042;phone-context=example.com", "tel:7042"));
	assert_false(same("tel:+12015550123", "sip:+12015550123@example.com;user=phone"));
	assert_true(same("urn:x:y", "URN:x:y"));
	assert_false(same("urn:x:y", "urn:x:Y"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts), cmocka_unit_test(test_bad),
		cmocka_unit_test(test_unescape), cmocka_unit_test(test_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
