/* CUBIC (RFC 9438): the window after a reduction follows
 * W_cubic(t) = C (t - K)^3 + W_max, K = cbrt((W_max - cwnd_epoch) / C),
 * computed here independently, with ACKs fed on a virtual clock; the
 * Reno-friendly region; fast convergence; the timeout. And selecting
 * the module: TCP_CONGESTION and the stack's default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#define TCP_CONGESTION 13 /* <netinet/tcp.h> clashes with tcp.h */

#include "tcp_harness.h"

#define MSS 1000u
#define NS_PER_US 1000ull

static struct tcp_conn *conn(uint32_t cwnd_segs, uint32_t rtt_us)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->mss = MSS;
	c->cc = &tcp_cubic;
	c->cc->init(c);
	c->cwnd = cwnd_segs * MSS;
	c->ssthresh = UINT32_MAX / 2;
	c->srtt_us = rtt_us;
	/* A full window in flight when the loss is found. */
	c->snd_una = 1000;
	c->snd_max = c->snd_una + c->cwnd;
	return c;
}

/* A loss found by duplicate ACKs and repaired: cwnd = ssthresh. */
static void loss(struct tcp_conn *c)
{
	c->snd_max = c->snd_una + c->cwnd;
	c->cc->enter_recovery(c);
	c->cc->exit_recovery(c);
}

/* One RTT of ACKs, one per MSS of the window, spread over the RTT. */
static uint64_t round_of_acks(struct tcp_conn *c, uint64_t now, uint64_t rtt)
{
	uint32_t n = c->cwnd / MSS;
	for (uint32_t i = 0; i < n; i++)
		c->cc->on_ack(c, MSS, now + rtt * i / n);
	return now + rtt;
}

static double w_cubic(double t, double w_max, double k)
{
	return 0.4 * (t - k) * (t - k) * (t - k) + w_max;
}

/* RFC 9438 4.2, 4.6: after a loss at 100 segments, cwnd = 70 and the
 * curve climbs back, flattens at W_max around t = K (4.22 s), then
 * probes beyond it, within two segments of the formula one RTT ahead
 * (the target is W_cubic(t + RTT)). */
static void test_window_follows_cubic(void **state)
{
	const uint64_t rtt = 100000 * NS_PER_US; /* 100 ms */
	struct tcp_conn *c = conn(100, 100000);
	(void)state;

	loss(c);
	assert_int_equal(c->ssthresh, 70 * MSS);
	assert_int_equal(c->cwnd, 70 * MSS);
	double k = cbrt((100.0 - 70.0) / 0.4);
	uint64_t t0 = 5000000000ull, now = t0;
	double worst = 0;
	int rounds = 0;
	while (now - t0 < (uint64_t)(2 * k * 1e9)) {
		/* The epoch starts at the first ACK (now = t0). */
		now = round_of_acks(c, now, rtt);
		rounds++;
		double t = (double)(now - t0) / 1e9;
		double want = w_cubic(t, 100, k);
		double got = (double)c->cwnd / MSS;
		if (fabs(got - want) > worst)
			worst = fabs(got - want);
		if (fabs(got - want) > 2.0)
			fail_msg("t %.2f s: cwnd %.2f segs, W_cubic(t+RTT) "
				 "%.2f",
				 t, got, want);
	}
	printf("  %d RTTs, largest distance from the formula %.2f segs, "
	       "cwnd at 2K %.1f segs\n",
	       rounds, worst, (double)c->cwnd / MSS);
	/* Beyond K the window exceeds W_max (the convex region). */
	assert_true(c->cwnd > 120 * MSS);
	free(c);
}

/* RFC 9438 4.3: on a short path Reno's AIMD would grow faster than the
 * curve; W_est = 70 + alpha per RTT, alpha = 3 (1 - 0.7) / (1 + 0.7),
 * sets the window. */
static void test_reno_friendly_region(void **state)
{
	const uint64_t rtt = 1000 * NS_PER_US; /* 1 ms */
	struct tcp_conn *c = conn(100, 1000);
	(void)state;

	loss(c);
	uint64_t now = 5000000000ull;
	const double alpha = 3 * 0.3 / 1.7;
	for (int r = 1; r <= 400; r++) {
		now = round_of_acks(c, now, rtt);
		double want = 70 + alpha * r;
		double cub = w_cubic(r * 1e-3 + 1e-3, 100, cbrt(30 / 0.4));
		double got = (double)c->cwnd / MSS;
		if (r % 100 == 0)
			printf(
			    "  RTT %d: cwnd %.1f, W_est %.1f, W_cubic %.1f\n",
			    r, got, want, cub);
		if (fabs(got - want) > 1.0 + want * 0.02)
			fail_msg("RTT %d: cwnd %.2f, W_est %.2f", r, got, want);
	}
	free(c);
}

/* RFC 9438 4.7: a loss before the window regained W_max lowers W_max to
 * cwnd (1 + beta) / 2, so the plateau is there, not at the old W_max. */
