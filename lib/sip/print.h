/*
 * print.h - building SIP messages, and editing parsed ones.
 *
 * Building: write a start line, headers and a body into a struct buf
 * (core/buf.h), either growable or in the caller's memory. The functions
 * never fail on their own; check buf_error() once at the end.
 *
 * Editing: a proxy forwards what it did not touch byte for byte. Describe
 * the changes in a struct sip_edit (remove, replace or insert header
 * values, prepend a Via, set the Request-URI or the body) and print: every
 * header field none of whose values changed is copied from the original
 * buffer as it was (case, compact names, folding and all); a field with a
 * changed value is rewritten as "Name: v1, v2" from its remaining values;
 * Content-Length always matches the printed body.
 */
#ifndef SIMREG_SIP_PRINT_H
#define SIMREG_SIP_PRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/msg.h"

/* ------------------------------------------------------------------ */
/* Building                                                           */

/* The RFC 3261 21 reason phrase of a code ("Unauthorized"), or "". */
const char *sip_reason_phrase(unsigned code);

/* "METHOD Request-URI SIP/2.0\r\n" */
void sip_print_request_line(struct buf *b, struct str method, struct str ruri);

/* "SIP/2.0 code reason\r\n"; an empty reason takes sip_reason_phrase(code). */
void sip_print_status_line(struct buf *b, unsigned code, struct str reason);

/* "Canonical-Name: value\r\n" of a known header. */
void sip_print_hdr(struct buf *b, enum sip_hdr_id id, struct str value);

/* Same, the value from a format. */
void sip_print_hdrf(struct buf *b, enum sip_hdr_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "name: value\r\n" for any header name. */
void sip_print_hdr_named(struct buf *b, struct str name, struct str value);

/*
 * End the header section and append the body: Content-Type when
 * `content_type` is not empty, "Content-Length: n", the empty line, the
 * body bytes.
 */
void sip_print_body(struct buf *b, struct str content_type, struct str body);

/*
 * Start a response to `req` (RFC 3261 8.2.6.2): status line, then every
 * Via field, From, To (with ";tag=to_tag" appended when the request's To
 * has no tag and to_tag is not empty), Call-ID and CSeq copied from the
 * request byte for byte. The caller adds its own headers and ends with
 * sip_print_body().
 */
void sip_print_response_start(struct buf *b, const struct sip_msg *req, unsigned code,
			      struct str reason, struct str to_tag);

/* ------------------------------------------------------------------ */
/* Editing a parsed message                                           */

enum sip_edit_kind {
	SIP_EDIT_REMOVE,
	SIP_EDIT_REPLACE,
	SIP_EDIT_INSERT,
};

/* Insert positions other than "before entry i". */
#define SIP_EDIT_TOP (-1)    /* before the first header field */
#define SIP_EDIT_BOTTOM (-2) /* after the last header field */

struct sip_edit_op {
	enum sip_edit_kind kind;
	int at;           /* entry index; or SIP_EDIT_TOP / SIP_EDIT_BOTTOM for inserts */
	uint16_t id;      /* inserts: header id, SIP_HDR_OTHER with `name` */
	struct str name;  /* inserts of unknown headers */
	struct str value; /* replace / insert */
};

#define SIP_EDIT_MAX_OPS 32

/*
 * Changes to one parsed message. Values are slices owned by the caller and
 * must stay valid until sip_edit_print(). The message must not be parsed
 * again in between.
 */
struct sip_edit {
	const struct sip_msg *msg;
	struct str ruri;         /* .s != NULL: replaces the Request-URI */
	struct str body;         /* valid if set_body */
	struct str content_type; /* with set_body: replaces (or, if empty, removes) Content-Type */
	bool set_body;
	uint16_t n_ops;
	struct sip_edit_op ops[SIP_EDIT_MAX_OPS];
};

void sip_edit_init(struct sip_edit *e, const struct sip_msg *m);

/*
 * Each returns 0, -ENOSPC when SIP_EDIT_MAX_OPS changes are already
 * recorded, or -EINVAL for an entry that is not in the message (or a
 * second remove/replace of the same entry).
 */
int sip_edit_remove(struct sip_edit *e, const struct sip_hdr *h);
int sip_edit_replace(struct sip_edit *e, const struct sip_hdr *h, struct str value);
/* Remove every value of a header (e.g. Security-Client at the P-CSCF). */
int sip_edit_remove_all(struct sip_edit *e, enum sip_hdr_id id);
/*
 * Insert a new field "Name: value" before the field holding entry `at`
 * (an index in msg->hdrs), or at SIP_EDIT_TOP / SIP_EDIT_BOTTOM. Inserts at
 * the same place come out in the order they were made.
 */
int sip_edit_insert(struct sip_edit *e, int at, enum sip_hdr_id id, struct str value);
int sip_edit_insert_named(struct sip_edit *e, int at, struct str name, struct str value);
/* A new topmost Via field (RFC 3261 16.6 step 8): before the first Via, or on top. */
int sip_edit_prepend_via(struct sip_edit *e, struct str value);
void sip_edit_set_ruri(struct sip_edit *e, struct str ruri);
void sip_edit_set_body(struct sip_edit *e, struct str content_type, struct str body);

/*
 * Print the edited message into `b`. Returns 0 or buf_error(b).
 * With no change recorded the output equals msg->buf byte for byte
 * (Content-Length being right already), except that a message without a
 * Content-Length (datagram) gets one at the bottom.
 */
int sip_edit_print(const struct sip_edit *e, struct buf *b);

#endif
