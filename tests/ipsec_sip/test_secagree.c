/*
 * test_secagree - security agreement (lib/ipsec/secagree.h): offers decoded
 * and chosen from (a transcript over offers.txt, hostile and malformed ones
 * included), preference lists, the encoder, the canonical text and the
 * bidding-down check.
 *
 *     SIMREG_REGENERATE=1 ctest --test-dir build -R test_secagree
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "ipsec/secagree.h"
#include "ipsec_sip/golden.h"
#include "sip/msg.h"

#define REQ_HEAD                                                                  \
	"REGISTER sip:ims.test SIP/2.0\r\n"                                       \
	"Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK776asdhds\r\n"             \
	"From: <sip:alice@ims.test>;tag=1928301774\r\n"                          \
	"To: <sip:alice@ims.test>\r\n"                                           \
	"Call-ID: a84b4c76e66710\r\n"                                            \
	"CSeq: 2 REGISTER\r\n"

/* A request holding `headers` (CRLF-terminated lines); parsed into m. */
static char *make_msg(struct sip_msg *m, const char *headers)
{
	size_t len = strlen(REQ_HEAD) + strlen(headers) + 32;
	char *text = malloc(len);
	int n;

	assert_non_null(text);
	n = snprintf(text, len, "%s%sContent-Length: 0\r\n\r\n", REQ_HEAD, headers);
	sip_msg_init(m);
	assert_true(sip_parse(m, text, (size_t)n, SIP_FRAME_DATAGRAM, NULL, NULL) > 0);
	return text;
}

static void print_mech(struct buf *out, const struct ipsec_mech *m)
{
	buf_printf(out, "[%u] %s/%s", m->index, esp_auth_alg_name(m->alg),
		   esp_enc_alg_name(m->ealg));
	if (m->q == IPSEC_Q_NONE)
		buf_puts(out, " q=-");
	else
		buf_printf(out, " q=%u", m->q);
	buf_printf(out, " spi-c=%u spi-s=%u port-c=%u port-s=%u", m->sp.spi_c, m->sp.spi_s,
		   m->sp.port_c, m->sp.port_s);
}

static void run_case(struct buf *out, const char *name, const char *value)
{
	struct ipsec_prefs prefs;
	struct ipsec_offer o;
	struct ipsec_mech pick;
	struct sip_msg m;
	struct buf hdr, canon;
	const char *why = NULL;
	char *text;
	int rc;

	ipsec_prefs_default(&prefs);
	buf_init(&hdr);
	buf_printf(&hdr, "Security-Client: %s\r\n", value);
	text = make_msg(&m, hdr.p);
	buf_printf(out, "== %s\nSecurity-Client: %s\n", name, value);
	memset(&o, 0xa5, sizeof(o));
	rc = ipsec_offer_from_msg(&m, SIP_HDR_SECURITY_CLIENT, &o, &why);
	if (rc) {
		buf_printf(out, "decode: %s: %s\n", strerror(-rc), why ? why : "(no reason)");
		goto done;
	}
	assert_null(why);
	buf_printf(out, "decode: ok, %u usable of %u entries (%u ignored)\n", o.n, o.n_entries,
		   o.n_ignored);
	for (unsigned i = 0; i < o.n; i++) {
		buf_puts(out, "  ");
		print_mech(out, &o.m[i]);
		buf_putc(out, '\n');
	}
	buf_puts(out, "server choice (default preference): ");
	if (ipsec_offer_choose(&o, &prefs, &pick) == 0)
		print_mech(out, &pick);
	else
		buf_puts(out, "none");
	buf_puts(out, "\nclient choice (highest q): ");
	if (ipsec_offer_choose_by_q(&o, &prefs, &pick) == 0)
		print_mech(out, &pick);
	else
		buf_puts(out, "none");
	buf_init(&canon);
	assert_int_equal(ipsec_secmech_canon_msg(&canon, &m, SIP_HDR_SECURITY_CLIENT), 0);
	buf_printf(out, "\ncanonical: %.*s\n", (int)canon.len, canon.p);
	buf_free(&canon);
done:
	buf_free(&hdr);
	free(text);
}

