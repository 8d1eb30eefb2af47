/* SOCK_DGRAM sockets over UDP: the socket operations on top of a UDP
 * protocol control block. Semantics follow Linux's udp(7) where POSIX
 * leaves a choice. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "net/arp.h"
#include "net/ip4.h"
#include "net/udp.h"
#include "sock/sock.h"
#include "wire/ip4.h"
#include "wire/udp.h"

struct udp_sock {
	struct us_sock sk;
	struct udp_pcb pcb;
	/* A non-blocking send left its datagram waiting on ARP for this next
	 * hop (0: none). If the resolution fails, the socket's pending error
	 * becomes EHOSTUNREACH. */
	uint32_t arp_wait;
	struct us_timer arp_timer;      /* watches arp_wait while we run */
	bool bound_addr, bound_port;    /* by an explicit bind */
	int ttl;                        /* IP_TTL; 0: default */
	uint8_t tos;                    /* IP_TOS */
};

static inline struct udp_sock *to_us(struct us_sock *sk)
{
	return container_of(sk, struct udp_sock, sk);
}
static inline struct udp_sock *pcb_us(struct udp_pcb *pcb)
{
	return container_of(pcb, struct udp_sock, pcb);
}

/* Bring in errors noticed below us: an ICMP error on the pcb, or a failed
 * resolution of a next hop a non-blocking send queued for. ARP has no
 * callback, so its outcome is read here, on every call and poll. */
static void refresh(struct us_stack *st, struct udp_sock *us)
{
	if (us->arp_wait) {
		uint8_t mac[6];
		enum arp_entry_state s = arp_lookup(st, us->arp_wait, mac);
		if (s == ARP_FAILED)
			us->sk.err = EHOSTUNREACH;
		if (s != ARP_PENDING)
			us->arp_wait = 0;
	}
	if (us->pcb.err) {
		us->sk.err = us->pcb.err;
		us->pcb.err = 0;
	}
}

/* How often a pending resolution is looked at: at least once per ARP
 * retry and well within the time ARP holds a failure (ARP_FAILED_HOLD_MS),
 * so the outcome is never missed. */
static uint64_t arp_check_ns(struct us_stack *st)
{
	uint64_t ms = st->cfg.arp_retry_ms ? st->cfg.arp_retry_ms : 1000;
	if (ms > ARP_FAILED_HOLD_MS / 2)
		ms = ARP_FAILED_HOLD_MS / 2;
	return ms * US_NS_PER_MS;
}

/* Tells a watcher (epoll) of the failure when it happens, not only when
 * the program next calls in. */
static void arp_timer_fn(struct us_stack *st, struct us_timer *t)
{
	struct udp_sock *us = container_of(t, struct udp_sock, arp_timer);
	int had = us->sk.err;

	refresh(st, us);
	if (us->arp_wait)
		timer_arm(&st->wheel, t, st->now + arp_check_ns(st));
	if (us->sk.err && !had)
		sock_wake(st, &us->sk, EPOLLERR);
}

static uint32_t udp_sock_poll(struct us_stack *st, struct us_sock *sk)
{
	struct udp_sock *us = to_us(sk);
	uint32_t ev = EPOLLOUT | EPOLLWRNORM;

	refresh(st, us);
	if (us->pcb.rcvq.count)
		ev |= EPOLLIN | EPOLLRDNORM;
	if (sk->err)
		ev |= EPOLLERR;
	if (sk->shut & SOCK_SHUT_RD)
		ev |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (sk->shut == (SOCK_SHUT_RD | SOCK_SHUT_WR))
		ev |= EPOLLHUP;
	return ev;
}

static void pcb_notify(struct us_stack *st, struct udp_pcb *pcb, int events)
{
	struct udp_sock *us = pcb_us(pcb);
	uint32_t ev = 0;

	if (events & UDP_EV_RX)
		ev |= EPOLLIN | EPOLLRDNORM;
	if (events & UDP_EV_ERR)
		ev |= EPOLLERR;
	sock_wake(st, &us->sk, ev);
}

