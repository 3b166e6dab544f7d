/*
 * context.c - the S-CSCF context: clocks, ids, identities, dispatch of
 * what the seams deliver, and the profile in an SAA.
 */
#define SLOG_COMPONENT "scscf"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static bool named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static int add_identity(const xmlNode *pi, struct arena *a, struct scscf_identity *out)
{
	memset(out, 0, sizeof(*out));
	for (const xmlNode *c = pi->children; c; c = c->next) {
		xmlChar *text;

		if (!named(c, "Identity") && !named(c, "BarringIndication"))
			continue;
		text = xmlNodeGetContent(c);
		if (!text)
			return -ENOMEM;
		if (named(c, "Identity")) {
			out->uri = arena_str(a, str_trim(str_from_cstr((const char *)text)));
		} else {
			struct str v = str_trim(str_from_cstr((const char *)text));

			out->barred = str_eq_cstr(v, "1") || str_eq_cstr(v, "true");
		}
		xmlFree(text);
		if (named(c, "Identity") && !out->uri.s)
			return -ENOMEM;
	}
	return out->uri.len ? 0 : -EBADMSG;
}

int scscf_user_data_parse(struct str xml, struct arena *a, struct scscf_identity **out,
			  unsigned *n)
{
	struct scscf_identity *ids = NULL;
	unsigned count = 0, cap = 0;
	xmlDoc *doc;
	xmlNode *root;
	int err = 0;

	if (xml.len > 256 * 1024)
		return -EBADMSG;
	/* No network, no DTD, no entity expansion: the HSS is trusted, the
	 * parser hardened anyway. */
	doc = xmlReadMemory(xml.s, (int)xml.len, "user-data.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EBADMSG;
	root = xmlDocGetRootElement(doc);
	if (!root || !named(root, "IMSSubscription")) {
		err = -EBADMSG;
		goto out;
	}
	for (xmlNode *sp = root->children; sp && !err; sp = sp->next) {
		if (!named(sp, "ServiceProfile"))
			continue;
		for (xmlNode *pi = sp->children; pi && !err; pi = pi->next) {
			if (!named(pi, "PublicIdentity"))
				continue;
			if (count == cap) {
				struct scscf_identity *grown;

				cap = cap ? cap * 2 : 8;
				grown = arena_alloc(a, cap * sizeof(*grown));
				if (!grown) {
					err = -ENOMEM;
					break;
				}
				if (count)
					memcpy(grown, ids, count * sizeof(*grown));
				ids = grown;
			}
			err = add_identity(pi, a, &ids[count]);
			if (!err)
				count++;
		}
	}
	if (!err && count == 0)
		err = -EBADMSG;
	if (!err) {
		*out = ids;
		*n = count;
	}
out:
	xmlFreeDoc(doc);
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
