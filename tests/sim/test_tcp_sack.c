/* SACK recovery (RFC 2018, RFC 6675) and CUBIC (RFC 9438) on the pipe
 * link, virtual clock, seeded impairments:
 *
 * - three data segments dropped by script in one window: with SACK the
 *   sender resends exactly those three, no retransmission timeout fires;
 * - a 64 MiB transfer at 2% loss retransmits fewer bytes with SACK than
 *   without (the same path and seed, measured in this test); the same at
 *   1% and 5% is printed for the record;
 * - CUBIC and NewReno both deliver every byte intact under loss, delay
 *   and reordering; goodput of both on a 100 Mbit/s path with 20 ms
 *   one-way delay is printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/tcp_sim.h"

#define TCP_CONGESTION_ 13

/* What both stacks are made with. */
static struct {
	int no_sack;
	const char *cc;
} knobs;

static void tweak(struct us_config *cfg, int side, void *arg)
{
	tsim_trace_tweak(cfg, side, arg);
	cfg->tcp_no_sack = knobs.no_sack;
	cfg->tcp_congestion = knobs.cc;
}

/* tsim_env_new with our knobs applied to both stacks. */
static struct tsim_env *env_new(const struct us_impair *ia,
				const struct us_impair *ib)
{
	struct tsim_env *e = calloc(1, sizeof(*e));
	int slot = -1;

	assert_non_null(e);
	for (int i = 0; i < TSIM_MAX_TRACKED && slot < 0; i++)
		if (!tsim_envs[i])
			slot = i;
	assert_true(slot >= 0);
	tsim_envs[slot] = e;
	tsim_trace_reset(&e->tr[0]);
	tsim_trace_reset(&e->tr[1]);
	struct sim_opts o = {
	    .imp_a = ia, .imp_b = ib, .tweak = tweak, .tweak_arg = e->tr};
	assert_int_equal(sim_init(&e->s, &o), 0);
	e->up = true;
	return e;
}

static void env_free(struct tsim_env *e)
{
	for (int i = 0; i < TSIM_MAX_TRACKED; i++)
		if (tsim_envs[i] == e) {
			sim_fini(&e->s);
			free(e);
			tsim_envs[i] = NULL;
		}
}

struct result {
	uint64_t rtx_bytes, rto, sack_rtx;
	double secs, mbps;
	bool sack_ok;
};

/* A sends bytes to B; imp applies to both directions (each its own
 * seed). drops: A's data segments dropped by ordinal (or NULL). */
static void xfer(const struct us_impair *imp, const uint32_t *drops, int ndrops,
		 uint64_t bytes, struct result *res)
{
	struct us_impair ia = *imp, ib = *imp;
	ia.seed = 0x5ac0;
	ib.seed = 0x5ac1;
	ia.drop_class = US_IMPAIR_TCP_DATA;
	ia.drop_list = drops;
	ia.drop_count = ndrops;
	struct tsim_env *e = env_new(&ia, &ib);
	struct sim *s = &e->s;
	struct tsim_pair p;
	struct tsim_dir d;
	for (int i = 0; i < ndrops; i++)
		e->tr[0].ords[i] = drops[i];
	e->tr[0].nords = (uint32_t)ndrops;
	assert_int_equal(tsim_connect(s, 5003, &p, 10 * SIM_S), 0);
	uint8_t *data = tsim_pattern(bytes, 0x5ac5);
	tsim_dir_init(&d, s->a, p.cfd, s->b, p.sfd, data, bytes);
	struct tsim_xfer x = {&d, 1};
	assert_true(tsim_run(s, tsim_xfer_app, &x, 2000 * SIM_S));
	assert_int_equal(d.tx_err, 0);
	assert_int_equal(d.rx_err, 0);
	assert_int_equal(d.rcvd, bytes);
	assert_true(d.mismatch_at == UINT64_MAX);
	char want[65], got[65];
	tsim_sha_hex(data, bytes, want);
	sha256_hex(&d.rx_hash, got);
	assert_string_equal(got, want);
	struct tcp_info ti;
	res->sack_ok = tsim_tcp_info(s->a, p.cfd, &ti) &&
		       (ti.tcpi_options & TCPI_OPT_SACK);
	res->rtx_bytes = e->tr[0].rtx_bytes;
	res->rto = sim_stat(s->a, "tcp_rto");
	res->sack_rtx = sim_stat(s->a, "tcp_sack_retransmit");
	res->secs = (double)(d.t_eof - d.t_start) / 1e9;
	res->mbps = (double)bytes * 8 / res->secs / 1e6;
	free(data);
	us_close(s->a, p.cfd);
	us_close(s->b, p.sfd);
	env_free(e);
}

