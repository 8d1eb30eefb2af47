/* SYN-RECEIVED (a passive open's child) against the events of RFC 9293
 * 3.10.7.4 not covered in test_tcp_open.c: an unacceptable segment, a RST
 * or a SYN inside the window but not exact (RFC 5961 3.2, 4.2), and the
 * handshake's ACK carrying the peer's FIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

static struct th *synrcvd(void)
{
	struct th *h = th_new(NULL);
	th_listen(h, 8);
	th_syn(h, -1);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	return h;
}

/* First: not acceptable (far beyond the window) -> <SEQ=SND.NXT>
 * <ACK=RCV.NXT><CTL=ACK>, dropped, nothing changes. */
static void test_out_of_window_acked(void **state)
{
	struct th *h = synrcvd();
	struct th_seg s;
	(void)state;

	th_inject(h, TCP_ACK, h->snd + 0x20000000u, TH_ISS + 1, "x", 1);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 1);
	th_none(h);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	assert_int_equal(th_stat(h, "tcp_drop_out_of_window"), 1);
	assert_int_equal(h->l->accq.n, 0);
	th_free(h);
}

/* RFC 5961 3.2: a RST in the window but not at RCV.NXT is challenged;
 * the embryo stays (the exact one drops it: test_tcp_open.c). */
static void test_inexact_rst_challenged(void **state)
{
	struct th *h = synrcvd();
	struct th_seg s;
	(void)state;

	th_inject(h, TCP_RST, h->snd + 100, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 1);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	assert_int_equal(th_stat(h, "tcp_challenge_ack"), 1);
	th_free(h);
}

/* RFC 5961 4.2: a SYN with another sequence number (not the repeat of
 * the first, which gets the SYN-ACK again) is challenged. */
static void test_other_syn_challenged(void **state)
{
	struct th *h = synrcvd();
	struct th_seg s;
	(void)state;

	th_inject(h, TCP_SYN, h->irs + 500, 0, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 1);
	th_none(h);
	assert_int_equal(th_find(h)->state, TCP_SYN_RECEIVED);
	assert_int_equal(th_stat(h, "tcp_drop_syn_in_window"), 1);
	th_free(h);
}

/* The handshake's ACK with a FIN: ESTABLISHED then CLOSE-WAIT at once;
 * the FIN is acknowledged, the child waits in the accept queue, and the
 * application reads EOF. */
static void test_ack_with_fin(void **state)
{
	struct th *h = synrcvd();
	struct th_seg s;
	char buf[4];
	int err;
	(void)state;

	th_inject(h, TCP_ACK | TCP_FIN, h->snd, TH_ISS + 1, NULL, 0);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->irs + 2);
	th_none(h);
	assert_int_equal(h->l->accq.n, 1);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_non_null(h->c);
	assert_int_equal(h->c->state, TCP_CLOSE_WAIT);
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 0);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_out_of_window_acked),
	    cmocka_unit_test(test_inexact_rst_challenged),
	    cmocka_unit_test(test_other_syn_challenged),
	    cmocka_unit_test(test_ack_with_fin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
