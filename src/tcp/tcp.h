/* TCP (RFC 9293): the interface between the protocol engine (src/tcp) and
 * its users (the socket layer, tests). The connection block itself is the
 * engine's (tcp_conn.h); users hold a pointer and call these functions.
 *
 * Conventions: functions return 0 / a count, or a negative errno. Nothing
 * here blocks: the socket layer waits (sock_wait) on the readiness that
 * tcp_poll reports and that the engine announces through the notify
 * callback. */
#ifndef US_TCP_H
#define US_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/stack.h"
#include "net/inaddr.h"

/* The IPPROTO_TCP option names (Linux ABI values), here because
 * <netinet/tcp.h> also names the states below. */
#ifndef TCP_NODELAY
#define TCP_NODELAY 1
#define TCP_MAXSEG 2
#endif
#ifndef TCP_INFO
#define TCP_INFO 11 /* struct tcp_info of <linux/tcp.h> */
#endif

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};
const char *tcp_state_name(enum tcp_state s);

struct tcp_conn;

/* Readiness changed on c: events are EPOLL* bits that may now hold
 * (EPOLLIN for data/EOF/a new connection on a listener, EPOLLOUT for send
 * space or connect done, EPOLLERR/EPOLLHUP/EPOLLRDHUP). */
typedef void (*tcp_notify_fn)(struct us_stack *st, struct tcp_conn *c,
			      uint32_t events, void *arg);

int tcp_init(struct us_stack *st);
void tcp_fini(struct us_stack *st);

/* A new block in CLOSED, owned by the caller until tcp_close/tcp_abort. */
struct tcp_conn *tcp_conn_new(struct us_stack *st);
void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg);

/* lport 0: an ephemeral port is chosen at listen/connect. -EADDRINUSE,
 * -EADDRNOTAVAIL, -EINVAL (already bound). */
int tcp_bind(struct us_stack *st, struct tcp_conn *c,
	     const struct inaddr *laddr, uint16_t lport, bool reuseaddr);
int tcp_listen(struct us_stack *st, struct tcp_conn *c, int backlog);
/* Pop an established connection off a listener's accept queue; NULL and
 * *err = -EAGAIN when empty (or -EINVAL if not listening). The new block
 * belongs to the caller. */
struct tcp_conn *tcp_accept(struct us_stack *st, struct tcp_conn *l, int *err);
/* Start an active open (sends the SYN). 0: in progress (watch for
 * EPOLLOUT, then tcp_error). -EISCONN, -EALREADY, -EADDRNOTAVAIL,
 * -ENETUNREACH. */
int tcp_connect(struct us_stack *st, struct tcp_conn *c,
		const struct inaddr *raddr, uint16_t rport);
/* Append to the send buffer and push what the window allows. Returns the
 * bytes taken (>0), -EAGAIN if the buffer is full, -EPIPE after
 * shutdown(SHUT_WR)/close, -ENOTCONN before established, or the
 * connection's error (-ECONNRESET, -ETIMEDOUT, ...). */
ssize_t tcp_send(struct us_stack *st, struct tcp_conn *c, const void *buf,
		 size_t n, int flags);
/* Copy out received data (MSG_PEEK: leave it). >0 bytes, 0 at EOF,
 * -EAGAIN when nothing yet, -ENOTCONN, or the connection's error. */
ssize_t tcp_recv(struct us_stack *st, struct tcp_conn *c, void *buf, size_t n,
		 int flags);
int tcp_shutdown(struct us_stack *st, struct tcp_conn *c, int how);
/* The user is done with c. A graceful close (FIN after queued data;
 * RST if unread data is left, RFC 2525 2.17); with linger_zero an abortive
 * close (RST). The engine keeps the block until the close completes
 * (FIN_WAIT_*, TIME_WAIT) and frees it itself; c must not be used again. */
void tcp_close(struct us_stack *st, struct tcp_conn *c, bool linger_zero);

/* EPOLL* bits that hold now. */
uint32_t tcp_poll(struct us_stack *st, struct tcp_conn *c);
/* Pending error (positive errno) and whether to clear it (SO_ERROR). */
int tcp_error(struct tcp_conn *c, bool clear);
enum tcp_state tcp_state(const struct tcp_conn *c);
void tcp_addrs(const struct tcp_conn *c, struct inaddr *laddr, uint16_t *lport,
	       struct inaddr *raddr, uint16_t *rport);

/* Options: SO_RCVBUF/SO_SNDBUF (bytes), SO_LINGER is the socket's,
 * TCP_NODELAY, TCP_MAXSEG, TCP_INFO (read only), and later
 * TCP_CONGESTION, keepalive.
 * level/name as in setsockopt(2); -ENOPROTOOPT if unknown. */
int tcp_setopt(struct us_stack *st, struct tcp_conn *c, int level, int name,
	       const void *val, socklen_t len);
int tcp_getopt(struct us_stack *st, struct tcp_conn *c, int level, int name,
	       void *val, socklen_t *len);

#endif
