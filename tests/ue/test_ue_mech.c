/*
 * The UE's pure rules: mechanism names and flags, the modified-IMPI
 * template, the re-registration time, the RFC 5626 back-off and keepalive
 * intervals, and the parsers of ue.accesses and ue.offers entries.
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

#include "aka/esp_keys.h"
#include "ipsec/secagree.h"
#include "ue/config.h"
#include "ue/mech.h"
#include "ue/reg.h"

static void test_mechanisms(void **state)
{
	assert_string_equal(ue_mech_name(UE_MECH_NONE), "none");
	assert_string_equal(ue_mech_name(UE_MECH_MODIFIED_IMPI_PROBE), "modified-impi+regevent-probe");
	assert_int_equal(ue_mech_flags(UE_MECH_NONE), 0);
	assert_int_equal(ue_mech_flags(UE_MECH_OUTBOUND), UE_MF_OUTBOUND);
	assert_int_equal(ue_mech_flags(UE_MECH_REGEVENT_PROBE), UE_MF_PROBE);
	assert_int_equal(ue_mech_flags(UE_MECH_MODIFIED_IMPI_OUTBOUND),
			 UE_MF_MODIFIED_IMPI | UE_MF_OUTBOUND);
	assert_int_equal(ue_mech_flags(UE_MECH__COUNT), 0);
	assert_null(ue_mech_names[UE_MECH__COUNT]);
}

static void test_impi_derive(void **state)
{
	char out[UE_IMPI_MAX];
	static const struct {
		const char *tmpl, *impi;
		unsigned n;
		int rc;
		const char *want;
	} cases[] = {
		{ UE_IMPI_TEMPLATE_DEFAULT, "alice@ims.test", 1, 14, "alice@ims.test" },
		{ UE_IMPI_TEMPLATE_DEFAULT, "alice@ims.test", 2, 16, "alice+2@ims.test" },
		{ UE_IMPI_TEMPLATE_DEFAULT, "alice@ims.test", 12, 17, "alice+12@ims.test" },
		{ "{n}.{impi}", "001010000000001@ims.mnc001.mcc001.3gppnetwork.org", 3, 51,
		  "3.001010000000001@ims.mnc001.mcc001.3gppnetwork.org" },
		/* the last '@' splits user and realm */
		{ "{user}-{n}@{realm}", "a@b@c", 2, 7, "a@b-2@c" },
		{ UE_IMPI_TEMPLATE_DEFAULT, "alice", 2, -EINVAL, NULL },
		{ UE_IMPI_TEMPLATE_DEFAULT, "@ims.test", 2, -EINVAL, NULL },
		{ UE_IMPI_TEMPLATE_DEFAULT, "alice@", 2, -EINVAL, NULL },
		{ "{user}+{x}@{realm}", "alice@ims.test", 2, -EINVAL, NULL },
		{ "{user}+{n@{realm}", "alice@ims.test", 2, -EINVAL, NULL },
		{ "{user", "alice@ims.test", 2, -EINVAL, NULL },
		{ UE_IMPI_TEMPLATE_DEFAULT, "alice@ims.test", 0, -EINVAL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ue_impi_derive(cases[i].tmpl, str_from_cstr(cases[i].impi), cases[i].n,
					out, sizeof(out));

		assert_int_equal(rc, cases[i].rc);
		if (rc >= 0)
			assert_string_equal(out, cases[i].want);
	}
	/* Exactly fitting, and one byte short. */
	assert_int_equal(ue_impi_derive(UE_IMPI_TEMPLATE_DEFAULT, STR_LIT("a@b"), 2, out, 6), 5);
	assert_int_equal(ue_impi_derive(UE_IMPI_TEMPLATE_DEFAULT, STR_LIT("a@b"), 2, out, 5),
			 -ENOSPC);
}

