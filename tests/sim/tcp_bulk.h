/* The bulk-transfer simulation shared by test_tcp_bulk.c and
 * test_tcp_lossy.c: one connection between A and B moves `bytes` each way
 * at the same time (full duplex: data one way shares the link with the
 * ACKs of the other), over a path with a bottleneck of rate_bps each way,
 * a drop-tail queue of about one bandwidth-delay product, a one-way delay,
 * and the case's impairments (seeded). Checked:
 *
 * - every byte arrives intact: SHA-256 of what went in equals SHA-256 of
 *   what came out (and the first differing offset is reported if not);
 * - completion time (virtual) within the case's bound, against a model:
 *   the link time (bytes x 8 / rate, x 1514/1460 for the Ethernet, IP and
 *   TCP headers of full segments), or when the path loses packets, the
 *   throughput model of Padhye et al. (SIGCOMM '98) for Reno with
 *   timeouts, b = 2 (delayed ACKs) and T0 = the minimum RTO (200 ms):
 *     B = MSS / (RTT sqrt(2bp/3) + T0 min(1, 3 sqrt(3bp/8)) p (1 + 32p^2));
 * - retransmitted bytes (seen on the wire: data sent below the highest
 *   sequence already sent) within the case's bound;
 * - the closes complete and no TCP block is left in either stack once
 *   TIME_WAIT is over. */
#ifndef TCP_BULK_H
#define TCP_BULK_H

#include <math.h>

#include "sim/tcp_sim.h"

#define BULK_MSS 1460.0
#define BULK_FRAME 1514.0

struct bulk_case {
	const char *name;
	uint64_t bytes;	   /* each way, before USTACK_SIM_SCALE */
	uint64_t rate_bps; /* bottleneck, each way */
	uint32_t delay_us; /* one way */
	double loss, dup, reorder;
	uint32_t queue_bytes; /* 0: one BDP, at least 32 KiB */
	/* Bounds: completion <= time_factor x model + 1 s (handshake, slow
	 * start, a last RTO); retransmitted bytes <= rtx_frac x bytes +
	 * rtx_slack, each direction. */
	double time_factor;
	double rtx_frac;
	uint64_t rtx_slack;
};

static inline double bulk_rtt_s(const struct bulk_case *c)
{
	/* Propagation both ways plus one data and one ACK serialization. */
	return 2.0 * c->delay_us / 1e6 +
	       (BULK_FRAME + 66.0) * 8.0 / c->rate_bps;
}

/* Model completion time in seconds (see the top of the file). */
static inline double bulk_model_s(const struct bulk_case *c, uint64_t bytes)
{
	double t_link =
	    (double)bytes * 8.0 * (BULK_FRAME / BULK_MSS) / (double)c->rate_bps;
	double p = c->loss;
	if (p <= 0)
		return t_link;
	double rtt = bulk_rtt_s(c), b = 2.0, t0 = 0.2;
	double per_seg =
	    rtt * sqrt(2 * b * p / 3) +
	    t0 * fmin(1.0, 3 * sqrt(3 * b * p / 8)) * p * (1 + 32 * p * p);
	double t_loss = (double)bytes / BULK_MSS * per_seg;
	return t_loss > t_link ? t_loss : t_link;
}

static inline uint32_t bulk_queue(const struct bulk_case *c)
{
	if (c->queue_bytes)
		return c->queue_bytes;
	double bdp = (double)c->rate_bps / 8.0 * 2.0 * c->delay_us / 1e6;
	return bdp < 32 * 1024 ? 32 * 1024 : (uint32_t)bdp;
}

/* Data buffers are made once per process and shared by the cases. */
static uint8_t *bulk_data[2];
static uint64_t bulk_data_len;
static char bulk_sha[2][65];

static inline void bulk_prepare(uint64_t bytes)
{
	if (bulk_data_len >= bytes)
		return;
	for (int i = 0; i < 2; i++) {
		free(bulk_data[i]);
		bulk_data[i] = tsim_pattern(bytes, 0xb01c + (uint64_t)i);
	}
	bulk_data_len = bytes;
	bulk_sha[0][0] = bulk_sha[1][0] = 0;
}

