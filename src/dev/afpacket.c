/* AF_PACKET with TPACKET_V2 RX and TX rings mapped into our memory: no
 * system call per received frame (we walk the ring and hand slots back),
 * one send() per transmitted burst to kick the TX ring.
 *
 * The interface is one the kernel also sees, so the kernel must be kept
 * out of the way: we refuse an interface that carries a kernel IPv4
 * address (the kernel would answer ARP for it and reset our connections),
 * skip the copies of our own frames (PACKET_OUTGOING), and undo the
 * kernel peer's offloads. A veth peer with default offloads sends TCP
 * segments of up to 64 KiB (GSO super-frames) with the checksum left to
 * "hardware". With PACKET_VNET_HDR each frame comes after a struct
 * virtio_net_hdr that says so (GSO type and segment size, where the
 * partial checksum goes); we cut super-frames into wire-sized segments
 * (gso.c) and complete partial checksums. Ring slots stay wire-sized: a
 * super-frame reaches us through the socket's queue (see RX_RING_BYTES).
 * On a kernel without vnet headers on rings we fall back to plain frames:
 * partial checksums are trusted (CSUMNOTREADY) and super-frames are
 * dropped with a message naming the ethtool fix. */
#include "dev/dev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stack.h"
#include "dev/gso.h"

#define VLAN_HLEN 4
#define VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
/* The largest frame a GSO-capable peer hands over: a 64 KiB IPv4 packet
 * (gso_max_size, without BIG TCP) behind an Ethernet header and a tag. */
#define GSO_MAX_FRAME (65535u + ETH_HLEN + VLAN_HLEN)
/* Ring sizes. RX slots fit a wire frame (2 KiB at MTU 1500: 2048 slots
 * in 4 MiB). A frame too big for its slot, a GSO super-frame, is queued
 * whole on the socket as well (PACKET_COPY_THRESH) and read with one
 * recv(): a system call per super-frame of up to 64 KiB. Slots sized for
 * 64 KiB instead would give 465 slots for 30 MiB, and every small frame
 * takes a slot: a thousand SYN-ACKs at once overflowed them (1000
 * concurrent connects over veth took 5 s instead of 1.7 s). COPY_RCVBUF
 * bounds the super-frames queued on the socket. */
#define RX_RING_BYTES (4u << 20)
#define TX_RING_BYTES (1u << 20)
#define RING_BLOCK (64u << 10)
#define COPY_RCVBUF (8u << 20)
/* Where frame data starts in a slot: after the header and the address,
 * at least 16 bytes of room (the kernel's rule for RX), aligned. */
#define RX_MAC_ROOM (TPACKET_ALIGN(TPACKET2_HDRLEN + 16))
#define TX_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

struct ring {
	uint8_t *base;
	uint32_t frame_size, frame_nr, head;
	/* The kernel's layout: slots never cross a block (a block may end
	 * in slack, though ours are filled exactly). */
	uint32_t block_size, frames_per_block;
};

struct afp {
	int fd;
	void *map;
	size_t map_len;
	struct ring rx, tx;
	uint32_t max_frame; /* largest frame the wire can carry */
	int kick_pending;   /* the last send() left frames in the ring */
	int warned_gso;
	int vnet;		   /* frames come with a virtio_net_hdr */
	uint8_t *big;		   /* vnet: room for one copied super-frame */
	struct pbuf_queue pending; /* received, not yet handed to the stack */
};

static struct afp *afp_of(struct us_dev *d)
{
	return d->priv;
}

static struct tpacket2_hdr *slot(struct ring *r, uint32_t i)
{
	return (struct tpacket2_hdr *)(r->base +
				       (size_t)(i / r->frames_per_block) *
					   r->block_size +
				       (size_t)(i % r->frames_per_block) *
					   r->frame_size);
}

static void ring_advance(struct ring *r)
{
	r->head = r->head + 1 == r->frame_nr ? 0 : r->head + 1;
}

/* The kernel sets TP_STATUS_LOSING once it had to drop for want of a free
 * slot; its statistics (reset by reading) say how many. */