static bool is_broadcast(struct us_stack *st, uint32_t ip)
{
	/* RFC 3021: a /31 (and a /32) has no directed broadcast. */
	uint32_t b = ip4_subnet_bcast(st->ip, st->netmask);
	return ip == INADDR_BROADCAST || (b && ip == b);
}

/* Linux sends to 0.0.0.0 as to this host. */
static uint32_t dest_v4(struct us_stack *st, const struct inaddr *a)
{
	uint32_t ip = inaddr_v4(a);
	return ip ? ip : st->ip;
}

static int autobind(struct us_stack *st, struct udp_sock *us)
{
	struct inaddr any = inaddr_from_v4(0);
	if (us->pcb.lport)
		return 0;
	us->pcb.reuseaddr = us->sk.reuseaddr;
	return udp_bind(st, &us->pcb, &any, 0);
}

static int udp_sock_bind(struct us_stack *st, struct us_sock *sk,
			 const struct sock_addr *a)
{
	struct udp_sock *us = to_us(sk);
	int rc;

	if (us->pcb.lport)
		return -EINVAL;
	us->pcb.reuseaddr = sk->reuseaddr;
	rc = udp_bind(st, &us->pcb, &a->addr, a->port);
	if (rc < 0)
		return rc;
	us->bound_addr = !inaddr_is_any(&a->addr);
	us->bound_port = a->port != 0;
	return 0;
}

/* Linux's __udp_disconnect: forget the peer, and give back an address and
 * port that were chosen automatically rather than bound. */
static int disconnect(struct us_stack *st, struct udp_sock *us)
{
	us->pcb.connected = false;
	us->pcb.raddr = inaddr_from_v4(0);
	us->pcb.rport = 0;
	if (!us->bound_addr)
		us->pcb.laddr = inaddr_from_v4(0);
	if (!us->bound_port)
		udp_unbind(st, &us->pcb);
	return 0;
}

static int udp_sock_connect(struct us_stack *st, struct us_sock *sk,
			    const struct sock_addr *a)
{
	struct udp_sock *us = to_us(sk);
	uint32_t dst;
	int rc;

	if (!a)
		return disconnect(st, us);
	dst = dest_v4(st, &a->addr);
	if (is_broadcast(st, dst) && !sk->broadcast)
		return -EACCES;
	if (!ip4_is_local(st, dst) && !ip4_route(st, dst))
		return -ENETUNREACH;
	if ((rc = autobind(st, us)) < 0)
		return rc;
	/* The source address is fixed now, as the route would pick it. */
	if (inaddr_is_any(&us->pcb.laddr))
		us->pcb.laddr = inaddr_from_v4(st->ip);
	us->pcb.raddr = inaddr_from_v4(dst);
	us->pcb.rport = a->port;
	us->pcb.connected = true;
	return 0;
}

struct arp_wait_arg {
	uint32_t nexthop;
};

static bool arp_settled(struct us_stack *st, struct us_sock *sk, void *arg)
{
	const struct arp_wait_arg *w = arg;
	uint8_t mac[6];
	return arp_lookup(st, w->nexthop, mac) != ARP_PENDING;
}

/* After a datagram went to ip4_output: if it is waiting for the next hop's
 * MAC, a blocking socket waits for the outcome (a send that can never be
 * delivered fails with EHOSTUNREACH, as the kernel's does once its
 * neighbour entry fails); a non-blocking one is told later, in SO_ERROR. */
