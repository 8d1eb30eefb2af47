/* SOCK_STREAM sockets over the TCP engine (tcp.h). The engine decides;
 * this file translates: POSIX blocking (sock_wait drives the stack until
 * the engine reports readiness), errno values as Linux gives them
 * (tcp(7), socket(7)), and the options that belong to the socket. We
 * never raise SIGPIPE: a write after the end fails with EPIPE, as with
 * MSG_NOSIGNAL. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sock/sock.h"
#include "tcp/tcp.h"

struct tcp_sock {
	struct us_sock sk;
	struct tcp_conn *c;
	bool connecting; /* a non-blocking connect was started */
	bool linger_on;	 /* SO_LINGER */
	int linger_s;
};

static const struct sock_ops tcp_sock_ops;

static inline struct tcp_sock *to_ts(struct us_sock *sk)
{
	return container_of(sk, struct tcp_sock, sk);
}

static void conn_notify(struct us_stack *st, struct tcp_conn *c,
			uint32_t events, void *arg)
{
	(void)c;
	sock_wake(st, &((struct tcp_sock *)arg)->sk, events);
}

/* Errors live in the engine until someone looks; poll (and so SO_ERROR)
 * moves them to the socket, where every call finds them. */
static void refresh(struct tcp_sock *ts)
{
	if (!ts->sk.err)
		ts->sk.err = tcp_error(ts->c, true);
}

static uint32_t tcp_sock_poll(struct us_stack *st, struct us_sock *sk)
{
	struct tcp_sock *ts = to_ts(sk);
	uint32_t ev = tcp_poll(st, ts->c);

	refresh(ts);
	if (sk->err)
		ev |= EPOLLERR;
	if (ev & EPOLLIN)
		ev |= EPOLLRDNORM;
	if (ev & EPOLLOUT)
		ev |= EPOLLWRNORM;
	return ev;
}

static bool cond_events(struct us_stack *st, struct us_sock *sk, void *arg)
{
	uint32_t want = *(uint32_t *)arg;
	return (tcp_sock_poll(st, sk) & want) != 0;
}

static bool cond_not_connecting(struct us_stack *st, struct us_sock *sk,
				void *arg)
{
	(void)st;
	(void)arg;
	enum tcp_state s = tcp_state(to_ts(sk)->c);
	return s != TCP_SYN_SENT && s != TCP_SYN_RECEIVED;
}

/* Wait until one of `want` holds, at most until *deadline (ns, stack
 * clock; UINT64_MAX: forever). */
static int wait_events(struct us_stack *st, struct us_sock *sk, uint32_t want,
		       uint64_t deadline)
{
	uint64_t now = us_stack_now(st);
	uint64_t t = deadline == UINT64_MAX ? SOCK_TIMEO_FOREVER
		     : deadline > now	    ? deadline - now
					    : 0;
	if (!t)
		return -EAGAIN;
	return sock_wait(st, sk, t, cond_events, &want);
}

static uint64_t deadline_of(struct us_stack *st, uint64_t timeo)
{
	if (timeo == SOCK_TIMEO_FOREVER)
		return UINT64_MAX;
	uint64_t now = us_stack_now(st);
	return now + timeo < now ? UINT64_MAX : now + timeo;
}

static int tcp_sock_bind(struct us_stack *st, struct us_sock *sk,
			 const struct sock_addr *a)
{
	return tcp_bind(st, to_ts(sk)->c, &a->addr, a->port, sk->reuseaddr);
}

static int tcp_sock_listen(struct us_stack *st, struct us_sock *sk, int backlog)
{
	struct tcp_sock *ts = to_ts(sk);
	enum tcp_state s = tcp_state(ts->c);

	if (s != TCP_CLOSED && s != TCP_LISTEN)
		return -EINVAL;
	tcp_setopt(st, ts->c, SOL_SOCKET, SO_REUSEADDR, &(int){sk->reuseaddr},
		   sizeof(int));
	return tcp_listen(st, ts->c, backlog);
}

