/*
 * lib/core/loop: timers on the manual clock, descriptor watchers over
 * socketpairs, the hand-off queue from several threads, shutdown hooks.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"

#define MS 1000000ull

struct fixture {
	struct loop_manual_clock clock;
	struct loop *loop;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	loop_manual_clock_init(&f->clock, 1000 * MS);
	if (loop_create(&f->loop, &f->clock.clock) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	loop_destroy(f->loop);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Timers
 */

/* A timer that records when and in which order it fired. */
struct rec_timer {
	struct loop_timer t;
	int id;
	int fired;
	uint64_t at_ms;
	int *log;
	size_t *nlog;
};

static void rec_cb(struct loop *loop, struct loop_timer *t)
{
	struct rec_timer *r = t->ctx;

	r->fired++;
	r->at_ms = loop_now_ms(loop);
	r->log[(*r->nlog)++] = r->id;
}

static void rec_init(struct rec_timer *r, int id, int *log, size_t *nlog)
{
	loop_timer_init(&r->t, rec_cb, r);
	r->id = id;
	r->fired = 0;
	r->log = log;
	r->nlog = nlog;
}

static void test_timer_order(void **state)
{
	struct fixture *f = *state;
	/* delay per timer id; ids 2, 4 and 6 share a deadline and must fire
	 * in the order armed, which is 4, 2, 6 below. */
	static const uint64_t delay[] = { 50, 10, 30, 5, 30, 100, 30, 0 };
	static const int arm_order[] = { 0, 1, 4, 2, 6, 3, 5, 7 };
	static const int expect[] = { 7, 3, 1, 4, 2, 6, 0, 5 };
	struct rec_timer r[8];
	int log[16];
	size_t nlog = 0;

	for (int i = 0; i < 8; i++)
		rec_init(&r[i], i, log, &nlog);
	for (int i = 0; i < 8; i++)
		assert_int_equal(loop_timer_arm(f->loop, &r[arm_order[i]].t, delay[arm_order[i]]), 0);
	assert_int_equal(loop_timer_count(f->loop), 8);

	assert_int_equal(loop_advance(f->loop, 29), 3);
	assert_int_equal(nlog, 3);
	assert_int_equal(loop_advance(f->loop, 1), 3);
	assert_int_equal(loop_advance(f->loop, 1000), 2);
	assert_int_equal(nlog, 8);
	assert_memory_equal(log, expect, sizeof(expect));
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r[i].fired, 1);
		/* Each fired at exactly its deadline, not at the end of the advance. */
		assert_int_equal(r[i].at_ms, 1000 + delay[i]);
		assert_false(loop_timer_armed(&r[i].t));
	}
	assert_int_equal(loop_timer_count(f->loop), 0);
	assert_int_equal(loop_now_ms(f->loop), 1000 + 29 + 1 + 1000);
}

static void test_timer_rearm_moves(void **state)
{
	struct fixture *f = *state;
	struct rec_timer a, b, c;
	int log[8];
	size_t nlog = 0;

	rec_init(&a, 1, log, &nlog);
	rec_init(&b, 2, log, &nlog);
	rec_init(&c, 3, log, &nlog);
	loop_timer_arm(f->loop, &a.t, 10);
	loop_timer_arm(f->loop, &b.t, 10);
	loop_timer_arm(f->loop, &c.t, 5);
	/* Re-arming an armed timer moves it: a goes behind b, c goes later. */
	loop_timer_arm(f->loop, &a.t, 10);
	loop_timer_arm(f->loop, &c.t, 20);
	assert_int_equal(loop_timer_count(f->loop), 3);
	loop_advance(f->loop, 100);
	assert_int_equal(nlog, 3);
	assert_int_equal(log[0], 2);
	assert_int_equal(log[1], 1);
	assert_int_equal(log[2], 3);
	assert_int_equal(c.at_ms, 1020);
	/* Cancel twice, cancel a never-armed timer: nothing happens. */
	loop_timer_cancel(f->loop, &a.t);
	loop_timer_cancel(f->loop, &a.t);
	assert_int_equal(loop_timer_count(f->loop), 0);
	/* A delay beyond the clock's range saturates instead of wrapping
	 * round to the past. */
	assert_int_equal(loop_timer_arm(f->loop, &a.t, UINT64_MAX), 0);
	assert_int_equal(a.t.deadline_ns, UINT64_MAX);
	assert_int_equal(loop_advance(f->loop, 1000000), 0);
	loop_timer_cancel(f->loop, &a.t);
}

