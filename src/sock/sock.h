/* The socket layer: the stack's descriptor table, a generic socket with a
 * small operations table that each protocol fills in (UDP now, TCP next),
 * the generic socket options, and the blocking layer that drives the stack
 * while a call waits.
 *
 * Conventions: the public us_* calls validate what is generic (descriptor,
 * pointers, address lengths and families) and then call the protocol's
 * operation, which returns a count or a negative errno; the public call
 * turns that into -1 and errno. A missing operation means EOPNOTSUPP. */
#ifndef US_SOCK_H
#define US_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/stack.h"
#include "net/inaddr.h"

/* An endpoint as the socket layer keeps it: an address that can hold IPv6
 * and a port in host order. */
struct sock_addr {
	struct inaddr addr;
	uint16_t port;
	uint16_t family; /* AF_INET; 0: not filled in (recvfrom on TCP) */
};

struct us_sock;

struct sock_ops {
	int (*bind)(struct us_stack *st, struct us_sock *sk,
		    const struct sock_addr *a);
	/* a == NULL: AF_UNSPEC, dissolve the association. */
	int (*connect)(struct us_stack *st, struct us_sock *sk,
		       const struct sock_addr *a);
	int (*listen)(struct us_stack *st, struct us_sock *sk, int backlog);
	/* Returns the new socket's descriptor; peer may be NULL. */
	int (*accept)(struct us_stack *st, struct us_sock *sk,
		      struct sock_addr *peer);
	/* to == NULL: the connected peer. */
	ssize_t (*sendto)(struct us_stack *st, struct us_sock *sk,
			  const void *buf, size_t n, int flags,
			  const struct sock_addr *to);
	ssize_t (*recvfrom)(struct us_stack *st, struct us_sock *sk, void *buf,
			    size_t n, int flags, struct sock_addr *from);
	/* how: SHUT_RD, SHUT_WR or SHUT_RDWR (already checked). */
	int (*shutdown)(struct us_stack *st, struct us_sock *sk, int how);
	/* Release everything and free sk. */
	void (*close)(struct us_stack *st, struct us_sock *sk);
	int (*getname)(struct us_stack *st, struct us_sock *sk,
		       struct sock_addr *a, bool peer);
	/* Options the generic layer does not handle (any level). Return
	 * -ENOPROTOOPT for an unknown one. */
	int (*setsockopt)(struct us_stack *st, struct us_sock *sk, int level,
			  int name, const void *val, socklen_t len);
	int (*getsockopt)(struct us_stack *st, struct us_sock *sk, int level,
			  int name, void *val, socklen_t *len);
	/* A generic SOL_SOCKET option (SO_RCVBUF, SO_REUSEADDR, ...) changed
	 * value in sk; the protocol copies what it needs. */
	void (*opt_changed)(struct us_stack *st, struct us_sock *sk, int name);
	/* Readiness: EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP/EPOLLRDHUP bits. It
	 * may first bring lazily derived state (a pending error) up to
	 * date. */
	uint32_t (*poll)(struct us_stack *st, struct us_sock *sk);
};

#define SOCK_SHUT_RD 1
#define SOCK_SHUT_WR 2
#define SOCK_TIMEO_FOREVER UINT64_MAX

#define SOCK_RCVBUF_MIN 2304u          /* as Linux: one small buffer */
#define SOCK_SNDBUF_MIN 4608u
#define SOCK_BUF_MAX (16u * 1024u * 1024u)
#define SOCK_RCVBUF_DEFAULT (256u * 1024u)
#define SOCK_SNDBUF_DEFAULT (256u * 1024u)

/* What every socket has. Protocols embed it first in their own object. */
struct us_sock {
	const struct sock_ops *ops;
	int fd;
	/* family 0: a descriptor that is not a socket (an epoll instance):
	 * socket calls on it fail with ENOTSOCK. */
	int family, type, protocol;
	bool nonblock;          /* O_NONBLOCK */
	bool reuseaddr;         /* SO_REUSEADDR */
	bool broadcast;         /* SO_BROADCAST */
	uint8_t shut;           /* SOCK_SHUT_* */
	int err;                /* pending error (SO_ERROR), positive errno */
	uint32_t rcvbuf, sndbuf;
	uint64_t rcvtimeo, sndtimeo; /* ns; SOCK_TIMEO_FOREVER: none */
	/* Readiness changed (events: EPOLL* bits that may now be set). The
	 * event API hooks in here; NULL: nobody is watching. */
	void (*wake)(struct us_stack *st, struct us_sock *sk, uint32_t events);
	void *wake_arg;
	/* Threads blocked on this socket (threaded mode, sock_thread.c). */
	struct sock_waiter *waiters;
};

int sock_init(struct us_stack *st);
void sock_fini(struct us_stack *st);

/* Descriptor table. sock_fd_alloc installs sk at the lowest free
 * descriptor (as POSIX does) and sets sk->fd; -EMFILE when full. */
int sock_fd_alloc(struct us_stack *st, struct us_sock *sk);
void sock_fd_free(struct us_stack *st, int fd);
struct us_sock *sock_get(struct us_stack *st, int fd);
/* The socket behind fd: -EBADF for no descriptor, -ENOTSOCK for one that
 * is not a socket. */
int sock_lookup(struct us_stack *st, int fd, struct us_sock **out);
/* Limit the table (default SOCK_MAX_FDS); for tests and small systems. */
#define SOCK_MAX_FDS (1u << 20)
int sock_table_set_max(struct us_stack *st, uint32_t max);

/* Fill in the generic fields of a new socket. */
void sock_common_init(struct us_sock *sk, const struct sock_ops *ops,
		      int family, int type, int protocol);
