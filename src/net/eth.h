/* Ethernet: demultiplex by ethertype, frame output. */
#ifndef US_ETH_H
#define US_ETH_H

#include <stdint.h>

#include "core/stack.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_ARPT 0x0806

int eth_init(struct us_stack *st);
void eth_fini(struct us_stack *st);
/* Register the handler for an ethertype; it receives p with data at the
 * L3 header and owns it. */
int eth_register(struct us_stack *st, uint16_t ethertype, eth_handler_fn fn);
/* A received frame, data at the Ethernet header. Consumes p. */
void eth_input(struct us_stack *st, struct us_pbuf *p);
/* Prepend an Ethernet header (src = our MAC) and queue for the device.
 * Consumes p. */
void eth_output(struct us_stack *st, struct us_pbuf *p, const uint8_t dst[6],
		uint16_t ethertype);

#endif
