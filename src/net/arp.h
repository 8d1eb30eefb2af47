/* ARP (RFC 826): answers for our address, resolves next hops with a
 * bounded queue of waiting packets, retries and a failure outcome, and a
 * cache with aging and re-validation. */
#ifndef US_ARP_H
#define US_ARP_H

#include <stdint.h>

#include "core/stack.h"

/* Bounds. A 64 KiB datagram is 45 fragments at MTU 1500 and 119 at the
 * smallest MTU a stack takes (576), all waiting on the same resolution:
 * the per-entry queue holds one such datagram whole. */
#define ARP_MAX_ENTRIES 1024     /* cache size; old unused entries evicted */
#define ARP_QUEUE_PER_ENTRY 128  /* packets waiting for one resolution */
#define ARP_QUEUE_TOTAL 256      /* packets waiting, all entries */
#define ARP_FAILED_HOLD_MS 3000  /* FAILED answers -EHOSTUNREACH this long */

enum arp_entry_state {
	ARP_NONE = 0,   /* no entry */
	ARP_PENDING,    /* request sent, waiting for the answer */
	ARP_RESOLVED,   /* usable */
	ARP_FAILED,     /* no answer after the retries; held for a while */
};

int arp_init(struct us_stack *st);
void arp_fini(struct us_stack *st);
/* Send an IPv4 packet (data at the IP header) to nexthop: framed at once
 * when the MAC is known, else queued (bounded) while a request goes out.
 * Consumes p. Returns 0, or -EHOSTUNREACH when nexthop is known to have
 * failed, -ENOBUFS when the queue is full (p is dropped and counted). */
int arp_output(struct us_stack *st, uint32_t nexthop, struct us_pbuf *p);
/* State of the entry for ip (network order), and its MAC if resolved. */
enum arp_entry_state arp_lookup(struct us_stack *st, uint32_t ip,
				uint8_t mac[6]);
/* Send a gratuitous ARP for our address. */
void arp_announce(struct us_stack *st);
/* Packets waiting for a resolution, all entries (buffers ARP holds). */
uint32_t arp_queued(const struct us_stack *st);

#endif
