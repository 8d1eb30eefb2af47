/* ustack-perf's client: open --conns connections, run the mode for
 * --duration seconds, end every connection cleanly, and report. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcfg.h"
#include "hist.h"
#include "perf.h"

#define MAX_EVENTS 256
#define ROUNDS 16
#define FINISH_NS 10000000000ull /* ending the connections: at most 10 s */

enum phase { P_CONNECT, P_RUN, P_FINISH };

struct cconn {
	int fd;
	uint32_t events;
	bool connected, shut, eof, done, failed;
	uint8_t hello[PERF_HELLO_LEN];
	uint32_t hello_off;
	uint64_t sent, rcvd;
	/* SEND: the server's count of what arrived. */
	uint8_t count[8];
	uint32_t count_got;
	/* RR: the transaction in flight. */
	uint32_t req_left, resp_left;
	uint64_t t_req;
};

struct client {
	struct pnet *n;
	const struct perf_opts *o;
	struct cconn *c;
	uint8_t *buf, *scratch;
	enum phase phase;
	uint32_t nconnected, ndone;
	uint64_t t0, t_end, t_last;
	uint64_t txns;	      /* RR: completed before the deadline */
	uint64_t rcvd_at_end; /* bytes received when the run ended */
	struct hist lat;
	int err;      /* first error (errno) */
	bool stopped; /* by SIGINT/SIGTERM */
	const char *err_what;
};

static void fail_conn(struct client *k, struct cconn *c, int err,
		      const char *what)
{
	if (!c->failed && !k->err) {
		k->err = err ? err : EIO;
		k->err_what = what;
	}
	c->failed = true;
	if (!c->done) {
		c->done = true;
		k->ndone++;
	}
}

static void want(struct client *k, struct cconn *c, uint32_t ev)
{
	if (ev == c->events)
		return;
	pn_ep_ctl(k->n, EPOLL_CTL_MOD, c->fd, ev, (uint64_t)(c - k->c));
	c->events = ev;
}

static void finish_conn(struct client *k, struct cconn *c)
{
	if (!c->done) {
		c->done = true;
		k->ndone++;
		k->t_last = app_now_ns();
	}
}

/* Read what is there: -1 EAGAIN, 0 EOF, -2 error, else bytes. */
static long rd(struct client *k, struct cconn *c, void *b, size_t cap)
{
	ssize_t r = pn_recv(k->n, c->fd, b, cap);
	if (r > 0) {
		c->rcvd += (uint64_t)r;
		return (long)r;
	}
	if (r == 0) {
		c->eof = true;
		return 0;
	}
	return errno == EAGAIN ? -1 : -2;
}

static long wr(struct client *k, struct cconn *c, const void *b, size_t len)
{
	ssize_t w = pn_send(k->n, c->fd, b, len);
	if (w >= 0) {
		c->sent += (uint64_t)w;
		return (long)w;
	}
	return errno == EAGAIN ? -1 : -2;
}

static void start_txn(struct cconn *c, const struct perf_opts *o)
{
	c->req_left = o->req_size;
	c->resp_left = o->resp_size;
	c->t_req = app_now_ns();
}

/* The end of the run for one connection: shut down our side; what
 * follows is reading (the count, the rest of a stream) up to EOF. */
static void begin_finish(struct client *k, struct cconn *c)
{
	if (c->done || c->shut)
		return;
	/* RR: a transaction in flight completes first (run_rr). */
	if (k->o->mode == PERF_RR && (c->req_left || c->resp_left))
		return;
	pn_shutdown(k->n, c->fd, SHUT_WR);
	c->shut = true;
	want(k, c, EPOLLIN);
}

static void run_send(struct client *k, struct cconn *c)
{
	if (!c->shut) {
		for (int i = 0; i < ROUNDS; i++) {
			long w = wr(k, c, k->buf, k->o->buf);
			if (w == -2)
				return fail_conn(k, c, errno, "send");
			if (w == -1)
				break;
		}
		want(k, c, EPOLLOUT);
		return;
	}
	for (;;) {
		uint8_t tmp[64];
		long r = rd(k, c, tmp, sizeof(tmp));
		if (r == -1)
			return;
		if (r == -2)
			return fail_conn(k, c, errno, "recv");
		if (r == 0) {
			if (c->count_got < 8)
				return fail_conn(k, c, EPROTO,
						 "server closed without its "
						 "count");
			return finish_conn(k, c);
		}
		for (long i = 0; i < r && c->count_got < 8; i++)
			c->count[c->count_got++] = tmp[i];
	}
}