static void test_offers_transcript(void **state)
{
	char path[1024], *input, *line, *save = NULL;
	struct buf out;

	snprintf(path, sizeof(path), "%s/offers.txt", TEST_DIR);
	input = golden_slurp(path);
	assert_non_null(input);
	buf_init(&out);
	for (line = strtok_r(input, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');

		if (line[0] == '#' || !tab)
			continue;
		*tab = '\0';
		run_case(&out, line, tab + 1);
	}
	assert_int_equal(buf_error(&out), 0);
	snprintf(path, sizeof(path), "%s/golden/offers.out", TEST_DIR);
	assert_true(golden_matches(out.p, path));
	buf_free(&out);
	free(input);
}

static void test_prefs(void **state)
{
	struct ipsec_prefs p = { 0 };

	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("hmac-md5-96/null")), 0);
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT(" HMAC-SHA-1-96 / AES-CBC ")), 0);
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("hmac-md5-96/null")), -EEXIST);
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("hmac-md5-96")), -EINVAL);
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("aes-gmac/null")), -EINVAL);
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("hmac-md5-96/aes-gcm")), -EINVAL);
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("/")), -EINVAL);
	assert_int_equal(p.n, 2);
	assert_int_equal(ipsec_prefs_rank(&p, ESP_AUTH_HMAC_MD5_96, ESP_ENC_NULL), 0);
	assert_int_equal(ipsec_prefs_rank(&p, ESP_AUTH_HMAC_SHA1_96, ESP_ENC_AES_CBC), 1);
	assert_int_equal(ipsec_prefs_rank(&p, ESP_AUTH_HMAC_SHA1_96, ESP_ENC_NULL), -1);

	/* The preference decides at the server, not the order of the offer. */
	{
		struct sip_msg m;
		struct ipsec_offer o;
		struct ipsec_mech pick;
		char *text = make_msg(
			&m, "Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=300;"
			    "spi-s=301;port-c=1;port-s=2, ipsec-3gpp;alg=hmac-md5-96;ealg=null;"
			    "spi-c=300;spi-s=301;port-c=1;port-s=2\r\n");

		assert_int_equal(ipsec_offer_from_msg(&m, SIP_HDR_SECURITY_CLIENT, &o, NULL), 0);
		assert_int_equal(ipsec_offer_choose(&o, &p, &pick), 0);
		assert_int_equal(pick.alg, ESP_AUTH_HMAC_MD5_96);
		assert_int_equal(pick.index, 1);
		p.n = 0;
		assert_int_equal(ipsec_offer_choose(&o, &p, &pick), -ENOENT);
		free(text);
	}
	while (p.n < IPSEC_PREFS_MAX)
		p.v[p.n++] = (struct ipsec_alg_pair){ ESP_AUTH_HMAC_MD5_96, ESP_ENC_NULL };
	assert_int_equal(ipsec_prefs_add(&p, STR_LIT("hmac-sha-1-96/null")), -ENOSPC);
}

/* What ipsec_mech_print() writes decodes back to the same mechanism. */
static void test_print_roundtrip(void **state)
{
	static const uint16_t qs[] = { IPSEC_Q_NONE, 0, 100, 5, 999, 1000 };
	static const char *const qtext[] = { "", ";q=0.0", ";q=0.1", ";q=0.005", ";q=0.999",
					     ";q=1" };

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct ipsec_mech in = {
			.alg = ESP_AUTH_HMAC_SHA1_96,
			.ealg = ESP_ENC_AES_CBC,
			.q = qs[i],
			.sp = { 0xfffffffeu, 256, 65535, 1 },
		};
		struct ipsec_offer o;
		struct sip_msg m;
		struct buf b, want;
		char *text;

		buf_init(&b);
		buf_init(&want);
		buf_puts(&b, "Security-Server: ");
		ipsec_mech_print(&b, &in);
		buf_printf(&want,
			   "Security-Server: ipsec-3gpp;prot=esp;mod=trans;spi-c=4294967294;"
			   "spi-s=256;port-c=65535;port-s=1;ealg=aes-cbc;alg=hmac-sha-1-96%s",
			   qtext[i]);
		assert_string_equal(b.p, want.p);
		buf_puts(&b, "\r\n");
		text = make_msg(&m, b.p);
		assert_int_equal(ipsec_offer_from_msg(&m, SIP_HDR_SECURITY_SERVER, &o, NULL), 0);
		assert_int_equal(o.n, 1);
		assert_int_equal(o.m[0].alg, in.alg);
		assert_int_equal(o.m[0].ealg, in.ealg);
		assert_int_equal(o.m[0].q, in.q == 1000 ? 1000 : in.q);
		assert_memory_equal(&o.m[0].sp, &in.sp, sizeof(in.sp));
		free(text);
		buf_free(&b);
		buf_free(&want);
	}
}

