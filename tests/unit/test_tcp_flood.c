/* Floods against a listener while an established connection on the same
 * port carries data: a SYN flood far beyond the SYN queue, and a mixed
 * flood of bad segments (bad checksums, bad data offsets, impossible
 * flags, stray ACKs and RSTs to the listener, out-of-window segments and
 * blind RSTs on the connection). Each flood segment must be counted and
 * answered as the RFC says (or not at all), the SYN queue and the number
 * of connection blocks stay bounded, and the established connection keeps
 * delivering every byte both ways throughout (RFC 4987 2 describes the
 * attack; RFC 9293 3.10.7, RFC 5961 the answers). And the pool nearly
 * empty: the answers still go out, from the pool's reserve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_harness.h"

#define SYNQ 64
#define FLOOD 3000
#define FLOOD_PORT0 1024

struct flood {
	struct th *h;
	uint16_t estab_port;
	uint32_t synack_first; /* SYN-ACKs to a flood port, first ones */
	uint32_t synack_again; /* ... repeated (SYN-ACK retransmission) */
	uint32_t rst, ack_only, other;
	uint32_t estab_acks; /* pure ACKs on the established connection */
	uint8_t seen[FLOOD];
	/* The established connection, seen from B. */
	uint32_t a_data; /* bytes A sent on it, in order */
	uint32_t a_next; /* A's next sequence number seen */
	uint32_t echo_errors;
};

static void small_synq(struct us_config *c)
{
	c->tcp_max_syn_backlog = SYNQ;
}

/* Take everything A sent and sort it. */
static void drain(struct flood *f)
{
	struct th_seg s;

	while (th_out(f->h, &s)) {
		if (s.dport == f->estab_port) {
			if (s.len) {
				if (s.seq != f->a_next)
					f->echo_errors++;
				f->a_next = s.seq + s.len;
				f->a_data += s.len;
			} else if (s.flags == TCP_ACK) {
				f->estab_acks++;
			} else {
				f->other++;
			}
			continue;
		}
		int i = (int)s.dport - FLOOD_PORT0;
		if (s.flags == (TCP_SYN | TCP_ACK) && i >= 0 && i < FLOOD) {
			if (f->seen[i]++)
				f->synack_again++;
			else
				f->synack_first++;
		} else if (s.flags & TCP_RST) {
			f->rst++;
		} else if (s.flags == TCP_ACK && !s.len) {
			f->ack_only++;
		} else {
			f->other++;
		}
	}
}

/* One round trip on the established connection: B sends n bytes, A's
 * application reads them and writes them back, B acknowledges the echo. */
static void exchange(struct flood *f, uint32_t n, uint8_t tag)
{
	struct th *h = f->h;
	uint8_t d[512], got[512];

	assert_true(n <= sizeof(d));
	memset(d, tag, n);
	uint16_t fp = h->port_b;
	h->port_b = f->estab_port;
	th_data(h, d, n);
	assert_int_equal(tcp_recv(h->a, h->c, got, sizeof(got), 0), (int)n);
	assert_memory_equal(got, d, n);
	assert_int_equal(tcp_send(h->a, h->c, got, n, 0), (int)n);
	uint32_t before = f->a_data;
	drain(f);
	assert_int_equal(f->a_data - before, n);
	th_inject(h, TCP_ACK, h->snd, f->a_next, NULL, 0);
	h->port_b = fp;
}

static struct flood *flood_new(void)
{
	struct flood *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->h = th_new(small_synq);
	th_passive(f->h, -1);
	f->estab_port = f->h->port_b;
	f->a_next = TH_ISS + 1;
	return f;
}

static void flood_free(struct flood *f)
{
	th_free(f->h);
	free(f);
}

static uint32_t blocks(struct th *h)
{
	return h->a->tcp->ecount;
}

/* FLOOD SYNs from as many ports, none ever completing the handshake.
 * Each SYN either gets a SYN-ACK or, the SYN queue being full, is counted
 * and dropped (tcp_drop_syn_queue_full; with SYN cookies it would get a
 * SYN-ACK and take no memory): never both, never neither. The embryos
 * then time out after their SYN-ACK retries and the queue is empty again
 * for a real client. */
