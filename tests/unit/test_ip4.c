/* IPv4 input checks and dispatch, output (routes, fragments, DF,
 * loopback), Ethernet demux, and ICMP: echo (also fragmented, both ways),
 * errors sent (the RFC 1122 3.2.2 exclusions, the quote, the rate limit)
 * and errors received (validated, handed to the quoted protocol). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/ip4_frag.h"
#include "unit/net_harness.h"

#define PROTO_T 253

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

/* The last error handed to the test protocol. */
static struct {
	int n, type, code;
	uint32_t info, len;
	uint8_t quote[600];
} err;

static void t_err(struct us_stack *st, int type, int code, uint32_t info,
		  const uint8_t *quote, uint32_t len)
{
	(void)st;
	err.n++;
	err.type = type;
	err.code = code;
	err.info = info;
	err.len = len;
	memcpy(err.quote, quote, US_MIN(len, sizeof(err.quote)));
}

static struct nh *setup(const struct us_config *cfg)
{
	struct nh *h = nh_create(cfg, 0);
	assert_int_equal(ip4_register(h->st, PROTO_T, t_input, t_err), 0);
	ngot = 0;
	memset(&err, 0, sizeof(err));
	return h;
}

static void teardown(struct nh *h)
{
	for (int i = 0; i < ngot; i++)
		pbuf_free(got[i]);
	ngot = 0;
	nh_destroy(h);
}

static const uint8_t data8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* ---- Ethernet ---- */

static void test_eth_demux(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128];
	uint32_t n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);

	nh_mark(h);
	nh_inject(h, f, 13);
	nh_expect(h, "eth_rx", 1, "eth_drop_short", 1, NULL);
	/* Another host's unicast (a promiscuous device). */
	nh_mark(h);
	f[5] = 0x99;
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "eth_drop_not_ours", 1, NULL);
	f[5] = NH_MAC[5];
	/* Unknown ethertype (IPv6), and an 802.3 length field. */
	nh_mark(h);
	wr16(f + 12, 0x86dd);
	nh_inject(h, f, n);
	wr16(f + 12, 0x0040);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 2, "eth_drop_unknown_type", 2, NULL);
	wr16(f + 12, ETH_P_IPV4);
	assert_int_equal(ngot, 0);
	/* Ours: delivered at L4. */
	nh_mark(h);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, NULL);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0]->len, 8);
	assert_memory_equal(got[0]->data, data8, 8);
	assert_int_equal(got[0]->flags & PBUF_F_BCAST, 0);
	/* A registration can be replaced and removed; the table is
	 * bounded. */
	assert_int_equal(eth_register(h->st, 0x88b5, t_input), 0);
	assert_int_equal(eth_register(h->st, 0x88b5, NULL), 0);
	int i, rc = 0;
	for (i = 0; i < US_ETH_HANDLERS && rc == 0; i++)
		rc = eth_register(h->st, (uint16_t)(0x9000 + i), t_input);
	assert_int_equal(rc, -ENOSPC);
	teardown(h);
}

/* ---- IPv4 input ---- */

static void inject_ip(struct nh *h, uint8_t *f, uint32_t n)
{
	nh_inject(h, f, n);
}

static void fix_csum(uint8_t *f)
{
	uint8_t *ip = f + ETH_HDR_LEN;
	ip4_hdr_set_csum(ip, (ip[0] & 0xf) * 4u);
}

static void test_ip4_input_checks(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128];
	uint32_t n;
	uint8_t *ip = f + ETH_HDR_LEN;

	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);
	nh_mark(h);
	inject_ip(h, f, ETH_HDR_LEN + 19);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_short", 1, NULL);

	nh_mark(h);
	ip[0] = 0x65;
	fix_csum(f);
	inject_ip(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_version", 1, NULL);

	nh_mark(h);
	ip[0] = 0x44;
	inject_ip(h, f, n);
	ip[0] = 0x48; /* 32-byte header in a 28-byte datagram */
	inject_ip(h, f, n);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "ip4_drop_hdrlen", 2, NULL);

	/* A frame shorter than the total length claims. */
	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);
	nh_mark(h);
	inject_ip(h, f, n - 1);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_totlen", 1, NULL);

	nh_mark(h);
	ip[8] ^= 1; /* TTL changed, checksum not */
	inject_ip(h, f, n);
	ip[8] ^= 1;
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_csum", 1, NULL);
	assert_int_equal(ngot, 0);
	teardown(h);
}

