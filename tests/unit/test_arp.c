/* ARP on a virtual clock: answers, learning (RFC 826 merge), resolution
 * with a bounded queue, retries and failure, aging with unicast
 * re-validation, the cache bound, and what is dropped and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/net_harness.h"

static const uint8_t ZERO_MAC[6] = {0};

/* The i-th frame sent is exactly this ARP packet. */
static void check_arp(struct nh *h, int i, const uint8_t *eth_dst, uint16_t op,
		      const uint8_t *tha, uint32_t tpa)
{
	uint8_t want[ETH_HDR_LEN + ARP_PKT_LEN];
	nh_arp(want, eth_dst, op, NH_MAC, NH_IP, tha, tpa);
	assert_true(i < h->ntx);
	assert_int_equal(h->tx[i]->len, sizeof(want));
	assert_memory_equal(h->tx[i]->data, want, sizeof(want));
}

/* The i-th frame sent is an IPv4 packet to dst_mac with this id byte as
 * its first payload byte (the tests' way to tell packets apart). */
static void check_ip(struct nh *h, int i, const uint8_t *dst_mac, uint8_t tag)
{
	assert_true(i < h->ntx);
	const uint8_t *f = h->tx[i]->data;
	assert_memory_equal(f, dst_mac, 6);
	assert_memory_equal(f + 6, NH_MAC, 6);
	assert_int_equal(rd16(f + 12), ETH_P_IPV4);
	assert_int_equal(f[ETH_HDR_LEN + IP4_MIN_HLEN], tag);
}

/* Send a small datagram (protocol 253) whose payload starts with tag. */
static int send_tagged(struct nh *h, uint32_t dst, uint8_t tag)
{
	struct us_pbuf *p = stack_alloc(h->st, 16);
	struct ip4_tx tx = {.dst = dst, .proto = 253};
	assert_non_null(p);
	memset(p->data, tag, 16);
	p->len = 16;
	return ip4_output(h->st, p, &tx);
}

static void inject_reply(struct nh *h, const uint8_t *mac, uint32_t ip)
{
	uint8_t f[64];
	nh_inject(h, f,
		  nh_arp(f, NH_MAC, ARP_OP_REPLY, mac, ip, NH_MAC, NH_IP));
}

static void test_reply_to_request(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t f[64], mac[6];

	nh_mark(h);
	nh_inject(h, f,
		  nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, PEER_IP, NULL,
			 NH_IP));
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	/* To the asker's MAC, with its addresses as the target. */
	check_arp(h, 0, PEER_MAC, ARP_OP_REPLY, PEER_MAC, PEER_IP);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_tx_reply", 1, "eth_tx", 1,
		  NULL);
	/* RFC 826: being the target, we learned the sender. */
	assert_int_equal(arp_lookup(h->st, PEER_IP, mac), ARP_RESOLVED);
	assert_memory_equal(mac, PEER_MAC, 6);
	/* ... so a packet to it goes out at once. */
	nh_clear_tx(h);
	assert_int_equal(send_tagged(h, PEER_IP, 0x11), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_ip(h, 0, PEER_MAC, 0x11);
	nh_destroy(h);
}

static void test_rfc5227_probe_answered(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t f[64];

	/* A probe: sender address 0. We defend our address (a reply), but a
	 * zero address teaches nothing. */
	nh_mark(h);
	nh_inject(
	    h, f,
	    nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, 0, NULL, NH_IP));
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, PEER_MAC, ARP_OP_REPLY, PEER_MAC, 0);
	assert_int_equal(arp_lookup(h->st, 0, NULL), ARP_NONE);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_tx_reply", 1, "eth_tx", 1,
		  NULL);
	nh_destroy(h);
}

static void test_not_for_us(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	const uint8_t new_mac[6] = {0x02, 0, 0, 0, 0, 0x22};
	uint8_t f[64], mac[6];

	/* A stranger asking for someone else: not learned, no answer. */
	nh_mark(h);
	nh_inject(h, f,
		  nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, PEER_IP, NULL,
			 inet_addr("10.0.0.77")));
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_NONE);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_drop_not_ours", 1, NULL);

	/* A known sender asking for someone else: RFC 826 merge updates
	 * our entry (new MAC) without creating anything or answering. */
	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_mark(h);
	nh_inject(h, f,
		  nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, new_mac, PEER_IP, NULL,
			 inet_addr("10.0.0.77")));
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(arp_lookup(h->st, PEER_IP, mac), ARP_RESOLVED);
	assert_memory_equal(mac, new_mac, 6);
	assert_int_equal(arp_lookup(h->st, inet_addr("10.0.0.77"), NULL),
			 ARP_NONE);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, NULL);
	nh_destroy(h);
}

