/*
 * print.c - building messages and re-printing edited ones.
 */
#include "sip/print.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sip/hdr.h"

/* RFC 3261 21 and the extensions simreg meets (3329, 3327, 5626, 6665). */
static const struct {
	uint16_t code;
	const char *text;
} reasons[] = {
	{ 100, "Trying" },
	{ 180, "Ringing" },
	{ 181, "Call Is Being Forwarded" },
	{ 182, "Queued" },
	{ 183, "Session Progress" },
	{ 200, "OK" },
	{ 202, "Accepted" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Moved Temporarily" },
	{ 305, "Use Proxy" },
	{ 380, "Alternative Service" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 410, "Gone" },
	{ 413, "Request Entity Too Large" },
	{ 414, "Request-URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Unsupported URI Scheme" },
	{ 420, "Bad Extension" },
	{ 421, "Extension Required" },
	{ 423, "Interval Too Brief" },
	{ 430, "Flow Failed" },
	{ 439, "First Hop Lacks Outbound Support" },
	{ 480, "Temporarily Unavailable" },
	{ 481, "Call/Transaction Does Not Exist" },
	{ 482, "Loop Detected" },
	{ 483, "Too Many Hops" },
	{ 484, "Address Incomplete" },
	{ 485, "Ambiguous" },
	{ 486, "Busy Here" },
	{ 487, "Request Terminated" },
	{ 488, "Not Acceptable Here" },
	{ 489, "Bad Event" },
	{ 491, "Request Pending" },
	{ 493, "Undecipherable" },
	{ 494, "Security Agreement Required" },
	{ 500, "Server Internal Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Server Time-out" },
	{ 505, "Version Not Supported" },
	{ 513, "Message Too Large" },
	{ 600, "Busy Everywhere" },
	{ 603, "Decline" },
	{ 604, "Does Not Exist Anywhere" },
	{ 606, "Not Acceptable" },
};

const char *sip_reason_phrase(unsigned code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].text;
	return "";
}

void sip_print_request_line(struct buf *b, struct str method, struct str ruri)
{
	buf_put_str(b, method);
	buf_putc(b, ' ');
	buf_put_str(b, ruri);
	buf_puts(b, " SIP/2.0\r\n");
}

void sip_print_status_line(struct buf *b, unsigned code, struct str reason)
{
	buf_printf(b, "SIP/2.0 %03u ", code);
	if (reason.len)
		buf_put_str(b, reason);
	else
		buf_puts(b, sip_reason_phrase(code));
	buf_puts(b, "\r\n");
}

void sip_print_hdr_named(struct buf *b, struct str name, struct str value)
{
	buf_put_str(b, name);
	buf_puts(b, ": ");
	buf_put_str(b, value);
	buf_puts(b, "\r\n");
}

void sip_print_hdr(struct buf *b, enum sip_hdr_id id, struct str value)
{
	sip_print_hdr_named(b, str_from_cstr(sip_hdr_name(id)), value);
}

void sip_print_hdrf(struct buf *b, enum sip_hdr_id id, const char *fmt, ...)
{
	va_list ap;

	buf_puts(b, sip_hdr_name(id));
	buf_puts(b, ": ");
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
	buf_puts(b, "\r\n");
}

void sip_print_body(struct buf *b, struct str content_type, struct str body)
{
	if (content_type.len)
		sip_print_hdr(b, SIP_HDR_CONTENT_TYPE, content_type);
	sip_print_hdrf(b, SIP_HDR_CONTENT_LENGTH, "%zu", body.len);
	buf_puts(b, "\r\n");
	buf_put_str(b, body);
}

/* Copy every field of a header once, as written. */
static void copy_fields(struct buf *b, const struct sip_msg *m, enum sip_hdr_id id)
{
	int last_field = -1;

	sip_msg_foreach(m, id, h) {
		if (h->field != last_field)
			buf_put_str(b, h->raw);
		last_field = h->field;
	}
}

void sip_print_response_start(struct buf *b, const struct sip_msg *req, unsigned code,
			      struct str reason, struct str to_tag)
{
	const struct sip_hdr *to = sip_msg_hdr(req, SIP_HDR_TO);
	struct sip_addr addr;

