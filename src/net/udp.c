/* UDP (RFC 768, RFC 1122 4.1): the port table, input, output, errors. */
#include "net/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/icmp.h"
#include "net/ip4.h"
#include "wire/udp.h"

#define UDP_HASH_BITS 10
#define UDP_HASH_SIZE (1u << UDP_HASH_BITS)

/* The port table: one chain per hash of the local port. A chain holds
 * every pcb bound to ports of that hash, whatever their local address, so
 * both the demux (exact address, then wildcard) and the bind conflict
 * check look at one chain. */
struct udp_state {
	struct udp_pcb *hash[UDP_HASH_SIZE];
	uint32_t nbound;
};

static inline uint32_t port_hash(uint16_t port)
{
	return ((uint32_t)port * 0x9E3779B1u) >> (32 - UDP_HASH_BITS);
}

int udp_init(struct us_stack *st)
{
	st->udp = calloc(1, sizeof(*st->udp));
	if (!st->udp)
		return -ENOMEM;
	return ip4_register(st, UDP_PROTO, udp_input, udp_err);
}

void udp_fini(struct us_stack *st)
{
	if (!st->udp)
		return;
	/* Sockets are closed first (sock_fini); anything left belongs to an
	 * owner that forgot it: unlink it and free its buffers anyway. */
	for (uint32_t i = 0; i < UDP_HASH_SIZE; i++)
		while (st->udp->hash[i])
			udp_pcb_release(st, st->udp->hash[i]);
	free(st->udp);
	st->udp = NULL;
}

void udp_pcb_init(struct udp_pcb *pcb)
{
	memset(pcb, 0, sizeof(*pcb));
	pcb->laddr = inaddr_from_v4(0);
	pcb->raddr = inaddr_from_v4(0);
	pcb->rcvbuf = UDP_RCVBUF_DEFAULT;
	pbufq_init(&pcb->rcvq);
}

void udp_pcb_release(struct us_stack *st, struct udp_pcb *pcb)
{
	udp_unbind(st, pcb);
	pbufq_purge(&pcb->rcvq);
}

static bool addr_overlap(const struct inaddr *a, const struct inaddr *b)
{
	return inaddr_is_any(a) || inaddr_is_any(b) || inaddr_eq(a, b);
}

bool udp_port_in_use(struct us_stack *st, const struct inaddr *laddr,
		     uint16_t lport, bool reuse, const struct udp_pcb *self)
{
	for (struct udp_pcb *q = st->udp->hash[port_hash(lport)]; q;
	     q = q->hnext) {
		if (q == self || q->lport != lport)
			continue;
		if (!addr_overlap(&q->laddr, laddr))
			continue;
		/* Two sockets may share an address and port when both asked
		 * for it with SO_REUSEADDR (the Linux rule for UDP). */
		if (reuse && q->reuseaddr)
			continue;
		return true;
	}
	return false;
}

static void hash_insert(struct us_stack *st, struct udp_pcb *pcb)
{
	/* At the head: among equals, the socket bound last wins the demux. */
	struct udp_pcb **head = &st->udp->hash[port_hash(pcb->lport)];
	pcb->hnext = *head;
	if (*head)
		(*head)->hpprev = &pcb->hnext;
	*head = pcb;
	pcb->hpprev = head;
	st->udp->nbound++;
}

void udp_unbind(struct us_stack *st, struct udp_pcb *pcb)
{
	if (!pcb->hpprev)
		return;
	*pcb->hpprev = pcb->hnext;
	if (pcb->hnext)
		pcb->hnext->hpprev = pcb->hpprev;
	pcb->hnext = NULL;
	pcb->hpprev = NULL;
	pcb->lport = 0;
	st->udp->nbound--;
}

/* An ephemeral port: a random start in the range, then the next free one,
 * so ports are hard to guess (RFC 6056 3.3.1) and a busy range is still
 * searched in full. */
static int pick_port(struct us_stack *st, const struct inaddr *laddr,
		     const struct udp_pcb *self)
{
	uint32_t lo = st->cfg.port_lo ? st->cfg.port_lo : 32768;
	uint32_t hi = st->cfg.port_hi ? st->cfg.port_hi : 60999;
	if (hi < lo)
		hi = lo;
	uint32_t n = hi - lo + 1;
	uint32_t off = (uint32_t)(stack_rand(st) % n);

	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (off + i) % n);
		/* An automatic port is never shared, reuse or not. */
		if (!udp_port_in_use(st, laddr, port, false, self))
			return port;
	}
	return -EADDRINUSE;
}

