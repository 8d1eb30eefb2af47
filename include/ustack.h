/* ustack: a user-space TCP/IP stack. The one header an application includes.
 *
 * Calls mirror POSIX sockets with a `us_` prefix and an explicit stack. They
 * return -1 and set errno on failure. Descriptors are ustack's own small
 * integers, not kernel descriptors. */
#ifndef USTACK_H
#define USTACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#ifdef __cplusplus
extern "C" {
#endif

#define US_API __attribute__((visibility("default")))

struct us_stack;
struct us_dev; /* a device; created by the stack from the config, or by the
                  caller (us_pipe_create) and handed over in cfg.dev */

enum us_log_level {
	US_LOG_ERROR = 0,
	US_LOG_WARN = 1,
	US_LOG_INFO = 2,
	US_LOG_DEBUG = 3,
};

/* The time source. now() returns nanoseconds on a monotonic scale. The
 * default (clock_now == NULL) is CLOCK_MONOTONIC. Tests install a virtual
 * clock they advance themselves. A custom clock is not assumed to follow
 * real time, so us_stack_poll never sleeps on one: the caller moves time
 * (or the clock moves by itself on each read) and polls again. */
typedef uint64_t (*us_clock_fn)(void *arg);

struct us_config {
	/* Device: "tap", "afpacket", or NULL when cfg.dev is given. */
	const char *dev_type;
	const char *ifname;     /* interface (tap: created if missing) */
	struct us_dev *dev;     /* a ready device (pipe, or a wrapped one) */

	/* IPv4, network byte order. prefix_len is 0..32. gw 0 = none. */
	uint32_t ip;
	uint8_t prefix_len;
	uint32_t gw;

	/* MAC: all-zero means the default (the interface's own on afpacket,
	 * a locally administered one of ustack's own on tap and pipe). */
	uint8_t mac[6];
	uint32_t mtu;           /* 0: the device's MTU (or 1500) */

	/* Packet buffer pool: number of small (2 KiB, one frame), medium
	 * (16 KiB) and large (65 KiB) buffers. 0 picks the default (8192,
	 * 256, 64). */
	uint32_t pool_small;
	uint32_t pool_large;
	uint32_t pool_medium;

	/* Write every frame in and out to this pcap file (NULL: none). */
	const char *pcap_file;
	/* Impair what the stack transmits (NULL: none): the device made from
	 * dev_type (or cfg.dev) is wrapped in us_impair_wrap, outside the
	 * pcap_file capture, so the capture shows what actually left: a frame
	 * the wrapper drops is not in it. Copied; need not outlive the call. */
	const struct us_impair *impair;

	/* Clock (NULL: CLOCK_MONOTONIC). */
	us_clock_fn clock_now;
	void *clock_arg;

	/* Seed for the stack's secrets and random choices (0: from getrandom). */
	uint64_t seed;

	int log_level;          /* enum us_log_level; default WARN */

	/* ARP: cache entry lifetime, retries for a resolution, retry interval.
	 * 0 picks the default (60 s, 3, 1 s). */
	uint32_t arp_timeout_ms;
	uint32_t arp_retries;
	uint32_t arp_retry_ms;

	/* Reassembly: memory bound (bytes of buffers held) and timeout.
	 * 0 picks the default (4 MiB, 30 s). */
	uint32_t frag_mem_max;
	uint32_t frag_timeout_ms;

	/* Ephemeral port range (host order). 0 picks 32768..60999. */
	uint16_t port_lo, port_hi;

	/* ICMP error rate limit: tokens per second (0: default 100). */
	uint32_t icmp_ratelimit;
	/* Skip the gratuitous ARP at start (tests that count frames). */
	int no_garp;

	/* TCP. 0 picks the default (in brackets). */
	uint32_t tcp_msl_ms;          /* MSL; TIME_WAIT is 2*MSL [30 s: 60 s,
					 as Linux's TIME_WAIT] */
	uint32_t tcp_fin_timeout_ms;  /* FIN_WAIT_2 of a closed socket [60 s] */
	uint32_t tcp_rto_min_ms;      /* [200 ms, as Linux; RFC 6298 says 1 s] */
	uint32_t tcp_rto_max_ms;      /* [120 s] */
	uint32_t tcp_rto_init_ms;     /* before an RTT sample [1 s, RFC 6298] */
	uint32_t tcp_delack_ms;       /* delayed ACK [40 ms; at most 200] */
	uint32_t tcp_syn_retries;     /* SYN retransmissions [6] */
	uint32_t tcp_synack_retries;  /* SYN-ACK retransmissions [5] */
	uint32_t tcp_retries;         /* data retransmissions before
					 ETIMEDOUT [15] */
	uint32_t tcp_max_syn_backlog; /* SYN queue bound per listener [256] */
	uint32_t tcp_rcvbuf;          /* default SO_RCVBUF of a TCP socket,
					 bytes of buffers [1 MiB] */
	uint32_t tcp_sndbuf;          /* default SO_SNDBUF [1 MiB] */
	const char *tcp_congestion;   /* default congestion control, "cubic"
					 (RFC 9438) or "reno" [cubic, as
					 Linux] */
	int tcp_no_sack;              /* 1: neither offer nor accept SACK
					 (RFC 2018) [0: SACK on, as Linux] */
	uint32_t pmtu_timeout_ms;     /* a learned path MTU is forgotten
					 after [600 s, RFC 1191 6.3] */
};

/* Fill cfg with defaults (all zero but a log level). */
US_API void us_config_init(struct us_config *cfg);

US_API struct us_stack *us_stack_create(const struct us_config *cfg);
US_API void us_stack_destroy(struct us_stack *st);

/* One turn of the loop: receive a burst, process it, run due timers, send
 * what was queued. If nothing was done, wait up to timeout_ms (-1: until
 * something happens; 0: do not wait) for a frame or the next timer.
 * Returns the number of frames received, or -1 on a device error. */
US_API int us_stack_poll(struct us_stack *st, int timeout_ms);

/* Nanoseconds on the stack's clock. */
US_API uint64_t us_stack_now(struct us_stack *st);

/* Earliest time (stack clock, ns) at which the stack has timed work to do:
 * a timer or a delayed frame in a device. UINT64_MAX if none. Used by
 * simulations on a virtual clock to jump time forward. */
US_API uint64_t us_stack_next_event(struct us_stack *st);

/* Living inside another event loop (epoll, libevent, libuv): a kernel
 * descriptor that is readable whenever the stack has work: frames waiting
 * on the device, a timer due, or work queued by a us_* call (a datagram to
 * our own address, frames to send). Wait on it for readability, then call
 * us_stack_poll(st, 0) (or us_epoll_wait with timeout 0) and go back to
 * waiting; the stack keeps the descriptor's promise from then on. The
 * descriptor belongs to the stack: do not close it. Devices without a
 * kernel descriptor (the pipe) cannot announce frames; their stacks must
 * be polled. -1 and errno: EBUSY in threaded mode, or why the kernel
 * objects could not be made. */
US_API int us_stack_fd(struct us_stack *st);

/* Threaded ("blocking") mode. us_stack_start_thread runs the stack's loop
 * in a thread of its own; from then on any number of application threads
 * may call the us_* socket and epoll functions at once, and blocking calls
 * block as in POSIX (SO_RCVTIMEO/SO_SNDTIMEO bound them). Each call takes
 * the stack's one lock; the stack thread releases it while it sleeps. A
 * socket closed by another thread while a call waits on it wakes that
 * call with EBADF; if the stack thread stops or its device fails, waiting
 * calls fail with ENETDOWN. us_stack_poll fails with EBUSY in this mode.
 * Needs the default clock (EINVAL otherwise); EALREADY if running.
 *
 * us_stack_stop_thread returns the stack to run-to-completion mode. Call
 * it (or us_stack_destroy) only when no application thread is inside a
 * us_* call or about to make one; threads still blocked are woken with
 * ENETDOWN first. Returns 0, or -1 and errno EINVAL if not running.
 *
 * Not covered by the lock: us_stack_now, us_stat_* and us_stack_next_event
 * read state the stack thread writes; treat their values as approximate. */
US_API int us_stack_start_thread(struct us_stack *st);
US_API int us_stack_stop_thread(struct us_stack *st);

/* Counters: every drop has a named counter. */
US_API int us_stat_count(void);
US_API const char *us_stat_name(int i);
US_API uint64_t us_stat_get(struct us_stack *st, int i);
/* By name; returns 0 and sets errno=ENOENT for an unknown name. */
US_API uint64_t us_stat_byname(struct us_stack *st, const char *name);

/* Statistics for other processes (ustack-stat): the stack publishes its
 * counters and its TCP connection table in a POSIX shared-memory segment,
 * /dev/shm/ustack-NAME (shm_open("/ustack-NAME")), refreshed from its own
 * loop (a timer) every interval_ms (0: 200 ms; at least 10). A reader maps
 * it read-only and never disturbs the stack; a stack that is saturated or
 * wedged still shows its last snapshot (wall_ns says how old).
 * NAME is 1..64 of [A-Za-z0-9._-]. EEXIST if a live process publishes
 * under that name already (a segment left by a dead one is taken over).
 * NULL stops publishing and removes the segment, as us_stack_destroy does.
 * Returns 0, or -1 and errno. */
US_API int us_stack_publish_stats(struct us_stack *st, const char *name,
				  uint32_t interval_ms);

/* The segment's layout. All integers are host order (the reader is on the
 * same machine) except addresses, which are 16 bytes in network order
 * (IPv4 as ::ffff:a.b.c.d). Offsets are from the start of the segment.
 *
 * Consistency is a seqlock: the writer makes gen odd, updates, and makes
 * it even again. A reader loads gen (acquire); if it is odd it retries;
 * it copies what it needs, fences (acquire) and loads gen again; a
 * different value means a torn copy: retry. gen odd for long means the
 * writer died mid-update. */
#define US_SHM_MAGIC 0x7461747374737573ull /* "usststat" little-endian */
#define US_SHM_VERSION 1
#define US_SHM_NAME_LEN 48 /* bytes per counter name slot, NUL-padded */
#define US_SHM_STATES 16   /* slots in state_names */

struct us_shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;       /* sizeof(struct us_shm_hdr) */
	uint64_t gen;            /* the seqlock */
	uint64_t size;           /* bytes in the segment */
	int32_t pid;             /* the publishing process */
	uint32_t interval_ms;
	uint64_t updates;        /* snapshots published so far */
	uint64_t wall_ns;        /* CLOCK_REALTIME of the last snapshot */
	uint64_t start_wall_ns;  /* when publishing began */
	uint64_t stack_ns;       /* the stack's clock at the last snapshot */
	uint32_t ip;             /* network order */
	uint32_t mtu;
	uint8_t prefix_len;
	uint8_t mac[6];
	uint8_t pad0;
	char dev[16], ifname[16];
	char state_names[US_SHM_STATES][16]; /* us_shm_conn.state -> name */
	uint32_t nstats;         /* counters */
	uint32_t name_len;       /* US_SHM_NAME_LEN */
	uint64_t names_off;      /* nstats names of name_len bytes */
	uint64_t stats_off;      /* nstats uint64_t values */
	uint64_t conns_off;      /* conn_max records of conn_size bytes */
	uint32_t conn_size;      /* sizeof(struct us_shm_conn) */
	uint32_t conn_max;       /* records the table holds */
	uint32_t conn_count;     /* records valid in this snapshot */
	uint32_t truncated;      /* 1: the stack had more than conn_max */
};

