/* Bad input: hand-built malformed frames go into a stack through a pipe
 * link; each test asserts exactly which drop counter moved and that
 * nothing came back, except where an RFC requires an answer (then it
 * asserts the answer).
 *
 * The stack under test (A, 10.0.0.2) sits on one end of a pipe. The other
 * end belongs to a second stack (B, 10.0.0.1) that is never polled: the
 * test writes frames through B's transmit path and reads what A sent with
 * B's device directly. B's MTU is 9000 so that it can send frames larger
 * than A's MTU. Frames are built here byte by byte, with a checksum of the
 * test's own, so the test does not share the code it checks. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/clock.h"
#include "core/stack.h"
#include "dev/dev.h"
#include "ustack.h"

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define IP_A 0x0a000002u /* host order: 10.0.0.2 */
#define IP_B 0x0a000001u
#define IP_BCAST 0x0a0000ffu
#define CLOSED_PORT 9999
#define MAXF 10000
#define MAX_OUT 16

struct fx {
	struct us_vclock clk;
	struct us_stack *a, *b;
	uint64_t before[US_STAT__COUNT];
	struct us_pbuf *out[MAX_OUT]; /* frames A sent, read at B */
	int nout;
};

/* ---- frame building ---------------------------------------------------- */

static uint16_t cksum(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, MAC_B, 6);
	put16(f + 12, type);
	return 14;
}

/* An IPv4 header (20 bytes, no options) with a correct checksum. */
static void ip4(uint8_t *h, uint16_t totlen, uint8_t proto, uint32_t src,
		uint32_t dst, uint16_t frag)
{
	memset(h, 0, 20);
	h[0] = 0x45;
	put16(h + 2, totlen);
	put16(h + 4, 0x1234);
	put16(h + 6, frag);
	h[8] = 64;
	h[9] = proto;
	put32(h + 12, src);
	put32(h + 16, dst);
	put16(h + 10, cksum(h, 20, 0));
}

static void ip4_fix_csum(uint8_t *h)
{
	size_t hl = (size_t)(h[0] & 0x0f) * 4;
	put16(h + 10, 0);
	put16(h + 10, cksum(h, hl, 0));
}

/* Ethernet + IPv4 + ICMP echo request with plen payload bytes. */
static size_t icmp_echo(uint8_t *f, uint32_t dst, size_t plen)
{
	size_t n = eth(f, dst == IP_BCAST ? BCAST : MAC_A, 0x0800);
	uint8_t *ic = f + n + 20;

	ip4(f + n, (uint16_t)(20 + 8 + plen), 1, IP_B, dst, 0);
	memset(ic, 0, 8);
	ic[0] = 8;
	put16(ic + 4, 0x4242);
	put16(ic + 6, 1);
	for (size_t i = 0; i < plen; i++)
		ic[8 + i] = (uint8_t)i;
	put16(ic + 2, cksum(ic, 8 + plen, 0));
	return n + 20 + 8 + plen;
}

static uint16_t udp_csum(const uint8_t *ip, const uint8_t *u, size_t ulen)
{
	uint32_t sum = 0;

	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum += 17 + (uint32_t)ulen;
	uint16_t c = cksum(u, ulen, sum);
	return c ? c : 0xffff;
}

/* Ethernet + IPv4 + UDP from B:5555 to dst:dport with plen payload bytes,
 * checksum filled in. */
static size_t udp(uint8_t *f, uint32_t dst, uint16_t dport, size_t plen)
{
	size_t n = eth(f, dst == IP_BCAST ? BCAST : MAC_A, 0x0800);
	uint8_t *ip = f + n, *u = ip + 20;

	ip4(ip, (uint16_t)(20 + 8 + plen), 17, IP_B, dst, 0);
	put16(u, 5555);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + plen));
	put16(u + 6, 0);
	for (size_t i = 0; i < plen; i++)
		u[8 + i] = (uint8_t)(i * 3);
	put16(u + 6, udp_csum(ip, u, 8 + plen));
	return n + 20 + 8 + plen;
}

