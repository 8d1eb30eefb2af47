/* The ACK field in synchronized states (RFC 9293 3.10.7.4 fifth): the
 * send window, RTT samples (RFC 6298), duplicate ACKs, fast retransmit
 * and NewReno fast recovery (RFC 5681 3.2, RFC 6582), congestion window
 * growth through the congestion control's operations, and the
 * transitions an acknowledged FIN brings. */
#include <sys/epoll.h>

#include "tcp/tcp_conn.h"

void tcp_sndq_ack(struct us_stack *st, struct tcp_conn *c, uint32_t n)
{
	uint32_t off = c->sndq_off + n;
	struct us_pbuf *p;

	(void)st;
	c->sndq_len -= US_MIN(n, c->sndq_len);
	while ((p = c->sndq.head) && off >= p->len) {
		off -= p->len;
		pbufq_pop(&c->sndq);
		if (p == c->cur_p)
			c->cur_p = NULL;
		pbuf_free(p);
	}
	c->sndq_off = c->sndq.head ? off : 0;
}

/* RFC 6582 3.2 step 2: three duplicate ACKs start fast retransmit, unless
 * they acknowledge nothing beyond `recover` (data sent before an earlier
 * recovery or timeout). Later duplicates inflate cwnd (step 4). */
static void dupack(struct us_stack *st, struct tcp_conn *c)
{
	if (c->dupacks < 255)
		c->dupacks++;
	if (tcp_sack_dupack(st, c))
		return; /* RFC 6675 recovery */
	if (c->in_recovery) {
		c->cwnd += c->mss;
		return;
	}
	if (c->dupacks != 3 || !seq_gt(c->snd_una, c->recover))
		return;
	c->recover = c->snd_max;
	c->cc->enter_recovery(c);
	c->in_recovery = true;
	c->partial_seen = false;
	STAT_INC(st, tcp_fast_retransmit);
	tcp_xmit_at(st, c, c->snd_una, c->mss);
}

/* RFC 6582 3.2 step 5: a partial ACK resends the first unacknowledged
 * segment and deflates cwnd by the amount acknowledged (adding back one
 * MSS if that was at least an MSS); the timer is reset on the first
 * partial ACK only ("Impatient"), so a long chain of losses ends in a
 * timeout rather than one segment per RTT. */
static void partial_ack(struct us_stack *st, struct tcp_conn *c, uint32_t acked)
{
	if (tcp_sack_partial(st, c))
		return;
	STAT_INC(st, tcp_partial_ack);
	tcp_xmit_at(st, c, c->snd_una, c->mss);
	c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
	if (acked >= c->mss)
		c->cwnd += c->mss;
	if (c->cwnd < c->mss)
		c->cwnd = c->mss;
	if (!c->partial_seen) {
		c->partial_seen = true;
		tcp_rtx_arm(st, c);
	}
}

static void fin_acked(struct us_stack *st, struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		tcp_set_state(st, c, TCP_FIN_WAIT_2);
		/* A closed socket does not wait forever for the peer's FIN
		 * (Linux's tcp_fin_timeout). */
		if (!c->user)
			tcp_timer_arm_mode(st, c, TCP_TM_FINWAIT2,
					   tcp_of(st)->fin_timeout_ns);
		break;
	case TCP_CLOSING:
		tcp_enter_timewait(st, c);
		break;
	case TCP_LAST_ACK:
		tcp_done(st, c, 0);
		break;
	default:
		break;
	}
}

