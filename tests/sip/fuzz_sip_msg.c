/*
 * libFuzzer target: the message parser, full validation and the printer.
 *
 * Invariants checked beyond "no crash, no over-read":
 *   - a parsed datagram's length never exceeds the input;
 *   - the same bytes as a stream give the same length or SIP_INCOMPLETE
 *     (or an error, when the datagram relied on having no Content-Length);
 *   - printing a parsed message without changes reproduces it byte for
 *     byte when it carried a Content-Length, and always reparses (with
 *     room for the one field and the bytes the printer adds when the
 *     datagram had no Content-Length).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/print.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m, again;
	static struct sip_hdr more[SIP_MSG_INLINE_HDRS + 1];
	const struct sip_limits roomy = {
		.max_msg = sip_limits_default.max_msg + 32,
		.max_line = sip_limits_default.max_line,
		.max_hdrs = SIP_MSG_INLINE_HDRS + 1,
	};
	const char *buf = (const char *)data;
	struct sip_error err;
	struct sip_edit e;
	struct buf b;
	int rc, rc2;

	sip_msg_init(&m);
	rc = sip_parse(&m, buf, size, SIP_FRAME_DATAGRAM, NULL, &err);
	if (rc < 0)
		return 0;
	if ((size_t)rc > size)
		abort();
	sip_msg_check(&m, &err);
	if (m.kind != SIP_MSG_REQUEST && m.kind != SIP_MSG_RESPONSE)
		return 0;

	sip_msg_init(&again);
	rc2 = sip_parse(&again, buf, size, SIP_FRAME_STREAM, NULL, &err);
	if (m.has_content_length && rc2 != rc)
		abort();

	sip_edit_init(&e, &m);
	buf_init(&b);
	if (sip_edit_print(&e, &b) == 0) {
		if (m.has_content_length && !str_eq(buf_str(&b), m.buf))
			abort();
		sip_msg_init_hdrs(&again, more, SIP_MSG_INLINE_HDRS + 1);
		if (sip_parse(&again, b.p, b.len, SIP_FRAME_DATAGRAM, &roomy, &err) != (int)b.len)
			abort();
	}
	buf_free(&b);
	return 0;
}
