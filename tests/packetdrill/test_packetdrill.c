/* libustack-packetdrill.so, loaded and driven as packetdrill drives it:
 * scripted exchanges of system calls and IPv4 packets on the script's
 * clock (RFC 9293 for what the stack must answer). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pd_harness.h"

#define PORT 8080

static int setup(void **state)
{
	static struct ph h;
	ph_open(&h, NULL);
	*state = &h;
	return 0;
}

static int teardown(void **state)
{
	ph_close(*state);
	return 0;
}

static int accept_now(struct ph *h, int lfd)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int fd = h->ifc.accept(h->ud, lfd, (struct sockaddr *)&peer, &len);

	assert_true(fd >= 0);
	assert_int_equal(peer.sin_addr.s_addr, h->remote);
	assert_int_equal(ntohs(peer.sin_port), PH_RPORT);
	return fd;
}

/* Passive open: SYN in, a SYN-ACK with the right addresses, ports, ACK
 * number and MSS out (RFC 9293 3.10.7.2), ACK in, accept. */
static void test_passive_open(void **state)
{
	struct ph *h = *state;
	struct ph_seg s;
	int lfd = ph_listen(h, PORT);

	assert_int_equal(h->ifc.fcntl(h->ud, lfd, F_GETFL), O_RDWR);
	ph_inject(h, PH_RPORT, PORT, 1000, 0, PH_SYN, NULL, 0);
	long long injected = ph_now(h);
	assert_true(ph_sniff(h, &s, 1));
	/* Sent while netdev_send ran, not when netdev_receive collected it
	 * (the clock moves on every read). */
	assert_true(s.time_us < injected);
	assert_true(s.csum_ok);
	assert_int_equal(s.src, h->local);
	assert_int_equal(s.dst, h->remote);
	assert_int_equal(s.sport, PORT);
	assert_int_equal(s.dport, PH_RPORT);
	assert_int_equal(s.flags, PH_SYN | PH_ACK);
	assert_int_equal(s.ack, 1001);
	assert_int_equal(s.mss, 1460); /* mtu=1500 by default */
	assert_int_equal(s.plen, 0);

	ph_inject(h, PH_RPORT, PORT, 1001, s.seq + 1, PH_ACK, NULL, 0);
	int fd = accept_now(h, lfd);
	assert_int_equal(h->ifc.fcntl(h->ud, fd, F_GETFL), O_RDWR);
	/* The ACK completes the handshake: nothing to answer. */
	assert_false(ph_sniff(h, &s, 1));
}

/* Data both ways, each side's bytes acknowledged. */
static void test_data_both_ways(void **state)
{
	struct ph *h = *state;
	struct ph_seg s;
	char buf[64];
	int lfd = ph_listen(h, PORT);
	uint32_t iss = ph_handshake(h, PORT);
	int fd = accept_now(h, lfd);

	long long t0 = ph_now(h);
	ph_inject(h, PH_RPORT, PORT, 1, iss + 1, PH_ACK | PH_PSH, "0123456789",
		  10);
	assert_int_equal(h->ifc.read(h->ud, fd, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "0123456789", 10);
	/* The ACK may be delayed, though not past 500 ms (RFC 1122
	 * 4.2.3.2); netdev_receive lets the delayed-ACK timer run. */
	assert_true(ph_sniff(h, &s, 100));
	assert_int_equal(s.flags & (PH_ACK | PH_SYN | PH_FIN | PH_RST), PH_ACK);
	assert_int_equal(s.ack, 11);
	assert_int_equal(s.seq, iss + 1);
	assert_true(s.time_us - t0 < 500000);

	assert_int_equal(h->ifc.write(h->ud, fd, "hello", 5), 5);
	assert_true(ph_sniff(h, &s, 1));
	assert_true(s.csum_ok);
	assert_int_equal(s.seq, iss + 1);
	assert_int_equal(s.ack, 11);
	assert_int_equal(s.plen, 5);
	assert_memory_equal(s.payload, "hello", 5);
	ph_inject(h, PH_RPORT, PORT, 11, iss + 6, PH_ACK, NULL, 0);
	/* Acknowledged: no retransmission follows. */
	assert_false(ph_sniff(h, &s, 300));
}

/* Unacknowledged data is sent again after the RTO, in script time: the
 * stack's timers run while the script sleeps, and the packet carries the
 * time it was sent, not the time it was collected. */
static void test_retransmit_after_rto(void **state)
{
	struct ph *h = *state;
	struct ph_seg s, r;
	int lfd = ph_listen(h, PORT);
	uint32_t iss = ph_handshake(h, PORT);
	int fd = accept_now(h, lfd);

	assert_int_equal(h->ifc.write(h->ud, fd, "abc", 3), 3);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.plen, 3);
	assert_false(ph_sniff(h, &r, 1)); /* not yet */

	assert_int_equal(h->ifc.usleep(h->ud, 1500000), 0);
	long long after = ph_now(h);
	assert_true(ph_sniff(h, &r, 1));
	assert_int_equal(r.seq, iss + 1);
	assert_int_equal(r.plen, 3);
	assert_memory_equal(r.payload, "abc", 3);
	/* RFC 6298 2.4 and 5.5: not before the 200 ms floor ustack shares
	 * with Linux, not after the 1 s initial RTO. */
	long long rto = r.time_us - s.time_us;
	assert_true(rto >= 200000);
	assert_true(rto <= 1000000 + 2000);
	assert_true(r.time_us < after);
}

