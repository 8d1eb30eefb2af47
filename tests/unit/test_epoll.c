/* The event API: Linux's epoll semantics on ustack descriptors (level and
 * edge triggering, one-shot, the events always reported, data untouched,
 * errors), nesting, many sockets, kernel descriptors in the same wait,
 * us_stack_fd inside the kernel's own epoll, timers firing while
 * us_epoll_wait sleeps. Semantics run on two stacks on a virtual clock
 * (sim.h); the sleeping paths on a stack of its own on the real clock
 * (solo.h). TCP cases skip while SOCK_STREAM is refused. */
#define _GNU_SOURCE /* pipe2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "sim/sim.h"
#include "solo.h"

#define PORT_A 5000
#define PORT_B 6000
#define DATA 0xfeedface0badf00dull

#define ERRNO(call, e)                                                         \
	do {                                                                   \
		errno = 0;                                                     \
		assert_int_equal((call), -1);                                  \
		assert_int_equal(errno, (e));                                  \
	} while (0)

static struct sim *sim_new(void)
{
	struct sim *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	assert_int_equal(sim_init(s, NULL), 0);
	return s;
}

static void sim_free(struct sim *s)
{
	sim_fini(s);
	free(s);
}

static void add(struct us_stack *st, int ep, int fd, uint32_t events,
		uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev), 0);
}

static void mod(struct us_stack *st, int ep, int fd, uint32_t events,
		uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_MOD, fd, &ev), 0);
}

/* Send n datagrams A -> B:PORT_B and let the link carry them. */
static void deliver(struct sim *s, int fa, int n)
{
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B);
	for (int i = 0; i < n; i++)
		assert_int_equal(us_sendto(s->a, fa, "x", 1, 0,
					   (struct sockaddr *)&to, sizeof(to)),
				 1);
	sim_run(s, 50 * SIM_MS);
}

static int wait0(struct us_stack *st, int ep, struct epoll_event *evs, int max)
{
	int n = us_epoll_wait(st, ep, evs, max, 0);
	assert_true(n >= 0);
	return n;
}

static void test_ctl_errors(void **state)
{
	struct sim *s = sim_new();
	struct us_stack *st = s->b;
	struct epoll_event ev = {.events = EPOLLIN}, evs[4];
	int ep = us_epoll_create(st), fd = sim_udp(st, PORT_B, false);
	int ep2 = us_epoll_create(st);
	struct sockaddr_in sin = sim_sin("0.0.0.0", 7);
	(void)state;

	assert_true(ep >= 0 && ep2 >= 0 && ep != ep2);
	ERRNO(us_epoll_ctl(st, 999, EPOLL_CTL_ADD, fd, &ev), EBADF);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, -1, &ev), EBADF);
	ERRNO(us_epoll_ctl(st, fd, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	ERRNO(us_epoll_ctl(st, ep, 42, fd, &ev), EINVAL);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, NULL), EFAULT);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_MOD, fd, &ev), ENOENT);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_DEL, fd, NULL), ENOENT);
	/* Linux: EPOLLEXCLUSIVE only on ADD, only with in/out/err/hup/et,
	 * and never on an epoll instance. */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev), EINVAL);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, ep2, &ev), EINVAL);
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev), 0);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_MOD, fd, &ev), EINVAL);
	ev.events = EPOLLIN;
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev), EEXIST);
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_DEL, fd, NULL), 0);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_DEL, fd, NULL), ENOENT);

	ERRNO(us_epoll_wait(st, 999, evs, 4, 0), EBADF);
	ERRNO(us_epoll_wait(st, fd, evs, 4, 0), EINVAL);
	ERRNO(us_epoll_wait(st, ep, evs, 0, 0), EINVAL);
	ERRNO(us_epoll_wait(st, ep, evs, -1, 0), EINVAL);
	ERRNO(us_epoll_wait(st, ep, NULL, 4, 0), EFAULT);
	/* An epoll descriptor is not a socket. */
	ERRNO(us_bind(st, ep, (struct sockaddr *)&sin, sizeof(sin)), ENOTSOCK);
	ERRNO(us_send(st, ep, "x", 1, 0), ENOTSOCK);
	assert_int_equal(us_close(st, ep2), 0);
	assert_int_equal(us_close(st, ep), 0);
	ERRNO(us_epoll_wait(st, ep, evs, 4, 0), EBADF);
	us_close(st, fd);
	sim_free(s);
}