static void new_ack(struct us_stack *st, struct tcp_conn *c, uint32_t ack)
{
	uint32_t acked = ack - c->snd_una;
	/* The ACK of our SYN: SND.UNA at the ISS for the first time only,
	 * not when 2^32 bytes later it comes round to the ISS again. */
	uint32_t syn = c->snd_una == c->iss && !c->syn_acked ? 1u : 0u;
	bool fin = c->fin_queued && seq_gt(ack, c->snd_end);

	c->syn_acked = true;

	/* RFC 6298 2 / Karn: one segment timed at a time, never a
	 * retransmitted one. */
	if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
		c->rtt_timing = false;
		tcp_rtt_sample(st, c,
			       (uint32_t)((st->now - c->rtt_time) / 1000));
	}
	tcp_sndq_ack(st, c, acked - syn - (fin ? 1u : 0u));
	c->info.bytes_acked += acked - syn - (fin ? 1u : 0u);
	c->snd_una = ack;
	tcp_sack_acked(c);
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	c->retries = 0;
	c->backoff = 0;

	if (c->in_recovery) {
		if (seq_geq(ack, c->recover)) {
			/* RFC 6582 3.2 step 3: full acknowledgment. */
			c->in_recovery = false;
			c->dupacks = 0;
			c->cc->exit_recovery(c);
		} else {
			partial_ack(st, c, acked);
		}
	} else {
		c->dupacks = 0;
		/* Keep `recover` just behind SND.UNA so the comparison in
		 * dupack() stays meaningful across wrap-around. */
		if (seq_lt(c->recover, c->snd_una))
			c->recover = c->snd_una - 1;
		/* Data bytes only: the SYN's or FIN's sequence number is no
		 * segment that left the network (cwnd stays whole MSSs). */
		uint32_t data = acked - syn - (fin ? 1u : 0u);
		if (data)
			c->cc->on_ack(c, data, st->now);
	}

	/* RFC 6298 5.2-5.3. */
	if (c->snd_una == c->snd_max)
		tcp_rtx_stop(st, c);
	else if (!c->in_recovery)
		tcp_rtx_arm(st, c);

	if (fin)
		fin_acked(st, c);
	if (c->state != TCP_CLOSED && acked > syn)
		tcp_notify(st, c, EPOLLOUT);
}

bool tcp_ack_process(struct us_stack *st, struct tcp_conn *c, struct tcp_seg *s)
{
	uint32_t ack = s->ack;

	c->info.last_ack_recv = st->now;
	/* RFC 9293 3.10.7.4 fifth and RFC 5961 5.2: acceptable ACKs lie in
	 * [SND.UNA - MAX.SND.WND, SND.NXT]; outside, drop and answer with a
	 * (rate-limited) ACK. */
	if (seq_gt(ack, c->snd_max)) {
		STAT_INC(st, tcp_drop_bad_ack);
		tcp_send_challenge_ack(st, c);
		return false;
	}
	if (seq_lt(ack, c->snd_una)) {
		if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
			STAT_INC(st, tcp_drop_bad_ack);
			tcp_send_challenge_ack(st, c);
			return false;
		}
		return true; /* an old ACK: ignored, the text still counts */
	}

	/* An acceptable ACK answers our window probes: the peer is alive
	 * (see persist_timeout). */
	if (c->rtx_mode == TCP_TM_PERSIST)
		c->retries = 0;

	/* The send window (SND.WL1/WL2 keep old segments from setting it). */
	bool wnd_changed = false;
	if (seq_lt(c->snd_wl1, s->seq) ||
	    (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, ack))) {
		wnd_changed = c->snd_wnd != s->wnd;
		c->snd_wnd = s->wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = ack;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		if (c->snd_wnd && c->rtx_mode == TCP_TM_PERSIST) {
			tcp_rtx_stop(st, c);
			c->backoff = 0;
		}
	}

	/* Data in flight into a closed window: the retransmission timeouts
	 * resend the head beyond the window and are its probes (see
	 * rtx_timeout). An ACK answering one, window still zero, shows the
	 * peer alive, and as with persist_timeout's probes the count starts
	 * again: the peer may keep its window closed as long as it answers
	 * (RFC 1122 4.2.2.17; Linux's tcp_retransmit_timer does not time out
	 * a zero window then). Not for a closed socket, nor under a user
	 * timeout, which bounds the probing by time (both as Linux). */
	if (c->rtx_mode == TCP_TM_RTX && c->snd_wnd == 0 && ack == c->snd_una &&
	    c->snd_max != c->snd_una && c->user && !c->user_timeout_ms)
		c->retries = 0;

	tcp_sack_rcvd(st, c, s);
	if (ack == c->snd_una) {
		/* RFC 5681 2: a duplicate ACK carries no data, no SYN/FIN,
		 * the same window, while data is outstanding. */
		if (!s->len && !(s->flags & (TCP_SYN | TCP_FIN)) &&
		    !wnd_changed && c->snd_max != c->snd_una)
			dupack(st, c);
		return true;
	}
	tcp_ts_ack(st, c, s);
	new_ack(st, c, ack);
	return c->state != TCP_CLOSED;
}
