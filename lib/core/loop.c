/*
 * loop.c - the event loop (see loop.h for the contract).
 *
 * Three structures carry it:
 *
 *   slots  a table of watchers; the epoll cookie of a watcher is its slot
 *          index and the slot's generation, so an event collected for a
 *          watcher that a callback removed (and perhaps freed, and whose
 *          slot was reused) in the same iteration is recognised and dropped.
 *   heap   a 4-ary min-heap of (deadline, arm sequence, timer). Keys sit in
 *          the heap array, so comparing children never dereferences a
 *          timer; each timer knows its position, so cancel is O(log n).
 *          Four children per node make the tree half as deep as a binary
 *          heap and keep the children in one or two cache lines.
 *   work   a mutex-protected FIFO of items handed over by other threads,
 *          with an eventfd that is written when the queue becomes non-empty.
 */
#define SLOG_COMPONENT "loop"
#include "core/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define NS_PER_MS 1000000ull
#define LOOP_MAX_EVENTS 64
#define LOOP_DEFAULT_GRACE_MS 5000

struct io_slot {
	struct loop_io *io;     /* NULL: free */
	uint32_t gen;           /* bumped on every removal */
	uint32_t next_free;     /* index + 1 of the next free slot, 0 = none */
};

struct heap_entry {
	uint64_t deadline;
	uint64_t seq;
	struct loop_timer *t;
};

struct loop {
	int epfd;
	struct loop_clock *clock;
	bool stop;

	struct io_slot *slots;
	uint32_t nslots;        /* slots in use or on the free list */
	uint32_t cap_slots;
	uint32_t free_head;     /* index + 1, 0 = none */

	struct heap_entry *heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t timer_seq;

	pthread_mutex_t work_lock;
	struct loop_work *work_head;    /* guarded by work_lock */
	struct loop_work **work_tail;   /* guarded by work_lock */
	int wake_fd;
	struct loop_io wake_io;

	int sig_fd;
	struct loop_io sig_io;
	sigset_t saved_mask;    /* restored if loop_signals_enable() fails */

	struct loop_shutdown_hook *hooks;
	bool shutting_down;
	bool beginning;         /* inside loop_shutdown()'s begin() calls */
	uint64_t grace_ms;
	struct loop_timer grace_timer;
	void (*reload_fn)(struct loop *loop, void *ctx);
	void *reload_ctx;

	struct loop_io log_io;
	bool log_unpollable;    /* the log fd is a regular file: always writable */

	struct epoll_event events[LOOP_MAX_EVENTS];
};

/* ---------------------------------------------------------------------------
 * Clocks
 */

static uint64_t monotonic_now_ns(struct loop_clock *clock)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct loop_clock loop_clock_monotonic = { .now_ns = monotonic_now_ns };

static uint64_t manual_now_ns(struct loop_clock *clock)
{
	return ((struct loop_manual_clock *)clock)->ns;
}

static void manual_set_ns(struct loop_clock *clock, uint64_t ns)
{
	((struct loop_manual_clock *)clock)->ns = ns;
}

void loop_manual_clock_init(struct loop_manual_clock *m, uint64_t start_ns)
{
	m->clock.now_ns = manual_now_ns;
	m->clock.set_ns = manual_set_ns;
	m->ns = start_ns;
}

uint64_t loop_now_ns(struct loop *loop)
{
	return loop->clock->now_ns(loop->clock);
}

uint64_t loop_now_ms(struct loop *loop)
{
	return loop_now_ns(loop) / NS_PER_MS;
}

/* ---------------------------------------------------------------------------
 * Descriptor watchers
 */

static uint32_t to_epoll(unsigned events)
{
	return ((events & LOOP_READ) ? EPOLLIN : 0) | ((events & LOOP_WRITE) ? EPOLLOUT : 0);
}