#define US_SHM_CONN_LISTEN 0x01 /* a listener: rcvq/sndq are the accept
				   queue length and the backlog, as ss */
#define US_SHM_CONN_ORPHAN 0x02 /* closed by its user, finishing alone */

struct us_shm_conn {
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;   /* host order */
	uint8_t state;           /* index into state_names */
	uint8_t flags;           /* US_SHM_CONN_* */
	uint16_t mss;            /* send MSS */
	uint32_t rcvq;           /* bytes received, not yet read */
	uint32_t sndq;           /* bytes queued to send, not yet acked */
	uint32_t unacked;        /* bytes in flight */
	uint32_t srtt_us, rttvar_us, rto_ms;
	uint32_t cwnd, ssthresh; /* bytes */
	uint32_t snd_wnd, rcv_wnd; /* bytes */
	uint32_t retrans;        /* segments retransmitted */
	uint32_t synq;           /* listener: half-open children */
	uint64_t bytes_acked, bytes_received;
};

/* The stack's MAC and IPv4 address. */
US_API void us_stack_mac(struct us_stack *st, uint8_t mac[6]);
US_API uint32_t us_stack_ip(struct us_stack *st);
/* The stack's device, outermost wrapper first (e.g. for us_impair_stats
 * on a stack made with cfg.impair). The stack keeps owning it. */
