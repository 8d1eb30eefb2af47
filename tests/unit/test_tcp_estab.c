/* ESTABLISHED, event by event (RFC 9293 3.10.7.4): data in and out of
 * order, overlaps and duplicates, the acceptability test, RST and SYN
 * with RFC 5961's challenge ACKs, bad ACKs, the windows (receiver SWS
 * avoidance, updates, scaling), Nagle, delayed ACKs. */
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

static void fill(uint8_t *b, uint32_t n, uint32_t from)
{
	for (uint32_t i = 0; i < n; i++)
		b[i] = (uint8_t)((from + i) * 7 + 3);
}

/* ---- data in --------------------------------------------------------- */

static void test_data_in_order_acked(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[16];

	th_data(h, "hello", 5);
	/* Quick ACKs at connection start: no delay. */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_true(tcp_poll(h->a, h->c) & EPOLLIN);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), MSG_PEEK), 5);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), -EAGAIN);
}

static void test_delayed_ack(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	h->c->quickack = 0;
	th_data(h, "a", 1);
	th_none(h);
	th_at_ms(h, 39);
	th_none(h);
	th_at_ms(h, 40); /* tcp_delack_ms */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(th_stat(h, "tcp_delayed_ack"), 1);
}

/* RFC 5681 4.2: at least every second full-sized segment. */
static void test_ack_every_second_segment(void **state)
{
	struct th *h = *state;
	uint8_t d[1460];
	struct th_seg s;

	h->c->quickack = 0;
	fill(d, sizeof(d), 0);
	th_data(h, d, 1460);
	th_none(h);
	th_data(h, d, 1460);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_data(h, d, 1460);
	th_none(h);
}

/* A reply carries the ACK: the delayed ACK never goes out alone. */
static void test_ack_piggybacked(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	h->c->quickack = 0;
	th_data(h, "ping", 4);
	assert_int_equal(tcp_send(h->a, h->c, "pong", 4, 0), 4);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 4);
	th_at_ms(h, 100);
	th_none(h);
}

static void test_ooo_dupack_then_reassembly(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[32];

	h->c->quickack = 0;
	uint32_t base = h->snd;
	th_inject(h, TCP_ACK, base + 5, h->rcv, "world", 5);
	/* RFC 5681 4.2: an immediate duplicate ACK. */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, base);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), -EAGAIN);
	th_inject(h, TCP_ACK, base, h->rcv, "hello", 5);
	/* Filling the hole: an immediate ACK of everything. */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, base + 10);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 10);
	assert_memory_equal(buf, "helloworld", 10);
}

/* Segments in any order, overlapping, duplicated: the stream comes out
 * intact (a seeded shuffle of random pieces of 4000 bytes). */
static void test_ooo_random_overlaps(void **state)
{
	struct th *h = *state;
	enum { N = 4000, PIECES = 300 };
	static uint8_t d[N], out[N + 10];
	uint64_t r = 88172645463325252ull;
	uint32_t base = h->snd;
	struct th_seg s;

	fill(d, N, 0);
	for (int i = 0; i < PIECES; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		uint32_t off = (uint32_t)(r % N);
		uint32_t len = 1 + (uint32_t)((r >> 20) % 300);
		if (off + len > N)
			len = N - off;
		th_inject(h, TCP_ACK, base + off, h->rcv, d + off, len);
	}
	/* Whatever the pieces missed, then everything again. */
	for (uint32_t off = 0; off < N; off += 1000)
		th_inject(h, TCP_ACK, base + off, h->rcv, d + off, 1000);
	while (th_out(h, &s))
		;
	assert_int_equal(h->c->rcv_nxt, base + N);
	assert_int_equal(h->c->ooo.count, 0);
	assert_int_equal(tcp_recv(h->a, h->c, out, sizeof(out), 0), N);
	assert_memory_equal(out, d, N);
}

static void test_ooo_fin_waits_for_hole(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[8];

	uint32_t base = h->snd;
	th_inject(h, TCP_ACK | TCP_FIN, base + 3, h->rcv, "def", 3);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, base);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_inject(h, TCP_ACK, base, h->rcv, "abc", 3);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, base + 7);
	assert_int_equal(h->c->state, TCP_CLOSE_WAIT);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 6);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 0);
}

static void test_old_duplicate_acked(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_data(h, "abcd", 4);
	assert_true(th_out(h, &s));
	th_inject(h, TCP_ACK, h->snd - 4, h->rcv, "abcd", 4);
	/* Entirely old: unacceptable, answered with an ACK. */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(th_stat(h, "tcp_drop_out_of_window"), 1);
	/* Partly old: the new bytes are kept. */
	th_inject(h, TCP_ACK, h->snd - 2, h->rcv, "cdef", 4);
	h->snd += 2;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->rcvq_len, 6);
}

