/* Helpers for the TCP simulations (on top of sim.h):
 *
 * - a tracer: a device wrapper the test slips between a stack and its end
 *   of the link (through sim_opts.tweak). It watches the one TCP
 *   connection of the simulation on the wire, the way tcpdump would, and
 *   keeps what a user checks: which data segments were sent again and
 *   when, the flight size (highest sequence sent minus highest ACK
 *   received), the options of the SYNs, the seq of the Nth data segment
 *   (the same ordinal the impair wrapper's drop_list uses);
 * - a bulk transfer driver on non-blocking sockets: a seeded pattern
 *   goes in at one end, SHA-256 of what comes out at the other is
 *   compared with SHA-256 of what went in;
 * - a discrete-event loop (tsim_run) that also counts the applications'
 *   own work (bytes moved by send/recv) as activity, so the clock never
 *   jumps while an application still has something to do at the current
 *   instant, and that turns both stacks at least twice at each instant
 *   (frames B's turn releases towards A are read on the next turn);
 * - simulations made on the heap (tsim_env_new) and finished by the cmocka
 *   teardown tsim_teardown, also when an assertion ends a test early;
 * - the size scale: USTACK_SIM_SCALE=N divides every transfer size by N;
 *   under AddressSanitizer the default is 16 (64 MiB becomes 4 MiB).
 *
 * Tests may use internal headers: the tracer is a device (dev/dev.h) and
 * "no connection left behind" counts the engine's blocks (tcp_conn.h). */
#ifndef TCP_SIM_H
#define TCP_SIM_H

#include <fcntl.h>
#include <linux/tcp.h> /* not netinet/tcp.h: its state names clash with tcp.h */
#include <time.h>

#include "sim/sim.h"
#include "sim/sha256.h"
#include "core/stack.h"
#include "dev/dev.h"
#include "tcp/tcp_conn.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define TSIM_DEFAULT_SCALE 16
#else
#define TSIM_DEFAULT_SCALE 1
#endif

#define TSIM_KIB 1024ull
#define TSIM_MIB (1024ull * 1024ull)

/* Divisor for transfer sizes: USTACK_SIM_SCALE, else the build's default. */
static inline uint64_t tsim_scale(void)
{
	const char *e = getenv("USTACK_SIM_SCALE");
	long v = e ? strtol(e, NULL, 10) : 0;
	return v >= 1 ? (uint64_t)v : TSIM_DEFAULT_SCALE;
}

/* A size in bytes after scaling, never below min. */
static inline uint64_t tsim_scaled(uint64_t bytes, uint64_t min)
{
	uint64_t v = bytes / tsim_scale();
	return v < min ? min : v;
}

static inline double tsim_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- tracer */

#define TSIM_RTX_LOG 256
#define TSIM_ORDS 8

struct tsim_rtx {
	uint32_t seq, len; /* relative to ISS+1 */
	uint64_t t;	   /* stack time (ns) */
	uint32_t flight;   /* flight size when it was sent (bytes) */
	uint32_t snd_max;  /* highest sequence sent by then (relative) */
};