	sip_print_status_line(b, code, reason);
	copy_fields(b, req, SIP_HDR_VIA);
	copy_fields(b, req, SIP_HDR_FROM);
	/* RFC 3261 8.2.6.2: the UAS adds its tag when the request's To has none */
	if (to && to_tag.len && sip_addr_parse(to->value, &addr, NULL) == 0 && !addr.tag.s) {
		buf_put_str(b, to->name);
		buf_puts(b, ": ");
		buf_put_str(b, to->value);
		buf_puts(b, ";tag=");
		buf_put_str(b, to_tag);
		buf_puts(b, "\r\n");
	} else {
		copy_fields(b, req, SIP_HDR_TO);
	}
	copy_fields(b, req, SIP_HDR_CALL_ID);
	copy_fields(b, req, SIP_HDR_CSEQ);
}

/* ------------------------------------------------------------------ */
/* Editing                                                            */

void sip_edit_init(struct sip_edit *e, const struct sip_msg *m)
{
	memset(e, 0, sizeof(*e));
	e->msg = m;
}

static int entry_index(const struct sip_edit *e, const struct sip_hdr *h)
{
	const struct sip_msg *m = e->msg;

	if (!h || h < m->hdrs || h >= m->hdrs + m->n_hdrs)
		return -1;
	return (int)(h - m->hdrs);
}

static const struct sip_edit_op *change_of(const struct sip_edit *e, int at)
{
	for (unsigned i = 0; i < e->n_ops; i++)
		if (e->ops[i].kind != SIP_EDIT_INSERT && e->ops[i].at == at)
			return &e->ops[i];
	return NULL;
}

static int add_op(struct sip_edit *e, struct sip_edit_op op)
{
	if (e->n_ops == SIP_EDIT_MAX_OPS)
		return -ENOSPC;
	e->ops[e->n_ops++] = op;
	return 0;
}

static int change(struct sip_edit *e, enum sip_edit_kind kind, const struct sip_hdr *h,
		  struct str value)
{
	int at = entry_index(e, h);

	if (at < 0 || change_of(e, at))
		return -EINVAL;
	return add_op(e, (struct sip_edit_op){ .kind = kind, .at = at, .value = value });
}

int sip_edit_remove(struct sip_edit *e, const struct sip_hdr *h)
{
	return change(e, SIP_EDIT_REMOVE, h, STR_NULL);
}

int sip_edit_replace(struct sip_edit *e, const struct sip_hdr *h, struct str value)
{
	return change(e, SIP_EDIT_REPLACE, h, value);
}

int sip_edit_remove_all(struct sip_edit *e, enum sip_hdr_id id)
{
	int rc = 0;

	sip_msg_foreach(e->msg, id, h) {
		if (change_of(e, entry_index(e, h)))
			continue;
		rc = sip_edit_remove(e, h);
		if (rc)
			break;
	}
	return rc;
}

static int insert(struct sip_edit *e, int at, uint16_t id, struct str name, struct str value)
{
	if (at != SIP_EDIT_TOP && at != SIP_EDIT_BOTTOM && (at < 0 || at >= e->msg->n_hdrs))
		return -EINVAL;
	return add_op(
		e,
		(struct sip_edit_op){
			.kind = SIP_EDIT_INSERT, .at = at, .id = id, .name = name, .value = value});
}

int sip_edit_insert(struct sip_edit *e, int at, enum sip_hdr_id id, struct str value)
{
	if (id == SIP_HDR_OTHER || (unsigned)id >= SIP_HDR__COUNT)
		return -EINVAL;
	return insert(e, at, (uint16_t)id, str_from_cstr(sip_hdr_name(id)), value);
}

int sip_edit_insert_named(struct sip_edit *e, int at, struct str name, struct str value)
{
	return insert(e, at, (uint16_t)sip_hdr_lookup(name), name, value);
}

int sip_edit_prepend_via(struct sip_edit *e, struct str value)
{
	const struct sip_hdr *via = sip_msg_hdr(e->msg, SIP_HDR_VIA);
	int at = via ? entry_index(e, via) : SIP_EDIT_TOP;

	/* before the field holding the topmost Via value */
	if (via)
		while (at > 0 && e->msg->hdrs[at - 1].field == via->field)
			at--;
	return sip_edit_insert(e, at, SIP_HDR_VIA, value);
}

