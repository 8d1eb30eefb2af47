/* ARP packet layout (RFC 826) for Ethernet hardware and IPv4 protocol
 * addresses: the only combination ustack speaks. No state, no I/O. */
#ifndef US_WIRE_ARP_H
#define US_WIRE_ARP_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"

#define ARP_FIXED_LEN 8 /* htype, ptype, hlen, plen, op */
#define ARP_PKT_LEN 28	/* with Ethernet/IPv4 addresses */
#define ARP_HRD_ETHER 1 /* RFC 826 ar$hrd for Ethernet (10Mb) */
#define ARP_PRO_IPV4 0x0800
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_pkt {
	uint16_t htype, ptype; /* host order */
	uint8_t hlen, plen;
	uint16_t op; /* host order */
	uint8_t sha[6];
	uint32_t spa; /* network order */
	uint8_t tha[6];
	uint32_t tpa; /* network order */
};

/* 0; -EINVAL when the bytes received cannot hold the packet;
 * -EPROTONOSUPPORT when the hardware or protocol is not Ethernet/IPv4
 * (RFC 826: the address lengths are read from the packet, so they are
 * checked before the variable part is). */
static inline int arp_parse(const uint8_t *buf, uint32_t len, struct arp_pkt *a)
{
	memset(a, 0, sizeof(*a)); /* defined even on error */
	if (len < ARP_FIXED_LEN)
		return -EINVAL;
	a->htype = rd16(buf);
	a->ptype = rd16(buf + 2);
	a->hlen = buf[4];
	a->plen = buf[5];
	a->op = rd16(buf + 6);
	if (a->htype != ARP_HRD_ETHER || a->ptype != ARP_PRO_IPV4 ||
	    a->hlen != 6 || a->plen != 4)
		return -EPROTONOSUPPORT;
	if (len < ARP_PKT_LEN)
		return -EINVAL;
	memcpy(a->sha, buf + 8, 6);
	a->spa = rdaddr(buf + 14);
	memcpy(a->tha, buf + 18, 6);
	a->tpa = rdaddr(buf + 24);
	return 0;
}

/* Write ARP_PKT_LEN bytes at buf (hlen/plen must be 6/4). */
static inline void arp_emit(uint8_t *buf, const struct arp_pkt *a)
{
	wr16(buf, a->htype);
	wr16(buf + 2, a->ptype);
	buf[4] = a->hlen;
	buf[5] = a->plen;
	wr16(buf + 6, a->op);
	memcpy(buf + 8, a->sha, 6);
	wraddr(buf + 14, a->spa);
	memcpy(buf + 18, a->tha, 6);
	wraddr(buf + 24, a->tpa);
}

/* An Ethernet/IPv4 packet; tha NULL means all zeros (requests). */
static inline void arp_pkt_set(struct arp_pkt *a, uint16_t op,
			       const uint8_t sha[6], uint32_t spa,
			       const uint8_t *tha, uint32_t tpa)
{
	a->htype = ARP_HRD_ETHER;
	a->ptype = ARP_PRO_IPV4;
	a->hlen = 6;
	a->plen = 4;
	a->op = op;
	memcpy(a->sha, sha, 6);
	a->spa = spa;
	if (tha)
		memcpy(a->tha, tha, 6);
	else
		memset(a->tha, 0, 6);
	a->tpa = tpa;
}

#endif
