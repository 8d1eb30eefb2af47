/* Regressions from the second review of the TCP core: one test per
 * deviation found, each failing before its fix. Keepalive refreshed only
 * by acceptable segments, rate-limited ACKs for out-of-window and PAWS
 * drops, a zero window probed by retransmissions while the peer answers,
 * connect() after a completed non-blocking connect, the name "reno", and
 * listen() re-checking bind conflicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define TCP_KEEPIDLE 4 /* <netinet/tcp.h> clashes with tcp.h */
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6
#define TCP_CONGESTION 13
#define B_TS0 7000u /* B's first TSval */

static void setint(struct th *h, int level, int name, int v)
{
	assert_int_equal(tcp_setopt(h->a, h->c, level, name, &v, sizeof(v)), 0);
}

/* 1. Keepalive (RFC 1122 4.2.3.6) counts idle time from the last
 * acceptable segment: one that fails the sequence test (here an old,
 * empty one, answered with an ACK) says nothing the peer could not have
 * sent long ago, and must not put the probe off. */
static void test_keepalive_not_refreshed_by_unacceptable(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	setint(h, SOL_SOCKET, SO_KEEPALIVE, 1);
	setint(h, IPPROTO_TCP, TCP_KEEPIDLE, 10);
	setint(h, IPPROTO_TCP, TCP_KEEPINTVL, 2);
	setint(h, IPPROTO_TCP, TCP_KEEPCNT, 3);

	th_at_ms(h, 5000);
	th_inject(h, TCP_ACK, h->snd - 1000, h->rcv, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(th_stat(h, "tcp_drop_out_of_window"), 1);
	th_at_ms(h, 9999);
	th_none(h);
	th_at_ms(h, 10000);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd); /* the probe */

	/* An acceptable segment does refresh it: the answer at 10.5 s
	 * puts the next probe at 20.5 s. */
	th_at_ms(h, 10500);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	th_none(h);
	th_at_ms(h, 20499);
	th_none(h);
	th_at_ms(h, 20500);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(th_stat(h, "tcp_keepalive_probe"), 2);
	th_free(h);
}

/* 1b. Nor by a segment that passes the sequence test but is refused
 * after it: an in-window RST or SYN only challenged (RFC 5961 3.2, 4.2),
 * an ACK of data never sent (RFC 5961 5.2). None is data or an
 * acceptable acknowledgement, what RFC 1122 4.2.3.6 counts. */
