/*
 * ctl.c - what the S-CSCF answers on its control socket
 * (docs/architecture.md, "Control sockets"; docs/scscf.md lists them):
 *
 *   status                          counters, policy, HSS connection
 *   bindings [IMPU]                 every binding (of an IMPU)
 *   subscriptions [IMPU]            reg-event subscriptions
 *   reginfo IMPU                    the full reg-event document of an IMPU
 *   dereg IMPU [binding=N] [event=deactivated|probation|rejected] [retry=S]
 *                                   network-initiated deregistration
 *   reauth IMPU [binding=N]         network-initiated re-authentication
 *
 * Requests are words, answers one line of JSON.
 */
#include "scscf/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scscf/cx.h"
#include "scscf/sip_glue.h"

static void json_str(struct buf *b, struct str s)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.s[i];

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void ctl_error(struct buf *b, const char *what)
{
	buf_puts(b, "{\"ok\":false,\"error\":");
	json_str(b, str_from_cstr(what));
	buf_putc(b, '}');
}

/* key=value arguments after the positional ones. */
static const char *opt(int argc, char **argv, const char *key)
{
	size_t l = strlen(key);

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], key, l) == 0 && argv[i][l] == '=')
			return argv[i] + l + 1;
	}
	return NULL;
}

static bool number(const char *v, uint64_t *out)
{
	char *end;

	if (!v || !*v)
		return false;
	*out = strtoull(v, &end, 10);
	return !*end;
}

static void status(struct scscf_ctl *c, struct buf *b)
{
	const struct scscf_stats *st = &c->s->stats;

	buf_printf(b, "{\"ok\":true,\"function\":\"scscf\",\"policy\":\"%s\",\"host\":",
		   scscf_policy_names[c->s->cfg.policy]);
	json_str(b, str_from_cstr(c->s->host));
	buf_printf(b,
		   ",\"hss\":\"%s\",\"bindings\":%zu,\"subscriptions\":%zu,\"challenges\":%zu,"
		   "\"registers\":%" PRIu64 ",\"challenges_sent\":%" PRIu64
		   ",\"registrations\":%" PRIu64 ",\"refreshes\":%" PRIu64
		   ",\"deregistrations\":%" PRIu64 ",\"auth_failures\":%" PRIu64
		   ",\"expired\":%" PRIu64 ",\"notifies\":%" PRIu64 ",\"probes\":%" PRIu64
		   ",\"probes_kept\":%" PRIu64 ",\"forwarded\":%" PRIu64 ",\"not_found\":%" PRIu64
		   "}",
		   c->cx ? (scscf_cx_connected(c->cx) ? "connected" : "disconnected") : "none",
		   c->s->bindings.n, c->s->subs.n, c->s->auths.n, st->registers, st->challenges,
		   st->registrations, st->refreshes, st->deregistrations, st->auth_failures,
		   st->expired, st->notifies, st->probes, st->probes_kept, st->forwarded,
		   st->not_found);
}

static void binding_json(struct scscf *s, const struct scscf_binding *x, struct buf *b)
{
	buf_printf(b, "{\"id\":%" PRIu64 ",\"impu\":", x->id);
	json_str(b, x->impu);
	buf_puts(b, ",\"impi\":");
	json_str(b, x->impi);
	buf_puts(b, ",\"contact\":");
	json_str(b, x->contact);
	buf_printf(b, ",\"expires\":%" PRIu64 ",\"event\":\"%s\",\"outbound\":%s",
		   scscf_binding_expires_in(s, x), reginfo_event_name(x->event),
		   x->outbound ? "true" : "false");
	if (x->instance.len) {
		buf_puts(b, ",\"instance\":");
		json_str(b, x->instance);
	}
	if (x->reg_id)
		buf_printf(b, ",\"reg_id\":%u", x->reg_id);
	buf_puts(b, ",\"path\":[");
	for (unsigned i = 0; i < x->n_path; i++) {
		if (i)
			buf_putc(b, ',');
		json_str(b, x->path[i]);
	}
	buf_puts(b, "],\"impus\":[");
	for (unsigned i = 0; i < x->n_irs; i++) {
		if (i)
			buf_putc(b, ',');
		json_str(b, x->irs[i].uri);
	}
	buf_printf(b, "],\"service_route\":\"<sip:orig-%" PRIu64 "@%s;lr>\"}", x->id, s->host);
}

/* Bindings in id order, of one IMPU or all. */
static void bindings(struct scscf_ctl *c, const char *impu_text, struct buf *b)
{
	struct scscf *s = c->s;
	struct arena tmp;
	struct str canon = STR_NULL;
	const char *impu = NULL;
	struct ht_iter it = { 0 };
	struct ht_node *n;
	uint64_t *ids = calloc(s->bindings.n + 1, sizeof(*ids));
	size_t count = 0;
	bool first = true;

	if (!ids) {
		ctl_error(b, "no memory");
		return;
	}
	arena_init(&tmp, 256, 0);
	if (impu_text && scscf_aor_canonical(str_from_cstr(impu_text), &tmp, &canon) == 0)
		impu = canon.s;
	else if (impu_text)
		impu = impu_text;
	while ((n = ht_iter_next(&s->bindings, &it))) {
		const struct scscf_binding *x = ht_entry(n, struct scscf_binding, by_id);
		struct scscf_aor *a = impu ? scscf_aor_find(s, str_from_cstr(impu)) : NULL;
		bool take = !impu;

		for (unsigned i = 0; a && i < a->n && !take; i++)
			take = a->b[i] == x;
		if (take)
			ids[count++] = x->id;
	}
	for (size_t i = 1; i < count; i++) {
		for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			uint64_t t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	}
	buf_puts(b, "{\"ok\":true,\"bindings\":[");
	for (size_t i = 0; i < count; i++) {
		if (!first)
			buf_putc(b, ',');
		binding_json(s, scscf_binding_find(s, ids[i]), b);
		first = false;
	}
	buf_puts(b, "]}");
	arena_destroy(&tmp);
	free(ids);
}

