/* TCP bulk transfers under random loss (virtual clock, seeded): 64 MiB
 * each way at once through a 100 Mbit/s bottleneck, with 1% and 5% of
 * the frames lost each way (data and ACKs alike), and a mixed path (10 ms
 * each way, 1% loss, 1% duplication, 1% reordering). Every byte must
 * arrive (SHA-256 compared). Completion time is bounded by the Padhye
 * model's (Reno with timeouts, see tcp_bulk.h; it is pessimistic here:
 * the engine took about half of it when these bounds were set), plus 1 s:
 * a stack that needs a retransmission timeout for most losses instead of
 * fast retransmit, or that backs off without end, misses it.
 * Retransmitted bytes are bounded by 3 x the loss rate: each lost segment
 * is sent again once (p/(1-p)), its retransmission may be lost too, and
 * after a timeout NewReno without SACK resends from snd_una, including
 * segments the receiver already held (measured: 1.1-1.5 x p at 1%, 1.2 x p
 * at 5%); plus 1 MiB, about one receive window, for the start-up (see
 * test_tcp_bulk.c).
 *
 * Sizes are divided by USTACK_SIM_SCALE (default 16 under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/tcp_bulk.h"

static void test_loss1(void **state)
{
	static const struct bulk_case c = {.name = "loss1",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 1000,
					   .loss = 0.01,
					   .time_factor = 1.0,
					   .rtx_frac = 0.03,
					   .rtx_slack = 1024 * 1024};
	(void)state;
	bulk_run(&c);
}

static void test_loss5(void **state)
{
	static const struct bulk_case c = {.name = "loss5",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 1000,
					   .loss = 0.05,
					   .time_factor = 1.0,
					   .rtx_frac = 0.15,
					   .rtx_slack = 1024 * 1024};
	(void)state;
	bulk_run(&c);
}

static void test_mixed(void **state)
{
	static const struct bulk_case c = {.name = "mixed",
					   .bytes = 64 * TSIM_MIB,
					   .rate_bps = 100000000,
					   .delay_us = 10000,
					   .loss = 0.01,
					   .dup = 0.01,
					   .reorder = 0.01,
					   .time_factor = 1.0,
					   .rtx_frac = 0.03,
					   .rtx_slack = 1024 * 1024};
	(void)state;
	bulk_run(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_loss1, tsim_teardown),
	    cmocka_unit_test_teardown(test_loss5, tsim_teardown),
	    cmocka_unit_test_teardown(test_mixed, tsim_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
