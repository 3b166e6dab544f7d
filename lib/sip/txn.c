/*
 * txn.c - the four transaction state machines (RFC 3261 17, RFC 6026),
 * their timers, matching, and the transaction API.
 *
 * Reading guide: the tables come first (rules, then the timers of each
 * state), then the actions they name, then dispatch, then matching, then
 * the public functions. A transition enters its next state before its
 * action runs, so that a user called from an action (a TU answering inside
 * its request callback) finds the transaction already where it will be.
 */
#define SLOG_COMPONENT "sip"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/print.h"
#include "sip/stack_int.h"

/* ------------------------------------------------------------------ */
/* Names                                                              */

static const char *const kind_names[] = {
#define X(id, name, clause) name,
	SIP_TXN_KINDS(X)
#undef X
};

static const char *const kind_clauses[] = {
#define X(id, name, clause) clause,
	SIP_TXN_KINDS(X)
#undef X
};

static const char *const state_names[] = {
#define X(id, name) name,
	SIP_TXN_STATES(X)
#undef X
};

static const char *const event_names[] = {
#define X(id, name) name,
	SIP_TXN_EVENTS(X)
#undef X
};

const char *sip_txn_kind_name(enum sip_txn_kind k)
{
	return (unsigned)k < SIP_TXN_KIND__COUNT ? kind_names[k] : "?";
}

const char *sip_txn_state_name(enum sip_txn_state s)
{
	return (unsigned)s < SIP_TXN_S__COUNT ? state_names[s] : "?";
}

const char *sip_txn_event_name(enum sip_txn_event e)
{
	return (unsigned)e < SIP_TXN_EV__COUNT ? event_names[e] : "?";
}

/* ------------------------------------------------------------------ */
/* Timers                                                             */

const struct sip_timers sip_timers_rfc3261 = {
	.t1 = 500, .t2 = 4000, .t4 = 5000, .td = 32000, .tc = 181000, .trying = 200,
};

const struct sip_timers sip_timers_ims_ue = {
	.t1 = 2000, .t2 = 16000, .t4 = 17000, .td = 128000, .tc = 181000, .trying = 200,
};

