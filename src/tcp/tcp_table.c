/* TCP tables: connections by 4-tuple, listeners by port, bound blocks by
 * port; ephemeral ports (RFC 6056) and initial sequence numbers
 * (RFC 6528), both from keyed hashes of the stack's secret; the life of a
 * block; module init and fini. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip4.h"
#include "tcp/tcp_conn.h"

#define EHASH_INITIAL 1024u
#define EHASH_MAX (1u << 22)

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash, so neither
 * an attacker's choice of ports nor ISN prediction can use our tables'
 * or sequence numbers' structure. */
static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3)                                           \
	do {                                                               \
		v0 += v1;                                                  \
		v1 = rotl64(v1, 13);                                       \
		v1 ^= v0;                                                  \
		v0 = rotl64(v0, 32);                                       \
		v2 += v3;                                                  \
		v3 = rotl64(v3, 16);                                       \
		v3 ^= v2;                                                  \
		v0 += v3;                                                  \
		v3 = rotl64(v3, 21);                                       \
		v3 ^= v0;                                                  \
		v2 += v1;                                                  \
		v1 = rotl64(v1, 17);                                       \
		v1 ^= v2;                                                  \
		v2 = rotl64(v2, 32);                                       \
	} while (0)

static uint64_t load64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t siphash24(const uint8_t key[16], const uint8_t *m, size_t n)
{
	uint64_t k0 = load64le(key), k1 = load64le(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64le(m + i);
		v3 ^= w;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= w;
	}
	uint64_t last = (uint64_t)(n & 0xff) << 56;
	for (size_t j = 0; i + j < n; j++)
		last |= (uint64_t)m[i + j] << (8 * j);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The three uses get three keys from the stack's 32-byte secret. */
enum { KEY_HASH = 0, KEY_ISN = 8, KEY_PORT = 16 };

static uint64_t tuple_hash(struct us_stack *st, int key, const struct inaddr *la,
			   uint16_t lp, const struct inaddr *ra, uint16_t rp)
{
	uint8_t m[36];
	memcpy(m, la->b, 16);
	memcpy(m + 16, ra->b, 16);
	wr16(m + 32, lp);
	wr16(m + 34, rp);
	return siphash24(st->secret + key, m, sizeof(m));
}

uint32_t tcp_hash4(struct us_stack *st, const struct inaddr *la, uint16_t lp,
		   const struct inaddr *ra, uint16_t rp)
{
	return (uint32_t)tuple_hash(st, KEY_HASH, la, lp, ra, rp);
}

/* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a timer ticking every 4 microseconds. */
uint32_t tcp_isn(struct us_stack *st, const struct inaddr *la, uint16_t lp,
		 const struct inaddr *ra, uint16_t rp)
{
	struct tcp_stack *ts = tcp_of(st);
	if (ts->isn_fixed)
		return ts->isn;
	return (uint32_t)(st->now / 4000u) +
	       (uint32_t)tuple_hash(st, KEY_ISN, la, lp, ra, rp);
}

/* ---- the block's life ---------------------------------------------- */

struct tcp_conn *tcp_conn_alloc(struct us_stack *st)
{
	struct tcp_stack *ts = tcp_of(st);
	struct tcp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->state = TCP_CLOSED;
	c->laddr = inaddr_from_v4(0);
	c->raddr = inaddr_from_v4(0);
	pbufq_init(&c->sndq);
	pbufq_init(&c->rcvq);
	pbufq_init(&c->ooo);
	c->rcvbuf = ts->rcvbuf;
	c->sndbuf = ts->sndbuf;
	c->cc = &tcp_newreno;
	c->rto_ms = ts->rto_init_ms;
	c->peer_mss = TCP_DEFAULT_MSS;
	c->mss = TCP_DEFAULT_MSS;
	c->rcv_mss = tcp_mss_for_mtu(st);
	tcp_timers_init(c);
	/* On the list of all blocks, so fini finds orphans. */
	c->anext = ts->all;
	if (ts->all)
		ts->all->apprev = &c->anext;
	ts->all = c;
	c->apprev = &ts->all;
	return c;
}

void tcp_conn_destroy(struct us_stack *st, struct tcp_conn *c)
{
	tcp_timers_stop(st, c);
	if (c->state == TCP_LISTEN)
		tcp_listen_stop(st, c);
	tcp_ehash_remove(st, c);
	tcp_lhash_remove(st, c);
	tcp_bhash_remove(st, c);
	tcp_child_unlink(c);
	pbufq_purge(&c->sndq);
	pbufq_purge(&c->rcvq);
	pbufq_purge(&c->ooo);
	if (c->apprev) {
		*c->apprev = c->anext;
		if (c->anext)
			c->anext->apprev = c->apprev;
	}
	free(c);
}

void tcp_reap(struct us_stack *st, struct tcp_conn *c)
{
	if (c->state == TCP_CLOSED && !c->user && !c->parent)
		tcp_conn_destroy(st, c);
}

/* ---- the 4-tuple hash ----------------------------------------------- */

static void ehash_grow(struct tcp_stack *ts)
{
	uint32_t nsize = (ts->ehash_mask + 1) * 2;
	struct tcp_conn **n = calloc(nsize, sizeof(*n));

	if (!n)
		return; /* longer chains, still correct */
	for (uint32_t i = 0; i <= ts->ehash_mask; i++) {
		struct tcp_conn *c = ts->ehash[i];
		while (c) {
			struct tcp_conn *next = c->hnext;
			struct tcp_conn **h = &n[c->hash & (nsize - 1)];
			c->hnext = *h;
			if (*h)
				(*h)->hpprev = &c->hnext;
			*h = c;
			c->hpprev = h;
			c = next;
		}
	}
	free(ts->ehash);
	ts->ehash = n;
	ts->ehash_mask = nsize - 1;
}

static void chain_insert(struct tcp_conn **h, struct tcp_conn *c)
{
	c->hnext = *h;
	if (*h)
		(*h)->hpprev = &c->hnext;
	*h = c;
	c->hpprev = h;
}

static void chain_remove(struct tcp_conn *c)
{
	*c->hpprev = c->hnext;
	if (c->hnext)
		c->hnext->hpprev = c->hpprev;
	c->hnext = NULL;
	c->hpprev = NULL;
}

void tcp_ehash_insert(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_stack *ts = tcp_of(st);

	if (c->htab)
		return;
	if (ts->ecount >= 2 * (ts->ehash_mask + 1) &&
	    ts->ehash_mask + 1 < EHASH_MAX)
		ehash_grow(ts);
	c->hash = tcp_hash4(st, &c->laddr, c->lport, &c->raddr, c->rport);
	chain_insert(&ts->ehash[c->hash & ts->ehash_mask], c);
	c->htab = TCP_HT_EHASH;
	ts->ecount++;
}

void tcp_ehash_remove(struct us_stack *st, struct tcp_conn *c)
{
	if (c->htab != TCP_HT_EHASH)
		return;
	chain_remove(c);
	c->htab = TCP_HT_NONE;
	tcp_of(st)->ecount--;
}

struct tcp_conn *tcp_lookup(struct us_stack *st, const struct inaddr *la,
			    uint16_t lp, const struct inaddr *ra, uint16_t rp)
{
	struct tcp_stack *ts = tcp_of(st);
	uint32_t h = tcp_hash4(st, la, lp, ra, rp);

	for (struct tcp_conn *c = ts->ehash[h & ts->ehash_mask]; c;
	     c = c->hnext) {
		if (c->hash == h && c->lport == lp && c->rport == rp &&
		    inaddr_eq(&c->laddr, la) && inaddr_eq(&c->raddr, ra))
			return c;
	}
	return NULL;
}

/* ---- listeners and bound ports -------------------------------------- */

static inline uint32_t port_bucket(uint16_t port, uint32_t size)
{
	return ((uint32_t)port * 0x9E3779B1u) >> 16 & (size - 1);
}

void tcp_lhash_insert(struct us_stack *st, struct tcp_conn *c)
{
	if (c->htab)
		return;
	chain_insert(&tcp_of(st)->lhash[port_bucket(c->lport, TCP_LHASH_SIZE)],
		     c);
	c->htab = TCP_HT_LHASH;
}

void tcp_lhash_remove(struct us_stack *st, struct tcp_conn *c)
{
	if (c->htab != TCP_HT_LHASH)
		return;
	chain_remove(c);
	c->htab = TCP_HT_NONE;
}

/* An exact local address beats the wildcard. */
struct tcp_conn *tcp_lookup_listener(struct us_stack *st,
				     const struct inaddr *la, uint16_t lp)
{
	struct tcp_conn *any = NULL;

	for (struct tcp_conn *c =
		     tcp_of(st)->lhash[port_bucket(lp, TCP_LHASH_SIZE)];
	     c; c = c->hnext) {
		if (c->lport != lp)
			continue;
		if (inaddr_eq(&c->laddr, la))
			return c;
		if (inaddr_is_any(&c->laddr))
			any = c;
	}
	return any;
}

void tcp_bhash_insert(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_conn **h =
		&tcp_of(st)->bhash[port_bucket(c->lport, TCP_BHASH_SIZE)];
	if (c->bpprev)
		return;
	c->bnext = *h;
	if (*h)
		(*h)->bpprev = &c->bnext;
	*h = c;
	c->bpprev = h;
}

void tcp_bhash_remove(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->bpprev)
		return;
	*c->bpprev = c->bnext;
	if (c->bnext)
		c->bnext->bpprev = c->bpprev;
	c->bnext = NULL;
	c->bpprev = NULL;
}

