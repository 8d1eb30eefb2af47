/* Threaded mode: the stack's loop runs in a thread of its own while any
 * number of application threads call the us_* functions.
 *
 * Locking: one mutex per stack. Every public call holds it from start to
 * end (SOCK_API_GUARD) and the stack thread holds it for each turn of the
 * loop, so the protocol code below runs single-threaded as ever and never
 * sees a lock. The stack thread lets go of it while it sleeps on its
 * device, timer and kick descriptors (stack_wake.h), and between turns
 * whenever an application thread is waiting for it, so a busy stack cannot
 * starve its callers.
 *
 * Blocking: a call that must wait parks a waiter (its own condition
 * variable, on its own stack) on the socket and sleeps on it with the lock
 * released. Its condition is re-checked, under the lock, by whoever might
 * have changed the answer: after sock_wake on that socket (at the end of
 * the call or turn that woke it) and, since a condition may rest on state
 * no wake announces (an ARP resolution, a TCP state), for every waiter
 * after each turn of the stack thread that did work: O(blocked threads)
 * per busy turn, which is a handful of loads per thread. Only a waiter
 * whose condition holds is signalled, so there are no thundering herds.
 *
 * Wake paths into the stack thread: frames on the device's descriptor; the
 * timerless sleep is cut at the next timer it knew of, and an application
 * call that armed an earlier timer or queued a packet for the loop (to our
 * own address) kicks its eventfd. Frames an application call queued for
 * the device are sent by that call before it lets go of the lock. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/stack_wake.h"
#include "sock/sock.h"

struct sock_waiter {
	struct sock_waiter *next, **pprev;	   /* sk->waiters */
	struct sock_waiter *all_next, **all_pprev; /* mt->all */
	struct sock_waiter *chk_next;		   /* mt->check */
	bool queued;				   /* on mt->check */
	bool signaled;
	int err;	    /* -EBADF (closed), -ENETDOWN (stopped) */
	struct us_sock *sk; /* NULL once closed */
	sock_cond_fn cond;
	void *arg;
	pthread_cond_t cv;
	int efd; /* >= 0: sleeps in poll() on this and a kfd */
};

struct sock_mt {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* the last waiter left (stop) */
	pthread_t thread;
	bool stop;
	int dead;	      /* 0, or -ENETDOWN for every wait */
	bool sleeping;	      /* the stack thread, until... */
	uint64_t sleep_until; /* ...its next timed event */
	atomic_uint pending;  /* threads waiting for the lock */
	atomic_uint entered;  /* calls that got it */
	struct sock_waiter *all;
	struct sock_waiter *check;
	unsigned nwaiters;
};

static void waiter_signal(struct sock_waiter *w)
{
	uint64_t one = 1;

	if (w->signaled)
		return;
	w->signaled = true;
	if (w->efd < 0)
		pthread_cond_signal(&w->cv);
	else if (write(w->efd, &one, sizeof(one)) < 0) {
		/* Saturated: readable anyway. */
	}
}

void sock_waiters_mark(struct us_stack *st, struct us_sock *sk)
{
	struct sock_mt *mt = st->mt;

	if (!mt)
		return;
	for (struct sock_waiter *w = sk->waiters; w; w = w->next) {
		if (w->queued)
			continue;
		w->queued = true;
		w->chk_next = mt->check;
		mt->check = w;
	}
}

static bool waiter_ready(struct us_stack *st, struct sock_waiter *w)
{
	return w->err || w->cond(st, w->sk, w->arg);
}

/* Signal the waiters marked by sock_wake whose condition holds (and after
 * a turn that did work, every waiter whose condition holds). */
static void check_waiters(struct us_stack *st, bool all)
{
	struct sock_mt *mt = st->mt;
	struct sock_waiter *w;

	while ((w = mt->check)) {
		mt->check = w->chk_next;
		w->queued = false;
		if (!w->signaled && waiter_ready(st, w))
			waiter_signal(w);
	}
	if (!all)
		return;
	for (w = mt->all; w; w = w->all_next)
		if (!w->signaled && waiter_ready(st, w))
			waiter_signal(w);
}

static void fail_all(struct sock_mt *mt, int err)
{
	mt->dead = err;
	for (struct sock_waiter *w = mt->all; w; w = w->all_next) {
		if (!w->err)
			w->err = err;
		waiter_signal(w);
	}
}

void sock_detach(struct us_stack *st, struct us_sock *sk)
{
	struct sock_waiter *w;

	epoll_forget(st, sk);
	while ((w = sk->waiters)) {
		sk->waiters = w->next;
		if (w->next)
			w->next->pprev = &sk->waiters;
		w->sk = NULL;
		w->err = -EBADF;
		waiter_signal(w);
	}
}

