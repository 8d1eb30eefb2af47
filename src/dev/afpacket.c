/* AF_PACKET with TPACKET_V2 RX and TX rings mapped into our memory: no
 * system call per received frame (we walk the ring and hand slots back),
 * one send() per transmitted burst to kick the TX ring.
 *
 * The interface is one the kernel also sees, so the kernel must be kept
 * out of the way: we refuse an interface that carries a kernel IPv4
 * address (the kernel would answer ARP for it and reset our connections),
 * skip the copies of our own frames (PACKET_OUTGOING), and handle the
 * kernel peer's offloads: partial checksums are accepted, GSO super-frames
 * are refused with a message naming the fix. */
#include "dev/dev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stack.h"

#define VLAN_HLEN 4
#define RX_RING_BYTES (4u << 20)
#define TX_RING_BYTES (1u << 20)
#define RING_BLOCK (64u << 10)
/* Where frame data starts in a slot: after the header and the address,
 * at least 16 bytes of room (the kernel's rule for RX), aligned. */
#define RX_MAC_ROOM (TPACKET_ALIGN(TPACKET2_HDRLEN + 16))
#define TX_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

struct ring {
	uint8_t *base;
	uint32_t frame_size, frame_nr, head;
};

struct afp {
	int fd;
	void *map;
	size_t map_len;
	struct ring rx, tx;
	uint32_t max_frame; /* largest frame the wire can carry */
	int kick_pending;   /* the last send() left frames in the ring */
	int warned_gso;
};

static struct afp *afp_of(struct us_dev *d)
{
	return d->priv;
}

