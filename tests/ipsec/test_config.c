/*
 * The ipsec: section of the deployment file: defaults, values, errors that
 * name the line and the key, and the rules that span keys.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ipsec/backend.h"

static const struct config_section *const sections[] = { &ipsec_config_section };

static int load(const char *text, struct config *cfg, struct config_errors *err)
{
	memset(err, 0, sizeof(*err));
	return config_load_buffer(cfg, sections, 1, "deploy.yaml", text, strlen(text), err);
}

static void test_defaults(void **state)
{
	struct config cfg;
	struct config_errors err;
	const struct ipsec_config *c;
	char why[200];

	assert_int_equal(config_schema_check(&ipsec_config_section, why, sizeof(why)), 0);
	assert_int_equal(load("log:\n", &cfg, &err), -EINVAL); /* not a section we gave it */
	assert_int_equal(load("ipsec:\n", &cfg, &err), 0);
	c = config_get(&cfg, &ipsec_config_section);
	assert_non_null(c);
	assert_int_equal(c->backend, IPSEC_BACKEND_AUTO);
	assert_true(!c->keylog_path || !c->keylog_path[0]);
	assert_int_equal(c->alloc.spi_min, 65536);
	assert_int_equal(c->alloc.spi_max, 4294967295u);
	assert_int_equal(c->alloc.port_min, 10000);
	assert_int_equal(c->alloc.port_max, 32767);
	assert_int_equal(c->reqid_tag, IPSEC_REQID_DEFAULT_TAG);
	assert_int_equal(c->pad_blocks_max, 0);
	config_free(&cfg);
}

static void test_values(void **state)
{
	struct config cfg;
	struct config_errors err;
	const struct ipsec_config *c;
	struct ipsec_alloc a;

	assert_int_equal(load("ipsec:\n"
			      "  backend: userspace\n"
			      "  keylog: /var/tmp/esp.keys\n"
			      "  spi_min: 4096\n"
			      "  spi_max: 8191\n"
			      "  port_min: 5100\n"
			      "  port_max: 5199\n"
			      "  reqid_tag: 94\n"
			      "  pad_blocks: 3\n",
			      &cfg, &err),
			 0);
	c = config_get(&cfg, &ipsec_config_section);
	assert_int_equal(c->backend, IPSEC_BACKEND_USERSPACE);
	assert_string_equal(c->keylog_path, "/var/tmp/esp.keys");
	assert_int_equal(c->alloc.spi_min, 4096);
	assert_int_equal(c->alloc.port_max, 5199);
	assert_int_equal(c->reqid_tag, 0x5e);
	assert_int_equal(c->pad_blocks_max, 3);
	/* The allocator takes the ranges as they are. */
	assert_int_equal(ipsec_alloc_init(&a, &c->alloc, NULL), 0);
	ipsec_alloc_destroy(&a);
	config_free(&cfg);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "ipsec:\n  backend: kernel\n", "deploy.yaml:2: key 'ipsec.backend'" },
		{ "ipsec:\n  spi_min: 255\n", "deploy.yaml:2: key 'ipsec.spi_min'" },
		{ "ipsec:\n  port_max: 70000\n", "deploy.yaml:2: key 'ipsec.port_max'" },
		{ "ipsec:\n  reqid_tag: 255\n", "deploy.yaml:2: key 'ipsec.reqid_tag'" },
		{ "ipsec:\n  spi_min: 9000\n  spi_max: 8000\n", "spi_min must be below ipsec.spi_max" },
		{ "ipsec:\n  port_min: 6000\n  port_max: 6000\n", "port_min must be below ipsec.port_max" },
		{ "ipsec:\n  backnd: xfrm\n", "deploy.yaml:2: key 'ipsec.backnd'" },
	};
	struct config cfg;
	struct config_errors err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&cfg, 0x5a, sizeof(cfg));
		assert_int_equal(load(cases[i].text, &cfg, &err), -EINVAL);
		if (!strstr(err.text, cases[i].want))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.text, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
