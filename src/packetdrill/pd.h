/* The packetdrill adapter's state: one ustack stack on a raw-IP link, a
 * virtual clock that is the script's clock, and the lock and condition
 * variable that let a blocking call on packetdrill's second thread wait
 * while the main thread drives the stack.
 *
 * Threads: every entry point takes pd->lock for its whole duration, so the
 * stack (single-threaded by design) sees one caller at a time. ustack runs
 * in run-to-completion mode and every ustack socket is non-blocking; the
 * adapter keeps the user's O_NONBLOCK itself. A call that must block on
 * the main thread never does (it fails with EAGAIN, or moves the clock to
 * its deadline); on another thread it sleeps on pd->cv, which the main
 * thread broadcasts after every step that may have changed the stack
 * (netdev_send, the clock moving, an API call). The main thread then waits
 * until each sleeper has looked again before it moves the clock on, so a
 * blocking call returns at the script time its condition came true. */
#ifndef US_PD_H
#define US_PD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ustack.h"

#define PD_TXQ_MAX 8192		    /* packets sent and not yet collected */
#define PD_RECV_STEP_NS 10000000ull /* netdev_receive: clock moved at most */
#define PD_GTOD_TICK_NS 1000ull	    /* each gettimeofday moves the clock */
#define PD_THREADS 8		    /* threads remembered for return times */

/* A packet the stack sent, as packetdrill will see it. */
struct pd_pkt {
	struct pd_pkt *next;
	uint64_t ns; /* stack clock when sent */
	uint32_t len;
	uint8_t data[];
};

struct pd_txq {
	struct pd_pkt *head, **tail;
	unsigned len;
};

/* A blocking call on a thread other than the main one: the time its
 * condition came true, handed to that thread's next gettimeofday. */
struct pd_ret {
	pthread_t tid;
	uint64_t ns;
	bool valid;
};

struct pd {
	pthread_mutex_t lock;
	pthread_cond_t cv;     /* sleepers: the stack may have moved */
	pthread_cond_t ack_cv; /* main thread: every sleeper looked */
	pthread_t main_thread;
	int init_err; /* non-zero: init failed, every call fails so */

	struct us_stack *st;
	struct us_dev *dev;	      /* owned by st */
	uint32_t local_ip, remote_ip; /* network order */
	uint32_t mtu;

	uint64_t now_ns;   /* the script's clock, stack scale */
	uint64_t start_ns; /* its value at init */
	int64_t wall0_us;  /* gettimeofday at init */

	struct pd_txq txq;

	unsigned sleepers;	/* threads waiting on cv */
	unsigned behind;	/* sleepers that have not looked since gen */
	uint64_t gen;		/* bumped by every main-thread broadcast */
	uint64_t next_deadline; /* earliest sleeper deadline, approximate */
	struct pd_ret ret[PD_THREADS];

	uint8_t *nonblock; /* user O_NONBLOCK by descriptor */
	size_t nonblock_cap;
};

/* A blocking call in progress. */
struct pd_wait {
	uint64_t deadline; /* stack clock; UINT64_MAX: none */
	uint64_t seen;	   /* gen last looked at */
	bool sleeping;	   /* counted in pd->sleepers */
	bool waited;
};

/* pd_core.c */
void pd_lock(struct pd *pd);
void pd_unlock(struct pd *pd); /* keeps errno */
bool pd_on_main(struct pd *pd);
/* Let the stack do everything due now (frames in, timers, frames out),
 * then tell the sleepers. */
void pd_settle(struct pd *pd);
/* Wake the sleepers; on the main thread, wait until each has looked. */
void pd_notify(struct pd *pd);
/* The next moment anything can happen before target (a timer, a sleeper's
 * deadline), always later than now. */
uint64_t pd_next_step(struct pd *pd, uint64_t target);
/* The time a blocking call of this thread completed, once (pd_wait_end
 * records it): what its next gettimeofday must say. */
bool pd_take_return_time(struct pd *pd, uint64_t *ns);
/* Move the clock to target, running the stack's timers on the way. */
void pd_advance_to(struct pd *pd, uint64_t target);
/* Run timers for up to max_ns until a packet is sent. */
void pd_advance_until_tx(struct pd *pd, uint64_t max_ns);
uint64_t pd_wall_us(const struct pd *pd, uint64_t ns);

/* Entry points: fail at once if init failed; lock; ...; pd_leave lets the
 * stack do what the call set off (frames out, sleepers told) and unlocks,
 * keeping errno. */
#define PD_ENTER(pd, ud)                                                       \
	struct pd *pd = (ud);                                                  \
	do {                                                                   \
		if (pd->init_err) {                                            \
			errno = pd->init_err;                                  \
			return -1;                                             \
		}                                                              \
		pd_lock(pd);                                                   \
	} while (0)
