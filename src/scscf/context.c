/*
 * context.c - the S-CSCF context: clocks, ids, identities, dispatch of
 * what the seams deliver, and the profile in an SAA.
 */
#define SLOG_COMPONENT "scscf"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "sip/print.h"
#include "scscf/scscf.h"
#include "scscf/store.h"

static void auth_checkpoint(struct loop *loop, struct loop_timer *t)
{
	scscf_auth_checkpoint(t->ctx);
}

int scscf_init(struct scscf *s, struct loop *loop, const struct scscf_config *cfg)
{
	struct timespec ts;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->loop = loop;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->wall_base_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	s->loop_base_ms = loop_now_ms(loop);
	s->next_id = 1;
	snprintf(s->host, sizeof(s->host), "127.0.0.1:6060");
	ht_init(&s->aors, false);
	ht_init(&s->bindings, true);
	ht_init(&s->auths, false);
	ht_init(&s->auth_access, false);
	ht_init(&s->subs, true);
	ht_init(&s->sub_dialogs, false);
	ht_init(&s->regtx, true);
	ht_init(&s->regtx_txn, true);
	ht_init(&s->notifies, true);
	loop_timer_init(&s->auth_checkpoint, auth_checkpoint, s);
	return 0;
}

void scscf_fini(struct scscf *s)
{
	/* A clean stop keeps the challenges still waiting for their answers. */
	if (s->loop)
		scscf_auth_checkpoint(s);
	scscf_regtx_free_all(s);
	scscf_sub_free_all(s);
	scscf_binding_free_all(s);
	scscf_auth_free_all(s);
	ht_free(&s->aors);
	ht_free(&s->bindings);
	ht_free(&s->auths);
	ht_free(&s->auth_access);
	ht_free(&s->subs);
	ht_free(&s->sub_dialogs);
	ht_free(&s->regtx);
	ht_free(&s->regtx_txn);
	ht_free(&s->notifies);
}

uint64_t scscf_now_ms(struct scscf *s)
{
	return s->wall_base_ms + (loop_now_ms(s->loop) - s->loop_base_ms);
}

uint64_t scscf_new_id(struct scscf *s)
{
	return s->next_id++;
}

void scscf_trace(struct scscf *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!s->trace && slog_get_level() < SLOG_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->trace)
		s->trace(s->trace_ctx, line);
	log_debug("%s", line);
}

/* --- identities ---------------------------------------------------------- */

int scscf_aor_canonical(struct str text, struct arena *a, struct str *out)
{
	const char *scheme;
	struct sip_uri u;
	char host[256], port[8] = "";
	char *p;

	if (sip_uri_parse(str_trim(text), &u, NULL) < 0)
		return -EINVAL;
	if (u.scheme == SIP_URI_TEL) {
		p = arena_printf(a, "tel:%.*s", STR_FMT(u.number));
		goto done;
	}
	if (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS)
		return -EINVAL;
	scheme = u.scheme == SIP_URI_SIPS ? "sips" : "sip";
	/* Host names compare case-insensitively (RFC 3261 19.1.4), users do not. */
	if (u.host.len >= sizeof(host))
		return -EINVAL;
	for (size_t i = 0; i < u.host.len; i++)
		host[i] = (char)tolower((unsigned char)u.host.s[i]);
	host[u.host.len] = '\0';
	if (u.has_port)
		snprintf(port, sizeof(port), ":%u", u.port);
	p = arena_printf(a, "%s:%.*s%s%s%s", scheme, STR_FMT(u.user), u.has_user ? "@" : "", host,
			 port);
done:
	if (!p)
		return -ENOMEM;
	*out = str_from_cstr(p);
	return 0;
}

static uint16_t uri_port(const struct sip_uri *u)
{
	if (u->has_port)
		return u->port;
	return u->scheme == SIP_URI_SIPS ? 5061 : 5060;
}

