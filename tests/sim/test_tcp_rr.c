/* Request/response traffic never waits on the delayed-ACK timer (virtual
 * clock, pipe link, 5 ms each way, no loss). A client writes a request in
 * one send, the server answers in one send as soon as the request is in,
 * the client sends the next request as soon as the response is in; Nagle
 * is on (the default) at both ends. Each exchange must take one round
 * trip (plus the slow-start rounds of the first ones), never the 40 ms of
 * a delayed ACK: the ACKs ride on the next request or response (RFC 9293
 * 3.8.6.3), a response's short tail goes out at once (Nagle as Minshall:
 * no earlier short segment is unacknowledged), and a request of two
 * segments is acknowledged by its response. Sizes around the MSS: one
 * short segment, one full, a full one and a short tail, three full and a
 * 1-byte tail, a response of 14 segments (beyond the initial window). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/tcp_sim.h"

#define PORT 5010
#define ROUNDS 50
#define DELAY_US 5000
#define RTT_NS (2 * DELAY_US * 1000ull)

struct rr {
	struct tsim_pair p;
	struct sim *s;
	uint32_t req, resp;
	int done;
	uint32_t c_sent, s_got, s_sent, c_got;
	uint64_t t_start, lat[ROUNDS];
	int err;
};

static uint8_t bufc[64 * 1024], bufs[64 * 1024];

static uint32_t pump_send(struct us_stack *st, int fd, uint32_t *sent,
			  uint32_t total, int *err)
{
	uint32_t moved = 0;
	while (*sent < total) {
		ssize_t n = us_send(st, fd, bufs, total - *sent, 0);
		if (n < 0) {
			if (errno != EAGAIN)
				*err = errno;
			break;
		}
		*sent += (uint32_t)n;
		moved += (uint32_t)n;
	}
	return moved;
}

static uint32_t pump_recv(struct us_stack *st, int fd, uint32_t *got, int *err)
{
	uint32_t moved = 0;
	for (;;) {
		ssize_t n = us_recv(st, fd, bufc, sizeof(bufc), 0);
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				*err = n == 0 ? -1 : errno;
			break;
		}
		*got += (uint32_t)n;
		moved += (uint32_t)n;
	}
	return moved;
}

static uint64_t rr_app(struct sim *s, void *arg, bool *done)
{
	struct rr *r = arg;
	uint64_t work = 0;

	if (r->c_sent == 0 && r->done < ROUNDS)
		r->t_start = sim_now(s);
	work += pump_send(s->a, r->p.cfd, &r->c_sent, r->req, &r->err);
	work += pump_recv(s->b, r->p.sfd, &r->s_got, &r->err);
	if (r->s_got == r->req)
		work += pump_send(s->b, r->p.sfd, &r->s_sent, r->resp, &r->err);
	work += pump_recv(s->a, r->p.cfd, &r->c_got, &r->err);
	if (r->c_got == r->resp) {
		r->lat[r->done++] = sim_now(s) - r->t_start;
		r->c_sent = r->s_got = r->s_sent = r->c_got = 0;
		work++;
	}
	*done = r->done == ROUNDS || r->err;
	return work;
}

static void run(uint32_t req, uint32_t resp)
{
	struct us_impair imp = {.delay_us = DELAY_US};
	struct rr *r = tsim_track(calloc(1, sizeof(*r)));

	struct tsim_env *e = tsim_env_new(&imp, &imp);
	assert_non_null(e);
	r->s = &e->s;
	r->req = req;
	r->resp = resp;
	assert_int_equal(tsim_connect(r->s, PORT, &r->p, 10 * SIM_S), 0);
	uint64_t t0 = sim_now(r->s);
	uint64_t da = sim_stat(r->s->a, "tcp_delayed_ack");
	uint64_t db = sim_stat(r->s->b, "tcp_delayed_ack");
	assert_true(tsim_run(r->s, rr_app, r, 60 * SIM_S));
	assert_int_equal(r->err, 0);
	assert_int_equal(r->done, ROUNDS);
	uint64_t max = 0, max_late = 0;
	for (int i = 0; i < ROUNDS; i++) {
		if (r->lat[i] > max)
			max = r->lat[i];
		if (i >= 2 && r->lat[i] > max_late)
			max_late = r->lat[i];
	}
	double total = (double)(sim_now(r->s) - t0) / 1e6;
	printf("  request %u, response %u: %d exchanges in %.1f ms; first "
	       "%.1f ms, max %.1f ms, max after two %.1f ms; delayed ACKs "
	       "A %llu B %llu\n",
	       req, resp, ROUNDS, total, r->lat[0] / 1e6, max / 1e6,
	       max_late / 1e6,
	       (unsigned long long)(sim_stat(r->s->a, "tcp_delayed_ack") - da),
	       (unsigned long long)(sim_stat(r->s->b, "tcp_delayed_ack") - db));
	/* One RTT per exchange once slow start has opened the window (the
	 * first two may need more rounds; a delayed ACK would add 40 ms). */
	assert_true(max_late <= RTT_NS + SIM_MS);
	assert_true(max <= 3 * RTT_NS + SIM_MS);
	assert_int_equal(sim_stat(r->s->a, "tcp_retransmits") +
			     sim_stat(r->s->b, "tcp_retransmits"),
			 0);
}

static void test_short_short(void **state)
{
	(void)state;
	run(100, 100);
}

static void test_full_segment(void **state)
{
	(void)state;
	run(100, 1460);
}

static void test_full_and_tail(void **state)
{
	(void)state;
	run(100, 2000);
}

static void test_two_segment_request(void **state)
{
	(void)state;
	run(2000, 100);
}

static void test_three_full_one_byte(void **state)
{
	(void)state;
	run(300, 3 * 1460 + 1);
}

static void test_beyond_initial_window(void **state)
{
	(void)state;
	run(300, 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_short_short, tsim_teardown),
	    cmocka_unit_test_teardown(test_full_segment, tsim_teardown),
	    cmocka_unit_test_teardown(test_full_and_tail, tsim_teardown),
	    cmocka_unit_test_teardown(test_two_segment_request, tsim_teardown),
	    cmocka_unit_test_teardown(test_three_full_one_byte, tsim_teardown),
	    cmocka_unit_test_teardown(test_beyond_initial_window,
				      tsim_teardown),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