static void test_level_triggered(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	int ep = us_epoll_create(s->b);
	struct epoll_event evs[4];
	char b;
	(void)state;

	add(s->b, ep, fb, EPOLLIN, DATA);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	deliver(s, fa, 2);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(wait0(s->b, ep, evs, 4), 1);
		assert_int_equal(evs[0].events, EPOLLIN);
		assert_true(evs[0].data.u64 == DATA);
	}
	assert_int_equal(us_recv(s->b, fb, &b, 1, 0), 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1); /* one still queued */
	assert_int_equal(us_recv(s->b, fb, &b, 1, 0), 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	sim_free(s);
}

static void test_edge_triggered(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	int ep = us_epoll_create(s->b);
	struct epoll_event evs[4];
	char b;
	(void)state;

	add(s->b, ep, fb, EPOLLIN | EPOLLET, DATA);
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_int_equal(evs[0].events, EPOLLIN);
	/* Still readable, but no new edge. */
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	/* A new datagram is a new edge, though the first was never read. */
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	assert_int_equal(us_recv(s->b, fb, &b, 1, 0), 1);
	assert_int_equal(us_recv(s->b, fb, &b, 1, 0), 1);
	/* EPOLLOUT edge-triggered: reported when added (writable), once. */
	mod(s->b, ep, fb, EPOLLOUT | EPOLLET, 7);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_int_equal(evs[0].events, EPOLLOUT);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	/* ...while level-triggered it is reported every time. */
	mod(s->b, ep, fb, EPOLLOUT, 7);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	sim_free(s);
}

static void test_oneshot(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	int ep = us_epoll_create(s->b);
	struct epoll_event evs[4];
	(void)state;

	add(s->b, ep, fb, EPOLLIN | EPOLLONESHOT, 1);
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_true(evs[0].data.u64 == 1);
	/* Disarmed: neither the pending datagram nor a new one reports. */
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	/* MOD re-arms (with new data); what is pending is reported. */
	mod(s->b, ep, fb, EPOLLIN | EPOLLONESHOT, 2);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_true(evs[0].data.u64 == 2);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	/* A disarmed entry still exists: ADD is EEXIST, DEL works. */
	struct epoll_event ev = {.events = EPOLLIN};
	ERRNO(us_epoll_ctl(s->b, ep, EPOLL_CTL_ADD, fb, &ev), EEXIST);
	assert_int_equal(us_epoll_ctl(s->b, ep, EPOLL_CTL_DEL, fb, NULL), 0);
	sim_free(s);
}

