/* ARP (RFC 826) for Ethernet/IPv4: the cache, resolution with a bounded
 * queue of waiting packets, retries, negative caching, aging with unicast
 * re-validation (RFC 1122 2.3.2.1), and answers for our address.
 *
 * Each entry owns one timer, armed for the next thing that happens to it:
 * PENDING: the next retry or the failure; FAILED: the end of the hold;
 * RESOLVED: the end of its lifetime, then the re-validation probes.
 *
 * The entries are made once, at init (ARP_MAX_ENTRIES of them): a frame
 * from a new neighbour never costs a heap allocation. Entries that may be
 * evicted (all but PENDING ones, which have packets waiting) sit on an
 * LRU list in order of last use or confirmation, so a full cache makes
 * room in O(1) by dropping the one idle the longest. */
#include "net/arp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/eth.h"
#include "wire/arp.h"
#include "wire/eth.h"
#include "wire/ip4.h"

#define ARP_HASH_BITS 8
#define ARP_HASH_SIZE (1u << ARP_HASH_BITS)

struct arp_entry {
	struct arp_entry *hnext; /* hash chain, or the free list */
	struct arp_entry *lru_prev, *lru_next; /* if on_lru */
	uint32_t ip;			       /* network order */
	uint8_t mac[6];
	uint8_t state;	     /* enum arp_entry_state */
	uint8_t probing;     /* RESOLVED but past its lifetime */
	uint8_t on_lru;	     /* evictable: RESOLVED or FAILED */
	uint32_t tries;	     /* requests sent in this resolution/probe */
	uint64_t confirmed;  /* last time the mapping was heard */
	uint64_t used;	     /* last time a packet went through it */
	struct pbuf_queue q; /* packets waiting for the answer */
	struct us_timer timer;
};

struct arp_state {
	struct arp_entry *hash[ARP_HASH_SIZE];
	struct arp_entry *entries;    /* ARP_MAX_ENTRIES, made at init */
	struct arp_entry *free;	      /* unused entries, linked by hnext */
	struct arp_entry *lru_oldest; /* evictable entries, least recent */
	struct arp_entry *lru_newest; /* ... to most recent */
	uint32_t count;		      /* entries */
	uint32_t queued;	      /* packets waiting, all entries */
	uint32_t key; /* hash key, so chains cannot be aimed at */
	uint32_t retries;
	uint64_t timeout_ns, retry_ns;
	uint64_t conflict_warned; /* when we last said so (0: never) */
};

/* One warning a second at most about a conflict: each ARP packet is
 * counted, but a host (or an attacker) repeating them at line rate must
 * not flood stderr or block the stack on a full pipe. */
#define ARP_CONFLICT_WARN_NS US_NS_PER_S

static const uint8_t eth_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void arp_timer_fn(struct us_stack *st, struct us_timer *t);

static uint32_t arp_hash(const struct arp_state *as, uint32_t ip)
{
	return ((ip ^ as->key) * 0x9e3779b1u) >> (32 - ARP_HASH_BITS);
}

static struct arp_entry *arp_find(struct arp_state *as, uint32_t ip)
{
	struct arp_entry *e = as->hash[arp_hash(as, ip)];
	while (e && e->ip != ip)
		e = e->hnext;
	return e;
}

/* Drop the entry's waiting packets; each is a drop when count is set. */
static void arp_purge(struct us_stack *st, struct arp_entry *e, int count)
{
	struct arp_state *as = st->arp;
	if (count)
		STAT_ADD(st, arp_drop_unresolved, e->q.count);
	as->queued -= e->q.count;
	pbufq_purge(&e->q);
}

static void lru_remove(struct arp_state *as, struct arp_entry *e)
{
	if (!e->on_lru)
		return;
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		as->lru_oldest = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		as->lru_newest = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
	e->on_lru = 0;
}

/* e was just used or confirmed: it is now the most recent. */
static void lru_touch(struct arp_state *as, struct arp_entry *e)
{
	lru_remove(as, e);
	e->lru_prev = as->lru_newest;
	e->lru_next = NULL;
	if (as->lru_newest)
		as->lru_newest->lru_next = e;
	else
		as->lru_oldest = e;
	as->lru_newest = e;
	e->on_lru = 1;
}

