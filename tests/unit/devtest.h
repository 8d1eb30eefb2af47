/* Helpers for device tests: hand-built stacks (a pool, counters and a
 * clock value, nothing else) joined by a pipe, and frames built by hand. */
#ifndef DEVTEST_H
#define DEVTEST_H

#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "dev/dev.h"

static inline struct us_stack *dt_stack(uint32_t nsmall)
{
	struct us_stack *st = calloc(1, sizeof(*st));
	assert_non_null(st);
	assert_int_equal(pbuf_pool_init(&st->pool, nsmall, 4, 4,
					&st->stats[US_STAT_pbuf_alloc_fail]),
			 0);
	return st;
}

static inline void dt_stack_free(struct us_stack *st)
{
	/* Every buffer came back: nothing leaked or was freed twice. */
	assert_int_equal(st->pool.nfree[0], st->pool.total[0]);
	assert_int_equal(st->pool.nfree[1], st->pool.total[1]);
	assert_int_equal(st->pool.nfree[2], st->pool.total[2]);
	pbuf_pool_fini(&st->pool);
	free(st);
}

#define DT_STAT(st, name) ((st)->stats[US_STAT_##name])

/* A frame: Ethernet + IPv4 (+ TCP or UDP) with `id` in the IPv4 ID field
 * (and the payload filled from it), so a receiver can tell frames apart.
 * proto 0: an ARP-typed frame of `payload` bytes. */
static inline uint32_t dt_frame(uint8_t *f, uint16_t id, uint8_t proto,
				uint32_t payload)
{
	uint32_t l4 = proto == 6 ? 20 : proto == 17 ? 8 : 0;
	uint32_t len = 14 + (proto ? 20 : 0) + l4 + payload;

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	for (uint32_t i = 0; i < payload; i++)
		f[len - payload + i] = (uint8_t)(id + i);
	if (!proto) {
		wr16(f + 12, 0x0806);
		if (len >= 20)
			wr16(f + 18, id); /* where dt_id looks */
		return len;
	}
	wr16(f + 12, 0x0800);
	f[14] = 0x45;
	wr16(f + 16, (uint16_t)(len - 14));
	wr16(f + 18, id);
	f[22] = 64;
	f[23] = proto;
	if (proto == 6)
		f[34 + 12] = 5 << 4; /* data offset: 20 bytes */
	else if (proto == 17)
		wr16(f + 34 + 4, (uint16_t)(8 + payload));
	return len;
}

static inline uint16_t dt_id(const struct us_pbuf *p)
{
	return rd16(p->data + 18);
}

/* Send one frame built by dt_frame from st through d. */
static inline void dt_send(struct us_stack *st, struct us_dev *d, uint16_t id,
			   uint8_t proto, uint32_t payload)
{
	uint8_t f[9100];
	uint32_t len;
	struct us_pbuf *p;

	assert_true(payload <= sizeof(f) - 14 - 20 - 20);
	len = dt_frame(f, id, proto, payload);
	p = pbuf_alloc(&st->pool, len, 0);
	assert_non_null(p);
	memcpy(p->data, f, len);
	p->len = len;
	d->ops->tx_burst(d, &p, 1);
}

/* Receive everything waiting on d; ids go to ids[] (if given). Frees. */
static inline int dt_recv(struct us_dev *d, uint16_t *ids, int max)
{
	struct us_pbuf *pkts[64];
	int total = 0, n;

	while ((n = d->ops->rx_burst(d, pkts, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			if (ids && total < max)
				ids[total] = dt_id(pkts[i]);
			total++;
			pbuf_free(pkts[i]);
		}
	}
	return total;
}

/* Advance the virtual time of st to t and let d release what is due. */
static inline void dt_at(struct us_stack *st, struct us_dev *d, uint64_t t)
{
	st->now = t;
	d->ops->tx_burst(d, NULL, 0);
}

#endif
