/* Data calls. Blocking ones wait as POSIX says: a receive until some data
 * (all of it with MSG_WAITALL), end of stream or an error; a send until
 * all of it is queued. Vectored calls go through one contiguous copy. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "packetdrill/pd.h"

/* Linux's UIO_MAXIOV: more vectors than this are refused. */
#define PD_IOV_MAX 1024

static bool nb_call(struct pd *pd, int fd, int flags)
{
	return (flags & MSG_DONTWAIT) || pd_nonblock(pd, fd);
}

/* Under the lock. */
static ssize_t do_recvfrom(struct pd *pd, int fd, void *buf, size_t len,
			   int flags, struct sockaddr *from, socklen_t *fromlen)
{
	bool nb = nb_call(pd, fd, flags);
	bool all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && !nb;
	uint64_t timeo = pd_timeo(pd, fd, false);
	size_t got = 0;
	ssize_t n;

	flags &= ~MSG_WAITALL;
	do {
		PD_BLOCKING(pd, nb, timeo, n,
			    us_recvfrom(pd->st, fd, (char *)buf + got,
					len - got, flags, from, fromlen));
		if (n <= 0)
			break;
		got += (size_t)n;
	} while (all && got < len);
	return got ? (ssize_t)got : n;
}

static ssize_t do_sendto(struct pd *pd, int fd, const void *buf, size_t len,
			 int flags, const struct sockaddr *to, socklen_t tolen)
{
	bool nb = nb_call(pd, fd, flags);
	uint64_t timeo = pd_timeo(pd, fd, true);
	size_t sent = 0;
	ssize_t n;

	do {
		PD_BLOCKING(pd, nb, timeo, n,
			    us_sendto(pd->st, fd, (const char *)buf + sent,
				      len - sent, flags, to, tolen));
		if (n < 0)
			break;
		sent += (size_t)n;
	} while (!nb && sent < len && n > 0);
	return sent || (len == 0 && n >= 0) ? (ssize_t)sent : n;
}

ssize_t pd_recvfrom(void *ud, int fd, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen)
{
	PD_ENTER(pd, ud);
	ssize_t n = do_recvfrom(pd, fd, buf, len, flags, from, fromlen);
	pd_leave(pd);
	return n;
}

ssize_t pd_recv(void *ud, int fd, void *buf, size_t len, int flags)
{
	return pd_recvfrom(ud, fd, buf, len, flags, NULL, NULL);
}

ssize_t pd_read(void *ud, int fd, void *buf, size_t count)
{
	return pd_recvfrom(ud, fd, buf, count, 0, NULL, NULL);
}

ssize_t pd_sendto(void *ud, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen)
{
	PD_ENTER(pd, ud);
	ssize_t n = do_sendto(pd, fd, buf, len, flags, to, tolen);
	pd_leave(pd);
	return n;
}

ssize_t pd_send(void *ud, int fd, const void *buf, size_t len, int flags)
{
	return pd_sendto(ud, fd, buf, len, flags, NULL, 0);
}

ssize_t pd_write(void *ud, int fd, const void *buf, size_t count)
{
	return pd_sendto(ud, fd, buf, count, 0, NULL, 0);
}

static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > PD_IOV_MAX || (iovcnt && !iov)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total) {
			errno = EINVAL;
			return -1;
		}
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static ssize_t recv_iov(void *ud, int fd, const struct iovec *iov, int iovcnt,
			int flags, struct sockaddr *from, socklen_t *fromlen)
{
	ssize_t total = iov_total(iov, iovcnt), n;
	char *b;

	if (total < 0)
		return -1;
	if (!(b = malloc(total ? (size_t)total : 1))) {
		errno = ENOMEM;
		return -1;
	}
	n = pd_recvfrom(ud, fd, b, (size_t)total, flags, from, fromlen);
	for (ssize_t off = 0, i = 0; n > 0 && off < n; i++) {
		size_t k = iov[i].iov_len < (size_t)(n - off)
			       ? iov[i].iov_len
			       : (size_t)(n - off);
		memcpy(iov[i].iov_base, b + off, k);
		off += (ssize_t)k;
	}
	int saved = errno;
	free(b);
	errno = saved;
	return n;
}

static ssize_t send_iov(void *ud, int fd, const struct iovec *iov, int iovcnt,
			int flags, const struct sockaddr *to, socklen_t tolen)
{
	ssize_t total = iov_total(iov, iovcnt), n;
	char *b;
	size_t off = 0;

	if (total < 0)
		return -1;
	if (!(b = malloc(total ? (size_t)total : 1))) {
		errno = ENOMEM;
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(b + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	n = pd_sendto(ud, fd, b, (size_t)total, flags, to, tolen);
	int saved = errno;
	free(b);
	errno = saved;
	return n;
}

ssize_t pd_readv(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	return recv_iov(ud, fd, iov, iovcnt, 0, NULL, NULL);
}

ssize_t pd_writev(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	return send_iov(ud, fd, iov, iovcnt, 0, NULL, 0);
}

ssize_t pd_recvmsg(void *ud, int fd, struct msghdr *msg, int flags)
{
	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	if (msg->msg_iovlen > PD_IOV_MAX) {
		errno = EMSGSIZE; /* as Linux, before the cast to int */
		return -1;
	}
	socklen_t namelen = msg->msg_namelen;
	ssize_t n = recv_iov(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags,
			     msg->msg_name, msg->msg_name ? &namelen : NULL);
	if (n >= 0) {
		msg->msg_namelen = msg->msg_name ? namelen : 0;
		msg->msg_controllen = 0; /* no ancillary data */
		msg->msg_flags = 0;
	}
	return n;
}

ssize_t pd_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags)
{
	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	if (msg->msg_iovlen > PD_IOV_MAX) {
		errno = EMSGSIZE; /* as Linux, before the cast to int */
		return -1;
	}
	if (msg->msg_controllen) {
		errno = ENOTSUP; /* ancillary data */
		return -1;
	}
	return send_iov(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags,
			msg->msg_name, msg->msg_namelen);
}
