/* Closing, event by event (RFC 9293 3.6, 3.10.4, 3.10.7.4): FIN-WAIT-1,
 * FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT; half-close,
 * simultaneous close, abortive close, data after close. */
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

/* A closes (the user lets go): FIN-WAIT-1, the FIN checked. */
static void a_closes(struct th *h)
{
	struct th_seg s;

	tcp_close(h->a, h->c, false);
	h->c = NULL;
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(th_find(h)->state, TCP_FIN_WAIT_1);
}

static enum tcp_state state_of(struct th *h)
{
	struct tcp_conn *c = th_find(h);
	return c ? c->state : TCP_CLOSED;
}

static void test_active_close_full(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	th_none(h);
	assert_int_equal(state_of(h), TCP_FIN_WAIT_2);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(state_of(h), TCP_TIME_WAIT);
	/* 2 * MSL = 60 s by default. */
	th_at_ms(h, 59999);
	assert_int_equal(state_of(h), TCP_TIME_WAIT);
	th_at_ms(h, 60000);
	assert_null(th_find(h));
	th_none(h);
}

/* FIN and ACK of our FIN in one segment: FIN-WAIT-1 -> TIME-WAIT. */
static void test_finwait1_finack(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(state_of(h), TCP_TIME_WAIT);
}

/* Simultaneous close (RFC 9293 3.6 figure 13): the FINs cross. */
static void test_simultaneous_close(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 1, NULL, 0);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(state_of(h), TCP_CLOSING);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	th_none(h);
	assert_int_equal(state_of(h), TCP_TIME_WAIT);
}

static void test_finwait1_data_still_received(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	tcp_shutdown(h->a, h->c, SHUT_WR);
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
	th_data(h, "more", 4);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(h->c->state, TCP_FIN_WAIT_1);
	assert_int_equal(h->c->rcvq_len, 4);
}

/* Half-close (shutdown SHUT_WR): the user still reads what comes. */
static void test_half_close(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[16];

	assert_int_equal(tcp_shutdown(h->a, h->c, SHUT_WR), 0);
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(tcp_send(h->a, h->c, "x", 1, 0), -EPIPE);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	assert_int_equal(h->c->state, TCP_FIN_WAIT_2);
	th_data(h, "reply", 5);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 5);
	/* No FIN_WAIT_2 timeout while the user holds the connection. */
	th_at_ms(h, 120000);
	assert_int_equal(h->c->state, TCP_FIN_WAIT_2);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(h->c->state, TCP_TIME_WAIT);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 0);
}

/* The peer closes first: CLOSE-WAIT, A may still send, then LAST-ACK. */
static void test_passive_close(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[4];

	th_inject(h, TCP_FIN | TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(h->c->state, TCP_CLOSE_WAIT);
	assert_true(tcp_poll(h->a, h->c) & EPOLLRDHUP);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 0);
	assert_int_equal(tcp_send(h->a, h->c, "bye", 3, 0), 3);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	tcp_close(h->a, h->c, false);
	h->c = NULL;
	/* The FIN comes after the data (which is still unacknowledged). */
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 4, h->snd);
	assert_int_equal(state_of(h), TCP_LAST_ACK);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 5, NULL, 0);
	th_none(h);
	assert_null(th_find(h)); /* CLOSED: the block is gone */
}

static void test_last_ack_rst(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_FIN | TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->snd++;
	assert_true(th_out(h, &s));
	tcp_close(h->a, h->c, false);
	h->c = NULL;
	assert_true(th_out(h, &s));
	th_inject(h, TCP_RST, h->snd, 0, NULL, 0);
	assert_null(th_find(h));
}

static void test_close_wait_data_after_fin_ignored(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_FIN | TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->snd++;
	assert_true(th_out(h, &s));
	/* Data beyond the FIN is not acceptable (the window ended there)
	 * or ignored. */
	th_data(h, "late", 4);
	assert_true(th_out(h, &s));
	assert_int_equal(s.ack, h->snd - 4);
	assert_int_equal(h->c->rcvq_len, 0);
}

