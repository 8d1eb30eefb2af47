/* A hierarchical timer wheel: arm, cancel and expire are O(1); the next
 * expiry is found from per-level occupancy bitmaps without walking timers.
 *
 * Granularity is one tick (1 ms). A timer never fires early; it fires at
 * the first timer_run() whose now is >= its expiry (rounded up to a tick). */
#ifndef US_TIMER_H
#define US_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct us_stack;
struct us_timer;
typedef void (*us_timer_fn)(struct us_stack *st, struct us_timer *t);

struct us_timer {
	struct us_timer *next, **pprev; /* pprev == NULL: not armed */
	uint64_t expires;               /* tick */
	us_timer_fn fn;
	uint16_t pos;                   /* level * TW_SLOTS + slot */
};

#define TW_BITS 6
#define TW_SLOTS (1u << TW_BITS)
#define TW_LEVELS 6                     /* 64^6 ms: ~2.2 years; later
					   timers wait in the top level */
#define TW_TICK_NS 1000000ull

struct timer_wheel {
	uint64_t tick;                  /* all ticks < tick have been run */
	uint64_t count;                 /* armed timers */
	uint64_t bitmap[TW_LEVELS];     /* non-empty slots */
	struct us_timer *slot[TW_LEVELS][TW_SLOTS];
};

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ns);
static inline void timer_init(struct us_timer *t, us_timer_fn fn)
{
	t->next = 0;
	t->pprev = 0;
	t->expires = 0;
	t->fn = fn;
	t->pos = 0;
}
static inline bool timer_pending(const struct us_timer *t)
{
	return t->pprev != 0;
}
/* (Re-)arm to fire at expires_ns on the stack clock. A time in the past
 * fires on the next timer_run. */
void timer_arm(struct timer_wheel *w, struct us_timer *t, uint64_t expires_ns);
void timer_cancel(struct timer_wheel *w, struct us_timer *t);
/* Run every timer due at now_ns, calling t->fn(st, t) with t disarmed
 * (the callback may re-arm it). Returns the number fired. */
int timer_run(struct timer_wheel *w, uint64_t now_ns, struct us_stack *st);
/* Earliest time (ns) at which timer_run could fire something: exact or
 * early, never late. UINT64_MAX if no timer is armed. */
uint64_t timer_next(const struct timer_wheel *w);

#endif
