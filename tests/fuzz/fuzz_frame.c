/* libFuzzer target: one Ethernet frame into a stack on a pipe link.
 *
 * Input: byte 0 picks how far the virtual clock moves after the frame
 * (0..199: that many ms; 200..255: (n - 199) * 2 s, enough to expire ARP
 * retries, reassembly and cache entries), the rest is the frame.
 *
 * The stack under test (10.0.0.2, MAC 02:00:00:00:00:0a, gateway
 * 10.0.0.1) is made once and kept: its state (ARP cache, fragments
 * waiting for reassembly, socket queues) carries over from one input to
 * the next, as on a real link. A UDP socket on port 7 echoes what it
 * receives, so the output path (ARP resolution, fragmentation) runs too.
 * The frame is sent from the other end of the pipe by a second stack that
 * is never polled; what the stack under test sends is read and dropped
 * there. tests/fuzz/make-corpus.py writes seeds in this format. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/stack.h"
#include "dev/dev.h"
#include "net/arp.h"
#include "net/ip4_frag.h"
#include "ustack.h"

#define ECHO_PORT 7
#define MAX_FRAME (9000 + 14)

struct harness {
	struct us_vclock clk;
	struct us_stack *st;   /* under test */
	struct us_stack *peer; /* the other end of the link, never polled */
	int fd;		       /* UDP echo socket on st */
	uint8_t buf[65536];
};

static struct harness *harness_create(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct us_dev *a, *b;
	struct us_config c;
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(ECHO_PORT)};

	if (!h || us_pipe_create(&a, &b) < 0)
		abort();
	h->clk.now_ns = 1000 * US_NS_PER_S;
	us_config_init(&c);
	c.dev = a;
	c.ip = htonl(0x0a000002);
	c.prefix_len = 24;
	c.gw = htonl(0x0a000001);
	memcpy(c.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 0x0a}, 6);
	c.clock_now = vclock_now;
	c.clock_arg = &h->clk;
	c.seed = 1;
	c.no_garp = 1;
	c.log_level = -1; /* quiet: the fuzzer's output is the report */
	c.pool_small = 1024;
	c.pool_large = 16;
	h->st = us_stack_create(&c);
	c.dev = b;
	c.ip = htonl(0x0a000001);
	c.gw = 0;
	c.mac[5] = 0x0b;
	c.mtu = 9000;
	h->peer = us_stack_create(&c);
	if (!h->st || !h->peer)
		abort();
	h->fd = us_socket(h->st, AF_INET, SOCK_DGRAM, 0);
	if (h->fd < 0 ||
	    us_bind(h->st, h->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    us_fcntl(h->st, h->fd, F_SETFL, O_NONBLOCK) < 0)
		abort();
	return h;
}

/* Frames the stack under test sent: taken off the link and dropped. */
static void drain_link(struct harness *h)
{
	struct us_dev *d = h->peer->dev;
	struct us_pbuf *p[64];
	int n;

	while ((n = d->ops->rx_burst(d, p, 64)) > 0)
		for (int i = 0; i < n; i++)
			pbuf_free(p[i]);
}

/* Echo whatever reached the socket, as the demo's port 7 does. */
static void echo(struct harness *h)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	for (int i = 0; i < 64; i++) {
		n = us_recvfrom(h->st, h->fd, h->buf, sizeof(h->buf), 0,
				(struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		us_sendto(h->st, h->fd, h->buf, (size_t)n, 0,
			  (struct sockaddr *)&from, fl);
	}
}

/* Every buffer of the stack under test is free or held by one of the
 * places that may keep a buffer across loop turns: reassembly queues, the
 * ARP queues, the echo socket (drained by echo()), the loopback queue.
 * A buffer lost on an error path is a leak that LeakSanitizer cannot see
 * (the pool is one mmap'ed region), so it is counted here, after every
 * input. */
static void check_pool(struct harness *h)
{
	const struct pbuf_pool *pool = &h->st->pool;
	uint32_t in_use = 0, held;

	for (int c = 0; c < PBUF_CLASSES; c++)
		in_use += pool->total[c] - pool->nfree[c];
	held = ip4_reasm_bufs(ip4_reasm_of(h->st)) + arp_queued(h->st) +
	       h->st->loopq.count;
	if (in_use != held) {
		fprintf(stderr,
			"pbuf leak: %u buffers in use, %u accounted for "
			"(reassembly %u, ARP %u, loopback %u)\n",
			in_use, held, ip4_reasm_bufs(ip4_reasm_of(h->st)),
			arp_queued(h->st), h->st->loopq.count);
		abort();
	}
}

/* USTACK_FUZZ_STATS=1: print the non-zero counters at exit, to see which
 * paths a corpus reaches (e.g. fuzz_frame -runs=0 corpus/). */
static struct harness *stats_of;
static void print_stats(void)
{
	for (int i = 0; i < us_stat_count(); i++)
		if (us_stat_get(stats_of->st, i))
			fprintf(
			    stderr, "%s %llu\n", us_stat_name(i),
			    (unsigned long long)us_stat_get(stats_of->st, i));
}

static uint64_t advance_ns(uint8_t b)
{
	if (b < 200)
		return b * US_NS_PER_MS;
	return (uint64_t)(b - 199) * 2 * US_NS_PER_S;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness *h;
	struct us_pbuf *p;

	if (!h) {
		h = harness_create();
		const char *env = getenv("USTACK_FUZZ_STATS");
		if (env && *env == '1') {
			stats_of = h;
			atexit(print_stats);
		}
	}
	if (size < 1)
		return 0;
	size_t len = size - 1 > MAX_FRAME ? MAX_FRAME : size - 1;

	p = stack_alloc(h->peer, (uint32_t)len);
	/* The peer is never polled and every frame it sends is freed on
	 * the other side: an empty pool here is a leak. */
	if (!p)
		abort();
	memcpy(p->data, data + 1, len);
	p->len = (uint32_t)len;
	stack_tx(h->peer, p);
	stack_tx_flush(h->peer);

	us_stack_poll(h->st, 0);
	echo(h);
	us_stack_poll(h->st, 0);
	h->clk.now_ns += advance_ns(data[0]);
	us_stack_poll(h->st, 0);
	echo(h);
	us_stack_poll(h->st, 0);
	echo(h);
	drain_link(h);
	check_pool(h);
	return 0;
}
