/* The stack object: one shard, single-threaded, no globals. Every module
 * reaches its state through the stack it is given. */
#ifndef US_STACK_H
#define US_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "ustack.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/pbuf.h"
#include "core/timer.h"
#include "core/util.h"

#define US_TX_BATCH 64
#define US_RX_BURST 64
#define US_ETH_HANDLERS 8

struct us_stack;
typedef void (*eth_handler_fn)(struct us_stack *st, struct us_pbuf *p);

struct us_stack {
	struct us_config cfg;           /* copy; strings not owned */
	us_clock_fn clock_now;
	void *clock_arg;
	uint64_t now;                   /* clock read once per loop turn */
	struct timer_wheel wheel;
	struct pbuf_pool pool;
	uint64_t stats[US_STAT__COUNT];
	int log_level;

	struct us_dev *dev;
	uint8_t mac[6];
	uint32_t ip, netmask, gw;       /* network order */
	uint32_t mtu;

	/* Ethertype dispatch (eth_register). */
	struct {
		uint16_t type;
		eth_handler_fn fn;
	} eth_handlers[US_ETH_HANDLERS];

	/* Per-module state, owned by each module (opaque here). */
	struct arp_state *arp;
	struct ip4_state *ip4;
	struct icmp_state *icmp;
	struct udp_state *udp;
	struct sock_table *socks;
	struct tcp_stack *tcp;        /* TCP tables (tcp.h) */

	/* Frames queued for the device, sent once per loop turn. */
	struct us_pbuf *txq[US_TX_BATCH];
	int txn;
	/* IPv4 packets to our own address, delivered on the next turn. */
	struct pbuf_queue loopq;

	uint64_t rng;                   /* xorshift state */
	uint8_t secret[32];             /* for keyed hashes (ISN, cookies) */

	/* Waking the stack from outside its loop (stack_wake.h); NULL until
	 * threaded mode or us_stack_fd needs it. */
	struct stack_wake *wake;
	/* Threaded mode (sock_thread.c); NULL: run-to-completion. */
	struct sock_mt *mt;
	/* Statistics published in shared memory (stats_shm.c); NULL: not
	 * published. */
	struct stats_shm *shm;
};

/* Queue a complete frame (data at the Ethernet header) for the device.
 * Consumes p. Flushed at the end of the loop turn or when the batch fills. */
void stack_tx(struct us_stack *st, struct us_pbuf *p);
void stack_tx_flush(struct us_stack *st);
/* Queue an IPv4 packet (data at the IP header) for input on the next turn. */
void stack_loopback(struct us_stack *st, struct us_pbuf *p);
/* A 64-bit pseudo-random number from the stack's seeded generator. */
uint64_t stack_rand(struct us_stack *st);
static inline struct us_pbuf *stack_alloc(struct us_stack *st, uint32_t len)
{
	return pbuf_alloc(&st->pool, len, 0);
}
/* Set the stack's notion of "now" from its clock (once per turn). */
uint64_t stack_update_time(struct us_stack *st);

/* One pass of the loop (receive a burst, loopback, timers, send); never
 * sleeps. Returns the work done (frames + packets + timers), or -1 on a
 * device error. */
int stack_turn(struct us_stack *st);
/* How long an idle stack may sleep: timeout_ms (-1: no limit) cut short by
 * its next timed event; 0 when something is due now. */
int stack_idle_ms(struct us_stack *st, int timeout_ms);
/* us_stack_poll, also waking for extra_fd (if >= 0) while it sleeps;
 * *extra_ready (may be NULL) tells whether extra_fd became readable. */
int stack_poll(struct us_stack *st, int timeout_ms, int extra_fd,
	       bool *extra_ready);

#endif
