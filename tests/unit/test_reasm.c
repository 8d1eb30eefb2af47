/* IPv4 reassembly through ip4_input: fragments in any order, duplicates,
 * overlaps (the datagram dies, later fragments ignored until timeout),
 * timeout on the virtual clock, the memory bound, the 65535-byte limit,
 * and fragments that contradict their datagram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/ip4_frag.h"
#include "unit/net_harness.h"

#define PROTO_T 253 /* RFC 3692 experimental: the tests' own protocol */

/* What the test protocol received. */
static struct us_pbuf *got[8];
static int ngot;

static void t_input(struct us_stack *st, struct us_pbuf *p)
{
	(void)st;
	if (ngot < (int)US_ARRAY_SIZE(got))
		got[ngot++] = p;
	else
		pbuf_free(p);
}

static struct nh *setup(const struct us_config *cfg)
{
	struct nh *h = nh_create(cfg, 0);
	assert_int_equal(ip4_register(h->st, PROTO_T, t_input, NULL), 0);
	ngot = 0;
	return h;
}

static void teardown(struct nh *h)
{
	for (int i = 0; i < ngot; i++)
		pbuf_free(got[i]);
	ngot = 0;
	nh_destroy(h);
}

static uint8_t payload[65536];

static void fill_payload(void)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
}

/* Inject the fragment [off, off+len) of datagram id (payload from
 * `data`), from src, with the given MF flag and header length. */
static void frag_full(struct nh *h, uint32_t src, uint8_t proto, uint16_t id,
		      uint32_t off, uint32_t len, int mf, const uint8_t *data,
		      uint32_t ihl)
{
	static uint8_t f[ETH_HDR_LEN + 60 + 2048];
	struct ip4_hdr ih = {0};
	uint8_t *ip = f + ETH_HDR_LEN;

	assert_true(len <= 2048 - 60);
	nh_eth(f, NH_MAC, PEER_MAC, ETH_P_IPV4);
	ih.tot_len = (uint16_t)(ihl + len);
	ih.id = id;
	ih.frag = (uint16_t)(off / 8 | (mf ? IP4_FLAG_MF : 0));
	ih.ttl = 64;
	ih.proto = proto;
	ih.src = src;
	ih.dst = NH_IP;
	ip4_emit(ip, &ih);
	if (ihl > IP4_MIN_HLEN) {
		/* Options: NOPs, ending with EOL. */
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		memset(ip + IP4_MIN_HLEN, 1, ihl - IP4_MIN_HLEN);
		ip[ihl - 1] = 0;
		ip4_hdr_set_csum(ip, ihl);
	}
	memcpy(ip + ihl, data + off, len);
	nh_inject(h, f, ETH_HDR_LEN + ihl + len);
}

static void frag(struct nh *h, uint16_t id, uint32_t off, uint32_t len, int mf)
{
	frag_full(h, PEER_IP, PROTO_T, id, off, len, mf, payload, IP4_MIN_HLEN);
}

/* got[i] is the whole datagram: len bytes of payload, and an IP header
 * at l3_off rewritten as unfragmented. */
static void check_datagram(int i, uint32_t len, uint32_t ihl)
{
	assert_true(i < ngot);
	struct us_pbuf *p = got[i];
	const uint8_t *ip = p->head + p->l3_off;
	struct ip4_hdr h;

	assert_int_equal(p->len, len);
	assert_memory_equal(p->data, payload, len);
	assert_int_equal(p->ip_src, PEER_IP);
	assert_int_equal(p->ip_dst, NH_IP);
	assert_int_equal(p->ip_proto, PROTO_T);
	assert_ptr_equal(ip + ihl, p->data);
	assert_int_equal(ip4_parse(ip, ihl + len, &h), 0);
	assert_int_equal(h.ihl, ihl);
	assert_int_equal(h.tot_len, ihl + len);
	assert_int_equal(h.frag, 0);
	assert_true(ip4_hdr_csum_ok(ip, ihl));
}

static struct ip4_reasm *R(struct nh *h)
{
	return ip4_reasm_of(h->st);
}