static void test_beyond_window_dropped(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_ACK, h->snd + 70000, h->rcv, "zz", 2);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->ooo.count, 0);
	assert_int_equal(th_stat(h, "tcp_drop_out_of_window"), 1);
}

/* ---- RST and SYN (RFC 5961) ----------------------------------------- */

static void test_rst_exact_resets(void **state)
{
	struct th *h = *state;

	th_inject(h, TCP_RST, h->snd, 0, NULL, 0);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ECONNRESET);
	assert_int_equal(tcp_recv(h->a, h->c, NULL, 0, 0), -ECONNRESET);
	assert_int_equal(tcp_recv(h->a, h->c, NULL, 1, 0), 0);
	assert_int_equal(tcp_send(h->a, h->c, "x", 1, 0), -EPIPE);
}

static void test_rst_in_window_challenged(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_RST, h->snd + 100, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(th_stat(h, "tcp_challenge_ack"), 1);
}

static void test_rst_out_of_window_ignored(void **state)
{
	struct th *h = *state;

	th_inject(h, TCP_RST, h->snd + 200000, 0, NULL, 0);
	th_inject(h, TCP_RST, h->snd - 1, 0, NULL, 0);
	th_none(h);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(th_stat(h, "tcp_drop_rst_ignored"), 2);
}

static void test_syn_challenged(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_SYN, h->snd + 10, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
}

/* RFC 5961 7: challenge ACKs are limited per second and connection. */
static void test_challenge_ack_rate_limited(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	for (int i = 0; i < TCP_CHALLENGE_PER_S + 5; i++)
		th_inject(h, TCP_RST, h->snd + 1 + (uint32_t)i, 0, NULL, 0);
	int n = 0;
	while (th_out(h, &s))
		n++;
	assert_int_equal(n, TCP_CHALLENGE_PER_S);
	assert_int_equal(th_stat(h, "tcp_challenge_ack_limited"), 5);
	th_at_ms(h, 1000);
	th_inject(h, TCP_RST, h->snd + 1, 0, NULL, 0);
	assert_true(th_out(h, &s));
}

static void test_ack_beyond_snd_max(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1000, "data", 4);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->rcvq_len, 0); /* dropped, text too */
	assert_int_equal(th_stat(h, "tcp_drop_bad_ack"), 1);
}

static void test_no_ack_dropped(void **state)
{
	struct th *h = *state;

	th_inject(h, TCP_PSH, h->snd, 0, "data", 4);
	th_none(h);
	assert_int_equal(h->c->rcvq_len, 0);
}

/* ---- data out --------------------------------------------------------- */

static void test_send_and_ack(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	assert_int_equal(tcp_send(h->a, h->c, "abc", 3, 0), 3);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_memory_equal(s.data, "abc", 3);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 4, NULL, 0);
	th_none(h);
	assert_int_equal(h->c->snd_una, TH_ISS + 4);
	assert_false(timer_pending(&h->c->rtx_timer));
}

/* Segments of at most the peer's MSS, within its window. */
static void test_send_segmentation(void **state)
{
	struct th *h = *state;
	static uint8_t d[5000];
	struct th_seg s;

	fill(d, sizeof(d), 0);
	assert_int_equal(tcp_send(h->a, h->c, d, sizeof(d), 0), 5000);
	uint32_t seq = TH_ISS + 1;
	for (int i = 0; i < 3; i++) {
		TH_EXPECT(h, &s, TCP_ACK, seq, h->snd);
		assert_int_equal(s.len, 1460);
		assert_memory_equal(s.data, d + (seq - TH_ISS - 1), 1460);
		seq += 1460;
	}
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, seq, h->snd);
	assert_int_equal(s.len, 5000 - 3 * 1460);
}

static void test_send_window_limited(void **state)
{
	struct th *h = *state;
	static uint8_t d[3000];
	struct th_seg s;

	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 2000, NULL, 0, NULL);
	assert_int_equal(tcp_send(h->a, h->c, d, sizeof(d), 0), 3000);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 1460);
	/* 540 bytes fit, but that is less than half the largest window
	 * seen: held (sender SWS avoidance, RFC 9293 3.8.6.2.1). */
	th_none(h);
	th_inject_raw(h, TCP_ACK, h->snd, TH_ISS + 1461, 2000, NULL, 0, NULL);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1461, h->snd);
	assert_int_equal(s.len, 1460);
	/* The last 80 bytes follow: no short segment is unacknowledged
	 * (Nagle, Minshall's variant). */
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 2921, h->snd);
	assert_int_equal(s.len, 80);
	th_none(h);
}

