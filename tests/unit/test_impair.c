/* The impair wrapper on a pipe, on a virtual clock: exact drops by class
 * and ordinal, seeded loss, delay and jitter, the rate-limited drop-tail
 * bottleneck, reordering, duplication and corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devtest.h"

#define MS US_NS_PER_MS

struct link {
	struct us_stack *sa, *sb;
	struct us_dev *a, *b; /* a: the impaired end */
};

static void link_open(struct link *l, const struct us_impair *imp)
{
	struct us_dev *raw;

	l->sa = dt_stack(16384);
	l->sb = dt_stack(16384);
	assert_int_equal(us_pipe_create(&raw, &l->b), 0);
	l->a = us_impair_wrap(raw, imp);
	assert_non_null(l->a);
	assert_int_equal(dev_attach(l->a, l->sa), 0);
	assert_int_equal(dev_attach(l->b, l->sb), 0);
}

static void link_close(struct link *l)
{
	dev_close(l->a);
	dev_close(l->b);
	dt_stack_free(l->sa);
	dt_stack_free(l->sb);
}

static struct us_impair_stats stats_of(struct us_dev *d)
{
	struct us_impair_stats s;
	assert_int_equal(us_impair_stats(d, &s), 0);
	return s;
}

static void test_passthrough(void **state)
{
	struct us_impair imp = {0};
	struct link l;
	uint16_t ids[8];

	link_open(&l, &imp);
	assert_int_equal(l.a->mtu, 1500);
	assert_int_equal(l.a->ops->next_event(l.a), UINT64_MAX);
	for (int i = 0; i < 8; i++)
		dt_send(l.sa, l.a, (uint16_t)i, 6, 50);
	assert_int_equal(dt_recv(l.b, ids, 8), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(ids[i], i);
	/* The way back is not impaired, and rx passes through. */
	dt_send(l.sb, l.b, 77, 17, 5);
	assert_int_equal(dt_recv(l.a, ids, 1), 1);
	assert_int_equal(ids[0], 77);
	assert_int_equal(us_impair_dropped(l.a), 0);
	/* Rx/tx counted once, by the pipe below. */
	assert_int_equal(DT_STAT(l.sa, dev_tx_frames), 8);
	assert_int_equal(DT_STAT(l.sa, dev_rx_frames), 1);
	link_close(&l);
}

/* Frames of the class are counted 1, 2, 3, ... in transmit order; only
 * the listed ordinals are dropped, other frames are untouched. */
static void test_exact_drops_tcp_data(void **state)
{
	uint32_t list[] = {2, 5};
	struct us_impair imp = {.drop_class = US_IMPAIR_TCP_DATA,
				.drop_list = list,
				.drop_count = 2};
	struct link l;
	uint16_t ids[32];

	link_open(&l, &imp);
	list[0] = 3; /* the wrapper keeps its own copy */
	/* id 100+k: k-th TCP data segment; others are not in the class. */
	dt_send(l.sa, l.a, 101, 6, 100);
	dt_send(l.sa, l.a, 1, 6, 0); /* pure ACK */
	dt_send(l.sa, l.a, 102, 6, 1);
	dt_send(l.sa, l.a, 2, 17, 100);
	dt_send(l.sa, l.a, 3, 0, 28); /* ARP */
	dt_send(l.sa, l.a, 103, 6, 1000);
	dt_send(l.sa, l.a, 104, 6, 10);
	dt_send(l.sa, l.a, 4, 6, 0);
	dt_send(l.sa, l.a, 105, 6, 10);
	dt_send(l.sa, l.a, 106, 6, 10);
	int n = dt_recv(l.b, ids, 32);
	uint16_t want[] = {101, 1, 2, 3, 103, 104, 4, 106};
	assert_int_equal(n, 8);
	for (int i = 0; i < n; i++)
		assert_int_equal(ids[i], want[i]);
	assert_int_equal(us_impair_dropped(l.a), 2);
	assert_int_equal(stats_of(l.a).exact, 2);
	link_close(&l);
}

static void test_exact_drops_udp_and_any(void **state)
{
	uint32_t list[] = {1, 3};
	struct us_impair imp = {
	    .drop_class = US_IMPAIR_UDP, .drop_list = list, .drop_count = 2};
	struct link l;
	uint16_t ids[16];

	link_open(&l, &imp);
	dt_send(l.sa, l.a, 1, 17, 10); /* udp #1: dropped */
	dt_send(l.sa, l.a, 2, 6, 10);
	dt_send(l.sa, l.a, 3, 17, 10); /* udp #2 */
	dt_send(l.sa, l.a, 4, 17, 0);  /* udp #3, empty: dropped */
	assert_int_equal(dt_recv(l.b, ids, 16), 2);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 3);
	link_close(&l);

	imp.drop_class = US_IMPAIR_ANY;
	link_open(&l, &imp);
	dt_send(l.sa, l.a, 1, 0, 10);
	dt_send(l.sa, l.a, 2, 6, 10);
	dt_send(l.sa, l.a, 3, 17, 10);
	assert_int_equal(dt_recv(l.b, ids, 16), 1);
	assert_int_equal(ids[0], 2);
	link_close(&l);
}

