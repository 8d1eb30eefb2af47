/* IPv4 reassembly and output fragmentation.
 *
 * A datagram being reassembled is a queue of its fragments' buffers, kept
 * sorted by offset (p->user holds the offset, p->data the payload). Since
 * overlapping fragments kill the datagram, held fragments never overlap,
 * and the datagram is complete when the last fragment has been seen and
 * the held payload adds up to its length.
 *
 * The queue records are made once, at creation, as many as the memory
 * bound can hold datagrams (each live one holds at least one buffer): a
 * fragment never costs a heap allocation, and when every record is in use
 * the oldest datagram gives way, in O(1), as it does for memory. */
#include "net/ip4_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FRAG_HASH_BITS 8
#define FRAG_HASH_SIZE (1u << FRAG_HASH_BITS)
#define FRAG_DEFAULT_MEM (4u << 20)
#define FRAG_DEFAULT_TIMEOUT_MS 30000u

#define FQ_LAST_IN 0x01 /* the fragment with MF clear was seen */
#define FQ_DEAD 0x02	/* overlap or inconsistency: ignored until timeout */

struct frag_queue {
	struct frag_queue *hnext;
	struct frag_queue *older, *newer; /* creation order, for eviction */
	struct ip4_reasm *r;
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint8_t flags;
	uint16_t dead_stat; /* FQ_DEAD: the counter its fragments move */
	uint32_t end;	    /* payload length, once FQ_LAST_IN */
	uint32_t recvd;	    /* payload bytes held */
	uint32_t mem;	    /* truesize held, this record included */
	uint32_t nfrags;
	struct us_pbuf *frags; /* sorted by offset, linked by ->next */
	struct us_timer timer;
};

struct ip4_reasm {
	struct frag_queue *hash[FRAG_HASH_SIZE];
	struct frag_queue *oldest, *newest;
	struct frag_queue *recs;      /* all the records, made at creation */
	struct frag_queue *free_recs; /* unused ones, linked by hnext */
	uint32_t nrecs;
	uint32_t count;
	uint32_t mem, mem_max;
	uint32_t key;
	uint64_t timeout_ns;
};

static void frag_timer_fn(struct us_stack *st, struct us_timer *t);

static uint32_t frag_hash(const struct ip4_reasm *r, uint32_t src, uint32_t dst,
			  uint16_t id, uint8_t proto)
{
	uint32_t h = r->key;
	h = (h ^ src) * 0x9e3779b1u;
	h = (h ^ dst) * 0x85ebca77u;
	h = (h ^ ((uint32_t)id << 8 | proto)) * 0xc2b2ae3du;
	return (h ^ (h >> 15)) & (FRAG_HASH_SIZE - 1);
}

struct ip4_reasm *ip4_reasm_create(struct us_stack *st)
{
	struct ip4_reasm *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->key = (uint32_t)stack_rand(st);
	r->mem_max =
	    st->cfg.frag_mem_max ? st->cfg.frag_mem_max : FRAG_DEFAULT_MEM;
	/* Held fragments are pool buffers: never let reassembly take more
	 * than half the small pool, or a fragment flood would starve
	 * receive. */
	uint64_t half = (uint64_t)st->pool.total[0] *
			(PBUF_SMALL_SIZE + sizeof(struct us_pbuf)) / 2;
	if (half && half < r->mem_max)
		r->mem_max = (uint32_t)half;
	r->timeout_ns =
	    (uint64_t)(st->cfg.frag_timeout_ms ? st->cfg.frag_timeout_ms
					       : FRAG_DEFAULT_TIMEOUT_MS) *
	    US_NS_PER_MS;
	/* A live datagram holds its record and at least one buffer (a dead
	 * one holds only the record, and gives way like the others). */
	r->nrecs = US_MAX(r->mem_max / (uint32_t)(sizeof(struct frag_queue) +
						  PBUF_SMALL_SIZE +
						  sizeof(struct us_pbuf)),
			  1u);
	r->recs = calloc(r->nrecs, sizeof(*r->recs));
	if (!r->recs) {
		free(r);
		return NULL;
	}
	for (uint32_t i = r->nrecs; i-- > 0;) {
		r->recs[i].hnext = r->free_recs;
		r->free_recs = &r->recs[i];
	}
	return r;
}

