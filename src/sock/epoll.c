/* The event API: epoll(7) on ustack descriptors (semantics in ustack.h).
 *
 * An instance keeps one item per watched descriptor and a ready list. A
 * socket's wake hook (sock_wake, which protocols call whenever readiness
 * may have changed) puts its items on their instances' ready lists: O(1)
 * per event and watcher, and nothing is scanned per call, so a wait costs
 * the same with 10 or 100k sockets watched. An item is checked against its
 * socket's readiness (ops->poll) when it is reported: a level-triggered
 * item still ready goes back to the tail of the list (reported again next
 * time, round-robin as in Linux's ep_send_events), an edge-triggered one
 * waits for the next wake, a one-shot one is disarmed until
 * EPOLL_CTL_MOD. An item found not ready is dropped from the list, as
 * Linux does, even an edge-triggered one.
 *
 * An instance is a descriptor in the stack's table, a us_sock of family 0
 * with a poll operation (readable when it has events), so instances nest
 * and threaded-mode waits park on it like on any socket. Kernel
 * descriptors sit in a kernel epoll instance of the ustack one, with the
 * caller's events and data, so the kernel gives them its own semantics. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/stack.h"
#include "sock/sock.h"

/* Linux's bounds: EP_MAX_NESTS + 1 levels, EP_MAX_EVENTS. */
#define EP_MAX_LEVELS 5
#define EP_MAX_EVENTS ((int)(INT_MAX / sizeof(struct epoll_event)))
/* Bits of epoll_event.events that are flags, not events. */
#define EP_FLAGS (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)
/* Linux: what EPOLLEXCLUSIVE may be combined with. */
#define EP_EXCLUSIVE_OK                                                        \
	(EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM |        \
	 EPOLLWRBAND | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |           \
	 EPOLLEXCLUSIVE)

struct us_epoll;

struct ep_item {
	struct us_epoll *ep;
	struct us_sock *sk;
	struct ep_item *sk_next;     /* the socket's items (sk->wake_arg) */
	struct ep_item *next, *prev; /* ep->items */
	struct ep_item *rd_next, *rd_prev;
	bool ready;	 /* on ep's ready list */
	bool disarmed;	 /* EPOLLONESHOT reported */
	uint32_t events; /* as given, flags included */
	epoll_data_t data;
};

struct us_epoll {
	struct us_sock sk;
	struct ep_item *items;
	struct ep_item *rd_head, *rd_tail;
	uint32_t nready;
	uint32_t nnested;  /* items that are epoll instances */
	int kfd_ep;	   /* kernel descriptors; -1: none yet */
	bool kernel_first; /* alternates, so neither side starves */
};

static const struct sock_ops ep_ops;
static void ep_wake(struct us_stack *st, struct us_sock *sk, uint32_t events);

static inline struct us_epoll *to_ep(struct us_sock *sk)
{
	return container_of(sk, struct us_epoll, sk);
}

static inline bool is_ep(const struct us_sock *sk)
{
	return sk->ops == &ep_ops;
}

static inline struct ep_item *sk_items(struct us_sock *sk)
{
	return sk->wake == ep_wake ? sk->wake_arg : NULL;
}

static uint32_t item_mask(const struct ep_item *it)
{
	return (it->events & ~(uint32_t)EP_FLAGS) | EPOLLERR | EPOLLHUP;
}

static uint32_t item_poll(struct us_stack *st, struct ep_item *it)
{
	struct us_sock *sk = it->sk;
	return sk->ops->poll ? sk->ops->poll(st, sk) & item_mask(it) : 0;
}

static void rd_remove(struct us_epoll *ep, struct ep_item *it)
{
	if (!it->ready)
		return;
	if (it->rd_prev)
		it->rd_prev->rd_next = it->rd_next;
	else
		ep->rd_head = it->rd_next;
	if (it->rd_next)
		it->rd_next->rd_prev = it->rd_prev;
	else
		ep->rd_tail = it->rd_prev;
	it->ready = false;
	ep->nready--;
}

