/* libFuzzer target: TCP conversations, past the handshake.
 *
 * Each input is a conversation with a fresh stack (so an input means the
 * same thing every time it runs): a list of records, each one frame from
 * the peer and what happens after it,
 *
 *   [clock][ctl][len_hi][len_lo][len bytes of Ethernet frame]
 *
 * clock: how far the virtual clock moves after the frame (0..199: that
 *        many ms; 200..255: (n - 199) * 2 s, enough for retransmission
 *        backoff, TIME_WAIT (MSL is 1 s here) and the FIN_WAIT_2 timeout);
 * ctl:   bit 0: keep the frame's checksums as they are (else the harness
 *        fills in correct IPv4 and TCP checksums, so mutations of the TCP
 *        header are not all stopped at the checksum check);
 *        bit 1: the applications shut down their sending side;
 *        bit 2: they close normally (FIN); bit 3: they abort (SO_LINGER
 *        0: RST); bit 4: they write 48 KiB each; bit 5: they stop
 *        reading until a record without it (the receive window closes).
 * A last record cut short takes what is left as its frame.
 *
 * The stack under test (10.0.0.2, MAC 02:00:00:00:00:0a) has a fixed
 * initial sequence number (FUZZ_ISN, the engine's test and fuzz hook) and
 * knows its peer's MAC before the first record, so fuzz input can
 * complete handshakes without seeing the stack's answers: a TCP echo
 * listener on port 7, a discard listener on port 9, and a connection of
 * its own from port 40000 to the peer's port 80 (its SYN is out before
 * the first record, so a SYN-ACK with ack FUZZ_ISN + 1 completes it).
 * Accepted connections echo (7) or discard (9) what they receive, the
 * client echoes. What the stack sends is dropped at the other end of the
 * pipe. tests/fuzz/make-tcp-corpus.py writes seeds in this format. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/stack.h"
#include "dev/dev.h"
#include "tcp/tcp_conn.h"
#include "ustack.h"

#define FUZZ_ISN 0x01000000u
#define MAX_FRAME (9000 + 14)
#define MAX_FDS 16
#define BULK (48 * 1024)

enum {
	CTL_RAW_CSUM = 1,
	CTL_SHUT_WR = 2,
	CTL_CLOSE = 4,
	CTL_ABORT = 8,
	CTL_BULK = 16,
	CTL_NO_READ = 32,
};

struct conv {
	struct us_vclock clk;
	struct us_stack *st;
	struct us_stack *peer; /* the other end of the pipe, never polled */
	int lfd[2];	       /* echo (7), discard (9) listeners */
	int fd[MAX_FDS];       /* connections: accepted, and the client */
	bool discard[MAX_FDS];
	int nfd;
	uint32_t states; /* bit per enum tcp_state some block was in */
};

static uint8_t buf[BULK];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Correct IPv4 header and TCP checksums in place, as far as the frame's
 * own length fields can be trusted; anything else is left alone. */
static void fix_csums(uint8_t *f, size_t len)
{
	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return;
	uint8_t *ip = f + 14;
	size_t ihl = (ip[0] & 0x0fu) * 4u;
	size_t tot = (size_t)(ip[2] << 8 | ip[3]);
	if (ihl < 20 || tot < ihl || 14 + tot > len)
		return;
	put16(ip + 10, 0);
	put16(ip + 10, fold(sum16(ip, ihl, 0)));
	if (ip[9] != 6 || tot - ihl < 20)
		return;
	uint8_t *t = ip + ihl;
	size_t tl = tot - ihl;
	uint8_t ph[12];
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)tl);
	put16(t + 16, 0);
	put16(t + 16, fold(sum16(t, tl, sum16(ph, 12, 0))));
}

