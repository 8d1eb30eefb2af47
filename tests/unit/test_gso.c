/* Software segmentation of GSO super-frames (dev/gso.c), as the afpacket
 * device applies it to what a veth peer with TSO on hands over: segment
 * sizes, IPv4 length/ID/checksum, TCP sequence numbers and flags (FIN/PSH
 * on the last only, CWR on the first only), options copied, L4 checksums
 * complete; UDP GSO; what is refused and counted; an empty pool; and the
 * completion of partial checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_net.h>

#include "dev/gso.h"
#include "unit/net_harness.h"
#include "wire/tcp.h"
#include "wire/udp.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define MAXF 1518u /* MTU 1500 + Ethernet header + a tag */
#define SRC inet_addr("10.8.0.1")
#define DST inet_addr("10.8.0.2")
#define TCP_OPTLEN 12 /* NOP NOP timestamps, as Linux sends them */

static uint8_t frame[65536 + 64];
static uint8_t data[65536];

static void fill_data(void)
{
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + (i >> 9));
}

static uint32_t ip_hdr(uint8_t *b, uint8_t proto, uint32_t l4len)
{
	struct ip4_hdr ih = {0};

	ih.tot_len = (uint16_t)(IP4_MIN_HLEN + l4len);
	ih.id = 0xfffe; /* the ID wraps within the super-frame */
	ih.frag = IP4_FLAG_DF;
	ih.ttl = 64;
	ih.proto = proto;
	ih.src = SRC;
	ih.dst = DST;
	ip4_emit(b, &ih);
	return IP4_MIN_HLEN;
}

/* A TCP super-frame as Linux's TSO path builds it: one header for n data
 * bytes, the checksum field holding the pseudo-header sum only. */
static uint32_t tcp_super(uint32_t seq, uint8_t flags, uint32_t n)
{
	uint32_t hl = TCP_HLEN + TCP_OPTLEN;
	uint8_t *ip = frame + nh_eth(frame, PEER_MAC, NH_MAC, ETH_P_IPV4);
	uint8_t *t = ip + ip_hdr(ip, IP4_PROTO_TCP, hl + n);
	struct tcp_hdr th = {.sport = 40000,
			     .dport = 9,
			     .seq = seq,
			     .ack = 77,
			     .doff = (uint8_t)hl,
			     .flags = flags,
			     .wnd = 501};
	uint16_t c;

	tcp_emit(t, &th);
	t[20] = t[21] = TCPOPT_NOP;
	t[22] = TCPOPT_TS;
	t[23] = 10;
	wr32(t + 24, 0x01020304);
	wr32(t + 28, 0x05060708);
	memcpy(t + hl, data, n);
	c = (uint16_t)~csum_fold(csum_pseudo4(SRC, DST, IP4_PROTO_TCP, hl + n));
	memcpy(t + 16, &c, 2);
	return ETH_HDR_LEN + IP4_MIN_HLEN + hl + n;
}

static uint32_t udp_super(uint32_t n)
{
	uint8_t *ip = frame + nh_eth(frame, PEER_MAC, NH_MAC, ETH_P_IPV4);
	uint8_t *u = ip + ip_hdr(ip, IP4_PROTO_UDP, UDP_HLEN + n);
	struct udp_hdr uh = {
	    .sport = 5000, .dport = 7, .len = (uint16_t)(UDP_HLEN + n)};

	udp_emit(u, &uh);
	memcpy(u + UDP_HLEN, data, n);
	return ETH_HDR_LEN + IP4_MIN_HLEN + UDP_HLEN + n;
}

