/* Blocking calls on a thread other than packetdrill's main one: they sleep
 * on pd->cv until the main thread's driving of the stack may have made
 * them ready, and the main thread does not move the clock on before each
 * has looked (pd.h). */
#include <errno.h>
#include <string.h>

#include "packetdrill/pd.h"

/* Wake the sleepers. From the main thread, also wait until each has looked
 * at the stack again: the clock must not move between the moment a
 * sleeper's condition came true and the moment it notices. Sleepers only
 * need the lock to do that, which cond_wait gives up. */
void pd_notify(struct pd *pd)
{
	if (!pd->sleepers)
		return;
	pthread_cond_broadcast(&pd->cv);
	if (!pd_on_main(pd))
		return;
	pd->gen++;
	pd->behind = pd->sleepers;
	while (pd->behind)
		pthread_cond_wait(&pd->ack_cv, &pd->lock);
}

static void ack(struct pd *pd, struct pd_wait *w)
{
	if (!w->sleeping || w->seen == pd->gen)
		return;
	w->seen = pd->gen;
	if (pd->behind && --pd->behind == 0)
		pthread_cond_signal(&pd->ack_cv);
}

void pd_wait_begin(struct pd *pd, struct pd_wait *w, uint64_t timeout_ns)
{
	memset(w, 0, sizeof(*w));
	w->deadline =
	    timeout_ns == UINT64_MAX || pd->now_ns + timeout_ns < pd->now_ns
		? UINT64_MAX
		: pd->now_ns + timeout_ns;
}

int pd_wait(struct pd *pd, struct pd_wait *w)
{
	ack(pd, w);
	if (pd->now_ns >= w->deadline) {
		errno = EAGAIN;
		return -1;
	}
	w->waited = true;
	if (pd_on_main(pd)) {
		/* The script cannot inject anything while its main thread is
		 * in here: waiting without a deadline would hang it. With one,
		 * time moves on to it with the stack running. */
		if (w->deadline == UINT64_MAX) {
			errno = EAGAIN;
			return -1;
		}
		pd->now_ns = pd_next_step(pd, w->deadline);
		pd_settle(pd);
		return 0;
	}
	if (!w->sleeping) {
		w->sleeping = true;
		w->seen = pd->gen;
		pd->sleepers++;
		if (w->deadline < pd->next_deadline)
			pd->next_deadline = w->deadline;
	}
	pthread_cond_wait(&pd->cv, &pd->lock);
	return 0;
}

static struct pd_ret *ret_slot(struct pd *pd, pthread_t self, bool make)
{
	struct pd_ret *free_slot = NULL;

	for (int i = 0; i < PD_THREADS; i++) {
		struct pd_ret *r = &pd->ret[i];
		if (r->valid && pthread_equal(r->tid, self))
			return r;
		if (!r->valid && !free_slot)
			free_slot = r;
	}
	return make ? free_slot : NULL;
}

void pd_wait_end(struct pd *pd, struct pd_wait *w)
{
	ack(pd, w);
	if (w->sleeping) {
		w->sleeping = false;
		if (--pd->sleepers == 0)
			pd->next_deadline = UINT64_MAX;
	}
	/* packetdrill reads the clock right after a blocking call returns to
	 * check when it did: give it the time the call completed. */
	if (w->waited && !pd_on_main(pd)) {
		struct pd_ret *r = ret_slot(pd, pthread_self(), true);
		if (r) {
			r->tid = pthread_self();
			r->ns = pd->now_ns;
			r->valid = true;
		}
	}
}

bool pd_take_return_time(struct pd *pd, uint64_t *ns)
{
	struct pd_ret *r =
	    pd_on_main(pd) ? NULL : ret_slot(pd, pthread_self(), false);

	if (!r)
		return false;
	*ns = r->ns;
	r->valid = false;
	return true;
}