static void test_impi_template_check(void **state)
{
	char why[200];

	assert_int_equal(ue_impi_template_check(UE_IMPI_TEMPLATE_DEFAULT, why, sizeof(why)), 0);
	assert_int_equal(ue_impi_template_check("{n}.{impi}", why, sizeof(why)), 0);
	assert_int_equal(ue_impi_template_check("{user}@{realm}", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "same IMPI"));
	assert_int_equal(ue_impi_template_check("{user}{n}", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "USER@REALM"));
	assert_int_equal(ue_impi_template_check("{who}", why, sizeof(why)), -EINVAL);
	assert_int_equal(ue_impi_template_check("{n}@{realm}@x", why, sizeof(why)), -EINVAL);
}

static void test_refresh_delay(void **state)
{
	/* TS 24.229 5.1.1.4.1: 600 s before expiry above 1200 s, else half. */
	assert_int_equal(ue_refresh_delay_s(600000), 599400);
	assert_int_equal(ue_refresh_delay_s(1201), 601);
	assert_int_equal(ue_refresh_delay_s(1200), 600);
	assert_int_equal(ue_refresh_delay_s(3600), 3000);
	assert_int_equal(ue_refresh_delay_s(61), 30);
	assert_int_equal(ue_refresh_delay_s(0), 0);
}

static void test_backoff(void **state)
{
	const struct ue_backoff b = UE_BACKOFF_RFC5626;

	/* RFC 5626 4.5's example: base 30 s, three failures: 120 s to 240 s. */
	assert_int_equal(ue_backoff_ms(&b, 3, false, 0), 120000);
	assert_true(ue_backoff_ms(&b, 3, false, UINT32_MAX) < 240000);
	assert_true(ue_backoff_ms(&b, 3, false, UINT32_MAX) >= 239999);
	assert_int_equal(ue_backoff_ms(&b, 1, false, 0), 30000);
	assert_int_equal(ue_backoff_ms(&b, 1, true, 0), 90000);
	assert_int_equal(ue_backoff_ms(&b, 0, false, 0), 15000);
	/* max-time caps W, far past any overflow. */
	assert_int_equal(ue_backoff_ms(&b, 6, false, 0), 900000);
	assert_int_equal(ue_backoff_ms(&b, 40, false, 0), 900000);
	assert_int_equal(ue_backoff_ms(&b, 1000, true, 0), 900000);
	assert_int_equal(ue_backoff_ms(&b, 2, true, 1u << 31), 270000);
}

static void test_keepalive(void **state)
{
	assert_int_equal(ue_keepalive_ms(0, false, 0), 24000);
	assert_true(ue_keepalive_ms(0, false, UINT32_MAX) < 29000);
	assert_int_equal(ue_keepalive_ms(0, true, 0), 95000);
	assert_true(ue_keepalive_ms(0, true, UINT32_MAX) < 120000);
	assert_int_equal(ue_keepalive_ms(100, true, 0), 80000);
	assert_true(ue_keepalive_ms(100, false, UINT32_MAX) < 100000);
}