static int settle_nexthop(struct us_stack *st, struct udp_sock *us,
			  uint32_t dst, int flags)
{
	uint8_t mac[6];
	struct arp_wait_arg w;

	if (ip4_is_local(st, dst) || is_broadcast(st, dst))
		return 0;
	w.nexthop = ip4_route(st, dst);
	if (!w.nexthop || arp_lookup(st, w.nexthop, mac) != ARP_PENDING)
		return 0;
	uint64_t timeo = sock_timeo(&us->sk, flags, true);
	if (timeo == 0) {
		us->arp_wait = w.nexthop;
		if (!timer_pending(&us->arp_timer))
			timer_arm(&st->wheel, &us->arp_timer,
				  st->now + arp_check_ns(st));
		return 0;
	}
	int rc = sock_wait(st, &us->sk, timeo, arp_settled, &w);
	if (rc == -EAGAIN)
		return 0; /* SO_SNDTIMEO: the datagram stays queued */
	if (rc < 0)
		return rc;
	return arp_lookup(st, w.nexthop, mac) == ARP_RESOLVED ? 0
							      : -EHOSTUNREACH;
}

static ssize_t udp_sock_sendto(struct us_stack *st, struct us_sock *sk,
			       const void *buf, size_t n, int flags,
			       const struct sock_addr *to)
{
	struct udp_sock *us = to_us(sk);
	struct udp_tx tx = {.ttl = (uint8_t)us->ttl, .tos = us->tos};
	int rc;

	/* Linux udp_sendmsg's order of checks. */
	if (n > 0xffff)
		return -EMSGSIZE;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	refresh(st, us);
	if (sk->err)
		return -sock_take_error(sk);
	if (sk->shut & SOCK_SHUT_WR)
		return -EPIPE;
	if (to) {
		if (to->port == 0)
			return -EINVAL;
		tx.dst = dest_v4(st, &to->addr);
		tx.dport = to->port;
	} else {
		if (!us->pcb.connected)
			return -EDESTADDRREQ;
		tx.dst = inaddr_v4(&us->pcb.raddr);
		tx.dport = us->pcb.rport;
	}
	if (n > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (is_broadcast(st, tx.dst) && !sk->broadcast)
		return -EACCES;
	if ((rc = autobind(st, us)) < 0)
		return rc;
	if (!inaddr_is_any(&us->pcb.laddr))
		tx.src = inaddr_v4(&us->pcb.laddr);
	rc = udp_output(st, &us->pcb, &tx, buf, (uint32_t)n);
	if (rc < 0)
		return rc;
	rc = settle_nexthop(st, us, tx.dst, flags);
	return rc < 0 ? rc : (ssize_t)n;
}

static bool readable(struct us_stack *st, struct us_sock *sk, void *arg)
{
	struct udp_sock *us = to_us(sk);
	(void)arg;
	refresh(st, us);
	return us->pcb.rcvq.count || sk->err || (sk->shut & SOCK_SHUT_RD);
}

static ssize_t udp_sock_recvfrom(struct us_stack *st, struct us_sock *sk,
				 void *buf, size_t n, int flags,
				 struct sock_addr *from)
{
	struct udp_sock *us = to_us(sk);
	struct us_pbuf *p;
	int rc;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	for (;;) {
		refresh(st, us);
		if (sk->err)
			return -sock_take_error(sk);
		if ((p = us->pcb.rcvq.head))
			break;
		if (sk->shut & SOCK_SHUT_RD)
			return 0;
		rc = sock_wait(st, sk, sock_timeo(sk, flags, false), readable,
			       NULL);
		if (rc < 0)
			return rc;
	}
	size_t copy = US_MIN(n, (size_t)p->len);
	if (copy)
		memcpy(buf, p->data, copy);
	if (from) {
		from->family = AF_INET;
		from->addr = inaddr_from_v4(p->ip_src);
		from->port = (uint16_t)p->user;
	}
	/* udp(7): MSG_TRUNC returns the datagram's real length. POSIX: what
	 * did not fit is discarded with the datagram (unless peeking). */
	ssize_t ret = (flags & MSG_TRUNC) ? (ssize_t)p->len : (ssize_t)copy;
	if (!(flags & MSG_PEEK))
		pbuf_free(pbufq_pop(&us->pcb.rcvq));
	return ret;
}

static int udp_sock_shutdown(struct us_stack *st, struct us_sock *sk, int how)
{
	struct udp_sock *us = to_us(sk);

	/* Linux's inet_shutdown: the flags are set even on an unconnected
	 * datagram socket (waking its readers), which still gets ENOTCONN. */
	sk->shut |= (uint8_t)(how + 1);
	sock_wake(st, sk, EPOLLIN | EPOLLRDHUP | EPOLLHUP);
	return us->pcb.connected ? 0 : -ENOTCONN;
}

static void udp_sock_close(struct us_stack *st, struct us_sock *sk)
{
	struct udp_sock *us = to_us(sk);
	timer_cancel(&st->wheel, &us->arp_timer);
	udp_pcb_release(st, &us->pcb);
	free(us);
}

static int udp_sock_getname(struct us_stack *st, struct us_sock *sk,
			    struct sock_addr *a, bool peer)
{
	struct udp_sock *us = to_us(sk);

	a->family = AF_INET;
	if (peer) {
		if (!us->pcb.connected)
			return -ENOTCONN;
		a->addr = us->pcb.raddr;
		a->port = us->pcb.rport;
	} else {
		a->addr = us->pcb.laddr;
		a->port = us->pcb.lport;
	}
	return 0;
}

static int udp_sock_setsockopt(struct us_stack *st, struct us_sock *sk,
			       int level, int name, const void *val,
			       socklen_t len)
{
	struct udp_sock *us = to_us(sk);
	int v, rc;

	if (level != IPPROTO_IP)
		return -ENOPROTOOPT;
	switch (name) {
	case IP_TTL:
		if ((rc = sock_get_int(val, len, &v)) < 0)
			return rc;
		/* ip(7): 1..255, or -1 for the default. */
		if (v == -1)
			v = 0;
		else if (v < 1 || v > 255)
			return -EINVAL;
		us->ttl = v;
		return 0;
	case IP_TOS:
		if ((rc = sock_get_int(val, len, &v)) < 0)
			return rc;
		us->tos = (uint8_t)v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int udp_sock_getsockopt(struct us_stack *st, struct us_sock *sk,
			       int level, int name, void *val, socklen_t *len)
{
	struct udp_sock *us = to_us(sk);

	if (level != IPPROTO_IP)
		return -ENOPROTOOPT;
	switch (name) {
	case IP_TTL:
		return sock_put_int(val, len, us->ttl ? us->ttl : IP4_DEFAULT_TTL);
	case IP_TOS:
		return sock_put_int(val, len, us->tos);
	default:
		return -ENOPROTOOPT;
	}
}

static void udp_sock_opt_changed(struct us_stack *st, struct us_sock *sk,
				 int name)
{
	struct udp_sock *us = to_us(sk);

	if (name == SO_RCVBUF)
		us->pcb.rcvbuf = sk->rcvbuf;
	else if (name == SO_REUSEADDR)
		us->pcb.reuseaddr = sk->reuseaddr;
}

static const struct sock_ops udp_sock_ops = {
	.bind = udp_sock_bind,
	.connect = udp_sock_connect,
	.sendto = udp_sock_sendto,
	.recvfrom = udp_sock_recvfrom,
	.shutdown = udp_sock_shutdown,
	.close = udp_sock_close,
	.getname = udp_sock_getname,
	.setsockopt = udp_sock_setsockopt,
	.getsockopt = udp_sock_getsockopt,
	.opt_changed = udp_sock_opt_changed,
	.poll = udp_sock_poll,
};

int udp_sock_create(struct us_stack *st, struct us_sock **out)
{
	struct udp_sock *us = calloc(1, sizeof(*us));

	(void)st;
	if (!us)
		return -ENOMEM;
	sock_common_init(&us->sk, &udp_sock_ops, AF_INET, SOCK_DGRAM,
			 IPPROTO_UDP);
	udp_pcb_init(&us->pcb);
	timer_init(&us->arp_timer, arp_timer_fn);
	us->pcb.rcvbuf = us->sk.rcvbuf;
	us->pcb.notify = pcb_notify;
	*out = &us->sk;
	return 0;
}
