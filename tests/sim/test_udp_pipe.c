/* UDP between two stacks on a pipe link, on a virtual clock: first
 * contact through ARP, every datagram size up to the maximum in both
 * directions, impaired links (every size from 1 to 65507 bytes through
 * reordering, duplication and delay; corruption caught by the checksums),
 * unreachable next hops, closed ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sim/sim.h"
#include "core/stack.h"
#include "net/arp.h"
#include "net/eth.h"
#include "wire/arp.h"
#include "wire/eth.h"
#include "wire/udp.h"

#define PORT_A 5000
#define PORT_B 6000

static uint8_t pattern_byte(uint32_t tag, uint32_t i)
{
	uint32_t x = tag * 2654435761u + i * 40503u;
	return (uint8_t)(x ^ (x >> 13) ^ (i >> 8));
}

static void fill(uint8_t *buf, uint32_t n, uint32_t tag)
{
	for (uint32_t i = 0; i < n; i++)
		buf[i] = pattern_byte(tag, i);
}

static bool intact(const uint8_t *buf, uint32_t n, uint32_t tag)
{
	for (uint32_t i = 0; i < n; i++)
		if (buf[i] != pattern_byte(tag, i))
			return false;
	return true;
}

/* A socket with a datagram waiting. */
struct readable_arg {
	struct us_stack *st;
	int fd;
};