static void test_fast_convergence(void **state)
{
	const uint64_t rtt = 100000 * NS_PER_US;
	struct tcp_conn *c = conn(100, 100000);
	(void)state;

	loss(c); /* W_max 100, cwnd 70 */
	c->cwnd = 90 * MSS;
	loss(c); /* 90 < 100: W_max = 76.5, cwnd 63 */
	assert_int_equal(c->cwnd, 63 * MSS);
	double w_max = 90 * 1.7 / 2, k = cbrt((w_max - 63) / 0.4);
	uint64_t t0 = 5000000000ull, now = t0;
	int rounds = 0;
	while ((double)(now - t0) / 1e9 < k) {
		now = round_of_acks(c, now, rtt);
		rounds++;
	}
	/* By then Reno's estimate (63 + alpha per RTT) has caught up. */
	double t = (double)(now - t0) / 1e9;
	double w_est = 63 + 3 * 0.3 / 1.7 * rounds;
	double want = fmax(w_cubic(t, w_max, k), w_est);
	double got = (double)c->cwnd / MSS;
	printf("  K %.2f s: cwnd %.2f segs, W_max %.2f, W_est %.2f\n", k, got,
	       w_max, w_est);
	assert_true(fabs(got - want) < 2.0);
	assert_true(got < 85.0); /* far from the old W_max of 90 */
	free(c);
}

/* RFC 9438 4.8: a timeout leaves one segment and ssthresh = 0.7 of the
 * flight; slow start then doubles per RTT up to ssthresh. */
static void test_timeout(void **state)
{
	struct tcp_conn *c = conn(100, 100000);
	(void)state;

	c->cc->on_rto(c);
	assert_int_equal(c->cwnd, MSS);
	assert_int_equal(c->ssthresh, 70 * MSS);
	uint64_t now = 5000000000ull;
	now = round_of_acks(c, now, 100000 * NS_PER_US);
	assert_int_equal(c->cwnd, 2 * MSS);
	/* A second timeout of the same data keeps ssthresh. */
	c->backoff = 1;
	c->cc->on_rto(c);
	assert_int_equal(c->ssthresh, 70 * MSS);
	free(c);
}

/* RFC 9438 4.8: the first congestion avoidance after a timeout runs on
 * the curve with K = 0 and W_max = the window at its start (70 here),
 * not back up the concave side towards the old W_max of 100: two
 * seconds in, cwnd is max(W_cubic(t + RTT), W_est), about 80 segments
 * (the concave climb would be near 96). */
static void test_after_timeout_k_zero(void **state)
{
	const uint64_t rtt = 100000 * NS_PER_US;
	struct tcp_conn *c = conn(100, 100000);
	(void)state;

	c->cc->on_rto(c);
	assert_int_equal(c->ssthresh, 70 * MSS);
	c->cwnd = c->ssthresh; /* slow start has climbed back */
	uint64_t t0 = 5000000000ull, now = t0;
	int rounds = 0;
	while (now - t0 < 2000000000ull) {
		now = round_of_acks(c, now, rtt);
		rounds++;
	}
	double t = (double)(now - t0) / 1e9;
	double w_est = 70 + 3 * 0.3 / 1.7 * rounds;
	double want = fmax(w_cubic(t + 0.1, 70, 0), w_est);
	double got = (double)c->cwnd / MSS;
	printf("  %.1f s after the timeout: cwnd %.2f segs, want %.2f\n", t,
	       got, want);
	assert_true(fabs(got - want) < 2.0);
	free(c);
}

static void use_reno(struct us_config *cfg)
{
	cfg->tcp_congestion = "reno";
}

/* TCP_CONGESTION names the module, as Linux; unknown names fail with
 * ENOENT; the stack's default comes from us_config; a listener's
 * choice goes to its children. */
static void test_tcp_congestion_option(void **state)
{
	struct th *h = th_new(NULL);
	char name[16];
	socklen_t len = sizeof(name);
	(void)state;

	struct tcp_conn *c = tcp_conn_new(h->a);
	assert_int_equal(
	    tcp_getopt(h->a, c, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "cubic"); /* the default, as Linux */
	assert_int_equal(
	    tcp_setopt(h->a, c, IPPROTO_TCP, TCP_CONGESTION, "reno", 5), 0);
	assert_ptr_equal(c->cc, &tcp_newreno);
	len = sizeof(name);
	assert_int_equal(
	    tcp_getopt(h->a, c, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "reno");
	assert_int_equal(
	    tcp_setopt(h->a, c, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), 0);
	assert_ptr_equal(c->cc, &tcp_cubic);
	assert_int_equal(
	    tcp_setopt(h->a, c, IPPROTO_TCP, TCP_CONGESTION, "vegas", 6),
	    -ENOENT);
	tcp_close(h->a, c, true);
	th_free(h);

	/* The default from the configuration, inherited by a child. */
	h = th_new(use_reno);
	th_passive(h, 7);
	assert_ptr_equal(h->c->cc, &tcp_newreno);
	th_free(h);

	/* Through the socket API. */
	h = th_new(NULL);
	int fd = us_socket(h->a, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(
	    us_setsockopt(h->a, fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 5), 0);
	len = sizeof(name);
	assert_int_equal(
	    us_getsockopt(h->a, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len),
	    0);
	assert_string_equal(name, "reno");
	assert_int_equal(us_close(h->a, fd), 0);
	th_free(h);

	/* An unknown default refuses to make the stack. */
	struct us_config cfg;
	us_config_init(&cfg);
	cfg.tcp_congestion = "nosuch";
	struct us_dev *da, *db;
	assert_int_equal(us_pipe_create(&da, &db), 0);
	cfg.dev = da;
	cfg.ip = htonl(TH_IP_A);
	cfg.prefix_len = 24;
	assert_null(us_stack_create(&cfg));
	dev_close(db); /* the failed create closed da */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_follows_cubic),
	    cmocka_unit_test(test_reno_friendly_region),
	    cmocka_unit_test(test_fast_convergence),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_after_timeout_k_zero),
	    cmocka_unit_test(test_tcp_congestion_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
