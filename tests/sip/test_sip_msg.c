/*
 * lib/sip framing, start line and header splitting.
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

#include "sip/msg.h"

#define CRLF "\r\n"

static struct sip_msg msg;
static struct sip_error err;

static int parse_dgram(const char *text)
{
	sip_msg_init(&msg);
	memset(&err, 0, sizeof(err));
	return sip_parse(&msg, text, strlen(text), SIP_FRAME_DATAGRAM, NULL, &err);
}

static void test_request_line(void **state)
{
	const char *t = "REGISTER sip:ims.example.net SIP/2.0" CRLF
			"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1" CRLF
			"Content-Length: 0" CRLF CRLF;

	assert_int_equal(parse_dgram(t), (int)strlen(t));
	assert_int_equal(msg.kind, SIP_MSG_REQUEST);
	assert_int_equal(msg.method, SIP_METHOD_REGISTER);
	assert_true(str_eq_cstr(msg.method_name, "REGISTER"));
	assert_true(str_eq_cstr(msg.ruri, "sip:ims.example.net"));
	assert_true(str_eq_cstr(msg.version, "SIP/2.0"));
	assert_int_equal(msg.body.len, 0);
	assert_true(msg.has_content_length);

	/* Methods are case-sensitive: "register" is an extension method. */
	t = "register sip:x SIP/2.0" CRLF "l: 0" CRLF CRLF;
	assert_int_equal(parse_dgram(t), (int)strlen(t));
	assert_int_equal(msg.method, SIP_METHOD_OTHER);
	assert_true(str_eq_cstr(msg.method_name, "register"));
}

static void test_status_line(void **state)
{
	const char *t = "SIP/2.0 401 Unauthorized Now" CRLF "Content-Length: 0" CRLF CRLF;

	assert_int_equal(parse_dgram(t), (int)strlen(t));
	assert_int_equal(msg.kind, SIP_MSG_RESPONSE);
	assert_int_equal(msg.status, 401);
	assert_true(str_eq_cstr(msg.reason, "Unauthorized Now"));

	t = "SIP/2.0 100 " CRLF "l: 0" CRLF CRLF;
	assert_int_equal(parse_dgram(t), (int)strlen(t));
	assert_int_equal(msg.status, 100);
	assert_int_equal(msg.reason.len, 0);
	assert_non_null(msg.reason.s);
}

static void test_bad_start_lines(void **state)
{
	static const struct {
		const char *line;
		int code;
		const char *reason;
	} bad[] = {
		{"INVITE  sip:a@b SIP/2.0", -EBADMSG,
		 "more than one SP between method and Request-URI"},
		{"INVITE sip:a@b SIP/2.0 ", -EBADMSG, "whitespace at the end of the request line"},
		{"INVITE sip:a@b; lr SIP/2.0", -EBADMSG, "whitespace inside the Request-URI"},
		{"INVITE <sip:a@b> SIP/2.0", -EBADMSG,
		 "Request-URI does not start with a scheme (no <> allowed)"},
		{"INVITE sip:a@b SIP/7.0", -EPROTONOSUPPORT,
		 "SIP version not supported (only SIP/2.0)"},
		{"INVITE sip:a@b", -EBADMSG, "request line without SIP-Version (RFC 3261 7.1)"},
		{"SIP/2.0 4294967301 big", -EBADMSG, "status code is not three digits"},
		{"SIP/2.0 700 Hm", -EBADMSG, "status code outside 100-699"},
		{"SIP/2.0 200", -EBADMSG, "status line without the SP before the reason phrase"},
		{"IN(VITE sip:a@b SIP/2.0", -EBADMSG, "invalid character in the method"},
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s" CRLF "l: 0" CRLF CRLF, bad[i].line);
		assert_int_equal(parse_dgram(text), bad[i].code);
		assert_string_equal(err.reason, bad[i].reason);
		assert_int_equal(err.line, 1);
	}
	assert_int_equal(parse_dgram("INVITE sip:a@b SIP/7.0" CRLF CRLF), -EPROTONOSUPPORT);
	assert_int_equal(err.status, 505);
}