static void subscriptions(struct scscf_ctl *c, const char *impu, struct buf *b)
{
	static const char *const kinds[] = { "ue", "pcscf", "other" };
	struct scscf *s = c->s;
	struct ht_iter it = { 0 };
	struct ht_node *n;
	bool first = true;

	buf_puts(b, "{\"ok\":true,\"subscriptions\":[");
	while ((n = ht_iter_next(&s->subs, &it))) {
		const struct scscf_sub *x = ht_entry(n, struct scscf_sub, by_id);
		uint64_t now = scscf_now_ms(s);

		if (impu && !str_eq_cstr(x->impu, impu))
			continue;
		buf_printf(b, "%s{\"id\":%" PRIu64 ",\"impu\":", first ? "" : ",", x->id);
		json_str(b, x->impu);
		buf_puts(b, ",\"watcher\":");
		json_str(b, x->watcher);
		buf_puts(b, ",\"contact\":");
		json_str(b, x->target);
		buf_printf(b, ",\"kind\":\"%s\",\"version\":%" PRIu64 ",\"expires\":%" PRIu64 "}",
			   kinds[x->kind], x->version,
			   x->expires_ms > now ? (x->expires_ms - now) / 1000 : 0);
		first = false;
	}
	buf_puts(b, "]}");
}

static void reginfo(struct scscf_ctl *c, const char *impu, struct buf *b)
{
	struct arena a;
	struct reginfo doc;
	struct reginfo_error err;
	struct str canon;
	char *xml;
	size_t len;

	arena_init(&a, 4096, 0);
	xml = arena_alloc(&a, 65536);
	if (!xml || scscf_aor_canonical(str_from_cstr(impu), &a, &canon) < 0 ||
	    scscf_reginfo_full(c->s, canon, 0, &a, &doc) < 0 ||
	    reginfo_build(&doc, xml, 65536, &len, &err) < 0) {
		ctl_error(b, "cannot build the document");
	} else {
		buf_puts(b, "{\"ok\":true,\"impu\":");
		json_str(b, canon);
		buf_puts(b, ",\"reginfo\":");
		json_str(b, str_make(xml, len));
		buf_putc(b, '}');
	}
	arena_destroy(&a);
}

static void admin(struct scscf_ctl *c, int argc, char **argv, struct buf *b)
{
	const char *event = opt(argc, argv, "event");
	uint64_t binding = 0, retry = 0;
	enum reginfo_event ev = REGINFO_EV_DEACTIVATED;
	struct arena a;
	struct str impu;
	unsigned count = 0;
	int err;

	if (argc < 2 || argv[1][0] == '\0' || strchr(argv[1], '=')) {
		ctl_error(b, "usage: dereg|reauth IMPU [binding=N] [event=E] [retry=S]");
		return;
	}
	if ((opt(argc, argv, "binding") && !number(opt(argc, argv, "binding"), &binding)) ||
	    (opt(argc, argv, "retry") && !number(opt(argc, argv, "retry"), &retry))) {
		ctl_error(b, "binding= and retry= take numbers");
		return;
	}
	if (event) {
		if (strcmp(event, "deactivated") == 0)
			ev = REGINFO_EV_DEACTIVATED;
		else if (strcmp(event, "probation") == 0)
			ev = REGINFO_EV_PROBATION;
		else if (strcmp(event, "rejected") == 0)
			ev = REGINFO_EV_REJECTED;
		else {
			ctl_error(b, "event= is deactivated, probation or rejected");
			return;
		}
	}
	arena_init(&a, 512, 0);
	if (scscf_aor_canonical(str_from_cstr(argv[1]), &a, &impu) < 0) {
		ctl_error(b, "not a SIP or tel URI");
		arena_destroy(&a);
		return;
	}
	if (strcmp(argv[0], "dereg") == 0)
		err = scscf_admin_dereg(c->s, impu, binding, ev, retry, &count);
	else
		err = scscf_admin_reauth(c->s, impu, binding, &count);
	arena_destroy(&a);
	if (err == -ENOENT)
		ctl_error(b, "no such registration");
	else if (err)
		ctl_error(b, strerror(-err));
	else
		buf_printf(b, "{\"ok\":true,\"bindings\":%u}", count);
}

void scscf_ctl_handle(void *ctx, int argc, char **argv, struct buf *out)
{
	struct scscf_ctl *c = ctx;

	if (strcmp(argv[0], "status") == 0)
		status(c, out);
	else if (strcmp(argv[0], "bindings") == 0)
		bindings(c, argc > 1 ? argv[1] : NULL, out);
	else if (strcmp(argv[0], "subscriptions") == 0)
		subscriptions(c, argc > 1 ? argv[1] : NULL, out);
	else if (strcmp(argv[0], "reginfo") == 0 && argc > 1)
		reginfo(c, argv[1], out);
	else if (strcmp(argv[0], "dereg") == 0 || strcmp(argv[0], "reauth") == 0)
		admin(c, argc, argv, out);
	else
		ctl_error(out, "unknown request (status, bindings, subscriptions, reginfo, dereg, reauth)");
}