static void test_access_config(void **state)
{
	struct ue_access_config c;
	char why[256];
	static const char *const bad[] = {
		"",
		"wlan",
		"wlan pcscf=198.18.1.1",
		"wlan local=198.18.1.2",
		"wlan local=198.18.1.2 interface=eth0 pcscf=198.18.1.1",
		"wlan local=198.18.1.2 pcscf=2001:db8::1",
		"wlan local=0.0.0.0 pcscf=198.18.1.1",
		"wlan local=198.18.1.2 pcscf=198.18.1.1:0",
		"wlan local=198.18.1.2 pcscf=pcscf.ims.test",
		"wlan local=198.18.1.2 pcscf=198.18.1.1 transport=sctp",
		"wlan local=198.18.1.2 local=198.18.1.3 pcscf=198.18.1.1",
		"wlan local=198.18.1.2 pcscf=198.18.1.1 colour=blue",
		"wlan local=198.18.1.2 pcscf=198.18.1.1 junk",
		"waytoolongaccessname local=198.18.1.2 pcscf=198.18.1.1",
		"wl/an local=198.18.1.2 pcscf=198.18.1.1",
	};

	assert_int_equal(ue_access_config_parse("wlan local=198.18.1.2 pcscf=198.18.1.1:5070 "
						"transport=TCP",
						&c, why, sizeof(why)),
			 0);
	assert_string_equal(c.name, "wlan");
	assert_int_equal(sip_sockaddr_port(&c.local), 5060);
	assert_int_equal(sip_sockaddr_port(&c.pcscf), 5070);
	assert_int_equal(c.proto, SIP_TRANSPORT_TCP);
	assert_int_equal(ue_access_config_parse("umts  interface=veth-umts   "
						"pcscf=[2001:db8:2::1]:5060",
						&c, why, sizeof(why)),
			 0);
	assert_string_equal(c.ifname, "veth-umts");
	assert_false(sip_sockaddr_is_set(&c.local));
	assert_int_equal(c.pcscf.sa.sa_family, AF_INET6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (ue_access_config_parse(bad[i], &c, why, sizeof(why)) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
		assert_true(strlen(why) > 0);
	}
}

static void test_offers(void **state)
{
	static const char *const good[] = { "hmac-sha-1-96/aes-cbc", "HMAC-MD5-96/null" };
	static const char *const dup[] = { "hmac-sha-1-96/aes-cbc", "hmac-sha-1-96/AES-CBC" };
	static const char *const bad[] = { "hmac-sha-1-96", "aes-gmac/null", "hmac-sha-1-96/aes-gcm" };
	struct config_strlist l;
	struct ipsec_prefs p;
	char why[256];

	l = (struct config_strlist){ good, 2 };
	assert_int_equal(ue_offers_parse(&l, &p, why, sizeof(why)), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.v[0].alg, ESP_AUTH_HMAC_SHA1_96);
	assert_int_equal(p.v[0].ealg, ESP_ENC_AES_CBC);
	assert_int_equal(p.v[1].alg, ESP_AUTH_HMAC_MD5_96);
	assert_int_equal(p.v[1].ealg, ESP_ENC_NULL);
	l = (struct config_strlist){ dup, 2 };
	assert_int_equal(ue_offers_parse(&l, &p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "twice"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = (struct config_strlist){ &bad[i], 1 };
		assert_int_equal(ue_offers_parse(&l, &p, why, sizeof(why)), -EINVAL);
	}
	l = (struct config_strlist){ good, 0 };
	assert_int_equal(ue_offers_parse(&l, &p, why, sizeof(why)), -EINVAL);
}

/* docs/ue.md holds the state table as ue_reg_table_markdown() prints it. */
static void test_fsm_doc(void **state)
{
	static const char begin[] = "<!-- BEGIN fsm (ue_reg_table_markdown(); a test keeps it equal) -->\n";
	static const char end[] = "<!-- END fsm -->";
	char *table = NULL, *doc;
	size_t tlen = 0;
	const char *b, *e;
	FILE *f = open_memstream(&table, &tlen);
	long n;

	assert_non_null(f);
	assert_int_equal(ue_reg_table_markdown(f), 0);
	fclose(f);
	f = fopen(UE_DOC, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	doc = calloc(1, (size_t)n + 1);
	assert_non_null(doc);
	assert_int_equal(fread(doc, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b = strstr(doc, begin);
	e = strstr(doc, end);
	assert_non_null(b);
	assert_non_null(e);
	b += strlen(begin);
	if (getenv("SIMREG_REGENERATE")) {
		f = fopen(UE_DOC, "wb");
		assert_non_null(f);
		fwrite(doc, 1, (size_t)(b - doc), f);
		fwrite(table, 1, tlen, f);
		fputs(e, f);
		fclose(f);
	} else if ((size_t)(e - b) != tlen || memcmp(b, table, tlen) != 0) {
		fail_msg("docs/ue.md's state table is out of date (SIMREG_REGENERATE=1 rewrites it)");
	}
	free(doc);
	free(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_impi_derive),
		cmocka_unit_test(test_impi_template_check),
		cmocka_unit_test(test_refresh_delay),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_access_config),
		cmocka_unit_test(test_offers),
		cmocka_unit_test(test_fsm_doc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
