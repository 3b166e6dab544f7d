/*
 * lib/core: slices, hex, base64, arena.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/str.h"

static void test_str_number(void **state)
{
	uint64_t v = 0;

	assert_int_equal(str_to_u64(STR_LIT("0068"), 255, &v), 0);
	assert_int_equal(v, 68);
	assert_int_equal(str_to_u64(STR_LIT("4294967295"), UINT32_MAX, &v), 0);
	assert_int_equal(v, 4294967295u);
	assert_int_equal(str_to_u64(STR_LIT("4294967296"), UINT32_MAX, &v), -ERANGE);
	assert_int_equal(str_to_u64(STR_LIT("18446744073709551615"), UINT64_MAX, &v), 0);
	assert_int_equal(str_to_u64(STR_LIT("18446744073709551616"), UINT64_MAX, &v), -ERANGE);
	assert_int_equal(str_to_u64(STR_LIT("7"), 5, &v), -ERANGE);
	assert_int_equal(str_to_u64(STR_LIT(""), 5, &v), -EINVAL);
	assert_int_equal(str_to_u64(STR_LIT("-1"), 5, &v), -EINVAL);
	assert_int_equal(str_to_u64(STR_LIT("1 "), 5, &v), -EINVAL);
}

static void test_str_case(void **state)
{
	assert_true(str_caseeq_cstr(STR_LIT("Content-LENGTH"), "content-length"));
	assert_false(str_caseeq_cstr(STR_LIT("Content-Lengt"), "content-length"));
	/* '@' and '`' differ from each other only in bit 5 but are not letters. */
	assert_false(str_caseeq_cstr(STR_LIT("@"), "`"));
	struct str t = str_trim(STR_LIT(" \t value \r\n"));
	assert_true(str_eq_cstr(t, "value"));
	assert_int_equal(str_chr(STR_LIT("a;b"), ';'), 1);
	assert_int_equal(str_chr(STR_LIT("ab"), ';'), -1);
}

static void test_hex(void **state)
{
	uint8_t out[4];
	char text[9];
	size_t n;

	assert_int_equal(hex_decode(STR_LIT("0xDEADbeef"), out, 4), 0);
	hex_encode(out, 4, text);
	assert_string_equal(text, "deadbeef");
	assert_int_equal(hex_decode(STR_LIT("deadbe"), out, 4), -EMSGSIZE);
	assert_int_equal(hex_decode(STR_LIT("deadbeefff"), out, 4), -EMSGSIZE);
	assert_int_equal(hex_decode(STR_LIT("deadbeeg"), out, 4), -EINVAL);
	assert_int_equal(hex_decode_var(STR_LIT("abc"), out, 4, &n), -EMSGSIZE);
	assert_int_equal(hex_decode_var(STR_LIT("abcd"), out, 4, &n), 0);
	assert_int_equal(n, 2);
}

/* RFC 4648 section 10 test vectors. */
static void test_base64(void **state)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char enc[16];
	uint8_t dec[16];
	size_t n;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t len = strlen(vec[i][0]);
		assert_int_equal(base64_encode((const uint8_t *)vec[i][0], len, enc),
				 strlen(vec[i][1]));
		assert_string_equal(enc, vec[i][1]);
		assert_int_equal(base64_decode(str_from_cstr(vec[i][1]), dec, sizeof(dec), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, vec[i][0], len);
	}
	assert_int_equal(base64_decode(STR_LIT("Zm9vYg"), dec, sizeof(dec), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(base64_decode(STR_LIT("Zm9v!g=="), dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(base64_decode(STR_LIT("Zm9vY"), dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(base64_decode(STR_LIT("Zm9=="), dec, sizeof(dec), &n), -EINVAL);
	/* Non-zero trailing bits: "Zh==" is not the encoding of "f". */
	assert_int_equal(base64_decode(STR_LIT("Zh=="), dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(base64_decode(STR_LIT("Zm9vYmFy"), dec, 5, &n), -EMSGSIZE);
}

static void test_arena(void **state)
{
	struct arena a;
	char *big;

	arena_init(&a, 64, ARENA_WIPE);
	for (int i = 0; i < 100; i++) {
		int *p = arena_alloc(&a, sizeof(int) * 3);
		assert_non_null(p);
		assert_int_equal(p[0] | p[1] | p[2], 0);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		p[0] = i;
	}
	big = arena_alloc(&a, 1000);
	assert_non_null(big);
	assert_string_equal(arena_printf(&a, "%s-%d", "spi", 42), "spi-42");
	struct str s = arena_str(&a, STR_LIT("abc"));
	assert_true(str_eq_cstr(s, "abc"));
	assert_true(a.allocated >= 1000 + 100 * sizeof(int) * 3);
	arena_destroy(&a);
	assert_int_equal(a.allocated, 0);
}

static void test_buf(void **state)
{
	struct buf b;
	char mem[8];

	buf_init(&b);
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%03d", i);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(b.len, 3000);
	assert_memory_equal(b.p + 2997, "999", 4);
	buf_put(&b, "\0x", 2);
	assert_int_equal(b.len, 3002);
	buf_free(&b);

	/* A fixed buffer keeps what fitted, then refuses everything after. */
	buf_init_fixed(&b, mem, sizeof(mem));
	buf_puts(&b, "abcd");
	buf_printf(&b, "%s", "efghij");
	assert_int_equal(buf_error(&b), -ENOSPC);
	buf_putc(&b, 'z');
	assert_int_equal(b.len, 4);
	assert_string_equal(mem, "abcd");
	buf_reset(&b);
	buf_put_str(&b, STR_LIT("1234567"));
	assert_int_equal(buf_error(&b), 0);
	buf_putc(&b, '8');
	assert_int_equal(buf_error(&b), -ENOSPC);
	assert_string_equal(mem, "1234567");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_number), cmocka_unit_test(test_str_case),
		cmocka_unit_test(test_hex),        cmocka_unit_test(test_base64),
		cmocka_unit_test(test_arena),      cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
