/* Ethernet II header layout (IEEE 802.3 / RFC 894). No state, no I/O. */
#ifndef US_WIRE_ETH_H
#define US_WIRE_ETH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"

#define ETH_ADDR_LEN 6
#define ETH_HDR_LEN 14
#define ETH_MIN_TYPE 0x0600 /* below: an 802.3 length field, not a type */

struct eth_hdr {
	uint8_t dst[ETH_ADDR_LEN];
	uint8_t src[ETH_ADDR_LEN];
	uint16_t type; /* host order */
};

/* 0, or -EINVAL when fewer than ETH_HDR_LEN bytes were received. */
static inline int eth_parse(const uint8_t *buf, uint32_t len, struct eth_hdr *h)
{
	memset(h, 0, sizeof(*h)); /* defined even on error */
	if (len < ETH_HDR_LEN)
		return -EINVAL;
	memcpy(h->dst, buf, ETH_ADDR_LEN);
	memcpy(h->src, buf + 6, ETH_ADDR_LEN);
	h->type = rd16(buf + 12);
	return 0;
}

/* Write ETH_HDR_LEN bytes at buf. */
static inline void eth_emit(uint8_t *buf, const struct eth_hdr *h)
{
	memcpy(buf, h->dst, ETH_ADDR_LEN);
	memcpy(buf + 6, h->src, ETH_ADDR_LEN);
	wr16(buf + 12, h->type);
}

/* IEEE 802: the I/G bit (first bit on the wire) marks group addresses;
 * broadcast is the all-ones group. */
static inline bool eth_addr_is_group(const uint8_t *a)
{
	return a[0] & 1;
}
static inline bool eth_addr_is_bcast(const uint8_t *a)
{
	return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}
static inline bool eth_addr_is_zero(const uint8_t *a)
{
	return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5]) == 0;
}

/* RFC 1112 6.4: an IPv4 multicast group maps to 01:00:5e plus the low 23
 * bits of the group address. ip is in network order. */
static inline void eth_addr_from_ip4_mcast(uint8_t *a, uint32_t ip)
{
	const uint8_t *b = (const uint8_t *)&ip;
	a[0] = 0x01;
	a[1] = 0x00;
	a[2] = 0x5e;
	a[3] = b[1] & 0x7f;
	a[4] = b[2];
	a[5] = b[3];
}

#endif
