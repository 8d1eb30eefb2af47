/* TCP timers on the stack's wheel: retransmission (RFC 6298), persist
 * (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17), TIME_WAIT, the FIN_WAIT_2
 * timeout of a closed socket, and the delayed ACK (RFC 9293 3.8.6.3).
 * Retransmission, persist, TIME_WAIT and FIN_WAIT_2 never run together,
 * so they share one timer whose mode says what it is for. */
#include <errno.h>

#include "tcp/tcp_conn.h"

#define TCP_MAX_BACKOFF 16

static uint64_t ms_ns(uint64_t ms)
{
	return ms * US_NS_PER_MS;
}

void tcp_timer_arm_mode(struct us_stack *st, struct tcp_conn *c,
			enum tcp_rtx_mode m, uint64_t delay_ns)
{
	c->rtx_mode = (uint8_t)m;
	timer_arm(&st->wheel, &c->rtx_timer, st->now + delay_ns);
}

uint32_t tcp_rto_base(struct us_stack *st, const struct tcp_conn *c)
{
	(void)st;
	return c->rto_ms;
}

/* RFC 6298 5.5: the timer backs off by doubling, up to the maximum. */
static uint64_t backed_off_ms(struct us_stack *st, const struct tcp_conn *c)
{
	uint64_t ms = (uint64_t)c->rto_ms << c->backoff;
	uint32_t max = tcp_of(st)->rto_max_ms;
	return ms > max ? max : ms;
}

void tcp_rtx_arm(struct us_stack *st, struct tcp_conn *c)
{
	tcp_timer_arm_mode(st, c, TCP_TM_RTX, ms_ns(backed_off_ms(st, c)));
}

void tcp_rtx_stop(struct us_stack *st, struct tcp_conn *c)
{
	if (c->rtx_mode == TCP_TM_RTX || c->rtx_mode == TCP_TM_PERSIST) {
		timer_cancel(&st->wheel, &c->rtx_timer);
		c->rtx_mode = TCP_TM_NONE;
	}
}

void tcp_persist_arm(struct us_stack *st, struct tcp_conn *c)
{
	if (c->rtx_mode == TCP_TM_PERSIST && timer_pending(&c->rtx_timer))
		return;
	c->backoff = 0;
	tcp_timer_arm_mode(st, c, TCP_TM_PERSIST, ms_ns(backed_off_ms(st, c)));
}

void tcp_delack_arm(struct us_stack *st, struct tcp_conn *c)
{
	if (!timer_pending(&c->delack_timer))
		timer_arm(&st->wheel, &c->delack_timer,
			  st->now + ms_ns(tcp_of(st)->delack_ms));
}

void tcp_delack_stop(struct us_stack *st, struct tcp_conn *c)
{
	timer_cancel(&st->wheel, &c->delack_timer);
}

void tcp_timers_stop(struct us_stack *st, struct tcp_conn *c)
{
	timer_cancel(&st->wheel, &c->rtx_timer);
	timer_cancel(&st->wheel, &c->delack_timer);
	tcp_keepalive_stop(st, c);
	c->rtx_mode = TCP_TM_NONE;
}

/* RFC 6298 2.2-2.4, in microseconds; G (clock granularity) is 1 ms. */
void tcp_rtt_sample(struct us_stack *st, struct tcp_conn *c, uint32_t rtt_us)
{
	struct tcp_stack *ts = tcp_of(st);

	if (rtt_us == 0)
		rtt_us = 1;
	if (c->srtt_us == 0) {
		c->srtt_us = rtt_us;
		c->rttvar_us = rtt_us / 2;
	} else {
		uint32_t d = c->srtt_us > rtt_us ? c->srtt_us - rtt_us
						 : rtt_us - c->srtt_us;
		c->rttvar_us = (3 * c->rttvar_us + d) / 4;
		c->srtt_us = (7 * c->srtt_us + rtt_us) / 8;
	}
	uint64_t rto_us =
	    (uint64_t)c->srtt_us + US_MAX(1000u, 4 * c->rttvar_us);
	uint64_t ms = (rto_us + 999) / 1000;
	/* RFC 6298 2.4 rounds up to 1 s; the minimum is configurable (200 ms
	 * by default, as Linux), 2.5 caps it. */
	if (ms < ts->rto_min_ms)
		ms = ts->rto_min_ms;
	if (ms > ts->rto_max_ms)
		ms = ts->rto_max_ms;
	c->rto_ms = (uint32_t)ms;
}

static void give_up(struct us_stack *st, struct tcp_conn *c)
{
	STAT_INC(st, tcp_timeout);
	tcp_done(st, c, c->soft_err ? c->soft_err : ETIMEDOUT);
}

static void backoff_more(struct tcp_conn *c)
{
	if (c->backoff < TCP_MAX_BACKOFF)
		c->backoff++;
}

