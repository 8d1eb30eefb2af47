/* A SYN for a 4-tuple in TIME-WAIT when the old connection used
 * timestamps (RFC 6191 2): the SYN's TSval decides, not its sequence
 * number. A client that reuses its port with a timestamp clock running on
 * opens a new connection even if its ISN happens to lie behind the old
 * RCV.NXT; a SYN whose TSval is not beyond TS.Recent is an old duplicate
 * and changes nothing; a SYN without the option falls back on the
 * sequence number rule (RFC 9293 3.10.7.4, tested in test_tcp_open.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define TS0 5000u /* B's timestamps start here */

static struct th_opts ts_at(uint32_t tsval)
{
	struct th_opts o = {.mss = 1460, .ws = -1, .ts = true, .tsval = tsval};
	return o;
}

/* A passive connection with timestamps that A closed first: A ends in
 * TIME-WAIT with TS.Recent = TS0 + 2. */
static struct th *to_timewait_ts(void)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	int err;

	th_listen(h, 8);
	struct th_opts o = ts_at(TS0);
	th_inject_raw(h, TCP_SYN, h->irs, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_true(s.ts);
	h->snd = h->irs + 1;
	o = ts_at(TS0 + 1);
	o.mss = 0;
	th_inject_raw(h, TCP_ACK, h->snd, TH_ISS + 1, 65535, NULL, 0, &o);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	assert_true(h->c->ts_ok);
	tcp_close(h->a, h->c, false);
	h->c = NULL;
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
	o = ts_at(TS0 + 2);
	o.mss = 0;
	th_inject_raw(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, 65535, NULL, 0,
		      &o);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	struct tcp_conn *c = th_find(h);
	assert_int_equal(c->state, TCP_TIME_WAIT);
	assert_int_equal(c->ts_recent, TS0 + 2);
	return h;
}

/* A newer TSval opens a new connection although the SYN's sequence
 * number is behind the old RCV.NXT. */
static void test_newer_tsval_reopens(void **state)
{
	struct th *h = to_timewait_ts();
	struct th_seg s;
	(void)state;

	struct th_opts o = ts_at(TS0 + 100);
	th_inject_raw(h, TCP_SYN, h->snd - 5000, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, s.seq, h->snd - 5000 + 1);
	assert_true(s.ts);
	assert_int_equal(s.tsecr, TS0 + 100);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	assert_int_equal(th_stat(h, "tcp_timewait_reuse"), 1);
	th_free(h);
}

/* An older (or equal) TSval: an old duplicate, even with a sequence
 * number beyond RCV.NXT. The old connection stays; the SYN is answered
 * with an ACK (PAWS, RFC 7323 5.3, or RFC 5961 4.2), not a SYN-ACK. */
static void test_old_tsval_does_not_reopen(void **state)
{
	struct th *h = to_timewait_ts();
	struct th_seg s;
	(void)state;

	struct th_opts o = ts_at(TS0 + 1);
	th_inject_raw(h, TCP_SYN, h->snd + 100000, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	th_none(h);
	assert_int_equal(th_find(h)->state, TCP_TIME_WAIT);
	th_at_ms(h, 500); /* past the rate limit of these ACKs */
	o = ts_at(TS0 + 2);
	th_inject_raw(h, TCP_SYN, h->snd + 100000, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(th_find(h)->state, TCP_TIME_WAIT);
	assert_int_equal(th_stat(h, "tcp_timewait_reuse"), 0);
	th_free(h);
}

/* No option in the SYN: the sequence number rule. */
static void test_no_tsval_uses_sequence(void **state)
{
	struct th *h = to_timewait_ts();
	struct th_opts o = {.mss = 1460, .ws = -1};
	struct th_seg s;
	(void)state;

	th_inject_raw(h, TCP_SYN, h->snd - 10, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(th_find(h)->state, TCP_TIME_WAIT);
	th_inject_raw(h, TCP_SYN, h->snd + 10, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, s.seq, h->snd + 11);
	assert_false(s.ts);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_newer_tsval_reopens),
	    cmocka_unit_test(test_old_tsval_does_not_reopen),
	    cmocka_unit_test(test_no_tsval_uses_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
