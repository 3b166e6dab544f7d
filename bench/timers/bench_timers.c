/*
 * bench_timers - timer throughput of simreg's loop against libosmocore's
 * osmo_timer, measured in the same run on the same sequence of delays.
 *
 *   bench_timers [N...]        (default: 100000 1000000)
 *
 * For each N two workloads, each run three times, the best kept:
 *   arm+cancel  arm N timers with random delays (1 ms .. 60 s), then cancel
 *               them all in a random order (SIP transactions mostly end
 *               before their timers fire);
 *   arm+fire    arm N timers, move time past the last deadline and fire
 *               them all.
 * Both sides run on fake time (simreg's manual clock, libosmocore's clock
 * override), so no system call is measured. The ratio is osmo_timer's time
 * over simreg's: above 1 means simreg is faster.
 */
#include <osmocom/core/timer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/loop.h"

#define MAX_DELAY_MS 60000
#define REPEAT 3

static uint64_t *delays;        /* ms, one per timer */
static uint32_t *order;         /* a random permutation for cancelling */
static size_t fired;

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- simreg ---- */

static void simreg_cb(struct loop *loop, struct loop_timer *t)
{
	fired++;
}

static double simreg_run(size_t n, bool fire)
{
	struct loop_manual_clock clock;
	struct loop_timer *t = malloc(n * sizeof(*t));
	struct loop *loop;
	double t0, t1;

	loop_manual_clock_init(&clock, 0);
	if (!t || loop_create(&loop, &clock.clock) < 0)
		abort();
	for (size_t i = 0; i < n; i++)
		loop_timer_init(&t[i], simreg_cb, NULL);
	fired = 0;
	t0 = now_s();
	for (size_t i = 0; i < n; i++)
		loop_timer_arm(loop, &t[i], delays[i]);
	if (fire) {
		/* Jump past every deadline and fire all in one pass, as a
		 * loop iteration after a long stall would. */
		clock.ns = (MAX_DELAY_MS + 1) * 1000000ull;
		loop_run_once(loop, 0);
	} else {
		for (size_t i = 0; i < n; i++)
			loop_timer_cancel(loop, &t[order[i]]);
	}
	t1 = now_s();
	if ((fire && fired != n) || (!fire && fired != 0) || loop_timer_count(loop) != 0)
		abort();
	loop_destroy(loop);
	free(t);
	return t1 - t0;
}

/* ---- libosmocore ---- */

static void osmo_cb(void *data)
{
	fired++;
}

static double osmo_run(size_t n, bool fire)
{
	struct osmo_timer_list *t = calloc(n, sizeof(*t));
	double t0, t1;

	if (!t)
		abort();
	osmo_clock_override_enable(CLOCK_MONOTONIC, true);
	osmo_gettimeofday_override = true;
	for (size_t i = 0; i < n; i++)
		osmo_timer_setup(&t[i], osmo_cb, NULL);
	fired = 0;
	t0 = now_s();
	for (size_t i = 0; i < n; i++)
		osmo_timer_schedule(&t[i], (int)(delays[i] / 1000), (int)(delays[i] % 1000) * 1000);
	if (fire) {
		osmo_clock_override_add(CLOCK_MONOTONIC, MAX_DELAY_MS / 1000 + 1, 0);
		osmo_gettimeofday_override_add(MAX_DELAY_MS / 1000 + 1, 0);
		osmo_timers_prepare();
		osmo_timers_update();
	} else {
		for (size_t i = 0; i < n; i++)
			osmo_timer_del(&t[order[i]]);
	}
	t1 = now_s();
	if ((fire && fired != n) || (!fire && fired != 0) || osmo_timers_check() != 0)
		abort();
	free(t);
	return t1 - t0;
}

static double best(double (*run)(size_t, bool), size_t n, bool fire)
{
	double b = 1e9;

	for (int r = 0; r < REPEAT; r++) {
		double s = run(n, fire);
		if (s < b)
			b = s;
	}
	return b;
}

int main(int argc, char **argv)
{
	static const size_t defaults[] = { 100000, 1000000 };
	size_t count = argc > 1 ? (size_t)(argc - 1) : 2;

	printf("%-9s %-11s %14s %18s %8s\n", "timers", "workload", "simreg ns/op",
	       "osmo_timer ns/op", "ratio");
	for (size_t c = 0; c < count; c++) {
		size_t n = argc > 1 ? strtoull(argv[c + 1], NULL, 10) : defaults[c];

		delays = malloc(n * sizeof(*delays));
		order = malloc(n * sizeof(*order));
		if (!delays || !order || n == 0)
			return 1;
		for (size_t i = 0; i < n; i++) {
			delays[i] = 1 + rng() % MAX_DELAY_MS;
			order[i] = (uint32_t)i;
		}
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = rng() % (i + 1);
			uint32_t tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		for (int fire = 0; fire <= 1; fire++) {
			double s = best(simreg_run, n, fire), o = best(osmo_run, n, fire);
			printf("%-9zu %-11s %14.1f %18.1f %7.2fx\n", n,
			       fire ? "arm+fire" : "arm+cancel", s * 1e9 / (double)n,
			       o * 1e9 / (double)n, o / s);
		}
		free(delays);
		free(order);
	}
	printf("ratio = osmo_timer time / simreg time (above 1: simreg faster)\n");
	return 0;
}
