/* TCP timestamps (RFC 7323): negotiated only when both sides send the
 * option; every segment then carries it, echoing TS.Recent; PAWS drops
 * old duplicates; an echo gives an RTT sample where Karn's rule gives
 * none; the clock is per connection, not the host's uptime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define B_TS0 7000u /* B's first TSval */

/* A's active open; B answers with timestamps (ts) or without. */
static struct th *active(bool ts, uint32_t *a_tsval)
{
	struct th *h = th_new(NULL);
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	struct th_seg s;

	h->c = tcp_conn_new(h->a);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	/* RFC 7323 3.2: offered in the SYN, TSecr 0 without ACK. */
	assert_true(s.ts);
	assert_int_equal(s.tsecr, 0);
	h->rcv = TH_ISS + 1;
	struct th_opts o = {
	    .mss = 1460, .ws = -1, .ts = ts, .tsval = B_TS0, .tsecr = s.tsval};
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, 65535, NULL, 0,
		      &o);
	h->snd = h->irs + 1;
	uint32_t syn_tsval = s.tsval;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(s.ts, ts);
	if (ts) {
		assert_int_equal(s.tsecr, B_TS0);
		assert_int_equal(s.tsval, syn_tsval); /* same millisecond */
	}
	if (a_tsval)
		*a_tsval = syn_tsval;
	return h;
}

/* B's data segment with a timestamp. */
static void data_ts(struct th *h, uint32_t seq, const char *d, uint32_t len,
		    uint32_t tsval)
{
	struct th_opts o = {.ws = -1, .ts = true, .tsval = tsval};
	th_inject_raw(h, TCP_ACK | TCP_PSH, seq, h->rcv, 65535, d, len, &o);
}

static void test_negotiated_active(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(true, NULL);
	assert_true(h->c->ts_ok);
	/* The MSS in use leaves room for the option (RFC 7323 3.2). */
	assert_int_equal(h->c->mss, 1460 - 12);
	/* Data carries it too, echoing B's latest TSval. */
	data_ts(h, h->snd, "abcd", 4, B_TS0 + 5);
	h->snd += 4;
	th_at_ms(h, 40);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_true(s.ts);
	assert_int_equal(s.tsecr, B_TS0 + 5);
	th_free(h);

	/* B does not answer with the option: none on later segments. */
	h = active(false, NULL);
	assert_false(h->c->ts_ok);
	assert_int_equal(h->c->mss, 1460);
	assert_int_equal(tcp_send(h->a, h->c, "x", 1, 0), 1);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_false(s.ts);
	th_free(h);
}

/* Passive: the SYN-ACK carries the option only if the SYN did. */
static void test_negotiated_passive(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_listen(h, 8);
	struct th_opts o = {.mss = 1460, .ws = -1, .ts = true, .tsval = 42};
	th_inject_raw(h, TCP_SYN, h->irs, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_true(s.ts);
	assert_int_equal(s.tsecr, 42);
	th_free(h);

	h = th_new(NULL);
	th_listen(h, 8);
	o.ts = false;
	th_inject_raw(h, TCP_SYN, h->irs, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_false(s.ts);
	th_free(h);
}

/* RFC 7323 5.3: an in-window segment whose TSval is older than
 * TS.Recent is an old duplicate (from a wrapped sequence space): not
 * taken, answered with an ACK, counted. A RST is not judged by it. */
static void test_paws_drops_old_duplicate(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(true, NULL);
	data_ts(h, h->snd, "new!", 4, B_TS0 + 10);
	h->snd += 4;
	assert_int_equal(h->c->ts_recent, B_TS0 + 10);
	th_at_ms(h, 40);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	uint32_t rcv_nxt = h->c->rcv_nxt;

	data_ts(h, h->snd, "old!", 4, B_TS0 + 3);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->rcv_nxt, rcv_nxt);
	assert_int_equal(h->c->rcvq_len, 4);
	assert_int_equal(th_stat(h, "tcp_drop_paws"), 1);

	/* The same bytes with a current TSval are taken. */
	data_ts(h, h->snd, "now!", 4, B_TS0 + 11);
	h->snd += 4;
	assert_int_equal(h->c->rcvq_len, 8);

	/* A RST with an old TSval still resets (RFC 7323 5.3 R1). */
	struct th_opts o = {.ws = -1, .ts = true, .tsval = 1};
	th_inject_raw(h, TCP_RST, h->snd, 0, 0, NULL, 0, &o);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(th_stat(h, "tcp_drop_paws"), 1);
	th_free(h);
}

/* RFC 7323 4: after a timeout Karn's rule forbids timing the
 * retransmission, but its echoed TSval tells which transmission the ACK
 * is for: a 50 ms sample. */
static void test_rtt_from_echo(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(true, NULL);
	uint32_t srtt0 = h->c->srtt_us;
	assert_int_equal(tcp_send(h->a, h->c, "hello", 5, 0), 5);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	uint64_t rto = h->c->rto_ms;
	th_at_ms(h, rto);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_false(h->c->rtt_timing);
	th_at_ms(h, rto + 50);
	struct th_opts o = {
	    .ws = -1, .ts = true, .tsval = B_TS0 + 1, .tsecr = s.tsval};
	th_inject_raw(h, TCP_ACK, h->snd, TH_ISS + 6, 65535, NULL, 0, &o);
	/* RFC 6298 2.3: SRTT = 7/8 SRTT + 1/8 R. */
	assert_int_equal(h->c->srtt_us, (7 * srtt0 + 50000) / 8);
	th_free(h);
}

/* RFC 7323 5.4, 7.1: the TSval is the stack's milliseconds plus an
 * offset that is a keyed hash of the 4-tuple: it advances with time
 * but reveals neither uptime nor other connections' clocks. */
static void test_clock_per_connection(void **state)
{
	uint32_t ts1, ts2;
	struct th_seg s;
	(void)state;

	struct th *h = active(true, &ts1);
	uint32_t ms = (uint32_t)(us_stack_now(h->a) / US_NS_PER_MS);
	assert_int_not_equal(ts1, ms);
	th_at_ms(h, 250);
	assert_int_equal(tcp_send(h->a, h->c, "x", 1, 0), 1);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_int_equal(s.tsval, ts1 + 250);
	th_free(h);

	/* Another 4-tuple, another offset. */
	h = th_new(NULL);
	h->port_b = TH_PORT_B + 1;
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	h->c = tcp_conn_new(h->a);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	ts2 = s.tsval;
	assert_int_not_equal(ts1, ts2);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiated_active),
	    cmocka_unit_test(test_negotiated_passive),
	    cmocka_unit_test(test_paws_drops_old_duplicate),
	    cmocka_unit_test(test_rtt_from_echo),
	    cmocka_unit_test(test_clock_per_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