static void rd_append(struct us_epoll *ep, struct ep_item *it)
{
	it->rd_next = NULL;
	it->rd_prev = ep->rd_tail;
	if (ep->rd_tail)
		ep->rd_tail->rd_next = it;
	else
		ep->rd_head = it;
	ep->rd_tail = it;
	it->ready = true;
	ep->nready++;
}

static void ep_queue(struct us_stack *st, struct ep_item *it)
{
	struct us_epoll *ep = it->ep;
	bool was_empty = !ep->rd_head;

	if (it->ready)
		return;
	rd_append(ep, it);
	/* The instance itself just became readable: for instances watching
	 * it and threads blocked in us_epoll_wait on it. */
	if (was_empty)
		sock_wake(st, &ep->sk, EPOLLIN | EPOLLRDNORM);
}

/* The socket hook. events: what may now hold (0: anything). */
static void ep_wake(struct us_stack *st, struct us_sock *sk, uint32_t events)
{
	for (struct ep_item *it = sk->wake_arg; it; it = it->sk_next) {
		if (it->disarmed || (events && !(events & item_mask(it))))
			continue;
		ep_queue(st, it);
	}
}

/* Drop items that are no longer ready from the head of the list; true if
 * one that is ready remains. */
static bool ep_has_ready(struct us_stack *st, struct us_epoll *ep)
{
	struct ep_item *it;

	while ((it = ep->rd_head)) {
		if (item_poll(st, it))
			return true;
		rd_remove(ep, it);
	}
	return false;
}

static bool ep_cond(struct us_stack *st, struct us_sock *sk, void *arg)
{
	(void)arg;
	return ep_has_ready(st, to_ep(sk));
}

