/*
 * msg.h - SIP message framing and header splitting.
 *
 * The parser follows picohttpparser's contract: it never allocates, never
 * copies, and hands out slices (struct str) into the caller's buffer. The
 * caller keeps the buffer alive and unmodified for as long as it uses the
 * parsed message. sip_parse() returns the number of bytes the message
 * occupies, SIP_INCOMPLETE when a stream needs more bytes, or a negative
 * error with a human reason in struct sip_error.
 *
 * What sip_parse() does (the hot path):
 *   - start line: method (known id + raw name), Request-URI slice,
 *     SIP-Version, or status code and reason phrase;
 *   - header fields: names matched case-insensitively and in compact form,
 *     folded lines accepted (RFC 3261 7.3.1), comma lists split into one
 *     entry per value, unknown headers kept opaque;
 *   - framing by Content-Length (RFC 3261 18.3, 7.5); keepalives (RFC 5626
 *     3.5.1) between messages on a stream.
 *
 * What it leaves for later (decode on first use, see hdr.h):
 *   - the typed content of each header value;
 *   - semantic checks (mandatory headers, single-valued headers appearing
 *     twice, CSeq method against the request method): sip_msg_check().
 */
#ifndef SIMREG_SIP_MSG_H
#define SIMREG_SIP_MSG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/hdr.h"
#include "sip/ids.h"
#include "sip/uri.h"

/* ------------------------------------------------------------------ */
/* Limits                                                             */

/*
 * Limits a receiver applies before it trusts a message. Each one, when
 * broken, fails the parse with its own reason. Defaults (sip_limits_default):
 *   max_msg   65535 bytes  start line to end of body: the largest UDP payload
 *   max_line   8192 bytes  one header field with its continuation lines, or
 *                          the start line
 *   max_hdrs     96        header entries, one per value of a list header;
 *                          never more than the entry array holds
 */
struct sip_limits {
	uint32_t max_msg;
	uint32_t max_line;
	uint16_t max_hdrs;
};

extern const struct sip_limits sip_limits_default;

/* Returned by sip_parse() on a stream that holds only part of a message. */
#define SIP_INCOMPLETE (-EAGAIN)

/* ------------------------------------------------------------------ */
/* The parsed message                                                 */

enum sip_msg_kind {
	SIP_MSG_NONE = 0,
	SIP_MSG_REQUEST,
	SIP_MSG_RESPONSE,
	SIP_MSG_PING, /* CRLFCRLF keepalive (RFC 5626 3.5.1); answer with a pong */
	SIP_MSG_PONG, /* a lone CRLF: keepalive answer */
};

enum sip_framing {
	/*
	 * One datagram is one message (RFC 3261 18.3): a missing
	 * Content-Length means the body runs to the end of the datagram,
	 * octets beyond Content-Length are ignored (and not part of the
	 * returned length), a Content-Length larger than what is there is an
	 * error.
	 */
	SIP_FRAME_DATAGRAM,
	/*
	 * A byte stream (TCP, TLS): Content-Length is mandatory and the
	 * parser returns SIP_INCOMPLETE until the whole body is in. A lone
	 * CRLF or a CRLFCRLF before a start line is reported as a keepalive
	 * (SIP_MSG_PONG / SIP_MSG_PING) of 2 or 4 bytes; call again for the
	 * next message. "\r\n\r" is SIP_INCOMPLETE.
	 */
	SIP_FRAME_STREAM,
};

/*
 * One header value. A field "Via: a, b" gives two entries with the same
 * `field` and `raw`; a field spread over several lines gives one entry whose
 * `value` still contains the folding CRLF + whitespace (decoders treat it as
 * LWS). `raw` lets a proxy forward an untouched field byte for byte.
 */
struct sip_hdr {
	struct str name;  /* as written: "v", "VIA", "X-Foo" */
	struct str value; /* this value, leading and trailing LWS removed */
	struct str raw;   /* the whole field: name through the CRLF ending its last line */
	uint16_t id;      /* enum sip_hdr_id */
	uint16_t field;   /* ordinal of the field in the message (0 = first header line) */
	uint16_t next;    /* index of the next entry with the same id, or SIP_HDR_END */
	uint16_t line;    /* 1-based line number where the field starts */
};

#define SIP_HDR_END UINT16_MAX

/* Entries held inside struct sip_msg; a caller may attach a larger array. */
#define SIP_MSG_INLINE_HDRS 96


/*
 * A parsed message. Everything is a slice into the buffer given to
 * sip_parse(). Initialise once with sip_msg_init() (or
 * sip_msg_init_hdrs()); sip_parse() may then be called on it again and
 * again, each call forgetting the previous message.
 */
