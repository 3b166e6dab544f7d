/*
 * loop.h - the event loop: one per process, one thread drives it.
 *
 * Everything a network function does happens in callbacks run by this loop:
 *
 *   - fd watchers      readiness of non-blocking descriptors (epoll,
 *                      level-triggered);
 *   - timers           deadlines on a monotonic clock, kept in a 4-ary
 *                      min-heap; the timer object lives inside the caller's
 *                      struct, so arming never allocates;
 *   - hand-off queue   work posted by threads the loop does not own (the
 *                      freeDiameter library's) to be run on the loop thread;
 *                      its mutex is the only lock in the process;
 *   - signals          SIGTERM/SIGINT begin a clean shutdown with a grace
 *                      period, SIGHUP calls a reload hook (signalfd);
 *   - logging          the slog buffer (core/log.h) is flushed every
 *                      iteration; while lines are pending the loop waits for
 *                      stderr to become writable instead of blocking on it.
 *
 * The clock is a seam: tests give the loop a manual clock and move time with
 * loop_advance(), which fires due timers in deadline order without sleeping.
 *
 * Threading: every function here must be called from the loop thread, except
 * loop_post() and loop_call(), which any thread may call.
 *
 * Callbacks may add, modify or remove any watcher or timer, including the one
 * being dispatched, and may free the memory holding it once it is removed:
 * the loop never touches a watcher or timer after its removal.
 *
 * A typical entry point:
 *
 *     struct loop *loop;
 *     if (loop_create(&loop, NULL) < 0) ...
 *     loop_signals_enable(loop);      // before any thread is started
 *     loop_on_shutdown(loop, &server->shutdown_hook);
 *     ... add watchers and timers ...
 *     rc = loop_run(loop);            // returns after a clean shutdown
 *     loop_destroy(loop);
 */
#ifndef SIMREG_CORE_LOOP_H
#define SIMREG_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

/* ---------------------------------------------------------------------------
 * Clock seam
 */

/*
 * A monotonic clock. now_ns() returns nanoseconds since an arbitrary epoch
 * and never goes backwards. set_ns is NULL for clocks that follow real time;
 * a clock that implements it can be moved by loop_advance().
 */
struct loop_clock {
	uint64_t (*now_ns)(struct loop_clock *clock);
	void (*set_ns)(struct loop_clock *clock, uint64_t ns);
};

/* CLOCK_MONOTONIC; what loop_create() uses when given no clock. */
extern struct loop_clock loop_clock_monotonic;

/*
 * A clock that moves only when told to. Embed it, initialise it, pass
 * &m.clock to loop_create(), and drive time with loop_advance().
 */
struct loop_manual_clock {
	struct loop_clock clock;
	uint64_t ns;
};

/* Start the manual clock at start_ns (any value; tests often use 0). */
void loop_manual_clock_init(struct loop_manual_clock *m, uint64_t start_ns);

/* ---------------------------------------------------------------------------
 * Loop lifetime
 */

/*
 * Create a loop.
 *   out    receives the new loop; the caller owns it (loop_destroy()).
 *   clock  time source, borrowed for the loop's lifetime; NULL for
 *          loop_clock_monotonic.
 * Returns 0, -ENOMEM, or the negative errno of epoll_create1()/eventfd().
 */
int loop_create(struct loop **out, struct loop_clock *clock);

/*
 * Free the loop. Work items still queued are called with status
 * -ECANCELED so their owners can free them. Watchers and timers are simply
 * forgotten (they belong to their callers); descriptors are not closed,
 * except the loop's own. Threads that post work must have stopped. The
 * signals taken by loop_signals_enable() stay blocked: unblocking them
 * would let a SIGTERM that arrived during the shutdown kill the process in
 * the middle of its cleanup. NULL is a no-op.
 */
void loop_destroy(struct loop *loop);

/*
 * Run until loop_stop() is called or a shutdown completes (after which it
 * returns at once if called again). Returns 0, or a negative errno if epoll_wait() fails for a reason other
 * than EINTR.
 */
int loop_run(struct loop *loop);

/*
 * One iteration: run expired timers, wait for descriptors at most
 * timeout_ms (-1: until something happens), dispatch them, run handed-off
 * work, flush the log. With a real clock the wait is shortened to the next
 * timer deadline. With a manual clock timers do not shorten the wait, since
 * time only moves through loop_advance(); tests call loop_run_once(loop, 0).
 * Returns the number of callbacks run (>= 0), or a negative errno.
 */
