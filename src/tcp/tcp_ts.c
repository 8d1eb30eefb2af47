/* TCP timestamps (RFC 7323 3-5): negotiation, the option on every
 * segment, PAWS, TS.Recent, and RTT samples from echoed values.
 *
 * The clock: milliseconds of the stack's clock plus a per-connection
 * offset, a keyed hash of the 4-tuple (RFC 7323 5.4, 7.1), so a peer
 * learns neither the host's uptime nor other connections' clocks, and
 * the SYN-cookie path can recompute it from the 4-tuple alone.
 *
 * Deviation: RFC 7323 3.2 says a non-RST segment without the option on
 * a connection that negotiated it SHOULD be dropped; like Linux we
 * accept it (and skip PAWS for it). */
#include "tcp/tcp_conn.h"

#define TS_OPTLEN 12 /* NOP NOP kind len TSval TSecr */
/* RFC 7323 5.5: TS.Recent is invalid after 24 days idle. */
#define TS_RECENT_MAX_NS (24ull * 24 * 3600 * US_NS_PER_S)

uint32_t tcp_ts_now(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->ts_off_set) {
		c->ts_offset = (uint32_t)tcp_tuple_hash(
		    st, TCP_KEY_TS, &c->laddr, c->lport, &c->raddr, c->rport);
		c->ts_off_set = true;
	}
	return (uint32_t)(st->now / US_NS_PER_MS) + c->ts_offset;
}

uint32_t tcp_ts_optlen(const struct tcp_conn *c)
{
	return c->ts_ok ? TS_OPTLEN : 0;
}

/* The option for a segment of c with these flags, at b; bytes written.
 * A SYN offers it (active open), a SYN-ACK only answers an offer. */
uint32_t tcp_ts_emit(struct us_stack *st, struct tcp_conn *c, uint8_t *b,
		     uint8_t flags)
{
	bool offer = (flags & TCP_SYN) && c->state == TCP_SYN_SENT;
	if (!c->ts_ok && !offer)
		return 0;
	b[0] = TCPOPT_NOP;
	b[1] = TCPOPT_NOP;
	b[2] = TCPOPT_TS;
	b[3] = 10;
	uint32_t v = tcp_ts_now(st, c);
	if (c->cookie_tsbits) {
		/* tcp_cookie.c: the options ride in the low bits, never
		 * ahead of the real clock, or the connection's next TSval
		 * would look old to the peer's PAWS. */
		uint32_t real = v;
		v = (v & ~0x3fu) | c->cookie_tsbits;
		if ((int32_t)(v - real) > 0)
			v -= 0x40u;
	}
	wr32(b + 4, v);
	/* RFC 7323 3.2: TSecr is 0 unless the ACK bit is set. */
	wr32(b + 8, (flags & TCP_ACK) ? c->ts_recent : 0);
	return TS_OPTLEN;
}

/* The peer's SYN (or SYN-ACK): RFC 7323 3.2, in use only if both sent
 * it. */
void tcp_ts_syn(struct us_stack *st, struct tcp_conn *c,
		const struct tcp_seg *s)
{
	bool peer = s->opt.present & TCP_OPT_TS;

	/* Active: we offered; passive: we answer an offer. */
	c->ts_ok = peer;
	if (c->ts_ok) {
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = st->now;
	}
}

/* RFC 7323 5.3 R1 (PAWS), before the sequence check: a segment whose
 * TSval is older than TS.Recent is an old duplicate; drop it and send
 * an ACK. False if dropped. */
bool tcp_ts_paws(struct us_stack *st, struct tcp_conn *c,
		 const struct tcp_seg *s)
{
	if (!c->ts_ok || !(s->opt.present & TCP_OPT_TS) || (s->flags & TCP_RST))
		return true;
	if ((int32_t)(s->opt.tsval - c->ts_recent) >= 0)
		return true;
	if (st->now - c->ts_recent_age > TS_RECENT_MAX_NS) {
		/* RFC 7323 5.5: too old to judge by; start again. */
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = st->now;
		return true;
	}
	STAT_INC(st, tcp_drop_paws);
	tcp_send_oow_ack(st, c, s); /* rate-limited */
	return false;
}

/* RFC 7323 4.3 and 5.3 R3, after the sequence check: remember the
 * TSval of a segment that covers the last ACK we sent (so we echo the
 * one that made the peer send, not a later or delayed one). */
void tcp_ts_update(struct us_stack *st, struct tcp_conn *c,
		   const struct tcp_seg *s)
{
	if (!c->ts_ok || !(s->opt.present & TCP_OPT_TS))
		return;
	if ((int32_t)(s->opt.tsval - c->ts_recent) >= 0 &&
	    seq_leq(s->seq, c->last_ack_sent)) {
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = st->now;
	}
}

/* RFC 7323 4: an ACK of new data echoing our timestamp gives an RTT
 * sample even when the classic timed segment cannot (it was
 * retransmitted, Karn's rule); the echo names the transmission that
 * was acknowledged. The classic sample (microseconds) is kept when it
 * applies, since our TSval ticks in milliseconds. */
void tcp_ts_ack(struct us_stack *st, struct tcp_conn *c,
		const struct tcp_seg *s)
{
	if (!c->ts_ok || !(s->opt.present & TCP_OPT_TS) || !s->opt.tsecr)
		return;
	if (!seq_gt(s->ack, c->snd_una))
		return;
	if (c->rtt_timing && seq_gt(s->ack, c->rtt_seq))
		return;
	uint32_t ms = tcp_ts_now(st, c) - s->opt.tsecr;
	if ((int32_t)ms < 0 || ms > 3600u * 1000u)
		return; /* not an echo of ours */
	tcp_rtt_sample(st, c, ms ? ms * 1000u : 500u);
}
