/* ustack inside the kernel's own event loop, with the kernel as the peer:
 * a TAP device in a network namespace of the test's own (the kernel's end
 * of it is 10.0.0.2/24, ustack is 10.0.0.1). The application sleeps in the
 * kernel's epoll_wait on us_stack_fd and a kernel UDP socket; frames from
 * the kernel (ARP, then a datagram) make us_stack_fd readable. The same
 * kernel socket and the ustack socket are also waited on together in one
 * us_epoll_wait. Skipped when the test may not make a namespace (not
 * root) or a TAP device. */
#define _GNU_SOURCE /* unshare */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "solo.h"

#define IFNAME "usttap0"
#define KERNEL_IP "10.0.0.2"

static int if_set(int s, unsigned long req, const char *ip)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, IFNAME, IFNAMSIZ - 1);
	if (req == SIOCSIFFLAGS) {
		if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
			return -1;
		ifr.ifr_flags |= IFF_UP;
	} else {
		struct sockaddr_in sin = solo_sin(ip, 0);
		memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	}
	return ioctl(s, req, &ifr);
}

/* Wait in the kernel's epoll until ustack reports `want` (by data) through
 * its own epoll instance polled with timeout 0. */
static uint32_t kernel_loop(struct us_stack *st, int kep, int ep, uint64_t want)
{
	struct epoll_event kev[4], evs[4];
	uint64_t t0 = solo_mono_ms();

	while (solo_mono_ms() - t0 < 3000) {
		assert_true(epoll_wait(kep, kev, 4, 1000) >= 0);
		int n = us_epoll_wait(st, ep, evs, 4, 0);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 == want)
				return evs[i].events;
	}
	return 0;
}

static void test_stack_fd_on_tap(void **state)
{
	struct us_config cfg;
	struct us_stack *st;
	char buf[16];
	(void)state;

	if (unshare(CLONE_NEWNET) != 0) {
		print_message("no network namespace (not root?): skipped\n");
		skip();
	}
	us_config_init(&cfg);
	cfg.dev_type = "tap";
	cfg.ifname = IFNAME;
	cfg.ip = inet_addr(SOLO_IP);
	cfg.prefix_len = 24;
	cfg.no_garp = 1;
	st = us_stack_create(&cfg);
	if (!st) {
		print_message("no TAP device: skipped\n");
		skip();
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(if_set(s, SIOCSIFADDR, KERNEL_IP), 0);
	assert_int_equal(if_set(s, SIOCSIFNETMASK, "255.255.255.0"), 0);
	assert_int_equal(if_set(s, SIOCSIFFLAGS, NULL), 0);
	close(s);

	/* A kernel UDP socket and a ustack one, in one ustack instance. */
	int ks = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in kaddr = solo_sin(KERNEL_IP, 4200);
	assert_int_equal(bind(ks, (struct sockaddr *)&kaddr, sizeof(kaddr)), 0);
	int us = solo_udp(st, 4100, true), ep = us_epoll_create(st);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
	assert_int_equal(us_epoll_ctl(st, ep, EPOLL_CTL_ADD, us, &ev), 0);
	ev.data.u64 = 2;
	assert_int_equal(
	    us_epoll_ctl(st, ep, EPOLL_CTL_ADD, US_KERNEL_FD(ks), &ev), 0);

	/* The application's own loop: the kernel's epoll. */
	int kep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event kev = {.events = EPOLLIN};
	assert_int_equal(epoll_ctl(kep, EPOLL_CTL_ADD, us_stack_fd(st), &kev),
			 0);
	assert_int_equal(epoll_ctl(kep, EPOLL_CTL_ADD, ks, &kev), 0);

	/* Kernel -> ustack: ARP first, then the datagram, all through
	 * us_stack_fd becoming readable. */
	struct sockaddr_in to = solo_sin(SOLO_IP, 4100), from;
	assert_int_equal(
	    sendto(ks, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	assert_true(kernel_loop(st, kep, ep, 1) & EPOLLIN);
	socklen_t flen = sizeof(from);
	assert_int_equal(us_recvfrom(st, us, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen),
			 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(from.sin_addr.s_addr, inet_addr(KERNEL_IP));

	/* ustack -> kernel: the reply leaves on the next poll (the call
	 * kicked us_stack_fd), and the kernel socket's readiness comes back
	 * through the same ustack instance. */
	assert_int_equal(
	    us_sendto(st, us, "pong", 4, 0, (struct sockaddr *)&from, flen), 4);
	assert_true(kernel_loop(st, kep, ep, 2) & EPOLLIN);
	assert_int_equal(recv(ks, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "pong", 4);

	/* And us_epoll_wait sleeping on both: a datagram from the kernel
	 * wakes it through the TAP descriptor. */
	assert_int_equal(
	    sendto(ks, "again", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	struct epoll_event evs[4];
	assert_int_equal(us_epoll_wait(st, ep, evs, 4, 2000), 1);
	assert_true(evs[0].data.u64 == 1);
	close(kep);
	close(ks);
	us_stack_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stack_fd_on_tap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