int loop_run_once(struct loop *loop, int timeout_ms);

/* Make loop_run() return after the current iteration. */
void loop_stop(struct loop *loop);

/* The loop's clock, read now. */
uint64_t loop_now_ns(struct loop *loop);
uint64_t loop_now_ms(struct loop *loop);

/*
 * Manual clock only: move time forward by ms, stopping at every timer
 * deadline on the way, so each timer fires at exactly its deadline (a
 * callback that reads loop_now_ms() sees its own deadline, and a timer
 * re-armed from its callback fires again within the same advance when its
 * new deadline is still inside the interval; so a timer that keeps
 * re-arming itself with delay 0 never lets it return). Descriptors are not
 * polled.
 * Returns the number of timer callbacks run, or -EINVAL when the loop's
 * clock cannot be set.
 */
int loop_advance(struct loop *loop, uint64_t ms);

/* ---------------------------------------------------------------------------
 * Descriptor watchers
 */

enum {
	LOOP_READ = 1 << 0,
	LOOP_WRITE = 1 << 1,
	/*
	 * Reported, never requested: the descriptor is in error or hung up
	 * (EPOLLERR / EPOLLHUP). It comes together with LOOP_READ and/or
	 * LOOP_WRITE as requested, so a callback that reads or writes learns
	 * the cause from the failing call. The condition persists: the
	 * callback must remove the watcher (and close) once it has seen it.
	 */
	LOOP_ERROR = 1 << 2,
};

struct loop_io;

/* events: the LOOP_* bits that are ready, restricted to those requested. */
typedef void loop_io_cb(struct loop *loop, struct loop_io *io, unsigned events);

/*
 * A watcher for one descriptor, embedded in the caller's struct. Fields are
 * read-only for the caller once added; use loop_io_modify() to change the
 * interest set.
 */
struct loop_io {
	int fd;
	unsigned events;     /* LOOP_READ | LOOP_WRITE requested */
	loop_io_cb *cb;
	void *ctx;           /* for the callback; the loop never looks at it */
	uint32_t slot;       /* private: index + 1 in the loop's table, 0 = not added */
};

/*
 * Start watching fd (which the caller keeps owning and should have made
 * non-blocking) for events (LOOP_READ, LOOP_WRITE or both; 0 is allowed and
 * watches only for errors).
 * Returns 0, -EEXIST if io is already added, -ENOMEM, or the negative errno
 * of epoll_ctl() (-EBADF, -EPERM for a regular file, -EEXIST when the fd is
 * already watched through another struct loop_io).
 */
int loop_io_add(struct loop *loop, struct loop_io *io, int fd, unsigned events,
		loop_io_cb *cb, void *ctx);

/* Change the interest set. Returns 0, -ENOENT if io is not added, or -errno. */
int loop_io_modify(struct loop *loop, struct loop_io *io, unsigned events);

/*
 * Stop watching. Safe on a watcher that is not added, and from any callback:
 * an event already collected for io in the current iteration is dropped.
 * Call it before closing the descriptor.
 */
void loop_io_remove(struct loop *loop, struct loop_io *io);

/* ---------------------------------------------------------------------------
 * Timers
 */

struct loop_timer;
typedef void loop_timer_cb(struct loop *loop, struct loop_timer *t);

/*
 * A timer, embedded in the caller's struct; loop_timer_init() once, then
 * arm and cancel as often as needed. Timers with equal deadlines fire in the
 * order they were armed.
 */
struct loop_timer {
	uint64_t deadline_ns;   /* valid while armed */
	loop_timer_cb *cb;
	void *ctx;
	uint32_t heap_index;    /* private: position + 1 in the heap, 0 = not armed */
};

void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb, void *ctx);

/*
 * Arm (or re-arm: an armed timer moves to the new deadline) to fire
 * delay_ms from now. Returns 0 or -ENOMEM when the heap must grow and
 * cannot; the heap grows by doubling, so arming normally costs no
 * allocation.
 */
int loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t delay_ms);

