/* Building and sending segments: data within the send and congestion
 * windows with Nagle and sender-side silly window avoidance, SYN, ACK,
 * RST, window probes. Each segment is a fresh pool buffer with the
 * payload copied from the send buffer, so a segment in a device queue
 * never shares memory with one kept for retransmission. */
#include <errno.h>
#include <string.h>

#include "net/ip4.h"
#include "tcp/tcp_conn.h"

/* Copy len bytes of the send buffer starting at seq into dst. The cursor
 * makes the common case (the next new segment) start where the last one
 * ended. */
static void sndq_copy(struct tcp_conn *c, uint32_t seq, uint8_t *dst,
		      uint32_t len)
{
	uint32_t base = c->snd_end - c->sndq_len;
	struct us_pbuf *p;
	uint32_t off;

	if (c->cur_p && seq_geq(seq, c->cur_seq)) {
		p = c->cur_p;
		off = c->cur_off + (seq - c->cur_seq);
	} else {
		p = c->sndq.head;
		off = c->sndq_off + (seq - base);
	}
	while (p && off >= p->len && p->next) {
		off -= p->len;
		p = p->next;
	}
	while (len && p) {
		uint32_t n = US_MIN(len, p->len - off);
		memcpy(dst, p->data + off, n);
		dst += n;
		len -= n;
		seq += n;
		off += n;
		if (off == p->len && p->next) {
			p = p->next;
			off = 0;
		}
	}
	c->cur_p = p;
	c->cur_off = off;
	c->cur_seq = seq;
}

/* RFC 9293 3.8.6.2.2 (receiver SWS avoidance) and 3.8.6 (MUST NOT
 * shrink... SHOULD NOT): the right edge moves only forward, and only by
 * at least min(half the buffer, one MSS). */
uint16_t tcp_wnd_field(struct tcp_conn *c, bool syn)
{
	uint32_t space = tcp_rcv_space(c);

	if (syn) {
		/* RFC 7323 2.2: the window of a SYN is never scaled. */
		uint32_t w = US_MIN(space, 65535u);
		c->rcv_adv = c->rcv_nxt + w;
		return (uint16_t)w;
	}
	uint32_t cur =
	    seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t sws = US_MIN(c->rcvbuf / 2, (uint32_t)c->rcv_mss);
	uint32_t win = space;
	if (win < cur || win - cur < sws)
		win = cur;
	uint32_t ws = c->ws_ok ? c->rcv_wscale : 0;
	uint32_t field = win >> ws;
	if (field > 65535)
		field = 65535;
	else if (seq_lt(c->rcv_nxt + (field << ws), c->rcv_adv))
		field++; /* rounding down must not shrink the window */
	c->rcv_adv = seq_max(c->rcv_adv, c->rcv_nxt + (field << ws));
	return (uint16_t)field;
}

static void route_err(struct tcp_conn *c, int rc)
{
	if (rc == -EHOSTUNREACH || rc == -ENETUNREACH)
		c->soft_err = -rc;
}

/* Build one segment of c at seq with len bytes from the send buffer and
 * hand it to IP. reserve: may use the pool's reserve (ACK, RST). */
