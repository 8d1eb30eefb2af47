/* TCP's side of path MTU discovery (RFC 1191, RFC 5927): a validated
 * "fragmentation needed" lowers the path MTU in the stack's cache and
 * the MSS of the connection it quoted; new connections to the same
 * destination start from the cached value until it ages out.
 *
 * Not done: an established connection does not raise its MSS again when
 * the cache entry expires (RFC 1191 6.3's periodic increase); only new
 * connections see the larger MTU. */
#include "tcp/tcp_conn.h"

static uint32_t link_mtu(const struct us_stack *st)
{
	return st->mtu ? st->mtu : 1500;
}

uint32_t tcp_path_mtu(struct us_stack *st, const struct tcp_conn *c)
{
	return pmtu_get(&tcp_of(st)->pmtu, inaddr_v4(&c->raddr), link_mtu(st),
			st->now);
}

/* The MSS the path allows: IPv4 and TCP headers (40) and the options
 * every segment carries. */
uint32_t tcp_path_mss(struct us_stack *st, const struct tcp_conn *c)
{
	return tcp_path_mtu(st, c) - 40;
}

void tcp_icmp_frag_needed(struct us_stack *st, struct tcp_conn *c, uint32_t mtu)
{
	uint32_t pmtu = pmtu_lower(&tcp_of(st)->pmtu, inaddr_v4(&c->raddr), mtu,
				   link_mtu(st), st->now);
	uint32_t mss = pmtu - 40 - tcp_ts_optlen(c);

	if (!tcp_synchronized(c->state) || mss >= c->mss)
		return;
	STAT_INC(st, tcp_pmtu_lowered);
	c->mss = (uint16_t)US_MAX(mss, (uint32_t)TCP_MIN_MSS);
	/* RFC 1191 6.1: what was too big is sent again at the new size
	 * (the router dropped it); no congestion response. */
	c->snd_nxt = c->snd_una;
	tcp_output(st, c);
}
