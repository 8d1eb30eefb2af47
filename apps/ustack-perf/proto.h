/* ustack-perf's wire protocol, plain TCP so either end may be any stack.
 *
 * The client opens each connection with a 32-byte hello:
 *   magic "USPERF01" | mode (u32) | req_size (u32) | resp_size (u32) |
 *   12 bytes zero                        (integers big-endian)
 * then, by mode:
 *   SEND  the client sends until its time is up and shuts down its side;
 *         the server reads to EOF and answers with the byte count it got
 *         (u64, big-endian), then closes. The client checks the count.
 *   RECV  the server sends until it reads EOF (the client shuts down its
 *         side when its time is up), then closes; the client reads to EOF.
 *   RR    the client sends req_size bytes, the server answers with
 *         resp_size bytes, and again, one transaction in flight per
 *         connection; the client shuts down its side to end.
 */
#ifndef PERF_PROTO_H
#define PERF_PROTO_H

#include <stdint.h>

#define PERF_MAGIC "USPERF01"
#define PERF_HELLO_LEN 32
#define PERF_SIZE_MAX (16u << 20) /* largest request or response */
#define PERF_DEFAULT_PORT 5201

enum perf_mode { PERF_SEND = 1, PERF_RECV = 2, PERF_RR = 3 };

static inline void perf_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t perf_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

#endif
