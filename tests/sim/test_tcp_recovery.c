/* TCP loss recovery with scripted drops, and a long fat path, on a pipe
 * link (virtual clock). What is checked is what a tcpdump of the sender
 * would show (the tracer in tcp_sim.h) and the stack's counters:
 *
 * - one data segment dropped in a large window: exactly that segment is
 *   sent again, by fast retransmit (RFC 5681 3.2) about one RTT later, no
 *   retransmission timeout fires, and the flight size once recovery is
 *   over (the congestion window) is about half the flight size at the
 *   loss (ssthresh = FlightSize / 2, RFC 5681 (4)); cwnd and ssthresh
 *   read through TCP_INFO say the same;
 * - two segments dropped in one window: the first is resent by fast
 *   retransmit, the second on the partial ACK one RTT later (NewReno,
 *   RFC 6582 3.2 step 3), still without a timeout;
 * - a 100 Mbit/s path with a 20 ms RTT: both SYNs carry window scale
 *   (RFC 7323), more than 64 KiB is in flight, and one connection reaches
 *   at least 80% of the link rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/tcp_sim.h"

#define RTT_NS (20 * SIM_MS)
#define PORT 5002

struct drop_run {
	struct tsim_env *e;
	struct sim *s;
	struct tsim_trace *tr;
	struct us_impair imp;
	struct tsim_pair p;
	struct tsim_dir d;
	uint8_t *data;
	uint64_t bytes;
	bool have_info;
	struct tcp_info info; /* A's, when recovery was over */
};

static uint64_t drop_app(struct sim *s, void *arg, bool *done)
{
	struct drop_run *r = arg;
	uint64_t work = tsim_dir_pump(&r->d, sim_now(s));

	/* Read A's TCP_INFO right after the ACK that ended recovery. */
	if (r->tr[0].win_from && !r->have_info &&
	    tsim_tcp_info(s->a, r->p.cfd, &r->info))
		r->have_info = true;
	*done = tsim_dir_over(&r->d);
	return work;
}

/* A sends `bytes` to B over a path of 10 ms each way and no rate limit
 * (no congestion: the only losses are the scripted ones); A's impair
 * wrapper drops the data segments whose ordinals are in drops. */
static void drop_run(struct drop_run *r, const uint32_t *drops, int ndrops)
{
	r->imp.delay_us = 10000;
	r->imp.drop_class = US_IMPAIR_TCP_DATA;
	r->imp.drop_list = drops;
	r->imp.drop_count = ndrops;
	struct us_impair imp_b = {.delay_us = 10000};
	r->e = tsim_env_new(&r->imp, &imp_b);
	assert_non_null(r->e);
	r->s = &r->e->s;
	r->tr = r->e->tr;
	for (int i = 0; i < ndrops; i++)
		r->tr[0].ords[i] = drops[i];
	r->tr[0].nords = (uint32_t)ndrops;
	r->tr[0].watch_ns = RTT_NS;
	assert_int_equal(tsim_connect(r->s, PORT, &r->p, 10 * SIM_S), 0);
	/* The window figures below are NewReno's (RFC 5681 (4)); the
	 * stack's default is CUBIC, whose reduction is 0.7. */
	assert_int_equal(us_setsockopt(r->s->a, r->p.cfd, IPPROTO_TCP,
				       13 /* TCP_CONGESTION */, "reno", 4),
			 0);

	r->bytes = 4 * TSIM_MIB;
	r->data = tsim_track(tsim_pattern(r->bytes, 0xd409));
	tsim_dir_init(&r->d, r->s->a, r->p.cfd, r->s->b, r->p.sfd, r->data,
		      r->bytes);
	assert_true(tsim_run(r->s, drop_app, r, 60 * SIM_S));
	assert_int_equal(r->d.tx_err, 0);
	assert_int_equal(r->d.rx_err, 0);
	assert_int_equal(r->d.rcvd, r->bytes);
	assert_true(r->d.mismatch_at == UINT64_MAX);
	char want[65], got[65];
	tsim_sha_hex(r->data, r->bytes, want);
	sha256_hex(&r->d.rx_hash, got);
	assert_string_equal(got, want);

	struct us_impair_stats is;
	assert_int_equal(us_impair_stats(r->s->da, &is), 0);
	assert_int_equal(is.exact, (uint64_t)ndrops);
}

static void print_rtx(const struct tsim_trace *t)
{
	for (uint32_t i = 0; i < t->nrtx; i++)
		printf("  rtx %u: seq %u len %u at %.3f ms, flight %u\n", i,
		       t->rtx[i].seq, t->rtx[i].len, t->rtx[i].t / 1e6,
		       t->rtx[i].flight);
	for (uint32_t i = 0; i < t->nords; i++)
		printf("  dropped #%u: seq %u len %u at %.3f ms\n", t->ords[i],
		       t->ord_seq[i], t->ord_len[i], t->ord_t[i] / 1e6);
}

