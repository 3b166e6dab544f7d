/*
 * Typed header decoders: one test per decoder family, the IMS examples of
 * tests/data/examples/ims_aka_register_flow.txt first, then edge cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sip/hdr.h"
#include "sip/msg.h"

/* ------------------------------------------------------------------ */
/* The IMS example flow                                               */

static char *flow; /* the example file, as read */

static int load_flow(void **state)
{
	const char *dir = getenv("SIMREG_TESTDATA");
	char path[512];
	FILE *f;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/examples/ims_aka_register_flow.txt", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	flow = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(flow, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return 0;
}

static int free_flow(void **state)
{
	free(flow);
	return 0;
}

/*
 * The nth (0-based) field "name: ..." of the example, in SIP form: its
 * line and the indented lines after it joined with CRLF (the file uses LF
 * and folds long values by indenting). Where a header is mentioned inside
 * prose ("(6) S-CSCF -> UE 200 OK: Path (echo), Service-Route: <...>,") the
 * value runs to the end of that line without the comma that separates it
 * from the next item. The placeholder host [UE-IP] becomes [2001:db8::1].
 */
static char *example_field(const char *name, unsigned nth)
{
	size_t nlen = strlen(name);
	const char *p = flow;
	static char out[2048];
	bool at_line_start;
	size_t n = 0;

	for (;;) {
		p = strstr(p, name);
		assert_non_null(p);
		if (p[nlen] == ':' && (p == flow || p[-1] == '\n' || p[-1] == ' ')) {
			if (nth == 0)
				break;
			nth--;
		}
		p += nlen;
	}
	at_line_start = p == flow || p[-1] == '\n';
	for (;;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		assert_true(n + len + 2 < sizeof(out));
		memcpy(out + n, p, len);
		n += len;
		/* only a header listing folds; a mention in prose ends with its line */
		if (!eol || !at_line_start || strncmp(eol + 1, "    ", 4) != 0)
			break;
		memcpy(out + n, "\r\n", 2);
		n += 2;
		p = eol + 1;
	}
	while (n && (out[n - 1] == ',' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	for (char *ph; (ph = strstr(out, "[UE-IP]"));) {
		memmove(ph + 13, ph + 7, strlen(ph + 7) + 1);
		memcpy(ph, "[2001:db8::1]", 13);
	}
	return out;
}

static struct sip_msg msg;
static char text[4096];

/* A request carrying the one field, parsed; returns its first entry. */
static const struct sip_hdr *parse_field(const char *field)
{
	int n = snprintf(text, sizeof(text),
			 "OPTIONS sip:x@example.net SIP/2.0\r\n%s\r\nl: 0\r\n\r\n", field);
	struct sip_error err;

	sip_msg_init(&msg);
	if (sip_parse(&msg, text, (size_t)n, SIP_FRAME_DATAGRAM, NULL, &err) != n)
		fail_msg("%s: %s", field, err.reason);
	assert_true(msg.n_hdrs >= 2);
	return &msg.hdrs[0];
}

static void test_example_security(void **state)
{
	const struct sip_hdr *h = parse_field(example_field("Security-Client", 0));
	struct sip_secmech sc[4], ss[2], sv[2];
	struct sip_error err;
	unsigned n;

	/* SM1: two mechanisms over a folded line, one entry each */
	assert_int_equal(h->id, SIP_HDR_SECURITY_CLIENT);
	assert_int_equal(sip_msg_secmechs(&msg, SIP_HDR_SECURITY_CLIENT, sc, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(str_eq_cstr(sc[0].mech, "ipsec-3gpp"));
	assert_true(str_eq_cstr(sc[0].alg, "hmac-sha-1-96"));
	assert_true(str_eq_cstr(sc[0].ealg, "aes-cbc"));
	assert_true(str_eq_cstr(sc[1].ealg, "null"));
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(sc[i].spi_c, 23456789);
		assert_int_equal(sc[i].spi_s, 12345678);
		assert_int_equal(sc[i].port_c, 2468);
		assert_int_equal(sc[i].port_s, 1357);
		assert_int_equal(sc[i].present, SIP_SEC_ALG | SIP_SEC_EALG | SIP_SEC_SPI_C |
							SIP_SEC_SPI_S | SIP_SEC_PORT_C |
							SIP_SEC_PORT_S);
		assert_int_equal(sc[i].n_other, 0);
	}
	assert_int_equal(sip_msg_secmechs(&msg, SIP_HDR_SECURITY_CLIENT, sc, 1, &n, &err), -ENOSPC);
	assert_int_equal(n, 2);

	/* SM4 Security-Server and SM7 Security-Verify carry the same mechanism */
	parse_field(example_field("Security-Server", 0));
	assert_int_equal(sip_msg_secmechs(&msg, SIP_HDR_SECURITY_SERVER, ss, 2, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ss[0].q, 100);
	assert_int_equal(ss[0].spi_c, 98765432);
	assert_int_equal(ss[0].spi_s, 87654321);
	assert_int_equal(ss[0].port_c, 8642);
	assert_int_equal(ss[0].port_s, 7531);
	parse_field(example_field("Security-Verify", 0));
	assert_int_equal(sip_msg_secmechs(&msg, SIP_HDR_SECURITY_VERIFY, sv, 2, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(str_eq(sv[0].params, ss[0].params));
	assert_int_equal(sv[0].spi_s, ss[0].spi_s);
}

static void test_example_auth(void **state)
{
	const struct sip_hdr *h = parse_field(example_field("Authorization", 0));
	union sip_hdr_value v;
	struct sip_error err;

	/* SM1: empty nonce and response, value folded over two lines */
	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(str_eq_cstr(v.auth.scheme, "Digest"));
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_USERNAME),
				"alice_private@ims.example.net"));
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_REALM), "ims.example.net"));
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_URI), "sip:ims.example.net"));
	assert_true(sip_auth_has(&v.auth, SIP_AUTH_NONCE));
	assert_int_equal(sip_auth_get(&v.auth, SIP_AUTH_NONCE).len, 0);
	assert_int_equal(sip_auth_get(&v.auth, SIP_AUTH_RESPONSE).len, 0);
	assert_false(sip_auth_has(&v.auth, SIP_AUTH_ALGORITHM));
	assert_true(str_eq_cstr(v.auth.p[SIP_AUTH_REALM].raw, "realm=\"ims.example.net\""));

	/* SM3: the S-CSCF's challenge with ik and ck */
	h = parse_field(example_field("WWW-Authenticate", 0));
	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_ALGORITHM), "AKAv1-MD5"));
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_IK),
				"0123456789abcdeffedcba9876543210"));
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_CK),
				"9876543210abcdef0123456789abcdef"));
	assert_true(str_eq_cstr(sip_auth_get(&v.auth, SIP_AUTH_NONCE), "<base64(RAND||AUTN)>"));
	/* SM4: forwarded without them */
	h = parse_field(example_field("WWW-Authenticate", 1));
	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_false(sip_auth_has(&v.auth, SIP_AUTH_IK));
	assert_false(sip_auth_has(&v.auth, SIP_AUTH_CK));
}