static void test_in_order(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_mark(h);
	frag(h, 1, 0, 1480, 1);
	frag(h, 1, 1480, 1480, 1);
	assert_int_equal(ngot, 0);
	assert_int_equal(ip4_reasm_count(R(h)), 1);
	assert_true(ip4_reasm_mem(R(h)) > 2 * PBUF_SMALL_SIZE);
	frag(h, 1, 2960, 40, 0);
	assert_int_equal(ngot, 1);
	check_datagram(0, 3000, IP4_MIN_HLEN);
	assert_int_equal(ip4_reasm_count(R(h)), 0);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);
	nh_expect(h, "eth_rx", 3, "ip4_rx", 3, "frag_rx", 3, "frag_reassembled",
		  1, NULL);
	teardown(h);
}

static void test_out_of_order_and_reverse(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_mark(h);
	frag(h, 2, 1480, 1480, 1);
	frag(h, 2, 2960, 40, 0);
	frag(h, 2, 0, 1480, 1);
	assert_int_equal(ngot, 1);
	check_datagram(0, 3000, IP4_MIN_HLEN);

	frag(h, 3, 2960, 40, 0);
	frag(h, 3, 1480, 1480, 1);
	frag(h, 3, 0, 1480, 1);
	assert_int_equal(ngot, 2);
	check_datagram(1, 3000, IP4_MIN_HLEN);
	nh_expect(h, "eth_rx", 6, "ip4_rx", 6, "frag_rx", 6, "frag_reassembled",
		  2, NULL);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);
	teardown(h);
}

static void test_many_small_shuffled(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint32_t order[100];

	/* 100 fragments of 16 bytes, in a scrambled order. */
	for (uint32_t i = 0; i < 100; i++)
		order[i] = (i * 37) % 100;
	nh_mark(h);
	for (uint32_t i = 0; i < 100; i++)
		frag(h, 4, order[i] * 16, 16, order[i] != 99);
	assert_int_equal(ngot, 1);
	check_datagram(0, 1600, IP4_MIN_HLEN);
	nh_expect(h, "eth_rx", 100, "ip4_rx", 100, "frag_rx", 100,
		  "frag_reassembled", 1, NULL);
	teardown(h);
}

static void test_first_fragment_options_kept(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	/* 12 bytes of options on the first fragment (none on the others,
	 * RFC 791 3.1 "copied" flag clear) end up on the datagram. */
	frag(h, 5, 1000, 24, 0);
	frag_full(h, PEER_IP, PROTO_T, 5, 0, 1000, 1, payload, 32);
	assert_int_equal(ngot, 1);
	check_datagram(0, 1024, 32);
	teardown(h);
}

static void test_duplicates_tolerated(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_mark(h);
	frag(h, 6, 0, 1480, 1);
	frag(h, 6, 0, 1480, 1);
	frag(h, 6, 1480, 1480, 1);
	frag(h, 6, 0, 1480, 1);
	frag(h, 6, 1480, 1480, 1);
	assert_int_equal(ngot, 0);
	frag(h, 6, 2960, 40, 0);
	assert_int_equal(ngot, 1);
	check_datagram(0, 3000, IP4_MIN_HLEN);
	nh_expect(h, "eth_rx", 6, "ip4_rx", 6, "frag_rx", 6, "frag_dup", 3,
		  "frag_reassembled", 1, NULL);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);
	teardown(h);
}

