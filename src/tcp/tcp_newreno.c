/* NewReno congestion control: slow start and congestion avoidance
 * (RFC 5681 3.1) with appropriate byte counting (RFC 3465), the window
 * decisions of fast recovery (RFC 5681 3.2, RFC 6582 3.2) and of a
 * retransmission timeout. The recovery mechanics are in tcp_ack.c. */
#include "tcp/tcp_conn.h"

#define CWND_MAX (1u << 30)
#define ABC_L 2 /* RFC 3465 2.3: L = 2 SMSS in slow start */

static uint32_t half_flight(const struct tcp_conn *c)
{
	/* RFC 5681 equation (4): max(FlightSize / 2, 2 * SMSS). */
	uint32_t f = tcp_flight(c) / 2;
	return US_MAX(f, 2u * c->mss);
}

static void nr_init(struct tcp_conn *c)
{
	c->bytes_acked = 0;
}

static void nr_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
	(void)now;
	if (c->cwnd < c->ssthresh) {
		/* RFC 3465 2.2: grow by the bytes acknowledged, at most L
		 * SMSS per ACK. */
		c->cwnd += US_MIN(acked, ABC_L * (uint32_t)c->mss);
	} else {
		/* RFC 3465 2.1 / RFC 5681 3.1: one SMSS per cwnd of bytes
		 * acknowledged. */
		c->bytes_acked += acked;
		if (c->bytes_acked >= c->cwnd) {
			c->bytes_acked -= c->cwnd;
			c->cwnd += c->mss;
		}
	}
	if (c->cwnd > CWND_MAX)
		c->cwnd = CWND_MAX;
}

static void nr_enter_recovery(struct tcp_conn *c)
{
	c->ssthresh = half_flight(c);
	/* RFC 6582 3.2 step 3 / RFC 5681 3.2 step 3: inflate by the three
	 * segments that left the network. */
	c->cwnd = c->ssthresh + 3u * c->mss;
	c->bytes_acked = 0;
}

static void nr_exit_recovery(struct tcp_conn *c)
{
	/* RFC 6582 3.2 step 3, second option: cwnd = ssthresh (as Linux).
	 * The first, min(ssthresh, FlightSize + SMSS), punishes a sender
	 * whose recovery was held back by the receiver's window: it would
	 * leave recovery with a nearly empty pipe and crawl from there. */
	c->cwnd = c->ssthresh;
	c->bytes_acked = 0;
}

static void nr_on_rto(struct tcp_conn *c)
{
	/* RFC 5681 3.1: ssthresh is held when the retransmitted segment is
	 * lost again; the loss window is one segment. */
	if (c->backoff == 0)
		c->ssthresh = half_flight(c);
	c->cwnd = c->mss;
	c->bytes_acked = 0;
}

const struct tcp_cc_ops tcp_newreno = {
    .name = "reno", /* Linux's name for it */
    .init = nr_init,
    .on_ack = nr_on_ack,
    .enter_recovery = nr_enter_recovery,
    .exit_recovery = nr_exit_recovery,
    .on_rto = nr_on_rto,
};
