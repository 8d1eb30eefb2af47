/* TCP timers and loss recovery on the virtual clock: RTO values and
 * backoff (RFC 6298), SYN and SYN-ACK retries, giving up, zero-window
 * probes (RFC 9293 3.8.6.1), the initial window (RFC 6928), fast
 * retransmit and NewReno recovery (RFC 5681 3.2, RFC 6582). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

static uint8_t buf[64 * 1024];

/* A passive connection whose handshake took rtt_ms. */
static struct th *estab_rtt(uint64_t rtt_ms, void (*cfg)(struct us_config *))
{
	struct th *h = th_new(cfg);
	int err;

	th_listen(h, 8);
	th_syn(h, -1);
	th_at_ms(h, rtt_ms);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	return h;
}

/* The window numbers below are NewReno's (the default is CUBIC). */
static void reno(struct us_config *cfg)
{
	cfg->tcp_congestion = "reno";
}

/* RFC 6298 2.2: first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT +
 * 4 RTTVAR = 3R; backoff doubles (5.5). */
static void test_rto_from_handshake_and_backoff(void **state)
{
	struct th *h = estab_rtt(100, NULL);
	struct th_seg s;
	(void)state;

	assert_int_equal(h->c->srtt_us, 100000);
	assert_int_equal(h->c->rto_ms, 300);
	uint64_t t = th_now_ms(h);
	tcp_send(h->a, h->c, "abc", 3, 0);
	assert_true(th_out(h, &s));
	uint64_t expect[] = {300, 600, 1200, 2400};
	for (int i = 0; i < 4; i++) {
		t += expect[i];
		th_at_ms(h, t - 1);
		th_none(h);
		th_at_ms(h, t);
		TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	}
	assert_int_equal(th_stat(h, "tcp_rto"), 4);
	/* The ACK (of a retransmission: no RTT sample, Karn) ends it. */
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 4, NULL, 0);
	assert_int_equal(h->c->srtt_us, 100000);
	assert_int_equal(h->c->backoff, 0);
	th_at_ms(h, t + 10000);
	th_none(h);
	th_free(h);
}

/* The RTO never goes below the configured minimum. */
static void rto_min_50(struct us_config *c)
{
	c->tcp_rto_min_ms = 50;
}

static void test_rto_min_configurable(void **state)
{
	struct th *h = estab_rtt(1, rto_min_50);
	struct th_seg s;
	(void)state;

	assert_int_equal(h->c->rto_ms, 50);
	uint64_t t = th_now_ms(h);
	tcp_send(h->a, h->c, "x", 1, 0);
	assert_true(th_out(h, &s));
	th_at_ms(h, t + 49);
	th_none(h);
	th_at_ms(h, t + 50);
	assert_true(th_out(h, &s));
	th_free(h);
}

/* A new RTT sample after the handshake updates SRTT and RTTVAR. */
static void test_rtt_sample_on_ack(void **state)
{
	struct th *h = estab_rtt(100, NULL);
	struct th_seg s;
	(void)state;

	uint64_t t = th_now_ms(h);
	tcp_send(h->a, h->c, "abc", 3, 0);
	assert_true(th_out(h, &s));
	th_at_ms(h, t + 200);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 4, NULL, 0);
	/* RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 112.5 */
	assert_int_equal(h->c->srtt_us, 112500);
	assert_int_equal(h->c->rttvar_us, 62500);
	assert_int_equal(h->c->rto_ms, 363);
	th_free(h);
}

static void syn2(struct us_config *c)
{
	c->tcp_syn_retries = 2;
}

/* SYN retransmissions at 1 s and 3 s (initial RTO 1 s, doubling), then
 * ETIMEDOUT after the last one times out (at 7 s). */
static void test_syn_retries_then_timeout(void **state)
{
	struct th *h = th_new(syn2);
	struct th_seg s;
	(void)state;

	th_connect(h);
	th_at_ms(h, 999);
	th_none(h);
	th_at_ms(h, 1000);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	th_at_ms(h, 2999);
	th_none(h);
	th_at_ms(h, 3000);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	th_at_ms(h, 6999);
	assert_int_equal(h->c->state, TCP_SYN_SENT);
	th_at_ms(h, 7000);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, true), ETIMEDOUT);
	assert_int_equal(th_stat(h, "tcp_syn_retrans"), 2);
	th_free(h);
}

/* After a lost SYN the initial window is one segment (RFC 5681 3.1). */
static void test_syn_lost_iw_one(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	struct th_opts o = {.mss = 1460, .ws = -1};
	th_connect(h);
	th_at_ms(h, 1000);
	assert_true(th_out(h, &s));
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, 65535, NULL, 0,
		      &o);
	assert_true(th_out(h, &s));
	assert_int_equal(h->c->cwnd, 1460);
	assert_int_equal(h->c->srtt_us, 0); /* Karn: no sample */
	th_free(h);
}

static void synack1(struct us_config *c)
{
	c->tcp_synack_retries = 1;
}

