/*
 * fuzz_config - the configuration loader on arbitrary bytes: no crash, no
 * leak, and a rejected input never yields a configuration.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/config.h"

struct fuzz_cfg {
	const char *name;
	int32_t n;
	bool b;
	int mode;
	uint64_t d;
	struct config_bytes hex;
	struct config_addr addr;
	struct config_strlist list;
};

static const char *const modes[] = { "registration", "impi", NULL };

static const struct config_key fuzz_keys[] = {
	CONFIG_STRING("test.name", struct fuzz_cfg, name, "x", "string"),
	CONFIG_INT("test.n", struct fuzz_cfg, n, -1000, 1000, "0", "integer"),
	CONFIG_BOOL("test.b", struct fuzz_cfg, b, "false", "boolean"),
	CONFIG_ENUM("test.mode", struct fuzz_cfg, mode, modes, "impi", "enum"),
	CONFIG_DURATION("test.timers.d", struct fuzz_cfg, d, 0, 86400000, "1s", "duration"),
	CONFIG_HEX("test.hex", struct fuzz_cfg, hex, 1, 32, "00", "hex"),
	CONFIG_ADDR("test.addr", struct fuzz_cfg, addr, "127.0.0.1:1", "address"),
	CONFIG_STRLIST("test.list", struct fuzz_cfg, list, "[]", "list"),
};

static const struct config_section fuzz_section =
	CONFIG_SECTION("test", "fuzzing", struct fuzz_cfg, fuzz_keys);

static const struct config_section *const sections[] = {
	&config_log_section, &config_loop_section, &fuzz_section,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg = { 0 };
	struct config_errors err;
	FILE *null;
	int rc;

	rc = config_load_buffer(&cfg, sections, 3, "fuzz.yaml", (const char *)data, size, &err);
	if (rc == 0) {
		null = fopen("/dev/null", "w");
		if (null) {
			config_dump(&cfg, null);
			fclose(null);
		}
		config_free(&cfg);
	} else if (cfg.data || err.count == 0) {
		abort();
	}
	return 0;
}
