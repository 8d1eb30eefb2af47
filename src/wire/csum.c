#include "wire/csum.h"

#include <string.h>

/* One's-complement sum in native byte order: summing 64-bit words and
 * folding carries gives the same 16-bit result as summing big-endian
 * 16-bit words, byte-swapped on little-endian hosts (RFC 1071 2(B)), so
 * the folded value is stored with memcpy, not htons. Odd start offsets are
 * not special-cased: callers sum whole headers or whole payloads, and a
 * trailing odd byte is padded with zero as RFC 1071 requires. */
/* a + b with the carry out added back in (one's-complement addition). */
static inline uint64_t add_eac(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;
	return r + (r < a);
}

uint64_t csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

#if defined(__x86_64__)
	/* The hot loop of every checksum: one add-with-carry chain per
	 * 64 bytes, so the carry of each word is taken by the next instead
	 * of being counted separately (11 instructions per 64 bytes). */
	while (len >= 64) {
		__asm__("addq 0(%[p]), %[s]\n\t"
			"adcq 8(%[p]), %[s]\n\t"
			"adcq 16(%[p]), %[s]\n\t"
			"adcq 24(%[p]), %[s]\n\t"
			"adcq 32(%[p]), %[s]\n\t"
			"adcq 40(%[p]), %[s]\n\t"
			"adcq 48(%[p]), %[s]\n\t"
			"adcq 56(%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(sum)
			: [p] "r"(p), "m"(*(const uint8_t(*)[64])p)
			: "cc");
		p += 64;
		len -= 64;
	}
#endif
	/* Two independent chains so the adds overlap. */
	uint64_t s2 = 0;
	while (len >= 16) {
		uint64_t w[2];
		memcpy(w, p, 16);
		sum = add_eac(sum, w[0]);
		s2 = add_eac(s2, w[1]);
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		sum = add_eac(sum, w);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, p, len); /* zero padding at the end */
		s2 = add_eac(s2, w);
	}
	return add_eac(sum, s2);
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