static void test_ip4_padding_trimmed(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128] = {0};
	uint32_t n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);

	/* Ethernet pads to 60 bytes; the datagram is 28. */
	assert_int_equal(n, 42);
	memset(f + n, 0xee, 60 - n);
	nh_mark(h);
	inject_ip(h, f, 60);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, NULL);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0]->len, 8);
	assert_int_equal(got[0]->l3_off + IP4_MIN_HLEN, got[0]->l4_off);
	assert_ptr_equal(got[0]->head + got[0]->l4_off, got[0]->data);
	assert_int_equal(got[0]->ip_src, PEER_IP);
	assert_int_equal(got[0]->ip_dst, NH_IP);
	assert_int_equal(got[0]->ip_proto, PROTO_T);
	teardown(h);
}

static void test_ip4_options_skipped(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128];
	uint8_t *ip = f + ETH_HDR_LEN;
	uint32_t n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);

	/* Insert 8 bytes of options (NOP NOP NOP NOP, a timestamp-ish
	 * unknown option 0x44 len 4... as raw bytes). */
	memmove(ip + 28, ip + 20, 8);
	const uint8_t opts[8] = {1, 1, 1, 1, 0x88, 4, 0, 0};
	memcpy(ip + 20, opts, 8);
	ip[0] = 0x47;
	wr16(ip + 2, 36);
	fix_csum(f);
	inject_ip(h, f, n + 8);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0]->len, 8);
	assert_memory_equal(got[0]->data, data8, 8);
	assert_int_equal(got[0]->l4_off - got[0]->l3_off, 28);
	teardown(h);
}

static void test_ip4_destinations(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128];
	uint32_t n;
	struct {
		uint32_t dst;
		int ours;
	} cases[] = {
	    {NH_IP, 1},
	    {inet_addr("255.255.255.255"), 1},
	    {inet_addr("10.0.0.255"), 1},
	    {inet_addr("10.0.0.3"), 0},
	    {inet_addr("224.0.0.1"), 0}, /* no group joined */
	    {inet_addr("0.0.0.0"), 0},
	};
	for (size_t i = 0; i < US_ARRAY_SIZE(cases); i++) {
		ngot = 0;
		nh_mark(h);
		n = nh_ip4(f, PEER_IP, cases[i].dst, PROTO_T, 1, 0, data8, 8);
		inject_ip(h, f, n);
		if (cases[i].ours) {
			nh_expect(h, "eth_rx", 1, "ip4_rx", 1, NULL);
			assert_int_equal(ngot, 1);
			pbuf_free(got[0]);
		} else {
			nh_expect(h, "eth_rx", 1, "ip4_rx", 1,
				  "ip4_drop_not_ours", 1, NULL);
			assert_int_equal(ngot, 0);
		}
	}
	ngot = 0;
	/* RFC 1122 3.3.6: our unicast address in a link-layer broadcast. */
	nh_mark(h);
	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);
	memcpy(f, BCAST_MAC, 6);
	inject_ip(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_not_ours", 1, NULL);
	/* An IP broadcast in a link-layer broadcast is fine, and marked. */
	n = nh_ip4(f, PEER_IP, inet_addr("255.255.255.255"), PROTO_T, 1, 0,
		   data8, 8);
	memcpy(f, BCAST_MAC, 6);
	inject_ip(h, f, n);
	assert_int_equal(ngot, 1);
	assert_true(got[0]->flags & PBUF_F_BCAST);
	teardown(h);
}

static void test_ip4_martians(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128];
	uint32_t n;
	const uint32_t bad[] = {
	    inet_addr("255.255.255.255"),
	    inet_addr("224.0.0.5"),
	    inet_addr("10.0.0.255"),
	    inet_addr("127.0.0.1"),
	    NH_IP, /* ourselves, from the wire */
	    0,	   /* 0.0.0.0 to a unicast address */
	};
	for (size_t i = 0; i < US_ARRAY_SIZE(bad); i++) {
		nh_mark(h);
		n = nh_ip4(f, bad[i], NH_IP, PROTO_T, 1, 0, data8, 8);
		inject_ip(h, f, n);
		nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_martian", 1,
			  NULL);
	}
	assert_int_equal(ngot, 0);
	/* 0.0.0.0 to the limited broadcast: a host booting (DHCP). */
	n = nh_ip4(f, 0, inet_addr("255.255.255.255"), PROTO_T, 1, 0, data8, 8);
	memcpy(f, BCAST_MAC, 6);
	inject_ip(h, f, n);
	assert_int_equal(ngot, 1);
	teardown(h);
}

