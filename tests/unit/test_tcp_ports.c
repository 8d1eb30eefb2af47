/* Initial sequence numbers (RFC 6528) and ephemeral ports (RFC 6056):
 * what an observer of the SYNs could tell.
 *
 * - ISN = M + F(4-tuple, secret): M ticks every 4 microseconds, F is a
 *   keyed hash, so one 4-tuple's ISNs advance with the clock (a new
 *   incarnation starts beyond the old one), while those of different
 *   4-tuples or of stacks with different secrets are unrelated;
 * - connect() without bind() takes ports from the configured range,
 *   consecutive ones for consecutive connections to one server (RFC 6056
 *   3.3.3: a per-destination offset plus a counter), so many connections
 *   to one server never collide, and the same port may serve connections
 *   to different servers; when all ports to a server are taken,
 *   EADDRNOTAVAIL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define LO 40000
#define NPORTS 100

static uint32_t isn_of(struct us_stack *st, uint16_t lp, uint32_t rip,
		       uint16_t rp)
{
	struct inaddr la = inaddr_from_v4(htonl(TH_IP_A));
	struct inaddr ra = inaddr_from_v4(htonl(rip));
	return tcp_isn(st, &la, lp, &ra, rp);
}

/* The keyed hash behind ISNs and cookies is SipHash-2-4: the reference
 * vector of its paper (key 00..0f, message 00..0e). */
static void test_siphash_reference_vector(void **state)
{
	struct th *h = th_new(NULL);
	uint8_t m[15];
	(void)state;

	for (int i = 0; i < 16; i++)
		h->a->secret[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		m[i] = (uint8_t)i;
	assert_true(tcp_keyed_hash(h->a, 0, m, sizeof(m)) ==
		    0xa129ca6149be45e5ull);
	th_free(h);
}

static void test_isn_clock_and_key(void **state)
{
	struct th *h = th_new(NULL);
	struct th *h2 = th_new(NULL);
	(void)state;

	h->a->tcp->isn_fixed = false;
	h2->a->tcp->isn_fixed = false;
	/* Another secret: th_new seeds both with 1. */
	for (size_t i = 0; i < sizeof(h2->a->secret); i++)
		h2->a->secret[i] ^= 0xa5;
	uint32_t i0 = isn_of(h->a, 40000, TH_IP_B, 80);
	assert_int_equal(isn_of(h->a, 40000, TH_IP_B, 80), i0);
	/* M: one tick per 4 us. */
	th_at_ms(h, 4);
	assert_int_equal(isn_of(h->a, 40000, TH_IP_B, 80), i0 + 1000);
	th_at_ms(h, 4004);
	assert_int_equal(isn_of(h->a, 40000, TH_IP_B, 80), i0 + 1000 + 1000000);
	/* F: neighbouring ports and addresses give unrelated values (no
	 * constant step an attacker could extrapolate), and another
	 * secret gives another sequence. */
	uint32_t prev = isn_of(h->a, 40000, TH_IP_B, 80), step = 0;
	int same_step = 0, equal = 0;
	for (uint16_t p = 40001; p < 40200; p++) {
		uint32_t v = isn_of(h->a, p, TH_IP_B, 80);
		if (v - prev == step)
			same_step++;
		step = v - prev;
		prev = v;
		equal += v == isn_of(h->a, p, TH_IP_B + 1, 80);
		equal += v == isn_of(h->a, p, TH_IP_B, 81);
		equal += v == isn_of(h2->a, p, TH_IP_B, 80);
	}
	assert_true(same_step <= 1);
	assert_int_equal(equal, 0);
	th_free(h);
	th_free(h2);
}

/* The ISN a SYN carries is that function, not a fixed or counted one. */
static void test_syn_carries_rfc6528_isn(void **state)
{
	struct th *h = th_new(NULL);
	struct inaddr ra = inaddr_from_v4(htonl(TH_IP_B));
	struct th_seg s;
	(void)state;

	h->a->tcp->isn_fixed = false;
	uint32_t want = isn_of(h->a, TH_PORT_A, TH_IP_B, TH_PORT_B);
	h->c = tcp_conn_new(h->a);
	struct inaddr any = inaddr_from_v4(0);
	assert_int_equal(tcp_bind(h->a, h->c, &any, TH_PORT_A, false), 0);
	assert_int_equal(tcp_connect(h->a, h->c, &ra, TH_PORT_B), 0);
	assert_true(th_out(h, &s));
	assert_int_equal(s.flags, TCP_SYN);
	assert_int_equal(s.seq, want);
	th_free(h);
}

static void port_range(struct us_config *c)
{
	c->port_lo = LO;
	c->port_hi = LO + NPORTS - 1;
}

static struct tcp_conn *connect_to(struct th *h, uint32_t ip, uint16_t port,
				   int *rc)
{
	struct inaddr ra = inaddr_from_v4(htonl(ip));
	struct tcp_conn *c = tcp_conn_new(h->a);
	assert_non_null(c);
	*rc = tcp_connect(h->a, c, &ra, port);
	return c;
}

static void test_ephemeral_ports_one_server(void **state)
{
	struct th *h = th_new(port_range);
	struct tcp_conn *c[NPORTS + 1];
	uint16_t port[NPORTS];
	uint8_t used[NPORTS] = {0};
	struct th_seg s;
	int rc;
	(void)state;

	for (int i = 0; i < NPORTS; i++) {
		c[i] = connect_to(h, TH_IP_B, 80, &rc);
		assert_int_equal(rc, 0);
		tcp_addrs(c[i], NULL, &port[i], NULL, NULL);
		assert_true(port[i] >= LO && port[i] < LO + NPORTS);
		assert_int_equal(used[port[i] - LO]++, 0);
		/* RFC 6056 3.3.3: the next connection to the same server
		 * takes the next port. */
		if (i)
			assert_int_equal(port[i],
					 LO + (port[i - 1] - LO + 1) % NPORTS);
		assert_true(th_out(h, &s));
		assert_int_equal(s.sport, port[i]);
	}
	/* Every 4-tuple to B:80 is taken. */
	c[NPORTS] = connect_to(h, TH_IP_B, 80, &rc);
	assert_int_equal(rc, -EADDRNOTAVAIL);
	tcp_close(h->a, c[NPORTS], false);
	/* Another server port: the same local ports serve again. */
	struct tcp_conn *o = connect_to(h, TH_IP_B, 81, &rc);
	assert_int_equal(rc, 0);
	uint16_t op;
	tcp_addrs(o, NULL, &op, NULL, NULL);
	assert_true(op >= LO && op < LO + NPORTS);
	tcp_close(h->a, o, true);
	for (int i = 0; i < NPORTS; i++)
		tcp_close(h->a, c[i], true);
	th_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_siphash_reference_vector),
	    cmocka_unit_test(test_isn_clock_and_key),
	    cmocka_unit_test(test_syn_carries_rfc6528_isn),
	    cmocka_unit_test(test_ephemeral_ports_one_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
