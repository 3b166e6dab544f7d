/*
 * route.c - requests that are not REGISTER or reg-event SUBSCRIBE.
 *
 * Terminating (TS 24.229 5.4.3.3, RFC 3261 16.5/16.6): a request to an
 * IMPU of the home domain goes to every live binding of it in parallel,
 * Request-URI = the binding's contact, the binding's Path pre-loaded as
 * Route (RFC 3327 5.3), so it crosses the P-CSCF and the SAs of that
 * registration. The proxy core returns the best response. An IMPU with no
 * live binding (unknown, unregistered, expired) gets 404.
 *
 * Originating (the UE's requests through the Service-Route we gave it):
 * our Route is consumed by the proxy core, and the request goes on to its
 * Request-URI: terminating processing when that is one of ours, otherwise
 * to the host it names.
 */
#define SLOG_COMPONENT "scscf"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/log.h"
#include "scscf/scscf.h"

/* The same contact through the same Path is one target, whatever IMPU led to it. */
static bool duplicate(const struct scscf_target *t, unsigned n, const struct scscf_binding *b)
{
	for (unsigned i = 0; i < n; i++) {
		bool same = str_eq(t[i].uri, b->contact) && t[i].n_routes == b->n_path;

		for (unsigned k = 0; same && k < b->n_path; k++)
			same = str_eq(t[i].routes[k], b->path[k]);
		if (same)
			return true;
	}
	return false;
}

static bool home(struct scscf *s, const struct sip_uri *u)
{
	if (u->scheme == SIP_URI_TEL)
		return true;
	return (u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS) &&
	       str_caseeq_cstr(u->host, s->cfg.domain);
}

void scscf_route(struct scscf *s, uint64_t txn, struct sip_msg *msg)
{
	struct scscf_target targets[SCSCF_MAX_TARGETS];
	const struct sip_uri *ruri;
	struct scscf_aor *a;
	struct arena tmp;
	struct str impu;
	unsigned n = 0;
	int err;

	/* An ACK outside a transaction is the glue's to forward statelessly. */
	if (!txn)
		return;
	if (sip_msg_ruri(msg, &ruri, NULL) < 0) {
		scscf_respond(s, txn, 400, "Bad Request-URI", STR_NULL);
		return;
	}
	if (!home(s, ruri)) {
		/* Originating towards another domain: on to the Request-URI. */
		memset(&targets[0], 0, sizeof(targets[0]));
		err = s->sip->fork(s->sip_ctx, txn, targets, 1);
		if (err)
			log_info("%.*s to %.*s not forwarded: %s", STR_FMT(msg->method_name),
				 STR_FMT(ruri->raw), strerror(-err));
		else
			s->stats.forwarded++;
		return;
	}
	arena_init(&tmp, 512, 0);
	if (scscf_aor_canonical(ruri->raw, &tmp, &impu) < 0) {
		scscf_respond(s, txn, 400, "Bad Request-URI", STR_NULL);
		goto out;
	}
	a = scscf_aor_find(s, impu);
	for (unsigned i = 0; a && i < a->n && n < SCSCF_MAX_TARGETS; i++) {
		const struct scscf_binding *b = a->b[i];

		if (duplicate(targets, n, b))
			continue;
		memset(&targets[n], 0, sizeof(targets[n]));
		targets[n].binding = b->id;
		targets[n].uri = b->contact;
		targets[n].n_routes = b->n_path;
		for (unsigned k = 0; k < b->n_path; k++)
			targets[n].routes[k] = b->path[k];
		n++;
	}
	if (!n) {
		s->stats.not_found++;
		log_info("%.*s to %.*s: not registered, 404", STR_FMT(msg->method_name),
			 STR_FMT(impu));
		scscf_respond(s, txn, 404, "Not Registered", STR_NULL);
		goto out;
	}
	scscf_trace(s, "route %.*s to %.*s: %u binding(s)", STR_FMT(msg->method_name),
		    STR_FMT(impu), n);
	log_info("%.*s to %.*s: forked to %u binding(s)", STR_FMT(msg->method_name),
		 STR_FMT(impu), n);
	err = s->sip->fork(s->sip_ctx, txn, targets, n);
	if (err)
		log_info("%.*s to %.*s: no branch started: %s", STR_FMT(msg->method_name),
			 STR_FMT(impu), strerror(-err));
	else
		s->stats.forwarded++;
out:
	arena_destroy(&tmp);
}