static int tcp_listener(struct us_stack *st, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = us_socket(st, AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || us_bind(st, fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    us_listen(st, fd, 4) < 0 ||
	    us_fcntl(st, fd, F_SETFL, O_NONBLOCK) < 0)
		abort();
	return fd;
}

static void conv_open(struct conv *v)
{
	struct us_dev *a, *b;
	struct us_config c;

	memset(v, 0, sizeof(*v));
	if (us_pipe_create(&a, &b) < 0)
		abort();
	v->clk.now_ns = 1000 * US_NS_PER_S;
	us_config_init(&c);
	c.dev = a;
	c.ip = htonl(0x0a000002);
	c.prefix_len = 24;
	memcpy(c.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 0x0a}, 6);
	c.clock_now = vclock_now;
	c.clock_arg = &v->clk;
	c.seed = 1;
	c.no_garp = 1;
	c.log_level = -1;
	c.pool_small = 512;
	c.pool_medium = 8;
	c.pool_large = 4;
	c.tcp_msl_ms = 1000;
	c.tcp_fin_timeout_ms = 5000;
	c.tcp_max_syn_backlog = 8;
	c.tcp_retries = 3;
	c.tcp_rto_max_ms = 10000;
	c.tcp_rcvbuf = 64 * 1024;
	c.tcp_sndbuf = 64 * 1024;
	v->st = us_stack_create(&c);
	c.dev = b;
	c.ip = htonl(0x0a000001);
	c.mac[5] = 0x0b;
	c.mtu = 9000;
	c.tcp_rcvbuf = c.tcp_sndbuf = 0;
	v->peer = us_stack_create(&c);
	if (!v->st || !v->peer)
		abort();
	v->st->tcp->isn_fixed = true;
	v->st->tcp->isn = FUZZ_ISN;

	/* The peer's ARP request: the stack learns its MAC (RFC 826). */
	static const uint8_t arp[42] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2,  0, 0, 0, 0,
	    0x0b, 0x08, 0x06, 0,    1,	  0x08, 0,  6, 4, 0, 1,
	    2,	  0,	0,    0,    0,	  0x0b, 10, 0, 0, 1, 0,
	    0,	  0,	0,    0,    0,	  10,	0,  0, 2};
	struct us_pbuf *p = stack_alloc(v->peer, sizeof(arp));
	if (!p)
		abort();
	memcpy(p->data, arp, sizeof(arp));
	p->len = sizeof(arp);
	stack_tx(v->peer, p);
	stack_tx_flush(v->peer);
	us_stack_poll(v->st, 0);

	v->lfd[0] = tcp_listener(v->st, 7);
	v->lfd[1] = tcp_listener(v->st, 9);
	struct sockaddr_in la = {.sin_family = AF_INET,
				 .sin_port = htons(40000)};
	struct sockaddr_in ra = {.sin_family = AF_INET,
				 .sin_port = htons(80),
				 .sin_addr.s_addr = htonl(0x0a000001)};
	int fd = us_socket(v->st, AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || us_fcntl(v->st, fd, F_SETFL, O_NONBLOCK) < 0 ||
	    us_bind(v->st, fd, (struct sockaddr *)&la, sizeof(la)) < 0 ||
	    (us_connect(v->st, fd, (struct sockaddr *)&ra, sizeof(ra)) < 0 &&
	     errno != EINPROGRESS))
		abort();
	v->fd[v->nfd++] = fd;
	us_stack_poll(v->st, 0);
}

/* Frames the stack under test sent: taken off the link and dropped. */
static void drain_link(struct conv *v)
{
	struct us_dev *d = v->peer->dev;
	struct us_pbuf *p[64];
	int n;

	while ((n = d->ops->rx_burst(d, p, 64)) > 0)
		for (int i = 0; i < n; i++)
			pbuf_free(p[i]);
}

static void drop_fd(struct conv *v, int i)
{
	v->fd[i] = v->fd[--v->nfd];
	v->discard[i] = v->discard[v->nfd];
}

/* The applications: accept, echo or discard, and what ctl asks. */
static void apps(struct conv *v, uint8_t ctl)
{
	for (int k = 0; k < 2; k++) {
		int fd;
		while (v->nfd < MAX_FDS &&
		       (fd = us_accept(v->st, v->lfd[k], NULL, NULL)) >= 0) {
			us_fcntl(v->st, fd, F_SETFL, O_NONBLOCK);
			v->discard[v->nfd] = k == 1;
			v->fd[v->nfd++] = fd;
		}
	}
	for (int i = 0; i < v->nfd;) {
		int fd = v->fd[i];
		ssize_t n = 1;
		if (!(ctl & CTL_NO_READ)) {
			n = us_recv(v->st, fd, buf, 4096, 0);
			if (n > 0 && !v->discard[i])
				us_send(v->st, fd, buf, (size_t)n, 0);
		}
		if (ctl & CTL_BULK)
			us_send(v->st, fd, buf, sizeof(buf), 0);
		if (ctl & CTL_SHUT_WR)
			us_shutdown(v->st, fd, SHUT_WR);
		if (ctl & (CTL_CLOSE | CTL_ABORT) || n == 0) {
			if (ctl & CTL_ABORT) {
				struct linger lg = {1, 0};
				us_setsockopt(v->st, fd, SOL_SOCKET, SO_LINGER,
					      &lg, sizeof(lg));
			}
			us_close(v->st, fd);
			drop_fd(v, i);
			continue;
		}
		i++;
	}
}

