/* Threaded mode: the stack runs in its own thread and application threads
 * block in the us_* calls as in POSIX: they wake when what they wait for
 * happens, when SO_RCVTIMEO/SO_SNDTIMEO runs out, when another thread
 * closes or shuts down the socket; many threads at once. One stack on the
 * real clock (solo.h); traffic goes to its own address. Built under
 * ThreadSanitizer too (make test-tsan). TCP cases skip while SOCK_STREAM
 * is refused. */
#define _GNU_SOURCE /* pipe2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "sock/sock.h"
#include "solo.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define SCALE 2 /* ThreadSanitizer: fewer rounds, same shape */
#else
#define SCALE 1
#endif

#define ERRNO(call, e)                                                         \
	do {                                                                   \
		errno = 0;                                                     \
		assert_int_equal((call), -1);                                  \
		assert_int_equal(errno, (e));                                  \
	} while (0)

static struct solo *start(void)
{
	struct solo *so = calloc(1, sizeof(*so));
	assert_non_null(so);
	solo_init(so);
	assert_int_equal(us_stack_start_thread(so->st), 0);
	return so;
}

static void finish(struct solo *so)
{
	solo_fini(so); /* stops the thread */
	free(so);
}

/* Until n threads are asleep in us_* calls (so a test wakes a sleeper,
 * not a thread that has not gone to sleep yet). */
static void await_blocked(struct us_stack *st, unsigned n)
{
	uint64_t t0 = solo_mono_ms();
	while (sock_mt_waiters(st) < n) {
		assert_true(solo_mono_ms() - t0 < 5000);
		usleep(1000);
	}
}

static void set_timeo(struct us_stack *st, int fd, int name, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	assert_int_equal(
	    us_setsockopt(st, fd, SOL_SOCKET, name, &tv, sizeof(tv)), 0);
}

static void send_self(struct us_stack *st, int from, uint16_t port,
		      const void *buf, size_t n)
{
	struct sockaddr_in to = solo_sin(SOLO_IP, port);
	assert_int_equal(
	    us_sendto(st, from, buf, n, 0, (struct sockaddr *)&to, sizeof(to)),
	    (ssize_t)n);
}

static void test_mode_switch(void **state)
{
	struct solo so;
	struct us_vclock vc = {1000000000ull};
	struct us_config cfg;
	struct us_dev *a, *b;
	(void)state;

	/* A virtual clock never moves by itself: no thread for it. */
	assert_int_equal(us_pipe_create(&a, &b), 0);
	us_config_init(&cfg);
	cfg.dev = a;
	cfg.ip = inet_addr(SOLO_IP);
	cfg.prefix_len = 24;
	cfg.clock_now = vclock_now;
	cfg.clock_arg = &vc;
	struct us_stack *vst = us_stack_create(&cfg);
	assert_non_null(vst);
	ERRNO(us_stack_start_thread(vst), EINVAL);
	us_stack_destroy(vst);
	dev_close(b);

	solo_init(&so);
	ERRNO(us_stack_stop_thread(so.st), EINVAL);
	assert_int_equal(us_stack_start_thread(so.st), 0);
	ERRNO(us_stack_start_thread(so.st), EALREADY);
	ERRNO(us_stack_poll(so.st, 0), EBUSY); /* the thread owns the loop */
	ERRNO(us_stack_fd(so.st), EBUSY);
	int fd = solo_udp(so.st, 5000, false);
	assert_int_equal(us_stack_stop_thread(so.st), 0);
	ERRNO(us_stack_stop_thread(so.st), EINVAL);
	/* Run-to-completion again, the socket still there. */
	assert_true(us_stack_poll(so.st, 0) >= 0);
	char c = 'x';
	send_self(so.st, fd, 5000, &c, 1);
	assert_true(us_stack_poll(so.st, 0) >= 0);
	assert_int_equal(us_recv(so.st, fd, &c, 1, MSG_DONTWAIT), 1);
	/* And threaded once more; destroy stops the thread itself. */
	assert_int_equal(us_stack_start_thread(so.st), 0);
	solo_fini(&so);
}

