/* Path MTU discovery (RFC 1191) with ICMP validation (RFC 5927): a
 * crafted "fragmentation needed" lowers the MSS of the connection it
 * quotes and, through the per-destination cache, of new connections to
 * the same host, until the entry ages out; errors quoting a sequence
 * number not in flight, or absurd MTUs, do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/tcp.h>

#define TCP_INFO_ 11
#include "tcp_harness.h"

static uint8_t buf[4096];

static void short_cache(struct us_config *cfg)
{
	cfg->pmtu_timeout_ms = 10000;
}

/* ICMP 3/4 from a router about A's segment at seq to B. */
static void frag_needed(struct th *h, uint32_t seq, uint32_t mtu)
{
	uint8_t q[28] = {0};
	q[0] = 0x45;
	q[9] = 6;
	th_put32(q + 12, TH_IP_A);
	th_put32(q + 16, TH_IP_B);
	th_put16(q + 20, h->port_a);
	th_put16(q + 22, h->port_b);
	th_put32(q + 24, seq);
	tcp_err(h->a, 3, 4, mtu, q, sizeof(q));
}

static uint32_t info_pmtu(struct th *h)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	assert_int_equal(
	    tcp_getopt(h->a, h->c, IPPROTO_TCP, TCP_INFO_, &ti, &len), 0);
	return ti.tcpi_pmtu;
}

/* Another passive connection from B's next port. */
static void reconnect(struct th *h)
{
	struct th_seg s;
	int err;
	tcp_close(h->a, h->c, true);
	h->c = NULL;
	while (th_out(h, &s)) /* the rest of the data, the RST */
		;
	h->port_b++;
	th_syn(h, -1);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
}

static void test_lowered_then_aged_out(void **state)
{
	struct th *h = th_new(short_cache);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	assert_int_equal(h->c->mss, 1460);
	assert_int_equal(info_pmtu(h), 1500);
	tcp_send(h->a, h->c, buf, 1460, 0);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, h->rcv, h->snd);
	assert_int_equal(s.len, 1460);
	frag_needed(h, h->rcv, 1280);
	/* RFC 1191 6.1: resent at once in segments that fit. */
	TH_EXPECT(h, &s, TCP_ACK, h->rcv, h->snd);
	assert_int_equal(s.len, 1240);
	assert_int_equal(h->c->mss, 1240);
	assert_int_equal(info_pmtu(h), 1280);
	assert_int_equal(th_stat(h, "tcp_pmtu_lowered"), 1);

	/* A new connection to the same host starts at the path MTU. */
	th_at_ms(h, 5000);
	reconnect(h);
	assert_int_equal(h->c->mss, 1240);
	/* 10 s after the error the entry is gone: the link MTU again. */
	th_at_ms(h, 10001);
	reconnect(h);
	assert_int_equal(h->c->mss, 1460);
	assert_int_equal(info_pmtu(h), 1500);
	th_free(h);
}

/* RFC 5927 4.1, 7.1: an error must quote a sequence number in flight;
 * an MTU below 552 is taken as 552; a larger MTU never raises it. */
static void test_validation(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	tcp_send(h->a, h->c, buf, 1460, 0);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, h->rcv, h->snd);
	frag_needed(h, h->rcv + 5000, 1000); /* not sent yet */
	frag_needed(h, h->rcv - 1, 1000);    /* already acked */
	th_none(h);
	assert_int_equal(h->c->mss, 1460);
	assert_int_equal(th_stat(h, "tcp_icmp_drop_out_of_window"), 2);

	frag_needed(h, h->rcv, 300);
	TH_EXPECT(h, &s, TCP_ACK, h->rcv, h->snd);
	assert_int_equal(s.len, 552 - 40);
	assert_int_equal(h->c->mss, 552 - 40);
	while (th_out(h, &s))
		;
	frag_needed(h, h->rcv, 1400);
	th_none(h);
	assert_int_equal(h->c->mss, 552 - 40);
	frag_needed(h, h->rcv, 40); /* below 68: nonsense */
	th_none(h);
	assert_int_equal(h->c->mss, 552 - 40);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lowered_then_aged_out),
	    cmocka_unit_test(test_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
