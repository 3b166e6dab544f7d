/*
 * msg.c - REGISTER, SUBSCRIBE, MESSAGE and OPTIONS as the UE writes them,
 * and the 2xx to REGISTER as it reads it.
 */
#include "ue/msg.h"

#include <errno.h>
#include <string.h>

#include "sip/hdr.h"
#include "sip/msg.h"
#include "sip/print.h"

#define MAX_FORWARDS "70"

static void print_contact_params(struct buf *b, struct str instance, unsigned reg_id)
{
	if (instance.len)
		buf_printf(b, ";+sip.instance=\"<%.*s>\";reg-id=%u", STR_FMT(instance), reg_id);
}

int ue_msg_register(struct buf *b, const struct ue_register *r)
{
	int rc;

	buf_printf(b, "REGISTER sip:%.*s SIP/2.0\r\n", STR_FMT(r->domain));
	buf_puts(b, "Max-Forwards: " MAX_FORWARDS "\r\n");
	buf_printf(b, "From: <%.*s>;tag=%.*s\r\n", STR_FMT(r->impu), STR_FMT(r->tag));
	buf_printf(b, "To: <%.*s>\r\n", STR_FMT(r->impu));
	buf_printf(b, "Call-ID: %.*s\r\n", STR_FMT(r->call_id));
	buf_printf(b, "CSeq: %u REGISTER\r\n", r->cseq);
	buf_printf(b, "Contact: <%.*s>", STR_FMT(r->contact));
	print_contact_params(b, r->instance, r->reg_id);
	if (r->expires == 0)
		buf_puts(b, ";expires=0");
	buf_puts(b, "\r\n");
	buf_printf(b, "Expires: %u\r\n", r->expires);
	rc = ue_print_authorization(b, r->cred, r->impi, r->domain, r->digest, r->cnonce);
	if (rc)
		return rc;
	/*
	 * RFC 3329 2.3.1, 33.203 7.1: sec-agree is required of the P-CSCF
	 * (Proxy-Require) and of the registrar path (Require); the P-CSCF
	 * removes both before forwarding.
	 */
	if (r->sec_client.len)
		buf_printf(b, "Security-Client: %.*s\r\n", STR_FMT(r->sec_client));
	if (r->sec_verify.len)
		buf_printf(b, "Security-Verify: %.*s\r\n", STR_FMT(r->sec_verify));
	if (r->sec_client.len || r->sec_verify.len) {
		buf_puts(b, "Require: sec-agree\r\n");
		buf_puts(b, "Proxy-Require: sec-agree\r\n");
	}
	buf_printf(b, "Supported: %s\r\n", r->outbound ? "path, outbound" : "path");
	buf_puts(b, "Allow: " UE_ALLOW "\r\n");
	sip_print_body(b, STR_NULL, STR_NULL);
	return buf_error(b);
}

int ue_msg_request(struct buf *b, const struct ue_request *r)
{
	buf_printf(b, "%.*s %.*s SIP/2.0\r\n", STR_FMT(r->method), STR_FMT(r->ruri));
	buf_puts(b, "Max-Forwards: " MAX_FORWARDS "\r\n");
	for (unsigned i = 0; i < r->nroute; i++)
		buf_printf(b, "Route: <%.*s>\r\n", STR_FMT(r->route[i]));
	buf_printf(b, "From: <%.*s>;tag=%.*s\r\n", STR_FMT(r->from), STR_FMT(r->tag));
	buf_printf(b, "To: <%.*s>", STR_FMT(r->to));
	if (r->to_tag.len)
		buf_printf(b, ";tag=%.*s", STR_FMT(r->to_tag));
	buf_puts(b, "\r\n");
	buf_printf(b, "Call-ID: %.*s\r\n", STR_FMT(r->call_id));
	buf_printf(b, "CSeq: %u %.*s\r\n", r->cseq, STR_FMT(r->method));
	if (r->contact.len) {
		buf_printf(b, "Contact: <%.*s%s>", STR_FMT(r->contact), r->ob ? ";ob" : "");
		if (r->instance.len)
			buf_printf(b, ";+sip.instance=\"<%.*s>\"", STR_FMT(r->instance));
		buf_puts(b, "\r\n");
	}
	if (r->event.len) {
		buf_printf(b, "Event: %.*s\r\n", STR_FMT(r->event));
		buf_printf(b, "Expires: %u\r\n", r->expires);
	}
	if (r->accept.len)
		buf_printf(b, "Accept: %.*s\r\n", STR_FMT(r->accept));
	sip_print_body(b, r->content_type, r->body);
	return buf_error(b);
}

/* Copy the URIs of every value of an address header into the arena. */
static int copy_uris(const struct sip_msg *m, enum sip_hdr_id id, struct arena *a,
		     struct str **out, unsigned *n)
{
	unsigned count = sip_msg_hdr_count(m, id), i = 0;
	struct str *v;

	*out = NULL;
	*n = 0;
	if (!count)
		return 0;
	v = arena_alloc(a, count * sizeof(*v));
	if (!v)
		return -ENOMEM;
	sip_msg_foreach(m, id, h) {
		struct sip_addr addr;

		if (sip_addr_parse(h->value, &addr, NULL) < 0)
			return -EBADMSG;
		v[i] = arena_str(a, addr.uri);
		if (!v[i].s)
			return -ENOMEM;
		i++;
	}
	*out = v;
	*n = count;
	return 0;
}

int ue_msg_read_reg_2xx(struct sip_msg *m, struct str contact, uint32_t asked, struct arena *a,
			struct ue_reg_result *out)
{
	const struct sip_hdr *ft;
	struct sip_uri ours, theirs;
	uint32_t expires = asked;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sip_uri_parse(contact, &ours, NULL) < 0)
		return -EINVAL;
	/* RFC 3261 10.2.4: the registrar's word is the Expires of our binding. */
	if (sip_msg_expires(m, &expires, NULL) == -EBADMSG)
		return -EBADMSG;
	sip_msg_foreach(m, SIP_HDR_CONTACT, h) {
		struct sip_contact c;

		if (sip_contact_parse(h->value, &c, NULL) < 0)
			return -EBADMSG;
		if (c.star || sip_uri_parse(c.addr.uri, &theirs, NULL) < 0)
			continue;
		if (!sip_uri_equal(&ours, &theirs))
			continue;
		out->contact_listed = true;
		if (c.has_expires)
			expires = c.expires;
	}
	out->expires = expires;
	out->outbound = sip_msg_has_token(m, SIP_HDR_REQUIRE, "outbound");
	ft = sip_msg_hdr(m, SIP_HDR_FLOW_TIMER);
	if (ft && sip_uint_parse(ft->value, UINT32_MAX, &out->flow_timer, NULL) < 0)
		out->flow_timer = 0;
	rc = copy_uris(m, SIP_HDR_SERVICE_ROUTE, a, &out->routes, &out->nroutes);
	if (rc == 0)
		rc = copy_uris(m, SIP_HDR_P_ASSOCIATED_URI, a, &out->assoc, &out->nassoc);
	return rc;
}
