/* The blocking layer. Run-to-completion: a call that must wait turns the
 * stack's loop itself until its condition holds. Threaded mode: see
 * sock_thread.c. */
#include <errno.h>
#include <limits.h>
#include <poll.h>

#include "core/clock.h"
#include "sock/sock.h"

/* Turns of the loop that may pass without the clock moving before a
 * virtual clock is pushed on by a tick: guards against a timer bound that
 * is early (timer_next may be) and never fires. */
#define VCLOCK_IDLE_TURNS 4

static int poll_ms(uint64_t now, uint64_t deadline)
{
	if (deadline == UINT64_MAX)
		return -1;
	uint64_t ms = (deadline - now + US_NS_PER_MS - 1) / US_NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* A virtual clock does not move by itself and us_stack_poll never sleeps
 * on one, so time is moved here: to the stack's next timed event, or the
 * deadline if that comes first. Returns false when nothing timed is left
 * and no deadline is set: waiting longer could never change anything. */
static bool vclock_advance(struct us_stack *st, uint64_t deadline,
			   int *idle)
{
	struct us_vclock *vc = st->clock_arg;
	uint64_t now = vc->now_ns, next = us_stack_next_event(st);

	if (next <= now) {
		/* Work is due now; let the loop run it, but never forever. */
		if (++*idle < VCLOCK_IDLE_TURNS)
			return true;
		next = now + US_NS_PER_MS;
	}
	*idle = 0;
	if (next == UINT64_MAX && deadline == UINT64_MAX)
		return false;
	vc->now_ns = next < deadline ? next : deadline;
	return true;
}

static bool fd_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) > 0;
}

int sock_wait_kfd(struct us_stack *st, struct us_sock *sk,
		  uint64_t timeout_ns, sock_cond_fn cond, void *arg, int kfd)
{
	if (st->mt)
		return sock_mt_wait(st, sk, timeout_ns, cond, arg, kfd);

	bool virt = st->clock_now == vclock_now;
	uint64_t start = us_stack_now(st);
	uint64_t deadline = timeout_ns == SOCK_TIMEO_FOREVER ||
					    start + timeout_ns < start
				    ? UINT64_MAX
				    : start + timeout_ns;
	int idle = 0;

	for (;;) {
		if (cond(st, sk, arg))
			return 0;
		uint64_t now = us_stack_now(st);
		if (now >= deadline)
			return -EAGAIN;
		bool kready = false;
		int rx = stack_poll(st, poll_ms(now, deadline), kfd, &kready);
		if (rx < 0)
			return -ENETDOWN;
		if (kready)
			return 1;
		if (cond(st, sk, arg))
			return 0;
		/* Time stands still on a virtual clock and the loop never
		 * sleeps there, so the kernel side is looked at each time. */
		if (virt && kfd >= 0 && fd_readable(kfd))
			return 1;
		/* Frames came in: more may wait in the device; time stands. */
		if (virt && rx == 0 && !vclock_advance(st, deadline, &idle))
			return -EAGAIN;
	}
}

int sock_wait(struct us_stack *st, struct us_sock *sk, uint64_t timeout_ns,
	      sock_cond_fn cond, void *arg)
{
	return sock_wait_kfd(st, sk, timeout_ns, cond, arg, -1);
}