struct call {
	struct us_stack *st;
	int fd;
	ssize_t ret;
	int err;
	char buf[64];
	uint64_t ms; /* how long the call took */
};

static void *do_recv(void *arg)
{
	struct call *c = arg;
	uint64_t t0 = solo_mono_ms();
	errno = 0;
	c->ret = us_recv(c->st, c->fd, c->buf, sizeof(c->buf), 0);
	c->err = errno;
	c->ms = solo_mono_ms() - t0;
	return NULL;
}

static void test_recv_blocks_and_wakes(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	struct call c = {.st = st, .fd = solo_udp(st, 5001, false)};
	int tx = solo_udp(st, 0, false);
	pthread_t th;
	(void)state;

	assert_int_equal(pthread_create(&th, NULL, do_recv, &c), 0);
	await_blocked(st, 1);
	send_self(st, tx, 5001, "hello", 5);
	pthread_join(th, NULL);
	assert_int_equal(c.ret, 5);
	assert_memory_equal(c.buf, "hello", 5);
	assert_int_equal(sock_mt_waiters(st), 0);
	finish(so);
}

static void test_timeouts(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	int fd = solo_udp(st, 5002, false);
	char b;
	(void)state;

	/* SO_RCVTIMEO bounds a blocking recv. */
	set_timeo(st, fd, SO_RCVTIMEO, 100);
	uint64_t t0 = solo_mono_ms();
	ERRNO(us_recv(st, fd, &b, 1, 0), EAGAIN);
	uint64_t dt = solo_mono_ms() - t0;
	assert_true(dt >= 99 && dt < 1000);

	/* A blocking send to a neighbour that never answers ARP waits for
	 * the resolution (a condition no socket wake announces: the stack
	 * thread re-checks it after its turns) and fails with EHOSTUNREACH;
	 * SO_SNDTIMEO cuts that wait short (the datagram stays queued). */
	struct sockaddr_in nobody = solo_sin(SOLO_NOBODY, 9);
	t0 = solo_mono_ms();
	ERRNO(us_sendto(st, fd, "x", 1, 0, (struct sockaddr *)&nobody,
			sizeof(nobody)),
	      EHOSTUNREACH);
	dt = solo_mono_ms() - t0;
	assert_true(dt >= SOLO_ARP_RETRY_MS * SOLO_ARP_RETRIES && dt < 2000);
	struct sockaddr_in nobody2 = solo_sin("10.0.0.78", 9);
	set_timeo(st, fd, SO_SNDTIMEO, 10);
	t0 = solo_mono_ms();
	assert_int_equal(us_sendto(st, fd, "x", 1, 0,
				   (struct sockaddr *)&nobody2,
				   sizeof(nobody2)),
			 1);
	dt = solo_mono_ms() - t0;
	/* 1, not EHOSTUNREACH: the timeout ended the wait, not ARP. */
	assert_true(dt >= 9 && dt < 1000);
	finish(so);
}

static void test_close_and_shutdown_wake(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	struct call c = {.st = st, .fd = solo_udp(st, 5003, false)};
	pthread_t th;
	(void)state;

	/* Closed by another thread: the sleeper wakes with EBADF (Linux
	 * would leave it blocked; a sane program wants it back). */
	assert_int_equal(pthread_create(&th, NULL, do_recv, &c), 0);
	await_blocked(st, 1);
	assert_int_equal(us_close(st, c.fd), 0);
	pthread_join(th, NULL);
	assert_int_equal(c.ret, -1);
	assert_int_equal(c.err, EBADF);

	/* shutdown(SHUT_RD) by another thread: end of file. */
	c.fd = solo_udp(st, 5003, false);
	assert_int_equal(pthread_create(&th, NULL, do_recv, &c), 0);
	await_blocked(st, 1);
	us_shutdown(st, c.fd, SHUT_RD); /* ENOTCONN on UDP, still shuts */
	pthread_join(th, NULL);
	assert_int_equal(c.ret, 0);
	finish(so);
}

struct ewait {
	struct us_stack *st;
	int ep, n, err;
	struct epoll_event evs[4];
};

