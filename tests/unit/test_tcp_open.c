/* TCP opening, event by event (RFC 9293 3.10.7.1-3.10.7.4): CLOSED,
 * LISTEN, SYN-SENT, SYN-RECEIVED, and a SYN meeting TIME-WAIT. Each test
 * puts a connection in a state, feeds one segment and asserts the exact
 * answer (or silence) and the state after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

static int setup(void **state)
{
	*state = th_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	th_free(*state);
	return 0;
}

/* ---- CLOSED (RFC 9293 3.10.7.1) ----------------------------------- */

static void test_closed_syn_gets_rst_ack(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_SYN, 1000, 0, NULL, 0);
	/* No ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, 0, 1001);
	assert_int_equal(s.sport, TH_PORT_A);
	assert_int_equal(s.dport, TH_PORT_B);
	assert_int_equal(th_stat(h, "tcp_drop_no_conn"), 1);
	th_none(h);
}

static void test_closed_ack_gets_rst(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_inject(h, TCP_ACK, 1000, 777, "xy", 2);
	/* ACK bit: <SEQ=SEG.ACK><CTL=RST>. */
	TH_EXPECT(h, &s, TCP_RST, 777, 0);
	th_none(h);
}

static void test_closed_rst_is_silent(void **state)
{
	struct th *h = *state;

	th_inject(h, TCP_RST | TCP_ACK, 1000, 5, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_drop_no_conn"), 1);
}

static void test_bad_flags_silent(void **state)
{
	struct th *h = *state;

	th_listen(h, 8);
	th_inject(h, TCP_SYN | TCP_FIN, 1000, 0, NULL, 0);
	th_inject(h, TCP_SYN | TCP_RST, 1000, 0, NULL, 0);
	th_inject(h, TCP_FIN | TCP_PSH | TCP_URG, 1000, 0, NULL, 0); /* xmas */
	th_inject(h, 0, 1000, 0, NULL, 0);			     /* null */
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_drop_bad_flags"), 4);
	assert_null(th_find(h));
}

static void test_bad_csum_and_offset(void **state)
{
	struct th *h = *state;
	struct th_opts bad = {.ws = -1, .bad_csum = true};
	struct th_opts off4 = {.ws = -1, .doff = 4};
	struct th_opts off15 = {.ws = -1, .doff = 15};

	th_listen(h, 8);
	th_inject_raw(h, TCP_SYN, 1, 0, 100, NULL, 0, &bad);
	th_inject_raw(h, TCP_SYN, 1, 0, 100, NULL, 0, &off4);
	th_inject_raw(h, TCP_SYN, 1, 0, 100, "abc", 3, &off15);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_drop_csum"), 1);
	assert_int_equal(th_stat(h, "tcp_drop_bad_off"), 2);
}

/* ---- LISTEN (RFC 9293 3.10.7.2) ------------------------------------ */

static void test_listen_syn_gets_synack(void **state)
{
	struct th *h = *state;
	struct th_opts o = {.mss = 1400, .ws = -1};
	struct th_seg s;

	th_listen(h, 8);
	th_inject_raw(h, TCP_SYN, h->irs, 0, 8192, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	/* MSS from the MTU; no window scale since B offered none (RFC 7323
	 * 1.3); the window of a SYN is not scaled. */
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.ws, -1);
	assert_int_equal(s.wnd, 65535);
	th_none(h);
	struct tcp_conn *c = th_find(h);
	assert_non_null(c);
	assert_int_equal(c->state, TCP_SYN_RECEIVED);
	assert_int_equal(c->peer_mss, 1400);
}

static void test_listen_syn_with_ws(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_listen(h, 8);
	struct th_opts o = {.mss = 1460, .ws = 7};
	th_inject_raw(h, TCP_SYN, h->irs, 0, 8192, NULL, 0, &o);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	/* 1 MiB of buffer needs a shift of 5 (65535 << 5 >= 2^20). */
	assert_int_equal(s.ws, 5);
	th_inject(h, TCP_ACK, h->irs + 1, TH_ISS + 1, NULL, 0);
	struct tcp_conn *c = th_find(h);
	assert_int_equal(c->state, TCP_ESTABLISHED);
	assert_int_equal(c->snd_wnd, 65535u << 7);
}

static void test_listen_ack_gets_rst(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_listen(h, 8);
	th_inject(h, TCP_ACK, 1000, 4242, NULL, 0);
	TH_EXPECT(h, &s, TCP_RST, 4242, 0);
	th_none(h);
	assert_null(th_find(h));
}

static void test_listen_rst_ignored(void **state)
{
	struct th *h = *state;

	th_listen(h, 8);
	th_inject(h, TCP_RST, 1000, 0, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_drop_listen"), 1);
}

static void small_synq(struct us_config *c)
{
	c->tcp_max_syn_backlog = 2;
}

static void test_listen_syn_queue_full(void **state)
{
	struct th *h = th_new(small_synq);
	struct th_seg s;
	(void)state;

	th_listen(h, 8);
	for (int i = 0; i < 3; i++) {
		h->port_b = (uint16_t)(TH_PORT_B + i);
		th_inject(h, TCP_SYN, 1000, 0, NULL, 0);
	}
	assert_true(th_out(h, &s));
	assert_true(th_out(h, &s));
	/* The third SYN finds the queue full: a SYN cookie answers it
	 * (RFC 4987, tests in test_tcp_cookie.c) and no state is kept. */
	assert_true(th_out(h, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(s.ack, 1001);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_syncookie_sent"), 1);
	assert_int_equal(h->l->synq.n, 2);
	th_free(h);
}

/* backlog 0: one connection may wait (Linux: the queue is full when it
 * holds more than backlog). */
static void test_listen_accept_queue_full(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	int err;

	th_listen(h, 0);
	th_syn(h, -1);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	assert_int_equal(h->l->accq.n, 1);
	/* A second client: its SYN finds the accept queue full. */
	h->port_b++;
	th_inject(h, TCP_SYN, h->irs, 0, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_drop_accept_queue_full"), 1);
	/* Accepting makes room. */
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	th_inject(h, TCP_SYN, h->irs, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_null(tcp_accept(h->a, h->l, &err));
	assert_int_equal(err, -EAGAIN);
}

/* The handshake's ACK finds the accept queue full: dropped, the child
 * stays in SYN-RECEIVED and completes when the ACK comes again. */
static void test_synrcvd_ack_accept_queue_full(void **state)
{
	struct th *h = *state;
	int err;

	th_listen(h, 0);
	th_syn(h, -1);
	uint16_t first = h->port_b;
	h->port_b++;
	th_syn(h, -1);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0); /* second completes */
	h->port_b = first;
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	assert_int_equal(th_stat(h, "tcp_drop_accept_queue_full"), 1);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	h->c = tcp_accept(h->a, h->l, &err);
	tcp_close(h->a, h->c, true);
	h->c = NULL;
	struct th_seg s;
	assert_true(th_out(h, &s)); /* the RST of the abort */
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	assert_int_equal(th_find(h)->state, TCP_ESTABLISHED);
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ----------------------------------- */

static void test_synsent_synack_establishes(void **state)
{
	struct th *h = *state;
	struct th_opts o = {.mss = 1200, .ws = 2};
	struct th_seg s;

	th_connect(h);
	th_at_ms(h, 10);
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, 1000, NULL, 0,
		      &o);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 1);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(h->c->mss, 1200);
	assert_int_equal(h->c->snd_wnd, 1000); /* a SYN's window: unscaled */
	assert_true(h->c->ws_ok);
	assert_int_equal(h->c->srtt_us, 10000); /* the SYN's RTT */
	assert_true(tcp_poll(h->a, h->c) & EPOLLOUT);
}

static void test_synsent_rst_refused(void **state)
{
	struct th *h = *state;

	th_connect(h);
	th_inject(h, TCP_RST | TCP_ACK, 0, TH_ISS + 1, NULL, 0);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, true), ECONNREFUSED);
}

static void test_synsent_rst_bad_ack_ignored(void **state)
{
	struct th *h = *state;

	th_connect(h);
	th_inject(h, TCP_RST | TCP_ACK, 0, TH_ISS + 7, NULL, 0);
	th_inject(h, TCP_RST, 0, 0, NULL, 0); /* no ACK: ignored too */
	th_none(h);
	assert_int_equal(h->c->state, TCP_SYN_SENT);
}

static void test_synsent_bad_ack_gets_rst(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_connect(h);
	th_inject(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 9, NULL, 0);
	TH_EXPECT(h, &s, TCP_RST, TH_ISS + 9, 0);
	th_inject(h, TCP_ACK, h->irs, TH_ISS, NULL, 0); /* ACK of ISS: old */
	TH_EXPECT(h, &s, TCP_RST, TH_ISS, 0);
	th_none(h);
	assert_int_equal(h->c->state, TCP_SYN_SENT);
}

static void test_synsent_no_syn_dropped(void **state)
{
	struct th *h = *state;

	th_connect(h);
	th_inject(h, TCP_ACK, h->irs, TH_ISS + 1, "x", 1);
	th_none(h);
	assert_int_equal(h->c->state, TCP_SYN_SENT);
	assert_int_equal(th_stat(h, "tcp_drop_syn_sent"), 1);
}

/* RFC 9293 3.5 figure 8: both sides send a SYN. */
static void test_simultaneous_open(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_connect(h);
	th_inject(h, TCP_SYN, h->irs, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	assert_int_equal(h->c->state, TCP_SYN_RECEIVED);
	/* B's SYN-ACK (its answer to our SYN) completes it. */
	th_inject(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, NULL, 0);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_none(h);
}

static void test_synsent_data_with_synack(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[8];

	th_connect(h);
	th_inject(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, "hello", 5);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 6);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
}

/* ---- SYN-RECEIVED ---------------------------------------------------- */

static void test_synrcvd_bad_ack_gets_rst(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_listen(h, 8);
	th_syn(h, -1);
	th_inject(h, TCP_ACK, h->snd, TH_ISS + 5, NULL, 0);
	TH_EXPECT(h, &s, TCP_RST, TH_ISS + 5, 0);
	th_none(h);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	assert_int_equal(th_stat(h, "tcp_drop_bad_ack"), 1);
}

static void test_synrcvd_rst_drops_embryo(void **state)
{
	struct th *h = *state;
	int err;

	th_listen(h, 8);
	th_syn(h, -1);
	th_inject(h, TCP_RST, h->snd, 0, NULL, 0);
	th_none(h);
	assert_null(th_find(h));
	assert_null(tcp_accept(h->a, h->l, &err));
	assert_int_equal(h->l->synq.n, 0);
	assert_int_equal(h->l->state, TCP_LISTEN);
}

static void test_synrcvd_dup_syn_resends_synack(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	th_listen(h, 8);
	th_syn(h, -1);
	th_inject(h, TCP_SYN, h->irs, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_SYN | TCP_ACK, TH_ISS, h->irs + 1);
	th_none(h);
}

static void test_synrcvd_data_with_ack(void **state)
{
	struct th *h = *state;
	struct th_seg s;
	char buf[8];
	int err;

	th_listen(h, 8);
	th_syn(h, -1);
	th_data(h, "abc", 3); /* the handshake's ACK carries data */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 4);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 3);
}

