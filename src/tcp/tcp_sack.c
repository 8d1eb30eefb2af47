/* Selective acknowledgment: negotiation and blocks (RFC 2018), D-SACK
 * (RFC 2883), and the sender's scoreboard and loss recovery (RFC 6675).
 *
 * Receiver: the blocks describe the out-of-order queue, the block
 * holding the most recently received segment first (RFC 2018 4); a
 * duplicate segment is reported once as a D-SACK first block.
 *
 * Sender: the scoreboard is a short sorted list of SACKed ranges above
 * SND.UNA (bounded: if it overflows, the highest range is forgotten,
 * which costs at most a needless retransmission). Recovery follows RFC
 * 6675 5: entered on the third duplicate ACK or when IsLost(HighACK+1);
 * while cwnd - pipe allows a segment, resend the first lost hole above
 * HighRxt (NextSeg rule 1), then new data (rule 2, through tcp_output
 * with the window cwnd - pipe), then rule 3 (a hole below the highest
 * SACKed byte, not yet deemed lost). Rule 4 (the rescue retransmission)
 * is not implemented; the retransmission timer covers that case.
 * D-SACK blocks are counted and otherwise ignored (tolerated). */
#include <string.h>

#include "tcp/tcp_conn.h"

#define DUPTHRESH 3 /* RFC 6675 2 */

/* ---- negotiation ------------------------------------------------------ */

void tcp_sack_syn(struct us_stack *st, struct tcp_conn *c,
		  const struct tcp_seg *s)
{
	/* RFC 2018 2: used only if both SYNs carry SACK-permitted. */
	c->sack_ok =
	    !tcp_of(st)->no_sack && (s->opt.present & TCP_OPT_SACK_PERM);
	c->nsb = 0;
}

/* ---- receiver ---------------------------------------------------------- */

void tcp_sack_ooo_rcvd(struct tcp_conn *c, uint32_t seq)
{
	c->rcv_last_ooo = seq;
}

void tcp_sack_dup_rcvd(struct tcp_conn *c, uint32_t start, uint32_t end)
{
	if (!c->sack_ok || start == end)
		return;
	c->dsack_start = start;
	c->dsack_end = end;
	c->dsack_pending = true;
}

/* The out-of-order runs, into blk (at most max); returns how many. The
 * run holding the latest arrival first, the others from the highest
 * down (the newest data is usually highest). */
static uint32_t ooo_runs(const struct tcp_conn *c, uint32_t (*blk)[2],
			 uint32_t max)
{
	uint32_t runs[64][2], n = 0, out = 0, first = UINT32_MAX;

	for (struct us_pbuf *p = c->ooo.head; p; p = p->next) {
		uint32_t s = (uint32_t)p->user, e = s + p->len;
		if (n && runs[n - 1][1] == s) {
			runs[n - 1][1] = e;
		} else if (n < US_ARRAY_SIZE(runs)) {
			runs[n][0] = s;
			runs[n][1] = e;
			n++;
		} else {
			break;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (seq_geq(c->rcv_last_ooo, runs[i][0]) &&
		    seq_lt(c->rcv_last_ooo, runs[i][1]))
			first = i;
	if (first != UINT32_MAX && out < max) {
		blk[out][0] = runs[first][0];
		blk[out][1] = runs[first][1];
		out++;
	}
	for (uint32_t i = n; i-- > 0 && out < max;) {
		if (i == first)
			continue;
		blk[out][0] = runs[i][0];
		blk[out][1] = runs[i][1];
		out++;
	}
	return out;
}

/* Options for a segment: SACK-permitted on a SYN we send (offered on an
 * active open, answered on a passive one); on other segments the
 * blocks, in the room left (option space, and a data segment must not
 * grow beyond the MSS in use). Returns the bytes written at b. */
uint32_t tcp_sack_emit(struct us_stack *st, struct tcp_conn *c, uint8_t *b,
		       uint32_t room, uint8_t flags, uint32_t len)
{
	if (flags & TCP_SYN) {
		bool offer = c->state == TCP_SYN_SENT ? !tcp_of(st)->no_sack
						      : c->sack_ok;
		if (!offer || room < 4)
			return 0;
		b[0] = TCPOPT_NOP;
		b[1] = TCPOPT_NOP;
		b[2] = TCPOPT_SACK_PERM;
		b[3] = 2;
		return 4;
	}
	if (!c->sack_ok || !(flags & TCP_ACK) || (flags & TCP_RST))
		return 0;
	if (!c->ooo.head && !c->dsack_pending)
		return 0;
	if (len) {
		uint32_t spare = c->mss > len ? c->mss - len : 0;
		room = US_MIN(room, spare);
	}
	if (room < 12)
		return 0;
	uint32_t max = US_MIN((room - 4) / 8, 4u), n = 0;
	uint32_t blk[4][2];
	if (c->dsack_pending) {
		/* RFC 2883 4: the duplicate first, reported once. */
		blk[0][0] = c->dsack_start;
		blk[0][1] = c->dsack_end;
		n = 1;
		c->dsack_pending = false;
	}
	n += ooo_runs(c, blk + n, max - n);
	b[0] = TCPOPT_NOP;
	b[1] = TCPOPT_NOP;
	b[2] = TCPOPT_SACK;
	b[3] = (uint8_t)(2 + 8 * n);
	for (uint32_t i = 0; i < n; i++) {
		wr32(b + 4 + 8 * i, blk[i][0]);
		wr32(b + 8 + 8 * i, blk[i][1]);
	}
	return 4 + 8 * n;
}

/* ---- sender: the scoreboard ------------------------------------------ */

static void sb_trim(struct tcp_conn *c)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < c->nsb; i++) {
		if (seq_leq(c->sb[i].end, c->snd_una))
			continue;
		c->sb[k] = c->sb[i];
		if (seq_lt(c->sb[k].start, c->snd_una))
			c->sb[k].start = c->snd_una;
		k++;
	}
	c->nsb = (uint8_t)k;
}

