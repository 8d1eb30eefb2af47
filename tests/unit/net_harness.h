/* A stack built by hand for the network-layer unit tests: eth, arp, ip4
 * and icmp on a virtual clock, with a device that only records what it is
 * asked to send. No UDP, sockets or real device, so each test sees exactly
 * the frames these layers emit. Include after cmocka.h. */
#ifndef NET_HARNESS_H
#define NET_HARNESS_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "dev/dev.h"
#include "net/arp.h"
#include "net/eth.h"
#include "net/icmp.h"
#include "net/ip4.h"
#include "wire/arp.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ip4.h"

#define NH_MAX_TX 512

struct nh {
	struct us_stack *st;
	struct us_dev dev;
	struct us_pbuf *tx[NH_MAX_TX]; /* frames sent, oldest first */
	int ntx;
	uint64_t base[US_STAT__COUNT]; /* counters at the last nh_mark */
};

static const uint8_t NH_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t PEER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t GW_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
static const uint8_t BCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define NH_IP inet_addr("10.0.0.1")
#define PEER_IP inet_addr("10.0.0.2")
#define GW_IP inet_addr("10.0.0.254")
#define FAR_IP inet_addr("192.0.2.9")
#define NH_T0 (1000 * US_NS_PER_S) /* the virtual clock starts here */

static int nh_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	(void)d;
	(void)pkts;
	(void)max;
	return 0;
}

static void nh_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	struct nh *h = d->priv;
	for (int i = 0; i < n; i++) {
		if (h->ntx < NH_MAX_TX)
			h->tx[h->ntx++] = pkts[i];
		else
			pbuf_free(pkts[i]);
	}
}

static const struct us_dev_ops nh_ops = {
    .name = "nh",
    .rx_burst = nh_rx_burst,
    .tx_burst = nh_tx_burst,
};

/* cfg may be NULL; its limits (arp_*, frag_*, icmp_ratelimit) apply. */
static inline struct nh *nh_create(const struct us_config *cfg,
				   uint32_t pool_small)
{
	struct nh *h = calloc(1, sizeof(*h));
	struct us_stack *st = calloc(1, sizeof(*st));

	assert_non_null(h);
	assert_non_null(st);
	h->st = st;
	if (cfg)
		st->cfg = *cfg;
	st->log_level = US_LOG_ERROR;
	st->now = NH_T0;
	st->rng = 0x9e3779b97f4a7c15ull;
	timer_wheel_init(&st->wheel, st->now);
	pbufq_init(&st->loopq);
	assert_int_equal(pbuf_pool_init(&st->pool,
					pool_small ? pool_small : 1024, 16, 16,
					&st->stats[US_STAT_pbuf_alloc_fail]),
			 0);
	h->dev.ops = &nh_ops;
	h->dev.priv = h;
	h->dev.st = st;
	st->dev = &h->dev;
	memcpy(st->mac, NH_MAC, 6);
	st->ip = NH_IP;
	st->netmask = inet_addr("255.255.255.0");
	st->gw = GW_IP;
	st->mtu = 1500;
	assert_int_equal(eth_init(st), 0);
	assert_int_equal(arp_init(st), 0);
	assert_int_equal(ip4_init(st), 0);
	assert_int_equal(icmp_init(st), 0);
	return h;
}

/* Hand the batch to the device: frames land in h->tx. */
static inline void nh_flush(struct nh *h)
{
	stack_tx_flush(h->st);
}

static inline void nh_clear_tx(struct nh *h)
{
	nh_flush(h);
	for (int i = 0; i < h->ntx; i++)
		pbuf_free(h->tx[i]);
	h->ntx = 0;
}

/* Move the virtual clock and run what fell due. */
static inline void nh_advance_ms(struct nh *h, uint64_t ms)
{
	h->st->now += ms * US_NS_PER_MS;
	timer_run(&h->st->wheel, h->st->now, h->st);
}

/* Deliver the looped-back packets, as the loop turn does. */
static inline int nh_run_loopback(struct nh *h)
{
	struct us_pbuf *p;
	int n = 0;
	while ((p = pbufq_pop(&h->st->loopq))) {
		ip4_input(h->st, p);
		n++;
	}
	return n;
}

static inline void nh_destroy(struct nh *h)
{
	struct us_stack *st = h->st;

	nh_clear_tx(h);
	pbufq_purge(&st->loopq);
	icmp_fini(st);
	ip4_fini(st);
	arp_fini(st);
	eth_fini(st);
	/* Every buffer came back: nothing leaked or was freed twice. */
	assert_int_equal(st->pool.nfree[0], st->pool.total[0]);
	assert_int_equal(st->pool.nfree[1], st->pool.total[1]);
	assert_int_equal(st->pool.nfree[2], st->pool.total[2]);
	assert_int_equal(st->wheel.count, 0);
	pbuf_pool_fini(&st->pool);
	free(st);
	free(h);
}