US_API struct us_dev *us_stack_dev(struct us_stack *st);

/* A pipe link: two devices joined in memory, for two stacks in one
 * process. Each end is given to one stack in cfg.dev. */
US_API int us_pipe_create(struct us_dev **a, struct us_dev **b);

/* Impairments for the impair wrapper. Probabilities are 0..1. */
struct us_impair {
	uint64_t seed;
	double loss, dup, reorder, corrupt;
	uint32_t delay_us, jitter_us;
	uint64_t rate_bps;      /* bottleneck rate, 0 = unlimited */
	uint32_t queue_bytes;   /* drop-tail queue at the bottleneck, bytes
				   not yet sent incl. the frame on the wire
				   (0 = unbounded) */
	/* Exact drops: frames of the given class whose 1-based ordinal (in
	 * that class, transmit direction) is in the list are dropped. */
	int drop_class;         /* enum us_impair_class */
	const uint32_t *drop_list;
	int drop_count;
};
enum us_impair_class {
	US_IMPAIR_ANY = 0,      /* every frame */
	US_IMPAIR_TCP_DATA = 1, /* TCP segments carrying payload */
	US_IMPAIR_UDP = 2,      /* UDP datagrams (first fragments) */
	US_IMPAIR_IP4 = 3,      /* IPv4 packets */
};
/* Wrap a device: frames it transmits are impaired. Returns the wrapper
 * (which owns `lower`) or NULL. */
