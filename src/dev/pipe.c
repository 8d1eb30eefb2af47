/* The pipe: two devices joined in memory, for two stacks in one process.
 *
 * Each direction is a bounded ring of the sender's buffers. The receiver
 * copies a frame into its own pool when it takes it and frees the sender's
 * buffer, so the two stacks never share buffer memory. The rings hold
 * pointers instead of linking buffers through ->next: a buffer handed to a
 * device may also sit in a protocol queue (a segment kept for
 * retransmission) that uses that link. */
#include "dev/dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/stack.h"
#include "net/eth.h"

#define PIPE_QLEN 4096u /* frames per direction */
#define PIPE_MTU 1500u
#define VLAN_HLEN 4

struct pipe_ring {
	struct us_pbuf *slot[PIPE_QLEN];
	uint32_t head, count;
};

struct pipe_link {
	struct pipe_ring ring[2]; /* ring[s]: frames sent by end s */
	int open[2];
};

struct pipe_end {
	struct pipe_link *link;
	int side;
};

static struct pipe_end *end_of(struct us_dev *d)
{
	return d->priv;
}

static int ring_push(struct pipe_ring *r, struct us_pbuf *p)
{
	if (r->count == PIPE_QLEN)
		return -ENOBUFS;
	r->slot[(r->head + r->count) % PIPE_QLEN] = p;
	r->count++;
	return 0;
}

static struct us_pbuf *ring_pop(struct pipe_ring *r)
{
	struct us_pbuf *p;

	if (!r->count)
		return NULL;
	p = r->slot[r->head];
	r->head = (r->head + 1) % PIPE_QLEN;
	r->count--;
	return p;
}

/* The largest frame this end's stack may send or take: its MTU plus the
 * Ethernet header (the two stacks may be configured differently). */
static uint32_t max_frame(struct us_dev *d)
{
	return (d->st->mtu ? d->st->mtu : d->mtu) + ETH_HLEN;
}

static int pipe_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	struct pipe_end *e = end_of(d);
	struct pipe_ring *r = &e->link->ring[!e->side];
	struct us_pbuf *q, *p;
	int n = 0;

	while (n < max && (q = ring_pop(r))) {
		/* A NIC does not take a frame beyond its MTU (+ a VLAN tag). */
		if (q->len > max_frame(d) + VLAN_HLEN) {
			STAT_INC(d->st, dev_rx_drop_truncated);
			p = NULL;
		} else {
			p = dev_rx_copy(d, q->data, q->len);
		}
		pbuf_free(q);
		if (p)
			pkts[n++] = p;
	}
	return n;
}

static void pipe_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	struct pipe_end *e = end_of(d);
	struct us_stack *st = d->st;

	for (int i = 0; i < n; i++) {
		struct us_pbuf *p = pkts[i];
		uint32_t len = p->len;

		if (len > max_frame(d)) {
			STAT_INC(st, dev_tx_drop_toobig);
			pbuf_free(p);
			continue;
		}
		/* A closed peer is an unplugged cable: the frame is lost. */
		if (!e->link->open[!e->side] ||
		    ring_push(&e->link->ring[e->side], p) < 0) {
			STAT_INC(st, dev_tx_drop_full);
			pbuf_free(p);
			continue;
		}
		STAT_INC(st, dev_tx_frames);
		STAT_ADD(st, dev_tx_bytes, len);
	}
}

static int pipe_fd(struct us_dev *d)
{
	return -1;
}

/* Frames the peer has put in our ring are work to do now: without this a
 * loop on a virtual clock (which jumps to the next timed event when a turn
 * received nothing) would leave them there until some unrelated event. */
static uint64_t pipe_next_event(struct us_dev *d)
{
	struct pipe_end *e = end_of(d);

	return e->link->ring[!e->side].count ? d->st->now : UINT64_MAX;
}

static void pipe_close(struct us_dev *d)
{
	struct pipe_end *e = end_of(d);
	struct pipe_link *l = e->link;
	struct pipe_ring *own = &l->ring[e->side];
	struct us_pbuf *p;

	/* Our frames come from our stack's pool, which goes away with us. */
	while ((p = ring_pop(own)))
		pbuf_free(p);
	l->open[e->side] = 0;
	if (!l->open[!e->side])
		free(l);
	free(e);
	free(d);
}

static const struct us_dev_ops pipe_ops = {
    .name = "pipe",
    .rx_burst = pipe_rx_burst,
    .tx_burst = pipe_tx_burst,
    .fd = pipe_fd,
    .next_event = pipe_next_event,
    .close = pipe_close,
};

static struct us_dev *pipe_end_new(struct pipe_link *l, int side)
{
	struct us_dev *d = calloc(1, sizeof(*d));
	struct pipe_end *e = calloc(1, sizeof(*e));

	if (!d || !e) {
		free(d);
		free(e);
		return NULL;
	}
	e->link = l;
	e->side = side;
	d->ops = &pipe_ops;
	d->priv = e;
	d->has_mac = 0; /* each stack picks a MAC of its own */
	d->mtu = PIPE_MTU;
	snprintf(d->name, sizeof(d->name), "pipe%d", side);
	l->open[side] = 1;
	return d;
}

int us_pipe_create(struct us_dev **a, struct us_dev **b)
{
	struct pipe_link *l = calloc(1, sizeof(*l));

	if (!l)
		goto fail;
	*a = pipe_end_new(l, 0);
	if (!*a) {
		free(l);
		goto fail;
	}
	*b = pipe_end_new(l, 1);
	if (!*b) {
		pipe_close(*a); /* frees l: the other end never opened */
		goto fail;
	}
	return 0;
fail:
	*a = *b = NULL;
	errno = ENOMEM;
	return -1;
}
