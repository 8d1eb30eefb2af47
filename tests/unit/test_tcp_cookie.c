/* SYN cookies (RFC 4987 3.6): encoding and checking the cookie, the
 * stateless SYN-ACK when the SYN queue is full, and the connection made
 * from the returning ACK, with MSS kept and window scale and SACK kept
 * only through timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

static void one_syn(struct us_config *cfg)
{
	cfg->tcp_max_syn_backlog = 1;
}

static struct tcp_seg seg(uint16_t sport, uint32_t seq)
{
	struct tcp_seg s;
	memset(&s, 0, sizeof(s));
	s.src = inaddr_from_v4(htonl(TH_IP_B));
	s.dst = inaddr_from_v4(htonl(TH_IP_A));
	s.h.sport = sport;
	s.h.dport = TH_PORT_A;
	s.seq = seq;
	return s;
}

/* The cookie checks for the same 4-tuple and peer ISN for up to two
 * 64-second ticks, and gives the MSS back rounded down to its table. */
static void test_encode_decode(void **state)
{
	struct th *h = th_new(NULL);
	(void)state;

	struct tcp_seg syn = seg(40000, 1000);
	uint32_t ck = tcp_cookie_make(h->a, &syn, 1460);
	struct tcp_seg ack = seg(40000, 1001);
	assert_int_equal(tcp_cookie_check(h->a, &ack, ck), 1460);
	assert_int_equal(
	    tcp_cookie_check(h->a, &ack, tcp_cookie_make(h->a, &syn, 1000)),
	    536);
	assert_int_equal(
	    tcp_cookie_check(h->a, &ack, tcp_cookie_make(h->a, &syn, 9000)),
	    8960);
	/* Another ISN, another port, a flipped bit: refused. */
	struct tcp_seg other = seg(40000, 2001);
	assert_int_equal(tcp_cookie_check(h->a, &other, ck), 0);
	other = seg(40001, 1001);
	assert_int_equal(tcp_cookie_check(h->a, &other, ck), 0);
	assert_int_equal(tcp_cookie_check(h->a, &ack, ck ^ 0x100), 0);
	/* Still good a tick later, not two. */
	th_at_ms(h, 64000);
	assert_int_equal(tcp_cookie_check(h->a, &ack, ck), 1460);
	th_at_ms(h, 200000);
	assert_int_equal(tcp_cookie_check(h->a, &ack, ck), 0);
	th_free(h);
}

/* The SYN queue (of one) holds B's first SYN; the next SYN gets a
 * cookie and leaves no state; its ACK makes an established child with
 * the MSS kept, no window scale or SACK (no timestamps to carry them),
 * and the data it carries is delivered. */
static void test_cookie_connection(void **state)
{
	struct th *h = th_new(one_syn);
	struct th_seg s;
	int err;
	(void)state;

	th_listen(h, 8);
	th_syn(h, 7); /* port 40000: on the SYN queue */
	h->port_b = 40001;
	struct th_opts o = {.mss = 1460, .ws = 7, .sack_perm = true};
	th_inject_raw(h, TCP_SYN, 5000, 0, 65535, NULL, 0, &o);
	assert_true(th_out(h, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(s.ack, 5001);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.ws, -1);
	assert_false(s.sack_ok);
	assert_false(s.ts);
	assert_null(th_find(h));
	assert_int_equal(th_stat(h, "tcp_syncookie_sent"), 1);
	uint32_t cookie = s.seq;

	th_inject(h, TCP_ACK | TCP_PSH, 5001, cookie + 1, "hi", 2);
	assert_int_equal(th_stat(h, "tcp_syncookie_ok"), 1);
	struct tcp_conn *c = th_find(h);
	assert_non_null(c);
	assert_int_equal(c->state, TCP_ESTABLISHED);
	assert_int_equal(c->mss, 1460);
	assert_false(c->ws_ok);
	assert_false(c->sack_ok);
	h->c = tcp_accept(h->a, h->l, &err);
	assert_ptr_equal(h->c, c);
	char buf[4];
	assert_int_equal(tcp_recv(h->a, h->c, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "hi", 2);
	th_at_ms(h, 40);
	TH_EXPECT(h, &s, TCP_ACK, cookie + 1, 5003);

	/* An ACK with a wrong cookie gets the listener's RST. */
	h->port_b = 40002;
	th_inject(h, TCP_ACK, 7001, cookie + 1, NULL, 0);
	TH_EXPECT(h, &s, TCP_RST, cookie + 1, 0);
	assert_int_equal(th_stat(h, "tcp_syncookie_bad"), 1);
	th_free(h);
}

/* With timestamps, window scale and SACK survive: the cookie SYN-ACK
 * offers them, their values come back in TSecr. */
static void test_cookie_with_timestamps(void **state)
{
	struct th *h = th_new(one_syn);
	struct th_seg s;
	(void)state;

	th_listen(h, 8);
	th_syn(h, 7);
	h->port_b = 40001;
	struct th_opts o = {
	    .mss = 1400, .ws = 7, .sack_perm = true, .ts = true, .tsval = 777};
	th_inject_raw(h, TCP_SYN, 5000, 0, 65535, NULL, 0, &o);
	assert_true(th_out(h, &s));
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_true(s.ws >= 0);
	assert_true(s.sack_ok);
	assert_true(s.ts);
	assert_int_equal(s.tsecr, 777);
	assert_null(th_find(h));
	struct th_opts a = {
	    .ws = -1, .ts = true, .tsval = 778, .tsecr = s.tsval};
	th_inject_raw(h, TCP_ACK, 5001, s.seq + 1, 100, NULL, 0, &a);
	struct tcp_conn *c = th_find(h);
	assert_non_null(c);
	assert_int_equal(c->state, TCP_ESTABLISHED);
	assert_true(c->ws_ok);
	assert_int_equal(c->snd_wscale, 7);
	assert_int_equal(c->snd_wnd, 100u << 7);
	assert_true(c->sack_ok);
	assert_true(c->ts_ok);
	assert_int_equal(c->ts_recent, 778);
	/* MSS 1400 rounds down to 1340, less the timestamps option. */
	assert_int_equal(c->mss, 1340 - 12);
	/* Our own scale is the one the SYN-ACK announced, and the first
	 * segment's TSval is not older than the SYN-ACK's (the peer's PAWS
	 * would drop it, RFC 7323 5.3). */
	assert_int_equal(c->rcv_wscale, s.ws);
	uint32_t synack_tsval = s.tsval;
	h->c = c;
	assert_int_equal(tcp_send(h->a, c, "x", 1, 0), 1);
	assert_true(th_out(h, &s));
	assert_int_equal(s.len, 1);
	assert_true(s.ts);
	assert_true((int32_t)(s.tsval - synack_tsval) >= 0);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_decode),
	    cmocka_unit_test(test_cookie_connection),
	    cmocka_unit_test(test_cookie_with_timestamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