struct sip_msg {
	enum sip_msg_kind kind;
	struct str buf;        /* the message: start line through the end of the body */
	struct str start_line; /* without its CRLF */
	struct str version;    /* "SIP/2.0" as written */

	/* requests */
	enum sip_method method;
	struct str method_name;
	struct str ruri; /* Request-URI, not decoded: see sip_msg_ruri() */

	/* responses */
	uint16_t status;
	struct str reason; /* may be empty (RFC 4475 3.1.1.13) */

	struct str headers; /* first header line through the empty line, inclusive */
	struct str body;    /* Content-Length bytes (or the datagram's rest) */
	bool has_content_length;
	uint32_t content_length;

	struct sip_hdr *hdrs; /* entries in message order */
	uint16_t n_hdrs;
	uint16_t cap_hdrs;
	uint16_t n_fields;
	uint16_t first[SIP_HDR__COUNT]; /* first entry per id, or SIP_HDR_END */

	/*
	 * Lazy decode cache behind sip_msg_via(), sip_msg_cseq() ... (hdr.h):
	 * bit i of cache_done says slot i was decoded, of cache_fail that
	 * decoding failed. Private to the sip library.
	 */
	uint32_t cache_done;
	uint32_t cache_fail;
	struct sip_msg_cache cache;

	struct sip_hdr inline_hdrs[SIP_MSG_INLINE_HDRS];
};

/* Prepare `m` to use its inline header array. */
void sip_msg_init(struct sip_msg *m);

/*
 * Prepare `m` to store entries in `hdrs` (capacity `cap`, at most 65534),
 * owned by the caller and kept alive as long as `m` is used; for messages
 * with more header values than SIP_MSG_INLINE_HDRS.
 */
void sip_msg_init_hdrs(struct sip_msg *m, struct sip_hdr *hdrs, uint16_t cap);

/*
 * Parse one message (or keepalive) at the start of buf[0..len).
 *
 * @m        initialised message; overwritten
 * @buf      bytes received; not modified, must outlive every slice of m
 * @len      number of bytes in buf
 * @framing  SIP_FRAME_DATAGRAM or SIP_FRAME_STREAM (see above)
 * @lim      limits, or NULL for sip_limits_default
 * @err      filled on failure; may be NULL
 *
 * Returns the number of bytes consumed (> 0: the message, or the
 * keepalive), SIP_INCOMPLETE (stream only), or a negative error
 * (-EBADMSG, -EMSGSIZE, -EPROTONOSUPPORT); on error `m` is not usable.
 * In datagram mode the return value may be less than `len`: the octets
 * after the body are to be ignored, not forwarded.
 */
int sip_parse(struct sip_msg *m, const char *buf, size_t len, enum sip_framing framing,
	      const struct sip_limits *lim, struct sip_error *err);

/* ------------------------------------------------------------------ */
/* Looking headers up                                                 */

/* First entry of a known header, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);

/* The entry after `h` with the same id (message order), or NULL. */
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, const struct sip_hdr *h);

/* Number of entries (values) of a header. */
unsigned sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id);

/* First entry whose name matches case-insensitively (for unknown headers). */
const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, struct str name);

/* Index of an entry in m->hdrs. */
static inline unsigned sip_msg_hdr_index(const struct sip_msg *m, const struct sip_hdr *h)
{
	return (unsigned)(h - m->hdrs);
}

#define sip_msg_foreach(m, id, h) \
	for (const struct sip_hdr *h = sip_msg_hdr((m), (id)); h; h = sip_msg_hdr_next((m), h))

/* True if a list header (Require, Supported, ...) holds `tag` (case-insensitive). */
bool sip_msg_has_token(const struct sip_msg *m, enum sip_hdr_id id, const char *tag);

/*
 * Full validation, what `simreg sip check` reports: decodes the Request-URI
 * and every known header with its typed decoder (and the URIs inside
 * addresses), requires the mandatory headers, refuses a second value of a
 * single-valued header, and for requests a CSeq method different from the
 * request method (RFC 3261 8.1.1.5). Returns 0 or the first error (see
 * struct sip_error). Keepalives are valid.
 */
int sip_msg_check(struct sip_msg *m, struct sip_error *err);

/*
 * Line number (1-based) of the byte at `p` in the message, counting CRLFs
 * from the start line; 0 if `p` is outside m->buf.
 */
uint32_t sip_msg_line_of(const struct sip_msg *m, const char *p);

#endif