/* EPOLLHUP and EPOLLERR come even when not asked for; RDHUP when asked. */
static void test_hup_err_always(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	int ep = us_epoll_create(s->b), epa = us_epoll_create(s->a);
	struct sockaddr_in closed = sim_sin(SIM_IP_B, 9999);
	struct epoll_event evs[4];
	(void)state;

	add(s->b, ep, fb, 0, 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 0);
	assert_int_equal(us_shutdown(s->b, fb, SHUT_RD), -1); /* unconnected */
	assert_int_equal(wait0(s->b, ep, evs, 4), 0); /* RDHUP not asked */
	mod(s->b, ep, fb, EPOLLRDHUP, 1);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_int_equal(evs[0].events, EPOLLRDHUP);
	mod(s->b, ep, fb, 0, 1);
	us_shutdown(s->b, fb, SHUT_RDWR);
	assert_int_equal(wait0(s->b, ep, evs, 4), 1);
	assert_int_equal(evs[0].events, EPOLLHUP);

	/* A connected socket told "port unreachable" by ICMP: EPOLLERR. */
	assert_int_equal(
	    us_connect(s->a, fa, (struct sockaddr *)&closed, sizeof(closed)),
	    0);
	add(s->a, epa, fa, 0, 2);
	assert_int_equal(us_send(s->a, fa, "x", 1, 0), 1);
	sim_run(s, 50 * SIM_MS);
	assert_int_equal(wait0(s->a, epa, evs, 4), 1);
	assert_int_equal(evs[0].events, EPOLLERR);
	int err = 0;
	socklen_t len = sizeof(err);
	assert_int_equal(
	    us_getsockopt(s->a, fa, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ECONNREFUSED);
	assert_int_equal(wait0(s->a, epa, evs, 4), 0);
	sim_free(s);
}

static void test_del_close_and_two_instances(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	int ep1 = us_epoll_create(s->b), ep2 = us_epoll_create(s->b);
	struct epoll_event evs[4];
	(void)state;

	/* One socket, two instances, each with its own data. */
	add(s->b, ep1, fb, EPOLLIN, 11);
	add(s->b, ep2, fb, EPOLLIN | EPOLLET, 22);
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep1, evs, 4), 1);
	assert_true(evs[0].data.u64 == 11);
	assert_int_equal(wait0(s->b, ep2, evs, 4), 1);
	assert_true(evs[0].data.u64 == 22);
	/* DEL from one leaves the other. */
	assert_int_equal(us_epoll_ctl(s->b, ep1, EPOLL_CTL_DEL, fb, NULL), 0);
	assert_int_equal(wait0(s->b, ep1, evs, 4), 0);
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep2, evs, 4), 1);
	/* Closing the socket removes it from every instance (Linux does on
	 * the last close): a new socket in its descriptor is not watched. */
	add(s->b, ep1, fb, EPOLLIN, 11);
	assert_int_equal(us_close(s->b, fb), 0);
	assert_int_equal(wait0(s->b, ep1, evs, 4), 0);
	assert_int_equal(wait0(s->b, ep2, evs, 4), 0);
	fb = sim_udp(s->b, PORT_B, false);
	deliver(s, fa, 1);
	assert_int_equal(wait0(s->b, ep1, evs, 4), 0);
	add(s->b, ep1, fb, EPOLLIN, 33);
	assert_int_equal(wait0(s->b, ep1, evs, 4), 1);
	assert_true(evs[0].data.u64 == 33);
	/* Closing an instance leaves its sockets working. */
	assert_int_equal(us_close(s->b, ep1), 0);
	char b;
	assert_int_equal(us_recv(s->b, fb, &b, 1, 0), 1);
	sim_free(s); /* sockets still watched by ep2 are torn down too */
}