/* Ethernet + ARP request from B for tpa. */
static size_t arp(uint8_t *f, uint16_t op, uint32_t tpa)
{
	size_t n = eth(f, BCAST, 0x0806);
	uint8_t *a = f + n;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, MAC_B, 6);
	put32(a + 14, IP_B);
	memset(a + 18, 0, 6);
	put32(a + 24, tpa);
	return n + 28;
}

/* ---- the link ---------------------------------------------------------- */

static void drain(struct fx *f)
{
	struct us_dev *d = f->b->dev;
	struct us_pbuf *p[64];
	int n;

	while ((n = d->ops->rx_burst(d, p, 64)) > 0)
		for (int i = 0; i < n; i++) {
			if (f->nout < MAX_OUT)
				f->out[f->nout++] = p[i];
			else
				pbuf_free(p[i]);
		}
}

static void clear_out(struct fx *f)
{
	for (int i = 0; i < f->nout; i++)
		pbuf_free(f->out[i]);
	f->nout = 0;
}

/* Put a frame on the wire from B, let A take it and run its timers for a
 * few virtual milliseconds, and collect whatever A sent. */
static void inject(struct fx *f, const uint8_t *frame, size_t len)
{
	struct us_pbuf *p = stack_alloc(f->b, (uint32_t)len);

	assert_non_null(p);
	memcpy(p->data, frame, len);
	p->len = (uint32_t)len;
	stack_tx(f->b, p);
	stack_tx_flush(f->b);
	assert_int_equal(f->b->stats[US_STAT_dev_tx_drop_toobig], 0);
	for (int i = 0; i < 5; i++) {
		us_stack_poll(f->a, 0);
		f->clk.now_ns += US_NS_PER_MS;
	}
	us_stack_poll(f->a, 0);
	drain(f);
}

static void snapshot(struct fx *f)
{
	for (int i = 0; i < US_STAT__COUNT; i++)
		f->before[i] = us_stat_get(f->a, i);
	clear_out(f);
}

/* Counters that count traffic passing by, not a verdict on it (byte
 * counts among them: dev_tx_frames says whether anything went out). */