static void count_ring_drops(struct us_dev *d)
{
	struct tpacket_stats ts;
	socklen_t len = sizeof(ts);

	if (getsockopt(afp_of(d)->fd, SOL_PACKET, PACKET_STATISTICS, &ts,
		       &len) == 0)
		STAT_ADD(d->st, dev_rx_drop_ring, ts.tp_drops);
}

/* Only without vnet headers, where a super-frame cannot be cut. */
static void warn_gso(struct us_dev *d, uint32_t len)
{
	struct afp *a = afp_of(d);

	if (a->warned_gso)
		return;
	a->warned_gso = 1;
	us_warn(d->st,
		"afpacket %s: dropping a %u-byte GSO frame from the kernel "
		"peer (this kernel gives no vnet headers on rings); turn its "
		"offloads off: ethtool -K <peer-if> tso off gso off",
		d->name, len);
}

/* TPACKET_V2 strips a VLAN tag into the header; put it back so the frame
 * we pass up is the one on the wire. */
static void vlan_reinsert(struct us_pbuf *p, const struct tpacket2_hdr *h)
{
	uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID)
			    ? h->tp_vlan_tpid
			    : ETH_P_8021Q;

	if (p->len < 12 || !pbuf_push(p, VLAN_HLEN))
		return;
	memmove(p->data, p->data + VLAN_HLEN, 12);
	wr16(p->data + 12, tpid);
	wr16(p->data + 14, h->tp_vlan_tci);
}

/* The virtio_net_hdr the kernel wrote just before the frame. Its fields
 * are native-endian (the legacy header of packet sockets). */
static void vnet_read(const struct tpacket2_hdr *h, struct gso_info *g)
{
	struct virtio_net_hdr v;

	memcpy(&v, (const uint8_t *)h + h->tp_mac - VNET_LEN, VNET_LEN);
	g->flags = v.flags;
	g->gso_type = v.gso_type;
	g->gso_size = v.gso_size;
	g->csum_start = v.csum_start;
	g->csum_offset = v.csum_offset;
}

/* The checksum state of a plain frame copied into p. */
static void rx_csum(struct us_dev *d, struct us_pbuf *p,
		    const struct gso_info *g, uint32_t status)
{
	if (g->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* A local peer (veth) left the L4 checksum to "hardware":
		 * we are that hardware. Offsets that do not fit leave the
		 * sum unverified, and the stack's check counts the drop. */
		STAT_INC(d->st, dev_rx_csum_partial);
		if (gso_csum_complete(p, g->csum_start, g->csum_offset) == 0)
			p->csum = PBUF_CSUM_VERIFIED;
	} else if ((g->flags & VIRTIO_NET_HDR_F_DATA_VALID) ||
		   (status & TP_STATUS_CSUM_VALID)) {
		p->csum = PBUF_CSUM_VERIFIED;
	} else if (!afp_of(d)->vnet && (status & TP_STATUS_CSUMNOTREADY)) {
		/* No vnet header to say where the sum goes. The data never
		 * crossed a wire and the kernel itself accepts such a
		 * packet as verified, so we do too. */
		STAT_INC(d->st, dev_rx_csum_partial);
		p->csum = PBUF_CSUM_VERIFIED;
	}
}

/* One frame (len bytes at frame, the whole of it) with its offload
 * metadata: the frames it makes (none if dropped and counted, several for
 * a GSO frame) go on a->pending. h is its ring slot (VLAN tag, status). */
static void rx_frame(struct us_dev *d, const struct tpacket2_hdr *h,
		     uint32_t status, const struct gso_info *g,
		     const uint8_t *frame, uint32_t len)
{
	struct afp *a = afp_of(d);
	struct us_pbuf *p;

	if (g->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (status & TP_STATUS_VLAN_VALID) {
			/* Untagged segments would pose as native-VLAN
			 * traffic; and we speak no 802.1Q. */
			STAT_INC(d->st, dev_rx_drop_gso);
			return;
		}
		gso_segment(d->st, frame, len, g, a->max_frame, &a->pending);
		return;
	}
	if (len > a->max_frame) {
		STAT_INC(d->st, dev_rx_drop_truncated);
		return;
	}
	p = dev_rx_copy(d, frame, len);
	if (!p)
		return;
	/* Before the tag goes back: csum_start counts from the frame as
	 * the kernel gave it. */
	rx_csum(d, p, g, status);
	if (status & TP_STATUS_VLAN_VALID)
		vlan_reinsert(p, h);
	pbufq_push(&a->pending, p);
}

