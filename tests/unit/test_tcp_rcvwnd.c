/* Receiver-side silly window avoidance (RFC 9293 3.8.6.2.2, RFC 1122
 * 4.2.3.3): once the window has closed, the right edge it offered stays
 * where it is until it can move by at least min(RCV.BUFF / 2, MSS).
 * An application that reads a few bytes at a time must not make the
 * stack announce windows of a few bytes (which would have the sender
 * send tiny segments): no window update, and the edge in every ACK stays
 * put; reading enough reopens the window with one update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define MSS 1460

static uint8_t d[MSS], out[64 * 1024];

/* B fills A's receive buffer (8 buffers' worth) until the window is below
 * one MSS; returns the right edge A advertised last. */
static uint32_t fill(struct th *h)
{
	struct th_seg s;
	uint32_t right = 0;

	h->c->quickack = 100; /* an ACK for each segment: the edge is seen */
	for (int n = 0; n < 20; n++) {
		th_data(h, d, MSS);
		TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
		assert_true(n == 0 || seq_geq(s.ack + s.wnd, right));
		right = s.ack + s.wnd;
		if (s.wnd < MSS)
			return right;
	}
	fail_msg("the window never closed");
	return 0;
}

/* What A advertises now: B repeats its last byte (a duplicate), which A
 * must acknowledge at once (RFC 9293 3.10.7.4 first). */
static void probe(struct th *h, struct th_seg *s)
{
	th_inject(h, TCP_ACK, h->snd - 1, h->rcv, d, 1);
	TH_EXPECT(h, s, TCP_ACK, TH_ISS + 1, h->snd);
}

static void test_small_reads_keep_the_edge(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	h->rcvbuf = 8 * 2200;
	th_passive(h, -1);
	memset(d, 0x5a, sizeof(d));
	uint32_t right = fill(h);
	uint32_t total = h->c->rcvq_len, taken = 0;

	/* Reads of 100 bytes, up to nearly one MSS in all: silence, and
	 * the edge in the answer to a probe has not moved. */
	for (int i = 0; i < 14; i++) {
		assert_int_equal(tcp_recv(h->a, h->c, out, 100, 0), 100);
		taken += 100;
		th_none(h);
	}
	probe(h, &s);
	assert_int_equal(s.ack + s.wnd, right);
	/* Reading the rest frees whole buffers: one update, a window of
	 * several segments. */
	assert_int_equal(tcp_recv(h->a, h->c, out, sizeof(out), 0),
			 (int)(total - taken));
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_true(s.wnd >= 4 * MSS);
	assert_true(seq_geq(s.ack + s.wnd, right + MSS));
	th_none(h);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_reads_keep_the_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
