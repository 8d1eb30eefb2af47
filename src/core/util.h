/* Small helpers shared by every layer. */
#ifndef US_UTIL_H
#define US_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define US_HIDDEN __attribute__((visibility("hidden")))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#define US_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define US_MIN(a, b) ((a) < (b) ? (a) : (b))
#define US_MAX(a, b) ((a) > (b) ? (a) : (b))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define US_NS_PER_MS 1000000ull
#define US_NS_PER_S 1000000000ull

/* Explicit byte order for wire fields: read/write through these only. */
static inline uint16_t rd16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t rd32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}
static inline void wr16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void wr32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}
/* IPv4 addresses are kept in network byte order (as in struct in_addr);
 * these move them to and from the wire without alignment assumptions. */
static inline uint32_t rdaddr(const void *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return v;
}
static inline void wraddr(void *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

#endif