/* TP_STATUS_COPY: the slot holds the frame's head only; the kernel queued
 * the whole of it (vnet header first) on the socket, in slot order. */
static void rx_copied(struct us_dev *d, const struct tpacket2_hdr *h,
		      uint32_t status, bool ours)
{
	struct afp *a = afp_of(d);
	struct virtio_net_hdr v;
	struct gso_info g;
	ssize_t n = recv(a->fd, a->big, VNET_LEN + GSO_MAX_FRAME,
			 MSG_DONTWAIT | MSG_TRUNC);

	if (ours)
		return;
	if (n < (ssize_t)(VNET_LEN + ETH_HLEN) ||
	    n > (ssize_t)(VNET_LEN + GSO_MAX_FRAME)) {
		/* Gone, or larger than 64 KiB (a BIG TCP peer). */
		STAT_INC(d->st, dev_rx_drop_truncated);
		return;
	}
	memcpy(&v, a->big, VNET_LEN);
	g = (struct gso_info){v.flags, v.gso_type, v.gso_size, v.csum_start,
			      v.csum_offset};
	rx_frame(d, h, status, &g, a->big + VNET_LEN, (uint32_t)n - VNET_LEN);
}

/* One ring slot owned by us: what it holds goes on a->pending. */
static void rx_slot(struct us_dev *d, struct tpacket2_hdr *h, uint32_t status)
{
	struct afp *a = afp_of(d);
	const struct sockaddr_ll *sll =
	    (void *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
	struct gso_info g = {0};

	if (status & TP_STATUS_LOSING)
		count_ring_drops(d);
	if (status & TP_STATUS_COPY) {
		/* Read even our own: the queue must keep in step. */
		rx_copied(d, h, status, sll->sll_pkttype == PACKET_OUTGOING);
		return;
	}
	if (sll->sll_pkttype == PACKET_OUTGOING)
		return; /* our own frame, seen on the way out */
	if ((uint64_t)h->tp_mac + h->tp_snaplen > a->rx.frame_size ||
	    h->tp_mac < TPACKET2_HDRLEN + (a->vnet ? VNET_LEN : 0)) {
		STAT_INC(d->st, dev_rx_drop_truncated); /* not the kernel's */
		return;
	}
	if (!a->vnet && h->tp_len > a->max_frame) {
		/* Without vnet headers only a super-frame is this big. */
		STAT_INC(d->st, dev_rx_drop_gso);
		warn_gso(d, h->tp_len);
		return;
	}
	if (h->tp_len > h->tp_snaplen) {
		/* Too big for a slot and not copied (the socket's queue
		 * was full). */
		STAT_INC(d->st, dev_rx_drop_truncated);
		return;
	}
	if (a->vnet)
		vnet_read(h, &g);
	rx_frame(d, h, status, &g, (uint8_t *)h + h->tp_mac, h->tp_snaplen);
}

static int take_pending(struct afp *a, struct us_pbuf **pkts, int n, int max)
{
	while (n < max && a->pending.head)
		pkts[n++] = pbufq_pop(&a->pending);
	return n;
}

static bool slot_ours(struct ring *r, uint32_t i)
{
	return __atomic_load_n(&slot(r, i)->tp_status, __ATOMIC_ACQUIRE) &
	       TP_STATUS_USER;
}

static int afp_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	struct afp *a = afp_of(d);
	struct ring *r = &a->rx;
	/* Segments of a super-frame that did not fit the last burst. */
	int n = take_pending(a, pkts, 0, max);
	/* Every slot ours: the kernel may be dropping. TP_STATUS_LOSING only
	 * shows on a frame stored after a drop, and there may be none. */
	bool full = slot_ours(r, r->head) &&
		    slot_ours(r, r->head ? r->head - 1 : r->frame_nr - 1);

	/* At most one lap, so our own frames cannot keep us here. */
	for (uint32_t i = 0; i < r->frame_nr && n < max; i++) {
		struct tpacket2_hdr *h = slot(r, r->head);
		uint32_t status =
		    __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			break;
		rx_slot(d, h, status);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		ring_advance(r);
		n = take_pending(a, pkts, n, max);
	}
	if (full)
		count_ring_drops(d);
	return n;
}

