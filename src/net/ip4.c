/* IPv4 (RFC 791, RFC 1122 3.2-3.3): input validation and dispatch by
 * protocol; output with routing, fragmentation and loopback. */
#include "net/ip4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/arp.h"
#include "net/eth.h"
#include "net/ip4_frag.h"
#include "wire/ip4.h"

struct ip4_state {
	struct {
		ip4_input_fn in;
		ip4_err_fn err;
	} proto[256];
	struct ip4_reasm *reasm;
	uint16_t next_id;
};

int ip4_register(struct us_stack *st, uint8_t proto, ip4_input_fn in,
		 ip4_err_fn err)
{
	if (!st->ip4)
		return -EINVAL;
	st->ip4->proto[proto].in = in;
	st->ip4->proto[proto].err = err;
	return 0;
}

ip4_err_fn ip4_err_handler(struct us_stack *st, uint8_t proto)
{
	return st->ip4 ? st->ip4->proto[proto].err : NULL;
}

struct ip4_reasm *ip4_reasm_of(struct us_stack *st)
{
	return st->ip4 ? st->ip4->reasm : NULL;
}

int ip4_is_local(struct us_stack *st, uint32_t ip)
{
	return (st->ip && ip == st->ip) || ip4_addr_is_bcast(ip) ||
	       (ip && ip == ip4_subnet_bcast(st->ip, st->netmask));
}

uint32_t ip4_route(struct us_stack *st, uint32_t dst)
{
	/* RFC 1122 3.2.1.3: 0 is no destination, and 127/8 never leaves
	 * the host. */
	if (!dst || ip4_addr_is_loopback(dst))
		return 0;
	if (ip4_addr_is_bcast(dst) || ip4_addr_is_mcast(dst))
		return dst;
	if (((dst ^ st->ip) & st->netmask) == 0)
		return dst;
	return st->gw;
}

/* RFC 1122 3.2.1.3: a source must name a single host. 0.0.0.0 is allowed
 * only to the limited broadcast (a host still booting, e.g. DHCP); our
 * own address arriving from the wire is forged or looped by a switch. */
static int ip4_martian_src(const struct us_stack *st, const struct us_pbuf *p,
			   uint32_t src, uint32_t dst)
{
	if (ip4_addr_is_bcast(src) || ip4_addr_is_mcast(src))
		return 1;
	if (!src)
		return !ip4_addr_is_bcast(dst);
	if (p->flags & PBUF_F_LOOP)
		return 0;
	if (ip4_addr_is_loopback(src) || src == st->ip)
		return 1;
	return src == ip4_subnet_bcast(st->ip, st->netmask);
}

static void ip4_count_parse_err(struct us_stack *st, int rc)
{
	switch (-rc) {
	case IP4_ERR_SHORT:
		STAT_INC(st, ip4_drop_short);
		break;
	case IP4_ERR_VERSION:
		STAT_INC(st, ip4_drop_version);
		break;
	case IP4_ERR_HDRLEN:
		STAT_INC(st, ip4_drop_hdrlen);
		break;
	default:
		STAT_INC(st, ip4_drop_totlen);
		break;
	}
}

void ip4_input(struct us_stack *st, struct us_pbuf *p)
{
	struct ip4_state *is = st->ip4;
	struct ip4_hdr h;
	int rc;

	STAT_INC(st, ip4_rx);
	p->l3_off = (uint16_t)(p->data - p->head);
	rc = ip4_parse(p->data, p->len, &h);
	if (rc < 0) {
		ip4_count_parse_err(st, rc);
		goto drop;
	}
	/* RFC 1122 3.2.1.2: verify the header checksum, always in software:
	 * devices report only L4 checksum state. */
	if (!ip4_hdr_csum_ok(p->data, h.ihl)) {
		STAT_INC(st, ip4_drop_csum);
		goto drop;
	}
	/* Ethernet pads short frames: the total length is the datagram. */
	p->len = h.tot_len;
	if (ip4_martian_src(st, p, h.src, h.dst)) {
		STAT_INC(st, ip4_drop_martian);
		goto drop;
	}
	/* RFC 1122 3.3.6: a link-layer broadcast must carry an IP broadcast
	 * or multicast; we join no multicast group. */
	if (!ip4_is_local(st, h.dst) ||
	    ((p->flags & PBUF_F_BCAST) && h.dst == st->ip)) {
		STAT_INC(st, ip4_drop_not_ours);
		goto drop;
	}
	if (ip4_is_fragment(&h)) {
		p = ip4_reasm_input(st, is->reasm, p, &h);
		if (!p)
			return;
		/* Rebuilt by us from a checked header: cannot fail. */
		if (ip4_parse(p->data, p->len, &h) < 0) {
			STAT_INC(st, frag_drop_bad);
			goto drop;
		}
	}
	p->ip_src = h.src;
	p->ip_dst = h.dst;
	p->ip_proto = h.proto;
	/* RFC 1122 3.2.1.8: options we do not implement are ignored. */
	pbuf_pull(p, h.ihl);
	p->l4_off = (uint16_t)(p->data - p->head);
	ip4_input_fn fn = is->proto[h.proto].in;
	if (!fn) {
		/* RFC 1122 3.2.2.1 makes Protocol Unreachable a SHOULD; left
		 * out so ip4 never calls up into icmp. */
		STAT_INC(st, ip4_drop_unknown_proto);
		goto drop;
	}
	fn(st, p);
	return;
drop:
	pbuf_free(p);
}