/* Timer 1 cancels timer 2 (same deadline, later) and itself. */
struct canceller {
	struct loop_timer t;
	struct loop_timer *victim;
	int fired;
};

static void cancel_cb(struct loop *loop, struct loop_timer *t)
{
	struct canceller *c = t->ctx;

	c->fired++;
	if (c->victim)
		loop_timer_cancel(loop, c->victim);
	loop_timer_cancel(loop, t);
}

static void test_timer_cancel_from_callback(void **state)
{
	struct fixture *f = *state;
	struct canceller one = { 0 }, two = { 0 }, three = { 0 };

	loop_timer_init(&one.t, cancel_cb, &one);
	loop_timer_init(&two.t, cancel_cb, &two);
	loop_timer_init(&three.t, cancel_cb, &three);
	one.victim = &two.t;
	loop_timer_arm(f->loop, &one.t, 10);
	loop_timer_arm(f->loop, &two.t, 10);
	loop_timer_arm(f->loop, &three.t, 11);
	assert_int_equal(loop_advance(f->loop, 20), 2);
	assert_int_equal(one.fired, 1);
	assert_int_equal(two.fired, 0);
	assert_int_equal(three.fired, 1);
	assert_int_equal(loop_timer_count(f->loop), 0);
}

/* A periodic timer: re-arms itself from its callback. */
struct periodic {
	struct loop_timer t;
	uint64_t period;
	int fired;
	int limit;
	uint64_t at[16];
};

static void periodic_cb(struct loop *loop, struct loop_timer *t)
{
	struct periodic *p = t->ctx;

	p->at[p->fired++] = loop_now_ms(loop);
	if (p->fired < p->limit)
		loop_timer_arm(loop, t, p->period);
}

