/* Socket options: the SOL_SOCKET ones every socket has, and the dispatch
 * of the rest to the protocol. Values and errno choices follow Linux
 * (socket(7)), since that is what programs are written against. */
#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include "sock/sock.h"

int sock_get_int(const void *val, socklen_t len, int *v)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(v, val, sizeof(int));
	return 0;
}

int sock_put_int(void *val, socklen_t *len, int v)
{
	socklen_t n = US_MIN(*len, (socklen_t)sizeof(int));
	if (n)
		memcpy(val, &v, n);
	*len = n;
	return 0;
}

/* socket(7): the kernel doubles the value asked for (to leave room for
 * bookkeeping) and getsockopt returns the doubled value; we keep that so
 * programs tuned for Linux see the numbers they expect. */
static uint32_t buf_size(int v, uint32_t min)
{
	uint64_t d = v < 0 ? 0 : (uint64_t)v * 2;
	if (d < min)
		d = min;
	if (d > SOCK_BUF_MAX)
		d = SOCK_BUF_MAX;
	return (uint32_t)d;
}

static int set_timeo(const void *val, socklen_t len, uint64_t *out)
{
	struct timeval tv;

	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0) {
		*out = 0; /* Linux: a negative time means "do not wait" */
		return 0;
	}
	if (tv.tv_sec == 0 && tv.tv_usec == 0) {
		*out = SOCK_TIMEO_FOREVER;
		return 0;
	}
	uint64_t ns = (uint64_t)tv.tv_sec * US_NS_PER_S +
		      (uint64_t)tv.tv_usec * 1000u;
	*out = ns / US_NS_PER_S == (uint64_t)tv.tv_sec ? ns : SOCK_TIMEO_FOREVER;
	return 0;
}

static int get_timeo(void *val, socklen_t *len, uint64_t t)
{
	struct timeval tv = {0, 0};

	if (t != SOCK_TIMEO_FOREVER) {
		tv.tv_sec = (time_t)(t / US_NS_PER_S);
		tv.tv_usec = (suseconds_t)((t % US_NS_PER_S) / 1000u);
	}
	socklen_t n = US_MIN(*len, (socklen_t)sizeof(tv));
	if (n)
		memcpy(val, &tv, n);
	*len = n;
	return 0;
}

int sock_setopt_generic(struct us_stack *st, struct us_sock *sk, int name,
			const void *val, socklen_t len)
{
	int v, rc;

	switch (name) {
	case SO_RCVTIMEO:
		return set_timeo(val, len, &sk->rcvtimeo);
	case SO_SNDTIMEO:
		return set_timeo(val, len, &sk->sndtimeo);
	case SO_REUSEADDR:
	case SO_BROADCAST:
	case SO_RCVBUF:
	case SO_SNDBUF:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if ((rc = sock_get_int(val, len, &v)) < 0)
		return rc;
	switch (name) {
	case SO_REUSEADDR:
		sk->reuseaddr = v != 0;
		break;
	case SO_BROADCAST:
		sk->broadcast = v != 0;
		break;
	case SO_RCVBUF:
		sk->rcvbuf = buf_size(v, SOCK_RCVBUF_MIN);
		break;
	case SO_SNDBUF:
		sk->sndbuf = buf_size(v, SOCK_SNDBUF_MIN);
		break;
	}
	if (sk->ops->opt_changed)
		sk->ops->opt_changed(st, sk, name);
	return 0;
}

int sock_getopt_generic(struct us_stack *st, struct us_sock *sk, int name,
			void *val, socklen_t *len)
{
	switch (name) {
	case SO_TYPE:
		return sock_put_int(val, len, sk->type);
	case SO_DOMAIN:
		return sock_put_int(val, len, sk->family);
	case SO_PROTOCOL:
		return sock_put_int(val, len, sk->protocol);
	case SO_ERROR:
		/* Read and clear; poll first brings in an error the protocol
		 * only notices when asked (a failed ARP resolution). */
		if (sk->ops->poll)
			sk->ops->poll(st, sk);
		return sock_put_int(val, len, sock_take_error(sk));
	case SO_REUSEADDR:
		return sock_put_int(val, len, sk->reuseaddr);
	case SO_BROADCAST:
		return sock_put_int(val, len, sk->broadcast);
	case SO_RCVBUF:
		return sock_put_int(val, len, (int)sk->rcvbuf);
	case SO_SNDBUF:
		return sock_put_int(val, len, (int)sk->sndbuf);
	case SO_RCVTIMEO:
		return get_timeo(val, len, sk->rcvtimeo);
	case SO_SNDTIMEO:
		return get_timeo(val, len, sk->sndtimeo);
	default:
		return -ENOPROTOOPT;
	}
}

int us_setsockopt(struct us_stack *st, int fd, int level, int name,
		  const void *val, socklen_t len)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	int rc = sock_lookup(st, fd, &sk);

	if (rc < 0)
		return sock_ret(rc);
	if ((int)len < 0)
		return sock_ret(-EINVAL);
	if (!val && len)
		return sock_ret(-EFAULT);
	if (!val)
		return sock_ret(-EINVAL);
	if (level == SOL_SOCKET) {
		rc = sock_setopt_generic(st, sk, name, val, len);
		if (rc != -ENOPROTOOPT)
			return sock_ret(rc);
	}
	if (!sk->ops->setsockopt)
		return sock_ret(-ENOPROTOOPT);
	return sock_ret(sk->ops->setsockopt(st, sk, level, name, val, len));
}

int us_getsockopt(struct us_stack *st, int fd, int level, int name, void *val,
		  socklen_t *len)
{
	SOCK_API_GUARD(st);
	struct us_sock *sk;
	int rc = sock_lookup(st, fd, &sk);

	if (rc < 0)
		return sock_ret(rc);
	if (!len || (!val && *len))
		return sock_ret(-EFAULT);
	if ((int)*len < 0)
		return sock_ret(-EINVAL);
	if (level == SOL_SOCKET) {
		rc = sock_getopt_generic(st, sk, name, val, len);
		if (rc != -ENOPROTOOPT)
			return sock_ret(rc);
	}
	if (!sk->ops->getsockopt)
		return sock_ret(-ENOPROTOOPT);
	return sock_ret(sk->ops->getsockopt(st, sk, level, name, val, len));
}