static void test_nested(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	struct us_stack *st = s->b;
	int inner = us_epoll_create(st), outer = us_epoll_create(st);
	struct epoll_event evs[4], ev = {.events = EPOLLIN};
	int chain[7];
	char b;
	(void)state;

	add(st, inner, fb, EPOLLIN, 1);
	add(st, outer, inner, EPOLLIN, 2);
	assert_int_equal(wait0(st, outer, evs, 4), 0);
	deliver(s, fa, 1);
	assert_int_equal(wait0(st, outer, evs, 4), 1);
	assert_true(evs[0].data.u64 == 2);
	assert_int_equal(evs[0].events, EPOLLIN);
	assert_int_equal(wait0(st, inner, evs, 4), 1);
	assert_true(evs[0].data.u64 == 1);
	assert_int_equal(us_recv(st, fb, &b, 1, 0), 1);
	assert_int_equal(wait0(st, outer, evs, 4), 0);
	/* A cycle is ELOOP. */
	ERRNO(us_epoll_ctl(st, inner, EPOLL_CTL_ADD, outer, &ev), ELOOP);
	/* So is a chain longer than Linux's five levels. */
	for (int i = 0; i < 7; i++)
		chain[i] = us_epoll_create(st);
	for (int i = 0; i < 4; i++)
		assert_int_equal(us_epoll_ctl(st, chain[i], EPOLL_CTL_ADD,
					      chain[i + 1], &ev),
				 0);
	ERRNO(us_epoll_ctl(st, chain[4], EPOLL_CTL_ADD, chain[5], &ev), ELOOP);
	ERRNO(us_epoll_ctl(st, chain[5], EPOLL_CTL_ADD, chain[0], &ev), ELOOP);
	/* An instance with kernel descriptors cannot be nested, nor a
	 * nested one take them. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	ERRNO(us_epoll_ctl(st, inner, EPOLL_CTL_ADD, US_KERNEL_FD(p[0]), &ev),
	      EINVAL);
	assert_int_equal(
	    us_epoll_ctl(st, chain[6], EPOLL_CTL_ADD, US_KERNEL_FD(p[0]), &ev),
	    0);
	ERRNO(us_epoll_ctl(st, outer, EPOLL_CTL_ADD, chain[6], &ev), EINVAL);
	close(p[0]);
	close(p[1]);
	sim_free(s);
}

/* More ready than maxevents: every one comes round, none starves. */
static void test_round_robin(void **state)
{
	struct sim *s = sim_new();
	int fa = sim_udp(s->a, PORT_A, false), fb[5];
	int ep = us_epoll_create(s->b);
	struct epoll_event evs[2];
	unsigned seen = 0;
	(void)state;

	for (int i = 0; i < 5; i++) {
		fb[i] = sim_udp(s->b, (uint16_t)(PORT_B + i), false);
		add(s->b, ep, fb[i], EPOLLIN, (uint64_t)i);
		struct sockaddr_in to =
		    sim_sin(SIM_IP_B, (uint16_t)(PORT_B + i));
		us_sendto(s->a, fa, "x", 1, 0, (struct sockaddr *)&to,
			  sizeof(to));
	}
	sim_run(s, 50 * SIM_MS);
	for (int call = 0; call < 3; call++) {
		int n = wait0(s->b, ep, evs, 2);
		assert_int_equal(n, 2);
		for (int i = 0; i < n; i++)
			seen |= 1u << evs[i].data.u64;
	}
	assert_int_equal(seen, 0x1f);
	sim_free(s);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	/* CPU time of this thread: a preemption by another process on a
	 * loaded machine does not count. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Time per us_epoll_wait with one ready socket among `watched`. */
static double wait_cost(struct sim *s, int watched, int *fds)
{
	int fa = sim_udp(s->a, PORT_A, false), ep = us_epoll_create(s->b);
	struct epoll_event evs[8];
	int hot = watched / 2;

	for (int i = 0; i < watched; i++)
		add(s->b, ep, fds[i], EPOLLIN, (uint64_t)i);
	struct sockaddr_in to = sim_sin(SIM_IP_B, (uint16_t)(10000 + hot));
	us_sendto(s->a, fa, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	sim_run(s, 50 * SIM_MS);
	/* Exactly the one socket that is ready. */
	assert_int_equal(wait0(s->b, ep, evs, 8), 1);
	assert_true(evs[0].data.u64 == (uint64_t)hot);
	/* The best of five batches: cache misses and interrupts only ever
	 * add time. */
	double per = 1e18;
	for (int batch = 0; batch < 5; batch++) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < 400; i++)
			assert_int_equal(us_epoll_wait(s->b, ep, evs, 8, 0), 1);
		double b = (double)(now_ns() - t0) / 400.0;
		per = b < per ? b : per;
	}
	char b;
	us_recv(s->b, fds[hot], &b, 1, 0);
	us_close(s->b, ep);
	us_close(s->a, fa);
	return per;
}

static void test_many_sockets(void **state)
{
	enum { N = 10000 };
	struct sim *s = sim_new();
	int *fds = calloc(N, sizeof(int));
	(void)state;

	assert_non_null(fds);
	for (int i = 0; i < N; i++)
		fds[i] = sim_udp(s->b, (uint16_t)(10000 + i), false);
	double few = wait_cost(s, 10, fds);
	double many = wait_cost(s, N, fds);
	print_message("us_epoll_wait, 1 ready: %.0f ns with 10 watched, "
		      "%.0f ns with %d watched\n",
		      few, many, N);
	/* A scan of every watched socket per call would cost ~1000x. */
	assert_true(many < few * 5 + 2000);
	free(fds);
	sim_free(s);
}

/* The real clock from here on. */

static void *write_later(void *arg)
{
	int fd = *(int *)arg;
	struct timespec ts = {0, 50 * 1000000};
	nanosleep(&ts, NULL);
	assert_int_equal(write(fd, "k", 1), 1);
	return NULL;
}

static void test_kernel_fds(void **state)
{
	struct solo so;
	int p[2], ep, fd;
	struct epoll_event evs[4], ev = {.events = EPOLLIN};
	char b;
	pthread_t th;
	(void)state;

	solo_init(&so);
	struct us_stack *st = so.st;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	ep = us_epoll_create(st);
	fd = solo_udp(st, 4000, true);
	add(st, ep, US_KERNEL_FD(p[0]), EPOLLIN, 100);
	add(st, ep, fd, EPOLLIN, 200);
	/* The kernel's own rules and errors apply to its descriptors. */
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, US_KERNEL_FD(p[0]), &ev),
	      EEXIST);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_MOD, US_KERNEL_FD(p[1]), &ev),
	      ENOENT);
	ERRNO(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, US_KERNEL_FD(4000000), &ev),
	      EBADF);
	assert_int_equal(wait0(st, ep, evs, 4), 0);

	/* The pipe alone. */
	assert_int_equal(write(p[1], "a", 1), 1);
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 1000), 1);
	assert_true(evs[0].data.u64 == 100);
	assert_int_equal(evs[0].events, EPOLLIN);
	assert_int_equal(read(p[0], &b, 1), 1);

	/* The socket alone (a datagram to ourselves). */
	struct sockaddr_in self = solo_sin(SOLO_IP, 4000);
	assert_int_equal(us_sendto(st, fd, "u", 1, 0, (struct sockaddr *)&self,
				   sizeof(self)),
			 1);
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 1000), 1);
	assert_true(evs[0].data.u64 == 200);

	/* Both at once. */
	assert_int_equal(write(p[1], "a", 1), 1);
	int n = us_epoll_wait(st, ep, evs, 4, 1000);
	assert_int_equal(n, 2);
	assert_true(evs[0].data.u64 + evs[1].data.u64 == 300);
	assert_int_equal(read(p[0], &b, 1), 1);
	assert_int_equal(us_recv(st, fd, &b, 1, 0), 1);

	/* A wait with no timeout sleeps until the pipe is written. */
	uint64_t t0 = solo_mono_ms();
	assert_int_equal(pthread_create(&th, NULL, write_later, &p[1]), 0);
	n = us_epoll_wait(st, ep, evs, 4, -1);
	assert_int_equal(n, 1);
	assert_true(evs[0].data.u64 == 100);
	assert_true(solo_mono_ms() - t0 >= 40);
	pthread_join(th, NULL);
	assert_int_equal(read(p[0], &b, 1), 1);

	/* DEL of a kernel descriptor; a timeout then passes quietly. */
	assert_int_equal(
	    us_epoll_ctl(st, ep, EPOLL_CTL_DEL, US_KERNEL_FD(p[0]), NULL), 0);
	assert_int_equal(write(p[1], "a", 1), 1);
	t0 = solo_mono_ms();
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 30), 0);
	assert_true(solo_mono_ms() - t0 >= 29);
	close(p[0]);
	close(p[1]);
	solo_fini(&so);
}