/* Returns the number received; arrived[i] says whether frame i did. */
static int run_loss(uint64_t seed, double loss, int n, uint8_t *arrived)
{
	struct us_impair imp = {.seed = seed, .loss = loss};
	struct link l;
	uint16_t ids[64];
	int got = 0;

	link_open(&l, &imp);
	memset(arrived, 0, (size_t)n);
	for (int i = 0; i < n; i++) {
		dt_send(l.sa, l.a, (uint16_t)i, 17, 10);
		if (i % 32 == 31 || i == n - 1) {
			int k = dt_recv(l.b, ids, 64);
			for (int j = 0; j < k; j++)
				arrived[ids[j]] = 1;
			got += k;
		}
	}
	assert_int_equal(us_impair_dropped(l.a), (uint64_t)(n - got));
	assert_int_equal(stats_of(l.a).loss, (uint64_t)(n - got));
	link_close(&l);
	return got;
}

static void test_loss_seeded(void **state)
{
	enum { N = 20000 };
	static uint8_t a1[N], a2[N], a3[N];

	int g1 = run_loss(42, 0.1, N, a1);
	int g2 = run_loss(42, 0.1, N, a2);
	int g3 = run_loss(43, 0.1, N, a3);
	assert_int_equal(g1, g2);
	assert_memory_equal(a1, a2, N); /* same seed, same frames lost */
	assert_memory_not_equal(a1, a3, N);
	/* 10% of 20000: 2000 +- 5 sigma (sigma ~ 42). */
	assert_in_range(N - g1, 1790, 2210);
	assert_in_range(N - g3, 1790, 2210);
	assert_int_equal(run_loss(1, 0.0, 1000, a3), 1000);
	assert_int_equal(run_loss(1, 1.0, 1000, a3), 0);
}