static void test_headers(void **state)
{
	const char *t =
		"INVITE sip:bob@example.com SIP/2.0" CRLF
		"v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP b.example.com" CRLF
		"TO :" CRLF " <sip:bob@example.com>;tag=\"a,b\"" CRLF
		"Contact: \"Doe, John\" <sip:j@x;a=b,c>, <sip:k@y>" CRLF "X-Unknown: a, b ,c" CRLF
		"VIA: SIP/2.0/UDP c.example.com" CRLF "l: 4" CRLF CRLF "body";
	const struct sip_hdr *h;

	assert_int_equal(parse_dgram(t), (int)strlen(t));
	assert_int_equal(msg.n_fields, 6);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_VIA), 3);
	h = sip_msg_hdr(&msg, SIP_HDR_VIA);
	assert_true(str_eq_cstr(h->name, "v"));
	assert_true(str_eq_cstr(h->value, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1"));
	assert_int_equal(h->field, 0);
	h = sip_msg_hdr_next(&msg, h);
	assert_true(str_eq_cstr(h->value, "SIP/2.0/TCP b.example.com"));
	assert_int_equal(h->field, 0);
	assert_true(str_eq_cstr(h->raw, "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , "
					"SIP/2.0/TCP b.example.com\r\n"));
	h = sip_msg_hdr_next(&msg, h);
	assert_true(str_eq_cstr(h->name, "VIA"));
	assert_int_equal(h->field, 4);
	assert_int_equal(h->line, 7);
	assert_null(sip_msg_hdr_next(&msg, h));

	/* folded To, value keeps its folding, raw spans both lines */
	h = sip_msg_hdr(&msg, SIP_HDR_TO);
	assert_true(str_eq_cstr(h->name, "TO"));
	assert_true(str_eq_cstr(h->value, "<sip:bob@example.com>;tag=\"a,b\""));
	assert_true(str_eq_cstr(h->raw, "TO :\r\n <sip:bob@example.com>;tag=\"a,b\"\r\n"));
	assert_int_equal(h->line, 3);

	/* commas inside quotes and <> do not split */
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_CONTACT), 2);
	h = sip_msg_hdr(&msg, SIP_HDR_CONTACT);
	assert_true(str_eq_cstr(h->value, "\"Doe, John\" <sip:j@x;a=b,c>"));

	/* unknown headers stay whole */
	h = sip_msg_hdr_by_name(&msg, STR_LIT("x-unknown"));
	assert_non_null(h);
	assert_int_equal(h->id, SIP_HDR_OTHER);
	assert_true(str_eq_cstr(h->value, "a, b ,c"));
	assert_true(str_eq_cstr(msg.body, "body"));
}

static void test_lookup(void **state)
{
	assert_int_equal(sip_hdr_lookup(STR_LIT("i")), SIP_HDR_CALL_ID);
	assert_int_equal(sip_hdr_lookup(STR_LIT("I")), SIP_HDR_CALL_ID);
	assert_int_equal(sip_hdr_lookup(STR_LIT("call-id")), SIP_HDR_CALL_ID);
	assert_int_equal(sip_hdr_lookup(STR_LIT("SECURITY-CLIENT")), SIP_HDR_SECURITY_CLIENT);
	assert_int_equal(sip_hdr_lookup(STR_LIT("C%6Fntact")), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup(STR_LIT("z")), SIP_HDR_OTHER);
	assert_string_equal(sip_hdr_name(SIP_HDR_P_ASSOCIATED_URI), "P-Associated-URI");
	assert_int_equal(sip_hdr_compact(SIP_HDR_SUPPORTED), 'k');
	assert_true(sip_hdr_flags(SIP_HDR_VIA) & SIP_HF_LIST);
	/* every name in the table finds itself, in any case */
	for (unsigned id = 1; id < SIP_HDR__COUNT; id++) {
		char up[64];
		const char *n = sip_hdr_name(id);
		size_t i;
		for (i = 0; n[i]; i++)
			up[i] = (char)((n[i] >= 'a' && n[i] <= 'z') ? n[i] - 32 : n[i]);
		assert_int_equal(sip_hdr_lookup(str_make(up, i)), id);
		if (sip_hdr_compact(id))
			assert_int_equal(sip_hdr_lookup(str_make(&(char){sip_hdr_compact(id)}, 1)),
					 id);
	}
	for (unsigned m = 1; m < SIP_METHOD__COUNT; m++)
		assert_int_equal(sip_method_lookup(str_from_cstr(sip_method_name(m))), m);
}

