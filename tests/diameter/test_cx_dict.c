/*
 * lib/diameter: the Cx tables against the specification's table
 * (tests/data/cx_dictionary.tsv), the dictionary inside a running
 * freeDiameter core, message rules, and the generated configuration.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "diameter/cx.h"
#include "diameter/dmsg.h"
#include "diameter/engine.h"

static FILE *open_data(const char *name)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", getenv("SIMREG_TESTDATA"), name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	return fp;
}

/* Every avp, cmd, sat and exp row of the specification table is in ours. */
static void test_tables_match_spec(void **state)
{
	FILE *fp = open_data("cx_dictionary.tsv");
	char line[1024];
	int avps = 0, cmds = 0, sats = 0, exps = 0;

	while (fgets(line, sizeof(line), fp)) {
		char *kind = strtok(line, "\t\n");
		char *name = strtok(NULL, "\t\n");
		char *code_s = strtok(NULL, "\t\n");
		char *type = strtok(NULL, "\t\n");
		unsigned long code;

		if (!kind || !name || !code_s || strcmp(kind, "kind") == 0)
			continue;
		code = strtoul(code_s, NULL, 10);
		if (strcmp(kind, "avp") == 0 && code >= 600) {
			int found = 0;

			for (int i = 0; i < CX_AVP__COUNT; i++) {
				if (cx_avp_info[i].code != code)
					continue;
				found = 1;
				assert_string_equal(cx_avp_info[i].name, name);
				if (strcmp(type, "Grouped") == 0)
					assert_int_equal(cx_avp_info[i].type, CX_T_GROUPED);
				else if (strcmp(type, "Unsigned32") == 0)
					assert_int_equal(cx_avp_info[i].type, CX_T_U32);
				else if (strcmp(type, "Enumerated") == 0)
					assert_int_equal(cx_avp_info[i].type, CX_T_ENUM);
				else if (strcmp(type, "UTF8String") == 0)
					assert_int_equal(cx_avp_info[i].type, CX_T_UTF8);
				else
					assert_int_equal(cx_avp_info[i].type, CX_T_OCTETS);
			}
			if (!found)
				fail_msg("AVP %s (%lu) is not in CX_AVPS", name, code);
			avps++;
		} else if (strcmp(kind, "cmd") == 0) {
			int found = 0;

			for (int i = 0; i < CX_CMD__COUNT; i++) {
				if (cx_command_info[i].code == code &&
				    strncmp(name, cx_command_info[i].request,
					    strlen(cx_command_info[i].request) - strlen("Request")) == 0)
					found = 1;
			}
			if (!found)
				fail_msg("command %s (%lu) is not in CX_COMMANDS", name, code);
			cmds++;
		} else if (strcmp(kind, "sat") == 0) {
			assert_non_null(cx_sat_name((uint32_t)code));
			assert_string_equal(cx_sat_name((uint32_t)code), name);
			sats++;
		} else if (strcmp(kind, "exp") == 0 && code != 4100 && code != 4101) {
			/* 4100 and 4101 are Sh codes, listed for completeness. */
			assert_non_null(cx_experimental_name((uint32_t)code));
			assert_string_equal(cx_experimental_name((uint32_t)code), name);
			exps++;
		}
	}
	fclose(fp);
	assert_int_equal(cmds, 6);
	assert_int_equal(sats, 14);
	assert_int_equal(avps, 38);
	assert_int_equal(exps, 14);
}

static void test_peer_parse(void **state)
{
	struct dia_peer p;
	char why[128];
	char buf[200];

	strcpy(buf, "scscf.ims.test realm=ims.test address=127.0.0.1:3870 connect=yes");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), 0);
	assert_string_equal(p.identity, "scscf.ims.test");
	assert_string_equal(p.realm, "ims.test");
	assert_string_equal(p.address, "127.0.0.1");
	assert_int_equal(p.port, 3870);
	assert_true(p.connect);

	strcpy(buf, "icscf.ims.test address=[2001:db8::1]:3868");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), 0);
	assert_string_equal(p.address, "2001:db8::1");
	assert_int_equal(p.port, 3868);
	assert_false(p.connect);

	strcpy(buf, "x.ims.test address=2001:db8::2");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), 0);
	assert_string_equal(p.address, "2001:db8::2");
	assert_int_equal(p.port, 0);

	strcpy(buf, "scscf.ims.test connect=yes");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "peer scscf.ims.test: connect=yes needs an address");
	strcpy(buf, "scscf.ims.test colour=blue");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "unknown key 'colour' (expected realm, address, connect)");
	strcpy(buf, "scscf.ims.test address=127.0.0.1:99999");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), -EINVAL);
	strcpy(buf, "realm=ims.test");
	assert_int_equal(dia_peer_parse(buf, &p, why, sizeof(why)), -EINVAL);
}

static char run_dir[64];

static int make_run_dir(void **state)
{
	strcpy(run_dir, "/tmp/simreg-dia-XXXXXX");
	assert_non_null(mkdtemp(run_dir));
	return 0;
}

static int remove_run_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	return system(cmd);
}