static void test_ip4_unknown_proto(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[128];
	uint32_t n = nh_ip4(f, PEER_IP, NH_IP, 99, 1, 0, data8, 8);

	nh_mark(h);
	inject_ip(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "ip4_drop_unknown_proto", 1,
		  NULL);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	/* Unregistering works the same way. */
	assert_int_equal(ip4_register(h->st, PROTO_T, NULL, NULL), 0);
	assert_null(ip4_err_handler(h->st, PROTO_T));
	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);
	inject_ip(h, f, n);
	assert_int_equal(ngot, 0);
	assert_int_equal(h->st->stats[US_STAT_ip4_drop_unknown_proto], 2);
	teardown(h);
}

/* ---- IPv4 output ---- */

static int send_len(struct nh *h, uint32_t dst, uint32_t len, int df)
{
	struct us_pbuf *p = stack_alloc(h->st, len);
	struct ip4_tx tx = {.dst = dst, .proto = PROTO_T, .df = (uint8_t)df};
	assert_non_null(p);
	for (uint32_t i = 0; i < len; i++)
		p->data[i] = (uint8_t)(i * 13);
	p->len = len;
	return ip4_output(h->st, p, &tx);
}

static void test_ip4_output_header(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	struct ip4_hdr ih;
	struct us_pbuf *p = stack_alloc(h->st, 8);
	struct ip4_tx tx = {
	    .dst = PEER_IP, .proto = PROTO_T, .tos = 0x48, .df = 1};

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	memcpy(p->data, data8, 8);
	p->len = 8;
	nh_mark(h);
	assert_int_equal(ip4_output(h->st, p, &tx), 0);
	tx.ttl = 5;
	tx.df = 0;
	tx.src = inet_addr("10.0.0.9");
	p = stack_alloc(h->st, 8);
	p->len = 8;
	assert_int_equal(ip4_output(h->st, p, &tx), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 2);
	nh_expect(h, "ip4_tx", 2, "eth_tx", 2, NULL);

	const uint8_t *ip = h->tx[0]->data + ETH_HDR_LEN;
	assert_memory_equal(h->tx[0]->data, PEER_MAC, 6);
	assert_int_equal(h->tx[0]->len, ETH_HDR_LEN + 28);
	assert_int_equal(ip4_parse(ip, 28, &ih), 0);
	assert_true(ip4_hdr_csum_ok(ip, 20));
	assert_int_equal(ih.tot_len, 28);
	assert_int_equal(ih.ttl, IP4_DEFAULT_TTL);
	assert_int_equal(ih.tos, 0x48);
	assert_int_equal(ih.frag, IP4_FLAG_DF);
	assert_int_equal(ih.proto, PROTO_T);
	assert_int_equal(ih.src, NH_IP);
	assert_int_equal(ih.dst, PEER_IP);
	assert_memory_equal(ip + 20, data8, 8);
	uint16_t id0 = ih.id;

	ip = h->tx[1]->data + ETH_HDR_LEN;
	assert_int_equal(ip4_parse(ip, 28, &ih), 0);
	assert_int_equal(ih.ttl, 5);
	assert_int_equal(ih.frag, 0);
	assert_int_equal(ih.src, inet_addr("10.0.0.9"));
	/* A new identification per datagram. */
	assert_int_equal(ih.id, (uint16_t)(id0 + 1));
	teardown(h);
}

static void test_ip4_routes(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	assert_int_equal(ip4_route(h->st, PEER_IP), PEER_IP);
	assert_int_equal(ip4_route(h->st, FAR_IP), GW_IP);
	assert_int_equal(ip4_route(h->st, inet_addr("255.255.255.255")),
			 inet_addr("255.255.255.255"));
	assert_int_equal(ip4_route(h->st, inet_addr("239.1.2.3")),
			 inet_addr("239.1.2.3"));
	assert_int_equal(ip4_route(h->st, inet_addr("127.0.0.1")), 0);
	assert_int_equal(ip4_route(h->st, 0), 0);
	assert_true(ip4_is_local(h->st, NH_IP));
	assert_true(ip4_is_local(h->st, inet_addr("10.0.0.255")));
	assert_true(ip4_is_local(h->st, inet_addr("255.255.255.255")));
	assert_false(ip4_is_local(h->st, PEER_IP));
	assert_false(ip4_is_local(h->st, 0));

	/* Without a gateway, off-link has no route. */
	h->st->gw = 0;
	assert_int_equal(ip4_route(h->st, FAR_IP), 0);
	nh_mark(h);
	assert_int_equal(send_len(h, FAR_IP, 8, 0), -ENETUNREACH);
	assert_int_equal(send_len(h, inet_addr("127.0.0.1"), 8, 0),
			 -ENETUNREACH);
	nh_expect(h, "ip4_drop_no_route", 2, NULL);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	teardown(h);
}

