/* RFC 9293 3.10.7.4: segment arrival in SYN-RECEIVED, ESTABLISHED,
 * FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT, in
 * the RFC's order: sequence check, RST, SYN, ACK, (URG), text, FIN, with
 * RFC 5961's protections against blind RST, SYN and data injection. */
#include <errno.h>

#include "tcp/tcp_conn.h"

static uint32_t rcv_wnd(const struct tcp_conn *c)
{
	return seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

static bool in_rcv_window(const struct tcp_conn *c, uint32_t seq, uint32_t wnd)
{
	return seq_geq(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd);
}

/* RFC 9293 3.10.7.4 first: the four cases of the acceptability test. A
 * zero-length segment at the right edge is accepted too (as Linux does):
 * it is the pure ACK of a peer that filled our window, and dropping it
 * would throw its acknowledgment away. */
static bool seq_acceptable(const struct tcp_conn *c, const struct tcp_seg *s)
{
	uint32_t wnd = rcv_wnd(c);
	uint32_t seglen =
	    s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);

	if (seglen == 0)
		return seq_geq(s->seq, c->rcv_nxt) &&
		       seq_leq(s->seq, c->rcv_nxt + wnd);
	if (wnd == 0)
		return false;
	return in_rcv_window(c, s->seq, wnd) ||
	       in_rcv_window(c, s->seq + seglen - 1, wnd);
}

/* Cut the segment to the window: bytes before RCV.NXT are old, bytes
 * beyond the right edge are not ours to keep (RFC 9293 3.10.7.4 first,
 * "trimmed"). */
static void trim(struct us_stack *st, struct tcp_conn *c, struct tcp_seg *s)
{
	if (seq_lt(s->seq, c->rcv_nxt)) {
		uint32_t d = c->rcv_nxt - s->seq;
		if (s->flags & TCP_SYN) {
			s->flags &= (uint8_t)~TCP_SYN;
			s->seq++;
			d--;
		}
		d = US_MIN(d, s->len);
		if (d) {
			tcp_sack_dup_rcvd(c, s->seq, s->seq + d); /* RFC 2883 */
			STAT_INC(st, tcp_dup_data);
			pbuf_pull(s->p, d);
			s->len -= d;
			s->seq += d;
		}
	}
	uint32_t right = c->rcv_nxt + rcv_wnd(c);
	if (seq_gt(s->seq + s->len, right)) {
		uint32_t cut = s->seq + s->len - right;
		cut = US_MIN(cut, s->len);
		s->len -= cut;
		s->p->len = s->len;
		s->flags &= (uint8_t)~TCP_FIN;
	}
}

/* False if the segment is dropped here. */
static bool check_seq(struct us_stack *st, struct tcp_conn *c,
		      struct tcp_seg *s)
{
	if (seq_acceptable(c, s)) {
		/* A SYN is not trimmed away with the old bytes: RFC 5961 4.2
		 * answers it with a challenge ACK whatever its sequence
		 * number (the fourth step), and nothing of it is kept. */
		if (!(s->flags & TCP_SYN))
			trim(st, c, s);
		return true;
	}
	if (s->flags & TCP_RST) {
		STAT_INC(st, tcp_drop_rst_ignored);
		return false;
	}
	/* A closed window still takes valid ACKs and RSTs (RFC 9293
	 * 3.10.7.4 first): a zero-window probe's ACK field is used, its
	 * data dropped. */
	if (rcv_wnd(c) == 0 && s->seq == c->rcv_nxt) {
		STAT_INC(st, tcp_drop_zero_window);
		s->len = 0;
		s->p->len = 0;
		s->flags &= (uint8_t) ~(TCP_FIN | TCP_SYN);
		c->ack_now = true;
		return true;
	}
	STAT_INC(st, tcp_drop_out_of_window);
	if (s->len && seq_lt(s->seq, c->rcv_nxt)) /* RFC 2883: a duplicate */
		tcp_sack_dup_rcvd(c, s->seq,
				  seq_min(s->seq + s->len, c->rcv_nxt));
	/* TIME-WAIT: a retransmitted FIN restarts the 2 MSL wait. */
	if (c->state == TCP_TIME_WAIT && (s->flags & TCP_FIN))
		tcp_timer_arm_mode(st, c, TCP_TM_TIMEWAIT,
				   2 * tcp_of(st)->msl_ns);
	tcp_send_oow_ack(st, c, s); /* rate-limited */
	return false;
}

/* Second: RST. RFC 5961 3.2: only an exact RCV.NXT resets; anywhere
 * else in the window earns a (rate-limited) challenge ACK. The test is
 * on the segment's own SEG.SEQ (s->h.seq), not on s->seq, which trim()
 * moved up to RCV.NXT when the RST carried payload starting before it:
 * otherwise a blind RST with L bytes of data would reset from any of L
 * sequence numbers instead of exactly one. */