static void test_example_contact_via(void **state)
{
	const struct sip_hdr *h = parse_field(example_field("Contact", 0));
	const struct sip_via *via;
	union sip_hdr_value v;
	struct sip_error err;

	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(str_eq_cstr(v.contact.addr.uri, "sip:alice@[2001:db8::1]:5060"));
	assert_true(str_eq_cstr(v.contact.instance, "<urn:gsma:imei:35209900-176148-0>"));
	assert_true(v.contact.has_reg_id);
	assert_int_equal(v.contact.reg_id, 1);
	assert_true(v.contact.has_expires);
	assert_int_equal(v.contact.expires, 600000);
	assert_false(v.contact.has_q);

	parse_field(example_field("Via", 0));
	assert_int_equal(sip_msg_via(&msg, &via, &err), 0);
	assert_int_equal(via->host_type, SIP_HOST_IPV6);
	assert_true(str_eq_cstr(via->host, "[2001:db8::1]"));
	assert_int_equal(via->port, 5060);
	assert_true(str_eq_cstr(via->branch, "z9hG4bKnashds7"));
	assert_true(via->rport);
	assert_false(via->has_rport_value);
}

static void test_example_pheaders(void **state)
{
	const struct sip_hdr *h = parse_field(example_field("P-Charging-Vector", 0));
	struct sip_addr a[4];
	union sip_hdr_value v;
	struct sip_error err;
	unsigned n;

	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(str_eq_cstr(v.pcv.icid, "AyretyU0dm+6O2IrT5tAFrbHLso=023551024"));
	assert_true(str_eq_cstr(v.pcv.orig_ioi, "visited.net"));
	assert_null(v.pcv.term_ioi.s);

	h = parse_field(example_field("P-Visited-Network-ID", 0));
	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(v.tparams.quoted);
	assert_true(str_eq_cstr(v.tparams.value, "Visited Network Number 1"));

	h = parse_field(example_field("Path", 0));
	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(str_eq_cstr(v.addr.uri, "sip:FLOWTOKEN@pcscf.visited.net;lr;ob"));

	h = parse_field(example_field("Service-Route", 0));
	assert_int_equal(sip_hdr_decode(h, &v, &err), 0);
	assert_true(str_eq_cstr(v.addr.uri, "sip:orig@scscf.ims.example.net;lr"));

	/* the default IMPU first, then the tel URI of the implicit set */
	parse_field(example_field("P-Associated-URI", 0));
	assert_int_equal(sip_msg_addrs(&msg, SIP_HDR_P_ASSOCIATED_URI, a, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(str_eq_cstr(a[0].uri, "sip:alice@ims.example.net"));
	assert_true(str_eq_cstr(a[1].uri, "tel:+15551234567"));

	assert_true(sip_msg_has_token(parse_field("Require: sec-agree") ? &msg : NULL,
				      SIP_HDR_REQUIRE, "SEC-AGREE"));
	parse_field(example_field("Supported", 0));
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_SUPPORTED), 3);
	assert_true(sip_msg_has_token(&msg, SIP_HDR_SUPPORTED, "outbound"));
}