static void test_overlap_kills_datagram(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_mark(h);
	frag(h, 7, 0, 16, 1);
	frag(h, 7, 32, 16, 1);
	/* [8, 24) overlaps [0, 16): the datagram is dropped whole (the new
	 * fragment and both held ones). */
	frag(h, 7, 8, 16, 1);
	nh_expect(h, "eth_rx", 3, "ip4_rx", 3, "frag_rx", 3,
		  "frag_drop_overlap", 3, NULL);
	/* Its other fragments, even consistent ones, are ignored until the
	 * timeout: the datagram cannot be rebuilt safely. */
	nh_mark(h);
	frag(h, 7, 0, 16, 1);
	frag(h, 7, 16, 16, 1);
	frag(h, 7, 32, 16, 1);
	frag(h, 7, 48, 16, 0);
	assert_int_equal(ngot, 0);
	nh_expect(h, "eth_rx", 4, "ip4_rx", 4, "frag_rx", 4,
		  "frag_drop_overlap", 4, NULL);
	/* Only the record remains while dead: no buffers held. */
	assert_int_equal(ip4_reasm_count(R(h)), 1);
	assert_true(ip4_reasm_mem(R(h)) < 1024);
	/* After the timeout the same id is a new datagram. */
	nh_mark(h);
	nh_advance_ms(h, 30000);
	assert_int_equal(ip4_reasm_count(R(h)), 0);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);
	nh_expect(h, NULL); /* nothing was held: no timeout drops */
	frag(h, 7, 16, 48, 0);
	frag(h, 7, 0, 16, 1);
	assert_int_equal(ngot, 1);
	check_datagram(0, 64, IP4_MIN_HLEN);
	teardown(h);
}

static void test_overlap_variants(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t other[64];

	/* Same range, different bytes: not a duplicate but an overlap. */
	memcpy(other, payload, sizeof(other));
	other[3] ^= 0xff;
	nh_mark(h);
	frag(h, 8, 0, 16, 1);
	frag_full(h, PEER_IP, PROTO_T, 8, 0, 16, 1, other, IP4_MIN_HLEN);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2,
		  "frag_drop_overlap", 2, NULL);

	/* A fragment covering a held one entirely. */
	nh_mark(h);
	frag(h, 9, 8, 8, 1);
	frag(h, 9, 0, 24, 1);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2,
		  "frag_drop_overlap", 2, NULL);

	/* A fragment inside a held one, with other bytes. */
	other[11] ^= 0xff;
	nh_mark(h);
	frag(h, 10, 0, 32, 1);
	frag_full(h, PEER_IP, PROTO_T, 10, 8, 8, 1, other, IP4_MIN_HLEN);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2,
		  "frag_drop_overlap", 2, NULL);

	/* Overlapping the end of the previous and the start of the next. */
	nh_mark(h);
	frag(h, 11, 0, 16, 1);
	frag(h, 11, 32, 16, 0);
	frag(h, 11, 8, 32, 1);
	nh_expect(h, "eth_rx", 3, "ip4_rx", 3, "frag_rx", 3,
		  "frag_drop_overlap", 3, NULL);
	assert_int_equal(ngot, 0);
	teardown(h);
}

/* Linux (5.0+, inet_frag_queue_insert): a fragment wholly inside data
 * already held is a duplicate, dropped while the datagram lives on; only
 * a fragment reaching outside held data while overlapping it kills the
 * datagram. We also require the same bytes (test_overlap_variants). */
static void test_duplicate_inside_held(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_mark(h);
	/* Inside one held fragment, not at its start or end. */
	frag(h, 30, 0, 32, 1);
	frag(h, 30, 8, 8, 1);
	/* Spanning two adjacent held fragments. */
	frag(h, 30, 32, 16, 1);
	frag(h, 30, 24, 16, 1);
	/* A copy of the last fragment, and a piece of it. */
	frag(h, 30, 64, 20, 0);
	frag(h, 30, 64, 20, 0);
	frag(h, 30, 72, 12, 0);
	assert_int_equal(ngot, 0);
	nh_expect(h, "eth_rx", 7, "ip4_rx", 7, "frag_rx", 7, "frag_dup", 4,
		  NULL);
	/* The datagram lives on and completes. */
	frag(h, 30, 48, 16, 1);
	assert_int_equal(ngot, 1);
	check_datagram(0, 84, IP4_MIN_HLEN);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);

	/* Not covered: across a gap between held fragments, or past the
	 * held data at either side. Each kills its datagram. */
	nh_mark(h);
	frag(h, 31, 0, 16, 1);
	frag(h, 31, 24, 16, 1);
	frag(h, 31, 8, 24, 1);
	frag(h, 32, 8, 16, 1);
	frag(h, 32, 0, 16, 1);
	frag(h, 33, 0, 16, 1);
	frag(h, 33, 8, 16, 1);
	nh_expect(h, "eth_rx", 7, "ip4_rx", 7, "frag_rx", 7,
		  "frag_drop_overlap", 7, NULL);
	assert_int_equal(ngot, 1);
	teardown(h);
}

