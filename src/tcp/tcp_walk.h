/* A read-only walk over a stack's TCP blocks, for observers (the shared
 * memory statistics): what `ss` shows of each connection, without handing
 * out the block itself. */
#ifndef US_TCP_WALK_H
#define US_TCP_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/stack.h"
#include "net/inaddr.h"
#include "tcp/tcp.h"

struct tcp_walk_rec {
	enum tcp_state state;
	struct inaddr laddr, raddr;
	uint16_t lport, rport;
	bool listener; /* rcvq: accept queue, sndq: backlog */
	bool orphan;   /* closed by its user, finishing alone */
	uint32_t rcvq, sndq, unacked, synq;
	uint16_t mss;
	uint32_t srtt_us, rttvar_us, rto_ms;
	uint32_t cwnd, ssthresh, snd_wnd, rcv_wnd;
	uint32_t retrans;
	uint64_t bytes_acked, bytes_received;
};

/* Calls fn for each block (listeners, connections, children not yet
 * accepted, orphans finishing their close) until fn returns false.
 * Returns the number of blocks visited. fn must not change the stack. */
typedef bool (*tcp_walk_fn)(void *arg, const struct tcp_walk_rec *r);
uint32_t tcp_walk(struct us_stack *st, tcp_walk_fn fn, void *arg);

#endif
