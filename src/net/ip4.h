/* IPv4 (RFC 791, 1122): input validation and dispatch by protocol,
 * output with routing and fragmentation, reassembly. */
#ifndef US_IP4_H
#define US_IP4_H

#include <stdint.h>

#include "core/stack.h"

#define IP4_HLEN 20
#define IP4_DEFAULT_TTL 64
#define IP4_MAX_PAYLOAD 65515 /* 65535 - 20 */

/* Input handler for a protocol: p->data at the L4 header, p->len the L4
 * length (IP padding trimmed), p->ip_src/ip_dst/ip_proto set, p->l3_off
 * locating the IP header (for ICMP errors quoting it). Owns p. */
typedef void (*ip4_input_fn)(struct us_stack *st, struct us_pbuf *p);
/* An ICMP error about a packet we sent: type, code, info (e.g. next-hop
 * MTU), and the quoted IP header + at least 8 bytes of its payload. */
typedef void (*ip4_err_fn)(struct us_stack *st, int type, int code,
			   uint32_t info, const uint8_t *quote, uint32_t len);

int ip4_init(struct us_stack *st);
void ip4_fini(struct us_stack *st);
int ip4_register(struct us_stack *st, uint8_t proto, ip4_input_fn in,
		 ip4_err_fn err);
/* The registered error handler for proto (NULL if none): ICMP uses it. */
ip4_err_fn ip4_err_handler(struct us_stack *st, uint8_t proto);

/* Ethertype handler: p->data at the IP header. Consumes p. */
void ip4_input(struct us_stack *st, struct us_pbuf *p);

struct ip4_tx {
	uint32_t src, dst;      /* network order; src 0: our address */
	uint8_t proto;
	uint8_t ttl;            /* 0: default */
	uint8_t tos;
	uint8_t df;             /* set Don't Fragment */
};
/* Send p (data at the L4 header, checksum already filled in) as one IPv4
 * datagram: route, fragment above the MTU, resolve and frame. Packets to
 * our own address are looped back. Consumes p in every case. Returns 0 or
 * -ENETUNREACH (no route), -EHOSTUNREACH (next hop failed ARP), -EMSGSIZE
 * (DF and too big), -ENOBUFS. */
int ip4_output(struct us_stack *st, struct us_pbuf *p, const struct ip4_tx *tx);
/* The next hop for dst (dst itself when on-link, else the gateway);
 * 0 if there is no route. */
uint32_t ip4_route(struct us_stack *st, uint32_t dst);
/* Is ip one of ours (our address, or a broadcast we accept)? */
int ip4_is_local(struct us_stack *st, uint32_t ip);

#endif