static void sb_add(struct tcp_conn *c, uint32_t s, uint32_t e)
{
	uint32_t i = 0, n = c->nsb;

	while (i < n && seq_lt(c->sb[i].end, s))
		i++;
	/* Merge every range that touches [s, e). */
	uint32_t j = i;
	while (j < n && seq_leq(c->sb[j].start, e)) {
		s = seq_min(s, c->sb[j].start);
		e = seq_max(e, c->sb[j].end);
		j++;
	}
	if (j == i && n == TCP_SACK_SB) {
		if (i == n)
			return; /* full, and this would be the highest */
		n--;		/* forget the highest range */
		if (j > n)
			j = n;
	}
	uint32_t tail = n - j;
	memmove(&c->sb[i + 1], &c->sb[j], tail * sizeof(c->sb[0]));
	c->sb[i].start = s;
	c->sb[i].end = e;
	c->nsb = (uint8_t)(i + 1 + tail);
}

/* The SACK blocks of an acceptable ACK. RFC 2883 4: a first block below
 * the cumulative ACK, or inside the second, reports a duplicate. */
void tcp_sack_rcvd(struct us_stack *st, struct tcp_conn *c,
		   const struct tcp_seg *s)
{
	const struct tcp_opts *o = &s->opt;
	uint32_t una = seq_max(s->ack, c->snd_una);

	if (!c->sack_ok || !(o->present & TCP_OPT_SACK))
		return;
	for (uint32_t i = 0; i < o->nsack; i++) {
		uint32_t bs = o->sack[i].start, be = o->sack[i].end;
		if (i == 0 && (seq_leq(be, s->ack) ||
			       (o->nsack > 1 && seq_geq(bs, o->sack[1].start) &&
				seq_leq(be, o->sack[1].end)))) {
			STAT_INC(st, tcp_dsack_rx);
			continue;
		}
		/* Only what we sent and is not yet cumulatively acked. */
		if (!seq_lt(bs, be) || seq_gt(be, c->snd_max) ||
		    seq_leq(be, una))
			continue;
		sb_add(c, seq_max(bs, una), be);
	}
}

void tcp_sack_acked(struct tcp_conn *c)
{
	if (c->nsb)
		sb_trim(c);
}

static uint32_t sacked_in(const struct tcp_conn *c, uint32_t a, uint32_t b)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->nsb; i++) {
		uint32_t s = seq_max(c->sb[i].start, a);
		uint32_t e = seq_min(c->sb[i].end, b);
		if (seq_lt(s, e))
			n += e - s;
	}
	return n;
}

/* RFC 6675 4 IsLost, as a boundary: every un-SACKed byte below it has
 * DupThresh SACKed ranges, or more than (DupThresh - 1) * SMSS SACKed
 * bytes, above it. */
static uint32_t lost_edge(const struct tcp_conn *c)
{
	uint32_t bytes = 0;
	for (uint32_t k = c->nsb, segs = 0; k-- > 0;) {
		uint32_t len = c->sb[k].end - c->sb[k].start;
		bytes += len;
		segs += (len + c->mss - 1) / c->mss;
		if (segs >= DUPTHRESH || bytes > (DUPTHRESH - 1) * c->mss)
			return c->sb[k].start;
	}
	return c->snd_una;
}

/* RFC 6675 4 SetPipe: un-SACKed bytes not deemed lost, plus those
 * retransmitted (below HighRxt). */
static uint32_t pipe(const struct tcp_conn *c)
{
	uint32_t una = c->snd_una, edge = lost_edge(c);
	uint32_t rxt = seq_max(una, seq_min(c->high_rxt, c->snd_max));
	uint32_t out = (c->snd_max - una) - sacked_in(c, una, c->snd_max);
	uint32_t lost = (edge - una) - sacked_in(c, una, edge);
	uint32_t again = (rxt - una) - sacked_in(c, una, rxt);
	return out - lost + again;
}