static int grow_slots(struct loop *loop)
{
	uint32_t cap = loop->cap_slots ? 2 * loop->cap_slots : 64;
	struct io_slot *s;

	if (cap > UINT32_MAX / 2)
		return -ENOMEM;
	s = realloc(loop->slots, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	loop->slots = s;
	loop->cap_slots = cap;
	return 0;
}

int loop_io_add(struct loop *loop, struct loop_io *io, int fd, unsigned events,
		loop_io_cb *cb, void *ctx)
{
	struct epoll_event ev = { 0 };
	uint32_t idx;
	int rc = 0;

	if (io->slot && io->slot <= loop->nslots && loop->slots[io->slot - 1].io == io)
		return -EEXIST;
	if (loop->free_head) {
		idx = loop->free_head - 1;
	} else {
		if (loop->nslots == loop->cap_slots) {
			rc = grow_slots(loop);
			if (rc < 0)
				goto out;
		}
		idx = loop->nslots;
		loop->slots[idx] = (struct io_slot){ 0 };
	}

	ev.events = to_epoll(events);
	ev.data.u64 = (uint64_t)loop->slots[idx].gen << 32 | idx;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rc = -errno;
		goto out;
	}

	/* Only now is the slot taken: a failed add leaves the table as it was. */
	if (loop->free_head)
		loop->free_head = loop->slots[idx].next_free;
	else
		loop->nslots++;
	loop->slots[idx].io = io;
	loop->slots[idx].next_free = 0;
	io->fd = fd;
	io->events = events & (LOOP_READ | LOOP_WRITE);
	io->cb = cb;
	io->ctx = ctx;
	io->slot = idx + 1;
out:
	return rc;
}

static bool io_added(struct loop *loop, const struct loop_io *io)
{
	return io->slot && io->slot <= loop->nslots && loop->slots[io->slot - 1].io == io;
}

int loop_io_modify(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct epoll_event ev = { 0 };
	uint32_t idx = io->slot - 1;

	if (!io_added(loop, io))
		return -ENOENT;
	events &= LOOP_READ | LOOP_WRITE;
	if (events == io->events)
		return 0;
	ev.events = to_epoll(events);
	ev.data.u64 = (uint64_t)loop->slots[idx].gen << 32 | idx;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void loop_io_remove(struct loop *loop, struct loop_io *io)
{
	struct io_slot *s;

	if (!io_added(loop, io))
		return;
	s = &loop->slots[io->slot - 1];
	/* EBADF/ENOENT here means the caller closed the fd first; the
	 * kernel has then dropped the registration already. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	s->io = NULL;
	s->gen++;
	s->next_free = loop->free_head;
	loop->free_head = io->slot;
	io->slot = 0;
}

static int dispatch_io(struct loop *loop, int n)
{
	int ran = 0;

	for (int i = 0; i < n; i++) {
		const struct epoll_event *ev = &loop->events[i];
		uint32_t idx = (uint32_t)ev->data.u64;
		uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
		struct loop_io *io;
		unsigned got = 0;

		/* The watcher may have been removed by an earlier callback of
		 * this batch: its slot is then empty or of a later generation. */
		if (idx >= loop->nslots || !loop->slots[idx].io || loop->slots[idx].gen != gen)
			continue;
		io = loop->slots[idx].io;
		if (ev->events & EPOLLIN)
			got |= LOOP_READ;
		if (ev->events & EPOLLOUT)
			got |= LOOP_WRITE;
		if (ev->events & (EPOLLERR | EPOLLHUP))
			got |= LOOP_ERROR | io->events;
		got &= io->events | LOOP_ERROR;
		if (!got)
			continue;
		io->cb(loop, io, got);
		ran++;
	}
	return ran;
}

/* ---------------------------------------------------------------------------
 * Timers: 4-ary min-heap ordered by (deadline, seq)
 */