struct tsim_trace {
	/* Locked onto the first SYN seen, in either direction. */
	bool locked;
	uint16_t lport, rport; /* this side's port, the peer's */
	bool iss_known, irs_known;
	uint32_t iss, irs;
	/* Options of our SYN (tx) and of the peer's (rx): -1 if absent. */
	int ws_tx, ws_rx, mss_tx, mss_rx;
	/* Data this side sent: every data segment (retransmissions too),
	 * and those below the highest sequence sent before them. */
	uint64_t data_segs, data_bytes, rtx_segs, rtx_bytes;
	uint32_t snd_max; /* relative: bytes past ISS+1 ever sent */
	uint32_t una;	  /* relative: highest ACK received */
	uint32_t max_flight;
	uint64_t max_flight_t;
	/* Flight size sampled at every data segment sent in [win_from,
	 * win_to) (stack time): the largest. With watch_ns set, the window
	 * opens by itself when the first retransmission's recovery point
	 * (the highest sequence sent before it) is acknowledged, and lasts
	 * watch_ns: the flight then is the congestion window after
	 * recovery. */
	uint64_t win_from, win_to, watch_ns;
	uint32_t win_max_flight;
	struct tsim_rtx rtx[TSIM_RTX_LOG];
	uint32_t nrtx;
	/* The peer's advertised window (scaled once both sent WS), and
	 * ACKs that closed it (window 0). */
	uint32_t max_peer_wnd;
	uint64_t zero_wnd_acks;
	/* Frames by kind. */
	uint64_t syn_tx, rst_tx, rst_rx, fin_tx, tx_frames, rx_frames;
	/* Relative seq of the Nth (1-based) data segment this side sent,
	 * for the ordinals asked in ords[] (the impair drop_list's count). */
	uint32_t ords[TSIM_ORDS], ord_seq[TSIM_ORDS], ord_len[TSIM_ORDS];
	uint32_t nords;
	uint64_t ord_t[TSIM_ORDS];
};

/* Options of a SYN: window scale and MSS (RFC 9293 3.2, RFC 7323 2.2). */
static inline void tsim_syn_opts(const uint8_t *o, uint32_t n, int *ws,
				 int *mss)
{
	*ws = -1;
	*mss = -1;
	for (uint32_t i = 0; i < n;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			break;
		if (o[i] == 2 && o[i + 1] == 4)
			*mss = o[i + 2] << 8 | o[i + 3];
		if (o[i] == 3 && o[i + 1] == 3)
			*ws = o[i + 2];
		i += o[i + 1];
	}
}

