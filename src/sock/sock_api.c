/* The public socket calls that carry addresses or data: generic argument
 * checks (with the errno values Linux gives), address conversion, then the
 * protocol's operation. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "sock/sock.h"

/* Linux's move_addr_to_kernel: a length beyond sockaddr_storage is EINVAL,
 * an unreadable (NULL) address of nonzero length EFAULT. */
static int check_user_addr(const struct sockaddr *sa, socklen_t len)
{
	if ((int)len < 0 || len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	if (len && !sa)
		return -EFAULT;
	return 0;
}

/* An AF_INET address in. The family itself is checked by the caller,
 * since bind, connect and sendto each accept AF_UNSPEC differently. */
static int addr_in4(const struct sockaddr *sa, socklen_t len,
		    struct sock_addr *out)
{
	struct sockaddr_in sin;

	if (len < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, sa, sizeof(sin));
	out->addr = inaddr_from_v4(sin.sin_addr.s_addr);
	out->port = ntohs(sin.sin_port);
	out->family = AF_INET;
	return 0;
}

static sa_family_t user_family(const struct sockaddr *sa)
{
	sa_family_t f;
	memcpy(&f, sa, sizeof(f));
	return f;
}

/* An address out: truncated to the caller's buffer, *len set to the full
 * size (POSIX getsockname/recvfrom). */
static void addr_out(const struct sock_addr *a, struct sockaddr *sa,
		     socklen_t *len)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(a->port);
	sin.sin_addr.s_addr = inaddr_v4(&a->addr);
	memcpy(sa, &sin, US_MIN((size_t)*len, sizeof(sin)));
	*len = sizeof(sin);
}

static int check_out_len(const struct sockaddr *sa, const socklen_t *len)
{
	if (!sa || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	return 0;
}

int us_bind(struct us_stack *st, int fd, const struct sockaddr *addr,
	    socklen_t len)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	struct sock_addr a;
	int rc;

	if ((rc = sock_lookup(st, fd, &sk)) < 0 ||
	    (rc = check_user_addr(addr, len)) < 0)
		return sock_ret(rc);
	if (!sk->ops->bind)
		return sock_ret(-EOPNOTSUPP);
	if ((rc = addr_in4(addr, len, &a)) < 0)
		return sock_ret(rc);
	/* Linux accepts AF_UNSPEC only with INADDR_ANY, for old programs. */
	sa_family_t f = user_family(addr);
	if (f != AF_INET && (f != AF_UNSPEC || !inaddr_is_any(&a.addr)))
		return sock_ret(-EAFNOSUPPORT);
	return sock_ret(sk->ops->bind(st, sk, &a));
}

int us_connect(struct us_stack *st, int fd, const struct sockaddr *addr,
	       socklen_t len)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	struct sock_addr a;
	int rc;

	if ((rc = sock_lookup(st, fd, &sk)) < 0 ||
	    (rc = check_user_addr(addr, len)) < 0)
		return sock_ret(rc);
	if (!sk->ops->connect)
		return sock_ret(-EOPNOTSUPP);
	if (len < sizeof(sa_family_t))
		return sock_ret(-EINVAL);
	if (user_family(addr) == AF_UNSPEC)
		return sock_ret(sk->ops->connect(st, sk, NULL));
	if ((rc = addr_in4(addr, len, &a)) < 0)
		return sock_ret(rc);
	if (user_family(addr) != AF_INET)
		return sock_ret(-EAFNOSUPPORT);
	return sock_ret(sk->ops->connect(st, sk, &a));
}

int us_listen(struct us_stack *st, int fd, int backlog)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	int rc = sock_lookup(st, fd, &sk);

	if (rc < 0)
		return sock_ret(rc);
	if (!sk->ops->listen)
		return sock_ret(-EOPNOTSUPP);
	return sock_ret(sk->ops->listen(st, sk, backlog));
}

int us_accept(struct us_stack *st, int fd, struct sockaddr *addr,
	      socklen_t *len)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	struct sock_addr peer = {.family = 0};
	int rc = sock_lookup(st, fd, &sk);

	if (rc < 0)
		return sock_ret(rc);
	if (!sk->ops->accept)
		return sock_ret(-EOPNOTSUPP);
	if (addr && (rc = check_out_len(addr, len)) < 0)
		return sock_ret(rc);
	rc = sk->ops->accept(st, sk, &peer);
	if (rc >= 0 && addr)
		addr_out(&peer, addr, len);
	return sock_ret(rc);
}