static int xmit(struct us_stack *st, struct tcp_conn *c, uint32_t seq,
		uint32_t len, uint8_t flags, bool reserve)
{
	uint8_t opts[TCP_MAX_HLEN - TCP_HLEN];
	uint32_t optlen = 0;

	if (flags & TCP_SYN) {
		bool ws = c->state == TCP_SYN_SENT || c->ws_ok;
		optlen = tcp_emit_syn_opts(opts, c->rcv_mss,
					   ws ? c->rcv_wscale : -1);
	}
	optlen += tcp_ts_emit(st, c, opts + optlen, flags);
	optlen += tcp_sack_emit(st, c, opts + optlen, sizeof(opts) - optlen,
				flags, len);
	uint32_t hlen = TCP_HLEN + optlen;
	struct us_pbuf *p =
	    pbuf_alloc(&st->pool, hlen + len, reserve ? PBUF_ALLOC_RESERVE : 0);
	if (!p) {
		STAT_INC(st, tcp_tx_nobuf);
		return -ENOBUFS;
	}
	p->len = hlen + len;
	if (len)
		sndq_copy(c, seq, p->data + hlen, len);
	struct tcp_hdr h = {
	    .sport = c->lport,
	    .dport = c->rport,
	    .seq = seq,
	    .ack = (flags & TCP_ACK) ? c->rcv_nxt : 0,
	    .doff = (uint8_t)hlen,
	    .flags = flags,
	    .wnd = (flags & TCP_RST) ? 0 : tcp_wnd_field(c, flags & TCP_SYN),
	};
	tcp_emit(p->data, &h);
	memcpy(p->data + TCP_HLEN, opts, optlen);
	uint32_t src = inaddr_v4(&c->laddr), dst = inaddr_v4(&c->raddr);
	tcp_fill_csum4(src, dst, p->data, p->len);
	if (flags & TCP_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->ack_now = false;
		if (c->quickack)
			c->quickack--;
		tcp_delack_stop(st, c);
	}
	STAT_INC(st, tcp_tx);
	c->info.segs_out++;
	if (len) {
		STAT_ADD(st, tcp_tx_data_bytes, len);
		c->info.data_segs_out++;
		c->info.bytes_sent += len;
		c->info.last_data_sent = st->now;
		if (seq_lt(seq, c->snd_max)) {
			c->info.total_retrans++;
			c->info.bytes_retrans += len;
		}
	}
	struct ip4_tx tx = {
	    .src = src, .dst = dst, .proto = TCP_PROTO, .df = 1};
	int rc = ip4_output(st, p, &tx);
	route_err(c, rc);
	return rc;
}

static uint32_t cwnd_eff(const struct tcp_conn *c)
{
	if (c->in_recovery && c->sack_rec)
		return tcp_sack_wnd(c); /* RFC 6675: cwnd - pipe */
	/* RFC 3042: the first two duplicate ACKs each let one segment of
	 * new data out (limited transmit); never a retransmission. */
	if (!c->in_recovery && c->dupacks && c->dupacks < 3 &&
	    c->snd_nxt == c->snd_max)
		return c->cwnd + c->dupacks * (uint32_t)c->mss;
	return c->cwnd;
}

/* Send a segment shorter than the MSS now? Sender SWS avoidance
 * (RFC 9293 3.8.6.2.1) and Nagle (RFC 9293 3.7.4, RFC 1122 4.2.3.4) in
 * Minshall's form, as Linux: a short segment waits only while an earlier
 * short segment is unacknowledged, so the tail of a large write (a
 * request or a response) goes out at once. */
static bool send_small_ok(const struct tcp_conn *c, uint32_t len,
			  uint32_t unsent, bool fin)
{
	if (c->sws_override || seq_lt(c->snd_nxt, c->snd_max))
		return true; /* override timeout, or a retransmission */
	if (len < unsent)
		return len >= c->max_snd_wnd / 2;
	if (fin || c->nodelay)
		return true;
	return !seq_gt(c->snd_sml, c->snd_una);
}

/* RFC 5681 4.1: after an idle time longer than the RTO the ACK clock is
 * gone; start again from the restart window, min(IW, cwnd), rather than
 * send a whole old window in one burst. */
static void restart_after_idle(struct us_stack *st, struct tcp_conn *c)
{
	if (c->snd_una != c->snd_max || !tcp_unsent(c) || !c->idle_since ||
	    st->now - c->idle_since <= (uint64_t)c->rto_ms * US_NS_PER_MS)
		return;
	uint32_t iw = US_MIN(TCP_IW_SEGS * (uint32_t)c->mss,
			     US_MAX(2u * c->mss, 14600u));
	if (c->cwnd > iw)
		c->cwnd = iw;
	c->idle_since = st->now;
}