static bool addr_overlap(const struct inaddr *a, const struct inaddr *b)
{
	return inaddr_is_any(a) || inaddr_is_any(b) || inaddr_eq(a, b);
}

/* Linux's rule: a port is shared when both blocks asked for
 * SO_REUSEADDR and the other is not listening; a block in TIME_WAIT
 * yields to SO_REUSEADDR. */
bool tcp_port_conflict(struct us_stack *st, const struct tcp_conn *c,
		       const struct inaddr *la, uint16_t lp, bool reuse)
{
	for (struct tcp_conn *q =
		     tcp_of(st)->bhash[port_bucket(lp, TCP_BHASH_SIZE)];
	     q; q = q->bnext) {
		if (q == c || q->lport != lp || !addr_overlap(&q->laddr, la))
			continue;
		if (reuse && q->state == TCP_TIME_WAIT)
			continue;
		if (reuse && q->reuseaddr && q->state != TCP_LISTEN &&
		    c->state != TCP_LISTEN)
			continue;
		return true;
	}
	return false;
}

static void port_range(struct us_stack *st, uint32_t *lo, uint32_t *n)
{
	uint32_t l = st->cfg.port_lo ? st->cfg.port_lo : 32768;
	uint32_t h = st->cfg.port_hi ? st->cfg.port_hi : 60999;
	if (h < l)
		h = l;
	*lo = l;
	*n = h - l + 1;
}