static void test_delay_holds_until_due(void **state)
{
	struct us_impair imp = {.delay_us = 10000};
	struct link l;
	uint16_t ids[8];

	link_open(&l, &imp);
	l.sa->now = 5 * MS;
	dt_send(l.sa, l.a, 1, 17, 10);
	dt_send(l.sa, l.a, 2, 17, 10);
	l.sa->now = 6 * MS;
	dt_send(l.sa, l.a, 3, 17, 10);
	assert_int_equal(dt_recv(l.b, NULL, 0), 0);
	assert_int_equal(l.a->ops->next_event(l.a), 15 * MS);

	dt_at(l.sa, l.a, 15 * MS - 1);
	assert_int_equal(dt_recv(l.b, NULL, 0), 0);
	dt_at(l.sa, l.a, 15 * MS);
	assert_int_equal(dt_recv(l.b, ids, 8), 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(l.a->ops->next_event(l.a), 16 * MS);
	dt_at(l.sa, l.a, 40 * MS); /* late: released at once */
	assert_int_equal(dt_recv(l.b, ids, 8), 1);
	assert_int_equal(ids[0], 3);
	assert_int_equal(l.a->ops->next_event(l.a), UINT64_MAX);

	/* Frames still held at close are freed (dt_stack_free checks). */
	dt_send(l.sa, l.a, 4, 17, 10);
	link_close(&l);
}

static void test_jitter_within_bounds(void **state)
{
	struct us_impair imp = {
	    .seed = 7, .delay_us = 10000, .jitter_us = 2000};
	struct link l;
	uint64_t t, lo = UINT64_MAX, hi = 0;
	int got = 0;

	link_open(&l, &imp);
	for (int i = 0; i < 500; i++)
		dt_send(l.sa, l.a, (uint16_t)i, 17, 10);
	while ((t = l.a->ops->next_event(l.a)) != UINT64_MAX) {
		dt_at(l.sa, l.a, t);
		int k = dt_recv(l.b, NULL, 0);
		assert_true(k > 0);
		got += k;
		lo = US_MIN(lo, t);
		hi = US_MAX(hi, t);
	}
	assert_int_equal(got, 500);
	assert_true(lo >= 8 * MS && lo < 8 * MS + 200000);
	assert_true(hi <= 12 * MS && hi > 12 * MS - 200000);
	link_close(&l);
}

/* 1 byte per microsecond; a queue of ten 1000-byte frames. */
static void test_rate_limit_and_droptail(void **state)
{
	struct us_impair imp = {.rate_bps = 8000000, .queue_bytes = 10000};
	struct link l;
	uint16_t ids[4];
	uint64_t t;

	link_open(&l, &imp);
	for (int i = 0; i < 20; i++)
		dt_send(l.sa, l.a, (uint16_t)i, 17, 1000 - 42);
	assert_int_equal(stats_of(l.a).queue, 10);
	assert_int_equal(us_impair_dropped(l.a), 10);

	/* Departures one serialization time (1 ms) apart, in order. */
	for (int k = 1; k <= 5; k++) {
		t = l.a->ops->next_event(l.a);
		assert_int_equal(t, (uint64_t)k * MS);
		dt_at(l.sa, l.a, t);
		assert_int_equal(dt_recv(l.b, ids, 4), 1);
		assert_int_equal(ids[0], k - 1);
	}
	/* At 5 ms half the queue has drained: five more fit, not six. */
	for (int i = 20; i < 26; i++)
		dt_send(l.sa, l.a, (uint16_t)i, 17, 1000 - 42);
	assert_int_equal(stats_of(l.a).queue, 11);
	for (int k = 6; k <= 15; k++) {
		t = l.a->ops->next_event(l.a);
		assert_int_equal(t, (uint64_t)k * MS);
		dt_at(l.sa, l.a, t);
		assert_int_equal(dt_recv(l.b, ids, 4), 1);
		assert_int_equal(ids[0], k <= 10 ? k - 1 : k + 9);
	}
	assert_int_equal(l.a->ops->next_event(l.a), UINT64_MAX);
	/* An idle link sends the next frame after its own serialization. */
	l.sa->now = 100 * MS;
	dt_send(l.sa, l.a, 50, 17, 500 - 42);
	assert_int_equal(l.a->ops->next_event(l.a), 100 * MS + 500000);
	link_close(&l);
}

static void test_rate_with_delay(void **state)
{
	struct us_impair imp = {.rate_bps = 8000000, .delay_us = 20000};
	struct link l;

	link_open(&l, &imp);
	dt_send(l.sa, l.a, 1, 17, 1000 - 42);
	dt_send(l.sa, l.a, 2, 17, 1000 - 42);
	assert_int_equal(l.a->ops->next_event(l.a), 21 * MS);
	dt_at(l.sa, l.a, 21 * MS);
	assert_int_equal(dt_recv(l.b, NULL, 0), 1);
	assert_int_equal(l.a->ops->next_event(l.a), 22 * MS);
	link_close(&l);
}

static void test_reorder(void **state)
{
	struct us_impair imp = {.reorder = 1.0};
	struct link l;
	uint16_t ids[8];

	link_open(&l, &imp);
	/* Each held frame goes out right after the frame that follows it. */
	for (int i = 1; i <= 4; i++)
		dt_send(l.sa, l.a, (uint16_t)i, 17, 10);
	assert_int_equal(dt_recv(l.b, ids, 8), 4);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 1);
	assert_int_equal(ids[2], 4);
	assert_int_equal(ids[3], 3);
	/* With no frame after it, a held frame waits a short while. */
	dt_send(l.sa, l.a, 5, 17, 10);
	assert_int_equal(dt_recv(l.b, NULL, 0), 0);
	assert_int_equal(l.a->ops->next_event(l.a), 1 * MS);
	dt_at(l.sa, l.a, 1 * MS);
	assert_int_equal(dt_recv(l.b, ids, 8), 1);
	assert_int_equal(ids[0], 5);
	assert_int_equal(stats_of(l.a).reorder, 3);
	link_close(&l);
}

/* Counts frames that arrive after a later-sent one. */
static int recv_late(struct us_dev *b, int *prev, int *got)
{
	uint16_t ids[64];
	int k = dt_recv(b, ids, 64), late = 0;

	for (int j = 0; j < k; j++) {
		late += ids[j] < *prev;
		*prev = US_MAX(*prev, ids[j]);
	}
	*got += k;
	return late;
}