/* connect(AF_UNSPEC): Linux's tcp_disconnect, an abort; the socket can
 * then connect again. */
static int disconnect(struct us_stack *st, struct tcp_sock *ts)
{
	struct tcp_conn *n = tcp_conn_new(st);
	if (!n)
		return -ENOMEM;
	tcp_close(st, ts->c, true);
	ts->c = n;
	ts->connecting = false;
	ts->sk.err = 0;
	tcp_set_notify(n, conn_notify, ts);
	tcp_setopt(st, n, SOL_SOCKET, SO_RCVBUF, &(int){(int)ts->sk.rcvbuf},
		   sizeof(int));
	tcp_setopt(st, n, SOL_SOCKET, SO_SNDBUF, &(int){(int)ts->sk.sndbuf},
		   sizeof(int));
	return 0;
}

static int tcp_sock_connect(struct us_stack *st, struct us_sock *sk,
			    const struct sock_addr *a)
{
	struct tcp_sock *ts = to_ts(sk);
	enum tcp_state s = tcp_state(ts->c);
	int rc;

	if (!a)
		return disconnect(st, ts);
	refresh(ts);
	if (ts->connecting) {
		if (s == TCP_SYN_SENT || s == TCP_SYN_RECEIVED)
			return -EALREADY;
		/* The outcome of the earlier non-blocking connect: success
		 * is reported once, as Linux (the socket is then connected
		 * and the next connect() says EISCONN). */
		ts->connecting = false;
		if (sk->err)
			return -sock_take_error(sk);
		if (s != TCP_CLOSED)
			return 0;
		/* Failed, its error already taken (SO_ERROR): Linux says
		 * ECONNABORTED once; the next connect() starts again. */
		return -ECONNABORTED;
	}
	if (s == TCP_LISTEN)
		return -EISCONN;
	rc = tcp_connect(st, ts->c, &a->addr, a->port);
	if (rc < 0)
		return rc;
	uint64_t timeo = sock_timeo(sk, 0, true);
	if (!timeo) {
		ts->connecting = true;
		return -EINPROGRESS;
	}
	rc = sock_wait(st, sk, timeo, cond_not_connecting, NULL);
	if (rc == -EAGAIN) {
		ts->connecting = true; /* SO_SNDTIMEO ran out, as Linux */
		return -EINPROGRESS;
	}
	if (rc < 0)
		return rc;
	refresh(ts);
	if (sk->err)
		return -sock_take_error(sk);
	if (tcp_state(ts->c) == TCP_CLOSED)
		return -ECONNREFUSED;
	return 0;
}