static void test_keepalive_not_refreshed_by_challenged(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	setint(h, SOL_SOCKET, SO_KEEPALIVE, 1);
	setint(h, IPPROTO_TCP, TCP_KEEPIDLE, 10);
	setint(h, IPPROTO_TCP, TCP_KEEPINTVL, 2);
	setint(h, IPPROTO_TCP, TCP_KEEPCNT, 3);

	th_at_ms(h, 5000);
	th_inject(h, TCP_RST, h->snd + 1, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_at_ms(h, 6000);
	th_inject(h, TCP_SYN, h->snd + 1, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_at_ms(h, 7000);
	th_inject(h, TCP_ACK, h->snd, h->rcv + 1000, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(th_stat(h, "tcp_challenge_ack"), 3);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_at_ms(h, 9999);
	th_none(h);
	th_at_ms(h, 10000);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd); /* the probe */
	th_free(h);
}

/* 2. The ACKs that answer out-of-window segments are rate-limited per
 * connection (one per 500 ms, as Linux's tcp_invalid_ratelimit), so two
 * stacks disagreeing on the window cannot ping-pong ACKs forever (RFC
 * 5961 10 discusses such ACK wars). The first is always sent. Segments
 * with data are answered regardless, as in Linux: they are not part of
 * an ACK loop, and their D-SACK tells the sender of a spurious
 * retransmission (RFC 2883). */
static void test_oow_ack_rate_limited(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	th_inject(h, TCP_ACK, h->snd - 1, h->rcv, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_inject(h, TCP_ACK, h->snd - 1, h->rcv, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_oow_ack_limited"), 1);
	th_at_ms(h, 499);
	th_inject(h, TCP_ACK, h->snd + 100000, h->rcv, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_oow_ack_limited"), 2);
	/* Old data: answered (with its D-SACK block) within the limit. */
	th_inject(h, TCP_ACK | TCP_PSH, h->snd - 2, h->rcv, "xx", 2);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_at_ms(h, 500);
	th_inject(h, TCP_ACK, h->snd - 1, h->rcv, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_oow_ack_limited"), 2);
	assert_int_equal(th_stat(h, "tcp_drop_out_of_window"), 5);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_free(h);
}

/* 2b. The same limit, shared, for PAWS drops (RFC 7323 5.3 R1 answers
 * them with an ACK). */
static void test_paws_ack_rate_limited(void **state)
{
	struct th *h = th_new(NULL);
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct inaddr la = inaddr_from_v4(0);
	struct th_seg s;
	(void)state;

	h->c = tcp_conn_new(h->a);
	assert_int_equal(tcp_bind(h->a, h->c, &la, h->port_a, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, h->port_b), 0);
	TH_EXPECT(h, &s, TCP_SYN, TH_ISS, 0);
	struct th_opts o = {.mss = 1460,
			    .ws = -1,
			    .ts = true,
			    .tsval = B_TS0,
			    .tsecr = s.tsval};
	th_inject_raw(h, TCP_SYN | TCP_ACK, h->irs, TH_ISS + 1, 65535, NULL, 0,
		      &o);
	h->snd = h->irs + 1;
	h->rcv = TH_ISS + 1;
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_true(h->c->ts_ok);

	struct th_opts old = {.ws = -1, .ts = true, .tsval = B_TS0 - 5};
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 65535, NULL, 0, &old);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 65535, NULL, 0, &old);
	th_none(h);
	/* An out-of-window one within the same 500 ms: also limited. */
	th_inject(h, TCP_ACK, h->snd - 1, h->rcv, NULL, 0);
	th_none(h);
	assert_int_equal(th_stat(h, "tcp_drop_paws"), 2);
	assert_int_equal(th_stat(h, "tcp_oow_ack_limited"), 2);
	th_at_ms(h, 500);
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 65535, NULL, 0, &old);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	assert_int_equal(th_stat(h, "tcp_drop_paws"), 3);
	th_free(h);
}

static void retries3(struct us_config *c)
{
	c->tcp_retries = 3;
}

/* Advance the clock in 10 ms steps until A sends something (at most
 * limit_ms); the segment in *s. */
static bool wait_seg(struct th *h, struct th_seg *s, uint64_t limit_ms)
{
	uint64_t end = th_now_ms(h) + limit_ms;
	while (th_now_ms(h) < end) {
		th_at_ms(h, th_now_ms(h) + 10);
		if (th_out(h, s))
			return true;
	}
	return false;
}

/* 3. Data in flight when the peer closes its window: the retransmission
 * timeouts resend the head of the queue beyond the window, and those are
 * the window probes (RFC 9293 3.8.6.1). As with the persist timer, a
 * peer that answers them (an ACK of nothing new, window still zero) is
 * alive and may keep the window closed as long as it likes (RFC 1122
 * 4.2.2.17, Linux's tcp_retransmit_timer); one that stops answering is
 * given up after tcp_retries unanswered timeouts. */
static void test_zero_window_rto_probes_answered(void **state)
{
	struct th *h = th_new(retries3);
	struct th_seg s;
	int err;
	(void)state;

	th_listen(h, 8);
	th_syn(h, -1);
	th_at_ms(h, 100);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	assert_int_equal(tcp_send(h->a, h->c, "data", 4, 0), 4);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	/* B takes nothing and shuts its window. */
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 0, NULL, 0, NULL);
	th_none(h);

	for (int i = 0; i < 8; i++) {
		assert_true(wait_seg(h, &s, 130000));
		assert_int_equal(s.seq, TH_ISS + 1);
		assert_int_equal(s.len, 4);
		th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 0, NULL, 0, NULL);
		assert_int_equal(h->c->state, TCP_ESTABLISHED);
	}
	assert_int_equal(th_stat(h, "tcp_timeout"), 0);

	/* B falls silent: three more unanswered, then ETIMEDOUT. */
	for (int i = 0; i < 3; i++) {
		assert_true(wait_seg(h, &s, 130000));
		assert_int_equal(s.seq, TH_ISS + 1);
	}
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_false(wait_seg(h, &s, 130000));
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ETIMEDOUT);
	assert_int_equal(th_stat(h, "tcp_timeout"), 1);
	th_free(h);
}

/* 4. The first connect() after a non-blocking connect completed reports
 * success, as Linux (the socket moves to connected); only the next one
 * says EISCONN. */