static void run_recv(struct client *k, struct cconn *c)
{
	for (int i = 0; i < ROUNDS; i++) {
		long r = rd(k, c, k->scratch, k->o->buf);
		if (r == -1)
			return;
		if (r == -2)
			return fail_conn(k, c, errno, "recv");
		if (r == 0) {
			if (!c->shut)
				return fail_conn(k, c, EPIPE,
						 "server ended the stream "
						 "early");
			return finish_conn(k, c);
		}
	}
}

static void run_rr(struct client *k, struct cconn *c)
{
	const struct perf_opts *o = k->o;

	for (int i = 0; i < ROUNDS * 4; i++) {
		if (c->shut) {
			long r = rd(k, c, k->scratch, k->o->buf);
			if (r == 0)
				return finish_conn(k, c);
			if (r == -2)
				return fail_conn(k, c, errno, "recv");
			return;
		}
		if (c->req_left) {
			size_t n = c->req_left < o->buf ? c->req_left : o->buf;
			long w = wr(k, c, k->buf, n);
			if (w == -2)
				return fail_conn(k, c, errno, "send");
			if (w == -1)
				return want(k, c, EPOLLOUT);
			c->req_left -= (uint32_t)w;
			continue;
		}
		size_t n = c->resp_left < o->buf ? c->resp_left : o->buf;
		long r = rd(k, c, k->scratch, n);
		if (r == -1)
			return want(k, c, EPOLLIN);
		if (r == 0)
			return fail_conn(k, c, EPIPE,
					 "server closed mid-transaction");
		if (r == -2)
			return fail_conn(k, c, errno, "recv");
		c->resp_left -= (uint32_t)r;
		if (c->resp_left)
			continue;
		uint64_t now = app_now_ns();
		hist_add(&k->lat, now - c->t_req);
		if (k->phase == P_RUN) {
			k->txns++;
			start_txn(c, o);
		} else {
			begin_finish(k, c);
		}
	}
}

static void on_connected(struct client *k, struct cconn *c)
{
	const struct perf_opts *o = k->o;
	int e = pn_so_error(k->n, c->fd);

	if (e)
		return fail_conn(k, c, e, "connect");
	c->connected = true;
	k->nconnected++;
	memcpy(c->hello, PERF_MAGIC, 8);
	perf_put32(c->hello + 8, o->mode);
	perf_put32(c->hello + 12, o->req_size);
	perf_put32(c->hello + 16, o->resp_size);
	/* 32 bytes into an empty send buffer: one call. */
	if (wr(k, c, c->hello, PERF_HELLO_LEN) != PERF_HELLO_LEN)
		return fail_conn(k, c, errno, "send hello");
	c->sent = 0;
	want(k, c, 0);
}

static void conn_event(struct client *k, struct cconn *c, uint32_t ev)
{
	if (c->done)
		return;
	if (!c->connected) {
		on_connected(k, c);
		return;
	}
	if (k->phase == P_CONNECT) {
		/* Waiting for the others; only a failure is news. */
		if (ev & (EPOLLERR | EPOLLHUP))
			fail_conn(k, c, pn_so_error(k->n, c->fd), "connection");
		return;
	}
	switch (k->o->mode) {
	case PERF_SEND:
		run_send(k, c);
		break;
	case PERF_RECV:
		run_recv(k, c);
		break;
	default:
		run_rr(k, c);
		break;
	}
}

static int open_conns(struct client *k)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(k->o->port),
				 .sin_addr.s_addr = k->o->server_ip};

	for (uint32_t i = 0; i < k->o->conns; i++) {
		struct cconn *c = &k->c[i];
		c->fd = pn_socket(k->n);
		if (c->fd < 0) {
			k->err = errno;
			k->err_what = "socket";
			return -1;
		}
		if (k->o->sockbuf) {
			pn_setsockopt(k->n, c->fd, SOL_SOCKET, SO_SNDBUF,
				      (int)k->o->sockbuf);
			pn_setsockopt(k->n, c->fd, SOL_SOCKET, SO_RCVBUF,
				      (int)k->o->sockbuf);
		}
		pn_setsockopt(k->n, c->fd, IPPROTO_TCP, TCP_NODELAY, 1);
		c->events = EPOLLOUT;
		if (pn_ep_ctl(k->n, EPOLL_CTL_ADD, c->fd, EPOLLOUT, i) < 0 ||
		    (pn_connect(k->n, c->fd, &to) < 0 &&
		     errno != EINPROGRESS)) {
			k->err = errno;
			k->err_what = "connect";
			return -1;
		}
	}
	return 0;
}