static bool readable(struct sim *s, void *arg)
{
	struct readable_arg *r = arg;
	uint8_t b;
	(void)s;
	return us_recv(r->st, r->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static void run_until_readable(struct sim *s, struct us_stack *st, int fd,
			       uint64_t max_ns)
{
	struct readable_arg r = {st, fd};
	assert_true(sim_run_until(s, readable, &r, max_ns));
}

static struct sim *setup_sim(const struct sim_opts *o)
{
	struct sim *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	assert_int_equal(sim_init(s, o), 0);
	return s;
}

static void teardown_sim(struct sim *s)
{
	sim_fini(s);
	free(s);
}

static void test_first_contact(void **state)
{
	struct sim *s = setup_sim(NULL);
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B), from;
	socklen_t flen = sizeof(from);
	uint8_t buf[100], rbuf[200];
	uint8_t mac[6];

	(void)state;
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(arp_lookup(s->a, sim_ip(SIM_IP_B), mac), ARP_NONE);
	fill(buf, sizeof(buf), 1);
	/* Non-blocking: queued behind the ARP request, success at once. */
	assert_int_equal(us_sendto(s->a, fa, buf, sizeof(buf), 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 sizeof(buf));
	assert_int_equal(arp_lookup(s->a, sim_ip(SIM_IP_B), mac), ARP_PENDING);
	assert_int_equal(sim_stat(s->a, "udp_tx"), 1);

	run_until_readable(s, s->b, fb, 100 * SIM_MS);
	assert_int_equal(arp_lookup(s->a, sim_ip(SIM_IP_B), mac), ARP_RESOLVED);
	assert_int_equal(sim_stat(s->a, "arp_tx_request"), 1);
	assert_int_equal(sim_stat(s->b, "arp_tx_reply"), 1);
	assert_true(sim_stat(s->b, "arp_rx") >= 1);
	assert_true(sim_stat(s->a, "arp_rx") >= 1);

	assert_int_equal(us_recvfrom(s->b, fb, rbuf, sizeof(rbuf), 0,
				     (struct sockaddr *)&from, &flen),
			 sizeof(buf));
	assert_memory_equal(rbuf, buf, sizeof(buf));
	assert_int_equal(flen, sizeof(from));
	assert_int_equal(from.sin_family, AF_INET);
	assert_int_equal(from.sin_addr.s_addr, sim_ip(SIM_IP_A));
	assert_int_equal(ntohs(from.sin_port), PORT_A);
	assert_int_equal(sim_stat(s->b, "udp_rx"), 1);

	/* The answer needs no ARP: B learnt A from the request. */
	assert_int_equal(
	    us_sendto(s->b, fb, "pong", 4, 0, (struct sockaddr *)&from, flen),
	    4);
	run_until_readable(s, s->a, fa, 10 * SIM_MS);
	assert_int_equal(us_recv(s->a, fa, rbuf, sizeof(rbuf), 0), 4);
	assert_memory_equal(rbuf, "pong", 4);
	assert_int_equal(sim_stat(s->b, "arp_tx_request"), 0);
	teardown_sim(s);
}

static const uint32_t sizes[] = {0,    1,    2,	    100,   1472, 1473,
				 1480, 8000, 30000, 65000, 65507};

static void exchange_sizes(struct sim *s, struct us_stack *tx, int ftx,
			   struct us_stack *rx, int frx, const char *rx_ip,
			   uint16_t rx_port, uint32_t tag0)
{
	static uint8_t buf[65536], rbuf[65536 + 16];
	struct sockaddr_in to = sim_sin(rx_ip, rx_port);

	for (size_t i = 0; i < US_ARRAY_SIZE(sizes); i++) {
		uint32_t n = sizes[i];
		fill(buf, n, tag0 + n);
		assert_int_equal(us_sendto(tx, ftx, buf, n, 0,
					   (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)n);
		run_until_readable(s, rx, frx, SIM_S);
		memset(rbuf, 0, sizeof(rbuf));
		ssize_t r = us_recv(rx, frx, rbuf, sizeof(rbuf), 0);
		if (r != (ssize_t)n)
			fail_msg("size %u: received %zd", n, r);
		if (!intact(rbuf, n, tag0 + n))
			fail_msg("size %u: content differs", n);
		/* Exactly one datagram per send. */
		assert_int_equal(us_recv(rx, frx, rbuf, 1, MSG_DONTWAIT), -1);
		assert_int_equal(errno, EAGAIN);
	}
}

static void test_sizes_both_ways(void **state)
{
	struct sim *s = setup_sim(NULL);
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	static uint8_t big[65600];
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B);

	(void)state;
	exchange_sizes(s, s->a, fa, s->b, fb, SIM_IP_B, PORT_B, 100);
	exchange_sizes(s, s->b, fb, s->a, fa, SIM_IP_A, PORT_A, 200);
	/* 65507 is the most an IPv4 datagram carries. */
	assert_int_equal(us_sendto(s->a, fa, big, 65508, 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(us_sendto(s->a, fa, big, 65536, 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_true(sim_stat(s->a, "ip4_frag_tx") > 0);
	assert_true(sim_stat(s->b, "frag_reassembled") > 0);
	assert_int_equal(sim_stat(s->a, "udp_drop_csum"), 0);
	assert_int_equal(sim_stat(s->b, "udp_drop_csum"), 0);
	teardown_sim(s);
}

static void min_mtu_tweak(struct us_config *cfg, int side, void *arg)
{
	(void)side;
	(void)arg;
	cfg->mtu = 576; /* the smallest MTU a stack accepts */
}

/* First contact with the largest datagram at the smallest MTU: all of its
 * 119 fragments wait behind one ARP resolution, none is dropped, and the
 * datagram arrives whole. */
static void test_first_contact_max_datagram_min_mtu(void **state)
{
	struct sim_opts o = {.tweak = min_mtu_tweak};
	struct sim *s = setup_sim(&o);
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	static uint8_t buf[UDP_MAX_PAYLOAD], rbuf[65536];
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B);

	(void)state;
	fill(buf, sizeof(buf), 7);
	assert_int_equal(us_sendto(s->a, fa, buf, sizeof(buf), 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 sizeof(buf));
	run_until_readable(s, s->b, fb, 100 * SIM_MS);
	assert_int_equal(us_recv(s->b, fb, rbuf, sizeof(rbuf), 0), sizeof(buf));
	assert_true(intact(rbuf, sizeof(buf), 7));
	assert_int_equal(sim_stat(s->a, "ip4_frag_tx"), 119);
	assert_int_equal(sim_stat(s->a, "arp_drop_queue_full"), 0);
	assert_int_equal(sim_stat(s->a, "arp_tx_request"), 1);
	teardown_sim(s);
}

/* The receiver's side of an impaired run: every datagram carries its
 * sequence number and length and is checked as it arrives. */
struct collector {
	struct us_stack *st;
	int fd;
	uint32_t n;	/* datagrams sent */
	uint32_t *seen; /* times each arrived */
	uint32_t received, dups, bad;
};

static void drain(struct collector *c)
{
	static uint8_t rbuf[65536];
	ssize_t r;

	while ((r = us_recv(c->st, c->fd, rbuf, sizeof(rbuf), 0)) >= 0) {
		uint32_t seq, len;
		if (r < 8) {
			c->bad++;
			continue;
		}
		seq = rd32(rbuf);
		len = rd32(rbuf + 4);
		if (seq >= c->n || len != (uint32_t)r ||
		    !intact(rbuf + 8, len - 8, seq)) {
			c->bad++;
			continue;
		}
		if (c->seen[seq]++)
			c->dups++;
		else
			c->received++;
	}
	assert_int_equal(errno, EAGAIN);
}

static bool drain_cond(struct sim *s, void *arg)
{
	(void)s;
	drain(arg);
	return false;
}

/* Send n datagrams A -> B, one per millisecond of virtual time, sizes
 * from 8 to max_size, and collect at B. */
static void impaired_run(struct sim *s, struct collector *c, uint32_t n,
			 uint32_t max_size)
{
	static uint8_t buf[65536];
	int fa = sim_udp(s->a, PORT_A, false);
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B);

	c->st = s->b;
	c->fd = sim_udp(s->b, PORT_B, false);
	c->n = n;
	c->seen = calloc(n, sizeof(*c->seen));
	assert_true(fa >= 0 && c->fd >= 0 && c->seen);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = 8 + (i * 7919u) % (max_size - 7);
		wr32(buf, i);
		wr32(buf + 4, len);
		fill(buf + 8, len - 8, i);
		assert_int_equal(us_sendto(s->a, fa, buf, len, 0,
					   (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)len);
		sim_run_until(s, drain_cond, c, SIM_MS);
	}
	sim_run_until(s, drain_cond, c, 5 * SIM_S);
	drain(c);
}

static void test_dup_reorder_delay(void **state)
{
	struct us_impair imp = {
	    .seed = 11,
	    .dup = 0.05,
	    .reorder = 0.1,
	    .delay_us = 5000,
	    .jitter_us = 2000,
	};
	struct sim_opts o = {.imp_a = &imp, .imp_b = &imp};
	struct sim *s = setup_sim(&o);
	struct collector c = {0};
	const uint32_t n = 400;

	(void)state;
	impaired_run(s, &c, n, 4000);
	/* No loss: every datagram arrives, whole, perhaps more than once. */
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.received, n);
	struct us_impair_stats is;
	assert_int_equal(us_impair_stats(s->da, &is), 0);
	print_message("dup/reorder: %u duplicates seen; A's link duplicated "
		      "%llu and reordered %llu frames\n",
		      c.dups, (unsigned long long)is.dup,
		      (unsigned long long)is.reorder);
	assert_true(is.dup > 0 && is.reorder > 0);
	assert_int_equal(sim_stat(s->b, "udp_drop_csum"), 0);
	assert_int_equal(sim_stat(s->b, "udp_drop_rcvbuf"), 0);
	free(c.seen);
	teardown_sim(s);
}

/* Distinct sizes from 1 to 65507 bytes, so that a datagram's length says
 * which one it is: the smallest; each fragment boundary at MTU 1500 (a
 * datagram of k * 1480 - 8 bytes fills k fragments exactly) and both its
 * neighbours; a pseudo-random spread; and the largest, which take 45
 * fragments. In a shuffled order. */
static uint32_t size_set(uint32_t *out)
{
	static bool used[UDP_MAX_PAYLOAD + 1];
	uint32_t n = 0, v;

#define ADD(x)                                                                 \
	do {                                                                   \
		v = (x);                                                       \
		if (v >= 1 && v <= UDP_MAX_PAYLOAD && !used[v]) {              \
			used[v] = true;                                        \
			out[n++] = v;                                          \
		}                                                              \
	} while (0)
	memset(used, 0, sizeof(used));
	for (uint32_t i = 1; i <= 16; i++)
		ADD(i);
	for (uint32_t k = 1; k <= 45; k++) {
		ADD(k * 1480 - 9);
		ADD(k * 1480 - 8);
		ADD(k * 1480 - 7);
	}
	for (uint32_t i = 0; i < 150; i++)
		ADD(1 + (uint32_t)((i * 2654435761ull) % UDP_MAX_PAYLOAD));
	/* 45 fragments: more than 44 * 1480 - 8 bytes. */
	for (v = 44 * 1480 - 7; v < UDP_MAX_PAYLOAD; v += 41)
		ADD(v);
	ADD(UDP_MAX_PAYLOAD - 1);
	ADD(UDP_MAX_PAYLOAD);
#undef ADD
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j =
		    (uint32_t)((i * 0x9e3779b97f4a7c15ull) >> 40) % (i + 1);
		uint32_t t = out[i];
		out[i] = out[j];
		out[j] = t;
	}
	return n;
}

/* The receiver of a sized run: each datagram is told by its length. */
struct by_len {
	struct us_stack *st;
	int fd;
	uint32_t seen[UDP_MAX_PAYLOAD + 1];
	uint32_t received, dups, bad;
};

static bool drain_by_len(struct sim *s, void *arg)
{
	static uint8_t rbuf[65536];
	struct by_len *c = arg;
	ssize_t r;

	(void)s;
	while ((r = us_recv(c->st, c->fd, rbuf, sizeof(rbuf), 0)) >= 0) {
		if (r < 1 || r > UDP_MAX_PAYLOAD ||
		    !intact(rbuf, (uint32_t)r, (uint32_t)r)) {
			c->bad++;
			continue;
		}
		if (c->seen[r]++)
			c->dups++;
		else
			c->received++;
	}
	assert_int_equal(errno, EAGAIN);
	return false;
}

static void sized_run(struct sim *s, struct us_stack *tx, struct us_stack *rx,
		      const char *rx_ip, const uint32_t *sizes_, uint32_t n,
		      struct by_len *c)
{
	static uint8_t buf[65536];
	int ftx = sim_udp(tx, 0, false);
	struct sockaddr_in to = sim_sin(rx_ip, PORT_B);
	int big = 8 << 20;

	memset(c, 0, sizeof(*c));
	c->st = rx;
	c->fd = sim_udp(rx, PORT_B, false);
	assert_true(ftx >= 0 && c->fd >= 0);
	/* Room for a burst of the largest datagrams: what is measured is
	 * the network layer, not the socket's buffer. */
	assert_int_equal(
	    us_setsockopt(rx, c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)),
	    0);
	/* First contact (ARP) before the run: a burst of 45-fragment
	 * datagrams would overflow the queue of packets waiting for it. */
	struct sockaddr_in warm = sim_sin(rx_ip, PORT_B + 1);
	assert_int_equal(us_sendto(tx, ftx, "x", 1, 0, (struct sockaddr *)&warm,
				   sizeof(warm)),
			 1);
	sim_run(s, 100 * SIM_MS);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = sizes_[i];
		fill(buf, len, len);
		assert_int_equal(us_sendto(tx, ftx, buf, len, 0,
					   (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)len);
		sim_run_until(s, drain_by_len, c, SIM_MS);
	}
	sim_run_until(s, drain_by_len, c, 5 * SIM_S);
	drain_by_len(s, c);
	us_close(tx, ftx);
	us_close(rx, c->fd);
}

static void test_all_sizes_dup_reorder_delay(void **state)
{
	struct us_impair imp = {
	    .seed = 23,
	    .dup = 0.05,
	    .reorder = 0.1,
	    .delay_us = 5000,
	    .jitter_us = 2000,
	};
	struct sim_opts o = {.imp_a = &imp, .imp_b = &imp};
	struct sim *s = setup_sim(&o);
	static uint32_t set[512];
	static struct by_len c;
	uint32_t n = size_set(set), n45 = 0;

	(void)state;
	for (uint32_t i = 0; i < n; i++)
		n45 += set[i] > 44 * 1480 - 8;
	assert_true(n > 250 && n45 >= 10);
	/* Both ways: A's fragments meet B's impaired link on the way back
	 * only as ARP, so each direction gets its own run. */
	sized_run(s, s->a, s->b, SIM_IP_B, set, n, &c);
	print_message("A->B: %u sizes (%u of 45 fragments), %u arrived, %u "
		      "twice; B: frag_dup %llu\n",
		      n, n45, c.received, c.dups,
		      (unsigned long long)sim_stat(s->b, "frag_dup"));
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.received, n);
	for (uint32_t i = 0; i < n; i++)
		assert_true(c.seen[set[i]] >= 1);
	sized_run(s, s->b, s->a, SIM_IP_A, set, n, &c);
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.received, n);

	struct us_impair_stats is;
	assert_int_equal(us_impair_stats(s->da, &is), 0);
	assert_true(is.dup > 0 && is.reorder > 0);
	/* Duplicated fragments are recognised as such; they never kill a
	 * datagram (that would be a loss, and there is none here). */
	assert_true(sim_stat(s->b, "frag_dup") > 0);
	assert_int_equal(sim_stat(s->a, "frag_drop_overlap"), 0);
	assert_int_equal(sim_stat(s->b, "frag_drop_overlap"), 0);
	assert_int_equal(sim_stat(s->b, "frag_drop_mem"), 0);
	assert_int_equal(sim_stat(s->b, "udp_drop_csum"), 0);
	assert_int_equal(sim_stat(s->b, "udp_drop_rcvbuf"), 0);
	teardown_sim(s);
}