static void test_reorder_rate(void **state)
{
	struct us_impair imp = {.seed = 3, .reorder = 0.1};
	struct link l;
	int late = 0, got = 0, prev = -1;

	link_open(&l, &imp);
	for (int i = 0; i < 10000; i++) {
		dt_send(l.sa, l.a, (uint16_t)i, 17, 10);
		late += recv_late(l.b, &prev, &got);
	}
	/* A last frame held back has no later frame to overtake it. */
	int last_held = l.a->ops->next_event(l.a) != UINT64_MAX;
	dt_at(l.sa, l.a, 10 * MS);
	late += recv_late(l.b, &prev, &got);
	assert_int_equal(got, 10000);
	assert_int_equal(late + last_held, (int)stats_of(l.a).reorder);
	assert_in_range(late, 800, 1200);
	link_close(&l);
}

static void test_duplication_rate(void **state)
{
	struct us_impair imp = {.seed = 11, .dup = 0.2};
	struct link l;
	int got = 0;

	link_open(&l, &imp);
	for (int i = 0; i < 10000; i++) {
		dt_send(l.sa, l.a, (uint16_t)i, 17, 10);
		got += dt_recv(l.b, NULL, 0);
	}
	assert_int_equal(got - 10000, (int)stats_of(l.a).dup);
	assert_in_range(got - 10000, 1800, 2200);
	assert_int_equal(us_impair_dropped(l.a), 0);
	link_close(&l);
}

static void test_corruption(void **state)
{
	struct us_impair imp = {.seed = 5, .corrupt = 0.1};
	struct link l;
	struct us_pbuf *pkts[64];
	uint8_t want[2048];
	int bad = 0;

	link_open(&l, &imp);
	for (int i = 0; i < 10000; i++) {
		uint32_t len = dt_frame(want, (uint16_t)i, 17, 100);
		dt_send(l.sa, l.a, (uint16_t)i, 17, 100);
		assert_int_equal(l.b->ops->rx_burst(l.b, pkts, 64), 1);
		assert_int_equal(pkts[0]->len, len);
		/* Never the Ethernet header; one byte at most. */
		assert_memory_equal(pkts[0]->data, want, 14);
		int diff = 0;
		for (uint32_t j = 14; j < len; j++)
			diff += pkts[0]->data[j] != want[j];
		assert_in_range(diff, 0, 1);
		bad += diff;
		pbuf_free(pkts[0]);
	}
	assert_int_equal(bad, (int)stats_of(l.a).corrupt);
	assert_in_range(bad, 880, 1120);
	link_close(&l);
}

/* A buffer still held elsewhere (a segment kept for retransmission) is
 * copied before it is corrupted. */
static void test_corruption_copies_shared_buffer(void **state)
{
	struct us_impair imp = {.seed = 5, .corrupt = 1.0};
	struct link l;
	uint8_t want[2048];

	link_open(&l, &imp);
	uint32_t len = dt_frame(want, 9, 6, 200);
	struct us_pbuf *p = pbuf_alloc(&l.sa->pool, len, 0);
	memcpy(p->data, want, len);
	p->len = len;
	pbuf_ref(p);
	l.a->ops->tx_burst(l.a, &p, 1);
	assert_int_equal(p->refcnt, 1);
	assert_memory_equal(p->data, want, len);
	pbuf_free(p);
	assert_int_equal(stats_of(l.a).corrupt, 1);
	assert_int_equal(dt_recv(l.b, NULL, 0), 1);
	link_close(&l);
}

static void test_bad_params_and_lookup(void **state)
{
	struct us_dev *a, *b;
	struct us_impair bad = {.loss = 1.5};
	struct us_impair_stats s;

	assert_int_equal(us_pipe_create(&a, &b), 0);
	assert_null(us_impair_wrap(a, &bad));
	bad = (struct us_impair){.drop_count = 3}; /* no list */
	assert_null(us_impair_wrap(a, &bad));
	assert_int_equal(us_impair_stats(a, &s), -1);
	assert_int_equal(us_impair_dropped(a), 0);
	dev_close(a);
	dev_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_passthrough),
	    cmocka_unit_test(test_exact_drops_tcp_data),
	    cmocka_unit_test(test_exact_drops_udp_and_any),
	    cmocka_unit_test(test_loss_seeded),
	    cmocka_unit_test(test_delay_holds_until_due),
	    cmocka_unit_test(test_jitter_within_bounds),
	    cmocka_unit_test(test_rate_limit_and_droptail),
	    cmocka_unit_test(test_rate_with_delay),
	    cmocka_unit_test(test_reorder),
	    cmocka_unit_test(test_reorder_rate),
	    cmocka_unit_test(test_duplication_rate),
	    cmocka_unit_test(test_corruption),
	    cmocka_unit_test(test_corruption_copies_shared_buffer),
	    cmocka_unit_test(test_bad_params_and_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
