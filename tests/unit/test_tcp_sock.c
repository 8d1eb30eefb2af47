/* SOCK_STREAM sockets through the public API, with the errno values
 * POSIX programs expect. One stack on a virtual clock talks to itself
 * (its own address is looped back), so a blocking call, which drives only
 * its own stack, still sees both ends progress. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/tcp.h> /* TCP_NODELAY; netinet/tcp.h's state names clash */

#include "core/clock.h"
#include "dev/dev.h"
#include "ustack.h"

#define IP "10.0.0.2"
#define PORT 7000

struct fx {
	struct us_vclock clk;
	struct us_stack *st;
	struct us_dev *peer; /* the pipe's other end, unused */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct us_dev *d;
	struct us_config c;

	if (!f || us_pipe_create(&d, &f->peer) < 0)
		return -1;
	f->clk.now_ns = 1000000000000ull;
	us_config_init(&c);
	c.dev = d;
	inet_pton(AF_INET, IP, &c.ip);
	c.prefix_len = 24;
	c.clock_now = vclock_now;
	c.clock_arg = &f->clk;
	c.seed = 7;
	c.no_garp = 1;
	c.log_level = US_LOG_ERROR;
	f->st = us_stack_create(&c);
	if (!f->st)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct us_dev *peer = f->peer;
	us_stack_destroy(f->st);
	/* The unused end was never given to a stack: close it by hand. */
	peer->ops->close(peer);
	free(f);
	return 0;
}

static struct sockaddr_in sin_of(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, IP, &a.sin_addr);
	return a;
}

#define SA(x) ((struct sockaddr *)(x))

