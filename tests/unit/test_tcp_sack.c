/* SACK (RFC 2018, RFC 2883, RFC 6675) segment by segment: negotiation,
 * the blocks A sends for its out-of-order queue (most recent first),
 * D-SACK for a duplicate, the scoreboard A keeps of B's blocks, and
 * which segments RFC 6675 recovery resends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define SEG 1000u /* B's MSS: A's segments carry 1000 bytes */

static uint8_t buf[64 * 1024];
static uint32_t iss = TH_ISS; /* A's ISN: moved to test wrap-around */

static void reno(struct us_config *cfg)
{
	cfg->tcp_congestion = "reno";
}

/* A's active open; B's SYN-ACK offers SACK (sack) or not. */
static struct th *active(bool sack)
{
	struct th *h = th_new(reno);
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	struct th_seg s;

	h->a->tcp->isn = iss;
	h->c = tcp_conn_new(h->a);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, iss, 0);
	assert_true(s.sack_ok); /* RFC 2018 2: offered in the SYN */
	h->rcv = iss + 1;
	struct th_opts o = {.mss = SEG, .ws = -1, .sack_perm = sack};
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, iss + 1, 65535, NULL, 0,
		      &o);
	h->snd = h->irs + 1;
	TH_EXPECT(h, &s, TCP_ACK, iss + 1, h->snd);
	assert_int_equal(h->c->sack_ok, sack);
	return h;
}

static void test_negotiation(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(false);
	/* Without it, out-of-order data gets plain duplicate ACKs. */
	th_inject(h, TCP_ACK, h->snd + 100, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.nsack, 0);
	th_free(h);

	/* Passive: SACK-permitted in the SYN-ACK only if the SYN had it. */
	h = th_new(NULL);
	th_listen(h, 8);
	struct th_opts o = {.mss = 1460, .ws = -1, .sack_perm = true};
	th_inject_raw(h, TCP_SYN, h->irs, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_true(s.sack_ok);
	th_free(h);
	h = th_new(NULL);
	th_listen(h, 8);
	o.sack_perm = false;
	th_inject_raw(h, TCP_SYN, h->irs, 0, 65535, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_false(s.sack_ok);
	th_free(h);
}

/* RFC 2018 4: every ACK for out-of-order data carries the blocks, the
 * one holding the segment that triggered it first. */
static void test_blocks_for_ooo_queue(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(true);
	uint32_t b = h->snd;
	th_inject(h, TCP_ACK, b + 100, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], b + 100);
	assert_int_equal(s.sack[0][1], b + 200);
	th_inject(h, TCP_ACK, b + 500, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b);
	assert_int_equal(s.nsack, 2);
	assert_int_equal(s.sack[0][0], b + 500);
	assert_int_equal(s.sack[1][0], b + 100);
	th_inject(h, TCP_ACK, b + 300, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b);
	assert_int_equal(s.nsack, 3);
	assert_int_equal(s.sack[0][0], b + 300);
	assert_int_equal(s.sack[0][1], b + 400);
	assert_int_equal(s.sack[1][0], b + 500);
	assert_int_equal(s.sack[2][0], b + 100);
	/* Filling [200, 300) joins two runs into one block. */
	th_inject(h, TCP_ACK, b + 200, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b);
	assert_int_equal(s.nsack, 2);
	assert_int_equal(s.sack[0][0], b + 100);
	assert_int_equal(s.sack[0][1], b + 400);
	assert_int_equal(s.sack[1][0], b + 500);
	/* The hole at the front filled: everything in order, no blocks. */
	th_inject(h, TCP_ACK, b, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b + 400);
	assert_int_equal(s.nsack, 1);
	th_inject(h, TCP_ACK, b + 400, h->rcv, buf, 100);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b + 600);
	assert_int_equal(s.nsack, 0);
	th_free(h);
}

/* RFC 2883 4: a duplicate segment is reported as the first block, once. */
static void test_dsack(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(true);
	uint32_t b = h->snd;
	th_data(h, buf, 100);
	th_at_ms(h, 40);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b + 100);
	th_inject(h, TCP_ACK, b, h->rcv, buf, 100); /* again */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b + 100);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], b);
	assert_int_equal(s.sack[0][1], b + 100);
	th_data(h, buf, 100);
	th_at_ms(h, 80);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, b + 200);
	assert_int_equal(s.nsack, 0);
	th_free(h);
}

/* B's duplicate ACK with blocks. */
static void sack_ack(struct th *h, uint32_t ack, int n, const uint32_t *blk)
{
	struct th_opts o = {.ws = -1, .nsack = n};
	for (int i = 0; i < n; i++) {
		o.sack[i][0] = blk[2 * i];
		o.sack[i][1] = blk[2 * i + 1];
	}
	th_inject_raw(h, TCP_ACK, h->snd, ack, 65535, NULL, 0, &o);
}

/* Sequence number of A's segment k (1-based). */
static uint32_t sq(int k)
{
	return iss + 1 + (uint32_t)(k - 1) * SEG;
}

