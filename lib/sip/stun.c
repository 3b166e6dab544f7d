/*
 * stun.c - STUN binding requests and responses (RFC 5389).
 */
#include "sip/stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* Message types (RFC 5389 6, 18.1). */
enum {
	BINDING_REQUEST = 0x0001,
	BINDING_SUCCESS = 0x0101,
	BINDING_ERROR = 0x0111,
};

/* Attributes (RFC 5389 18.2). */
enum {
	ATTR_MAPPED_ADDRESS = 0x0001,
	ATTR_USERNAME = 0x0006,
	ATTR_MESSAGE_INTEGRITY = 0x0008,
	ATTR_ERROR_CODE = 0x0009,
	ATTR_UNKNOWN_ATTRIBUTES = 0x000a,
	ATTR_REALM = 0x0014,
	ATTR_NONCE = 0x0015,
	ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	ATTR_FINGERPRINT = 0x8028,
};

#define FINGERPRINT_XOR 0x5354554eu /* "STUN" (RFC 5389 15.5) */
#define MAX_UNKNOWN 8

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* CRC-32 of ISO 3309 / ITU-T V.42 (RFC 5389 15.5), bit by bit: a few
 * hundred bytes per keepalive do not justify a table. */
static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

bool sip_stun_is(const uint8_t *p, size_t len)
{
	return len >= SIP_STUN_HDR && (p[0] & 0xc0) == 0 && get32(p + 4) == SIP_STUN_MAGIC;
}

/*
 * Walk the attributes. Returns 0 and fills the fields asked for, or
 * -EBADMSG when an attribute overruns the message or FINGERPRINT is not
 * last or does not match.
 */
struct stun_attrs {
	bool fingerprint;
	uint16_t unknown[MAX_UNKNOWN];
	unsigned n_unknown;
	const uint8_t *xor_mapped;
	uint16_t xor_mapped_len;
	bool error;
};

static bool understood(uint16_t type)
{
	switch (type) {
	case ATTR_MAPPED_ADDRESS:
	case ATTR_USERNAME:
	case ATTR_MESSAGE_INTEGRITY:
	case ATTR_ERROR_CODE:
	case ATTR_UNKNOWN_ATTRIBUTES:
	case ATTR_REALM:
	case ATTR_NONCE:
	case ATTR_XOR_MAPPED_ADDRESS:
		return true;
	default:
		return false;
	}
}

static int read_attrs(const uint8_t *msg, size_t len, struct stun_attrs *a)
{
	size_t off = SIP_STUN_HDR;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	while (off < len) {
		uint16_t type, alen;

		if (len - off < 4 || a->fingerprint) {
			rc = -EBADMSG; /* truncated header, or something after FINGERPRINT */
			goto out;
		}
		type = get16(msg + off);
		alen = get16(msg + off + 2);
		if ((size_t)alen + 4 > len - off) {
			rc = -EBADMSG;
			goto out;
		}
		if (type == ATTR_FINGERPRINT) {
			if (alen != 4 || get32(msg + off + 4) != (crc32(msg, off) ^ FINGERPRINT_XOR)) {
				rc = -EBADMSG;
				goto out;
			}
			a->fingerprint = true;
		} else if (type == ATTR_XOR_MAPPED_ADDRESS) {
			a->xor_mapped = msg + off + 4;
			a->xor_mapped_len = alen;
		} else if (type == ATTR_ERROR_CODE) {
			a->error = true;
		} else if (type < 0x8000 && !understood(type) && a->n_unknown < MAX_UNKNOWN) {
			/* Comprehension-required (RFC 5389 15): must be reported. */
			a->unknown[a->n_unknown++] = type;
		}
		off += 4 + (((size_t)alen + 3) & ~(size_t)3);
	}
	if (off != len)
		rc = -EBADMSG;
out:
	return rc;
}

/* Validate the header: STUN, length matches, multiple of 4 (RFC 5389 7.3). */
static int check_header(const uint8_t *p, size_t len)
{
	if (!sip_stun_is(p, len) || len > SIP_STUN_MAX || (len & 3) ||
	    (size_t)get16(p + 2) != len - SIP_STUN_HDR)
		return -EBADMSG;
	return 0;
}

static size_t add_fingerprint(uint8_t *out, size_t off)
{
	put16(out + off, ATTR_FINGERPRINT);
	put16(out + off + 2, 4);
	/* The length field already counts FINGERPRINT when the CRC is taken. */
	put16(out + 2, (uint16_t)(off + 8 - SIP_STUN_HDR));
	put32(out + off + 4, crc32(out, off) ^ FINGERPRINT_XOR);
	return off + 8;
}

