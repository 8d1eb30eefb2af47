/* The adapter's engine (pd.h): the lock, the script's clock and the stack
 * driven along it, and the user's view of each descriptor (O_NONBLOCK,
 * timeouts). Waiting is in pd_wait.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/util.h"
#include "packetdrill/pd.h"

/* Turns of the loop in one settle: what one injected packet or one timer
 * can set off (a reply, an ARP answer, the packet it released) is a few. */
#define PD_SETTLE_TURNS 64
/* The timer wheel's granularity: the smallest step that lets a timer whose
 * expiry was only known as a lower bound come due. */
#define PD_STEP_NS 1000000ull

void pd_lock(struct pd *pd)
{
	pthread_mutex_lock(&pd->lock);
}

void pd_unlock(struct pd *pd)
{
	int saved = errno;

	pthread_mutex_unlock(&pd->lock);
	errno = saved;
}

bool pd_on_main(struct pd *pd)
{
	return pthread_equal(pthread_self(), pd->main_thread);
}

uint64_t pd_wall_us(const struct pd *pd, uint64_t ns)
{
	return (uint64_t)pd->wall0_us + (ns - pd->start_ns) / 1000;
}

void pd_settle(struct pd *pd)
{
	for (int i = 0; i < PD_SETTLE_TURNS; i++) {
		us_stack_poll(pd->st, 0);
		if (us_stack_next_event(pd->st) > pd->now_ns)
			break;
	}
	pd_notify(pd);
}

/* The next moment anything can happen: the stack's next timed event or a
 * sleeper's deadline, at most target, and always later than now. */
uint64_t pd_next_step(struct pd *pd, uint64_t target)
{
	uint64_t next = us_stack_next_event(pd->st);

	if (pd->sleepers && pd->next_deadline < next)
		next = pd->next_deadline;
	if (next <= pd->now_ns)
		next = pd->now_ns + PD_STEP_NS;
	return next < target ? next : target;
}

void pd_advance_to(struct pd *pd, uint64_t target)
{
	pd_settle(pd);
	while (pd->now_ns < target) {
		pd->now_ns = pd_next_step(pd, target);
		pd_settle(pd);
	}
}

void pd_advance_until_tx(struct pd *pd, uint64_t max_ns)
{
	uint64_t target = pd->now_ns + max_ns;

	pd_settle(pd);
	while (!pd->txq.len && pd->now_ns < target) {
		pd->now_ns = pd_next_step(pd, target);
		pd_settle(pd);
	}
}

/* Called by the stack, always under pd->lock. */
static uint64_t stack_clock(void *arg)
{
	return ((struct pd *)arg)->now_ns;
}

us_clock_fn pd_stack_clock(void)
{
	return stack_clock;
}

int pd_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz)
{
	struct pd *pd = ud;
	uint64_t ns;

	if (!tv) {
		errno = EFAULT;
		return -1;
	}
	pd_lock(pd);
	if (!pd_take_return_time(pd, &ns)) {
		/* packetdrill spins on the clock for the last stretch before
		 * an event: it has to move by itself, and what falls due on
		 * the way has to happen on time. */
		pd->now_ns += PD_GTOD_TICK_NS;
		ns = pd->now_ns;
		if (pd->st && us_stack_next_event(pd->st) <= pd->now_ns)
			pd_settle(pd);
	}
	pd_unlock(pd);
	uint64_t us = pd_wall_us(pd, ns);
	tv->tv_sec = (time_t)(us / 1000000);
	tv->tv_usec = (suseconds_t)(us % 1000000);
	if (tz)
		memset(tz, 0, sizeof(*tz));
	return 0;
}

int pd_usleep(void *ud, useconds_t usec)
{
	struct pd *pd = ud;

	if (pd->init_err) {
		errno = pd->init_err;
		return -1;
	}
	pd_lock(pd);
	pd_advance_to(pd, pd->now_ns + (uint64_t)usec * 1000);
	pd_unlock(pd);
	return 0;
}

bool pd_nonblock(struct pd *pd, int fd)
{
	return fd >= 0 && (size_t)fd < pd->nonblock_cap && pd->nonblock[fd];
}

int pd_set_nonblock(struct pd *pd, int fd, bool on)
{
	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= pd->nonblock_cap) {
		size_t cap = pd->nonblock_cap ? pd->nonblock_cap : 64;
		while (cap <= (size_t)fd)
			cap *= 2;
		uint8_t *n = realloc(pd->nonblock, cap);
		if (!n)
			return -ENOMEM;
		memset(n + pd->nonblock_cap, 0, cap - pd->nonblock_cap);
		pd->nonblock = n;
		pd->nonblock_cap = cap;
	}
	pd->nonblock[fd] = on;
	return 0;
}

uint64_t pd_timeo(struct pd *pd, int fd, bool send)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (us_getsockopt(pd->st, fd, SOL_SOCKET,
			  send ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) < 0 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return UINT64_MAX;
	return (uint64_t)tv.tv_sec * US_NS_PER_S + (uint64_t)tv.tv_usec * 1000;
}

void pd_leave(struct pd *pd)
{
	int saved = errno;

	pd_settle(pd);
	pthread_mutex_unlock(&pd->lock);
	errno = saved;
}
