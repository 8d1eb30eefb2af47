#include "wire/csum.h"

#include <string.h>

/* One's-complement sum in native byte order: summing 64-bit words and
 * folding carries gives the same 16-bit result as summing big-endian
 * 16-bit words, byte-swapped on little-endian hosts (RFC 1071 2(B)), so
 * the folded value is stored with memcpy, not htons. Odd start offsets are
 * not special-cased: callers sum whole headers or whole payloads, and a
 * trailing odd byte is padded with zero as RFC 1071 requires. */
uint64_t csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned __int128 acc = sum;

	while (len >= 32) {
		uint64_t w[4];
		memcpy(w, p, 32);
		acc += (unsigned __int128)w[0] + w[1] + w[2] + w[3];
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		acc += w;
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, p, len); /* zero padding at the end */
		acc += w;
	}
	uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64);
	lo += hi;
	if (lo < hi)
		lo++;
	return lo;
}

uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

uint64_t csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
	uint8_t ph[12];
	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	return csum_add(0, ph, sizeof(ph));
}