static void test_bad_packets(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t f[64];
	uint32_t n;

	/* Truncated: 20 of 28 bytes. */
	nh_mark(h);
	n = nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, PEER_IP, NULL,
		   NH_IP);
	nh_inject(h, f, ETH_HDR_LEN + 20);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_drop_malformed", 1, NULL);
	/* Other hardware type. */
	nh_mark(h);
	f[ETH_HDR_LEN + 1] = 6;
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_drop_unsupported", 1, NULL);
	/* Unknown opcode (RARP request, 3). */
	nh_mark(h);
	n = nh_arp(f, BCAST_MAC, 3, PEER_MAC, PEER_IP, NULL, NH_IP);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_drop_unsupported", 1, NULL);
	/* Martian senders: group MAC, zero MAC, broadcast, multicast,
	 * subnet broadcast, loopback. */
	const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
	struct {
		const uint8_t *sha;
		uint32_t spa;
	} bad[] = {
	    {mc, PEER_IP},
	    {BCAST_MAC, PEER_IP},
	    {ZERO_MAC, PEER_IP},
	    {PEER_MAC, inet_addr("255.255.255.255")},
	    {PEER_MAC, inet_addr("224.0.0.1")},
	    {PEER_MAC, inet_addr("10.0.0.255")},
	    {PEER_MAC, inet_addr("127.0.0.1")},
	};
	for (size_t i = 0; i < US_ARRAY_SIZE(bad); i++) {
		nh_mark(h);
		n = nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, bad[i].sha, bad[i].spa,
			   NULL, NH_IP);
		nh_inject(h, f, n);
		nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_drop_martian", 1,
			  NULL);
	}
	/* Someone claiming our own address: not cached, not answered. */
	nh_mark(h);
	n = nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, NH_IP, NULL, NH_IP);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_drop_conflict", 1, NULL);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(arp_lookup(h->st, NH_IP, NULL), ARP_NONE);
	nh_destroy(h);
}

static void test_gratuitous(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);

	nh_mark(h);
	arp_announce(h->st);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	/* RFC 5227 3: sender and target both our address, tha zero. */
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, NH_IP);
	nh_expect(h, "arp_tx_garp", 1, "eth_tx", 1, NULL);
	nh_destroy(h);
}

static void test_resolve_queue_flush(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t mac[6];

	nh_mark(h);
	assert_int_equal(send_tagged(h, PEER_IP, 1), 0);
	assert_int_equal(send_tagged(h, PEER_IP, 2), 0);
	assert_int_equal(send_tagged(h, PEER_IP, 3), 0);
	nh_flush(h);
	/* One broadcast request, whatever the number of packets waiting. */
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
	assert_int_equal(arp_lookup(h->st, PEER_IP, mac), ARP_PENDING);
	nh_expect(h, "ip4_tx", 3, "arp_tx_request", 1, "eth_tx", 1, NULL);
	nh_clear_tx(h);

	/* The answer releases them, in order, to the answered MAC. */
	nh_mark(h);
	nh_advance_ms(h, 300);
	inject_reply(h, PEER_MAC, PEER_IP);
	nh_flush(h);
	assert_int_equal(h->ntx, 3);
	for (int i = 0; i < 3; i++)
		check_ip(h, i, PEER_MAC, (uint8_t)(i + 1));
	assert_int_equal(arp_lookup(h->st, PEER_IP, mac), ARP_RESOLVED);
	assert_memory_equal(mac, PEER_MAC, 6);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "eth_tx", 3, NULL);
	/* No retry is left armed. */
	nh_clear_tx(h);
	nh_advance_ms(h, 5000);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_destroy(h);
}

