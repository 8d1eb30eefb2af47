/* The packet buffer pool: headers in one array, data in one region per
 * size class, both made at start-up; free lists are LIFO so a buffer just
 * freed (still in cache) is the next one used. */
#include "core/pbuf.h"
#include "core/util.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const uint32_t class_size[PBUF_CLASSES] = {
	PBUF_SMALL_SIZE, PBUF_MEDIUM_SIZE, PBUF_LARGE_SIZE};

static void *region_alloc(size_t bytes)
{
	if (!bytes)
		return NULL;
	/* mmap: large, page-aligned, and untouched pages cost nothing. */
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

int pbuf_pool_init(struct pbuf_pool *pool, uint32_t nsmall, uint32_t nmedium,
		   uint32_t nlarge, uint64_t *fail_counter)
{
	uint32_t n[PBUF_CLASSES] = {nsmall, nmedium, nlarge};
	struct us_pbuf *hdrs;
	size_t base = 0;

	memset(pool, 0, sizeof(*pool));
	pool->fail_counter = fail_counter;
	hdrs = calloc((size_t)nsmall + nmedium + nlarge, sizeof(*hdrs));
	if (!hdrs)
		return -ENOMEM;
	pool->hdrs = hdrs;
	for (int c = 0; c < PBUF_CLASSES; c++) {
		pool->mem[c] = region_alloc((size_t)n[c] * class_size[c]);
		if (n[c] && !pool->mem[c]) {
			pbuf_pool_fini(pool);
			return -ENOMEM;
		}
		pool->total[c] = n[c];
		/* Push in reverse so the lowest addresses are handed out first. */
		for (uint32_t i = n[c]; i-- > 0;) {
			struct us_pbuf *p = &hdrs[base + i];
			p->head = (uint8_t *)pool->mem[c] +
				  (size_t)i * class_size[c];
			p->size = class_size[c];
			p->cls = (uint8_t)c;
			p->pool = pool;
			p->next = pool->free[c];
			pool->free[c] = p;
		}
		pool->nfree[c] = n[c];
		base += n[c];
	}
	/* Keep a few small buffers for ACKs and RSTs under memory pressure. */
	pool->reserve = nsmall / 64 < 16 ? US_MIN(16u, nsmall / 2) : nsmall / 64;
	return 0;
}

void pbuf_pool_fini(struct pbuf_pool *pool)
{
	for (int c = 0; c < PBUF_CLASSES; c++)
		if (pool->mem[c])
			munmap(pool->mem[c],
			       (size_t)pool->total[c] * class_size[c]);
	free(pool->hdrs);
	memset(pool, 0, sizeof(*pool));
}

struct us_pbuf *pbuf_alloc(struct pbuf_pool *pool, uint32_t len, int flags)
{
	/* Saturate: len + headroom must not wrap to a small class. */
	uint32_t need = len > PBUF_LARGE_SIZE ? PBUF_LARGE_SIZE + 1
					      : len + PBUF_HEADROOM;
	int c = need <= PBUF_SMALL_SIZE ? 0 : need <= PBUF_MEDIUM_SIZE ? 1 : 2;
	uint32_t keep = (c == 0 && !(flags & PBUF_ALLOC_RESERVE)) ?
				pool->reserve : 0;
	struct us_pbuf *p;

	/* A medium request may take a large buffer when mediums run out. */
	if (c == 1 && pool->nfree[1] == 0 && pool->nfree[2] > 0)
		c = 2;
	if (need > PBUF_LARGE_SIZE || pool->nfree[c] <= keep) {
		if (pool->fail_counter)
			(*pool->fail_counter)++;
		return NULL;
	}
	p = pool->free[c];
	pool->free[c] = p->next;
	pool->nfree[c]--;
	p->next = NULL;
	p->refcnt = 1;
	p->data = p->head + PBUF_HEADROOM;
	p->len = 0;
	p->csum = PBUF_CSUM_NONE;
	p->csum_start = p->csum_off = 0;
	p->gso_size = 0;
	p->l3_off = p->l4_off = 0;
	p->flags = 0;
	p->ip_proto = 0;
	p->ip_src = p->ip_dst = 0;
	p->time = 0;
	p->user = 0;
	return p;
}

void pbuf_free(struct us_pbuf *p)
{
	if (!p)
		return;
	assert(p->refcnt > 0); /* a double free is our bug, never the peer's */
	if (--p->refcnt)
		return;
	struct pbuf_pool *pool = p->pool;
	p->next = pool->free[p->cls];
	pool->free[p->cls] = p;
	pool->nfree[p->cls]++;
}

struct us_pbuf *pbuf_clone(struct pbuf_pool *pool, const struct us_pbuf *p)
{
	struct us_pbuf *q = pbuf_alloc(pool, p->len, 0);
	if (!q)
		return NULL;
	memcpy(q->data, p->data, p->len);
	q->len = p->len;
	q->csum = p->csum;
	q->flags = p->flags;
	q->time = p->time;
	return q;
}