static void test_timer_rearm_from_callback(void **state)
{
	struct fixture *f = *state;
	struct periodic p = { .period = 100, .limit = 10 };

	loop_timer_init(&p.t, periodic_cb, &p);
	loop_timer_arm(f->loop, &p.t, 100);
	assert_int_equal(loop_advance(f->loop, 550), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(p.at[i], 1000 + 100 * (uint64_t)(i + 1));
	assert_int_equal(loop_advance(f->loop, 10000), 5);
	assert_int_equal(p.fired, 10);
	assert_false(loop_timer_armed(&p.t));
}

/* A timer re-armed for "now" fires once per pass, not forever. */
static void test_timer_zero_delay_rearm(void **state)
{
	struct fixture *f = *state;
	struct periodic p = { .period = 0, .limit = 1000 };

	loop_timer_init(&p.t, periodic_cb, &p);
	loop_timer_arm(f->loop, &p.t, 0);
	assert_true(loop_run_once(f->loop, 0) >= 1);
	/* Once in the pass before the wait, once in the pass after it. */
	assert_int_equal(p.fired, 2);
	assert_true(loop_timer_armed(&p.t));
	loop_timer_cancel(f->loop, &p.t);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

struct bulk_timer {
	struct loop_timer t;
	uint64_t deadline;
	uint32_t seq;
};

static uint64_t bulk_last_deadline;
static uint32_t bulk_last_seq;
static size_t bulk_fired;
static bool bulk_order_ok;

static void bulk_cb(struct loop *loop, struct loop_timer *t)
{
	struct bulk_timer *b = t->ctx;

	if (b->deadline < bulk_last_deadline ||
	    (b->deadline == bulk_last_deadline && b->seq < bulk_last_seq) ||
	    loop_now_ns(loop) != b->deadline)
		bulk_order_ok = false;
	bulk_last_deadline = b->deadline;
	bulk_last_seq = b->seq;
	bulk_fired++;
}

#define BULK 500000

static void test_timer_500k(void **state)
{
	struct fixture *f = *state;
	struct bulk_timer *b = calloc(BULK, sizeof(*b));
	uint32_t *perm = calloc(BULK, sizeof(*perm));
	uint64_t t0 = loop_now_ns(f->loop);

	assert_non_null(b);
	assert_non_null(perm);
	/* Arm all with deadlines in a small range (many equal), cancel all
	 * in a random order: the heap must end empty and every index 0. */
	for (uint32_t i = 0; i < BULK; i++) {
		loop_timer_init(&b[i].t, bulk_cb, &b[i]);
		assert_int_equal(loop_timer_arm(f->loop, &b[i].t, rng() % 5000), 0);
		perm[i] = i;
	}
	assert_int_equal(loop_timer_count(f->loop), BULK);
	for (uint32_t i = BULK - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rng() % (i + 1)), tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (uint32_t i = 0; i < BULK; i++)
		loop_timer_cancel(f->loop, &b[perm[i]].t);
	assert_int_equal(loop_timer_count(f->loop), 0);
	for (uint32_t i = 0; i < BULK; i++)
		assert_false(loop_timer_armed(&b[i].t));

	/* Arm all again, cancel a random half, fire the rest: they must come
	 * out in (deadline, arm order) order, each at its own deadline. */
	for (uint32_t i = 0; i < BULK; i++) {
		uint64_t d = rng() % 5000;
		b[i].deadline = loop_now_ns(f->loop) + d * MS;
		b[i].seq = i;
		loop_timer_arm(f->loop, &b[i].t, d);
	}
	size_t cancelled = 0;
	for (uint32_t i = 0; i < BULK; i++) {
		if (rng() & 1) {
			loop_timer_cancel(f->loop, &b[i].t);
			cancelled++;
		}
	}
	bulk_order_ok = true;
	bulk_fired = 0;
	bulk_last_deadline = 0;
	assert_int_equal(loop_advance(f->loop, 5000), BULK - cancelled);
	assert_int_equal(bulk_fired, BULK - cancelled);
	assert_true(bulk_order_ok);
	assert_int_equal(loop_timer_count(f->loop), 0);
	assert_true(loop_now_ns(f->loop) == t0 + 5000 * MS);
	free(b);
	free(perm);
}

static void test_advance_needs_manual_clock(void **state)
{
	struct loop *loop;
	uint64_t a, b;

	assert_int_equal(loop_create(&loop, NULL), 0);
	assert_int_equal(loop_advance(loop, 10), -EINVAL);
	a = loop_now_ns(loop);
	b = loop_now_ns(loop);
	assert_true(b >= a);
	loop_destroy(loop);
}

/* Real clock: loop_run_once() sleeps until the first deadline. */
static void test_real_clock_wait(void **state)
{
	struct loop *loop;
	struct rec_timer r;
	int log[2];
	size_t nlog = 0;
	uint64_t start;

	assert_int_equal(loop_create(&loop, NULL), 0);
	rec_init(&r, 1, log, &nlog);
	start = loop_now_ms(loop);
	loop_timer_arm(loop, &r.t, 20);
	while (!r.fired)
		assert_true(loop_run_once(loop, -1) >= 0);
	assert_true(r.at_ms >= start + 20);
	loop_destroy(loop);
}

/* ---------------------------------------------------------------------------
 * Descriptor watchers
 */

struct pair {
	int fd[2];
	struct loop_io io;
	unsigned got;
	int calls;
	struct pair *other;     /* removed and freed by this one's callback */
	struct pair *spare;     /* added in the freed slot */
	struct loop *loop;
};

static struct pair *pair_new(void)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fd), 0);
	return p;
}

static void pair_free(struct loop *loop, struct pair *p)
{
	loop_io_remove(loop, &p->io);
	close(p->fd[0]);
	close(p->fd[1]);
	free(p);
}

static void record_io(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct pair *p = io->ctx;

	p->got |= events;
	p->calls++;
}

static void test_io_read_write(void **state)
{
	struct fixture *f = *state;
	struct pair *p = pair_new();
	char buf[8];

	assert_int_equal(loop_io_add(f->loop, &p->io, p->fd[0], LOOP_READ, record_io, p), 0);
	assert_int_equal(loop_io_add(f->loop, &p->io, p->fd[0], LOOP_READ, record_io, p), -EEXIST);
	assert_int_equal(loop_run_once(f->loop, 0), 0);
	assert_int_equal(p->calls, 0);

	assert_int_equal(write(p->fd[1], "x", 1), 1);
	assert_int_equal(loop_run_once(f->loop, 0), 1);
	assert_int_equal(p->got, LOOP_READ);
	/* Level-triggered: still readable until read. */
	p->got = 0;
	loop_run_once(f->loop, 0);
	assert_int_equal(p->got, LOOP_READ);
	assert_int_equal(read(p->fd[0], buf, sizeof(buf)), 1);

	p->got = 0;
	assert_int_equal(loop_io_modify(f->loop, &p->io, LOOP_READ | LOOP_WRITE), 0);
	loop_run_once(f->loop, 0);
	assert_int_equal(p->got, LOOP_WRITE);
	p->got = 0;
	assert_int_equal(loop_io_modify(f->loop, &p->io, 0), 0);
	assert_int_equal(loop_run_once(f->loop, 0), 0);

	/* Peer closes: reported with the requested bits and LOOP_ERROR on
	 * hang-up, and read() says end of stream. */
	assert_int_equal(loop_io_modify(f->loop, &p->io, LOOP_READ), 0);
	close(p->fd[1]);
	p->fd[1] = -1;
	loop_run_once(f->loop, 0);
	assert_true(p->got & LOOP_READ);
	assert_int_equal(read(p->fd[0], buf, sizeof(buf)), 0);

	loop_io_remove(f->loop, &p->io);
	loop_io_remove(f->loop, &p->io);
	assert_int_equal(loop_io_modify(f->loop, &p->io, LOOP_READ), -ENOENT);
	pair_free(f->loop, p);
}