/* Nagle (RFC 9293 3.7.4): a small segment waits while data is
 * unacknowledged; TCP_NODELAY lets it go. */
static void test_nagle(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	int one = 1;

	tcp_send(h->a, h->c, "a", 1, 0);
	assert_true(th_out(h, &s));
	tcp_send(h->a, h->c, "b", 1, 0);
	tcp_send(h->a, h->c, "c", 1, 0);
	th_none(h);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 2, h->snd);
	assert_int_equal(s.len, 2);
	assert_int_equal(
	    tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)),
	    0);
	tcp_send(h->a, h->c, "d", 1, 0);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 4, h->snd);
}

/* ---- receive window -------------------------------------------------- */

/* A fresh connection whose receive buffer is small from the start. */
static struct th *small_rcvbuf(void **state, int bytes)
{
	th_free(*state);
	struct th *h = th_new(NULL);
	h->rcvbuf = bytes;
	th_passive(h, -1);
	*state = h;
	return h;
}

/* The window shrinks as data waits unread, never below what was
 * offered (RFC 9293 3.8.6), and an update goes out when reading opens it
 * by enough to matter. */
static void test_window_closes_and_reopens(void **state)
{
	struct th *h = small_rcvbuf(state, 8 * 2200);
	static uint8_t d[1460], out[20000];
	struct th_seg s;

	fill(d, sizeof(d), 0);
	h->c->quickack = 100;
	uint32_t last_wnd = 65535, right = 0;
	int n = 0;
	for (; n < 20; n++) {
		th_data(h, d, 1460);
		TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
		/* The right edge never moves left. */
		assert_true(n == 0 || seq_geq(s.ack + s.wnd, right));
		right = s.ack + s.wnd;
		last_wnd = s.wnd;
		if (s.wnd < 1460)
			break;
	}
	assert_true(last_wnd < 1460);
	assert_true(n < 12);
	/* Reading it all sends a window update. */
	assert_true(tcp_recv(h->a, h->c, out, sizeof(out), 0) > 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_true(s.wnd >= 4 * 1460);
}

/* Data to a zero window is dropped, its ACK still counts. */
static void test_zero_window_drops_data(void **state)
{
	struct th *h = small_rcvbuf(state, 4 * 2200);
	static uint8_t d[1460];
	struct th_seg s;

	h->c->quickack = 100;
	for (int i = 0; i < 10 && h->c->rcv_adv != h->c->rcv_nxt; i++) {
		th_data(h, d, US_MIN(1460u, h->c->rcv_adv - h->c->rcv_nxt));
		assert_true(th_out(h, &s));
	}
	assert_int_equal(s.wnd, 0);
	uint32_t got = h->c->rcvq_len;
	th_inject(h, TCP_ACK, h->snd, h->rcv, "x", 1); /* a window probe */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(s.wnd, 0);
	assert_int_equal(h->c->rcvq_len, got);
	assert_int_equal(th_stat(h, "tcp_drop_zero_window"), 1);
}

/* A flood of 1-byte segments costs little memory: they are copied
 * together (coalesced) instead of holding one buffer each. */
static void test_tiny_segments_coalesced(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	for (int i = 0; i < 1000; i++) {
		th_data(h, "x", 1);
		while (th_out(h, &s))
			;
	}
	assert_int_equal(h->c->rcvq_len, 1000);
	assert_true(h->c->rcvq.count <= 2);
}

/* Segments smaller than the MSS cost more buffer per byte than the
 * window assumed: the queue is repacked (collapsed) and the window
 * offered is still honoured, nothing dropped. */
static void test_window_honoured_by_collapse(void **state)
{
	struct th *h = small_rcvbuf(state, 64 * 1024);
	static uint8_t d[700], want[128 * 1024], out[128 * 1024];
	struct th_seg s;
	uint32_t total = 0;

	fill(d, sizeof(d), 0);
	h->c->quickack = 255;
	for (int i = 0; i < 200; i++) {
		uint32_t wnd = h->c->rcv_adv - h->c->rcv_nxt;
		if (!wnd)
			break;
		uint32_t n = US_MIN(wnd, (uint32_t)sizeof(d));
		fill(d, n, total);
		memcpy(want + total, d, n);
		th_data(h, d, n);
		total += n;
		while (th_out(h, &s))
			;
	}
	assert_int_equal(h->c->rcv_adv, h->c->rcv_nxt); /* window closed */
	assert_int_equal(th_stat(h, "tcp_drop_rcv_mem"), 0);
	assert_true(th_stat(h, "tcp_collapsed") > 0);
	assert_true(h->c->rcvq.bytes <= h->c->rcvbuf);
	assert_int_equal(h->c->rcvq_len, total);
	assert_int_equal(tcp_recv(h->a, h->c, out, sizeof(out), 0), total);
	assert_memory_equal(out, want, total);
}

/* Out of order tiny pieces: bounded by truesize, counted when dropped. */
static void test_ooo_flood_bounded(void **state)
{
	struct th *h = small_rcvbuf(state, 32 * 1024);
	struct th_seg s;

	for (uint32_t i = 0; i < 2000; i++) {
		th_inject(h, TCP_ACK, h->snd + 2 + 2 * i, h->rcv, "y", 1);
		while (th_out(h, &s))
			;
	}
	assert_true(h->c->ooo.bytes + h->c->rcvq.bytes <= h->c->rcvbuf);
	assert_true(th_stat(h, "tcp_drop_ooo_mem") > 0 ||
		    th_stat(h, "tcp_drop_out_of_window") > 0);
	/* The connection still works. */
	th_data(h, "ok", 2);
	assert_true(th_out(h, &s));
	assert_true(seq_geq(s.ack, h->snd));
}

static void ws_setup(struct th *h)
{
	th_passive(h, 7);
}

static void test_window_scaled(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	ws_setup(h);
	th_data(h, "a", 1);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	/* Our shift is 5: the field times 32 is the window. */
	uint32_t w = (uint32_t)s.wnd << 5;
	assert_true(w > 65535 && w <= h->c->rcvbuf);
	/* B's window 100 means 100 << 7 bytes. */
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 100, NULL, 0, NULL);
	assert_int_equal(h->c->snd_wnd, 100u << 7);
	th_free(h);
}