/* Teach st that ip is at mac, as an ARP request for st's address from it
 * would. ARP carries no checksum, so a corrupted ARP packet cannot be
 * told from a true one: the corruption test makes its mappings this way
 * and corrupts only what carries a checksum. */
static void arp_seed(struct us_stack *st, uint32_t ip, const uint8_t mac[6])
{
	struct us_pbuf *p = pbuf_alloc(&st->pool, ETH_HDR_LEN + ARP_PKT_LEN, 0);
	struct eth_hdr e;
	struct arp_pkt a;

	assert_non_null(p);
	memcpy(e.dst, st->mac, 6);
	memcpy(e.src, mac, 6);
	e.type = ETH_P_ARPT;
	eth_emit(p->data, &e);
	arp_pkt_set(&a, ARP_OP_REQUEST, mac, ip, NULL, st->ip);
	arp_emit(p->data + ETH_HDR_LEN, &a);
	p->len = ETH_HDR_LEN + ARP_PKT_LEN;
	eth_input(st, p);
}

static void test_corruption_caught(void **state)
{
	/* Everything A sends has one byte flipped past its Ethernet
	 * header. */
	struct us_impair imp = {.seed = 3, .corrupt = 1.0, .delay_us = 100};
	struct sim_opts o = {.imp_a = &imp};
	struct sim *s = setup_sim(&o);
	static uint8_t buf[8000], rbuf[65536];
	uint8_t mac_a[6], mac_b[6];
	int fa = sim_udp(s->a, PORT_A, false),
	    fb = sim_udp(s->b, PORT_B, false);
	int fc = sim_udp(s->b, 0, false);
	struct sockaddr_in to_b = sim_sin(SIM_IP_B, PORT_B);
	struct sockaddr_in closed_a = sim_sin(SIM_IP_A, 7777);
	uint32_t delivered = 0;
	ssize_t r;

	(void)state;
	assert_true(fa >= 0 && fb >= 0 && fc >= 0);
	us_stack_mac(s->a, mac_a);
	us_stack_mac(s->b, mac_b);
	arp_seed(s->a, sim_ip(SIM_IP_B), mac_b);
	arp_seed(s->b, sim_ip(SIM_IP_A), mac_a);
	sim_run(s, 10 * SIM_MS);

	/* UDP from A, one fragment to six: each corrupted frame must be
	 * caught by the IPv4 header checksum or the UDP checksum (over the
	 * reassembled datagram). */
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t len = 1 + (i * 7919u) % sizeof(buf);
		fill(buf, len, len);
		assert_int_equal(us_sendto(s->a, fa, buf, len, 0,
					   (struct sockaddr *)&to_b,
					   sizeof(to_b)),
				 (ssize_t)len);
		sim_run(s, 2 * SIM_MS);
		/* A flip that turns the checksum field into 0 ("none")
		 * lets the intact data through: allowed, and checked. */
		while ((r = us_recv(s->b, fb, rbuf, sizeof(rbuf), 0)) >= 0) {
			assert_true(intact(rbuf, (uint32_t)r, (uint32_t)r));
			delivered++;
		}
	}
	/* ICMP from A: port unreachable for B's datagrams to a closed port,
	 * 20 ms apart to stay under A's rate limit. A connected socket would
	 * report ECONNREFUSED for any that got through. */
	assert_int_equal(us_connect(s->b, fc, (struct sockaddr *)&closed_a,
				    sizeof(closed_a)),
			 0);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(us_send(s->b, fc, buf, 1 + i, 0),
				 (ssize_t)(1 + i));
		sim_run(s, 20 * SIM_MS);
	}
	assert_int_equal(us_recv(s->b, fc, rbuf, sizeof(rbuf), 0), -1);
	assert_int_equal(errno, EAGAIN);

	uint64_t ip_csum = sim_stat(s->b, "ip4_drop_csum");
	uint64_t udp_csum = sim_stat(s->b, "udp_drop_csum");
	uint64_t icmp_csum = sim_stat(s->b, "icmp_drop_csum");
	print_message("corrupt: A sent %llu IPv4 packets; B dropped ip4 %llu, "
		      "udp %llu, icmp %llu on checksums; %u datagrams "
		      "delivered intact\n",
		      (unsigned long long)sim_stat(s->a, "ip4_tx"),
		      (unsigned long long)ip_csum, (unsigned long long)udp_csum,
		      (unsigned long long)icmp_csum, delivered);
	assert_int_equal(sim_stat(s->a, "icmp_unreach_tx"), 100);
	assert_true(ip_csum > 0 && udp_csum > 0 && icmp_csum > 0);
	assert_int_equal(sim_stat(s->b, "icmp_err_rx"), 0);
	assert_true(delivered <= 2);
	struct us_impair_stats is;
	assert_int_equal(us_impair_stats(s->da, &is), 0);
	assert_int_equal(is.corrupt, sim_stat(s->a, "dev_tx_frames"));
	teardown_sim(s);
}