/* The peer closes, then the application: a FIN each way, each ACKed
 * (RFC 9293 3.10.7.4 CLOSE-WAIT, LAST-ACK). */
static void test_close_fin_both_ways(void **state)
{
	struct ph *h = *state;
	struct ph_seg s;
	char buf[8];
	int lfd = ph_listen(h, PORT);
	uint32_t iss = ph_handshake(h, PORT);
	int fd = accept_now(h, lfd);

	ph_inject(h, PH_RPORT, PORT, 1, iss + 1, PH_ACK | PH_FIN, NULL, 0);
	assert_true(ph_sniff(h, &s, 100));
	assert_int_equal(s.flags, PH_ACK);
	assert_int_equal(s.ack, 2);
	assert_int_equal(h->ifc.read(h->ud, fd, buf, sizeof(buf)), 0);

	assert_int_equal(h->ifc.close(h->ud, fd), 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_ACK | PH_FIN);
	assert_int_equal(s.seq, iss + 1);
	assert_int_equal(s.ack, 2);
	ph_inject(h, PH_RPORT, PORT, 2, iss + 2, PH_ACK, NULL, 0);
	/* LAST-ACK is over: no FIN again. */
	assert_false(ph_sniff(h, &s, 300));
	assert_int_equal(h->ifc.close(h->ud, fd), -1);
	assert_int_equal(errno, EBADF);
}

/* The application closes first: FIN out, the peer's ACK and FIN in, the
 * last ACK out; the connection waits in TIME-WAIT (RFC 9293 3.10.7.4), and
 * SO_REUSEADDR lets a new listener bind the port meanwhile. */
static void test_active_close_time_wait(void **state)
{
	struct ph *h = *state;
	struct ph_seg s;
	int lfd = ph_listen(h, PORT);
	uint32_t iss = ph_handshake(h, PORT);
	int fd = accept_now(h, lfd);

	assert_int_equal(h->ifc.close(h->ud, fd), 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_ACK | PH_FIN);
	assert_int_equal(s.seq, iss + 1);
	ph_inject(h, PH_RPORT, PORT, 1, iss + 2, PH_ACK, NULL, 0);
	ph_inject(h, PH_RPORT, PORT, 1, iss + 2, PH_ACK | PH_FIN, NULL, 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_ACK);
	assert_int_equal(s.seq, iss + 2);
	assert_int_equal(s.ack, 2);

	assert_int_equal(h->ifc.close(h->ud, lfd), 0);
	ph_listen(h, PORT); /* asserts bind succeeds */

	/* TIME-WAIT answers a retransmitted FIN with an ACK and restarts
	 * 2 MSL; 2 MSL (60 s) of script time later the connection is gone
	 * and the same FIN meets a RST (<SEQ=SEG.ACK><CTL=RST>). */
	ph_inject(h, PH_RPORT, PORT, 1, iss + 2, PH_ACK | PH_FIN, NULL, 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_ACK);
	assert_int_equal(s.ack, 2);
	assert_int_equal(h->ifc.usleep(h->ud, 61000000), 0);
	ph_inject(h, PH_RPORT, PORT, 1, iss + 2, PH_ACK | PH_FIN, NULL, 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_RST);
	assert_int_equal(s.seq, iss + 2);
}

/* An unanswered SYN is sent again after the initial RTO of 1 s (RFC 6298
 * 2.1), in script time. */
