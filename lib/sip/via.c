/*
 * via.c - branches and tags, received / rport, response routing.
 */
#include "sip/via.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "sip/print.h"

/* ------------------------------------------------------------------ */
/* Identifiers                                                        */

/*
 * The default source. Uniqueness is what RFC 3261 8.1.1.7 asks of a
 * branch; it comes from a counter, mixed through splitmix64 (a bijection,
 * so two counter values never give the same 64 bits) under a random key.
 * The key makes the ids of two processes (or two runs) differ and the
 * next id hard to guess; a fresh getrandom() per id would cost a system
 * call on the hot path for no gain.
 */
static _Thread_local struct {
	bool seeded;
	uint64_t key[2];
	uint64_t counter;
} idgen;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void default_fill(void *ctx, uint8_t *out, size_t n)
{
	(void)ctx;
	if (!idgen.seeded) {
		/* getrandom() on a booted system does not fail for 16 bytes;
		 * if it did, the time-free counter still gives unique ids. */
		if (getrandom(idgen.key, sizeof(idgen.key), 0) != (ssize_t)sizeof(idgen.key))
			idgen.key[0] ^= (uint64_t)(uintptr_t)&idgen;
		idgen.seeded = true;
	}
	while (n) {
		uint64_t v = splitmix64(idgen.key[0] ^ idgen.counter) ^ idgen.key[1];
		size_t k = n < 8 ? n : 8;

		/* Both halves of a 128-bit id come from consecutive counters. */
		idgen.counter++;
		memcpy(out, &v, k);
		out += k;
		n -= k;
	}
}

const struct sip_ids sip_ids_default = { .fill = default_fill, .ctx = NULL };

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Encode the first `bits` bits of `in` (most significant first) in base32. */
static size_t base32(const uint8_t *in, unsigned bits, char *out)
{
	size_t n = 0;

	for (unsigned bit = 0; bit < bits; bit += 5) {
		unsigned v = 0;

		for (unsigned j = 0; j < 5; j++) {
			unsigned b = bit + j;

			v = (v << 1) | (b < bits ? (in[b / 8] >> (7 - b % 8)) & 1u : 0u);
		}
		out[n++] = b32[v];
	}
	out[n] = '\0';
	return n;
}

size_t sip_branch_new(const struct sip_ids *ids, char out[SIP_BRANCH_LEN])
{
	uint8_t r[16];
	size_t n = sizeof(SIP_BRANCH_COOKIE) - 1;

	ids->fill(ids->ctx, r, sizeof(r));
	memcpy(out, SIP_BRANCH_COOKIE, n);
	return n + base32(r, 128, out + n);
}

size_t sip_tag_new(const struct sip_ids *ids, char out[SIP_TAG_LEN])
{
	uint8_t r[10];

	ids->fill(ids->ctx, r, sizeof(r));
	return base32(r, 80, out);
}

bool sip_branch_is_rfc3261(struct str branch)
{
	return branch.len >= sizeof(SIP_BRANCH_COOKIE) - 1 &&
	       memcmp(branch.s, SIP_BRANCH_COOKIE, sizeof(SIP_BRANCH_COOKIE) - 1) == 0;
}

/* ------------------------------------------------------------------ */
/* Incoming requests                                                  */

/* Does the Via's sent-by host name the address the request came from? */
static bool sent_by_is_source(const struct sip_via *via, const struct sip_flow *flow)
{
	union sip_sockaddr a;

	if (sip_sockaddr_from_host(via->host, 0, &a) < 0)
		return false;
	return sip_sockaddr_same_host(&a, &flow->remote);
}

