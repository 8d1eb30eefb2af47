/* IPv4 header layout (RFC 791 3.1). No state, no I/O. Addresses are
 * uint32_t in network byte order; every other field is host order here. */
#ifndef US_WIRE_IP4_H
#define US_WIRE_IP4_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "wire/csum.h"

#define IP4_MIN_HLEN 20
#define IP4_MAX_HLEN 60
#define IP4_MAX_LEN 65535u
#define IP4_FLAG_RF 0x8000 /* reserved, must be zero */
#define IP4_FLAG_DF 0x4000
#define IP4_FLAG_MF 0x2000
#define IP4_OFF_MASK 0x1fff /* fragment offset, in 8-byte units */

#define IP4_PROTO_ICMP 1
#define IP4_PROTO_TCP 6
#define IP4_PROTO_UDP 17

struct ip4_hdr {
	uint8_t ihl; /* header length in bytes (IHL * 4) */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag; /* flags and offset, as the 16-bit wire field */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum; /* the field as read with rd16 */
	uint32_t src, dst;
};

/* Why ip4_parse refused a header (returned negated), one per counter. */
enum ip4_parse_err {
	IP4_ERR_SHORT = 1, /* fewer than 20 bytes received */
	IP4_ERR_VERSION,   /* version is not 4 */
	IP4_ERR_HDRLEN,	   /* IHL < 5, or header longer than total/received */
	IP4_ERR_TOTLEN,	   /* total length larger than the bytes received */
};

/* Parse and length-check the header at buf (len bytes received): on 0 the
 * whole header (h->ihl bytes) and h->tot_len bytes are inside buf. The
 * checksum is not checked here (ip4_hdr_csum_ok). */
static inline int ip4_parse(const uint8_t *buf, uint32_t len, struct ip4_hdr *h)
{
	memset(h, 0, sizeof(*h)); /* defined even on error */
	if (len < IP4_MIN_HLEN)
		return -IP4_ERR_SHORT;
	if (buf[0] >> 4 != 4)
		return -IP4_ERR_VERSION;
	h->ihl = (uint8_t)((buf[0] & 0x0f) * 4);
	h->tos = buf[1];
	h->tot_len = rd16(buf + 2);
	h->id = rd16(buf + 4);
	h->frag = rd16(buf + 6);
	h->ttl = buf[8];
	h->proto = buf[9];
	h->csum = rd16(buf + 10);
	h->src = rdaddr(buf + 12);
	h->dst = rdaddr(buf + 16);
	/* RFC 1122 3.2.1.1-2: IHL >= 5 and the header fits in the datagram. */
	if (h->ihl < IP4_MIN_HLEN || h->ihl > h->tot_len || h->ihl > len)
		return -IP4_ERR_HDRLEN;
	if (h->tot_len > len)
		return -IP4_ERR_TOTLEN;
	return 0;
}

/* RFC 791 3.1: the checksum covers the header only. */
static inline bool ip4_hdr_csum_ok(const uint8_t *buf, uint32_t ihl)
{
	return csum(buf, ihl) == 0;
}
static inline void ip4_hdr_set_csum(uint8_t *buf, uint32_t ihl)
{
	buf[10] = buf[11] = 0;
	uint16_t c = csum(buf, ihl);
	memcpy(buf + 10, &c, 2); /* csum_fold's result is stored as is */
}

/* Write an option-less header (IP4_MIN_HLEN bytes; h->ihl is ignored) and
 * its checksum. */
static inline void ip4_emit(uint8_t *buf, const struct ip4_hdr *h)
{
	buf[0] = 0x45;
	buf[1] = h->tos;
	wr16(buf + 2, h->tot_len);
	wr16(buf + 4, h->id);
	wr16(buf + 6, h->frag);
	buf[8] = h->ttl;
	buf[9] = h->proto;
	wraddr(buf + 12, h->src);
	wraddr(buf + 16, h->dst);
	ip4_hdr_set_csum(buf, IP4_MIN_HLEN);
}

static inline uint32_t ip4_frag_offset(const struct ip4_hdr *h)
{
	return (uint32_t)(h->frag & IP4_OFF_MASK) * 8u;
}
static inline bool ip4_is_fragment(const struct ip4_hdr *h)
{
	return (h->frag & (IP4_FLAG_MF | IP4_OFF_MASK)) != 0;
}

/* Address classes (RFC 1122 3.2.1.3, RFC 5771), ip in network order. */
static inline bool ip4_addr_is_mcast(uint32_t ip)
{
	return (ntohl(ip) >> 28) == 0xe;
}
static inline bool ip4_addr_is_bcast(uint32_t ip)
{
	return ip == 0xffffffffu;
}
static inline bool ip4_addr_is_loopback(uint32_t ip)
{
	return (ntohl(ip) >> 24) == 127;
}
/* Class E (240/4), reserved; includes the limited broadcast. */
static inline bool ip4_addr_is_reserved(uint32_t ip)
{
	return (ntohl(ip) >> 28) == 0xf;
}

/* The directed broadcast of ip's subnet, or 0 when the prefix has none
 * (/31 per RFC 3021, /32; and /0). ip and mask in network order. */
static inline uint32_t ip4_subnet_bcast(uint32_t ip, uint32_t mask)
{
	uint32_t m = ntohl(mask);
	if (m == 0 || m >= 0xfffffffeu)
		return 0;
	return ip | ~mask;
}

#endif