static inline void bulk_run(const struct bulk_case *c)
{
	uint64_t bytes = tsim_scaled(c->bytes, 256 * 1024);
	struct us_impair imp[2];
	struct tsim_pair p;
	struct tsim_dir d[2];
	double cpu0 = tsim_cpu_s();

	bulk_prepare(bytes);
	for (int i = 0; i < 2; i++) {
		memset(&imp[i], 0, sizeof(imp[i]));
		imp[i].seed = 0x51de + 1000003ull * (uint64_t)i;
		imp[i].loss = c->loss;
		imp[i].dup = c->dup;
		imp[i].reorder = c->reorder;
		imp[i].delay_us = c->delay_us;
		imp[i].rate_bps = c->rate_bps;
		imp[i].queue_bytes = bulk_queue(c);
	}
	struct tsim_env *e = tsim_env_new(&imp[0], &imp[1]);
	assert_non_null(e);
	struct sim *s = &e->s;
	struct tsim_trace *tr = e->tr;
	assert_int_equal(tsim_connect(s, 5001, &p, 10 * SIM_S), 0);

	/* d[0]: A -> B, d[1]: B -> A, at the same time. */
	tsim_dir_init(&d[0], s->a, p.cfd, s->b, p.sfd, bulk_data[0], bytes);
	tsim_dir_init(&d[1], s->b, p.sfd, s->a, p.cfd, bulk_data[1], bytes);
	struct tsim_xfer x = {d, 2};
	double model = bulk_model_s(c, bytes);
	double bound = c->time_factor * model + 1.0;
	uint64_t t0 = sim_now(s);
	bool ok =
	    tsim_run(s, tsim_xfer_app, &x, (uint64_t)(bound * 1e9) + SIM_S);
	double took = (double)(sim_now(s) - t0) / 1e9;

	for (int i = 0; i < 2; i++) {
		struct tsim_dir *dd = &d[i];
		double el = (double)(dd->t_eof - dd->t_start) / 1e9;
		const struct tsim_trace *t = &tr[i];
		struct us_impair_stats is;
		if (us_impair_stats(i ? s->db : s->da, &is) < 0)
			memset(&is, 0, sizeof(is));
		printf(
		    "  %-10s %s: %llu bytes in %.2f s virtual (model %.2f s, "
		    "bound %.2f s), %.1f Mbit/s; rtx %llu bytes in %llu "
		    "segs (%.3f%%); max flight %u; impair: loss %llu "
		    "queue %llu dup %llu reorder %llu\n",
		    c->name, i ? "B->A" : "A->B", (unsigned long long)dd->rcvd,
		    el, model, bound,
		    el > 0 ? (double)dd->rcvd * 8 / el / 1e6 : 0.0,
		    (unsigned long long)t->rtx_bytes,
		    (unsigned long long)t->rtx_segs,
		    100.0 * (double)t->rtx_bytes / (double)bytes, t->max_flight,
		    (unsigned long long)is.loss, (unsigned long long)is.queue,
		    (unsigned long long)is.dup, (unsigned long long)is.reorder);
	}
	printf("  %-10s A: rto %llu fast_rtx %llu partial_ack %llu "
	       "retransmits %llu | B: rto %llu fast_rtx %llu retransmits "
	       "%llu | cpu %.2f s\n",
	       c->name, (unsigned long long)sim_stat(s->a, "tcp_rto"),
	       (unsigned long long)sim_stat(s->a, "tcp_fast_retransmit"),
	       (unsigned long long)sim_stat(s->a, "tcp_partial_ack"),
	       (unsigned long long)sim_stat(s->a, "tcp_retransmits"),
	       (unsigned long long)sim_stat(s->b, "tcp_rto"),
	       (unsigned long long)sim_stat(s->b, "tcp_fast_retransmit"),
	       (unsigned long long)sim_stat(s->b, "tcp_retransmits"),
	       tsim_cpu_s() - cpu0);

	for (int i = 0; i < 2; i++) {
		struct tsim_dir *dd = &d[i];
		if (dd->tx_err || dd->rx_err)
			fail_msg("%s dir %d: send error %s, recv error %s",
				 c->name, i, strerror(dd->tx_err),
				 strerror(dd->rx_err));
	}
	if (!ok)
		fail_msg("%s: not complete after %.2f s virtual (bound %.2f s):"
			 " A->B %llu/%llu bytes, B->A %llu/%llu bytes",
			 c->name, took, bound, (unsigned long long)d[0].rcvd,
			 (unsigned long long)bytes,
			 (unsigned long long)d[1].rcvd,
			 (unsigned long long)bytes);
	for (int i = 0; i < 2; i++) {
		struct tsim_dir *dd = &d[i];
		char got[65];
		if (!bulk_sha[i][0])
			tsim_sha_hex(bulk_data[i], bytes, bulk_sha[i]);
		sha256_hex(&dd->rx_hash, got);
		printf("  %-10s %s sha256 sent %.16s... received %.16s...\n",
		       c->name, i ? "B->A" : "A->B", bulk_sha[i], got);
		assert_int_equal(dd->sent, bytes);
		assert_int_equal(dd->rcvd, bytes);
		if (dd->mismatch_at != UINT64_MAX)
			fail_msg("%s dir %d: first wrong byte at offset %llu",
				 c->name, i,
				 (unsigned long long)dd->mismatch_at);
		assert_string_equal(got, bulk_sha[i]);
		double el = (double)(dd->t_eof - dd->t_start) / 1e9;
		if (el > bound)
			fail_msg("%s dir %d: %.2f s > bound %.2f s", c->name, i,
				 el, bound);
		uint64_t rtx_max =
		    (uint64_t)(c->rtx_frac * (double)bytes) + c->rtx_slack;
		if (tr[i].rtx_bytes > rtx_max)
			fail_msg("%s dir %d: %llu bytes retransmitted > bound "
				 "%llu",
				 c->name, i,
				 (unsigned long long)tr[i].rtx_bytes,
				 (unsigned long long)rtx_max);
	}

	/* Both ends close; the connection must be gone from both stacks
	 * after TIME_WAIT (2 MSL, 60 s by default; virtual). */
	assert_int_equal(us_close(s->a, p.cfd), 0);
	assert_int_equal(us_close(s->b, p.sfd), 0);
	if (!tsim_run(s, tsim_no_blocks_app, NULL, 200 * SIM_S))
		fail_msg("%s: TCP blocks left: A %u, B %u", c->name,
			 tsim_tcp_blocks(s->a), tsim_tcp_blocks(s->b));
	/* No RST, except on a path that duplicates or reorders frames: a
	 * duplicate of the last FIN reaching the TIME-WAIT end is
	 * acknowledged again (RFC 9293 3.10.7.4), or a pure ACK overtaken
	 * by the final ACK arrives late; either reaches an end already
	 * CLOSED, which must answer it with a RST (3.10.7.1), as Linux
	 * would. */
	uint64_t rst = tr[0].rst_tx + tr[1].rst_tx;
	if (c->dup > 0 || c->reorder > 0)
		assert_true(rst <= 2);
	else
		assert_int_equal(rst, 0);
}

#endif
