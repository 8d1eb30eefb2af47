/* Keepalive (RFC 1122 4.2.3.6) and the user timeout (RFC 5482, RFC 9293
 * 3.10.1 USER TIMEOUT).
 *
 * Keepalive: after keep_idle_s without any segment from the peer, send
 * a probe (an old sequence number and no data, which the peer must
 * answer with an ACK), then one every keep_intvl_s; after keep_cnt
 * unanswered probes the connection fails with ETIMEDOUT. Defaults are
 * RFC 1122's two hours (and Linux's 75 s and 9 probes). The timer is
 * not moved on every segment: it fires, looks at the time of the last
 * segment received and sleeps again for what is left.
 *
 * User timeout: data left unacknowledged that long fails the connection
 * with ETIMEDOUT, in place of the retry count; with keepalive it also
 * bounds how long unanswered probes may go on (as Linux). */
#include <errno.h>

#include "tcp/tcp_conn.h"

#define KEEP_IDLE_S 7200
#define KEEP_INTVL_S 75
#define KEEP_CNT 9

int tcp_keep_idle_s(const struct tcp_conn *c)
{
	return c->keep_idle_s ? c->keep_idle_s : KEEP_IDLE_S;
}
int tcp_keep_intvl_s(const struct tcp_conn *c)
{
	return c->keep_intvl_s ? c->keep_intvl_s : KEEP_INTVL_S;
}
int tcp_keep_cnt(const struct tcp_conn *c)
{
	return c->keep_cnt ? c->keep_cnt : KEEP_CNT;
}

static bool keep_state(enum tcp_state s)
{
	return s == TCP_ESTABLISHED || s == TCP_CLOSE_WAIT ||
	       s == TCP_FIN_WAIT_2;
}

static uint64_t last_heard(const struct tcp_conn *c)
{
	return c->last_rcv;
}

void tcp_keepalive_reset(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->keepalive || !keep_state(c->state)) {
		timer_cancel(&st->wheel, &c->keep_timer);
		return;
	}
	if (!c->last_rcv)
		c->last_rcv = st->now;
	c->keep_probes = 0;
	timer_arm(&st->wheel, &c->keep_timer,
		  last_heard(c) + (uint64_t)tcp_keep_idle_s(c) * US_NS_PER_S);
}

void tcp_keepalive_rcvd(struct us_stack *st, struct tcp_conn *c)
{
	c->last_rcv = st->now;
	c->keep_probes = 0;
}

static void keep_fire(struct us_stack *st, struct us_timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, keep_timer);
	uint64_t idle = (uint64_t)tcp_keep_idle_s(c) * US_NS_PER_S;
	uint64_t intvl = (uint64_t)tcp_keep_intvl_s(c) * US_NS_PER_S;
	uint64_t elapsed = st->now - last_heard(c);
	uint64_t next;

	if (!c->keepalive || !keep_state(c->state))
		return;
	if (tcp_flight(c) || tcp_unsent(c)) {
		/* Data is outstanding: the retransmission timer (and the
		 * user timeout) watch the peer, not keepalive. */
		next = idle;
	} else if (elapsed >= idle) {
		uint64_t ut = (uint64_t)c->user_timeout_ms * US_NS_PER_MS;
		bool dead = ut ? elapsed >= ut && c->keep_probes > 0
			       : c->keep_probes >= tcp_keep_cnt(c);
		if (dead) {
			STAT_INC(st, tcp_keepalive_timeout);
			tcp_done(st, c, c->soft_err ? c->soft_err : ETIMEDOUT);
			tcp_reap(st, c);
			return;
		}
		STAT_INC(st, tcp_keepalive_probe);
		tcp_send_probe(st, c);
		c->keep_probes++;
		next = intvl;
	} else {
		next = idle - elapsed;
	}
	timer_arm(&st->wheel, &c->keep_timer, st->now + next);
}

void tcp_keepalive_init(struct tcp_conn *c)
{
	timer_init(&c->keep_timer, keep_fire);
}

void tcp_keepalive_stop(struct us_stack *st, struct tcp_conn *c)
{
	timer_cancel(&st->wheel, &c->keep_timer);
}

/* Called on a retransmission timeout, after retries was counted: give
 * up now? With a user timeout the bound is time since the oldest
 * unacknowledged data was (last) sent or acknowledged, which is when the
 * first of these timeouts was armed, one RTO before it fired. */
bool tcp_rtx_give_up(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->user_timeout_ms)
		return c->retries > tcp_of(st)->retries;
	if (c->retries == 1)
		c->ut_start = st->now - (uint64_t)c->rto_ms * US_NS_PER_MS;
	if (st->now - c->ut_start < (uint64_t)c->user_timeout_ms * US_NS_PER_MS)
		return false;
	STAT_INC(st, tcp_user_timeout);
	return true;
}

/* The next timeout comes no later than the user timeout's end. */
void tcp_user_timeout_clamp(struct us_stack *st, struct tcp_conn *c,
			    uint64_t delay_ns)
{
	if (!c->user_timeout_ms || c->rtx_mode != TCP_TM_RTX)
		return;
	uint64_t end =
	    c->ut_start + (uint64_t)c->user_timeout_ms * US_NS_PER_MS;
	if (st->now + delay_ns > end && end > st->now)
		tcp_timer_arm_mode(st, c, TCP_TM_RTX, end - st->now);
}