static inline bool entry_before(const struct heap_entry *a, const struct heap_entry *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void heap_place(struct loop *loop, size_t pos, struct heap_entry e)
{
	loop->heap[pos] = e;
	e.t->heap_index = (uint32_t)(pos + 1);
}

static void sift_up(struct loop *loop, size_t pos)
{
	struct heap_entry e = loop->heap[pos];

	while (pos > 0) {
		size_t parent = (pos - 1) / 4;
		if (!entry_before(&e, &loop->heap[parent]))
			break;
		heap_place(loop, pos, loop->heap[parent]);
		pos = parent;
	}
	heap_place(loop, pos, e);
}

static void sift_down(struct loop *loop, size_t pos)
{
	struct heap_entry e = loop->heap[pos];
	size_t len = loop->heap_len;

	for (;;) {
		size_t first = 4 * pos + 1, best, last;

		if (first >= len)
			break;
		last = first + 4 < len ? first + 4 : len;
		best = first;
		for (size_t c = first + 1; c < last; c++)
			if (entry_before(&loop->heap[c], &loop->heap[best]))
				best = c;
		if (!entry_before(&loop->heap[best], &e))
			break;
		heap_place(loop, pos, loop->heap[best]);
		pos = best;
	}
	heap_place(loop, pos, e);
}

static void heap_remove_at(struct loop *loop, size_t pos)
{
	struct loop_timer *t = loop->heap[pos].t;
	size_t last = --loop->heap_len;

	t->heap_index = 0;
	if (pos == last)
		return;
	loop->heap[pos] = loop->heap[last];
	/* The moved entry may belong above or below its new position. */
	if (pos > 0 && entry_before(&loop->heap[pos], &loop->heap[(pos - 1) / 4]))
		sift_up(loop, pos);
	else
		sift_down(loop, pos);
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb, void *ctx)
{
	t->deadline_ns = 0;
	t->cb = cb;
	t->ctx = ctx;
	t->heap_index = 0;
}

int loop_timer_arm_at(struct loop *loop, struct loop_timer *t, uint64_t deadline_ns)
{
	struct heap_entry e = { .deadline = deadline_ns, .seq = loop->timer_seq++, .t = t };
	size_t pos;

	t->deadline_ns = deadline_ns;
	if (t->heap_index) {
		/* Re-arm in place: counts as armed now for equal deadlines. */
		pos = t->heap_index - 1;
		loop->heap[pos] = e;
		if (pos > 0 && entry_before(&e, &loop->heap[(pos - 1) / 4]))
			sift_up(loop, pos);
		else
			sift_down(loop, pos);
		return 0;
	}
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? 2 * loop->heap_cap : 256;
		struct heap_entry *h;

		if (cap > UINT32_MAX - 1)
			return -ENOMEM;
		h = realloc(loop->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	pos = loop->heap_len++;
	loop->heap[pos] = e;
	sift_up(loop, pos);
	return 0;
}

int loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t delay_ms)
{
	uint64_t now = loop_now_ns(loop);
	uint64_t deadline = UINT64_MAX;

	if (delay_ms < (UINT64_MAX - now) / NS_PER_MS)
		deadline = now + delay_ms * NS_PER_MS;
	return loop_timer_arm_at(loop, t, deadline);
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
	if (!t->heap_index)
		return;
	heap_remove_at(loop, t->heap_index - 1);
}

size_t loop_timer_count(const struct loop *loop)
{
	return loop->heap_len;
}

/*
 * Fire the timers due at `now`, earliest first. Only timers armed before
 * this pass began are considered, so a callback that re-arms its timer for
 * "now" cannot keep the pass going forever; it fires on the next pass.
 */
static int run_timers(struct loop *loop, uint64_t now)
{
	uint64_t seq_limit = loop->timer_seq;
	int ran = 0;

	while (loop->heap_len && loop->heap[0].deadline <= now && loop->heap[0].seq < seq_limit) {
		struct loop_timer *t = loop->heap[0].t;

		heap_remove_at(loop, 0);
		t->cb(loop, t);
		ran++;
	}
	return ran;
}

int loop_advance(struct loop *loop, uint64_t ms)
{
	uint64_t now = loop_now_ns(loop), target = UINT64_MAX;
	int ran = 0;

	if (!loop->clock->set_ns)
		return -EINVAL;
	if (ms < (UINT64_MAX - now) / NS_PER_MS)
		target = now + ms * NS_PER_MS;
	while (loop->heap_len && loop->heap[0].deadline <= target) {
		if (loop->heap[0].deadline > now) {
			now = loop->heap[0].deadline;
			loop->clock->set_ns(loop->clock, now);
		}
		ran += run_timers(loop, now);
	}
	loop->clock->set_ns(loop->clock, target);
	return ran;
}

/* ---------------------------------------------------------------------------
 * Hand-off queue
 */

void loop_post(struct loop *loop, struct loop_work *w)
{
	static const uint64_t one = 1;
	bool was_empty;

	w->next = NULL;
	pthread_mutex_lock(&loop->work_lock);
	was_empty = loop->work_head == NULL;
	*loop->work_tail = w;
	loop->work_tail = &w->next;
	pthread_mutex_unlock(&loop->work_lock);
	/*
	 * One wake-up per batch: the loop takes the whole queue at once, so
	 * only the post that finds it empty needs to ring. A full eventfd
	 * counter (EAGAIN) is already a pending wake-up.
	 */
	if (was_empty) {
		ssize_t n;
		do
			n = write(loop->wake_fd, &one, sizeof(one));
		while (n < 0 && errno == EINTR);
	}
}

struct call_item {
	struct loop_work w;
	loop_work_fn *fn;
	void *ctx;
};

static void call_trampoline(void *ctx, int status)
{
	struct call_item *c = ctx;

	c->fn(c->ctx, status);
	free(c);
}

int loop_call(struct loop *loop, loop_work_fn *fn, void *ctx)
{
	struct call_item *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	c->w.fn = call_trampoline;
	c->w.ctx = c;
	loop_post(loop, &c->w);
	return 0;
}

static struct loop_work *take_work(struct loop *loop)
{
	struct loop_work *list;

	pthread_mutex_lock(&loop->work_lock);
	list = loop->work_head;
	loop->work_head = NULL;
	loop->work_tail = &loop->work_head;
	pthread_mutex_unlock(&loop->work_lock);
	return list;
}

static void on_wake(struct loop *loop, struct loop_io *io, unsigned events)
{
	uint64_t count;
	struct loop_work *w;

	/* Reset the counter before taking the queue, so a post that lands
	 * after the take rings again instead of being missed. */
	while (read(loop->wake_fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	w = take_work(loop);
	while (w) {
		struct loop_work *next = w->next;
		w->fn(w->ctx, 0);
		w = next;
	}
}

/* ---------------------------------------------------------------------------
 * Shutdown and signals
 */

static void finish_shutdown_if_idle(struct loop *loop)
{
	if (!loop->shutting_down || loop->beginning)
		return;
	for (struct loop_shutdown_hook *h = loop->hooks; h; h = h->next)
		if (h->pending)
			return;
	loop_timer_cancel(loop, &loop->grace_timer);
	log_notice("shutdown complete");
	loop->stop = true;
}

static void grace_expired(struct loop *loop, struct loop_timer *t)
{
	struct loop_shutdown_hook *h, *next;

	for (h = loop->hooks; h; h = next) {
		next = h->next;
		if (!h->pending)
			continue;
		h->pending = false;
		log_warn("shutdown: %s did not finish within the grace period, failing its work",
			 h->name ? h->name : "component");
		if (h->expire)
			h->expire(loop, h);
	}
	loop_timer_cancel(loop, &loop->grace_timer);
	log_notice("shutdown complete (grace period ended)");
	loop->stop = true;
}

void loop_on_shutdown(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct loop_shutdown_hook **p = &loop->hooks;

	if (h->registered)
		return;
	while (*p)
		p = &(*p)->next;
	h->next = NULL;
	h->pending = false;
	h->registered = true;
	*p = h;
}

void loop_shutdown_hook_remove(struct loop *loop, struct loop_shutdown_hook *h)
{
	struct loop_shutdown_hook **p;

	if (!h->registered)
		return;
	for (p = &loop->hooks; *p; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			break;
		}
	}
	h->registered = false;
	h->pending = false;
	finish_shutdown_if_idle(loop);
}

void loop_shutdown_done(struct loop *loop, struct loop_shutdown_hook *h)
{
	if (!h->pending)
		return;
	h->pending = false;
	log_info("shutdown: %s finished", h->name ? h->name : "component");
	finish_shutdown_if_idle(loop);
}

void loop_shutdown(struct loop *loop)
{
	struct loop_shutdown_hook *h, *next;

	if (loop->shutting_down) {
		if (!loop->beginning && !loop->stop)
			grace_expired(loop, &loop->grace_timer);
		return;
	}
	loop->shutting_down = true;
	loop->beginning = true;
	for (h = loop->hooks; h; h = next) {
		next = h->next;
		/* Pending before begin(), so that a begin() that finishes at
		 * once and calls loop_shutdown_done() is handled too. */
		h->pending = true;
		if (!h->begin || h->begin(loop, h) != LOOP_SHUTDOWN_PENDING)
			h->pending = false;
	}
	loop->beginning = false;
	loop_timer_arm(loop, &loop->grace_timer, loop->grace_ms);
	finish_shutdown_if_idle(loop);
}

bool loop_shutting_down(const struct loop *loop)
{
	return loop->shutting_down;
}

void loop_set_shutdown_grace(struct loop *loop, uint64_t ms)
{
	loop->grace_ms = ms;
}

void loop_on_reload(struct loop *loop, void (*fn)(struct loop *loop, void *ctx), void *ctx)
{
	loop->reload_fn = fn;
	loop->reload_ctx = ctx;
}

static void on_signal(struct loop *loop, struct loop_io *io, unsigned events)
{
	struct signalfd_siginfo si;

	while (read(loop->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("%s: %s", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
				   loop->shutting_down ? "ending the grace period now"
						       : "shutting down");
			loop_shutdown(loop);
			break;
		case SIGHUP:
			if (loop->reload_fn) {
				log_notice("SIGHUP: reloading");
				loop->reload_fn(loop, loop->reload_ctx);
			} else {
				log_notice("SIGHUP ignored: nothing to reload");
			}
			break;
		default:
			break;
		}
	}
}

int loop_signals_enable(struct loop *loop)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;
	int rc = 0;

	if (loop->sig_fd >= 0)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	rc = -pthread_sigmask(SIG_BLOCK, &set, &loop->saved_mask);
	if (rc < 0)
		goto out;
	loop->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sig_fd < 0) {
		rc = -errno;
		goto restore_mask;
	}
	rc = loop_io_add(loop, &loop->sig_io, loop->sig_fd, LOOP_READ, on_signal, NULL);
	if (rc < 0)
		goto close_fd;
	sigaction(SIGPIPE, &ign, NULL);
	goto out;

close_fd:
	close(loop->sig_fd);
	loop->sig_fd = -1;
restore_mask:
	pthread_sigmask(SIG_SETMASK, &loop->saved_mask, NULL);
out:
	return rc;
}

