/* Timer wheel: timers fire at their time, never early, never late; cancel
 * works from anywhere (including another timer's callback); next-expiry is
 * a lower bound; large jumps of a virtual clock cost no per-tick walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/timer.h"

#define MS 1000000ull

struct ttimer {
	struct us_timer t;
	uint64_t want;          /* ns */
	uint64_t fired_at;      /* ns of the timer_run that fired it */
	int fired;
};

static uint64_t g_now; /* test harness clock, passed via the callback */
static struct timer_wheel *g_w;
static struct ttimer *g_victim;

static void on_fire(struct us_stack *st, struct us_timer *t)
{
	(void)st;
	struct ttimer *x = (struct ttimer *)t;
	x->fired++;
	x->fired_at = g_now;
}

static void run_to(struct timer_wheel *w, uint64_t ns)
{
	g_now = ns;
	timer_run(w, ns, NULL);
}

static void test_exact_ticks(void **state)
{
	(void)state;
	static const uint64_t delays_ms[] = {0, 1, 2, 63, 64, 65, 127, 128,
					     4095, 4096, 4097, 262143, 262144,
					     300000, 16777216 + 5};
	enum { N = sizeof(delays_ms) / sizeof(delays_ms[0]) };
	struct timer_wheel w;
	struct ttimer tt[N];
	uint64_t start = 5 * MS + 300000; /* not on a tick boundary */

	timer_wheel_init(&w, start);
	for (int i = 0; i < N; i++) {
		timer_init(&tt[i].t, on_fire);
		tt[i].want = start + delays_ms[i] * MS;
		tt[i].fired = 0;
		timer_arm(&w, &tt[i].t, tt[i].want);
	}
	assert_int_equal(w.count, N);
	/* Walk tick by tick up to 400 s, then jump. */
	for (uint64_t now = start; now < start + 400000 * MS; now += MS)
		run_to(&w, now);
	run_to(&w, start + 16777216 * MS + 10 * MS);
	for (int i = 0; i < N; i++) {
		assert_int_equal(tt[i].fired, 1);
		assert_true(tt[i].fired_at >= tt[i].want);
		/* Stepping 1 ms, it fires on the first step at or past its
		 * time; the final jump fires the last one on that jump. */
		if (delays_ms[i] < 400000)
			assert_true(tt[i].fired_at <= tt[i].want + MS);
	}
	assert_int_equal(w.count, 0);
	assert_true(timer_next(&w) == UINT64_MAX);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random arms, cancels and clock jumps, checked against a brute-force
 * model: each surviving timer fires exactly once, on the first run whose
 * time is at or past its expiry rounded up to a tick. */
static void test_random_against_model(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct timer_wheel w;
	struct ttimer *tt = calloc(N, sizeof(*tt));
	int *cancelled = calloc(N, sizeof(int));
	uint64_t s = 0x9e3779b97f4a7c15ull, now = 1000 * MS;

	timer_wheel_init(&w, now);
	for (int i = 0; i < N; i++) {
		timer_init(&tt[i].t, on_fire);
		uint64_t d = rnd(&s) % 5 == 0 ? rnd(&s) % (3600000 * MS)
					      : rnd(&s) % (5000 * MS);
		tt[i].want = now + d;
		timer_arm(&w, &tt[i].t, tt[i].want);
	}
	/* Re-arm some, cancel some. */
	for (int i = 0; i < N; i += 7) {
		tt[i].want = now + rnd(&s) % (10000 * MS);
		timer_arm(&w, &tt[i].t, tt[i].want);
	}
	for (int i = 3; i < N; i += 11) {
		timer_cancel(&w, &tt[i].t);
		cancelled[i] = 1;
	}
	uint64_t prev = now;
	while (w.count) {
		/* The next-expiry hint is never later than the true minimum. */
		uint64_t hint = timer_next(&w), truemin = UINT64_MAX;
		for (int i = 0; i < N; i++)
			if (timer_pending(&tt[i].t)) {
				uint64_t due = (tt[i].want + MS - 1) / MS * MS;
				if (due < truemin)
					truemin = due;
			}
		assert_true(hint <= truemin);
		uint64_t step = rnd(&s) % 3 == 0 ? rnd(&s) % (200000 * MS)
						 : rnd(&s) % (50 * MS);
		now += step;
		run_to(&w, now);
		for (int i = 0; i < N; i++) {
			if (cancelled[i])
				continue;
			uint64_t due = (tt[i].want + MS - 1) / MS * MS;
			if (due <= prev)
				continue; /* fired earlier, checked then */
			if (due <= now) {
				assert_int_equal(tt[i].fired, 1);
				assert_true(tt[i].fired_at == now);
			} else {
				assert_int_equal(tt[i].fired, 0);
			}
		}
		prev = now;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(tt[i].fired, cancelled[i] ? 0 : 1);
	free(tt);
	free(cancelled);
}

static int rearm_count;
static void on_fire_rearm(struct us_stack *st, struct us_timer *t)
{
	(void)st;
	if (++rearm_count < 3)
		timer_arm(g_w, t, g_now); /* "now": must wait for the next tick */
}

static void test_rearm_now_in_callback(void **state)
{
	(void)state;
	struct timer_wheel w;
	struct us_timer t;

	g_w = &w;
	rearm_count = 0;
	timer_wheel_init(&w, 0);
	timer_init(&t, on_fire_rearm);
	timer_arm(&w, &t, 10 * MS);
	run_to(&w, 10 * MS);
	assert_int_equal(rearm_count, 1); /* no loop within one run */
	assert_true(timer_pending(&t));
	run_to(&w, 11 * MS);
	assert_int_equal(rearm_count, 2);
	run_to(&w, 12 * MS);
	assert_int_equal(rearm_count, 3);
	assert_false(timer_pending(&t));
	assert_int_equal(w.count, 0);
}

static void on_fire_cancel_other(struct us_stack *st, struct us_timer *t)
{
	(void)st;
	on_fire(st, t);
	timer_cancel(g_w, &g_victim->t);
}

static void test_cancel_from_callback(void **state)
{
	(void)state;
	struct timer_wheel w;
	struct ttimer a = {0}, b = {0};

	g_w = &w;
	timer_wheel_init(&w, 0);
	timer_init(&a.t, on_fire_cancel_other);
	timer_init(&b.t, on_fire);
	/* Same tick: whichever runs first; arm b first so a is the list head
	 * and runs first. */
	timer_arm(&w, &b.t, 5 * MS);
	timer_arm(&w, &a.t, 5 * MS);
	g_victim = &b;
	run_to(&w, 5 * MS);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 0);
	assert_int_equal(w.count, 0);
}

static void test_past_and_cancel(void **state)
{
	(void)state;
	struct timer_wheel w;
	struct ttimer a = {0};

	timer_wheel_init(&w, 100 * MS);
	timer_init(&a.t, on_fire);
	timer_arm(&w, &a.t, 1 * MS); /* in the past: next run */
	assert_true(timer_next(&w) <= 100 * MS);
	run_to(&w, 100 * MS);
	assert_int_equal(a.fired, 1);
	timer_arm(&w, &a.t, 500 * MS);
	timer_cancel(&w, &a.t);
	timer_cancel(&w, &a.t); /* twice is harmless */
	run_to(&w, 1000 * MS);
	assert_int_equal(a.fired, 1);
	assert_true(timer_next(&w) == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_ticks),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_rearm_now_in_callback),
		cmocka_unit_test(test_cancel_from_callback),
		cmocka_unit_test(test_past_and_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