void sip_edit_set_ruri(struct sip_edit *e, struct str ruri)
{
	e->ruri = ruri;
}

void sip_edit_set_body(struct sip_edit *e, struct str content_type, struct str body)
{
	e->set_body = true;
	e->content_type = content_type;
	e->body = body;
}

static void print_inserts(const struct sip_edit *e, int at, struct buf *b)
{
	for (unsigned i = 0; i < e->n_ops; i++)
		if (e->ops[i].kind == SIP_EDIT_INSERT && e->ops[i].at == at)
			sip_print_hdr_named(b, e->ops[i].name, e->ops[i].value);
}

static bool field_touched(const struct sip_edit *e, unsigned first, unsigned end)
{
	for (unsigned k = first; k < end; k++)
		if (change_of(e, (int)k))
			return true;
	return false;
}

/* A field with a changed value: "Name: v1, v2\r\n" from what remains. */
static void print_rebuilt(const struct sip_edit *e, unsigned first, unsigned end, struct buf *b)
{
	const struct sip_msg *m = e->msg;
	bool any = false;

	for (unsigned k = first; k < end; k++) {
		const struct sip_edit_op *op = change_of(e, (int)k);
		struct str v = m->hdrs[k].value;
		if (op && op->kind == SIP_EDIT_REMOVE)
			continue;
		if (op)
			v = op->value;
		if (!any) {
			buf_put_str(b, m->hdrs[first].name);
			buf_puts(b, ": ");
		} else {
			buf_puts(b, ", ");
		}
		buf_put_str(b, v);
		any = true;
	}
	if (any)
		buf_puts(b, "\r\n");
}

int sip_edit_print(const struct sip_edit *e, struct buf *b)
{
	const struct sip_msg *m = e->msg;
	struct str body = e->set_body ? e->body : m->body;
	bool cl_done = false, ct_done = false;
	unsigned i = 0;

	if (m->kind != SIP_MSG_REQUEST && m->kind != SIP_MSG_RESPONSE)
		return -EINVAL;
	if (e->ruri.s && m->kind == SIP_MSG_REQUEST) {
		buf_put_str(b, m->method_name);
		buf_putc(b, ' ');
		buf_put_str(b, e->ruri);
		buf_putc(b, ' ');
		buf_put_str(b, m->version);
		buf_puts(b, "\r\n");
	} else {
		buf_put(b, m->start_line.s, m->start_line.len + 2);
	}
	print_inserts(e, SIP_EDIT_TOP, b);

	while (i < m->n_hdrs) {
		const struct sip_hdr *h = &m->hdrs[i];
		unsigned end = i + 1;

		while (end < m->n_hdrs && m->hdrs[end].field == h->field)
			end++;
		for (unsigned k = i; k < end; k++)
			print_inserts(e, (int)k, b);

		if (h->id == SIP_HDR_CONTENT_LENGTH) {
			/* Always present and always right, whatever else changed. */
			uint32_t n;
			if (!cl_done && sip_uint_parse(h->value, UINT32_MAX, &n, NULL) == 0 &&
			    n == body.len && !field_touched(e, i, end))
				buf_put_str(b, h->raw);
			else if (!cl_done)
				buf_printf(b, "%.*s: %zu\r\n", STR_FMT(h->name), body.len);
			cl_done = true;
		} else if (h->id == SIP_HDR_CONTENT_TYPE && e->set_body) {
			if (e->content_type.len && !ct_done)
				sip_print_hdr_named(b, h->name, e->content_type);
			ct_done = true;
		} else if (!field_touched(e, i, end)) {
			buf_put_str(b, h->raw);
		} else {
			print_rebuilt(e, i, end, b);
		}
		i = end;
	}
	print_inserts(e, SIP_EDIT_BOTTOM, b);
	if (e->set_body && e->content_type.len && !ct_done)
		sip_print_hdr(b, SIP_HDR_CONTENT_TYPE, e->content_type);
	if (!cl_done)
		sip_print_hdrf(b, SIP_HDR_CONTENT_LENGTH, "%zu", body.len);
	buf_puts(b, "\r\n");
	buf_put_str(b, body);
	return buf_error(b);
}