/* ---------------------------------------------------------------------------
 * Logging: flush every iteration, wait for writability while lines wait
 */

static void on_log_writable(struct loop *loop, struct loop_io *io, unsigned events)
{
	slog_flush();
}

static void sync_log(struct loop *loop)
{
	int fd;

	slog_flush();
	if (!slog_pending()) {
		loop_io_remove(loop, &loop->log_io);
		return;
	}
	fd = slog_fd();
	if (io_added(loop, &loop->log_io) || loop->log_unpollable || fd < 0)
		return;
	/* Regular files cannot be polled (EPERM); they are always writable
	 * and slog_flush() will catch up on its own. */
	if (loop_io_add(loop, &loop->log_io, fd, LOOP_WRITE, on_log_writable, NULL) == -EPERM)
		loop->log_unpollable = true;
}

/* ---------------------------------------------------------------------------
 * Running
 */

int loop_create(struct loop **out, struct loop_clock *clock)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	int rc = 0;

	if (!loop)
		return -ENOMEM;
	loop->clock = clock ? clock : &loop_clock_monotonic;
	loop->grace_ms = LOOP_DEFAULT_GRACE_MS;
	loop->sig_fd = -1;
	loop->work_tail = &loop->work_head;
	loop_timer_init(&loop->grace_timer, grace_expired, NULL);
	rc = -pthread_mutex_init(&loop->work_lock, NULL);
	if (rc < 0)
		goto free_loop;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		rc = -errno;
		goto destroy_lock;
	}
	loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->wake_fd < 0) {
		rc = -errno;
		goto close_ep;
	}
	rc = loop_io_add(loop, &loop->wake_io, loop->wake_fd, LOOP_READ, on_wake, NULL);
	if (rc < 0)
		goto close_wake;
	*out = loop;
	return 0;

