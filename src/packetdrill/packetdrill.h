/* The interface packetdrill uses to drive a TCP stack built as a shared
 * library (packetdrill --so_filename=LIB.so --so_flags=STRING): the library
 * exports packetdrill_interface_init, which fills the table below. Every
 * call takes the library's userdata first and then the arguments of the
 * POSIX call it stands for; errors are -1 and errno, as in POSIX.
 *
 * The members and their order are packetdrill's; this is our own
 * declaration of that layout, written from its documented shape. */
#ifndef USTACK_PACKETDRILL_H
#define USTACK_PACKETDRILL_H

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct packetdrill_interface {
	void *userdata;
	void (*free)(void *ud);
	/* Sockets, in POSIX order of arguments after ud. */
	int (*socket)(void *ud, int family, int type, int proto);
	int (*bind)(void *ud, int fd, const struct sockaddr *sa, socklen_t n);
	int (*listen)(void *ud, int fd, int backlog);
	int (*accept)(void *ud, int fd, struct sockaddr *sa, socklen_t *n);
	int (*connect)(void *ud, int fd, const struct sockaddr *sa,
		       socklen_t n);
	ssize_t (*read)(void *ud, int fd, void *p, size_t n);
	ssize_t (*readv)(void *ud, int fd, const struct iovec *v, int nv);
	ssize_t (*recv)(void *ud, int fd, void *p, size_t n, int fl);
	ssize_t (*recvfrom)(void *ud, int fd, void *p, size_t n, int fl,
			    struct sockaddr *from, socklen_t *fromlen);
	ssize_t (*recvmsg)(void *ud, int fd, struct msghdr *m, int fl);
	ssize_t (*write)(void *ud, int fd, const void *p, size_t n);
	ssize_t (*writev)(void *ud, int fd, const struct iovec *v, int nv);
	ssize_t (*send)(void *ud, int fd, const void *p, size_t n, int fl);
	ssize_t (*sendto)(void *ud, int fd, const void *p, size_t n, int fl,
			  const struct sockaddr *to, socklen_t tolen);
	ssize_t (*sendmsg)(void *ud, int fd, const struct msghdr *m, int fl);
	int (*fcntl)(void *ud, int fd, int cmd, ...);
	int (*ioctl)(void *ud, int fd, unsigned long req, ...);
	int (*close)(void *ud, int fd);
	int (*shutdown)(void *ud, int fd, int how);
	int (*getsockopt)(void *ud, int fd, int level, int name, void *val,
			  socklen_t *len);
	int (*setsockopt)(void *ud, int fd, int level, int name,
			  const void *val, socklen_t len);
	int (*poll)(void *ud, struct pollfd *pfds, nfds_t npfds, int ms);
	/* The script injects one IP packet (no link header) into the stack.
	 * 0 or -1. */
	int (*netdev_send)(void *ud, const void *pkt, size_t n);
	/* The next IP packet the stack sent: *n is the buffer's size on
	 * entry and the packet's length on return, *usecs the time it was
	 * sent on the gettimeofday scale. 0, or -1 if none was sent. */
	int (*netdev_receive)(void *ud, void *pkt, size_t *n, long long *usecs);
	/* The script's clock. */
	int (*usleep)(void *ud, useconds_t us);
	int (*gettimeofday)(void *ud, struct timeval *tv, struct timezone *tz);
	/* Events, and the two pipe calls (unsupported: ENOTSUP). */
	int (*epoll_create)(void *ud, int size);
	int (*epoll_ctl)(void *ud, int epfd, int op, int fd,
			 struct epoll_event *ev);
	int (*epoll_wait)(void *ud, int epfd, struct epoll_event *evs, int max,
			  int ms);
	int (*pipe)(void *ud, int fds[2]);
	int (*splice)(void *ud, int in, loff_t *in_off, int out,
		      loff_t *out_off, size_t n, unsigned int fl);
};

typedef void (*packetdrill_interface_init_t)(const char *flags,
					     struct packetdrill_interface *ifc);

void packetdrill_interface_init(const char *flags,
				struct packetdrill_interface *ifc);

#endif