ssize_t us_sendto(struct us_stack *st, int fd, const void *buf, size_t n,
		  int flags, const struct sockaddr *to, socklen_t tolen)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	struct sock_addr a, *ap = NULL;
	int rc;

	if ((rc = sock_lookup(st, fd, &sk)) < 0)
		return sock_ret_ssize(rc);
	if (!buf && n)
		return sock_ret_ssize(-EFAULT);
	if (!sk->ops->sendto)
		return sock_ret_ssize(-EOPNOTSUPP);
	/* A stream socket ignores the address, as Linux's TCP does. */
	if (to && sk->type != SOCK_STREAM) {
		if ((rc = check_user_addr(to, tolen)) < 0 ||
		    (rc = addr_in4(to, tolen, &a)) < 0)
			return sock_ret_ssize(rc);
		sa_family_t f = user_family(to);
		if (f != AF_INET && f != AF_UNSPEC)
			return sock_ret_ssize(-EAFNOSUPPORT);
		ap = &a;
	}
	return sock_ret_ssize(sk->ops->sendto(st, sk, buf, n, flags, ap));
}

ssize_t us_send(struct us_stack *st, int fd, const void *buf, size_t n,
		int flags)
{
	return us_sendto(st, fd, buf, n, flags, NULL, 0);
}

ssize_t us_recvfrom(struct us_stack *st, int fd, void *buf, size_t n,
		    int flags, struct sockaddr *from, socklen_t *fromlen)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	struct sock_addr a = {.family = 0};
	ssize_t r;
	int rc;

	if ((rc = sock_lookup(st, fd, &sk)) < 0)
		return sock_ret_ssize(rc);
	if (!buf && n)
		return sock_ret_ssize(-EFAULT);
	if (from && (rc = check_out_len(from, fromlen)) < 0)
		return sock_ret_ssize(rc);
	if (!sk->ops->recvfrom)
		return sock_ret_ssize(-EOPNOTSUPP);
	r = sk->ops->recvfrom(st, sk, buf, n, flags, &a);
	if (r >= 0 && from) {
		if (a.family)
			addr_out(&a, from, fromlen);
		else
			*fromlen = 0;
	}
	return sock_ret_ssize(r);
}

ssize_t us_recv(struct us_stack *st, int fd, void *buf, size_t n, int flags)
{
	return us_recvfrom(st, fd, buf, n, flags, NULL, NULL);
}

int us_shutdown(struct us_stack *st, int fd, int how)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	int rc = sock_lookup(st, fd, &sk);

	if (rc < 0)
		return sock_ret(rc);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return sock_ret(-EINVAL);
	if (!sk->ops->shutdown)
		return sock_ret(-EOPNOTSUPP);
	return sock_ret(sk->ops->shutdown(st, sk, how));
}

static int getname(struct us_stack *st, int fd, struct sockaddr *addr,
		   socklen_t *len, bool peer)
{
	struct us_sock *sk;
	struct sock_addr a = {.family = AF_INET};
	int rc;

	if ((rc = sock_lookup(st, fd, &sk)) < 0 ||
	    (rc = check_out_len(addr, len)) < 0)
		return sock_ret(rc);
	if (!sk->ops->getname)
		return sock_ret(-EOPNOTSUPP);
	a.addr = inaddr_from_v4(0);
	rc = sk->ops->getname(st, sk, &a, peer);
	if (rc < 0)
		return sock_ret(rc);
	addr_out(&a, addr, len);
	return 0;
}

int us_getsockname(struct us_stack *st, int fd, struct sockaddr *addr,
		   socklen_t *len)
{
	SOCK_API_GUARD(st);
	return getname(st, fd, addr, len, false);
}

int us_getpeername(struct us_stack *st, int fd, struct sockaddr *addr,
		   socklen_t *len)
{
	SOCK_API_GUARD(st);
	return getname(st, fd, addr, len, true);
}
