/*
 * Printer: building messages, and editing parsed ones with every untouched
 * byte kept and Content-Length right.
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

#include "core/buf.h"
#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/print.h"

static struct sip_msg msg, out_msg;

static char *read_data(const char *rel, size_t *len)
{
	const char *dir = getenv("SIMREG_TESTDATA");
	char path[512];
	FILE *f;
	char *data;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void parse_into(struct sip_msg *m, const char *data, size_t len)
{
	struct sip_error err;
	int rc;

	sip_msg_init(m);
	rc = sip_parse(m, data, len, SIP_FRAME_DATAGRAM, NULL, &err);
	if (rc < 0)
		fail_msg("parse: %s (line %u)", err.reason, err.line);
	assert_int_equal(sip_msg_check(m, &err), 0);
}

/* With no change, every valid RFC 4475 message prints back byte for byte. */
static void test_identity(void **state)
{
	static const char *const files[] = {
		"wsinv.dat", "intmeth.dat", "esc01.dat", "escnull.dat", "esc02.dat", "lwsdisp.dat",
		"longreq.dat", "dblreq.dat", "semiuri.dat", "transports.dat", "mpart01.dat",
		"unreason.dat", "noreason.dat",
	};
	struct sip_edit e;
	struct buf b;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[64];
		size_t len;
		char *data;

		snprintf(rel, sizeof(rel), "rfc4475/%s", files[i]);
		data = read_data(rel, &len);
		parse_into(&msg, data, len);
		sip_edit_init(&e, &msg);
		buf_init(&b);
		assert_int_equal(sip_edit_print(&e, &b), 0);
		if (!str_eq(buf_str(&b), msg.buf))
			fail_msg("%s does not print back unchanged", files[i]);
		buf_free(&b);
		free(data);
	}
}

/* A datagram without Content-Length gets one; nothing else moves. */
static void test_identity_adds_content_length(void **state)
{
	size_t len;
	char *data = read_data("rfc4475/inv2543.dat", &len);
	struct sip_edit e;
	struct buf b;
	size_t head = 0;

	parse_into(&msg, data, len);
	head = msg.headers.len - 2;
	sip_edit_init(&e, &msg);
	buf_init(&b);
	assert_int_equal(sip_edit_print(&e, &b), 0);
	/* start line and header fields unchanged, then the new field, then the body */
	assert_memory_equal(b.p, data, msg.start_line.len + 2 + head);
	parse_into(&out_msg, b.p, b.len);
	assert_true(out_msg.has_content_length);
	assert_int_equal(out_msg.content_length, msg.body.len);
	assert_true(str_eq(out_msg.body, msg.body));
	buf_free(&b);
	free(data);
}

/* P-CSCF-style edits on wsinv.dat: what was not touched stays as it was. */
static void test_edits(void **state)
{
	size_t len;
	char *data = read_data("rfc4475/wsinv.dat", &len);
	const struct sip_hdr *v2, *contact, *route;
	struct sip_edit e;
	struct buf b;
	struct sip_via via;

	parse_into(&msg, data, len);
	v2 = sip_msg_hdr_next(&msg, sip_msg_hdr(&msg, SIP_HDR_VIA)); /* first value of "v:" */
	contact = sip_msg_hdr(&msg, SIP_HDR_CONTACT);
	route = sip_msg_hdr(&msg, SIP_HDR_ROUTE);
	sip_edit_init(&e, &msg);
	assert_int_equal(
		sip_edit_prepend_via(&e, STR_LIT("SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKnew")), 0);
	assert_int_equal(sip_edit_remove(&e, v2), 0);
	assert_int_equal(sip_edit_remove(&e, v2), -EINVAL);
	assert_int_equal(sip_edit_replace(&e, contact, STR_LIT("<sip:alice@198.18.0.7>")), 0);
	assert_int_equal(sip_edit_remove(&e, route), 0);
	assert_int_equal(sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_PATH,
					 STR_LIT("<sip:term@pcscf.example.net;lr>")), 0);
	assert_int_equal(sip_edit_insert_named(&e, SIP_EDIT_TOP, STR_LIT("X-Top"), STR_LIT("1")),
			 0);
	sip_edit_set_ruri(&e, STR_LIT("sip:vivekg@198.18.0.9"));
	buf_init(&b);
	assert_int_equal(sip_edit_print(&e, &b), 0);

	parse_into(&out_msg, b.p, b.len);
	assert_true(str_eq_cstr(out_msg.ruri, "sip:vivekg@198.18.0.9"));
	assert_true(str_eq_cstr(out_msg.hdrs[0].raw, "X-Top: 1\r\n"));
	/* the new Via is on top; the "v:" field lost its first value only */
	assert_int_equal(sip_msg_hdr_count(&out_msg, SIP_HDR_VIA), 3);
	assert_int_equal(sip_via_parse(sip_msg_hdr(&out_msg, SIP_HDR_VIA)->value, &via, NULL), 0);
	assert_true(str_eq_cstr(via.branch, "z9hG4bKnew"));
	assert_true(strstr(
		b.p,
		"\r\nv: SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n"));
	assert_true(str_eq_cstr(sip_msg_hdr(&out_msg, SIP_HDR_CONTACT)->raw,
				"m: <sip:alice@198.18.0.7>\r\n"));
	assert_null(sip_msg_hdr(&out_msg, SIP_HDR_ROUTE));
	assert_int_equal(sip_msg_hdr_count(&out_msg, SIP_HDR_PATH), 1);
	/* untouched fields are byte for byte what they were, folding and case included */
	for (unsigned i = 0; i < msg.n_hdrs; i++) {
		const struct sip_hdr *h = &msg.hdrs[i];
		if (h->id == SIP_HDR_VIA || h->id == SIP_HDR_CONTACT || h->id == SIP_HDR_ROUTE)
			continue;
		if (!memmem(b.p, b.len, h->raw.s, h->raw.len))
			fail_msg("field on line %u changed", h->line);
	}
	assert_true(str_eq(out_msg.body, msg.body));
	assert_int_equal(out_msg.content_length, 150);
	buf_free(&b);
	free(data);
}

