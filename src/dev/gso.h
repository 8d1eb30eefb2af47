/* Receive offloads of a kernel peer, undone in software: GSO super-frames
 * cut back into the segments a wire would have carried, and partial
 * checksums completed. Used by devices whose frames come with a
 * virtio_net_hdr (afpacket with PACKET_VNET_HDR); kept apart from them so
 * that the unit tests can feed hand-built frames. */
#ifndef US_DEV_GSO_H
#define US_DEV_GSO_H

#include <stdint.h>

#include "core/pbuf.h"

struct us_stack;

/* The fields of a struct virtio_net_hdr, in host order (the legacy header
 * a packet socket uses is native-endian). */
struct gso_info {
	uint8_t flags;	      /* VIRTIO_NET_HDR_F_* */
	uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_*, ECN bit included */
	uint16_t gso_size;    /* payload bytes per segment */
	uint16_t csum_start;  /* NEEDS_CSUM: L4 header, from the frame start */
	uint16_t csum_offset; /* NEEDS_CSUM: checksum field, from csum_start */
};

/* Cut the GSO frame (len bytes at frame, data at the Ethernet header) into
 * segments of at most g->gso_size payload bytes, each a complete frame in
 * a pool buffer appended to out: TCP over IPv4 (VIRTIO_NET_HDR_GSO_TCPV4)
 * and UDP over IPv4 (VIRTIO_NET_HDR_GSO_UDP_L4). A segment's frame may not
 * exceed max_frame bytes.
 *
 * Each segment carries correct IPv4 total length, ID and header checksum
 * and a complete L4 checksum, and is marked PBUF_CSUM_VERIFIED; TCP
 * segments get consecutive sequence numbers, FIN and PSH only on the last,
 * CWR only on the first. Counts dev_rx_gso_segmented (per super-frame),
 * dev_rx_gso_segments and dev_rx_frames/bytes (per segment made).
 *
 * Returns the number of segments appended; or a negative errno with the
 * frame dropped and counted: -EPROTONOSUPPORT (another GSO type, IPv6, a
 * VLAN tag: dev_rx_drop_gso), -EINVAL (headers that do not add up:
 * dev_rx_drop_gso), -ENOBUFS (pool empty: every segment not made counts
 * dev_rx_drop_nobuf; those made are still appended). */
int gso_segment(struct us_stack *st, const uint8_t *frame, uint32_t len,
		const struct gso_info *g, uint32_t max_frame,
		struct pbuf_queue *out);

/* Complete a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) in the frame
 * held by p: the ones' complement sum from csum_start to the end of the L4
 * data (the IPv4 total length bounds it when the frame is IPv4), stored at
 * csum_start + csum_offset; the field already holds the pseudo-header sum.
 * 0, or -EINVAL when the offsets fall outside the frame. */
int gso_csum_complete(struct us_pbuf *p, uint16_t csum_start,
		      uint16_t csum_offset);

#endif