/* Protocol constructors, listed in sock.c's protocol table. */
int udp_sock_create(struct us_stack *st, struct us_sock **out);
int tcp_sock_create(struct us_stack *st, struct us_sock **out);

/* The pending error, cleared (0 if none). */
static inline int sock_take_error(struct us_sock *sk)
{
	int e = sk->err;
	sk->err = 0;
	return e;
}
/* Threaded mode: have the threads blocked on sk re-check their
 * conditions once the stack is done with the current turn or call. */
void sock_waiters_mark(struct us_stack *st, struct us_sock *sk);
/* Readiness of sk may have changed: protocols call this whenever it does
 * (data or a connection queued, send space, an error, a shutdown, a
 * state change a blocked call waits for). */
static inline void sock_wake(struct us_stack *st, struct us_sock *sk,
			     uint32_t events)
{
	if (sk->wake)
		sk->wake(st, sk, events);
	if (sk->waiters)
		sock_waiters_mark(st, sk);
}
/* sk is being closed (us_close, or the stack going away): it leaves the
 * epoll instances watching it, and threads blocked on it wake with EBADF.
 * Called before ops->close. */
void sock_detach(struct us_stack *st, struct us_sock *sk);
void epoll_forget(struct us_stack *st, struct us_sock *sk);

/* The blocking layer. Wait until cond holds or timeout_ns passes.
 * Run-to-completion mode: drive the stack (the caller's thread is the
 * stack's). Threaded mode: sleep on a condition variable while the stack
 * thread works; cond is re-checked (under the stack lock, possibly by the
 * stack thread) after every turn of the stack that did work and whenever
 * sock_wake is called on sk, so it may depend on any stack state.
 * Returns 0 once cond holds, -EAGAIN on timeout (and at once when
 * timeout_ns is 0), -ENETDOWN if the device failed or the stack thread
 * stopped, -EBADF if sk was closed (by another thread) meanwhile: sk is
 * then gone, and the caller must return without touching it. On a
 * virtual clock (vclock_now), time jumps to the next timed event instead
 * of sleeping; if nothing is left that could ever make cond true, that is
 * a timeout too. */
typedef bool (*sock_cond_fn)(struct us_stack *st, struct us_sock *sk,
			     void *arg);
int sock_wait(struct us_stack *st, struct us_sock *sk, uint64_t timeout_ns,
	      sock_cond_fn cond, void *arg);
/* sock_wait that also returns (with 1) when the kernel descriptor kfd
 * becomes readable (us_epoll_wait's kernel descriptors). */
int sock_wait_kfd(struct us_stack *st, struct us_sock *sk,
		  uint64_t timeout_ns, sock_cond_fn cond, void *arg, int kfd);
/* The threaded flavour (sock_thread.c), called with the stack lock held. */
int sock_mt_wait(struct us_stack *st, struct us_sock *sk, uint64_t timeout_ns,
		 sock_cond_fn cond, void *arg, int kfd);
/* Threads blocked in a call right now (threaded mode; 0 otherwise). For
 * tests, which must know a thread is asleep before they wake it. */
unsigned sock_mt_waiters(struct us_stack *st);

/* Every public us_* call that touches stack state begins with
 * SOCK_API_GUARD(st): in threaded mode it holds the stack lock until the
 * function returns (on any path), then hands queued work to the stack
 * thread; with an outside loop (us_stack_fd) it keeps that descriptor's
 * promise on the way out. In plain run-to-completion mode it costs two
 * loads and branches. Calls must not nest (the lock is not recursive):
 * a guarded function never calls another guarded one. */
void sock_api_enter_slow(struct us_stack *st);
void sock_api_leave_slow(struct us_stack *st);
static inline struct us_stack *sock_api_enter(struct us_stack *st)
{
	if (st && unlikely(st->mt || st->wake))
		sock_api_enter_slow(st);
	else if (st)
		/* Run to completion: the loop may have been away for long
		 * (the application's own work); timers this call arms (an
		 * ARP retry, a SYN retransmission) count from now, not from
		 * the loop's last turn. One clock read per call. */
		stack_update_time(st);
	return st;
}
static inline void sock_api_leave(struct us_stack **pst)
{
	struct us_stack *st = *pst;
	if (st && unlikely(st->mt || st->wake))
		sock_api_leave_slow(st);
}
#define SOCK_API_GUARD(st)                                                 \
	struct us_stack *sock_api_guard_                                   \
		__attribute__((cleanup(sock_api_leave), unused)) =        \
			sock_api_enter(st)
/* How long a call may block: 0 for a non-blocking socket or call. */
static inline uint64_t sock_timeo(const struct us_sock *sk, int flags,
				  bool send)
{
	if (sk->nonblock || (flags & MSG_DONTWAIT))
		return 0;
	return send ? sk->sndtimeo : sk->rcvtimeo;
}

/* The generic options (sockopt.c). Return -ENOPROTOOPT when the option is
 * not a generic one. */
int sock_setopt_generic(struct us_stack *st, struct us_sock *sk, int name,
			const void *val, socklen_t len);
int sock_getopt_generic(struct us_stack *st, struct us_sock *sk, int name,
			void *val, socklen_t *len);
/* Copy an int option out, truncated to *len as Linux does. */
int sock_put_int(void *val, socklen_t *len, int v);
/* Read an int option; -EINVAL if len is short. */
int sock_get_int(const void *val, socklen_t len, int *v);

/* The public calls' return convention: a negative errno becomes -1 and
 * errno. */
int sock_ret(int rc);
ssize_t sock_ret_ssize(ssize_t rc);

#endif
