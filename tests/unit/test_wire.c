/* Wire layouts: parse/emit round trips for Ethernet, ARP, IPv4 and ICMP,
 * length checks against the bytes received, and the Internet checksum
 * against known vectors and a plain reference implementation. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/arp.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ip4.h"

/* The checksum as RFC 1071 defines it: 16-bit big-endian words, odd byte
 * padded, end-around carry, complement. Returned as a host number. */
static uint16_t ref_csum(const uint8_t *b, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Our checksum as it lands in a header (stored with memcpy). */
static uint16_t stored(uint16_t c)
{
	uint8_t b[2];
	memcpy(b, &c, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_csum_rfc1071_example(void **state)
{
	(void)state;
	/* RFC 1071 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2, so the
	 * checksum is its complement, 220d. */
	const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(stored(csum(b, 8)), 0x220d);
	/* Split in even chunks, the running sum gives the same answer. */
	assert_int_equal(
	    stored(csum_fold(csum_add(csum_add(0, b, 2), b + 2, 6))), 0x220d);
	assert_int_equal(
	    stored(csum_fold(csum_add(csum_add(0, b, 4), b + 4, 4))), 0x220d);
}

static void test_csum_odd_lengths(void **state)
{
	(void)state;
	const uint8_t three[3] = {0x01, 0x02, 0x03};
	/* 0102 + 0300 = 0402 -> fbfd: the odd byte is the high half. */
	assert_int_equal(stored(csum(three, 3)), 0xfbfd);
	assert_int_equal(stored(csum(three, 0)), 0xffff);
	assert_int_equal(stored(csum(three, 1)), 0xfeff);

	uint8_t buf[300];
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t len = 0; len <= sizeof(buf); len++) {
		assert_int_equal(stored(csum(buf, len)), ref_csum(buf, len));
		/* An even first chunk, then the rest (odd or not). */
		size_t cut = (len / 3) & ~(size_t)1;
		uint64_t s =
		    csum_add(csum_add(0, buf, cut), buf + cut, len - cut);
		assert_int_equal(stored(csum_fold(s)), ref_csum(buf, len));
	}
	/* All ones: carries wrap around many times. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(stored(csum(buf, 299)), ref_csum(buf, 299));

	/* Frame-sized and jumbo lengths from unaligned starts, random and
	 * all-ones data, split at an even offset: the 64-byte fast loop,
	 * its tail and the carry chain across calls. */
	static uint8_t big[9100];
	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = fill ? 0xff : (uint8_t)rand();
		for (size_t off = 0; off < 8; off++) {
			size_t lens[] = {1460, 1461, 2047, 9000};
			for (size_t k = 0; k < 4; k++) {
				size_t len = lens[k];
				assert_int_equal(stored(csum(big + off, len)),
						 ref_csum(big + off, len));
				uint64_t s = csum_add(csum_add(0, big + off, 130),
						      big + off + 130, len - 130);
				assert_int_equal(stored(csum_fold(s)),
						 ref_csum(big + off, len));
			}
		}
	}
}

static void test_csum_pseudo(void **state)
{
	(void)state;
	/* The pseudo-header sum equals summing its 12 bytes. */
	const uint8_t ph[12] = {192, 168, 0, 1,	 192, 168,
				0,   199, 0, 17, 0,   115 - 20};
	uint32_t src, dst;
	memcpy(&src, ph, 4);
	memcpy(&dst, ph + 4, 4);
	assert_int_equal(stored(csum_fold(csum_pseudo4(src, dst, 17, 95))),
			 ref_csum(ph, 12));
}

/* A real IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) whose checksum,
 * b861, is the well-known worked example. */
static const uint8_t real_ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
				    0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
				    0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

static void test_ip4_real_header(void **state)
{
	(void)state;
	struct ip4_hdr h;
	uint8_t b[0x73] = {0};

	memcpy(b, real_ip, 20);
	assert_true(ip4_hdr_csum_ok(b, 20));
	assert_int_equal(ip4_parse(b, sizeof(b), &h), 0);
	assert_int_equal(h.ihl, 20);
	assert_int_equal(h.tos, 0);
	assert_int_equal(h.tot_len, 0x73);
	assert_int_equal(h.id, 0);
	assert_int_equal(h.frag, IP4_FLAG_DF);
	assert_false(ip4_is_fragment(&h));
	assert_int_equal(h.ttl, 64);
	assert_int_equal(h.proto, IP4_PROTO_UDP);
	assert_int_equal(h.csum, 0xb861);
	assert_int_equal(h.src, inet_addr("192.168.0.1"));
	assert_int_equal(h.dst, inet_addr("192.168.0.199"));

	/* Recomputed from scratch, and emitted from the parsed fields. */
	b[10] = b[11] = 0xaa;
	assert_false(ip4_hdr_csum_ok(b, 20));
	ip4_hdr_set_csum(b, 20);
	assert_memory_equal(b, real_ip, 20);
	uint8_t e[20];
	ip4_emit(e, &h);
	assert_memory_equal(e, real_ip, 20);

	/* A single flipped bit anywhere is caught. */
	for (int i = 0; i < 160; i++) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(ip4_hdr_csum_ok(b, 20));
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
}

static void test_ip4_round_trip_fragment(void **state)
{
	(void)state;
	struct ip4_hdr in = {0}, out;
	uint8_t b[64] = {0};

	in.tos = 0x10;
	in.tot_len = 60;
	in.id = 0xbeef;
	in.frag = IP4_FLAG_MF | (1480 / 8);
	in.ttl = 1;
	in.proto = 253;
	in.src = inet_addr("10.1.2.3");
	in.dst = inet_addr("10.4.5.6");
	ip4_emit(b, &in);
	assert_int_equal(b[0], 0x45);
	assert_int_equal(rd16(b + 6), 0x2000 | 185);
	assert_true(ip4_hdr_csum_ok(b, 20));
	assert_int_equal(ip4_parse(b, 60, &out), 0);
	assert_int_equal(out.tos, 0x10);
	assert_int_equal(out.id, 0xbeef);
	assert_int_equal(out.ttl, 1);
	assert_int_equal(out.proto, 253);
	assert_int_equal(out.src, in.src);
	assert_int_equal(out.dst, in.dst);
	assert_true(ip4_is_fragment(&out));
	assert_int_equal(ip4_frag_offset(&out), 1480);
	/* Offset alone, MF clear: still a fragment (the last). */
	wr16(b + 6, 3);
	ip4_hdr_set_csum(b, 20);
	assert_int_equal(ip4_parse(b, 60, &out), 0);
	assert_true(ip4_is_fragment(&out));
	assert_int_equal(ip4_frag_offset(&out), 24);
}

static void test_ip4_options_header(void **state)
{
	(void)state;
	struct ip4_hdr h;
	uint8_t b[40] = {0};

	memcpy(b, real_ip, 20);
	b[0] = 0x46; /* IHL 6: 4 bytes of options (NOPs + EOL) */
	wr16(b + 2, 40);
	b[20] = 1;
	b[21] = 1;
	b[22] = 1;
	b[23] = 0;
	ip4_hdr_set_csum(b, 24);
	assert_true(ip4_hdr_csum_ok(b, 24));
	assert_int_equal(ip4_parse(b, 40, &h), 0);
	assert_int_equal(h.ihl, 24);
	assert_int_equal(h.tot_len, 40);
}

static void test_ip4_length_checks(void **state)
{
	(void)state;
	struct ip4_hdr h;
	uint8_t b[80] = {0};

	memcpy(b, real_ip, 20);
	wr16(b + 2, 40);
	/* Fewer than 20 bytes received. */
	assert_int_equal(ip4_parse(b, 19, &h), -IP4_ERR_SHORT);
	assert_int_equal(ip4_parse(b, 0, &h), -IP4_ERR_SHORT);
	/* Version 6. */
	b[0] = 0x65;
	assert_int_equal(ip4_parse(b, 40, &h), -IP4_ERR_VERSION);
	/* IHL 4 (16 bytes). */
	b[0] = 0x44;
	assert_int_equal(ip4_parse(b, 40, &h), -IP4_ERR_HDRLEN);
	/* IHL 15 (60 bytes) beyond a 40-byte total length. */
	b[0] = 0x4f;
	assert_int_equal(ip4_parse(b, 80, &h), -IP4_ERR_HDRLEN);
	/* IHL 15 within the total length but beyond the bytes received. */
	wr16(b + 2, 60);
	assert_int_equal(ip4_parse(b, 50, &h), -IP4_ERR_HDRLEN);
	/* Total length beyond the bytes received. */
	b[0] = 0x45;
	wr16(b + 2, 41);
	assert_int_equal(ip4_parse(b, 40, &h), -IP4_ERR_TOTLEN);
	wr16(b + 2, 0xffff);
	assert_int_equal(ip4_parse(b, 80, &h), -IP4_ERR_TOTLEN);
	/* Total length below 20. */
	wr16(b + 2, 19);
	assert_int_equal(ip4_parse(b, 40, &h), -IP4_ERR_HDRLEN);
	/* Link padding after the datagram is fine. */
	wr16(b + 2, 28);
	assert_int_equal(ip4_parse(b, 60, &h), 0);
	assert_int_equal(h.tot_len, 28);
}

static void test_ip4_addr_classes(void **state)
{
	(void)state;
	assert_true(ip4_addr_is_mcast(inet_addr("224.0.0.1")));
	assert_true(ip4_addr_is_mcast(inet_addr("239.255.255.250")));
	assert_false(ip4_addr_is_mcast(inet_addr("223.255.255.255")));
	assert_false(ip4_addr_is_mcast(inet_addr("240.0.0.1")));
	assert_true(ip4_addr_is_bcast(inet_addr("255.255.255.255")));
	assert_true(ip4_addr_is_loopback(inet_addr("127.0.0.1")));
	assert_false(ip4_addr_is_loopback(inet_addr("128.0.0.1")));
	assert_int_equal(
	    ip4_subnet_bcast(inet_addr("10.1.2.3"), inet_addr("255.255.255.0")),
	    inet_addr("10.1.2.255"));
	assert_int_equal(
	    ip4_subnet_bcast(inet_addr("10.1.2.3"), inet_addr("255.0.0.0")),
	    inet_addr("10.255.255.255"));
	/* RFC 3021: /31 has no broadcast; nor has /32. */
	assert_int_equal(ip4_subnet_bcast(inet_addr("10.1.2.3"),
					  inet_addr("255.255.255.254")),
			 0);
	assert_int_equal(ip4_subnet_bcast(inet_addr("10.1.2.3"),
					  inet_addr("255.255.255.255")),
			 0);
}

static void test_eth_round_trip(void **state)
{
	(void)state;
	/* Captured: a broadcast ARP frame's header. */
	const uint8_t f[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52,
			       0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06};
	struct eth_hdr h;
	uint8_t out[14];

	assert_int_equal(eth_parse(f, 13, &h), -EINVAL);
	assert_int_equal(eth_parse(f, 0, &h), -EINVAL);
	assert_int_equal(eth_parse(f, 14, &h), 0);
	assert_int_equal(h.type, 0x0806);
	assert_true(eth_addr_is_bcast(h.dst));
	assert_true(eth_addr_is_group(h.dst));
	assert_false(eth_addr_is_group(h.src));
	assert_false(eth_addr_is_bcast(h.src));
	eth_emit(out, &h);
	assert_memory_equal(out, f, 14);

	const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
	assert_true(eth_addr_is_group(mc));
	assert_false(eth_addr_is_bcast(mc));
	const uint8_t zero[6] = {0};
	assert_true(eth_addr_is_zero(zero));
	assert_false(eth_addr_is_zero(mc));
}

static void test_eth_ip4_mcast_map(void **state)
{
	(void)state;
	uint8_t m[6];
	/* RFC 1112 6.4: the low 23 bits of the group. */
	eth_addr_from_ip4_mcast(m, inet_addr("224.0.0.251"));
	assert_memory_equal(
	    m, ((uint8_t[]){0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}), 6);
	eth_addr_from_ip4_mcast(m, inet_addr("239.255.255.250"));
	assert_memory_equal(
	    m, ((uint8_t[]){0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}), 6);
	/* The 24th bit is dropped: 224.128.0.1 shares 224.0.0.1's MAC. */
	eth_addr_from_ip4_mcast(m, inet_addr("224.128.0.1"));
	assert_memory_equal(
	    m, ((uint8_t[]){0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}), 6);
}

/* Captured: "who has 192.168.122.1? tell 192.168.122.57". */
static const uint8_t real_arp[28] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00,
				     0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
				     0xc0, 0xa8, 0x7a, 0x39, 0x00, 0x00, 0x00,
				     0x00, 0x00, 0x00, 0xc0, 0xa8, 0x7a, 0x01};