void tcp_output(struct us_stack *st, struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		if (c->snd_nxt == c->iss)
			tcp_send_syn(st, c);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	restart_after_idle(st, c);
	for (;;) {
		uint32_t unsent = tcp_unsent(c);
		bool fin_pending =
		    c->fin_queued && seq_leq(c->snd_nxt, c->snd_end);
		if (!unsent && !fin_pending)
			break;
		uint32_t wnd = US_MIN(c->snd_wnd, cwnd_eff(c));
		uint32_t off = c->snd_nxt - c->snd_una;
		uint32_t avail = wnd > off ? wnd - off : 0;
		uint32_t len = US_MIN(US_MIN(unsent, avail), (uint32_t)c->mss);
		bool fin = fin_pending && len == unsent;
		if (!len && !fin)
			break;
		if (len && len < c->mss && !send_small_ok(c, len, unsent, fin))
			break;
		uint8_t flags = TCP_ACK;
		if (fin)
			flags |= TCP_FIN;
		if (len && len == unsent)
			flags |= TCP_PSH;
		uint32_t seq = c->snd_nxt;
		bool rexmit = seq_lt(seq, c->snd_max);
		if (xmit(st, c, seq, len, flags, false) == -ENOBUFS)
			break;
		if (rexmit) {
			STAT_INC(st, tcp_retransmits);
		} else if (!c->rtt_timing && len) {
			c->rtt_timing = true;
			c->rtt_seq = seq;
			c->rtt_time = st->now;
		}
		if (len < c->mss)
			c->snd_sml = seq + len;
		c->snd_nxt = seq + len + (fin ? 1u : 0u);
		c->snd_max = seq_max(c->snd_max, c->snd_nxt);
		c->idle_since = st->now;
		/* RFC 6298 5.1: start the timer if it is not running. */
		if (c->rtx_mode != TCP_TM_RTX || !timer_pending(&c->rtx_timer))
			tcp_rtx_arm(st, c);
		if (fin)
			break;
	}
	c->sws_override = false;
	/* Data waits but nothing is in flight to bring an ACK: probe the
	 * window (or override the SWS hold) on the persist timer. */
	if (tcp_unsent(c) && c->snd_una == c->snd_max &&
	    !timer_pending(&c->rtx_timer))
		tcp_persist_arm(st, c);
}

int tcp_xmit_at(struct us_stack *st, struct tcp_conn *c, uint32_t seq,
		uint32_t maxlen)
{
	if (seq == c->iss &&
	    (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)) {
		tcp_send_syn(st, c);
		return 0;
	}
	uint32_t left = seq_lt(seq, c->snd_end) ? c->snd_end - seq : 0;
	uint32_t len = US_MIN(US_MIN(maxlen, (uint32_t)c->mss), left);
	bool fin = c->fin_queued && seq + len == c->snd_end &&
		   seq_gt(c->snd_max, c->snd_end);
	if (!len && !fin)
		return 0;
	uint8_t flags = TCP_ACK;
	if (len && seq + len == c->snd_end)
		flags |= TCP_PSH;
	if (fin)
		flags |= TCP_FIN;
	c->rtt_timing = false; /* Karn's rule */
	STAT_INC(st, tcp_retransmits);
	return xmit(st, c, seq, len, flags, false);
}

void tcp_send_ack(struct us_stack *st, struct tcp_conn *c)
{
	xmit(st, c, c->snd_max, 0, TCP_ACK, true);
}

void tcp_ack_later(struct us_stack *st, struct tcp_conn *c, bool now)
{
	/* RFC 5681 4.2: at least every second full-sized segment; quick
	 * ACKs while the connection starts so slow start is not slowed. */
	if (now || c->quickack ||
	    c->rcv_nxt - c->last_ack_sent >= 2u * c->rcv_mss_est)
		c->ack_now = true;
	else
		tcp_delack_arm(st, c);
}

void tcp_ack_flush(struct us_stack *st, struct tcp_conn *c)
{
	if (c->ack_now)
		tcp_send_ack(st, c);
}

void tcp_send_syn(struct us_stack *st, struct tcp_conn *c)
{
	uint8_t flags = TCP_SYN;

	if (c->state == TCP_SYN_RECEIVED)
		flags |= TCP_ACK;
	xmit(st, c, c->iss, 0, flags, false);
	c->snd_nxt = c->iss + 1;
	c->snd_max = seq_max(c->snd_max, c->snd_nxt);
	if (!c->syn_retransmitted && !c->rtt_timing) {
		c->rtt_timing = true;
		c->rtt_seq = c->iss;
		c->rtt_time = st->now;
	}
	tcp_rtx_arm(st, c);
}