/* An application whose loop is the kernel's epoll: the stack's work shows
 * up on us_stack_fd, the application then polls the stack. */
static void test_stack_fd(void **state)
{
	struct solo so;
	struct epoll_event kev = {.events = EPOLLIN}, evs[4];
	int kep, sfd, fd, ep;
	char b;
	(void)state;

	solo_init(&so);
	struct us_stack *st = so.st;
	kep = epoll_create1(EPOLL_CLOEXEC);
	sfd = us_stack_fd(st);
	assert_true(sfd >= 0);
	assert_int_equal(us_stack_fd(st), sfd); /* the same one each time */
	assert_int_equal(epoll_ctl(kep, EPOLL_CTL_ADD, sfd, &kev), 0);
	assert_int_equal(us_stack_poll(st, 0), 0);
	assert_int_equal(epoll_wait(kep, evs, 4, 0), 0); /* nothing to do */

	/* A datagram to ourselves is queued for the loop: that is work. */
	fd = solo_udp(st, 4001, true);
	struct sockaddr_in self = solo_sin(SOLO_IP, 4001);
	assert_int_equal(us_sendto(st, fd, "hi", 2, 0, (struct sockaddr *)&self,
				   sizeof(self)),
			 2);
	assert_int_equal(epoll_wait(kep, evs, 4, 1000), 1);
	ERRNO(us_recv(st, fd, &b, 1, 0), EAGAIN); /* not delivered yet */
	assert_int_equal(us_stack_poll(st, 0), 0);
	assert_int_equal(us_recv(st, fd, &b, 1, 0), 1);
	/* Done: not readable any more. */
	assert_int_equal(epoll_wait(kep, evs, 4, 0), 0);

	/* Timers: a datagram to a neighbour that never answers ARP fails
	 * when the retries run out; the loop only wakes when a timer is
	 * due, and learns it through a ustack epoll instance polled with
	 * timeout 0. */
	ep = us_epoll_create(st);
	add(st, ep, fd, 0, 9);
	struct sockaddr_in nobody = solo_sin(SOLO_NOBODY, 9);
	assert_int_equal(us_sendto(st, fd, "x", 1, 0,
				   (struct sockaddr *)&nobody, sizeof(nobody)),
			 1);
	uint64_t t0 = solo_mono_ms();
	int wakeups = 0, n = 0;
	while (n == 0 && solo_mono_ms() - t0 < 3000) {
		assert_true(epoll_wait(kep, evs, 4, 3000) >= 0);
		wakeups++;
		n = us_epoll_wait(st, ep, evs, 4, 0);
	}
	assert_int_equal(n, 1);
	assert_int_equal(evs[0].events, EPOLLERR);
	ERRNO(us_recv(st, fd, &b, 1, 0), EHOSTUNREACH);
	/* About one wake-up per ARP retry and per check, never a spin. */
	print_message("ARP failure seen after %d wake-ups, %llu ms\n", wakeups,
		      (unsigned long long)(solo_mono_ms() - t0));
	assert_true(wakeups < 40);
	close(kep);
	solo_fini(&so);
}