static void note_states(struct conv *v)
{
	for (struct tcp_conn *c = v->st->tcp->all; c; c = c->anext)
		v->states |= 1u << c->state;
}

/* USTACK_FUZZ_STATS=1: per input, the TCP states reached and the non-zero
 * TCP counters, to see how far a corpus gets (fuzz_tcp -runs=0 DIR). */
static void print_stats(struct conv *v)
{
	fprintf(stderr, "states:");
	for (int s = 0; s < 11; s++)
		if (v->states & (1u << s))
			fprintf(stderr, " %s",
				tcp_state_name((enum tcp_state)s));
	fprintf(stderr, "\n");
	for (int i = 0; i < us_stat_count(); i++)
		if (us_stat_get(v->st, i) &&
		    !strncmp(us_stat_name(i), "tcp_", 4))
			fprintf(stderr, "  %s %llu\n", us_stat_name(i),
				(unsigned long long)us_stat_get(v->st, i));
}

/* After the conversation, with every socket closed and time run on far
 * enough for every timer (retries, TIME_WAIT, FIN_WAIT_2, reassembly, ARP)
 * to end: no connection block may be left, and every buffer must be back
 * in the pool (the pool is one mapping, so LeakSanitizer cannot see a
 * buffer lost on an error path; this can). A block left behind is a
 * connection a peer can keep alive by sending nothing at all. */
static void check_all_freed(struct conv *v)
{
	for (int i = 0; i < 100; i++) {
		v->clk.now_ns += 5 * US_NS_PER_S;
		us_stack_poll(v->st, 0);
		drain_link(v);
	}
	const struct tcp_conn *c = v->st->tcp->all;
	if (c) {
		fprintf(stderr,
			"TCP block left after 500 s: %u -> %u %s (timer mode %u%s, "
			"retries %u, snd_wnd %u, unsent %u, flight %u, mss %u)\n",
			c->lport, c->rport, tcp_state_name(c->state),
			c->rtx_mode,
			timer_pending(&c->rtx_timer) ? " pending" : "",
			c->retries, c->snd_wnd, tcp_unsent(c), tcp_flight(c),
			c->mss);
		abort();
	}
	const struct pbuf_pool *pool = &v->st->pool;
	uint32_t in_use = 0;
	for (int k = 0; k < PBUF_CLASSES; k++)
		in_use += pool->total[k] - pool->nfree[k];
	if (in_use != v->st->loopq.count) {
		fprintf(stderr, "pbuf leak: %u buffers in use\n", in_use);
		abort();
	}
}

static uint64_t advance_ns(uint8_t b)
{
	if (b < 200)
		return b * US_NS_PER_MS;
	return (uint64_t)(b - 199) * 2 * US_NS_PER_S;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conv v;

	conv_open(&v);
	while (size >= 2) {
		uint8_t clock = data[0], ctl = data[1];
		size_t len = size - 2;
		const uint8_t *f = data + 2;
		if (size >= 4) {
			size_t want = (size_t)(data[2] << 8 | data[3]);
			f = data + 4;
			len = want < size - 4 ? want : size - 4;
		}
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		struct us_pbuf *p = stack_alloc(v.peer, (uint32_t)len);
		/* The peer is never polled and every frame it sends is
		 * freed on the other side: an empty pool here is a leak. */
		if (!p)
			abort();
		memcpy(p->data, f, len);
		p->len = (uint32_t)len;
		if (!(ctl & CTL_RAW_CSUM))
			fix_csums(p->data, len);
		stack_tx(v.peer, p);
		stack_tx_flush(v.peer);

		us_stack_poll(v.st, 0);
		apps(&v, ctl);
		us_stack_poll(v.st, 0);
		note_states(&v);
		v.clk.now_ns += advance_ns(clock);
		us_stack_poll(v.st, 0);
		apps(&v, ctl & CTL_NO_READ);
		us_stack_poll(v.st, 0);
		note_states(&v);
		drain_link(&v);
		size_t used = (size_t)(f - data) + len;
		data += used;
		size -= used;
	}
	for (int i = 0; i < v.nfd; i++)
		us_close(v.st, v.fd[i]);
	us_close(v.st, v.lfd[0]);
	us_close(v.st, v.lfd[1]);
	us_stack_poll(v.st, 0);
	drain_link(&v);
	const char *env = getenv("USTACK_FUZZ_STATS");
	if (env && *env == '1')
		print_stats(&v);
	check_all_freed(&v);
	us_stack_destroy(v.st);
	us_stack_destroy(v.peer);
	return 0;
}
