/* TCP on one core: two ustack stacks on an in-memory pipe link in one
 * process (or, with --kernel, the kernel's TCP over loopback in one
 * thread), so the figure is the stacks' own cost, with no device and no
 * second core. Prints one JSON object per run; never pass/fail.
 *
 *   --bulk      one connection A -> B for --seconds, real clock: Gbit/s
 *               of payload received by B, by wall time and by CPU time.
 *   --crr       connections opened and closed per second, one at a time:
 *               connect, accept, the server closes first (as an HTTP
 *               server with Connection: close), the client reads EOF and
 *               closes. The ephemeral range is 1024..65535 on both stacks
 *               (the kernel: set by the caller with ip_local_port_range),
 *               so a run below 64,511 connections reuses no port; beyond
 *               that a reused port meets the server's TIME_WAIT, which
 *               accepts the new SYN (RFC 6191; counted, tcp_timewait_reuse).
 *   --instr     ustack only: --bytes through one connection on a virtual
 *               clock with fixed seeds. The loop polls each stack once per
 *               turn and, when neither had work, jumps the clock to the
 *               next timer: no spin polling, so the instruction count of
 *               bench_transfer() (callgrind --toggle-collect) repeats
 *               exactly. Prints the data segments B received.
 *
 * The kernel side of --bulk/--crr runs in whatever network namespace it
 * is started in (the suite gives it one with lo at MTU 1500, offloads
 * off, so its segments are the size of ustack's). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_data_segs_in */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ustack.h"
#include "core/clock.h"

#define CHUNK 65536
#define MAX_TURNS 100000 /* a connection step that takes longer failed */

static char sbuf[CHUNK], rbuf[CHUNK];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "ustack-bench-tcp: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct pair {
	struct us_vclock clk;
	struct us_stack *a, *b;
};

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static void pair_init(struct pair *p, bool vclock)
{
	struct us_dev *end[2];
	if (us_pipe_create(&end[0], &end[1]) < 0)
		die("us_pipe_create");
	p->clk.now_ns = 1000000000ull;
	for (int i = 0; i < 2; i++) {
		struct us_config c;
		us_config_init(&c);
		c.dev = end[i];
		inet_pton(AF_INET, i ? "10.0.0.2" : "10.0.0.1", &c.ip);
		c.prefix_len = 24;
		c.seed = 0x5eed + (uint64_t)i * 7919;
		c.no_garp = 1;
		c.port_lo = 1024;
		c.port_hi = 65535;
		if (vclock) {
			c.clock_now = vclock_now;
			c.clock_arg = &p->clk;
		}
		struct us_stack *st = us_stack_create(&c);
		if (!st)
			die("us_stack_create");
		*(i ? &p->b : &p->a) = st;
	}
}

static void pair_fini(struct pair *p)
{
	us_stack_destroy(p->a);
	us_stack_destroy(p->b);
}

/* One turn of both stacks; with a virtual clock, a turn in which neither
 * had work moves the clock to the earlier of their next events. */
static int turn(struct pair *p, bool vclock)
{
	int ra = us_stack_poll(p->a, 0);
	int rb = us_stack_poll(p->b, 0);
	if (ra < 0 || rb < 0)
		die("us_stack_poll");
	if (!vclock || ra > 0 || rb > 0)
		return ra + rb;
	uint64_t na = us_stack_next_event(p->a);
	uint64_t nb = us_stack_next_event(p->b);
	uint64_t next = na < nb ? na : nb;
	if (next == UINT64_MAX || next <= p->clk.now_ns)
		next = p->clk.now_ns + 1000000; /* 1 ms: nothing due */
	p->clk.now_ns = next;
	return 0;
}