static void test_syn_flood_estab_keeps_working(void **state)
{
	struct flood *f = flood_new();
	struct th *h = f->h;
	(void)state;

	for (int i = 0; i < FLOOD; i++) {
		h->port_b = (uint16_t)(FLOOD_PORT0 + i);
		th_inject(h, TCP_SYN, 0x7000000u + (uint32_t)i * 977u, 0, NULL,
			  0);
		drain(f);
		assert_true(h->l->synq.n <= SYNQ);
		assert_true(blocks(h) <= 1 + SYNQ);
		if (i % 100 == 99)
			exchange(f, 200, (uint8_t)i);
	}
	uint64_t dropped = th_stat(h, "tcp_drop_syn_queue_full");
	printf("  %d SYNs: %u SYN-ACKs, %llu dropped (SYN queue full), "
	       "SYN queue %u, blocks %u\n",
	       FLOOD, f->synack_first, (unsigned long long)dropped,
	       h->l->synq.n, blocks(h));
	assert_int_equal(f->synack_first + dropped, FLOOD);
	assert_true(f->synack_first >= SYNQ);
	assert_int_equal(h->l->synq.n, SYNQ);
	assert_int_equal(h->l->accq.n, 0);
	assert_int_equal(f->rst + f->other + f->echo_errors, 0);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(f->a_data, FLOOD / 100 * 200);

	/* The embryos' SYN-ACKs are repeated with backoff (1, 2, 4, 8,
	 * 16 s) and given up after the last one (32 s more): all gone by
	 * 64 s, while the connection still works. */
	for (uint64_t t = 1000; t <= 64000; t += 1000) {
		th_at_ms(h, t);
		drain(f);
		exchange(f, 100, (uint8_t)(t / 1000));
	}
	assert_int_equal(h->l->synq.n, 0);
	assert_int_equal(blocks(h), 1);
	assert_true(f->synack_again >= 5 * SYNQ);
	/* A real client now gets in. */
	h->port_b = 50000;
	th_syn(h, -1);
	th_inject(h, TCP_ACK, h->snd, h->rcv, NULL, 0);
	assert_int_equal(h->l->accq.n, 1);
	drain(f);
	assert_int_equal(f->rst + f->other + f->echo_errors, 0);
	flood_free(f);
}

/* Segments no state takes, mixed, while the connection carries data:
 * each is counted under its own name; only the ones RFC 9293 answers
 * (an ACK to a listener: RST; an unacceptable segment on a connection:
 * an ACK; an in-window RST or SYN: a challenge ACK, at most
 * TCP_CHALLENGE_PER_S a second, RFC 5961 7) get a reply. */
static void test_bad_flood_estab_keeps_working(void **state)
{
	struct flood *f = flood_new();
	struct th *h = f->h;
	struct th_opts bad_csum = {.ws = -1, .bad_csum = true};
	struct th_opts bad_off = {.ws = -1, .doff = 3};
	enum { ROUNDS = 400 };
	(void)state;

	for (int i = 0; i < ROUNDS; i++) {
		uint32_t r = (uint32_t)i * 2654435761u;
		/* To the listener from other ports. */
		h->port_b = (uint16_t)(FLOOD_PORT0 + i);
		th_inject_raw(h, TCP_SYN, r, 0, 100, NULL, 0, &bad_csum);
		th_inject_raw(h, TCP_SYN, r, 0, 100, "abc", 3, &bad_off);
		th_inject(h, TCP_SYN | TCP_FIN, r, 0, NULL, 0);
		th_inject(h, TCP_SYN | TCP_RST, r, 0, NULL, 0);
		th_inject(h, TCP_FIN | TCP_PSH | TCP_URG, r, 0, NULL, 0);
		th_inject(h, TCP_RST, r, 0, NULL, 0);
		th_inject(h, TCP_ACK, r, r ^ 0x5a5a5a5a, NULL, 0);
		/* On the connection: outside the window, blind RSTs and SYNs
		 * inside it, an ACK for data never sent. */
		h->port_b = f->estab_port;
		th_inject(h, TCP_ACK, h->snd + 0x40000000u, f->a_next, "x", 1);
		th_inject(h, TCP_RST, h->snd + 1 + r % 60000, 0, NULL, 0);
		th_inject(h, TCP_RST, h->snd + 0x80000000u, 0, NULL, 0);
		th_inject(h, TCP_SYN, h->snd + 7, 0, NULL, 0);
		th_inject(h, TCP_ACK, h->snd, f->a_next + 100000, NULL, 0);
		drain(f);
		if (i % 10 == 9) {
			exchange(f, 300, (uint8_t)i);
			th_at_ms(h, (uint64_t)(i + 1) * 10); /* 4 s in all */
		}
	}
	drain(f);
	printf("  %d rounds: RST %u, ACK %u (connection %u), other %u; "
	       "challenge ACKs %llu (limited %llu)\n",
	       ROUNDS, f->rst, f->ack_only, f->estab_acks, f->other,
	       (unsigned long long)th_stat(h, "tcp_challenge_ack"),
	       (unsigned long long)th_stat(h, "tcp_challenge_ack_limited"));
	assert_int_equal(th_stat(h, "tcp_drop_csum"), ROUNDS);
	assert_int_equal(th_stat(h, "tcp_drop_bad_off"), ROUNDS);
	assert_int_equal(th_stat(h, "tcp_drop_bad_flags"), 3 * ROUNDS);
	assert_int_equal(th_stat(h, "tcp_drop_listen"), 2 * ROUNDS);
	assert_int_equal(th_stat(h, "tcp_drop_rst_ignored"), ROUNDS);
	/* The stray ACKs to the listener, one RST each (RFC 9293 3.10.7.2). */
	assert_int_equal(f->rst, ROUNDS);
	/* Out-of-window data and the challenged RSTs, SYNs and bad ACKs all
	 * got ACKs; the challenges at most TCP_CHALLENGE_PER_S a second
	 * over the 4 s. */
	uint64_t chal = th_stat(h, "tcp_challenge_ack");
	assert_true(chal <= 5 * TCP_CHALLENGE_PER_S);
	assert_int_equal(chal + th_stat(h, "tcp_challenge_ack_limited"),
			 3 * ROUNDS);
	assert_true(f->estab_acks >= ROUNDS + chal);
	assert_int_equal(th_stat(h, "tcp_drop_out_of_window"), ROUNDS);
	assert_int_equal(f->ack_only + f->other + f->echo_errors, 0);
	assert_null(h->l->synq.head);
	assert_int_equal(blocks(h), 1);
	assert_int_equal(h->c->state, TCP_ESTABLISHED);
	assert_int_equal(f->a_data, ROUNDS / 10 * 300);
	flood_free(f);
}

