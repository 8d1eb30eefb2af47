/* The impair wrapper: a bad link in software, for tests and simulations.
 *
 * Frames the wrapped stack transmits go through, in order: exact drops
 * (by ordinal in a class), random loss, duplication, then for each copy
 * corruption, the bottleneck (rate limit with a drop-tail queue), delay
 * with jitter and reordering. A frame that must wait is held in a heap
 * ordered by due time (ties keep transmit order) and released to the lower
 * device by the first tx_burst at or after that time. Time is the stack's
 * clock and randomness a generator of our own seeded from the config, so a
 * run is repeatable for a seed and a sequence of frames.
 *
 * Held frames are kept by pointer, not linked through ->next, since the
 * same buffer may sit in a retransmission queue that uses that link. */
#include "dev/dev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "net/eth.h"

#define IMP_MAX_HELD (1u << 20)
/* A reordered frame waits for the next frame, but no longer than this
 * past its own due time. */
#define IMP_REORDER_HOLD_NS (1 * US_NS_PER_MS)
#define IMP_RELEASE_BATCH 64

struct held {
	uint64_t due, seq;
	struct us_pbuf *p;
};

struct impair {
	struct us_impair cfg; /* drop_list points at drops below */
	uint32_t *drops;
	uint64_t rng;
	uint64_t ordinal;  /* frames of cfg.drop_class seen */
	uint64_t last_dep; /* the bottleneck is busy until then */
	struct held *heap;
	uint32_t nheap, cap;
	uint64_t seq;
	struct held slot; /* a frame held back for reordering */
	uint64_t slot_deadline;
	struct us_impair_stats stats;
};

static const struct us_dev_ops impair_ops;