static void test_io_add_errors(void **state)
{
	struct fixture *f = *state;
	struct loop_io io = { 0 }, io2 = { 0 };
	struct pair *p = pair_new();
	char path[] = "/tmp/simreg-loop-XXXXXX";
	int file = mkstemp(path);

	assert_true(file >= 0);
	unlink(path);
	assert_int_equal(loop_io_add(f->loop, &io, file, LOOP_READ, record_io, NULL), -EPERM);
	assert_int_equal(loop_io_add(f->loop, &io, 1000000, LOOP_READ, record_io, NULL), -EBADF);
	assert_int_equal(io.slot, 0);
	/* The same fd through a second watcher. */
	assert_int_equal(loop_io_add(f->loop, &io, p->fd[0], LOOP_READ, record_io, p), 0);
	assert_int_equal(loop_io_add(f->loop, &io2, p->fd[0], LOOP_READ, record_io, p), -EEXIST);
	assert_int_equal(io2.slot, 0);
	loop_io_remove(f->loop, &io);
	close(file);
	pair_free(f->loop, p);
}

/* Whichever of two ready watchers runs first removes and frees the other,
 * puts a new watcher into the freed slot, and removes itself. */
static struct pair *survivor;

static void remove_other(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct pair *p = io->ctx;

	p->calls++;
	survivor = p;
	pair_free(loop, p->other);
	assert_int_equal(loop_io_add(loop, &p->spare->io, p->spare->fd[0], LOOP_READ, record_io,
				     p->spare), 0);
	loop_io_remove(loop, io);
}

static void test_io_remove_during_dispatch(void **state)
{
	struct fixture *f = *state;
	struct pair *a = pair_new(), *b = pair_new(), *spare = pair_new();

	a->other = b;
	b->other = a;
	a->spare = b->spare = spare;
	survivor = NULL;
	assert_int_equal(loop_io_add(f->loop, &a->io, a->fd[0], LOOP_READ, remove_other, a), 0);
	assert_int_equal(loop_io_add(f->loop, &b->io, b->fd[0], LOOP_READ, remove_other, b), 0);
	assert_int_equal(write(a->fd[1], "x", 1), 1);
	assert_int_equal(write(b->fd[1], "x", 1), 1);
	/* Both events come back from one epoll_wait; only one callback runs,
	 * the freed watcher's event is dropped (ASan would see a use after
	 * free otherwise) and the spare watcher in the reused slot is not
	 * called for the stale event (its socket has nothing to read). */
	assert_int_equal(loop_run_once(f->loop, 0), 1);
	assert_non_null(survivor);
	assert_int_equal(survivor->calls, 1);
	assert_int_equal(spare->calls, 0);
	/* The survivor removed itself; only the spare is left. */
	assert_int_equal(write(spare->fd[1], "y", 1), 1);
	assert_int_equal(loop_run_once(f->loop, 0), 1);
	assert_int_equal(spare->calls, 1);
	assert_int_equal(survivor->calls, 1);
	pair_free(f->loop, survivor);
	pair_free(f->loop, spare);
}

/* ---------------------------------------------------------------------------
 * Hand-off queue
 */

#define THREADS 4
#define ITEMS_PER_THREAD 20000

struct work_item {
	struct loop_work w;
	int thread;
	int seq;
};

struct work_state {
	pthread_t loop_thread;
	int last_seq[THREADS];
	int done;
	bool wrong_thread, out_of_order;
	int cancelled;
};

static struct work_state ws;