void sock_api_enter_slow(struct us_stack *st)
{
	struct sock_mt *mt = st->mt;

	if (mt) {
		atomic_fetch_add(&mt->pending, 1);
		pthread_mutex_lock(&mt->lock);
		atomic_fetch_sub(&mt->pending, 1);
		atomic_fetch_add(&mt->entered, 1);
	}
	/* The loop may have slept for long (the stack thread, or the other
	 * event loop): timers this call arms (a retransmission) must count
	 * from now, not from the last turn. */
	stack_update_time(st);
}

/* Before an application thread lets go of the lock (leaving, or going to
 * sleep in a call): wake the waiters it made ready, send the frames it
 * queued, and kick the stack thread if it queued a packet for the loop or
 * armed a timer earlier than the one the stack thread sleeps towards. */
static void publish(struct us_stack *st)
{
	struct sock_mt *mt = st->mt;

	check_waiters(st, false);
	if (st->txn)
		stack_tx_flush(st);
	if (mt->sleeping &&
	    (st->loopq.count || us_stack_next_event(st) < mt->sleep_until))
		stack_kick(st);
}

void sock_api_leave_slow(struct us_stack *st)
{
	struct sock_mt *mt = st->mt;
	int saved = errno;

	if (!mt) {
		stack_wake_sync(st);
		errno = saved;
		return;
	}
	publish(st);
	pthread_mutex_unlock(&mt->lock);
	errno = saved;
}

/* Between busy turns: let a caller that is waiting for the lock have it. */
static void hand_off(struct sock_mt *mt)
{
	if (!atomic_load(&mt->pending))
		return;
	unsigned seen = atomic_load(&mt->entered);
	pthread_mutex_unlock(&mt->lock);
	while (atomic_load(&mt->pending) && atomic_load(&mt->entered) == seen)
		sched_yield();
	pthread_mutex_lock(&mt->lock);
}

/* Turns that may find nothing to do although an event is due (the timer
 * wheel's next expiry may be early) before the thread naps 1 ms. */
#define IDLE_TURNS 4

static void *stack_main(void *arg)
{
	struct us_stack *st = arg;
	struct sock_mt *mt = st->mt;
	int idle = 0;

	pthread_mutex_lock(&mt->lock);
	while (!mt->stop) {
		int work = stack_turn(st);
		if (work < 0) {
			us_err(st, "device failed; the stack thread stops");
			fail_all(mt, -ENETDOWN);
			break;
		}
		check_waiters(st, work > 0);
		int ms = work > 0 ? 0 : stack_idle_ms(st, -1);
		if (ms == 0 && (work > 0 || ++idle < IDLE_TURNS)) {
			if (work > 0)
				idle = 0;
			hand_off(mt);
			continue;
		}
		idle = 0;
		if (ms == 0)
			ms = 1;
		mt->sleeping = true;
		mt->sleep_until = us_stack_next_event(st);
		pthread_mutex_unlock(&mt->lock);
		stack_sleep(st, ms, -1, NULL);
		pthread_mutex_lock(&mt->lock);
		mt->sleeping = false;
		stack_wake_drain(st);
	}
	pthread_mutex_unlock(&mt->lock);
	return NULL;
}

static void timespec_add_ns(struct timespec *ts, uint64_t ns)
{
	uint64_t nsec = (uint64_t)ts->tv_nsec + ns % US_NS_PER_S;
	ts->tv_sec += (time_t)(ns / US_NS_PER_S + nsec / US_NS_PER_S);
	ts->tv_nsec = (long)(nsec % US_NS_PER_S);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * US_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Sleep with the lock released until signalled, the deadline, or kfd
 * readable (1). */
static int sleep_on_fds(struct sock_mt *mt, struct sock_waiter *w, int kfd,
			uint64_t deadline)
{
	struct pollfd pfd[2] = {{.fd = w->efd, .events = POLLIN},
				{.fd = kfd, .events = POLLIN}};
	int ms = -1;
	uint64_t v;

	if (deadline != UINT64_MAX) {
		uint64_t now = mono_ns();
		uint64_t left = deadline > now ? deadline - now : 0;
		ms = (int)US_MIN((left + US_NS_PER_MS - 1) / US_NS_PER_MS,
				 (uint64_t)INT32_MAX);
	}
	pthread_mutex_unlock(&mt->lock);
	int r = poll(pfd, 2, ms);
	pthread_mutex_lock(&mt->lock);
	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: not signalled. */
	}
	return r > 0 && pfd[1].revents ? 1 : 0;
}

