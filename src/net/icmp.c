/* ICMP (RFC 792, RFC 1122 3.2.2): echo replies, errors we send (token
 * bucket rate limit, RFC 1812 4.3.2.8) and errors we receive (handed to
 * the protocol of the quoted datagram). */
#include "net/icmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip4.h"
#include "wire/icmp.h"
#include "wire/ip4.h"

/* RFC 1812 4.3.2.3: an error quotes as much of the datagram as fits in
 * 576 bytes. */
#define ICMP_ERR_MAX_LEN 576u
#define ICMP_ERR_MAX_QUOTE (ICMP_ERR_MAX_LEN - IP4_MIN_HLEN - ICMP_HDR_LEN)

struct icmp_state {
	/* Token bucket in token-nanoseconds: a message costs US_NS_PER_S,
	 * time adds `rate` per nanosecond, up to one second's worth. */
	uint64_t credit, cap;
	uint64_t last;
	uint32_t rate;
};

static int icmp_take_token(struct us_stack *st)
{
	struct icmp_state *is = st->icmp;
	uint64_t dt = st->now > is->last ? st->now - is->last : 0;

	is->last = st->now;
	if (dt > US_NS_PER_S)
		dt = US_NS_PER_S; /* the bucket is full after a second */
	is->credit = US_MIN(is->cap, is->credit + dt * is->rate);
	if (is->credit < US_NS_PER_S)
		return 0;
	is->credit -= US_NS_PER_S;
	return 1;
}

/* RFC 792 Echo: the reply carries the request's data unchanged (RFC 1122
 * 3.2.2.6), built in the request's own buffer. IP options (record route,
 * timestamp) are not reflected, a SHOULD we leave out. */
static void icmp_echo(struct us_stack *st, struct us_pbuf *p)
{
	struct ip4_tx tx = {0};
	int rc;

	STAT_INC(st, icmp_echo_rx);
	/* RFC 1122 3.2.2.6: echo to a broadcast MAY be dropped; answering
	 * it would make us an amplifier. */
	if (!st->ip || p->ip_dst != st->ip) {
		STAT_INC(st, icmp_drop_bcast);
		pbuf_free(p);
		return;
	}
	tx.src = st->ip;
	tx.dst = p->ip_src;
	tx.proto = IP4_PROTO_ICMP;
	tx.tos = p->head[p->l3_off + 1];
	if (p->refcnt > 1) {
		/* Someone else (a capture) holds it: write into a copy. */
		struct us_pbuf *c = pbuf_clone(&st->pool, p);
		pbuf_free(p);
		if (!c) {
			STAT_INC(st, ip4_drop_nobuf);
			return;
		}
		p = c;
	}
	p->data[0] = ICMP_ECHOREPLY_T;
	p->data[1] = 0;
	icmp_set_csum(p->data, p->len);
	p->flags = 0;
	p->csum = PBUF_CSUM_NONE;
	p->gso_size = 0;
	p->next = NULL;
	rc = ip4_output(st, p, &tx);
	if (rc == 0)
		STAT_INC(st, icmp_echo_reply_tx);
}

/* RFC 1122 3.2.2: an error carries the offending IP header and at least 8
 * bytes of its payload; the transport matches its connection on those. */
static void icmp_error_input(struct us_stack *st, struct us_pbuf *p,
			     const struct icmp_hdr *h)
{
	const uint8_t *q = p->data + ICMP_HDR_LEN;
	uint32_t qlen = p->len - ICMP_HDR_LEN;
	uint32_t info = h->rest, ihl;
	ip4_err_fn fn;

	if (qlen < IP4_MIN_HLEN || (q[0] >> 4) != 4 ||
	    (ihl = (q[0] & 0x0fu) * 4) < IP4_MIN_HLEN || qlen < ihl + 8) {
		STAT_INC(st, icmp_drop_short);
		goto out;
	}
	STAT_INC(st, icmp_err_rx);
	if (h->type == ICMP_UNREACH_T && h->code == ICMP_UNREACH_NEEDFRAG_C)
		info = h->rest & 0xffff; /* RFC 1191 4: next-hop MTU */
	else if (h->type == ICMP_PARAMPROB_T)
		info = h->rest >> 24; /* RFC 792: the pointer */
	fn = ip4_err_handler(st, q[9]);
	if (fn)
		fn(st, h->type, h->code, info, q, qlen);
	else /* about a protocol we do not speak: nobody to tell */
		STAT_INC(st, icmp_err_drop_no_proto);
out:
	pbuf_free(p);
}