/* Three segments of one window (ordinals 300, 305, 310: the window is
 * then well over 100 segments) dropped: B's SACK blocks tell A exactly
 * which are missing. */
static void test_three_drops_exactly_resent(void **state)
{
	static const uint32_t drops[] = {300, 305, 310};
	struct us_impair imp = {.delay_us = 10000};
	(void)state;

	knobs.no_sack = 0;
	knobs.cc = NULL;
	struct us_impair ia = imp;
	ia.drop_class = US_IMPAIR_TCP_DATA;
	ia.drop_list = drops;
	ia.drop_count = 3;
	struct tsim_env *e = env_new(&ia, &imp);
	struct sim *s = &e->s;
	struct tsim_trace *t = &e->tr[0];
	struct tsim_pair p;
	struct tsim_dir d;
	for (int i = 0; i < 3; i++)
		t->ords[i] = drops[i];
	t->nords = 3;
	assert_int_equal(tsim_connect(s, 5004, &p, 10 * SIM_S), 0);
	uint64_t bytes = 4 * TSIM_MIB;
	uint8_t *data = tsim_track(tsim_pattern(bytes, 0x3d));
	tsim_dir_init(&d, s->a, p.cfd, s->b, p.sfd, data, bytes);
	struct tsim_xfer x = {&d, 1};
	assert_true(tsim_run(s, tsim_xfer_app, &x, 60 * SIM_S));
	assert_int_equal(d.rcvd, bytes);
	assert_true(d.mismatch_at == UINT64_MAX);

	for (uint32_t i = 0; i < t->nrtx; i++)
		printf("  rtx %u: seq %u len %u at %.3f ms\n", i, t->rtx[i].seq,
		       t->rtx[i].len, t->rtx[i].t / 1e6);
	for (uint32_t i = 0; i < t->nords; i++)
		printf("  dropped #%u: seq %u len %u at %.3f ms\n", t->ords[i],
		       t->ord_seq[i], t->ord_len[i], t->ord_t[i] / 1e6);
	/* Exactly the three, once each, in order; no timeout. */
	assert_int_equal(t->nrtx, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t->rtx[i].seq, t->ord_seq[i]);
		assert_int_equal(t->rtx[i].len, t->ord_len[i]);
	}
	assert_int_equal(sim_stat(s->a, "tcp_rto"), 0);
	assert_int_equal(sim_stat(s->a, "tcp_sack_retransmit"), 3);
	assert_int_equal(sim_stat(s->a, "tcp_fast_retransmit"), 1);
	/* All three within one RTT of the first: the later holes go as
	 * soon as pipe falls below cwnd (NewReno needs one RTT per hole,
	 * two between the first and the third). */
	assert_true(t->rtx[2].t - t->rtx[0].t <= 20 * SIM_MS);
	us_close(s->a, p.cfd);
	us_close(s->b, p.sfd);
}

static const struct us_impair lossy_path = {
    .delay_us = 1000, .rate_bps = 100000000, .queue_bytes = 64 * 1024};

static void run_pair(double loss, uint64_t bytes, struct result *with,
		     struct result *without)
{
	struct us_impair imp = lossy_path;
	imp.loss = loss;
	knobs.cc = NULL;
	knobs.no_sack = 0;
	xfer(&imp, NULL, 0, bytes, with);
	knobs.no_sack = 1;
	xfer(&imp, NULL, 0, bytes, without);
	knobs.no_sack = 0;
	assert_true(with->sack_ok);
	assert_false(without->sack_ok);
	printf("  loss %.0f%%, %llu MiB: retransmitted bytes with SACK %llu "
	       "(rto %llu, sack rtx %llu, %.1f Mbit/s), without %llu (rto "
	       "%llu, %.1f Mbit/s)\n",
	       loss * 100, (unsigned long long)(bytes / TSIM_MIB),
	       (unsigned long long)with->rtx_bytes,
	       (unsigned long long)with->rto,
	       (unsigned long long)with->sack_rtx, with->mbps,
	       (unsigned long long)without->rtx_bytes,
	       (unsigned long long)without->rto, without->mbps);
}