static void test_timeout(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_mark(h);
	frag(h, 12, 0, 1480, 1);
	nh_advance_ms(h, 10000);
	frag(h, 12, 2960, 40, 0);
	/* RFC 791: the timer runs from the first fragment, unchanged by
	 * later ones. */
	nh_advance_ms(h, 19999);
	assert_int_equal(ip4_reasm_count(R(h)), 1);
	nh_advance_ms(h, 1);
	assert_int_equal(ip4_reasm_count(R(h)), 0);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2,
		  "frag_drop_timeout", 2, NULL);
	/* The missing piece, too late: a new datagram that never ends. */
	frag(h, 12, 1480, 1480, 1);
	assert_int_equal(ngot, 0);
	nh_advance_ms(h, 30000);
	assert_int_equal(h->st->stats[US_STAT_frag_drop_timeout], 3);
	/* No ICMP time exceeded is sent (RFC 1122 3.3.2: optional). */
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	teardown(h);
}

static void test_configured_timeout(void **state)
{
	(void)state;
	struct us_config cfg = {.frag_timeout_ms = 500};
	struct nh *h = setup(&cfg);

	frag(h, 13, 0, 1480, 1);
	nh_advance_ms(h, 499);
	assert_int_equal(ip4_reasm_count(R(h)), 1);
	nh_advance_ms(h, 1);
	assert_int_equal(ip4_reasm_count(R(h)), 0);
	assert_int_equal(h->st->stats[US_STAT_frag_drop_timeout], 1);
	teardown(h);
}

static void test_memory_bound(void **state)
{
	(void)state;
	const uint32_t ts = PBUF_SMALL_SIZE + (uint32_t)sizeof(struct us_pbuf);
	struct us_config cfg = {.frag_mem_max = 10 * ts};
	struct nh *h = setup(&cfg);

	assert_int_equal(ip4_reasm_mem_max(R(h)), 10 * ts);
	/* First fragments of 20 datagrams: the bound holds, the oldest
	 * datagrams give way (one fragment each, counted). */
	nh_mark(h);
	for (uint16_t id = 100; id < 120; id++) {
		frag(h, id, 0, 1480, 1);
		assert_true(ip4_reasm_mem(R(h)) <= 10 * ts);
	}
	uint64_t dropped = nh_delta(h, frag_drop_mem);
	assert_true(dropped >= 10 && dropped < 20);
	assert_int_equal(ip4_reasm_count(R(h)), 20 - dropped);
	nh_expect(h, "eth_rx", 20, "ip4_rx", 20, "frag_rx", 20, "frag_drop_mem",
		  (int)dropped, NULL);
	/* The newest completes; the oldest was forgotten (its second half
	 * starts a new datagram). */
	frag(h, 119, 1480, 100, 0);
	assert_int_equal(ngot, 1);
	check_datagram(0, 1580, IP4_MIN_HLEN);
	frag(h, 100, 1480, 100, 0);
	assert_int_equal(ngot, 1);
	teardown(h);
}

static void test_memory_bound_one_datagram(void **state)
{
	(void)state;
	const uint32_t ts = PBUF_SMALL_SIZE + (uint32_t)sizeof(struct us_pbuf);
	struct us_config cfg = {.frag_mem_max = 4 * ts};
	struct nh *h = setup(&cfg);

	/* Tiny fragments: one datagram alone outgrows the bound, so it is
	 * dropped whole rather than pinning the memory. */
	nh_mark(h);
	for (uint32_t i = 0; i < 4; i++)
		frag(h, 14, i * 8, 8, 1);
	nh_expect(h, "eth_rx", 4, "ip4_rx", 4, "frag_rx", 4, "frag_drop_mem", 4,
		  NULL);
	assert_int_equal(ip4_reasm_count(R(h)), 0);
	assert_true(ip4_reasm_mem(R(h)) <= 4 * ts);
	teardown(h);
}

