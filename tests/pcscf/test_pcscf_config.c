/*
 * The `pcscf:` section (src/pcscf/config.c): defaults, and the errors of
 * the rules that span keys, each naming the file, the line and the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "pcscf/context.h"

static const struct config_section *const sections[] = { &pcscf_config_section };

static int load(const char *text, struct config *cfg, struct config_errors *err)
{
	return config_load_buffer(cfg, sections, 1, "deploy.yaml", text, strlen(text), err);
}

/* The protected ports: narrow, below the ephemeral range, room for the default. */
static void test_defaults(void **state)
{
	struct config cfg;
	struct config_errors err;
	const struct pcscf_config *c;

	assert_int_equal(load("", &cfg, &err), 0);
	c = config_get(&cfg, &pcscf_config_section);
	assert_int_equal(c->port_min, 14100);
	assert_int_equal(c->port_max, 14355);
	assert_int_equal(c->flows_per_address, 64);
	assert_true(c->port_max - c->port_min + 1 >= PCSCF_PORTS_PER_FLOW * c->flows_per_address);
	assert_true(c->port_max < 32768);
	config_free(&cfg);

	assert_int_equal(load("pcscf:\n  port_min: 20000\n  port_max: 20007\n"
			      "  flows_per_address: 2\n",
			      &cfg, &err),
			 0);
	c = config_get(&cfg, &pcscf_config_section);
	assert_int_equal(c->port_min, 20000);
	assert_int_equal(c->flows_per_address, 2);
	config_free(&cfg);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		/* The capacity the file asks for: its line. */
		{ "pcscf:\n  sa_binding: impi\n  flows_per_address: 100\n",
		  "deploy.yaml:3: key 'pcscf.flows_per_address': 100 flows from one UE address "
		  "need up to 400 protected ports, but 'pcscf.port_min'..'pcscf.port_max' "
		  "(14100..14355) holds 256\n" },
		/* A range the file narrowed below the default capacity: its first key. */
		{ "pcscf:\n  port_max: 14200\n  sa_binding: impi\n",
		  "deploy.yaml:2: key 'pcscf.flows_per_address': 64 flows from one UE address "
		  "need up to 256 protected ports, but 'pcscf.port_min'..'pcscf.port_max' "
		  "(14100..14200) holds 101\n" },
		{ "pcscf:\n  port_max: 14000\n",
		  "deploy.yaml:2: key 'pcscf.port_min': 14100 must be below 'pcscf.port_max' "
		  "(14000)\n" },
		{ "pcscf:\n  port_min: 80\n",
		  "deploy.yaml:2: key 'pcscf.port_min': expected an integer from 1024 to 65535, got '80'\n" },
		/* The other rules of the section name their line too now. */
		{ "pcscf:\n  sa_linger: 1s\n  scscf: \"sip:scscf.ims.test\"\n",
		  "deploy.yaml:3: key 'pcscf.scscf': 'sip:scscf.ims.test' is not a sip: URI with a "
		  "numeric host\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct config_errors err;

		assert_int_equal(load(cases[i].text, &cfg, &err), -EINVAL);
		assert_string_equal(err.text, cases[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
