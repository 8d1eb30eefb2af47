/* A latency histogram with log-linear buckets: exact below 128 ns, then
 * 64 buckets per power of two (under 1.6% error), any 64-bit value, fixed
 * memory, O(1) to record: percentiles of millions of samples without
 * keeping them. */
#ifndef PERF_HIST_H
#define PERF_HIST_H

#include <stdint.h>

#define HIST_BUCKETS (128 + 57 * 64)

struct hist {
	uint64_t count, sum, min, max;
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q (0..1): a bucket's midpoint, clamped to
 * [min, max]. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
