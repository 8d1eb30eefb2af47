/* An IP address in a form that also holds IPv6, for sockets, protocol
 * control blocks and connection keys: 16 bytes, with an IPv4 address kept
 * IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2). IPv6 then needs no new
 * key type, and comparing two addresses is comparing four words. */
#ifndef US_INADDR_H
#define US_INADDR_H

#include <stdbool.h>
#include <stdint.h>

struct inaddr {
	union {
		uint8_t b[16];
		uint32_t w[4];
	};
};

/* ::ffff:0:0 in network byte order, written without htonl so the header
 * needs no system includes. */
static inline uint32_t inaddr__mapped_word(void)
{
	const uint8_t m[4] = {0, 0, 0xff, 0xff};
	uint32_t w;
	__builtin_memcpy(&w, m, 4);
	return w;
}

/* ip in network byte order, as everywhere in the stack. */
static inline struct inaddr inaddr_from_v4(uint32_t ip)
{
	struct inaddr a;
	a.w[0] = 0;
	a.w[1] = 0;
	a.w[2] = inaddr__mapped_word();
	a.w[3] = ip;
	return a;
}

static inline bool inaddr_is_v4(const struct inaddr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == inaddr__mapped_word();
}

/* The IPv4 address of a mapped address (network order). */
static inline uint32_t inaddr_v4(const struct inaddr *a) { return a->w[3]; }

static inline bool inaddr_eq(const struct inaddr *a, const struct inaddr *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) |
		(a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])) == 0;
}

/* The wildcard: :: or 0.0.0.0 (mapped). */
static inline bool inaddr_is_any(const struct inaddr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[3] == 0 &&
	       (a->w[2] == 0 || a->w[2] == inaddr__mapped_word());
}

#endif