/* Place one frame in the TX ring. 0, or a negative errno (counted). */
static int tx_slot(struct us_dev *d, const struct us_pbuf *p)
{
	struct afp *a = afp_of(d);
	struct tpacket2_hdr *h = slot(&a->tx, a->tx.head);
	uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
	uint32_t vlen = a->vnet ? VNET_LEN : 0;
	uint8_t *data = (uint8_t *)h + TX_DATA_OFF;

	if (p->len > d->mtu + ETH_HLEN ||
	    p->len > a->tx.frame_size - TX_DATA_OFF - vlen) {
		STAT_INC(d->st, dev_tx_drop_toobig);
		return -EMSGSIZE;
	}
	if (status != TP_STATUS_AVAILABLE && status != TP_STATUS_WRONG_FORMAT) {
		STAT_INC(d->st, dev_tx_drop_full);
		return -ENOBUFS;
	}
	/* With vnet headers on, a plain frame says so: no GSO, checksums
	 * complete (all zero but hdr_len). */
	if (vlen) {
		/* hdr_len: how much of the frame the kernel copies into the
		 * skb's own (linear) buffer; the rest it would attach as
		 * fragments pointing into our ring pages. Such zero-copy
		 * fragments cost more than the copy they save: a veth peer
		 * (any forward into another namespace) copies them into
		 * fresh pages (skb_copy_ubufs) and pulls the headers out
		 * again (__pskb_pull_tail), 15% of the sender's CPU in a
		 * profile of bulk TCP over veth. The whole frame as "header"
		 * makes one plain copy instead. Native-endian, as the
		 * header's other fields (see vnet_read). */
		struct virtio_net_hdr v = {.hdr_len = (uint16_t)p->len};
		memcpy(data, &v, vlen);
	}
	memcpy(data + vlen, p->data, p->len);
	h->tp_len = vlen + p->len;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
			 __ATOMIC_RELEASE);
	ring_advance(&a->tx);
	STAT_INC(d->st, dev_tx_frames);
	STAT_ADD(d->st, dev_tx_bytes, p->len);
	return 0;
}

static void afp_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	struct afp *a = afp_of(d);
	int queued = 0;

	for (int i = 0; i < n; i++) {
		if (tx_slot(d, pkts[i]) == 0)
			queued++;
		pbuf_free(pkts[i]);
	}
	if (!queued && !a->kick_pending)
		return;
	/* One system call sends every frame marked in the ring. If the
	 * kernel is short of room they stay marked: kick again next turn. */
	a->kick_pending =
	    send(a->fd, NULL, 0, MSG_DONTWAIT) < 0 &&
	    (errno == EAGAIN || errno == ENOBUFS || errno == EINTR);
}

static int afp_fd(struct us_dev *d)
{
	return afp_of(d)->fd;
}

/* Segments waiting in pending are work for the next turn, now. */
static uint64_t afp_next_event(struct us_dev *d)
{
	return afp_of(d)->pending.count ? d->st->now : UINT64_MAX;
}

