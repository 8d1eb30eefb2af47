/* ICMP message layout (RFC 792). No state, no I/O. */
#ifndef US_WIRE_ICMP_H
#define US_WIRE_ICMP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "wire/csum.h"

#define ICMP_HDR_LEN 8
/* Types beyond those in net/icmp.h (RFC 792). */
#define ICMP_SOURCEQUENCH_T 4
#define ICMP_REDIRECT_T 5
#define ICMP_PARAMPROB_T 12
/* Destination unreachable codes (RFC 792, RFC 1122 3.2.2.1). */
#define ICMP_UNREACH_NET_C 0
#define ICMP_UNREACH_HOST_C 1
#define ICMP_UNREACH_PROTO_C 2
/* Time exceeded codes. */
#define ICMP_TIMXCEED_TTL_C 0
#define ICMP_TIMXCEED_REASS_C 1

struct icmp_hdr {
	uint8_t type, code;
	uint16_t csum; /* the field as read with rd16 */
	uint32_t rest; /* the second word: echo id/seq, error info, as rd32 */
};

/* 0, or -EINVAL when fewer than ICMP_HDR_LEN bytes were received. */
static inline int icmp_parse(const uint8_t *buf, uint32_t len,
			     struct icmp_hdr *h)
{
	memset(h, 0, sizeof(*h)); /* defined even on error */
	if (len < ICMP_HDR_LEN)
		return -EINVAL;
	h->type = buf[0];
	h->code = buf[1];
	h->csum = rd16(buf + 2);
	h->rest = rd32(buf + 4);
	return 0;
}

/* Write the 8-byte header as given (checksum included; see
 * icmp_set_csum to compute it over the whole message). */
static inline void icmp_emit(uint8_t *buf, const struct icmp_hdr *h)
{
	buf[0] = h->type;
	buf[1] = h->code;
	wr16(buf + 2, h->csum);
	wr32(buf + 4, h->rest);
}

/* RFC 792: the checksum covers the whole ICMP message. */
static inline void icmp_set_csum(uint8_t *buf, uint32_t len)
{
	buf[2] = buf[3] = 0;
	uint16_t c = csum(buf, len);
	memcpy(buf + 2, &c, 2);
}
static inline bool icmp_csum_ok(const uint8_t *buf, uint32_t len)
{
	return csum(buf, len) == 0;
}

/* The error messages, which quote the datagram that caused them
 * (RFC 1122 3.2.2: never sent about another error). */
static inline bool icmp_type_is_error(uint8_t type)
{
	return type == 3 || type == ICMP_SOURCEQUENCH_T ||
	       type == ICMP_REDIRECT_T || type == 11 ||
	       type == ICMP_PARAMPROB_T;
}

#endif
