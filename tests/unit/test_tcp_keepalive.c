/* Keepalive (RFC 1122 4.2.3.6: SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 * TCP_KEEPCNT) and TCP_USER_TIMEOUT (RFC 5482) on the virtual clock:
 * when probes go out, what they look like, when a dead peer is declared
 * and with which error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define TCP_KEEPIDLE 4 /* <netinet/tcp.h> clashes with tcp.h */
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6
#define TCP_USER_TIMEOUT 18

static void setint(struct th *h, int level, int name, int v)
{
	assert_int_equal(tcp_setopt(h->a, h->c, level, name, &v, sizeof(v)), 0);
}

static int getint(struct th *h, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(tcp_getopt(h->a, h->c, level, name, &v, &len), 0);
	return v;
}

/* An established connection with keepalive 10 s / 2 s / 3 probes. */
static struct th *keep_conn(void)
{
	struct th *h = th_new(NULL);
	th_passive(h, -1);
	setint(h, SOL_SOCKET, SO_KEEPALIVE, 1);
	setint(h, IPPROTO_TCP, TCP_KEEPIDLE, 10);
	setint(h, IPPROTO_TCP, TCP_KEEPINTVL, 2);
	setint(h, IPPROTO_TCP, TCP_KEEPCNT, 3);
	return h;
}

/* A probe: an old sequence number (SND.UNA - 1), no data. */
static void expect_probe(struct th *h)
{
	struct th_seg s;
	TH_EXPECT(h, &s, TCP_ACK, h->rcv - 1, h->snd);
	assert_int_equal(s.len, 0);
}

/* The peer is gone: probes at 10, 12 and 14 s, then ETIMEDOUT at
 * 16 s, without a RST (nobody is there to read it). */
static void test_dead_peer(void **state)
{
	struct th *h = keep_conn();
	(void)state;

	th_at_ms(h, 9999);
	th_none(h);
	for (int i = 0; i < 3; i++) {
		th_at_ms(h, 10000 + 2000 * (uint64_t)i);
		expect_probe(h);
		th_at_ms(h, 10000 + 2000 * (uint64_t)i + 1999);
		th_none(h);
	}
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_at_ms(h, 16000);
	th_none(h);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ETIMEDOUT);
	assert_int_equal(th_stat(h, "tcp_keepalive_probe"), 3);
	assert_int_equal(th_stat(h, "tcp_keepalive_timeout"), 1);
	th_free(h);
}

/* A live peer answers the probe; the next comes a full idle time after
 * that answer, and the connection lives on. */
static void test_peer_answers(void **state)
{
	struct th *h = keep_conn();
	(void)state;

	th_at_ms(h, 10000);
	expect_probe(h);
	th_at_ms(h, 10001);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	th_none(h);
	th_at_ms(h, 20000);
	th_none(h);
	th_at_ms(h, 20001);
	expect_probe(h);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_free(h);
}

/* Traffic from the peer postpones the first probe; keepalive off stops
 * them; without SO_KEEPALIVE there are none at all. */
static void test_traffic_and_off(void **state)
{
	struct th *h = keep_conn();
	struct th_seg s;
	(void)state;

	th_at_ms(h, 5000);
	th_data(h, "x", 1);
	th_at_ms(h, 5040); /* the delayed ACK */
	TH_EXPECT(h, &s, TCP_ACK, h->rcv, h->snd);
	th_at_ms(h, 14999);
	th_none(h);
	th_at_ms(h, 15000);
	expect_probe(h);
	setint(h, SOL_SOCKET, SO_KEEPALIVE, 0);
	th_at_ms(h, 30000);
	th_none(h);
	assert_int_equal(getint(h, SOL_SOCKET, SO_KEEPALIVE), 0);
	th_free(h);

	h = th_new(NULL);
	th_passive(h, -1);
	th_at_ms(h, 8000 * 1000ull); /* past the 2-hour default */
	th_none(h);
	th_free(h);
}

/* RFC 1122 4.2.3.6: the idle time defaults to two hours; Linux's 75 s
 * and 9 probes for the rest; out-of-range values are refused. */
static void test_option_values(void **state)
{
	struct th *h = th_new(NULL);
	int v = 0;
	(void)state;

	th_passive(h, -1);
	assert_int_equal(getint(h, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	assert_int_equal(getint(h, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	assert_int_equal(getint(h, IPPROTO_TCP, TCP_KEEPCNT), 9);
	assert_int_equal(getint(h, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
	assert_int_equal(
	    tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)),
	    -EINVAL);
	v = -1;
	assert_int_equal(tcp_setopt(h->a, h->c, IPPROTO_TCP, TCP_USER_TIMEOUT,
				    &v, sizeof(v)),
			 -EINVAL);
	setint(h, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
	assert_int_equal(getint(h, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);
	th_free(h);

	/* SO_KEEPALIVE through the socket API. */
	h = th_new(NULL);
	int fd = us_socket(h->a, AF_INET, SOCK_STREAM, 0), one = 1;
	socklen_t len = sizeof(v);
	assert_true(fd >= 0);
	assert_int_equal(us_setsockopt(h->a, fd, SOL_SOCKET, SO_KEEPALIVE, &one,
				       sizeof(one)),
			 0);
	assert_int_equal(
	    us_getsockopt(h->a, fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
	assert_int_equal(v, 1);
	us_close(h->a, fd);
	th_free(h);
}

/* TCP_USER_TIMEOUT 1 s: data sent at 0 and never acknowledged is
 * retransmitted at 200 ms and 600 ms (RTO 200 ms, doubling); the next
 * timeout would be at 1400 ms but the user timeout ends it at 1000 ms
 * with ETIMEDOUT, long before 15 retries. */
static void test_user_timeout(void **state)
{
	struct th *h = th_new(NULL);
	struct th_seg s;
	(void)state;

	th_passive(h, -1);
	setint(h, IPPROTO_TCP, TCP_USER_TIMEOUT, 1000);
	assert_int_equal(tcp_send(h->a, h->c, "hello", 5, 0), 5);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, h->rcv, h->snd);
	th_at_ms(h, 200);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, h->rcv, h->snd);
	th_at_ms(h, 600);
	TH_EXPECT(h, &s, TCP_ACK | TCP_PSH, h->rcv, h->snd);
	th_at_ms(h, 999);
	th_none(h);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	th_at_ms(h, 1000);
	assert_int_equal(h->c->state, TCP_CLOSED);
	assert_int_equal(tcp_error(h->c, false), ETIMEDOUT);
	assert_int_equal(th_stat(h, "tcp_user_timeout"), 1);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dead_peer),
	    cmocka_unit_test(test_peer_answers),
	    cmocka_unit_test(test_traffic_and_off),
	    cmocka_unit_test(test_option_values),
	    cmocka_unit_test(test_user_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