static int is_progress(const char *name)
{
	static const char *const names[] = {
	    "dev_rx_frames", "dev_rx_bytes", "dev_tx_bytes", "eth_rx",
	    "arp_rx",	     "ip4_rx",	     "icmp_rx",	     "udp_rx",
	    "frag_rx",	     NULL,
	};
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

static int in_list(const char *name, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return 1;
	return 0;
}

/* Exactly the counters in `moved` (NULL-terminated) moved, by one each;
 * no other counter but the traffic counters changed. */
static void expect_moved(struct fx *f, const char *const *moved)
{
	int bad = 0;

	for (int i = 0; i < US_STAT__COUNT; i++) {
		const char *name = us_stat_name(i);
		uint64_t d = us_stat_get(f->a, i) - f->before[i];
		int want = in_list(name, moved);

		if (is_progress(name) && !want)
			continue;
		if (want && d != 1) {
			print_error("counter %s moved by %llu, want 1\n", name,
				    (unsigned long long)d);
			bad = 1;
		} else if (!want && d) {
			print_error("counter %s moved by %llu, want 0\n", name,
				    (unsigned long long)d);
			bad = 1;
		}
	}
	if (bad)
		fail_msg("unexpected counter changes (see above)");
}

#define EXPECT(f, ...)                                                         \
	do {                                                                   \
		static const char *const moved_[] = {__VA_ARGS__, NULL};       \
		expect_moved((f), moved_);                                     \
	} while (0)

static void expect_silence(struct fx *f)
{
	if (f->nout)
		fail_msg("the stack sent %d frame(s) back, want none", f->nout);
	assert_int_equal(us_stat_byname(f->a, "dev_tx_frames") -
			     f->before[US_STAT_dev_tx_frames],
			 0);
}

/* The one frame A sent back is an IPv4 ICMP message of this type/code. */
static const uint8_t *expect_icmp(struct fx *f, uint8_t type, uint8_t code)
{
	assert_int_equal(f->nout, 1);
	const uint8_t *e = f->out[0]->data;
	assert_true(f->out[0]->len >= 14 + 20 + 8);
	assert_memory_equal(e, MAC_B, 6);
	assert_int_equal(e[12] << 8 | e[13], 0x0800);
	const uint8_t *ip = e + 14;
	assert_int_equal(ip[9], 1);
	const uint8_t *ic = ip + (ip[0] & 0x0f) * 4;
	assert_int_equal(ic[0], type);
	assert_int_equal(ic[1], code);
	return ic;
}

/* ---- fixture ----------------------------------------------------------- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct us_dev *da, *db;
	struct us_config ca, cb;
	uint8_t fr[64];

	if (!f || us_pipe_create(&da, &db) < 0)
		return -1;
	f->clk.now_ns = 1000 * US_NS_PER_S;
	us_config_init(&ca);
	ca.dev = da;
	ca.ip = htonl(IP_A);
	ca.prefix_len = 24;
	memcpy(ca.mac, MAC_A, 6);
	ca.clock_now = vclock_now;
	ca.clock_arg = &f->clk;
	ca.seed = 1;
	ca.no_garp = 1;
	ca.log_level = US_LOG_ERROR;
	cb = ca;
	cb.dev = db;
	cb.ip = htonl(IP_B);
	memcpy(cb.mac, MAC_B, 6);
	cb.mtu = 9000;
	f->a = us_stack_create(&ca);
	f->b = us_stack_create(&cb);
	if (!f->a || !f->b)
		return -1;
	/* B asks for A: A learns B's MAC on the way (RFC 826 merge), so
	 * answers need no ARP exchange of their own. */
	inject(f, fr, arp(fr, 1, IP_A));
	if (f->nout != 1)
		return -1;
	snapshot(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	clear_out(f);
	us_stack_destroy(f->a);
	us_stack_destroy(f->b);
	free(f);
	return 0;
}

/* ---- baselines: well-formed frames are taken (the harness works) ------- */

static void test_echo_answered(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	inject(f, fr, icmp_echo(fr, IP_A, 32));
	EXPECT(f, "icmp_echo_rx", "icmp_echo_reply_tx", "ip4_tx", "eth_tx",
	       "dev_tx_frames");
	expect_icmp(f, 0, 0);
}

/* RFC 1122 3.2.2.1 / 4.1.3.1: a datagram to a closed port is answered
 * with ICMP port unreachable quoting it. */
static void test_udp_closed_port_answered(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	inject(f, fr, udp(fr, IP_A, CLOSED_PORT, 10));
	EXPECT(f, "udp_drop_no_port", "icmp_unreach_tx", "icmp_err_tx",
	       "ip4_tx", "eth_tx", "dev_tx_frames");
	const uint8_t *ic = expect_icmp(f, 3, 3);
	/* The quote: the offending IP header and the UDP header. */
	assert_int_equal(ic[8] >> 4, 4);
	assert_int_equal(rd16(ic + 8 + 20 + 2), CLOSED_PORT);
}

/* RFC 768: a zero checksum means none was computed; the datagram is
 * good (and answered as above). */
static void test_udp_zero_csum_taken(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = udp(fr, IP_A, CLOSED_PORT, 10);

	put16(fr + 14 + 20 + 6, 0);
	inject(f, fr, n);
	EXPECT(f, "udp_drop_no_port", "icmp_unreach_tx", "icmp_err_tx",
	       "ip4_tx", "eth_tx", "dev_tx_frames");
	expect_icmp(f, 3, 3);
}

/* ---- Ethernet ---------------------------------------------------------- */

static void test_eth_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	eth(fr, MAC_A, 0x0800);
	inject(f, fr, 10);
	EXPECT(f, "eth_drop_short");
	expect_silence(f);
}

static void test_eth_not_ours(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	fr[5] = 0x99;
	inject(f, fr, n);
	EXPECT(f, "eth_drop_not_ours");
	expect_silence(f);
}