static int waiter_init(struct sock_waiter *w, int kfd)
{
	pthread_condattr_t ca;

	memset(w, 0, sizeof(*w));
	w->efd = -1;
	if (kfd >= 0) {
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		return w->efd < 0 ? -errno : 0;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void waiter_link(struct sock_mt *mt, struct sock_waiter *w,
			struct us_sock *sk)
{
	w->sk = sk;
	w->next = sk->waiters;
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = &sk->waiters;
	sk->waiters = w;
	w->all_next = mt->all;
	if (w->all_next)
		w->all_next->all_pprev = &w->all_next;
	w->all_pprev = &mt->all;
	mt->all = w;
	mt->nwaiters++;
}

static void waiter_unlink(struct sock_mt *mt, struct sock_waiter *w)
{
	if (w->sk) {
		*w->pprev = w->next;
		if (w->next)
			w->next->pprev = w->pprev;
	}
	*w->all_pprev = w->all_next;
	if (w->all_next)
		w->all_next->all_pprev = w->all_pprev;
	if (w->queued) {
		struct sock_waiter **pp = &mt->check;
		while (*pp != w)
			pp = &(*pp)->chk_next;
		*pp = w->chk_next;
	}
	if (--mt->nwaiters == 0 && mt->stop)
		pthread_cond_broadcast(&mt->idle);
	if (w->efd >= 0)
		close(w->efd);
	else
		pthread_cond_destroy(&w->cv);
}

int sock_mt_wait(struct us_stack *st, struct us_sock *sk, uint64_t timeout_ns,
		 sock_cond_fn cond, void *arg, int kfd)
{
	struct sock_mt *mt = st->mt;
	struct sock_waiter w;
	struct timespec dl;
	uint64_t deadline = UINT64_MAX;
	int rc;

	if (cond(st, sk, arg))
		return 0;
	if (!timeout_ns)
		return -EAGAIN;
	if (mt->dead)
		return mt->dead;
	if (timeout_ns != SOCK_TIMEO_FOREVER) {
		uint64_t now = mono_ns();
		if (now + timeout_ns > now) {
			deadline = now + timeout_ns;
			dl.tv_sec = 0;
			dl.tv_nsec = 0;
			timespec_add_ns(&dl, deadline);
		}
	}
	if ((rc = waiter_init(&w, kfd)) < 0)
		return rc;
	w.cond = cond;
	w.arg = arg;
	waiter_link(mt, &w, sk);
	for (;;) {
		if (w.err) {
			rc = w.err;
			break;
		}
		if (cond(st, sk, arg)) {
			rc = 0;
			break;
		}
		if (deadline != UINT64_MAX && mono_ns() >= deadline) {
			rc = -EAGAIN;
			break;
		}
		w.signaled = false;
		publish(st);
		if (kfd >= 0) {
			if (sleep_on_fds(mt, &w, kfd, deadline) && !w.err) {
				rc = 1;
				break;
			}
		} else if (deadline == UINT64_MAX) {
			pthread_cond_wait(&w.cv, &mt->lock);
		} else {
			pthread_cond_timedwait(&w.cv, &mt->lock, &dl);
		}
	}
	waiter_unlink(mt, &w);
	return rc;
}

unsigned sock_mt_waiters(struct us_stack *st)
{
	struct sock_mt *mt = st->mt;
	unsigned n;

	if (!mt)
		return 0;
	pthread_mutex_lock(&mt->lock);
	n = mt->nwaiters;
	pthread_mutex_unlock(&mt->lock);
	return n;
}

int us_stack_start_thread(struct us_stack *st)
{
	struct sock_mt *mt;
	int rc;

	if (!st || st->cfg.clock_now) {
		errno = EINVAL;
		return -1;
	}
	if (st->mt) {
		errno = EALREADY;
		return -1;
	}
	if ((rc = stack_wake_init(st)) < 0) {
		errno = -rc;
		return -1;
	}
	mt = calloc(1, sizeof(*mt));
	if (!mt) {
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_init(&mt->lock, NULL);
	pthread_cond_init(&mt->idle, NULL);
	atomic_init(&mt->pending, 0);
	atomic_init(&mt->entered, 0);
	st->mt = mt;
	rc = pthread_create(&mt->thread, NULL, stack_main, st);
	if (rc) {
		st->mt = NULL;
		pthread_cond_destroy(&mt->idle);
		pthread_mutex_destroy(&mt->lock);
		free(mt);
		errno = rc;
		return -1;
	}
	return 0;
}

int us_stack_stop_thread(struct us_stack *st)
{
	struct sock_mt *mt = st ? st->mt : NULL;

	if (!mt) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&mt->lock);
	mt->stop = true;
	stack_kick(st);
	pthread_mutex_unlock(&mt->lock);
	pthread_join(mt->thread, NULL);

	pthread_mutex_lock(&mt->lock);
	fail_all(mt, -ENETDOWN);
	while (mt->nwaiters)
		pthread_cond_wait(&mt->idle, &mt->lock);
	/* Back to run-to-completion: what the last calls queued goes out. */
	if (st->txn)
		stack_tx_flush(st);
	st->mt = NULL;
	pthread_mutex_unlock(&mt->lock);
	pthread_cond_destroy(&mt->idle);
	pthread_mutex_destroy(&mt->lock);
	free(mt);
	return 0;
}
