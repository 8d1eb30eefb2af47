/* The TCP options of issue 6, beside the core's in tcp_user.c:
 * TCP_CONGESTION (a string, as Linux), SO_KEEPALIVE with TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT (RFC 1122 4.2.3.6) and TCP_USER_TIMEOUT
 * (RFC 5482, RFC 9293 3.10.1). Linux's ranges and units. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp/tcp_conn.h"

#define TCP_KEEPIDLE_ 4
#define TCP_KEEPINTVL_ 5
#define TCP_KEEPCNT_ 6
#define TCP_CONGESTION_ 13
#define TCP_USER_TIMEOUT_ 18
#define TCP_CA_NAME_MAX 16 /* Linux's TCP_CA_NAME_MAX */
#define KEEP_MAX_S 32767   /* Linux's MAX_TCP_KEEPIDLE/INTVL */
#define KEEP_MAX_CNT 127

static int set_cc(struct tcp_conn *c, const void *val, socklen_t len)
{
	const char *s = val;
	size_t n = strnlen(s, US_MIN((size_t)len, (size_t)TCP_CA_NAME_MAX));
	const struct tcp_cc_ops *ops = tcp_cc_find(s, n);

	if (!ops)
		return -ENOENT; /* Linux: no such module */
	if (ops == c->cc)
		return 0;
	c->cc = ops;
	/* Mid-connection the new module starts from the window in use. */
	if (tcp_synchronized(c->state))
		ops->init(c);
	return 0;
}

static int get_int(const void *val, socklen_t len, int *v)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(v, val, sizeof(int));
	return 0;
}

int tcp_setopt_ext(struct us_stack *st, struct tcp_conn *c, int level, int name,
		   const void *val, socklen_t len)
{
	int v;

	if (level == IPPROTO_TCP && name == TCP_CONGESTION_)
		return set_cc(c, val, len);
	bool ours = (level == SOL_SOCKET && name == SO_KEEPALIVE) ||
		    (level == IPPROTO_TCP &&
		     (name == TCP_KEEPIDLE_ || name == TCP_KEEPINTVL_ ||
		      name == TCP_KEEPCNT_ || name == TCP_USER_TIMEOUT_));
	if (!ours)
		return -ENOPROTOOPT;
	if (get_int(val, len, &v) < 0)
		return -EINVAL;
	if (level == SOL_SOCKET) {
		c->keepalive = v != 0;
		tcp_keepalive_reset(st, c);
		return 0;
	}
	switch (name) {
	case TCP_KEEPIDLE_:
		if (v < 1 || v > KEEP_MAX_S)
			return -EINVAL;
		c->keep_idle_s = (uint16_t)v;
		tcp_keepalive_reset(st, c);
		return 0;
	case TCP_KEEPINTVL_:
		if (v < 1 || v > KEEP_MAX_S)
			return -EINVAL;
		c->keep_intvl_s = (uint16_t)v;
		return 0;
	case TCP_KEEPCNT_:
		if (v < 1 || v > KEEP_MAX_CNT)
			return -EINVAL;
		c->keep_cnt = (uint8_t)v;
		return 0;
	default: /* TCP_USER_TIMEOUT, ms; 0: the system's retries */
		if (v < 0)
			return -EINVAL;
		c->user_timeout_ms = (uint32_t)v;
		return 0;
	}
}

static int put_int(void *val, socklen_t *len, int v)
{
	socklen_t n = US_MIN(*len, (socklen_t)sizeof(int));
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

int tcp_getopt_ext(struct us_stack *st, struct tcp_conn *c, int level, int name,
		   void *val, socklen_t *len)
{
	(void)st;
	if (level == SOL_SOCKET)
		return name == SO_KEEPALIVE ? put_int(val, len, c->keepalive)
					    : -ENOPROTOOPT;
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_CONGESTION_: {
		char buf[TCP_CA_NAME_MAX] = {0};
		strncpy(buf, c->cc->name, sizeof(buf) - 1);
		socklen_t n = US_MIN(*len, (socklen_t)sizeof(buf));
		memcpy(val, buf, n);
		*len = n;
		return 0;
	}
	case TCP_KEEPIDLE_:
		return put_int(val, len, tcp_keep_idle_s(c));
	case TCP_KEEPINTVL_:
		return put_int(val, len, tcp_keep_intvl_s(c));
	case TCP_KEEPCNT_:
		return put_int(val, len, tcp_keep_cnt(c));
	case TCP_USER_TIMEOUT_:
		return put_int(val, len, (int)c->user_timeout_ms);
	default:
		return -ENOPROTOOPT;
	}
}