/* ------------------------------------------------------------------ */
/* Edge cases, decoder by decoder                                     */

struct bad {
	const char *value;
	int code;
	const char *reason;
};

typedef int (*decode_fn)(struct str v, union sip_hdr_value *out, struct sip_error *err);

static void expect_bad(decode_fn fn, const struct bad *bad, size_t n)
{
	union sip_hdr_value v;
	struct sip_error err;

	for (size_t i = 0; i < n; i++) {
		int rc = fn(str_from_cstr(bad[i].value), &v, &err);
		if (rc != bad[i].code)
			fail_msg("\"%s\": rc %d, expected %d", bad[i].value, rc, bad[i].code);
		if (strcmp(err.reason, bad[i].reason) != 0)
			fail_msg("\"%s\": \"%s\", expected \"%s\"", bad[i].value, err.reason,
				 bad[i].reason);
	}
}

static int via_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_via_parse(s, &v->via, e);
}
static int contact_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_contact_parse(s, &v->contact, e);
}
static int addr_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_addr_parse(s, &v->addr, e);
}
static int cseq_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_cseq_parse(s, &v->cseq, e);
}
static int callid_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_callid_parse(s, &v->callid, e);
}
static int cred_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_auth_parse(s, false, &v->auth, e);
}
static int chal_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_auth_parse(s, true, &v->auth, e);
}
static int sec_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_secmech_parse(s, &v->sec, e);
}
static int date_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_date_parse(s, &v->date, e);
}
static int retry_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_retry_after_parse(s, &v->retry_after, e);
}
static int warn_fn(struct str s, union sip_hdr_value *v, struct sip_error *e)
{
	return sip_warning_parse(s, &v->warning, e);
}

