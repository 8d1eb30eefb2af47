/* The persist timer against a peer that closes its window (RFC 9293
 * 3.8.6.1, RFC 1122 4.2.2.17): probes at RTO intervals backing off, for as
 * long as the peer answers them; a peer that stops answering is given up
 * after as many unanswered probes as retransmissions (tcp_retries), with
 * the socket held by its user (ETIMEDOUT) or already closed (the block is
 * freed). Without that bound a peer could keep any connection, and its
 * buffers, forever: announce a zero window, then go silent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

static void retries3(struct us_config *c)
{
	c->tcp_retries = 3;
}

/* Connection with a 100 ms handshake RTT (RTO 300 ms); B's window is
 * zero and A has 4 bytes waiting. */
static struct th *zero_window(void)
{
	struct th *h = th_new(retries3);
	int err;

	th_listen(h, 8);
	th_syn(h, -1);
	th_at_ms(h, 100);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 0, NULL, 0, NULL);
	assert_int_equal(tcp_send(h->a, h->c, "data", 4, 0), 4);
	th_none(h);
	return h;
}

/* Probes at 300, 600, 1200 ms intervals; none answered: after the third
 * goes unanswered (at 4200 ms after the first wait began), ETIMEDOUT. */
static void test_unanswered_probes_give_up(void **state)
{
	struct th *h = zero_window();
	struct th_seg s;
	(void)state;

	uint64_t t = th_now_ms(h);
	uint64_t iv[] = {300, 600, 1200};
	for (int i = 0; i < 3; i++) {
		t += iv[i];
		th_at_ms(h, t);
		TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd);
		assert_int_equal(h->c->state, TCP_ESTABLISHED);
	}
	th_at_ms(h, t + 2399);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_at_ms(h, t + 2400);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ETIMEDOUT);
	assert_int_equal(th_stat(h, "tcp_zero_window_probe"), 3);
	assert_int_equal(th_stat(h, "tcp_timeout"), 1);
	th_free(h);
}

/* Answered probes never run out: ten in a row, each answered with the
 * window still zero, and the connection lives on (the intervals keep
 * backing off); then the window opens and the data goes. */
static void test_answered_probes_go_on(void **state)
{
	struct th *h = zero_window();
	struct th_seg s;
	(void)state;

	uint64_t t = th_now_ms(h), iv = 300;
	for (int i = 0; i < 10; i++) {
		t += iv;
		th_at_ms(h, t);
		TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd);
		th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 0, NULL, 0, NULL);
		iv = iv * 2 > 120000 ? 120000 : iv * 2;
	}
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(th_stat(h, "tcp_zero_window_probe"), 10);
	th_inject_raw(h, TCP_ACK, h->snd, h->rcv, 1000, NULL, 0, NULL);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, TH_ISS + 1, h->snd);
	assert_int_equal(s.len, 4);
	th_free(h);
}

/* The user closed the socket: its FIN waits behind the data, behind the
 * zero window. Unanswered probes end it too, and the block is freed. */
static void test_orphan_in_zero_window_freed(void **state)
{
	struct th *h = zero_window();
	struct th_seg s;
	(void)state;

	tcp_close(h->a, h->c, false);
	h->c = NULL;
	th_none(h);
	assert_int_equal(th_find(h)->state, TCP_FIN_WAIT_1);
	uint64_t t = th_now_ms(h);
	for (int i = 0; i < 3; i++) {
		t += 300u << i;
		th_at_ms(h, t);
		TH_EXPECT(h, &s, TCP_ACK, TH_ISS, h->snd);
	}
	th_at_ms(h, t + 2400);
	th_none(h);
	assert_null(th_find(h));
	assert_null(h->a->tcp->all->anext); /* only the listener is left */
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unanswered_probes_give_up),
	    cmocka_unit_test(test_answered_probes_go_on),
	    cmocka_unit_test(test_orphan_in_zero_window_freed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
