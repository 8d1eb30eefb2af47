/* The out-of-order queue: segments beyond a hole, sorted by sequence
 * number (kept in ->user), without overlaps: a new segment is trimmed
 * against its neighbours, duplicates are dropped, segments it covers are
 * replaced. Memory is bounded by truesize together with the in-order
 * queue; small buffers are merged (collapsed) before anything is dropped.
 * RFC 9293 3.10.7.4 seventh ("segments with higher beginning sequence
 * numbers may be held for later processing"). */
#include <string.h>

#include "tcp/tcp_conn.h"

static inline uint32_t seg_end(const struct us_pbuf *p)
{
	return p->user + p->len;
}

static void unlink_after(struct pbuf_queue *q, struct us_pbuf *prev,
			 struct us_pbuf *p)
{
	if (prev)
		prev->next = p->next;
	else
		q->head = p->next;
	if (q->tail == p)
		q->tail = prev;
	p->next = NULL;
	q->count--;
	q->bytes -= pbuf_truesize(p);
}

static void link_after(struct pbuf_queue *q, struct us_pbuf *prev,
		       struct us_pbuf *p)
{
	if (prev) {
		p->next = prev->next;
		prev->next = p;
	} else {
		p->next = q->head;
		q->head = p;
	}
	if (q->tail == prev)
		q->tail = p;
	q->count++;
	q->bytes += pbuf_truesize(p);
}

uint32_t tcp_collapse(struct us_stack *st, struct pbuf_queue *q, bool ooo)
{
	struct us_pbuf *prev = NULL, *p = q->head;
	uint32_t freed = 0;

	while (p) {
		struct us_pbuf *next = p->next;
		if (prev && p->len <= pbuf_tailroom(prev) &&
		    (!ooo || seg_end(prev) == p->user)) {
			memcpy(prev->data + prev->len, p->data, p->len);
			prev->len += p->len;
			unlink_after(q, prev, p);
			freed += pbuf_truesize(p);
			pbuf_free(p);
			STAT_INC(st, tcp_collapsed);
		} else {
			prev = p;
		}
		p = next;
	}
	return freed;
}

static bool mem_ok(const struct tcp_conn *c, uint32_t need)
{
	return c->rcvq.bytes + c->ooo.bytes + need <= c->rcvbuf;
}

void tcp_ooo_insert(struct us_stack *st, struct tcp_conn *c,
		    struct us_pbuf *p, uint32_t seq, bool fin)
{
	struct pbuf_queue *q = &c->ooo;
	struct us_pbuf *prev = NULL, *next;
	uint32_t end = seq + p->len;

	if (fin) {
		c->ooo_fin = true;
		c->ooo_fin_seq = end;
	}
	p->user = seq;
	/* The last segment starting at or before seq; usually the tail. */
	if (q->tail && seq_leq(q->tail->user, seq)) {
		prev = q->tail;
	} else {
		for (struct us_pbuf *it = q->head; it && seq_leq(it->user, seq);
		     it = it->next)
			prev = it;
	}
	if (prev && seq_geq(seg_end(prev), end)) {
		STAT_INC(st, tcp_ooo_dup);
		pbuf_free(p);
		return;
	}
	if (prev && seq_gt(seg_end(prev), seq)) {
		uint32_t d = seg_end(prev) - seq;
		pbuf_pull(p, d);
		seq += d;
		p->user = seq;
	}
	/* Segments the new one covers entirely go. */
	next = prev ? prev->next : q->head;
	while (next && seq_leq(seg_end(next), end)) {
		struct us_pbuf *n2 = next->next;
		unlink_after(q, prev, next);
		pbuf_free(next);
		STAT_INC(st, tcp_ooo_dup);
		next = n2;
	}
	if (next && seq_lt(next->user, end))
		p->len -= end - next->user;
	if (prev && seg_end(prev) == seq && p->len <= pbuf_tailroom(prev)) {
		memcpy(prev->data + prev->len, p->data, p->len);
		prev->len += p->len;
		pbuf_free(p);
		return;
	}
	if (!mem_ok(c, pbuf_truesize(p))) {
		tcp_collapse(st, q, true);
		if (!mem_ok(c, pbuf_truesize(p))) {
			STAT_INC(st, tcp_drop_ooo_mem);
			pbuf_free(p);
			return;
		}
		/* Collapsing may have merged prev away: find it again. */
		prev = NULL;
		for (struct us_pbuf *it = q->head; it && seq_leq(it->user, seq);
		     it = it->next)
			prev = it;
	}
	link_after(q, prev, p);
}

uint32_t tcp_ooo_drain(struct us_stack *st, struct tcp_conn *c)
{
	struct pbuf_queue *q = &c->ooo;
	struct us_pbuf *p;
	uint32_t moved = 0;

	while ((p = q->head) && seq_leq(p->user, c->rcv_nxt)) {
		unlink_after(q, NULL, p);
		if (seq_leq(seg_end(p), c->rcv_nxt)) {
			pbuf_free(p);
			continue;
		}
		pbuf_pull(p, c->rcv_nxt - p->user);
		c->rcv_nxt += p->len;
		moved += p->len;
		tcp_rcvq_append(st, c, p);
	}
	return moved;
}
