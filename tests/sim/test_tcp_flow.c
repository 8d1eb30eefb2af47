/* TCP flow control between two stacks on a pipe link (virtual clock),
 * on a lossless path, where nothing should ever be sent twice:
 *
 * - a receiving application that stops reading. The sender fills the
 *   receiver's buffer, the window closes, the sender probes it on the
 *   persist timer (RFC 9293 3.8.6.1) without any retransmission timeout
 *   or resent data, and when the application reads again the receiver
 *   announces the open window at once (a window update, RFC 9293
 *   3.8.6.2.2: not a wait for the next probe) and the rest flows intact;
 * - small socket buffers (SO_SNDBUF and SO_RCVBUF near their minimum):
 *   windows of a few segments, sub-MSS segments; the receiver must take
 *   every segment inside the window it offered (none dropped for memory,
 *   tcp_drop_rcv_mem) and nothing may be retransmitted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/tcp_sim.h"

#define PORT 5003

static void test_zero_window_stall(void **state)
{
	struct us_impair imp = {.delay_us = 1000};
	struct tsim_pair p;
	struct tsim_dir d;
	uint64_t bytes = 8 * TSIM_MIB;
	uint8_t *data = tsim_track(tsim_pattern(bytes, 0x2e40));
	(void)state;

	struct tsim_env *e = tsim_env_new(&imp, &imp);
	assert_non_null(e);
	struct sim *s = &e->s;
	struct tsim_trace *tr = e->tr;
	assert_int_equal(tsim_connect(s, PORT, &p, 10 * SIM_S), 0);
	tsim_dir_init(&d, s->a, p.cfd, s->b, p.sfd, data, bytes);
	struct tsim_xfer x = {&d, 1};

	/* B's application sleeps for 30 s of virtual time: A fills B's
	 * receive buffer and its own send buffer, then can only probe. */
	d.rx_paused = true;
	assert_false(tsim_run(s, tsim_xfer_app, &x, 30 * SIM_S));
	uint64_t probes = sim_stat(s->a, "tcp_zero_window_probe");
	uint64_t stuck = d.sent;
	printf("  paused 30 s: A queued %llu of %llu bytes, B advertised a "
	       "zero window %llu times, A probed %llu times, rto %llu\n",
	       (unsigned long long)stuck, (unsigned long long)bytes,
	       (unsigned long long)tr[0].zero_wnd_acks,
	       (unsigned long long)probes,
	       (unsigned long long)sim_stat(s->a, "tcp_rto"));
	assert_int_equal(d.rcvd, 0);
	assert_true(d.sent < bytes);
	assert_true(tr[0].zero_wnd_acks >= 1);
	assert_true(probes >= 1);
	/* Probes back off (RFC 1122 4.2.2.17): a handful in 30 s, not one
	 * per RTO_min. */
	assert_true(probes <= 12);
	assert_int_equal(sim_stat(s->a, "tcp_rto"), 0);
	assert_int_equal(tr[0].rtx_bytes, 0);

	/* B reads again: data must follow within a few RTTs (2 ms here),
	 * not at the next probe, seconds away. */
	uint64_t t_resume = sim_now(s);
	uint32_t una_before = tr[0].una;
	d.rx_paused = false;
	assert_true(tsim_run(s, tsim_xfer_app, &x, 60 * SIM_S));
	assert_int_equal(d.tx_err, 0);
	assert_int_equal(d.rx_err, 0);
	assert_int_equal(d.rcvd, bytes);
	assert_true(d.mismatch_at == UINT64_MAX);
	char want[65], got[65];
	tsim_sha_hex(data, bytes, want);
	sha256_hex(&d.rx_hash, got);
	assert_string_equal(got, want);
	double resume_ms = 0;
	for (int k = 1; k <= 8; k++)
		if (d.t_eighth[k] > t_resume) {
			resume_ms = (double)(d.t_eighth[k] - t_resume) / 1e6;
			break;
		}
	double el = (double)(d.t_eof - t_resume) / 1e9;
	printf("  resumed: the rest (%llu bytes) in %.3f s; first eighth "
	       "boundary passed %.3f ms after the read resumed; una moved from "
	       "%u; rto %llu\n",
	       (unsigned long long)(bytes - stuck), el, resume_ms, una_before,
	       (unsigned long long)sim_stat(s->a, "tcp_rto"));
	/* No rate limit: the rest is a few MiB over a 2 ms RTT. */
	assert_true(el < 1.0);
	assert_int_equal(sim_stat(s->a, "tcp_rto"), 0);
	assert_int_equal(tr[0].rtx_bytes, 0);
}

static void test_small_buffers(void **state)
{
	struct us_impair imp = {.delay_us = 1000};
	struct tsim_pair p;
	struct tsim_dir d;
	uint64_t bytes = 4 * TSIM_MIB;
	uint8_t *data = tsim_track(tsim_pattern(bytes, 0x5b0f));
	/* Linux doubles what is asked: 9216 and 8192 bytes of buffers. */
	const struct tsim_bufs bufs = {.a_sndbuf = 4608, .b_rcvbuf = 4096};
	(void)state;

	struct tsim_env *e = tsim_env_new(&imp, &imp);
	assert_non_null(e);
	struct sim *s = &e->s;
	struct tsim_trace *tr = e->tr;
	assert_int_equal(tsim_connect_bufs(s, PORT, &p, 10 * SIM_S, &bufs), 0);
	tsim_dir_init(&d, s->a, p.cfd, s->b, p.sfd, data, bytes);
	struct tsim_xfer x = {&d, 1};
	assert_true(tsim_run(s, tsim_xfer_app, &x, 120 * SIM_S));
	double el = (double)(d.t_eof - d.t_start) / 1e9;
	printf("  %llu bytes in %.2f s (%.1f Mbit/s); max window from B %u; "
	       "rtx %llu bytes; B tcp_drop_rcv_mem %llu; A rto %llu\n",
	       (unsigned long long)bytes, el, (double)bytes * 8 / el / 1e6,
	       tr[0].max_peer_wnd, (unsigned long long)tr[0].rtx_bytes,
	       (unsigned long long)sim_stat(s->b, "tcp_drop_rcv_mem"),
	       (unsigned long long)sim_stat(s->a, "tcp_rto"));
	assert_int_equal(d.tx_err, 0);
	assert_int_equal(d.rx_err, 0);
	assert_int_equal(d.rcvd, bytes);
	assert_true(d.mismatch_at == UINT64_MAX);
	char want[65], got[65];
	tsim_sha_hex(data, bytes, want);
	sha256_hex(&d.rx_hash, got);
	assert_string_equal(got, want);
	assert_true(tr[0].max_peer_wnd <= 8192);
	assert_int_equal(sim_stat(s->b, "tcp_drop_rcv_mem"), 0);
	assert_int_equal(tr[0].rtx_bytes, 0);
	assert_int_equal(sim_stat(s->a, "tcp_rto"), 0);
	/* A window of a few KiB over a 2 ms RTT: some Mbit/s. 4 MiB then
	 * takes a few seconds; drops and timeouts would take far longer. */
	assert_true(el < 5.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_zero_window_stall, tsim_teardown),
	    cmocka_unit_test_teardown(test_small_buffers, tsim_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
