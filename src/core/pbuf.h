/* Packet buffers: made at start-up in a pool, reference-counted, with
 * headroom so each layer writes its header in front of the data.
 *
 * Three size classes: small buffers hold one standard frame; medium ones
 * (16 KiB) a jumbo frame or a datagram of a few fragments; large ones
 * (65 KiB) the biggest reassembled datagram or UDP send. pbuf_alloc takes
 * the smallest class that fits, so memory accounted by truesize (the
 * buffer's full size, not the payload) stays close to what is held. */
#ifndef US_PBUF_H
#define US_PBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PBUF_HEADROOM 192u
#define PBUF_CLASSES 3
#define PBUF_SMALL_SIZE 2048u               /* whole buffer, headroom incl. */
#define PBUF_MEDIUM_SIZE 16384u
#define PBUF_LARGE_SIZE (65536u + 1024u)

enum pbuf_csum {
	PBUF_CSUM_NONE = 0,     /* nothing known: verify in software */
	PBUF_CSUM_VERIFIED = 1, /* device verified (or trusted) the L4 sum */
	PBUF_CSUM_PARTIAL = 2,  /* L4 sum not filled in: start/offset below */
};

struct pbuf_pool;

struct us_pbuf {
	uint8_t *data;          /* first valid byte */
	uint32_t len;           /* valid bytes from data */
	uint16_t refcnt;
	uint8_t csum;           /* enum pbuf_csum */
	uint8_t cls;            /* size class: 0 small, 1 medium, 2 large */
	uint16_t csum_start;    /* PARTIAL: offset of L4 header from data at rx */
	uint16_t csum_off;      /* PARTIAL: offset of the sum field from start */
	uint16_t gso_size;      /* >0: frame is a GSO super-frame of this MSS */
	uint16_t l3_off;        /* offset from head of the L3 header (input) */
	uint16_t l4_off;        /* offset from head of the L4 header (input) */
	uint8_t flags;          /* PBUF_F_* */
	uint8_t ip_proto;       /* input: IPv4 protocol */
	uint32_t ip_src, ip_dst; /* input: addresses (network order) */
	uint64_t time;          /* arrival time (rx) / enqueue time */
	struct us_pbuf *next;   /* queue link (or chain) */
	struct pbuf_pool *pool;
	uint8_t *head;          /* start of the buffer memory */
	uint32_t size;          /* bytes of buffer memory at head */
	uint32_t user;          /* scratch for the current owner */
};

#define PBUF_F_BCAST 0x01       /* link-layer broadcast/multicast */
#define PBUF_F_LOOP 0x02        /* looped back to ourselves */

struct pbuf_pool {
	struct us_pbuf *free[PBUF_CLASSES]; /* free lists, by size class */
	uint32_t nfree[PBUF_CLASSES], total[PBUF_CLASSES];
	uint32_t reserve;               /* small buffers kept for ACK/RST */
	void *hdrs, *mem[PBUF_CLASSES]; /* the allocations */
	uint64_t *fail_counter;         /* bumped when an allocation fails */
};

int pbuf_pool_init(struct pbuf_pool *pool, uint32_t nsmall, uint32_t nmedium,
		   uint32_t nlarge, uint64_t *fail_counter);
void pbuf_pool_fini(struct pbuf_pool *pool);

/* A buffer with room for len bytes after PBUF_HEADROOM; data = head +
 * headroom, len = 0... set by the caller. NULL if the pool is empty. Normal
 * allocations leave the reserve untouched; PBUF_ALLOC_RESERVE may use it. */
#define PBUF_ALLOC_RESERVE 1
struct us_pbuf *pbuf_alloc(struct pbuf_pool *pool, uint32_t len, int flags);
static inline void pbuf_ref(struct us_pbuf *p) { p->refcnt++; }
void pbuf_free(struct us_pbuf *p); /* drop one reference; NULL is fine */

/* A new buffer holding a copy of p's data (headroom fresh). */
struct us_pbuf *pbuf_clone(struct pbuf_pool *pool, const struct us_pbuf *p);

static inline uint32_t pbuf_headroom(const struct us_pbuf *p)
{
	return (uint32_t)(p->data - p->head);
}
static inline uint32_t pbuf_tailroom(const struct us_pbuf *p)
{
	return p->size - pbuf_headroom(p) - p->len;
}
/* Grow at the front for a header; NULL if no headroom (our bug). */
static inline uint8_t *pbuf_push(struct us_pbuf *p, uint32_t n)
{
	if (n > pbuf_headroom(p))
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}
/* Consume n bytes at the front; NULL if fewer than n remain. */
static inline uint8_t *pbuf_pull(struct us_pbuf *p, uint32_t n)
{
	if (n > p->len)
		return NULL;
	uint8_t *old = p->data;
	p->data += n;
	p->len -= n;
	return old;
}
static inline uint32_t pbuf_truesize(const struct us_pbuf *p)
{
	return p->size + (uint32_t)sizeof(*p);
}

/* A FIFO of buffers linked through ->next. */
struct pbuf_queue {
	struct us_pbuf *head, *tail;
	uint32_t count;
	uint32_t bytes;         /* sum of truesize */
};
static inline void pbufq_init(struct pbuf_queue *q)
{
	q->head = q->tail = NULL;
	q->count = q->bytes = 0;
}
static inline void pbufq_push(struct pbuf_queue *q, struct us_pbuf *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->count++;
	q->bytes += pbuf_truesize(p);
}
static inline struct us_pbuf *pbufq_pop(struct pbuf_queue *q)
{
	struct us_pbuf *p = q->head;
	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	p->next = NULL;
	q->count--;
	q->bytes -= pbuf_truesize(p);
	return p;
}
static inline void pbufq_purge(struct pbuf_queue *q)
{
	struct us_pbuf *p;
	while ((p = pbufq_pop(q)))
		pbuf_free(p);
}

#endif
