/* Frames per second through the input path on a pipe link: two stacks in
 * one process, one core, real clock. Prints a table; never pass/fail.
 *
 *   icmp-echo: A sends ICMP echo requests to B, B answers; counted are the
 *              frames both stacks took in (requests at B, replies at A).
 *   udp-echo:  A sends UDP datagrams to B's echo socket, B sends them back.
 *
 * A keeps a window of requests in flight so the link never idles. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustack.h"
#include "core/stack.h"
#include "net/icmp.h"
#include "net/ip4.h"
#include "wire/csum.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct us_stack *mk(struct us_dev *d, const char *ip)
{
	struct us_config c;
	us_config_init(&c);
	c.dev = d;
	inet_pton(AF_INET, ip, &c.ip);
	c.prefix_len = 24;
	c.seed = 42;
	struct us_stack *st = us_stack_create(&c);
	if (!st) {
		perror("us_stack_create");
		exit(1);
	}
	return st;
}

static uint64_t rx_frames(struct us_stack *a, struct us_stack *b)
{
	return us_stat_byname(a, "eth_rx") + us_stat_byname(b, "eth_rx");
}

static int send_echo(struct us_stack *st, uint32_t dst, uint16_t seq, int size)
{
	struct us_pbuf *p = stack_alloc(st, (uint32_t)(8 + size));
	if (!p)
		return -ENOBUFS;
	uint8_t *h = p->data;
	memset(h, 0, 8 + (size_t)size);
	h[0] = ICMP_ECHO_T;
	wr16(h + 4, 0x7573);
	wr16(h + 6, seq);
	p->len = 8 + (uint32_t)size;
	uint16_t c = csum(h, p->len);
	memcpy(h + 2, &c, 2);
	struct ip4_tx tx = {.dst = dst, .proto = 1};
	return ip4_output(st, p, &tx);
}

struct result {
	const char *name;
	double fps, cpu_fps;
	uint64_t frames;
};

static struct result run_icmp(double secs, int size)
{
	struct us_dev *da, *db;
	us_pipe_create(&da, &db);
	struct us_stack *a = mk(da, "10.0.0.1"), *b = mk(db, "10.0.0.2");
	uint32_t dst = us_stack_ip(b);
	uint16_t seq = 0;

	/* Resolve first, then measure. */
	send_echo(a, dst, seq++, size);
	for (int i = 0; i < 100; i++) {
		us_stack_poll(a, 0);
		us_stack_poll(b, 0);
	}
	uint64_t f0 = rx_frames(a, b);
	double t0 = now_s(), c0 = cpu_s();
	while (now_s() - t0 < secs) {
		for (int i = 0; i < 32; i++)
			send_echo(a, dst, seq++, size);
		us_stack_poll(a, 0);
		us_stack_poll(b, 0);
		us_stack_poll(a, 0);
	}
	double t = now_s() - t0, c = cpu_s() - c0;
	if (getenv("BENCH_DUMP")) { for (int i = 0; i < us_stat_count(); i++) if (us_stat_get(b, i) || us_stat_get(a, i)) fprintf(stderr, "%s a=%llu b=%llu\n", us_stat_name(i), (unsigned long long)us_stat_get(a, i), (unsigned long long)us_stat_get(b, i)); }
	struct result r = {"icmp-echo", 0, 0, rx_frames(a, b) - f0};
	r.fps = r.frames / t;
	r.cpu_fps = r.frames / c;
	us_stack_destroy(a);
	us_stack_destroy(b);
	return r;
}

static struct result run_udp(double secs, int size)
{
	struct us_dev *da, *db;
	us_pipe_create(&da, &db);
	struct us_stack *a = mk(da, "10.0.0.1"), *b = mk(db, "10.0.0.2");
	char buf[65536];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(7)};
	to.sin_addr.s_addr = us_stack_ip(b);

	int sa = us_socket(a, AF_INET, SOCK_DGRAM, 0);
	int sb = us_socket(b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(7)};
	us_bind(b, sb, (struct sockaddr *)&any, sizeof(any));
	us_fcntl(a, sa, F_SETFL, O_NONBLOCK);
	us_fcntl(b, sb, F_SETFL, O_NONBLOCK);
	memset(buf, 'x', sizeof(buf));

	us_sendto(a, sa, buf, (size_t)size, 0, (struct sockaddr *)&to,
		  sizeof(to));
	for (int i = 0; i < 100; i++) {
		us_stack_poll(a, 0);
		us_stack_poll(b, 0);
		while (us_recv(a, sa, buf, sizeof(buf), 0) > 0)
			;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		while ((n = us_recvfrom(b, sb, buf, sizeof(buf), 0,
					(struct sockaddr *)&from, &fl)) > 0)
			us_sendto(b, sb, buf, (size_t)n, 0,
				  (struct sockaddr *)&from, fl);
	}
	uint64_t f0 = rx_frames(a, b);
	double t0 = now_s(), c0 = cpu_s();
	int inflight = 0;
	while (now_s() - t0 < secs) {
		while (inflight < 64 &&
		       us_sendto(a, sa, buf, (size_t)size, 0,
				 (struct sockaddr *)&to, sizeof(to)) >= 0)
			inflight++;
		us_stack_poll(a, 0);
		us_stack_poll(b, 0);
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		while ((n = us_recvfrom(b, sb, buf, sizeof(buf), 0,
					(struct sockaddr *)&from, &fl)) > 0)
			us_sendto(b, sb, buf, (size_t)n, 0,
				  (struct sockaddr *)&from, fl);
		us_stack_poll(b, 0);
		us_stack_poll(a, 0);
		while (us_recv(a, sa, buf, sizeof(buf), 0) > 0)
			inflight--;
		if (inflight > 48) /* lost to a full queue: don't stall */
			inflight = 0;
	}
	double t = now_s() - t0, c = cpu_s() - c0;
	struct result r = {"udp-echo", 0, 0, rx_frames(a, b) - f0};
	r.fps = r.frames / t;
	r.cpu_fps = r.frames / c;
	us_stack_destroy(a);
	us_stack_destroy(b);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ustack-bench-pipe [--seconds S] [--size BYTES]\n"
		   "Frames per second through the input path of two ustack "
		   "stacks on a pipe link (one core).\n");
}

int main(int argc, char **argv)
{
	double secs = 2;
	int size = 56;
	static const struct option opts[] = {
		{"seconds", required_argument, 0, 's'},
		{"size", required_argument, 0, 'z'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (o) {
		case 's':
			secs = strtod(optarg, &end);
			if (*end || secs <= 0) {
				fprintf(stderr, "ustack-bench-pipe: bad --seconds '%s'\n", optarg);
				return 2;
			}
			break;
		case 'z':
			size = (int)strtol(optarg, &end, 10);
			if (*end || size < 0 || size > 1400) {
				fprintf(stderr, "ustack-bench-pipe: bad --size '%s' (0..1400)\n", optarg);
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
	struct result r[2] = {run_icmp(secs, size), run_udp(secs, size)};
	printf("| test | payload | frames | frames/s (wall) | frames/s (cpu) |\n");
	printf("|---|---|---|---|---|\n");
	for (int i = 0; i < 2; i++)
		printf("| %s | %d | %llu | %.0f | %.0f |\n", r[i].name, size,
		       (unsigned long long)r[i].frames, r[i].fps, r[i].cpu_fps);
	return 0;
}
