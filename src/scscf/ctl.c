/*
 * ctl.c - what the S-CSCF answers on its control socket (lib/core's
 * ctlsock; docs/architecture.md, "Control sockets"; docs/scscf.md).
 *
 *   status                          counters, policy, HSS connection
 *   bindings [IMPU]                 every binding (of an IMPU)
 *   subscriptions [IMPU]            reg-event subscriptions
 *   reginfo IMPU                    the full reg-event document of an IMPU
 *   dereg IMPU [binding=N] [event=deactivated|probation|rejected] [retry=S]
 *                                   network-initiated deregistration
 *   reauth IMPU [binding=N]         network-initiated re-authentication
 */
#include "scscf/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scscf/cx.h"

/* key=value arguments after the positional ones. */
static struct str opt(const struct ctl_request *req, const char *key)
{
	size_t l = strlen(key);

	for (int i = 2; i < req->argc; i++) {
		struct str a = req->argv[i];

		if (a.len > l && memcmp(a.s, key, l) == 0 && a.s[l] == '=')
			return str_sub(a, l + 1, a.len);
	}
	return STR_NULL;
}

static int number(struct str v, uint64_t *out)
{
	return str_to_u64(v, UINT64_MAX, out);
}

/* The IMPU argument, canonical, in `a`; NULL error on success. */
static int impu_arg(const struct ctl_request *req, struct arena *a, struct str *out,
		    const char **error)
{
	if (req->argc < 2 || scscf_aor_canonical(req->argv[1], a, out) < 0) {
		*error = "IMPU must be a SIP or tel URI";
		return -EINVAL;
	}
	return 0;
}

static int cmd_status(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	struct scscf_ctl *c = ctx;
	const struct scscf_stats *st = &c->s->stats;

	json_kv_cstring(w, "function", "scscf");
	json_kv_cstring(w, "policy", scscf_policy_names[c->s->cfg.policy]);
	json_kv_cstring(w, "host", c->s->host);
	json_kv_cstring(w, "hss", c->cx ? (scscf_cx_connected(c->cx) ? "connected" :
								     "disconnected") :
					  "none");
	if (c->cx) {
		json_key(w, "cx");
		scscf_cx_status(c->cx, w);
	}
	json_kv_int(w, "bindings", (int64_t)c->s->bindings.n);
	json_kv_int(w, "subscriptions", (int64_t)c->s->subs.n);
	json_kv_int(w, "challenges", (int64_t)c->s->auths.n);
	json_key(w, "counters");
	json_begin_object(w);
#define COUNTER(name) json_kv_int(w, #name, (int64_t)st->name)
	COUNTER(registers);
	COUNTER(challenges);
	COUNTER(registrations);
	COUNTER(refreshes);
	COUNTER(deregistrations);
	COUNTER(auth_failures);
	COUNTER(expired);
	COUNTER(notifies);
	COUNTER(notify_failures);
	COUNTER(probes);
	COUNTER(probes_kept);
	COUNTER(forwarded);
	COUNTER(not_found);
	COUNTER(flows_failed);
#undef COUNTER
	json_end_object(w);
	return 0;
}