static void test_arp_round_trip(void **state)
{
	(void)state;
	struct arp_pkt a, b;
	uint8_t out[28];

	assert_int_equal(arp_parse(real_arp, 28, &a), 0);
	assert_int_equal(a.htype, ARP_HRD_ETHER);
	assert_int_equal(a.ptype, ARP_PRO_IPV4);
	assert_int_equal(a.op, ARP_OP_REQUEST);
	assert_memory_equal(a.sha, real_arp + 8, 6);
	assert_int_equal(a.spa, inet_addr("192.168.122.57"));
	assert_int_equal(a.tpa, inet_addr("192.168.122.1"));
	arp_emit(out, &a);
	assert_memory_equal(out, real_arp, 28);

	/* The same built from fields. */
	arp_pkt_set(&b, ARP_OP_REQUEST, real_arp + 8,
		    inet_addr("192.168.122.57"), NULL,
		    inet_addr("192.168.122.1"));
	arp_emit(out, &b);
	assert_memory_equal(out, real_arp, 28);

	/* A reply, tha given. */
	arp_pkt_set(&b, ARP_OP_REPLY, real_arp + 8, 1, real_arp + 8, 2);
	arp_emit(out, &b);
	assert_int_equal(arp_parse(out, 28, &a), 0);
	assert_int_equal(a.op, ARP_OP_REPLY);
	assert_memory_equal(a.tha, real_arp + 8, 6);
	assert_int_equal(a.spa, 1);
	assert_int_equal(a.tpa, 2);
}

