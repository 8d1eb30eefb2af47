/* The pipe device (two stacks joined in memory) and the capture wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "devtest.h"

struct pair {
	struct us_stack *sa, *sb;
	struct us_dev *a, *b;
};

static void pair_open(struct pair *p, uint32_t nsmall)
{
	p->sa = dt_stack(nsmall);
	p->sb = dt_stack(nsmall);
	assert_int_equal(us_pipe_create(&p->a, &p->b), 0);
	assert_int_equal(dev_attach(p->a, p->sa), 0);
	assert_int_equal(dev_attach(p->b, p->sb), 0);
}

static void pair_close(struct pair *p)
{
	dev_close(p->a);
	dev_close(p->b);
	dt_stack_free(p->sa);
	dt_stack_free(p->sb);
}

static void test_frames_cross_intact(void **state)
{
	struct pair p;
	struct us_pbuf *got[64];
	uint8_t want[2048];

	pair_open(&p, 256);
	assert_int_equal(p.a->has_mac, 0);
	assert_int_equal(p.a->mtu, 1500);
	assert_int_equal(p.a->ops->fd(p.a), -1);
	for (int i = 0; i < 10; i++)
		dt_send(p.sa, p.a, (uint16_t)i, 17, (uint32_t)i * 100);
	dt_send(p.sb, p.b, 99, 6, 10);
	/* The sender's buffers stay queued until the receiver takes them. */
	assert_int_equal(p.sa->pool.nfree[0], p.sa->pool.total[0] - 10);

	p.sb->now = 12345;
	int n = p.b->ops->rx_burst(p.b, got, 64);
	assert_int_equal(n, 10);
	for (int i = 0; i < n; i++) {
		uint32_t len =
		    dt_frame(want, (uint16_t)i, 17, (uint32_t)i * 100);
		assert_int_equal(got[i]->len, len);
		assert_memory_equal(got[i]->data, want, len);
		assert_ptr_equal(got[i]->pool, &p.sb->pool); /* a copy */
		assert_int_equal(got[i]->time, 12345);
		pbuf_free(got[i]);
	}
	assert_int_equal(p.b->ops->rx_burst(p.b, got, 64), 0);
	assert_int_equal(p.sa->pool.nfree[0], p.sa->pool.total[0]);
	/* rx_burst honours max. */
	uint16_t id;
	assert_int_equal(p.a->ops->rx_burst(p.a, got, 0), 0);
	assert_int_equal(dt_recv(p.a, &id, 1), 1);
	assert_int_equal(id, 99);

	assert_int_equal(DT_STAT(p.sa, dev_tx_frames), 10);
	assert_int_equal(DT_STAT(p.sb, dev_rx_frames), 10);
	assert_int_equal(DT_STAT(p.sb, dev_tx_frames), 1);
	assert_int_equal(DT_STAT(p.sa, dev_rx_frames), 1);
	assert_int_equal(DT_STAT(p.sa, dev_rx_bytes), 14 + 20 + 20 + 10);
	pair_close(&p);
}

static void test_overflow_toobig_nobuf(void **state)
{
	struct pair p;

	pair_open(&p, 8192);
	for (int i = 0; i < 4100; i++)
		dt_send(p.sa, p.a, (uint16_t)i, 17, 10);
	assert_int_equal(DT_STAT(p.sa, dev_tx_frames), 4096);
	assert_int_equal(DT_STAT(p.sa, dev_tx_drop_full), 4);
	dt_send(p.sa, p.a, 1, 17, 1500); /* 14 + 28 + 1500 > 1514 */
	assert_int_equal(DT_STAT(p.sa, dev_tx_drop_toobig), 1);
	assert_int_equal(dt_recv(p.b, NULL, 0), 4096);

	/* The receiver's pool is dry: counted, sender's buffer freed. */
	struct us_pbuf *hog[8192 + 1];
	int h = 0;
	while ((hog[h] = pbuf_alloc(&p.sb->pool, 100, PBUF_ALLOC_RESERVE)))
		h++;
	dt_send(p.sa, p.a, 7, 17, 10);
	assert_int_equal(dt_recv(p.b, NULL, 0), 0);
	assert_int_equal(DT_STAT(p.sb, dev_rx_drop_nobuf), 1);
	while (h--)
		pbuf_free(hog[h]);
	pair_close(&p);
}