/* Send a datagram too big for the MTU as fragments (RFC 791 3.2). */
static int ip4_output_frags(struct us_stack *st, struct us_pbuf *p,
			    const struct ip4_hdr *h, uint32_t mtu,
			    uint32_t nexthop)
{
	struct pbuf_queue frags;
	struct us_pbuf *f;
	int rc, ret = 0;

	pbufq_init(&frags);
	rc = ip4_fragment(st, p, h, mtu, &frags);
	pbuf_free(p);
	if (rc == -EMSGSIZE) {
		/* An MTU below 28 bytes cannot carry a fragment. */
		STAT_INC(st, ip4_drop_toobig);
		return rc;
	}
	if (rc < 0) {
		STAT_INC(st, ip4_drop_nobuf);
		return rc;
	}
	STAT_INC(st, ip4_tx);
	while ((f = pbufq_pop(&frags))) {
		STAT_INC(st, ip4_frag_tx);
		rc = arp_output(st, nexthop, f);
		if (rc < 0 && !ret)
			ret = rc;
	}
	return ret;
}

int ip4_output(struct us_stack *st, struct us_pbuf *p, const struct ip4_tx *tx)
{
	struct ip4_state *is = st->ip4;
	struct ip4_hdr h;
	uint32_t mtu = st->mtu ? st->mtu : 1500;
	uint32_t nexthop = 0;
	int loop = st->ip && tx->dst == st->ip;
	uint8_t *b;

	if (p->len > IP4_MAX_PAYLOAD) {
		STAT_INC(st, ip4_drop_toobig);
		pbuf_free(p);
		return -EMSGSIZE;
	}
	if (!loop && !(nexthop = ip4_route(st, tx->dst))) {
		STAT_INC(st, ip4_drop_no_route);
		pbuf_free(p);
		return -ENETUNREACH;
	}
	memset(&h, 0, sizeof(h));
	h.tos = tx->tos;
	h.id = is->next_id++;
	h.frag = tx->df ? IP4_FLAG_DF : 0;
	h.ttl = tx->ttl ? tx->ttl : IP4_DEFAULT_TTL;
	h.proto = tx->proto;
	h.src = tx->src ? tx->src : st->ip;
	h.dst = tx->dst;
	/* Our own address: no MTU, no ARP; input on the next loop turn. */
	if (!loop && IP4_MIN_HLEN + p->len > mtu) {
		if (tx->df) {
			STAT_INC(st, ip4_drop_df);
			pbuf_free(p);
			return -EMSGSIZE;
		}
		return ip4_output_frags(st, p, &h, mtu, nexthop);
	}
	b = pbuf_push(p, IP4_MIN_HLEN);
	if (!b) {
		us_err(st, "ip4: no headroom for the IP header");
		STAT_INC(st, ip4_drop_nobuf);
		pbuf_free(p);
		return -ENOBUFS;
	}
	h.tot_len = (uint16_t)p->len;
	ip4_emit(b, &h);
	STAT_INC(st, ip4_tx);
	if (loop) {
		p->flags = PBUF_F_LOOP;
		stack_loopback(st, p);
		return 0;
	}
	return arp_output(st, nexthop, p);
}

int ip4_init(struct us_stack *st)
{
	struct ip4_state *is = calloc(1, sizeof(*is));
	int rc;

	if (!is)
		return -ENOMEM;
	is->next_id = (uint16_t)stack_rand(st);
	is->reasm = ip4_reasm_create(st);
	if (!is->reasm) {
		free(is);
		return -ENOMEM;
	}
	st->ip4 = is;
	rc = eth_register(st, ETH_P_IPV4, ip4_input);
	if (rc < 0)
		ip4_fini(st);
	return rc;
}

void ip4_fini(struct us_stack *st)
{
	struct ip4_state *is = st->ip4;

	if (!is)
		return;
	eth_register(st, ETH_P_IPV4, NULL);
	ip4_reasm_destroy(st, is->reasm);
	free(is);
	st->ip4 = NULL;
}
