/* Regressions from the review of the TCP core (r3): one test per bug
 * found, each failing before its fix. RST with payload and RFC 5961's
 * exact match, a SYN straddling RCV.NXT, a tiny peer MSS with timestamps,
 * TCP_MAXSEG after the handshake with timestamps, SND.UNA coming round to the
 * ISS after 2^32 bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

static int setup(void **state)
{
	struct th *h = th_new(NULL);
	th_passive(h, -1);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	th_free(*state);
	return 0;
}

/* RFC 5961 3.2: a RST resets only at exactly RCV.NXT. A RST carrying
 * payload that starts before RCV.NXT is acceptable (its tail is in the
 * window) but its SEG.SEQ is not RCV.NXT: a challenge ACK, not a reset.
 * (Trimming the old bytes used to move its sequence number to RCV.NXT,
 * so a blind RST with L bytes of data hit from L sequence numbers.) */
static void test_rst_with_payload_before_rcv_nxt_challenged(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	uint8_t junk[100] = {0};

	th_inject(h, TCP_RST, h->snd - 50, 0, junk, sizeof(junk));
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_none(h);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(th_stat(h, "tcp_challenge_ack"), 1);
	assert_int_equal(th_stat(h, "tcp_rst_rx"), 0);

	/* The exact one still resets, payload or not. */
	th_inject(h, TCP_RST, h->snd, 0, junk, 10);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ECONNRESET);
}

/* RFC 5961 4.2: a SYN on a synchronized connection is answered with a
 * challenge ACK and dropped whatever its sequence number, also one that
 * starts before RCV.NXT with data reaching into the window (trimming the
 * old part used to strip the SYN and deliver the data). */
static void test_straddling_syn_challenged_not_delivered(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[64];

	th_inject(h, TCP_SYN | TCP_ACK, h->snd - 5, h->rcv, "0123456789", 10);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_none(h);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(th_stat(h, "tcp_drop_syn_in_window"), 1);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(h->c->rcv_nxt, h->snd);
}

/* A peer's MSS option below the timestamp option's 12 bytes: the MSS
 * in use is the floor (48), not a subtraction wrapped round to ~64 KiB
 * that sends segments no link carries. */
static void test_tiny_peer_mss_with_timestamps(void **state)
{
	struct th *h = th_new(NULL);
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	struct th_seg s;
	uint8_t buf[200];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	h->c = tcp_conn_new(h->a);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	assert_true(s.ts);
	struct th_opts o = {
	    .mss = 5, .ws = -1, .ts = true, .tsval = 1000, .tsecr = s.tsval};
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, 65535, NULL, 0,
		      &o);
	h->snd = h->irs + 1;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_true(h->c->ts_ok);

	assert_int_equal(tcp_send(h->a, h->c, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, TCP_MIN_MSS);
	th_free(h);
}

/* TCP_MAXSEG set on an established connection limits the segment the
 * same way the value set before connect does: with timestamps, 12 of
 * its bytes are the option, so the payload is 12 bytes less. */
static void test_maxseg_after_connect_counts_timestamps(void **state)
{
	struct th *h = th_new(NULL);
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	struct th_seg s;
	uint8_t buf[1000];
	int v = 500;

	(void)state;
	memset(buf, 'y', sizeof(buf));
	h->c = tcp_conn_new(h->a);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	struct th_opts o = {
	    .mss = 1460, .ws = -1, .ts = true, .tsval = 1000, .tsecr = s.tsval};
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, 65535, NULL, 0,
		      &o);
	h->snd = h->irs + 1;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_true(h->c->ts_ok);
	assert_int_equal(
	    tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), 0);
	assert_int_equal(tcp_send(h->a, h->c, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 500 - 12);
	th_free(h);
}

/* The peer acknowledges part of the flight and closes its window (it
 * dropped the rest: a shrunk window). The retransmission timeout still
 * sends the first unacknowledged segment, beyond the window (as Linux
 * does, RFC 9293 3.8.6.1: a closed window is probed): its ACK brings the
 * window back. Sending nothing would leave only timeouts until the
 * connection is given up. */
static void test_rto_probes_shrunk_window(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	static uint8_t buf[3 * 1460];

	memset(buf, 'w', sizeof(buf));
	assert_int_equal(tcp_send(h->a, h->c, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	for (int i = 0; i < 3; i++)
		TH_EXPECT(h, &s, i == 2 ? TCP_ACK | TCP_PSH : TCP_ACK,
			  TH_ISS + 1 + 1460u * (uint32_t)i, h->snd);
	th_none(h);
	th_inject_raw(h, TCP_ACK, h->snd, TH_ISS + 1 + 1460, 0, NULL, 0, NULL);
	th_none(h);
	uint64_t t = th_now_ms(h);
	th_at_ms(h, t + h->c->rto_ms);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1 + 1460, h->snd);
	assert_int_equal(s.len, 1460);
	/* Its ACK opens the window: the rest follows. */
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1 + 2 * 1460, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1 + 2 * 1460, h->snd);
	assert_int_equal(s.len, 1460);
}

/* 2^32 bytes after the handshake SND.UNA can land on the ISS again: that
 * ACK acknowledges data only, not a SYN, so the send buffer drains to
 * nothing once everything is acknowledged. The block is moved to just
 * before the ISS (as if 2^32 - 101 bytes had gone) instead of sending
 * 4 GiB. */
static void test_snd_una_wraps_onto_iss(void **state)
{
	struct th *h = *state;
	struct tcp_conn *c = h->c;
	struct th_seg s;
	uint8_t buf[200];
	uint32_t base = TH_ISS - 100;

	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	c->snd_una = c->snd_nxt = c->snd_max = c->snd_end = base;
	c->snd_sml = c->recover = base - 1;
	c->snd_wl2 = base;
	assert_int_equal(tcp_send(h->a, c, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, base, h->snd);
	assert_int_equal(s.len, sizeof(buf));
	assert_memory_equal(s.data, buf, sizeof(buf));

	th_inject(h, TCP_ACK, h->snd, TH_ISS, NULL, 0); /* 100 bytes */
	assert_int_equal(c->sndq_len, 100);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 100, NULL, 0);
	assert_int_equal(c->snd_una, TH_ISS + 100);
	assert_int_equal(c->sndq_len, 0);
	assert_int_equal(c->sndq.count, 0);
	assert_int_equal(c->info.bytes_acked, sizeof(buf));

	/* And the next byte sent is the next byte written. */
	assert_int_equal(tcp_send(h->a, c, "z", 1, 0), 1);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 100, h->snd);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.data[0], 'z');
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_rst_with_payload_before_rcv_nxt_challenged),
	    T(test_straddling_syn_challenged_not_delivered),
	    cmocka_unit_test(test_tiny_peer_mss_with_timestamps),
	    cmocka_unit_test(test_maxseg_after_connect_counts_timestamps),
	    T(test_rto_probes_shrunk_window),
	    T(test_snd_una_wraps_onto_iss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