/* Timers fire while us_epoll_wait(-1) sleeps: the same ARP failure, seen
 * by a wait with no timeout. */
static void test_timers_fire_in_wait(void **state)
{
	struct solo so;
	struct epoll_event evs[4];
	(void)state;

	solo_init(&so);
	struct us_stack *st = so.st;
	int fd = solo_udp(st, 4002, true), ep = us_epoll_create(st);
	add(st, ep, fd, EPOLLIN, 5);
	struct sockaddr_in nobody = solo_sin(SOLO_NOBODY, 9);
	/* The application is away from the loop for a while (its own
	 * work) after a turn; the ARP timers the send arms must still count
	 * from the send, not from that last turn. */
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 0), 0);
	struct timespec away = {0, 100 * 1000000L};
	nanosleep(&away, NULL);
	uint64_t t0 = solo_mono_ms();
	assert_int_equal(us_sendto(st, fd, "x", 1, 0,
				   (struct sockaddr *)&nobody, sizeof(nobody)),
			 1);
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, -1), 1);
	uint64_t dt = solo_mono_ms() - t0;
	assert_true(evs[0].events & EPOLLERR);
	assert_true(evs[0].data.u64 == 5);
	/* The resolution gives up after the first request and each of its
	 * retries has had its full interval, counted from the send. */
	assert_true(dt >= SOLO_ARP_RETRY_MS * (SOLO_ARP_RETRIES + 1));
	assert_true(dt < 2000);
	solo_fini(&so);
}

/* TCP through one stack's loopback, driven by us_epoll_wait itself. */
static int tcp_listener(struct us_stack *st, uint16_t port)
{
	int l = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = solo_sin(SOLO_IP, port);
	int one = 1;
	assert_true(l >= 0);
	us_setsockopt(st, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(us_bind(st, l, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	assert_int_equal(us_listen(st, l, 16), 0);
	return l;
}

/* Wait (up to 2 s) for events on fd via ep; returns them. */
static uint32_t wait_for(struct us_stack *st, int ep, uint64_t data)
{
	struct epoll_event evs[8];
	uint64_t t0 = solo_mono_ms();
	while (solo_mono_ms() - t0 < 2000) {
		int n = us_epoll_wait(st, ep, evs, 8, 100);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 == data)
				return evs[i].events;
	}
	return 0;
}

static void tcp_pair(struct us_stack *st, int l, uint16_t port, int *c, int *a)
{
	struct sockaddr_in sin = solo_sin(SOLO_IP, port);
	int ep = us_epoll_create(st);

	*c = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(*c >= 0);
	ERRNO(us_connect(st, *c, (struct sockaddr *)&sin, sizeof(sin)),
	      EINPROGRESS);
	/* The listener is readable once its accept queue holds the
	 * connection; the connecting socket writable once established. */
	add(st, ep, l, EPOLLIN, 1);
	add(st, ep, *c, EPOLLOUT, 2);
	assert_true(wait_for(st, ep, 1) & EPOLLIN);
	*a = us_accept(st, l, NULL, NULL);
	assert_true(*a >= 0);
	assert_true(wait_for(st, ep, 2) & EPOLLOUT);
	/* Empty accept queue: the listener is not readable any more. */
	struct epoll_event evs[4];
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_DEL, *c, NULL), 0);
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 0), 0);
	us_close(st, ep);
}