/* The phase changes: all connected -> run; deadline -> finish. */
static void advance(struct client *k, uint64_t now)
{
	const struct perf_opts *o = k->o;

	if (k->phase == P_CONNECT && k->nconnected == o->conns) {
		k->phase = P_RUN;
		k->t0 = now;
		for (uint32_t i = 0; i < o->conns; i++) {
			struct cconn *c = &k->c[i];
			if (o->mode == PERF_SEND) {
				want(k, c, EPOLLOUT);
			} else if (o->mode == PERF_RECV) {
				want(k, c, EPOLLIN);
			} else {
				start_txn(c, o);
				want(k, c, EPOLLOUT);
			}
		}
	}
	if (k->phase == P_RUN && now - k->t0 >= (uint64_t)(o->duration * 1e9)) {
		k->phase = P_FINISH;
		k->t_end = now;
		/* RECV: what arrived in the run, not what drains after it. */
		for (uint32_t i = 0; i < o->conns; i++)
			k->rcvd_at_end += k->c[i].rcvd;
		for (uint32_t i = 0; i < o->conns; i++)
			begin_finish(k, &k->c[i]);
	}
}

static int wait_ms(const struct client *k, uint64_t now)
{
	uint64_t until;

	if (k->phase == P_CONNECT)
		until = k->t0 + (uint64_t)(k->o->connect_timeout * 1e9);
	else if (k->phase == P_RUN)
		until = k->t0 + (uint64_t)(k->o->duration * 1e9);
	else
		until = k->t_end + FINISH_NS;
	return until > now ? (int)((until - now + 999999) / 1000000) : 0;
}

static void report(struct client *k)
{
	static const char *const names[] = {"?", "send", "recv", "rr"};
	const struct perf_opts *o = k->o;
	uint64_t sent = 0, rcvd = 0, counted = 0;
	bool count_ok = true;
	double secs;

	for (uint32_t i = 0; i < o->conns; i++) {
		struct cconn *c = &k->c[i];
		uint64_t v = 0;
		sent += c->sent;
		rcvd += c->rcvd;
		for (int j = 0; j < 8; j++)
			v = v << 8 | c->count[j];
		counted += v;
		if (o->mode == PERF_SEND && (c->count_got < 8 || v != c->sent))
			count_ok = false;
	}
	/* SEND: until the server has counted the last byte; otherwise the
	 * run itself. */
	/* Stopped early, a bulk send has no count: what was sent then. */
	bool by_count = o->mode == PERF_SEND && !k->stopped;
	secs = (double)((by_count ? k->t_last : k->t_end) - k->t0) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	uint64_t bytes = by_count		? counted
			 : o->mode == PERF_SEND ? sent
			 : k->rcvd_at_end	? k->rcvd_at_end
						: rcvd;
	double gbps = (double)bytes * 8 / secs / 1e9;
	double tps = (double)k->txns / secs;
	const struct hist *h = &k->lat;
	double p50 = hist_quantile(h, 0.50) / 1e3,
	       p90 = hist_quantile(h, 0.90) / 1e3,
	       p99 = hist_quantile(h, 0.99) / 1e3,
	       p999 = hist_quantile(h, 0.999) / 1e3;
	double mean = h->count ? (double)h->sum / (double)h->count / 1e3 : 0;
	char to[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &o->server_ip, to, sizeof(to));
	if (o->json) {
		printf("{\"mode\":\"%s\",\"stack\":\"%s\",\"server\":\"%s:%u\","
		       "\"conns\":%u,\"seconds\":%.6f,\"bytes_sent\":%llu,"
		       "\"bytes_received\":%llu,\"bytes\":%llu,\"gbps\":%.6f",
		       names[o->mode], o->kernel ? "kernel" : "ustack", to,
		       o->port, o->conns, secs, (unsigned long long)sent,
		       (unsigned long long)rcvd, (unsigned long long)bytes,
		       gbps);
		if (o->mode == PERF_SEND)
			printf(",\"server_counted\":%llu,\"count_ok\":%s",
			       (unsigned long long)counted,
			       count_ok ? "true" : "false");
		if (o->mode == PERF_RR)
			printf(",\"req_size\":%u,\"resp_size\":%u,"
			       "\"transactions\":%llu,\"tps\":%.3f,"
			       "\"latency_us\":{\"p50\":%.3f,\"p90\":%.3f,"
			       "\"p99\":%.3f,\"p999\":%.3f,\"min\":%.3f,"
			       "\"max\":%.3f,\"mean\":%.3f}",
			       o->req_size, o->resp_size,
			       (unsigned long long)k->txns, tps, p50, p90, p99,
			       p999, h->count ? h->min / 1e3 : 0.0,
			       h->max / 1e3, mean);
		printf(",\"errors\":%d,\"stopped\":%s", k->err ? 1 : 0,
		       k->stopped ? "true" : "false");
		if (k->err)
			printf(",\"error\":\"%s: %s\"", k->err_what,
			       strerror(k->err));
		printf("}\n");
		return;
	}
	printf("ustack-perf: %s, %s -> %s:%u, %u connection%s, %.3f s\n",
	       names[o->mode], o->kernel ? "kernel" : "ustack", to, o->port,
	       o->conns, o->conns == 1 ? "" : "s", secs);
	if (o->mode == PERF_SEND)
		printf("  sent %llu bytes, server counted %llu (%s): %.3f "
		       "Gbit/s\n",
		       (unsigned long long)sent, (unsigned long long)counted,
		       k->stopped ? "not all: stopped"
		       : count_ok ? "all arrived"
				  : "MISMATCH",
		       gbps);
	else if (o->mode == PERF_RECV)
		printf("  received %llu bytes: %.3f Gbit/s\n",
		       (unsigned long long)rcvd, gbps);
	else
		printf("  %llu transactions (%u-byte requests, %u-byte "
		       "responses): %.1f per second\n"
		       "  latency us: p50 %.1f p90 %.1f p99 %.1f p999 %.1f "
		       "(min %.1f mean %.1f max %.1f)\n",
		       (unsigned long long)k->txns, o->req_size, o->resp_size,
		       tps, p50, p90, p99, p999, h->count ? h->min / 1e3 : 0.0,
		       mean, h->max / 1e3);
	if (k->err)
		printf("  error: %s: %s\n", k->err_what, strerror(k->err));
	if (k->stopped)
		printf("  stopped by a signal before the end\n");
}

