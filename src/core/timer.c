/* Hierarchical timer wheel (Varghese & Lauck, scheme 7). Level L has 64
 * slots of 64^L ticks each. A timer sits at the lowest level whose span
 * covers its distance from the current tick; when the current tick reaches
 * the start of a higher-level slot, that slot's timers cascade down. Arm
 * and cancel touch one list head; next expiry comes from per-level
 * occupancy bitmaps, so idle timers cost nothing per tick and time can
 * jump forward (virtual clocks) without walking empty ticks. */
#include "core/timer.h"

#include <stddef.h>

#define TW_MASK (TW_SLOTS - 1)

static inline uint64_t ns_to_tick_ceil(uint64_t ns)
{
	return ns / TW_TICK_NS + (ns % TW_TICK_NS != 0);
}

static void link_timer(struct timer_wheel *w, struct us_timer *t)
{
	uint64_t exp = t->expires < w->tick ? w->tick : t->expires;
	uint64_t delta = exp - w->tick;
	unsigned lvl = 0;

	while (lvl + 1 < TW_LEVELS && delta >= (1ull << (TW_BITS * (lvl + 1))))
		lvl++;
	unsigned slot = (unsigned)(exp >> (TW_BITS * lvl)) & TW_MASK;
	struct us_timer **head = &w->slot[lvl][slot];

	t->pos = (uint16_t)(lvl * TW_SLOTS + slot);
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = head;
	*head = t;
	w->bitmap[lvl] |= 1ull << slot;
}

static void unlink_timer(struct timer_wheel *w, struct us_timer *t)
{
	unsigned lvl = t->pos / TW_SLOTS, slot = t->pos % TW_SLOTS;

	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
	if (!w->slot[lvl][slot])
		w->bitmap[lvl] &= ~(1ull << slot);
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ns)
{
	*w = (struct timer_wheel){0};
	w->tick = now_ns / TW_TICK_NS;
}

void timer_arm(struct timer_wheel *w, struct us_timer *t, uint64_t expires_ns)
{
	if (timer_pending(t))
		unlink_timer(w, t);
	else
		w->count++;
	t->expires = ns_to_tick_ceil(expires_ns);
	link_timer(w, t);
}

void timer_cancel(struct timer_wheel *w, struct us_timer *t)
{
	if (!timer_pending(t))
		return;
	unlink_timer(w, t);
	w->count--;
}

/* First tick >= w->tick at which level lvl needs attention: for level 0
 * the expiry of its earliest slot, for higher levels the cascade time of
 * the first non-empty slot. UINT64_MAX if the level is empty. */
static uint64_t level_next_tick(const struct timer_wheel *w, unsigned lvl)
{
	uint64_t bm = w->bitmap[lvl];
	if (!bm)
		return UINT64_MAX;
	unsigned shift = TW_BITS * lvl;
	/* The first block of this level that starts at or after tick. */
	uint64_t b0 = lvl == 0 ? w->tick
			       : (w->tick + (1ull << shift) - 1) >> shift;
	unsigned rot = (unsigned)(b0 & TW_MASK);
	uint64_t r = rot ? (bm >> rot) | (bm << (TW_SLOTS - rot)) : bm;
	uint64_t b = b0 + (unsigned)__builtin_ctzll(r);
	return b << shift;
}

static uint64_t next_tick(const struct timer_wheel *w)
{
	uint64_t best = UINT64_MAX;
	if (!w->count)
		return best;
	for (unsigned l = 0; l < TW_LEVELS; l++) {
		uint64_t t = level_next_tick(w, l);
		if (t < best)
			best = t;
	}
	return best;
}

uint64_t timer_next(const struct timer_wheel *w)
{
	uint64_t t = next_tick(w);
	return t == UINT64_MAX ? t : t * TW_TICK_NS;
}

static void cascade(struct timer_wheel *w, unsigned lvl, unsigned slot)
{
	struct us_timer *t = w->slot[lvl][slot];

	w->slot[lvl][slot] = NULL;
	w->bitmap[lvl] &= ~(1ull << slot);
	while (t) {
		struct us_timer *next = t->next;
		link_timer(w, t);
		t = next;
	}
}

int timer_run(struct timer_wheel *w, uint64_t now_ns, struct us_stack *st)
{
	uint64_t target = now_ns / TW_TICK_NS;
	int fired = 0;

	while (w->tick <= target) {
		uint64_t nt = next_tick(w);
		if (nt > target) {
			w->tick = target + 1;
			break;
		}
		uint64_t t = nt > w->tick ? nt : w->tick;
		w->tick = t;
		/* Cascade from the highest level whose boundary this is. */
		unsigned top = 0;
		while (top + 1 < TW_LEVELS &&
		       (t & ((1ull << (TW_BITS * (top + 1))) - 1)) == 0)
			top++;
		for (unsigned l = top; l >= 1; l--)
			cascade(w, l, (unsigned)(t >> (TW_BITS * l)) & TW_MASK);

		/* Detach this tick's slot; mark the tick done before running
		 * callbacks so a timer re-armed for "now" lands on the next tick
		 * instead of a slot already passed. */
		unsigned slot = (unsigned)t & TW_MASK;
		struct us_timer *list = w->slot[0][slot];
		w->slot[0][slot] = NULL;
		w->bitmap[0] &= ~(1ull << slot);
		if (list)
			list->pprev = &list;
		w->tick = t + 1;
		while (list) {
			struct us_timer *tm = list;
			list = tm->next;
			if (list)
				list->pprev = &list;
			tm->next = NULL;
			tm->pprev = NULL;
			w->count--;
			tm->fn(st, tm);
			fired++;
		}
	}
	return fired;
}