static void test_syn_retry_in_script_time(void **state)
{
	struct ph *h = *state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct ph_seg s, r;
	int fd = h->ifc.socket(h->ud, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	a.sin_addr.s_addr = h->remote;
	assert_int_equal(
	    h->ifc.connect(h->ud, fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, EINPROGRESS);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_SYN);
	/* netdev_receive keeps letting the timers run, 10 ms at most a
	 * call, until the retransmission is out. */
	assert_true(ph_sniff(h, &r, 200));
	assert_int_equal(r.flags, PH_SYN);
	assert_int_equal(r.seq, s.seq);
	assert_true(r.time_us - s.time_us >= 1000000);
	assert_true(r.time_us - s.time_us <= 1002000);
}

/* A SYN to a port nobody listens on: <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>
 * (RFC 9293 3.10.7.1). */
static void test_rst_to_closed_port(void **state)
{
	struct ph *h = *state;
	struct ph_seg s;

	ph_inject(h, PH_RPORT, 9, 777, 0, PH_SYN, NULL, 0);
	long long injected = ph_now(h);
	assert_true(ph_sniff(h, &s, 1));
	assert_true(s.time_us < injected); /* answered within netdev_send */
	assert_true(s.csum_ok);
	assert_int_equal(s.flags, PH_RST | PH_ACK);
	assert_int_equal(s.seq, 0);
	assert_int_equal(s.ack, 778);
	assert_int_equal(s.sport, 9);
	assert_int_equal(s.dport, PH_RPORT);
}

/* packetdrill spins on gettimeofday for the last stretch before an event:
 * every read moves the clock on, and a retransmission that falls due
 * meanwhile goes out then, stamped within the spin, with no usleep or
 * netdev_receive to drive it. */
static void test_clock_moves_by_itself(void **state)
{
	struct ph *h = *state;
	struct ph_seg s, r;
	int lfd = ph_listen(h, PORT);
	long long t, prev;

	ph_handshake(h, PORT);
	int fd = accept_now(h, lfd);
	assert_int_equal(h->ifc.write(h->ud, fd, "abc", 3), 3);
	assert_true(ph_sniff(h, &s, 1));
	prev = ph_now(h);
	do {
		t = ph_now(h);
		assert_true(t > prev);
		prev = t;
	} while (t < s.time_us + 1002000); /* past the RTO (test above) */
	assert_true(ph_sniff(h, &r, 1));
	assert_int_equal(r.seq, s.seq);
	assert_int_equal(r.plen, 3);
	assert_true(r.time_us < t);
}

/* Packets the script gets wrong are checked, counted and dropped without
 * an answer (DESIGN: input never crashes the stack): every truncation of
 * a SYN, a bad IPv4 header checksum (RFC 791), an IPv6 packet. What
 * cannot be a packet at all fails with a reason. The whole SYN is
 * answered afterwards as ever. */
static void test_netdev_send_malformed(void **state)
{
	struct ph *h = *state;
	static uint8_t big[70000];
	uint8_t b[64], v6[40] = {0x60};
	struct ph_seg s;
	size_t n =
	    ph_build(h, b, sizeof(b), PH_RPORT, PORT, 0, 0, PH_SYN, NULL, 0);

	ph_listen(h, PORT);
	for (size_t k = 1; k < n; k++)
		assert_int_equal(h->ifc.netdev_send(h->ud, b, k), 0);
	b[10] ^= 0x5a;
	assert_int_equal(h->ifc.netdev_send(h->ud, b, n), 0);
	b[10] ^= 0x5a;
	assert_int_equal(h->ifc.netdev_send(h->ud, v6, sizeof(v6)), 0);
	assert_false(ph_sniff(h, &s, 1));

	assert_int_equal(h->ifc.netdev_send(h->ud, b, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(h->ifc.netdev_send(h->ud, NULL, n), -1);
	assert_int_equal(errno, EINVAL);
	memcpy(big, b, n);
	assert_int_equal(h->ifc.netdev_send(h->ud, big, sizeof(big)), -1);
	assert_int_equal(errno, EMSGSIZE);

	assert_int_equal(h->ifc.netdev_send(h->ud, b, n), 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_SYN | PH_ACK);
	assert_int_equal(s.ack, 1);
}

struct acceptor {
	struct ph *h;
	int lfd, fd, err;
	long long returned_us;
	atomic_int tid;
	atomic_bool returned;
	atomic_bool main_moved_on;
};

static void *accept_thread(void *arg)
{
	struct acceptor *a = arg;

	atomic_store(&a->tid, (int)syscall(SYS_gettid));
	a->fd = a->h->ifc.accept(a->h->ud, a->lfd, NULL, NULL);
	a->err = errno;
	atomic_store(&a->returned, true);
	/* What packetdrill does next: read the clock to check when the
	 * call returned. The worst case: only after the main thread has
	 * moved the clock on. */
	while (!atomic_load(&a->main_moved_on))
		sched_yield();
	a->returned_us = ph_now(a->h);
	return NULL;
}

/* packetdrill's own test of "blocked": the thread sleeps in the kernel. */
static bool thread_sleeping(int tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* A blocking accept on a second thread sleeps until the main thread has
 * injected the handshake, and returns at that script time even though the
 * main thread's clock moves on at once. */
static void test_blocking_accept_on_thread(void **state)
{
	struct ph *h = *state;
	struct acceptor a = {.h = h, .fd = -1};
	struct ph_seg s;
	pthread_t t;

	atomic_init(&a.tid, 0);
	atomic_init(&a.returned, false);
	atomic_init(&a.main_moved_on, false);
	a.lfd = ph_listen(h, PORT);
	assert_int_equal(pthread_create(&t, NULL, accept_thread, &a), 0);
	while (!atomic_load(&a.returned) &&
	       (!atomic_load(&a.tid) || !thread_sleeping(atomic_load(&a.tid))))
		sched_yield();
	/* Nothing to accept yet: it must be waiting, not back with EAGAIN. */
	assert_false(atomic_load(&a.returned));

	ph_inject(h, PH_RPORT, PORT, 0, 0, PH_SYN, NULL, 0);
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_SYN | PH_ACK);
	long long done = ph_now(h);
	ph_inject(h, PH_RPORT, PORT, 1, s.seq + 1, PH_ACK, NULL, 0);
	assert_int_equal(h->ifc.usleep(h->ud, 500000), 0);
	atomic_store(&a.main_moved_on, true);
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_true(a.fd >= 0);
	assert_true(a.returned_us >= done);
	assert_true(a.returned_us < done + 10000);
	assert_true(ph_now(h) >= done + 500000);
}

struct reader {
	struct ph *h;
	int fd;
	ssize_t n;
	char buf[32];
	atomic_int tid;
	atomic_bool returned;
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;

	atomic_store(&r->tid, (int)syscall(SYS_gettid));
	r->n = r->h->ifc.read(r->h->ud, r->fd, r->buf, sizeof(r->buf));
	atomic_store(&r->returned, true);
	return NULL;
}

/* A blocking read on a second thread wakes when the main thread injects
 * data, with that data. */
static void test_blocking_read_on_thread(void **state)
{
	struct ph *h = *state;
	struct reader r = {.h = h};
	pthread_t t;
	int lfd = ph_listen(h, PORT);
	uint32_t iss = ph_handshake(h, PORT);

	r.fd = accept_now(h, lfd);
	atomic_init(&r.tid, 0);
	atomic_init(&r.returned, false);
	assert_int_equal(pthread_create(&t, NULL, read_thread, &r), 0);
	while (!atomic_load(&r.returned) &&
	       (!atomic_load(&r.tid) || !thread_sleeping(atomic_load(&r.tid))))
		sched_yield();
	assert_false(atomic_load(&r.returned));
	ph_inject(h, PH_RPORT, PORT, 1, iss + 1, PH_ACK | PH_PSH, "ping", 4);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.n, 4);
	assert_memory_equal(r.buf, "ping", 4);
}

/* poll on the main thread: nothing ready, and the script's clock moves
 * through the timeout; ready, and it answers at once. */
static void test_poll_timeout_in_script_time(void **state)
{
	struct ph *h = *state;
	int lfd = ph_listen(h, PORT);
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	long long t0 = ph_now(h);

	assert_int_equal(h->ifc.poll(h->ud, &p, 1, 100), 0);
	assert_true(ph_now(h) - t0 >= 100000);
	ph_handshake(h, PORT);
	t0 = ph_now(h);
	assert_int_equal(h->ifc.poll(h->ud, &p, 1, 100), 1);
	assert_int_equal(p.revents, POLLIN);
	assert_true(ph_now(h) - t0 < 1000);
}

/* Nothing sent: -1 (with an empty count), after the clock moved a short,
 * bounded while. */
static void test_receive_nothing(void **state)
{
	struct ph *h = *state;
	uint8_t b[256];
	size_t n = sizeof(b);
	long long t = -1, before = ph_now(h);

	assert_int_equal(h->ifc.netdev_receive(h->ud, b, &n, &t), -1);
	assert_int_equal(n, 0);
	long long moved = ph_now(h) - before;
	assert_true(moved > 0 && moved <= 20000);
}

/* fcntl, ioctl and calls ustack lacks behave as on a kernel socket, or
 * fail cleanly. */
static void test_fcntl_and_unsupported(void **state)
{
	struct ph *h = *state;
	int lfd = ph_listen(h, PORT), fds[2], n = 1;

	assert_int_equal(h->ifc.fcntl(h->ud, lfd, F_SETFL, O_RDWR | O_NONBLOCK),
			 0);
	assert_int_equal(h->ifc.fcntl(h->ud, lfd, F_GETFL),
			 O_RDWR | O_NONBLOCK);
	assert_int_equal(h->ifc.accept(h->ud, lfd, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	/* A blocking accept on the main thread would hang the script: it
	 * fails instead. */
	assert_int_equal(h->ifc.fcntl(h->ud, lfd, F_SETFL, O_RDWR), 0);
	assert_int_equal(h->ifc.accept(h->ud, lfd, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(h->ifc.ioctl(h->ud, lfd, FIONBIO, &n), 0);
	assert_int_equal(h->ifc.fcntl(h->ud, lfd, F_GETFL),
			 O_RDWR | O_NONBLOCK);
	assert_int_equal(h->ifc.ioctl(h->ud, lfd, SIOCATMARK, &n), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(h->ifc.pipe(h->ud, fds), -1);
	assert_int_equal(errno, ENOTSUP);
	/* More vectors than Linux takes (UIO_MAXIOV), not a truncated
	 * count read as an empty buffer. */
	char c;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = (size_t)1 << 32};
	assert_int_equal(h->ifc.recvmsg(h->ud, lfd, &m, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(h->ifc.fcntl(h->ud, 999, F_GETFL), -1);
	assert_int_equal(errno, EBADF);
}

/* An active open refused: SO_ERROR tells, as on Linux. */
static void test_connect_refused_so_error(void **state)
{
	struct ph *h = *state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct ph_seg s;
	int fd = h->ifc.socket(h->ud, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int err = -1;
	socklen_t len = sizeof(err);

	a.sin_addr.s_addr = h->remote;
	assert_int_equal(h->ifc.fcntl(h->ud, fd, F_GETFL), O_RDWR | O_NONBLOCK);
	assert_int_equal(
	    h->ifc.connect(h->ud, fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, EINPROGRESS);
	/* No ARP on this link: the SYN is the first thing out. */
	assert_true(ph_sniff(h, &s, 1));
	assert_int_equal(s.flags, PH_SYN);
	assert_int_equal(s.dport, 80);
	ph_inject(h, 80, s.sport, 0, s.seq + 1, PH_RST | PH_ACK, NULL, 0);
	assert_int_equal(
	    h->ifc.getsockopt(h->ud, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ECONNREFUSED);
}

/* --so_flags: addresses and MTU taken, the MSS follows the MTU; an IPv6
 * run is refused with a reason. */
static void test_flags(void **state)
{
	struct ph h;
	struct ph_seg s;

	ph_open(&h, "local_ip=10.1.0.1,remote_ip=10.2.0.9,ip_version=4,"
		    "mtu=1400");
	inet_pton(AF_INET, "10.1.0.1", &h.local);
	inet_pton(AF_INET, "10.2.0.9", &h.remote);
	ph_listen(&h, PORT);
	ph_inject(&h, PH_RPORT, PORT, 0, 0, PH_SYN, NULL, 0);
	assert_true(ph_sniff(&h, &s, 1));
	assert_int_equal(s.flags, PH_SYN | PH_ACK);
	assert_int_equal(s.dst, h.remote);
	assert_int_equal(s.mss, 1360);
	ph_close(&h);

	ph_open(&h, "ip_version=6");
	assert_int_equal(h.ifc.socket(h.ud, AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	ph_close(&h);

	ph_open(&h, "local_ip=0.0.0.0");
	assert_int_equal(h.ifc.socket(h.ud, AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, EINVAL);
	ph_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_passive_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_both_ways, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_retransmit_after_rto, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_close_fin_both_ways, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_active_close_time_wait, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_syn_retry_in_script_time,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rst_to_closed_port, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_clock_moves_by_itself, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_netdev_send_malformed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_blocking_accept_on_thread,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blocking_read_on_thread, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_poll_timeout_in_script_time,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fcntl_and_unsupported, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_connect_refused_so_error,
					    setup, teardown),
	    cmocka_unit_test(test_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