static void test_bad_headers(void **state)
{
	static const struct {
		const char *hdrs;
		const char *reason;
		uint32_t line;
	} bad[] = {
		{ "Via: a" CRLF "Foobar roobar" CRLF, "header line without a colon", 3 },
		{ "Via: a" CRLF " folded" CRLF "x" CRLF, "header line without a colon", 4 },
		{ " leading: x" CRLF, "continuation line without a header field before it", 2 },
		{ "Bad Name: x" CRLF, "header line without a colon", 2 },
		{ "Via: a,,b" CRLF, "empty element in a comma-separated list", 2 },
		{ "Contact: \"open <sip:a@b>" CRLF, "unterminated quoted string", 2 },
		{ "Contact: <sip:a@b" CRLF, "'<' without its '>'", 2 },
		{ "Require:" CRLF, "empty header value", 2 },
		{ "l: 1" CRLF "Content-Length: 1" CRLF, "more than one Content-Length", 3 },
		{ "l: -1" CRLF, "Content-Length is not a non-negative integer", 2 },
		{ "Via: a\n", "line ends in LF without CR (SIP needs CRLF)", 2 },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "OPTIONS sip:a@b SIP/2.0" CRLF "%s" CRLF "x",
			 bad[i].hdrs);
		assert_int_equal(parse_dgram(text), -EBADMSG);
		assert_string_equal(err.reason, bad[i].reason);
		assert_int_equal(err.line, bad[i].line);
	}
}

static void test_datagram_framing(void **state)
{
	const char *t = "OPTIONS sip:a@b SIP/2.0" CRLF "l: 2" CRLF CRLF "hiTRAILING";

	/* octets past Content-Length are not part of the message (RFC 3261 18.3) */
	assert_int_equal(parse_dgram(t), (int)strlen(t) - 8);
	assert_true(str_eq_cstr(msg.body, "hi"));
	/* no Content-Length: the body is the rest of the datagram */
	t = "OPTIONS sip:a@b SIP/2.0" CRLF "Via: x" CRLF CRLF "rest";
	assert_int_equal(parse_dgram(t), (int)strlen(t));
	assert_true(str_eq_cstr(msg.body, "rest"));
	assert_false(msg.has_content_length);
	/* a Content-Length larger than the datagram */
	t = "OPTIONS sip:a@b SIP/2.0" CRLF "l: 20" CRLF CRLF "short";
	assert_int_equal(parse_dgram(t), -EBADMSG);
	assert_string_equal(err.reason, "Content-Length larger than the datagram's body");
	/* header section cut short */
	assert_int_equal(parse_dgram("OPTIONS sip:a@b SIP/2.0" CRLF "l: 0" CRLF), -EBADMSG);
	assert_string_equal(err.reason, "header section not terminated by an empty line");
	/* keepalives */
	assert_int_equal(parse_dgram(CRLF CRLF), 4);
	assert_int_equal(msg.kind, SIP_MSG_PING);
	assert_int_equal(parse_dgram(CRLF), 2);
	assert_int_equal(msg.kind, SIP_MSG_PONG);
	assert_int_equal(parse_dgram(CRLF "OPTIONS sip:a@b SIP/2.0" CRLF), -EBADMSG);
	assert_int_equal(parse_dgram(""), -EBADMSG);
}

