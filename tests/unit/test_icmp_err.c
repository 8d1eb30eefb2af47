/* An ICMP error reaches the protocol of the datagram it quotes; one that
 * quotes a protocol with no handler has nobody to tell and is a counted
 * drop (icmp_err_drop_no_proto), not a silent one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/net_harness.h"

#define PROTO_T 253 /* RFC 3692 experimental: the test's own protocol */

static int nerr;

static void t_input(struct us_stack *st, struct us_pbuf *p)
{
	(void)st;
	pbuf_free(p);
}

static void t_err(struct us_stack *st, int type, int code, uint32_t info,
		  const uint8_t *quote, uint32_t len)
{
	(void)st;
	(void)type;
	(void)code;
	(void)info;
	(void)quote;
	(void)len;
	nerr++;
}

/* Port unreachable from PEER_IP about a datagram we sent it under proto. */
static uint32_t unreach_frame(uint8_t *f, uint8_t proto)
{
	uint8_t m[8 + 28];
	struct icmp_hdr ih = {.type = ICMP_UNREACH_T, .code = 3};
	struct ip4_hdr q = {0};

	q.tot_len = 28;
	q.ttl = 64;
	q.proto = proto;
	q.src = NH_IP;
	q.dst = PEER_IP;
	icmp_emit(m, &ih);
	ip4_emit(m + 8, &q);
	memset(m + 28, 0x5a, 8);
	icmp_set_csum(m, sizeof(m));
	return nh_ip4(f, PEER_IP, NH_IP, IP4_PROTO_ICMP, 1, 0, m, sizeof(m));
}

static void test_no_handler_counted(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t f[128];

	/* The harness has no UDP: nobody to hand an error about UDP to. */
	assert_null(ip4_err_handler(h->st, IP4_PROTO_UDP));
	nh_mark(h);
	nh_inject(h, f, unreach_frame(f, IP4_PROTO_UDP));
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_err_rx", 1,
		  "icmp_err_drop_no_proto", 1, NULL);
	nh_flush(h);
	assert_int_equal(h->ntx, 0);
	nh_destroy(h);
}

static void test_handler_told(void **state)
{
	(void)state;
	struct nh *h = nh_create(NULL, 0);
	uint8_t f[128];

	assert_int_equal(ip4_register(h->st, PROTO_T, t_input, t_err), 0);
	nerr = 0;
	nh_mark(h);
	nh_inject(h, f, unreach_frame(f, PROTO_T));
	nh_expect(h, "eth_rx", 1, "ip4_rx", 1, "icmp_rx", 1, "icmp_err_rx", 1,
		  NULL);
	assert_int_equal(nerr, 1);
	nh_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_handler_counted),
	    cmocka_unit_test(test_handler_told),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