close_wake:
	close(loop->wake_fd);
close_ep:
	close(loop->epfd);
destroy_lock:
	pthread_mutex_destroy(&loop->work_lock);
free_loop:
	free(loop->slots);
	free(loop);
	return rc;
}

void loop_destroy(struct loop *loop)
{
	struct loop_work *w;

	if (!loop)
		return;
	w = take_work(loop);
	while (w) {
		struct loop_work *next = w->next;
		w->fn(w->ctx, -ECANCELED);
		w = next;
	}
	/* The signals stay blocked (see loop.h). */
	if (loop->sig_fd >= 0)
		close(loop->sig_fd);
	/* Watchers and timers belong to their owners; forget them. */
	for (uint32_t i = 0; i < loop->nslots; i++)
		if (loop->slots[i].io)
			loop->slots[i].io->slot = 0;
	for (size_t i = 0; i < loop->heap_len; i++)
		loop->heap[i].t->heap_index = 0;
	close(loop->wake_fd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->work_lock);
	free(loop->slots);
	free(loop->heap);
	free(loop);
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}

static int wait_ms(struct loop *loop, int timeout_ms)
{
	uint64_t now, next, ms;

	if (!loop->heap_len || loop->clock->set_ns)
		return timeout_ms;
	now = loop_now_ns(loop);
	next = loop->heap[0].deadline;
	if (next <= now)
		return 0;
	/* Round up: waking a little late is fine, waking early spins. */
	ms = (next - now + NS_PER_MS - 1) / NS_PER_MS;
	if (ms > INT_MAX)
		ms = INT_MAX;
	return timeout_ms < 0 || (int)ms < timeout_ms ? (int)ms : timeout_ms;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	int n, ran = 0;

	ran += run_timers(loop, loop_now_ns(loop));
	sync_log(loop);
	n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, wait_ms(loop, timeout_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	ran += dispatch_io(loop, n);
	ran += run_timers(loop, loop_now_ns(loop));
	sync_log(loop);
	return ran;
}

int loop_run(struct loop *loop)
{
	int rc = 0;

	/* A finished shutdown stays finished; a plain loop_stop() does not. */
	if (!loop->shutting_down)
		loop->stop = false;
	while (!loop->stop) {
		rc = loop_run_once(loop, -1);
		if (rc < 0) {
			log_error("epoll_wait: %s", strerror(-rc));
			break;
		}
		rc = 0;
	}
	slog_drain();
	return rc;
}