static int tcp_sock_new(struct us_stack *st, struct tcp_conn *c,
			struct tcp_sock **out)
{
	struct tcp_sock *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return -ENOMEM;
	sock_common_init(&ts->sk, &tcp_sock_ops, AF_INET, SOCK_STREAM,
			 IPPROTO_TCP);
	ts->c = c;
	tcp_set_notify(c, conn_notify, ts);
	int v;
	socklen_t len = sizeof(v);
	if (tcp_getopt(st, c, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0)
		ts->sk.rcvbuf = (uint32_t)v;
	len = sizeof(v);
	if (tcp_getopt(st, c, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0)
		ts->sk.sndbuf = (uint32_t)v;
	*out = ts;
	return 0;
}

static int tcp_sock_accept(struct us_stack *st, struct us_sock *sk,
			   struct sock_addr *peer)
{
	struct tcp_sock *ts = to_ts(sk), *ns;
	uint64_t deadline = deadline_of(st, sock_timeo(sk, 0, false));
	struct tcp_conn *c;
	int err, rc;

	for (;;) {
		c = tcp_accept(st, ts->c, &err);
		if (c)
			break;
		if (err != -EAGAIN)
			return err;
		rc = wait_events(st, sk, EPOLLIN | EPOLLERR, deadline);
		if (rc < 0)
			return rc;
	}
	rc = tcp_sock_new(st, c, &ns);
	if (rc < 0) {
		tcp_close(st, c, true);
		return rc;
	}
	ns->sk.reuseaddr = sk->reuseaddr;
	rc = sock_fd_alloc(st, &ns->sk);
	if (rc < 0) {
		tcp_close(st, c, true);
		free(ns);
		return rc;
	}
	if (peer) {
		tcp_addrs(c, NULL, NULL, &peer->addr, &peer->port);
		peer->family = AF_INET;
	}
	return rc;
}

static ssize_t tcp_sock_send(struct us_stack *st, struct us_sock *sk,
			     const void *buf, size_t n, int flags,
			     const struct sock_addr *to)
{
	struct tcp_sock *ts = to_ts(sk);
	uint64_t deadline = deadline_of(st, sock_timeo(sk, flags, true));
	size_t total = 0;

	(void)to;
	for (;;) {
		refresh(ts);
		if (sk->err) {
			int e = sock_take_error(sk);
			return total ? (ssize_t)total : -e;
		}
		ssize_t r = tcp_send(st, ts->c, (const uint8_t *)buf + total,
				     n - total, flags);
		if (r > 0) {
			total += (size_t)r;
			if (total == n)
				return (ssize_t)total;
			continue;
		}
		if (r == 0)
			return (ssize_t)total;
		if (r != -EAGAIN)
			return total ? (ssize_t)total : r;
		/* Linux: a blocking send that times out or is cut short
		 * returns what it queued so far. */
		int rc = wait_events(st, sk, EPOLLOUT | EPOLLERR | EPOLLHUP,
				     deadline);
		if (rc < 0)
			return total ? (ssize_t)total : rc;
	}
}

static ssize_t recv_once(struct us_stack *st, struct tcp_sock *ts, void *buf,
			 size_t n, int flags)
{
	ssize_t r = tcp_recv(st, ts->c, buf, n, flags);
	if (r > 0)
		return r;
	/* Data first, then the error, then end of file. */
	if (ts->sk.err)
		return -sock_take_error(&ts->sk);
	return r;
}

static ssize_t tcp_sock_recv(struct us_stack *st, struct us_sock *sk, void *buf,
			     size_t n, int flags, struct sock_addr *from)
{
	struct tcp_sock *ts = to_ts(sk);
	uint64_t deadline = deadline_of(st, sock_timeo(sk, flags, false));
	bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
	size_t total = 0;

	(void)from; /* a stream socket reports no source address */
	for (;;) {
		ssize_t r =
		    recv_once(st, ts, (uint8_t *)buf + total, n - total, flags);
		if (r > 0) {
			total += (size_t)r;
			if (!waitall || total == n)
				return (ssize_t)total;
			continue;
		}
		if (r != -EAGAIN || total)
			return total ? (ssize_t)total : r;
		int rc = wait_events(st, sk, EPOLLIN | EPOLLERR | EPOLLHUP,
				     deadline);
		if (rc < 0)
			return total ? (ssize_t)total : rc;
	}
}

static int tcp_sock_shutdown(struct us_stack *st, struct us_sock *sk, int how)
{
	int rc = tcp_shutdown(st, to_ts(sk)->c, how);
	if (rc < 0)
		return rc;
	if (how == SHUT_RD || how == SHUT_RDWR)
		sk->shut |= SOCK_SHUT_RD;
	if (how == SHUT_WR || how == SHUT_RDWR)
		sk->shut |= SOCK_SHUT_WR;
	return 0;
}

static bool cond_flushed(struct us_stack *st, struct us_sock *sk, void *arg)
{
	(void)st;
	(void)arg;
	enum tcp_state s = tcp_state(to_ts(sk)->c);
	return s == TCP_CLOSED || s == TCP_FIN_WAIT_2 || s == TCP_TIME_WAIT;
}

static void tcp_sock_close(struct us_stack *st, struct us_sock *sk)
{
	struct tcp_sock *ts = to_ts(sk);
	bool abort = ts->linger_on && ts->linger_s == 0;

	/* SO_LINGER with a time on a blocking socket: wait (up to that
	 * time) for the data and FIN to be acknowledged. */
	if (ts->linger_on && ts->linger_s > 0 && !sk->nonblock &&
	    tcp_state(ts->c) != TCP_LISTEN &&
	    tcp_shutdown(st, ts->c, SHUT_WR) == 0)
		sock_wait(st, sk, (uint64_t)ts->linger_s * US_NS_PER_S,
			  cond_flushed, NULL);
	tcp_close(st, ts->c, abort);
	free(ts);
}

static int tcp_sock_getname(struct us_stack *st, struct us_sock *sk,
			    struct sock_addr *a, bool peer)
{
	struct tcp_sock *ts = to_ts(sk);
	enum tcp_state s = tcp_state(ts->c);

	(void)st;
	a->family = AF_INET;
	if (peer) {
		if (s == TCP_CLOSED || s == TCP_LISTEN || s == TCP_SYN_SENT)
			return -ENOTCONN;
		tcp_addrs(ts->c, NULL, NULL, &a->addr, &a->port);
	} else {
		tcp_addrs(ts->c, &a->addr, &a->port, NULL, NULL);
	}
	return 0;
}

static int tcp_sock_setsockopt(struct us_stack *st, struct us_sock *sk,
			       int level, int name, const void *val,
			       socklen_t len)
{
	struct tcp_sock *ts = to_ts(sk);

	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (len < sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		ts->linger_on = l.l_onoff != 0;
		ts->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
		return 0;
	}
	if (level == SOL_SOCKET && name != SO_KEEPALIVE)
		return -ENOPROTOOPT;
	return tcp_setopt(st, ts->c, level, name, val, len);
}

static int tcp_sock_getsockopt(struct us_stack *st, struct us_sock *sk,
			       int level, int name, void *val, socklen_t *len)
{
	struct tcp_sock *ts = to_ts(sk);

	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_LINGER: {
			struct linger l = {ts->linger_on, ts->linger_s};
			socklen_t n = US_MIN(*len, (socklen_t)sizeof(l));
			memcpy(val, &l, n);
			*len = n;
			return 0;
		}
		case SO_ACCEPTCONN:
			return sock_put_int(val, len,
					    tcp_state(ts->c) == TCP_LISTEN);
		case SO_KEEPALIVE:
			break;
		default:
			return -ENOPROTOOPT;
		}
	}
	return tcp_getopt(st, ts->c, level, name, val, len);
}

