/* The UDP header (RFC 768): parse, emit and checksum. No state, no I/O.
 *
 *   0      7 8     15 16    23 24    31
 *  +--------+--------+--------+--------+
 *  |   source port   |    dest port    |
 *  +--------+--------+--------+--------+
 *  |     length      |    checksum     |
 *  +--------+--------+--------+--------+
 */
#ifndef US_WIRE_UDP_H
#define US_WIRE_UDP_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "wire/csum.h"

#define UDP_HLEN 8
#define UDP_PROTO 17
/* 65535 - 20 (IPv4 header) - 8 (UDP header). */
#define UDP_MAX_PAYLOAD 65507

/* Ports and length in host order; csum as stored on the wire (memcpy). */
struct udp_hdr {
	uint16_t sport, dport;
	uint16_t len;
	uint16_t csum;
};

/* Reads the fixed header; -EINVAL when fewer than 8 bytes were received.
 * The length field is returned as is: the caller checks it against the
 * bytes it actually has. */
static inline int udp_parse(const uint8_t *b, uint32_t n, struct udp_hdr *h)
{
	if (n < UDP_HLEN)
		return -EINVAL;
	h->sport = rd16(b);
	h->dport = rd16(b + 2);
	h->len = rd16(b + 4);
	memcpy(&h->csum, b + 6, 2);
	return 0;
}

static inline void udp_emit(uint8_t *b, const struct udp_hdr *h)
{
	wr16(b, h->sport);
	wr16(b + 2, h->dport);
	wr16(b + 4, h->len);
	memcpy(b + 6, &h->csum, 2);
}

/* The checksum over the IPv4 pseudo-header and len bytes of header and
 * data at udp (RFC 768 "Fields"). With the stored checksum included a
 * valid datagram sums to 0. */
static inline uint16_t udp_csum4(uint32_t src, uint32_t dst, const void *udp,
				 uint32_t len)
{
	return csum_fold(csum_add(csum_pseudo4(src, dst, UDP_PROTO, len), udp,
				  len));
}

/* Fill in the checksum of a complete datagram whose checksum field is 0.
 * RFC 768: a computed 0 is sent as all ones, since 0 means "no checksum". */
static inline void udp_fill_csum4(uint32_t src, uint32_t dst, uint8_t *udp,
				  uint32_t len)
{
	uint16_t c = udp_csum4(src, dst, udp, len);
	if (c == 0)
		c = 0xffff;
	memcpy(udp + 6, &c, 2);
}

#endif
