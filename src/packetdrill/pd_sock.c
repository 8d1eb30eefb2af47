/* Socket calls: ustack's own, with every ustack socket non-blocking and
 * the user's O_NONBLOCK kept here (pd.h explains why). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "packetdrill/pd.h"

/* A new descriptor from ustack: non-blocking inside, user_nb outside. */
static int adopt(struct pd *pd, int fd, bool user_nb)
{
	int rc;

	if (fd < 0)
		return fd;
	if (us_fcntl(pd->st, fd, F_SETFL, O_NONBLOCK) < 0)
		rc = errno;
	else if ((rc = pd_set_nonblock(pd, fd, user_nb)) < 0)
		rc = -rc;
	else
		return fd;
	us_close(pd->st, fd);
	errno = rc;
	return -1;
}

int pd_socket(void *ud, int domain, int type, int protocol)
{
	PD_ENTER(pd, ud);
	int fd = us_socket(pd->st, domain,
			   type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol);
	fd = adopt(pd, fd, (type & SOCK_NONBLOCK) != 0);
	pd_leave(pd);
	return fd;
}

int pd_bind(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
	PD_ENTER(pd, ud);
	int rc = us_bind(pd->st, fd, addr, len);
	pd_leave(pd);
	return rc;
}

int pd_listen(void *ud, int fd, int backlog)
{
	PD_ENTER(pd, ud);
	int rc = us_listen(pd->st, fd, backlog);
	pd_leave(pd);
	return rc;
}

int pd_accept(void *ud, int fd, struct sockaddr *addr, socklen_t *len)
{
	PD_ENTER(pd, ud);
	int rc;
	PD_BLOCKING(pd, pd_nonblock(pd, fd), pd_timeo(pd, fd, false), rc,
		    us_accept(pd->st, fd, addr, len));
	/* Linux: the accepted socket does not inherit O_NONBLOCK. */
	rc = adopt(pd, rc, false);
	pd_leave(pd);
	return rc;
}

/* The outcome of a connect in progress: EALREADY while the handshake
 * runs, EISCONN once it is done (success), or the error it ended with. */
static int connect_outcome(struct pd *pd, int fd, const struct sockaddr *a,
			   socklen_t len)
{
	if (us_connect(pd->st, fd, a, len) == 0)
		return 0;
	if (errno == EISCONN)
		return 0;
	if (errno == EALREADY)
		errno = EAGAIN;
	return -1;
}

int pd_connect(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
	PD_ENTER(pd, ud);
	int rc = us_connect(pd->st, fd, addr, len);
	if (rc < 0 && errno == EINPROGRESS && !pd_nonblock(pd, fd)) {
		PD_BLOCKING(pd, false, pd_timeo(pd, fd, true), rc,
			    connect_outcome(pd, fd, addr, len));
		/* SO_SNDTIMEO ran out (or the main thread cannot wait): the
		 * handshake goes on, as Linux says. */
		if (rc < 0 && errno == EAGAIN)
			errno = EINPROGRESS;
	}
	pd_leave(pd);
	return rc;
}

int pd_close(void *ud, int fd)
{
	PD_ENTER(pd, ud);
	int rc = us_close(pd->st, fd);
	if (rc == 0 && pd_nonblock(pd, fd))
		pd_set_nonblock(pd, fd, false);
	pd_leave(pd);
	return rc;
}

int pd_shutdown(void *ud, int fd, int how)
{
	PD_ENTER(pd, ud);
	int rc = us_shutdown(pd->st, fd, how);
	pd_leave(pd);
	return rc;
}

int pd_getsockopt(void *ud, int fd, int level, int name, void *val,
		  socklen_t *len)
{
	PD_ENTER(pd, ud);
	int rc = us_getsockopt(pd->st, fd, level, name, val, len);
	pd_leave(pd);
	return rc;
}

int pd_setsockopt(void *ud, int fd, int level, int name, const void *val,
		  socklen_t len)
{
	PD_ENTER(pd, ud);
	int rc = us_setsockopt(pd->st, fd, level, name, val, len);
	pd_leave(pd);
	return rc;
}

/* Is fd one of ustack's descriptors? (EBADF otherwise.) */
static int check_fd(struct pd *pd, int fd)
{
	return us_fcntl(pd->st, fd, F_GETFD) < 0 ? -1 : 0;
}

int pd_fcntl(void *ud, int fd, int cmd, ...)
{
	va_list ap;
	int arg = 0, rc;

	va_start(ap, cmd);
	if (cmd == F_SETFL || cmd == F_SETFD)
		arg = va_arg(ap, int);
	va_end(ap);

	PD_ENTER(pd, ud);
	if ((rc = check_fd(pd, fd)) < 0)
		goto out;
	switch (cmd) {
	case F_GETFL:
		/* What a kernel socket says: read-write, and O_NONBLOCK as
		 * the user set it (ours is always set inside). */
		rc = O_RDWR | (pd_nonblock(pd, fd) ? O_NONBLOCK : 0);
		break;
	case F_SETFL:
		if ((rc = pd_set_nonblock(pd, fd, (arg & O_NONBLOCK) != 0)) <
		    0) {
			errno = -rc;
			rc = -1;
		}
		break;
	case F_GETFD:
		rc = us_fcntl(pd->st, fd, F_GETFD);
		break;
	case F_SETFD:
		rc = us_fcntl(pd->st, fd, F_SETFD, arg);
		break;
	default:
		errno = EINVAL;
		rc = -1;
	}
out:
	pd_leave(pd);
	return rc;
}

/* Bytes a read would return now (FIONREAD): a peek with a buffer large
 * enough to hold them all. */
static int bytes_readable(struct pd *pd, int fd, int *out)
{
	size_t cap = 64 * 1024;

	for (;;) {
		char *b = malloc(cap);
		if (!b) {
			errno = ENOMEM;
			return -1;
		}
		ssize_t n =
		    us_recv(pd->st, fd, b, cap, MSG_PEEK | MSG_DONTWAIT);
		free(b);
		if (n < 0 && errno == EAGAIN)
			n = 0;
		if (n < 0)
			return -1;
		if ((size_t)n < cap || cap >= (size_t)1 << 30) {
			*out = (int)n;
			return 0;
		}
		cap *= 2;
	}
}

int pd_ioctl(void *ud, int fd, unsigned long request, ...)
{
	va_list ap;
	int *argp, rc;

	va_start(ap, request);
	argp = va_arg(ap, int *);
	va_end(ap);

	PD_ENTER(pd, ud);
	if ((rc = check_fd(pd, fd)) < 0)
		goto out;
	if (!argp && (request == FIONBIO || request == FIONREAD)) {
		errno = EFAULT;
		rc = -1;
		goto out;
	}
	switch (request) {
	case FIONBIO:
		if ((rc = pd_set_nonblock(pd, fd, *argp != 0)) < 0) {
			errno = -rc;
			rc = -1;
		}
		break;
	case FIONREAD: /* == SIOCINQ */
		rc = bytes_readable(pd, fd, argp);
		break;
	default:
		errno = ENOTSUP;
		rc = -1;
	}
out:
	pd_leave(pd);
	return rc;
}
