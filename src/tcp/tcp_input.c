/* Segment arrival (RFC 9293 3.10.7): validation, demultiplexing to a
 * connection, a listener or the closed-port answer; the SYN-SENT state;
 * ICMP errors about segments we sent (RFC 5927, RFC 1122 4.2.3.9). The
 * synchronized states are in tcp_input_sync.c. */
#include <errno.h>
#include <string.h>

#include "net/icmp.h"
#include "net/ip4.h"
#include "tcp/tcp_conn.h"

static bool csum_ok(const struct us_pbuf *p)
{
	/* Verified by the device, or looped back from our own output. */
	if (p->csum == PBUF_CSUM_VERIFIED || p->csum == PBUF_CSUM_PARTIAL ||
	    (p->flags & PBUF_F_LOOP))
		return true;
	return tcp_csum4(p->ip_src, p->ip_dst, p->data, p->len) == 0;
}

/* Flag combinations no state accepts: counted and dropped before any
 * lookup, so scans get no answer and no state is touched. */
static bool bad_flags(uint8_t f)
{
	if ((f & TCP_SYN) && (f & (TCP_RST | TCP_FIN)))
		return true;
	return !(f & (TCP_SYN | TCP_ACK | TCP_RST));
}

/* Parse p (data at the TCP header) into s; false if dropped (counted). */
static bool parse_seg(struct us_stack *st, struct us_pbuf *p, struct tcp_seg *s)
{
	int rc = tcp_parse(p->data, p->len, &s->h);

	if (rc == -TCP_ERR_SHORT) {
		STAT_INC(st, tcp_drop_short);
		return false;
	}
	if (rc < 0) {
		STAT_INC(st, tcp_drop_bad_off);
		return false;
	}
	if (!csum_ok(p)) {
		STAT_INC(st, tcp_drop_csum);
		return false;
	}
	/* RFC 9293 3.9.1.3 / RFC 1122 4.2.3.10: TCP is unicast only. */
	if ((p->flags & PBUF_F_BCAST) || p->ip_dst != st->ip) {
		STAT_INC(st, tcp_drop_not_unicast);
		return false;
	}
	if (bad_flags(s->h.flags)) {
		STAT_INC(st, tcp_drop_bad_flags);
		return false;
	}
	if (s->h.doff > TCP_HLEN)
		tcp_parse_opts(p->data + TCP_HLEN, s->h.doff - TCP_HLEN,
			       &s->opt);
	else
		memset(&s->opt, 0, sizeof(s->opt));
	pbuf_pull(p, s->h.doff);
	s->p = p;
	s->seq = s->h.seq;
	s->ack = s->h.ack;
	s->flags = s->h.flags;
	s->len = p->len;
	s->end =
	    s->seq + s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
	s->wnd = s->h.wnd;
	s->src = inaddr_from_v4(p->ip_src);
	s->dst = inaddr_from_v4(p->ip_dst);
	return true;
}

/* RFC 9293 3.10.7.1: no connection. A RST is dropped; anything else is
 * answered with a RST. */
static void input_closed(struct us_stack *st, struct tcp_seg *s)
{
	STAT_INC(st, tcp_drop_no_conn);
	tcp_send_rst_reply(st, s);
}

/* RFC 9293 3.10.7.4 (TIME-WAIT, SYN) and RFC 6191: a SYN beyond the old
 * connection may start a new incarnation. RFC 6191 2: when the old
 * connection used timestamps and the SYN carries one, its TSval decides
 * (beyond TS.Recent, the last one the old connection took: so a client
 * whose timestamp clock runs on may reuse the 4-tuple whatever its ISN);
 * otherwise its sequence number must lie beyond RCV.NXT (RFC 1122
 * 4.2.2.13). Returns true if the segment was handled here. */
