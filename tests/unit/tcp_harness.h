/* A harness for TCP state-machine tests in the pattern of smoltcp's: put
 * a connection in a state, feed it one hand-built segment at a virtual
 * time, assert exactly what it sends back (or silence) and the state it
 * ends in.
 *
 * The stack under test (A, 10.0.0.2) sits on one end of a pipe; the
 * other end belongs to a stack B (10.0.0.1) that is never polled: the test
 * writes frames through B's device and reads what A sent from it. Frames
 * are built and parsed here with a checksum of the harness's own, and
 * every segment A sends has its checksum verified. A's initial sequence
 * number is fixed (the engine's test hook), so sequence numbers in tests
 * are exact. Include after <cmocka.h>. */
#ifndef TCP_HARNESS_H
#define TCP_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/stack.h"
#include "dev/dev.h"
#include "tcp/tcp_conn.h"
#include "ustack.h"

#define TH_IP_A 0x0a000002u /* host order */
#define TH_IP_B 0x0a000001u
#define TH_ISS 0x10000000u /* A's fixed ISN */
#define TH_IRS 0x50000000u /* B's ISN in the tests */
#define TH_PORT_A 80
#define TH_PORT_B 40000
#define TH_MAXF 16

static const uint8_t TH_MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t TH_MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};

/* A segment as seen on the wire. */
struct th_seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;
	uint16_t sport, dport;
	uint32_t len;
	uint8_t data[2048];
	int mss, ws; /* options; -1 when absent */
	bool sack_ok;
	bool ts; /* RFC 7323 timestamps option */
	uint32_t tsval, tsecr;
	int nsack; /* RFC 2018 SACK blocks, in the order sent */
	uint32_t sack[4][2];
};

struct th {
	struct us_vclock clk;
	struct us_stack *a, *b;
	struct tcp_conn *c, *l; /* connection under test, listener */
	uint16_t port_a, port_b;
	uint32_t irs; /* B's initial sequence number */
	uint32_t snd; /* B's next sequence number */
	uint32_t rcv; /* what B acknowledges */
	uint64_t t0;
	int rcvbuf; /* th_passive: the listener's SO_RCVBUF */
};

/* ---- frames ---------------------------------------------------------- */