void pd_leave(struct pd *pd);

/* Run `ret = expr` (a non-blocking ustack call) until it does not fail
 * with EAGAIN, waiting in between unless nb (the user asked not to
 * block); the wait is bounded by timeout_ns. */
#define PD_BLOCKING(pd, nb, timeout_ns, ret, expr)                             \
	do {                                                                   \
		struct pd_wait w_;                                             \
		pd_wait_begin(pd, &w_, (nb) ? 0 : (timeout_ns));               \
		for (;;) {                                                     \
			ret = (expr);                                          \
			if (ret >= 0 || errno != EAGAIN || (nb) ||             \
			    pd_wait(pd, &w_) < 0)                              \
				break;                                         \
		}                                                              \
		pd_wait_end(pd, &w_);                                          \
	} while (0)

/* Waiting: begin, then call pd_wait after each attempt that would block;
 * it returns 0 to try again, or -1 with errno (EAGAIN on the main thread
 * without a deadline, or at the deadline). End on every path. */
void pd_wait_begin(struct pd *pd, struct pd_wait *w, uint64_t timeout_ns);
int pd_wait(struct pd *pd, struct pd_wait *w);
void pd_wait_end(struct pd *pd, struct pd_wait *w);
/* The user's O_NONBLOCK for fd. */
bool pd_nonblock(struct pd *pd, int fd);
int pd_set_nonblock(struct pd *pd, int fd, bool on);
/* SO_RCVTIMEO / SO_SNDTIMEO of fd in ns (UINT64_MAX: none). */
uint64_t pd_timeo(struct pd *pd, int fd, bool send);

/* pd_dev.c: the raw-IP link. */
struct us_dev *pd_dev_new(struct pd *pd, uint32_t mtu);
/* An IP packet from the script, queued for the stack's next turn. */
int pd_dev_inject(struct us_dev *d, const void *buf, size_t len);
void pd_txq_free(struct pd_txq *q);

/* pd_flags.c: --so_flags. 0, or -errno after a message on stderr. */
int pd_parse_flags(struct pd *pd, const char *flags);

/* The entry points (struct packetdrill_interface), by file. */
/* pd_core.c */
us_clock_fn pd_stack_clock(void);
int pd_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz);
int pd_usleep(void *ud, useconds_t usec);
/* pd_sock.c */
int pd_socket(void *ud, int domain, int type, int protocol);
int pd_bind(void *ud, int fd, const struct sockaddr *addr, socklen_t len);
int pd_listen(void *ud, int fd, int backlog);
int pd_accept(void *ud, int fd, struct sockaddr *addr, socklen_t *len);
int pd_connect(void *ud, int fd, const struct sockaddr *addr, socklen_t len);
int pd_close(void *ud, int fd);
int pd_shutdown(void *ud, int fd, int how);
int pd_getsockopt(void *ud, int fd, int level, int name, void *val,
		  socklen_t *len);
int pd_setsockopt(void *ud, int fd, int level, int name, const void *val,
		  socklen_t len);
int pd_fcntl(void *ud, int fd, int cmd, ...);
int pd_ioctl(void *ud, int fd, unsigned long request, ...);
/* pd_io.c */
ssize_t pd_read(void *ud, int fd, void *buf, size_t count);
ssize_t pd_readv(void *ud, int fd, const struct iovec *iov, int iovcnt);
ssize_t pd_recv(void *ud, int fd, void *buf, size_t len, int flags);
ssize_t pd_recvfrom(void *ud, int fd, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen);
ssize_t pd_recvmsg(void *ud, int fd, struct msghdr *msg, int flags);
ssize_t pd_write(void *ud, int fd, const void *buf, size_t count);
ssize_t pd_writev(void *ud, int fd, const struct iovec *iov, int iovcnt);
ssize_t pd_send(void *ud, int fd, const void *buf, size_t len, int flags);
ssize_t pd_sendto(void *ud, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen);
ssize_t pd_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags);
/* pd_poll.c */
int pd_poll(void *ud, struct pollfd *fds, nfds_t nfds, int timeout);
int pd_epoll_create(void *ud, int size);
int pd_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *ev);
int pd_epoll_wait(void *ud, int epfd, struct epoll_event *evs, int max,
		  int timeout);
int pd_pipe(void *ud, int fds[2]);
int pd_splice(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
	      size_t len, unsigned int flags);
/* pd_net.c */
int pd_netdev_send(void *ud, const void *buf, size_t count);
int pd_netdev_receive(void *ud, void *buf, size_t *count,
		      long long *time_usecs);

#endif