int sip_via_fix_value(const struct sip_via *via, const struct sip_flow *flow, struct buf *out,
		      bool *changed)
{
	char host[SIP_SOCKADDR_STRLEN];
	bool add_received, fill_rport;
	struct str rest;
	struct sip_param p;

	fill_rport = via->rport && !via->has_rport_value;
	/* RFC 3581 4: with rport, received is added even when it equals sent-by. */
	add_received = !via->received.s && (fill_rport || !sent_by_is_source(via, flow));
	if (!sip_sockaddr_is_set(&flow->remote))
		add_received = fill_rport = false;
	*changed = add_received || fill_rport;
	if (!*changed) {
		buf_put_str(out, via->raw);
		goto out;
	}
	/* Everything before the parameters, as written. */
	buf_put(out, via->raw.s, (size_t)(via->params.s ? via->params.s - via->raw.s : (ptrdiff_t)via->raw.len));
	rest = via->params;
	while (rest.len && sip_param_next(&rest, &p) == 1) {
		buf_putc(out, ';');
		if (fill_rport && str_caseeq_cstr(p.name, "rport") && !p.value.s)
			buf_printf(out, "rport=%u", sip_sockaddr_port(&flow->remote));
		else
			buf_put_str(out, p.raw);
	}
	if (add_received) {
		sip_sockaddr_host(&flow->remote, false, host, sizeof(host));
		buf_printf(out, ";received=%s", host);
	}
out:
	return buf_error(out);
}

int sip_via_fix_print(struct sip_msg *req, const struct sip_flow *flow, struct buf *out)
{
	char mem[1024];
	struct buf value;
	const struct sip_via *via;
	const struct sip_hdr *top;
	struct sip_edit edit;
	bool changed;
	int rc;

	rc = sip_msg_via(req, &via, NULL);
	if (rc < 0)
		goto out;
	buf_init_fixed(&value, mem, sizeof(mem));
	rc = sip_via_fix_value(via, flow, &value, &changed);
	if (rc < 0)
		goto out;
	if (!changed) {
		buf_put_str(out, req->buf);
		rc = buf_error(out);
		goto out;
	}
	top = sip_msg_hdr(req, SIP_HDR_VIA);
	sip_edit_init(&edit, req);
	rc = sip_edit_replace(&edit, top, buf_str(&value));
	if (rc < 0)
		goto out;
	rc = sip_edit_print(&edit, out);
out:
	return rc;
}

/* ------------------------------------------------------------------ */
/* Outgoing responses                                                 */

int sip_via_reply_flow(const struct sip_via *via, const struct sip_flow *in, bool reliable,
		       struct sip_flow *out)
{
	uint16_t port = via->has_port ? via->port : 5060;
	union sip_sockaddr dst;
	int rc;

	*out = *in;
	out->strict = false;
	if (reliable) {
		/*
		 * Back over the connection the request came on (out->conn);
		 * if it is gone, a new one goes to received and the sent-by
		 * port (18.2.2), never to the old ephemeral source port.
		 */
		rc = sip_sockaddr_from_host(via->received.s ? via->received : via->host, port, &dst);
	} else if (via->maddr.s && via->maddr.len) {
		rc = sip_sockaddr_from_host(via->maddr, port, &dst);
	} else if (via->rport) {
		/* RFC 3581 4: source address and port, whatever sent-by says. */
		rc = 0;
		if (via->has_rport_value && via->received.s)
			rc = sip_sockaddr_from_host(via->received, via->rport_value, &dst);
		else
			dst = in->remote;
	} else {
		rc = sip_sockaddr_from_host(via->received.s ? via->received : via->host, port, &dst);
	}
	if (rc < 0)
		goto out;
	out->remote = dst;
out:
	return rc;
}

void sip_via_print_value(struct buf *b, enum sip_transport proto, struct str sent_by,
			 struct str branch, bool rport)
{
	buf_printf(b, "SIP/2.0/%s %.*s;branch=%.*s%s", sip_transport_name(proto), STR_FMT(sent_by),
		   STR_FMT(branch), rport ? ";rport" : "");
}

int sip_via_prepend(struct str msg, struct str via_value, struct buf *out)
{
	const char *crlf = msg.len ? memmem(msg.s, msg.len, "\r\n", 2) : NULL;
	size_t line;
	int rc = -EBADMSG;

	if (!crlf)
		goto out;
	line = (size_t)(crlf - msg.s) + 2;
	buf_put(out, msg.s, line);
	buf_puts(out, "Via: ");
	buf_put_str(out, via_value);
	buf_puts(out, "\r\n");
	buf_put(out, msg.s + line, msg.len - line);
	rc = buf_error(out);
out:
	return rc;
}
