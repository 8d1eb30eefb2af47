/* The read-only connection walk (tcp_walk.h). */
#include "tcp/tcp_walk.h"

#include <string.h>

#include "tcp/tcp_conn.h"

static void fill(const struct tcp_conn *c, struct tcp_walk_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->state = c->state;
	r->laddr = c->laddr;
	r->raddr = c->raddr;
	r->lport = c->lport;
	r->rport = c->rport;
	r->orphan = !c->user && !c->parent;
	if (c->state == TCP_LISTEN) {
		/* As ss: Recv-Q is the accept queue, Send-Q the backlog. */
		r->listener = true;
		r->rcvq = c->accq.n;
		r->sndq = (uint32_t)c->backlog;
		r->synq = c->synq.n;
		return;
	}
	r->rcvq = c->rcvq_len;
	r->sndq = c->sndq_len;
	r->unacked = tcp_synchronized(c->state) ? tcp_flight(c) : 0;
	r->mss = c->mss;
	r->srtt_us = c->srtt_us;
	r->rttvar_us = c->rttvar_us;
	r->rto_ms = c->rto_ms;
	r->cwnd = c->cwnd;
	r->ssthresh = c->ssthresh;
	r->snd_wnd = c->snd_wnd;
	r->rcv_wnd = tcp_synchronized(c->state) ? tcp_rcv_space(c) : 0;
	r->retrans = c->info.total_retrans;
	r->bytes_acked = c->info.bytes_acked;
	r->bytes_received = c->info.bytes_received;
}

uint32_t tcp_walk(struct us_stack *st, tcp_walk_fn fn, void *arg)
{
	struct tcp_stack *ts = tcp_of(st);
	struct tcp_walk_rec r;
	uint32_t n = 0;

	if (!ts)
		return 0;
	for (const struct tcp_conn *c = ts->all; c; c = c->anext) {
		fill(c, &r);
		n++;
		if (!fn(arg, &r))
			break;
	}
	return n;
}