static void binding_json(struct scscf *s, const struct scscf_binding *x, struct json_writer *w)
{
	char route[sizeof(s->host) + 64];

	json_begin_object(w);
	json_kv_int(w, "id", (int64_t)x->id);
	json_key(w, "impu");
	json_string(w, x->impu);
	json_key(w, "impi");
	json_string(w, x->impi);
	json_key(w, "contact");
	json_string(w, x->contact);
	json_kv_int(w, "expires", (int64_t)scscf_binding_expires_in(s, x));
	json_kv_cstring(w, "event", reginfo_event_name(x->event));
	json_kv_bool(w, "outbound", x->outbound);
	if (x->instance.len) {
		json_key(w, "instance");
		json_string(w, x->instance);
	}
	if (x->reg_id)
		json_kv_int(w, "reg_id", x->reg_id);
	json_kv_bool(w, "reauth", x->reauth);
	json_key(w, "path");
	json_begin_array(w);
	for (unsigned i = 0; i < x->n_path; i++)
		json_string(w, x->path[i]);
	json_end_array(w);
	json_key(w, "impus");
	json_begin_array(w);
	for (unsigned i = 0; i < x->n_irs; i++)
		if (!x->irs[i].barred)
			json_string(w, x->irs[i].uri);
	json_end_array(w);
	snprintf(route, sizeof(route), "<sip:orig-%" PRIu64 "@%s;lr>", x->id, s->host);
	json_kv_cstring(w, "service_route", route);
	json_end_object(w);
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Bindings in id order, of one IMPU or all. */
static int cmd_bindings(void *ctx, const struct ctl_request *req, struct json_writer *w,
			const char **error)
{
	struct scscf_ctl *c = ctx;
	struct scscf *s = c->s;
	struct scscf_aor *a = NULL;
	struct arena tmp;
	struct str impu;
	uint64_t *ids;
	size_t n = 0;
	int err = 0;

	arena_init(&tmp, 256, 0);
	if (req->argc > 1) {
		err = impu_arg(req, &tmp, &impu, error);
		a = err ? NULL : scscf_aor_find(s, impu);
	}
	ids = calloc(s->bindings.n + 1, sizeof(*ids));
	if (!err && !ids) {
		*error = "no memory";
		err = -ENOMEM;
	}
	if (err)
		goto out;
	if (req->argc > 1) {
		for (unsigned i = 0; a && i < a->n; i++)
			ids[n++] = a->b[i]->id;
	} else {
		struct ht_iter it = { 0 };
		struct ht_node *node;

		while ((node = ht_iter_next(&s->bindings, &it)))
			ids[n++] = ht_entry(node, struct scscf_binding, by_id)->id;
	}
	qsort(ids, n, sizeof(*ids), by_id);
	json_key(w, "bindings");
	json_begin_array(w);
	for (size_t i = 0; i < n; i++)
		binding_json(s, scscf_binding_find(s, ids[i]), w);
	json_end_array(w);
out:
	free(ids);
	arena_destroy(&tmp);
	return err;
}

static int cmd_subscriptions(void *ctx, const struct ctl_request *req, struct json_writer *w,
			     const char **error)
{
	static const char *const kinds[] = { "ue", "pcscf", "other" };
	struct scscf_ctl *c = ctx;
	struct scscf *s = c->s;
	struct ht_iter it = { 0 };
	struct ht_node *n;
	struct arena tmp;
	struct str impu = STR_NULL;
	uint64_t now = scscf_now_ms(s);
	int err = 0;

	arena_init(&tmp, 256, 0);
	if (req->argc > 1)
		err = impu_arg(req, &tmp, &impu, error);
	if (err)
		goto out;
	json_key(w, "subscriptions");
	json_begin_array(w);
	while ((n = ht_iter_next(&s->subs, &it))) {
		const struct scscf_sub *x = ht_entry(n, struct scscf_sub, by_id);

		if (impu.s && !str_eq(x->impu, impu))
			continue;
		json_begin_object(w);
		json_kv_int(w, "id", (int64_t)x->id);
		json_key(w, "impu");
		json_string(w, x->impu);
		json_key(w, "watcher");
		json_string(w, x->watcher);
		json_key(w, "contact");
		json_string(w, x->target);
		json_kv_cstring(w, "kind", kinds[x->kind]);
		json_kv_int(w, "version", (int64_t)x->version);
		json_kv_int(w, "expires",
			    (int64_t)(x->expires_ms > now ? (x->expires_ms - now) / 1000 : 0));
		json_end_object(w);
	}
	json_end_array(w);
out:
	arena_destroy(&tmp);
	return err;
}

static int cmd_reginfo(void *ctx, const struct ctl_request *req, struct json_writer *w,
		       const char **error)
{
	struct scscf_ctl *c = ctx;
	struct reginfo_error rerr;
	struct reginfo doc;
	struct arena a;
	struct str impu;
	size_t len;
	char *xml;
	int err;

	arena_init(&a, 4096, 0);
	err = impu_arg(req, &a, &impu, error);
	xml = err ? NULL : arena_alloc(&a, 65536);
	if (!err && (!xml || scscf_reginfo_full(c->s, impu, 0, &a, &doc) < 0 ||
		     reginfo_build(&doc, xml, 65536, &len, &rerr) < 0)) {
		*error = "cannot build the document";
		err = -EIO;
	}
	if (!err) {
		json_key(w, "impu");
		json_string(w, impu);
		json_key(w, "reginfo");
		json_string(w, str_make(xml, len));
	}
	arena_destroy(&a);
	return err;
}

static int admin(struct scscf_ctl *c, const struct ctl_request *req, struct json_writer *w,
		 const char **error, bool dereg)
{
	struct str event = opt(req, "event"), b = opt(req, "binding"), r = opt(req, "retry");
	enum reginfo_event ev = REGINFO_EV_DEACTIVATED;
	uint64_t binding = 0, retry = 0;
	unsigned count = 0;
	struct arena a;
	struct str impu;
	int err;

	arena_init(&a, 512, 0);
	err = impu_arg(req, &a, &impu, error);
	if (!err && ((b.s && number(b, &binding)) || (r.s && number(r, &retry)))) {
		*error = "binding= and retry= take numbers";
		err = -EINVAL;
	}
	for (int i = 2; !err && i < req->argc; i++) {
		struct str x = req->argv[i];

		if (!(x.len > 6 && !memcmp(x.s, "event=", 6)) &&
		    !(x.len > 8 && !memcmp(x.s, "binding=", 8)) &&
		    !(x.len > 6 && !memcmp(x.s, "retry=", 6))) {
			*error = "arguments are binding=N, event=E, retry=S";
			err = -EINVAL;
		}
	}
	if (!err && event.s) {
		if (!dereg) {
			*error = "event= is for dereg";
			err = -EINVAL;
		} else if (str_eq_cstr(event, "deactivated")) {
			ev = REGINFO_EV_DEACTIVATED;
		} else if (str_eq_cstr(event, "probation")) {
			ev = REGINFO_EV_PROBATION;
		} else if (str_eq_cstr(event, "rejected")) {
			ev = REGINFO_EV_REJECTED;
		} else {
			*error = "event= is deactivated, probation or rejected";
			err = -EINVAL;
		}
	}
	if (!err)
		err = dereg ? scscf_admin_dereg(c->s, impu, binding, ev, retry, &count) :
			      scscf_admin_reauth(c->s, impu, binding, &count);
	if (err == -ENOENT)
		*error = "no such registration";
	else if (err && !*error)
		*error = "refused";
	if (!err)
		json_kv_int(w, "bindings", count);
	arena_destroy(&a);
	return err;
}

static int cmd_dereg(void *ctx, const struct ctl_request *req, struct json_writer *w,
		     const char **error)
{
	return admin(ctx, req, w, error, true);
}

static int cmd_reauth(void *ctx, const struct ctl_request *req, struct json_writer *w,
		      const char **error)
{
	return admin(ctx, req, w, error, false);
}

const struct ctl_command scscf_ctl_commands[] = {
	{ "status", "", "counters, policy, HSS connection", 0, 0, cmd_status },
	{ "bindings", "[IMPU]", "every binding, or those of an IMPU", 0, 1, cmd_bindings },
	{ "subscriptions", "[IMPU]", "reg-event subscriptions", 0, 1, cmd_subscriptions },
	{ "reginfo", "IMPU", "the full reg-event document of an IMPU", 1, 1, cmd_reginfo },
	{ "dereg", "IMPU [binding=N] [event=deactivated|probation|rejected] [retry=S]",
	  "network-initiated deregistration (TS 24.229 5.4.1.5)", 1, 4, cmd_dereg },
	{ "reauth", "IMPU [binding=N]", "network-initiated re-authentication (5.4.1.6)", 1, 2,
	  cmd_reauth },
};

const size_t scscf_ctl_n_commands = sizeof(scscf_ctl_commands) / sizeof(scscf_ctl_commands[0]);