static void test_connect_after_nonblocking_connect(void **state)
{
	struct th *h = th_new(NULL);
	struct us_stack *st = h->a;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(7000),
				.sin_addr.s_addr = htonl(TH_IP_A)};
	(void)state;

	int l = us_socket(st, AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(us_bind(st, l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(us_listen(st, l, 4), 0);
	int c = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	assert_int_equal(us_connect(st, c, (struct sockaddr *)&a, sizeof(a)),
			 -1);
	assert_int_equal(errno, EINPROGRESS);
	for (int i = 0; i < 5; i++)
		us_stack_poll(st, 0);
	assert_int_equal(us_connect(st, c, (struct sockaddr *)&a, sizeof(a)),
			 0);
	assert_int_equal(us_connect(st, c, (struct sockaddr *)&a, sizeof(a)),
			 -1);
	assert_int_equal(errno, EISCONN);
	us_close(st, c);
	us_close(st, l);
	th_free(h);
}

/* 4b. A non-blocking connect refused, its error already read with
 * SO_ERROR: the next connect() says ECONNABORTED, as Linux (not a fresh
 * attempt); the one after starts again. */
static void test_connect_after_refused_error_read(void **state)
{
	struct th *h = th_new(NULL);
	struct us_stack *st = h->a;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(7001), /* nobody listens */
				.sin_addr.s_addr = htonl(TH_IP_A)};
	int err = 0;
	socklen_t len = sizeof(err);
	(void)state;

	int c = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	assert_int_equal(us_connect(st, c, (struct sockaddr *)&a, sizeof(a)),
			 -1);
	assert_int_equal(errno, EINPROGRESS);
	for (int i = 0; i < 5; i++)
		us_stack_poll(st, 0);
	assert_int_equal(us_getsockopt(st, c, SOL_SOCKET, SO_ERROR, &err, &len),
			 0);
	assert_int_equal(err, ECONNREFUSED);
	assert_int_equal(us_connect(st, c, (struct sockaddr *)&a, sizeof(a)),
			 -1);
	assert_int_equal(errno, ECONNABORTED);
	assert_int_equal(us_connect(st, c, (struct sockaddr *)&a, sizeof(a)),
			 -1);
	assert_int_equal(errno, EINPROGRESS);
	us_close(st, c);
	th_free(h);
}

/* 5. TCP_CONGESTION "reno" reads back "reno", Linux's name; "newreno"
 * is kept as an alias. */
static void test_congestion_reno_name(void **state)
{
	struct th *h = th_new(NULL);
	char name[16];
	socklen_t len = sizeof(name);
	(void)state;

	h->c = tcp_conn_new(h->a);
	assert_int_equal(
	    tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0);
	assert_int_equal(
	    tcp_getopt(h->a, h->c, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "reno");
	assert_int_equal(
	    tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), 0);
	assert_int_equal(
	    tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_CONGESTION, "newreno", 7),
	    0);
	len = sizeof(name);
	assert_int_equal(
	    tcp_getopt(h->a, h->c, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "reno");
	assert_ptr_equal(h->c->cc, &tcp_newreno);
	th_free(h);
}

/* 6. listen() checks the port again, as Linux's inet_csk_listen_start:
 * SO_REUSEADDR lets blocks share a port only while neither listens, so
 * of a specific-address and a wildcard block both bound with it, only
 * the first to listen may; in either order. */
static void listen_pair(bool specific_first)
{
	struct th *h = th_new(NULL);
	struct inaddr any = inaddr_from_v4(0);
	struct inaddr me = inaddr_from_v4(htonl(TH_IP_A));
	struct tcp_conn *x = tcp_conn_new(h->a), *y = tcp_conn_new(h->a);

	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(
	    tcp_bind(h->a, x, specific_first ? &me : &any, 8080, true), 0);
	assert_int_equal(
	    tcp_bind(h->a, y, specific_first ? &any : &me, 8080, true), 0);
	assert_int_equal(tcp_listen(h->a, x, 4), 0);
	assert_int_equal(tcp_listen(h->a, y, 4), -EADDRINUSE);
	assert_int_equal(y->state, TCP_CLOSED);
	tcp_close(h->a, y, true);
	tcp_close(h->a, x, false);
	th_free(h);
}

static void test_listen_rechecks_bind_conflict(void **state)
{
	(void)state;
	listen_pair(true);
	listen_pair(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keepalive_not_refreshed_by_unacceptable),
	    cmocka_unit_test(test_keepalive_not_refreshed_by_challenged),
	    cmocka_unit_test(test_oow_ack_rate_limited),
	    cmocka_unit_test(test_paws_ack_rate_limited),
	    cmocka_unit_test(test_zero_window_rto_probes_answered),
	    cmocka_unit_test(test_connect_after_nonblocking_connect),
	    cmocka_unit_test(test_connect_after_refused_error_read),
	    cmocka_unit_test(test_congestion_reno_name),
	    cmocka_unit_test(test_listen_rechecks_bind_conflict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