static void test_via(void **state)
{
	static const struct bad bad[] = {
		{"SIP/2.0/UDP", -EBADMSG, "Via needs whitespace before sent-by"},
		{"SIP/2.0 host", -EBADMSG, "Via does not start with SIP/2.0/transport"},
		{"SIP/3.0/UDP host", -EBADMSG, "Via protocol is not SIP/2.0"},
		{"SIP/2.0/UDP host:70000", -EBADMSG, "Via port is not a number from 0 to 65535"},
		{"SIP/2.0/UDP ho_st", -EBADMSG, "unexpected text after the Via sent-by"},
		{"SIP/2.0/UDP [2001:db8::1", -EBADMSG, "Via IPv6 reference without ']'"},
		{"SIP/2.0/UDP 192.0.2.300", -EBADMSG, "Via sent-by host is malformed"},
		{"SIP/2.0/UDP h;ttl=256", -ERANGE, "parameter value out of range"},
		{"SIP/2.0/UDP h;received=example.com", -EBADMSG,
		 "Via received is not an IP address"},
		{"SIP/2.0/UDP h;branch=\"q\"", -EBADMSG, "parameter value must be a token"},
		{"SIP/2.0/UDP h;;branch=x", -EBADMSG, "malformed parameter"},
		{"SIP/2.0/UDP h;rport=x", -EBADMSG, "parameter value is not a number"},
	};
	struct sip_via v;

	assert_int_equal(sip_via_parse(STR_LIT("SIP/2.0/TCP 198.18.0.1:5062;branch=z9hG4bKa;"
					       "received=2001:db8::9;rport=61234;keep=30;ttl=16;"
					       "maddr=239.255.255.1;x-extra=\"q\""), &v, NULL), 0);
	assert_int_equal(v.transport_id, SIP_TRANSPORT_TCP);
	assert_int_equal(v.host_type, SIP_HOST_IPV4);
	assert_int_equal(v.port, 5062);
	assert_true(str_eq_cstr(v.received, "2001:db8::9"));
	assert_true(v.rport && v.has_rport_value);
	assert_int_equal(v.rport_value, 61234);
	assert_true(v.keep && v.has_keep_value);
	assert_int_equal(v.keep_value, 30);
	assert_true(v.has_ttl);
	assert_int_equal(v.ttl, 16);
	assert_true(str_eq_cstr(v.maddr, "239.255.255.1"));
	assert_true(str_eq_cstr(v.raw,
				"SIP/2.0/TCP 198.18.0.1:5062;branch=z9hG4bKa;received=2001:db8::9;"
				"rport=61234;keep=30;ttl=16;maddr=239.255.255.1;x-extra=\"q\""));
	{
		struct sip_param p;
		assert_true(sip_param_find(v.params, "x-extra", &p));
		assert_true(p.quoted);
		assert_true(str_eq_cstr(p.value, "q"));
	}
	/* RFC 6223 keep without a value, folded sent-protocol */
	assert_int_equal(sip_via_parse(STR_LIT("SIP /\r\n 2.0/WSS h.example.org ; keep"), &v, NULL),
			 0);
	assert_int_equal(v.transport_id, SIP_TRANSPORT_WSS);
	assert_true(v.keep);
	assert_false(v.has_keep_value);
	expect_bad(via_fn, bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_addr_contact(void **state)
{
	static const struct bad bad_addr[] = {
		{"\"open <sip:a@b>", -EBADMSG, "unterminated quoted display name"},
		{"\"x\" sip:a@b", -EBADMSG, "quoted display name not followed by <URI>"},
		{"<sip:a@b", -EBADMSG, "'<' without its '>'"},
		{"<>", -EBADMSG, "empty URI inside < >"},
		{"<sip:a@b> x", -EBADMSG, "unexpected text after the URI"},
		{"<sip:a@b>;tag", -EBADMSG, "parameter value must be a token"},
		{"a@b, c <sip:a@b>", -EBADMSG,
		 "display name with characters other than tokens must be quoted"},
	};
	static const struct bad bad_contact[] = {
		{"<sip:a@b>;q=1.5", -EBADMSG,
		 "Contact q is not a q-value (0 to 1, three decimals)"},
		{"<sip:a@b>;expires=4294967296", -ERANGE, "parameter value out of range"},
		{"<sip:a@b>;reg-id=0", -EBADMSG, "reg-id must be at least 1"},
		{"<sip:a@b>;+sip.instance=urn:x", -EBADMSG,
		 "+sip.instance is not a quoted \"<URN>\""},
	};
	struct sip_contact c;
	struct sip_addr a;

	assert_int_equal(sip_contact_parse(STR_LIT("*"), &c, NULL), 0);
	assert_true(c.star);
	assert_int_equal(
		sip_contact_parse(STR_LIT("Alice Smith <sips:alice@[2001:db8::2]:5061>;q=0.7;"
					  "expires=3600;reg-id=2;+sip.instance=\"<urn:uuid:1>\""),
				  &c, NULL),
		0);
	assert_true(str_eq_cstr(c.addr.display, "Alice Smith"));
	assert_false(c.addr.display_quoted);
	assert_true(c.addr.angle);
	assert_int_equal(c.q, 700);
	assert_int_equal(c.expires, 3600);
	assert_int_equal(c.reg_id, 2);
	assert_true(str_eq_cstr(c.instance, "<urn:uuid:1>"));
	assert_int_equal(sip_addr_parse(STR_LIT("sip:bob@example.com ; tag = a1"), &a, NULL), 0);
	assert_false(a.angle);
	assert_true(str_eq_cstr(a.uri, "sip:bob@example.com"));
	assert_true(str_eq_cstr(a.tag, "a1"));
	expect_bad(addr_fn, bad_addr, sizeof(bad_addr) / sizeof(bad_addr[0]));
	expect_bad(contact_fn, bad_contact, sizeof(bad_contact) / sizeof(bad_contact[0]));
}

static void test_cseq_callid_numbers(void **state)
{
	static const struct bad bad_cseq[] = {
		{ "4294967296 INVITE", -ERANGE, "CSeq number above 2^32-1" },
		{ "INVITE", -EBADMSG, "CSeq does not start with a number" },
		{ "1INVITE", -EBADMSG, "CSeq needs whitespace between number and method" },
		{ "1 INV@TE", -EBADMSG, "CSeq method is not a token" },
	};
	static const struct bad bad_callid[] = {
		{ "a b", -EBADMSG, "invalid character in Call-ID" },
		{ "a@", -EBADMSG, "Call-ID has nothing after '@'" },
		{ "a@b@c", -EBADMSG, "invalid character in Call-ID" },
	};
	struct sip_cseq c;
	struct sip_error err;
	uint32_t n;

	assert_int_equal(sip_cseq_parse(STR_LIT("4294967295 REGISTER"), &c, NULL), 0);
	assert_int_equal(c.seq, 4294967295u);
	assert_int_equal(c.method_id, SIP_METHOD_REGISTER);
	expect_bad(cseq_fn, bad_cseq, sizeof(bad_cseq) / sizeof(bad_cseq[0]));
	expect_bad(callid_fn, bad_callid, sizeof(bad_callid) / sizeof(bad_callid[0]));
	assert_int_equal(sip_uint_parse(STR_LIT("255"), 255, &n, NULL), 0);
	assert_int_equal(sip_uint_parse(STR_LIT("256"), 255, &n, &err), -ERANGE);
	assert_string_equal(err.reason, "number above 255");
	assert_int_equal(sip_uint_parse(STR_LIT("1 0"), 255, &n, &err), -EBADMSG);
}

static void test_auth(void **state)
{
	static const struct bad bad_cred[] = {
		{ "Digest", -EBADMSG, "auth scheme must be followed by whitespace and parameters" },
		{ "Digest username=alice", -EBADMSG, "auth parameter must be a quoted string" },
		{ "Digest nc=1", -EBADMSG, "nc must be 8 hex digits" },
		{ "Digest realm=\"a\", realm=\"b\"", -EBADMSG, "auth parameter appears twice" },
		{ "Digest realm=\"a\",, nonce=\"\"", -EBADMSG,
		  "malformed auth parameter (name=token or name=\"quoted\")" },
		{ "Digest realm=\"a\" nonce=\"\"", -EBADMSG,
		  "malformed auth parameter (name=token or name=\"quoted\")" },
		{ "Digest ik=\"xyz\"", -EBADMSG, "auth parameter must be a quoted hex string" },
	};
	static const struct bad bad_chal[] = {
		{"Digest realm=\"a\", qop=auth", -EBADMSG,
		 "qop in a challenge must be a quoted list"},
	};
	struct sip_auth a;
	struct sip_param p;
	struct str rest;
	unsigned n = 0;

	/* RFC 3310 resynchronisation: auts, response, qop/nc/cnonce, an unknown param */
	assert_int_equal(
		sip_auth_parse(
			STR_LIT("Digest username=\"alice_private@ims.example.net\",\r\n"
				" realm=\"ims.example.net\", nonce=\"A34Cm+Fva37UYWpGNB34JP\", "
				"uri=\"sip:ims.example.net\", qop=auth, nc=00000001, "
				"cnonce=\"0a4f113b\", "
				"response=\"6629fae49393a05397450978507c4ef1\", "
				"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm=AKAv1-MD5, "
				"auts=\"CjkyMjRmYjA4OWI3NA==\", integrity-protected=\"yes\", "
				"x-y=z"),
			false, &a, NULL),
		0);
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_QOP), "auth"));
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_NC), "00000001"));
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_CNONCE), "0a4f113b"));
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_AUTS), "CjkyMjRmYjA4OWI3NA=="));
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_INTEGRITY_PROTECTED), "yes"));
	assert_true(
		str_eq_cstr(sip_auth_get(&a, SIP_AUTH_OPAQUE), "5ccc069c403ebaf9f0171e9517f40e41"));
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_RESPONSE),
				"6629fae49393a05397450978507c4ef1"));
	assert_int_equal(a.n_other, 1);
	/* every parameter is reachable through the iterator, unknown ones too */
	rest = a.params;
	while (sip_auth_param_next(&rest, &p) == 1)
		n++;
	assert_int_equal(n, 13);
	assert_true(str_eq_cstr(p.raw, "x-y=z"));
	/* integrity-protected as a token (TS 24.229 allows either form in practice) */
	assert_int_equal(sip_auth_parse(STR_LIT("Digest integrity-protected=ip-assoc-pending"),
					false, &a, NULL),
			 0);
	assert_true(
		str_eq_cstr(sip_auth_get(&a, SIP_AUTH_INTEGRITY_PROTECTED), "ip-assoc-pending"));
	/* a challenge with a quoted qop list, stale */
	assert_int_equal(
		sip_auth_parse(STR_LIT("Digest realm=\"r\", qop=\"auth,auth-int\", stale=TRUE, "
				       "domain=\"sip:ims.example.net\""),
			       false, &a, NULL),
		0);
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_QOP), "auth,auth-int"));
	assert_true(str_eq_cstr(sip_auth_get(&a, SIP_AUTH_STALE), "TRUE"));
	expect_bad(cred_fn, bad_cred, sizeof(bad_cred) / sizeof(bad_cred[0]));
	expect_bad(chal_fn, bad_chal, sizeof(bad_chal) / sizeof(bad_chal[0]));
	/* Authentication-Info: no scheme */
	assert_int_equal(sip_authinfo_parse(
				 STR_LIT("nextnonce=\"47364c23432d2e131a5fb210812c\", "
					 "rspauth=\"6629fae49393a05397450978507c4ef1\", qop=auth"),
				 &a, NULL),
			 0);
	assert_int_equal(a.scheme.len, 0);
	assert_true(
		str_eq_cstr(sip_auth_get(&a, SIP_AUTH_NEXTNONCE), "47364c23432d2e131a5fb210812c"));
	assert_true(sip_auth_has(&a, SIP_AUTH_RSPAUTH));
	assert_string_equal(sip_auth_param_name(SIP_AUTH_INTEGRITY_PROTECTED),
			    "integrity-protected");
}

