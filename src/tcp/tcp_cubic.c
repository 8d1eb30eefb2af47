/* CUBIC congestion control (RFC 9438), beside NewReno behind the same
 * operations table. Slow start is Reno's (RFC 5681 with RFC 3465 byte
 * counting); in congestion avoidance the window follows the cubic
 * function of the time since the last congestion event
 *
 *     W_cubic(t) = C * (t - K)^3 + W_max                    (RFC 9438 eq 1)
 *     K = cubic_root((W_max - cwnd_epoch) / C)              (RFC 9438 eq 2)
 *
 * (windows in segments, t in seconds), bounded below by the Reno-friendly
 * estimate W_est (eq 4). Loss recovery stays the engine's (NewReno, or
 * SACK); these functions only choose the window. Floating point is fine
 * here: this is user space, and the cube root is one call per ACK. */
#include <assert.h>
#include <math.h>

#include "tcp/tcp_conn.h"

#define CUBIC_C 0.4    /* RFC 9438 4.1 */
#define CUBIC_BETA 0.7 /* RFC 9438 4.6: beta_cubic */
#define CWND_MAX (1u << 30)
#define ABC_L 2 /* RFC 3465 2.3 */

/* The algorithm's state, kept in the connection's cc_priv. */
struct cubic {
	uint64_t epoch_ns; /* start of this congestion-avoidance epoch; 0 */
	uint64_t w_est_fp; /* W_est in bytes << 16 (eq 4, fractions kept) */
	uint32_t w_max;	   /* bytes: the window before the last reduction */
	uint32_t k_us;	   /* K in microseconds */
	uint32_t acc;	   /* remainder of the per-ACK increase (bytes*W) */
	uint32_t pad;
};
static_assert(sizeof(struct cubic) <= sizeof(((struct tcp_conn *)0)->cc_priv),
	      "cubic state fits cc_priv");

static struct cubic *cubic_of(struct tcp_conn *c)
{
	return (struct cubic *)(void *)c->cc_priv;
}

static void cubic_init(struct tcp_conn *c)
{
	struct cubic *cu = cubic_of(c);

	cu->epoch_ns = 0;
	cu->w_est_fp = 0;
	cu->w_max = 0;
	cu->k_us = 0;
	cu->acc = 0;
	c->bytes_acked = 0;
}

/* RFC 9438 4.2 eq 1, in bytes: W_cubic at t_us microseconds into the
 * epoch. */
static double w_cubic_bytes(const struct tcp_conn *c, const struct cubic *cu,
			    double t_us)
{
	double t = (t_us - (double)cu->k_us) / 1e6;
	return CUBIC_C * t * t * t * c->mss + (double)cu->w_max;
}

/* A new epoch begins with the first ACK of congestion avoidance after a
 * reduction (or after slow start ended without one). */
static void epoch_start(struct tcp_conn *c, struct cubic *cu, uint64_t now)
{
	cu->epoch_ns = now ? now : 1;
	cu->acc = 0;
	/* RFC 9438 4.3: W_est starts at cwnd_epoch. */
	cu->w_est_fp = (uint64_t)c->cwnd << 16;
	if (cu->w_max <= c->cwnd) {
		/* RFC 9438 4.2: no reduction to climb back from (K = 0);
		 * the curve starts at the current window. */
		cu->k_us = 0;
		cu->w_max = c->cwnd;
	} else {
		double segs = (double)(cu->w_max - c->cwnd) / c->mss;
		cu->k_us = (uint32_t)(cbrt(segs / CUBIC_C) * 1e6);
	}
}