static void test_tcp_listener_and_half_close(void **state)
{
	struct solo so;
	int l, c, a;
	char buf[8];
	(void)state;

	solo_init(&so);
	struct us_stack *st = so.st;
	if (!solo_have_tcp(st)) {
		solo_fini(&so);
		skip();
	}
	l = tcp_listener(st, 8080);
	tcp_pair(st, l, 8080, &c, &a);
	int ep = us_epoll_create(st);
	add(st, ep, a, EPOLLIN | EPOLLRDHUP, 3);
	/* Half-close: the peer's FIN is EPOLLIN | EPOLLRDHUP, no HUP. */
	assert_int_equal(us_send(st, c, "abc", 3, 0), 3);
	assert_int_equal(us_shutdown(st, c, SHUT_WR), 0);
	uint32_t ev = 0;
	for (int i = 0; i < 20 && !(ev & EPOLLRDHUP); i++)
		ev = wait_for(st, ep, 3);
	assert_true(ev & EPOLLIN);
	assert_true(ev & EPOLLRDHUP);
	assert_false(ev & EPOLLHUP);
	assert_int_equal(us_recv(st, a, buf, sizeof(buf), 0), 3);
	assert_int_equal(us_recv(st, a, buf, sizeof(buf), 0), 0);
	/* Both directions shut: EPOLLHUP, reported without being asked. */
	mod(st, ep, a, 0, 4);
	assert_int_equal(us_shutdown(st, a, SHUT_WR), 0);
	ev = wait_for(st, ep, 4);
	assert_true(ev & EPOLLHUP);
	us_close(st, a);
	us_close(st, c);
	us_close(st, l);
	solo_fini(&so);
}

