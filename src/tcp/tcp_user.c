/* The user calls of tcp.h (RFC 9293 3.10.1-3.10.6: OPEN, SEND, RECEIVE,
 * CLOSE, ABORT, STATUS), as the socket layer uses them. Nothing here
 * blocks: a call that cannot complete returns -EAGAIN and the caller
 * waits for the readiness tcp_poll reports. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "net/ip4.h"
#include "tcp/tcp_conn.h"

struct tcp_conn *tcp_conn_new(struct us_stack *st)
{
	struct tcp_conn *c = tcp_conn_alloc(st);
	if (c)
		c->user = true;
	return c;
}

void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg)
{
	c->notify = fn;
	c->notify_arg = arg;
}

enum tcp_state tcp_state(const struct tcp_conn *c)
{
	return c->state;
}

int tcp_error(struct tcp_conn *c, bool clear)
{
	int e = c->err;
	if (clear)
		c->err = 0;
	return e;
}

void tcp_addrs(const struct tcp_conn *c, struct inaddr *laddr, uint16_t *lport,
	       struct inaddr *raddr, uint16_t *rport)
{
	if (laddr)
		*laddr = c->laddr;
	if (lport)
		*lport = c->lport;
	if (raddr)
		*raddr = c->raddr;
	if (rport)
		*rport = c->rport;
}

int tcp_bind(struct us_stack *st, struct tcp_conn *c,
	     const struct inaddr *laddr, uint16_t lport, bool reuseaddr)
{
	if (c->bound || c->state != TCP_CLOSED)
		return -EINVAL;
	if (!inaddr_is_v4(laddr))
		return -EAFNOSUPPORT;
	if (!inaddr_is_any(laddr) && inaddr_v4(laddr) != st->ip)
		return -EADDRNOTAVAIL;
	c->reuseaddr = reuseaddr;
	if (lport == 0) {
		int port = tcp_pick_bind_port(st, c, laddr);
		if (port < 0)
			return port;
		lport = (uint16_t)port;
	} else if (tcp_port_conflict(st, c, laddr, lport, reuseaddr)) {
		return -EADDRINUSE;
	}
	c->laddr = *laddr;
	c->lport = lport;
	c->bound = true;
	c->user_bound = true;
	tcp_bhash_insert(st, c);
	return 0;
}

int tcp_listen(struct us_stack *st, struct tcp_conn *c, int backlog)
{
	if (backlog < 0)
		backlog = 0;
	if (backlog > TCP_MAX_BACKLOG)
		backlog = TCP_MAX_BACKLOG;
	if (c->state == TCP_LISTEN) {
		c->backlog = backlog; /* as Linux: listen again resizes */
		return 0;
	}
	if (c->state != TCP_CLOSED || c->was_established)
		return -EINVAL;
	if (!c->bound) {
		struct inaddr any = inaddr_from_v4(0);
		int rc = tcp_bind(st, c, &any, 0, c->reuseaddr);
		if (rc < 0)
			return rc;
	}
	/* Two listeners never share a port on overlapping addresses
	 * (a specific one and the wildcard included), reuse or not. */
	if (tcp_listen_conflict(st, c))
		return -EADDRINUSE;
	c->backlog = backlog;
	c->max_syn = tcp_of(st)->max_syn_backlog;
	tcp_set_state(st, c, TCP_LISTEN);
	tcp_lhash_insert(st, c);
	return 0;
}