/* The scoreboard merges blocks, trims at the cumulative ACK and counts
 * D-SACK blocks without taking them. */
static void test_scoreboard(void **state)
{
	struct th_seg s;
	(void)state;

	struct th *h = active(true);
	tcp_send(h->a, h->c, buf, 10 * SEG, 0);
	while (th_out(h, &s))
		;
	uint32_t b1[] = {sq(3), sq(4)};
	sack_ack(h, sq(1), 1, b1);
	uint32_t b2[] = {sq(5), sq(6), sq(3), sq(4)};
	sack_ack(h, sq(1), 2, b2);
	assert_int_equal(h->c->nsb, 2);
	uint32_t b3[] = {sq(4), sq(5), sq(5), sq(6), sq(3), sq(4)};
	sack_ack(h, sq(1), 3, b3);
	assert_int_equal(h->c->nsb, 1); /* [3, 6) in one range */
	assert_int_equal(h->c->sb[0].start, sq(3));
	assert_int_equal(h->c->sb[0].end, sq(6));
	/* A cumulative ACK into the range trims it. */
	uint32_t b4[] = {sq(8), sq(9)};
	th_inject(h, TCP_ACK, h->snd, sq(4), NULL, 0);
	sack_ack(h, sq(4), 1, b4);
	assert_int_equal(h->c->nsb, 2);
	assert_int_equal(h->c->sb[0].start, sq(4));
	/* D-SACK: a first block below the ACK is not scoreboard news. */
	uint32_t d[] = {sq(2), sq(3), sq(8), sq(9)};
	sack_ack(h, sq(4), 2, d);
	assert_int_equal(th_stat(h, "tcp_dsack_rx"), 1);
	assert_int_equal(h->c->nsb, 2);
	/* Blocks beyond what was sent are ignored. */
	uint32_t bad[] = {sq(20), sq(21)};
	sack_ack(h, sq(4), 1, bad);
	assert_int_equal(h->c->nsb, 2);
	th_free(h);
}

/* RFC 6675 recovery: segments 1 and 6 of 10 are lost. The third
 * duplicate ACK (SACKing 2-4) resends 1 only (pipe 7 > cwnd 5); when B's
 * blocks show 7 and 8 above the hole at 6, pipe has fallen to 4 and 6
 * goes (NextSeg rule 3: a hole below the highest SACKed byte); nothing
 * else is resent and no timeout fires; the full ACK ends recovery with
 * cwnd = ssthresh. */
static void recovery_resends_holes(void)
{
	struct th_seg s;

	struct th *h = active(true);
	tcp_send(h->a, h->c, buf, 10 * SEG, 0);
	int n = 0;
	while (th_out(h, &s))
		n++;
	assert_int_equal(n, 10);
	uint32_t b2[] = {sq(2), sq(3)};
	sack_ack(h, sq(1), 1, b2);
	th_none(h);
	uint32_t b3[] = {sq(2), sq(4)};
	sack_ack(h, sq(1), 1, b3);
	th_none(h);
	uint32_t b4[] = {sq(2), sq(5)};
	sack_ack(h, sq(1), 1, b4);
	TH_EXPECT(h, &s, TCP_ACK, sq(1), h->snd);
	assert_int_equal(s.len, SEG);
	th_none(h);
	assert_true(h->c->in_recovery);
	assert_int_equal(h->c->ssthresh, 5 * SEG);
	assert_int_equal(h->c->cwnd, 5 * SEG);
	uint32_t b5[] = {sq(2), sq(6)};
	sack_ack(h, sq(1), 1, b5);
	th_none(h);
	uint32_t b7[] = {sq(7), sq(8), sq(2), sq(6)};
	sack_ack(h, sq(1), 2, b7);
	th_none(h);
	uint32_t b8[] = {sq(7), sq(9), sq(2), sq(6)};
	sack_ack(h, sq(1), 2, b8);
	TH_EXPECT(h, &s, TCP_ACK, sq(6), h->snd);
	assert_int_equal(s.len, SEG);
	uint32_t b9[] = {sq(7), sq(10), sq(2), sq(6)};
	sack_ack(h, sq(1), 2, b9);
	th_none(h);
	/* The retransmission of 1 arrives: a partial ACK up to 6. */
	uint32_t b10[] = {sq(7), sq(11)};
	sack_ack(h, sq(6), 1, b10);
	th_none(h);
	th_inject(h, TCP_ACK, h->snd, sq(11), NULL, 0);
	assert_false(h->c->in_recovery);
	assert_int_equal(h->c->cwnd, 5 * SEG);
	assert_int_equal(th_stat(h, "tcp_sack_retransmit"), 2);
	assert_int_equal(th_stat(h, "tcp_retransmits"), 2);
	assert_int_equal(th_stat(h, "tcp_rto"), 0);
	th_free(h);
}

static void test_recovery_resends_holes(void **state)
{
	(void)state;
	recovery_resends_holes();
}