/* Free the queue's fragments; they count as drops under counter_id. */
static void frag_release(struct us_stack *st, struct frag_queue *q,
			 int counter_id)
{
	struct us_pbuf *p;

	if (counter_id >= 0)
		st->stats[counter_id] += q->nfrags;
	while ((p = q->frags)) {
		q->frags = p->next;
		p->next = NULL;
		pbuf_free(p);
	}
	q->r->mem -= q->mem - (uint32_t)sizeof(*q);
	q->mem = sizeof(*q);
	q->nfrags = 0;
	q->recvd = 0;
}

static void frag_destroy(struct us_stack *st, struct frag_queue *q,
			 int counter_id)
{
	struct ip4_reasm *r = q->r;
	struct frag_queue **pp =
	    &r->hash[frag_hash(r, q->src, q->dst, q->id, q->proto)];

	frag_release(st, q, counter_id);
	while (*pp != q)
		pp = &(*pp)->hnext;
	*pp = q->hnext;
	if (q->older)
		q->older->newer = q->newer;
	else
		r->oldest = q->newer;
	if (q->newer)
		q->newer->older = q->older;
	else
		r->newest = q->older;
	timer_cancel(&st->wheel, &q->timer);
	r->mem -= q->mem;
	r->count--;
	q->hnext = r->free_recs;
	r->free_recs = q;
}

void ip4_reasm_destroy(struct us_stack *st, struct ip4_reasm *r)
{
	if (!r)
		return;
	while (r->oldest)
		frag_destroy(st, r->oldest, -1);
	free(r->recs);
	free(r);
}

/* RFC 791 3.2 / RFC 1122 3.3.2: the reassembly timer runs from the first
 * fragment and is not restarted. Sending Time Exceeded (code 1) is a
 * MAY-level option we leave out. */
static void frag_timer_fn(struct us_stack *st, struct us_timer *t)
{
	struct frag_queue *q = container_of(t, struct frag_queue, timer);
	frag_destroy(st, q, US_STAT_frag_drop_timeout);
}

/* Shed the oldest datagrams (other than keep) until need more bytes fit
 * under the bound. 0 when they fit. */
static int frag_make_room(struct us_stack *st, struct ip4_reasm *r,
			  const struct frag_queue *keep, uint32_t need)
{
	struct frag_queue *q = r->oldest;

	while (r->mem + need > r->mem_max && q) {
		struct frag_queue *next = q->newer;
		if (q != keep)
			frag_destroy(st, q, US_STAT_frag_drop_mem);
		q = next;
	}
	return r->mem + need > r->mem_max ? -ENOBUFS : 0;
}

static struct frag_queue *frag_find(struct ip4_reasm *r,
				    const struct ip4_hdr *h)
{
	struct frag_queue *q =
	    r->hash[frag_hash(r, h->src, h->dst, h->id, h->proto)];

	while (q && !(q->src == h->src && q->dst == h->dst && q->id == h->id &&
		      q->proto == h->proto))
		q = q->hnext;
	return q;
}

static struct frag_queue *frag_create(struct us_stack *st, struct ip4_reasm *r,
				      const struct ip4_hdr *h)
{
	struct frag_queue *q;
	uint32_t h_idx;

	if (frag_make_room(st, r, NULL, sizeof(*q)) < 0)
		return NULL;
	if (!r->free_recs)
		frag_destroy(st, r->oldest, US_STAT_frag_drop_mem);
	q = r->free_recs;
	r->free_recs = q->hnext;
	memset(q, 0, sizeof(*q));
	q->r = r;
	q->src = h->src;
	q->dst = h->dst;
	q->id = h->id;
	q->proto = h->proto;
	q->mem = sizeof(*q);
	h_idx = frag_hash(r, h->src, h->dst, h->id, h->proto);
	q->hnext = r->hash[h_idx];
	r->hash[h_idx] = q;
	q->older = r->newest;
	if (r->newest)
		r->newest->newer = q;
	else
		r->oldest = q;
	r->newest = q;
	r->mem += q->mem;
	r->count++;
	timer_init(&q->timer, frag_timer_fn);
	timer_arm(&st->wheel, &q->timer, st->now + r->timeout_ns);
	return q;
}

/* RFC 5722 (applied to IPv4): a datagram with overlapping fragments is
 * discarded whole. Its record stays, dead, until the timeout, so that its
 * later fragments are refused at once; Linux instead forgets the
 * datagram, and its later fragments start a new one that can never
 * complete. Contradictory fragments (two ends) are treated the same way. */
static void frag_kill(struct us_stack *st, struct frag_queue *q, int counter_id)
{
	frag_release(st, q, counter_id);
	q->flags |= FQ_DEAD;
	q->dead_stat = (uint16_t)counter_id;
}

