/* Received text and FIN (RFC 9293 3.10.7.4 seventh and eighth): the
 * in-order queue, hand-off to the out-of-order queue, the ACK policy
 * (RFC 5681 4.2), memory bounds by truesize, the receive window. */
#include <string.h>
#include <sys/epoll.h>

#include "tcp/tcp_conn.h"

#define TCP_FRAME_OVERHEAD 54u /* Ethernet, IPv4, TCP headers */

/* What a peer may still send: free buffer space converted to payload at
 * the ratio of an MSS-sized segment to the buffer holding it, since
 * memory is accounted by truesize. Out-of-order data lies inside the
 * window already offered and is bounded separately. */
uint32_t tcp_rcv_space(const struct tcp_conn *c)
{
	uint32_t used = c->rcvq.bytes;
	if (used >= c->rcvbuf)
		return 0;
	uint32_t frame = c->rcv_mss + TCP_FRAME_OVERHEAD + PBUF_HEADROOM;
	uint64_t ts = (frame <= PBUF_SMALL_SIZE	   ? PBUF_SMALL_SIZE
		       : frame <= PBUF_MEDIUM_SIZE ? PBUF_MEDIUM_SIZE
						   : PBUF_LARGE_SIZE) +
		      sizeof(struct us_pbuf);
	return (uint32_t)((uint64_t)(c->rcvbuf - used) * c->rcv_mss / ts);
}

/* Append in-order data: copied into the last buffer when it fits (a
 * stream of small segments then costs a few buffers, not one each). */
void tcp_rcvq_append(struct us_stack *st, struct tcp_conn *c, struct us_pbuf *p)
{
	struct us_pbuf *t = c->rcvq.tail;

	c->rcvq_len += p->len;
	c->info.bytes_received += p->len;
	STAT_ADD(st, tcp_rx_data_bytes, p->len);
	if (t && p->len <= pbuf_tailroom(t)) {
		memcpy(t->data + t->len, p->data, p->len);
		t->len += p->len;
		pbuf_free(p);
		return;
	}
	pbufq_push(&c->rcvq, p);
}

/* Room for p: in the last buffer, or a buffer more within the bound.
 * One buffer is always taken, so a tiny SO_RCVBUF still moves data. */
static bool rcv_fits(const struct tcp_conn *c, const struct us_pbuf *p)
{
	const struct us_pbuf *t = c->rcvq.tail;

	if (!c->rcvq.count || (t && p->len <= pbuf_tailroom(t)))
		return true;
	return c->rcvq.bytes + c->ooo.bytes + pbuf_truesize(p) <= c->rcvbuf;
}

static bool rcv_mem_ok(struct us_stack *st, struct tcp_conn *c,
		       struct us_pbuf *p)
{
	if (rcv_fits(c, p))
		return true;
	tcp_collapse(st, &c->rcvq, false);
	if (rcv_fits(c, p))
		return true;
	/* In-order data is worth more than data beyond a hole (Linux
	 * prunes its out-of-order queue the same way). */
	if (c->ooo.count) {
		STAT_ADD(st, tcp_drop_ooo_mem, c->ooo.count);
		pbufq_purge(&c->ooo);
		c->ooo_fin = false;
	}
	return rcv_fits(c, p);
}

/* Eighth: the FIN, in sequence. */
static void fin_in(struct us_stack *st, struct tcp_conn *c)
{
	c->ooo_fin = false;
	c->rcv_nxt++;
	c->fin_rcvd = true;
	c->ack_now = true;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		tcp_set_state(st, c, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		/* Our FIN is not acknowledged yet (else FIN-WAIT-2):
		 * simultaneous close. */
		tcp_set_state(st, c, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2:
		tcp_enter_timewait(st, c);
		break;
	default:
		break;
	}
	tcp_notify(st, c, EPOLLIN | EPOLLRDHUP);
}

void tcp_data_in(struct us_stack *st, struct tcp_conn *c, struct tcp_seg *s)
{
	bool fin = s->flags & TCP_FIN;

	if (s->len) {
		c->info.data_segs_in++;
		c->info.last_data_recv = st->now;
	}

	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
		break;
	default:
		/* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's FIN
		 * came already; text beyond it is ignored (RFC 9293). */
		if (s->len)
			STAT_INC(st, tcp_drop_after_fin);
		c->ack_now = true;
		return;
	}
	/* Data for a socket the user closed cannot be delivered: RST
	 * (RFC 9293 3.10.7.4 note, RFC 2525 2.17; Linux's
	 * TCPAbortOnData). */
	if (s->len && !c->user && !c->parent) {
		STAT_INC(st, tcp_abort_on_data);
		tcp_send_rst_conn(st, c);
		tcp_done(st, c, 0);
		return;
	}
	if (s->seq != c->rcv_nxt) {
		/* Beyond a hole: keep for later, and send a duplicate ACK at
		 * once (RFC 5681 4.2) so the sender's fast retransmit works. */
		if (s->len) {
			tcp_sack_ooo_rcvd(c, s->seq);
			tcp_ooo_insert(st, c, s->p, s->seq, fin);
			s->p = NULL;
		} else if (fin) {
			c->ooo_fin = true;
			c->ooo_fin_seq = s->seq;
		}
		tcp_ack_later(st, c, true);
		return;
	}
	if (s->len) {
		if (!rcv_mem_ok(st, c, s->p)) {
			STAT_INC(st, tcp_drop_rcv_mem);
			c->ack_now = true;
			return;
		}
		bool had_hole = c->ooo.count || c->ooo_fin;
		c->rcv_nxt += s->len;
		if (s->len > c->rcv_mss_est)
			c->rcv_mss_est = (uint16_t)US_MIN(s->len, c->rcv_mss);
		tcp_rcvq_append(st, c, s->p);
		s->p = NULL;
		if (c->ooo.count)
			tcp_ooo_drain(st, c);
		tcp_notify(st, c, EPOLLIN);
		/* RFC 5681 4.2: filling a hole is acknowledged at once. */
		tcp_ack_later(st, c, had_hole);
	}
	if (fin || (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt))
		fin_in(st, c);
}