int tcp_pick_bind_port(struct us_stack *st, struct tcp_conn *c,
		       const struct inaddr *la)
{
	uint32_t lo, n;
	port_range(st, &lo, &n);
	uint32_t off = (uint32_t)(stack_rand(st) % n);

	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (off + i) % n);
		if (!tcp_port_conflict(st, c, la, port, false))
			return port;
	}
	return -EADDRINUSE;
}

/* Is port usable for c's connection to raddr:rport? 1: free; 2: only a
 * block in TIME_WAIT holds the 4-tuple; 0: no. A port some socket bound
 * explicitly (or listens on) is not taken for an automatic connect. */
static int port_usable(struct us_stack *st, struct tcp_conn *c, uint16_t port,
		       struct tcp_conn **tw)
{
	for (struct tcp_conn *q =
		     tcp_of(st)->bhash[port_bucket(port, TCP_BHASH_SIZE)];
	     q; q = q->bnext) {
		if (q->lport != port || !addr_overlap(&q->laddr, &c->laddr))
			continue;
		if (q->state == TCP_CLOSED || q->state == TCP_LISTEN)
			return 0;
	}
	struct tcp_conn *e =
		tcp_lookup(st, &c->laddr, port, &c->raddr, c->rport);
	if (!e)
		return 1;
	if (e->state == TCP_TIME_WAIT && !e->user) {
		*tw = e;
		return 2;
	}
	return 0;
}

/* RFC 6056 3.3.3 (Algorithm 3): the search starts at a keyed hash of the
 * destination plus a per-stack counter, so consecutive connections to one
 * server take consecutive ports (no collisions, no early reuse of a
 * 4-tuple) while ports stay hard to guess. If every port's 4-tuple is in
 * use, the oldest-free choice is a TIME_WAIT block of our own: like
 * Linux's tcp_tw_reuse, it is ended and the port reused, which is safe
 * because our new ISN is beyond the old connection's sequence space
 * (RFC 6528's clock) and the peer has left LAST_ACK once it saw our
 * final ACK. */