static void tcp_sock_opt_changed(struct us_stack *st, struct us_sock *sk,
				 int name)
{
	struct tcp_sock *ts = to_ts(sk);
	int v;

	switch (name) {
	case SO_RCVBUF:
		v = (int)sk->rcvbuf;
		break;
	case SO_SNDBUF:
		v = (int)sk->sndbuf;
		break;
	case SO_REUSEADDR:
		v = sk->reuseaddr;
		break;
	default:
		return;
	}
	tcp_setopt(st, ts->c, SOL_SOCKET, name, &v, sizeof(v));
}

static const struct sock_ops tcp_sock_ops = {
    .bind = tcp_sock_bind,
    .connect = tcp_sock_connect,
    .listen = tcp_sock_listen,
    .accept = tcp_sock_accept,
    .sendto = tcp_sock_send,
    .recvfrom = tcp_sock_recv,
    .shutdown = tcp_sock_shutdown,
    .close = tcp_sock_close,
    .getname = tcp_sock_getname,
    .setsockopt = tcp_sock_setsockopt,
    .getsockopt = tcp_sock_getsockopt,
    .opt_changed = tcp_sock_opt_changed,
    .poll = tcp_sock_poll,
};

int tcp_sock_create(struct us_stack *st, struct us_sock **out)
{
	struct tcp_conn *c = tcp_conn_new(st);
	struct tcp_sock *ts;
	int rc;

	if (!c)
		return -ENOMEM;
	rc = tcp_sock_new(st, c, &ts);
	if (rc < 0) {
		tcp_close(st, c, true);
		return rc;
	}
	*out = &ts->sk;
	return 0;
}
