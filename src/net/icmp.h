/* ICMP (RFC 792): echo reply; errors we send (rate-limited) and errors we
 * receive (passed to the protocol of the quoted packet). */
#ifndef US_ICMP_H
#define US_ICMP_H

#include <stdint.h>

#include "core/stack.h"

#define ICMP_ECHOREPLY_T 0
#define ICMP_UNREACH_T 3
#define ICMP_UNREACH_PORT_C 3
#define ICMP_UNREACH_NEEDFRAG_C 4
#define ICMP_ECHO_T 8
#define ICMP_TIMXCEED_T 11

int icmp_init(struct us_stack *st);
void icmp_fini(struct us_stack *st);
/* Send an ICMP error about the received packet orig (p->l3_off locates
 * its IP header), rate-limited per RFC 1812 4.3.2.8. Does not consume
 * orig. Never answers an ICMP error, a broadcast or a non-first fragment
 * (RFC 1122 3.2.2). */
void icmp_send_error(struct us_stack *st, const struct us_pbuf *orig,
		     uint8_t type, uint8_t code, uint32_t info);

#endif