void tcp_send_rst_conn(struct us_stack *st, struct tcp_conn *c)
{
	/* RFC 9293 3.10.4 ABORT: <SEQ=SND.NXT><CTL=RST>; the highest
	 * sequence sent is the one the peer is most likely to expect. */
	if (xmit(st, c, c->snd_max, 0, TCP_RST | TCP_ACK, true) != -ENOBUFS)
		STAT_INC(st, tcp_rst_tx);
}

void tcp_send_rst_reply(struct us_stack *st, const struct tcp_seg *s)
{
	struct tcp_hdr h = {
	    .sport = s->h.dport,
	    .dport = s->h.sport,
	    .doff = TCP_HLEN,
	};

	if (s->h.flags & TCP_RST)
		return; /* RFC 9293 3.10.7.1: never answer a RST */
	/* RFC 9293 3.10.7.1: if the ACK bit is set <SEQ=SEG.ACK><CTL=RST>,
	 * else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
	if (s->h.flags & TCP_ACK) {
		h.seq = s->h.ack;
		h.flags = TCP_RST;
	} else {
		h.ack = s->h.seq + s->len + !!(s->h.flags & TCP_SYN) +
			!!(s->h.flags & TCP_FIN);
		h.flags = TCP_RST | TCP_ACK;
	}
	struct us_pbuf *p = pbuf_alloc(&st->pool, TCP_HLEN, PBUF_ALLOC_RESERVE);
	if (!p) {
		STAT_INC(st, tcp_tx_nobuf);
		return;
	}
	p->len = TCP_HLEN;
	tcp_emit(p->data, &h);
	uint32_t src = inaddr_v4(&s->dst), dst = inaddr_v4(&s->src);
	tcp_fill_csum4(src, dst, p->data, p->len);
	STAT_INC(st, tcp_tx);
	STAT_INC(st, tcp_rst_tx);
	struct ip4_tx tx = {
	    .src = src, .dst = dst, .proto = TCP_PROTO, .df = 1};
	ip4_output(st, p, &tx);
}

void tcp_send_challenge_ack(struct us_stack *st, struct tcp_conn *c)
{
	uint64_t sec = st->now / US_NS_PER_S;

	if (sec != c->chal_sec) {
		c->chal_sec = sec;
		c->chal_count = 0;
	}
	if (c->chal_count >= TCP_CHALLENGE_PER_S) {
		STAT_INC(st, tcp_challenge_ack_limited);
		return;
	}
	c->chal_count++;
	STAT_INC(st, tcp_challenge_ack);
	tcp_send_ack(st, c);
}

/* The ACK answering a segment dropped by the sequence test or PAWS (RFC
 * 9293 3.10.7.4 first, RFC 7323 5.3 R1), at most one per TCP_OOW_ACK_MS
 * per connection, as Linux: two ends that disagree about the window (or
 * a forged stream of such segments) would otherwise trade ACKs without
 * end (RFC 5961 10). Like Linux, a segment with data or a FIN and no SYN
 * is always answered: it is no part of an ACK loop, and what it usually
 * is wants its answer (a duplicate its D-SACK, RFC 2883; a FIN repeated
 * to TIME-WAIT the final ACK). */
void tcp_send_oow_ack(struct us_stack *st, struct tcp_conn *c,
		      const struct tcp_seg *s)
{
	if (s->end == s->seq || (s->flags & TCP_SYN)) {
		if (c->oow_ack_time &&
		    st->now - c->oow_ack_time <
			(uint64_t)TCP_OOW_ACK_MS * US_NS_PER_MS) {
			STAT_INC(st, tcp_oow_ack_limited);
			return;
		}
		c->oow_ack_time = st->now;
	}
	tcp_send_ack(st, c);
}

void tcp_send_probe(struct us_stack *st, struct tcp_conn *c)
{
	/* An already acknowledged sequence number: the peer finds it out
	 * of window and answers with an ACK carrying its window. */
	xmit(st, c, c->snd_una - 1, 0, TCP_ACK, true);
}