static void input_rst(struct us_stack *st, struct tcp_conn *c,
		      struct tcp_seg *s)
{
	if (s->h.seq != c->rcv_nxt) {
		tcp_send_challenge_ack(st, c);
		return;
	}
	STAT_INC(st, tcp_rst_rx);
	switch (c->state) {
	case TCP_SYN_RECEIVED:
		/* Passive: the embryo is dropped (the listener stays);
		 * active (simultaneous open): connection refused. */
		tcp_done(st, c, c->parent ? 0 : ECONNREFUSED);
		break;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		STAT_INC(st, tcp_estab_resets);
		tcp_done(st, c, ECONNRESET);
		break;
	default:
		/* CLOSING, LAST-ACK, TIME-WAIT. In TIME-WAIT this is the
		 * "assassination" RFC 1337 warns of; like Linux's default
		 * (tcp_rfc1337 = 0) we follow RFC 9293 and close, since
		 * RFC 5961 already demands the exact sequence number. */
		tcp_done(st, c, 0);
		break;
	}
}

/* Fifth, in SYN-RECEIVED: the ACK completing the handshake. */
static bool synrcvd_ack(struct us_stack *st, struct tcp_conn *c,
			struct tcp_seg *s)
{
	if (seq_leq(s->ack, c->snd_una) || seq_gt(s->ack, c->snd_max)) {
		STAT_INC(st, tcp_drop_bad_ack);
		tcp_send_rst_reply(st, s);
		return false;
	}
	if (c->parent && !tcp_child_established(st, c)) {
		/* Accept queue full: drop the ACK; the peer repeats it (or
		 * its data) and we retry, as Linux does. */
		STAT_INC(st, tcp_drop_accept_queue_full);
		return false;
	}
	tcp_set_state(st, c, TCP_ESTABLISHED);
	c->snd_wnd = s->wnd;
	c->max_snd_wnd = s->wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	tcp_init_xfer(st, c);
	if (c->fin_queued)
		tcp_set_state(st, c, TCP_FIN_WAIT_1);
	tcp_notify(st, c, EPOLLOUT);
	return true;
}

void tcp_input_sync(struct us_stack *st, struct tcp_conn *c, struct tcp_seg *s)
{
	/* Our SYN-ACK was lost and the peer repeats its SYN: repeat the
	 * SYN-ACK. */
	if (c->state == TCP_SYN_RECEIVED &&
	    (s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    s->seq == c->irs) {
		STAT_INC(st, tcp_synack_retrans);
		c->rtt_timing = false;
		c->syn_retransmitted = true;
		tcp_send_syn(st, c);
		return;
	}
	/* Simultaneous open (RFC 9293 3.5 figure 8, line 6): the peer's
	 * SYN-ACK repeats the SYN we already took and acknowledges ours; it
	 * completes the handshake (Linux accepts it the same way). */
	if (c->state == TCP_SYN_RECEIVED && !c->parent &&
	    (s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) &&
	    s->seq == c->irs && s->ack == c->snd_max) {
		s->flags &= (uint8_t)~TCP_SYN;
		s->seq++;
	}
	if (!tcp_ts_paws(st, c, s) || !check_seq(st, c, s))
		return;
	tcp_ts_update(st, c, s);
	if (s->flags & TCP_RST) {
		input_rst(st, c, s);
		return;
	}
	/* Fourth: RFC 5961 4.2, a SYN on a synchronized connection gets a
	 * challenge ACK whatever its sequence number. */
	if (s->flags & TCP_SYN) {
		STAT_INC(st, tcp_drop_syn_in_window);
		tcp_send_challenge_ack(st, c);
		return;
	}
	if (!(s->flags & TCP_ACK)) {
		STAT_INC(st, tcp_drop_no_ack);
		return;
	}
	if (c->state == TCP_SYN_RECEIVED && !synrcvd_ack(st, c, s))
		return;
	if (!tcp_ack_process(st, c, s) || c->state == TCP_CLOSED)
		return;
	/* Keepalive idle time runs from the last acceptable segment (RFC
	 * 1122 4.2.3.6: "no data or acknowledgement packets"): not one that
	 * failed PAWS or the sequence test (an old duplicate or a blind
	 * guess), nor an in-window RST or SYN only challenged, nor an ACK
	 * of unsent or too old data; as Linux, whose rcv_tstamp moves only
	 * past tcp_ack's checks. */
	tcp_keepalive_rcvd(st, c);
	/* Sixth: the urgent pointer is ignored; urgent bytes are delivered
	 * in line as ordinary data (RFC 6093 recommends in-line). */
	if (s->len || (s->flags & TCP_FIN))
		tcp_data_in(st, c, s);
	if (c->state == TCP_CLOSED)
		return;
	tcp_output(st, c);
	tcp_ack_flush(st, c);
}