/* Check fragment i of a datagram sent to PEER: offset, MF and size. */
static void check_frag(struct nh *h, int i, uint16_t id, uint32_t off,
		       uint32_t len, int mf)
{
	struct ip4_hdr ih;
	const uint8_t *ip = h->tx[i]->data + ETH_HDR_LEN;

	assert_memory_equal(h->tx[i]->data, PEER_MAC, 6);
	assert_int_equal(h->tx[i]->len, ETH_HDR_LEN + IP4_MIN_HLEN + len);
	assert_int_equal(ip4_parse(ip, IP4_MIN_HLEN + len, &ih), 0);
	assert_true(ip4_hdr_csum_ok(ip, IP4_MIN_HLEN));
	assert_int_equal(ih.id, id);
	assert_int_equal(ip4_frag_offset(&ih), off);
	assert_int_equal(!!(ih.frag & IP4_FLAG_MF), mf);
	assert_int_equal(ih.frag & IP4_FLAG_DF, 0);
	assert_int_equal(ih.tot_len, IP4_MIN_HLEN + len);
	for (uint32_t k = 0; k < len; k++)
		if (ip[IP4_MIN_HLEN + k] != (uint8_t)((off + k) * 13))
			fail_msg("fragment %d byte %u", i, k);
}

static void test_ip4_output_fragments(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_mark(h);
	assert_int_equal(send_len(h, PEER_IP, 3000, 0), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 3);
	uint16_t id = rd16(h->tx[0]->data + ETH_HDR_LEN + 4);
	check_frag(h, 0, id, 0, 1480, 1);
	check_frag(h, 1, id, 1480, 1480, 1);
	check_frag(h, 2, id, 2960, 40, 0);
	nh_expect(h, "ip4_tx", 1, "ip4_frag_tx", 3, "eth_tx", 3, NULL);
	nh_clear_tx(h);

	/* Exactly the MTU: one packet. One byte more: two. */
	assert_int_equal(send_len(h, PEER_IP, 1480, 0), 0);
	assert_int_equal(send_len(h, PEER_IP, 1481, 0), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 3);
	assert_int_equal(h->tx[0]->len, ETH_HDR_LEN + 1500);
	id = rd16(h->tx[1]->data + ETH_HDR_LEN + 4);
	check_frag(h, 1, id, 0, 1480, 1);
	check_frag(h, 2, id, 1480, 1, 0);
	nh_clear_tx(h);

	/* A smaller MTU: offsets stay multiples of 8 (RFC 791). */
	h->st->mtu = 576;
	assert_int_equal(send_len(h, PEER_IP, 1200, 0), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 3);
	id = rd16(h->tx[0]->data + ETH_HDR_LEN + 4);
	check_frag(h, 0, id, 0, 552, 1);
	check_frag(h, 1, id, 552, 552, 1);
	check_frag(h, 2, id, 1104, 96, 0);
	nh_clear_tx(h);
	h->st->mtu = 1500;

	/* DF and too big. */
	nh_mark(h);
	assert_int_equal(send_len(h, PEER_IP, 1481, 1), -EMSGSIZE);
	nh_expect(h, "ip4_drop_df", 1, NULL);
	/* Past 65535 bytes altogether. */
	nh_mark(h);
	assert_int_equal(send_len(h, PEER_IP, IP4_MAX_PAYLOAD + 1, 0),
			 -EMSGSIZE);
	nh_expect(h, "ip4_drop_toobig", 1, NULL);
	/* The largest datagram: 45 fragments. */
	nh_mark(h);
	assert_int_equal(send_len(h, PEER_IP, IP4_MAX_PAYLOAD, 0), 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 45);
	id = rd16(h->tx[0]->data + ETH_HDR_LEN + 4);
	check_frag(h, 44, id, 44 * 1480, IP4_MAX_PAYLOAD - 44 * 1480, 0);
	nh_expect(h, "ip4_tx", 1, "ip4_frag_tx", 45, "eth_tx", 45, NULL);
	teardown(h);
}

