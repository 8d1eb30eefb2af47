/* UDP (RFC 768): input validation and demultiplexing to protocol control
 * blocks by local port, output with the checksum, ICMP errors mapped to a
 * connected block's pending error.
 *
 * A pcb is owned by whoever embeds it (a UDP socket); this module only
 * links it into the port table and fills its receive queue. It knows
 * nothing of sockets: it tells the owner through pcb->notify. */
#ifndef US_NET_UDP_H
#define US_NET_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/stack.h"
#include "net/inaddr.h"

/* Default receive bound (bytes of buffers held, by truesize). */
#define UDP_RCVBUF_DEFAULT (256u * 1024u)

enum udp_event {
	UDP_EV_RX = 1,  /* a datagram was queued */
	UDP_EV_ERR = 2, /* pcb->err was set */
};

struct udp_pcb;
typedef void (*udp_notify_fn)(struct us_stack *st, struct udp_pcb *pcb,
			      int events);

struct udp_pcb {
	struct udp_pcb *hnext, **hpprev; /* port table chain; NULL: unbound */
	struct inaddr laddr, raddr;      /* laddr any: wildcard */
	uint16_t lport, rport;           /* host order; lport 0: unbound */
	bool connected;                  /* accept only from raddr:rport */
	bool reuseaddr;                  /* SO_REUSEADDR at bind time */
	int err;                         /* pending error (positive errno) */
	uint32_t rcvbuf;                 /* bound on rcvq.bytes */
	/* Datagrams, data at the payload; ->ip_src is the sender's address
	 * and ->user its port (host order). */
	struct pbuf_queue rcvq;
	udp_notify_fn notify;            /* NULL: nobody to tell */
};

int udp_init(struct us_stack *st);
void udp_fini(struct us_stack *st);

void udp_pcb_init(struct udp_pcb *pcb);
/* Unlink from the port table and free what is queued. */
void udp_pcb_release(struct us_stack *st, struct udp_pcb *pcb);

/* Bind to laddr (any: wildcard) and lport (0: an ephemeral port from
 * cfg.port_lo..port_hi). -EINVAL if already bound, -EADDRNOTAVAIL if laddr
 * is not ours, -EADDRINUSE if the port is taken. */
int udp_bind(struct us_stack *st, struct udp_pcb *pcb,
	     const struct inaddr *laddr, uint16_t lport);
/* Remove from the port table (lport becomes 0). */
void udp_unbind(struct us_stack *st, struct udp_pcb *pcb);
/* Is lport taken for laddr by a pcb other than self (honouring
 * SO_REUSEADDR when both set it)? */
bool udp_port_in_use(struct us_stack *st, const struct inaddr *laddr,
		     uint16_t lport, bool reuse, const struct udp_pcb *self);

struct udp_tx {
	uint32_t src, dst;      /* network order; src 0: our address */
	uint16_t dport;         /* host order */
	uint8_t ttl, tos;       /* 0: default */
};
/* Build and send one datagram of len bytes (len <= UDP_MAX_PAYLOAD) from
 * the pcb's port (which must be bound) to tx->dst:dport, checksummed, in
 * one buffer that ip4_output fragments. Returns 0, -EMSGSIZE, -ENOBUFS or
 * the negative errno from ip4_output (-ENETUNREACH, -EHOSTUNREACH). */
int udp_output(struct us_stack *st, const struct udp_pcb *pcb,
	       const struct udp_tx *tx, const void *buf, uint32_t len);

/* The protocol handlers ip4 calls (registered by udp_init). */
void udp_input(struct us_stack *st, struct us_pbuf *p);
void udp_err(struct us_stack *st, int type, int code, uint32_t info,
	     const uint8_t *quote, uint32_t len);

/* The pcb a datagram dst:dport from src:sport goes to, or NULL. */
struct udp_pcb *udp_lookup(struct us_stack *st, uint32_t dst, uint16_t dport,
			   uint32_t src, uint16_t sport);

#endif
