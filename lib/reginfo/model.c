/*
 * model.c - the reginfo model: names, state machines, construction,
 * printing and version tracking.
 */
#include "reginfo/reginfo.h"

#include <errno.h>
#include <inttypes.h>

static const char *const doc_state_names[] = {
#define X(e, name) [REGINFO_DOC_##e] = name,
	REGINFO_DOC_STATE_LIST(X)
#undef X
};

static const char *const reg_state_names[] = {
#define X(e, name) [REGINFO_REG_##e] = name,
	REGINFO_REG_STATE_LIST(X)
#undef X
};

static const char *const contact_state_names[] = {
#define X(e, name) [REGINFO_CONTACT_##e] = name,
	REGINFO_CONTACT_STATE_LIST(X)
#undef X
};

/* The contact state machine, one row per event, from REGINFO_EVENT_LIST. */
static const struct {
	const char *name;
	enum reginfo_contact_state from;
	enum reginfo_contact_state to;
} events[] = {
#define X(e, wire, f, t, why) \
	[REGINFO_EV_##e] = { wire, REGINFO_CONTACT_##f, REGINFO_CONTACT_##t },
	REGINFO_EVENT_LIST(X)
#undef X
};

const char *reginfo_doc_state_name(enum reginfo_doc_state s)
{
	return (unsigned)s < REGINFO_DOC__COUNT ? doc_state_names[s] : "?";
}

const char *reginfo_reg_state_name(enum reginfo_reg_state s)
{
	return (unsigned)s < REGINFO_REG__COUNT ? reg_state_names[s] : "?";
}

const char *reginfo_contact_state_name(enum reginfo_contact_state s)
{
	return (unsigned)s < REGINFO_CONTACT__COUNT ? contact_state_names[s] : "?";
}

const char *reginfo_event_name(enum reginfo_event e)
{
	return (unsigned)e < REGINFO_EV__COUNT ? events[e].name : "?";
}

bool reginfo_event_allowed(enum reginfo_contact_state from, enum reginfo_event ev,
			   enum reginfo_contact_state *to)
{
	if ((unsigned)ev >= REGINFO_EV__COUNT || events[ev].from != from)
		return false;
	if (to)
		*to = events[ev].to;
	return true;
}

enum reginfo_contact_state reginfo_event_target(enum reginfo_event ev)
{
	return (unsigned)ev < REGINFO_EV__COUNT ? events[ev].to : REGINFO_CONTACT_INIT;
}

int reginfo_contact_apply(struct reginfo_contact *c, enum reginfo_event ev)
{
	enum reginfo_contact_state to;

	if (!reginfo_event_allowed(c->state, ev, &to))
		return -EINVAL;
	c->state = to;
	c->event = ev;
	return 0;
}

enum reginfo_reg_state reginfo_reg_settle(struct reginfo_reg *reg)
{
	bool live = false;

	for (const struct reginfo_contact *c = reg->contacts; c; c = c->next)
		if (c->state == REGINFO_CONTACT_ACTIVE)
			live = true;
	if (live)
		reg->state = REGINFO_REG_ACTIVE;
	else if (reg->state == REGINFO_REG_ACTIVE)
		reg->state = REGINFO_REG_TERMINATED;
	else
		reg->state = REGINFO_REG_INIT;
	return reg->state;
}

void reginfo_init(struct reginfo *doc, uint64_t version, enum reginfo_doc_state state)
{
	doc->version = version;
	doc->state = state;
	doc->regs = NULL;
	doc->nregs = 0;
}

/* Copy a slice into the arena, keeping "absent" (s == NULL) absent. */
static bool copy_str(struct arena *arena, struct str in, struct str *out)
{
	if (!in.s) {
		*out = STR_NULL;
		return true;
	}
	*out = arena_str(arena, in);
	return out->s != NULL;
}

struct reginfo_reg *reginfo_add_reg(struct reginfo *doc, struct arena *arena, struct str aor,
				    struct str id, enum reginfo_reg_state state)
{
	struct reginfo_reg *r = arena_alloc(arena, sizeof(*r));
	struct reginfo_reg **tail = &doc->regs;

	if (!r || !copy_str(arena, aor, &r->aor) || !copy_str(arena, id, &r->id))
		return NULL;
	r->state = state;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	doc->nregs++;
	return r;
}

struct reginfo_contact *reginfo_add_contact(struct reginfo_reg *reg, struct arena *arena,
					    struct str id, struct str uri)
{
	struct reginfo_contact *c = arena_alloc(arena, sizeof(*c));
	struct reginfo_contact **tail = &reg->contacts;

	if (!c || !copy_str(arena, id, &c->id) || !copy_str(arena, uri, &c->uri))
		return NULL;
	c->state = REGINFO_CONTACT_INIT;
	c->event = REGINFO_EV_REGISTERED;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	reg->ncontacts++;
	return c;
}

struct reginfo_param *reginfo_add_param(struct reginfo_contact *c, struct arena *arena,
					struct str name, struct str value)
{
	struct reginfo_param *p = arena_alloc(arena, sizeof(*p));
	struct reginfo_param **tail = &c->params;

	if (!p || !copy_str(arena, name, &p->name) || !copy_str(arena, value, &p->value))
		return NULL;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	c->nparams++;
	return p;
}

struct reginfo_reg *reginfo_find_reg(const struct reginfo *doc, struct str id)
{
	for (struct reginfo_reg *r = doc->regs; r; r = r->next)
		if (str_eq(r->id, id))
			return r;
	return NULL;
}

struct reginfo_contact *reginfo_find_contact(const struct reginfo_reg *reg, struct str id)
{
	for (struct reginfo_contact *c = reg->contacts; c; c = c->next)
		if (str_eq(c->id, id))
			return c;
	return NULL;
}

/* ---- printing -------------------------------------------------------------- */

static void print_str(FILE *out, struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.s[i];

		if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
}

static void print_attr(FILE *out, const char *name, struct str s)
{
	if (!s.s)
		return;
	fprintf(out, " %s=", name);
	print_str(out, s);
}

static void print_num(FILE *out, unsigned has, unsigned bit, const char *name, uint64_t v)
{
	if (has & bit)
		fprintf(out, " %s=%" PRIu64, name, v);
}

static void print_contact(FILE *out, const struct reginfo_contact *c)
{
	fputs("    contact", out);
	print_attr(out, "id", c->id);
	fprintf(out, " state=%s event=%s", reginfo_contact_state_name(c->state),
		reginfo_event_name(c->event));
	print_num(out, c->has, REGINFO_HAS_EXPIRES, "expires", c->expires);
	print_num(out, c->has, REGINFO_HAS_DURATION, "duration-registered",
		  c->duration_registered);
	print_num(out, c->has, REGINFO_HAS_RETRY_AFTER, "retry-after", c->retry_after);
	print_attr(out, "q", c->q);
	print_attr(out, "callid", c->callid);
	print_num(out, c->has, REGINFO_HAS_CSEQ, "cseq", c->cseq);
	fputs("\n      uri ", out);
	print_str(out, c->uri);
	fputc('\n', out);
	if (c->display_name.s) {
		fputs("      display-name", out);
		print_attr(out, "lang", c->display_lang);
		fputc(' ', out);
		print_str(out, c->display_name);
		fputc('\n', out);
	}
	for (const struct reginfo_param *p = c->params; p; p = p->next) {
		fputs("      param ", out);
		print_str(out, p->name);
		if (p->value.s) {
			fputc('=', out);
			print_str(out, p->value);
		}
		fputc('\n', out);
	}
}

void reginfo_print(const struct reginfo *doc, FILE *out)
{
	fprintf(out, "reginfo version=%" PRIu64 " state=%s\n", doc->version,
		reginfo_doc_state_name(doc->state));
	for (const struct reginfo_reg *r = doc->regs; r; r = r->next) {
		fputs("  registration", out);
		print_attr(out, "aor", r->aor);
		print_attr(out, "id", r->id);
		fprintf(out, " state=%s\n", reginfo_reg_state_name(r->state));
		for (const struct reginfo_contact *c = r->contacts; c; c = c->next)
			print_contact(out, c);
	}
}

/* ---- version tracking ------------------------------------------------------ */

void reginfo_watch_reset(struct reginfo_watch *w)
{
	w->have = false;
	w->need_full = false;
	w->last = 0;
}

enum reginfo_verdict reginfo_watch_check(struct reginfo_watch *w, uint64_t version,
					 enum reginfo_doc_state state)
{
	if (w->have && version <= w->last)
		return REGINFO_STALE;
	if (state == REGINFO_DOC_FULL) {
		/* Full state stands on its own: it closes any gap. */
		w->have = true;
		w->need_full = false;
		w->last = version;
		return REGINFO_APPLY;
	}
	/*
	 * A partial document only makes sense on top of the previous version.
	 * Without full state to apply it to, or after a skipped version, the
	 * watcher's picture would be wrong: refuse until full state arrives.
	 */
	if (!w->have || w->need_full || version != w->last + 1) {
		w->need_full = true;
		return REGINFO_NEED_FULL;
	}
	w->last = version;
	return REGINFO_APPLY;
}

const char *reginfo_verdict_name(enum reginfo_verdict v)
{
	switch (v) {
	case REGINFO_APPLY:
		return "apply";
	case REGINFO_STALE:
		return "stale";
	case REGINFO_NEED_FULL:
		return "need-full";
	}
	return "?";
}