static void test_gateway_and_group_destinations(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	const uint8_t mdns[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};

	/* Off-link: the gateway is resolved, not the destination. */
	assert_int_equal(send_tagged(h, FAR_IP, 9), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, GW_IP);
	nh_clear_tx(h);
	inject_reply(h, GW_MAC, GW_IP);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_ip(h, 0, GW_MAC, 9);
	assert_int_equal(rdaddr(h->tx[0]->data + ETH_HDR_LEN + 16), FAR_IP);
	nh_clear_tx(h);

	/* Broadcasts and multicast need no resolution. */
	nh_mark(h);
	assert_int_equal(send_tagged(h, inet_addr("255.255.255.255"), 4), 0);
	assert_int_equal(send_tagged(h, inet_addr("10.0.0.255"), 5), 0);
	assert_int_equal(send_tagged(h, inet_addr("224.0.0.251"), 6), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 3);
	check_ip(h, 0, BCAST_MAC, 4);
	check_ip(h, 1, BCAST_MAC, 5);
	check_ip(h, 2, mdns, 6);
	nh_expect(h, "ip4_tx", 3, "eth_tx", 3, NULL);
	nh_destroy(h);
}

static void test_retries_then_failure(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);

	nh_mark(h);
	assert_int_equal(send_tagged(h, PEER_IP, 1), 0);
	assert_int_equal(send_tagged(h, PEER_IP, 2), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1); /* request 1 at t=0 */
	nh_clear_tx(h);
	/* Defaults: 3 requests, 1 s apart. */
	nh_advance_ms(h, 999);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_advance_ms(h, 1);
	nh_flush(h);
	assert_int_equal(h->ntx, 1); /* request 2 at t=1 s */
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
	nh_clear_tx(h);
	nh_advance_ms(h, 1000);
	nh_flush(h);
	assert_int_equal(h->ntx, 1); /* request 3 at t=2 s */
	nh_clear_tx(h);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_PENDING);
	nh_expect(h, "ip4_tx", 2, "arp_tx_request", 3, "eth_tx", 3, NULL);

	/* t=3 s: no answer: failed, the two waiting packets dropped. */
	nh_mark(h);
	nh_advance_ms(h, 1000);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_FAILED);
	nh_expect(h, "arp_resolve_fail", 1, "arp_drop_unresolved", 2, NULL);

	/* While failed, sends fail at once and ask nobody. */
	nh_mark(h);
	assert_int_equal(send_tagged(h, PEER_IP, 3), -EHOSTUNREACH);
	nh_advance_ms(h, 2999);
	assert_int_equal(send_tagged(h, PEER_IP, 4), -EHOSTUNREACH);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_expect(h, "ip4_tx", 2, "arp_drop_unresolved", 2, NULL);

	/* After the hold, a send starts a new resolution. */
	nh_advance_ms(h, 1);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_NONE);
	nh_mark(h);
	assert_int_equal(send_tagged(h, PEER_IP, 5), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
	nh_expect(h, "ip4_tx", 1, "arp_tx_request", 1, "eth_tx", 1, NULL);
	nh_destroy(h); /* frees the waiting packet and the timer */
}

static void test_failed_entry_learns(void **state)
{
	(void)state;
	struct us_config cfg = {.arp_retries = 1, .arp_retry_ms = 200};
	struct nh *h = nh_create(&cfg, 0);

	/* Configured: one request, 200 ms. */
	assert_int_equal(send_tagged(h, PEER_IP, 1), 0);
	nh_advance_ms(h, 200);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_FAILED);
	assert_int_equal(h->st->stats[US_STAT_arp_resolve_fail], 1);
	nh_clear_tx(h);
	/* A late reply still teaches us (RFC 826 merge). */
	inject_reply(h, PEER_MAC, PEER_IP);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_RESOLVED);
	assert_int_equal(send_tagged(h, PEER_IP, 2), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_ip(h, 0, PEER_MAC, 2);
	nh_destroy(h);
}

