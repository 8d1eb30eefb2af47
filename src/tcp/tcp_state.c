/* State transitions (RFC 9293 3.3.2) and what comes with them: the end
 * of a connection, TIME_WAIT, the send-side setup after the handshake. */
#include <sys/epoll.h>

#include "tcp/tcp_conn.h"

const char *tcp_state_name(enum tcp_state s)
{
	static const char *const names[] = {
	    "CLOSED",	   "LISTEN",	 "SYN-SENT",   "SYN-RECEIVED",
	    "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
	    "CLOSING",	   "LAST-ACK",	 "TIME-WAIT",
	};
	return (unsigned)s < US_ARRAY_SIZE(names) ? names[s] : "?";
}

void tcp_notify(struct us_stack *st, struct tcp_conn *c, uint32_t ev)
{
	if (c->notify && c->user)
		c->notify(st, c, ev, c->notify_arg);
}

void tcp_set_state(struct us_stack *st, struct tcp_conn *c, enum tcp_state s)
{
	us_dbg(st, "tcp %u->%u: %s -> %s", c->lport, c->rport,
	       tcp_state_name(c->state), tcp_state_name(s));
	if (s == TCP_ESTABLISHED)
		c->was_established = true;
	c->state = s;
}

void tcp_done(struct us_stack *st, struct tcp_conn *c, int err)
{
	uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP;

	tcp_timers_stop(st, c);
	tcp_ehash_remove(st, c);
	if (!c->user_bound) {
		tcp_bhash_remove(st, c);
		c->bound = false;
	}
	tcp_child_unlink(c);
	pbufq_purge(&c->sndq);
	c->sndq_len = 0;
	c->cur_p = NULL;
	pbufq_purge(&c->ooo);
	c->ooo_fin = false;
	if (err) {
		c->err = err;
		ev |= EPOLLERR;
	}
	tcp_set_state(st, c, TCP_CLOSED);
	tcp_notify(st, c, ev);
}

/* RFC 9293 3.10.7.4 (eighth, FIN-WAIT-2 and CLOSING): wait 2*MSL so a
 * lost final ACK can be repeated and old duplicates die out. */
void tcp_enter_timewait(struct us_stack *st, struct tcp_conn *c)
{
	tcp_set_state(st, c, TCP_TIME_WAIT);
	tcp_delack_stop(st, c);
	pbufq_purge(&c->sndq);
	c->sndq_len = 0;
	c->cur_p = NULL;
	pbufq_purge(&c->ooo);
	tcp_timer_arm_mode(st, c, TCP_TM_TIMEWAIT, 2 * tcp_of(st)->msl_ns);
}

uint16_t tcp_mss_for_mtu(struct us_stack *st)
{
	uint32_t mtu = st->mtu ? st->mtu : 1500;
	return (uint16_t)(mtu - 40); /* IPv4 and TCP headers, no options */
}

/* RFC 7323 2.3: the smallest shift that lets the 16-bit field cover the
 * receive buffer. */
int tcp_choose_wscale(uint32_t rcvbuf)
{
	int ws = 0;
	while (ws < TCP_MAX_WSCALE && (65535u << ws) < rcvbuf)
		ws++;
	return ws;
}

void tcp_init_xfer(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t mss = US_MIN(c->peer_mss, tcp_mss_for_mtu(st));
	mss = US_MIN(mss, tcp_path_mss(st, c)); /* RFC 1191 cache */

	if (c->user_mss && c->user_mss < mss)
		mss = c->user_mss;
	/* RFC 7323 3.2: options every segment. A peer's MSS option may be
	 * tiny (even 0): the subtraction must not wrap to ~64 KiB. */
	uint32_t optlen = tcp_ts_optlen(c);
	mss = mss > optlen ? mss - optlen : 0;
	if (mss < TCP_MIN_MSS)
		mss = TCP_MIN_MSS;
	c->mss = (uint16_t)mss;
	/* RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)); one segment if
	 * the SYN or SYN-ACK had to be repeated (RFC 5681 3.1). */
	if (c->syn_retransmitted)
		c->cwnd = mss;
	else
		c->cwnd = US_MIN(TCP_IW_SEGS * mss, US_MAX(2 * mss, 14600u));
	/* RFC 5681 3.1: ssthresh starts arbitrarily high. */
	c->ssthresh = UINT32_MAX / 2;
	c->recover = c->iss;
	c->quickack = TCP_QUICKACKS;
	c->rcv_mss_est = (uint16_t)US_MIN(c->rcv_mss, TCP_DEFAULT_MSS);
	c->cc->init(c);
	tcp_keepalive_reset(st, c);
}