/* SO_LINGER 0: RST, and the block is gone (RFC 9293 3.10.5 ABORT). */
static void test_abortive_close(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	tcp_close(h->a, h->c, true);
	h->c = NULL;
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, TH_ISS + 1, h->snd);
	assert_null(th_find(h));
	assert_int_equal(th_stat(h, "tcp_abort_on_close"), 1);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 1, NULL, 0);
	TH_EXPECT(h, &s, TCP_RST, TH_ISS + 1, 0); /* now a closed port */
}

/* RFC 2525 2.17: closing with unread data resets. */
static void test_close_unread_data_resets(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_data(h, "unread", 6);
	assert_true(th_out(h, &s));
	tcp_close(h->a, h->c, false);
	h->c = NULL;
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, TH_ISS + 1, h->snd);
	assert_null(th_find(h));
}

/* A closed socket gets data: it cannot be delivered, RST. */
static void test_orphan_data_resets(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	assert_int_equal(state_of(h), TCP_FIN_WAIT_2);
	th_data(h, "hey", 3);
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, TH_ISS + 2, h->snd - 3);
	assert_null(th_find(h));
	assert_int_equal(th_stat(h, "tcp_abort_on_data"), 1);
}

/* A closed socket does not wait forever for the peer's FIN. */
static void test_orphan_finwait2_timeout(void **state)
{
	struct th *h = *state;

	a_closes(h);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	assert_int_equal(state_of(h), TCP_FIN_WAIT_2);
	th_at_ms(h, 59999);
	assert_int_equal(state_of(h), TCP_FIN_WAIT_2);
	th_at_ms(h, 60000);
	assert_null(th_find(h));
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_fin_wait2_timeout"), 1);
}

/* TIME-WAIT: a retransmitted FIN is acknowledged and restarts 2 MSL. */
static void test_timewait_fin_restarts(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	assert_true(th_out(h, &s));
	th_at_ms(h, 30000);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd + 1);
	th_at_ms(h, 60000);
	assert_int_equal(state_of(h), TCP_TIME_WAIT);
	th_at_ms(h, 90000);
	assert_null(th_find(h));
}

static void test_timewait_rst_closes(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	h->snd++;
	assert_true(th_out(h, &s));
	th_inject(h, TCP_RST, h->snd, 0, NULL, 0);
	assert_null(th_find(h));
}

static void short_msl(struct us_config *c)
{
	c->tcp_msl_ms = 500;
}

static void test_timewait_msl_configurable(void **state)
{
	struct th *h = th_new(short_msl);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	a_closes(h);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	assert_true(th_out(h, &s));
	th_at_ms(h, 999);
	assert_int_equal(state_of(h), TCP_TIME_WAIT);
	th_at_ms(h, 1000);
	assert_null(th_find(h));
	th_free(h);
}

/* The FIN is retransmitted like data. */
static void test_fin_retransmitted(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	a_closes(h);
	th_at_ms(h, 200); /* the RTO (minimum 200 ms; the SYN's RTT was 0) */
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
	th_at_ms(h, 600); /* backed off: 400 ms more */
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
}

/* shutdown(SHUT_WR) before the handshake ends: the FIN follows it. */
static void test_shutdown_in_synsent(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_connect(h);
	assert_int_equal(tcp_shutdown(h->a, h->c, SHUT_WR), 0);
	th_none(h);
	th_inject(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, NULL, 0);
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->irs + 1);
	assert_int_equal(h->c->state, TCP_FIN_WAIT_1);
	th_free(h);
}

static void test_listener_close_resets_queued(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_listen(h, 8);
	th_syn(h, -1);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	tcp_close(h->a, h->l, false);
	h->l = NULL;
	/* The accepted-but-not-yet-accepted connection is reset. */
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, TH_ISS + 1, h->snd);
	assert_null(th_find(h));
	th_inject(h, TCP_SYN, h->irs, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, 0, h->irs + 1);
	th_free(h);
}

/* ---- every closing state against RST, SYN, out-of-window data ------- */