static uint32_t ep_poll(struct us_stack *st, struct us_sock *sk)
{
	return ep_has_ready(st, to_ep(sk)) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int collect_ustack(struct us_stack *st, struct us_epoll *ep,
			  struct epoll_event *evs, int max)
{
	/* Only the items queued now: one put back at the tail is not seen
	 * twice in one call. */
	uint32_t budget = ep->nready;
	struct ep_item *it;
	int n = 0;

	while (n < max && budget-- > 0 && (it = ep->rd_head)) {
		uint32_t rev = item_poll(st, it);
		rd_remove(ep, it);
		if (!rev)
			continue;
		evs[n].events = rev;
		evs[n].data = it->data;
		n++;
		if (it->events & EPOLLONESHOT)
			it->disarmed = true;
		else if (!(it->events & EPOLLET))
			rd_append(ep, it);
	}
	return n;
}

static int collect_kernel(struct us_epoll *ep, struct epoll_event *evs, int max)
{
	if (ep->kfd_ep < 0 || max <= 0)
		return 0;
	int k = epoll_wait(ep->kfd_ep, evs, max, 0);
	return k > 0 ? k : 0;
}

static int ep_collect(struct us_stack *st, struct us_epoll *ep,
		      struct epoll_event *evs, int max)
{
	int n;

	ep->kernel_first = !ep->kernel_first;
	if (ep->kernel_first) {
		n = collect_kernel(ep, evs, max);
		return n + collect_ustack(st, ep, evs + n, max - n);
	}
	n = collect_ustack(st, ep, evs, max);
	return n + collect_kernel(ep, evs + n, max - n);
}

static struct ep_item *item_find(struct us_epoll *ep, struct us_sock *sk)
{
	for (struct ep_item *it = sk_items(sk); it; it = it->sk_next)
		if (it->ep == ep)
			return it;
	return NULL;
}

static void item_free(struct us_stack *st, struct ep_item *it)
{
	struct us_epoll *ep = it->ep;
	struct us_sock *sk = it->sk;
	struct ep_item **pp = (struct ep_item **)&sk->wake_arg;

	(void)st;
	rd_remove(ep, it);
	if (it->prev)
		it->prev->next = it->next;
	else
		ep->items = it->next;
	if (it->next)
		it->next->prev = it->prev;
	while (*pp != it)
		pp = &(*pp)->sk_next;
	*pp = it->sk_next;
	if (!sk->wake_arg)
		sk->wake = NULL;
	if (is_ep(sk))
		ep->nnested--;
	free(it);
}

void epoll_forget(struct us_stack *st, struct us_sock *sk)
{
	struct ep_item *it;

	while ((it = sk_items(sk)))
		item_free(st, it);
}

static void ep_close(struct us_stack *st, struct us_sock *sk)
{
	struct us_epoll *ep = to_ep(sk);

	while (ep->items)
		item_free(st, ep->items);
	if (ep->kfd_ep >= 0)
		close(ep->kfd_ep);
	free(ep);
}

static const struct sock_ops ep_ops = {
    .close = ep_close,
    .poll = ep_poll,
};

/* Levels of instances from ep down (ep itself is one). */
static int depth_down(struct us_epoll *ep)
{
	int d = 0;

	if (ep->nnested)
		for (struct ep_item *it = ep->items; it; it = it->next)
			if (is_ep(it->sk))
				d = US_MAX(d, depth_down(to_ep(it->sk)));
	return d + 1;
}

/* Levels of instances above ep (watching it, directly or not); sets
 * *loop if target is among them. */
static int depth_up(struct us_epoll *ep, struct us_epoll *target, bool *loop)
{
	int d = 0;

	for (struct ep_item *it = sk_items(&ep->sk); it; it = it->sk_next) {
		if (it->ep == target)
			*loop = true;
		d = US_MAX(d, 1 + depth_up(it->ep, target, loop));
	}
	return d;
}

/* Linux's ep_loop_check: adding target under ep must not close a cycle or
 * make a chain longer than EP_MAX_LEVELS. */
static int check_nesting(struct us_epoll *ep, struct us_epoll *target)
{
	bool loop = false;
	int up = depth_up(ep, target, &loop);

	if (loop || up + depth_down(target) + 1 > EP_MAX_LEVELS)
		return -ELOOP;
	return 0;
}

static int item_add(struct us_stack *st, struct us_epoll *ep,
		    struct us_sock *sk, const struct epoll_event *ev)
{
	struct ep_item *it;
	int rc;

	if (is_ep(sk)) {
		if (ev->events & EPOLLEXCLUSIVE)
			return -EINVAL;
		if ((rc = check_nesting(ep, to_ep(sk))) < 0)
			return rc;
		/* The outer instance cannot sleep on the inner one's kernel
		 * descriptors (see ustack.h). */
		if (to_ep(sk)->kfd_ep >= 0)
			return -EINVAL;
	}
	/* The hook is the event API's alone. */
	if (sk->wake && sk->wake != ep_wake)
		return -EBUSY;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->ep = ep;
	it->sk = sk;
	it->events = ev->events;
	it->data = ev->data;
	it->sk_next = sk_items(sk);
	sk->wake = ep_wake;
	sk->wake_arg = it;
	it->next = ep->items;
	if (ep->items)
		ep->items->prev = it;
	ep->items = it;
	if (is_ep(sk))
		ep->nnested++;
	/* Linux polls the file as it is added: what holds now is reported. */
	if (item_poll(st, it))
		ep_queue(st, it);
	return 0;
}

static int item_mod(struct us_stack *st, struct ep_item *it,
		    const struct epoll_event *ev)
{
	it->events = ev->events;
	it->data = ev->data;
	it->disarmed = false;
	if (item_poll(st, it))
		ep_queue(st, it);
	return 0;
}

static int kernel_ctl(struct us_epoll *ep, int op, int kfd,
		      struct epoll_event *ev)
{
	if (ep->kfd_ep < 0) {
		if (op != EPOLL_CTL_ADD)
			return -ENOENT;
		/* Nested instances sleep only on their own stack's sources. */
		if (ep->sk.wake)
			return -EINVAL;
		ep->kfd_ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep->kfd_ep < 0)
			return -errno;
	}
	return epoll_ctl(ep->kfd_ep, op, kfd, ev) < 0 ? -errno : 0;
}