static void test_queue_bounds(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	int i;

	/* Per entry. */
	nh_mark(h);
	for (i = 0; i < ARP_QUEUE_PER_ENTRY; i++)
		assert_int_equal(send_tagged(h, PEER_IP, (uint8_t)i), 0);
	assert_int_equal(send_tagged(h, PEER_IP, 0xee), -ENOBUFS);
	nh_expect(h, "ip4_tx", ARP_QUEUE_PER_ENTRY + 1, "arp_tx_request", 1,
		  "eth_tx", 1, "arp_drop_queue_full", 1, NULL);
	nh_clear_tx(h);

	/* All entries together. */
	int hosts = ARP_QUEUE_TOTAL / ARP_QUEUE_PER_ENTRY;
	for (int k = 1; k < hosts; k++)
		for (i = 0; i < ARP_QUEUE_PER_ENTRY; i++)
			assert_int_equal(
			    send_tagged(h, htonl(ntohl(PEER_IP) + (uint32_t)k),
					1),
			    0);
	nh_clear_tx(h);
	nh_mark(h);
	uint32_t extra = inet_addr("10.0.0.100");
	assert_int_equal(send_tagged(h, extra, 1), -ENOBUFS);
	/* The resolution starts anyway, so later packets can go. */
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, extra);
	assert_int_equal(arp_lookup(h->st, extra, NULL), ARP_PENDING);
	nh_expect(h, "ip4_tx", 1, "arp_tx_request", 1, "eth_tx", 1,
		  "arp_drop_queue_full", 1, NULL);
	nh_clear_tx(h);

	/* One answer frees room for the others. */
	inject_reply(h, PEER_MAC, PEER_IP);
	nh_flush(h);
	assert_int_equal(h->ntx, ARP_QUEUE_PER_ENTRY);
	nh_clear_tx(h);
	assert_int_equal(send_tagged(h, extra, 7), 0);
	nh_destroy(h); /* the rest are freed with their entries */
}

/* Resolve PEER by our own request and its reply; leaves tx empty. */
static void resolve_peer(struct nh *h)
{
	assert_int_equal(send_tagged(h, PEER_IP, 1), 0);
	inject_reply(h, PEER_MAC, PEER_IP);
	nh_clear_tx(h);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_RESOLVED);
}

static void test_aging_revalidation(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);

	resolve_peer(h); /* confirmed at t=0 */
	nh_advance_ms(h, 10000);
	assert_int_equal(send_tagged(h, PEER_IP, 2), 0); /* in use */
	nh_clear_tx(h);

	/* t=60 s: lifetime over, but in use: a unicast probe to the MAC we
	 * know (RFC 1122 2.3.2.1), and the entry stays usable. */
	nh_mark(h);
	nh_advance_ms(h, 49999);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_advance_ms(h, 1);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, PEER_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
	nh_clear_tx(h);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_RESOLVED);
	assert_int_equal(send_tagged(h, PEER_IP, 3), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_ip(h, 0, PEER_MAC, 3);
	nh_clear_tx(h);
	nh_expect(h, "arp_tx_request", 1, "ip4_tx", 1, "eth_tx", 2, NULL);

	/* The answer confirms it: no more probes for another lifetime. */
	nh_advance_ms(h, 500);
	inject_reply(h, PEER_MAC, PEER_IP);
	nh_advance_ms(h, 5000);
	assert_int_equal(send_tagged(h, PEER_IP, 4), 0);
	nh_clear_tx(h);
	nh_advance_ms(h, 54999); /* t = 60.5 + 59.999 s */
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_advance_ms(h, 1);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, PEER_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
	nh_destroy(h);
}

static void test_revalidation_fails(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);

	resolve_peer(h);
	nh_advance_ms(h, 1000);
	assert_int_equal(send_tagged(h, PEER_IP, 2), 0);
	nh_clear_tx(h);
	nh_mark(h);
	/* Probes at 60, 61, 62 s, all unanswered. */
	for (int i = 0; i < 3; i++) {
		nh_advance_ms(h, i ? 1000 : 59000);
		nh_flush(h);
		assert_int_equal(h->ntx, 1);
		check_arp(h, 0, PEER_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
		nh_clear_tx(h);
		assert_int_equal(arp_lookup(h->st, PEER_IP, NULL),
				 ARP_RESOLVED);
	}
	/* 63 s: expired. The next send resolves afresh by broadcast. */
	nh_advance_ms(h, 1000);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_NONE);
	nh_expect(h, "arp_tx_request", 3, "eth_tx", 3, NULL);
	assert_int_equal(send_tagged(h, PEER_IP, 3), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, BCAST_MAC, ARP_OP_REQUEST, NULL, PEER_IP);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_PENDING);
	nh_destroy(h);
}