static void test_ip4_fragments_round_trip(void **state)
{
	(void)state;
	struct nh *a = setup(NULL);
	struct nh *b = nh_create(NULL, 0);

	/* a's fragments, fed to b in reverse, rebuild a's datagram. */
	assert_int_equal(ip4_register(b->st, PROTO_T, t_input, NULL), 0);
	memcpy(b->st->mac, PEER_MAC, 6);
	b->st->ip = PEER_IP;
	nh_learn_peer(a, PEER_IP, PEER_MAC);
	assert_int_equal(send_len(a, PEER_IP, 5000, 0), 0);
	nh_flush(a);
	assert_int_equal(a->ntx, 4);
	for (int i = a->ntx; i-- > 0;) {
		/* nh_inject copies; the frame's source MAC is NH_MAC. */
		nh_inject(b, a->tx[i]->data, a->tx[i]->len);
	}
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0]->len, 5000);
	for (uint32_t k = 0; k < 5000; k++)
		if (got[0]->data[k] != (uint8_t)(k * 13))
			fail_msg("byte %u", k);
	assert_int_equal(got[0]->ip_src, NH_IP);
	pbuf_free(got[0]);
	ngot = 0;
	nh_destroy(b);
	teardown(a);
}

static void test_ip4_loopback(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);

	/* To ourselves: no ARP, no fragmentation, queued for the next
	 * loop turn, never delivered from inside output. */
	nh_mark(h);
	assert_int_equal(send_len(h, NH_IP, 4000, 0), 0);
	assert_int_equal(ngot, 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	assert_int_equal(h->st->loopq.count, 1);
	assert_int_equal(nh_run_loopback(h), 1);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0]->len, 4000);
	assert_int_equal(got[0]->ip_src, NH_IP);
	assert_int_equal(got[0]->ip_dst, NH_IP);
	assert_true(got[0]->flags & PBUF_F_LOOP);
	for (uint32_t k = 0; k < 4000; k++)
		if (got[0]->data[k] != (uint8_t)(k * 13))
			fail_msg("byte %u", k);
	nh_expect(h, "ip4_tx", 1, "ip4_rx", 1, NULL);
	teardown(h);
}

/* ---- ICMP ---- */

static uint32_t echo_frame(uint8_t *f, uint32_t dst, uint16_t id, uint16_t seq,
			   uint32_t dlen)
{
	uint8_t m[2048];
	struct icmp_hdr ih = {.type = ICMP_ECHO_T,
			      .rest = (uint32_t)id << 16 | seq};
	icmp_emit(m, &ih);
	for (uint32_t i = 0; i < dlen; i++)
		m[8 + i] = (uint8_t)(i + 3);
	icmp_set_csum(m, 8 + dlen);
	return nh_ip4(f, PEER_IP, dst, IP4_PROTO_ICMP, 77, 0, m, 8 + dlen);
}

static void test_icmp_echo(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[256];
	uint32_t n = echo_frame(f, NH_IP, 0x1234, 7, 56);
	struct ip4_hdr ih;

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_mark(h);
	nh_inject(h, f, n);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_echo_rx", 1,
		  "icmp_echo_reply_tx", 1, "ip4_tx", 1, "eth_tx", 1, NULL);
	const uint8_t *r = h->tx[0]->data;
	assert_int_equal(h->tx[0]->len, n);
	assert_memory_equal(r, PEER_MAC, 6);
	assert_memory_equal(r + 6, NH_MAC, 6);
	assert_int_equal(ip4_parse(r + 14, n - 14, &ih), 0);
	assert_true(ip4_hdr_csum_ok(r + 14, 20));
	assert_int_equal(ih.src, NH_IP);
	assert_int_equal(ih.dst, PEER_IP);
	assert_int_equal(ih.proto, IP4_PROTO_ICMP);
	assert_int_equal(ih.ttl, IP4_DEFAULT_TTL);
	/* Type 0, same id, seq and data; valid checksum. */
	const uint8_t *m = r + 34, *q = f + 34;
	assert_int_equal(m[0], ICMP_ECHOREPLY_T);
	assert_int_equal(m[1], 0);
	assert_memory_equal(m + 4, q + 4, n - 34 - 4);
	assert_true(icmp_csum_ok(m, n - 34));
	teardown(h);
}

static void test_icmp_echo_refused(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[256];
	uint32_t n;

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	/* To a broadcast (RFC 1122 3.2.2.6). */
	nh_mark(h);
	n = echo_frame(f, inet_addr("10.0.0.255"), 1, 1, 8);
	memcpy(f, BCAST_MAC, 6);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_echo_rx", 1,
		  "icmp_drop_bcast", 1, NULL);
	/* Bad checksum. */
	nh_mark(h);
	n = echo_frame(f, NH_IP, 1, 1, 8);
	f[n - 1] ^= 0x40;
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_drop_csum",
		  1, NULL);
	/* Shorter than a header. */
	nh_mark(h);
	uint8_t tiny[4] = {8, 0, 0xf7, 0xff};
	n = nh_ip4(f, PEER_IP, NH_IP, IP4_PROTO_ICMP, 1, 0, tiny, 4);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_drop_short",
		  1, NULL);
	/* A type we do not act on (timestamp), and an echo reply. */
	nh_mark(h);
	n = echo_frame(f, NH_IP, 1, 1, 8);
	f[34] = 13;
	f[36] = f[37] = 0;
	icmp_set_csum(f + 34, n - 34);
	nh_inject(h, f, n);
	f[34] = ICMP_ECHOREPLY_T;
	icmp_set_csum(f + 34, n - 34);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "icmp_rx", 2,
		  "icmp_drop_unknown_type", 2, NULL);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	teardown(h);
}