static inline void tsim_trace_frame(struct tsim_trace *t, const uint8_t *f,
				    uint32_t len, bool tx, uint64_t now)
{
	uint32_t ihl, tot, doff, plen;
	const uint8_t *ip = f + 14, *th;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return;
	ihl = (ip[0] & 0xfu) * 4u;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	if (ip[9] != 6 || ihl < 20 || tot > len - 14 || tot < ihl + 20 ||
	    (((uint32_t)ip[6] << 8 | ip[7]) & 0x1fff))
		return;
	th = ip + ihl;
	doff = (uint32_t)(th[12] >> 4) * 4u;
	if (doff < 20 || ihl + doff > tot)
		return;
	plen = tot - ihl - doff;
	uint16_t sport = (uint16_t)(th[0] << 8 | th[1]);
	uint16_t dport = (uint16_t)(th[2] << 8 | th[3]);
	uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
		       (uint32_t)th[6] << 8 | th[7];
	uint32_t ack = (uint32_t)th[8] << 24 | (uint32_t)th[9] << 16 |
		       (uint32_t)th[10] << 8 | th[11];
	uint8_t fl = th[13];
	uint32_t wnd = (uint32_t)th[14] << 8 | th[15];
	uint16_t lp = tx ? sport : dport, rp = tx ? dport : sport;

	if (tx)
		t->tx_frames++;
	else
		t->rx_frames++;
	/* Ordinals count every TCP data frame sent, as impair does. */
	if (tx && plen) {
		t->data_segs++;
		for (uint32_t i = 0; i < t->nords; i++)
			if (t->ords[i] == t->data_segs) {
				t->ord_seq[i] =
				    t->iss_known ? seq - t->iss - 1 : seq;
				t->ord_len[i] = plen;
				t->ord_t[i] = now;
			}
	}
	if (!t->locked && (fl & 0x02)) {
		t->locked = true;
		t->lport = lp;
		t->rport = rp;
	}
	if (!t->locked || lp != t->lport || rp != t->rport)
		return;
	if (fl & 0x04) {
		if (tx)
			t->rst_tx++;
		else
			t->rst_rx++;
		return;
	}
	if (fl & 0x02) {
		int ws, mss;
		tsim_syn_opts(th + 20, doff - 20, &ws, &mss);
		if (tx) {
			t->syn_tx++;
			t->iss_known = true;
			t->iss = seq;
			t->ws_tx = ws;
			t->mss_tx = mss;
		} else {
			t->irs_known = true;
			t->irs = seq;
			t->ws_rx = ws;
			t->mss_rx = mss;
		}
		return;
	}
	if (!t->iss_known)
		return;
	if (!tx) {
		if (fl & 0x10) {
			uint32_t a = ack - t->iss - 1;
			/* Not past what was sent (the FIN's ack is one more).
			 */
			if ((int32_t)(a - t->una) > 0 &&
			    (int32_t)(a - t->snd_max) <= 1)
				t->una = a;
			if (t->watch_ns && t->nrtx && !t->win_from &&
			    (int32_t)(t->una - t->rtx[0].snd_max) >= 0) {
				t->win_from = now;
				t->win_to = now + t->watch_ns;
			}
			uint32_t w = wnd;
			if (t->ws_tx >= 0 && t->ws_rx >= 0)
				w <<= t->ws_rx;
			if (w > t->max_peer_wnd)
				t->max_peer_wnd = w;
			if (!w)
				t->zero_wnd_acks++;
		}
		return;
	}
	if (fl & 0x01)
		t->fin_tx++;
	if (!plen)
		return;
	uint32_t rel = seq - t->iss - 1, end = rel + plen;
	t->data_bytes += plen;
	if ((int32_t)(rel - t->snd_max) < 0) {
		/* Bytes below snd_max were sent before. */
		uint32_t again =
		    (int32_t)(end - t->snd_max) < 0 ? plen : t->snd_max - rel;
		uint32_t flight = t->snd_max - t->una;
		t->rtx_segs++;
		t->rtx_bytes += again;
		if (t->nrtx < TSIM_RTX_LOG)
			t->rtx[t->nrtx++] = (struct tsim_rtx){
			    rel, plen, now, flight, t->snd_max};
	}
	if ((int32_t)(end - t->snd_max) > 0)
		t->snd_max = end;
	uint32_t flight = t->snd_max - t->una;
	if (flight > t->max_flight) {
		t->max_flight = flight;
		t->max_flight_t = now;
	}
	if (now >= t->win_from && now < t->win_to && flight > t->win_max_flight)
		t->win_max_flight = flight;
}

static inline void tsim_trace_tx(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	for (int i = 0; i < n; i++)
		tsim_trace_frame(d->priv, pkts[i]->data, pkts[i]->len, true,
				 d->st->now);
	d->lower->ops->tx_burst(d->lower, pkts, n);
}

static inline int tsim_trace_rx(struct us_dev *d, struct us_pbuf **pkts,
				int max)
{
	int n = d->lower->ops->rx_burst(d->lower, pkts, max);
	for (int i = 0; i < n; i++)
		tsim_trace_frame(d->priv, pkts[i]->data, pkts[i]->len, false,
				 d->st->now);
	return n;
}

static inline void tsim_trace_close(struct us_dev *d)
{
	dev_close(d->lower);
	free(d); /* the trace itself belongs to the test */
}

static const struct us_dev_ops tsim_trace_ops = {
    .name = "tsim-trace",
    .rx_burst = tsim_trace_rx,
    .tx_burst = tsim_trace_tx,
    .close = tsim_trace_close,
    /* next_event: the stack asks every device below us itself. */
};

static inline void tsim_trace_reset(struct tsim_trace *t)
{
	memset(t, 0, sizeof(*t));
	t->ws_tx = t->ws_rx = t->mss_tx = t->mss_rx = -1;
}