static void test_generated_config(void **state)
{
	struct dia_peer peers[2] = {
		{ .identity = "scscf.ims.test", .address = "127.0.0.1", .port = 3870,
		  .connect = true, .realm = "ims.test" },
		{ .identity = "icscf.ims.test" },
	};
	struct dia_config cfg = {
		.identity = "hss.ims.test", .realm = "ims.test", .listen = "127.0.0.1",
		.run_dir = run_dir, .peers = peers, .n_peers = 2,
	};
	char path[256], text[4096];
	FILE *fp;
	X509 *cert;
	size_t n;

	assert_int_equal(dia_write_config(&cfg), 0);
	snprintf(path, sizeof(path), "%s/freeDiameter.conf", run_dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(text, "Identity = \"hss.ims.test\";\n"));
	assert_non_null(strstr(text, "Port = 3868;\n"));
	assert_non_null(strstr(text, "ListenOn = \"127.0.0.1\";\n"));
	assert_non_null(strstr(text, "ConnectPeer = \"scscf.ims.test\" { ConnectTo = "
				     "\"127.0.0.1\"; Port = 3870; No_TLS; Realm = \"ims.test\"; };"));
	/* A peer that connects to us is admitted by the validator, not dialled. */
	assert_null(strstr(text, "icscf"));

	/* The certificate names the identity and is its own CA. */
	snprintf(path, sizeof(path), "%s/diameter-cert.pem", run_dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	cert = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(cert);
	assert_int_equal(X509_check_host(cert, "hss.ims.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ca(cert), 1);
	X509_free(cert);

	/* Quotes would break freeDiameter's grammar: refused. */
	cfg.identity = "hss\".ims.test";
	assert_int_equal(dia_write_config(&cfg), -EINVAL);
}

/* The core with our dictionary: build a MAR, check freeDiameter's rules. */
static void test_dictionary_in_core(void **state)
{
	struct dia_config cfg = {
		.identity = "client.ims.test", .realm = "ims.test", .listen = NULL,
		.run_dir = run_dir,
	};
	struct cx_dict d;
	struct msg *mar = NULL;
	struct avp *item, *found;
	struct fd_pei pei;
	uint32_t n = 0;
	struct str s;

	assert_int_equal(dia_engine_start(&cfg, &d, NULL, NULL), 0);
	assert_non_null(d.avp[CX_AVP_SIP_AUTH_DATA_ITEM]);
	assert_non_null(d.request[CX_CMD_MA]);

	assert_int_equal(cx_request_new(&d, CX_CMD_MA, STR_LIT("ims.test"), STR_NULL, &mar), 0);
	assert_int_equal(dmsg_add_str(mar, d.base[CX_BASE_USER_NAME], STR_LIT("alice@ims.test")),
			 0);
	assert_int_equal(dmsg_add_str(mar, d.avp[CX_AVP_PUBLIC_IDENTITY],
				      STR_LIT("sip:alice@ims.test")),
			 0);
	assert_int_equal(dmsg_add_group(mar, d.avp[CX_AVP_SIP_AUTH_DATA_ITEM], &item), 0);
	assert_int_equal(dmsg_add_str(item, d.avp[CX_AVP_SIP_AUTHENTICATION_SCHEME],
				      STR_LIT("Digest-AKAv1-MD5")),
			 0);
	assert_int_equal(dmsg_add_u32(mar, d.avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], 3), 0);
	/* Server-Name is still missing: the rules say so. */
	assert_int_not_equal(fd_msg_parse_rules(mar, fd_g_config->cnf_dict, &pei), 0);
	assert_string_equal(pei.pei_errcode, "DIAMETER_MISSING_AVP");
	if (pei.pei_avp)
		fd_msg_free(pei.pei_avp);
	assert_int_equal(dmsg_add_str(mar, d.avp[CX_AVP_SERVER_NAME],
				      STR_LIT("sip:scscf.ims.test")),
			 0);
	assert_int_equal(fd_msg_parse_rules(mar, fd_g_config->cnf_dict, &pei), 0);

	assert_int_equal(dmsg_get_u32(mar, d.avp[CX_AVP_SIP_NUMBER_AUTH_ITEMS], &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(dmsg_find(mar, d.avp[CX_AVP_SIP_AUTH_DATA_ITEM], NULL, &found), 0);
	assert_ptr_equal(found, item);
	assert_int_equal(dmsg_get_str(found, d.avp[CX_AVP_SIP_AUTHENTICATION_SCHEME], &s), 0);
	assert_true(str_eq_cstr(s, "Digest-AKAv1-MD5"));
	assert_int_equal(dmsg_get_str(mar, d.avp[CX_AVP_USER_DATA], &s), -ENOENT);
	assert_int_equal(dmsg_count(mar, d.avp[CX_AVP_PUBLIC_IDENTITY]), 1);
	fd_msg_free(mar);
	dia_engine_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_match_spec),
		cmocka_unit_test(test_peer_parse),
		cmocka_unit_test(test_generated_config),
		cmocka_unit_test(test_dictionary_in_core),
	};

	return cmocka_run_group_tests(tests, make_run_dir, remove_run_dir);
}