static int listener(struct us_stack *st, uint16_t port)
{
	struct sockaddr_in a = sin_of(port);
	int fd = us_socket(st, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(us_bind(st, fd, SA(&a), sizeof(a)), 0);
	assert_int_equal(us_listen(st, fd, 16), 0);
	return fd;
}

/* A connected pair: *c the client, *s the accepted server end. */
static void pair(struct us_stack *st, int lfd, int *c, int *s)
{
	struct sockaddr_in a = sin_of(PORT), peer;
	socklen_t len = sizeof(peer);

	*c = us_socket(st, AF_INET, SOCK_STREAM, 0);
	assert_true(*c >= 0);
	assert_int_equal(us_connect(st, *c, SA(&a), sizeof(a)), 0);
	*s = us_accept(st, lfd, SA(&peer), &len);
	assert_true(*s >= 0);
	assert_int_equal(len, sizeof(peer));
	assert_int_equal(peer.sin_family, AF_INET);
}

static void test_connect_accept_names(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	int c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	assert_int_equal(us_getsockname(f->st, c, SA(&a), &la), 0);
	assert_int_equal(us_getpeername(f->st, s, SA(&b), &lb), 0);
	assert_int_equal(a.sin_port, b.sin_port);
	assert_true(ntohs(a.sin_port) >= 32768);
	assert_int_equal(us_getpeername(f->st, c, SA(&b), &lb), 0);
	assert_int_equal(ntohs(b.sin_port), PORT);
	/* A listener has no peer. */
	assert_int_equal(us_getpeername(f->st, l, SA(&b), &lb), -1);
	assert_int_equal(errno, ENOTCONN);
	/* Connected already. */
	struct sockaddr_in to = sin_of(PORT);
	assert_int_equal(us_connect(f->st, c, SA(&to), sizeof(to)), -1);
	assert_int_equal(errno, EISCONN);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

static void test_send_recv_peek_dontwait(void **state)
{
	struct fx *f = *state;
	char buf[64];
	int c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	assert_int_equal(us_recv(f->st, s, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(us_send(f->st, c, "hello", 5, 0), 5);
	/* Blocking: waits until the looped-back data arrives. */
	assert_int_equal(us_recv(f->st, s, buf, 3, MSG_PEEK), 3);
	assert_memory_equal(buf, "hel", 3);
	assert_int_equal(us_recv(f->st, s, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = sin_of(PORT + 1);
	int err;
	socklen_t len = sizeof(err);

	int c = us_socket(f->st, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	us_close(f->st, c);

	/* Non-blocking: EINPROGRESS, then the answer in SO_ERROR. */
	c = us_socket(f->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EINPROGRESS);
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EALREADY);
	for (int i = 0; i < 5; i++)
		us_stack_poll(f->st, 0);
	assert_int_equal(
	    us_getsockopt(f->st, c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ECONNREFUSED);
	us_close(f->st, c);
}

static void test_nonblocking_connect_and_accept(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = sin_of(PORT);
	int l = listener(f->st, PORT), err;
	socklen_t len = sizeof(err);

	assert_int_equal(us_fcntl(f->st, l, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(us_accept(f->st, l, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	int c = us_socket(f->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EINPROGRESS);
	for (int i = 0; i < 5; i++)
		us_stack_poll(f->st, 0);
	assert_int_equal(
	    us_getsockopt(f->st, c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	/* As Linux: success once, then EISCONN. */
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), 0);
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EISCONN);
	int s = us_accept(f->st, l, NULL, NULL);
	assert_true(s >= 0);
	/* The accepted socket does not inherit O_NONBLOCK (as Linux). */
	assert_int_equal(us_fcntl(f->st, s, F_GETFL) & O_NONBLOCK, 0);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

static void test_shutdown_eof_and_epipe(void **state)
{
	struct fx *f = *state;
	char buf[8];
	int c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	assert_int_equal(us_shutdown(f->st, c, SHUT_WR), 0);
	assert_int_equal(us_recv(f->st, s, buf, sizeof(buf), 0), 0);
	assert_int_equal(us_send(f->st, c, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	/* The other direction still works (half-close). */
	assert_int_equal(us_send(f->st, s, "back", 4, 0), 4);
	assert_int_equal(us_recv(f->st, c, buf, sizeof(buf), 0), 4);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

static void test_linger_zero_resets_peer(void **state)
{
	struct fx *f = *state;
	struct linger lg = {1, 0};
	char buf[8];
	int c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	assert_int_equal(
	    us_setsockopt(f->st, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	us_close(f->st, c);
	assert_int_equal(us_recv(f->st, s, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(us_recv(f->st, s, buf, sizeof(buf), 0), 0);
	assert_int_equal(us_send(f->st, s, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	us_close(f->st, s);
	us_close(f->st, l);
}

static void test_bind_errors(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = sin_of(PORT);
	int one = 1;
	int l = listener(f->st, PORT);

	int x = us_socket(f->st, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_bind(f->st, x, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EADDRINUSE);
	/* Even with SO_REUSEADDR: the port has a listener. */
	us_setsockopt(f->st, x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(us_bind(f->st, x, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EADDRINUSE);
	struct sockaddr_in b = sin_of(PORT + 5);
	assert_int_equal(us_bind(f->st, x, SA(&b), sizeof(b)), 0);
	assert_int_equal(us_bind(f->st, x, SA(&b), sizeof(b)), -1);
	assert_int_equal(errno, EINVAL);
	struct sockaddr_in other = b;
	inet_pton(AF_INET, "10.0.0.99", &other.sin_addr);
	int y = us_socket(f->st, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_bind(f->st, y, SA(&other), sizeof(other)), -1);
	assert_int_equal(errno, EADDRNOTAVAIL);
	us_close(f->st, x);
	us_close(f->st, y);
	us_close(f->st, l);
	assert_int_equal(us_close(f->st, l), -1);
	assert_int_equal(errno, EBADF);
}

/* A server restarts while its old connections sit in TIME_WAIT:
 * SO_REUSEADDR lets it bind again, as on Linux. */
static void test_reuseaddr_over_timewait(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = sin_of(PORT);
	char buf[4];
	int one = 1, c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	us_close(f->st, s); /* the server closes first: TIME_WAIT there */
	assert_int_equal(us_recv(f->st, c, buf, sizeof(buf), 0), 0);
	us_close(f->st, c);
	us_close(f->st, l);
	for (int i = 0; i < 5; i++)
		us_stack_poll(f->st, 0);
	int x = us_socket(f->st, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_bind(f->st, x, SA(&a), sizeof(a)), -1);
	assert_int_equal(errno, EADDRINUSE);
	us_setsockopt(f->st, x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(us_bind(f->st, x, SA(&a), sizeof(a)), 0);
	assert_int_equal(us_listen(f->st, x, 4), 0);
	us_close(f->st, x);
}

static void test_not_connected(void **state)
{
	struct fx *f = *state;
	char buf[4];
	int x = us_socket(f->st, AF_INET, SOCK_STREAM, 0);

	assert_int_equal(us_send(f->st, x, "a", 1, 0), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(us_recv(f->st, x, buf, 1, 0), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(us_shutdown(f->st, x, SHUT_WR), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(us_accept(f->st, x, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	us_close(f->st, x);
}

static void test_options(void **state)
{
	struct fx *f = *state;
	int v, one = 1;
	socklen_t len = sizeof(v);
	int x = us_socket(f->st, AF_INET, SOCK_STREAM, 0);

	assert_int_equal(
	    us_getsockopt(f->st, x, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	assert_int_equal(v, 0);
	us_setsockopt(f->st, x, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	us_getsockopt(f->st, x, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	assert_int_equal(v, 1);
	us_getsockopt(f->st, x, IPPROTO_TCP, TCP_MAXSEG, &v, &len);
	assert_int_equal(v, 536);
	v = 1000;
	assert_int_equal(
	    us_setsockopt(f->st, x, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), 0);
	v = 10;
	assert_int_equal(
	    us_setsockopt(f->st, x, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)),
	    -1);
	assert_int_equal(errno, EINVAL);
	v = 100000;
	us_setsockopt(f->st, x, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	us_getsockopt(f->st, x, SOL_SOCKET, SO_RCVBUF, &v, &len);
	assert_int_equal(v, 200000); /* doubled, as Linux */
	struct linger lg = {1, 5};
	len = sizeof(lg);
	us_setsockopt(f->st, x, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	memset(&lg, 0, sizeof(lg));
	us_getsockopt(f->st, x, SOL_SOCKET, SO_LINGER, &lg, &len);
	assert_int_equal(lg.l_onoff, 1);
	assert_int_equal(lg.l_linger, 5);
	len = sizeof(v);
	assert_int_equal(us_getsockopt(f->st, x, IPPROTO_TCP, 12345, &v, &len),
			 -1);
	assert_int_equal(errno, ENOPROTOOPT);
	us_close(f->st, x);
}

/* The MSS option of the connection follows TCP_MAXSEG. */
static void test_maxseg_limits_segments(void **state)
{
	struct fx *f = *state;
	static char big[5000], got[5000];
	int v = 600, c, s, l = listener(f->st, PORT);
	socklen_t len = sizeof(v);

	us_setsockopt(f->st, l, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v));
	pair(f->st, l, &c, &s);
	us_getsockopt(f->st, c, IPPROTO_TCP, TCP_MAXSEG, &v, &len);
	/* Both ends use timestamps (RFC 7323): 12 bytes of every segment
	 * go to the option, and TCP_MAXSEG reports the payload, as Linux. */
	assert_int_equal(v, 600 - 12);
	memset(big, 'q', sizeof(big));
	assert_int_equal(us_send(f->st, c, big, sizeof(big), 0), 5000);
	size_t n = 0;
	while (n < sizeof(got)) {
		ssize_t r = us_recv(f->st, s, got + n, sizeof(got) - n, 0);
		assert_true(r > 0);
		n += (size_t)r;
	}
	assert_memory_equal(got, big, sizeof(big));
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

/* SO_RCVTIMEO: a blocking recv gives up with EAGAIN (virtual time). */
static void test_recv_timeout(void **state)
{
	struct fx *f = *state;
	struct timeval tv = {0, 250000};
	char buf[4];
	int c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	us_setsockopt(f->st, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint64_t t0 = us_stack_now(f->st);
	assert_int_equal(us_recv(f->st, s, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(us_stack_now(f->st) - t0 >= 250000000ull);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

/* A megabyte each way through non-blocking sockets, bytes intact. */
static void test_bulk_nonblocking(void **state)
{
	struct fx *f = *state;
	enum { N = 1 << 20 };
	static uint8_t out[N], in[N];
	int c, s, l = listener(f->st, PORT);

	pair(f->st, l, &c, &s);
	us_fcntl(f->st, c, F_SETFL, O_NONBLOCK);
	us_fcntl(f->st, s, F_SETFL, O_NONBLOCK);
	for (uint32_t i = 0; i < N; i++)
		out[i] = (uint8_t)(i * 2654435761u >> 13);
	size_t sent = 0, got = 0;
	for (int turns = 0; got < N && turns < 100000; turns++) {
		if (sent < N) {
			ssize_t r = us_send(f->st, c, out + sent, N - sent, 0);
			if (r > 0)
				sent += (size_t)r;
			else
				assert_int_equal(errno, EAGAIN);
		}
		ssize_t r = us_recv(f->st, s, in + got, N - got, 0);
		if (r > 0)
			got += (size_t)r;
		us_stack_poll(f->st, 0);
	}
	assert_int_equal(got, N);
	assert_memory_equal(in, out, N);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

static void test_poll_events(void **state)
{
	struct fx *f = *state;
	int c, s, l = listener(f->st, PORT);
	int ep = us_epoll_create(f->st);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l}, out[4];

	assert_true(ep >= 0);
	assert_int_equal(us_epoll_ctl(f->st, ep, EPOLL_CTL_ADD, l, &ev), 0);
	assert_int_equal(us_epoll_wait(f->st, ep, out, 4, 0), 0);
	c = us_socket(f->st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin_of(PORT);
	assert_int_equal(us_connect(f->st, c, SA(&a), sizeof(a)), 0);
	assert_int_equal(us_epoll_wait(f->st, ep, out, 4, 0), 1);
	assert_int_equal(out[0].data.fd, l);
	s = us_accept(f->st, l, NULL, NULL);
	assert_true(s >= 0);
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.fd = s;
	assert_int_equal(us_epoll_ctl(f->st, ep, EPOLL_CTL_ADD, s, &ev), 0);
	us_shutdown(f->st, c, SHUT_WR);
	int n = us_epoll_wait(f->st, ep, out, 4, 100);
	assert_true(n >= 1);
	bool seen = false;
	for (int i = 0; i < n; i++)
		if (out[i].data.fd == s)
			seen = (out[i].events & (EPOLLIN | EPOLLRDHUP)) ==
			       (EPOLLIN | EPOLLRDHUP);
	assert_true(seen);
	us_close(f->st, ep);
	us_close(f->st, c);
	us_close(f->st, s);
	us_close(f->st, l);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_connect_accept_names),
	    T(test_send_recv_peek_dontwait),
	    T(test_refused),
	    T(test_nonblocking_connect_and_accept),
	    T(test_shutdown_eof_and_epipe),
	    T(test_linger_zero_resets_peer),
	    T(test_bind_errors),
	    T(test_reuseaddr_over_timewait),
	    T(test_not_connected),
	    T(test_options),
	    T(test_maxseg_limits_segments),
	    T(test_recv_timeout),
	    T(test_bulk_nonblocking),
	    T(test_poll_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