static void afp_close(struct us_dev *d)
{
	struct afp *a = afp_of(d);

	pbufq_purge(&a->pending);
	free(a->big);
	if (a->map)
		munmap(a->map, a->map_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
	free(d);
}

static const struct us_dev_ops afp_ops = {
    .name = "afpacket",
    .rx_burst = afp_rx_burst,
    .tx_burst = afp_tx_burst,
    .fd = afp_fd,
    .next_event = afp_next_event,
    .close = afp_close,
};

/* DESIGN: the kernel must not own an address on our interface. */
static int check_no_kernel_addr(const char *name)
{
	struct ifaddrs *ifs, *i;
	int rc = 0;

	if (getifaddrs(&ifs) < 0)
		return 0; /* cannot tell; the user sees ARP replies if so */
	for (i = ifs; i && !rc; i = i->ifa_next) {
		char buf[INET_ADDRSTRLEN];
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, name))
			continue;
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
			  sizeof(buf));
		us_err(NULL,
		       "interface %s has kernel address %s; remove it (ip addr "
		       "flush dev %s) so the kernel does not answer ARP or "
		       "send RSTs for ustack",
		       name, buf, name);
		rc = -EADDRINUSE;
	}
	freeifaddrs(ifs);
	return rc;
}

/* The interface exists, has no kernel address, is up; learn MAC, MTU. */
static int prepare_if(struct us_dev *d, const char *name)
{
	struct ifreq ifr = {0};
	int rc;

	if (!if_nametoindex(name)) {
		us_err(NULL, "afpacket: no interface %s", name);
		return -ENODEV;
	}
	rc = check_no_kernel_addr(name);
	if (rc == 0)
		rc = dev_ifreq(name, SIOCGIFHWADDR, &ifr);
	if (rc == 0 && ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		us_err(NULL, "afpacket: %s is not an Ethernet interface", name);
		return -EINVAL;
	}
	if (rc == 0)
		rc = dev_if_up(name);
	if (rc < 0) {
		if (rc != -EADDRINUSE)
			us_err(NULL, "afpacket: %s: %s", name, strerror(-rc));
		return rc;
	}
	memcpy(d->mac, ifr.ifr_hwaddr.sa_data, 6);
	d->has_mac = 1;
	d->mtu = dev_if_mtu(name);
	d->mtu_hard = d->mtu != 0;
	if (!d->mtu)
		d->mtu = 1500;
	snprintf(d->name, sizeof(d->name), "%s", name);
	return 0;
}

/* Slots big enough for slot_min bytes (a power of two: 2048 for MTU
 * 1500). Each ring is whole blocks of RING_BLOCK bytes. */
static void ring_size(struct tpacket_req *req, uint32_t slot_min,
		      uint32_t bytes)
{
	uint32_t fs = 2048;

	while (fs < slot_min)
		fs *= 2;
	req->tp_frame_size = fs;
	req->tp_block_size = US_MAX(fs, RING_BLOCK);
	req->tp_block_nr = US_MAX(bytes / req->tp_block_size, 1u);
	req->tp_frame_nr =
	    req->tp_block_nr * (req->tp_block_size / req->tp_frame_size);
}

static void ring_init(struct ring *r, void *base, const struct tpacket_req *req)
{
	r->base = base;
	r->frame_size = req->tp_frame_size;
	r->frame_nr = req->tp_frame_nr;
	r->head = 0;
	r->block_size = req->tp_block_size;
	r->frames_per_block = req->tp_block_size / req->tp_frame_size;
}

static int setopt(int fd, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, SOL_PACKET, name, val, len) < 0 ? -errno : 0;
}

/* Both rings, sized for a->vnet; 0 or -errno. */
static int set_rings(struct afp *a, struct tpacket_req *rx,
		     struct tpacket_req *tx)
{
	uint32_t vlen = a->vnet ? VNET_LEN : 0;
	int rc;

	/* RX: the kernel puts the frame at least 16 bytes past the slot
	 * header, the vnet header right before it. */
	ring_size(rx, RX_MAC_ROOM + vlen + a->max_frame, RX_RING_BYTES);
	ring_size(tx, TX_DATA_OFF + vlen + a->max_frame, TX_RING_BYTES);
	rc = setopt(a->fd, PACKET_RX_RING, rx, sizeof(*rx));
	if (rc == 0)
		rc = setopt(a->fd, PACKET_TX_RING, tx, sizeof(*tx));
	return rc;
}

/* Super-frames too big for a slot also go whole to the socket's queue
 * (TP_STATUS_COPY in their slot), bounded by its receive buffer. */