static void test_tcp_reset(void **state)
{
	struct solo so;
	int l, c, a;
	char buf[8];
	(void)state;

	solo_init(&so);
	struct us_stack *st = so.st;
	if (!solo_have_tcp(st)) {
		solo_fini(&so);
		skip();
	}
	l = tcp_listener(st, 8081);
	tcp_pair(st, l, 8081, &c, &a);
	int ep = us_epoll_create(st);
	add(st, ep, a, 0, 5); /* ERR and HUP only: never asked for */
	struct linger lg = {1, 0};
	assert_int_equal(
	    us_setsockopt(st, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(us_close(st, c), 0); /* abortive: RST */
	uint32_t ev = wait_for(st, ep, 5);
	assert_true(ev & EPOLLERR);
	assert_true(ev & EPOLLHUP);
	ERRNO(us_recv(st, a, buf, sizeof(buf), 0), ECONNRESET);
	us_close(st, a);
	us_close(st, l);

	/* A non-blocking connect refused (RST to our SYN): an event loop
	 * sees EPOLLERR and EPOLLHUP and reads the reason from SO_ERROR. */
	c = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	struct sockaddr_in none = solo_sin(SOLO_IP, 8999);
	ERRNO(us_connect(st, c, (struct sockaddr *)&none, sizeof(none)),
	      EINPROGRESS);
	add(st, ep, c, EPOLLOUT, 6);
	ev = wait_for(st, ep, 6);
	assert_true(ev & EPOLLERR);
	assert_true(ev & EPOLLHUP);
	int err = 0;
	socklen_t len = sizeof(err);
	assert_int_equal(us_getsockopt(st, c, SOL_SOCKET, SO_ERROR, &err, &len),
			 0);
	assert_int_equal(err, ECONNREFUSED);
	us_close(st, c);
	us_close(st, ep);
	solo_fini(&so);
}

/* Edge-triggered TCP, the way an ET server uses it: each arrival of data
 * is one edge (read or not); writing until EAGAIN and then waiting gets
 * one EPOLLOUT edge once the peer has made room. One-shot on a listener:
 * one report per re-arm however many connections queue. */
static void test_tcp_edge_triggered(void **state)
{
	struct solo so;
	int l, c, a;
	struct epoll_event evs[8];
	(void)state;

	solo_init(&so);
	struct us_stack *st = so.st;
	if (!solo_have_tcp(st)) {
		solo_fini(&so);
		skip();
	}
	l = tcp_listener(st, 8082);
	tcp_pair(st, l, 8082, &c, &a);
	int ep = us_epoll_create(st);
	add(st, ep, a, EPOLLIN | EPOLLOUT | EPOLLET, 6);
	assert_int_equal(wait_for(st, ep, 6), EPOLLOUT); /* writable on ADD */
	assert_int_equal(us_epoll_wait(st, ep, evs, 8, 20), 0);

	assert_int_equal(us_send(st, c, "abc", 3, 0), 3);
	assert_true(wait_for(st, ep, 6) & EPOLLIN);
	assert_int_equal(us_epoll_wait(st, ep, evs, 8, 20), 0); /* no edge */
	assert_int_equal(us_send(st, c, "de", 2, 0), 2);
	assert_true(wait_for(st, ep, 6) & EPOLLIN); /* unread, a new edge */
	char buf[8];
	assert_int_equal(us_recv(st, a, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "abcde", 5);

	/* Fill a's buffers (c reads nothing): EAGAIN, and no EPOLLOUT. */
	static char big[65536];
	size_t sent = 0;
	for (int i = 0; i < 10000; i++) {
		ssize_t n = us_send(st, a, big, sizeof(big), MSG_DONTWAIT);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		sent += (size_t)n;
		us_epoll_wait(st, ep, evs, 8, 0); /* let it flow */
	}
	assert_true(sent > 0);
	ERRNO(us_send(st, a, big, sizeof(big), MSG_DONTWAIT), EAGAIN);
	int n = us_epoll_wait(st, ep, evs, 8, 20);
	assert_true(n == 0 || !(evs[0].events & EPOLLOUT));
	/* The peer drains it all: one EPOLLOUT edge. */
	size_t got = 0;
	uint32_t seen = 0;
	uint64_t t0 = solo_mono_ms();
	while ((got < sent || !(seen & EPOLLOUT)) &&
	       solo_mono_ms() - t0 < 5000) {
		ssize_t k = us_recv(st, c, big, sizeof(big), MSG_DONTWAIT);
		if (k > 0)
			got += (size_t)k;
		else
			assert_int_equal(errno, EAGAIN);
		n = us_epoll_wait(st, ep, evs, 8, 1);
		for (int i = 0; i < n; i++)
			seen |= evs[i].events;
	}
	assert_int_equal(got, sent);
	assert_true(seen & EPOLLOUT);
	us_close(st, ep);

	/* EPOLLONESHOT on the listener: two connections queue, one report
	 * until MOD re-arms it, then the next. */
	ep = us_epoll_create(st);
	add(st, ep, l, EPOLLIN | EPOLLONESHOT, 7);
	int c2 = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int c3 = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = solo_sin(SOLO_IP, 8082);
	ERRNO(us_connect(st, c2, (struct sockaddr *)&sin, sizeof(sin)),
	      EINPROGRESS);
	ERRNO(us_connect(st, c3, (struct sockaddr *)&sin, sizeof(sin)),
	      EINPROGRESS);
	assert_int_equal(wait_for(st, ep, 7), EPOLLIN);
	assert_int_equal(us_epoll_wait(st, ep, evs, 8, 20), 0);
	int a2 = us_accept(st, l, NULL, NULL);
	assert_true(a2 >= 0);
	mod(st, ep, l, EPOLLIN | EPOLLONESHOT, 8);
	assert_int_equal(wait_for(st, ep, 8), EPOLLIN);
	int a3 = us_accept(st, l, NULL, NULL);
	assert_true(a3 >= 0);
	mod(st, ep, l, EPOLLIN | EPOLLONESHOT, 9);
	assert_int_equal(us_epoll_wait(st, ep, evs, 8, 20), 0); /* empty */
	us_close(st, a2);
	us_close(st, a3);
	us_close(st, c2);
	us_close(st, c3);
	us_close(st, ep);
	us_close(st, a);
	us_close(st, c);
	us_close(st, l);
	solo_fini(&so);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctl_errors),
	    cmocka_unit_test(test_level_triggered),
	    cmocka_unit_test(test_edge_triggered),
	    cmocka_unit_test(test_oneshot),
	    cmocka_unit_test(test_hup_err_always),
	    cmocka_unit_test(test_del_close_and_two_instances),
	    cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_round_robin),
	    cmocka_unit_test(test_many_sockets),
	    cmocka_unit_test(test_kernel_fds),
	    cmocka_unit_test(test_stack_fd),
	    cmocka_unit_test(test_timers_fire_in_wait),
	    cmocka_unit_test(test_tcp_listener_and_half_close),
	    cmocka_unit_test(test_tcp_reset),
	    cmocka_unit_test(test_tcp_edge_triggered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