static void cubic_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
	struct cubic *cu = cubic_of(c);

	if (c->cwnd < c->ssthresh) {
		/* RFC 9438 4.10: slow start as Reno's. */
		c->cwnd += US_MIN(acked, ABC_L * (uint32_t)c->mss);
		if (c->cwnd > CWND_MAX)
			c->cwnd = CWND_MAX;
		return;
	}
	if (!cu->epoch_ns)
		epoch_start(c, cu, now);

	/* RFC 9438 4.2: the target is W_cubic one RTT ahead, kept within
	 * [cwnd, 1.5 cwnd]. */
	double t_us = (double)(now - cu->epoch_ns) / 1e3 + c->srtt_us;
	double target = w_cubic_bytes(c, cu, t_us);
	if (target < c->cwnd)
		target = c->cwnd;
	if (target > 1.5 * c->cwnd)
		target = 1.5 * c->cwnd;

	/* RFC 9438 4.3 eq 4: W_est grows by alpha_cubic segments per
	 * window of segments acknowledged, alpha = 3(1-beta)/(1+beta). */
	const double alpha = 3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA);
	cu->w_est_fp += (uint64_t)(alpha * 65536.0 * acked * c->mss / c->cwnd);
	uint32_t w_est = (uint32_t)(cu->w_est_fp >> 16);

	if (w_est > target) {
		/* RFC 9438 4.3: the Reno-friendly region. */
		c->cwnd = w_est;
	} else {
		/* RFC 9438 4.4, 4.5: cwnd += (target - cwnd) / cwnd per
		 * segment acknowledged; the fraction carries over. */
		uint64_t num = (uint64_t)(target - c->cwnd) * acked + cu->acc;
		c->cwnd += (uint32_t)(num / c->cwnd);
		cu->acc = (uint32_t)(num % c->cwnd);
	}
	if (c->cwnd > CWND_MAX)
		c->cwnd = CWND_MAX;
}

/* RFC 9438 4.6, 4.7: a congestion event. W_max is the window now, or
 * with fast convergence a little less if the window had not yet climbed
 * back to the previous W_max (another flow has arrived). */
static void reduce(struct tcp_conn *c)
{
	struct cubic *cu = cubic_of(c);
	uint32_t cwnd = c->cwnd;

	if (cwnd < cu->w_max)
		cu->w_max = (uint32_t)((uint64_t)cwnd * 17 / 20); /* (1+b)/2 */
	else
		cu->w_max = cwnd;
	/* RFC 9438 4.6 allows the flight size in place of cwnd: after
	 * slow start cwnd may be twice what the path held (no HyStart
	 * here), and 0.7 of that would overflow the queue again. */
	uint32_t ss =
	    (uint32_t)((uint64_t)US_MIN(cwnd, tcp_flight(c)) * 7 / 10);
	c->ssthresh = US_MAX(ss, 2u * c->mss);
	cu->epoch_ns = 0;
	cu->acc = 0;
	c->bytes_acked = 0;
}

static void cubic_enter_recovery(struct tcp_conn *c)
{
	reduce(c);
	/* The engine's fast recovery inflates by the three segments that
	 * left the network (RFC 5681 3.2 step 3) and deflates on exit. */
	c->cwnd = c->ssthresh + 3u * c->mss;
}

static void cubic_exit_recovery(struct tcp_conn *c)
{
	c->cwnd = c->ssthresh;
}

static void cubic_on_rto(struct tcp_conn *c)
{
	/* RFC 9438 4.8: ssthresh from beta_cubic, cwnd as Reno's loss
	 * window; a repeated timeout of the same data keeps ssthresh. */
	if (c->backoff == 0)
		reduce(c);
	else
		cubic_of(c)->epoch_ns = 0;
	/* RFC 9438 4.8: in the first congestion avoidance after a timeout
	 * K = 0 and W_max is the window at its start (epoch_start does
	 * both when W_max does not exceed cwnd); ssthresh keeps beta. */
	cubic_of(c)->w_max = 0;
	c->cwnd = c->mss;
}

const struct tcp_cc_ops tcp_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .enter_recovery = cubic_enter_recovery,
    .exit_recovery = cubic_exit_recovery,
    .on_rto = cubic_on_rto,
};