static void test_record_bound(void **state)
{
	(void)state;
	const uint32_t ts = PBUF_SMALL_SIZE + (uint32_t)sizeof(struct us_pbuf);
	struct us_config cfg = {.frag_mem_max = 10 * ts};
	struct nh *h = setup(&cfg);
	uint32_t max = ip4_reasm_max_queues(R(h));

	/* Records are made up front, one per datagram the bound can hold
	 * (each holds at least one buffer). */
	assert_true(max >= 5 && max < 10);
	/* Dead datagrams hold only their record, not a buffer: a flood of
	 * them is bounded by the records, the oldest giving way. */
	for (uint16_t id = 200; id < 200 + 3 * max; id++) {
		frag(h, id, 0, 16, 1);
		frag(h, id, 8, 16, 1);
		assert_true(ip4_reasm_count(R(h)) <= max);
	}
	assert_int_equal(ip4_reasm_count(R(h)), max);
	assert_true(ip4_reasm_mem(R(h)) < 1024 * max);
	/* A new datagram still finds a record and completes. */
	frag(h, 300, 8, 8, 0);
	frag(h, 300, 0, 8, 1);
	assert_int_equal(ngot, 1);
	check_datagram(0, 16, IP4_MIN_HLEN);
	/* And the oldest dead ones were forgotten: id 200 is new again. */
	frag(h, 200, 8, 8, 0);
	frag(h, 200, 0, 8, 1);
	assert_int_equal(ngot, 2);
	teardown(h);
}

static void test_memory_bound_follows_pool(void **state)
{
	(void)state;
	/* 64 small buffers: reassembly may hold at most half of them,
	 * whatever frag_mem_max says, so receive never starves. */
	struct nh *h = nh_create(NULL, 64);
	const uint32_t ts = PBUF_SMALL_SIZE + (uint32_t)sizeof(struct us_pbuf);
	assert_int_equal(ip4_reasm_mem_max(R(h)), 32 * ts);
	nh_destroy(h);
}

static void test_too_big(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	/* RFC 791: 65535 bytes at most. A fragment ending past it ("ping
	 * of death") is refused at once. */
	nh_mark(h);
	frag(h, 15, 65512, 8, 0); /* 20 + 65520 > 65535 */
	frag(h, 15, 65504, 16, 1);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2,
		  "frag_drop_too_big", 2, NULL);
	assert_int_equal(ip4_reasm_count(R(h)), 0);

	/* Ending exactly at 65515 + 20 is fine: a full-size datagram. */
	nh_mark(h);
	uint32_t off = 0;
	while (off + 1480 < IP4_MAX_PAYLOAD) {
		frag(h, 16, off, 1480, 1);
		off += 1480;
	}
	frag(h, 16, off, IP4_MAX_PAYLOAD - off, 0);
	assert_int_equal(ngot, 1);
	check_datagram(0, IP4_MAX_PAYLOAD, IP4_MIN_HLEN);
	assert_int_equal(got[0]->cls, 2); /* one large buffer */
	assert_int_equal(nh_delta(h, frag_reassembled), 1);

	/* The same with 40 bytes of options on the first fragment: each
	 * fragment fits, the whole would be 65555 bytes. */
	nh_mark(h);
	for (off = 1480; off + 1480 < IP4_MAX_PAYLOAD; off += 1480)
		frag(h, 17, off, 1480, 1);
	frag(h, 17, off, IP4_MAX_PAYLOAD - off, 0);
	frag_full(h, PEER_IP, PROTO_T, 17, 0, 1480, 1, payload, 60);
	assert_int_equal(ngot, 1);
	uint64_t n = nh_delta(h, frag_rx);
	nh_expect(h, "eth_rx", (int)n, "ip4_rx", (int)n, "frag_rx", (int)n,
		  "frag_drop_too_big", (int)n, NULL);
	assert_int_equal(ip4_reasm_count(R(h)), 0);
	assert_int_equal(ip4_reasm_mem(R(h)), 0);
	teardown(h);
}