int sip_stun_answer(const uint8_t *req, size_t len, const union sip_sockaddr *from, uint8_t *out,
		    size_t cap)
{
	struct stun_attrs a;
	size_t off = SIP_STUN_HDR;
	int rc;

	rc = check_header(req, len);
	if (rc < 0)
		goto out;
	rc = read_attrs(req, len, &a);
	if (rc < 0)
		goto out;
	if (get16(req) != BINDING_REQUEST || cap < SIP_STUN_MAX) {
		rc = 0;
		goto out;
	}
	memcpy(out + 4, req + 4, 16); /* cookie and transaction id */
	if (a.n_unknown) {
		static const char reason[] = "Unknown Attribute";
		size_t rlen = sizeof(reason) - 1;

		put16(out, BINDING_ERROR);
		put16(out + off, ATTR_ERROR_CODE);
		put16(out + off + 2, (uint16_t)(4 + rlen));
		memset(out + off + 4, 0, 2);
		out[off + 6] = 4;  /* class 4 */
		out[off + 7] = 20; /* number 20: 420 */
		memcpy(out + off + 8, reason, rlen);
		off += 8 + rlen;
		while (off & 3)
			out[off++] = 0;
		put16(out + off, ATTR_UNKNOWN_ATTRIBUTES);
		put16(out + off + 2, (uint16_t)(2 * a.n_unknown));
		off += 4;
		for (unsigned i = 0; i < a.n_unknown; i++, off += 2)
			put16(out + off, a.unknown[i]);
		while (off & 3)
			out[off++] = 0;
	} else if (from->sa.sa_family == AF_INET || from->sa.sa_family == AF_INET6) {
		bool v6 = from->sa.sa_family == AF_INET6;
		const uint8_t *addr = v6 ? from->in6.sin6_addr.s6_addr
					 : (const uint8_t *)&from->in.sin_addr.s_addr;
		size_t alen = v6 ? 16 : 4;

		put16(out, BINDING_SUCCESS);
		put16(out + off, ATTR_XOR_MAPPED_ADDRESS);
		put16(out + off + 2, (uint16_t)(4 + alen));
		out[off + 4] = 0;
		out[off + 5] = v6 ? 0x02 : 0x01;
		put16(out + off + 6, (uint16_t)(sip_sockaddr_port(from) ^ (SIP_STUN_MAGIC >> 16)));
		/* X-Address: the address XOR the cookie (and, for IPv6, the
		 * transaction id): bytes 4..19 of the header (RFC 5389 15.2). */
		for (size_t i = 0; i < alen; i++)
			out[off + 8 + i] = addr[i] ^ req[4 + i];
		off += 8 + alen;
	} else {
		rc = 0;
		goto out;
	}
	put16(out + 2, (uint16_t)(off - SIP_STUN_HDR));
	if (a.fingerprint)
		off = add_fingerprint(out, off);
	rc = (int)off;
out:
	return rc;
}

size_t sip_stun_request(uint8_t out[SIP_STUN_HDR], const uint8_t txid[12])
{
	put16(out, BINDING_REQUEST);
	put16(out + 2, 0);
	put32(out + 4, SIP_STUN_MAGIC);
	memcpy(out + 8, txid, 12);
	return SIP_STUN_HDR;
}

bool sip_stun_is_response(const uint8_t *p, size_t len)
{
	return sip_stun_is(p, len) && (get16(p) == BINDING_SUCCESS || get16(p) == BINDING_ERROR);
}

int sip_stun_parse_response(const uint8_t *p, size_t len, const uint8_t txid[12],
			    union sip_sockaddr *mapped)
{
	struct stun_attrs a;
	const uint8_t *x;
	int rc;

	rc = check_header(p, len);
	if (rc < 0)
		goto out;
	rc = read_attrs(p, len, &a);
	if (rc < 0)
		goto out;
	if (memcmp(p + 8, txid, 12) != 0) {
		rc = -ENOENT;
		goto out;
	}
	if (get16(p) == BINDING_ERROR) {
		rc = -EPROTO;
		goto out;
	}
	x = a.xor_mapped;
	if (get16(p) != BINDING_SUCCESS || !x) {
		rc = -ENOENT;
		goto out;
	}
	memset(mapped, 0, sizeof(*mapped));
	/* Length first: a short attribute may end the message. */
	if (a.xor_mapped_len == 8 && x[1] == 0x01) {
		mapped->in.sin_family = AF_INET;
		for (int i = 0; i < 4; i++)
			((uint8_t *)&mapped->in.sin_addr.s_addr)[i] = x[4 + i] ^ p[4 + i];
	} else if (a.xor_mapped_len == 20 && x[1] == 0x02) {
		mapped->in6.sin6_family = AF_INET6;
		for (int i = 0; i < 16; i++)
			mapped->in6.sin6_addr.s6_addr[i] = x[4 + i] ^ p[4 + i];
	} else {
		rc = -EBADMSG;
		goto out;
	}
	sip_sockaddr_set_port(mapped, (uint16_t)(get16(x + 2) ^ (SIP_STUN_MAGIC >> 16)));
out:
	return rc;
}