/* 64 MiB at 2% loss: SACK retransmits less than NewReno alone. */
static void test_sack_fewer_retransmissions(void **state)
{
	struct result w, wo;
	(void)state;

	run_pair(0.02, tsim_scaled(64 * TSIM_MIB, 4 * TSIM_MIB), &w, &wo);
	assert_true(w.rtx_bytes < wo.rtx_bytes);
	/* For the record (the closing note): 1% and 5%. */
	run_pair(0.01, tsim_scaled(64 * TSIM_MIB, 4 * TSIM_MIB), &w, &wo);
	run_pair(0.05, tsim_scaled(64 * TSIM_MIB, 4 * TSIM_MIB), &w, &wo);
}

/* Both modules deliver intact data under loss, delay and reordering;
 * goodput on a 100 Mbit/s path, 20 ms each way, queue of one BDP. */
static void test_cubic_and_newreno(void **state)
{
	struct result r[2];
	static const char *const names[] = {"cubic", "reno"};
	(void)state;

	for (int i = 0; i < 2; i++) {
		knobs.cc = names[i];
		knobs.no_sack = 0;
		struct us_impair imp = {.delay_us = 5000,
					.rate_bps = 50000000,
					.queue_bytes = 64 * 1024,
					.loss = 0.005,
					.reorder = 0.01};
		xfer(&imp, NULL, 0, tsim_scaled(16 * TSIM_MIB, 2 * TSIM_MIB),
		     &r[i]);
		printf("  %s under loss 0.5%%, reorder 1%%: %.1f Mbit/s, rtx "
		       "%llu bytes\n",
		       names[i], r[i].mbps, (unsigned long long)r[i].rtx_bytes);
	}
	/* 100 Mbit/s, 20 ms one way, a drop-tail queue of a quarter of
	 * the BDP (the closing note's figure): slow start overshoots, and
	 * both spend the transfer recovering from that. */
	for (int i = 0; i < 2; i++) {
		knobs.cc = names[i];
		struct us_impair imp = {.delay_us = 20000,
					.rate_bps = 100000000,
					.queue_bytes = 125000};
		xfer(&imp, NULL, 0, tsim_scaled(64 * TSIM_MIB, 8 * TSIM_MIB),
		     &r[i]);
		printf("  %s, 100 Mbit/s, 20 ms one way, queue 125000 B: "
		       "%.1f Mbit/s goodput (%.2f s), rtx %llu bytes, rto "
		       "%llu\n",
		       names[i], r[i].mbps, r[i].secs,
		       (unsigned long long)r[i].rtx_bytes,
		       (unsigned long long)r[i].rto);
	}
	/* The same path, queue of one BDP, 0.1% random loss. */
	for (int i = 0; i < 2; i++) {
		knobs.cc = names[i];
		struct us_impair imp = {.delay_us = 20000,
					.rate_bps = 100000000,
					.queue_bytes = 500000,
					.loss = 0.001};
		xfer(&imp, NULL, 0, tsim_scaled(64 * TSIM_MIB, 8 * TSIM_MIB),
		     &r[i]);
		printf("  %s, 100 Mbit/s, 20 ms one way, queue 500000 B, loss "
		       "0.1%%: %.1f Mbit/s goodput (%.2f s), rtx %llu bytes, "
		       "rto %llu\n",
		       names[i], r[i].mbps, r[i].secs,
		       (unsigned long long)r[i].rtx_bytes,
		       (unsigned long long)r[i].rto);
	}
	/* The 50 ms path (25 ms each way, BDP 625 kB) with a queue that
	 * never overflows and one scripted loss once the window (about
	 * 700 kB, the receive buffer) is reached: NewReno halves to below
	 * the BDP and adds one MSS per RTT; CUBIC keeps 0.7 (above it)
	 * and climbs back on its curve, so it finishes sooner. */
	static const uint32_t drop[] = {3000};
	for (int i = 0; i < 2; i++) {
		knobs.cc = names[i];
		struct us_impair imp = {.delay_us = 25000,
					.rate_bps = 100000000,
					.queue_bytes = 2000000};
		xfer(&imp, drop, 1, tsim_scaled(32 * TSIM_MIB, 8 * TSIM_MIB),
		     &r[i]);
		printf("  %s, 100 Mbit/s, 50 ms RTT, one loss: %.1f Mbit/s "
		       "goodput (%.2f s), rtx %llu bytes, rto %llu\n",
		       names[i], r[i].mbps, r[i].secs,
		       (unsigned long long)r[i].rtx_bytes,
		       (unsigned long long)r[i].rto);
	}
	assert_true(r[0].secs < r[1].secs);
	knobs.cc = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_three_drops_exactly_resent,
				      tsim_teardown),
	    cmocka_unit_test_teardown(test_sack_fewer_retransmissions,
				      tsim_teardown),
	    cmocka_unit_test_teardown(test_cubic_and_newreno, tsim_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