static void test_synack_retries(void **state)
{
	struct th *h = th_new(synack1);
	struct th_seg s;
	(void)state;

	th_listen(h, 8);
	th_syn(h, -1);
	th_at_ms(h, 1000);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	th_at_ms(h, 3000);
	th_none(h);
	assert_null(th_find(h)); /* given up: the embryo is gone */
	assert_int_equal(h->l->synq.n, 0);
	th_free(h);
}

static void retries3(struct us_config *c)
{
	c->tcp_retries = 3;
}

static void test_data_retries_timeout(void **state)
{
	struct th *h = estab_rtt(100, retries3);
	struct th_seg s;
	(void)state;

	uint64_t t = th_now_ms(h);
	tcp_send(h->a, h->c, "abc", 3, 0);
	assert_true(th_out(h, &s));
	uint64_t iv[] = {300, 600, 1200};
	for (int i = 0; i < 3; i++) {
		t += iv[i];
		th_at_ms(h, t);
		assert_true(th_out(h, &s));
	}
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_at_ms(h, t + 2400);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ETIMEDOUT);
	assert_int_equal(tcp_send(h->a, h->c, "x", 1, 0), -ETIMEDOUT);
	th_free(h);
}

/* RFC 9293 3.8.6.1: a zero window is probed at RTO intervals, backing
 * off; a probe is an old sequence number without data. */
static void test_zero_window_probes(void **state)
{
	struct th *h = estab_rtt(100, NULL);
	struct th_seg s;
	(void)state;

	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 0, NULL, 0, NULL);
	uint64_t t = th_now_ms(h);
	assert_int_equal(tcp_send(h->a, h->c, "data", 4, 0), 4);
	th_none(h);
	uint64_t iv[] = {300, 600, 1200, 2400};
	for (int i = 0; i < 4; i++) {
		t += iv[i];
		th_at_ms(h, t - 1);
		th_none(h);
		th_at_ms(h, t);
		TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd);
		assert_int_equal(s.len, 0);
		/* B answers each probe: still zero. */
		th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 0, NULL, 0, NULL);
	}
	assert_int_equal(th_stat(h, "tcp_zero_window_probe"), 4);
	/* The window opens: the data goes. */
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 1000, NULL, 0, NULL);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 4);
	th_free(h);
}

/* Sender SWS avoidance holds a segment smaller than half the largest
 * window seen; the persist timer overrides the hold (RFC 9293
 * 3.8.6.2.1). */
static void test_sws_override(void **state)
{
	struct th *h = estab_rtt(100, NULL);
	struct th_seg s;
	(void)state;

	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 1000, NULL, 0, NULL);
	uint64_t t = th_now_ms(h);
	assert_int_equal(tcp_send(h->a, h->c, buf, 3000, 0), 3000);
	th_none(h);
	th_at_ms(h, t + 300);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 1000);
	th_none(h);
	th_free(h);
}

/* RFC 6928: ten segments, then wait for ACKs; slow start grows by the
 * bytes acknowledged (RFC 3465). */
static void test_initial_window_ten(void **state)
{
	struct th *h = estab_rtt(10, NULL);
	struct th_seg s;
	(void)state;

	assert_int_equal(tcp_send(h->a, h->c, buf, 20 * 1460, 0), 20 * 1460);
	int n = 0;
	while (th_out(h, &s))
		n++;
	assert_int_equal(n, 10);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1 + 2 * 1460, NULL, 0);
	n = 0;
	while (th_out(h, &s))
		n++;
	assert_int_equal(n, 4); /* 2 acked, cwnd + 2 MSS */
	th_free(h);
}

/* RFC 5681 4.1: after an idle period longer than the RTO, the window
 * restarts at min(IW, cwnd). */
static void test_restart_after_idle(void **state)
{
	struct th *h = estab_rtt(10, NULL);
	struct th_seg s;
	(void)state;

	h->c->cwnd = 40 * 1460;
	tcp_send(h->a, h->c, buf, 1000, 0);
	assert_true(th_out(h, &s));
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1001, NULL, 0);
	assert_int_equal(h->c->cwnd, 40 * 1460 + 1000);
	th_at_ms(h, th_now_ms(h) + 5000);
	tcp_send(h->a, h->c, buf, 30 * 1460, 0);
	int n = 0;
	while (th_out(h, &s))
		n++;
	assert_int_equal(n, 10);
	assert_int_equal(h->c->cwnd, 10 * 1460);
	th_free(h);
}

/* Three duplicate ACKs: the first unacknowledged segment again, no
 * timeout; cwnd = FlightSize/2 + 3 MSS; a full ACK ends recovery with
 * cwnd = ssthresh. */