static void test_eth_unknown_type(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	put16(fr + 12, 0x86dd);
	inject(f, fr, n);
	EXPECT(f, "eth_drop_unknown_type");
	expect_silence(f);
}

/* A frame longer than the link's MTU allows (1500 + header): an echo
 * request of 3000 bytes in one frame. A host must not take it (it cannot
 * have come over this link) and must not answer it. */
static void test_eth_oversized(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	inject(f, fr, icmp_echo(fr, IP_A, 3000 - 28));
	if (f->nout)
		fail_msg("an oversized frame (3014 bytes on MTU 1500) was "
			 "answered");
	EXPECT(f, "dev_rx_drop_truncated");
}

/* ---- IPv4 -------------------------------------------------------------- */

static void test_ip_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	(void)n;
	inject(f, fr, 14 + 12);
	EXPECT(f, "ip4_drop_short");
	expect_silence(f);
}

static void test_ip_bad_csum(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	fr[14 + 10] ^= 0x01;
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_csum");
	expect_silence(f);
}

/* Total length claims more bytes than the frame holds. */
static void test_ip_totlen_beyond_frame(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	put16(fr + 14 + 2, 200);
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_totlen");
	expect_silence(f);
}

/* Total length smaller than the header itself: counted as a header
 * length error (the header does not fit in the datagram, RFC 1122
 * 3.2.1.2), as wire/ip4.h documents. */
static void test_ip_totlen_below_header(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	put16(fr + 14 + 2, 12);
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_hdrlen");
	expect_silence(f);
}

static void test_ip_version6(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	fr[14] = 0x65;
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_version");
	expect_silence(f);
}

static void test_ip_hdrlen_below_5(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	fr[14] = 0x44;
	/* The sum over the 20 bytes as if IHL were 5, so only IHL is bad. */
	put16(fr + 14 + 10, 0);
	put16(fr + 14 + 10, cksum(fr + 14, 20, 0));
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_hdrlen");
	expect_silence(f);
}

/* IHL says 60 bytes of header, the datagram is 36 bytes long. */
static void test_ip_hdrlen_beyond_totlen(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	fr[14] = 0x4f;
	put16(fr + 14 + 10, 0);
	put16(fr + 14 + 10, cksum(fr + 14, 20, 0));
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_hdrlen");
	expect_silence(f);
}

/* RFC 1122 3.2.1.3: a source address that cannot be a host's. */
static void test_ip_src_martian(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	put32(fr + 14 + 12, 0x7f000001u);
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_martian");
	expect_silence(f);
}

static void test_ip_not_ours(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	put32(fr + 14 + 16, 0x0a00004du);
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	EXPECT(f, "ip4_drop_not_ours");
	expect_silence(f);
}

/* RFC 1122 3.2.2.1: a host SHOULD answer an unknown protocol with ICMP
 * protocol unreachable; the drop is counted either way. */
static void test_ip_unknown_proto(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 8);

	fr[14 + 9] = 253;
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	assert_int_equal(us_stat_byname(f->a, "ip4_drop_unknown_proto") -
			     f->before[US_STAT_ip4_drop_unknown_proto],
			 1);
	if (f->nout)
		expect_icmp(f, 3, 2);
}

/* RFC 791 3.1: a fragment whose offset + length runs past 65535 bytes
 * (the "ping of death"). */
static void test_ip_frag_past_64k(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 64);

	put16(fr + 14 + 6, 0x2000 | 8190); /* MF, offset 65520 */
	ip4_fix_csum(fr + 14);
	inject(f, fr, n);
	EXPECT(f, "frag_drop_too_big");
	expect_silence(f);
}

/* ---- ICMP -------------------------------------------------------------- */

static void test_icmp_bad_csum(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 32);

	fr[14 + 20 + 2] ^= 0x10;
	inject(f, fr, n);
	EXPECT(f, "icmp_drop_csum");
	expect_silence(f);
}