/* Counters: nh_mark remembers them; nh_delta is the change since. */
static inline void nh_mark(struct nh *h)
{
	memcpy(h->base, h->st->stats, sizeof(h->base));
}
#define nh_delta(h, name)                                                      \
	((h)->st->stats[US_STAT_##name] - (h)->base[US_STAT_##name])
/* Exactly the listed counters moved since nh_mark, each by the amount
 * given: nh_expect(h, "ip4_rx", 1, "ip4_drop_csum", 1, NULL). */
static inline void nh_expect(struct nh *h, ...)
{
	uint64_t want[US_STAT__COUNT] = {0};
	static const char *const names[] = {
#define NH_NAME(n) #n,
	    US_COUNTERS(NH_NAME)
#undef NH_NAME
	};
	va_list ap;
	const char *n;

	va_start(ap, h);
	while ((n = va_arg(ap, const char *))) {
		int v = va_arg(ap, int), found = 0;
		for (int i = 0; i < US_STAT__COUNT; i++)
			if (!strcmp(names[i], n)) {
				want[i] = (uint64_t)v;
				found = 1;
			}
		if (!found)
			fail_msg("no counter named %s", n);
	}
	va_end(ap);
	for (int i = 0; i < US_STAT__COUNT; i++) {
		uint64_t got = h->st->stats[i] - h->base[i];
		if (got != want[i])
			fail_msg("counter %s moved by %llu, expected %llu",
				 names[i], (unsigned long long)got,
				 (unsigned long long)want[i]);
	}
}

/* Feed a frame to eth_input as a device would. */
static inline void nh_inject(struct nh *h, const uint8_t *frame, uint32_t len)
{
	struct us_pbuf *p = pbuf_alloc(&h->st->pool, len, 0);
	assert_non_null(p);
	memcpy(p->data, frame, len);
	p->len = len;
	p->time = h->st->now;
	eth_input(h->st, p);
}

/* Frame builders: each returns the length written. */
static inline uint32_t nh_eth(uint8_t *f, const uint8_t *dst,
			      const uint8_t *src, uint16_t type)
{
	struct eth_hdr e;
	memcpy(e.dst, dst, 6);
	memcpy(e.src, src, 6);
	e.type = type;
	eth_emit(f, &e);
	return ETH_HDR_LEN;
}

static inline uint32_t nh_arp(uint8_t *f, const uint8_t *eth_dst, uint16_t op,
			      const uint8_t *sha, uint32_t spa,
			      const uint8_t *tha, uint32_t tpa)
{
	struct arp_pkt a;
	nh_eth(f, eth_dst, sha, ETH_P_ARPT);
	arp_pkt_set(&a, op, sha, spa, tha, tpa);
	arp_emit(f + ETH_HDR_LEN, &a);
	return ETH_HDR_LEN + ARP_PKT_LEN;
}

/* An IPv4 packet in an Ethernet frame from PEER_MAC to us. frag is the
 * 16-bit flags/offset field. */
static inline uint32_t nh_ip4(uint8_t *f, uint32_t src, uint32_t dst,
			      uint8_t proto, uint16_t id, uint16_t frag,
			      const void *payload, uint32_t plen)
{
	struct ip4_hdr ih = {0};
	nh_eth(f, NH_MAC, PEER_MAC, ETH_P_IPV4);
	ih.tot_len = (uint16_t)(IP4_MIN_HLEN + plen);
	ih.id = id;
	ih.frag = frag;
	ih.ttl = 64;
	ih.proto = proto;
	ih.src = src;
	ih.dst = dst;
	ip4_emit(f + ETH_HDR_LEN, &ih);
	if (plen)
		memcpy(f + ETH_HDR_LEN + IP4_MIN_HLEN, payload, plen);
	return ETH_HDR_LEN + IP4_MIN_HLEN + plen;
}

/* Make PEER_IP resolved (as if it had asked for us). */
static inline void nh_learn_peer(struct nh *h, uint32_t ip, const uint8_t *mac)
{
	uint8_t f[64];
	uint32_t n = nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, mac, ip, NULL, NH_IP);
	nh_inject(h, f, n);
	nh_clear_tx(h); /* our reply */
	assert_int_equal(arp_lookup(h->st, ip, NULL), ARP_RESOLVED);
}

#endif
