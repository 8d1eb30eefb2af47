/* The socket calls ustack-perf makes, on ustack or on the kernel: one
 * program is then both ends of every pairing (ustack-ustack, ustack-kernel,
 * kernel-ustack, kernel-kernel) with the same protocol and the same loop.
 * Every socket is non-blocking; waiting is the event loop's (epoll or
 * us_epoll). */
#ifndef PERF_PNET_H
#define PERF_PNET_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ustack.h"

struct pnet {
	struct us_stack *st; /* NULL: the kernel's sockets */
	int ep;
};

static inline int pn_socket(struct pnet *n)
{
	return n->st ? us_socket(n->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
		     : socket(AF_INET,
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static inline int pn_setsockopt(struct pnet *n, int fd, int level, int name,
				int v)
{
	return n->st ? us_setsockopt(n->st, fd, level, name, &v, sizeof(v))
		     : setsockopt(fd, level, name, &v, sizeof(v));
}

static inline int pn_so_error(struct pnet *n, int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);
	int rc = n->st
		     ? us_getsockopt(n->st, fd, SOL_SOCKET, SO_ERROR, &e, &len)
		     : getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
	return rc < 0 ? errno : e;
}

static inline int pn_bind(struct pnet *n, int fd, const struct sockaddr_in *a)
{
	return n->st
		   ? us_bind(n->st, fd, (const struct sockaddr *)a, sizeof(*a))
		   : bind(fd, (const struct sockaddr *)a, sizeof(*a));
}

static inline int pn_listen(struct pnet *n, int fd, int backlog)
{
	return n->st ? us_listen(n->st, fd, backlog) : listen(fd, backlog);
}

/* A non-blocking accepted connection, or -1. */
static inline int pn_accept(struct pnet *n, int lfd)
{
	if (!n->st)
		return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int fd = us_accept(n->st, lfd, NULL, NULL);
	if (fd >= 0 && us_fcntl(n->st, fd, F_SETFL, O_NONBLOCK) < 0) {
		us_close(n->st, fd);
		return -1;
	}
	return fd;
}

static inline int pn_connect(struct pnet *n, int fd,
			     const struct sockaddr_in *a)
{
	return n->st ? us_connect(n->st, fd, (const struct sockaddr *)a,
				  sizeof(*a))
		     : connect(fd, (const struct sockaddr *)a, sizeof(*a));
}

static inline ssize_t pn_send(struct pnet *n, int fd, const void *b, size_t len)
{
	return n->st ? us_send(n->st, fd, b, len, 0)
		     : send(fd, b, len, MSG_NOSIGNAL);
}

static inline ssize_t pn_recv(struct pnet *n, int fd, void *b, size_t len)
{
	return n->st ? us_recv(n->st, fd, b, len, 0) : recv(fd, b, len, 0);
}

static inline int pn_shutdown(struct pnet *n, int fd, int how)
{
	return n->st ? us_shutdown(n->st, fd, how) : shutdown(fd, how);
}

static inline int pn_close(struct pnet *n, int fd)
{
	return n->st ? us_close(n->st, fd) : close(fd);
}

static inline int pn_ep_create(struct pnet *n)
{
	n->ep = n->st ? us_epoll_create(n->st) : epoll_create1(EPOLL_CLOEXEC);
	return n->ep;
}

static inline int pn_ep_ctl(struct pnet *n, int op, int fd, uint32_t events,
			    uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	return n->st ? us_epoll_ctl(n->st, n->ep, op, fd, &ev)
		     : epoll_ctl(n->ep, op, fd, &ev);
}

/* Watch a kernel descriptor (the signalfd) for readability. */
static inline int pn_ep_add_kernel(struct pnet *n, int kfd, uint64_t data)
{
	return pn_ep_ctl(n, EPOLL_CTL_ADD, n->st ? US_KERNEL_FD(kfd) : kfd,
			 EPOLLIN, data);
}

static inline int pn_ep_wait(struct pnet *n, struct epoll_event *evs, int max,
			     int timeout_ms)
{
	if (n->st)
		return us_epoll_wait(n->st, n->ep, evs, max, timeout_ms);
	int rc = epoll_wait(n->ep, evs, max, timeout_ms);
	return rc < 0 && errno == EINTR ? 0 : rc;
}

#endif
