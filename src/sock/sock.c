/* The descriptor table and the calls that create, close and configure
 * descriptors: us_socket, us_close, us_fcntl. */
#include "sock/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SOCK_TABLE_INITIAL 64u

/* Descriptors are indices into slot[]; lowest free first, as POSIX
 * requires of socket(), so a program that closes and reopens sees the
 * numbers it expects. */
struct sock_table {
	struct us_sock **slot;
	uint32_t cap;           /* slots allocated */
	uint32_t max;           /* descriptors allowed */
	uint32_t hint;          /* no free slot below this one */
	uint32_t used;
};

/* The protocols a socket can be made for. A new transport adds a line. */
static const struct {
	int family, type, protocol;
	int (*create)(struct us_stack *st, struct us_sock **out);
} protocols[] = {
	{AF_INET, SOCK_DGRAM, IPPROTO_UDP, udp_sock_create},
	{AF_INET, SOCK_STREAM, IPPROTO_TCP, tcp_sock_create},
};

int sock_ret(int rc)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

ssize_t sock_ret_ssize(ssize_t rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

int sock_init(struct us_stack *st)
{
	struct sock_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->max = SOCK_MAX_FDS;
	st->socks = t;
	return 0;
}

void sock_fini(struct us_stack *st)
{
	struct sock_table *t = st->socks;
	if (!t)
		return;
	for (uint32_t fd = 0; fd < t->cap; fd++) {
		struct us_sock *sk = t->slot[fd];
		if (!sk)
			continue;
		t->slot[fd] = NULL;
		sock_detach(st, sk);
		sk->ops->close(st, sk);
	}
	free(t->slot);
	free(t);
	st->socks = NULL;
}

int sock_table_set_max(struct us_stack *st, uint32_t max)
{
	struct sock_table *t = st->socks;
	if (max == 0 || max > SOCK_MAX_FDS)
		return -EINVAL;
	t->max = max;
	return 0;
}

static int table_grow(struct sock_table *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : SOCK_TABLE_INITIAL;
	if (ncap > t->max)
		ncap = t->max;
	struct us_sock **s = realloc(t->slot, ncap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + t->cap, 0, (ncap - t->cap) * sizeof(*s));
	t->slot = s;
	t->cap = ncap;
	return 0;
}

int sock_fd_alloc(struct us_stack *st, struct us_sock *sk)
{
	struct sock_table *t = st->socks;
	uint32_t fd = t->hint;

	while (fd < t->cap && t->slot[fd])
		fd++;
	if (fd >= t->max)
		return -EMFILE;
	if (fd >= t->cap) {
		int rc = table_grow(t);
		if (rc < 0)
			return rc;
	}
	t->slot[fd] = sk;
	t->hint = fd + 1;
	t->used++;
	sk->fd = (int)fd;
	return (int)fd;
}

void sock_fd_free(struct us_stack *st, int fd)
{
	struct sock_table *t = st->socks;
	if (fd < 0 || (uint32_t)fd >= t->cap || !t->slot[fd])
		return;
	t->slot[fd] = NULL;
	t->used--;
	if ((uint32_t)fd < t->hint)
		t->hint = (uint32_t)fd;
}

struct us_sock *sock_get(struct us_stack *st, int fd)
{
	struct sock_table *t = st->socks;
	if (fd < 0 || (uint32_t)fd >= t->cap)
		return NULL;
	return t->slot[fd];
}

int sock_lookup(struct us_stack *st, int fd, struct us_sock **out)
{
	struct us_sock *sk = st ? sock_get(st, fd) : NULL;
	if (!sk)
		return -EBADF;
	if (!sk->family)
		return -ENOTSOCK;
	*out = sk;
	return 0;
}

void sock_common_init(struct us_sock *sk, const struct sock_ops *ops,
		      int family, int type, int protocol)
{
	memset(sk, 0, sizeof(*sk));
	sk->ops = ops;
	sk->fd = -1;
	sk->family = family;
	sk->type = type;
	sk->protocol = protocol;
	sk->rcvbuf = SOCK_RCVBUF_DEFAULT;
	sk->sndbuf = SOCK_SNDBUF_DEFAULT;
	sk->rcvtimeo = SOCK_TIMEO_FOREVER;
	sk->sndtimeo = SOCK_TIMEO_FOREVER;
}

/* Which constructor serves (domain, type, protocol), with Linux's errno
 * choices: an unknown family is EAFNOSUPPORT; a type nothing implements is
 * ESOCKTNOSUPPORT; a protocol the type does not speak is EPROTONOSUPPORT;
 * protocol 0 picks the type's default. */
static int find_protocol(int domain, int type, int protocol, size_t *idx)
{
	bool family_known = false, type_known = false;

	for (size_t i = 0; i < US_ARRAY_SIZE(protocols); i++) {
		if (protocols[i].family != domain)
			continue;
		family_known = true;
		if (protocols[i].type != type)
			continue;
		type_known = true;
		if (protocol == 0 || protocol == protocols[i].protocol) {
			*idx = i;
			return 0;
		}
	}
	if (!family_known)
		return -EAFNOSUPPORT;
	if (!type_known)
		return -ESOCKTNOSUPPORT;
	return -EPROTONOSUPPORT;
}

int us_socket(struct us_stack *st, int domain, int type, int protocol)
{
	SOCK_API_GUARD(st);
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct us_sock *sk;
	size_t i;
	int rc;

	if (!st)
		return sock_ret(-EINVAL);
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (type <= 0 || type > SOCK_PACKET || protocol < 0)
		return sock_ret(-EINVAL);
	rc = find_protocol(domain, type, protocol, &i);
	if (rc < 0)
		return sock_ret(rc);
	rc = protocols[i].create(st, &sk);
	if (rc < 0)
		return sock_ret(rc);
	sk->nonblock = (flags & SOCK_NONBLOCK) != 0;
	rc = sock_fd_alloc(st, sk);
	if (rc < 0) {
		sk->ops->close(st, sk);
		return sock_ret(rc);
	}
	return rc;
}

int us_close(struct us_stack *st, int fd)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk = st ? sock_get(st, fd) : NULL;
	if (!sk)
		return sock_ret(-EBADF);
	sock_fd_free(st, fd);
	sock_detach(st, sk);
	sk->ops->close(st, sk);
	return 0;
}

int us_fcntl(struct us_stack *st, int fd, int cmd, ...)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk = st ? sock_get(st, fd) : NULL;
	va_list ap;
	int arg;

	if (!sk)
		return sock_ret(-EBADF);
	switch (cmd) {
	case F_GETFL:
		return O_RDWR | (sk->nonblock ? O_NONBLOCK : 0);
	case F_SETFL:
		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
		/* Like Linux, the access mode and unknown bits are ignored. */
		sk->nonblock = (arg & O_NONBLOCK) != 0;
		return 0;
	case F_GETFD:
		return 0;
	case F_SETFD:
		return 0; /* close-on-exec means nothing for our descriptors */
	default:
		return sock_ret(-EINVAL);
	}
}