/* A connection A -> B:port, established and accepted; both non-blocking. */
static void connect_pair(struct pair *p, bool vclock, uint16_t port, int *ca,
			 int *cb)
{
	int l = us_socket(p->b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in any = sin_of("0.0.0.0", port);
	if (l < 0 || us_bind(p->b, l, (struct sockaddr *)&any, sizeof(any)) ||
	    us_listen(p->b, l, 16))
		die("listen");
	*ca = us_socket(p->a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = sin_of("10.0.0.2", port);
	if (*ca < 0 ||
	    (us_connect(p->a, *ca, (struct sockaddr *)&to, sizeof(to)) < 0 &&
	     errno != EINPROGRESS))
		die("connect");
	for (int i = 0; (*cb = us_accept(p->b, l, NULL, NULL)) < 0; i++) {
		if (errno != EAGAIN || i > MAX_TURNS)
			die("accept");
		turn(p, vclock);
	}
	us_fcntl(p->b, *cb, F_SETFL, O_NONBLOCK);
	us_close(p->b, l);
}

/* Move `bytes` (0: until `secs` of wall time) from A to B; returns the
 * bytes B received. noinline: callgrind counts exactly this. */
__attribute__((noinline)) uint64_t bench_transfer(struct pair *p, bool vclock,
						  int ca, int cb,
						  uint64_t bytes, double secs)
{
	uint64_t sent = 0, got = 0;
	double t0 = vclock ? 0 : now_s();
	unsigned n = 0;
	for (;;) {
		if (bytes ? got >= bytes
			  : ((++n & 63) == 0 && now_s() - t0 >= secs))
			break;
		bool moved = false;
		while (!bytes || sent < bytes) {
			size_t want = CHUNK;
			if (bytes && bytes - sent < want)
				want = (size_t)(bytes - sent);
			ssize_t k = us_send(p->a, ca, sbuf, want, 0);
			if (k <= 0)
				break;
			sent += (uint64_t)k;
			moved = true;
		}
		int work = turn(p, vclock && !moved);
		ssize_t k;
		while ((k = us_recv(p->b, cb, rbuf, sizeof(rbuf), 0)) > 0) {
			got += (uint64_t)k;
			moved = true;
		}
		if (k < 0 && errno != EAGAIN)
			die("recv");
		(void)work;
	}
	return got;
}

static int run_bulk_ustack(double secs)
{
	struct pair p;
	int ca, cb;
	pair_init(&p, false);
	connect_pair(&p, false, 5001, &ca, &cb);
	double t0 = now_s(), c0 = cpu_s();
	uint64_t got = bench_transfer(&p, false, ca, cb, 0, secs);
	double t = now_s() - t0, c = cpu_s() - c0;
	printf("{\"figure\":\"pipe_bulk\",\"stack\":\"ustack\",\"bytes\":%llu,"
	       "\"seconds\":%.3f,\"gbps\":%.3f,\"gbps_cpu\":%.3f,"
	       "\"retransmits\":%llu}\n",
	       (unsigned long long)got, t, (double)got * 8 / t / 1e9,
	       (double)got * 8 / c / 1e9,
	       (unsigned long long)us_stat_byname(p.a, "tcp_retransmits"));
	pair_fini(&p);
	return got ? 0 : 1;
}

static int run_instr(uint64_t bytes)
{
	struct pair p;
	int ca, cb;
	pair_init(&p, true);
	connect_pair(&p, true, 5001, &ca, &cb);
	uint64_t s0 = us_stat_byname(p.b, "tcp_rx");
	uint64_t got = bench_transfer(&p, true, ca, cb, bytes, 0);
	uint64_t segs = us_stat_byname(p.b, "tcp_rx") - s0;
	printf("{\"figure\":\"pipe_instr\",\"stack\":\"ustack\",\"bytes\":%llu,"
	       "\"segments\":%llu,\"virtual_ms\":%.3f}\n",
	       (unsigned long long)got, (unsigned long long)segs,
	       (double)(p.clk.now_ns - 1000000000ull) / 1e6);
	pair_fini(&p);
	return got == bytes && segs ? 0 : 1;
}

static int run_crr_ustack(double secs)
{
	struct pair p;
	pair_init(&p, false);
	int l = us_socket(p.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in any = sin_of("0.0.0.0", 5002);
	struct sockaddr_in to = sin_of("10.0.0.2", 5002);
	if (l < 0 || us_bind(p.b, l, (struct sockaddr *)&any, sizeof(any)) ||
	    us_listen(p.b, l, 128))
		die("listen");
	uint64_t conns = 0;
	double t0 = now_s(), c0 = cpu_s();
	while (now_s() - t0 < secs) {
		int c = us_socket(p.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c < 0 || (us_connect(p.a, c, (struct sockaddr *)&to,
					 sizeof(to)) < 0 &&
			      errno != EINPROGRESS))
			die("connect");
		int s, i;
		for (i = 0; (s = us_accept(p.b, l, NULL, NULL)) < 0; i++) {
			if (errno != EAGAIN || i > MAX_TURNS)
				die("accept");
			turn(&p, false);
		}
		us_close(p.b, s);
		ssize_t k;
		for (i = 0; (k = us_recv(p.a, c, rbuf, sizeof(rbuf), 0)) != 0;
		     i++) {
			if ((k < 0 && errno != EAGAIN) || i > MAX_TURNS)
				die("recv EOF");
			turn(&p, false);
		}
		us_close(p.a, c);
		conns++;
	}
	turn(&p, false);
	double t = now_s() - t0, c = cpu_s() - c0;
	printf("{\"figure\":\"pipe_crr\",\"stack\":\"ustack\",\"conns\":%llu,"
	       "\"seconds\":%.3f,\"cps\":%.0f,\"cps_cpu\":%.0f,"
	       "\"timewait_reuse\":%llu}\n",
	       (unsigned long long)conns, t, (double)conns / t,
	       (double)conns / c,
	       (unsigned long long)us_stat_byname(p.b, "tcp_timewait_reuse"));
	pair_fini(&p);
	return conns ? 0 : 1;
}

/* The kernel over loopback, one thread. */
static int k_listen(uint16_t port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = sin_of("127.0.0.1", port);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, 128))
		die("kernel listen");
	return l;
}

static int k_connect(uint16_t port)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin_of("127.0.0.1", port);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		die("kernel connect");
	return c;
}

