/*
 * wire.c - Diameter messages in their wire format (wire.h).
 *
 *   header:  version(1) length(3) flags(1) code(3) application(4)
 *            hop-by-hop(4) end-to-end(4)
 *   AVP:     code(4) flags(1) length(3) [vendor(4)] data, padded to 4
 *
 * An AVP's length counts its header and data, not the padding; the
 * message length counts everything.
 */
#include "diameter/wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	set24(p + 1, v);
}

/* --- reading --------------------------------------------------------------------- */

int dw_header_read(const void *p, size_t len, struct dw_header *h)
{
	const uint8_t *b = p;

	if (len < DW_HEADER_LEN)
		return -EAGAIN;
	h->version = b[0];
	h->len = get24(b + 1);
	h->flags = b[4];
	h->code = get24(b + 5);
	h->app = get32(b + 8);
	h->hbh = get32(b + 12);
	h->e2e = get32(b + 16);
	if (h->version != DW_VERSION || h->len < DW_HEADER_LEN || h->len % 4)
		return -EBADMSG;
	return 0;
}

void dw_iter_msg(struct dw_iter *it, const void *msg, size_t len)
{
	const uint8_t *b = msg;

	if (!b || len < DW_HEADER_LEN) {
		/* Nothing to walk (and no arithmetic on a null pointer). */
		it->p = it->end = b;
		return;
	}
	it->p = b + DW_HEADER_LEN;
	it->end = b + len;
}

void dw_iter_group(struct dw_iter *it, const struct dw_avp *group)
{
	it->p = group->data;
	it->end = group->len ? group->data + group->len : group->data;
}

int dw_next(struct dw_iter *it, struct dw_avp *a)
{
	size_t left = (size_t)(it->end - it->p), hdr, len, padded;

	if (!left)
		return 0;
	if (left < 8)
		goto bad;
	a->code = get32(it->p);
	a->flags = it->p[4];
	len = get24(it->p + 5);
	hdr = a->flags & DW_AVP_VENDOR ? 12 : 8;
	if (len < hdr || len > left)
		goto bad;
	a->vendor = hdr == 12 ? get32(it->p + 8) : 0;
	a->data = it->p + hdr;
	a->len = len - hdr;
	/* The last AVP of a group may come without its padding; tolerate it. */
	padded = (len + 3) & ~(size_t)3;
	it->p += padded <= left ? padded : left;
	return 1;
bad:
	it->p = it->end;
	return -EBADMSG;
}

int dw_find(const struct dw_iter *it, uint32_t code, uint32_t vendor, struct dw_avp *a)
{
	struct dw_iter walk = *it;
	int rc;

	while ((rc = dw_next(&walk, a)) > 0) {
		if (a->code == code && a->vendor == vendor)
			return 0;
	}
	return rc < 0 ? rc : -ENOENT;
}

int dw_u32(const struct dw_avp *a, uint32_t *v)
{
	if (a->len != 4)
		return -EBADMSG;
	*v = get32(a->data);
	return 0;
}

int dw_result(const struct dw_iter *msg, uint32_t *code, bool *experimental)
{
	struct dw_avp a, c;
	struct dw_iter group;
	int rc;

	rc = dw_find(msg, DW_AVP_RESULT_CODE, 0, &a);
	if (rc == 0) {
		*experimental = false;
		return dw_u32(&a, code);
	}
	if (rc != -ENOENT)
		return rc;
	rc = dw_find(msg, DW_AVP_EXPERIMENTAL_RESULT, 0, &a);
	if (rc)
		return rc;
	dw_iter_group(&group, &a);
	rc = dw_find(&group, DW_AVP_EXPERIMENTAL_RESULT_CODE, 0, &c);
	if (rc)
		return rc;
	*experimental = true;
	return dw_u32(&c, code);
}

/* --- writing --------------------------------------------------------------------- */

static uint8_t *at(struct buf *b, size_t off)
{
	return (uint8_t *)b->p + off;
}

size_t dw_msg_begin(struct buf *b, uint8_t flags, uint32_t code, uint32_t app, uint32_t hbh,
		    uint32_t e2e)
{
	uint8_t h[DW_HEADER_LEN];
	size_t start = b->len;

	h[0] = DW_VERSION;
	set24(h + 1, 0);
	h[4] = flags;
	set24(h + 5, code & DW_MAX_LEN);
	if (code > DW_MAX_LEN && !b->err)
		b->err = -EINVAL; /* command codes are 24 bits */
	set32(h + 8, app);
	set32(h + 12, hbh);
	set32(h + 16, e2e);
	buf_put(b, h, sizeof(h));
	return start;
}

static void set_length(struct buf *b, size_t start, size_t len_off)
{
	size_t len = b->len - start;

	if (buf_error(b))
		return;
	if (len > DW_MAX_LEN) {
		b->err = -EMSGSIZE;
		return;
	}
	set24(at(b, start + len_off), (uint32_t)len);
}

void dw_msg_end(struct buf *b, size_t start)
{
	set_length(b, start, 1);
}

static size_t avp_header(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor,
			 size_t data_len)
{
	uint8_t h[12];
	size_t hdr = vendor ? 12 : 8, start = b->len;

	set32(h, code);
	h[4] = (uint8_t)((flags & ~DW_AVP_VENDOR) | (vendor ? DW_AVP_VENDOR : 0));
	set24(h + 5, hdr + data_len > DW_MAX_LEN ? 0 : (uint32_t)(hdr + data_len));
	if (hdr + data_len > DW_MAX_LEN && !b->err)
		b->err = -EMSGSIZE;
	if (vendor)
		set32(h + 8, vendor);
	buf_put(b, h, hdr);
	return start;
}

static void pad(struct buf *b, size_t len)
{
	static const uint8_t zeros[3];

	if (len % 4)
		buf_put(b, zeros, 4 - len % 4);
}

void dw_put(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, const void *data,
	    size_t len)
{
	avp_header(b, code, flags, vendor, len);
	buf_put(b, data, len);
	pad(b, len);
}

void dw_put_u32(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, uint32_t v)
{
	uint8_t d[4];

	set32(d, v);
	dw_put(b, code, flags, vendor, d, sizeof(d));
}

void dw_put_address(struct buf *b, uint32_t code, uint8_t flags, const struct sockaddr *sa)
{
	uint8_t d[2 + 16];

	/* AddressType: the IANA address family number, 1 for IPv4, 2 for IPv6. */
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		d[0] = 0;
		d[1] = 2;
		memcpy(d + 2, &in6->sin6_addr, 16);
		dw_put(b, code, flags, 0, d, 2 + 16);
		return;
	}
	if (sa->sa_family != AF_INET) {
		if (!b->err)
			b->err = -EAFNOSUPPORT;
		return;
	}
	d[0] = 0;
	d[1] = 1;
	memcpy(d + 2, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	dw_put(b, code, flags, 0, d, 2 + 4);
}

size_t dw_group_begin(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor)
{
	return avp_header(b, code, flags, vendor, 0);
}

void dw_group_end(struct buf *b, size_t start)
{
	/* Members are padded already, so the group needs none of its own. */
	set_length(b, start, 5);
}

void dw_set_ids(void *msg, uint32_t hbh, uint32_t e2e)
{
	set32((uint8_t *)msg + 12, hbh);
	set32((uint8_t *)msg + 16, e2e);
}