/* Sequence numbers that wrap: A's ISN 5 segments below 2^32, so segment
 * 6 starts at 1. Blocks across the wrap merge, a cumulative ACK past it
 * trims, a block starting below SND.UNA is clipped, one beyond SND.MAX
 * is ignored; and the recovery above picks the same holes. */
static void test_wraparound(void **state)
{
	struct th_seg s;
	(void)state;

	iss = 0u - 5 * SEG;
	assert_int_equal(sq(6), 1);
	struct th *h = active(true);
	tcp_send(h->a, h->c, buf, 10 * SEG, 0);
	while (th_out(h, &s))
		;
	uint32_t b1[] = {sq(5), sq(7), sq(3), sq(4)};
	sack_ack(h, sq(1), 2, b1);
	assert_int_equal(h->c->nsb, 2);
	assert_int_equal(h->c->sb[0].start, sq(3));
	assert_int_equal(h->c->sb[1].start, sq(5));
	assert_int_equal(h->c->sb[1].end, sq(7));
	uint32_t b2[] = {sq(4), sq(5)};
	sack_ack(h, sq(1), 1, b2);
	assert_int_equal(h->c->nsb, 1);
	assert_int_equal(h->c->sb[0].start, sq(3));
	assert_int_equal(h->c->sb[0].end, sq(7));
	/* The cumulative ACK crosses 2^32 into the range. */
	th_inject(h, TCP_ACK, h->snd, sq(6), NULL, 0);
	assert_int_equal(h->c->nsb, 1);
	assert_int_equal(h->c->sb[0].start, sq(6));
	assert_int_equal(h->c->sb[0].end, sq(7));
	/* Starting below SND.UNA (before the wrap): clipped at it. */
	uint32_t b3[] = {sq(5), sq(9)};
	sack_ack(h, sq(6), 1, b3);
	assert_int_equal(h->c->nsb, 1);
	assert_int_equal(h->c->sb[0].start, sq(6));
	assert_int_equal(h->c->sb[0].end, sq(9));
	/* Beyond SND.MAX, or reversed: ignored. */
	uint32_t bad[] = {sq(9), sq(12), sq(8), sq(7)};
	sack_ack(h, sq(6), 2, bad);
	assert_int_equal(h->c->nsb, 1);
	assert_int_equal(h->c->sb[0].end, sq(9));
	th_free(h);

	recovery_resends_holes();
	iss = TH_ISS;
}

/* RFC 2018 3 / RFC 9293 3.1 (MUST-7): the SACK option's length is the
 * peer's word; lengths that are 0, too short, not 2 + 8n, or run past
 * the header must neither be read beyond nor yield blocks. */
static void test_parse_hostile_lengths(void **state)
{
	struct tcp_opts o;
	(void)state;

	/* A well-formed option with two blocks. */
	uint8_t ok[20] = {1, 1, TCPOPT_SACK, 18};
	wr32(ok + 4, 100);
	wr32(ok + 8, 200);
	wr32(ok + 12, 300);
	wr32(ok + 16, 400);
	tcp_parse_opts(ok, sizeof(ok), &o);
	assert_true(o.present & TCP_OPT_SACK);
	assert_int_equal(o.nsack, 2);
	assert_int_equal(o.sack[1].end, 400);

	/* Length 0 and 1: malformed, the parse stops. */
	for (uint8_t len = 0; len < 2; len++) {
		uint8_t b[12] = {TCPOPT_SACK, len};
		tcp_parse_opts(b, sizeof(b), &o);
		assert_true(o.present & TCP_OPT_BAD);
		assert_int_equal(o.nsack, 0);
	}
	/* 2 (no block), 9, 11, 17: wrong for the kind, ignored. */
	static const uint8_t lens[] = {2, 9, 11, 17};
	for (size_t i = 0; i < sizeof(lens); i++) {
		uint8_t b[20] = {TCPOPT_SACK, lens[i]};
		tcp_parse_opts(b, sizeof(b), &o);
		assert_false(o.present & TCP_OPT_SACK);
		assert_int_equal(o.nsack, 0);
	}
	/* Claims 34 bytes in a 12-byte option area: not read past it. */
	uint8_t lie[12] = {TCPOPT_SACK, 34};
	tcp_parse_opts(lie, sizeof(lie), &o);
	assert_true(o.present & TCP_OPT_BAD);
	assert_int_equal(o.nsack, 0);
	/* A second SACK option adds nothing to the first. */
	uint8_t two[20] = {TCPOPT_SACK, 10, 0, 0, 0, 1, 0, 0, 0, 2,
			   TCPOPT_SACK, 10, 0, 0, 0, 3, 0, 0, 0, 4};
	tcp_parse_opts(two, sizeof(two), &o);
	assert_int_equal(o.nsack, 1);
	assert_int_equal(o.sack[0].start, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiation),
	    cmocka_unit_test(test_blocks_for_ooo_queue),
	    cmocka_unit_test(test_dsack),
	    cmocka_unit_test(test_scoreboard),
	    cmocka_unit_test(test_recovery_resends_holes),
	    cmocka_unit_test(test_wraparound),
	    cmocka_unit_test(test_parse_hostile_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