static void test_arp_length_checks(void **state)
{
	(void)state;
	struct arp_pkt a;
	uint8_t b[28];

	assert_int_equal(arp_parse(real_arp, 7, &a), -EINVAL);
	assert_int_equal(arp_parse(real_arp, 27, &a), -EINVAL);
	/* Ethernet padding after the packet is fine. */
	uint8_t pad[46] = {0};
	memcpy(pad, real_arp, 28);
	assert_int_equal(arp_parse(pad, 46, &a), 0);
	/* Other hardware or protocol, or other address lengths: not ours,
	 * even when too short for Ethernet/IPv4 addresses. */
	memcpy(b, real_arp, 28);
	b[1] = 6; /* IEEE 802 */
	assert_int_equal(arp_parse(b, 28, &a), -EPROTONOSUPPORT);
	memcpy(b, real_arp, 28);
	b[2] = 0x86;
	b[3] = 0xdd;
	assert_int_equal(arp_parse(b, 28, &a), -EPROTONOSUPPORT);
	memcpy(b, real_arp, 28);
	b[4] = 8;
	assert_int_equal(arp_parse(b, 10, &a), -EPROTONOSUPPORT);
	memcpy(b, real_arp, 28);
	b[5] = 16;
	assert_int_equal(arp_parse(b, 28, &a), -EPROTONOSUPPORT);
}