static void canon_of(const char *hdr_value, struct buf *out)
{
	struct sip_msg m;
	struct buf h;
	char *text;

	buf_init(&h);
	buf_printf(&h, "Security-Verify: %s\r\n", hdr_value);
	text = make_msg(&m, h.p);
	buf_init(out);
	assert_int_equal(ipsec_secmech_canon_msg(out, &m, SIP_HDR_SECURITY_VERIFY), 0);
	free(text);
	buf_free(&h);
}

static bool same_canon(const char *a, const char *b)
{
	struct buf ca, cb;
	bool same;

	canon_of(a, &ca);
	canon_of(b, &cb);
	same = ca.len == cb.len && memcmp(ca.p, cb.p, ca.len) == 0;
	buf_free(&ca);
	buf_free(&cb);
	return same;
}

static void test_canonical(void **state)
{
	const char *base = "ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=300;spi-s=301;"
			   "port-c=1;port-s=2;q=0.1";

	assert_true(same_canon(base, base));
	/* Parameter order, case, q spelling. */
	assert_true(same_canon(base, "IPSEC-3GPP;Q=0.100;PORT-S=2;port-c=1;spi-s=301;spi-c=300;"
				     "EALG=AES-CBC;alg=HMAC-SHA-1-96"));
	/* Entry order. */
	assert_true(same_canon("tls;q=0.2, ipsec-3gpp;alg=hmac-md5-96;spi-c=300;spi-s=301;"
			       "port-c=1;port-s=2",
			       "ipsec-3gpp;alg=hmac-md5-96;spi-c=300;spi-s=301;port-c=1;port-s=2, "
			       "tls;q=0.2"));
	/* Unknown parameters count, in any order, names in any case. */
	assert_true(same_canon("tls;a=1;B=2", "tls;b=2;A=1"));
	assert_false(same_canon("tls;a=1;b=2", "tls;a=1;b=3"));
	assert_false(same_canon("tls;a=1", "tls;a=\"1\""));
	assert_false(same_canon("tls;a", "tls"));
	/* Values differ. */
	assert_false(same_canon(base, "ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=300;"
				      "spi-s=301;port-c=1;port-s=2;q=0.1"));
	assert_false(same_canon(base, "ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=300;"
				      "spi-s=302;port-c=1;port-s=2;q=0.1"));
	assert_false(same_canon(base, "ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=300;"
				      "spi-s=301;port-c=1;port-s=2;q=0.2"));
	/* An explicit default is not the same as an absent parameter. */
	assert_false(same_canon(base, "ipsec-3gpp;prot=esp;alg=hmac-sha-1-96;ealg=aes-cbc;"
				      "spi-c=300;spi-s=301;port-c=1;port-s=2;q=0.1"));
	/* A removed or added entry. */
	assert_false(same_canon(base, "tls"));
	assert_false(same_canon(base, "tls, tls"));
	assert_false(same_canon("tls, tls", "tls"));
}