/* The two stacks may have different MTUs: each end sends up to its own
 * and refuses to receive beyond its own (plus a VLAN tag). */
static void test_mtu_per_end(void **state)
{
	struct pair p;
	uint16_t id;

	pair_open(&p, 64);
	p.sa->mtu = 9000;
	dt_send(p.sa, p.a, 1, 17, 3000 - 28);
	assert_int_equal(DT_STAT(p.sa, dev_tx_frames), 1);
	assert_int_equal(dt_recv(p.b, NULL, 0), 0);
	assert_int_equal(DT_STAT(p.sb, dev_rx_drop_truncated), 1);
	dt_send(p.sa, p.a, 2, 17, 1500 - 28); /* 1514: fits */
	assert_int_equal(dt_recv(p.b, &id, 1), 1);
	assert_int_equal(id, 2);
	pair_close(&p);
}

/* Each end frees what it sent; a frame to a closed end is counted. */
static void test_close_with_frames_queued(void **state)
{
	struct pair p;

	pair_open(&p, 64);
	dt_send(p.sa, p.a, 1, 17, 10);
	dt_send(p.sb, p.b, 2, 17, 10);
	dev_close(p.a);
	assert_int_equal(dt_recv(p.b, NULL, 0), 0); /* gone with its sender */
	dt_send(p.sb, p.b, 3, 17, 10);
	assert_int_equal(DT_STAT(p.sb, dev_tx_drop_full), 1);
	dev_close(p.b);
	dt_stack_free(p.sa);
	dt_stack_free(p.sb);
}

static void test_capture_writes_both_directions(void **state)
{
	char path[] = "/tmp/ust-capture-XXXXXX";
	int fd = mkstemp(path);
	struct pair p;
	char err[PCAP_ERRBUF_SIZE];

	assert_true(fd >= 0);
	close(fd);
	pair_open(&p, 64);
	struct us_dev *c = dev_capture_wrap(p.a, path);
	assert_non_null(c);
	assert_int_equal(dev_attach(c, p.sa), 0);
	assert_int_equal(c->mtu, 1500);
	dt_send(p.sa, c, 1, 6, 100);	/* out through the capture */
	dt_send(p.sb, p.b, 2, 17, 200); /* in through the capture */
	assert_int_equal(dt_recv(c, NULL, 0), 1);
	assert_int_equal(dt_recv(p.b, NULL, 0), 1);

	/* Flushed per burst: readable before close. */
	pcap_t *pc = pcap_open_offline(path, err);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t want[2048];
	uint32_t len;
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	len = dt_frame(want, 1, 6, 100);
	assert_int_equal(h->caplen, len);
	assert_memory_equal(data, want, len);
	assert_true(h->ts.tv_sec > 1600000000); /* wall time */
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	len = dt_frame(want, 2, 17, 200);
	assert_int_equal(h->len, len);
	assert_memory_equal(data, want, len);
	assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);

	dev_close(c); /* closes the pipe end below */
	dev_close(p.b);
	dt_stack_free(p.sa);
	dt_stack_free(p.sb);
	unlink(path);
}

static void test_capture_bad_path(void **state)
{
	struct us_dev *a, *b;

	assert_int_equal(us_pipe_create(&a, &b), 0);
	assert_null(dev_capture_wrap(a, "/nonexistent-dir/x.pcap"));
	dev_close(a); /* still ours after a failed wrap */
	dev_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_cross_intact),
	    cmocka_unit_test(test_overflow_toobig_nobuf),
	    cmocka_unit_test(test_mtu_per_end),
	    cmocka_unit_test(test_close_with_frames_queued),
	    cmocka_unit_test(test_capture_writes_both_directions),
	    cmocka_unit_test(test_capture_bad_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