int udp_bind(struct us_stack *st, struct udp_pcb *pcb,
	     const struct inaddr *laddr, uint16_t lport)
{
	if (pcb->lport)
		return -EINVAL;
	if (!inaddr_is_v4(laddr))
		return -EAFNOSUPPORT;
	if (!inaddr_is_any(laddr) && !ip4_is_local(st, inaddr_v4(laddr)))
		return -EADDRNOTAVAIL;
	if (lport == 0) {
		int port = pick_port(st, laddr, pcb);
		if (port < 0)
			return port;
		lport = (uint16_t)port;
	} else if (udp_port_in_use(st, laddr, lport, pcb->reuseaddr, pcb)) {
		return -EADDRINUSE;
	}
	pcb->laddr = *laddr;
	pcb->lport = lport;
	hash_insert(st, pcb);
	return 0;
}

/* How well pcb matches a datagram: -1 not at all; higher is better. A
 * connected pcb takes only its peer's datagrams and beats a listener on
 * the same port; an exact local address beats the wildcard. */
static int match_score(const struct udp_pcb *pcb, uint16_t dport,
		       const struct inaddr *dst, const struct inaddr *src,
		       uint16_t sport)
{
	int score = 0;

	if (pcb->lport != dport)
		return -1;
	if (!inaddr_is_any(&pcb->laddr)) {
		if (!inaddr_eq(&pcb->laddr, dst))
			return -1;
		score += 1;
	}
	if (pcb->connected) {
		if (pcb->rport != sport || !inaddr_eq(&pcb->raddr, src))
			return -1;
		score += 2;
	}
	return score;
}

struct udp_pcb *udp_lookup(struct us_stack *st, uint32_t dst, uint16_t dport,
			   uint32_t src, uint16_t sport)
{
	struct inaddr d = inaddr_from_v4(dst), s = inaddr_from_v4(src);
	struct udp_pcb *best = NULL;
	int best_score = -1;

	for (struct udp_pcb *q = st->udp->hash[port_hash(dport)]; q;
	     q = q->hnext) {
		int sc = match_score(q, dport, &d, &s, sport);
		if (sc > best_score) {
			best = q;
			best_score = sc;
			if (sc == 3)
				break;
		}
	}
	return best;
}

static bool csum_ok(const struct us_pbuf *p, const uint8_t *udp, uint32_t len)
{
	uint16_t stored;
	memcpy(&stored, udp + 6, 2);
	/* RFC 768: an all-zero checksum means the sender computed none,
	 * which IPv4 allows (RFC 1122 4.1.3.4). */
	if (stored == 0)
		return true;
	/* Verified by the device, or left partial by a local sender (the
	 * data never crossed a wire). */
	if (p->csum == PBUF_CSUM_VERIFIED || p->csum == PBUF_CSUM_PARTIAL)
		return true;
	return udp_csum4(p->ip_src, p->ip_dst, udp, len) == 0;
}

void udp_input(struct us_stack *st, struct us_pbuf *p)
{
	struct udp_hdr h;
	struct udp_pcb *pcb;

	STAT_INC(st, udp_rx);
	if (udp_parse(p->data, p->len, &h) < 0) {
		STAT_INC(st, udp_drop_short);
		goto drop;
	}
	/* RFC 768: the length covers header and data. Fewer bytes than it
	 * claims is a broken datagram; more is IP-level padding. */
	if (h.len < UDP_HLEN || h.len > p->len) {
		STAT_INC(st, udp_drop_len);
		goto drop;
	}
	p->len = h.len;
	if (!csum_ok(p, p->data, h.len)) {
		STAT_INC(st, udp_drop_csum);
		goto drop;
	}

	pcb = udp_lookup(st, p->ip_dst, h.dport, p->ip_src, h.sport);
	if (!pcb) {
		STAT_INC(st, udp_drop_no_port);
		/* RFC 1122 4.1.3.1: port unreachable. icmp_send_error itself
		 * stays quiet for broadcasts and rate-limits. */
		icmp_send_error(st, p, ICMP_UNREACH_T, ICMP_UNREACH_PORT_C, 0);
		goto drop;
	}
	/* Accept one datagram into an empty queue whatever its size, so a
	 * small SO_RCVBUF still receives; beyond that, bound by truesize. */
	if (pcb->rcvq.count &&
	    pcb->rcvq.bytes + pbuf_truesize(p) > pcb->rcvbuf) {
		STAT_INC(st, udp_drop_rcvbuf);
		goto drop;
	}
	pbuf_pull(p, UDP_HLEN);
	p->user = h.sport;
	pbufq_push(&pcb->rcvq, p);
	if (pcb->notify)
		pcb->notify(st, pcb, UDP_EV_RX);
	return;
drop:
	pbuf_free(p);
}