static bool timewait_syn(struct us_stack *st, struct tcp_conn *c,
			 struct tcp_seg *s)
{
	if (!(s->flags & TCP_SYN) || (s->flags & TCP_ACK))
		return false;
	bool ts = c->ts_ok && (s->opt.present & TCP_OPT_TS);
	if (ts ? (int32_t)(s->opt.tsval - c->ts_recent) <= 0
	       : !seq_gt(s->seq, c->rcv_nxt))
		return false;
	struct tcp_conn *l = tcp_lookup_listener(st, &s->dst, s->h.dport);
	if (!l)
		return false;
	/* RFC 1122 4.2.2.13: the new ISN lies beyond the old sequence
	 * space. */
	uint32_t floor = c->snd_max + 65536u * 2;
	STAT_INC(st, tcp_timewait_reuse);
	if (c->user)
		tcp_done(st, c, 0);
	else
		tcp_conn_destroy(st, c);
	tcp_listen_input(st, l, s, &floor);
	return true;
}

void tcp_input(struct us_stack *st, struct us_pbuf *p)
{
	struct tcp_seg s;
	struct tcp_conn *c;

	STAT_INC(st, tcp_rx);
	if (!parse_seg(st, p, &s)) {
		pbuf_free(p);
		return;
	}
	c = tcp_lookup(st, &s.dst, s.h.dport, &s.src, s.h.sport);
	if (c && c->state == TCP_TIME_WAIT && timewait_syn(st, c, &s)) {
		pbuf_free(s.p);
		return;
	}
	if (c) {
		c->info.segs_in++;
		/* RFC 7323 2.2: a SYN's window is never scaled. */
		if (c->ws_ok && !(s.flags & TCP_SYN))
			s.wnd <<= c->snd_wscale;
		if (c->state == TCP_SYN_SENT)
			tcp_input_synsent(st, c, &s);
		else
			tcp_input_sync(st, c, &s);
		tcp_reap(st, c);
	} else {
		struct tcp_conn *l = tcp_lookup_listener(st, &s.dst, s.h.dport);
		if (l)
			tcp_listen_input(st, l, &s, NULL);
		else
			input_closed(st, &s);
	}
	pbuf_free(s.p); /* NULL if the data was queued */
}

/* Take the options of the peer's SYN: MSS (RFC 9293 3.7.1) and window
 * scale (RFC 7323 2.2: used only if both sides send it). */
void tcp_syn_options(struct tcp_conn *c, const struct tcp_seg *s)
{
	c->peer_mss =
	    (s->opt.present & TCP_OPT_MSS) ? s->opt.mss : TCP_DEFAULT_MSS;
	if (s->opt.present & TCP_OPT_WS) {
		c->ws_ok = true;
		c->snd_wscale = s->opt.wscale;
	} else {
		c->ws_ok = false;
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
}

/* RFC 9293 3.10.7.3: SYN-SENT. */
void tcp_input_synsent(struct us_stack *st, struct tcp_conn *c,
		       struct tcp_seg *s)
{
	bool ack = s->flags & TCP_ACK;

	/* First: an ACK must acknowledge our SYN and nothing beyond. */
	if (ack && (seq_leq(s->ack, c->iss) || seq_gt(s->ack, c->snd_max))) {
		STAT_INC(st, tcp_drop_syn_sent);
		if (!(s->flags & TCP_RST))
			tcp_send_rst_reply(st, s);
		return;
	}
	/* Second: a RST counts only with an acceptable ACK (RFC 5961 3.2
	 * keeps this rule for SYN-SENT). */
	if (s->flags & TCP_RST) {
		if (!ack) {
			STAT_INC(st, tcp_drop_syn_sent);
			return;
		}
		STAT_INC(st, tcp_rst_rx);
		tcp_done(st, c, ECONNREFUSED);
		return;
	}
	/* Fourth: the SYN. */
	if (!(s->flags & TCP_SYN)) {
		STAT_INC(st, tcp_drop_syn_sent);
		return;
	}
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt + US_MIN(tcp_rcv_space(c), 65535u);
	c->last_ack_sent = c->irs;
	tcp_syn_options(c, s);
	tcp_ts_syn(st, c, s);
	tcp_sack_syn(st, c, s);
	c->snd_wnd = s->wnd; /* RFC 7323 2.2: not scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if (ack) {
		/* Our SYN is acknowledged: ESTABLISHED. */
		if (c->rtt_timing)
			tcp_rtt_sample(
			    st, c, (uint32_t)((st->now - c->rtt_time) / 1000));
		c->rtt_timing = false;
		c->snd_una = s->ack;
		c->retries = 0;
		c->backoff = 0;
		tcp_rtx_stop(st, c);
		tcp_set_state(st, c, TCP_ESTABLISHED);
		tcp_init_xfer(st, c);
		if (c->fin_queued)
			tcp_set_state(st, c, TCP_FIN_WAIT_1);
		c->ack_now = true;
		/* Data or a FIN that came with the SYN (RFC 9293 3.10.7.3:
		 * continue with the sixth step). */
		s->seq++;
		s->flags &= (uint8_t)~TCP_SYN;
		if (s->len || (s->flags & TCP_FIN))
			tcp_data_in(st, c, s);
		tcp_notify(st, c, EPOLLOUT);
		tcp_output(st, c);
		tcp_ack_flush(st, c);
		return;
	}
	/* Simultaneous open (RFC 9293 3.5, figure 8): SYN-RECEIVED, and
	 * the SYN is answered with a SYN-ACK of our ISS. Data waits for the
	 * handshake to complete. */
	tcp_set_state(st, c, TCP_SYN_RECEIVED);
	c->snd_nxt = c->iss;
	tcp_send_syn(st, c);
}

