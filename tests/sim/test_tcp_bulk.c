/* TCP bulk transfers between two stacks on a pipe link (virtual clock):
 * 64 MiB each way at once through a 100 Mbit/s bottleneck with a
 * drop-tail queue, clean, with reordering, with duplication, and over a
 * 10 ms path. Every byte must arrive (SHA-256 of sent and received
 * compared) within a bound on completion time and on retransmitted bytes;
 * see tcp_bulk.h for the model. The lossy cases are in test_tcp_lossy.c
 * (a separate program, so that ctest runs them in parallel).
 *
 * Sizes are divided by USTACK_SIM_SCALE (default 16 under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/tcp_bulk.h"

/* A clean path: only the bottleneck (100 Mbit/s, 1 ms each way, queue
 * 32 KiB). Losses come only from the queue overflowing when cwnd passes
 * BDP + queue: one per congestion-avoidance cycle (tens of RTTs), plus the
 * slow-start overshoot at the start. Goodput must be at least 80% of the
 * link (1.25 x the link time, + 1 s for start-up; the headers alone take
 * 3.6%; measured 78 Mbit/s each way at once, 94.6 one way), and at most
 * 1% of the bytes plus 512 KiB may be sent twice: the slow-start
 * overshoot at the start, after which NewReno without SACK may resend a
 * whole flight from snd_una on a timeout. */
static void test_clean(void **state)
{
	static const struct bulk_case c = {.name = "clean",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 1000,
					   .time_factor = 1.25,
					   .rtx_frac = 0.01,
					   .rtx_slack = 512 * 1024};
	(void)state;
	bulk_run(&c);
}

/* 5% of the frames each way swap places with the next one (or wait up
 * to 1 ms). That gives at most one or two duplicate ACKs, never the three
 * of a fast retransmit: no more retransmission than on the clean path. */
static void test_reorder(void **state)
{
	static const struct bulk_case c = {.name = "reorder",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 1000,
					   .reorder = 0.05,
					   .time_factor = 1.3,
					   .rtx_frac = 0.01,
					   .rtx_slack = 512 * 1024};
	(void)state;
	bulk_run(&c);
}

/* 5% of the frames each way arrive twice: duplicate data must be
 * dropped (and ACKed), duplicate ACKs must not add up to spurious fast
 * retransmits. Bounds as on the clean path. */
static void test_dup(void **state)
{
	static const struct bulk_case c = {.name = "dup",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 1000,
					   .dup = 0.05,
					   .time_factor = 1.3,
					   .rtx_frac = 0.01,
					   .rtx_slack = 512 * 1024};
	(void)state;
	bulk_run(&c);
}

/* 10 ms each way (RTT 20 ms, BDP 250 kB, queue one BDP): windows beyond
 * 64 KiB (window scaling) and congestion avoidance over many RTTs. One
 * way alone this path runs at the link rate once start-up is over (see
 * test_tcp_recovery.c); both ways at once, each direction's ACKs queue
 * behind the other's data and arrive in bunches (ACK compression, Zhang,
 * Shenker and Clark 1991), which costs Reno about a quarter of the link:
 * 65-73 Mbit/s each way were measured. Bound: goodput at least 2/3 of the
 * link (1.5 x link time) + 1 s. Retransmission: 1% + 1 MiB, since the
 * slow-start overshoot here loses hundreds of segments at once and the
 * timeout that ends their repair resends the flight from snd_una, up to a
 * receive window (about 700 KiB with the default 1 MiB buffer). */
static void test_delay10(void **state)
{
	static const struct bulk_case c = {.name = "delay10",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 10000,
					   .time_factor = 1.5,
					   .rtx_frac = 0.01,
					   .rtx_slack = 1024 * 1024};
	(void)state;
	bulk_run(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_clean, tsim_teardown),
	    cmocka_unit_test_teardown(test_reorder, tsim_teardown),
	    cmocka_unit_test_teardown(test_dup, tsim_teardown),
	    cmocka_unit_test_teardown(test_delay10, tsim_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
