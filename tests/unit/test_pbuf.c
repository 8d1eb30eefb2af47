/* Packet buffer pool: size classes, headroom, reference counts, the
 * reserve kept for ACKs/RSTs, and exhaustion counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/pbuf.h"

static void test_classes_and_headroom(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	uint64_t fails = 0;

	assert_int_equal(pbuf_pool_init(&pool, 64, 2, 2, &fails), 0);
	struct us_pbuf *s = pbuf_alloc(&pool, 1514, 0);
	struct us_pbuf *m = pbuf_alloc(&pool, 9000, 0);
	struct us_pbuf *l = pbuf_alloc(&pool, 30000, 0);
	assert_non_null(s);
	assert_non_null(m);
	assert_non_null(l);
	assert_int_equal(s->cls, 0);
	assert_int_equal(m->cls, 1);
	assert_int_equal(l->cls, 2);
	/* Mediums gone: a medium-sized request falls back to a large one. */
	struct us_pbuf *m2 = pbuf_alloc(&pool, 9000, 0);
	struct us_pbuf *m3 = pbuf_alloc(&pool, 9000, 0);
	assert_int_equal(m2->cls, 1);
	assert_int_equal(m3->cls, 2);
	pbuf_free(m);
	pbuf_free(m2);
	pbuf_free(m3);
	assert_int_equal(pbuf_headroom(s), PBUF_HEADROOM);
	assert_true(pbuf_tailroom(l) >= 65535);
	/* Headers go in front without a copy. */
	uint8_t *h = pbuf_push(s, 14);
	assert_ptr_equal(h, s->head + PBUF_HEADROOM - 14);
	assert_int_equal(s->len, 14);
	assert_null(pbuf_push(s, PBUF_HEADROOM)); /* past the buffer start */
	assert_non_null(pbuf_pull(s, 14));
	assert_null(pbuf_pull(s, 1));
	/* Too big for any class. */
	assert_null(pbuf_alloc(&pool, PBUF_LARGE_SIZE, 0));
	assert_int_equal(fails, 1);
	pbuf_free(s);
	pbuf_free(l);
	assert_int_equal(pool.nfree[0], 64);
	assert_int_equal(pool.nfree[1], 2);
	assert_int_equal(pool.nfree[2], 2);
	pbuf_pool_fini(&pool);
}

static void test_refcount_shares_one_buffer(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	assert_int_equal(pbuf_pool_init(&pool, 64, 0, 0, NULL), 0);
	struct us_pbuf *p = pbuf_alloc(&pool, 100, 0);
	pbuf_ref(p); /* e.g. kept for retransmission and in a TX ring */
	pbuf_free(p);
	assert_int_equal(pool.nfree[0], 63);
	pbuf_free(p);
	assert_int_equal(pool.nfree[0], 64);
	pbuf_free(NULL);
	pbuf_pool_fini(&pool);
}

static void test_reserve_and_exhaustion(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	uint64_t fails = 0;
	struct us_pbuf *got[64];
	int n = 0;

	assert_int_equal(pbuf_pool_init(&pool, 64, 0, 0, &fails), 0);
	assert_true(pool.reserve > 0);
	while ((got[n] = pbuf_alloc(&pool, 64, 0)))
		n++;
	assert_int_equal(n, 64 - (int)pool.reserve);
	assert_int_equal(fails, 1);
	/* The reserve is still there for an ACK or a RST. */
	struct us_pbuf *r = pbuf_alloc(&pool, 64, PBUF_ALLOC_RESERVE);
	assert_non_null(r);
	pbuf_free(r);
	for (int i = 0; i < n; i++)
		pbuf_free(got[i]);
	assert_int_equal(pool.nfree[0], 64);
	pbuf_pool_fini(&pool);
}

/* A length near 4 GiB must not wrap when the headroom is added and come
 * back as a small buffer its caller would overrun. */
static void test_huge_length_refused(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	uint64_t fails = 0;

	assert_int_equal(pbuf_pool_init(&pool, 64, 1, 1, &fails), 0);
	assert_null(pbuf_alloc(&pool, UINT32_MAX, 0));
	assert_null(pbuf_alloc(&pool, UINT32_MAX - PBUF_HEADROOM + 1, 0));
	assert_null(pbuf_alloc(&pool, UINT32_MAX - PBUF_HEADROOM + 100, 0));
	assert_null(pbuf_alloc(&pool, PBUF_LARGE_SIZE - PBUF_HEADROOM + 1, 0));
	assert_int_equal(fails, 4);
	/* The largest that fits still does. */
	struct us_pbuf *l =
	    pbuf_alloc(&pool, PBUF_LARGE_SIZE - PBUF_HEADROOM, 0);
	assert_non_null(l);
	assert_int_equal(l->cls, 2);
	pbuf_free(l);
	assert_int_equal(pool.nfree[0], 64);
	pbuf_pool_fini(&pool);
}

static void test_queue_accounts_truesize(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	struct pbuf_queue q;
	assert_int_equal(pbuf_pool_init(&pool, 16, 0, 1, NULL), 0);
	pbufq_init(&q);
	struct us_pbuf *a = pbuf_alloc(&pool, 1, 0);
	a->len = 1; /* one byte of payload still costs a whole buffer */
	pbufq_push(&q, a);
	pbufq_push(&q, pbuf_alloc(&pool, 20000, 0));
	assert_int_equal(q.count, 2);
	assert_int_equal(q.bytes, PBUF_SMALL_SIZE + PBUF_LARGE_SIZE +
					  2 * sizeof(struct us_pbuf));
	assert_ptr_equal(pbufq_pop(&q), a);
	pbuf_free(a);
	pbufq_purge(&q);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	assert_int_equal(pool.nfree[2], 1);
	pbuf_pool_fini(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_and_headroom),
		cmocka_unit_test(test_refcount_shares_one_buffer),
		cmocka_unit_test(test_reserve_and_exhaustion),
		cmocka_unit_test(test_queue_accounts_truesize),
		cmocka_unit_test(test_huge_length_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
