/* An idle stack sleeps: us_epoll_wait(-1) on a stack with nothing to do
 * uses under 1% of a core over 2 s (getrusage), in run-to-completion mode
 * and in threaded mode (where the stack thread sleeps too). The wait is
 * ended by a kernel timerfd in the same epoll instance. The stack runs on
 * a TAP device in a network namespace of the test's own when the test may
 * make one (root), so the sleep is on a real device descriptor; otherwise
 * on a pipe. Idle is not timer-free: a datagram to a neighbour that never
 * answers ARP is sent as the measurement starts, and the resolution's
 * retry timers must fire inside the window (EPOLLERR on its socket) while
 * the stack otherwise sleeps. */
#define _GNU_SOURCE /* unshare */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "solo.h"

#define IDLE_MS 2000
#define CPU_LIMIT_US (IDLE_MS * 1000 / 100) /* 1% */

static uint64_t cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static bool have_netns;

static int setup(void **state)
{
	(void)state;
	/* A namespace of our own: the TAP lives and dies with the test. */
	have_netns = unshare(CLONE_NEWNET) == 0;
	if (!have_netns)
		print_message(
		    "no network namespace (not root?): pipe device\n");
	return 0;
}

static struct us_stack *idle_stack(struct solo *so)
{
	if (have_netns) {
		struct us_config cfg;
		us_config_init(&cfg);
		cfg.dev_type = "tap";
		cfg.ifname = "ustidle0";
		cfg.ip = inet_addr(SOLO_IP);
		cfg.prefix_len = 24;
		cfg.no_garp = 1;
		/* ARP gives up about a second into the idle window. */
		cfg.arp_retry_ms = 400;
		cfg.arp_retries = 2;
		so->st = us_stack_create(&cfg);
		so->far = NULL;
		if (so->st)
			return so->st;
		print_message("no TAP device: pipe device\n");
	}
	solo_init(so);
	return so->st;
}

static void idle_fini(struct solo *so)
{
	if (so->far)
		solo_fini(so);
	else
		us_stack_destroy(so->st);
}

static void idle_wait(bool threaded)
{
	struct solo so;
	struct us_stack *st = idle_stack(&so);
	struct epoll_event evs[4];
	struct itimerspec its = {{0, 0}, {IDLE_MS / 1000, 0}};
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int ep = us_epoll_create(st), n;

	assert_true(tfd >= 0);
	/* Some sockets to watch, as an idle server has. */
	for (int i = 0; i < 100; i++) {
		int fd = solo_udp(st, (uint16_t)(7000 + i), true);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
		assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev),
				 0);
	}
	int afd = solo_udp(st, 6999, true);
	struct epoll_event aev = {.events = EPOLLIN, .data.u64 = 3};
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, afd, &aev), 0);
	struct epoll_event kev = {.events = EPOLLIN, .data.u64 = 2};
	assert_int_equal(
	    us_epoll_ctl(st, ep, EPOLL_CTL_ADD, US_KERNEL_FD(tfd), &kev), 0);
	if (threaded)
		assert_int_equal(us_stack_start_thread(st), 0);
	/* Let start-up work (interface up, the kernel's own first frames
	 * on a TAP) pass before measuring. */
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 100), 0);

	uint64_t c0 = cpu_us(), t0 = solo_mono_ms();
	assert_int_equal(timerfd_settime(tfd, 0, &its, NULL), 0);
	struct sockaddr_in nobody = solo_sin(SOLO_NOBODY, 9);
	assert_int_equal(us_sendto(st, afd, "x", 1, 0,
				   (struct sockaddr *)&nobody, sizeof(nobody)),
			 1);
	int calls = 0;
	uint64_t arp_ms = 0;
	bool timer_seen = false;
	for (;;) {
		n = us_epoll_wait(st, ep, evs, 4, -1);
		calls++;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 == 3 &&
			    (evs[i].events & EPOLLERR)) {
				/* Reading the error clears it (level). */
				char b;
				errno = 0;
				assert_int_equal(us_recv(st, afd, &b, 1, 0),
						 -1);
				assert_int_equal(errno, EHOSTUNREACH);
				arp_ms = solo_mono_ms() - t0;
			}
		for (int i = 0; i < n; i++)
			timer_seen |= evs[i].data.u64 == 2;
		if (timer_seen)
			break;
	}
	uint64_t dt = solo_mono_ms() - t0, cpu = cpu_us() - c0;

	print_message("%s: %llu us of CPU in %llu ms (%.3f%%), %d call(s), "
		      "ARP gave up at %llu ms\n",
		      threaded ? "threaded" : "run-to-completion",
		      (unsigned long long)cpu, (unsigned long long)dt,
		      (double)cpu / (double)(dt * 10), calls,
		      (unsigned long long)arp_ms);
	assert_true(n >= 1);
	/* The retry timers fired while the stack slept. */
	assert_true(arp_ms > 0);
	assert_true(dt >= IDLE_MS - 5);
	assert_true(cpu < CPU_LIMIT_US);
	close(tfd);
	idle_fini(&so);
}

static void test_idle_run_to_completion(void **state)
{
	(void)state;
	idle_wait(false);
}

static void test_idle_threaded(void **state)
{
	(void)state;
	idle_wait(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_run_to_completion),
	    cmocka_unit_test(test_idle_threaded),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
