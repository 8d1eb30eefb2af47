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

/* A buffer filled from its first byte to its last: nothing to gain by
 * copying it. */
static bool packed(const struct us_pbuf *p)
{
	return p->data == p->head && pbuf_tailroom(p) == 0;
}

/* Repack the data of q into buffers filled end to end (as Linux's
 * tcp_collapse): a received frame holds its payload behind ~250 bytes of
 * headroom and headers, a small segment wastes nearly all of its buffer,
 * packed data costs only the buffer's own overhead. Runs stay apart in
 * the out-of-order queue (by sequence, in ->user). If the pool runs dry
 * half-way, the rest stays as it is. Returns the truesize freed. */
uint32_t tcp_collapse(struct us_stack *st, struct pbuf_queue *q, bool ooo)
{
	struct pbuf_queue out;
	struct us_pbuf *cur = NULL, *p;
	uint32_t before = q->bytes;

	pbufq_init(&out);
	while ((p = pbufq_pop(q))) {
		if (cur && (packed(p) || (ooo && seg_end(cur) != p->user))) {
			pbufq_push(&out, cur);
			cur = NULL;
		}
		if (!cur && packed(p)) {
			pbufq_push(&out, p);
			continue;
		}
		while (p->len) {
			if (!cur || !pbuf_tailroom(cur)) {
				struct us_pbuf *n = pbuf_alloc(
				    &st->pool, PBUF_SMALL_SIZE - PBUF_HEADROOM,
				    0);
				if (!n)
					goto out_of_buffers;
				if (cur)
					pbufq_push(&out, cur);
				cur = n;
				cur->data = cur->head;
				cur->user = p->user;
			}
			uint32_t k = US_MIN(p->len, pbuf_tailroom(cur));
			memcpy(cur->data + cur->len, p->data, k);
			cur->len += k;
			pbuf_pull(p, k);
			p->user += k;
		}
		pbuf_free(p);
		STAT_INC(st, tcp_collapsed);
	}
	if (cur)
		pbufq_push(&out, cur);
	*q = out;
	return before > q->bytes ? before - q->bytes : 0;

out_of_buffers:
	if (cur)
		pbufq_push(&out, cur);
	pbufq_push(&out, p);
	while ((p = pbufq_pop(q)))
		pbufq_push(&out, p);
	*q = out;
	return before > q->bytes ? before - q->bytes : 0;
}

static bool mem_ok(const struct tcp_conn *c, uint32_t need)
{
	return c->rcvq.bytes + c->ooo.bytes + need <= c->rcvbuf;
}

void tcp_ooo_insert(struct us_stack *st, struct tcp_conn *c, struct us_pbuf *p,
		    uint32_t seq, bool fin)
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