/* Drive h->c (still held by the user, so it can be inspected) into st. */
static void drive(struct th *h, enum tcp_state st)
{
	struct th_seg s;
	bool a_fin = st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2 ||
		     st == TCP_CLOSING || st == TCP_TIME_WAIT;
	bool b_fin = st == TCP_CLOSE_WAIT || st == TCP_CLOSING ||
		     st == TCP_LAST_ACK || st == TCP_TIME_WAIT;

	if (a_fin) {
		tcp_shutdown(h->a, h->c, SHUT_WR);
		assert_true(th_out(h, &s));
		if (st == TCP_FIN_WAIT_2 || st == TCP_TIME_WAIT)
			th_inject(h, TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	}
	if (b_fin) {
		th_inject(h, TCP_FIN | TCP_ACK, h->snd, h->c->snd_una, NULL, 0);
		h->snd++;
		assert_true(th_out(h, &s));
	}
	if (st == TCP_LAST_ACK) {
		tcp_shutdown(h->a, h->c, SHUT_WR);
		assert_true(th_out(h, &s));
	}
	assert_int_equal(h->c->state, st);
}

static const enum tcp_state closing_states[] = {
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT,
	TCP_CLOSING,    TCP_LAST_ACK,   TCP_TIME_WAIT,
};

static struct th *in_state(enum tcp_state st)
{
	struct th *h = th_new(NULL);
	th_passive(h, -1);
	drive(h, st);
	return h;
}

/* RFC 9293 3.10.7.4 second, RFC 5961 3.2: an exact RST closes (reset
 * reported where the user can still lose data), an in-window one gets a
 * challenge ACK and changes nothing. */
static void test_closing_states_rst(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		struct th_seg s;

		th_inject(h, TCP_RST, h->snd + 10, 0, NULL, 0);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max, h->snd);
		assert_int_equal(h->c->state, st);
		th_inject(h, TCP_RST, h->snd, 0, NULL, 0);
		th_none(h);
		assert_int_equal(h->c->state, TCP_CLOSED);
		int want = st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2 ||
					   st == TCP_CLOSE_WAIT
				   ? ECONNRESET
				   : 0;
		assert_int_equal(tcp_error(h->c, true), want);
		th_free(h);
	}
}

/* RFC 5961 4.2: a SYN in any synchronized state is challenged. */
static void test_closing_states_syn(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		struct th_seg s;

		/* In TIME_WAIT a SYN beyond RCV.NXT with no listener (the
		 * harness's listener is closed) is challenged too. */
		tcp_close(h->a, h->l, false);
		h->l = NULL;
		th_inject(h, TCP_SYN, h->snd + 5, 0, NULL, 0);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max, h->snd);
		assert_int_equal(h->c->state, st);
		th_free(h);
	}
}

/* RFC 9293 3.10.7.4 first: an unacceptable segment is answered with an
 * ACK and dropped; the state does not change. */
static void test_closing_states_out_of_window(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		struct th_seg s;

		th_inject(h, TCP_ACK, h->snd + 100000, h->c->snd_una, "x", 1);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max, h->snd);
		assert_int_equal(h->c->state, st);
		th_inject(h, TCP_ACK, h->snd - 3, h->c->snd_una, "old", 3);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max, h->snd);
		assert_int_equal(h->c->state, st);
		th_free(h);
	}
}

/* RFC 9293 3.10.7.4 eighth: a FIN in each closing state. The peer's
 * first FIN moves FIN-WAIT-1 to CLOSING and FIN-WAIT-2 to TIME-WAIT; in
 * the states that already took one, the FIN is a retransmission (its
 * sequence number is behind RCV.NXT): it is answered with an ACK (first,
 * "unacceptable segment") and changes nothing. */
static void test_closing_states_fin(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		struct th_seg s;
		bool first = st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2;
		uint32_t seq = first ? h->snd : h->snd - 1;
		enum tcp_state want = st == TCP_FIN_WAIT_1   ? TCP_CLOSING
				      : st == TCP_FIN_WAIT_2 ? TCP_TIME_WAIT
							     : st;

		/* Acknowledging no more than the peer already did. */
		uint32_t ack =
		    st == TCP_FIN_WAIT_1 ? TH_ISS + 1 : h->c->snd_una;
		th_inject(h, TCP_FIN | TCP_ACK, seq, ack, NULL, 0);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max,
			  first ? h->snd + 1 : h->snd);
		th_none(h);
		assert_int_equal(h->c->state, want);
		th_free(h);
	}
}