/* ping -s 8000: the request arrives in fragments, is reassembled, and
 * the 8008-byte reply leaves in fragments. */
static void test_icmp_echo_fragmented(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	static uint8_t m[8008], f[1600], back[8008];
	struct icmp_hdr ich = {.type = ICMP_ECHO_T, .rest = 0x00420001};
	struct ip4_hdr ih;

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	icmp_emit(m, &ich);
	for (uint32_t i = 8; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 31);
	icmp_set_csum(m, sizeof(m));
	nh_mark(h);
	for (uint32_t off = 0; off < sizeof(m); off += 1480) {
		uint32_t len = US_MIN(1480u, (uint32_t)sizeof(m) - off);
		uint16_t fr =
		    (uint16_t)(off / 8 |
			       (off + len < sizeof(m) ? IP4_FLAG_MF : 0));
		nh_inject(h, f,
			  nh_ip4(f, PEER_IP, NH_IP, IP4_PROTO_ICMP, 0x5151, fr,
				 m + off, len));
	}
	nh_flush(h);
	assert_int_equal(h->ntx, 6);
	nh_expect(h, "eth_rx", 6, "ip4_rx", 6, "frag_rx", 6, "frag_reassembled",
		  1, "icmp_rx", 1, "icmp_echo_rx", 1, "icmp_echo_reply_tx", 1,
		  "ip4_tx", 1, "ip4_frag_tx", 6, "eth_tx", 6, NULL);
	/* Put the reply back together by hand. */
	uint32_t total = 0;
	for (int i = 0; i < h->ntx; i++) {
		const uint8_t *ip = h->tx[i]->data + ETH_HDR_LEN;
		assert_int_equal(
		    ip4_parse(ip, h->tx[i]->len - ETH_HDR_LEN, &ih), 0);
		assert_true(ip4_hdr_csum_ok(ip, 20));
		assert_int_equal(ih.dst, PEER_IP);
		assert_int_equal(ip4_frag_offset(&ih), total);
		assert_int_equal(!!(ih.frag & IP4_FLAG_MF), i < h->ntx - 1);
		memcpy(back + total, ip + 20, ih.tot_len - 20u);
		total += ih.tot_len - 20u;
	}
	assert_int_equal(total, sizeof(m));
	assert_int_equal(back[0], ICMP_ECHOREPLY_T);
	assert_true(icmp_csum_ok(back, sizeof(back)));
	assert_memory_equal(back + 4, m + 4, sizeof(m) - 4);
	teardown(h);
}

/* A received datagram of the test protocol; icmp_send_error is called on
 * it while held (as UDP does for port unreachable). */
static void err_about(struct nh *h, const uint8_t *f, uint32_t n, uint8_t type,
		      uint8_t code, uint32_t info)
{
	ngot = 0;
	nh_inject(h, f, n);
	if (ngot == 1) {
		icmp_send_error(h->st, got[0], type, code, info);
		pbuf_free(got[0]);
	}
	ngot = 0;
}

static void test_icmp_error_sent(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	static uint8_t f[1600], pl[1000];
	struct ip4_hdr ih;
	uint32_t n;

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	/* Short datagram: quoted whole. */
	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 5, 0, data8, 8);
	nh_mark(h);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_unreach_tx", 1,
		  "icmp_err_tx", 1, "ip4_tx", 1, "eth_tx", 1, NULL);
	const uint8_t *ip = h->tx[0]->data + ETH_HDR_LEN;
	assert_int_equal(ip4_parse(ip, h->tx[0]->len - ETH_HDR_LEN, &ih), 0);
	assert_int_equal(ih.src, NH_IP);
	assert_int_equal(ih.dst, PEER_IP);
	assert_int_equal(ih.proto, IP4_PROTO_ICMP);
	assert_int_equal(ih.tot_len, 20 + 8 + 28);
	assert_int_equal(ip[20], ICMP_UNREACH_T);
	assert_int_equal(ip[21], ICMP_UNREACH_PORT_C);
	assert_int_equal(rd32(ip + 24), 0);
	assert_true(icmp_csum_ok(ip + 20, 36));
	assert_memory_equal(ip + 28, f + ETH_HDR_LEN, 28);
	nh_clear_tx(h);

	/* Long datagram: quote up to 576 bytes in all (RFC 1812 4.3.2.3);
	 * the info word carries e.g. a next-hop MTU. */
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)i;
	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 6, 0, pl, sizeof(pl));
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_NEEDFRAG_C, 1400);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	ip = h->tx[0]->data + ETH_HDR_LEN;
	assert_int_equal(rd16(ip + 2), 576);
	assert_int_equal(rd32(ip + 24), 1400);
	assert_memory_equal(ip + 28, f + ETH_HDR_LEN, 548);
	assert_true(icmp_csum_ok(ip + 20, 556));
	nh_clear_tx(h);

	/* Time exceeded counts as an error, not an unreachable. */
	nh_mark(h);
	n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 7, 0, data8, 8);
	err_about(h, f, n, ICMP_TIMXCEED_T, 0, 0);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_err_tx", 1, "ip4_tx", 1,
		  "eth_tx", 1, NULL);
	teardown(h);
}