/* One contiguous datagram from a complete queue; the queue goes. */
static struct us_pbuf *frag_assemble(struct us_stack *st, struct frag_queue *q)
{
	struct us_pbuf *first = q->frags, *np, *f;
	const uint8_t *hdr = first->head + first->l3_off;
	uint32_t ihl = (uint32_t)(first->data - hdr);
	uint32_t total = ihl + q->end;
	uint8_t *b;

	if (total > IP4_MAX_LEN) {
		/* Options on the first fragment pushed it over. */
		frag_destroy(st, q, US_STAT_frag_drop_too_big);
		return NULL;
	}
	np = pbuf_alloc(&st->pool, total, 0);
	if (!np) {
		frag_destroy(st, q, US_STAT_ip4_drop_nobuf);
		return NULL;
	}
	b = np->data;
	memcpy(b, hdr, ihl);
	for (f = first; f; f = f->next)
		memcpy(b + ihl + f->user, f->data, f->len);
	wr16(b + 2, (uint16_t)total);
	wr16(b + 6, rd16(b + 6) & (uint16_t) ~(IP4_FLAG_MF | IP4_OFF_MASK));
	ip4_hdr_set_csum(b, ihl);
	np->len = total;
	np->flags = first->flags;
	np->time = first->time;
	np->csum = PBUF_CSUM_NONE;
	np->l3_off = (uint16_t)(np->data - np->head);
	STAT_INC(st, frag_reassembled);
	frag_destroy(st, q, -1);
	return np;
}

/* Where p (payload [off, end)) goes among the held fragments: after
 * *prevp (FRAG_FITS); nowhere, as a duplicate (FRAG_DUP); or it overlaps
 * (FRAG_OVERLAP).
 *
 * What Linux does (since 5.0, "do not handle duplicate fragments as
 * overlapping"; inet_frag_queue_insert): a fragment lying wholly inside
 * data already held is a duplicate, dropped while the datagram lives on;
 * any other overlap drops the whole datagram (RFC 5722 4, written for
 * IPv6, which Linux applies to IPv4 too). Linux looks for the cover in
 * one run of fragments that arrived in order, and does not compare
 * bytes: the first copy wins. We accept any contiguous held data as the
 * cover, and call a covered fragment a duplicate only if its bytes are
 * the ones held: different bytes for the same octets mean the datagram
 * cannot be trusted, as with an overlap. */
enum { FRAG_FITS, FRAG_DUP, FRAG_OVERLAP };
static int frag_place(const struct frag_queue *q, const struct us_pbuf *p,
		      uint32_t off, uint32_t end, struct us_pbuf **prevp)
{
	struct us_pbuf *prev = NULL, *f = q->frags;
	uint32_t pos = off;

	while (f && f->user + f->len <= off) {
		prev = f;
		f = f->next;
	}
	if (!f || f->user >= end) {
		*prevp = prev;
		return FRAG_FITS;
	}
	/* Held fragments are disjoint and sorted: the cover must start
	 * at or before off and continue without a gap up to end. */
	if (f->user > off)
		return FRAG_OVERLAP;
	for (; f && f->user <= pos && pos < end; f = f->next) {
		uint32_t n = US_MIN(f->user + f->len, end) - pos;
		if (memcmp(f->data + (pos - f->user), p->data + (pos - off), n))
			return FRAG_OVERLAP;
		pos += n;
	}
	return pos == end ? FRAG_DUP : FRAG_OVERLAP;
}

static uint32_t frag_held_end(const struct frag_queue *q)
{
	const struct us_pbuf *f = q->frags;
	if (!f)
		return 0;
	while (f->next)
		f = f->next;
	return f->user + f->len;
}

struct us_pbuf *ip4_reasm_input(struct us_stack *st, struct ip4_reasm *r,
				struct us_pbuf *p, const struct ip4_hdr *h)
{
	uint32_t off = ip4_frag_offset(h);
	uint32_t plen = (uint32_t)h->tot_len - h->ihl;
	uint32_t end = off + plen;
	int mf = (h->frag & IP4_FLAG_MF) != 0;
	struct frag_queue *q;
	struct us_pbuf *prev = NULL;