US_API struct us_dev *us_impair_wrap(struct us_dev *lower,
				     const struct us_impair *imp);
/* Frames the impair wrapper dropped on purpose so far (loss + exact +
 * queue overflow). `impair` may also be a device wrapping the wrapper. */
US_API uint64_t us_impair_dropped(struct us_dev *impair);
/* What the impair wrapper did, by kind. Returns 0, or -1 and errno=EINVAL
 * if there is no impair wrapper at or below `impair`. */
struct us_impair_stats {
	uint64_t loss;          /* random loss */
	uint64_t exact;         /* drop_list */
	uint64_t queue;         /* drop-tail at the rate limit */
	uint64_t dup, corrupt, reorder;
};
US_API int us_impair_stats(struct us_dev *impair, struct us_impair_stats *out);

/* Sockets. */
US_API int us_socket(struct us_stack *st, int domain, int type, int protocol);
US_API int us_bind(struct us_stack *st, int fd, const struct sockaddr *addr,
		   socklen_t len);
US_API int us_listen(struct us_stack *st, int fd, int backlog);
US_API int us_accept(struct us_stack *st, int fd, struct sockaddr *addr,
		     socklen_t *len);
US_API int us_connect(struct us_stack *st, int fd, const struct sockaddr *addr,
		      socklen_t len);