/* Check segment i of a TCP super-frame: returns its payload length. */
static uint32_t check_tcp_seg(const struct us_pbuf *p, uint32_t i,
			      uint32_t nseg, uint32_t seq0, uint8_t flags0,
			      uint32_t mss)
{
	const uint8_t *ip = p->data + ETH_HDR_LEN, *t;
	struct ip4_hdr ih;
	struct tcp_hdr th;
	uint32_t n, hl = TCP_HLEN + TCP_OPTLEN;
	uint8_t want = flags0;

	assert_true(p->len <= MAXF);
	assert_memory_equal(p->data, frame, ETH_HDR_LEN);
	assert_int_equal(ip4_parse(ip, p->len - ETH_HDR_LEN, &ih), 0);
	assert_true(ip4_hdr_csum_ok(ip, ih.ihl));
	assert_int_equal(ih.tot_len, p->len - ETH_HDR_LEN);
	assert_int_equal(ih.id, (uint16_t)(0xfffe + i));
	assert_int_equal(ih.frag, IP4_FLAG_DF);
	assert_int_equal(ih.ttl, 64);
	assert_int_equal(ih.proto, IP4_PROTO_TCP);
	assert_int_equal(ih.src, SRC);
	assert_int_equal(ih.dst, DST);
	t = ip + ih.ihl;
	assert_int_equal(tcp_parse(t, ih.tot_len - ih.ihl, &th), 0);
	assert_int_equal(th.doff, hl);
	n = ih.tot_len - ih.ihl - hl;
	if (i + 1 < nseg)
		assert_int_equal(n, mss);
	else
		assert_true(n > 0 && n <= mss);
	assert_int_equal(th.seq, seq0 + i * mss);
	assert_int_equal(th.ack, 77);
	assert_int_equal(th.wnd, 501);
	if (i + 1 < nseg)
		want &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (i > 0)
		want &= (uint8_t)~TCP_CWR;
	assert_int_equal(th.flags, want);
	/* The options ride on every segment. */
	assert_memory_equal(t + TCP_HLEN,
			    frame + ETH_HDR_LEN + IP4_MIN_HLEN + TCP_HLEN,
			    TCP_OPTLEN);
	assert_int_equal(tcp_csum4(SRC, DST, t, hl + n), 0);
	assert_memory_equal(t + hl, data + i * mss, n);
	assert_int_equal(p->csum, PBUF_CSUM_VERIFIED);
	return n;
}

static void test_tcp_segmented(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	struct gso_info g = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .gso_size = 1448,
			     .csum_start = ETH_HDR_LEN + IP4_MIN_HLEN,
			     .csum_offset = 16};
	struct pbuf_queue q;
	/* The sequence number wraps inside the super-frame. */
	uint32_t seq0 = 0xfffff000u, total = 0, i = 0;
	uint8_t flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;
	uint32_t len = tcp_super(seq0, flags, 10000);
	struct us_pbuf *p;

	pbufq_init(&q);
	nh_mark(h);
	/* 10000 = 6 x 1448 + 1312 */
	assert_int_equal(gso_segment(h->st, frame, len, &g, MAXF, &q), 7);
	assert_int_equal(q.count, 7);
	while ((p = pbufq_pop(&q))) {
		total += check_tcp_seg(p, i++, 7, seq0, flags, 1448);
		pbuf_free(p);
	}
	assert_int_equal(total, 10000);
	nh_expect(h, "dev_rx_gso_segmented", 1, "dev_rx_gso_segments", 7,
		  "dev_rx_frames", 7, "dev_rx_bytes",
		  (int)(10000 + 7 * (ETH_HDR_LEN + IP4_MIN_HLEN + TCP_HLEN +
				     TCP_OPTLEN)),
		  NULL);
	nh_destroy(h);
}

static void test_tcp_full_64k(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	/* The ECN bit (the super-frame carried CWR) changes nothing. */
	struct gso_info g = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 |
					 VIRTIO_NET_HDR_GSO_ECN,
			     .gso_size = 1448};
	struct pbuf_queue q;
	uint32_t n = IP4_MAX_LEN - IP4_MIN_HLEN - TCP_HLEN - TCP_OPTLEN;
	uint32_t len = tcp_super(1000, TCP_ACK | TCP_CWR, n), i = 0, total = 0;
	uint32_t nseg = (n + 1447) / 1448;
	struct us_pbuf *p;

	pbufq_init(&q);
	assert_int_equal(gso_segment(h->st, frame, len, &g, MAXF, &q),
			 (int)nseg);
	while ((p = pbufq_pop(&q))) {
		total +=
		    check_tcp_seg(p, i++, nseg, 1000, TCP_ACK | TCP_CWR, 1448);
		pbuf_free(p);
	}
	assert_int_equal(total, n);
	assert_int_equal(i, 46);
	nh_destroy(h);
}

