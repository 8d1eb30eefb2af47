/* Local ports: bind conflicts (Linux's SO_REUSEADDR rules) and ephemeral
 * ports, for bind(0) and for connect (RFC 6056). */
#include <errno.h>

#include "tcp/tcp_conn.h"

static bool addr_overlap(const struct inaddr *a, const struct inaddr *b)
{
	return inaddr_is_any(a) || inaddr_is_any(b) || inaddr_eq(a, b);
}

/* Linux's rule: a port is shared when both blocks asked for
 * SO_REUSEADDR and the other is not listening; a block in TIME_WAIT
 * yields to SO_REUSEADDR. */
bool tcp_port_conflict(struct us_stack *st, const struct tcp_conn *c,
		       const struct inaddr *la, uint16_t lp, bool reuse)
{
	for (struct tcp_conn *q =
		 tcp_of(st)->bhash[tcp_port_bucket(lp, TCP_BHASH_SIZE)];
	     q; q = q->bnext) {
		if (q == c || q->lport != lp || !addr_overlap(&q->laddr, la))
			continue;
		if (reuse && q->state == TCP_TIME_WAIT)
			continue;
		if (reuse && q->reuseaddr && q->state != TCP_LISTEN &&
		    c->state != TCP_LISTEN)
			continue;
		return true;
	}
	return false;
}

/* At listen(), as Linux's inet_csk_listen_start checks the port again:
 * SO_REUSEADDR shares a port only while neither block listens, so no
 * other listener may cover an address c's does (a specific address and
 * the wildcard overlap), whatever the reuse flags were at bind. */
bool tcp_listen_conflict(struct us_stack *st, const struct tcp_conn *c)
{
	for (struct tcp_conn *q =
		 tcp_of(st)->bhash[tcp_port_bucket(c->lport, TCP_BHASH_SIZE)];
	     q; q = q->bnext) {
		if (q != c && q->lport == c->lport && q->state == TCP_LISTEN &&
		    addr_overlap(&q->laddr, &c->laddr))
			return true;
	}
	return false;
}

static void port_range(struct us_stack *st, uint32_t *lo, uint32_t *n)
{
	uint32_t l = st->cfg.port_lo ? st->cfg.port_lo : 32768;
	uint32_t h = st->cfg.port_hi ? st->cfg.port_hi : 60999;
	if (h < l)
		h = l;
	*lo = l;
	*n = h - l + 1;
}

int tcp_pick_bind_port(struct us_stack *st, struct tcp_conn *c,
		       const struct inaddr *la)
{
	uint32_t lo, n;
	port_range(st, &lo, &n);
	uint32_t off = (uint32_t)(stack_rand(st) % n);

	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (off + i) % n);
		if (!tcp_port_conflict(st, c, la, port, false))
			return port;
	}
	return -EADDRINUSE;
}

/* Is port usable for c's connection to raddr:rport? 1: free; 2: only a
 * block in TIME_WAIT holds the 4-tuple; 0: no. A port some socket bound
 * explicitly (or listens on) is not taken for an automatic connect. */
static int port_usable(struct us_stack *st, struct tcp_conn *c, uint16_t port,
		       struct tcp_conn **tw)
{
	for (struct tcp_conn *q =
		 tcp_of(st)->bhash[tcp_port_bucket(port, TCP_BHASH_SIZE)];
	     q; q = q->bnext) {
		if (q->lport != port || !addr_overlap(&q->laddr, &c->laddr))
			continue;
		if (q->state == TCP_CLOSED || q->state == TCP_LISTEN)
			return 0;
	}
	struct tcp_conn *e =
	    tcp_lookup(st, &c->laddr, port, &c->raddr, c->rport);
	if (!e)
		return 1;
	if (e->state == TCP_TIME_WAIT && !e->user) {
		*tw = e;
		return 2;
	}
	return 0;
}

/* RFC 6056 3.3.3 (Algorithm 3): the search starts at a keyed hash of the
 * destination plus a per-stack counter, so consecutive connections to one
 * server take consecutive ports (no collisions, no early reuse of a
 * 4-tuple) while ports stay hard to guess. If every port's 4-tuple is in
 * use, the oldest-free choice is a TIME_WAIT block of our own: like
 * Linux's tcp_tw_reuse, it is ended and the port reused, which is safe
 * because our new ISN is beyond the old connection's sequence space
 * (RFC 6528's clock) and the peer has left LAST_ACK once it saw our
 * final ACK. */
int tcp_pick_connect_port(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_stack *ts = tcp_of(st);
	uint32_t lo, n;
	port_range(st, &lo, &n);
	uint32_t off = (uint32_t)tcp_tuple_hash(st, TCP_KEY_PORT, &c->laddr, 0,
						&c->raddr, c->rport);
	struct tcp_conn *tw_victim = NULL;
	int tw_port = -1;
	uint32_t tw_i = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (off + ts->port_seq + i) % n);
		struct tcp_conn *tw = NULL;
		int u = port_usable(st, c, port, &tw);
		if (u == 1) {
			ts->port_seq += i + 1;
			return port;
		}
		if (u == 2 && !tw_victim) {
			tw_victim = tw;
			tw_port = port;
			tw_i = i;
		}
	}
	if (!tw_victim)
		return -EADDRNOTAVAIL;
	/* The search moves on past the reused port too, so TIME_WAIT ports
	 * are taken round-robin, the oldest first, never the one just left:
	 * a peer still closing the old connection (its final ACK queued
	 * behind a busy socket, as Linux's LAST_ACK can be) drops a SYN
	 * that follows it within microseconds. */
	ts->port_seq += tw_i + 1;
	STAT_INC(st, tcp_timewait_reuse);
	tcp_conn_destroy(st, tw_victim);
	return tw_port;
}
