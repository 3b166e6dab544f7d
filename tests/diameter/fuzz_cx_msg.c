/*
 * fuzz_cx_msg - Diameter messages off the wire through freeDiameter's
 * parser, the Cx dictionary and rules simreg defines, and simreg's AVP
 * readers (what the HSS does with a request before any logic): no crash,
 * no leak.
 */
#include <errno.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diameter/cx.h"
#include "diameter/dmsg.h"

static struct cx_dict d;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(int level, const char *format, va_list args)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fd_log_handler_register(quiet);
	if (fd_core_initialize() || cx_dict_init(&d))
		abort();
	return 0;
}

/* Read every Cx AVP the HSS reads, at the top level and in groups. */
static void read_all(void *parent, int depth)
{
	for (int i = 0; i < CX_AVP__COUNT; i++) {
		struct avp *a = NULL;
		struct str s;
		uint32_t u;
		int32_t v;

		while (dmsg_find(parent, d.avp[i], a, &a) == 0) {
			if (cx_avp_info[i].type == CX_T_GROUPED) {
				if (depth < 4)
					read_all(a, depth + 1);
			} else if (cx_avp_info[i].type == CX_T_U32) {
				dmsg_avp_u32(a, &u);
			} else if (cx_avp_info[i].type == CX_T_ENUM) {
				dmsg_avp_i32(a, &v);
			} else {
				dmsg_avp_octets(a, &s);
			}
		}
	}
	for (int i = 0; i < CX_BASE__COUNT; i++)
		(void)dmsg_count(parent, d.base[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct msg *m = NULL;
	struct fd_pei pei;
	uint32_t code;
	bool exp;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* The parser owns the buffer from here on, except for one too short
	 * to hold a header. */
	if (fd_msg_parse_buffer(&buf, size, &m)) {
		free(buf);
		return 0;
	}
	if (fd_msg_parse_dict(m, fd_g_config->cnf_dict, &pei) == 0) {
		memset(&pei, 0, sizeof(pei));
		if (fd_msg_parse_rules(m, fd_g_config->cnf_dict, &pei) && pei.pei_avp)
			fd_msg_free(pei.pei_avp);
	}
	read_all(m, 0);
	cx_get_result(&d, m, &code, &exp);
	fd_msg_free(m);
	return 0;
}