/* ---- TIME-WAIT and a new SYN (RFC 9293 3.10.7.4, RFC 6191) ------------ */

/* A passive connection that A closed first: A ends in TIME-WAIT. */
static void to_timewait(struct th *h)
{
	struct th_seg s;

	th_passive(h, -1);
	tcp_close(h->a, h->c, false);
	h->c = NULL;
	TH_EXPECT(h, &s, TCP_FIN | TCP_ACK, TH_ISS + 1, h->snd);
	th_inject(h, TCP_FIN | TCP_ACK, h->snd, TH_ISS + 2, NULL, 0);
	h->snd++;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(th_find(h)->state, TCP_TIME_WAIT);
}

static void test_timewait_new_syn_higher_seq(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	to_timewait(h);
	h->a->tcp->isn_fixed = false; /* the floor decides */
	th_inject(h, TCP_SYN, h->snd + 100000, 0, NULL, 0);
	assert_true(th_out(h, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(s.ack, h->snd + 100001);
	/* RFC 1122 4.2.2.13: the new ISN is beyond the old sequence space. */
	assert_true(seq_gt(s.seq, TH_ISS + 2));
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	assert_int_equal(th_stat(h, "tcp_timewait_reuse"), 1);
}

static void test_timewait_old_syn_challenged(void **state)
{
	struct th *h = *state;
	struct th_seg s;

	to_timewait(h);
	th_inject(h, TCP_SYN, h->snd - 50, 0, NULL, 0);
	/* Not beyond RCV.NXT: the old connection answers with an ACK. */
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 2, h->snd);
	assert_int_equal(th_find(h)->state, TCP_TIME_WAIT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_closed_syn_gets_rst_ack),
	    T(test_closed_ack_gets_rst),
	    T(test_closed_rst_is_silent),
	    T(test_bad_flags_silent),
	    T(test_bad_csum_and_offset),
	    T(test_listen_syn_gets_synack),
	    T(test_listen_syn_with_ws),
	    T(test_listen_ack_gets_rst),
	    T(test_listen_rst_ignored),
	    cmocka_unit_test(test_listen_syn_queue_full),
	    T(test_listen_accept_queue_full),
	    T(test_synrcvd_ack_accept_queue_full),
	    T(test_synsent_synack_establishes),
	    T(test_synsent_rst_refused),
	    T(test_synsent_rst_bad_ack_ignored),
	    T(test_synsent_bad_ack_gets_rst),
	    T(test_synsent_no_syn_dropped),
	    T(test_simultaneous_open),
	    T(test_synsent_data_with_synack),
	    T(test_synrcvd_bad_ack_gets_rst),
	    T(test_synrcvd_rst_drops_embryo),
	    T(test_synrcvd_dup_syn_resends_synack),
	    T(test_synrcvd_data_with_ack),
	    T(test_timewait_new_syn_higher_seq),
	    T(test_timewait_old_syn_challenged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