int tcp_connect(struct us_stack *st, struct tcp_conn *c,
		const struct inaddr *raddr, uint16_t rport)
{
	switch (c->state) {
	case TCP_CLOSED:
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		return -EALREADY;
	default:
		return -EISCONN;
	}
	if (c->was_established)
		return -EISCONN;
	if (!inaddr_is_v4(raddr))
		return -EAFNOSUPPORT;
	uint32_t dst = inaddr_v4(raddr);
	/* 0.0.0.0 means this host, as on Linux. */
	c->raddr = dst ? *raddr : inaddr_from_v4(st->ip);
	c->rport = rport;
	dst = inaddr_v4(&c->raddr);
	if (dst != st->ip && !ip4_route(st, dst))
		return -ENETUNREACH;
	if (inaddr_is_any(&c->laddr))
		c->laddr = inaddr_from_v4(st->ip);
	if (!c->bound) {
		int port = tcp_pick_connect_port(st, c);
		if (port < 0)
			return port;
		c->lport = (uint16_t)port;
		c->bound = true;
		tcp_bhash_insert(st, c);
	} else if (tcp_lookup(st, &c->laddr, c->lport, &c->raddr, c->rport)) {
		return -EADDRNOTAVAIL;
	}
	c->err = 0;
	c->soft_err = 0;
	c->iss = tcp_isn(st, &c->laddr, c->lport, &c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_end = c->iss + 1;
	c->recover = c->iss;
	c->snd_sml = c->iss;
	c->rcv_mss = tcp_mss_for_mtu(st);
	if (c->user_mss && c->user_mss < c->rcv_mss)
		c->rcv_mss = c->user_mss;
	c->rcv_wscale = (uint8_t)tcp_choose_wscale(c->rcvbuf);
	c->retries = 0;
	c->backoff = 0;
	c->syn_retransmitted = false;
	tcp_set_state(st, c, TCP_SYN_SENT);
	tcp_ehash_insert(st, c);
	STAT_INC(st, tcp_active_opens);
	tcp_send_syn(st, c);
	return 0;
}

/* Room in the send buffer: bytes the next append may take. */
static uint32_t snd_space(const struct tcp_conn *c)
{
	return c->sndq.bytes < c->sndbuf ? c->sndbuf - c->sndq.bytes : 0;
}

static uint32_t append(struct us_stack *st, struct tcp_conn *c,
		       const uint8_t *buf, uint32_t n)
{
	uint32_t done = 0;

	while (done < n) {
		struct us_pbuf *t = c->sndq.tail;
		uint32_t room = t ? pbuf_tailroom(t) : 0;
		if (!room) {
			/* A new buffer only within the bound (one is always
			 * allowed, so a tiny SO_SNDBUF still sends). */
			if (c->sndq.count &&
			    c->sndq.bytes + pbuf_truesize(t) > c->sndbuf)
				break;
			t = pbuf_alloc(&st->pool,
				       PBUF_SMALL_SIZE - PBUF_HEADROOM, 0);
			if (!t)
				break;
			t->data = t->head; /* no headers go here */
			t->len = 0;
			pbufq_push(&c->sndq, t);
			room = pbuf_tailroom(t);
		}
		uint32_t k = US_MIN(room, n - done);
		memcpy(t->data + t->len, buf + done, k);
		t->len += k;
		done += k;
	}
	c->sndq_len += done;
	c->snd_end += done;
	return done;
}

ssize_t tcp_send(struct us_stack *st, struct tcp_conn *c, const void *buf,
		 size_t n, int flags)
{
	(void)flags;
	if (c->err)
		return -tcp_error(c, true);
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		if (c->fin_queued)
			return -EPIPE;
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		return c->fin_queued ? -EPIPE : -EAGAIN;
	case TCP_CLOSED:
	case TCP_LISTEN:
		return c->was_established ? -EPIPE : -ENOTCONN;
	default:
		return -EPIPE;
	}
	if (n == 0)
		return 0;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (!snd_space(c) && c->sndq.count)
		return -EAGAIN;
	uint32_t k = append(st, c, buf, (uint32_t)n);
	if (!k)
		return -EAGAIN;
	tcp_output(st, c);
	return k;
}

/* After the user read: tell the peer when the window opened enough to
 * matter (RFC 9293 3.8.6.2.2; RFC 1122 4.2.3.3), i.e. when it at least
 * doubles or a peer that was held below one MSS can go on. */