int tcp_pick_connect_port(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_stack *ts = tcp_of(st);
	uint32_t lo, n;
	port_range(st, &lo, &n);
	uint32_t off = (uint32_t)tuple_hash(st, KEY_PORT, &c->laddr, 0,
					    &c->raddr, c->rport);
	struct tcp_conn *tw_victim = NULL;
	int tw_port = -1;

	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (off + ts->port_seq + i) % n);
		struct tcp_conn *tw = NULL;
		int u = port_usable(st, c, port, &tw);
		if (u == 1) {
			ts->port_seq += i + 1;
			return port;
		}
		if (u == 2 && !tw_victim) {
			tw_victim = tw;
			tw_port = port;
		}
	}
	if (!tw_victim)
		return -EADDRNOTAVAIL;
	STAT_INC(st, tcp_timewait_reuse);
	tcp_conn_destroy(st, tw_victim);
	return tw_port;
}

/* ---- the module ------------------------------------------------------ */

static uint32_t dflt(uint32_t v, uint32_t d)
{
	return v ? v : d;
}

int tcp_table_init(struct us_stack *st)
{
	const struct us_config *cfg = &st->cfg;
	struct tcp_stack *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return -ENOMEM;
	ts->ehash = calloc(EHASH_INITIAL, sizeof(*ts->ehash));
	ts->lhash = calloc(TCP_LHASH_SIZE, sizeof(*ts->lhash));
	ts->bhash = calloc(TCP_BHASH_SIZE, sizeof(*ts->bhash));
	if (!ts->ehash || !ts->lhash || !ts->bhash) {
		free(ts->ehash);
		free(ts->lhash);
		free(ts->bhash);
		free(ts);
		return -ENOMEM;
	}
	ts->ehash_mask = EHASH_INITIAL - 1;
	ts->msl_ns = (uint64_t)dflt(cfg->tcp_msl_ms, 30000) * US_NS_PER_MS;
	ts->fin_timeout_ns =
		(uint64_t)dflt(cfg->tcp_fin_timeout_ms, 60000) * US_NS_PER_MS;
	ts->rto_min_ms = dflt(cfg->tcp_rto_min_ms, 200);
	ts->rto_max_ms = dflt(cfg->tcp_rto_max_ms, 120000);
	ts->rto_init_ms = dflt(cfg->tcp_rto_init_ms, 1000);
	/* RFC 9293 3.8.6.3 (MUST-40): a delayed ACK waits less than 0.5 s;
	 * RFC 5681 4.2 asks for at most 200 ms. */
	ts->delack_ms = US_MIN(dflt(cfg->tcp_delack_ms, 40), 200u);
	ts->syn_retries = dflt(cfg->tcp_syn_retries, 6);
	ts->synack_retries = dflt(cfg->tcp_synack_retries, 5);
	ts->retries = dflt(cfg->tcp_retries, 15);
	ts->max_syn_backlog = dflt(cfg->tcp_max_syn_backlog, 256);
	ts->rcvbuf = dflt(cfg->tcp_rcvbuf, 1u << 20);
	ts->sndbuf = dflt(cfg->tcp_sndbuf, 1u << 20);
	if (ts->rto_min_ms > ts->rto_max_ms)
		ts->rto_min_ms = ts->rto_max_ms;
	st->tcp = ts;
	return 0;
}

void tcp_table_fini(struct us_stack *st)
{
	struct tcp_stack *ts = tcp_of(st);

	if (!ts)
		return;
	/* Listeners first, so their children are freed with them. */
	for (struct tcp_conn *c = ts->all; c;) {
		struct tcp_conn *next = c->anext;
		if (c->state == TCP_LISTEN) {
			tcp_conn_destroy(st, c);
			next = ts->all;
		}
		c = next;
	}
	while (ts->all)
		tcp_conn_destroy(st, ts->all);
	free(ts->ehash);
	free(ts->lhash);
	free(ts->bhash);
	free(ts);
	st->tcp = NULL;
}

int tcp_init(struct us_stack *st)
{
	int rc = tcp_table_init(st);
	if (rc < 0)
		return rc;
	rc = ip4_register(st, TCP_PROTO, tcp_input, tcp_err);
	if (rc < 0)
		tcp_table_fini(st);
	return rc;
}

void tcp_fini(struct us_stack *st)
{
	if (!st->tcp)
		return;
	if (st->ip4)
		ip4_register(st, TCP_PROTO, NULL, NULL);
	tcp_table_fini(st);
}