static void test_unused_entry_expires(void **state)
{
	(void)state;
	struct us_config cfg = {.arp_timeout_ms = 5000};
	struct nh *h = nh_create(&cfg, 0);

	/* Learned from a request; never used by us: it simply goes at the
	 * end of its (configured) lifetime, without a probe. */
	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_mark(h);
	nh_advance_ms(h, 4999);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_RESOLVED);
	nh_advance_ms(h, 1);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_NONE);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_expect(h, NULL);
	/* Hearing from the neighbour again restarts the lifetime. */
	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_advance_ms(h, 4000);
	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_advance_ms(h, 4000);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_RESOLVED);
	nh_destroy(h);
}

static void test_resolved_then_idle_expires(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);

	/* Resolved for a packet that left when the answer came, then idle:
	 * no probe at the end of the lifetime, the entry just goes. */
	resolve_peer(h);
	nh_mark(h);
	nh_advance_ms(h, 60000);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_NONE);
	nh_expect(h, NULL);
	nh_destroy(h);
}

static void test_cache_bound_evicts_idle(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t f[64], mac[6] = {0x02, 0, 0, 0, 0, 0};
	uint32_t base = ntohl(inet_addr("10.0.0.0"));

	/* A /16 so that every learned address is on-link. */
	h->st->netmask = inet_addr("255.255.0.0");
	/* A busy peer keeps its entry: it is in use. */
	resolve_peer(h);
	for (uint32_t i = 0; i < ARP_MAX_ENTRIES + 10; i++) {
		uint32_t ip = htonl(base + 0x100 + i);
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		nh_advance_ms(h, 1);
		nh_inject(
		    h, f,
		    nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, mac, ip, NULL, NH_IP));
		nh_clear_tx(h);
		if (i % 16 == 0)
			assert_int_equal(send_tagged(h, PEER_IP, 1), 0);
	}
	/* The oldest idle entries made room; the newest and the busy one
	 * are there. */
	assert_int_equal(arp_lookup(h->st, htonl(base + 0x100), NULL),
			 ARP_NONE);
	assert_int_equal(
	    arp_lookup(h->st, htonl(base + 0x100 + ARP_MAX_ENTRIES + 9), NULL),
	    ARP_RESOLVED);
	assert_int_equal(arp_lookup(h->st, PEER_IP, NULL), ARP_RESOLVED);
	int n = 0;
	for (uint32_t i = 0; i < ARP_MAX_ENTRIES + 10; i++)
		n += arp_lookup(h->st, htonl(base + 0x100 + i), NULL) ==
		     ARP_RESOLVED;
	assert_int_equal(n, ARP_MAX_ENTRIES - 1); /* + PEER = the bound */
	nh_destroy(h);
}

/* A flood of requests for our address from ever new senders (a
 * pseudo-random permutation of a /16) far beyond the cache's size: every
 * request is answered, the cache stays at its bound, entries with packets
 * waiting survive, and nothing is dropped. */
static void test_flood_bounded(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	const uint32_t n = 4 * ARP_MAX_ENTRIES;
	uint32_t base = ntohl(inet_addr("10.0.0.0"));
	uint32_t pend1 = inet_addr("10.0.0.77"), pend2 = inet_addr("10.0.0.78");
	uint8_t f[64], mac[6] = {0x02, 0x5a, 0, 0, 0, 0};
	uint32_t entries = 0;

	h->st->netmask = inet_addr("255.255.0.0");
	resolve_peer(h);
	/* Two resolutions under way, a packet waiting on each. */
	assert_int_equal(send_tagged(h, pend1, 0x71), 0);
	assert_int_equal(send_tagged(h, pend2, 0x72), 0);
	nh_clear_tx(h);
	nh_mark(h);
	for (uint32_t i = 0; i < n; i++) {
		/* 7919 is prime to 0xfd00: no sender repeats. */
		uint32_t ip = htonl(base + 0x100 + (i * 7919u) % 0xfd00u);
		wr32(mac + 2, i * 2654435761u);
		nh_inject(
		    h, f,
		    nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, mac, ip, NULL, NH_IP));
		nh_flush(h);
		assert_int_equal(h->ntx, 1);
		check_arp(h, 0, mac, ARP_OP_REPLY, mac, ip);
		nh_clear_tx(h);
		assert_int_equal(arp_lookup(h->st, ip, NULL), ARP_RESOLVED);
		if (i % 256 == 0)
			nh_advance_ms(h, 1);
	}
	nh_expect(h, "eth_rx", (int)n, "arp_rx", (int)n, "arp_tx_reply", (int)n,
		  "eth_tx", (int)n, NULL);
	/* Every entry there is is one of these: count them. */
	for (uint32_t i = 0; i < n; i++)
		entries +=
		    arp_lookup(h->st,
			       htonl(base + 0x100 + (i * 7919u) % 0xfd00u),
			       NULL) != ARP_NONE;
	entries += arp_lookup(h->st, PEER_IP, NULL) != ARP_NONE;
	assert_int_equal(arp_lookup(h->st, pend1, NULL), ARP_PENDING);
	assert_int_equal(arp_lookup(h->st, pend2, NULL), ARP_PENDING);
	assert_int_equal(entries + 2, ARP_MAX_ENTRIES);
	/* The oldest senders gave way to the newest. */
	assert_int_equal(arp_lookup(h->st, htonl(base + 0x100), NULL),
			 ARP_NONE);
	/* The waiting packets still go once their answers come. */
	inject_reply(h, PEER_MAC, pend1);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_ip(h, 0, PEER_MAC, 0x71);
	nh_destroy(h);
}

