/* poll and epoll on ustack descriptors, blocking as the kernel's do (up to
 * their timeout, in script time), and the calls ustack has no counterpart
 * for. */
#include <errno.h>
#include <stdlib.h>

#include "core/util.h"
#include "packetdrill/pd.h"

static uint64_t timeout_ns(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX
			      : (uint64_t)timeout_ms * US_NS_PER_MS;
}

/* One look at readiness through a scratch epoll instance. Returns the
 * number of entries with revents, or -1 with EAGAIN when none is ready. */
static int poll_once(struct pd *pd, struct pollfd *fds, nfds_t nfds)
{
	struct epoll_event *evs = calloc(nfds ? nfds : 1, sizeof(*evs));
	int ep = us_epoll_create(pd->st), ready = 0, n;

	if (!evs || ep < 0) {
		free(evs);
		if (ep >= 0)
			us_close(pd->st, ep);
		errno = ENOMEM;
		return -1;
	}
	for (nfds_t i = 0; i < nfds; i++) {
		struct epoll_event ev = {.events = (uint32_t)fds[i].events |
						   EPOLLERR | EPOLLHUP,
					 .data.u64 = i};
		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		if (us_epoll_ctl(pd->st, ep, EPOLL_CTL_ADD, fds[i].fd, &ev) <
			0 &&
		    errno != EEXIST) {
			fds[i].revents = POLLNVAL;
			ready++;
		}
	}
	n = us_epoll_wait(pd->st, ep, evs, nfds ? (int)nfds : 1, 0);
	for (int k = 0; k < n; k++) {
		struct pollfd *p = &fds[evs[k].data.u64];
		/* poll's and epoll's bits are the same on Linux. */
		p->revents = (short)(evs[k].events &
				     ((uint32_t)p->events | POLLERR | POLLHUP));
		if (p->revents)
			ready++;
	}
	us_close(pd->st, ep);
	free(evs);
	if (!ready) {
		errno = EAGAIN;
		return -1;
	}
	return ready;
}

int pd_poll(void *ud, struct pollfd *fds, nfds_t nfds, int timeout)
{
	int n;

	if (nfds && !fds) {
		errno = EFAULT;
		return -1;
	}
	PD_ENTER(pd, ud);
	PD_BLOCKING(pd, timeout == 0, timeout_ns(timeout), n,
		    poll_once(pd, fds, nfds));
	/* Nothing ready by the timeout: 0, as poll says. The main thread
	 * cannot wait without one: EAGAIN. */
	if (n < 0 && errno == EAGAIN && (timeout >= 0 || !pd_on_main(pd)))
		n = 0;
	pd_leave(pd);
	return n;
}

int pd_epoll_create(void *ud, int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	PD_ENTER(pd, ud);
	int rc = us_epoll_create(pd->st);
	pd_leave(pd);
	return rc;
}

int pd_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *ev)
{
	PD_ENTER(pd, ud);
	int rc = us_epoll_ctl(pd->st, epfd, op, fd, ev);
	pd_leave(pd);
	return rc;
}

static int epoll_once(struct pd *pd, int epfd, struct epoll_event *evs, int max)
{
	int n = us_epoll_wait(pd->st, epfd, evs, max, 0);

	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
	return n;
}

int pd_epoll_wait(void *ud, int epfd, struct epoll_event *evs, int max,
		  int timeout)
{
	int n;

	PD_ENTER(pd, ud);
	PD_BLOCKING(pd, timeout == 0, timeout_ns(timeout), n,
		    epoll_once(pd, epfd, evs, max));
	if (n < 0 && errno == EAGAIN && (timeout >= 0 || !pd_on_main(pd)))
		n = 0;
	pd_leave(pd);
	return n;
}

/* ustack has no pipes: a script that needs one cannot run here. */
int pd_pipe(void *ud, int fds[2])
{
	errno = ENOTSUP;
	return -1;
}

int pd_splice(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
	      size_t len, unsigned int flags)
{
	errno = ENOTSUP;
	return -1;
}