static struct tpacket2_hdr *slot(struct ring *r, uint32_t i)
{
	return (struct tpacket2_hdr *)(r->base + (size_t)i * r->frame_size);
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

static void warn_gso(struct us_dev *d, uint32_t len)
{
	struct afp *a = afp_of(d);

	if (a->warned_gso)
		return;
	a->warned_gso = 1;
	us_warn(d->st,
		"afpacket %s: dropping a %u-byte GSO frame from the kernel "
		"peer; turn its offloads off: ethtool -K <peer-if> tso off "
		"gso off",
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

/* One ring slot owned by us. Returns the frame as a pool buffer, or NULL
 * (ours, or dropped and counted). */
static struct us_pbuf *rx_slot(struct us_dev *d, struct tpacket2_hdr *h,
			       uint32_t status)
{
	const struct sockaddr_ll *sll =
	    (void *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
	struct us_pbuf *p;

	if (sll->sll_pkttype == PACKET_OUTGOING)
		return NULL; /* our own frame, seen on the way out */
	if (status & TP_STATUS_LOSING)
		count_ring_drops(d);
	if (h->tp_len > afp_of(d)->max_frame) {
		STAT_INC(d->st, dev_rx_drop_gso);
		warn_gso(d, h->tp_len);
		return NULL;
	}
	if (h->tp_len > h->tp_snaplen) {
		STAT_INC(d->st, dev_rx_drop_truncated);
		return NULL;
	}
	p = dev_rx_copy(d, (uint8_t *)h + h->tp_mac, h->tp_snaplen);
	if (!p)
		return NULL;
	if (status & TP_STATUS_VLAN_VALID)
		vlan_reinsert(p, h);
	/* CSUMNOTREADY: a local kernel peer (veth) left the L4 checksum for
	 * the hardware to fill in. The data never crossed a wire, and the
	 * kernel itself accepts such a packet as verified, so we do too. */
	if (status & TP_STATUS_CSUMNOTREADY) {
		STAT_INC(d->st, dev_rx_csum_partial);
		p->csum = PBUF_CSUM_VERIFIED;
	} else if (status & TP_STATUS_CSUM_VALID) {
		p->csum = PBUF_CSUM_VERIFIED;
	}
	return p;
}

static bool slot_ours(struct ring *r, uint32_t i)
{
	return __atomic_load_n(&slot(r, i)->tp_status, __ATOMIC_ACQUIRE) &
	       TP_STATUS_USER;
}

static int afp_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	struct ring *r = &afp_of(d)->rx;
	int n = 0;
	/* Every slot ours: the kernel may be dropping. TP_STATUS_LOSING only
	 * shows on a frame stored after a drop, and there may be none. */
	bool full = slot_ours(r, r->head) &&
		    slot_ours(r, r->head ? r->head - 1 : r->frame_nr - 1);

	/* At most one lap, so our own frames cannot keep us here. */
	for (uint32_t i = 0; i < r->frame_nr && n < max; i++) {
		struct tpacket2_hdr *h = slot(r, r->head);
		uint32_t status =
		    __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		struct us_pbuf *p;

		if (!(status & TP_STATUS_USER))
			break;
		p = rx_slot(d, h, status);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		ring_advance(r);
		if (p)
			pkts[n++] = p;
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

	if (p->len > d->mtu + ETH_HLEN ||
	    p->len > a->tx.frame_size - TX_DATA_OFF) {
		STAT_INC(d->st, dev_tx_drop_toobig);
		return -EMSGSIZE;
	}
	if (status != TP_STATUS_AVAILABLE && status != TP_STATUS_WRONG_FORMAT) {
		STAT_INC(d->st, dev_tx_drop_full);
		return -ENOBUFS;
	}
	memcpy((uint8_t *)h + TX_DATA_OFF, p->data, p->len);
	h->tp_len = p->len;
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

static void afp_close(struct us_dev *d)
{
	struct afp *a = afp_of(d);

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

/* Slots big enough for the largest wire frame (a power of two: 2048 for
 * MTU 1500). Each ring is whole blocks of RING_BLOCK bytes. */
static void ring_size(struct tpacket_req *req, uint32_t max_frame,
		      uint32_t bytes)
{
	uint32_t fs = 2048;

	while (fs < RX_MAC_ROOM + max_frame)
		fs *= 2;
	req->tp_frame_size = fs;
	req->tp_block_size = US_MAX(fs, RING_BLOCK);
	req->tp_block_nr = US_MAX(bytes / req->tp_block_size, 1u);
	req->tp_frame_nr =
	    req->tp_block_nr * (req->tp_block_size / req->tp_frame_size);
}

static int setopt(int fd, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, SOL_PACKET, name, val, len) < 0 ? -errno : 0;
}

static int setup_rings(struct afp *a)
{
	struct tpacket_req rx, tx;
	int v2 = TPACKET_V2, one = 1, rc;

	ring_size(&rx, a->max_frame, RX_RING_BYTES);
	ring_size(&tx, a->max_frame, TX_RING_BYTES);
	if ((rc = setopt(a->fd, PACKET_VERSION, &v2, sizeof(v2))) ||
	    /* Skip a frame the kernel rejects instead of stalling the ring. */
	    (rc = setopt(a->fd, PACKET_LOSS, &one, sizeof(one))) ||
	    (rc = setopt(a->fd, PACKET_RX_RING, &rx, sizeof(rx))) ||
	    (rc = setopt(a->fd, PACKET_TX_RING, &tx, sizeof(tx))))
		return rc;
	/* Best effort (Linux 4.20+): spares the ring our own frames. */
	setopt(a->fd, PACKET_IGNORE_OUTGOING, &one, sizeof(one));

	a->map_len = (size_t)rx.tp_block_size * rx.tp_block_nr +
		     (size_t)tx.tp_block_size * tx.tp_block_nr;
	a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      a->fd, 0);
	if (a->map == MAP_FAILED) {
		a->map = NULL;
		return -errno;
	}
	/* The kernel maps the RX ring first, the TX ring right after. */
	a->rx = (struct ring){a->map, rx.tp_frame_size, rx.tp_frame_nr, 0};
	a->tx = (struct ring){(uint8_t *)a->map +
				  (size_t)rx.tp_block_size * rx.tp_block_nr,
			      tx.tp_frame_size, tx.tp_frame_nr, 0};
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
