/*
 * lib/core/json: the writer's output byte for byte, its misuse errors, and
 * the reader over tables of documents that must parse (with their compact
 * canonical form) and documents that must not (with where and why).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/json.h"

static const char *finish(struct json_writer *w)
{
	static char copy[4096];
	struct str out;

	assert_int_equal(json_writer_finish(w, &out), 0);
	assert_true(out.len < sizeof(copy));
	memcpy(copy, out.s, out.len + 1);
	json_writer_free(w);
	return copy;
}

static void test_writer_compact(void **state)
{
	struct json_writer w;

	json_writer_init(&w, 0);
	json_begin_object(&w);
	json_kv_cstring(&w, "id", "3fa9c1");
	json_key(&w, "argv");
	json_begin_array(&w);
	json_cstring(&w, "ip");
	json_cstring(&w, NULL);
	json_end_array(&w);
	json_key(&w, "empty");
	json_begin_object(&w);
	json_end_object(&w);
	json_kv_int(&w, "min", INT64_MIN);
	json_key(&w, "max");
	json_uint(&w, UINT64_MAX);
	json_kv_bool(&w, "up", true);
	json_end_object(&w);
	assert_string_equal(finish(&w), "{\"id\":\"3fa9c1\",\"argv\":[\"ip\",null],\"empty\":{},"
					"\"min\":-9223372036854775808,"
					"\"max\":18446744073709551615,\"up\":true}");
}

static void test_writer_pretty(void **state)
{
	struct json_writer w;

	json_writer_init(&w, JSON_PRETTY);
	json_begin_object(&w);
	json_kv_int(&w, "a", 1);
	json_key(&w, "b");
	json_begin_array(&w);
	json_int(&w, 2);
	json_begin_array(&w);
	json_end_array(&w);
	json_end_array(&w);
	json_end_object(&w);
	assert_string_equal(finish(&w), "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    []\n  ]\n}\n");
}

static void test_writer_escaping(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
#define C(in, out) { in, sizeof(in) - 1, out }
		C("plain", "\"plain\""),
		C("q\"b\\s/", "\"q\\\"b\\\\s/\""),
		C("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""),
		C("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""),
		C("nul\0in", "\"nul\\u0000in\""),
		/* UTF-8 passes through: e-acute, euro sign, U+1F600 */
		C("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
		/* not UTF-8: a stray continuation byte, 0xff, an overlong NUL, a
		 * UTF-16 surrogate, a truncated sequence, above U+10FFFF */
		C("\x80", "\"\\ufffd\""),
		C("a\xff" "b", "\"a\\ufffdb\""),
		C("\xc0\x80", "\"\\ufffd\\ufffd\""),
		C("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),
		C("\xe2\x82", "\"\\ufffd\\ufffd\""),
		C("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_writer w;

		json_writer_init(&w, 0);
		json_string(&w, str_make(cases[i].in, cases[i].len));
		assert_string_equal(finish(&w), cases[i].out);
	}
}

static void test_writer_misuse(void **state)
{
	struct json_writer w;
	struct str out;

	/* a value where a member name is due */
	json_writer_init(&w, 0);
	json_begin_object(&w);
	json_int(&w, 1);
	json_end_object(&w);
	assert_int_equal(json_writer_finish(&w, &out), -EINVAL);
	json_writer_free(&w);

	/* a member name in an array; later calls change nothing */
	json_writer_init(&w, 0);
	json_begin_array(&w);
	json_key(&w, "x");
	json_end_array(&w);
	assert_int_equal(json_writer_error(&w), -EINVAL);
	json_writer_free(&w);

	/* mismatched end, unfinished document, two top-level values */
	json_writer_init(&w, 0);
	json_begin_array(&w);
	json_end_object(&w);
	assert_int_equal(json_writer_finish(&w, &out), -EINVAL);
	json_writer_free(&w);
	json_writer_init(&w, 0);
	json_begin_object(&w);
	assert_int_equal(json_writer_finish(&w, &out), -EINVAL);
	json_writer_free(&w);
	json_writer_init(&w, 0);
	json_int(&w, 1);
	json_int(&w, 2);
	assert_int_equal(json_writer_finish(&w, &out), -EINVAL);
	json_writer_free(&w);
	json_writer_init(&w, 0);
	assert_int_equal(json_writer_finish(&w, &out), -EINVAL);
	json_writer_free(&w);

	/* nesting: JSON_MAX_DEPTH levels fit, one more does not */
	json_writer_init(&w, 0);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_begin_array(&w);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_end_array(&w);
	assert_int_equal(json_writer_finish(&w, &out), 0);
	json_writer_free(&w);
	json_writer_init(&w, 0);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		json_begin_array(&w);
	assert_int_equal(json_writer_error(&w), -E2BIG);
	json_writer_free(&w);
}

/* Parse, then write compact: the canonical form. */
static int canonical(const char *in, size_t len, char *out, size_t outsize,
		     struct json_error *err)
{
	struct arena a;
	struct json_value *v;
	struct json_writer w;
	struct str s;
	int rc;

	arena_init(&a, 0, 0);
	rc = json_parse(&a, str_make(in, len), &v, err);
	if (!rc) {
		json_writer_init(&w, 0);
		json_write_value(&w, v);
		rc = json_writer_finish(&w, &s);
		if (!rc) {
			assert_true(s.len < outsize);
			memcpy(out, s.s, s.len + 1);
		}
		json_writer_free(&w);
	}
	arena_destroy(&a);
	return rc;
}

static void test_reader_valid(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ " {\"a\" : [1, -0, 2.5e-3, true, false, null] }\n",
		  "{\"a\":[1,-0,2.5e-3,true,false,null]}" },
		{ "\"\\u00e9\\u20ac\\ud83d\\ude00\\/\\n\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\\n\"" },
		{ "{\"\":{\"\\u0000\":\"\"}}", "{\"\":{\"\\u0000\":\"\"}}" },
		{ "[]", "[]" },
		{ "{}", "{}" },
		{ "0", "0" },
		{ "-9223372036854775809", "-9223372036854775809" },
		{ "1E+2", "1E+2" },
		{ "\"\xf4\x8f\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\"" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(canonical(cases[i].in, strlen(cases[i].in), out, sizeof(out),
					   NULL), 0);
		assert_string_equal(out, cases[i].out);
	}
}

