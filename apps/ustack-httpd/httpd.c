/* The server around the connections: listener, accept, the connection
 * table, timeouts, and one wait of the event loop (httpd.h). Used by
 * ustack-httpd and by the demo's port 80. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_req.h"
#include "httpd.h"

#define MAX_EVENTS 256
#define TAG_KERNEL UINT64_MAX
#define TAG_LISTEN (UINT64_MAX - 1)
#define LINGER_NS 2000000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void list_unlink(struct hconn *c)
{
	if (!c->list)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->list->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		c->list->tail = c->prev;
	c->list = NULL;
}

void hconn_touch(struct hconn *c, struct hconn_list *l, uint64_t deadline)
{
	list_unlink(c);
	c->list = l;
	c->deadline = deadline;
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static void conn_close(struct httpd *h, struct hconn *c)
{
	list_unlink(c);
	us_close(h->st, c->fd); /* also leaves the epoll instance */
	h->conns[c->fd] = NULL;
	h->open--;
	hconn_free(c);
}

static bool table_fit(struct httpd *h, int fd)
{
	if ((size_t)fd < h->nconns)
		return true;
	size_t n = h->nconns ? h->nconns : 1024;
	while (n <= (size_t)fd)
		n *= 2;
	struct hconn **t = realloc(h->conns, n * sizeof(*t));
	if (!t)
		return false;
	memset(t + h->nconns, 0, (n - h->nconns) * sizeof(*t));
	h->conns = t;
	h->nconns = n;
	return true;
}

static void accept_all(struct httpd *h, uint64_t now)
{
	int one = 1;

	for (;;) {
		int fd = us_accept(h->st, h->lfd, NULL, NULL);
		if (fd < 0)
			return; /* EAGAIN, or a connection reset meanwhile */
		struct hconn *c = table_fit(h, fd) ? hconn_new(h, fd) : NULL;
		if (!c || us_fcntl(h->st, fd, F_SETFL, O_NONBLOCK) < 0) {
			if (c)
				hconn_free(c);
			us_close(h->st, fd);
			continue;
		}
		/* Responses are written whole; nothing is gained by holding
		 * back a short tail (a pipelined batch) for Nagle. */
		us_setsockopt(h->st, fd, IPPROTO_TCP, TCP_NODELAY, &one,
			      sizeof(one));
		c->events = EPOLLIN | EPOLLRDHUP;
		struct epoll_event ev = {.events = c->events,
					 .data.u64 = (uint64_t)fd};
		if (us_epoll_ctl(h->st, h->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			hconn_free(c);
			us_close(h->st, fd);
			continue;
		}
		h->conns[fd] = c;
		h->accepted++;
		h->open++;
		hconn_touch(c, &h->active, now + h->keepalive_ns);
	}
}

/* Close connections whose deadline passed; returns the ms until the next
 * one (-1: none). */
static int expire(struct httpd *h, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct hconn_list *lists[2] = {&h->active, &h->linger};

	for (int i = 0; i < 2; i++) {
		struct hconn *c;
		while ((c = lists[i]->head) && c->deadline <= now)
			conn_close(h, c);
		if (c && c->deadline < next)
			next = c->deadline;
	}
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - now) / 1000000 + 1);
}

int httpd_run(struct httpd *h, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int kernel = 0, t = expire(h, mono_ns());

	if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
		timeout_ms = t;
	int n = us_epoll_wait(h->st, h->ep, evs, MAX_EVENTS, timeout_ms);
	uint64_t now = mono_ns();

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		if (tag == TAG_KERNEL) {
			kernel = 1;
		} else if (tag == TAG_LISTEN) {
			accept_all(h, now);
		} else if (tag < h->nconns && h->conns[tag]) {
			struct hconn *c = h->conns[tag];
			if ((evs[i].events & EPOLLERR) || !hconn_run(c, now))
				conn_close(h, c);
		}
	}
	expire(h, now);
	return kernel;
}

int httpd_watch_kernel(struct httpd *h, int kfd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_KERNEL};
	return us_epoll_ctl(h->st, h->ep, EPOLL_CTL_ADD, US_KERNEL_FD(kfd),
			    &ev);
}

static int listen_on(struct httpd *h, uint16_t port, int backlog)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	int one = 1, e;
	int fd = us_socket(h->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	us_setsockopt(h->st, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
	if (us_bind(h->st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    us_listen(h->st, fd, backlog) < 0 ||
	    us_epoll_ctl(h->st, h->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		e = errno;
		us_close(h->st, fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct httpd *httpd_start(struct us_stack *st, const struct httpd_params *p,
			  const char **what)
{
	struct httpd *h = calloc(1, sizeof(*h));
	int e;

	if (!h) {
		*what = "memory";
		return NULL;
	}
	h->st = st;
	h->ep = h->lfd = h->rootfd = -1;
	if (p->root) {
		h->rootfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (h->rootfd < 0) {
			*what = "the document root";
			goto fail;
		}
	}
	h->verbose = p->verbose;
	h->keepalive_ns =
	    (uint64_t)(p->keepalive_s ? p->keepalive_s : 60) * 1000000000ull;
	h->linger_ns = LINGER_NS;
	httpd_settings(&h->ps);
	/* Our own limits (URL_MAX, HDR_MAX) answer first, with 414/431. */
	http_parser_set_max_header_size(URL_MAX + HDR_MAX + 4096);
	http_bytes_fill(h->pattern, 0, sizeof(h->pattern));
	h->ep = us_epoll_create(st);
	if (h->ep < 0) {
		*what = "us_epoll_create";
		goto fail;
	}
	h->lfd = listen_on(h, p->port, p->backlog ? p->backlog : 1024);
	if (h->lfd < 0) {
		*what = "the TCP port";
		goto fail;
	}
	return h;
fail:
	e = errno;
	if (h->ep >= 0)
		us_close(st, h->ep);
	if (h->rootfd >= 0)
		close(h->rootfd);
	free(h);
	errno = e;
	return NULL;
}

void httpd_summary(const struct httpd *h, FILE *f)
{
	fprintf(f,
		"httpd: connections %llu open-at-exit %u requests %llu 2xx %llu"
		" 3xx %llu 4xx %llu 5xx %llu bad %llu\n",
		(unsigned long long)h->accepted, h->open,
		(unsigned long long)h->requests,
		(unsigned long long)h->status_class[2],
		(unsigned long long)h->status_class[3],
		(unsigned long long)h->status_class[4],
		(unsigned long long)h->status_class[5],
		(unsigned long long)h->bad_requests);
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nconns; i++)
		if (h->conns[i])
			conn_close(h, h->conns[i]);
	free(h->conns);
	us_close(h->st, h->lfd);
	us_close(h->st, h->ep);
	if (h->rootfd >= 0)
		close(h->rootfd);
	free(h);
}