/* Take A's small buffers until exactly `left` more than the reserve are
 * free; returns them in q (given back by the caller). */
static void exhaust(struct th *h, struct pbuf_queue *q, uint32_t left)
{
	struct pbuf_pool *pool = &h->a->pool;
	struct us_pbuf *p;

	pbufq_init(q);
	while (pool->nfree[0] > pool->reserve + left &&
	       (p = pbuf_alloc(pool, 100, 0)))
		pbufq_push(q, p);
	assert_int_equal(pool->nfree[0], pool->reserve + left);
}

/* Memory pressure: the pool is down to its reserve once the arriving
 * frame is taken. The answers RFC 9293 requires still go out, from the
 * reserve (DESIGN.md: "a reserve is kept so the stack can always send an
 * ACK or a RST"): the RST for a closed port, the ACK of in-order data
 * (which is kept), the ACK of an out-of-window segment. */
static void test_ack_and_rst_from_reserve(void **state)
{
	struct flood *f = flood_new();
	struct th *h = f->h;
	struct pbuf_queue q;
	struct th_seg s;
	uint8_t got[8];
	(void)state;

	exhaust(h, &q, 1);
	h->port_b = 999;
	h->port_a = 81; /* nobody listens there */
	th_inject(h, TCP_SYN, 1234, 0, NULL, 0);
	/* The RST was made while the SYN's buffer was still held, with only
	 * the reserve free; it now sits in the link. */
	assert_int_equal(h->a->pool.nfree[0], h->a->pool.reserve);
	TH_EXPECT(h, &s, TCP_RST | TCP_ACK, 0, 1235);
	pbufq_purge(&q);

	h->port_a = TH_PORT_A;
	h->port_b = f->estab_port;
	exhaust(h, &q, 1);
	th_data(h, "pressure", 8);
	/* The data holds the last buffer outside the reserve; the ACK came
	 * from the reserve. */
	assert_int_equal(h->a->pool.nfree[0], h->a->pool.reserve - 1);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	/* One buffer more for the device to take a frame into: an
	 * out-of-window segment, answered with an ACK from the reserve. */
	pbuf_free(pbufq_pop(&q));
	th_inject(h, TCP_ACK, h->snd + 0x40000000u, TH_ISS + 1, "x", 1);
	assert_int_equal(h->a->pool.nfree[0], h->a->pool.reserve);
	TH_EXPECT(h, &s, TCP_ACK, TH_ISS + 1, h->snd);
	pbufq_purge(&q);
	assert_int_equal(tcp_recv(h->a, h->c, got, sizeof(got), 0), 8);
	assert_memory_equal(got, "pressure", 8);
	assert_int_equal(th_stat(h, "tcp_tx_nobuf"), 0);
	flood_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syn_flood_estab_keeps_working),
	    cmocka_unit_test(test_bad_flood_estab_keeps_working),
	    cmocka_unit_test(test_ack_and_rst_from_reserve),
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