static void test_fast_retransmit_and_recovery(void **state)
{
	struct th *h = estab_rtt(10, reno);
	struct th_seg s;
	(void)state;

	tcp_send(h->a, h->c, buf, 10 * 1460, 0);
	while (th_out(h, &s))
		;
	uint32_t una = TH_ISS + 1;
	for (int i = 0; i < 2; i++) {
		th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
		th_none(h);
	}
	th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, una, h->snd);
	assert_int_equal(s.len, 1460);
	assert_true(h->c->in_recovery);
	assert_int_equal(h->c->ssthresh, 5 * 1460);
	assert_int_equal(h->c->cwnd, 8 * 1460);
	assert_int_equal(th_stat(h, "tcp_fast_retransmit"), 1);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1 + 10 * 1460, NULL, 0);
	assert_false(h->c->in_recovery);
	assert_int_equal(h->c->cwnd, 5 * 1460);
	assert_int_equal(th_stat(h, "tcp_rto"), 0);
	th_free(h);
}

/* A partial ACK (RFC 6582 3.2 step 5): the next hole is resent at once. */
static void test_newreno_partial_ack(void **state)
{
	struct th *h = estab_rtt(10, NULL);
	struct th_seg s;
	(void)state;

	tcp_send(h->a, h->c, buf, 10 * 1460, 0);
	while (th_out(h, &s))
		;
	uint32_t una = TH_ISS + 1;
	for (int i = 0; i < 3; i++)
		th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, una, h->snd);
	th_inject(h, TCP_ACK, h->snd, una + 3 * 1460, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, una + 3 * 1460, h->snd);
	assert_int_equal(s.len, 1460);
	assert_true(h->c->in_recovery);
	assert_int_equal(th_stat(h, "tcp_partial_ack"), 1);
	th_free(h);
}

/* Limited transmit (RFC 3042): each of the first two duplicate ACKs
 * lets one new segment out. */
static void test_limited_transmit(void **state)
{
	struct th *h = estab_rtt(10, NULL);
	struct th_seg s;
	(void)state;

	tcp_send(h->a, h->c, buf, 12 * 1460, 0);
	for (int i = 0; i < 10; i++)
		assert_true(th_out(h, &s));
	th_none(h);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1 + 10 * 1460, h->snd);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1 + 11 * 1460, h->snd);
	th_free(h);
}

/* After a timeout: one segment (the loss window), slow start again, and
 * duplicate ACKs of data sent before it do not start fast retransmit
 * (RFC 6582 4.1). */
static void test_rto_loss_window(void **state)
{
	struct th *h = estab_rtt(100, reno);
	struct th_seg s;
	(void)state;

	uint64_t t = th_now_ms(h);
	tcp_send(h->a, h->c, buf, 10 * 1460, 0);
	while (th_out(h, &s))
		;
	th_at_ms(h, t + 300);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_none(h);
	assert_int_equal(h->c->cwnd, 1460);
	assert_int_equal(h->c->ssthresh, 5 * 1460);
	for (int i = 0; i < 3; i++)
		th_inject(h, TCP_ACK, h->snd, TH_ISS + 1, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_fast_retransmit"), 0);
	/* The ACK of the resent segment: two more go (slow start). */
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1 + 1460, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1 + 1460, h->snd);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1 + 2920, h->snd);
	th_none(h);
	th_free(h);
}

/* ICMP "fragmentation needed" lowers the MSS (RFC 1191). */
static void test_pmtu_lowers_mss(void **state)
{
	struct th *h = estab_rtt(10, NULL);
	struct th_seg s;
	uint8_t q[28];
	(void)state;

	tcp_send(h->a, h->c, buf, 1460, 0);
	assert_true(th_out(h, &s));
	memset(q, 0, sizeof(q));
	q[0] = 0x45;
	q[9] = 6;
	th_put32(q + 12, TH_IP_A);
	th_put32(q + 16, TH_IP_B);
	th_put16(q + 20, TH_PORT_A);
	th_put16(q + 22, TH_PORT_B);
	th_put32(q + 24, TH_ISS + 1);
	tcp_err(h->a, 3, 4, 1000, q, sizeof(q));
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 960);
	assert_int_equal(h->c->mss, 960);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rto_from_handshake_and_backoff),
	    cmocka_unit_test(test_rto_min_configurable),
	    cmocka_unit_test(test_rtt_sample_on_ack),
	    cmocka_unit_test(test_syn_retries_then_timeout),
	    cmocka_unit_test(test_syn_lost_iw_one),
	    cmocka_unit_test(test_synack_retries),
	    cmocka_unit_test(test_data_retries_timeout),
	    cmocka_unit_test(test_zero_window_probes),
	    cmocka_unit_test(test_sws_override),
	    cmocka_unit_test(test_initial_window_ten),
	    cmocka_unit_test(test_restart_after_idle),
	    cmocka_unit_test(test_fast_retransmit_and_recovery),
	    cmocka_unit_test(test_newreno_partial_ack),
	    cmocka_unit_test(test_limited_transmit),
	    cmocka_unit_test(test_rto_loss_window),
	    cmocka_unit_test(test_pmtu_lowers_mss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
