/* IPv4 fragments (RFC 791 2.3, 3.2; RFC 815): reassembly of received
 * fragments, and splitting of outgoing datagrams above the MTU. Internal to
 * net/ip4; exposed for ip4.c and the unit tests. */
#ifndef US_NET_IP4_FRAG_H
#define US_NET_IP4_FRAG_H

#include <stdint.h>

#include "core/stack.h"
#include "wire/ip4.h"

struct ip4_reasm;

/* Limits come from st->cfg (frag_mem_max, frag_timeout_ms; 0: 4 MiB,
 * 30 s). Makes every queue record the bound allows now; none later. NULL
 * when out of memory. */
struct ip4_reasm *ip4_reasm_create(struct us_stack *st);
/* Frees every queue and held fragment, cancelling timers. */
void ip4_reasm_destroy(struct us_stack *st, struct ip4_reasm *r);

/* A validated fragment for us: p->data at its IP header, p->len its total
 * length, p->l3_off set, h parsed from it. Consumes p. Returns the whole
 * datagram once complete (one contiguous buffer, data at an IP header
 * carrying the first fragment's options, total length fixed, MF and
 * offset cleared), else NULL.
 *
 * Counters count fragments: frag_rx each one received; frag_dup a
 * duplicate, one lying wholly inside data already held with the same
 * bytes (ignored, the datagram lives on); frag_drop_overlap every fragment
 * of a datagram whose fragments overlap otherwise (the datagram is dropped
 * and later fragments of it are ignored until its timeout); frag_drop_bad a
 * fragment inconsistent with itself or its datagram; frag_drop_too_big one that
 * ends past 65535 bytes; frag_drop_mem fragments dropped to keep held
 * memory under the bound; frag_drop_timeout fragments held when their
 * datagram timed out; frag_reassembled each datagram completed. */
struct us_pbuf *ip4_reasm_input(struct us_stack *st, struct ip4_reasm *r,
				struct us_pbuf *p, const struct ip4_hdr *h);

/* Bytes held (truesize of buffers and queue records), the bound, and the
 * number of datagrams being reassembled (including dead ones). */
uint32_t ip4_reasm_mem(const struct ip4_reasm *r);
uint32_t ip4_reasm_mem_max(const struct ip4_reasm *r);
uint32_t ip4_reasm_count(const struct ip4_reasm *r);
/* Buffers held: fragments waiting in every queue. */
uint32_t ip4_reasm_bufs(const struct ip4_reasm *r);
/* How many datagrams can be under reassembly at once (records made). */
uint32_t ip4_reasm_max_queues(const struct ip4_reasm *r);

/* Split the datagram whose payload is p (data at L4) into fragments of at
 * most mtu bytes, each a complete IPv4 packet (data at its header) built
 * from h (src, dst, proto, id, ttl, tos). Appended to out in offset order.
 * Does not consume p. 0, -EMSGSIZE if mtu cannot carry 8 bytes of
 * payload, or -ENOBUFS (out left empty). */
int ip4_fragment(struct us_stack *st, const struct us_pbuf *p,
		 const struct ip4_hdr *h, uint32_t mtu, struct pbuf_queue *out);

/* The stack's reassembly state (for tests). */
struct ip4_reasm *ip4_reasm_of(struct us_stack *st);

#endif