static int setup_copy(struct afp *a)
{
	int one = 1, rcvbuf = COPY_RCVBUF;

	a->big = malloc(VNET_LEN + GSO_MAX_FRAME);
	if (!a->big)
		return -ENOMEM;
	/* FORCE passes net.core.rmem_max, given CAP_NET_ADMIN; the plain
	 * option is capped there. */
	if (setsockopt(a->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	return setopt(a->fd, PACKET_COPY_THRESH, &one, sizeof(one));
}

static int setup_rings(struct afp *a)
{
	struct tpacket_req rx, tx;
	int v2 = TPACKET_V2, one = 1, zero = 0, rc;

	if ((rc = setopt(a->fd, PACKET_VERSION, &v2, sizeof(v2))) ||
	    /* Skip a frame the kernel rejects instead of stalling the ring. */
	    (rc = setopt(a->fd, PACKET_LOSS, &one, sizeof(one))))
		return rc;
	/* Before the rings: the kernel refuses to change it after. */
	a->vnet = setopt(a->fd, PACKET_VNET_HDR, &one, sizeof(one)) == 0;
	rc = set_rings(a, &rx, &tx);
	if (rc < 0 && a->vnet) {
		/* A kernel that takes vnet headers but not with rings. */
		setopt(a->fd, PACKET_VNET_HDR, &zero, sizeof(zero));
		a->vnet = 0;
		rc = set_rings(a, &rx, &tx);
	}
	if (rc < 0)
		return rc;
	if (a->vnet && (rc = setup_copy(a)) < 0)
		return rc;
	/* Best effort (Linux 4.20+): spares the ring our own frames. */
	setopt(a->fd, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* Best effort (Linux 3.14+): our frames go straight to the driver,
	 * past the qdisc layer (we queue and pace ourselves, as a NIC's
	 * user-space driver would). Costs: other packet sockets on the
	 * interface (tcpdump) no longer see what we send, so use --pcap;
	 * and a full device queue drops instead of queueing, which TCP
	 * repairs. Measured (bench/fig_veth.sh's set-up, noisy shared
	 * machine): bulk TCP sending over veth ~10% faster with it. */
	setopt(a->fd, PACKET_QDISC_BYPASS, &one, sizeof(one));

	a->map_len = (size_t)rx.tp_block_size * rx.tp_block_nr +
		     (size_t)tx.tp_block_size * tx.tp_block_nr;
	a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      a->fd, 0);
	if (a->map == MAP_FAILED) {
		a->map = NULL;
		return -errno;
	}
	/* The kernel maps the RX ring first, the TX ring right after. */
	ring_init(&a->rx, a->map, &rx);
	ring_init(&a->tx,
		  (uint8_t *)a->map + (size_t)rx.tp_block_size * rx.tp_block_nr,
		  &tx);
	return 0;
}

static int open_socket(struct afp *a, const char *name)
{
	struct sockaddr_ll sll = {0};
	int rc;

	/* Protocol 0: nothing is queued until the rings exist and we bind. */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return -errno;
	rc = setup_rings(a);
	if (rc < 0)
		return rc;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(name);
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

int dev_afpacket_open(struct us_dev **out, const char *ifname)
{
	struct us_dev *d = NULL;
	struct afp *a = NULL;
	int rc = -ENOMEM;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		us_err(NULL, "afpacket: bad interface name '%s'",
		       ifname ? ifname : "");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	a = calloc(1, sizeof(*a));
	if (!d || !a) {
		free(d);
		free(a);
		return rc;
	}
	a->fd = -1;
	pbufq_init(&a->pending);
	d->ops = &afp_ops;
	d->priv = a;
	rc = prepare_if(d, ifname);
	if (rc < 0)
		goto fail;
	a->max_frame = d->mtu + ETH_HLEN + VLAN_HLEN;
	rc = open_socket(a, ifname);
	if (rc < 0) {
		us_err(NULL, "afpacket: %s: %s%s", ifname, strerror(-rc),
		       rc == -EPERM ? " (needs CAP_NET_RAW)" : "");
		goto fail;
	}
	*out = d;
	return 0;
fail:
	afp_close(d);
	return rc;
}