static uint64_t rnd(struct impair *im)
{
	/* splitmix64: every seed, including 0, gives a good sequence. */
	uint64_t z = (im->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Draw only for a configured probability, so enabling one impairment
 * does not shift the random choices of the others. */
static bool chance(struct impair *im, double prob)
{
	return prob > 0 && (double)(rnd(im) >> 11) * 0x1.0p-53 < prob;
}

/* Heap of held frames, smallest (due, seq) on top. */
static bool held_before(const struct held *a, const struct held *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(struct held *h, uint32_t i, uint32_t j)
{
	struct held t = h[i];
	h[i] = h[j];
	h[j] = t;
}

static int heap_grow(struct impair *im)
{
	uint32_t cap = im->cap ? im->cap * 2 : 256;
	struct held *h;

	if (im->cap >= IMP_MAX_HELD)
		return -ENOBUFS;
	h = realloc(im->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	im->heap = h;
	im->cap = cap;
	return 0;
}

static int heap_push(struct impair *im, uint64_t due, struct us_pbuf *p)
{
	struct held *h;
	uint32_t i;

	if (im->nheap == im->cap && heap_grow(im) < 0)
		return -ENOBUFS;
	h = im->heap;
	i = im->nheap++;
	h[i] = (struct held){.due = due, .seq = im->seq++, .p = p};
	while (i > 0 && held_before(&h[i], &h[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct us_pbuf *heap_pop(struct impair *im)
{
	struct held *h = im->heap;
	struct us_pbuf *p = h[0].p;
	uint32_t i = 0;

	h[0] = h[--im->nheap];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < im->nheap && held_before(&h[l], &h[m]))
			m = l;
		if (r < im->nheap && held_before(&h[r], &h[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
	return p;
}

static void hold(struct us_dev *d, uint64_t due, struct us_pbuf *p)
{
	if (heap_push(d->priv, due, p) < 0) {
		STAT_INC(d->st, dev_tx_drop_full);
		pbuf_free(p);
	}
}

/* Is this frame of the class whose ordinals the drop list names? */
static bool in_class(const struct us_pbuf *p, int cls)
{
	const uint8_t *ip = p->data + ETH_HLEN;
	uint32_t ihl, tot, doff;

	if (cls == US_IMPAIR_ANY)
		return true;
	if (p->len < ETH_HLEN + 20 || rd16(p->data + 12) != ETH_P_IPV4)
		return false;
	if (cls == US_IMPAIR_IP4)
		return true;
	ihl = (ip[0] & 0xfu) * 4;
	tot = rd16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < 20 || tot < ihl || tot > p->len - ETH_HLEN)
		return false;
	if (rd16(ip + 6) & 0x1fff) /* RFC 791: only the first fragment */
		return false;
	if (cls == US_IMPAIR_UDP)
		return ip[9] == IPPROTO_UDP;
	if (cls != US_IMPAIR_TCP_DATA || ip[9] != IPPROTO_TCP || tot < ihl + 20)
		return false;
	doff = (ip[ihl + 12] >> 4) * 4u; /* RFC 9293 3.1: data offset */
	return doff >= 20 && tot > ihl + doff;
}

static bool exact_drop(struct impair *im, const struct us_pbuf *p)
{
	if (!im->cfg.drop_count || !in_class(p, im->cfg.drop_class))
		return false;
	im->ordinal++;
	for (int i = 0; i < im->cfg.drop_count; i++)
		if (im->drops[i] == im->ordinal)
			return true;
	return false;
}

/* Flip one byte past the Ethernet header, so the IPv4 or L4 checksum
 * catches it. A buffer someone else still holds is copied first. */
static struct us_pbuf *corrupt(struct us_dev *d, struct us_pbuf *p)
{
	struct impair *im = d->priv;
	uint32_t off;

	if (p->len <= ETH_HLEN)
		return p;
	if (p->refcnt > 1) {
		struct us_pbuf *q = pbuf_clone(&d->st->pool, p);
		if (!q)
			return p;
		pbuf_free(p);
		p = q;
	}
	off = ETH_HLEN + (uint32_t)(rnd(im) % (p->len - ETH_HLEN));
	p->data[off] ^= (uint8_t)(1 + rnd(im) % 255);
	im->stats.corrupt++;
	return p;
}

/* The bottleneck: frames leave one after another at rate_bps; a frame
 * that finds more than queue_bytes not yet sent is dropped. On admission
 * *due becomes the time its last bit leaves. */
static bool bottleneck(struct impair *im, uint64_t now, uint32_t len,
		       uint64_t *due)
{
	uint64_t rate = im->cfg.rate_bps;
	uint64_t start = US_MAX(now, im->last_dep);
	unsigned __int128 backlog = 0;

	if (!rate)
		return true;
	if (im->last_dep > now)
		backlog = (unsigned __int128)(im->last_dep - now) * rate /
			  (8 * US_NS_PER_S);
	if (im->cfg.queue_bytes && backlog + len > im->cfg.queue_bytes)
		return false;
	im->last_dep =
	    start +
	    (uint64_t)(((unsigned __int128)len * 8 * US_NS_PER_S + rate - 1) /
		       rate);
	*due = im->last_dep;
	return true;
}

static uint64_t delay_ns(struct impair *im)
{
	int64_t d = (int64_t)im->cfg.delay_us * 1000;
	uint64_t j = (uint64_t)im->cfg.jitter_us * 1000;

	if (j)
		d += (int64_t)(rnd(im) % (2 * j + 1)) - (int64_t)j;
	return d > 0 ? (uint64_t)d : 0;
}

/* The next frame has been scheduled at due: the frame held back for
 * reordering goes right after it (or at its deadline, if that came
 * first). */
static void release_slot(struct us_dev *d, uint64_t next_due)
{
	struct impair *im = d->priv;
	uint64_t due =
	    US_MIN(US_MAX(next_due, im->slot.due), im->slot_deadline);

	hold(d, due, im->slot.p);
	im->slot.p = NULL;
}

static void schedule(struct us_dev *d, struct us_pbuf *p)
{
	struct impair *im = d->priv;
	uint64_t now = d->st->now, due = now;

	if (chance(im, im->cfg.corrupt))
		p = corrupt(d, p);
	if (!bottleneck(im, now, p->len, &due)) {
		im->stats.queue++;
		pbuf_free(p);
		return;
	}
	due += delay_ns(im);
	if (!im->slot.p && chance(im, im->cfg.reorder)) {
		im->stats.reorder++;
		im->slot = (struct held){.due = due, .p = p};
		im->slot_deadline = due + IMP_REORDER_HOLD_NS;
		return;
	}
	hold(d, due, p);
	if (im->slot.p)
		release_slot(d, due);
}

static void impair_one(struct us_dev *d, struct us_pbuf *p)
{
	struct impair *im = d->priv;
	struct us_pbuf *dup = NULL;

	if (exact_drop(im, p)) {
		im->stats.exact++;
		pbuf_free(p);
		return;
	}
	if (chance(im, im->cfg.loss)) {
		im->stats.loss++;
		pbuf_free(p);
		return;
	}
	/* A real copy: the two may be corrupted or held apart. */
	if (chance(im, im->cfg.dup) && (dup = pbuf_clone(&d->st->pool, p)))
		im->stats.dup++;
	schedule(d, p);
	if (dup)
		schedule(d, dup);
}

static void release_due(struct us_dev *d)
{
	struct impair *im = d->priv;
	struct us_pbuf *out[IMP_RELEASE_BATCH];
	uint64_t now = d->st->now;
	int n;

	if (im->slot.p && im->slot_deadline <= now)
		release_slot(d, UINT64_MAX);
	do {
		n = 0;
		while (n < IMP_RELEASE_BATCH && im->nheap &&
		       im->heap[0].due <= now)
			out[n++] = heap_pop(im);
		/* Also with n == 0: the lower device may hold frames too. */
		d->lower->ops->tx_burst(d->lower, out, n);
	} while (n == IMP_RELEASE_BATCH);
}

static void impair_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	for (int i = 0; i < n; i++)
		impair_one(d, pkts[i]);
	release_due(d);
}

static int impair_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	return d->lower->ops->rx_burst(d->lower, pkts, max);
}

static int impair_fd(struct us_dev *d)
{
	return d->lower->ops->fd ? d->lower->ops->fd(d->lower) : -1;
}

static uint64_t impair_next_event(struct us_dev *d)
{
	struct impair *im = d->priv;
	uint64_t t = im->nheap ? im->heap[0].due : UINT64_MAX;

	if (im->slot.p && im->slot_deadline < t)
		t = im->slot_deadline;
	return t;
}

static void impair_close(struct us_dev *d)
{
	struct impair *im = d->priv;

	while (im->nheap)
		pbuf_free(heap_pop(im));
	pbuf_free(im->slot.p);
	free(im->heap);
	free(im->drops);
	free(im);
	dev_close(d->lower);
	free(d);
}

static const struct us_dev_ops impair_ops = {
    .name = "impair",
    .rx_burst = impair_rx_burst,
    .tx_burst = impair_tx_burst,
    .fd = impair_fd,
    .next_event = impair_next_event,
    .close = impair_close,
};

static bool prob_ok(double p)
{
	return p >= 0 && p <= 1; /* false for NaN too */
}

static bool params_ok(const struct us_impair *c)
{
	return prob_ok(c->loss) && prob_ok(c->dup) && prob_ok(c->reorder) &&
	       prob_ok(c->corrupt) && c->drop_count >= 0 &&
	       (!c->drop_count || c->drop_list) &&
	       c->drop_class >= US_IMPAIR_ANY && c->drop_class <= US_IMPAIR_IP4;
}

struct us_dev *us_impair_wrap(struct us_dev *lower, const struct us_impair *imp)
{
	struct us_dev *d;
	struct impair *im;

	if (!lower || !imp || !params_ok(imp)) {
		fprintf(stderr, "ustack: impair: invalid parameters\n");
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	im = calloc(1, sizeof(*im));
	if (!d || !im)
		goto fail;
	im->cfg = *imp;
	if (imp->drop_count) {
		im->drops =
		    malloc((size_t)imp->drop_count * sizeof(*im->drops));
		if (!im->drops)
			goto fail;
		memcpy(im->drops, imp->drop_list,
		       (size_t)imp->drop_count * sizeof(*im->drops));
	}
	im->cfg.drop_list = im->drops;
	im->rng = imp->seed;
	dev_wrap_init(d, &impair_ops, lower);
	d->priv = im;
	return d;
fail:
	free(im);
	free(d);
	errno = ENOMEM;
	return NULL;
}

static struct impair *find_impair(struct us_dev *d)
{
	for (; d; d = d->lower)
		if (d->ops == &impair_ops)
			return d->priv;
	return NULL;
}

int us_impair_stats(struct us_dev *d, struct us_impair_stats *out)
{
	struct impair *im = find_impair(d);

	if (!im || !out) {
		errno = EINVAL;
		return -1;
	}
	*out = im->stats;
	return 0;
}

uint64_t us_impair_dropped(struct us_dev *d)
{
	struct impair *im = find_impair(d);

	return im ? im->stats.loss + im->stats.exact + im->stats.queue : 0;
}