static void test_icmp_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = eth(fr, MAC_A, 0x0800);

	ip4(fr + n, 20 + 3, 1, IP_B, IP_A, 0);
	fr[n + 20] = 8;
	fr[n + 21] = 0;
	fr[n + 22] = 0xf7;
	inject(f, fr, n + 23);
	EXPECT(f, "icmp_drop_short");
	expect_silence(f);
}

/* RFC 1122 3.2.2.6: an echo request to a broadcast address MAY be
 * silently discarded; we do. */
static void test_icmp_echo_broadcast(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	inject(f, fr, icmp_echo(fr, IP_BCAST, 8));
	EXPECT(f, "icmp_echo_rx", "icmp_drop_bcast");
	expect_silence(f);
}

/* An ICMP error whose quote is too short to hold the IP header and 8
 * bytes; never answered (RFC 1122 3.2.2: no error about an error). */
static void test_icmp_error_short_quote(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = eth(fr, MAC_A, 0x0800);
	uint8_t *ic = fr + n + 20;

	ip4(fr + n, 20 + 8 + 12, 1, IP_B, IP_A, 0);
	memset(ic, 0, 8 + 12);
	ic[0] = 3;
	ic[1] = 3;
	ic[8] = 0x45;
	put16(ic + 2, cksum(ic, 8 + 12, 0));
	inject(f, fr, n + 20 + 8 + 12);
	EXPECT(f, "icmp_drop_short");
	expect_silence(f);
}

/* A type we do not act on (timestamp request) is counted, not answered. */
static void test_icmp_unknown_type(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = icmp_echo(fr, IP_A, 12);
	uint8_t *ic = fr + 14 + 20;

	ic[0] = 13;
	put16(ic + 2, 0);
	put16(ic + 2, cksum(ic, 8 + 12, 0));
	inject(f, fr, n);
	EXPECT(f, "icmp_drop_unknown_type");
	expect_silence(f);
}

/* IP options we do not implement are ignored (RFC 1122 3.2.1.8): an echo
 * request carrying a NOP and an end-of-list option is answered. */
static void test_ip_options_echo_answered(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF], tmp[MAXF];
	size_t n = icmp_echo(tmp, IP_A, 16);
	size_t l4 = n - 14 - 20;

	memcpy(fr, tmp, 14 + 20);
	fr[14] = 0x46;
	put16(fr + 14 + 2, (uint16_t)(24 + l4));
	memcpy(fr + 14 + 20, (uint8_t[]){1, 0, 0, 0}, 4);
	memcpy(fr + 14 + 24, tmp + 14 + 20, l4);
	ip4_fix_csum(fr + 14);
	inject(f, fr, n + 4);
	EXPECT(f, "icmp_echo_rx", "icmp_echo_reply_tx", "ip4_tx", "eth_tx",
	       "dev_tx_frames");
	expect_icmp(f, 0, 0);
}

/* ---- UDP --------------------------------------------------------------- */

/* RFC 1122 4.1.3.4: a bad checksum is discarded silently, before any
 * port lookup: no port unreachable for it. */
static void test_udp_bad_csum(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = udp(fr, IP_A, CLOSED_PORT, 20);

	fr[n - 1] ^= 0x5a;
	inject(f, fr, n);
	EXPECT(f, "udp_drop_csum");
	expect_silence(f);
}

/* The UDP length claims more than the IP payload holds. */
static void test_udp_len_beyond_ip(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = udp(fr, IP_A, CLOSED_PORT, 20);
	uint8_t *ip = fr + 14, *u = ip + 20;

	put16(u + 4, 8 + 40);
	put16(u + 6, 0);
	put16(u + 6, udp_csum(ip, u, 8 + 20));
	inject(f, fr, n);
	EXPECT(f, "udp_drop_len");
	expect_silence(f);
}

/* The UDP length is smaller than the UDP header. */
static void test_udp_len_below_header(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = udp(fr, IP_A, CLOSED_PORT, 20);
	uint8_t *u = fr + 14 + 20;

	put16(u + 4, 4);
	put16(u + 6, 0); /* no checksum: only the length is wrong */
	inject(f, fr, n);
	EXPECT(f, "udp_drop_len");
	expect_silence(f);
}