static void test_stream_framing(void **state)
{
	const char *one = "SIP/2.0 200 OK" CRLF "Via: SIP/2.0/TCP h;branch=z9hG4bK1" CRLF
			  "Content-Length: 5" CRLF CRLF "hello";
	char stream[512];
	size_t n1 = strlen(one), total;
	int rc;

	/* CRLFCRLF ping, CRLF pong, two messages back to back */
	total = (size_t)snprintf(stream, sizeof(stream), CRLF CRLF "%s" CRLF "%s", one, one);
	sip_msg_init(&msg);
	rc = sip_parse(&msg, stream, total, SIP_FRAME_STREAM, NULL, &err);
	assert_int_equal(rc, 4);
	assert_int_equal(msg.kind, SIP_MSG_PING);
	rc = sip_parse(&msg, stream + 4, total - 4, SIP_FRAME_STREAM, NULL, &err);
	assert_int_equal(rc, (int)n1);
	assert_int_equal(msg.kind, SIP_MSG_RESPONSE);
	assert_true(str_eq_cstr(msg.body, "hello"));
	rc = sip_parse(&msg, stream + 4 + n1, total - 4 - n1, SIP_FRAME_STREAM, NULL, &err);
	assert_int_equal(rc, 2);
	assert_int_equal(msg.kind, SIP_MSG_PONG);
	rc = sip_parse(&msg, stream + 6 + n1, total - 6 - n1, SIP_FRAME_STREAM, NULL, &err);
	assert_int_equal(rc, (int)n1);

	/* every proper prefix is incomplete, never an error */
	for (size_t i = 0; i < n1; i++) {
		char *copy = malloc(i ? i : 1);
		memcpy(copy, one, i);
		rc = sip_parse(&msg, copy, i, SIP_FRAME_STREAM, NULL, &err);
		free(copy);
		assert_int_equal(rc, SIP_INCOMPLETE);
	}
	assert_int_equal(sip_parse(&msg, "\r\n\r", 3, SIP_FRAME_STREAM, NULL, &err),
			 SIP_INCOMPLETE);

	/* Content-Length is mandatory on a stream */
	rc = sip_parse(&msg, "OPTIONS sip:a@b SIP/2.0" CRLF CRLF, 27, SIP_FRAME_STREAM, NULL, &err);
	assert_int_equal(rc, -EBADMSG);
	assert_string_equal(err.reason, "no Content-Length on a stream transport (RFC 3261 18.3)");
}

static void test_limits(void **state)
{
	struct sip_limits lim = sip_limits_default;
	const char *t = "OPTIONS sip:a@b SIP/2.0" CRLF "Via: a, b, c" CRLF
			"X-Long: 0123456789012345678901234567890" CRLF "l: 4" CRLF CRLF "body";
	struct sip_hdr big[200];
	char *huge;
	int rc;

	sip_msg_init(&msg);
	lim.max_hdrs = 3;
	rc = sip_parse(&msg, t, strlen(t), SIP_FRAME_DATAGRAM, &lim, &err);
	assert_int_equal(rc, -EMSGSIZE);
	assert_string_equal(err.reason, "more header values than the limit");
	assert_int_equal(err.line, 3);

	lim = sip_limits_default;
	lim.max_line = 30;
	rc = sip_parse(&msg, t, strlen(t), SIP_FRAME_DATAGRAM, &lim, &err);
	assert_int_equal(rc, -EMSGSIZE);
	assert_string_equal(err.reason, "header field longer than the limit");

	lim = sip_limits_default;
	lim.max_msg = (uint32_t)strlen(t) - 1;
	rc = sip_parse(&msg, t, strlen(t), SIP_FRAME_DATAGRAM, &lim, &err);
	assert_int_equal(rc, -EMSGSIZE);
	rc = sip_parse(&msg, t, strlen(t), SIP_FRAME_STREAM, &lim, &err);
	assert_int_equal(rc, -EMSGSIZE);

	/* more values than the inline array: a caller array lifts the limit */
	huge = malloc(8192);
	size_t n = (size_t)snprintf(huge, 8192, "OPTIONS sip:a@b SIP/2.0" CRLF);
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(huge + n, 8192 - n, "Via: SIP/2.0/UDP h%d" CRLF, i);
	n += (size_t)snprintf(huge + n, 8192 - n, "l: 0" CRLF CRLF);
	sip_msg_init(&msg);
	assert_int_equal(sip_parse(&msg, huge, n, SIP_FRAME_DATAGRAM, NULL, &err), -EMSGSIZE);
	sip_msg_init_hdrs(&msg, big, 200);
	lim = sip_limits_default;
	lim.max_hdrs = 200;
	assert_int_equal(sip_parse(&msg, huge, n, SIP_FRAME_DATAGRAM, &lim, &err), (int)n);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_VIA), 150);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_line),  cmocka_unit_test(test_status_line),
		cmocka_unit_test(test_bad_start_lines), cmocka_unit_test(test_headers),
		cmocka_unit_test(test_lookup),        cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_datagram_framing), cmocka_unit_test(test_stream_framing),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