/* RFC 6298 5.4-5.7 and RFC 5681 3.1: resend the earliest unacknowledged
 * segment with the loss window, back off. */
static void rtx_timeout(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_stack *ts = tcp_of(st);
	uint32_t limit;

	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		limit = c->parent ? ts->synack_retries : ts->syn_retries;
		if (++c->retries > limit) {
			give_up(st, c);
			return;
		}
		if (c->state == TCP_SYN_SENT)
			STAT_INC(st, tcp_syn_retrans);
		else
			STAT_INC(st, tcp_synack_retrans);
		c->syn_retransmitted = true;
		c->rtt_timing = false;
		backoff_more(c);
		tcp_send_syn(st, c);
		return;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	c->retries++;
	if (tcp_rtx_give_up(st, c)) { /* retries, or TCP_USER_TIMEOUT */
		give_up(st, c);
		return;
	}
	STAT_INC(st, tcp_rto);
	c->cc->on_rto(c);
	c->in_recovery = false;
	c->partial_seen = false;
	c->dupacks = 0;
	/* RFC 6582 3.2 step 1 (and 4.1): no fast retransmit for duplicate
	 * ACKs of data sent before the timeout. */
	c->recover = c->snd_max;
	c->rtt_timing = false; /* Karn: no sample from a retransmission */
	c->snd_nxt = c->snd_una;
	backoff_more(c);
	tcp_output(st, c);
	/* A window the peer closed (or shrank below what is in flight) let
	 * nothing out: the first unacknowledged segment goes anyway, so the
	 * closed window is probed (RFC 9293 3.8.6.1; Linux retransmits the
	 * head beyond the window too) and its ACK brings the window back;
	 * sending nothing would leave only timeouts until give_up(). */
	if (c->snd_nxt == c->snd_una)
		tcp_xmit_at(st, c, c->snd_una, c->mss);
	if (!timer_pending(&c->rtx_timer))
		tcp_rtx_arm(st, c);
	tcp_user_timeout_clamp(st, c, ms_ns(backed_off_ms(st, c)));
}

/* RFC 9293 3.8.6.1: keep probing a zero window, backing off; a probe is
 * an old sequence number with no data, which the peer must answer with
 * its current window. */
static void persist_timeout(struct us_stack *st, struct tcp_conn *c)
{
	if (c->snd_wnd > 0 || !tcp_unsent(c) ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT &&
	     c->state != TCP_FIN_WAIT_1 && c->state != TCP_CLOSING &&
	     c->state != TCP_LAST_ACK)) {
		/* RFC 9293 3.8.6.2.1: the override timeout; what the window
		 * allows goes even if it is small. */
		c->sws_override = true;
		tcp_output(st, c);
		return;
	}
	/* RFC 9293 3.8.6.1: the receiver may keep its window closed
	 * indefinitely, as long as it answers the probes (tcp_ack_process
	 * clears the count on each answer). One that stops answering is
	 * gone, as after unanswered retransmissions (RFC 1122 4.2.3.5; Linux
	 * counts probes against tcp_retries2 the same way); otherwise a
	 * peer could hold a connection, closed by its user or not, forever
	 * by announcing a zero window and going silent. */
	c->retries++;
	if (tcp_rtx_give_up(st, c)) {
		give_up(st, c);
		return;
	}
	STAT_INC(st, tcp_zero_window_probe);
	tcp_send_probe(st, c);
	backoff_more(c);
	tcp_timer_arm_mode(st, c, TCP_TM_PERSIST, ms_ns(backed_off_ms(st, c)));
}

static void rtx_fire(struct us_stack *st, struct us_timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, rtx_timer);
	enum tcp_rtx_mode m = c->rtx_mode;

	c->rtx_mode = TCP_TM_NONE;
	switch (m) {
	case TCP_TM_RTX:
		rtx_timeout(st, c);
		break;
	case TCP_TM_PERSIST:
		persist_timeout(st, c);
		break;
	case TCP_TM_TIMEWAIT:
		tcp_done(st, c, 0);
		break;
	case TCP_TM_FINWAIT2:
		STAT_INC(st, tcp_fin_wait2_timeout);
		tcp_done(st, c, 0);
		break;
	default:
		break;
	}
	tcp_reap(st, c);
}

static void delack_fire(struct us_stack *st, struct us_timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, delack_timer);

	if (!tcp_synchronized(c->state) || c->state == TCP_TIME_WAIT)
		return;
	STAT_INC(st, tcp_delayed_ack);
	tcp_send_ack(st, c);
}

void tcp_timers_init(struct tcp_conn *c)
{
	timer_init(&c->rtx_timer, rtx_fire);
	timer_init(&c->delack_timer, delack_fire);
	tcp_keepalive_init(c);
}