/* sim_opts.tweak: wrap side i's device in the tracer traces[i]. */
static inline void tsim_trace_tweak(struct us_config *cfg, int side, void *arg)
{
	struct tsim_trace *traces = arg;
	struct us_dev *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	dev_wrap_init(d, &tsim_trace_ops, cfg->dev);
	d->priv = &traces[side];
	cfg->dev = d;
}

/* ------------------------------------------------ simulation with tracers */

/* A simulation whose stacks are each wrapped in a tracer (tr[0]: A,
 * tr[1]: B). Made on the heap and remembered, so that tsim_teardown (the
 * cmocka teardown of every test) finishes it even when an assertion
 * ended the test early: ASan's leak check then reports real leaks only. */
struct tsim_env {
	struct sim s;
	struct tsim_trace tr[2];
	bool up;
};

#define TSIM_MAX_TRACKED 16
static struct tsim_env *tsim_envs[TSIM_MAX_TRACKED];
static void *tsim_mems[TSIM_MAX_TRACKED];

static inline void *tsim_track(void *p)
{
	for (int i = 0; i < TSIM_MAX_TRACKED; i++)
		if (!tsim_mems[i]) {
			tsim_mems[i] = p;
			return p;
		}
	abort();
}

/* imp_a/imp_b: impairments of what A/B send (NULL: none). */
static inline struct tsim_env *tsim_env_new(const struct us_impair *imp_a,
					    const struct us_impair *imp_b)
{
	struct tsim_env *e = calloc(1, sizeof(*e));
	int slot = -1;

	if (!e)
		abort();
	for (int i = 0; i < TSIM_MAX_TRACKED && slot < 0; i++)
		if (!tsim_envs[i])
			slot = i;
	if (slot < 0)
		abort();
	tsim_envs[slot] = e;
	tsim_trace_reset(&e->tr[0]);
	tsim_trace_reset(&e->tr[1]);
	struct sim_opts o = {.imp_a = imp_a,
			     .imp_b = imp_b,
			     .tweak = tsim_trace_tweak,
			     .tweak_arg = e->tr};
	if (sim_init(&e->s, &o) < 0) {
		fprintf(stderr, "sim_init: %s\n", strerror(errno));
		return NULL;
	}
	e->up = true;
	return e;
}

static inline int tsim_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < TSIM_MAX_TRACKED; i++) {
		if (tsim_envs[i] && tsim_envs[i]->up)
			sim_fini(&tsim_envs[i]->s);
		free(tsim_envs[i]);
		tsim_envs[i] = NULL;
		free(tsim_mems[i]);
		tsim_mems[i] = NULL;
	}
	return 0;
}

/* ---------------------------------------------------------- the loop */

/* The application's part of a turn: returns the work it did (bytes
 * moved), and sets *done when the test's goal is reached. */
typedef uint64_t (*tsim_app_fn)(struct sim *s, void *arg, bool *done);

/* Like sim_run_until, but the application's work counts as activity (its
 * send may have queued frames that go out on the next turn, at the same
 * instant). Returns whether done was reached within max_ns of virtual
 * time; false also when nothing could happen any more. */
static inline bool tsim_run(struct sim *s, tsim_app_fn app, void *arg,
			    uint64_t max_ns)
{
	uint64_t deadline = s->clk.now_ns + max_ns;
	bool done = false;
	int idle = 0, turns_here = 0;

	for (;;) {
		uint64_t work = app ? app(s, arg, &done) : 0;
		if (done)
			return true;
		s->turns++;
		int ra = us_stack_poll(s->a, 0);
		int rb = us_stack_poll(s->b, 0);
		if (ra < 0 || rb < 0)
			return false;
		work += app ? app(s, arg, &done) : 0;
		if (done)
			return true;
		/* B's turn may have released frames that were due (a delayed
		 * frame in its impair wrapper) into the pipe towards A, which
		 * A only reads on the next turn; the pipe does not count as
		 * timed work, so never jump the clock before a second turn at
		 * the same instant. */
		if (ra > 0 || rb > 0 || work > 0 || ++turns_here < 2) {
			idle = 0;
			continue;
		}
		uint64_t na = us_stack_next_event(s->a);
		uint64_t nb = us_stack_next_event(s->b);
		uint64_t next = na < nb ? na : nb, now = s->clk.now_ns;
		if (next <= now) {
			if (++idle < 4)
				continue;
			next = now + SIM_MS;
		}
		idle = 0;
		if (now >= deadline)
			return false;
		if (next == UINT64_MAX)
			return !app; /* nothing left that could happen */
		s->clk.now_ns = next < deadline ? next : deadline;
		turns_here = 0;
	}
}

