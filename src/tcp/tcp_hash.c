/* Keyed hashes of a 4-tuple from the stack's secret: the connection
 * table's hash (so no peer can choose colliding ports), initial sequence
 * numbers (RFC 6528) and the ephemeral port offset (RFC 6056). */
#include <endian.h>
#include <string.h>

#include "tcp/tcp_conn.h"

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash, so neither
 * an attacker's choice of ports nor ISN prediction can use our tables'
 * or sequence numbers' structure. */
static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3)                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl64(v1, 13);                                           \
		v1 ^= v0;                                                      \
		v0 = rotl64(v0, 32);                                           \
		v2 += v3;                                                      \
		v3 = rotl64(v3, 16);                                           \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl64(v3, 21);                                           \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl64(v1, 17);                                           \
		v1 ^= v2;                                                      \
		v2 = rotl64(v2, 32);                                           \
	} while (0)

static inline uint64_t load64le(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

/* SipHash-c-d: c rounds per message word, d at the end. */
static inline uint64_t siphash(const uint8_t key[16], const uint8_t *m,
			       size_t n, int c, int d)
{
	uint64_t k0 = load64le(key), k1 = load64le(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64le(m + i);
		v3 ^= w;
		for (int r = 0; r < c; r++)
			SIPROUND(v0, v1, v2, v3);
		v0 ^= w;
	}
	uint64_t last = (uint64_t)(n & 0xff) << 56;
	for (size_t j = 0; i + j < n; j++)
		last |= (uint64_t)m[i + j] << (8 * j);
	v3 ^= last;
	for (int r = 0; r < c; r++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t siphash24(const uint8_t key[16], const uint8_t *m, size_t n)
{
	return siphash(key, m, n, 2, 4);
}

uint64_t tcp_tuple_hash(struct us_stack *st, int key, const struct inaddr *la,
			uint16_t lp, const struct inaddr *ra, uint16_t rp)
{
	uint8_t m[36];
	memcpy(m, la->b, 16);
	memcpy(m + 16, ra->b, 16);
	wr16(m + 32, lp);
	wr16(m + 34, rp);
	return siphash24(st->secret + key, m, sizeof(m));
}

uint64_t tcp_keyed_hash(struct us_stack *st, int key, const void *m, size_t n)
{
	return siphash24(st->secret + key, m, n);
}

/* The connection table's hash runs on every segment, and only has to keep
 * a peer from choosing colliding 4-tuples (it is never seen on the wire):
 * SipHash-1-3, the reduced-round variant hash tables use for that, over
 * the 12 bytes of an IPv4 4-tuple (all 36 for anything else). */
uint32_t tcp_hash4(struct us_stack *st, const struct inaddr *la, uint16_t lp,
		   const struct inaddr *ra, uint16_t rp)
{
	const uint8_t *key = st->secret + TCP_KEY_HASH;
	uint8_t m[36];

	if (inaddr_is_v4(la) && inaddr_is_v4(ra)) {
		uint32_t l4 = inaddr_v4(la), r4 = inaddr_v4(ra);
		memcpy(m, &l4, 4);
		memcpy(m + 4, &r4, 4);
		wr16(m + 8, lp);
		wr16(m + 10, rp);
		return (uint32_t)siphash(key, m, 12, 1, 3);
	}
	memcpy(m, la->b, 16);
	memcpy(m + 16, ra->b, 16);
	wr16(m + 32, lp);
	wr16(m + 34, rp);
	return (uint32_t)siphash(key, m, sizeof(m), 1, 3);
}

/* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a timer ticking every 4 microseconds. */
uint32_t tcp_isn(struct us_stack *st, const struct inaddr *la, uint16_t lp,
		 const struct inaddr *ra, uint16_t rp)
{
	struct tcp_stack *ts = tcp_of(st);
	if (ts->isn_fixed)
		return ts->isn;
	return (uint32_t)(st->now / 4000u) +
	       (uint32_t)tcp_tuple_hash(st, TCP_KEY_ISN, la, lp, ra, rp);
}