US_API ssize_t us_send(struct us_stack *st, int fd, const void *buf, size_t n,
		       int flags);
US_API ssize_t us_recv(struct us_stack *st, int fd, void *buf, size_t n,
		       int flags);
US_API ssize_t us_sendto(struct us_stack *st, int fd, const void *buf, size_t n,
			 int flags, const struct sockaddr *to, socklen_t tolen);
US_API ssize_t us_recvfrom(struct us_stack *st, int fd, void *buf, size_t n,
			   int flags, struct sockaddr *from, socklen_t *fromlen);
US_API int us_shutdown(struct us_stack *st, int fd, int how);
US_API int us_close(struct us_stack *st, int fd);
US_API int us_setsockopt(struct us_stack *st, int fd, int level, int name,
			 const void *val, socklen_t len);
US_API int us_getsockopt(struct us_stack *st, int fd, int level, int name,
			 void *val, socklen_t *len);
US_API int us_getsockname(struct us_stack *st, int fd, struct sockaddr *addr,
			  socklen_t *len);
US_API int us_getpeername(struct us_stack *st, int fd, struct sockaddr *addr,
			  socklen_t *len);
US_API int us_fcntl(struct us_stack *st, int fd, int cmd, ...);

/* The event API: epoll(7) on ustack descriptors, with Linux's semantics:
 * level-triggered unless EPOLLET, EPOLLONESHOT disarms an entry after one
 * report until EPOLL_CTL_MOD, EPOLLERR and EPOLLHUP are always reported,
 * data comes back untouched. An epoll instance is a ustack descriptor (of
 * no socket type: socket calls on it fail with ENOTSOCK) and can itself be
 * watched by another instance (readable when it has events; ELOOP for a
 * cycle or nesting deeper than Linux's 5 levels).
 *
 * Kernel descriptors (a pipe, a timerfd, a kernel socket) can be watched
 * by the same instance: pass US_KERNEL_FD(kfd) as fd. ustack descriptors
 * are below 2^20 (the table's hard limit) and kernel descriptors below
 * 2^30 (Linux's fs.nr_open ceiling), so the marker bit is never ambiguous
 * and the value stays positive. The kernel applies its own epoll
 * semantics and errno values to them (they sit in a kernel epoll instance
 * owned by this one); their events come back with the data given here.
 * An instance that holds kernel descriptors cannot be nested in another
 * ustack instance, and a nested one cannot take kernel descriptors
 * (EINVAL).
 *
 * us_epoll_wait drives the stack while it waits (run-to-completion mode):
 * it runs a turn of the loop first (sending what the program queued, taking
 * frames that arrived) and then sleeps until a frame, the next timer, a
 * watched kernel descriptor or the timeout, whichever comes first. On a
 * virtual clock it moves the clock to the next timed event instead, and
 * returns 0 when nothing timed is left. In threaded mode it waits on a
 * condition variable. Errors as Linux: EBADF, EINVAL (not an epoll
 * instance, fd == epfd, bad op or flags, maxevents <= 0), EEXIST, ENOENT,
 * ELOOP, EFAULT (NULL event where one is needed); ENETDOWN if the device
 * failed. */
#define US_KERNEL_FD_FLAG 0x40000000
#define US_KERNEL_FD(kfd) ((kfd) | US_KERNEL_FD_FLAG)
#define US_IS_KERNEL_FD(fd) ((fd) >= 0 && ((fd)&US_KERNEL_FD_FLAG) != 0)

US_API int us_epoll_create(struct us_stack *st);
US_API int us_epoll_ctl(struct us_stack *st, int epfd, int op, int fd,
			struct epoll_event *ev);
US_API int us_epoll_wait(struct us_stack *st, int epfd,
			 struct epoll_event *evs, int maxevents,
			 int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