int perf_client(struct pnet *n, const struct perf_opts *o, int sfd)
{
	struct epoll_event evs[MAX_EVENTS];
	struct client k = {.n = n, .o = o};
	int rc = 1;

	hist_init(&k.lat);
	k.c = calloc(o->conns, sizeof(*k.c));
	k.buf = calloc(1, o->buf);
	k.scratch = malloc(o->buf);
	if (!k.c || !k.buf || !k.scratch) {
		fprintf(stderr, "ustack-perf: out of memory\n");
		goto out;
	}
	for (uint32_t i = 0; i < o->conns; i++)
		k.c[i].fd = -1;
	k.t0 = app_now_ns();
	if (open_conns(&k) < 0)
		goto report;
	while (k.ndone < o->conns) {
		uint64_t now = app_now_ns();
		advance(&k, now);
		if (k.phase == P_FINISH && k.ndone == o->conns)
			break;
		int ms = wait_ms(&k, now);
		if (ms == 0 && k.phase != P_RUN) {
			k.err = ETIMEDOUT;
			k.err_what =
			    k.phase == P_CONNECT ? "connect" : "ending the run";
			break;
		}
		int m = pn_ep_wait(n, evs, MAX_EVENTS, ms);
		if (m < 0) {
			k.err = errno;
			k.err_what = "wait";
			break;
		}
		for (int i = 0; i < m; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == PERF_TAG_SIGNAL) {
				if (app_signalled(sfd)) {
					/* Stopped: report what was measured
					 * so far, and exit 0 (as every
					 * program does on SIGINT/SIGTERM). */
					k.stopped = true;
					goto report;
				}
			} else if (tag < o->conns) {
				conn_event(&k, &k.c[tag], evs[i].events);
			}
		}
		if (k.err)
			break;
	}
report:
	if (!k.t_end)
		k.t_end = app_now_ns();
	if (!k.t_last)
		k.t_last = k.t_end;
	report(&k);
	rc = k.err ? 1 : 0;
	if (o->mode == PERF_SEND && !k.err && !k.stopped)
		for (uint32_t i = 0; i < o->conns; i++) {
			uint64_t v = 0;
			for (int j = 0; j < 8; j++)
				v = v << 8 | k.c[i].count[j];
			if (v != k.c[i].sent)
				rc = 1;
		}
	for (uint32_t i = 0; i < o->conns; i++)
		if (k.c[i].fd >= 0)
			pn_close(n, k.c[i].fd);
out:
	free(k.c);
	free(k.buf);
	free(k.scratch);
	return rc;
}