static void test_icmp_echo_vector(void **state)
{
	(void)state;
	/* A captured echo request (id 1, seq 1, 32 bytes "abc..."), checksum
	 * 4d5a. */
	uint8_t m[40] = {0x08, 0x00, 0x4d, 0x5a, 0x00, 0x01, 0x00, 0x01};
	memcpy(m + 8, "abcdefghijklmnopqrstuvwabcdefghi", 32);
	struct icmp_hdr h;

	assert_true(icmp_csum_ok(m, 40));
	assert_int_equal(icmp_parse(m, 40, &h), 0);
	assert_int_equal(h.type, 8);
	assert_int_equal(h.code, 0);
	assert_int_equal(h.csum, 0x4d5a);
	assert_int_equal(h.rest, 0x00010001);

	uint8_t c[40];
	memcpy(c, m, 40);
	c[2] = c[3] = 0;
	icmp_set_csum(c, 40);
	assert_memory_equal(c, m, 40);
	icmp_emit(c, &h);
	assert_memory_equal(c, m, 40);

	/* As a reply (type 0) the sum moves by 0x0800. */
	c[0] = 0;
	icmp_set_csum(c, 40);
	assert_int_equal(rd16(c + 2), 0x555a);
	assert_true(icmp_csum_ok(c, 40));
}

static void test_icmp_odd_length(void **state)
{
	(void)state;
	uint8_t m[9] = {0x08, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, 0x61};
	icmp_set_csum(m, 9);
	assert_true(icmp_csum_ok(m, 9));
	m[2] = m[3] = 0;
	uint16_t want = ref_csum(m, 9);
	icmp_set_csum(m, 9);
	assert_int_equal(rd16(m + 2), want);

	struct icmp_hdr h;
	assert_int_equal(icmp_parse(m, 7, &h), -EINVAL);
	assert_int_equal(icmp_parse(m, 8, &h), 0);
	assert_true(icmp_type_is_error(3));
	assert_true(icmp_type_is_error(11));
	assert_true(icmp_type_is_error(12));
	assert_true(icmp_type_is_error(5));
	assert_true(icmp_type_is_error(4));
	assert_false(icmp_type_is_error(0));
	assert_false(icmp_type_is_error(8));
	assert_false(icmp_type_is_error(13));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_rfc1071_example),
	    cmocka_unit_test(test_csum_odd_lengths),
	    cmocka_unit_test(test_csum_pseudo),
	    cmocka_unit_test(test_ip4_real_header),
	    cmocka_unit_test(test_ip4_round_trip_fragment),
	    cmocka_unit_test(test_ip4_options_header),
	    cmocka_unit_test(test_ip4_length_checks),
	    cmocka_unit_test(test_ip4_addr_classes),
	    cmocka_unit_test(test_eth_round_trip),
	    cmocka_unit_test(test_eth_ip4_mcast_map),
	    cmocka_unit_test(test_arp_round_trip),
	    cmocka_unit_test(test_arp_length_checks),
	    cmocka_unit_test(test_icmp_echo_vector),
	    cmocka_unit_test(test_icmp_odd_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