uint32_t tcp_sack_wnd(const struct tcp_conn *c)
{
	uint32_t p = pipe(c);
	return (c->snd_nxt - c->snd_una) + (c->cwnd > p ? c->cwnd - p : 0);
}

/* NextSeg rule 1: the first un-SACKed byte at or above from, *start,
 * and the end of its hole, *end. */
static bool next_hole(const struct tcp_conn *c, uint32_t from, uint32_t *start,
		      uint32_t *end)
{
	for (uint32_t i = 0; i < c->nsb; i++) {
		if (seq_leq(c->sb[i].end, from))
			continue;
		if (seq_lt(from, c->sb[i].start)) {
			*start = from;
			*end = c->sb[i].start;
			return true;
		}
		from = c->sb[i].end;
	}
	*start = from;
	*end = c->snd_max;
	return seq_lt(from, c->snd_max);
}

/* RFC 6675 5 step (C): send while cwnd - pipe >= 1 SMSS. */
static void sack_xmit(struct us_stack *st, struct tcp_conn *c)
{
	for (int guard = 0; guard < 256; guard++) {
		if (pipe(c) + c->mss > c->cwnd)
			break;
		uint32_t from = seq_max(c->high_rxt, c->snd_una), seq, end;
		uint32_t edge = lost_edge(c);
		if (!next_hole(c, from, &seq, &end) || !seq_lt(seq, edge))
			break;
		uint32_t len = US_MIN(end - seq, edge - seq);
		len = US_MIN(len, (uint32_t)c->mss);
		if (tcp_xmit_at(st, c, seq, len) < 0)
			break;
		STAT_INC(st, tcp_sack_retransmit);
		c->high_rxt = seq + len;
	}
	tcp_output(st, c); /* rule 2: new data within cwnd - pipe */
	/* Rule 3: room left and no new data went: a hole above HighRxt
	 * that is not yet deemed lost (below the highest SACKed byte; the
	 * tail beyond it is left to the timer). */
	for (int guard = 0; guard < 256 && c->nsb; guard++) {
		if (pipe(c) + c->mss > c->cwnd)
			break;
		uint32_t from = seq_max(c->high_rxt, c->snd_una), seq, end;
		uint32_t top = c->sb[c->nsb - 1].end;
		if (!next_hole(c, from, &seq, &end) || !seq_lt(seq, top))
			break;
		uint32_t len = US_MIN(end - seq, (uint32_t)c->mss);
		if (tcp_xmit_at(st, c, seq, len) < 0)
			break;
		STAT_INC(st, tcp_sack_retransmit);
		c->high_rxt = seq + len;
	}
}

/* A duplicate ACK (dupacks counted). True if SACK recovery took it. */
bool tcp_sack_dupack(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->sack_ok || (!c->nsb && !(c->in_recovery && c->sack_rec))) {
		if (!c->in_recovery)
			c->sack_rec = false;
		return false;
	}
	if (c->in_recovery) {
		if (!c->sack_rec)
			return false; /* a NewReno recovery runs on */
		sack_xmit(st, c);
		return true;
	}
	/* RFC 6675 5 step (4): DupThresh duplicates or IsLost(HighACK+1);
	 * RFC 6582 4.1 ("recover") as for NewReno. */
	if ((c->dupacks < DUPTHRESH && seq_geq(c->snd_una, lost_edge(c))) ||
	    !seq_gt(c->snd_una, c->recover)) {
		c->sack_rec = false;
		return false;
	}
	c->recover = c->snd_max;
	c->cc->enter_recovery(c);
	c->cwnd = c->ssthresh; /* RFC 6675 5 (4.2): no inflation */
	c->in_recovery = true;
	c->sack_rec = true;
	c->partial_seen = false;
	STAT_INC(st, tcp_fast_retransmit);
	/* (4.3): the first segment goes out in any case. */
	uint32_t start, end;
	if (next_hole(c, c->snd_una, &start, &end) &&
	    tcp_xmit_at(st, c, c->snd_una,
			US_MIN(end - c->snd_una, (uint32_t)c->mss)) >= 0) {
		STAT_INC(st, tcp_sack_retransmit);
		c->high_rxt =
		    c->snd_una + US_MIN(end - c->snd_una, (uint32_t)c->mss);
	} else {
		c->high_rxt = c->snd_una;
	}
	sack_xmit(st, c);
	return true;
}

/* A partial ACK in SACK recovery: no deflation (pipe does the
 * accounting); the timer restarts (RFC 6298 5.3) and more goes out. */
bool tcp_sack_partial(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->sack_rec)
		return false;
	STAT_INC(st, tcp_partial_ack);
	tcp_rtx_arm(st, c);
	sack_xmit(st, c);
	return true;
}
