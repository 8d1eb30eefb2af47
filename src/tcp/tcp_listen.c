/* Passive open (RFC 9293 3.10.7.2): a SYN to a listener makes a child in
 * SYN-RECEIVED on the listener's SYN queue; the ACK completing the
 * handshake moves it to the accept queue, where tcp_accept finds it.
 *
 * Bounds: the accept queue holds at most backlog + 1 connections (Linux's
 * rule, which programs tuned for Linux expect; backlog is clamped to
 * 0..4096); the SYN queue holds at most tcp_max_syn_backlog. A SYN that
 * finds the accept queue full is dropped and counted (the client
 * retries); one that finds the SYN queue full is answered with a SYN
 * cookie (tcp_cookie.c); an ACK completing a handshake while the
 * accept queue is full is dropped and the child stays in SYN-RECEIVED,
 * so the handshake completes when the application catches up. */
#include <errno.h>
#include <sys/epoll.h>

#include "tcp/tcp_conn.h"

static void lq_push(struct tcp_lq *q, struct tcp_conn *c)
{
	c->qnext = NULL;
	c->qprev = q->tail;
	if (q->tail)
		q->tail->qnext = c;
	else
		q->head = c;
	q->tail = c;
	q->n++;
}

static void lq_remove(struct tcp_lq *q, struct tcp_conn *c)
{
	if (c->qprev)
		c->qprev->qnext = c->qnext;
	else
		q->head = c->qnext;
	if (c->qnext)
		c->qnext->qprev = c->qprev;
	else
		q->tail = c->qprev;
	c->qnext = c->qprev = NULL;
	q->n--;
}

void tcp_child_unlink(struct tcp_conn *c)
{
	struct tcp_conn *l = c->parent;

	if (!l)
		return;
	lq_remove(c->in_accq ? &l->accq : &l->synq, c);
	c->in_accq = false;
	c->parent = NULL;
}

static bool accq_full(const struct tcp_conn *l)
{
	return l->accq.n > (uint32_t)l->backlog;
}

bool tcp_child_established(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_conn *l = c->parent;

	if (accq_full(l))
		return false;
	lq_remove(&l->synq, c);
	lq_push(&l->accq, c);
	c->in_accq = true;
	tcp_notify(st, l, EPOLLIN);
	return true;
}

/* A child inherits what the user set on the listener. */
void tcp_child_inherit(struct tcp_conn *c, const struct tcp_conn *l)
{
	c->rcvbuf = l->rcvbuf;
	c->sndbuf = l->sndbuf;
	c->nodelay = l->nodelay;
	c->user_mss = l->user_mss;
	c->reuseaddr = l->reuseaddr;
	c->cc = l->cc;
	c->keepalive = l->keepalive;
	c->keep_idle_s = l->keep_idle_s;
	c->keep_intvl_s = l->keep_intvl_s;
	c->keep_cnt = l->keep_cnt;
	c->user_timeout_ms = l->user_timeout_ms;
	c->lport = l->lport;
	c->bound = true;
	if (c->user_mss && c->user_mss < c->rcv_mss)
		c->rcv_mss = c->user_mss;
}

void tcp_child_adopt(struct tcp_conn *l, struct tcp_conn *c)
{
	tcp_child_inherit(c, l);
	c->user = false;
	c->parent = l;
	lq_push(&l->synq, c);
}

struct tcp_conn *tcp_child_from_syn(struct us_stack *st, struct tcp_conn *l,
				    struct tcp_seg *s)
{
	struct tcp_conn *c = tcp_conn_alloc(st);

	if (!c) {
		STAT_INC(st, tcp_drop_nomem);
		return NULL;
	}
	tcp_child_inherit(c, l);
	c->user = false;
	c->laddr = s->dst;
	c->raddr = s->src;
	c->rport = s->h.sport;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_wscale = (uint8_t)tcp_choose_wscale(c->rcvbuf);
	tcp_syn_options(c, s);
	tcp_ts_syn(st, c, s);
	tcp_sack_syn(st, c, s);
	return c;
}

void tcp_listen_input(struct us_stack *st, struct tcp_conn *l,
		      struct tcp_seg *s, const uint32_t *isn_floor)
{
	struct tcp_conn *c;

	/* First: a RST is ignored; second: an ACK is answered with a RST
	 * <SEQ=SEG.ACK>; third: only a SYN goes on. */
	if (s->flags & (TCP_RST | TCP_ACK) || !(s->flags & TCP_SYN)) {
		if ((s->flags & (TCP_RST | TCP_SYN | TCP_ACK)) == TCP_ACK &&
		    tcp_cookie_accept(st, l, s))
			return; /* RFC 4987: a SYN cookie came back */
		STAT_INC(st, tcp_drop_listen);
		if ((s->flags & TCP_ACK) && !(s->flags & TCP_RST))
			tcp_send_rst_reply(st, s);
		return;
	}
	if (accq_full(l)) {
		STAT_INC(st, tcp_drop_accept_queue_full);
		return;
	}
	if (l->synq.n >= l->max_syn) {
		/* RFC 4987 3.6: answer with a SYN cookie (tcp_cookie.c). */
		tcp_cookie_send(st, l, s);
		return;
	}
	c = tcp_child_from_syn(st, l, s);
	if (!c)
		return;
	c->parent = l;
	lq_push(&l->synq, c);
	c->last_ack_sent = c->irs;
	c->snd_wnd = s->wnd; /* RFC 7323 2.2: not scaled in a SYN */
	c->snd_wl1 = s->seq;
	c->iss = tcp_isn(st, &c->laddr, c->lport, &c->raddr, c->rport);
	if (isn_floor && seq_lt(c->iss, *isn_floor))
		c->iss = *isn_floor;
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_end = c->iss + 1;
	c->recover = c->iss;
	c->snd_sml = c->iss;
	tcp_set_state(st, c, TCP_SYN_RECEIVED);
	tcp_ehash_insert(st, c);
	tcp_bhash_insert(st, c);
	STAT_INC(st, tcp_passive_opens);
	/* Data in the SYN is not kept (no TCP Fast Open): it is not
	 * acknowledged, so the peer sends it again. */
	tcp_send_syn(st, c);
}

struct tcp_conn *tcp_accept(struct us_stack *st, struct tcp_conn *l, int *err)
{
	struct tcp_conn *c;

	(void)st;
	if (l->state != TCP_LISTEN) {
		*err = -EINVAL;
		return NULL;
	}
	c = l->accq.head;
	if (!c) {
		*err = -EAGAIN;
		return NULL;
	}
	tcp_child_unlink(c);
	c->user = true;
	*err = 0;
	return c;
}

/* The listener closes: half-open children vanish (the peer's ACK will
 * find no connection and get a RST); established ones waiting in the
 * accept queue are reset, as Linux does. */
void tcp_listen_stop(struct us_stack *st, struct tcp_conn *l)
{
	struct tcp_conn *c;

	while ((c = l->synq.head)) {
		tcp_child_unlink(c);
		tcp_conn_destroy(st, c);
	}
	while ((c = l->accq.head)) {
		tcp_child_unlink(c);
		if (c->state != TCP_CLOSED)
			tcp_send_rst_conn(st, c);
		tcp_conn_destroy(st, c);
	}
}