static void test_loss(void **state)
{
	struct us_impair imp = {.seed = 5, .loss = 0.03, .delay_us = 1000};
	struct sim_opts o = {.imp_a = &imp};
	struct sim *s = setup_sim(&o);
	struct collector c = {0};
	const uint32_t n = 600;

	(void)state;
	/* Up to 3000 bytes: one to three fragments each. */
	impaired_run(s, &c, n, 3000);
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.dups, 0);
	uint64_t dropped = us_impair_dropped(s->da);
	print_message("loss: %u of %u datagrams arrived, %llu frames lost\n",
		      c.received, n, (unsigned long long)dropped);
	assert_true(dropped > 0);
	/* A lost frame costs at most its datagram. */
	assert_true(c.received < n);
	assert_true(c.received + dropped >= n);
	/* With 3% frame loss and <= 3 frames a datagram, well over 85%. */
	assert_true(c.received >= n * 85 / 100);
	free(c.seen);
	teardown_sim(s);
}

static void test_unresolvable_blocking(void **state)
{
	struct sim *s = setup_sim(NULL);
	int fd = sim_udp(s->a, 0, true);
	struct sockaddr_in to = sim_sin("10.0.0.99", 9);
	uint64_t t0 = sim_now(s);

	(void)state;
	assert_true(fd >= 0);
	/* Nobody answers ARP for .99: the blocking send drives A through
	 * its retries (on the virtual clock) and reports the failure. */
	assert_int_equal(
	    us_sendto(s->a, fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)),
	    -1);
	assert_int_equal(errno, EHOSTUNREACH);
	assert_true(sim_now(s) - t0 >= 2 * SIM_S);
	assert_true(sim_now(s) - t0 <= 10 * SIM_S);
	assert_int_equal(sim_stat(s->a, "arp_resolve_fail"), 1);
	assert_int_equal(sim_stat(s->a, "arp_tx_request"), 3);
	/* While the failure is remembered, sends fail at once. */
	uint64_t t1 = sim_now(s);
	assert_int_equal(
	    us_sendto(s->a, fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)),
	    -1);
	assert_int_equal(errno, EHOSTUNREACH);
	assert_int_equal(sim_now(s), t1);
	/* The failure was the call's answer, not a pending error. */
	int err = -1;
	socklen_t len = sizeof(err);
	assert_int_equal(
	    us_getsockopt(s->a, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	teardown_sim(s);
}

static bool arp_failed(struct sim *s, void *arg)
{
	(void)arg;
	return sim_stat(s->a, "arp_resolve_fail") > 0;
}

static void test_unresolvable_nonblocking(void **state)
{
	struct sim *s = setup_sim(NULL);
	int fd = sim_udp(s->a, 0, false);
	struct sockaddr_in to = sim_sin("10.0.0.98", 9);
	int err = -1;
	socklen_t len = sizeof(err);

	(void)state;
	assert_int_equal(us_sendto(s->a, fd, "abc", 3, 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 3);
	assert_int_equal(
	    us_getsockopt(s->a, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	assert_true(sim_run_until(s, arp_failed, NULL, 10 * SIM_S));
	/* Let ARP's failure hold pass too: the socket must not lose it. */
	sim_run(s, 5 * SIM_S);
	len = sizeof(err);
	assert_int_equal(
	    us_getsockopt(s->a, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, EHOSTUNREACH);
	/* Read and clear. */
	assert_int_equal(
	    us_getsockopt(s->a, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	/* The hold is over: a new send is a new attempt. */
	assert_int_equal(us_sendto(s->a, fd, "abc", 3, 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 3);
	teardown_sim(s);
}

static bool refused_seen(struct sim *s, void *arg)
{
	(void)arg;
	return sim_stat(s->a, "icmp_err_rx") > 0;
}

static void test_port_unreachable(void **state)
{
	struct sim *s = setup_sim(NULL);
	int fc = sim_udp(s->a, 0, false); /* connected */
	int fu = sim_udp(s->a, 0, false); /* not connected */
	struct sockaddr_in closed = sim_sin(SIM_IP_B, 7777);
	uint8_t b[16];

	(void)state;
	assert_int_equal(
	    us_connect(s->a, fc, (struct sockaddr *)&closed, sizeof(closed)),
	    0);
	assert_int_equal(us_send(s->a, fc, "hello", 5, 0), 5);
	assert_true(sim_run_until(s, refused_seen, NULL, SIM_S));
	assert_int_equal(sim_stat(s->b, "udp_drop_no_port"), 1);
	assert_int_equal(sim_stat(s->b, "icmp_unreach_tx"), 1);
	/* Linux: the next call on the connected socket reports it, once. */
	assert_int_equal(us_recv(s->a, fc, b, sizeof(b), 0), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(us_recv(s->a, fc, b, sizeof(b), 0), -1);
	assert_int_equal(errno, EAGAIN);

	/* And a send reports it just the same. */
	assert_int_equal(us_send(s->a, fc, "again", 5, 0), 5);
	assert_true(sim_run_until(s, refused_seen, NULL, SIM_S));
	sim_run(s, 10 * SIM_MS);
	assert_int_equal(sim_stat(s->b, "udp_drop_no_port"), 2);
	assert_int_equal(us_send(s->a, fc, "again", 5, 0), -1);
	assert_int_equal(errno, ECONNREFUSED);

	/* An unconnected socket is not told (it could not know which send
	 * failed). */
	assert_int_equal(us_sendto(s->a, fu, "x", 1, 0,
				   (struct sockaddr *)&closed, sizeof(closed)),
			 1);
	sim_run(s, 100 * SIM_MS);
	assert_int_equal(sim_stat(s->b, "udp_drop_no_port"), 3);
	int err = -1;
	socklen_t len = sizeof(err);
	assert_int_equal(
	    us_getsockopt(s->a, fu, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	teardown_sim(s);
}

static void test_to_self(void **state)
{
	struct sim *s = setup_sim(NULL);
	int f1 = sim_udp(s->a, PORT_A, false), f2 = sim_udp(s->a, 0, false);
	struct sockaddr_in to = sim_sin(SIM_IP_A, PORT_A);
	static uint8_t buf[20000], rbuf[20000];

	(void)state;
	fill(buf, sizeof(buf), 9);
	assert_int_equal(us_sendto(s->a, f2, buf, sizeof(buf), 0,
				   (struct sockaddr *)&to, sizeof(to)),
			 sizeof(buf));
	run_until_readable(s, s->a, f1, 10 * SIM_MS);
	assert_int_equal(us_recv(s->a, f1, rbuf, sizeof(rbuf), 0), sizeof(buf));
	assert_memory_equal(rbuf, buf, sizeof(buf));
	/* Never on the wire. */
	assert_int_equal(sim_stat(s->b, "udp_rx"), 0);
	assert_int_equal(sim_stat(s->a, "arp_tx_request"), 0);
	teardown_sim(s);
}

static const uint8_t set_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};

static void mac_tweak(struct us_config *cfg, int side, void *arg)
{
	(void)arg;
	if (side == 1)
		memcpy(cfg->mac, set_mac, 6);
}

/* A pipe end has no MAC of its own: each stack picks a locally
 * administered unicast one (IEEE 802: 0x02 set, 0x01 clear in the first
 * octet), different for the two; cfg.mac overrides. */
static void test_mac_choice(void **state)
{
	struct sim_opts o = {.tweak = mac_tweak};
	struct sim *s = setup_sim(NULL);
	uint8_t ma[6], mb[6];

	(void)state;
	us_stack_mac(s->a, ma);
	us_stack_mac(s->b, mb);
	assert_true((ma[0] & 0x02) && !(ma[0] & 0x01));
	assert_true((mb[0] & 0x02) && !(mb[0] & 0x01));
	assert_memory_not_equal(ma, mb, 6);
	teardown_sim(s);

	s = setup_sim(&o);
	us_stack_mac(s->a, ma);
	us_stack_mac(s->b, mb);
	assert_true((ma[0] & 0x02) && !(ma[0] & 0x01));
	assert_memory_equal(mb, set_mac, 6);
	/* And it is the one the peer learns. */
	uint8_t learnt[6];
	int fa = sim_udp(s->a, 0, false), fb = sim_udp(s->b, PORT_B, false);
	struct sockaddr_in to = sim_sin(SIM_IP_B, PORT_B);
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(
	    us_sendto(s->a, fa, "m", 1, 0, (struct sockaddr *)&to, sizeof(to)),
	    1);
	run_until_readable(s, s->b, fb, 100 * SIM_MS);
	assert_int_equal(arp_lookup(s->a, sim_ip(SIM_IP_B), learnt),
			 ARP_RESOLVED);
	assert_memory_equal(learnt, set_mac, 6);
	teardown_sim(s);
}

static void test_rcvtimeo_virtual(void **state)
{
	struct sim *s = setup_sim(NULL);
	int fd = sim_udp(s->a, PORT_A, true);
	struct timeval tv = {.tv_sec = 2, .tv_usec = 500000};
	uint8_t b[4];
	uint64_t t0 = sim_now(s);

	(void)state;
	assert_int_equal(
	    us_setsockopt(s->a, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
	    0);
	assert_int_equal(us_recv(s->a, fd, b, sizeof(b), 0), -1);
	assert_int_equal(errno, EAGAIN);
	uint64_t waited = sim_now(s) - t0;
	assert_true(waited >= 2500 * SIM_MS && waited <= 2600 * SIM_MS);
	teardown_sim(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_contact),
	    cmocka_unit_test(test_sizes_both_ways),
	    cmocka_unit_test(test_first_contact_max_datagram_min_mtu),
	    cmocka_unit_test(test_dup_reorder_delay),
	    cmocka_unit_test(test_all_sizes_dup_reorder_delay),
	    cmocka_unit_test(test_corruption_caught),
	    cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_unresolvable_blocking),
	    cmocka_unit_test(test_unresolvable_nonblocking),
	    cmocka_unit_test(test_port_unreachable),
	    cmocka_unit_test(test_to_self),
	    cmocka_unit_test(test_rcvtimeo_virtual),
	    cmocka_unit_test(test_mac_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