/* RFC 9293 3.10.7.4 fifth: "if the ACK bit is off, drop the segment":
 * silently, in every closing state. Without SYN, RST or ACK no state
 * takes a segment, so these go at the door (tcp_drop_bad_flags) without
 * touching the connection. */
static void test_closing_states_no_ack(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		uint64_t before = th_stat(h, "tcp_drop_bad_flags");
		uint32_t rcv_nxt = h->c->rcv_nxt;

		th_inject(h, TCP_PSH, h->snd, 0, "data", 4);
		th_inject(h, TCP_FIN, h->snd, 0, NULL, 0);
		th_none(h);
		assert_int_equal(h->c->state, st);
		assert_int_equal(h->c->rcv_nxt, rcv_nxt);
		assert_int_equal(th_stat(h, "tcp_drop_bad_flags") - before, 2);
		th_free(h);
	}
}

/* RFC 9293 3.10.7.4 fifth, RFC 5961 5.2: an ACK of something not yet
 * sent is dropped and answered with a (rate-limited) ACK; it must not
 * complete a close either (a LAST-ACK or CLOSING block stays). */
static void test_closing_states_bad_ack(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		struct th_seg s;

		th_inject(h, TCP_ACK, h->snd, h->c->snd_max + 1000, NULL, 0);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max, h->snd);
		th_none(h);
		assert_int_equal(h->c->state, st);
		assert_int_equal(th_stat(h, "tcp_drop_bad_ack"), 1);
		th_free(h);
	}
}

/* RFC 9293 3.10.7.4 seventh: text is taken in FIN-WAIT-1 and FIN-WAIT-2
 * (the peer may still send: half-close); after the peer's FIN (CLOSE-WAIT,
 * CLOSING, LAST-ACK, TIME-WAIT) it is ignored, counted, and acknowledged
 * with what RCV.NXT already says. */
static void test_closing_states_data(void **state)
{
	(void)state;
	for (size_t i = 0; i < US_ARRAY_SIZE(closing_states); i++) {
		enum tcp_state st = closing_states[i];
		struct th *h = in_state(st);
		struct th_seg s;
		bool open = st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2;
		uint32_t rcvq = h->c->rcvq_len;

		th_inject(h, TCP_ACK | TCP_PSH, h->snd, h->c->snd_una, "late",
			  4);
		TH_EXPECT(h, &s, TCP_ACK, h->c->snd_max,
			  open ? h->snd + 4 : h->snd);
		th_none(h);
		assert_int_equal(h->c->state, st);
		assert_int_equal(h->c->rcvq_len, rcvq + (open ? 4 : 0));
		assert_int_equal(th_stat(h, "tcp_drop_after_fin"),
				 open ? 0 : 1);
		th_free(h);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_active_close_full),
	    T(test_finwait1_finack),
	    T(test_simultaneous_close),
	    T(test_finwait1_data_still_received),
	    T(test_half_close),
	    T(test_passive_close),
	    T(test_last_ack_rst),
	    T(test_close_wait_data_after_fin_ignored),
	    T(test_abortive_close),
	    T(test_close_unread_data_resets),
	    T(test_orphan_data_resets),
	    T(test_orphan_finwait2_timeout),
	    T(test_timewait_fin_restarts),
	    T(test_timewait_rst_closes),
	    cmocka_unit_test(test_timewait_msl_configurable),
	    T(test_fin_retransmitted),
	    cmocka_unit_test(test_shutdown_in_synsent),
	    cmocka_unit_test(test_listener_close_resets_queued),
	    cmocka_unit_test(test_closing_states_rst),
	    cmocka_unit_test(test_closing_states_syn),
	    cmocka_unit_test(test_closing_states_out_of_window),
	    cmocka_unit_test(test_closing_states_fin),
	    cmocka_unit_test(test_closing_states_no_ack),
	    cmocka_unit_test(test_closing_states_bad_ack),
	    cmocka_unit_test(test_closing_states_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
