/* NewReno's window growth (RFC 5681 3.1) with appropriate byte counting
 * (RFC 3465): in slow start cwnd grows by the bytes acknowledged, at most
 * L = 2 SMSS per ACK; in congestion avoidance by one SMSS per cwnd of
 * bytes acknowledged, however the ACKs slice them (a receiver that ACKs
 * every half segment must not double the growth). What is checked is
 * how many segments the sender lets out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define MSS 1460

static uint8_t buf[64 * MSS];

static void reno(struct us_config *c)
{
	c->tcp_congestion = "reno";
}

static struct th *estab(void)
{
	struct th *h = th_new(reno);
	th_passive(h, -1);
	assert_string_equal(h->c->cc->name, "reno");
	return h;
}

static int drain(struct th *h)
{
	struct th_seg s;
	int n = 0;

	while (th_out(h, &s))
		n++;
	return n;
}

/* Congestion avoidance, one ACK per segment: cwnd (10 segments) grows by
 * one segment once 10 segments are acknowledged, not before. */
static void test_ca_one_mss_per_window(void **state)
{
	struct th *h = estab();
	(void)state;

	h->c->cwnd = h->c->ssthresh = 10 * MSS;
	assert_int_equal(tcp_send(h->a, h->c, buf, sizeof(buf), 0),
			 sizeof(buf));
	assert_int_equal(drain(h), 10);
	uint32_t una = TH_ISS + 1;
	for (int i = 1; i <= 10; i++) {
		una += MSS;
		th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
		/* Each ACK frees one segment; the tenth also grows cwnd. */
		assert_int_equal(drain(h), i < 10 ? 1 : 2);
		assert_int_equal(h->c->cwnd, (i < 10 ? 10u : 11u) * MSS);
	}
	th_free(h);
}

/* The same bytes acknowledged in twice as many ACKs of half a segment:
 * the same growth (RFC 3465 2.1), one segment per window. */
static void test_ca_counts_bytes_not_acks(void **state)
{
	struct th *h = estab();
	(void)state;

	h->c->cwnd = h->c->ssthresh = 10 * MSS;
	tcp_send(h->a, h->c, buf, sizeof(buf), 0);
	assert_int_equal(drain(h), 10);
	uint32_t una = TH_ISS + 1;
	for (int i = 1; i <= 20; i++) {
		una += MSS / 2;
		th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
		drain(h);
	}
	assert_int_equal(h->c->cwnd, 11 * MSS);
	th_free(h);
}

/* Slow start: an ACK for five segments (a stretch ACK) grows cwnd by
 * L = 2 segments only (RFC 3465 2.2), so seven leave; then each ACK of
 * one segment adds one (two out per ACK). */
static void test_slow_start_limit_per_ack(void **state)
{
	struct th *h = estab();
	(void)state;

	assert_true(h->c->ssthresh > 64 * MSS);
	assert_int_equal(h->c->cwnd, 10 * MSS);
	tcp_send(h->a, h->c, buf, sizeof(buf), 0);
	assert_int_equal(drain(h), 10);
	uint32_t una = TH_ISS + 1 + 5 * MSS;
	th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
	assert_int_equal(h->c->cwnd, 12 * MSS);
	assert_int_equal(drain(h), 7);
	una += MSS;
	th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
	assert_int_equal(h->c->cwnd, 13 * MSS);
	assert_int_equal(drain(h), 2);
	th_free(h);
}

/* Slow start ends at ssthresh: from there growth is congestion
 * avoidance's (RFC 5681 3.1: slow start while cwnd < ssthresh). */
static void test_slow_start_stops_at_ssthresh(void **state)
{
	struct th *h = estab();
	(void)state;

	h->c->ssthresh = 12 * MSS;
	tcp_send(h->a, h->c, buf, sizeof(buf), 0);
	assert_int_equal(drain(h), 10);
	uint32_t una = TH_ISS + 1;
	for (int i = 0; i < 4; i++) {
		una += MSS;
		th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
		drain(h);
	}
	/* 10 -> 11 -> 12 in slow start; then 12 segments to a 13th. */
	assert_int_equal(h->c->cwnd, 12 * MSS);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ca_one_mss_per_window),
	    cmocka_unit_test(test_ca_counts_bytes_not_acks),
	    cmocka_unit_test(test_slow_start_limit_per_ack),
	    cmocka_unit_test(test_slow_start_stops_at_ssthresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
