/*
 * lib/store/model: identity syntax, derived-IMPI rules, IMPU lists.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "store/model.h"

static void test_identities(void **state)
{
	const char *why = NULL;

	assert_int_equal(model_check_impi(STR_LIT("001010000000001@ims.mnc001.mcc001.3gppnetwork.org"),
					  &why),
			 0);
	assert_int_equal(model_check_impi(STR_LIT("alice"), &why), -EINVAL);
	assert_string_equal(why, "is not user@realm (no '@')");
	assert_int_equal(model_check_impi(STR_LIT("alice@"), &why), -EINVAL);
	assert_int_equal(model_check_impi(STR_LIT("@ims.test"), &why), -EINVAL);
	assert_int_equal(model_check_impi(STR_LIT("al ice@ims.test"), &why), -EINVAL);
	assert_int_equal(model_check_impi(STR_LIT("alice,bob@ims.test"), &why), -EINVAL);
	assert_int_equal(model_check_impi(STR_LIT(""), &why), -EINVAL);
	assert_string_equal(why, "is empty");

	assert_int_equal(model_check_impu(STR_LIT("sip:alice@ims.test"), &why), 0);
	assert_int_equal(model_check_impu(STR_LIT("SIPS:alice@ims.test"), &why), 0);
	assert_int_equal(model_check_impu(STR_LIT("tel:+15551230001"), &why), 0);
	assert_int_equal(model_check_impu(STR_LIT("mailto:alice@ims.test"), &why), -EINVAL);
	assert_string_equal(why, "is not a sip:, sips: or tel: URI");
	assert_int_equal(model_check_impu(STR_LIT("sip:"), &why), -EINVAL);
	assert_int_equal(model_check_impu(STR_LIT("<sip:alice@ims.test>"), &why), -EINVAL);

	char big[300];
	memset(big, 'a', sizeof(big));
	memcpy(big, "sip:", 4);
	assert_int_equal(model_check_impu(str_make(big, sizeof(big)), &why), -EINVAL);
	assert_string_equal(why, "is longer than 255 bytes");
}

struct rule_case {
	const char *rule;
	const char *impi;
	const char *expect[4]; /* NULL-terminated; first NULL with why: error */
	const char *why;
};

static const struct rule_case rule_cases[] = {
	{ "{user}+{2..3}@{realm}", "001010000000001@ims.test",
	  { "001010000000001+2@ims.test", "001010000000001+3@ims.test" }, NULL },
	{ "{user}.wlan@{realm}", "alice@ims.test", { "alice.wlan@ims.test" }, NULL },
	{ "{user}@{0..1}.{realm}", "a@b", { "a@0.b", "a@1.b" }, NULL },
	{ "none", "alice@ims.test", { NULL }, NULL },
	{ "", "alice@ims.test", { NULL }, NULL },
	{ "{user}@{realm}", "alice@ims.test", { NULL }, "gives the subscription's own IMPI" },
	{ "{user}+{1..2}+{3..4}@{realm}", "a@b", { NULL }, "has more than one {A..B} range" },
	{ "{user}+{3..2}@{realm}", "a@b", { NULL }, "has a range whose start is above its end" },
	{ "{user}+{1..40}@{realm}", "a@b", { NULL }, "gives more than 32 derived IMPIs" },
	{ "{user}+{x..2}@{realm}", "a@b", { NULL },
	  "has a range whose bounds are not numbers from 0 to 9999" },
	{ "{name}+1@{realm}", "a@b", { NULL },
	  "has an unknown placeholder (use {user}, {realm} or {A..B})" },
	{ "{user+1@{realm}", "a@b", { NULL },
	  "has an unknown placeholder (use {user}, {realm} or {A..B})" },
	{ "{user}+1@{realm", "a@b", { NULL }, "has a '{' without '}'" },
	{ "user}", "a@b", { NULL }, "has a '}' without '{'" },
	{ "{user}+{1..2}", "a@b", { NULL },
	  "gives something that is not an IMPI (user@realm, no spaces)" },
};

static void test_derived_rules(void **state)
{
	struct arena a;

	arena_init(&a, 0, 0);
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];
		const char *why = NULL;
		struct str *out = NULL;
		size_t n = 99;
		int err;

		err = model_derived_expand(str_from_cstr(c->rule), str_from_cstr(c->impi), &a, &out,
					   &n, &why);
		if (c->why) {
			assert_int_equal(err, -EINVAL);
			assert_string_equal(why, c->why);
			continue;
		}
		assert_int_equal(err, 0);
		size_t want = 0;
		while (want < 4 && c->expect[want])
			want++;
		assert_int_equal(n, want);
		for (size_t j = 0; j < n; j++)
			assert_true(str_eq_cstr(out[j], c->expect[j]));
	}
	arena_destroy(&a);
}

static void test_impu_lists(void **state)
{
	struct store_impu_spec *v = NULL;
	const char *why = NULL;
	uint32_t next = 0;
	size_t n = 0;
	struct arena a;

	arena_init(&a, 0, 0);
	assert_int_equal(model_impu_list_parse(STR_LIT("sip:a@x,tel:+1555|sip:b@x"), 1, &a, &v, &n,
					       &next, &why),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].irs, 1);
	assert_int_equal(v[1].irs, 1);
	assert_int_equal(v[2].irs, 2);
	assert_int_equal(next, 3);
	/* A second --impu adds its own sets. */
	assert_int_equal(model_impu_list_parse(STR_LIT("sip:c@x"), next, &a, &v, &n, &next, &why),
			 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[3].irs, 3);
	assert_int_equal(model_impu_list_parse(STR_LIT("sip:c@x"), next, &a, &v, &n, &next, &why),
			 -EINVAL);
	assert_string_equal(why, "names the same IMPU twice");
	assert_int_equal(model_impu_list_parse(STR_LIT("sip:d@x,"), next, &a, &v, &n, &next, &why),
			 -EINVAL);
	assert_string_equal(why, "is empty");

	assert_int_equal(model_impu_flag(STR_LIT("tel:+1555"), MODEL_IMPU_BARRED, v, n, &why), 0);
	assert_true(v[1].barred);
	assert_false(v[0].barred);
	assert_int_equal(model_impu_flag(STR_LIT("sip:zz@x"), MODEL_IMPU_BARRED, v, n, &why),
			 -EINVAL);
	assert_string_equal(why, "names an IMPU the subscription does not have");
	arena_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_derived_rules),
		cmocka_unit_test(test_impu_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
