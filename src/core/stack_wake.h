/* How the stack sleeps and how it is woken: the kernel-side sources of
 * work. By default a sleeping stack poll()s its device's descriptor with a
 * timeout (nothing else to set up). Once the stack must be wakeable from
 * outside its loop (threaded mode, or us_stack_fd handed to another event
 * loop), it gets a kernel epoll instance holding the device's descriptor,
 * an eventfd (a kick: work was queued by a call made outside the loop)
 * and a timerfd (armed at the next timed event while another loop owns
 * the sleeping). That epoll instance is what us_stack_fd returns: it is
 * readable exactly when the stack has work. */
#ifndef US_STACK_WAKE_H
#define US_STACK_WAKE_H

#include <stdbool.h>
#include <stdint.h>

struct us_stack;

struct stack_wake {
	int epfd; /* device fd, evfd, tfd */
	int evfd;
	int tfd;
	bool external;	/* us_stack_fd handed out: keep tfd armed */
	bool kicked;	/* evfd written and not drained yet */
	uint64_t armed; /* tfd expiry, stack clock; UINT64_MAX: off */
};

/* Make st->wake (idempotent). 0 or a negative errno. */
int stack_wake_init(struct us_stack *st);
void stack_wake_fini(struct us_stack *st);

/* Sleep up to timeout_ms (-1: no limit) or until the device has frames,
 * the stack is kicked, or extra_fd (if >= 0) is readable; *extra_ready
 * (may be NULL) tells whether it was. Touches no stack state, so the
 * threaded loop calls it without the lock; stack_wake_drain afterwards. */
void stack_sleep(struct us_stack *st, int timeout_ms, int extra_fd,
		 bool *extra_ready);
/* Consume the kicks and an expired timerfd, so the epoll instance is not
 * readable for work already done. */
void stack_wake_drain(struct us_stack *st);
/* Wake a sleeping stack (or make us_stack_fd readable). Once per drain. */
void stack_kick(struct us_stack *st);
/* For an outside loop (us_stack_fd): after the stack ran or a us_* call
 * returned, kick if work is queued for the next turn and arm the timerfd
 * at the next timed event. No-op unless us_stack_fd was handed out. */
void stack_wake_sync(struct us_stack *st);

#endif
