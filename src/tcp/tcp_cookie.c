/* SYN cookies (RFC 4987 3.6): when a listener's SYN queue is full, the
 * SYN is answered without keeping state, and the connection is made
 * from the ACK that comes back if it returns the cookie.
 *
 * The cookie is our ISN:
 *
 *     bits 31..27  t mod 32, t = now / 64 s (accepted while t or t - 1)
 *     bits 26..24  index of the MSS (the largest in mss_tab <= the
 *                  peer's; RFC 4987 3.6 notes the loss of precision)
 *     bits 23..0   SipHash(secret, 4-tuple, peer's ISN, t)
 *
 * Window scale and SACK need more room: when the peer uses timestamps,
 * they travel in the low 6 bits of our TSval (as Linux does) and come
 * back in TSecr; the rest of the TSval is the connection's usual clock
 * (milliseconds plus the keyed per-4-tuple offset, which the ACK's
 * handling recomputes). Without timestamps the cookie SYN-ACK carries
 * neither option, so both sides agree the connection has none. */
#include <string.h>

#include "tcp/tcp_conn.h"

#define COOKIE_TICK_NS (64ull * US_NS_PER_S)
#define COOKIE_RECENT_NS (2 * COOKIE_TICK_NS)
#define TSB_VALID 0x20u
#define TSB_SACK 0x10u
#define TSB_NOWS 0x0fu

static const uint16_t mss_tab[] = {536, 1200, 1340, 1440, 1460, 4312, 8960};

static uint32_t cookie_hash(struct us_stack *st, const struct tcp_seg *s,
			    uint32_t peer_isn, uint32_t t)
{
	uint8_t m[44];
	memcpy(m, s->dst.b, 16);
	memcpy(m + 16, s->src.b, 16);
	wr16(m + 32, s->h.dport);
	wr16(m + 34, s->h.sport);
	wr32(m + 36, peer_isn);
	wr32(m + 40, t);
	return (uint32_t)tcp_keyed_hash(st, TCP_KEY_COOKIE, m, sizeof(m));
}

uint32_t tcp_cookie_make(struct us_stack *st, const struct tcp_seg *s,
			 uint16_t peer_mss)
{
	uint32_t t = (uint32_t)(st->now / COOKIE_TICK_NS), idx = 0;

	for (uint32_t i = 0; i < US_ARRAY_SIZE(mss_tab); i++)
		if (mss_tab[i] <= peer_mss)
			idx = i;
	return (t & 0x1fu) << 27 | idx << 24 |
	       (cookie_hash(st, s, s->seq, t) & 0xffffffu);
}

/* The MSS if cookie is ours for this ACK's 4-tuple and peer ISN, or 0. */
uint16_t tcp_cookie_check(struct us_stack *st, const struct tcp_seg *s,
			  uint32_t cookie)
{
	uint32_t now_t = (uint32_t)(st->now / COOKIE_TICK_NS);
	uint32_t idx = cookie >> 24 & 7u;

	if (idx >= US_ARRAY_SIZE(mss_tab))
		return 0;
	for (uint32_t age = 0; age < 2; age++) {
		uint32_t t = now_t - age;
		if ((t & 0x1fu) != cookie >> 27)
			continue;
		if ((cookie_hash(st, s, s->seq - 1, t) & 0xffffffu) ==
		    (cookie & 0xffffffu))
			return mss_tab[idx];
	}
	return 0;
}

/* RFC 4987 3.6: the SYN queue is full; answer statelessly. The SYN-ACK
 * is built by a block that lives only for the call. */
void tcp_cookie_send(struct us_stack *st, struct tcp_conn *l, struct tcp_seg *s)
{
	struct tcp_conn *c = tcp_child_from_syn(st, l, s);

	if (!c)
		return;
	c->state = TCP_SYN_RECEIVED;
	if (c->ts_ok) {
		c->cookie_tsbits =
		    (uint8_t)(TSB_VALID | (c->sack_ok ? TSB_SACK : 0) |
			      (c->ws_ok ? c->snd_wscale : TSB_NOWS));
	} else {
		/* Nowhere to remember them: offer neither. */
		c->ws_ok = false;
		c->sack_ok = false;
		c->rcv_wscale = 0;
	}
	c->iss = tcp_cookie_make(st, s, c->peer_mss);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_end = c->iss + 1;
	c->syn_retransmitted = true; /* no RTT timing on a stateless SYN-ACK */
	tcp_send_syn(st, c);
	STAT_INC(st, tcp_syncookie_sent);
	l->cookie_last = st->now;
	tcp_conn_destroy(st, c);
}

/* A bare ACK to a listener: the third segment of a cookie handshake?
 * True if it was taken (a connection made, or dropped for a full accept
 * queue); false to let the listener answer it with a RST. */
bool tcp_cookie_accept(struct us_stack *st, struct tcp_conn *l,
		       struct tcp_seg *s)
{
	if (!l->cookie_last || st->now - l->cookie_last > COOKIE_RECENT_NS)
		return false;
	uint16_t mss = tcp_cookie_check(st, s, s->ack - 1);
	if (!mss) {
		STAT_INC(st, tcp_syncookie_bad);
		return false;
	}
	if (l->accq.n > (uint32_t)l->backlog) {
		STAT_INC(st, tcp_drop_accept_queue_full);
		return true;
	}
	struct tcp_conn *c = tcp_conn_alloc(st);
	if (!c) {
		STAT_INC(st, tcp_drop_nomem);
		return true;
	}
	tcp_child_adopt(l, c);
	c->laddr = s->dst;
	c->raddr = s->src;
	c->rport = s->h.sport;
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->last_ack_sent = s->seq;
	/* What our SYN-ACK offered (RFC 7323 2.2: unscaled). */
	c->rcv_adv = s->seq + US_MIN(tcp_rcv_space(c), 65535u);
	c->iss = s->ack - 1;
	c->snd_una = c->snd_nxt = c->snd_max = c->snd_end = s->ack;
	c->recover = c->iss;
	c->snd_sml = c->iss;
	c->peer_mss = mss;
	c->rcv_wscale = (uint8_t)tcp_choose_wscale(c->rcvbuf);

	/* The options, from TSecr if the peer uses timestamps. */
	uint32_t bits = s->opt.tsecr & 0x3fu;
	c->ws_ok = false;
	c->sack_ok = false;
	if ((s->opt.present & TCP_OPT_TS) && (bits & TSB_VALID)) {
		c->ts_ok = true;
		c->ts_recent = s->opt.tsval;
		c->ts_recent_age = st->now;
		c->sack_ok = (bits & TSB_SACK) && !tcp_of(st)->no_sack;
		if ((bits & TSB_NOWS) != TSB_NOWS) {
			c->ws_ok = true;
			c->snd_wscale =
			    (uint8_t)US_MIN(bits & TSB_NOWS, TCP_MAX_WSCALE);
		}
	}
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->snd_wnd = (uint32_t)s->h.wnd << (c->ws_ok ? c->snd_wscale : 0);
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	tcp_set_state(st, c, TCP_SYN_RECEIVED);
	tcp_ehash_insert(st, c);
	tcp_bhash_insert(st, c);
	tcp_set_state(st, c, TCP_ESTABLISHED);
	tcp_init_xfer(st, c);
	tcp_child_established(st, c);
	STAT_INC(st, tcp_syncookie_ok);
	STAT_INC(st, tcp_passive_opens);
	/* The rest of the segment (data, FIN) as on any connection. */
	s->wnd = c->snd_wnd;
	tcp_input_sync(st, c, s);
	return true;
}