static void *do_epoll_wait(void *arg)
{
	struct ewait *w = arg;
	errno = 0;
	w->n = us_epoll_wait(w->st, w->ep, w->evs, 4, -1);
	w->err = errno;
	return NULL;
}

static void test_epoll_wait_threaded(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	struct ewait w = {.st = st, .ep = us_epoll_create(st)};
	int fd = solo_udp(st, 5004, true), tx = solo_udp(st, 0, true), p[2];
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
	pthread_t th;
	char b;
	(void)state;

	assert_int_equal(us_epoll_ctl(st, w.ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(pthread_create(&th, NULL, do_epoll_wait, &w), 0);
	await_blocked(st, 1);
	send_self(st, tx, 5004, "e", 1);
	pthread_join(th, NULL);
	assert_int_equal(w.n, 1);
	assert_true(w.evs[0].data.u64 == 1);
	assert_int_equal(us_recv(st, fd, &b, 1, 0), 1);

	/* A kernel descriptor in the same instance wakes the waiter too. */
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	ev.data.u64 = 2;
	assert_int_equal(
	    us_epoll_ctl(st, w.ep, EPOLL_CTL_ADD, US_KERNEL_FD(p[0]), &ev), 0);
	assert_int_equal(pthread_create(&th, NULL, do_epoll_wait, &w), 0);
	await_blocked(st, 1);
	assert_int_equal(write(p[1], "k", 1), 1);
	pthread_join(th, NULL);
	assert_int_equal(w.n, 1);
	assert_true(w.evs[0].data.u64 == 2);
	assert_int_equal(read(p[0], &b, 1), 1);
	/* ...and so does a ustack socket while it sleeps on the kernel side. */
	assert_int_equal(pthread_create(&th, NULL, do_epoll_wait, &w), 0);
	await_blocked(st, 1);
	send_self(st, tx, 5004, "e", 1);
	pthread_join(th, NULL);
	assert_int_equal(w.n, 1);
	assert_true(w.evs[0].data.u64 == 1);
	assert_int_equal(us_recv(st, fd, &b, 1, 0), 1);

	/* The instance closed under a waiter: EBADF. */
	assert_int_equal(pthread_create(&th, NULL, do_epoll_wait, &w), 0);
	await_blocked(st, 1);
	assert_int_equal(us_close(st, w.ep), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.n, -1);
	assert_int_equal(w.err, EBADF);
	close(p[0]);
	close(p[1]);
	finish(so);
}

/* Eight client threads, request/response through two server threads that
 * share one socket; one client waits through us_epoll_wait. */
#define NCLIENTS 8
#define NSERVERS 2
#define SERVER_PORT 5100

struct hammer {
	struct us_stack *st;
	int server;
	int id;
	atomic_int done;
};

static void *server_main(void *arg)
{
	struct hammer *h = arg;
	char buf[64];
	struct sockaddr_in from;

	for (;;) {
		socklen_t len = sizeof(from);
		ssize_t n = us_recvfrom(h->st, h->server, buf, sizeof(buf), 0,
					(struct sockaddr *)&from, &len);
		if (n <= 0)
			return NULL; /* shut down */
		buf[0] = (char)(buf[0] + 1);
		if (us_sendto(h->st, h->server, buf, (size_t)n, 0,
			      (struct sockaddr *)&from, len) != n)
			return (void *)1;
	}
}

static void *client_main(void *arg)
{
	struct hammer *h = arg;
	struct us_stack *st = h->st;
	int fd = us_socket(st, AF_INET, SOCK_DGRAM, 0), ep = -1;
	int rounds = 2000 / SCALE;
	struct sockaddr_in to = solo_sin(SOLO_IP, SERVER_PORT);
	struct timeval tv = {5, 0};

	/* No cmocka asserts off the test's own thread: errors are returned. */
	if (fd < 0 ||
	    us_setsockopt(st, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return (void *)5;
	if (h->id == 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
		ep = us_epoll_create(st);
		if (ep < 0 || us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			return (void *)6;
	}
	for (int i = 0; i < rounds; i++) {
		char msg[16], back[16];
		int n = snprintf(msg, sizeof(msg), "a%d:%d", h->id, i);
		if (us_sendto(st, fd, msg, (size_t)n, 0, (struct sockaddr *)&to,
			      sizeof(to)) != n)
			return (void *)1;
		if (ep >= 0) {
			struct epoll_event evs[2];
			if (us_epoll_wait(st, ep, evs, 2, 5000) != 1)
				return (void *)2;
		}
		if (us_recv(st, fd, back, sizeof(back), 0) != n)
			return (void *)3;
		msg[0] = 'b';
		if (memcmp(msg, back, (size_t)n))
			return (void *)4;
	}
	if (ep >= 0)
		us_close(st, ep);
	us_close(st, fd);
	atomic_fetch_add(&h->done, 1);
	return NULL;
}

static void test_hammer_udp(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	struct hammer h[NCLIENTS];
	pthread_t srv[NSERVERS], cli[NCLIENTS];
	void *ret;
	(void)state;

	int server = solo_udp(st, SERVER_PORT, false);
	/* Room for every client's datagram at once. */
	int rcvbuf = 1 << 20;
	us_setsockopt(st, server, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		      sizeof(rcvbuf));
	struct hammer hs = {.st = st, .server = server};
	for (int i = 0; i < NSERVERS; i++)
		assert_int_equal(
		    pthread_create(&srv[i], NULL, server_main, &hs), 0);
	uint64_t t0 = solo_mono_ms();
	for (int i = 0; i < NCLIENTS; i++) {
		h[i] = (struct hammer){.st = st, .id = i};
		assert_int_equal(
		    pthread_create(&cli[i], NULL, client_main, &h[i]), 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(cli[i], &ret);
		assert_null(ret);
	}
	print_message("%d clients x %d round trips in %llu ms\n", NCLIENTS,
		      2000 / SCALE, (unsigned long long)(solo_mono_ms() - t0));
	us_shutdown(st, server, SHUT_RD);
	for (int i = 0; i < NSERVERS; i++) {
		pthread_join(srv[i], &ret);
		assert_null(ret);
	}
	assert_int_equal(sock_mt_waiters(st), 0);
	finish(so);
}

/* TCP. */

static int tcp_listener(struct us_stack *st, uint16_t port)
{
	int l = us_socket(st, AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sin = solo_sin(SOLO_IP, port);
	assert_true(l >= 0);
	us_setsockopt(st, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(us_bind(st, l, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	assert_int_equal(us_listen(st, l, 64), 0);
	return l;
}

static int tcp_connect(struct us_stack *st, uint16_t port)
{
	int fd = us_socket(st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = solo_sin(SOLO_IP, port);
	if (fd < 0)
		return -1;
	if (us_connect(st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = errno;
		us_close(st, fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void *do_accept(void *arg)
{
	struct call *c = arg;
	errno = 0;
	c->ret = us_accept(c->st, c->fd, NULL, NULL);
	c->err = errno;
	return NULL;
}

#define BULK (512 * 1024 / SCALE)

static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 9));
}

static void *bulk_reader(void *arg)
{
	struct call *c = arg;
	uint8_t buf[4096];
	size_t got = 0;

	for (;;) {
		ssize_t n = us_recv(c->st, (int)c->ret, buf, sizeof(buf), 0);
		if (n < 0)
			return (void *)1;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(got + (size_t)i))
				return (void *)2;
		got += (size_t)n;
	}
	return got == BULK ? NULL : (void *)3;
}

static void test_tcp_accept_connect_send_recv(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	pthread_t th;
	void *ret;
	(void)state;

	if (!solo_have_tcp(st)) {
		finish(so);
		skip();
	}
	/* us_accept sleeps until a connection is queued. */
	struct call c = {.st = st, .fd = tcp_listener(st, 8000)};
	assert_int_equal(pthread_create(&th, NULL, do_accept, &c), 0);
	await_blocked(st, 1);
	int fd = tcp_connect(st, 8000); /* blocks until established */
	assert_true(fd >= 0);
	pthread_join(th, NULL);
	assert_true(c.ret >= 0);

	/* A small send buffer: us_send sleeps until the reader (another
	 * thread, blocked in us_recv) makes room. */
	int sb = 8192;
	us_setsockopt(st, fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	assert_int_equal(pthread_create(&th, NULL, bulk_reader, &c), 0);
	uint8_t *data = malloc(BULK);
	assert_non_null(data);
	for (size_t i = 0; i < BULK; i++)
		data[i] = pat(i);
	assert_int_equal(us_send(st, fd, data, BULK, 0), BULK);
	assert_int_equal(us_close(st, fd), 0); /* FIN: the reader's EOF */
	pthread_join(th, &ret);
	assert_null(ret);
	free(data);

	/* A refused connection wakes the blocked connect with the error. */
	errno = 0;
	assert_int_equal(tcp_connect(st, 8999), -1);
	assert_int_equal(errno, ECONNREFUSED);

	/* A listener closed under a blocked accept: EBADF. */
	assert_int_equal(pthread_create(&th, NULL, do_accept, &c), 0);
	await_blocked(st, 1);
	assert_int_equal(us_close(st, c.fd), 0);
	pthread_join(th, NULL);
	assert_int_equal(c.ret, -1);
	assert_int_equal(c.err, EBADF);
	finish(so);
}

/* A reset while a thread waits in us_recv wakes it with ECONNRESET; a
 * blocking us_accept honours SO_RCVTIMEO; a blocking us_send into a peer
 * that does not read honours SO_SNDTIMEO, returning what it queued, then
 * EAGAIN once nothing fits (as Linux, socket(7)); so does a blocking
 * us_connect to a peer that never answers. */
static void test_tcp_reset_and_timeouts(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	pthread_t th;
	char b;
	(void)state;

	if (!solo_have_tcp(st)) {
		finish(so);
		skip();
	}
	struct call c = {.st = st, .fd = tcp_listener(st, 8002)};
	set_timeo(st, c.fd, SO_RCVTIMEO, 50);
	ERRNO(us_accept(st, c.fd, NULL, NULL), EAGAIN);
	int fd = tcp_connect(st, 8002);
	assert_true(fd >= 0);
	int a = us_accept(st, c.fd, NULL, NULL);
	assert_true(a >= 0);

	/* The peer aborts (SO_LINGER 0: RST) while a thread sleeps in
	 * us_recv on the accepted socket. */
	struct call r = {.st = st, .fd = a};
	assert_int_equal(pthread_create(&th, NULL, do_recv, &r), 0);
	await_blocked(st, 1);
	struct linger lg = {1, 0};
	assert_int_equal(
	    us_setsockopt(st, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(us_close(st, fd), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.ret, -1);
	assert_int_equal(r.err, ECONNRESET);
	assert_int_equal(us_close(st, a), 0);

	/* SO_SNDTIMEO: the peer never reads, so buffers fill. */
	fd = tcp_connect(st, 8002);
	assert_true(fd >= 0);
	a = us_accept(st, c.fd, NULL, NULL);
	assert_true(a >= 0);
	int sb = 16384;
	us_setsockopt(st, fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	us_setsockopt(st, a, SOL_SOCKET, SO_RCVBUF, &sb, sizeof(sb));
	set_timeo(st, fd, SO_SNDTIMEO, 50);
	enum { BIG = 4 << 20 };
	char *big = calloc(1, BIG);
	assert_non_null(big);
	ssize_t n = us_send(st, fd, big, BIG, 0), k;
	assert_true(n > 0 && n < BIG);
	/* Until the buffers are full to the last byte (room freed by the
	 * peer's ACKs between calls is taken by the next call). */
	for (int i = 0; (k = us_send(st, fd, big, BIG, 0)) > 0; i++) {
		assert_true(i < 100);
		n += k;
	}
	assert_int_equal(k, -1);
	assert_int_equal(errno, EAGAIN);
	/* The wait ended, the connection did not: what was queued arrives
	 * once the peer reads. */
	size_t got = 0;
	set_timeo(st, a, SO_RCVTIMEO, 2000);
	while (got < (size_t)n) {
		k = us_recv(st, a, big, BIG, 0);
		assert_true(k > 0);
		got += (size_t)k;
	}
	assert_int_equal(got, n);
	ERRNO(us_recv(st, a, &b, 1, MSG_DONTWAIT), EAGAIN);
	free(big);
	us_close(st, fd);
	us_close(st, a);
	us_close(st, c.fd);

	/* SO_SNDTIMEO bounds a blocking connect too: EINPROGRESS when it
	 * runs out, the handshake going on (Linux, connect(2)). */
	fd = us_socket(st, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	set_timeo(st, fd, SO_SNDTIMEO, 30);
	struct sockaddr_in nobody = solo_sin(SOLO_NOBODY, 80);
	ERRNO(us_connect(st, fd, (struct sockaddr *)&nobody, sizeof(nobody)),
	      EINPROGRESS);
	ERRNO(us_connect(st, fd, (struct sockaddr *)&nobody, sizeof(nobody)),
	      EALREADY);
	us_close(st, fd);
	finish(so);
}

struct tcp_client {
	struct us_stack *st;
	int id;
};

static void *tcp_echo(void *arg)
{
	struct call *c = arg;
	char buf[256];
	ssize_t n;

	while ((n = us_recv(c->st, c->fd, buf, sizeof(buf), 0)) > 0)
		if (us_send(c->st, c->fd, buf, (size_t)n, 0) != n)
			break;
	us_close(c->st, c->fd);
	return NULL;
}

static void *tcp_client_main(void *arg)
{
	struct tcp_client *tc = arg;
	int fd = tcp_connect(tc->st, 8001);
	if (fd < 0)
		return (void *)1;
	for (int i = 0; i < 500 / SCALE; i++) {
		char msg[64], back[64];
		memset(msg, 'a' + tc->id, sizeof(msg));
		memcpy(msg, &i, sizeof(i));
		if (us_send(tc->st, fd, msg, sizeof(msg), 0) != sizeof(msg))
			return (void *)2;
		if (us_recv(tc->st, fd, back, sizeof(back), MSG_WAITALL) !=
		    sizeof(back))
			return (void *)3;
		if (memcmp(msg, back, sizeof(msg)))
			return (void *)4;
	}
	us_close(tc->st, fd);
	return NULL;
}

static void test_tcp_hammer(void **state)
{
	struct solo *so = start();
	struct us_stack *st = so->st;
	struct call srv[NCLIENTS];
	struct tcp_client cl[NCLIENTS];
	pthread_t sth[NCLIENTS], cth[NCLIENTS];
	void *ret;
	(void)state;

	if (!solo_have_tcp(st)) {
		finish(so);
		skip();
	}
	int l = tcp_listener(st, 8001);
	uint64_t t0 = solo_mono_ms();
	for (int i = 0; i < NCLIENTS; i++) {
		cl[i] = (struct tcp_client){st, i};
		assert_int_equal(
		    pthread_create(&cth[i], NULL, tcp_client_main, &cl[i]), 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		srv[i] = (struct call){.st = st};
		srv[i].fd = us_accept(st, l, NULL, NULL);
		assert_true(srv[i].fd >= 0);
		assert_int_equal(
		    pthread_create(&sth[i], NULL, tcp_echo, &srv[i]), 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(cth[i], &ret);
		assert_null(ret);
	}
	for (int i = 0; i < NCLIENTS; i++)
		pthread_join(sth[i], NULL);
	print_message("%d TCP clients x %d exchanges in %llu ms\n", NCLIENTS,
		      500 / SCALE, (unsigned long long)(solo_mono_ms() - t0));
	us_close(st, l);
	finish(so);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode_switch),
	    cmocka_unit_test(test_recv_blocks_and_wakes),
	    cmocka_unit_test(test_timeouts),
	    cmocka_unit_test(test_close_and_shutdown_wake),
	    cmocka_unit_test(test_epoll_wait_threaded),
	    cmocka_unit_test(test_hammer_udp),
	    cmocka_unit_test(test_tcp_accept_connect_send_recv),
	    cmocka_unit_test(test_tcp_reset_and_timeouts),
	    cmocka_unit_test(test_tcp_hammer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