int sip_timers_check(const struct sip_timers *t, const char **why)
{
	const char *w = NULL;

	if (t->t1 == 0)
		w = "T1 must be above 0";
	else if (t->t2 < t->t1)
		w = "T2 must not be below T1";
	else if (t->t1 > UINT32_MAX / 64)
		w = "64*T1 does not fit";
	else if (t->tc <= 180000)
		w = "Timer C must be above 3 minutes (RFC 3261 16.6 step 11)";
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

#define NEVER UINT64_MAX

/* Length of a timer in ms for this transaction; NEVER if it does not run. */
static uint64_t timer_ms(const struct sip_txn *t, enum sip_txn_event ev)
{
	const struct sip_timers *tm = t->tm;
	uint64_t t64 = 64ull * tm->t1;

	switch (ev) {
	case SIP_TXN_EV_TIMER_A: /* 17.1.1.2: UDP only */
	case SIP_TXN_EV_TIMER_E: /* 17.1.2.2 */
	case SIP_TXN_EV_TIMER_G: /* 17.2.1 */
		return t->reliable ? NEVER : tm->t1;
	case SIP_TXN_EV_TIMER_B:
	case SIP_TXN_EV_TIMER_F:
	case SIP_TXN_EV_TIMER_H:
	case SIP_TXN_EV_TIMER_L: /* RFC 6026 */
	case SIP_TXN_EV_TIMER_M: /* RFC 6026 */
		return t64;
	case SIP_TXN_EV_TIMER_D:
		return t->reliable ? 0 : tm->td;
	case SIP_TXN_EV_TIMER_I:
	case SIP_TXN_EV_TIMER_K:
		return t->reliable ? 0 : tm->t4;
	case SIP_TXN_EV_TIMER_J:
		return t->reliable ? 0 : t64;
	case SIP_TXN_EV_TIMER_TRYING:
		return tm->trying ? tm->trying : NEVER;
	default:
		return NEVER;
	}
}

/* ------------------------------------------------------------------ */
/* The tables                                                         */

/* Actions, each with the words the documentation uses for it. */
#define TXN_ACTIONS(X)                                                          \
	X(NONE, "-")                                                            \
	X(SEND_REQUEST, "send request")                                         \
	X(RESEND_A, "retransmit request; A doubles")                            \
	X(RESEND_E, "retransmit request; E doubles up to T2")                   \
	X(RESEND_E_T2, "retransmit request; E = T2")                            \
	X(PASS_RESPONSE, "response to TU")                                      \
	X(ACK_PASS, "send ACK; response to TU")                                 \
	X(RESEND_ACK, "retransmit ACK")                                         \
	X(TIMEOUT, "timeout to TU")                                             \
	X(ERROR, "transport error to TU")                                       \
	X(ABSORB, "absorb")                                                     \
	X(ABORT_CLIENT, "fail to TU (-ECANCELED)")                              \
	X(ABORT_SERVER, "answer 503 unless answered; fail to TU")               \
	X(PASS_REQUEST, "request to TU")                                        \
	X(SEND_RESPONSE, "send response")                                       \
	X(RESEND_RESPONSE, "retransmit last response (absorb if none)")         \
	X(RESEND_G, "retransmit response; G doubles up to T2")                  \
	X(SEND_TRYING, "send 100 Trying unless TU answered")                    \
	X(PASS_ACK, "ACK to TU")

enum txn_action {
#define X(id, text) A_##id,
	TXN_ACTIONS(X)
#undef X
	A__COUNT
};

static const char *const action_text[] = {
#define X(id, text) text,
	TXN_ACTIONS(X)
#undef X
};

/* A rule; next == INIT means "no rule": no transition ever leads back to Init. */
struct rule {
	uint8_t action;
	uint8_t next;
};

#define S(x) SIP_TXN_S_##x
#define E(x) SIP_TXN_EV_##x
#define R(ev, act, nx) [E(ev)] = { A_##act, S(nx) }

/* Client rules shared by the two client kinds while no final response arrived. */
static const struct rule rules[SIP_TXN_KIND__COUNT][SIP_TXN_S__COUNT][SIP_TXN_EV__COUNT] = {
	/* 17.1.1.2, figure 5, with RFC 6026's Accepted state */
	[SIP_TXN_ICT] = {
		[S(INIT)] = {
			R(TU_REQUEST, SEND_REQUEST, CALLING),
		},
		[S(CALLING)] = {
			R(TIMER_A, RESEND_A, CALLING),
			R(TIMER_B, TIMEOUT, TERMINATED),
			R(RX_1XX, PASS_RESPONSE, PROCEEDING),
			R(RX_2XX, PASS_RESPONSE, ACCEPTED),
			R(RX_FINAL, ACK_PASS, COMPLETED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_CLIENT, TERMINATED),
		},
		[S(PROCEEDING)] = {
			R(RX_1XX, PASS_RESPONSE, PROCEEDING),
			R(RX_2XX, PASS_RESPONSE, ACCEPTED),
			R(RX_FINAL, ACK_PASS, COMPLETED),
			R(TIMER_CANCEL, TIMEOUT, TERMINATED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_CLIENT, TERMINATED),
		},
		[S(COMPLETED)] = {
			R(RX_FINAL, RESEND_ACK, COMPLETED),
			R(RX_1XX, ABSORB, COMPLETED),
			R(RX_2XX, ABSORB, COMPLETED),
			R(TIMER_D, NONE, TERMINATED),
			R(TRANSPORT_ERROR, NONE, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
		[S(ACCEPTED)] = {
			R(RX_2XX, PASS_RESPONSE, ACCEPTED),
			R(RX_1XX, ABSORB, ACCEPTED),
			R(RX_FINAL, ABSORB, ACCEPTED),
			R(TIMER_M, NONE, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
	},
	/* 17.1.2.2, figure 6 */
	[SIP_TXN_NICT] = {
		[S(INIT)] = {
			R(TU_REQUEST, SEND_REQUEST, TRYING),
		},
		[S(TRYING)] = {
			R(TIMER_E, RESEND_E, TRYING),
			R(TIMER_F, TIMEOUT, TERMINATED),
			R(RX_1XX, PASS_RESPONSE, PROCEEDING),
			R(RX_2XX, PASS_RESPONSE, COMPLETED),
			R(RX_FINAL, PASS_RESPONSE, COMPLETED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_CLIENT, TERMINATED),
		},
		[S(PROCEEDING)] = {
			R(TIMER_E, RESEND_E_T2, PROCEEDING),
			R(TIMER_F, TIMEOUT, TERMINATED),
			R(RX_1XX, PASS_RESPONSE, PROCEEDING),
			R(RX_2XX, PASS_RESPONSE, COMPLETED),
			R(RX_FINAL, PASS_RESPONSE, COMPLETED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_CLIENT, TERMINATED),
		},
		[S(COMPLETED)] = {
			R(RX_1XX, ABSORB, COMPLETED),
			R(RX_2XX, ABSORB, COMPLETED),
			R(RX_FINAL, ABSORB, COMPLETED),
			R(TIMER_K, NONE, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
	},
	/* 17.2.1, figure 7, with RFC 6026's Accepted state */
	[SIP_TXN_IST] = {
		[S(INIT)] = {
			R(RX_REQUEST, PASS_REQUEST, PROCEEDING),
		},
		[S(PROCEEDING)] = {
			R(RX_REQUEST, RESEND_RESPONSE, PROCEEDING),
			R(TIMER_TRYING, SEND_TRYING, PROCEEDING),
			R(TU_1XX, SEND_RESPONSE, PROCEEDING),
			R(TU_2XX, SEND_RESPONSE, ACCEPTED),
			R(TU_FINAL, SEND_RESPONSE, COMPLETED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_SERVER, TERMINATED),
			R(TU_DROP, NONE, DROPPED),
		},
		[S(COMPLETED)] = {
			R(RX_REQUEST, RESEND_RESPONSE, COMPLETED),
			R(RX_ACK, NONE, CONFIRMED),
			R(TIMER_G, RESEND_G, COMPLETED),
			R(TIMER_H, TIMEOUT, TERMINATED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
		[S(CONFIRMED)] = {
			R(RX_ACK, ABSORB, CONFIRMED),
			R(RX_REQUEST, ABSORB, CONFIRMED),
			R(TIMER_I, NONE, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
		[S(ACCEPTED)] = {
			R(RX_REQUEST, ABSORB, ACCEPTED),
			R(RX_ACK, PASS_ACK, ACCEPTED),
			R(TU_2XX, SEND_RESPONSE, ACCEPTED),
			R(TIMER_L, NONE, TERMINATED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
		/* Not in RFC 3261: the TU dropped the request (sip_server_txn_drop()). */
		[S(DROPPED)] = {
			R(RX_REQUEST, ABSORB, DROPPED),
			R(RX_ACK, ABSORB, DROPPED),
			R(TIMER_J, NONE, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
	},
	/* 17.2.2, figure 8 */
	[SIP_TXN_NIST] = {
		[S(INIT)] = {
			R(RX_REQUEST, PASS_REQUEST, TRYING),
		},
		[S(TRYING)] = {
			R(RX_REQUEST, ABSORB, TRYING),
			R(TU_1XX, SEND_RESPONSE, PROCEEDING),
			R(TU_2XX, SEND_RESPONSE, COMPLETED),
			R(TU_FINAL, SEND_RESPONSE, COMPLETED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_SERVER, TERMINATED),
			R(TU_DROP, NONE, DROPPED),
		},
		[S(PROCEEDING)] = {
			R(RX_REQUEST, RESEND_RESPONSE, PROCEEDING),
			R(TU_1XX, SEND_RESPONSE, PROCEEDING),
			R(TU_2XX, SEND_RESPONSE, COMPLETED),
			R(TU_FINAL, SEND_RESPONSE, COMPLETED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, ABORT_SERVER, TERMINATED),
			R(TU_DROP, NONE, DROPPED),
		},
		[S(COMPLETED)] = {
			R(RX_REQUEST, RESEND_RESPONSE, COMPLETED),
			R(TIMER_J, NONE, TERMINATED),
			R(TRANSPORT_ERROR, ERROR, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
		/* Not in RFC 3261: the TU dropped the request (sip_server_txn_drop()). */
		[S(DROPPED)] = {
			R(RX_REQUEST, ABSORB, DROPPED),
			R(TIMER_J, NONE, TERMINATED),
			R(TU_ABORT, NONE, TERMINATED),
		},
	},
};

/*
 * The timers that run in each state: [retransmission slot, timeout slot],
 * stored as event + 1 (0: none). Entering a state cancels what is not
 * listed and arms what is listed and not yet running; self-transitions
 * leave the timers to their action.
 */
#define TM(x) (SIP_TXN_EV_TIMER_##x + 1)
static const uint8_t state_timers[SIP_TXN_KIND__COUNT][SIP_TXN_S__COUNT][2] = {
	[SIP_TXN_ICT] = {
		[S(CALLING)] = { TM(A), TM(B) },
		[S(COMPLETED)] = { 0, TM(D) },
		[S(ACCEPTED)] = { 0, TM(M) },
	},
	[SIP_TXN_NICT] = {
		[S(TRYING)] = { TM(E), TM(F) },
		[S(PROCEEDING)] = { TM(E), TM(F) },
		[S(COMPLETED)] = { 0, TM(K) },
	},
	[SIP_TXN_IST] = {
		[S(PROCEEDING)] = { TM(TRYING), 0 },
		[S(COMPLETED)] = { TM(G), TM(H) },
		[S(CONFIRMED)] = { 0, TM(I) },
		[S(ACCEPTED)] = { 0, TM(L) },
		/* Timer J: as long as a request's retransmissions may come (17.2.2). */
		[S(DROPPED)] = { 0, TM(J) },
	},
	[SIP_TXN_NIST] = {
		[S(COMPLETED)] = { 0, TM(J) },
		[S(DROPPED)] = { 0, TM(J) },
	},
};

bool sip_txn_lookup(enum sip_txn_kind kind, enum sip_txn_state state, enum sip_txn_event event,
		    struct sip_txn_transition *t)
{
	const struct rule *r;

	if ((unsigned)kind >= SIP_TXN_KIND__COUNT || (unsigned)state >= SIP_TXN_S__COUNT ||
	    (unsigned)event >= SIP_TXN_EV__COUNT)
		return false;
	r = &rules[kind][state][event];
	if (r->next == S(INIT))
		return false;
	if (t) {
		t->state = state;
		t->event = event;
		t->next = (enum sip_txn_state)r->next;
		t->action = action_text[r->action];
	}
	return true;
}

unsigned sip_txn_state_timers(enum sip_txn_kind kind, enum sip_txn_state state,
			      enum sip_txn_event out[2])
{
	unsigned n = 0;

	if ((unsigned)kind >= SIP_TXN_KIND__COUNT || (unsigned)state >= SIP_TXN_S__COUNT)
		return 0;
	for (int slot = 0; slot < 2; slot++)
		if (state_timers[kind][state][slot])
			out[n++] = (enum sip_txn_event)(state_timers[kind][state][slot] - 1);
	return n;
}

int sip_txn_tables_markdown(FILE *out)
{
	for (unsigned k = 0; k < SIP_TXN_KIND__COUNT; k++) {
		fprintf(out, "### %s transaction (RFC 3261 %s)\n\n", kind_names[k], kind_clauses[k]);
		fprintf(out, "| state | timers running | event | action | next state |\n");
		fprintf(out, "|---|---|---|---|---|\n");
		for (unsigned s = 0; s < SIP_TXN_S__COUNT; s++) {
			enum sip_txn_event tm[2];
			unsigned ntm = sip_txn_state_timers(k, s, tm);
			char timers[64] = "-";
			bool first = true;

			if (ntm)
				snprintf(timers, sizeof(timers), "%s%s%s", event_names[tm[0]],
					 ntm > 1 ? ", " : "", ntm > 1 ? event_names[tm[1]] : "");
			for (unsigned e = 0; e < SIP_TXN_EV__COUNT; e++) {
				struct sip_txn_transition t;

				if (!sip_txn_lookup(k, s, e, &t))
					continue;
				fprintf(out, "| %s | %s | %s | %s | %s |\n", first ? state_names[s] : "",
					first ? timers : "", event_names[e], t.action,
					t.next == s ? "(same)" : state_names[t.next]);
				first = false;
			}
		}
		fprintf(out, "\n");
	}
	return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                           */

static void timer_cb(struct loop *loop, struct loop_timer *lt);

struct sip_txn *sip_txn_new(struct sip_stack *st, enum sip_txn_kind kind)
{
	struct sip_txn *t;

	if (st->stats.txn_live >= st->cfg.max_txns)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = sip_slots_add(&st->txns, t);
	if (!t->id) {
		free(t);
		return NULL;
	}
	t->st = st;
	t->tm = &st->cfg.timers;
	t->kind = kind;
	t->state = S(INIT);
	t->timer_ev[0] = t->timer_ev[1] = t->immediate = TXN_NO_TIMER;
	loop_timer_init(&t->timer[SLOT_RETRANS], timer_cb, t);
	loop_timer_init(&t->timer[SLOT_TIMEOUT], timer_cb, t);
	/* Room for a request and a response of the usual size in one chunk;
	 * server transactions size it from their request. */
	arena_init(&t->arena, 2048, 0);
	st->stats.txn_created[kind]++;
	st->stats.txn_live++;
	return t;
}

static void unindex(struct sip_txn *t)
{
	struct sip_stack *st = t->st;

	if (!t->in_table)
		return;
	if (t->kind == SIP_TXN_ICT || t->kind == SIP_TXN_NICT)
		sip_htab_remove(&st->clients, &t->node);
	else if (t->rfc2543)
		sip_htab_remove(&st->servers2543, &t->node2543);
	else
		sip_htab_remove(&st->servers, &t->node);
	t->in_table = false;
}

void sip_txn_destroy(struct sip_txn *t)
{
	struct sip_stack *st = t->st;

	loop_timer_cancel(st->loop, &t->timer[0]);
	loop_timer_cancel(st->loop, &t->timer[1]);
	unindex(t);
	sip_slots_remove(&st->txns, t->id);
	arena_destroy(&t->arena);
	st->stats.txn_live--;
	free(t);
}

/* The end of a transaction in state Terminated. */
static void txn_finish(struct sip_txn *t)
{
	struct sip_stack *st = t->st;

	log_debug("%s transaction %.*s %.*s ended", kind_names[t->kind], STR_FMT(t->method),
		  STR_FMT(t->branch));
	sip_txn_destroy(t);
	if (st->hook_pending && st->stats.txn_live == 0) {
		st->hook_pending = false;
		loop_shutdown_done(st->loop, &st->hook);
	}
}

struct sip_txn *sip_txn_get(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = id ? sip_slots_get(&st->txns, id) : NULL;

	return t && t->state != S(TERMINATED) ? t : NULL;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                           */

static void arm(struct sip_txn *t, int slot, enum sip_txn_event ev, uint64_t ms)
{
	t->timer_ev[slot] = (uint8_t)ev;
	loop_timer_arm(t->st->loop, &t->timer[slot], ms);
}

static void enter(struct sip_txn *t, enum sip_txn_state next)
{
	t->state = next;
	for (int slot = 0; slot < 2; slot++) {
		uint8_t want = state_timers[t->kind][next][slot];
		enum sip_txn_event ev;
		uint64_t ms;

		if (want && t->timer_ev[slot] == want - 1 && loop_timer_armed(&t->timer[slot]))
			continue; /* keeps running across the transition */
		loop_timer_cancel(t->st->loop, &t->timer[slot]);
		t->timer_ev[slot] = TXN_NO_TIMER;
		if (!want)
			continue;
		ev = (enum sip_txn_event)(want - 1);
		ms = timer_ms(t, ev);
		if (ms == NEVER)
			continue;
		if (ms == 0) {
			/* D, I, J, K over a reliable transport: at once. */
			t->immediate = (uint8_t)ev;
			continue;
		}
		if (slot == SLOT_RETRANS)
			t->interval = (uint32_t)ms;
		arm(t, slot, ev, ms);
	}
}

static int run_action(struct sip_txn *t, enum txn_action a, struct sip_txn_arg *arg);

int sip_txn_feed(struct sip_txn *t, enum sip_txn_event ev, struct sip_txn_arg *arg)
{
	struct sip_stack *st = t->st;
	const struct rule *r = &rules[t->kind][t->state][ev];
	struct sip_txn_arg none = { 0 };
	int rc = 0;

	if (r->next == S(INIT)) {
		st->stats.refused_events++;
		log_debug("%s transaction %.*s in %s: %s refused", kind_names[t->kind],
			  STR_FMT(t->branch), state_names[t->state], event_names[ev]);
		return -EPROTO;
	}
	if (!arg)
		arg = &none;
	t->busy++;
	if (r->next != t->state)
		enter(t, (enum sip_txn_state)r->next);
	rc = run_action(t, (enum txn_action)r->action, arg);
	if (rc < 0 && ev != E(TRANSPORT_ERROR) && t->state != S(TERMINATED)) {
		struct sip_txn_arg e = { .err = rc };

		sip_txn_feed(t, E(TRANSPORT_ERROR), &e);
	}
	while (t->immediate != TXN_NO_TIMER && t->state != S(TERMINATED)) {
		enum sip_txn_event next = (enum sip_txn_event)t->immediate;

		t->immediate = TXN_NO_TIMER;
		sip_txn_feed(t, next, NULL);
	}
	/*
	 * Shutting down: a transaction that has its final response (or was
	 * dropped) is done for its user; it does not hold the shutdown up
	 * for Timer J or K.
	 */
	if (st->shutting_down && t->busy == 1 &&
	    (t->state == S(COMPLETED) || t->state == S(CONFIRMED) || t->state == S(ACCEPTED) ||
	     t->state == S(DROPPED)))
		sip_txn_feed(t, E(TU_ABORT), NULL);
	t->busy--;
	if (t->state == S(TERMINATED) && t->busy == 0)
		txn_finish(t);
	return rc;
}

static void timer_cb(struct loop *loop, struct loop_timer *lt)
{
	struct sip_txn *t = lt->ctx;
	int slot = lt == &t->timer[SLOT_RETRANS] ? SLOT_RETRANS : SLOT_TIMEOUT;
	enum sip_txn_event ev = (enum sip_txn_event)t->timer_ev[slot];

	t->timer_ev[slot] = TXN_NO_TIMER;
	if (ev == (enum sip_txn_event)TXN_NO_TIMER)
		return;
	if (ev == E(TIMER_B) || ev == E(TIMER_F) || ev == E(TIMER_H) || ev == E(TIMER_CANCEL))
		t->st->stats.txn_timeouts++;
	sip_txn_feed(t, ev, NULL);
}

/* ------------------------------------------------------------------ */
/* Actions                                                            */

int sip_txn_send(struct sip_txn *t, struct str data)
{
	return sip_tpset_send(t->st->tps, &t->flow, data.s, data.len);
}

static void client_failure(struct sip_txn *t, int err)
{
	if (!t->detached && t->ops && t->ops->failure)
		t->ops->failure(t->st, t->ctx, t->id, t->ref, err);
}

static void server_failure(struct sip_txn *t, int err)
{
	const struct sip_tu_ops *tu = t->st->tu;

	if (tu && tu->server_failure)
		tu->server_failure(t->st, t->st->ctx, t->id, t->ref, err);
}

static bool is_client(const struct sip_txn *t)
{
	return t->kind == SIP_TXN_ICT || t->kind == SIP_TXN_NICT;
}

static int resend_request(struct sip_txn *t, uint64_t next_ms)
{
	enum sip_txn_event ev = t->kind == SIP_TXN_ICT ? E(TIMER_A) : E(TIMER_E);

	t->retransmissions++;
	t->st->stats.retransmissions++;
	t->interval = (uint32_t)next_ms;
	arm(t, SLOT_RETRANS, ev, next_ms);
	return sip_txn_send(t, t->req);
}

/* Re-parse a stored message into the stack's work message. */
static int reparse(struct sip_stack *st, struct str bytes)
{
	int rc = sip_parse(&st->work, bytes.s, bytes.len, SIP_FRAME_DATAGRAM, NULL, NULL);

	return rc < 0 ? rc : 0;
}

/* Copy every value of a header as its own field "Name: value". */
static void copy_values(struct buf *b, const struct sip_msg *m, enum sip_hdr_id id)
{
	sip_msg_foreach(m, id, h)
		sip_print_hdr(b, id, h->value);
}

/*
 * The parts an ACK (17.1.1.3) and a CANCEL (9.1) take from the request:
 * Request-URI, the topmost Via only, Route, From, Call-ID, the CSeq number.
 * `to` is the To to use (the response's for an ACK).
 */
static int build_like(struct sip_txn *t, const char *method, struct str to, struct buf *b)
{
	struct sip_stack *st = t->st;
	const struct sip_cseq *cseq;
	const struct sip_hdr *via, *from, *callid;
	int rc;

	rc = reparse(st, t->req);
	if (rc < 0)
		goto out;
	via = sip_msg_hdr(&st->work, SIP_HDR_VIA);
	from = sip_msg_hdr(&st->work, SIP_HDR_FROM);
	callid = sip_msg_hdr(&st->work, SIP_HDR_CALL_ID);
	rc = sip_msg_cseq(&st->work, &cseq, NULL);
	if (rc < 0 || !via || !from || !callid) {
		rc = rc < 0 ? rc : -EBADMSG;
		goto out;
	}
	sip_print_request_line(b, str_from_cstr(method), st->work.ruri);
	sip_print_hdr(b, SIP_HDR_VIA, via->value);
	copy_values(b, &st->work, SIP_HDR_ROUTE);
	sip_print_hdr(b, SIP_HDR_MAX_FORWARDS, STR_LIT("70"));
	sip_print_hdr(b, SIP_HDR_FROM, from->value);
	sip_print_hdr(b, SIP_HDR_TO, to.s ? to : sip_msg_hdr(&st->work, SIP_HDR_TO)->value);
	sip_print_hdr(b, SIP_HDR_CALL_ID, callid->value);
	sip_print_hdrf(b, SIP_HDR_CSEQ, "%u %s", cseq->seq, method);
	sip_print_body(b, STR_NULL, STR_NULL);
	rc = buf_error(b);
out:
	return rc;
}

static int act_ack_pass(struct sip_txn *t, struct sip_txn_arg *a)
{
	struct sip_stack *st = t->st;
	const struct sip_hdr *to = sip_msg_hdr(a->rx->msg, SIP_HDR_TO);
	int rc;

	/* RFC 3261 17.1.1.3: the ACK is built once and resent for every
	 * retransmission of the final response. */
	buf_reset(&st->tmp);
	rc = to ? build_like(t, "ACK", to->value, &st->tmp) : -EBADMSG;
	if (rc == 0) {
		t->ack = arena_str(&t->arena, buf_str(&st->tmp));
		rc = t->ack.s ? sip_txn_send(t, t->ack) : -ENOMEM;
	}
	t->cancel_wanted = false;
	t->last_status = a->rx->msg->status;
	if (!t->detached && t->ops && t->ops->response)
		t->ops->response(st, t->ctx, t->id, t->ref, a->rx);
	return rc;
}

static int start_cancel(struct sip_txn *t);

static int act_pass_response(struct sip_txn *t, struct sip_txn_arg *a)
{
	uint16_t status = a->rx->msg->status;

	t->last_status = status;
	if (status >= 200)
		t->cancel_wanted = false;
	if (!t->detached && t->ops && t->ops->response)
		t->ops->response(t->st, t->ctx, t->id, t->ref, a->rx);
	/* 9.1: a CANCEL asked for before any provisional goes now. */
	if (status < 200 && t->cancel_wanted && sip_txn_get(t->st, t->id)) {
		t->cancel_wanted = false;
		start_cancel(t);
	}
	return 0;
}

static int act_send_response(struct sip_txn *t, struct sip_txn_arg *a)
{
	unsigned code = (unsigned)atoi(a->out.s + 8);

	t->resp = arena_str(&t->arena, a->out);
	if (!t->resp.s)
		return -ENOMEM;
	t->last_status = (uint16_t)code;
	return sip_txn_send(t, t->resp);
}

/* 100 Trying for an INVITE the TU leaves unanswered (17.2.1). */
static int act_send_trying(struct sip_txn *t, struct sip_txn_arg *a)
{
	struct sip_stack *st = t->st;
	int rc;

	if (t->last_status)
		return 0;
	buf_reset(&st->tmp);
	rc = reparse(st, t->req);
	if (rc < 0)
		return rc;
	sip_print_response_start(&st->tmp, &st->work, 100, STR_NULL, STR_NULL);
	sip_print_body(&st->tmp, STR_NULL, STR_NULL);
	if (buf_error(&st->tmp))
		return buf_error(&st->tmp);
	t->resp = arena_str(&t->arena, buf_str(&st->tmp));
	if (!t->resp.s)
		return -ENOMEM;
	t->last_status = 100;
	return sip_txn_send(t, t->resp);
}

/* 503 for a request the TU never answered, at the end of a shutdown. */
static int act_abort(struct sip_txn *t, struct sip_txn_arg *a)
{
	struct sip_stack *st = t->st;

	if (is_client(t)) {
		client_failure(t, -ECANCELED);
		return 0;
	}
	if (t->last_status >= 200 || a->quiet)
		return 0;
	buf_reset(&st->tmp);
	if (reparse(st, t->req) < 0)
		return 0;
	if (!t->to_has_tag && !t->to_tag[0])
		sip_tag_new(&st->cfg.ids, t->to_tag);
	sip_print_response_start(&st->tmp, &st->work, 503, STR_NULL, str_from_cstr(t->to_tag));
	sip_print_hdr(&st->tmp, SIP_HDR_RETRY_AFTER, STR_LIT("5"));
	sip_print_body(&st->tmp, STR_NULL, STR_NULL);
	if (buf_error(&st->tmp) == 0)
		sip_txn_send(t, buf_str(&st->tmp));
	server_failure(t, -ECANCELED);
	return 0;
}

/*
 * A new request to the TU. While it runs, sip_server_txn_response_start()
 * builds from the message the TU is looking at instead of parsing the
 * transaction's copy again.
 */
static int act_pass_request(struct sip_txn *t, struct sip_txn_arg *a)
{
	struct sip_stack *st = t->st;
	sip_txn_id saved_id = st->cur_id;
	struct sip_msg *saved_msg = st->cur_msg;

	if (a->quiet || !st->tu || !st->tu->request)
		return 0;
	st->cur_id = t->id;
	st->cur_msg = a->rx->msg;
	st->tu->request(st, st->ctx, t->id, a->rx);
	st->cur_id = saved_id;
	st->cur_msg = saved_msg;
	return 0;
}

static int run_action(struct sip_txn *t, enum txn_action a, struct sip_txn_arg *arg)
{
	const struct sip_timers *tm = t->tm;
	uint64_t next;

	switch (a) {
	case A_NONE:
		return 0;
	case A_SEND_REQUEST:
		return sip_txn_send(t, t->req);
	case A_RESEND_A:
		return resend_request(t, 2ull * t->interval);
	case A_RESEND_E:
		next = 2ull * t->interval;
		return resend_request(t, next < tm->t2 ? next : tm->t2);
	case A_RESEND_E_T2:
		return resend_request(t, tm->t2);
	case A_PASS_RESPONSE:
		return act_pass_response(t, arg);
	case A_ACK_PASS:
		return act_ack_pass(t, arg);
	case A_RESEND_ACK:
		t->absorbed++;
		t->st->stats.absorbed++;
		return t->ack.s ? sip_txn_send(t, t->ack) : 0;
	case A_TIMEOUT:
		if (is_client(t))
			client_failure(t, -ETIMEDOUT);
		else
			server_failure(t, -ETIMEDOUT);
		return 0;
	case A_ERROR:
		if (is_client(t))
			client_failure(t, arg->err ? arg->err : -EIO);
		else
			server_failure(t, arg->err ? arg->err : -EIO);
		return 0;
	case A_ABSORB:
		t->absorbed++;
		t->st->stats.absorbed++;
		return 0;
	case A_ABORT_CLIENT:
	case A_ABORT_SERVER:
		return act_abort(t, arg);
	case A_PASS_REQUEST:
		return act_pass_request(t, arg);
	case A_SEND_RESPONSE:
		return act_send_response(t, arg);
	case A_RESEND_RESPONSE:
		t->absorbed++;
		t->st->stats.absorbed++;
		if (!t->resp.s)
			return 0;
		t->retransmissions++;
		t->st->stats.retransmissions++;
		return sip_txn_send(t, t->resp);
	case A_RESEND_G:
		next = 2ull * t->interval;
		t->retransmissions++;
		t->st->stats.retransmissions++;
		t->interval = (uint32_t)(next < tm->t2 ? next : tm->t2);
		arm(t, SLOT_RETRANS, E(TIMER_G), t->interval);
		return sip_txn_send(t, t->resp);
	case A_SEND_TRYING:
		return act_send_trying(t, arg);
	case A_PASS_ACK:
		if (t->st->tu && t->st->tu->request)
			t->st->tu->request(t->st, t->st->ctx, 0, arg->rx);
		return 0;
	case A__COUNT:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Matching                                                           */

static uint64_t client_hash(const struct sip_stack *st, struct str branch, struct str method)
{
	uint64_t h = sip_hash_bytes(st->clients.seed, branch.s, branch.len);

	return sip_hash_bytes(h, method.s, method.len);
}

static uint64_t server_hash(const struct sip_stack *st, struct str branch, struct str host,
			    uint32_t port, struct str method)
{
	uint64_t h = sip_hash_bytes(st->servers.seed, branch.s, branch.len);

	h = sip_hash_bytes_case(h, host.s, host.len);
	h = sip_hash_u64(h, port);
	return sip_hash_bytes(h, method.s, method.len);
}

static uint64_t hash2543(const struct sip_stack *st, struct str callid, uint32_t cseq,
			 struct str from_tag)
{
	uint64_t h = sip_hash_bytes(st->servers2543.seed, callid.s, callid.len);

	h = sip_hash_u64(h, cseq);
	return sip_hash_bytes(h, from_tag.s, from_tag.len);
}

static uint32_t port_key(bool has, uint16_t port)
{
	return has ? 0x10000u | port : 0;
}

void sip_txn_index(struct sip_txn *t)
{
	struct sip_stack *st = t->st;

	if (is_client(t))
		sip_htab_insert(&st->clients, &t->node, client_hash(st, t->branch, t->method));
	else if (t->rfc2543)
		sip_htab_insert(&st->servers2543, &t->node2543,
				hash2543(st, t->callid, t->cseq, t->from_tag));
	else
		sip_htab_insert(&st->servers, &t->node,
				server_hash(st, t->branch, t->sent_by_host,
					    port_key(t->sent_by_has_port, t->sent_by_port),
					    t->method));
	t->in_table = true;
}

struct sip_txn *sip_txn_match_response(struct sip_stack *st, struct str branch, struct str method)
{
	uint64_t h = client_hash(st, branch, method);

	for (struct sip_hnode *n = sip_htab_first(&st->clients, h); n;
	     n = sip_htab_next(n->next, h)) {
		struct sip_txn *t = container_of(n, struct sip_txn, node);

		if (t->state != S(TERMINATED) && str_eq(t->branch, branch) && str_eq(t->method, method))
			return t;
	}
	return NULL;
}

/* The method name a request is matched under: ACK matches its INVITE. */
static struct str match_method(const struct sip_msg *m, enum sip_method as)
{
	if (as != SIP_METHOD_OTHER)
		return str_from_cstr(sip_method_name(as));
	if (m->method == SIP_METHOD_ACK)
		return STR_LIT("INVITE");
	return m->method_name;
}

static struct sip_txn *match2543(struct sip_stack *st, struct sip_msg *m, struct str method)
{
	const struct sip_addr *from, *to;
	const struct sip_cseq *cseq;
	const struct sip_hdr *via;
	struct str callid;
	uint64_t h;

	if (sip_msg_from(m, &from, NULL) < 0 || sip_msg_to(m, &to, NULL) < 0 ||
	    sip_msg_cseq(m, &cseq, NULL) < 0 || sip_msg_call_id(m, &callid, NULL) < 0)
		return NULL;
	via = sip_msg_hdr(m, SIP_HDR_VIA);
	h = hash2543(st, callid, cseq->seq, from->tag);
	for (struct sip_hnode *n = sip_htab_first(&st->servers2543, h); n;
	     n = sip_htab_next(n->next, h)) {
		struct sip_txn *t = container_of(n, struct sip_txn, node2543);

		if (t->state == S(TERMINATED) || !str_eq(t->method, method) ||
		    t->cseq != cseq->seq || !str_eq(t->callid, callid) ||
		    !str_eq(t->from_tag, from->tag) || !str_eq(t->ruri, m->ruri) ||
		    !via || !str_eq(t->top_via, via->value))
			continue;
		/*
		 * 17.2.3: an ACK matches by the To tag of our response;
		 * anything else by the To tag of the request that created it.
		 */
		if (m->method == SIP_METHOD_ACK) {
			if (!(t->to_has_tag ? str_eq(to->tag, t->req_to_tag)
					    : str_eq_cstr(to->tag, t->to_tag)))
				continue;
		} else if (!str_eq(to->tag, t->req_to_tag)) {
			continue;
		}
		return t;
	}
	return NULL;
}

struct sip_txn *sip_txn_match_request(struct sip_stack *st, struct sip_msg *m, enum sip_method as)
{
	const struct sip_via *via;
	struct str method = match_method(m, as);
	uint64_t h;

	if (sip_msg_via(m, &via, NULL) < 0)
		return NULL;
	if (!sip_branch_is_rfc3261(via->branch))
		return match2543(st, m, method);
	h = server_hash(st, via->branch, via->host, port_key(via->has_port, via->port), method);
	for (struct sip_hnode *n = sip_htab_first(&st->servers, h); n;
	     n = sip_htab_next(n->next, h)) {
		struct sip_txn *t = container_of(n, struct sip_txn, node);

		if (t->state != S(TERMINATED) && str_eq(t->branch, via->branch) &&
		    str_caseeq(t->sent_by_host, via->host) && t->sent_by_has_port == via->has_port &&
		    t->sent_by_port == via->port && str_eq(t->method, method))
			return t;
	}
	return NULL;
}

enum sip_txn_event sip_txn_rx_event(unsigned status)
{
	if (status < 200)
		return E(RX_1XX);
	if (status < 300)
		return E(RX_2XX);
	return E(RX_FINAL);
}

/* ------------------------------------------------------------------ */
/* Client API                                                         */

/*
 * Start a client transaction for `msg`, which already carries its topmost
 * Via with `branch`. The caller has selected t->flow.
 */
static int client_launch(struct sip_txn *t, struct str msg, struct str branch, sip_txn_id *id)
{
	struct sip_stack *st = t->st;
	const struct sip_cseq *cseq;
	sip_txn_id tid = t->id;
	int rc;

	t->req = arena_str(&t->arena, msg);
	t->branch = arena_str(&t->arena, branch);
	if (!t->req.s || !t->branch.s) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = reparse(st, t->req);
	if (rc < 0 || st->work.kind != SIP_MSG_REQUEST || sip_msg_cseq(&st->work, &cseq, NULL) < 0 ||
	    !sip_msg_hdr(&st->work, SIP_HDR_CALL_ID) || !sip_msg_hdr(&st->work, SIP_HDR_FROM) ||
	    !sip_msg_hdr(&st->work, SIP_HDR_TO) || !str_eq(cseq->method, st->work.method_name)) {
		log_error("client transaction refused: the request is not well-formed "
			  "(start line, Call-ID, From, To, CSeq matching the method)");
		rc = -EINVAL;
		goto fail;
	}
	t->method = arena_str(&t->arena, st->work.method_name);
	t->method_id = st->work.method;
	if (!t->method.s) {
		rc = -ENOMEM;
		goto fail;
	}
	sip_txn_index(t);
	/* No callbacks for a first send that fails: the caller gets the error. */
	t->detached = true;
	rc = sip_txn_feed(t, E(TU_REQUEST), NULL);
	t = sip_txn_get(st, tid);
	if (!t) {
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	t->detached = false;
	rc = 0;
	if (id)
		*id = tid;
	goto out;
fail:
	sip_txn_destroy(t);
out:
	return rc;
}

static enum sip_method request_method(struct str msg, struct str *name)
{
	const char *sp = msg.len ? memchr(msg.s, ' ', msg.len) : NULL;

	*name = sp ? str_make(msg.s, (size_t)(sp - msg.s)) : STR_NULL;
	return sip_method_lookup(*name);
}

int sip_client_txn_start(struct sip_stack *st, const struct sip_client_req *req, sip_txn_id *id)
{
	char sent_by[SIP_SOCKADDR_STRLEN + 192], branch[SIP_BRANCH_LEN];
	struct str name;
	enum sip_method m = request_method(req->msg, &name);
	struct sip_tp *tp;
	struct sip_txn *t;
	struct buf via;
	char via_mem[512];
	int n, rc;

	if (st->shutting_down) {
		rc = -EAGAIN;
		goto out;
	}
	if (!name.len || m == SIP_METHOD_ACK || str_eq(name, STR_LIT("SIP/2.0"))) {
		rc = -EINVAL;
		goto out;
	}
	t = sip_txn_new(st, m == SIP_METHOD_INVITE ? SIP_TXN_ICT : SIP_TXN_NICT);
	if (!t) {
		rc = st->stats.txn_live >= st->cfg.max_txns ? -ENOBUFS : -ENOMEM;
		goto out;
	}
	t->flow = req->dest;
	t->ops = req->ops;
	t->ctx = req->ctx;
	t->ref = req->ref;
	rc = sip_tpset_select(st->tps, &t->flow, &tp);
	if (rc < 0)
		goto fail;
	t->reliable = tp->ops->flags & SIP_TPF_RELIABLE;
	if (tp->timers)
		t->tm = tp->timers;
	n = sip_tpset_sent_by(st->tps, &t->flow, sent_by, sizeof(sent_by));
	if (n < 0) {
		rc = n;
		goto fail;
	}
	sip_branch_new(&st->cfg.ids, branch);
	buf_init_fixed(&via, via_mem, sizeof(via_mem));
	sip_via_print_value(&via, tp->ops->proto, str_make(sent_by, (size_t)n),
			    str_from_cstr(branch), st->cfg.rport && !t->reliable);
	buf_reset(&st->tmp);
	rc = buf_error(&via) ? buf_error(&via) : sip_via_prepend(req->msg, buf_str(&via), &st->tmp);
	if (rc < 0)
		goto fail;
	rc = client_launch(t, buf_str(&st->tmp), str_from_cstr(branch), id);
	goto out;
fail:
	sip_txn_destroy(t);
out:
	return rc;
}

/* Build the CANCEL of an ICT and start it (9.1). */
static int start_cancel(struct sip_txn *inv)
{
	struct sip_stack *st = inv->st;
	struct sip_txn *t;
	int rc;

	buf_reset(&st->tmp);
	rc = build_like(inv, "CANCEL", STR_NULL, &st->tmp);
	if (rc < 0)
		goto out;
	t = sip_txn_new(st, SIP_TXN_NICT);
	if (!t) {
		rc = -ENOBUFS;
		goto out;
	}
	/* Same destination, same connection as the INVITE. */
	t->flow = inv->flow;
	t->reliable = inv->reliable;
	t->tm = inv->tm;
	t->ops = inv->ops;
	t->ctx = inv->ctx;
	t->ref = inv->ref;
	rc = client_launch(t, buf_str(&st->tmp), inv->branch, &inv->cancel);
	if (rc < 0)
		log_info("CANCEL of %.*s could not be sent: %s", STR_FMT(inv->branch), strerror(-rc));
	/*
	 * 9.1: with no final response 64*T1 after the CANCEL, the INVITE
	 * counts as cancelled. Proceeding runs no timeout timer of its own,
	 * and leaving the state cancels this one.
	 */
	arm(inv, SLOT_TIMEOUT, E(TIMER_CANCEL), 64ull * inv->tm->t1);
out:
	return rc;
}

int sip_client_txn_cancel(struct sip_stack *st, sip_txn_id invite, sip_txn_id *cancel)
{
	struct sip_txn *t = sip_txn_get(st, invite);
	int rc = 0;

	if (cancel)
		*cancel = 0;
	if (!t) {
		rc = -ENOENT;
		goto out;
	}
	if (t->kind != SIP_TXN_ICT) {
		rc = -EINVAL;
		goto out;
	}
	if (t->cancel || t->cancel_wanted || (t->state != S(CALLING) && t->state != S(PROCEEDING))) {
		rc = -EALREADY;
		goto out;
	}
	if (t->state == S(CALLING)) {
		t->cancel_wanted = true;
		goto out;
	}
	rc = start_cancel(t);
	if (rc == 0 && cancel)
		*cancel = t->cancel;
out:
	return rc;
}

void sip_client_txn_detach(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = sip_txn_get(st, id);

	if (t)
		t->detached = true;
}

int sip_client_txn_request(struct sip_stack *st, sip_txn_id id, struct str *msg)
{
	struct sip_txn *t = sip_txn_get(st, id);

	if (!t || !is_client(t))
		return -ENOENT;
	*msg = t->req;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Server API                                                         */

static struct sip_txn *server_get(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = sip_txn_get(st, id);

	return t && !is_client(t) ? t : NULL;
}

int sip_server_txn_set_ref(struct sip_stack *st, sip_txn_id id, uint64_t ref)
{
	struct sip_txn *t = server_get(st, id);

	if (!t)
		return -ENOENT;
	t->ref = ref;
	return 0;
}

int sip_server_txn_request(struct sip_stack *st, sip_txn_id id, struct str *msg)
{
	struct sip_txn *t = server_get(st, id);

	if (!t)
		return -ENOENT;
	*msg = t->req;
	return 0;
}

int sip_server_txn_reply_flow(struct sip_stack *st, sip_txn_id id, struct sip_flow *out)
{
	struct sip_txn *t = server_get(st, id);

	if (!t)
		return -ENOENT;
	*out = t->flow;
	return 0;
}

int sip_server_txn_set_reply_flow(struct sip_stack *st, sip_txn_id id, const struct sip_flow *flow)
{
	struct sip_txn *t = server_get(st, id);
	struct sip_flow f;
	struct sip_tp *tp;
	int rc;

	if (!t)
		return -ENOENT;
	f = *flow;
	rc = sip_tpset_select(st->tps, &f, &tp);
	if (rc < 0)
		return rc;
	t->flow = f;
	t->reliable = tp->ops->flags & SIP_TPF_RELIABLE;
	if (tp->timers)
		t->tm = tp->timers;
	return 0;
}

int sip_server_txn_response_start(struct sip_stack *st, sip_txn_id id, struct buf *b,
				  unsigned code, struct str reason)
{
	struct sip_txn *t = server_get(st, id);
	struct sip_msg *m;
	int rc;

	if (!t)
		return -ENOENT;
	if (code < 100 || code > 699)
		return -EINVAL;
	if (st->cur_id == id && st->cur_msg) {
		m = st->cur_msg;
	} else {
		rc = reparse(st, t->req);
		if (rc < 0)
			return rc;
		m = &st->work;
	}
	/* 8.2.6.2: one To tag for every response (but 100) of the transaction. */
	if (code > 100 && !t->to_has_tag && !t->to_tag[0])
		sip_tag_new(&st->cfg.ids, t->to_tag);
	sip_print_response_start(b, m, code, reason,
				 code > 100 ? str_from_cstr(t->to_tag) : STR_NULL);
	return buf_error(b);
}

int sip_server_txn_send(struct sip_stack *st, sip_txn_id id, struct str response)
{
	struct sip_txn *t = server_get(st, id);
	struct sip_txn_arg a = { .out = response };
	enum sip_txn_event ev;
	unsigned code;

	if (!t)
		return -ENOENT;
	if (response.len < 12 || memcmp(response.s, "SIP/2.0 ", 8) != 0 ||
	    response.s[8] < '1' || response.s[8] > '6' || response.s[9] < '0' ||
	    response.s[9] > '9' || response.s[10] < '0' || response.s[10] > '9' ||
	    response.s[11] != ' ')
		return -EBADMSG;
	code = (unsigned)atoi(response.s + 8);
	ev = code < 200 ? E(TU_1XX) : code < 300 ? E(TU_2XX) : E(TU_FINAL);
	return sip_txn_feed(t, ev, &a);
}

int sip_server_txn_respond(struct sip_stack *st, sip_txn_id id, unsigned code, struct str reason)
{
	char mem[4096];
	struct buf b;
	int rc;

	buf_init_fixed(&b, mem, sizeof(mem));
	rc = sip_server_txn_response_start(st, id, &b, code, reason);
	if (rc < 0 && rc != -ENOSPC)
		goto out;
	if (rc == -ENOSPC) {
		/* A request with many Vias: build on the heap. */
		buf_init(&b);
		rc = sip_server_txn_response_start(st, id, &b, code, reason);
	}
	if (rc == 0) {
		if (st->cfg.server_name && code != 100)
			sip_print_hdr(&b, SIP_HDR_SERVER, str_from_cstr(st->cfg.server_name));
		sip_print_body(&b, STR_NULL, STR_NULL);
		rc = buf_error(&b) ? buf_error(&b) : sip_server_txn_send(st, id, buf_str(&b));
	}
	if (!b.fixed)
		buf_free(&b);
out:
	return rc;
}

int sip_server_txn_drop(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = server_get(st, id);
	int rc;

	if (!t)
		return -ENOENT;
	rc = sip_txn_feed(t, E(TU_DROP), NULL);
	return rc == -EPROTO ? -EPROTO : 0;
}

int sip_server_txn_abandon(struct sip_stack *st, sip_txn_id id)
{
	struct sip_txn *t = server_get(st, id);
	struct sip_txn_arg a = { .quiet = true };

	if (!t)
		return -ENOENT;
	return sip_txn_feed(t, E(TU_ABORT), &a) == -EPROTO ? -ENOENT : 0;
}

/* ------------------------------------------------------------------ */
/* Info                                                               */

int sip_txn_info(struct sip_stack *st, sip_txn_id id, struct sip_txn_info *out)
{
	struct sip_txn *t = sip_txn_get(st, id);

	if (!t)
		return -ENOENT;
	out->kind = t->kind;
	out->state = t->state;
	out->last_status = t->last_status;
	out->retransmissions = t->retransmissions;
	out->absorbed = t->absorbed;
	out->flow = t->flow;
	out->ref = t->ref;
	out->branch = t->branch;
	out->method = t->method;
	return 0;
}