/* ----------------------------------------------------- sockets */

static inline int tsim_set_nonblock(struct us_stack *st, int fd)
{
	int fl = us_fcntl(st, fd, F_GETFL);
	if (fl < 0)
		return -1;
	return us_fcntl(st, fd, F_SETFL, fl | O_NONBLOCK);
}

/* A non-blocking listener on st at 0.0.0.0:port. -1 on failure. */
static inline int tsim_listen(struct us_stack *st, uint16_t port, int backlog)
{
	int fd = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sin = sim_sin("0.0.0.0", port);
	if (us_bind(st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    us_listen(st, fd, backlog) < 0) {
		int e = errno;
		us_close(st, fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Connected: getpeername works once the handshake is done (ENOTCONN
 * before, as on Linux); a failed connect shows in SO_ERROR. Returns 1
 * connected, 0 not yet, -1 failed (errno: the connect error). */
static inline int tsim_connected(struct us_stack *st, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (us_getsockopt(st, fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
	    err) {
		errno = err;
		return -1;
	}
	if (us_getpeername(st, fd, (struct sockaddr *)&sin, &len) == 0)
		return 1;
	return 0;
}

struct tsim_pair {
	int lfd, cfd, sfd; /* listener (B), client (A), accepted (B) */
	int cerr;	   /* connect failed with this errno */
};

static inline uint64_t tsim_pair_app(struct sim *s, void *arg, bool *done)
{
	struct tsim_pair *p = arg;

	if (p->sfd < 0) {
		int fd = us_accept(s->b, p->lfd, NULL, NULL);
		if (fd >= 0)
			p->sfd = fd;
	}
	int c = tsim_connected(s->a, p->cfd);
	if (c < 0)
		p->cerr = errno;
	*done = c != 0 && p->sfd >= 0;
	if (c < 0)
		*done = true;
	return 0;
}

/* Socket buffer sizes set before the handshake (0: the default): on A's
 * socket, and on B's listener (the accepted socket inherits them). */
struct tsim_bufs {
	int a_sndbuf, a_rcvbuf, b_sndbuf, b_rcvbuf;
};

static inline int tsim_setbuf(struct us_stack *st, int fd, int name, int v)
{
	if (v && us_setsockopt(st, fd, SOL_SOCKET, name, &v, sizeof(v)) < 0) {
		fprintf(stderr, "setsockopt(%d, %d): %s\n", name, v,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* A connection from A (client) to B:port (server), both ends
 * non-blocking; the listener is closed once the connection is accepted.
 * Returns 0, or -1 with a message. */
static inline int tsim_connect_bufs(struct sim *s, uint16_t port,
				    struct tsim_pair *p, uint64_t max_ns,
				    const struct tsim_bufs *b)
{
	static const struct tsim_bufs none;
	struct sockaddr_in to = sim_sin(SIM_IP_B, port);

	if (!b)
		b = &none;
	p->sfd = p->cfd = -1;
	p->cerr = 0;
	p->lfd = tsim_listen(s->b, port, 16);
	if (p->lfd < 0) {
		fprintf(stderr, "listen on B:%u: %s\n", port, strerror(errno));
		return -1;
	}
	p->cfd = us_socket(s->a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (p->cfd < 0) {
		fprintf(stderr, "socket on A: %s\n", strerror(errno));
		return -1;
	}
	if (tsim_setbuf(s->a, p->cfd, SO_SNDBUF, b->a_sndbuf) < 0 ||
	    tsim_setbuf(s->a, p->cfd, SO_RCVBUF, b->a_rcvbuf) < 0 ||
	    tsim_setbuf(s->b, p->lfd, SO_SNDBUF, b->b_sndbuf) < 0 ||
	    tsim_setbuf(s->b, p->lfd, SO_RCVBUF, b->b_rcvbuf) < 0)
		return -1;
	if (us_connect(s->a, p->cfd, (struct sockaddr *)&to, sizeof(to)) == 0)
		fprintf(stderr, "note: connect completed at once\n");
	else if (errno != EINPROGRESS) {
		fprintf(stderr, "connect: %s (want EINPROGRESS)\n",
			strerror(errno));
		return -1;
	}
	if (!tsim_run(s, tsim_pair_app, p, max_ns) || p->cerr || p->sfd < 0) {
		fprintf(stderr, "handshake did not complete: cerr=%s sfd=%d\n",
			p->cerr ? strerror(p->cerr) : "none", p->sfd);
		return -1;
	}
	if (tsim_set_nonblock(s->b, p->sfd) < 0) {
		fprintf(stderr, "fcntl on accepted fd: %s\n", strerror(errno));
		return -1;
	}
	us_close(s->b, p->lfd);
	p->lfd = -1;
	return 0;
}

static inline int tsim_connect(struct sim *s, uint16_t port,
			       struct tsim_pair *p, uint64_t max_ns)
{
	return tsim_connect_bufs(s, port, p, max_ns, NULL);
}

/* TCP blocks alive in the engine (connections of any state, listeners). */
static inline uint32_t tsim_tcp_blocks(struct us_stack *st)
{
	uint32_t n = 0;
	struct tcp_stack *ts = tcp_of(st);

	if (!ts)
		return 0;
	for (struct tcp_conn *c = ts->all; c; c = c->anext)
		n++;
	return n;
}

static inline uint64_t tsim_no_blocks_app(struct sim *s, void *arg, bool *done)
{
	(void)arg;
	*done = tsim_tcp_blocks(s->a) == 0 && tsim_tcp_blocks(s->b) == 0;
	return 0;
}

/* TCP_INFO (Linux's struct tcp_info) of fd; false if the engine does
 * not support it. */
static inline bool tsim_tcp_info(struct us_stack *st, int fd,
				 struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return us_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, ti, &len) == 0 &&
	       len >= offsetof(struct tcp_info, tcpi_snd_cwnd) +
			  sizeof(ti->tcpi_snd_cwnd);
}

/* ------------------------------------------------- pattern and transfer */

/* A seeded pattern: splitmix64 of the 8-byte word index. Any offset can
 * be checked without the rest, so a misplaced segment is found. */
static inline uint8_t *tsim_pattern(uint64_t n, uint64_t seed)
{
	uint8_t *b = malloc(n + 8);

	if (!b)
		abort();
	for (uint64_t i = 0; i < n; i += 8) {
		uint64_t z = seed + (i / 8 + 1) * 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(b + i, &z, 8);
	}
	return b;
}

static inline void tsim_sha_hex(const uint8_t *b, uint64_t n, char hex[65])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, b, n);
	sha256_hex(&h, hex);
}

/* One direction of a transfer: total bytes from data go into tx_fd on
 * tx_st, then SHUT_WR; rx_fd on rx_st reads to EOF. */
struct tsim_dir {
	struct us_stack *tx_st, *rx_st;
	int tx_fd, rx_fd;
	const uint8_t *data;
	uint64_t total;
	uint64_t chunk; /* bytes per us_send (0: 64 KiB) */
	uint64_t sent, rcvd;
	bool shut, eof;
	int tx_err, rx_err;	 /* an unexpected errno, 0 if none */
	uint64_t mismatch_at;	 /* first differing offset, or UINT64_MAX */
	bool rx_paused;		 /* the receiving application does not read */
	uint64_t t_start, t_eof; /* stack time of the first send, of EOF */
	/* Stack time at which each eighth of total had been received. */
	uint64_t t_eighth[9];
	struct sha256 rx_hash;
};

static inline void tsim_dir_init(struct tsim_dir *d, struct us_stack *tx_st,
				 int tx_fd, struct us_stack *rx_st, int rx_fd,
				 const uint8_t *data, uint64_t total)
{
	memset(d, 0, sizeof(*d));
	d->tx_st = tx_st;
	d->rx_st = rx_st;
	d->tx_fd = tx_fd;
	d->rx_fd = rx_fd;
	d->data = data;
	d->total = total;
	d->mismatch_at = UINT64_MAX;
	sha256_init(&d->rx_hash);
	d->t_eighth[0] = UINT64_MAX; /* set by the first send */
}

static inline uint64_t tsim_dir_pump(struct tsim_dir *d, uint64_t now)
{
	static uint8_t buf[256 * 1024];
	uint64_t work = 0;
	uint64_t chunk = d->chunk ? d->chunk : 64 * 1024;

	while (!d->tx_err && d->sent < d->total) {
		uint64_t n = d->total - d->sent;
		if (n > chunk)
			n = chunk;
		if (!d->sent && !d->t_start)
			d->t_start = d->t_eighth[0] = now;
		ssize_t r =
		    us_send(d->tx_st, d->tx_fd, d->data + d->sent, n, 0);
		if (r > 0) {
			d->sent += (uint64_t)r;
			work += (uint64_t)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		d->tx_err = r < 0 ? errno : EIO;
	}
	if (!d->tx_err && d->sent == d->total && !d->shut) {
		if (us_shutdown(d->tx_st, d->tx_fd, SHUT_WR) < 0)
			d->tx_err = errno;
		d->shut = true;
		work++;
	}
	while (!d->rx_err && !d->eof && !d->rx_paused) {
		ssize_t r = us_recv(d->rx_st, d->rx_fd, buf, sizeof(buf), 0);
		if (r > 0) {
			sha256_update(&d->rx_hash, buf, (size_t)r);
			if (d->mismatch_at == UINT64_MAX) {
				if (d->rcvd + (uint64_t)r > d->total) {
					d->mismatch_at = d->total;
				} else if (memcmp(buf, d->data + d->rcvd,
						  (size_t)r)) {
					uint64_t i = 0;
					while (buf[i] == d->data[d->rcvd + i])
						i++;
					d->mismatch_at = d->rcvd + i;
				}
			}
			d->rcvd += (uint64_t)r;
			work += (uint64_t)r;
			for (int k = 1; k <= 8; k++)
				if (!d->t_eighth[k] &&
				    d->rcvd >= d->total / 8 * (uint64_t)k)
					d->t_eighth[k] = now;
			continue;
		}
		if (r == 0) {
			d->eof = true;
			d->t_eof = now;
			work++;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		d->rx_err = errno;
	}
	return work;
}

static inline bool tsim_dir_over(const struct tsim_dir *d)
{
	return d->eof || d->tx_err || d->rx_err;
}

/* Several directions at once. */
struct tsim_xfer {
	struct tsim_dir *dirs;
	int ndirs;
};

static inline uint64_t tsim_xfer_app(struct sim *s, void *arg, bool *done)
{
	struct tsim_xfer *x = arg;
	uint64_t work = 0;
	bool all = true;

	for (int i = 0; i < x->ndirs; i++) {
		work += tsim_dir_pump(&x->dirs[i], sim_now(s));
		all = all && tsim_dir_over(&x->dirs[i]);
	}
	*done = all;
	return work;
}

#endif
