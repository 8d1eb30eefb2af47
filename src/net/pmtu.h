/* Path MTU cache (RFC 1191): what "fragmentation needed" errors taught
 * us per destination, forgotten after a while so a path that grew is
 * found again (RFC 1191 6.3: "no less than 10 minutes"). A small table
 * with no allocation after init; the oldest entry makes room. */
#ifndef US_NET_PMTU_H
#define US_NET_PMTU_H

#include <stdint.h>

#define PMTU_SLOTS 64
#define PMTU_MIN 552 /* Linux's min_pmtu: smaller claims are raised */

struct pmtu_entry {
	uint32_t dst; /* IPv4, network order; 0: free */
	uint32_t mtu;
	uint64_t expires; /* ns */
};

struct pmtu_cache {
	struct pmtu_entry e[PMTU_SLOTS];
	uint64_t timeout_ns;
};

void pmtu_init(struct pmtu_cache *pc, uint64_t timeout_ns);
/* A "fragmentation needed" with next-hop MTU mtu about dst (0 or bogus
 * values are ignored, RFC 1191 5 plateaus are not guessed). Returns the
 * path MTU now in force for dst. */
uint32_t pmtu_lower(struct pmtu_cache *pc, uint32_t dst, uint32_t mtu,
		    uint32_t link_mtu, uint64_t now);
/* The path MTU to dst: the cached value while it lasts, else link_mtu. */
uint32_t pmtu_get(struct pmtu_cache *pc, uint32_t dst, uint32_t link_mtu,
		  uint64_t now);

#endif