static void arp_destroy(struct us_stack *st, struct arp_entry *e)
{
	struct arp_state *as = st->arp;
	struct arp_entry **pp = &as->hash[arp_hash(as, e->ip)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_remove(as, e);
	timer_cancel(&st->wheel, &e->timer);
	arp_purge(st, e, 1);
	as->count--;
	e->hnext = as->free;
	as->free = e;
}

/* A free entry for ip, in no state yet (the caller sets one); NULL when
 * every entry is PENDING. A full cache gives up the entry idle the
 * longest; entries being resolved are kept: packets wait on them. */
static struct arp_entry *arp_create(struct us_stack *st, uint32_t ip)
{
	struct arp_state *as = st->arp;
	struct arp_entry *e;

	if (!as->free) {
		if (!as->lru_oldest)
			return NULL;
		us_dbg(st, "arp: cache full, evicting an idle entry");
		arp_destroy(st, as->lru_oldest);
	}
	e = as->free;
	as->free = e->hnext;
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	pbufq_init(&e->q);
	timer_init(&e->timer, arp_timer_fn);
	uint32_t h = arp_hash(as, ip);
	e->hnext = as->hash[h];
	as->hash[h] = e;
	as->count++;
	return e;
}

/* Build and send one ARP packet; eth_dst is where the frame goes. */
static int arp_send(struct us_stack *st, uint16_t op, const uint8_t *eth_dst,
		    const uint8_t *tha, uint32_t tpa)
{
	struct arp_pkt a;
	struct us_pbuf *p = stack_alloc(st, ARP_PKT_LEN);

	if (!p)
		return -ENOBUFS;
	arp_pkt_set(&a, op, st->mac, st->ip, tha, tpa);
	arp_emit(p->data, &a);
	p->len = ARP_PKT_LEN;
	eth_output(st, p, eth_dst, ETH_P_ARPT);
	return 0;
}

/* A request for e: broadcast while resolving; unicast to the known MAC
 * while re-validating (RFC 1122 2.3.2.1, "unicast poll"). */
static void arp_request(struct us_stack *st, struct arp_entry *e)
{
	const uint8_t *dst = e->probing ? e->mac : eth_bcast;
	e->tries++;
	if (arp_send(st, ARP_OP_REQUEST, dst, NULL, e->ip) == 0)
		STAT_INC(st, arp_tx_request);
}

/* The mapping for e is now known (or confirmed): use it and release the
 * packets that waited for it, in order. */
static void arp_confirm(struct us_stack *st, struct arp_entry *e,
			const uint8_t mac[6])
{
	struct arp_state *as = st->arp;
	struct us_pbuf *p;

	memcpy(e->mac, mac, 6);
	e->state = ARP_RESOLVED;
	e->probing = 0;
	e->tries = 0;
	e->confirmed = st->now;
	lru_touch(as, e);
	timer_arm(&st->wheel, &e->timer, st->now + as->timeout_ns);
	if (e->q.count)
		e->used = st->now;
	while ((p = pbufq_pop(&e->q))) {
		as->queued--;
		eth_output(st, p, e->mac, ETH_P_IPV4);
	}
}

static void arp_timer_fn(struct us_stack *st, struct us_timer *t)
{
	struct arp_entry *e = container_of(t, struct arp_entry, timer);
	struct arp_state *as = st->arp;

	switch (e->state) {
	case ARP_PENDING:
		if (e->tries < as->retries) {
			arp_request(st, e);
			timer_arm(&st->wheel, &e->timer,
				  st->now + as->retry_ns);
			return;
		}
		us_dbg(st, "arp: no answer after %u requests", e->tries);
		STAT_INC(st, arp_resolve_fail);
		arp_purge(st, e, 1);
		e->state = ARP_FAILED;
		lru_touch(as, e); /* nothing waits on it now */
		timer_arm(&st->wheel, &e->timer,
			  st->now + ARP_FAILED_HOLD_MS * US_NS_PER_MS);
		return;
	case ARP_RESOLVED:
		/* Lifetime over. An entry nobody used since it was last
		 * confirmed simply goes; one in use stays usable while
		 * unicast probes ask the neighbour to confirm it. */
		if (!e->probing && e->used <= e->confirmed)
			break;
		if (!e->probing) {
			e->probing = 1;
			e->tries = 0;
		}
		if (e->tries < as->retries) {
			arp_request(st, e);
			timer_arm(&st->wheel, &e->timer,
				  st->now + as->retry_ns);
			return;
		}
		us_dbg(st, "arp: entry expired, neighbour did not confirm");
		break;
	default: /* FAILED: the hold is over, the next send tries anew */
		break;
	}
	arp_destroy(st, e);
}

static void arp_frame_to(struct us_stack *st, uint32_t nexthop, uint8_t mac[6])
{
	if (ip4_addr_is_mcast(nexthop))
		eth_addr_from_ip4_mcast(mac, nexthop);
	else
		memcpy(mac, eth_bcast, 6);
}

int arp_output(struct us_stack *st, uint32_t nexthop, struct us_pbuf *p)
{
	struct arp_state *as = st->arp;
	struct arp_entry *e;
	uint8_t mac[6];

	/* Group destinations need no resolution (RFC 1112 6.4, RFC 1122
	 * 3.3.6: IP broadcasts go as link-layer broadcasts). */
	if (ip4_addr_is_bcast(nexthop) || ip4_addr_is_mcast(nexthop) ||
	    nexthop == ip4_subnet_bcast(st->ip, st->netmask)) {
		arp_frame_to(st, nexthop, mac);
		eth_output(st, p, mac, ETH_P_IPV4);
		return 0;
	}
	e = arp_find(as, nexthop);
	if (e && e->state == ARP_RESOLVED) {
		e->used = st->now;
		lru_touch(as, e);
		eth_output(st, p, e->mac, ETH_P_IPV4);
		return 0;
	}
	if (e && e->state == ARP_FAILED) {
		STAT_INC(st, arp_drop_unresolved);
		pbuf_free(p);
		return -EHOSTUNREACH;
	}
	if (!e) {
		e = arp_create(st, nexthop);
		if (!e) {
			STAT_INC(st, arp_drop_queue_full);
			pbuf_free(p);
			return -ENOBUFS;
		}
		e->state = ARP_PENDING;
		arp_request(st, e);
		timer_arm(&st->wheel, &e->timer, st->now + as->retry_ns);
	}
	e->used = st->now;
	if (e->q.count >= ARP_QUEUE_PER_ENTRY ||
	    as->queued >= ARP_QUEUE_TOTAL) {
		STAT_INC(st, arp_drop_queue_full);
		pbuf_free(p);
		return -ENOBUFS;
	}
	pbufq_push(&e->q, p);
	as->queued++;
	return 0;
}

uint32_t arp_queued(const struct us_stack *st)
{
	return st->arp ? st->arp->queued : 0;
}

enum arp_entry_state arp_lookup(struct us_stack *st, uint32_t ip,
				uint8_t mac[6])
{
	struct arp_entry *e = arp_find(st->arp, ip);
	if (!e)
		return ARP_NONE;
	if (e->state == ARP_RESOLVED && mac)
		memcpy(mac, e->mac, 6);
	return (enum arp_entry_state)e->state;
}

void arp_announce(struct us_stack *st)
{
	if (!st->ip)
		return;
	/* RFC 5227 3: an announcement is a request with sender and target
	 * both our address; it refreshes neighbours' caches (RFC 826 merge). */
	if (arp_send(st, ARP_OP_REQUEST, eth_bcast, NULL, st->ip) == 0)
		STAT_INC(st, arp_tx_garp);
}

/* A sender that cannot be a neighbour's unicast mapping. */
static int arp_martian(const struct us_stack *st, const struct arp_pkt *a)
{
	if (eth_addr_is_group(a->sha) || eth_addr_is_zero(a->sha))
		return 1;
	if (ip4_addr_is_bcast(a->spa) || ip4_addr_is_mcast(a->spa) ||
	    ip4_addr_is_loopback(a->spa))
		return 1;
	return a->spa && a->spa == ip4_subnet_bcast(st->ip, st->netmask);
}

static void arp_input(struct us_stack *st, struct us_pbuf *p)
{
	struct arp_pkt a;
	struct arp_entry *e;
	int merged = 0, rc;

	STAT_INC(st, arp_rx);
	rc = arp_parse(p->data, p->len, &a);
	if (rc == -EPROTONOSUPPORT ||
	    (rc == 0 && a.op != ARP_OP_REQUEST && a.op != ARP_OP_REPLY)) {
		STAT_INC(st, arp_drop_unsupported);
		goto out;
	}
	if (rc < 0) {
		STAT_INC(st, arp_drop_malformed);
		goto out;
	}
	if (arp_martian(st, &a)) {
		STAT_INC(st, arp_drop_martian);
		goto out;
	}
	if (st->ip && a.spa == st->ip) {
		/* RFC 5227 2.4: someone else uses our address; never cache
		 * it or answer it. */
		struct arp_state *as = st->arp;
		STAT_INC(st, arp_drop_conflict);
		if (!as->conflict_warned ||
		    st->now - as->conflict_warned >= ARP_CONFLICT_WARN_NS) {
			as->conflict_warned = st->now ? st->now : 1;
			us_warn(st,
				"arp: another host claims our address (%llu "
				"ARP packets so far)",
				(unsigned long long)
				    st->stats[US_STAT_arp_drop_conflict]);
		}
		goto out;
	}
	/* RFC 826 "Packet Reception": update an existing entry for the
	 * sender whatever the target; add one only if we are the target.
	 * A zero sender address (an RFC 5227 probe) teaches nothing. */
	e = a.spa ? arp_find(st->arp, a.spa) : NULL;
	if (e) {
		arp_confirm(st, e, a.sha);
		merged = 1;
	}
	if (!st->ip || a.tpa != st->ip) {
		if (!merged)
			STAT_INC(st, arp_drop_not_ours);
		goto out;
	}
	if (!merged && a.spa) {
		e = arp_create(st, a.spa);
		if (e)
			arp_confirm(st, e, a.sha);
		else /* every entry has packets waiting; still answered */
			STAT_INC(st, arp_drop_cache_full);
	}
	if (a.op == ARP_OP_REQUEST &&
	    arp_send(st, ARP_OP_REPLY, a.sha, a.sha, a.spa) == 0)
		STAT_INC(st, arp_tx_reply);
out:
	pbuf_free(p);
}

int arp_init(struct us_stack *st)
{
	struct arp_state *as = calloc(1, sizeof(*as));

	if (!as)
		return -ENOMEM;
	as->entries = calloc(ARP_MAX_ENTRIES, sizeof(*as->entries));
	if (!as->entries) {
		free(as);
		return -ENOMEM;
	}
	for (uint32_t i = ARP_MAX_ENTRIES; i-- > 0;) {
		as->entries[i].hnext = as->free;
		as->free = &as->entries[i];
	}
	as->key = (uint32_t)stack_rand(st);
	as->retries = st->cfg.arp_retries ? st->cfg.arp_retries : 3;
	as->retry_ns =
	    (st->cfg.arp_retry_ms ? st->cfg.arp_retry_ms : 1000) * US_NS_PER_MS;
	as->timeout_ns =
	    (st->cfg.arp_timeout_ms ? st->cfg.arp_timeout_ms : 60000) *
	    US_NS_PER_MS;
	st->arp = as;
	int rc = eth_register(st, ETH_P_ARPT, arp_input);
	if (rc < 0) {
		free(as->entries);
		free(as);
		st->arp = NULL;
	}
	return rc;
}

void arp_fini(struct us_stack *st)
{
	struct arp_state *as = st->arp;

	if (!as)
		return;
	eth_register(st, ETH_P_ARPT, NULL);
	for (uint32_t i = 0; i < ARP_HASH_SIZE; i++) {
		struct arp_entry *e;
		while ((e = as->hash[i])) {
			as->hash[i] = e->hnext;
			timer_cancel(&st->wheel, &e->timer);
			pbufq_purge(&e->q);
		}
	}
	free(as->entries);
	free(as);
	st->arp = NULL;
}