static enum ipsec_secagree_result check(const char *headers, const char *server,
					const char *client)
{
	struct buf cs, cc;
	struct sip_msg m;
	enum ipsec_secagree_result r;
	char *text;

	buf_init(&cs);
	buf_init(&cc);
	if (server)
		canon_of(server, &cs);
	if (client)
		canon_of(client, &cc);
	text = make_msg(&m, headers);
	r = ipsec_secagree_check(&m, buf_str(&cs), buf_str(&cc));
	free(text);
	buf_free(&cs);
	buf_free(&cc);
	return r;
}

#define SERVER "ipsec-3gpp;prot=esp;mod=trans;spi-c=70000;spi-s=70001;port-c=10001;"      \
	       "port-s=10002;ealg=aes-cbc;alg=hmac-sha-1-96"
#define CLIENT "ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=300;spi-s=301;port-c=1;"   \
	       "port-s=2, ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=300;spi-s=301;port-c=1;" \
	       "port-s=2"

static void test_bidding_down(void **state)
{
	assert_int_equal(check("Security-Verify: " SERVER "\r\nSecurity-Client: " CLIENT "\r\n",
			       SERVER, CLIENT),
			 IPSEC_SECAGREE_OK);
	/* The same, re-spelt by a UE that rebuilt the headers. */
	assert_int_equal(
		check("Security-Verify: IPSEC-3GPP;alg=HMAC-SHA-1-96;ealg=aes-cbc;prot=esp;"
		      "mod=trans;spi-s=70001;spi-c=70000;port-s=10002;port-c=10001\r\n"
		      "Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=300;"
		      "spi-s=301;port-c=1;port-s=2\r\n"
		      "Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=300;"
		      "spi-s=301;port-c=1;port-s=2\r\n",
		      SERVER, CLIENT),
		IPSEC_SECAGREE_OK);
	assert_int_equal(check("Security-Client: " CLIENT "\r\n", SERVER, CLIENT),
			 IPSEC_SECAGREE_NO_VERIFY);
	/* An attacker weakened the Security-Server on its way to the UE. */
	assert_int_equal(check("Security-Verify: ipsec-3gpp;prot=esp;mod=trans;spi-c=70000;"
			       "spi-s=70001;port-c=10001;port-s=10002;ealg=null;"
			       "alg=hmac-sha-1-96\r\nSecurity-Client: " CLIENT "\r\n",
			       SERVER, CLIENT),
			 IPSEC_SECAGREE_VERIFY_MISMATCH);
	assert_int_equal(check("Security-Verify: ipsec-3gpp;spi-c=1\r\nSecurity-Client: " CLIENT
			       "\r\n",
			       SERVER, CLIENT),
			 IPSEC_SECAGREE_VERIFY_MISMATCH);
	assert_int_equal(check("Security-Verify: ipsec-3gpp;spi-c=x\r\n", SERVER, CLIENT),
			 IPSEC_SECAGREE_BAD_VERIFY);
	/* ... or removed the strong offer from the first request. */
	assert_int_equal(check("Security-Verify: " SERVER "\r\nSecurity-Client: ipsec-3gpp;"
			       "alg=hmac-sha-1-96;ealg=null;spi-c=300;spi-s=301;port-c=1;"
			       "port-s=2\r\n",
			       SERVER, CLIENT),
			 IPSEC_SECAGREE_CLIENT_MISMATCH);
	assert_int_equal(check("Security-Verify: " SERVER "\r\n", SERVER, CLIENT),
			 IPSEC_SECAGREE_NO_CLIENT);
	assert_int_equal(check("Security-Verify: " SERVER "\r\nSecurity-Client: ;\r\n", SERVER,
			       CLIENT),
			 IPSEC_SECAGREE_BAD_CLIENT);
	/* Empty expectations skip a comparison. */
	assert_int_equal(check("", NULL, NULL), IPSEC_SECAGREE_OK);
	assert_string_equal(ipsec_secagree_result_text(IPSEC_SECAGREE_CLIENT_MISMATCH),
			    "Security-Client differs from the first offer");
	assert_string_equal(ipsec_secagree_result_text(IPSEC_SECAGREE__COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offers_transcript),
		cmocka_unit_test(test_prefs),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_bidding_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