static void test_secmech(void **state)
{
	static const struct bad bad[] = {
		{"ipsec-3gpp;spi-c=4294967296", -ERANGE, "parameter value out of range"},
		{"ipsec-3gpp;port-s=65536", -ERANGE, "parameter value out of range"},
		{"ipsec-3gpp;spi-c=1;spi-c=2", -EBADMSG, "security parameter appears twice"},
		{"ipsec-3gpp;alg", -EBADMSG, "security parameter needs a value"},
		{"ipsec-3gpp;q=2", -EBADMSG, "q is not a q-value (0 to 1, three decimals)"},
		{"ipsec-3gpp;spi-c=\"1\"", -EBADMSG,
		 "security parameter must be a number, not quoted"},
		{";alg=x", -EBADMSG, "security mechanism name is not a token"},
		{"ipsec-3gpp alg=x", -EBADMSG, "unexpected text after the mechanism name"},
	};
	struct sip_secmech s;

	/* every TS 33.203 Annex H parameter, extremes of the ranges, an unknown one */
	assert_int_equal(
		sip_secmech_parse(STR_LIT("ipsec-3gpp; q=0.5; alg=hmac-md5-96; ealg=des-ede3-cbc; "
					  "prot=esp; mod=trans; spi-c=4294967295; spi-s=0; "
					  "port-c=65535; port-s=1; x-vendor=7"),
				  &s, NULL),
		0);
	assert_int_equal(s.q, 500);
	assert_true(str_eq_cstr(s.prot, "esp"));
	assert_true(str_eq_cstr(s.mod, "trans"));
	assert_int_equal(s.spi_c, 4294967295u);
	assert_int_equal(s.spi_s, 0);
	assert_int_equal(s.port_c, 65535);
	assert_int_equal(s.port_s, 1);
	assert_int_equal(s.n_other, 1);
	assert_int_equal(s.present, SIP_SEC_Q | SIP_SEC_ALG | SIP_SEC_EALG | SIP_SEC_PROT |
					    SIP_SEC_MOD | SIP_SEC_SPI_C | SIP_SEC_SPI_S |
					    SIP_SEC_PORT_C | SIP_SEC_PORT_S);
	/* RFC 3329 digest mechanism */
	assert_int_equal(sip_secmech_parse(STR_LIT("digest;d-alg=md5;d-qop=auth;"
						   "d-ver=\"0123456789abcdef0123456789abcdef\""),
					   &s, NULL),
			 0);
	assert_true(str_eq_cstr(s.d_ver, "0123456789abcdef0123456789abcdef"));
	assert_true(s.present & SIP_SEC_D_ALG);
	expect_bad(sec_fn, bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_events_media_misc(void **state)
{
	static const struct bad bad_date[] = {
		{"Fri, 01 Jan 2010 16:00:00 EST", -EBADMSG,
		 "Date time zone must be GMT (RFC 3261 20.17)"},
		{"Fri, 1 Jan 2010 16:00:00 GMT", -EBADMSG,
		 "Date is not \"Wkd, DD Mon YYYY HH:MM:SS GMT\""},
		{"Fri, 01 Jab 2010 16:00:00 GMT", -EBADMSG,
		 "Date has an invalid day, month or time"},
	};
	static const struct bad bad_retry[] = {
		{ "949302838503028349304023988", -ERANGE, "Retry-After above 2^32-1 seconds" },
		{ "18000 (unclosed", -EBADMSG, "unterminated comment in Retry-After" },
		{ "soon", -EBADMSG, "Retry-After does not start with a number" },
	};
	static const struct bad bad_warn[] = {
		{ "1812 overture \"In Progress\"", -EBADMSG, "warn-code is not three digits" },
		{ "301 isi.edu In Progress", -EBADMSG, "warn-text is not a quoted string" },
	};
	struct sip_event ev;
	struct sip_substate ss;
	struct sip_media mt;
	struct sip_retry_after ra;
	struct sip_date d;
	struct sip_warning w;
	struct sip_tparams tp;

	assert_int_equal(sip_event_parse(STR_LIT("reg;id=7"), &ev, NULL), 0);
	assert_true(str_eq_cstr(ev.package, "reg"));
	assert_true(str_eq_cstr(ev.id, "7"));
	assert_int_equal(sip_event_parse(STR_LIT("presence.winfo"), &ev, NULL), 0);
	assert_int_equal(sip_substate_parse(STR_LIT("terminated;reason=deactivated;retry-after=30"),
					    &ss, NULL),
			 0);
	assert_int_equal(ss.state_id, SIP_SUBSTATE_TERMINATED);
	assert_true(str_eq_cstr(ss.reason, "deactivated"));
	assert_int_equal(ss.retry_after, 30);
	assert_int_equal(sip_substate_parse(STR_LIT("active;expires=600000"), &ss, NULL), 0);
	assert_int_equal(ss.state_id, SIP_SUBSTATE_ACTIVE);
	assert_int_equal(ss.expires, 600000);
	assert_int_equal(
		sip_media_parse(STR_LIT("application/reginfo+xml ; charset=\"utf-8\""), &mt, NULL),
		0);
	assert_true(str_eq_cstr(mt.subtype, "reginfo+xml"));
	assert_int_equal(sip_media_parse(STR_LIT("application"), &mt, NULL), -EBADMSG);
	assert_int_equal(sip_retry_after_parse(
				 STR_LIT("18000 (in a (nested) meeting);duration=3600"), &ra, NULL),
			 0);
	assert_int_equal(ra.seconds, 18000);
	assert_true(str_eq_cstr(ra.comment, "in a (nested) meeting"));
	assert_int_equal(ra.duration, 3600);
	assert_int_equal(sip_date_parse(STR_LIT("Sat, 15 Oct 2005 04:44:56 GMT"), &d, NULL), 0);
	assert_int_equal(d.epoch, 1129351496);
	assert_int_equal(
		sip_warning_parse(STR_LIT("399 pcscf.example.net \"SA expired\""), &w, NULL), 0);
	assert_int_equal(w.code, 399);
	assert_true(str_eq_cstr(w.text, "SA expired"));
	assert_int_equal(sip_tparams_parse(STR_LIT("render;handling=optional"), &tp, NULL), 0);
	assert_false(tp.quoted);
	expect_bad(date_fn, bad_date, sizeof(bad_date) / sizeof(bad_date[0]));
	expect_bad(retry_fn, bad_retry, sizeof(bad_retry) / sizeof(bad_retry[0]));
	expect_bad(warn_fn, bad_warn, sizeof(bad_warn) / sizeof(bad_warn[0]));
}

static void test_quoting_params(void **state)
{
	char buf[8];
	size_t n;
	uint16_t q;
	struct str rest = STR_LIT(" ; a = \"x;y\" ;b;c=d");
	struct sip_param p;

	assert_int_equal(sip_unquote(STR_LIT("a\\\"b"), buf, sizeof(buf), &n), 0);
	assert_true(str_eq_cstr(str_make(buf, n), "a\"b"));
	assert_int_equal(sip_unquote(STR_LIT("abc\\"), buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(sip_unquote(STR_LIT("123456789"), buf, sizeof(buf), &n), -ENOSPC);
	assert_int_equal(sip_param_next(&rest, &p), 1);
	assert_true(str_eq_cstr(p.name, "a") && p.quoted && str_eq_cstr(p.value, "x;y"));
	assert_int_equal(sip_param_next(&rest, &p), 1);
	assert_true(str_eq_cstr(p.name, "b") && p.value.s == NULL);
	assert_int_equal(sip_param_next(&rest, &p), 1);
	assert_true(str_eq_cstr(p.raw, "c=d"));
	assert_int_equal(sip_param_next(&rest, &p), 0);
	rest = STR_LIT(";a=");
	assert_int_equal(sip_param_next(&rest, &p), -EBADMSG);
	assert_int_equal(sip_qvalue_parse(STR_LIT("0"), &q), 0);
	assert_int_equal(q, 0);
	assert_int_equal(sip_qvalue_parse(STR_LIT("1.000"), &q), 0);
	assert_int_equal(q, 1000);
	assert_int_equal(sip_qvalue_parse(STR_LIT("0.001"), &q), 0);
	assert_int_equal(q, 1);
	assert_int_equal(sip_qvalue_parse(STR_LIT("1.001"), &q), -EBADMSG);
	assert_int_equal(sip_qvalue_parse(STR_LIT("0.1234"), &q), -EBADMSG);
}

/* Cached accessors decode once and report the same error every time. */
static void test_cache(void **state)
{
	const char *t = "REGISTER sip:ims.example.net SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 198.18.0.2;branch=z9hG4bK1\r\n"
			"CSeq: 99999999999 REGISTER\r\n"
			"Expires: 600000\r\n"
			"l: 0\r\n\r\n";
	const struct sip_via *v1, *v2;
	const struct sip_cseq *c;
	struct sip_error err;
	const struct sip_addr *to;
	uint32_t exp;

	sip_msg_init(&msg);
	assert_int_equal(sip_parse(&msg, t, strlen(t), SIP_FRAME_DATAGRAM, NULL, &err),
			 (int)strlen(t));
	assert_int_equal(sip_msg_via(&msg, &v1, NULL), 0);
	assert_int_equal(sip_msg_via(&msg, &v2, NULL), 0);
	assert_ptr_equal(v1, v2);
	assert_int_equal(sip_msg_cseq(&msg, &c, &err), -ERANGE);
	assert_int_equal(err.hdr, SIP_HDR_CSEQ);
	assert_int_equal(err.line, 3);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sip_msg_cseq(&msg, &c, &err), -ERANGE);
	assert_string_equal(err.reason, "CSeq number above 2^32-1");
	assert_null(c);
	assert_int_equal(sip_msg_to(&msg, &to, NULL), -ENOENT);
	assert_int_equal(sip_msg_expires(&msg, &exp, NULL), 0);
	assert_int_equal(exp, 600000);
	assert_int_equal(sip_msg_check(&msg, &err), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_security), cmocka_unit_test(test_example_auth),
		cmocka_unit_test(test_example_contact_via), cmocka_unit_test(test_example_pheaders),
		cmocka_unit_test(test_via),             cmocka_unit_test(test_addr_contact),
		cmocka_unit_test(test_cseq_callid_numbers), cmocka_unit_test(test_auth),
		cmocka_unit_test(test_secmech),         cmocka_unit_test(test_events_media_misc),
		cmocka_unit_test(test_quoting_params),  cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, load_flow, free_flow);
}