/* Sequence numbers wrap (RFC 9293 3.4): both sides' numbers cross
 * 2^32 during the transfer; the stream and the ACKs stay right. */
static void test_sequence_wraparound(void **state)
{
	struct th *h = th_new(NULL);
	static uint8_t d[1000], out[8000];
	struct th_seg s;
	(void)state;

	h->a->tcp->isn = 0xfffff000u;
	h->irs = 0xffffff00u;
	th_passive(h, -1);
	uint32_t una = 0xfffff001u;
	for (int i = 0; i < 8; i++) {
		fill(d, sizeof(d), (uint32_t)i * 1000);
		th_data(h, d, sizeof(d));
		TH_EXPECT(h, &s, TCP_ACK, una, h->snd);
		assert_int_equal(tcp_send(h->a, h->c, d, sizeof(d), 0), 1000);
		TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, una, h->snd);
		assert_memory_equal(s.data, d, 1000);
		una += 1000;
		th_inject(h, TCP_ACK, h->snd, una, NULL, 0);
	}
	assert_true(h->snd < 0x2000u && una < 0x2000u); /* both wrapped */
	assert_int_equal(h->c->snd_una, una);
	assert_int_equal(tcp_recv(h->a, h->c, out, sizeof(out), 0), 8000);
	for (int i = 0; i < 8; i++) {
		fill(d, sizeof(d), (uint32_t)i * 1000);
		assert_memory_equal(out + i * 1000, d, 1000);
	}
	th_free(h);
}

/* Urgent data (RFC 9293 3.8.5, RFC 6093): the pointer is ignored and
 * the bytes are delivered in line, as ordinary data. */
static void test_urgent_in_line(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[8];

	th_inject(h, TCP_ACK | TCP_URG, h->snd, h->rcv, "urgent", 6);
	h->snd += 6;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "urgent", 6);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_data_in_order_acked),
	    T(test_delayed_ack),
	    T(test_ack_every_second_segment),
	    T(test_ack_piggybacked),
	    T(test_ooo_dupack_then_reassembly),
	    T(test_ooo_random_overlaps),
	    T(test_ooo_fin_waits_for_hole),
	    T(test_old_duplicate_acked),
	    T(test_beyond_window_dropped),
	    T(test_rst_exact_resets),
	    T(test_rst_in_window_challenged),
	    T(test_rst_out_of_window_ignored),
	    T(test_syn_challenged),
	    T(test_challenge_ack_rate_limited),
	    T(test_ack_beyond_snd_max),
	    T(test_no_ack_dropped),
	    T(test_send_and_ack),
	    T(test_send_segmentation),
	    T(test_send_window_limited),
	    T(test_nagle),
	    T(test_window_closes_and_reopens),
	    T(test_zero_window_drops_data),
	    T(test_tiny_segments_coalesced),
	    T(test_window_honoured_by_collapse),
	    T(test_ooo_flood_bounded),
	    cmocka_unit_test(test_window_scaled),
	    cmocka_unit_test(test_sequence_wraparound),
	    T(test_urgent_in_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