/* ICMP error about a segment we sent. RFC 5927 4.1: act only if the
 * quoted sequence number is in flight; RFC 1122 4.2.3.9: unreachable
 * codes 2-4 (protocol, port, fragmentation) are hard errors during the
 * handshake, the rest soft; fragmentation needed lowers the MSS
 * (RFC 1191). */
void tcp_err(struct us_stack *st, int type, int code, uint32_t info,
	     const uint8_t *quote, uint32_t len)
{
	if (len < IP4_HLEN)
		return;
	uint32_t ihl = (quote[0] & 0x0fu) * 4u;
	if (ihl < IP4_HLEN || len < ihl + 8 || quote[9] != TCP_PROTO)
		return;
	struct inaddr src = inaddr_from_v4(rdaddr(quote + 12));
	struct inaddr dst = inaddr_from_v4(rdaddr(quote + 16));
	uint16_t sport = rd16(quote + ihl), dport = rd16(quote + ihl + 2);
	uint32_t seq = rd32(quote + ihl + 4);
	struct tcp_conn *c = tcp_lookup(st, &src, sport, &dst, dport);

	if (!c || c->state == TCP_TIME_WAIT || seq_lt(seq, c->snd_una) ||
	    seq_geq(seq, c->snd_max + (c->snd_max == c->snd_una))) {
		STAT_INC(st, tcp_icmp_drop_out_of_window);
		return;
	}
	STAT_INC(st, tcp_icmp_err);
	if (type == ICMP_UNREACH_T && code == ICMP_UNREACH_NEEDFRAG_C) {
		tcp_icmp_frag_needed(st, c, info & 0xffff); /* tcp_icmp.c */
		return;
	}
	int err = EHOSTUNREACH;
	bool hard = false;
	if (type == ICMP_UNREACH_T) {
		hard = code >= 2 && code <= 4;
		err = code == 0 || code == 6 || code == 9 || code == 11
			  ? ENETUNREACH
		      : code == 3 ? ECONNREFUSED
		      : code == 2 ? ENOPROTOOPT
				  : EHOSTUNREACH;
	} else if (type != ICMP_TIMXCEED_T) {
		return;
	}
	if (hard &&
	    (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) &&
	    !c->parent) {
		tcp_done(st, c, err);
		tcp_reap(st, c);
		return;
	}
	c->soft_err = err;
}
