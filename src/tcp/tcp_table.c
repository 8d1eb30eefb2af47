/* TCP tables: connections by 4-tuple, listeners by port, bound blocks by
 * port; the life of a block; module init and fini. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip4.h"
#include "tcp/tcp_conn.h"

#define EHASH_INITIAL 1024u
#define EHASH_MAX (1u << 22)

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
	c->cc = ts->cc_default;
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

void tcp_lhash_insert(struct us_stack *st, struct tcp_conn *c)
{
	if (c->htab)
		return;
	chain_insert(
	    &tcp_of(st)->lhash[tcp_port_bucket(c->lport, TCP_LHASH_SIZE)], c);
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
		 tcp_of(st)->lhash[tcp_port_bucket(lp, TCP_LHASH_SIZE)];
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
	    &tcp_of(st)->bhash[tcp_port_bucket(c->lport, TCP_BHASH_SIZE)];
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
	ts->no_sack = cfg->tcp_no_sack != 0;
	pmtu_init(&ts->pmtu,
		  (uint64_t)dflt(cfg->pmtu_timeout_ms, 600000) * US_NS_PER_MS);
	/* CUBIC by default, as Linux (RFC 9438). It wants SACK beside it:
	 * its gentler reduction (0.7) refills a drop-tail queue quickly, and
	 * NewReno recovery alone turns the burst losses that follow into
	 * timeouts. */
	ts->cc_default = &tcp_cubic;
	if (cfg->tcp_congestion) {
		ts->cc_default = tcp_cc_find(cfg->tcp_congestion,
					     strlen(cfg->tcp_congestion));
		if (!ts->cc_default) {
			free(ts->ehash);
			free(ts->lhash);
			free(ts->bhash);
			free(ts);
			return -EINVAL;
		}
	}
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