static void test_inconsistent_fragments(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	/* RFC 791: all but the last fragment carry multiples of 8. */
	nh_mark(h);
	frag(h, 18, 0, 12, 1);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "frag_rx", 1, "frag_drop_bad", 1,
		  NULL);
	assert_int_equal(ip4_reasm_count(R(h)), 0);

	/* Two different ends. */
	nh_mark(h);
	frag(h, 19, 0, 16, 1);
	frag(h, 19, 32, 16, 0);
	frag(h, 19, 32, 24, 0);
	nh_expect(h, "eth_rx", 3, "ip4_rx", 3, "frag_rx", 3, "frag_drop_bad", 3,
		  NULL);
	/* ... and the datagram is dead until its timeout. */
	nh_mark(h);
	frag(h, 19, 16, 16, 1);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "frag_rx", 1, "frag_drop_bad", 1,
		  NULL);

	/* Data past a known end. */
	nh_mark(h);
	frag(h, 20, 16, 8, 0);
	frag(h, 20, 24, 8, 1);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2, "frag_drop_bad", 2,
		  NULL);

	/* An end before data already held. */
	nh_mark(h);
	frag(h, 21, 32, 8, 1);
	frag(h, 21, 8, 8, 0);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "frag_rx", 2, "frag_drop_bad", 2,
		  NULL);
	assert_int_equal(ngot, 0);
	teardown(h);
}

static void test_keys_kept_apart(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint32_t other = inet_addr("10.0.0.3");

	assert_int_equal(ip4_register(h->st, 254, t_input, NULL), 0);
	/* Same id from two sources, and under two protocols: three
	 * datagrams (key = src, dst, proto, id). */
	frag(h, 22, 0, 8, 1);
	frag_full(h, other, PROTO_T, 22, 0, 8, 1, payload, IP4_MIN_HLEN);
	frag_full(h, PEER_IP, 254, 22, 0, 8, 1, payload, IP4_MIN_HLEN);
	assert_int_equal(ip4_reasm_count(R(h)), 3);
	frag(h, 22, 8, 8, 0);
	frag_full(h, other, PROTO_T, 22, 8, 8, 0, payload, IP4_MIN_HLEN);
	frag_full(h, PEER_IP, 254, 22, 8, 8, 0, payload, IP4_MIN_HLEN);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[0]->ip_src, PEER_IP);
	assert_int_equal(got[1]->ip_src, other);
	assert_int_equal(got[2]->ip_proto, 254);
	for (int i = 0; i < 3; i++)
		assert_int_equal(got[i]->len, 16);
	assert_int_equal(h->st->stats[US_STAT_frag_reassembled], 3);
	teardown(h);
}

static void test_fini_frees_held(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	/* Held fragments and live timers are released at shutdown (the
	 * harness checks every buffer came back and no timer is armed). */
	frag(h, 23, 0, 1480, 1);
	frag(h, 24, 1480, 8, 0);
	frag(h, 25, 0, 8, 1);
	frag(h, 25, 0, 16, 1); /* overlaps: dead */
	assert_int_equal(ip4_reasm_count(R(h)), 3);
	teardown(h);
}

int main(void)
{
	fill_payload();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_out_of_order_and_reverse),
	    cmocka_unit_test(test_many_small_shuffled),
	    cmocka_unit_test(test_first_fragment_options_kept),
	    cmocka_unit_test(test_duplicates_tolerated),
	    cmocka_unit_test(test_overlap_kills_datagram),
	    cmocka_unit_test(test_overlap_variants),
	    cmocka_unit_test(test_duplicate_inside_held),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_configured_timeout),
	    cmocka_unit_test(test_memory_bound),
	    cmocka_unit_test(test_memory_bound_one_datagram),
	    cmocka_unit_test(test_record_bound),
	    cmocka_unit_test(test_memory_bound_follows_pool),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_inconsistent_fragments),
	    cmocka_unit_test(test_keys_kept_apart),
	    cmocka_unit_test(test_fini_frees_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