/* Segment 300: with an initial window of 10 and slow start, the window
 * then holds well over 100 segments. */
static void test_one_drop_fast_retransmit(void **state)
{
	static const uint32_t drops[] = {300};
	struct drop_run *r = tsim_track(calloc(1, sizeof(*r)));
	(void)state;

	drop_run(r, drops, 1);
	struct tsim_trace *t = &r->tr[0];
	print_rtx(t);
	printf("  after recovery: flight %u (window of %.0f ms from %.3f ms); "
	       "TCP_INFO %s cwnd %u segs x mss %u, ssthresh %u\n",
	       t->win_max_flight, RTT_NS / 1e6, t->win_from / 1e6,
	       r->have_info ? "yes" : "NOT SUPPORTED:", r->info.tcpi_snd_cwnd,
	       r->info.tcpi_snd_mss, r->info.tcpi_snd_ssthresh);

	/* Exactly the dropped segment, once. */
	assert_int_equal(t->nrtx, 1);
	assert_int_equal(t->rtx[0].seq, t->ord_seq[0]);
	assert_int_equal(t->rtx[0].len, t->ord_len[0]);
	assert_int_equal(t->rtx_bytes, t->ord_len[0]);
	/* By fast retransmit: after the three duplicate ACKs, which come
	 * about one RTT after the loss, long before any RTO (>= 200 ms). */
	uint64_t after = t->rtx[0].t - t->ord_t[0];
	assert_true(after >= RTT_NS / 2 && after < 2 * RTT_NS);
	assert_int_equal(sim_stat(r->s->a, "tcp_fast_retransmit"), 1);
	assert_int_equal(sim_stat(r->s->a, "tcp_rto"), 0);
	assert_int_equal(sim_stat(r->s->a, "tcp_retransmits"), 1);
	/* A large window: more than 64 segments were in flight. */
	uint32_t flight = t->rtx[0].flight, mss = t->ord_len[0];
	assert_true(flight > 64 * mss);
	/* cwnd after recovery ~ FlightSize/2 (RFC 5681 (4), RFC 6582 3.2
	 * step 4): what is in flight one RTT after the full ACK, allowing
	 * for congestion avoidance's growth of about one MSS per RTT. */
	assert_true(t->win_from != 0);
	assert_true(t->win_max_flight >= flight * 4 / 10);
	assert_true(t->win_max_flight <= flight * 6 / 10 + 2 * mss);
	/* The same through TCP_INFO (Linux's struct tcp_info), read right
	 * after the ACK that ended recovery: cwnd and ssthresh about half
	 * the flight, one segment retransmitted in all. */
	assert_true(r->have_info);
	{
		uint64_t cwnd =
		    (uint64_t)r->info.tcpi_snd_cwnd * r->info.tcpi_snd_mss;
		uint64_t ssth =
		    (uint64_t)r->info.tcpi_snd_ssthresh * r->info.tcpi_snd_mss;
		assert_true(cwnd >= flight * 4 / 10);
		assert_true(cwnd <= flight * 6 / 10 + 2 * mss);
		assert_true(ssth >= flight * 4 / 10);
		assert_true(ssth <= flight * 6 / 10 + mss);
		assert_int_equal(r->info.tcpi_total_retrans, 1);
	}
	assert_int_equal(t->rst_tx + r->tr[1].rst_tx, 0);
}

/* Segments 300 and 310, in the same window. */
static void test_two_drops_newreno(void **state)
{
	static const uint32_t drops[] = {300, 310};
	struct drop_run *r = tsim_track(calloc(1, sizeof(*r)));
	(void)state;

	drop_run(r, drops, 2);
	struct tsim_trace *t = &r->tr[0];
	print_rtx(t);
	printf("  after recovery: flight %u (window of %.0f ms from %.3f ms)\n",
	       t->win_max_flight, RTT_NS / 1e6, t->win_from / 1e6);
	printf("  partial acks %llu, fast retransmits %llu, rto %llu\n",
	       (unsigned long long)sim_stat(r->s->a, "tcp_partial_ack"),
	       (unsigned long long)sim_stat(r->s->a, "tcp_fast_retransmit"),
	       (unsigned long long)sim_stat(r->s->a, "tcp_rto"));

	assert_int_equal(t->nrtx, 2);
	assert_int_equal(t->rtx[0].seq, t->ord_seq[0]);
	assert_int_equal(t->rtx[1].seq, t->ord_seq[1]);
	assert_int_equal(t->rtx_bytes, t->ord_len[0] + t->ord_len[1]);
	/* The second one on the partial ACK for the first: one RTT after
	 * the first retransmission, not after a timeout. */
	uint64_t gap = t->rtx[1].t - t->rtx[0].t;
	assert_true(gap >= RTT_NS / 2 && gap < 2 * RTT_NS);
	assert_int_equal(sim_stat(r->s->a, "tcp_fast_retransmit"), 1);
	assert_true(sim_stat(r->s->a, "tcp_partial_ack") >= 1);
	assert_int_equal(sim_stat(r->s->a, "tcp_rto"), 0);
	assert_int_equal(sim_stat(r->s->a, "tcp_retransmits"), 2);
	/* One window reduction for the two losses (RFC 6582): the window
	 * after recovery is still about half the flight at the first. */
	uint32_t flight = t->rtx[0].flight, mss = t->ord_len[0];
	assert_true(t->win_from != 0);
	assert_true(t->win_max_flight >= flight * 4 / 10);
	assert_true(t->win_max_flight <= flight * 6 / 10 + 2 * mss);
}

