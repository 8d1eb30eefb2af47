/* Software segmentation of GSO super-frames received from a kernel peer,
 * and completion of partial checksums.
 *
 * A veth peer with TSO/GSO on hands over a TCP segment of up to 64 KiB
 * with one set of headers and the checksum left to "hardware". We cut it
 * where the peer's NIC would have, so the stack sees exactly the segments
 * a wire would carry: TCP counts and ACKs segments (RFC 5681 4.2, RFC
 * 9293 3.8.6.3), and capture files show real frames. The rules are those
 * of TCP segmentation offload as Linux performs it in software: each
 * segment copies the headers (IP options and TCP options included), the
 * IPv4 ID goes up by one per segment, the sequence number by the payload
 * before it, FIN and PSH stay on the last segment only and CWR on the
 * first only (RFC 3168 6.1.2: CWR marks one segment, the first after the
 * window was reduced). */
#include "dev/gso.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <string.h>

#include "core/stack.h"
#include "wire/eth.h"
#include "wire/ip4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* Linux 4.18+; older headers lack it */
#endif

#define GSO_ETHERTYPE_IPV4 0x0800

/* What every segment copies, and where the data starts. */
struct gso_hdrs {
	struct ip4_hdr ip;
	uint32_t l4len;	  /* L4 header length (TCP options included) */
	uint32_t hlen;	  /* Ethernet + IP + L4 header bytes */
	uint32_t payload; /* L4 data bytes after hlen */
	uint32_t seq;	  /* TCP: sequence number of the first data byte */
};

static int gso_parse(const uint8_t *frame, uint32_t len, uint8_t proto,
		     struct gso_hdrs *g)
{
	const uint8_t *ip = frame + ETH_HDR_LEN, *l4;
	uint32_t l4n;
	struct tcp_hdr th;

	if (len < ETH_HDR_LEN || rd16(frame + 12) != GSO_ETHERTYPE_IPV4)
		return -EPROTONOSUPPORT; /* IPv6, 802.1Q: we speak neither */
	if (ip4_parse(ip, len - ETH_HDR_LEN, &g->ip) < 0 ||
	    ip4_is_fragment(&g->ip) || g->ip.proto != proto)
		return -EINVAL;
	l4 = ip + g->ip.ihl;
	l4n = (uint32_t)g->ip.tot_len - g->ip.ihl;
	if (proto == IP4_PROTO_TCP) {
		if (tcp_parse(l4, l4n, &th) < 0)
			return -EINVAL;
		g->l4len = th.doff;
		g->seq = th.seq;
	} else {
		if (l4n < UDP_HLEN)
			return -EINVAL;
		g->l4len = UDP_HLEN;
	}
	g->hlen = ETH_HDR_LEN + g->ip.ihl + g->l4len;
	g->payload = l4n - g->l4len;
	return 0;
}

/* Segment i: n payload bytes from offset off of the super-frame's data. */
static struct us_pbuf *gso_one(struct us_stack *st, const uint8_t *frame,
			       const struct gso_hdrs *g, uint32_t i,
			       uint32_t off, uint32_t n, bool last)
{
	struct us_pbuf *p = pbuf_alloc(&st->pool, g->hlen + n, 0);
	uint8_t *ip, *l4;
	uint32_t ihl = g->ip.ihl;

	if (!p)
		return NULL;
	memcpy(p->data, frame, g->hlen);
	memcpy(p->data + g->hlen, frame + g->hlen + off, n);
	p->len = g->hlen + n;
	ip = p->data + ETH_HDR_LEN;
	l4 = ip + ihl;
	wr16(ip + 2, (uint16_t)(ihl + g->l4len + n));
	wr16(ip + 4, (uint16_t)(g->ip.id + i));
	ip4_hdr_set_csum(ip, ihl);
	if (g->ip.proto == IP4_PROTO_TCP) {
		uint8_t flags = l4[13];
		if (!last)
			flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i)
			flags &= (uint8_t)~TCP_CWR;
		l4[13] = flags;
		wr32(l4 + 4, g->seq + off);
		l4[16] = l4[17] = 0;
		tcp_fill_csum4(g->ip.src, g->ip.dst, l4, g->l4len + n);
	} else {
		wr16(l4 + 4, (uint16_t)(UDP_HLEN + n));
		l4[6] = l4[7] = 0;
		udp_fill_csum4(g->ip.src, g->ip.dst, l4, UDP_HLEN + n);
	}
	/* We computed every checksum ourselves from the peer's data. */
	p->csum = PBUF_CSUM_VERIFIED;
	p->time = st->now;
	STAT_INC(st, dev_rx_frames);
	STAT_ADD(st, dev_rx_bytes, p->len);
	return p;
}

int gso_segment(struct us_stack *st, const uint8_t *frame, uint32_t len,
		const struct gso_info *gi, uint32_t max_frame,
		struct pbuf_queue *out)
{
	uint8_t type = gi->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint32_t mss = gi->gso_size, nseg, made = 0;
	struct gso_hdrs g;
	int rc;

	if (type == VIRTIO_NET_HDR_GSO_TCPV4)
		rc = gso_parse(frame, len, IP4_PROTO_TCP, &g);
	else if (type == VIRTIO_NET_HDR_GSO_UDP_L4)
		rc = gso_parse(frame, len, IP4_PROTO_UDP, &g);
	else
		rc = -EPROTONOSUPPORT; /* TCPv6, UFO (fragments): not ours */
	/* Each segment must be a frame the link could have carried. */
	if (rc == 0 &&
	    (mss == 0 || g.hlen + US_MIN(mss, g.payload) > max_frame))
		rc = -EINVAL;
	if (rc < 0) {
		STAT_INC(st, dev_rx_drop_gso);
		return rc;
	}
	nseg = g.payload ? (g.payload + mss - 1) / mss : 1;
	STAT_INC(st, dev_rx_gso_segmented);
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t off = i * mss;
		struct us_pbuf *p =
		    gso_one(st, frame, &g, i, off, US_MIN(mss, g.payload - off),
			    i + 1 == nseg);
		if (!p) {
			STAT_ADD(st, dev_rx_drop_nobuf, nseg - i);
			return -ENOBUFS;
		}
		pbufq_push(out, p);
		STAT_INC(st, dev_rx_gso_segments);
		made++;
	}
	return (int)made;
}

int gso_csum_complete(struct us_pbuf *p, uint16_t csum_start,
		      uint16_t csum_offset)
{
	uint32_t end = p->len;
	struct ip4_hdr h;
	uint16_t c;

	/* An IPv4 frame may carry Ethernet padding after its datagram. */
	if (p->len >= ETH_HDR_LEN && rd16(p->data + 12) == GSO_ETHERTYPE_IPV4 &&
	    ip4_parse(p->data + ETH_HDR_LEN, p->len - ETH_HDR_LEN, &h) == 0)
		end = ETH_HDR_LEN + h.tot_len;
	if (csum_start >= end || (uint32_t)csum_start + csum_offset + 2 > end)
		return -EINVAL;
	c = csum_fold(csum_add(0, p->data + csum_start, end - csum_start));
	/* RFC 768: a computed 0 is sent as all ones (0 means "none" for
	 * UDP; for TCP the two are the same number). */
	if (c == 0)
		c = 0xffff;
	memcpy(p->data + csum_start + csum_offset, &c, 2);
	return 0;
}