static inline uint32_t th_sum(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static inline uint16_t th_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void th_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void th_put32(uint8_t *p, uint32_t v)
{
	th_put16(p, (uint16_t)(v >> 16));
	th_put16(p + 2, (uint16_t)v);
}

static inline uint16_t th_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t th_get32(const uint8_t *p)
{
	return (uint32_t)th_get16(p) << 16 | th_get16(p + 2);
}

static inline uint16_t th_tcp_csum(uint32_t src, uint32_t dst,
				   const uint8_t *tcp, uint32_t len)
{
	uint8_t ph[12];
	th_put32(ph, src);
	th_put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = 6;
	th_put16(ph + 10, (uint16_t)len);
	return th_fold(th_sum(tcp, len, th_sum(ph, 12, 0)));
}

/* Options B puts in a segment. */
struct th_opts {
	int mss; /* 0: none */
	int ws;	 /* -1: none */
	bool bad_csum;
	int doff; /* 0: computed; else the data offset field (words) */
	bool ts;  /* a timestamps option with these values */
	uint32_t tsval, tsecr;
	bool sack_perm; /* RFC 2018 SACK-permitted */
	int nsack;	/* SACK blocks sack[0..nsack) */
	uint32_t sack[4][2];
};

/* Send one frame from B to A and let A process it. */
static inline void th_inject_raw(struct th *h, uint8_t flags, uint32_t seq,
				 uint32_t ack, uint16_t wnd, const void *data,
				 uint32_t len, const struct th_opts *o)
{
	uint8_t f[2048];
	uint8_t opt[40];
	uint32_t olen = 0;

	if (o && o->mss) {
		opt[olen++] = 2;
		opt[olen++] = 4;
		th_put16(opt + olen, (uint16_t)o->mss);
		olen += 2;
	}
	if (o && o->ws >= 0) {
		opt[olen++] = 1;
		opt[olen++] = 3;
		opt[olen++] = 3;
		opt[olen++] = (uint8_t)o->ws;
	}
	if (o && o->ts) {
		opt[olen++] = 1;
		opt[olen++] = 1;
		opt[olen++] = 8;
		opt[olen++] = 10;
		th_put32(opt + olen, o->tsval);
		th_put32(opt + olen + 4, o->tsecr);
		olen += 8;
	}
	if (o && o->sack_perm) {
		opt[olen++] = 1;
		opt[olen++] = 1;
		opt[olen++] = 4;
		opt[olen++] = 2;
	}
	if (o && o->nsack) {
		opt[olen++] = 1;
		opt[olen++] = 1;
		opt[olen++] = 5;
		opt[olen++] = (uint8_t)(2 + 8 * o->nsack);
		for (int k = 0; k < o->nsack; k++) {
			th_put32(opt + olen, o->sack[k][0]);
			th_put32(opt + olen + 4, o->sack[k][1]);
			olen += 8;
		}
	}
	while (olen % 4)
		opt[olen++] = 0;
	uint32_t thl = 20 + olen;
	uint32_t tot = 20 + thl + len;
	assert_true(14 + tot <= sizeof(f));
	memset(f, 0, 14 + tot);
	memcpy(f, TH_MAC_A, 6);
	memcpy(f + 6, TH_MAC_B, 6);
	th_put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	th_put16(ip + 2, (uint16_t)tot);
	ip[8] = 64;
	ip[9] = 6;
	th_put32(ip + 12, TH_IP_B);
	th_put32(ip + 16, TH_IP_A);
	th_put16(ip + 10, th_fold(th_sum(ip, 20, 0)));
	uint8_t *t = ip + 20;
	th_put16(t, h->port_b);
	th_put16(t + 2, h->port_a);
	th_put32(t + 4, seq);
	th_put32(t + 8, ack);
	t[12] = (uint8_t)(((o && o->doff) ? (uint32_t)o->doff : thl / 4) << 4);
	t[13] = flags;
	th_put16(t + 14, wnd);
	memcpy(t + 20, opt, olen);
	if (len)
		memcpy(t + thl, data, len);
	uint16_t cs = th_tcp_csum(TH_IP_B, TH_IP_A, t, thl + len);
	if (o && o->bad_csum)
		cs ^= 0x5555;
	th_put16(t + 16, cs);

	struct us_pbuf *p = pbuf_alloc(&h->b->pool, 14 + tot, 0);
	assert_non_null(p);
	memcpy(p->data, f, 14 + tot);
	p->len = 14 + tot;
	h->b->dev->ops->tx_burst(h->b->dev, &p, 1);
	us_stack_poll(h->a, 0);
}

/* The usual case: B offers a window of 65535 and sends no options. */
static inline void th_inject(struct th *h, uint8_t flags, uint32_t seq,
			     uint32_t ack, const void *data, uint32_t len)
{
	th_inject_raw(h, flags, seq, ack, 65535, data, len, NULL);
}

/* An ARP frame from B (op 1 request, 2 reply) to A about B's address. */
static inline void th_arp(struct th *h, uint16_t op)
{
	uint8_t f[42] = {0};

	memcpy(f,
	       op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : TH_MAC_A,
	       6);
	memcpy(f + 6, TH_MAC_B, 6);
	th_put16(f + 12, 0x0806);
	th_put16(f + 14, 1);
	th_put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	th_put16(f + 20, op);
	memcpy(f + 22, TH_MAC_B, 6);
	th_put32(f + 28, TH_IP_B);
	if (op == 2)
		memcpy(f + 32, TH_MAC_A, 6);
	th_put32(f + 38, TH_IP_A);
	struct us_pbuf *p = pbuf_alloc(&h->b->pool, sizeof(f), 0);
	assert_non_null(p);
	memcpy(p->data, f, sizeof(f));
	p->len = sizeof(f);
	h->b->dev->ops->tx_burst(h->b->dev, &p, 1);
	us_stack_poll(h->a, 0);
}

/* The next TCP segment A sent, or false. ARP requests for B (A's cache
 * entry aged out during a long virtual wait) are answered on the way. */
static inline bool th_out(struct th *h, struct th_seg *s)
{
	struct us_dev *d = h->b->dev;
	struct us_pbuf *p;

	stack_tx_flush(h->a);
	for (;;) {
		if (d->ops->rx_burst(d, &p, 1) != 1)
			return false;
		if (p->len >= 14 + 40 && th_get16(p->data + 12) == 0x0800 &&
		    p->data[14 + 9] == 6)
			break;
		bool ask = p->len >= 42 && th_get16(p->data + 12) == 0x0806 &&
			   th_get16(p->data + 20) == 1 &&
			   th_get32(p->data + 38) == TH_IP_B;
		pbuf_free(p);
		if (ask) {
			th_arp(h, 2);
			stack_tx_flush(h->a);
		}
	}
	const uint8_t *ip = p->data + 14;
	uint32_t ihl = (ip[0] & 0xf) * 4u, tot = th_get16(ip + 2);
	const uint8_t *t = ip + ihl;
	uint32_t tl = tot - ihl, doff = (t[12] >> 4) * 4u;
	assert_int_equal(th_get32(ip + 12), TH_IP_A);
	assert_int_equal(th_get32(ip + 16), TH_IP_B);
	assert_int_equal(th_tcp_csum(TH_IP_A, TH_IP_B, t, tl), 0);
	memset(s, 0, sizeof(*s));
	s->sport = th_get16(t);
	s->dport = th_get16(t + 2);
	s->seq = th_get32(t + 4);
	s->ack = th_get32(t + 8);
	s->flags = t[13];
	s->wnd = th_get16(t + 14);
	s->len = tl - doff;
	s->mss = s->ws = -1;
	memcpy(s->data, t + doff, s->len);
	for (uint32_t i = 20; i < doff;) {
		uint8_t k = t[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (k == 2)
			s->mss = th_get16(t + i + 2);
		if (k == 3)
			s->ws = t[i + 2];
		if (k == 4)
			s->sack_ok = true;
		if (k == 5) {
			for (int b = 0; b < (t[i + 1] - 2) / 8 && b < 4; b++) {
				s->sack[b][0] = th_get32(t + i + 2 + 8 * b);
				s->sack[b][1] = th_get32(t + i + 6 + 8 * b);
				s->nsack++;
			}
		}
		if (k == 8 && t[i + 1] == 10) {
			s->ts = true;
			s->tsval = th_get32(t + i + 2);
			s->tsecr = th_get32(t + i + 6);
		}
		i += t[i + 1];
	}
	pbuf_free(p);
	return true;
}

/* Assert the next segment's flags, seq and ack; returns it in *s. */
#define TH_EXPECT(h, s, fl, sq, ak)                                            \
	do {                                                                   \
		assert_true(th_out((h), (s)));                                 \
		assert_int_equal((s)->flags, (fl));                            \
		assert_int_equal((s)->seq, (uint32_t)(sq));                    \
		assert_int_equal((s)->ack, (uint32_t)(ak));                    \
	} while (0)

/* A sent nothing. */
static inline void th_none(struct th *h)
{
	struct th_seg s;
	bool any = th_out(h, &s);
	if (any)
		fprintf(stderr,
			"unexpected segment: flags %#x seq %u ack %u "
			"len %u\n",
			s.flags, s.seq, s.ack, s.len);
	assert_false(any);
}

/* Move A's virtual clock to t0 + ms and run what is due. */
static inline void th_at_ms(struct th *h, uint64_t ms)
{
	uint64_t t = h->t0 + ms * US_NS_PER_MS;
	assert_true(t >= h->clk.now_ns);
	h->clk.now_ns = t;
	us_stack_poll(h->a, 0);
}

static inline uint64_t th_now_ms(const struct th *h)
{
	return (h->clk.now_ns - h->t0) / US_NS_PER_MS;
}

static inline uint64_t th_stat(struct th *h, const char *name)
{
	return us_stat_byname(h->a, name);
}

/* ---- set-up ----------------------------------------------------------- */

/* cfg may adjust A's configuration (NULL: defaults). */
static inline struct th *th_new(void (*cfg)(struct us_config *))
{
	struct th *h = calloc(1, sizeof(*h));
	struct us_dev *da, *db;
	struct us_config ca, cb;

	assert_non_null(h);
	assert_int_equal(us_pipe_create(&da, &db), 0);
	h->clk.now_ns = 1000 * US_NS_PER_S;
	h->t0 = h->clk.now_ns;
	us_config_init(&ca);
	ca.dev = da;
	ca.ip = htonl(TH_IP_A);
	ca.prefix_len = 24;
	memcpy(ca.mac, TH_MAC_A, 6);
	ca.clock_now = vclock_now;
	ca.clock_arg = &h->clk;
	ca.seed = 1;
	ca.no_garp = 1;
	ca.log_level = US_LOG_ERROR;
	cb = ca;
	cb.dev = db;
	cb.ip = htonl(TH_IP_B);
	memcpy(cb.mac, TH_MAC_B, 6);
	if (cfg)
		cfg(&ca);
	h->a = us_stack_create(&ca);
	h->b = us_stack_create(&cb);
	assert_non_null(h->a);
	assert_non_null(h->b);
	h->a->tcp->isn_fixed = true;
	h->a->tcp->isn = TH_ISS;
	h->port_a = TH_PORT_A;
	h->port_b = TH_PORT_B;
	h->irs = TH_IRS;

	/* B asks for A's MAC: A learns B's on the way (RFC 826 merge). */
	th_arp(h, 1);
	struct th_seg s;
	assert_false(th_out(h, &s)); /* the ARP reply is skipped */
	return h;
}

static inline void th_free(struct th *h)
{
	if (h->c)
		tcp_close(h->a, h->c, true);
	if (h->l)
		tcp_close(h->a, h->l, false);
	us_stack_destroy(h->a);
	us_stack_destroy(h->b);
	free(h);
}

/* A listens on its port. */
static inline void th_listen(struct th *h, int backlog)
{
	struct inaddr any = inaddr_from_v4(0);
	h->l = tcp_conn_new(h->a);
	assert_non_null(h->l);
	assert_int_equal(tcp_bind(h->a, h->l, &any, h->port_a, false), 0);
	if (h->rcvbuf)
		assert_int_equal(tcp_setopt(h->a, h->l, SOL_SOCKET, SO_RCVBUF,
					    &h->rcvbuf, sizeof(int)),
				 0);
	assert_int_equal(tcp_listen(h->a, h->l, backlog), 0);
}

/* The child for B's port, in A's tables (any state). */
static inline struct tcp_conn *th_find(struct th *h)
{
	struct inaddr la = inaddr_from_v4(htonl(TH_IP_A));
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	return tcp_lookup(h->a, &la, h->port_a, &ra, h->port_b);
}

/* B's SYN to the listener; A's SYN-ACK is checked. ws: B's window scale
 * option (-1: none). */
static inline void th_syn(struct th *h, int ws)
{
	struct th_opts o = {.mss = 1460, .ws = ws};
	struct th_seg s;

	th_inject_raw(h, TCP_SYN, h->irs, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, h->a->tcp->isn, h->irs + 1);
	h->snd = h->irs + 1;
	h->rcv = h->a->tcp->isn + 1;
}

/* A passive open completed: h->c is ESTABLISHED and accepted. */
static inline void th_passive(struct th *h, int ws)
{
	int err;

	th_listen(h, 8);
	th_syn(h, ws);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	th_none(h);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
}

/* A's active open to B: h->c in SYN-SENT, its SYN checked. */
static inline void th_connect(struct th *h)
{
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	struct th_seg s;

	/* The roles swap: A's port is the client's. */
	h->c = tcp_conn_new(h->a);
	assert_non_null(h->c);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, h->a->tcp->isn, 0);
	assert_int_equal(s.mss, 1460);
	assert_true(s.ws >= 0);
	assert_int_equal(h->c->state, TCP_SYN_SENT);
	h->rcv = h->a->tcp->isn + 1;
}

/* A's active open completed (B offers no window scale). */
static inline void th_active(struct th *h)
{
	struct th_opts o = {.mss = 1460, .ws = -1};
	struct th_seg s;

	th_connect(h);
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, h->a->tcp->isn + 1, 65535,
		      NULL, 0, &o);
	h->snd = h->irs + 1;
	TH_EXPECT(h, &s, TCP_ACK, h->a->tcp->isn + 1, h->snd);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
}

/* B sends len bytes of data at its next sequence number. */
static inline void th_data(struct th *h, const void *d, uint32_t len)
{
	th_inject(h, TCP_ACK | TCP_PSH, h->snd, h->rcv, d, len);
	h->snd += len;
}

#endif