int udp_output(struct us_stack *st, const struct udp_pcb *pcb,
	       const struct udp_tx *tx, const void *buf, uint32_t len)
{
	struct us_pbuf *p;
	struct udp_hdr h;
	uint32_t src = tx->src ? tx->src : st->ip;
	int rc;

	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	/* One buffer for the whole datagram (the large class above a frame);
	 * ip4_output fragments it. */
	p = stack_alloc(st, len + UDP_HLEN);
	if (!p)
		return -ENOBUFS;
	p->len = len + UDP_HLEN;
	if (len)
		memcpy(p->data + UDP_HLEN, buf, len);
	h.sport = pcb->lport;
	h.dport = tx->dport;
	h.len = (uint16_t)(len + UDP_HLEN);
	h.csum = 0;
	udp_emit(p->data, &h);
	udp_fill_csum4(src, tx->dst, p->data, p->len);

	struct ip4_tx itx = {
		.src = src,
		.dst = tx->dst,
		.proto = UDP_PROTO,
		.ttl = tx->ttl,
		.tos = tx->tos,
	};
	rc = ip4_output(st, p, &itx);
	if (rc == 0)
		STAT_INC(st, udp_tx);
	return rc;
}

/* Linux's mapping of ICMP destination-unreachable codes to errno values
 * (RFC 1122 4.2.3.9 asks for the same hard/soft split for TCP). Only hard
 * errors reach a UDP socket. */
static int unreach_errno(int code, bool *hard)
{
	static const struct {
		int err;
		bool hard;
	} map[] = {
		{ENETUNREACH, false},  /* 0 net unreachable */
		{EHOSTUNREACH, false}, /* 1 host unreachable */
		{ENOPROTOOPT, true},   /* 2 protocol unreachable */
		{ECONNREFUSED, true},  /* 3 port unreachable */
		{EMSGSIZE, false},     /* 4 fragmentation needed */
		{EOPNOTSUPP, false},   /* 5 source route failed */
		{ENETUNREACH, true},   /* 6 net unknown */
		{EHOSTDOWN, true},     /* 7 host unknown */
		{ENONET, true},        /* 8 host isolated */
		{ENETUNREACH, true},   /* 9 net prohibited */
		{EHOSTUNREACH, true},  /* 10 host prohibited */
		{ENETUNREACH, false},  /* 11 net unreachable for TOS */
		{EHOSTUNREACH, false}, /* 12 host unreachable for TOS */
		{EHOSTUNREACH, true},  /* 13 administratively prohibited */
		{EHOSTUNREACH, true},  /* 14 precedence violation */
		{EHOSTUNREACH, true},  /* 15 precedence cutoff */
	};
	if (code < 0 || (size_t)code >= US_ARRAY_SIZE(map)) {
		*hard = false;
		return EHOSTUNREACH;
	}
	*hard = map[code].hard;
	return map[code].err;
}

void udp_err(struct us_stack *st, int type, int code, uint32_t info,
	     const uint8_t *quote, uint32_t len)
{
	struct udp_pcb *pcb = NULL;
	bool hard = false;
	int err;

	(void)info;
	if (type == ICMP_UNREACH_T)
		err = unreach_errno(code, &hard);
	else
		return; /* time exceeded, source quench: soft, not reported */
	if (!hard)
		return;

	/* The quote: the IP header we sent and at least our UDP ports. */
	if (len < IP4_HLEN)
		return;
	uint32_t ihl = (quote[0] & 0x0fu) * 4u;
	if (ihl < IP4_HLEN || len < ihl + 4 || quote[9] != UDP_PROTO)
		return;
	if (rd16(quote + 6) & 0x1fff)
		return; /* not a first fragment: no ports in it */
	uint32_t qsrc = rdaddr(quote + 12), qdst = rdaddr(quote + 16);
	uint16_t sport = rd16(quote + ihl), dport = rd16(quote + ihl + 2);
	struct inaddr s = inaddr_from_v4(qsrc), d = inaddr_from_v4(qdst);

	/* Like Linux without IP_RECVERR: only a connected socket hears of
	 * it, since an unconnected one could not tell which send failed. */
	for (struct udp_pcb *q = st->udp->hash[port_hash(sport)]; q;
	     q = q->hnext) {
		if (q->lport != sport || !q->connected || q->rport != dport ||
		    !inaddr_eq(&q->raddr, &d))
			continue;
		if (!inaddr_is_any(&q->laddr) && !inaddr_eq(&q->laddr, &s))
			continue;
		pcb = q;
		break;
	}
	if (!pcb)
		return;
	pcb->err = err;
	if (pcb->notify)
		pcb->notify(st, pcb, UDP_EV_ERR);
}
