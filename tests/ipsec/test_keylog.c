/*
 * Key log lines: Wireshark's esp_sa format for every algorithm pair and
 * both families (tshark reads them in ipsec_netns_userspace and the VM test).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ipsec/keylog.h"

static void build(struct ipsec_sa_set *set, const char *ue, const char *pc,
		  enum esp_auth_alg a, enum esp_enc_alg e)
{
	static const uint8_t ik[16] = { 0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
					0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41 };
	static const uint8_t ck[16] = { 0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
					0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb };
	struct ipsec_set_params p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(ipsec_addr_parse(ue, &p.ue), 0);
	assert_int_equal(ipsec_addr_parse(pc, &p.pcscf), 0);
	p.client = (struct ipsec_sec_params){ 0x1001, 0x1002, 31001, 31002 };
	p.server = (struct ipsec_sec_params){ 0x2001, 0x2002, 5101, 5102 };
	assert_int_equal(esp_keys_derive(a, e, ik, ck, &p.keys), 0);
	assert_int_equal(ipsec_sa_set_build(set, IPSEC_SIDE_PCSCF, &p), 0);
}

static void test_lines(void **state)
{
	struct ipsec_sa_set set;
	char line[IPSEC_KEYLOG_LINE_MAX];

	build(&set, "198.18.0.2", "198.18.0.1", ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC);
	int len = ipsec_keylog_format(&set, 1, line, sizeof(line));

	assert_int_equal(len, (int)strlen(line));
	assert_string_equal(line,
			    "\"IPv4\",\"198.18.0.2\",\"198.18.0.1\",\"0x00002002\",\"AES-CBC [RFC3602]\","
			    "\"0xb40ba9a3c58b2a05bbf0d987b21bf8cb\",\"HMAC-SHA-1-96 [RFC2404]\","
			    "\"0xf769bcd751044604127672711c6d344100000000\"");
	assert_int_equal(ipsec_keylog_format(&set, 3, line, sizeof(line)) > 0, 1);
	assert_non_null(strstr(line, "\"198.18.0.1\",\"198.18.0.2\",\"0x00001001\""));

	build(&set, "2001:db8::2", "2001:db8::1", ESP_AUTH_HMAC_MD5_96, ESP_ENC_NULL);
	assert_true(ipsec_keylog_format(&set, 4, line, sizeof(line)) > 0);
	assert_string_equal(line, "\"IPv6\",\"2001:db8::2\",\"2001:db8::1\",\"0x00002001\",\"NULL\",\"\","
				  "\"HMAC-MD5-96 [RFC2403]\",\"0xf769bcd751044604127672711c6d3441\"");

	build(&set, "198.18.0.2", "198.18.0.1", ESP_AUTH_HMAC_SHA1_96, ESP_ENC_DES_EDE3_CBC);
	assert_true(ipsec_keylog_format(&set, 2, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"TripleDES-CBC [RFC2451]\",\"0xb40ba9a3c58b2a05bbf0d987b21bf8cbb40ba9a3c58b2a05\""));

	/* Longest case fits; too small a buffer and bad SA numbers are refused. */
	build(&set, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	      ESP_AUTH_HMAC_SHA1_96, ESP_ENC_DES_EDE3_CBC);
	assert_true(ipsec_keylog_format(&set, 1, line, sizeof(line)) > 0);
	assert_int_equal(ipsec_keylog_format(&set, 1, line, 40), -ENOSPC);
	assert_int_equal(ipsec_keylog_format(&set, 0, line, sizeof(line)), -EINVAL);
	assert_int_equal(ipsec_keylog_format(&set, 5, line, sizeof(line)), -EINVAL);
}

static void test_write(void **state)
{
	struct ipsec_sa_set set;
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	int lines = 0;

	build(&set, "198.18.0.2", "198.18.0.1", ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC);
	assert_int_equal(ipsec_keylog_write(f, &set), 0);
	fclose(f);
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