static void window_update(struct us_stack *st, struct tcp_conn *c)
{
	if (!tcp_synchronized(c->state) || c->state == TCP_TIME_WAIT ||
	    c->fin_rcvd)
		return;
	uint32_t cur =
	    seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t ws = c->ws_ok ? c->rcv_wscale : 0;
	uint32_t space = US_MIN(tcp_rcv_space(c), 65535u << ws);
	uint32_t sws = US_MIN(c->rcvbuf / 2, (uint32_t)c->rcv_mss);
	if (space <= cur || space - cur < sws)
		return;
	if (space >= 2 * cur || cur < c->rcv_mss)
		tcp_send_ack(st, c);
}

static uint32_t copy_out(struct tcp_conn *c, uint8_t *buf, uint32_t n,
			 bool peek)
{
	struct us_pbuf *p = c->rcvq.head;
	uint32_t done = 0;

	while (p && done < n) {
		uint32_t k = US_MIN(p->len, n - done);
		memcpy(buf + done, p->data, k);
		done += k;
		if (peek) {
			p = p->next;
			continue;
		}
		pbuf_pull(p, k);
		if (!p->len) {
			pbufq_pop(&c->rcvq);
			pbuf_free(p);
			p = c->rcvq.head;
		}
	}
	if (!peek)
		c->rcvq_len -= done;
	return done;
}

ssize_t tcp_recv(struct us_stack *st, struct tcp_conn *c, void *buf, size_t n,
		 int flags)
{
	if (c->rcvq_len && n) {
		if (n > INT32_MAX)
			n = INT32_MAX;
		uint32_t k = copy_out(c, buf, (uint32_t)n, flags & MSG_PEEK);
		if (!(flags & MSG_PEEK))
			window_update(st, c);
		return k;
	}
	if (c->err)
		return -tcp_error(c, true);
	if (c->fin_rcvd || c->shut_rd || n == 0)
		return 0;
	switch (c->state) {
	case TCP_CLOSED:
		return c->was_established ? 0 : -ENOTCONN;
	case TCP_LISTEN:
		return -ENOTCONN;
	default:
		return -EAGAIN;
	}
}

/* Queue our FIN after the data (RFC 9293 3.10.4 CLOSE). */
static void queue_fin(struct us_stack *st, struct tcp_conn *c)
{
	if (c->fin_queued)
		return;
	c->fin_queued = true;
	switch (c->state) {
	case TCP_ESTABLISHED:
		tcp_set_state(st, c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(st, c, TCP_LAST_ACK);
		break;
	default:
		/* SYN-SENT, SYN-RECEIVED: sent once established. */
		return;
	}
	tcp_output(st, c);
}

int tcp_shutdown(struct us_stack *st, struct tcp_conn *c, int how)
{
	if (c->state == TCP_CLOSED || c->state == TCP_LISTEN)
		return -ENOTCONN;
	if (how == SHUT_RD || how == SHUT_RDWR) {
		c->shut_rd = true;
		tcp_notify(st, c, EPOLLIN);
	}
	if (how == SHUT_WR || how == SHUT_RDWR)
		queue_fin(st, c);
	return 0;
}

void tcp_close(struct us_stack *st, struct tcp_conn *c, bool linger_zero)
{
	c->user = false;
	c->notify = NULL;
	switch (c->state) {
	case TCP_LISTEN:
		tcp_listen_stop(st, c);
		tcp_lhash_remove(st, c);
		tcp_set_state(st, c, TCP_CLOSED);
		break;
	case TCP_CLOSED:
		break;
	case TCP_SYN_SENT:
		tcp_done(st, c, 0);
		break;
	case TCP_TIME_WAIT:
		if (linger_zero)
			tcp_done(st, c, 0);
		break;
	default:
		/* RFC 9293 3.10.5 ABORT for SO_LINGER 0; RFC 2525 2.17:
		 * closing with unread data resets, so the peer learns the
		 * data was not consumed. */
		if (linger_zero || c->rcvq_len) {
			STAT_INC(st, tcp_abort_on_close);
			tcp_send_rst_conn(st, c);
			tcp_done(st, c, 0);
			break;
		}
		queue_fin(st, c);
		if (c->state == TCP_FIN_WAIT_2)
			tcp_timer_arm_mode(st, c, TCP_TM_FINWAIT2,
					   tcp_of(st)->fin_timeout_ns);
		break;
	}
	tcp_reap(st, c);
}

uint32_t tcp_poll(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t ev = 0;

	(void)st;
	if (c->state == TCP_LISTEN)
		return c->accq.n ? EPOLLIN : 0;
	if (c->err)
		ev |= EPOLLERR;
	if (c->rcvq_len || c->fin_rcvd || c->shut_rd)
		ev |= EPOLLIN;
	/* As Linux: RDHUP once reading is shut, by the peer's FIN or by
	 * our own SHUT_RD; HUP once both directions are. */
	if (c->fin_rcvd || c->shut_rd)
		ev |= EPOLLRDHUP;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		break;
	case TCP_CLOSED:
		/* As Linux: a socket that is not connected is writable (a
		 * write fails at once) and hung up; one whose connection
		 * ended (reset, refused, timed out, closed) also has its
		 * reading shut: readable at EOF. */
		ev |= EPOLLOUT | EPOLLHUP;
		if (c->err || c->fin_rcvd || c->fin_queued || c->shut_rd)
			ev |= EPOLLIN | EPOLLRDHUP;
		break;
	default:
		if (c->fin_queued) {
			if (c->fin_rcvd || c->shut_rd)
				ev |= EPOLLHUP;
			ev |= EPOLLOUT; /* a write fails at once: EPIPE */
		} else if (snd_space(c) >= c->sndbuf / 3 || !c->sndq.count) {
			ev |= EPOLLOUT;
		}
		break;
	}
	return ev;
}