static void test_tcp_fits_one(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	struct gso_info g = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .gso_size = 1448};
	struct pbuf_queue q;
	uint32_t len = tcp_super(5, TCP_ACK | TCP_PSH, 100);
	struct us_pbuf *p;

	pbufq_init(&q);
	assert_int_equal(gso_segment(h->st, frame, len, &g, MAXF, &q), 1);
	p = pbufq_pop(&q);
	check_tcp_seg(p, 0, 1, 5, TCP_ACK | TCP_PSH, 1448);
	pbuf_free(p);
	nh_destroy(h);
}

static void test_udp_segmented(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	struct gso_info g = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			     .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4,
			     .gso_size = 1000};
	struct pbuf_queue q;
	uint32_t len = udp_super(2500), i = 0;
	struct us_pbuf *p;

	pbufq_init(&q);
	nh_mark(h);
	assert_int_equal(gso_segment(h->st, frame, len, &g, MAXF, &q), 3);
	while ((p = pbufq_pop(&q))) {
		const uint8_t *ip = p->data + ETH_HDR_LEN, *u;
		struct ip4_hdr ih;
		struct udp_hdr uh;
		uint32_t n = i < 2 ? 1000 : 500;

		assert_int_equal(ip4_parse(ip, p->len - ETH_HDR_LEN, &ih), 0);
		assert_true(ip4_hdr_csum_ok(ip, ih.ihl));
		assert_int_equal(ih.id, (uint16_t)(0xfffe + i));
		assert_int_equal(ih.tot_len, IP4_MIN_HLEN + UDP_HLEN + n);
		u = ip + ih.ihl;
		assert_int_equal(udp_parse(u, UDP_HLEN, &uh), 0);
		assert_int_equal(uh.len, UDP_HLEN + n);
		assert_int_equal(uh.sport, 5000);
		assert_int_equal(uh.dport, 7);
		assert_true(uh.csum != 0);
		assert_int_equal(udp_csum4(SRC, DST, u, UDP_HLEN + n), 0);
		assert_memory_equal(u + UDP_HLEN, data + i * 1000, n);
		assert_int_equal(p->csum, PBUF_CSUM_VERIFIED);
		pbuf_free(p);
		i++;
	}
	nh_expect(h, "dev_rx_gso_segmented", 1, "dev_rx_gso_segments", 3,
		  "dev_rx_frames", 3, "dev_rx_bytes",
		  (int)(2500 + 3 * (ETH_HDR_LEN + IP4_MIN_HLEN + UDP_HLEN)),
		  NULL);
	nh_destroy(h);
}

/* gso_segment must refuse, count dev_rx_drop_gso and queue nothing. */
static void refused(struct nh *h, uint32_t len, const struct gso_info *g,
		    int want)
{
	struct pbuf_queue q;

	pbufq_init(&q);
	nh_mark(h);
	assert_int_equal(gso_segment(h->st, frame, len, g, MAXF, &q), want);
	assert_int_equal(q.count, 0);
	nh_expect(h, "dev_rx_drop_gso", 1, NULL);
}

static void test_refused(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	struct gso_info g = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .gso_size = 1448};
	uint32_t len;

	/* Types we do not segment: TCP over IPv6, UFO (IP fragments). */
	len = tcp_super(1, TCP_ACK, 5000);
	g.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	refused(h, len, &g, -EPROTONOSUPPORT);
	g.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	refused(h, len, &g, -EPROTONOSUPPORT);
	g.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	/* Not IPv4 (an IPv6 ethertype, a VLAN tag). */
	wr16(frame + 12, 0x86dd);
	refused(h, len, &g, -EPROTONOSUPPORT);
	wr16(frame + 12, 0x8100);
	refused(h, len, &g, -EPROTONOSUPPORT);
	/* A UDP datagram labelled TCP. */
	len = udp_super(3000);
	refused(h, len, &g, -EINVAL);
	/* Headers longer than the frame; a total length past its end. */
	len = tcp_super(1, TCP_ACK, 5000);
	refused(h, ETH_HDR_LEN + IP4_MIN_HLEN + 10, &g, -EINVAL);
	refused(h, len - 1, &g, -EINVAL);
	/* No segment size; segments the link could not carry. */
	g.gso_size = 0;
	refused(h, len, &g, -EINVAL);
	g.gso_size = 1500;
	refused(h, len, &g, -EINVAL);
	/* A fragment cannot be a TCP super-frame. */
	g.gso_size = 1448;
	wr16(frame + ETH_HDR_LEN + 6, IP4_FLAG_MF);
	ip4_hdr_set_csum(frame + ETH_HDR_LEN, IP4_MIN_HLEN);
	refused(h, len, &g, -EINVAL);
	nh_destroy(h);
}