static void icmp_input(struct us_stack *st, struct us_pbuf *p)
{
	struct icmp_hdr h;

	STAT_INC(st, icmp_rx);
	if (icmp_parse(p->data, p->len, &h) < 0) {
		STAT_INC(st, icmp_drop_short);
		goto drop;
	}
	/* RFC 792: the checksum covers the whole message; the device never
	 * vouches for it, so it is always checked here. */
	if (!icmp_csum_ok(p->data, p->len)) {
		STAT_INC(st, icmp_drop_csum);
		goto drop;
	}
	switch (h.type) {
	case ICMP_ECHO_T:
		icmp_echo(st, p);
		return;
	case ICMP_UNREACH_T:
	case ICMP_TIMXCEED_T:
	case ICMP_PARAMPROB_T:
		icmp_error_input(st, p, &h);
		return;
	default:
		/* Not acted on: echo replies (no ping sockets), source quench
		 * (RFC 6633 2: ignored), redirects (one gateway, RFC 1122
		 * 3.2.2.2's SHOULD left out), timestamps and the rest. */
		STAT_INC(st, icmp_drop_unknown_type);
		goto drop;
	}
drop:
	pbuf_free(p);
}

/* RFC 1122 3.2.2: no error about an ICMP error, a datagram to a
 * broadcast or multicast (IP or link layer), a non-first fragment, or one
 * whose source is not a single host. */
static int icmp_error_allowed(const struct us_stack *st,
			      const struct us_pbuf *orig, const uint8_t *ip,
			      uint32_t ihl, uint32_t len)
{
	uint32_t src = rdaddr(ip + 12), dst = rdaddr(ip + 16);
	uint32_t sbcast = ip4_subnet_bcast(st->ip, st->netmask);

	if (rd16(ip + 6) & IP4_OFF_MASK)
		return 0;
	if (orig->flags & PBUF_F_BCAST)
		return 0;
	if (ip4_addr_is_bcast(dst) || ip4_addr_is_mcast(dst) ||
	    (sbcast && dst == sbcast))
		return 0;
	if (!src || ip4_addr_is_bcast(src) || ip4_addr_is_mcast(src) ||
	    (sbcast && src == sbcast))
		return 0;
	if (ip[9] == IP4_PROTO_ICMP)
		return len > ihl && !icmp_type_is_error(ip[ihl]);
	return 1;
}

void icmp_send_error(struct us_stack *st, const struct us_pbuf *orig,
		     uint8_t type, uint8_t code, uint32_t info)
{
	const uint8_t *ip = orig->head + orig->l3_off;
	const uint8_t *end = orig->data + orig->len;
	struct icmp_hdr h;
	struct ip4_tx tx = {0};
	struct us_pbuf *p;
	uint32_t len, ihl, qlen;

	/* orig passed ip4_input, so its header is sound; these checks keep a
	 * caller's mistake from reading out of bounds. */
	if (!st->icmp || end < ip + IP4_MIN_HLEN)
		return;
	len = (uint32_t)(end - ip);
	ihl = (ip[0] & 0x0fu) * 4;
	if (ihl < IP4_MIN_HLEN || ihl > len)
		return;
	len = US_MIN(len, rd16(ip + 2));
	if (!icmp_error_allowed(st, orig, ip, ihl, len))
		return;
	if (!icmp_take_token(st)) {
		STAT_INC(st, icmp_drop_ratelimit);
		return;
	}
	qlen = US_MIN(len, ICMP_ERR_MAX_QUOTE);
	p = stack_alloc(st, ICMP_HDR_LEN + qlen);
	if (!p)
		return;
	h.type = type;
	h.code = code;
	h.csum = 0;
	h.rest = info;
	icmp_emit(p->data, &h);
	memcpy(p->data + ICMP_HDR_LEN, ip, qlen);
	p->len = ICMP_HDR_LEN + qlen;
	icmp_set_csum(p->data, p->len);

	/* The datagram was sent to us (broadcasts are excluded above), so
	 * our address is the one its sender knows. */
	tx.src = st->ip;
	tx.dst = rdaddr(ip + 12);
	tx.proto = IP4_PROTO_ICMP;
	if (ip4_output(st, p, &tx) == 0) {
		STAT_INC(st, icmp_err_tx);
		if (type == ICMP_UNREACH_T)
			STAT_INC(st, icmp_unreach_tx);
	}
}

int icmp_init(struct us_stack *st)
{
	struct icmp_state *is = calloc(1, sizeof(*is));
	int rc;

	if (!is)
		return -ENOMEM;
	is->rate = st->cfg.icmp_ratelimit ? st->cfg.icmp_ratelimit : 100;
	is->cap = (uint64_t)is->rate * US_NS_PER_S;
	is->credit = is->cap;
	is->last = st->now;
	st->icmp = is;
	rc = ip4_register(st, IP4_PROTO_ICMP, icmp_input, NULL);
	if (rc < 0) {
		free(is);
		st->icmp = NULL;
	}
	return rc;
}

void icmp_fini(struct us_stack *st)
{
	if (!st->icmp)
		return;
	ip4_register(st, IP4_PROTO_ICMP, NULL, NULL);
	free(st->icmp);
	st->icmp = NULL;
}