static void work_fn(void *ctx, int status)
{
	struct work_item *it = ctx;

	if (status == -ECANCELED) {
		ws.cancelled++;
		return;
	}
	if (!pthread_equal(pthread_self(), ws.loop_thread))
		ws.wrong_thread = true;
	if (it->seq != ws.last_seq[it->thread] + 1)
		ws.out_of_order = true;
	ws.last_seq[it->thread] = it->seq;
	ws.done++;
}

struct poster {
	struct loop *loop;
	int thread;
	struct work_item *items;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < ITEMS_PER_THREAD; i++) {
		struct work_item *it = &p->items[i];
		it->thread = p->thread;
		it->seq = i;
		it->w.fn = work_fn;
		it->w.ctx = it;
		loop_post(p->loop, &it->w);
		if (i % 1000 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_handoff_threads(void **state)
{
	struct fixture *f = *state;
	struct poster posters[THREADS];
	pthread_t th[THREADS];

	memset(&ws, 0, sizeof(ws));
	ws.loop_thread = pthread_self();
	for (int t = 0; t < THREADS; t++) {
		ws.last_seq[t] = -1;
		posters[t] = (struct poster){ f->loop, t, calloc(ITEMS_PER_THREAD, sizeof(struct work_item)) };
		assert_int_equal(pthread_create(&th[t], NULL, poster_main, &posters[t]), 0);
	}
	/* Block in epoll_wait: only the eventfd can wake us. */
	while (ws.done < THREADS * ITEMS_PER_THREAD)
		assert_true(loop_run_once(f->loop, 5000) > 0);
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		free(posters[t].items);
	}
	assert_false(ws.wrong_thread);
	assert_false(ws.out_of_order);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(ws.last_seq[t], ITEMS_PER_THREAD - 1);
}

static int call_ran;

static void call_fn(void *ctx, int status)
{
	call_ran += status == 0 ? *(int *)ctx : 1000;
}

static void test_handoff_call_and_cancel(void **state)
{
	struct loop *loop;
	struct work_item items[3];
	int seven = 7;

	memset(&ws, 0, sizeof(ws));
	ws.loop_thread = pthread_self();
	assert_int_equal(loop_create(&loop, NULL), 0);
	call_ran = 0;
	assert_int_equal(loop_call(loop, call_fn, &seven), 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(call_ran, 7);
	/* Items still queued at destroy are cancelled, loop_call's freed. */
	for (int i = 0; i < 3; i++) {
		items[i] = (struct work_item){ .w = { .fn = work_fn, .ctx = &items[i] } };
		loop_post(loop, &items[i].w);
	}
	assert_int_equal(loop_call(loop, call_fn, &seven), 0);
	loop_destroy(loop);
	assert_int_equal(ws.cancelled, 3);
	assert_int_equal(ws.done, 0);
	assert_int_equal(call_ran, 1007);
}

/* ---------------------------------------------------------------------------
 * Shutdown
 */

struct component {
	struct loop_shutdown_hook hook;
	struct loop_timer work;         /* in-flight work finishing later */
	uint64_t work_ms;               /* 0: nothing in flight */
	bool never_finishes;
	int begun, expired, finished;
	char *trace;
};

static void trace(struct component *c, const char *what)
{
	strcat(c->trace, c->hook.name);
	strcat(c->trace, ":");
	strcat(c->trace, what);
	strcat(c->trace, " ");
}

static void work_done(struct loop *loop, struct loop_timer *t)
{
	struct component *c = t->ctx;

	c->finished++;
	trace(c, "finished");
	loop_shutdown_done(loop, &c->hook);
}

static int comp_begin(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct component *c = h->ctx;

	c->begun++;
	trace(c, "begin");
	if (c->never_finishes)
		return LOOP_SHUTDOWN_PENDING;
	if (!c->work_ms)
		return 0;
	loop_timer_arm(loop, &c->work, c->work_ms);
	return LOOP_SHUTDOWN_PENDING;
}

static void comp_expire(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct component *c = h->ctx;

	c->expired++;
	trace(c, "expire");
}

static void comp_init(struct component *c, const char *name, uint64_t work_ms, char *tr)
{
	memset(c, 0, sizeof(*c));
	c->hook = (struct loop_shutdown_hook){ .name = name, .begin = comp_begin,
					       .expire = comp_expire, .ctx = c };
	loop_timer_init(&c->work, work_done, c);
	c->work_ms = work_ms;
	c->trace = tr;
}

static void test_shutdown_finishes_in_time(void **state)
{
	struct fixture *f = *state;
	struct component idle, busy;
	char tr[256] = "";

	comp_init(&idle, "idle", 0, tr);
	comp_init(&busy, "busy", 300, tr);
	loop_on_shutdown(f->loop, &idle.hook);
	loop_on_shutdown(f->loop, &busy.hook);
	loop_on_shutdown(f->loop, &busy.hook);
	loop_set_shutdown_grace(f->loop, 1000);
	assert_false(loop_shutting_down(f->loop));
	loop_shutdown(f->loop);
	assert_true(loop_shutting_down(f->loop));
	loop_advance(f->loop, 299);
	assert_int_equal(busy.finished, 0);
	loop_advance(f->loop, 1);
	assert_string_equal(tr, "idle:begin busy:begin busy:finished ");
	/* The grace timer was cancelled when the last hook finished. */
	assert_int_equal(loop_timer_count(f->loop), 0);
	alarm(10); /* loop_run must return at once: the loop has stopped */
	assert_int_equal(loop_run(f->loop), 0);
	alarm(0);
}

static void test_shutdown_grace_expires(void **state)
{
	struct fixture *f = *state;
	struct component slow, stuck, quick;
	char tr[256] = "";

	comp_init(&slow, "slow", 5000, tr);
	comp_init(&stuck, "stuck", 0, tr);
	stuck.never_finishes = true;
	comp_init(&quick, "quick", 100, tr);
	loop_on_shutdown(f->loop, &slow.hook);
	loop_on_shutdown(f->loop, &stuck.hook);
	loop_on_shutdown(f->loop, &quick.hook);
	loop_set_shutdown_grace(f->loop, 2000);
	loop_shutdown(f->loop);
	loop_advance(f->loop, 1999);
	assert_int_equal(stuck.expired + slow.expired, 0);
	loop_advance(f->loop, 1);
	assert_string_equal(tr, "slow:begin stuck:begin quick:begin quick:finished "
				"slow:expire stuck:expire ");
	assert_int_equal(quick.expired, 0);
	/* The expired component still owns its timer; it cancels it. */
	loop_timer_cancel(f->loop, &slow.work);
	alarm(10);
	assert_int_equal(loop_run(f->loop), 0);
	alarm(0);
}

static void test_shutdown_second_signal(void **state)
{
	struct fixture *f = *state;
	struct component stuck;
	char tr[256] = "";

	comp_init(&stuck, "stuck", 0, tr);
	stuck.never_finishes = true;
	loop_on_shutdown(f->loop, &stuck.hook);
	loop_shutdown(f->loop);
	assert_int_equal(stuck.expired, 0);
	/* A second SIGTERM (or call) ends the grace period now. */
	loop_shutdown(f->loop);
	assert_int_equal(stuck.expired, 1);
	loop_shutdown(f->loop);
	assert_int_equal(stuck.expired, 1);
	assert_int_equal(stuck.begun, 1);
	assert_int_equal(loop_timer_count(f->loop), 0);
}

static void test_shutdown_hook_removed(void **state)
{
	struct fixture *f = *state;
	struct component a, b;
	char tr[256] = "";

	comp_init(&a, "a", 0, tr);
	comp_init(&b, "b", 0, tr);
	b.never_finishes = true;
	loop_on_shutdown(f->loop, &a.hook);
	loop_on_shutdown(f->loop, &b.hook);
	loop_shutdown_hook_remove(f->loop, &a.hook);
	loop_shutdown(f->loop);
	assert_string_equal(tr, "b:begin ");
	/* The pending component goes away: shutdown completes without it. */
	loop_shutdown_hook_remove(f->loop, &b.hook);
	loop_shutdown_hook_remove(f->loop, &b.hook);
	assert_int_equal(loop_timer_count(f->loop), 0);
	alarm(10);
	assert_int_equal(loop_run(f->loop), 0);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timer_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_rearm_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_cancel_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_rearm_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_zero_delay_rearm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_500k, setup, teardown),
		cmocka_unit_test(test_advance_needs_manual_clock),
		cmocka_unit_test(test_real_clock_wait),
		cmocka_unit_test_setup_teardown(test_io_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_remove_during_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handoff_threads, setup, teardown),
		cmocka_unit_test(test_handoff_call_and_cancel),
		cmocka_unit_test_setup_teardown(test_shutdown_finishes_in_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_grace_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_second_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_hook_removed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