static void test_pool_empty(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 64);
	struct gso_info g = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .gso_size = 1448};
	struct us_pbuf *held[64];
	struct pbuf_queue q;
	uint32_t nheld = 0, i = 0;
	uint32_t len = tcp_super(1, TCP_ACK | TCP_PSH, 10000);
	struct us_pbuf *p;

	/* Leave exactly 3 small buffers. */
	while ((held[nheld] = pbuf_alloc(&h->st->pool, 100, 0)))
		nheld++;
	for (int k = 0; k < 3; k++)
		pbuf_free(held[--nheld]);
	pbufq_init(&q);
	nh_mark(h);
	assert_int_equal(gso_segment(h->st, frame, len, &g, MAXF, &q),
			 -ENOBUFS);
	/* The first three are kept; the four it could not make count. */
	assert_int_equal(q.count, 3);
	while ((p = pbufq_pop(&q))) {
		check_tcp_seg(p, i++, 7, 1, TCP_ACK | TCP_PSH, 1448);
		pbuf_free(p);
	}
	assert_int_equal(nh_delta(h, dev_rx_drop_nobuf), 4);
	assert_int_equal(nh_delta(h, dev_rx_gso_segments), 3);
	assert_int_equal(nh_delta(h, dev_rx_gso_segmented), 1);
	while (nheld)
		pbuf_free(held[--nheld]);
	nh_destroy(h);
}

/* A frame in a pool buffer, as the device holds it. */
static struct us_pbuf *as_pbuf(struct nh *h, uint32_t len)
{
	struct us_pbuf *p = pbuf_alloc(&h->st->pool, len, 0);
	assert_non_null(p);
	memcpy(p->data, frame, len);
	p->len = len;
	return p;
}

static void test_csum_complete(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	const uint32_t l4 = ETH_HDR_LEN + IP4_MIN_HLEN;
	struct us_pbuf *p;
	uint32_t len;
	uint16_t c;

	/* TCP, the field holding the pseudo-header sum (CHECKSUM_PARTIAL). */
	len = tcp_super(9, TCP_ACK, 1000);
	p = as_pbuf(h, len);
	assert_int_equal(gso_csum_complete(p, l4, 16), 0);
	assert_int_equal(tcp_csum4(SRC, DST, p->data + l4, len - l4), 0);
	pbuf_free(p);

	/* UDP, with Ethernet padding after the datagram (not summed). */
	len = udp_super(5);
	c = (uint16_t)~csum_fold(
	    csum_pseudo4(SRC, DST, IP4_PROTO_UDP, UDP_HLEN + 5));
	memcpy(frame + l4 + 6, &c, 2);
	memset(frame + len, 0xa5, 60 - len);
	p = as_pbuf(h, 60);
	assert_int_equal(gso_csum_complete(p, l4, 6), 0);
	assert_int_equal(udp_csum4(SRC, DST, p->data + l4, UDP_HLEN + 5), 0);
	pbuf_free(p);

	/* Offsets outside the frame: refused, frame untouched. */
	len = tcp_super(9, TCP_ACK, 10);
	p = as_pbuf(h, len);
	assert_int_equal(gso_csum_complete(p, (uint16_t)len, 0), -EINVAL);
	assert_int_equal(gso_csum_complete(p, l4, (uint16_t)(len - l4 - 1)),
			 -EINVAL);
	assert_memory_equal(p->data, frame, len);
	pbuf_free(p);
	nh_destroy(h);
}

int main(void)
{
	fill_data();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_segmented),
	    cmocka_unit_test(test_tcp_full_64k),
	    cmocka_unit_test(test_tcp_fits_one),
	    cmocka_unit_test(test_udp_segmented),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_pool_empty),
	    cmocka_unit_test(test_csum_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