static int run_bulk_kernel(double secs)
{
	int l = k_listen(5001), ca = k_connect(5001);
	int cb = accept(l, NULL, NULL);
	if (cb < 0)
		die("kernel accept");
	fcntl(ca, F_SETFL, O_NONBLOCK);
	fcntl(cb, F_SETFL, O_NONBLOCK);
	uint64_t got = 0;
	unsigned n = 0;
	double t0 = now_s(), c0 = cpu_s();
	while ((++n & 63) || now_s() - t0 < secs) {
		while (send(ca, sbuf, CHUNK, 0) > 0)
			;
		ssize_t k;
		while ((k = recv(cb, rbuf, sizeof(rbuf), 0)) > 0)
			got += (uint64_t)k;
	}
	double t = now_s() - t0, c = cpu_s() - c0;
	/* Data segments the receiver took in, the divisor for instructions
	 * per segment when the suite runs this under perf stat. */
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	getsockopt(cb, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	printf("{\"figure\":\"pipe_bulk\",\"stack\":\"kernel\",\"bytes\":%llu,"
	       "\"seconds\":%.3f,\"gbps\":%.3f,\"gbps_cpu\":%.3f,"
	       "\"segments\":%u}\n",
	       (unsigned long long)got, t, (double)got * 8 / t / 1e9,
	       (double)got * 8 / c / 1e9, ti.tcpi_data_segs_in);
	close(ca);
	close(cb);
	close(l);
	return got ? 0 : 1;
}

static int run_crr_kernel(double secs)
{
	int l = k_listen(5002);
	uint64_t conns = 0;
	double t0 = now_s(), c0 = cpu_s();
	while (now_s() - t0 < secs) {
		int c = k_connect(5002);
		int s = accept(l, NULL, NULL);
		if (s < 0)
			die("kernel accept");
		close(s);
		if (recv(c, rbuf, sizeof(rbuf), 0) != 0)
			die("kernel recv EOF");
		close(c);
		conns++;
	}
	double t = now_s() - t0, c = cpu_s() - c0;
	printf("{\"figure\":\"pipe_crr\",\"stack\":\"kernel\",\"conns\":%llu,"
	       "\"seconds\":%.3f,\"cps\":%.0f,\"cps_cpu\":%.0f}\n",
	       (unsigned long long)conns, t, (double)conns / t,
	       (double)conns / c);
	close(l);
	return conns ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: ustack-bench-tcp --bulk|--crr [--seconds S] [--kernel]\n"
	       "       ustack-bench-tcp --instr [--bytes N]\n"
	       "TCP cost on one core: two ustack stacks on a pipe link "
	       "(--kernel: the kernel\nover loopback, one thread). One JSON "
	       "line per run.\n");
}

int main(int argc, char **argv)
{
	double secs = 5;
	uint64_t bytes = 64ull << 20;
	int mode = 0;
	bool kernel = false;
	static const struct option opts[] = {
	    {"bulk", no_argument, 0, 'b'},
	    {"crr", no_argument, 0, 'c'},
	    {"instr", no_argument, 0, 'i'},
	    {"kernel", no_argument, 0, 'k'},
	    {"seconds", required_argument, 0, 's'},
	    {"bytes", required_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (o) {
		case 'b':
		case 'c':
		case 'i':
			mode = o;
			break;
		case 'k':
			kernel = true;
			break;
		case 's':
			secs = strtod(optarg, &end);
			if (*end || secs <= 0) {
				fprintf(stderr, "bad --seconds '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			bytes = strtoull(optarg, &end, 10);
			if (*end || !bytes) {
				fprintf(stderr, "bad --bytes '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	memset(sbuf, 'x', sizeof(sbuf));
	setvbuf(stdout, NULL, _IOLBF, 0);
	switch (mode) {
	case 'b':
		return kernel ? run_bulk_kernel(secs) : run_bulk_ustack(secs);
	case 'c':
		return kernel ? run_crr_kernel(secs) : run_crr_ustack(secs);
	case 'i':
		if (kernel) {
			fprintf(stderr, "--instr is for ustack only\n");
			return 2;
		}
		return run_instr(bytes);
	}
	usage(stderr);
	return 2;
}
