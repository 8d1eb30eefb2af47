/* The stack's kernel-side wake-up sources (see stack_wake.h). */
#include "core/stack_wake.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/stack.h"
#include "dev/dev.h"

static int dev_fd(struct us_stack *st)
{
	return st->dev->ops->fd ? st->dev->ops->fd(st->dev) : -1;
}

static int ep_add(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int stack_wake_init(struct us_stack *st)
{
	struct stack_wake *w;
	int rc = -ENOMEM, dfd = dev_fd(st);

	if (st->wake)
		return 0;
	w = malloc(sizeof(*w));
	if (!w)
		return rc;
	w->external = w->kicked = false;
	w->armed = UINT64_MAX;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0 || w->tfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = ep_add(w->epfd, w->evfd)) < 0 ||
	    (rc = ep_add(w->epfd, w->tfd)) < 0 ||
	    (dfd >= 0 && (rc = ep_add(w->epfd, dfd)) < 0))
		goto fail;
	st->wake = w;
	return 0;
fail:
	us_err(st, "cannot set up the stack's wake-up descriptors: %s",
	       strerror(-rc));
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w);
	return rc;
}

void stack_wake_fini(struct us_stack *st)
{
	struct stack_wake *w = st->wake;

	if (!w)
		return;
	close(w->epfd);
	close(w->evfd);
	close(w->tfd);
	free(w);
	st->wake = NULL;
}

/* Without the epoll instance: the device's descriptor (and extra_fd) by
 * poll(), or a plain sleep for a device that has none. */
static void sleep_plain(struct us_stack *st, int ms, int extra_fd,
			bool *extra_ready)
{
	struct pollfd pfd[2];
	int n = 0, dfd = dev_fd(st);

	if (dfd >= 0)
		pfd[n++] = (struct pollfd){.fd = dfd, .events = POLLIN};
	if (extra_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};
	if (n) {
		if (poll(pfd, (nfds_t)n, ms) > 0 && extra_fd >= 0 &&
		    pfd[n - 1].revents)
			*extra_ready = true;
	} else if (ms > 0) {
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
}

void stack_sleep(struct us_stack *st, int timeout_ms, int extra_fd,
		 bool *extra_ready)
{
	struct stack_wake *w = st->wake;
	bool dummy;

	if (!extra_ready)
		extra_ready = &dummy;
	*extra_ready = false;
	if (!w) {
		sleep_plain(st, timeout_ms, extra_fd, extra_ready);
		return;
	}
	if (extra_fd < 0) {
		struct epoll_event ev[4];
		epoll_wait(w->epfd, ev, 4, timeout_ms);
		return;
	}
	/* An epoll descriptor is itself pollable: one poll() covers both. */
	struct pollfd pfd[2] = {{.fd = w->epfd, .events = POLLIN},
				{.fd = extra_fd, .events = POLLIN}};
	if (poll(pfd, 2, timeout_ms) > 0 && pfd[1].revents)
		*extra_ready = true;
}

void stack_wake_drain(struct us_stack *st)
{
	struct stack_wake *w = st->wake;
	uint64_t v;

	if (!w)
		return;
	stack_update_time(st);
	if (w->kicked) {
		/* Cleared before the read: a kick that lands after the read
		 * writes again and is not lost. */
		w->kicked = false;
		if (read(w->evfd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing to consume. */
		}
	}
	if (w->armed != UINT64_MAX && w->armed <= st->now) {
		w->armed = UINT64_MAX;
		if (read(w->tfd, &v, sizeof(v)) < 0) {
			/* EAGAIN: not expired on the kernel's clock yet; it
			 * fires once more and the next drain reads it. */
		}
	}
}

void stack_kick(struct us_stack *st)
{
	struct stack_wake *w = st->wake;
	uint64_t one = 1;

	if (!w || w->kicked)
		return;
	w->kicked = true;
	if (write(w->evfd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, so already readable. */
	}
}

/* The timerfd runs on CLOCK_MONOTONIC: the default stack clock is that
 * clock, so its times are absolute there; another clock gets a relative
 * setting from its own "now". */
static void arm_timer(struct us_stack *st, struct stack_wake *w, uint64_t at)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	int flags = 0;
	uint64_t t = at;

	if (st->clock_now == clock_monotonic_ns) {
		flags = TFD_TIMER_ABSTIME;
	} else {
		uint64_t now = stack_update_time(st);
		t = at > now ? at - now : 1;
	}
	if (t == 0)
		t = 1; /* an all-zero it_value would disarm */
	its.it_value.tv_sec = (time_t)(t / US_NS_PER_S);
	its.it_value.tv_nsec = (long)(t % US_NS_PER_S);
	if (timerfd_settime(w->tfd, flags, &its, NULL) == 0)
		w->armed = at;
}

void stack_wake_sync(struct us_stack *st)
{
	struct stack_wake *w = st->wake;

	if (!w || !w->external)
		return;
	if (st->txn || st->loopq.count)
		stack_kick(st);
	/* Armed early is harmless (a spurious wake-up re-arms it); late is
	 * not, so re-arm only when the next event moved earlier. */
	uint64_t next = us_stack_next_event(st);
	if (next < w->armed)
		arm_timer(st, w, next);
}

int us_stack_fd(struct us_stack *st)
{
	int rc;

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	if (st->mt) {
		errno = EBUSY;
		return -1;
	}
	if ((rc = stack_wake_init(st)) < 0) {
		errno = -rc;
		return -1;
	}
	st->wake->external = true;
	stack_wake_sync(st);
	return st->wake->epfd;
}