static int epoll_lookup(struct us_stack *st, int epfd, struct us_epoll **out)
{
	struct us_sock *sk = st ? sock_get(st, epfd) : NULL;

	if (!sk)
		return -EBADF;
	if (!is_ep(sk))
		return -EINVAL;
	*out = to_ep(sk);
	return 0;
}

int us_epoll_create(struct us_stack *st)
{
	SOCK_API_GUARD(st);
	struct us_epoll *ep;
	int rc;

	if (!st)
		return sock_ret(-EINVAL);
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return sock_ret(-ENOMEM);
	sock_common_init(&ep->sk, &ep_ops, 0, 0, 0);
	ep->kfd_ep = -1;
	rc = sock_fd_alloc(st, &ep->sk);
	if (rc < 0)
		free(ep);
	return sock_ret(rc);
}

static int ctl(struct us_stack *st, int epfd, int op, int fd,
	       struct epoll_event *ev)
{
	struct us_epoll *ep;
	struct us_sock *sk;
	struct ep_item *it;
	int rc;

	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	if (op != EPOLL_CTL_DEL && !ev)
		return -EFAULT;
	if ((rc = epoll_lookup(st, epfd, &ep)) < 0)
		return rc;
	if (ev && op != EPOLL_CTL_DEL && (ev->events & EPOLLEXCLUSIVE) &&
	    (op == EPOLL_CTL_MOD || (ev->events & ~EP_EXCLUSIVE_OK)))
		return -EINVAL;
	if (US_IS_KERNEL_FD(fd))
		return kernel_ctl(ep, op, fd & ~US_KERNEL_FD_FLAG, ev);
	sk = sock_get(st, fd);
	if (!sk)
		return -EBADF;
	if (sk == &ep->sk)
		return -EINVAL;
	it = item_find(ep, sk);
	switch (op) {
	case EPOLL_CTL_ADD:
		return it ? -EEXIST : item_add(st, ep, sk, ev);
	case EPOLL_CTL_MOD:
		return it ? item_mod(st, it, ev) : -ENOENT;
	default:
		if (!it)
			return -ENOENT;
		item_free(st, it);
		return 0;
	}
}

int us_epoll_ctl(struct us_stack *st, int epfd, int op, int fd,
		 struct epoll_event *ev)
{
	SOCK_API_GUARD(st);
	return sock_ret(ctl(st, epfd, op, fd, ev));
}

int us_epoll_wait(struct us_stack *st, int epfd, struct epoll_event *evs,
		  int maxevents, int timeout_ms)
{
	SOCK_API_GUARD(st);
	struct us_epoll *ep;
	int rc, n;

	if ((rc = epoll_lookup(st, epfd, &ep)) < 0)
		return sock_ret(rc);
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return sock_ret(-EINVAL);
	if (!evs)
		return sock_ret(-EFAULT);
	/* Run-to-completion: a turn first, so what the program queued since
	 * the last call leaves and what arrived is seen. */
	if (!st->mt && stack_poll(st, 0, -1, NULL) < 0)
		return sock_ret(-ENETDOWN);
	uint64_t start = us_stack_now(st);
	uint64_t timeo = timeout_ms < 0 ? SOCK_TIMEO_FOREVER
					: (uint64_t)timeout_ms * US_NS_PER_MS;
	for (;;) {
		n = ep_collect(st, ep, evs, maxevents);
		if (n)
			return n;
		uint64_t spent = us_stack_now(st) - start;
		if (timeo != SOCK_TIMEO_FOREVER && spent >= timeo)
			return 0;
		rc = sock_wait_kfd(st, &ep->sk,
				   timeo == SOCK_TIMEO_FOREVER ? timeo
							       : timeo - spent,
				   ep_cond, NULL, ep->kfd_ep);
		if (rc == -EAGAIN)
			return 0;
		if (rc < 0)
			return sock_ret(rc);
	}
}