	STAT_INC(st, frag_rx);
	/* RFC 791 3.2: every fragment but the last carries a multiple of 8
	 * octets (and so at least 8). */
	if (mf && (plen == 0 || plen % 8)) {
		STAT_INC(st, frag_drop_bad);
		goto drop;
	}
	/* RFC 791 3.1: a datagram is at most 65535 octets ("ping of
	 * death" fragments end beyond that). */
	if (end + IP4_MIN_HLEN > IP4_MAX_LEN) {
		STAT_INC(st, frag_drop_too_big);
		goto drop;
	}
	q = frag_find(r, h);
	if (!q && !(q = frag_create(st, r, h))) {
		STAT_INC(st, frag_drop_mem);
		goto drop;
	}
	if (q->flags & FQ_DEAD) {
		st->stats[q->dead_stat]++;
		goto drop;
	}
	/* Only one end: a second, different last fragment, or data past
	 * the end, makes the datagram unusable. */
	if ((!mf && (((q->flags & FQ_LAST_IN) && end != q->end) ||
		     frag_held_end(q) > end)) ||
	    (mf && (q->flags & FQ_LAST_IN) && end > q->end)) {
		frag_kill(st, q, US_STAT_frag_drop_bad);
		STAT_INC(st, frag_drop_bad);
		goto drop;
	}
	pbuf_pull(p, h->ihl);
	switch (frag_place(q, p, off, end, &prev)) {
	case FRAG_DUP:
		/* A copy the network made (RFC 791 leaves this to us):
		 * harmless, so the datagram lives on (see frag_place). */
		STAT_INC(st, frag_dup);
		pbuf_free(p);
		goto check_last;
	case FRAG_OVERLAP:
		frag_kill(st, q, US_STAT_frag_drop_overlap);
		STAT_INC(st, frag_drop_overlap);
		goto drop;
	}
	if (frag_make_room(st, r, q, pbuf_truesize(p)) < 0) {
		/* This datagram alone outgrows the bound (tiny fragments). */
		frag_destroy(st, q, US_STAT_frag_drop_mem);
		STAT_INC(st, frag_drop_mem);
		goto drop;
	}
	p->user = off;
	p->next = prev ? prev->next : q->frags;
	if (prev)
		prev->next = p;
	else
		q->frags = p;
	q->nfrags++;
	q->recvd += plen;
	q->mem += pbuf_truesize(p);
	r->mem += pbuf_truesize(p);
check_last:
	if (!mf) {
		q->flags |= FQ_LAST_IN;
		q->end = end;
	}
	if ((q->flags & FQ_LAST_IN) && q->recvd == q->end)
		return frag_assemble(st, q);
	return NULL;
drop:
	pbuf_free(p);
	return NULL;
}

uint32_t ip4_reasm_mem(const struct ip4_reasm *r)
{
	return r->mem;
}

uint32_t ip4_reasm_mem_max(const struct ip4_reasm *r)
{
	return r->mem_max;
}

uint32_t ip4_reasm_count(const struct ip4_reasm *r)
{
	return r->count;
}

uint32_t ip4_reasm_bufs(const struct ip4_reasm *r)
{
	uint32_t n = 0;

	for (const struct frag_queue *q = r->oldest; q; q = q->newer)
		n += q->nfrags;
	return n;
}

uint32_t ip4_reasm_max_queues(const struct ip4_reasm *r)
{
	return r->nrecs;
}

int ip4_fragment(struct us_stack *st, const struct us_pbuf *p,
		 const struct ip4_hdr *h, uint32_t mtu, struct pbuf_queue *out)
{
	/* RFC 791 2.3: offsets count 8-octet blocks, so every fragment but
	 * the last carries a multiple of 8 octets. */
	uint32_t chunk = mtu > IP4_MIN_HLEN ? (mtu - IP4_MIN_HLEN) & ~7u : 0;
	struct pbuf_queue q;

	if (chunk == 0)
		return -EMSGSIZE;
	pbufq_init(&q);
	for (uint32_t off = 0; off < p->len; off += chunk) {
		uint32_t n = US_MIN(chunk, p->len - off);
		struct us_pbuf *f = stack_alloc(st, IP4_MIN_HLEN + n);
		struct ip4_hdr fh = *h;

		if (!f) {
			pbufq_purge(&q);
			return -ENOBUFS;
		}
		fh.tot_len = (uint16_t)(IP4_MIN_HLEN + n);
		fh.frag = (uint16_t)(off / 8);
		if (off + n < p->len)
			fh.frag |= IP4_FLAG_MF;
		ip4_emit(f->data, &fh);
		memcpy(f->data + IP4_MIN_HLEN, p->data + off, n);
		f->len = IP4_MIN_HLEN + n;
		pbufq_push(&q, f);
	}
	while (q.head)
		pbufq_push(out, pbufq_pop(&q));
	return 0;
}