bool scscf_same_hostport(struct str a, struct str b)
{
	struct sip_uri ua, ub;

	if (sip_uri_parse(a, &ua, NULL) < 0 || sip_uri_parse(b, &ub, NULL) < 0)
		return false;
	if (ua.scheme == SIP_URI_TEL || ub.scheme == SIP_URI_TEL)
		return false;
	return str_caseeq(ua.host, ub.host) && uri_port(&ua) == uri_port(&ub);
}

/* --- the profile of an SAA (TS 29.228 Annex B, Annex E) ------------------ */

/*
 * The profile is read as a stream of SAX events, not as a tree: the S-CSCF
 * needs four elements of a small document, and building the tree (a node,
 * a name and a text per element) cost more than the rest of the SAA. What
 * is read is what the tree walk read: IMSSubscription as the root, its
 * ServiceProfile children, their PublicIdentity children, and in each the
 * text under Identity and BarringIndication (the last of each counts).
 * Names are compared without their namespace prefix.
 *
 * A DTD is refused: 29.228 Annex E's CxDataType documents have none, and
 * without one no entity but the predefined five can appear.
 */
enum ud_field { UD_NONE, UD_IDENTITY, UD_BARRING };

struct ud_parse {
	xmlParserCtxtPtr ctxt;
	struct arena *a;
	struct scscf_identity *ids, cur;
	unsigned count, cap;
	unsigned depth;         /* elements open, the root at 1 */
	bool in_profile;        /* depth >= 2 inside a ServiceProfile */
	bool in_identity;       /* depth >= 3 inside its PublicIdentity */
	enum ud_field field;    /* depth >= 4 inside one of its fields */
	struct buf text;        /* the field's text so far */
	int err;
};

static void ud_fail(struct ud_parse *p, int err)
{
	if (!p->err)
		p->err = err;
	xmlStopParser(p->ctxt);
}

static bool ud_named(const xmlChar *localname, const char *name)
{
	return strcmp((const char *)localname, name) == 0;
}

static int ud_push(struct ud_parse *p)
{
	if (p->count == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 8;
		struct scscf_identity *grown = arena_alloc(p->a, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		if (p->count)
			memcpy(grown, p->ids, p->count * sizeof(*grown));
		p->ids = grown;
		p->cap = cap;
	}
	p->ids[p->count++] = p->cur;
	return 0;
}

static void ud_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
		     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct ud_parse *p = ctx;

	p->depth++;
	if (p->depth == 1 && !ud_named(localname, "IMSSubscription")) {
		ud_fail(p, -EBADMSG);
	} else if (p->depth == 2) {
		p->in_profile = ud_named(localname, "ServiceProfile");
	} else if (p->depth == 3 && p->in_profile) {
		p->in_identity = ud_named(localname, "PublicIdentity");
		memset(&p->cur, 0, sizeof(p->cur));
	} else if (p->depth == 4 && p->in_identity) {
		p->field = ud_named(localname, "Identity")	     ? UD_IDENTITY :
			   ud_named(localname, "BarringIndication") ? UD_BARRING :
								      UD_NONE;
		buf_reset(&p->text);
	}
}

static void ud_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		   const xmlChar *uri)
{
	struct ud_parse *p = ctx;
	struct str v;

	if (p->depth == 4 && p->field != UD_NONE) {
		if (buf_error(&p->text)) {
			ud_fail(p, -ENOMEM);
			return;
		}
		v = str_trim(buf_str(&p->text));
		if (p->field == UD_IDENTITY) {
			p->cur.uri = arena_str(p->a, v);
			if (!p->cur.uri.s)
				ud_fail(p, -ENOMEM);
		} else {
			p->cur.barred = str_eq_cstr(v, "1") || str_eq_cstr(v, "true");
		}
		p->field = UD_NONE;
	} else if (p->depth == 3 && p->in_identity) {
		if (!p->cur.uri.len)
			ud_fail(p, -EBADMSG);
		else if (ud_push(p))
			ud_fail(p, -ENOMEM);
		p->in_identity = false;
	} else if (p->depth == 2) {
		p->in_profile = false;
	}
	p->depth--;
}