/* When every entry has packets waiting, a new sender cannot be learnt:
 * its request is answered all the same, and the loss counted. */
static void test_cache_full_of_pending(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint32_t base = ntohl(inet_addr("10.0.0.0"));
	uint32_t asker = inet_addr("10.0.200.1");
	uint8_t f[64];

	h->st->netmask = inet_addr("255.255.0.0");
	for (uint32_t i = 0; i < ARP_MAX_ENTRIES; i++) {
		/* Past ARP_QUEUE_TOTAL the packet is dropped, but the
		 * resolution is under way all the same. */
		int rc = send_tagged(h, htonl(base + 0x100 + i), 1);
		assert_true(rc == 0 || rc == -ENOBUFS);
		assert_int_equal(
		    arp_lookup(h->st, htonl(base + 0x100 + i), NULL),
		    ARP_PENDING);
	}
	nh_clear_tx(h);
	nh_mark(h);
	nh_inject(
	    h, f,
	    nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, asker, NULL, NH_IP));
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	check_arp(h, 0, PEER_MAC, ARP_OP_REPLY, PEER_MAC, asker);
	assert_int_equal(arp_lookup(h->st, asker, NULL), ARP_NONE);
	nh_expect(h, "eth_rx", 1, "arp_rx", 1, "arp_tx_reply", 1, "eth_tx", 1,
		  "arp_drop_cache_full", 1, NULL);
	/* A new destination cannot start a resolution either. */
	nh_clear_tx(h);
	nh_mark(h);
	assert_int_equal(send_tagged(h, asker, 2), -ENOBUFS);
	assert_int_equal(nh_delta(h, arp_drop_queue_full), 1);
	/* Once they have failed (3 tries, 1 s apart), they may give way. */
	for (int t = 0; t < 4; t++) {
		nh_advance_ms(h, 1000);
		nh_clear_tx(h);
	}
	assert_int_equal(arp_lookup(h->st, htonl(base + 0x100), NULL),
			 ARP_FAILED);
	nh_inject(
	    h, f,
	    nh_arp(f, BCAST_MAC, ARP_OP_REQUEST, PEER_MAC, asker, NULL, NH_IP));
	assert_int_equal(arp_lookup(h->st, asker, NULL), ARP_RESOLVED);
	nh_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_to_request),
	    cmocka_unit_test(test_rfc5227_probe_answered),
	    cmocka_unit_test(test_not_for_us),
	    cmocka_unit_test(test_bad_packets),
	    cmocka_unit_test(test_gratuitous),
	    cmocka_unit_test(test_resolve_queue_flush),
	    cmocka_unit_test(test_gateway_and_group_destinations),
	    cmocka_unit_test(test_retries_then_failure),
	    cmocka_unit_test(test_failed_entry_learns),
	    cmocka_unit_test(test_queue_bounds),
	    cmocka_unit_test(test_aging_revalidation),
	    cmocka_unit_test(test_revalidation_fails),
	    cmocka_unit_test(test_unused_entry_expires),
	    cmocka_unit_test(test_resolved_then_idle_expires),
	    cmocka_unit_test(test_cache_bound_evicts_idle),
	    cmocka_unit_test(test_flood_bounded),
	    cmocka_unit_test(test_cache_full_of_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