/* A new body: Content-Type replaced, Content-Length rewritten. */
static void test_body(void **state)
{
	const char *t = "NOTIFY sip:ue@198.18.0.2 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 198.18.0.3;branch=z9hG4bK5\r\n"
			"l: 3\r\n"
			"c: text/plain\r\n"
			"\r\nabc";
	static const char body[] = "<reginfo/>";
	struct sip_edit e;
	struct buf b;

	sip_msg_init(&msg);
	assert_int_equal(sip_parse(&msg, t, strlen(t), SIP_FRAME_DATAGRAM, NULL, NULL),
			 (int)strlen(t));
	sip_edit_init(&e, &msg);
	sip_edit_set_body(&e, STR_LIT("application/reginfo+xml"), STR_LIT(body));
	buf_init(&b);
	assert_int_equal(sip_edit_print(&e, &b), 0);
	assert_string_equal(b.p, "NOTIFY sip:ue@198.18.0.2 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 198.18.0.3;branch=z9hG4bK5\r\n"
				 "l: 10\r\n"
				 "c: application/reginfo+xml\r\n"
				 "\r\n<reginfo/>");
	/* removing the body and its type */
	sip_edit_init(&e, &msg);
	sip_edit_set_body(&e, STR_NULL, STR_NULL);
	buf_reset(&b);
	assert_int_equal(sip_edit_print(&e, &b), 0);
	assert_string_equal(b.p, "NOTIFY sip:ue@198.18.0.2 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 198.18.0.3;branch=z9hG4bK5\r\n"
				 "l: 0\r\n\r\n");
	/* a fixed buffer too small reports -ENOSPC */
	{
		char small[16];
		struct buf fb;
		buf_init_fixed(&fb, small, sizeof(small));
		assert_int_equal(sip_edit_print(&e, &fb), -ENOSPC);
	}
	/* too many changes */
	sip_edit_init(&e, &msg);
	for (int i = 0; i < SIP_EDIT_MAX_OPS; i++)
		assert_int_equal(
			sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_SUPPORTED, STR_LIT("path")),
			0);
	assert_int_equal(sip_edit_insert(&e, SIP_EDIT_BOTTOM, SIP_HDR_SUPPORTED, STR_LIT("path")),
			 -ENOSPC);
	sip_edit_init(&e, &msg);
	assert_int_equal(sip_edit_insert(&e, 99, SIP_HDR_SUPPORTED, STR_LIT("path")), -EINVAL);
	assert_int_equal(sip_edit_insert(&e, 0, SIP_HDR_OTHER, STR_LIT("x")), -EINVAL);
	assert_int_equal(sip_edit_remove(&e, &out_msg.inline_hdrs[0]), -EINVAL);
	buf_free(&b);
}