/* Fewer than 8 bytes of UDP after the IP header. */
static void test_udp_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = eth(fr, MAC_A, 0x0800);

	ip4(fr + n, 20 + 5, 17, IP_B, IP_A, 0);
	memset(fr + n + 20, 0x11, 5);
	inject(f, fr, n + 25);
	EXPECT(f, "udp_drop_short");
	expect_silence(f);
}

/* RFC 1122 3.2.2: no ICMP error about a datagram sent to a broadcast. */
static void test_udp_broadcast_closed_port(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	inject(f, fr, udp(fr, IP_BCAST, CLOSED_PORT, 10));
	EXPECT(f, "udp_drop_no_port");
	expect_silence(f);
}

/* ---- ARP --------------------------------------------------------------- */

static void test_arp_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	arp(fr, 1, IP_A);
	inject(f, fr, 14 + 20);
	EXPECT(f, "arp_drop_malformed");
	expect_silence(f);
}

static void test_arp_bad_hwtype(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = arp(fr, 1, IP_A);

	put16(fr + 14, 6); /* IEEE 802 */
	inject(f, fr, n);
	EXPECT(f, "arp_drop_unsupported");
	expect_silence(f);
}

static void test_arp_bad_addr_len(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = arp(fr, 1, IP_A);

	fr[14 + 5] = 16; /* protocol address length */
	inject(f, fr, n);
	EXPECT(f, "arp_drop_unsupported");
	expect_silence(f);
}

static void test_arp_bad_op(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];

	inject(f, fr, arp(fr, 9, IP_A));
	EXPECT(f, "arp_drop_unsupported");
	expect_silence(f);
}

/* A sender hardware address that is broadcast cannot be anybody's. */
static void test_arp_martian_sender(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = arp(fr, 1, IP_A);

	memset(fr + 14 + 8, 0xff, 6);
	inject(f, fr, n);
	EXPECT(f, "arp_drop_martian");
	expect_silence(f);
}

/* A request between two other hosts, from a sender we have no entry for
 * (RFC 826: only the target adds an entry; a known sender would merely be
 * refreshed, which is not a drop). */
static void test_arp_not_ours(void **state)
{
	struct fx *f = *state;
	uint8_t fr[MAXF];
	size_t n = arp(fr, 1, 0x0a000063u);

	fr[14 + 8 + 5] = 0x33;
	put32(fr + 14 + 14, 0x0a000032u);
	inject(f, fr, n);
	EXPECT(f, "arp_drop_not_ours");
	expect_silence(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_echo_answered),
	    T(test_udp_closed_port_answered),
	    T(test_udp_zero_csum_taken),
	    T(test_eth_truncated),
	    T(test_eth_not_ours),
	    T(test_eth_unknown_type),
	    T(test_eth_oversized),
	    T(test_ip_truncated),
	    T(test_ip_bad_csum),
	    T(test_ip_totlen_beyond_frame),
	    T(test_ip_totlen_below_header),
	    T(test_ip_version6),
	    T(test_ip_hdrlen_below_5),
	    T(test_ip_hdrlen_beyond_totlen),
	    T(test_ip_src_martian),
	    T(test_ip_not_ours),
	    T(test_ip_unknown_proto),
	    T(test_ip_frag_past_64k),
	    T(test_icmp_bad_csum),
	    T(test_icmp_truncated),
	    T(test_icmp_echo_broadcast),
	    T(test_icmp_error_short_quote),
	    T(test_icmp_unknown_type),
	    T(test_ip_options_echo_answered),
	    T(test_udp_bad_csum),
	    T(test_udp_len_beyond_ip),
	    T(test_udp_len_below_header),
	    T(test_udp_truncated),
	    T(test_udp_broadcast_closed_port),
	    T(test_arp_truncated),
	    T(test_arp_bad_hwtype),
	    T(test_arp_bad_addr_len),
	    T(test_arp_bad_op),
	    T(test_arp_martian_sender),
	    T(test_arp_not_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