static int put_int(void *val, socklen_t *len, int v)
{
	socklen_t n = *len < (socklen_t)sizeof(int) ? *len : sizeof(int);
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

int tcp_setopt(struct us_stack *st, struct tcp_conn *c, int level, int name,
	       const void *val, socklen_t len)
{
	int v;
	int rc = tcp_setopt_ext(st, c, level, name, val, len);

	if (rc != -ENOPROTOOPT)
		return rc;
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(int));
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVBUF:
			c->rcvbuf = (uint32_t)v;
			return 0;
		case SO_SNDBUF:
			c->sndbuf = (uint32_t)v;
			tcp_notify(st, c, EPOLLOUT);
			return 0;
		case SO_REUSEADDR:
			c->reuseaddr = v != 0;
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		c->nodelay = v != 0;
		if (c->nodelay)
			tcp_output(st, c); /* push what Nagle held */
		return 0;
	case TCP_MAXSEG:
		/* Linux: 88..32767 (0 resets), before or after connect. */
		if (v && (v < 88 || v > 32767))
			return -EINVAL;
		c->user_mss = (uint16_t)v;
		/* Like the handshake's (tcp_init_xfer): the limit is on data
		 * and options together, so timestamps take their 12 bytes. */
		if (v && tcp_synchronized(c->state)) {
			uint32_t m = (uint32_t)v - tcp_ts_optlen(c);
			if (m < c->mss)
				c->mss = (uint16_t)US_MAX(m, TCP_MIN_MSS);
		}
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int tcp_getopt(struct us_stack *st, struct tcp_conn *c, int level, int name,
	       void *val, socklen_t *len)
{
	int rc = tcp_getopt_ext(st, c, level, name, val, len);

	if (rc != -ENOPROTOOPT)
		return rc;
	if (level == SOL_SOCKET && name == SO_RCVBUF)
		return put_int(val, len, (int)c->rcvbuf);
	if (level == SOL_SOCKET && name == SO_SNDBUF)
		return put_int(val, len, (int)c->sndbuf);
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		return put_int(val, len, c->nodelay);
	case TCP_INFO:
		return tcp_get_info(st, c, val, len);
	case TCP_MAXSEG:
		/* Linux: the current MSS once connected, else the user's
		 * value or the default. */
		if (tcp_synchronized(c->state))
			return put_int(val, len, c->mss);
		return put_int(val, len,
			       c->user_mss ? c->user_mss : TCP_DEFAULT_MSS);
	default:
		return -ENOPROTOOPT;
	}
}