/* The P-CSCF strips sec-agree from SM1 (TS 24.229 5.2.2): remove_all on list headers. */
static void test_remove_all(void **state)
{
	const char *t =
		"REGISTER sip:ims.example.net SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK1;rport\r\n"
		"Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1;spi-s=2;port-c=3;port-s=4, "
		"ipsec-3gpp;alg=hmac-md5-96;spi-c=1;spi-s=2;port-c=3;port-s=4\r\n"
		"Require: sec-agree\r\n"
		"Supported: path, sec-agree\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_edit e;
	struct buf b;

	sip_msg_init(&msg);
	assert_int_equal(sip_parse(&msg, t, strlen(t), SIP_FRAME_DATAGRAM, NULL, NULL),
			 (int)strlen(t));
	sip_edit_init(&e, &msg);
	assert_int_equal(sip_edit_remove_all(&e, SIP_HDR_SECURITY_CLIENT), 0);
	assert_int_equal(sip_edit_remove_all(&e, SIP_HDR_REQUIRE), 0);
	sip_msg_foreach(&msg, SIP_HDR_SUPPORTED, h)
		if (str_eq_cstr(h->value, "sec-agree"))
			assert_int_equal(sip_edit_remove(&e, h), 0);
	buf_init(&b);
	assert_int_equal(sip_edit_print(&e, &b), 0);
	assert_string_equal(b.p, "REGISTER sip:ims.example.net SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK1;rport\r\n"
				 "Supported: path\r\n"
				 "Content-Length: 0\r\n\r\n");
	buf_free(&b);
}

/* Building a request, and a response to it (RFC 3261 8.2.6.2). */
static void test_build(void **state)
{
	struct buf b, r;
	const struct sip_addr *to;
	const struct sip_cseq *cseq;
	char fixed[1024];

	buf_init_fixed(&b, fixed, sizeof(fixed));
	sip_print_request_line(&b, STR_LIT("SUBSCRIBE"), STR_LIT("sip:alice@ims.example.net"));
	sip_print_hdr(&b, SIP_HDR_VIA,
		      STR_LIT("SIP/2.0/UDP 198.18.0.2:7531;branch=z9hG4bKs1;rport"));
	sip_print_hdrf(&b, SIP_HDR_MAX_FORWARDS, "%u", 70);
	sip_print_hdr(&b, SIP_HDR_FROM, STR_LIT("<sip:alice@ims.example.net>;tag=f1"));
	sip_print_hdr(&b, SIP_HDR_TO, STR_LIT("<sip:alice@ims.example.net>"));
	sip_print_hdr(&b, SIP_HDR_CALL_ID, STR_LIT("sub1@198.18.0.2"));
	sip_print_hdrf(&b, SIP_HDR_CSEQ, "%u SUBSCRIBE", 1);
	sip_print_hdr(&b, SIP_HDR_EVENT, STR_LIT("reg"));
	sip_print_hdrf(&b, SIP_HDR_EXPIRES, "%u", 600000);
	sip_print_body(&b, STR_NULL, STR_NULL);
	assert_int_equal(buf_error(&b), 0);
	parse_into(&msg, b.p, b.len);
	assert_int_equal(msg.method, SIP_METHOD_SUBSCRIBE);
	assert_true(sip_msg_has_token(&msg, SIP_HDR_EVENT, "reg"));

	buf_init(&r);
	sip_print_response_start(&r, &msg, 200, STR_NULL, STR_LIT("t9"));
	sip_print_hdrf(&r, SIP_HDR_EXPIRES, "%u", 600000);
	sip_print_body(&r, STR_NULL, STR_NULL);
	parse_into(&out_msg, r.p, r.len);
	assert_int_equal(out_msg.status, 200);
	assert_true(str_eq_cstr(out_msg.reason, "OK"));
	assert_int_equal(sip_msg_to(&out_msg, &to, NULL), 0);
	assert_true(str_eq_cstr(to->tag, "t9"));
	assert_int_equal(sip_msg_cseq(&out_msg, &cseq, NULL), 0);
	assert_int_equal(cseq->method_id, SIP_METHOD_SUBSCRIBE);
	assert_true(str_eq(sip_msg_hdr(&out_msg, SIP_HDR_VIA)->raw,
			   sip_msg_hdr(&msg, SIP_HDR_VIA)->raw));
	assert_string_equal(sip_reason_phrase(494), "Security Agreement Required");
	assert_string_equal(sip_reason_phrase(299), "");
	buf_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_identity_adds_content_length),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_remove_all),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