static void test_reader_invalid(void **state)
{
	static const struct {
		const char *in;
		unsigned line, column;
		const char *what;
	} cases[] = {
		{ "", 1, 1, "value expected" },
		{ "{\"a\" 1}", 1, 6, "':' expected" },
		{ "{\"a\":1,}", 1, 8, "member name expected" },
		{ "[1,\n2 3]", 2, 3, "',' or ']' expected" },
		{ "[01]", 1, 2, "leading zero" },
		{ "-", 1, 2, "digit expected" },
		{ "1.", 1, 3, "digit expected after '.'" },
		{ "1e+", 1, 4, "digit expected in exponent" },
		{ "\"abc", 1, 1, "unterminated string" },
		{ "\"a\tb\"", 1, 3, "control character in string" },
		{ "\"\\x\"", 1, 2, "bad escape" },
		{ "\"\\u12g4\"", 1, 2, "bad \\u escape" },
		{ "\"\\ud800\"", 1, 2, "lone high surrogate" },
		{ "\"\\udc00\"", 1, 2, "lone low surrogate" },
		{ "\"\xc3\"", 1, 2, "invalid UTF-8 in string" },
		{ "\"\xed\xa0\x80\"", 1, 2, "invalid UTF-8 in string" },
		{ "tru", 1, 1, "unknown literal" },
		{ "{} x", 1, 4, "trailing characters after the document" },
		{ "'a'", 1, 1, "value expected" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_error e = { 0 };

		assert_int_equal(canonical(cases[i].in, strlen(cases[i].in), out, sizeof(out), &e),
				 -EINVAL);
		assert_string_equal(e.what, cases[i].what);
		assert_int_equal(e.line, cases[i].line);
		assert_int_equal(e.column, cases[i].column);
	}
}

static void test_reader_depth(void **state)
{
	char doc[2 * (JSON_MAX_DEPTH + 1)];
	char out[sizeof(doc) + 1];
	struct json_error e;

	for (int n = JSON_MAX_DEPTH; n <= JSON_MAX_DEPTH + 1; n++) {
		memset(doc, '[', (size_t)n);
		memset(doc + n, ']', (size_t)n);
		assert_int_equal(canonical(doc, 2 * (size_t)n, out, sizeof(out), &e),
				 n <= JSON_MAX_DEPTH ? 0 : -E2BIG);
	}
}

static void test_reader_lookup(void **state)
{
	static const char doc[] = "{\"pid\":4242,\"big\":9223372036854775808,\"f\":1.5,"
				  "\"name\":\"ue\\u002dwlan\",\"up\":false,\"list\":[1,2,3]}";
	struct arena a;
	struct json_value *v;
	struct str s;
	int64_t i;
	bool b;
	size_t n = 0;

	arena_init(&a, 0, 0);
	assert_int_equal(json_parse(&a, STR_LIT(doc), &v, NULL), 0);
	assert_int_equal(json_get_int(v, "pid", &i), 0);
	assert_int_equal(i, 4242);
	assert_int_equal(json_get_int(v, "big", &i), -EINVAL);
	assert_int_equal(json_get_int(v, "f", &i), -EINVAL);
	assert_int_equal(json_get_int(v, "name", &i), -EINVAL);
	assert_int_equal(json_get_int(v, "nope", &i), -ENOENT);
	assert_int_equal(json_get_str(v, "name", &s), 0);
	assert_true(str_eq_cstr(s, "ue-wlan"));
	assert_int_equal(json_get_bool(v, "up", &b), 0);
	assert_false(b);
	json_for_each(c, json_get(v, "list"))
		assert_int_equal(c->u.number.i, (int64_t)++n);
	assert_int_equal(n, 3);
	assert_null(json_get(json_get(v, "list"), "x"));
	arena_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_compact),
		cmocka_unit_test(test_writer_pretty),
		cmocka_unit_test(test_writer_escaping),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_reader_valid),
		cmocka_unit_test(test_reader_invalid),
		cmocka_unit_test(test_reader_depth),
		cmocka_unit_test(test_reader_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