/* Same with an absolute deadline on the loop's clock, in nanoseconds. */
int loop_timer_arm_at(struct loop *loop, struct loop_timer *t, uint64_t deadline_ns);

/* Disarm. Idempotent; safe from any callback, including the timer's own. */
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);

static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_index != 0;
}

/* Number of armed timers (for tests and statistics). */
size_t loop_timer_count(const struct loop *loop);

/* ---------------------------------------------------------------------------
 * Hand-off queue (the only code in the process that takes a lock)
 */

/*
 * status is 0 when run on the loop thread, -ECANCELED when the loop was
 * destroyed before the item ran. Either way the loop is done with the item
 * and the callback may free it.
 */
typedef void loop_work_fn(void *ctx, int status);

/*
 * A work item, embedded in the poster's struct (so posting cannot fail).
 * Fill fn and ctx, then loop_post(); the item belongs to the loop until fn
 * is called, and must not be posted again before then.
 */
struct loop_work {
	loop_work_fn *fn;
	void *ctx;
	struct loop_work *next; /* private */
};

/*
 * Queue w to run on the loop thread and wake the loop. Any thread.
 * Items run in the order they were posted.
 */
void loop_post(struct loop *loop, struct loop_work *w);

/*
 * Convenience for posters with nothing to embed the item in: allocates it.
 * Any thread. Returns 0 or -ENOMEM.
 */
int loop_call(struct loop *loop, loop_work_fn *fn, void *ctx);

/* ---------------------------------------------------------------------------
 * Signals and shutdown
 */

/*
 * Take SIGTERM, SIGINT and SIGHUP through a signalfd: they are blocked in
 * the calling thread (call this before starting any thread, so that threads
 * inherit the mask and the kernel cannot deliver them elsewhere) and read by
 * the loop. SIGPIPE is ignored, since a peer closing a socket is an error
 * return, not a reason to die.
 *   SIGTERM, SIGINT  loop_shutdown(); a second one while shutting down
 *                    ends the grace period at once.
 *   SIGHUP           the reload hook (loop_on_reload()), if any.
 * Returns 0 or a negative errno.
 */
int loop_signals_enable(struct loop *loop);

struct loop_shutdown_hook;

/*
 * A component's part in a clean shutdown, embedded in the component's
 * struct and registered with loop_on_shutdown().
 *
 * begin   called once when shutdown starts. Stop accepting new work; return
 *         0 when nothing is in flight, or LOOP_SHUTDOWN_PENDING after
 *         arranging for the in-flight work to finish, and then call
 *         loop_shutdown_done() when it has.
 * expire  called if the grace period ends while the hook is still pending:
 *         fail what is in flight now (answer 503, close sockets). May be
 *         NULL. The hook counts as done afterwards.
 */
enum { LOOP_SHUTDOWN_PENDING = 1 };

struct loop_shutdown_hook {
	const char *name;       /* for the log: "sip transactions" */
	int (*begin)(struct loop *loop, struct loop_shutdown_hook *h);
	void (*expire)(struct loop *loop, struct loop_shutdown_hook *h);
	void *ctx;
	/* private */
	struct loop_shutdown_hook *next;
	bool registered;
	bool pending;
};

/* Register h; hooks begin in registration order. Idempotent. */
void loop_on_shutdown(struct loop *loop, struct loop_shutdown_hook *h);

/* Unregister h (a component that goes away before the loop). Idempotent. */
void loop_shutdown_hook_remove(struct loop *loop, struct loop_shutdown_hook *h);

/* A pending hook's in-flight work has finished. */
void loop_shutdown_done(struct loop *loop, struct loop_shutdown_hook *h);

/*
 * Begin shutdown, as SIGTERM does: call every hook's begin(), and stop the
 * loop as soon as none is pending, or when the grace period ends (after
 * calling expire() on those still pending). Calling it again while shutting
 * down ends the grace period at once.
 */
void loop_shutdown(struct loop *loop);

/* True once shutdown has begun. */
bool loop_shutting_down(const struct loop *loop);

/* Grace period for pending hooks; 5000 ms unless set. */
void loop_set_shutdown_grace(struct loop *loop, uint64_t ms);

/* SIGHUP hook (configuration reload); NULL fn removes it. */
void loop_on_reload(struct loop *loop, void (*fn)(struct loop *loop, void *ctx), void *ctx);

#endif