static void ud_text(void *ctx, const xmlChar *ch, int len)
{
	struct ud_parse *p = ctx;

	if (p->field != UD_NONE)
		buf_put(&p->text, ch, (size_t)len);
}

static void ud_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
		   const xmlChar *system_id)
{
	ud_fail(ctx, -EBADMSG);
}

int scscf_user_data_parse(struct str xml, struct arena *a, struct scscf_identity **out,
			  unsigned *n)
{
	xmlSAXHandler sax = {
		.initialized = XML_SAX2_MAGIC,
		.startElementNs = ud_start,
		.endElementNs = ud_end,
		.characters = ud_text,
		.ignorableWhitespace = ud_text,
		.cdataBlock = ud_text,
		.internalSubset = ud_dtd,
		/* error, warning, fatalError and serror unset: silent. */
	};
	struct ud_parse p = { .a = a };
	int err;

	if (xml.len > 256 * 1024 || !xml.len)
		return -EBADMSG;
	/* No network and no entity expansion: nothing here resolves an
	 * external entity or loads a DTD (no handler for either). */
	p.ctxt = xmlCreateMemoryParserCtxt(xml.s, (int)xml.len);
	if (!p.ctxt)
		return -ENOMEM;
	memcpy(p.ctxt->sax, &sax, sizeof(sax));
	p.ctxt->userData = &p;
	xmlCtxtUseOptions(p.ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	buf_init(&p.text);
	xmlParseDocument(p.ctxt);
	err = p.err;
	if (!err && (!p.ctxt->wellFormed || !p.count))
		err = -EBADMSG;
	if (!err) {
		*out = p.ids;
		*n = p.count;
	}
	buf_free(&p.text);
	xmlFreeParserCtxt(p.ctxt);
	return err;
}

/* --- what the seams deliver ------------------------------------------------ */

void scscf_sip_request(struct scscf *s, uint64_t txn, struct sip_msg *msg)
{
	const struct sip_hdr *ev;

	if (msg->kind != SIP_MSG_REQUEST)
		return;
	switch (msg->method) {
	case SIP_METHOD_REGISTER:
		scscf_register(s, txn, msg);
		return;
	case SIP_METHOD_SUBSCRIBE:
		ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
		if (ev) {
			struct sip_event e;

			if (sip_event_parse(ev->value, &e, NULL) == 0 && str_eq_cstr(e.package, "reg")) {
				scscf_subscribe(s, txn, msg);
				return;
			}
		}
		break;
	default:
		break;
	}
	scscf_route(s, txn, msg);
}

void scscf_sip_txn_gone(struct scscf *s, uint64_t txn)
{
	scscf_regtx_gone(s, txn);
}

void scscf_cx_maa(struct scscf *s, uint64_t ref, const struct scscf_maa *a)
{
	scscf_regtx_maa(s, ref, a);
}

void scscf_cx_saa(struct scscf *s, uint64_t ref, const struct scscf_saa *a)
{
	if (ref == 0) {
		/* A background SAR (expiry, failure): nothing waits for it. */
		if (!scscf_cx_success(&a->result))
			log_warn("SAR without a waiting REGISTER failed: %s %u",
				 a->result.err ? strerror(-a->result.err) : "result",
				 a->result.code);
		return;
	}
	scscf_regtx_saa(s, ref, a);
}

int scscf_respond(struct scscf *s, uint64_t txn, unsigned code, const char *reason,
		  struct str extra)
{
	struct buf b;
	int err;

	buf_init(&b);
	err = s->sip->response_start(s->sip_ctx, txn, &b, code, str_from_cstr(reason));
	if (!err) {
		buf_put_str(&b, extra);
		sip_print_body(&b, STR_NULL, STR_NULL);
		err = buf_error(&b);
	}
	if (!err)
		err = s->sip->response_send(s->sip_ctx, txn, buf_str(&b));
	buf_free(&b);
	if (err)
		log_warn("cannot answer %u: %s", code, strerror(-err));
	return err;
}
