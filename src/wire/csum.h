/* The Internet checksum (RFC 1071), computed in 64-bit chunks. */
#ifndef US_CSUM_H
#define US_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add len bytes at buf to a running sum (not folded). Every chunk but the
 * last must have even length. Byte order
 * independent: the result folds to the network-order checksum as stored. */
uint64_t csum_add(uint64_t sum, const void *buf, size_t len);
/* Fold to 16 bits and complement: the value to store in the header, as
 * written with memcpy (already in network byte order). */
uint16_t csum_fold(uint64_t sum);
/* Sum of the IPv4 pseudo-header (addresses network order, len host order),
 * ready to continue with csum_add over the L4 header and data. */
uint64_t csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);
/* Checksum of a buffer (fold(add(0, buf, len))). 0 means valid when the
 * buffer includes its own checksum field. */
static inline uint16_t csum(const void *buf, size_t len)
{
	return csum_fold(csum_add(0, buf, len));
}

#endif