/* The long fat path: 100 Mbit/s, 10 ms each way, a drop-tail queue of
 * one BDP (250 kB). A 64 KiB window would allow 26 Mbit/s at most; the
 * default buffers (1 MiB) and window scaling must carry more than 64 KiB
 * in flight and a goodput of at least 80 Mbit/s (the link's 100 less
 * 3.6% of headers is 96.4).
 *
 * The goodput is measured over the second half of a 32 MiB transfer, once
 * start-up is over: slow start overshoots the queue by up to a window
 * (hundreds of segments lost at once), which NewReno without SACK repairs
 * one segment per RTT or, after a timeout, by resending from snd_una; that
 * costs about a second once, whatever the transfer's length. The whole
 * transfer's goodput is printed beside it. */
static void test_window_scaling_throughput(void **state)
{
	struct us_impair imp[2];
	struct tsim_pair p;
	struct tsim_dir d;
	uint64_t bytes = tsim_scaled(32 * TSIM_MIB, 16 * TSIM_MIB);
	uint8_t *data = tsim_track(tsim_pattern(bytes, 0x1f));
	(void)state;

	for (int i = 0; i < 2; i++) {
		memset(&imp[i], 0, sizeof(imp[i]));
		imp[i].rate_bps = 100000000;
		imp[i].delay_us = 10000;
		imp[i].queue_bytes = 250000;
	}
	struct tsim_env *e = tsim_env_new(&imp[0], &imp[1]);
	assert_non_null(e);
	struct sim *s = &e->s;
	struct tsim_trace *tr = e->tr;
	assert_int_equal(tsim_connect(s, PORT, &p, 10 * SIM_S), 0);
	tsim_dir_init(&d, s->a, p.cfd, s->b, p.sfd, data, bytes);
	struct tsim_xfer x = {&d, 1};
	assert_true(tsim_run(s, tsim_xfer_app, &x, 60 * SIM_S));
	assert_int_equal(d.tx_err, 0);
	assert_int_equal(d.rx_err, 0);
	assert_int_equal(d.rcvd, bytes);
	assert_true(d.mismatch_at == UINT64_MAX);
	char want[65], got[65];
	tsim_sha_hex(data, bytes, want);
	sha256_hex(&d.rx_hash, got);
	assert_string_equal(got, want);

	double el = (double)(d.t_eof - d.t_start) / 1e9;
	double whole = (double)bytes * 8 / el / 1e6;
	double el2 = (double)(d.t_eof - d.t_eighth[4]) / 1e9;
	double steady = (double)(bytes - bytes / 8 * 4) * 8 / el2 / 1e6;
	struct us_impair_stats is;
	assert_int_equal(us_impair_stats(s->da, &is), 0);
	printf("  %llu bytes in %.3f s: %.1f Mbit/s overall, %.1f Mbit/s over "
	       "the second half; SYN wscale A %d B %d; max flight %u; max "
	       "window from B %u; rtx %llu bytes; queue drops %llu; rto "
	       "%llu\n",
	       (unsigned long long)bytes, el, whole, steady, tr[0].ws_tx,
	       tr[0].ws_rx, tr[0].max_flight, tr[0].max_peer_wnd,
	       (unsigned long long)tr[0].rtx_bytes,
	       (unsigned long long)is.queue,
	       (unsigned long long)sim_stat(s->a, "tcp_rto"));
	for (int k = 1; k <= 8; k++)
		printf("  eighth %d done at %.3f s: %.1f Mbit/s over it\n", k,
		       (d.t_eighth[k] - d.t_start) / 1e9,
		       (double)(bytes / 8) * 8 /
			   ((d.t_eighth[k] - d.t_eighth[k - 1]) / 1e9) / 1e6);
	assert_true(tr[0].ws_tx >= 0 && tr[0].ws_rx >= 0);
	assert_true(tr[0].max_peer_wnd > 65535);
	assert_true(tr[0].max_flight > 64 * 1024);
	assert_true(steady >= 80.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_one_drop_fast_retransmit,
				      tsim_teardown),
	    cmocka_unit_test_teardown(test_two_drops_newreno, tsim_teardown),
	    cmocka_unit_test_teardown(test_window_scaling_throughput,
				      tsim_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
