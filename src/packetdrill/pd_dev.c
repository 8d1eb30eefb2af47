/* The raw-IP link between ustack and packetdrill. packetdrill injects and
 * sniffs bare IP packets; ustack speaks Ethernet. This device is the
 * Ethernet segment with one peer on it: frames the stack sends lose their
 * Ethernet header and wait in the adapter's queue for netdev_receive;
 * packets the script injects gain one (from the peer's fixed MAC to the
 * stack's). ARP never reaches the script: the device answers every request
 * with the peer's MAC, as a router owning every remote address would
 * (RFC 826 reply: sender = the peer, target = the asker). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "dev/dev.h"
#include "net/eth.h"
#include "packetdrill/pd.h"
#include "wire/arp.h"
#include "wire/eth.h"

/* Locally administered, unicast. */
static const uint8_t peer_mac[6] = {0x02, 0x70, 0x64, 0x00, 0x00, 0x01};

struct pd_link {
	struct pd *pd;
	struct pbuf_queue rxq; /* frames for the stack's next turn */
};

static struct pd_link *link_of(struct us_dev *d)
{
	return d->priv;
}

/* A frame for the stack: an Ethernet header from the peer, then body. */
static int rx_push(struct us_dev *d, uint16_t type, const void *body,
		   size_t len)
{
	struct us_stack *st = d->st;
	struct us_pbuf *p;
	struct eth_hdr h;

	if (len > PBUF_LARGE_SIZE - PBUF_HEADROOM - ETH_HDR_LEN) {
		STAT_INC(st, dev_rx_drop_truncated);
		return -EMSGSIZE;
	}
	p = pbuf_alloc(&st->pool, (uint32_t)(ETH_HDR_LEN + len), 0);
	if (!p) {
		STAT_INC(st, dev_rx_drop_nobuf);
		return -ENOBUFS;
	}
	memcpy(h.dst, st->mac, 6);
	memcpy(h.src, peer_mac, 6);
	h.type = type;
	eth_emit(p->data, &h);
	memcpy(p->data + ETH_HDR_LEN, body, len);
	p->len = (uint32_t)(ETH_HDR_LEN + len);
	p->time = st->now;
	STAT_INC(st, dev_rx_frames);
	STAT_ADD(st, dev_rx_bytes, p->len);
	pbufq_push(&link_of(d)->rxq, p);
	return 0;
}

int pd_dev_inject(struct us_dev *d, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (!len)
		return -EINVAL;
	/* The version nibble picks the ethertype; anything but IPv4 is
	 * dropped (and counted) by the stack's Ethernet demux. */
	return rx_push(d, (b[0] >> 4) == 6 ? 0x86dd : ETH_P_IPV4, buf, len);
}

static void answer_arp(struct us_dev *d, const uint8_t *body, uint32_t len)
{
	struct us_stack *st = d->st;
	struct arp_pkt a, r;
	uint8_t out[ARP_PKT_LEN];

	/* Only requests for someone else: never claim the stack's own
	 * address (a gratuitous ARP). */
	if (arp_parse(body, len, &a) < 0 || a.op != ARP_OP_REQUEST ||
	    a.tpa == st->ip || a.tpa == 0) {
		STAT_INC(st, dev_tx_drop_not_ip);
		return;
	}
	r = a;
	r.op = ARP_OP_REPLY;
	memcpy(r.sha, peer_mac, 6);
	r.spa = a.tpa;
	memcpy(r.tha, a.sha, 6);
	r.tpa = a.spa;
	arp_emit(out, &r);
	rx_push(d, ETH_P_ARPT, out, sizeof(out));
}

static void collect(struct us_dev *d, const uint8_t *ip, uint32_t len)
{
	struct us_stack *st = d->st;
	struct pd_txq *q = &link_of(d)->pd->txq;
	struct pd_pkt *k;

	if (q->len >= PD_TXQ_MAX || !(k = malloc(sizeof(*k) + len))) {
		STAT_INC(st, dev_tx_drop_full);
		return;
	}
	k->next = NULL;
	k->ns = st->now;
	k->len = len;
	memcpy(k->data, ip, len);
	*q->tail = k;
	q->tail = &k->next;
	q->len++;
	STAT_INC(st, dev_tx_frames);
	STAT_ADD(st, dev_tx_bytes, len);
}

static void link_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	struct us_stack *st = d->st;

	for (int i = 0; i < n; i++) {
		struct us_pbuf *p = pkts[i];
		struct eth_hdr h;

		if (eth_parse(p->data, p->len, &h) < 0) {
			STAT_INC(st, dev_tx_drop_not_ip);
		} else if (h.type == ETH_P_IPV4) {
			collect(d, p->data + ETH_HDR_LEN, p->len - ETH_HDR_LEN);
		} else if (h.type == ETH_P_ARPT) {
			answer_arp(d, p->data + ETH_HDR_LEN,
				   p->len - ETH_HDR_LEN);
		} else {
			STAT_INC(st, dev_tx_drop_not_ip);
		}
		pbuf_free(p);
	}
}

static int link_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	struct pd_link *l = link_of(d);
	int n = 0;

	while (n < max && l->rxq.count)
		pkts[n++] = pbufq_pop(&l->rxq);
	return n;
}

static int link_fd(struct us_dev *d)
{
	return -1;
}

/* Frames waiting for the stack are work due now. */
static uint64_t link_next_event(struct us_dev *d)
{
	return link_of(d)->rxq.count ? d->st->now : UINT64_MAX;
}

static void link_close(struct us_dev *d)
{
	struct pd_link *l = link_of(d);

	pbufq_purge(&l->rxq);
	free(l);
	free(d);
}

static const struct us_dev_ops link_ops = {
    .name = "packetdrill",
    .rx_burst = link_rx_burst,
    .tx_burst = link_tx_burst,
    .fd = link_fd,
    .next_event = link_next_event,
    .close = link_close,
};

struct us_dev *pd_dev_new(struct pd *pd, uint32_t mtu)
{
	struct us_dev *d = calloc(1, sizeof(*d));
	struct pd_link *l = calloc(1, sizeof(*l));

	if (!d || !l) {
		free(d);
		free(l);
		return NULL;
	}
	l->pd = pd;
	pbufq_init(&l->rxq);
	d->ops = &link_ops;
	d->priv = l;
	d->mtu = mtu;
	strcpy(d->name, "pd0");
	return d;
}

void pd_txq_free(struct pd_txq *q)
{
	struct pd_pkt *k;

	while ((k = q->head)) {
		q->head = k->next;
		free(k);
	}
	q->tail = &q->head;
	q->len = 0;
}