static void test_icmp_error_exclusions(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[256];
	uint32_t n;

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_mark(h);
	/* To the limited and the subnet broadcast. */
	n = nh_ip4(f, PEER_IP, inet_addr("255.255.255.255"), PROTO_T, 1, 0,
		   data8, 8);
	memcpy(f, BCAST_MAC, 6);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	n = nh_ip4(f, PEER_IP, inet_addr("10.0.0.255"), PROTO_T, 1, 0, data8,
		   8);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	/* From 0.0.0.0 (to the broadcast, the only way it is accepted). */
	n = nh_ip4(f, 0, inet_addr("255.255.255.255"), PROTO_T, 1, 0, data8, 8);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_expect(h, "eth_rx", 3, "ip4_rx", 3, NULL);

	/* Not about an ICMP error, nor a non-first fragment: built by hand
	 * as the caller would hold them. */
	struct us_pbuf *p = stack_alloc(h->st, 64);
	uint8_t *ip = p->data;
	n = nh_ip4(f, PEER_IP, NH_IP, IP4_PROTO_ICMP, 1, 0, data8, 8);
	memcpy(ip, f + ETH_HDR_LEN, n - ETH_HDR_LEN);
	ip[20] = ICMP_UNREACH_T;
	p->len = n - ETH_HDR_LEN;
	p->l3_off = (uint16_t)(p->data - p->head);
	pbuf_pull(p, 20);
	icmp_send_error(h->st, p, ICMP_UNREACH_T, ICMP_UNREACH_PROTO_C, 0);
	/* ... an echo request, though, may be answered with an error. */
	ip[20] = ICMP_ECHO_T;
	icmp_send_error(h->st, p, ICMP_UNREACH_T, ICMP_UNREACH_PROTO_C, 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	nh_clear_tx(h);
	ip[9] = PROTO_T;
	wr16(ip + 6, 185); /* offset 1480 */
	icmp_send_error(h->st, p, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	wr16(ip + 6, IP4_FLAG_MF); /* the first fragment is fine */
	icmp_send_error(h->st, p, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	nh_flush(h);
	assert_int_equal(h->ntx, 1);
	pbuf_free(p);
	teardown(h);
}

static void test_icmp_ratelimit(void **state)
{
	(void)state;
	struct us_config cfg = {.icmp_ratelimit = 5};
	struct nh *h = setup(&cfg);
	uint8_t f[128];
	uint32_t n = nh_ip4(f, PEER_IP, NH_IP, PROTO_T, 1, 0, data8, 8);

	nh_learn_peer(h, PEER_IP, PEER_MAC);
	nh_mark(h);
	/* A burst of one second's worth, then none. */
	for (int i = 0; i < 8; i++)
		err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	nh_expect(h, "eth_rx", 8, "ip4_rx", 8, "icmp_unreach_tx", 5,
		  "icmp_err_tx", 5, "ip4_tx", 5, "eth_tx", 5,
		  "icmp_drop_ratelimit", 3, NULL);
	/* 5 per second: one more token each 200 ms. */
	nh_mark(h);
	nh_advance_ms(h, 199);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	nh_advance_ms(h, 1);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	nh_expect(h, "eth_rx", 3, "ip4_rx", 3, "icmp_unreach_tx", 1,
		  "icmp_err_tx", 1, "ip4_tx", 1, "eth_tx", 1,
		  "icmp_drop_ratelimit", 2, NULL);
	/* A long pause fills the bucket, no more. */
	nh_mark(h);
	nh_advance_ms(h, 3600 * 1000);
	for (int i = 0; i < 7; i++)
		err_about(h, f, n, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
	assert_int_equal(nh_delta(h, icmp_err_tx), 5);
	assert_int_equal(nh_delta(h, icmp_drop_ratelimit), 2);
	teardown(h);
}

/* An ICMP error from the gateway quoting a datagram we sent. */
static uint32_t error_frame(uint8_t *f, uint8_t type, uint8_t code,
			    uint32_t rest, uint32_t quote_payload)
{
	uint8_t m[128] = {0};
	struct ip4_hdr q = {0};
	struct icmp_hdr ih = {.type = type, .code = code, .rest = rest};

	q.tot_len = 1500;
	q.id = 0x4242;
	q.frag = IP4_FLAG_DF;
	q.ttl = 64;
	q.proto = PROTO_T;
	q.src = NH_IP;
	q.dst = FAR_IP;
	icmp_emit(m, &ih);
	ip4_emit(m + 8, &q);
	memcpy(m + 28, data8, 8);
	icmp_set_csum(m, 28 + quote_payload);
	return nh_ip4(f, GW_IP, NH_IP, IP4_PROTO_ICMP, 1, 0, m,
		      28 + quote_payload);
}

static void test_icmp_error_received(void **state)
{
	(void)state;
	struct nh *h = setup(NULL);
	uint8_t f[256];
	uint32_t n;

	/* Fragmentation needed (RFC 1191): the MTU reaches the protocol. */
	nh_mark(h);
	n = error_frame(f, ICMP_UNREACH_T, ICMP_UNREACH_NEEDFRAG_C, 1400, 8);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_err_rx", 1,
		  NULL);
	assert_int_equal(err.n, 1);
	assert_int_equal(err.type, ICMP_UNREACH_T);
	assert_int_equal(err.code, ICMP_UNREACH_NEEDFRAG_C);
	assert_int_equal(err.info, 1400);
	assert_int_equal(err.len, 28);
	assert_int_equal(rdaddr(err.quote + 16), FAR_IP);
	assert_memory_equal(err.quote + 20, data8, 8);

	/* Time exceeded and parameter problem (pointer) too. */
	n = error_frame(f, ICMP_TIMXCEED_T, 0, 0, 8);
	nh_inject(h, f, n);
	assert_int_equal(err.n, 2);
	assert_int_equal(err.type, ICMP_TIMXCEED_T);
	n = error_frame(f, ICMP_PARAMPROB_T, 0, 9u << 24, 8);
	nh_inject(h, f, n);
	assert_int_equal(err.n, 3);
	assert_int_equal(err.info, 9);

	/* A quote too short for the header and 8 bytes. */
	nh_mark(h);
	n = error_frame(f, ICMP_UNREACH_T, 1, 0, 4);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_drop_short",
		  1, NULL);
	assert_int_equal(err.n, 3);

	/* Source quench and redirect are not acted on (RFC 6633). */
	nh_mark(h);
	n = error_frame(f, ICMP_SOURCEQUENCH_T, 0, 0, 8);
	nh_inject(h, f, n);
	n = error_frame(f, ICMP_REDIRECT_T, 1, GW_IP, 8);
	nh_inject(h, f, n);
	nh_expect(h, "eth_rx", 2, "ip4_rx", 2, "icmp_rx", 2,
		  "icmp_drop_unknown_type", 2, NULL);
	assert_int_equal(err.n, 3);
	/* We never answer an error with an error. */
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	teardown(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eth_demux),
	    cmocka_unit_test(test_ip4_input_checks),
	    cmocka_unit_test(test_ip4_padding_trimmed),
	    cmocka_unit_test(test_ip4_options_skipped),
	    cmocka_unit_test(test_ip4_destinations),
	    cmocka_unit_test(test_ip4_martians),
	    cmocka_unit_test(test_ip4_unknown_proto),
	    cmocka_unit_test(test_ip4_output_header),
	    cmocka_unit_test(test_ip4_routes),
	    cmocka_unit_test(test_ip4_output_fragments),
	    cmocka_unit_test(test_ip4_fragments_round_trip),
	    cmocka_unit_test(test_ip4_loopback),
	    cmocka_unit_test(test_icmp_echo),
	    cmocka_unit_test(test_icmp_echo_refused),
	    cmocka_unit_test(test_icmp_echo_fragmented),
	    cmocka_unit_test(test_icmp_error_sent),
	    cmocka_unit_test(test_icmp_error_exclusions),
	    cmocka_unit_test(test_icmp_ratelimit),
	    cmocka_unit_test(test_icmp_error_received),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
