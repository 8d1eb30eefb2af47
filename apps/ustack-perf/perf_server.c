/* ustack-perf's server: any number of connections at once, each in the
 * mode its hello asks for (proto.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcfg.h"
#include "perf.h"

#define MAX_EVENTS 256
#define ROUNDS 16

struct sconn {
	int fd;
	uint32_t events;
	uint8_t hello[PERF_HELLO_LEN];
	uint32_t hello_got;
	enum perf_mode mode;
	uint32_t req, resp;
	uint32_t need_in;  /* RR: request bytes still to read */
	uint32_t out_left; /* RR: response bytes still to send */
	uint8_t count[8];  /* SEND: the byte count, sent at EOF */
	uint32_t count_left;
	bool eof;
	uint64_t bytes_in, bytes_out, t0;
	char peer[32];
};

struct server {
	struct pnet *n;
	const struct perf_opts *o;
	int lfd;
	struct sconn **conns;
	size_t nconns;
	uint8_t *buf; /* zeros to send; scratch to read into */
	uint8_t *scratch;
	uint64_t done, errors;
	uint32_t open;
};

static void want(struct server *s, struct sconn *c, uint32_t ev)
{
	if (ev == c->events)
		return;
	pn_ep_ctl(s->n, EPOLL_CTL_MOD, c->fd, ev, (uint64_t)c->fd);
	c->events = ev;
}

static bool hello_ok(struct sconn *c)
{
	if (memcmp(c->hello, PERF_MAGIC, 8))
		return false;
	c->mode = (enum perf_mode)perf_get32(c->hello + 8);
	c->req = perf_get32(c->hello + 12);
	c->resp = perf_get32(c->hello + 16);
	if (c->mode != PERF_SEND && c->mode != PERF_RECV && c->mode != PERF_RR)
		return false;
	if (c->mode == PERF_RR &&
	    (!c->req || !c->resp || c->req > PERF_SIZE_MAX ||
	     c->resp > PERF_SIZE_MAX))
		return false;
	c->need_in = c->req;
	return true;
}

/* Read into scratch; >0 bytes, 0 at EOF, -1 EAGAIN, -2 error. */
static int rd(struct server *s, struct sconn *c, size_t max)
{
	size_t cap = max < s->o->buf ? max : s->o->buf;
	ssize_t r = pn_recv(s->n, c->fd, s->scratch, cap);
	if (r > 0) {
		c->bytes_in += (uint64_t)r;
		return (int)r;
	}
	if (r == 0) {
		c->eof = true;
		return 0;
	}
	return errno == EAGAIN ? -1 : -2;
}

/* Send up to len bytes of zeros; bytes sent, -1 EAGAIN, -2 error. */
static long wr(struct server *s, struct sconn *c, const void *b, size_t len)
{
	ssize_t w = pn_send(s->n, c->fd, b, len);
	if (w >= 0) {
		c->bytes_out += (uint64_t)w;
		return (long)w;
	}
	return errno == EAGAIN ? -1 : -2;
}

/* 1: keep going; 0: finished cleanly; -1: failed. */
static int run_send(struct server *s, struct sconn *c)
{
	while (!c->eof) {
		int r = rd(s, c, s->o->buf);
		if (r == -1) {
			want(s, c, EPOLLIN);
			return 1;
		}
		if (r == -2)
			return -1;
	}
	if (!c->count_left) {
		/* EOF: tell the client how much arrived. */
		uint64_t v = c->bytes_in - PERF_HELLO_LEN;
		for (int i = 0; i < 8; i++)
			c->count[i] = (uint8_t)(v >> (56 - 8 * i));
		c->count_left = 8;
	}
	long w = wr(s, c, c->count + 8 - c->count_left, c->count_left);
	if (w == -2)
		return -1;
	if (w > 0)
		c->count_left -= (uint32_t)w;
	if (c->count_left) {
		want(s, c, EPOLLOUT);
		return 1;
	}
	return 0;
}

static int run_recv(struct server *s, struct sconn *c)
{
	for (int i = 0; i < ROUNDS; i++) {
		int r = rd(s, c, s->o->buf);
		if (r == 0)
			return 0; /* the client's time is up */
		if (r == -2)
			return -1;
		long w = wr(s, c, s->buf, s->o->buf);
		if (w == -2)
			return -1;
		if (w == -1)
			break;
	}
	want(s, c, EPOLLIN | EPOLLOUT);
	return 1;
}

static int run_rr(struct server *s, struct sconn *c)
{
	for (int i = 0; i < ROUNDS * 4; i++) {
		if (c->out_left) {
			size_t n =
			    c->out_left < s->o->buf ? c->out_left : s->o->buf;
			long w = wr(s, c, s->buf, n);
			if (w == -2)
				return -1;
			if (w == -1) {
				want(s, c, EPOLLOUT);
				return 1;
			}
			c->out_left -= (uint32_t)w;
			continue;
		}
		/* Only this request's bytes: the next one starts after our
		 * answer, never mixed with it. */
		int r = rd(s, c, c->need_in);
		if (r == 0)
			return 0;
		if (r == -2)
			return -1;
		if (r == -1) {
			want(s, c, EPOLLIN);
			return 1;
		}
		c->need_in -= (uint32_t)r;
		if (!c->need_in) {
			c->need_in = c->req;
			c->out_left = c->resp;
		}
	}
	return 1;
}

static int sconn_run(struct server *s, struct sconn *c)
{
	while (c->hello_got < PERF_HELLO_LEN) {
		ssize_t r = pn_recv(s->n, c->fd, c->hello + c->hello_got,
				    PERF_HELLO_LEN - c->hello_got);
		if (r == 0)
			return -1;
		if (r < 0)
			return errno == EAGAIN ? 1 : -1;
		c->hello_got += (uint32_t)r;
		c->bytes_in += (uint64_t)r;
		if (c->hello_got == PERF_HELLO_LEN && !hello_ok(c)) {
			fprintf(stderr,
				"ustack-perf: %s: not a ustack-perf "
				"hello\n",
				c->peer);
			return -1;
		}
	}
	switch (c->mode) {
	case PERF_SEND:
		return run_send(s, c);
	case PERF_RECV:
		return run_recv(s, c);
	default:
		return run_rr(s, c);
	}
}

static void sconn_end(struct server *s, struct sconn *c, bool ok)
{
	static const char *const names[] = {"?", "send", "recv", "rr"};
	double secs = (double)(app_now_ns() - c->t0) / 1e9;
	uint64_t moved =
	    c->bytes_in > c->bytes_out ? c->bytes_in : c->bytes_out;

	printf("conn %s mode %s in %llu out %llu seconds %.3f Gbit/s %.3f%s\n",
	       c->peer, names[c->mode <= PERF_RR ? c->mode : 0],
	       (unsigned long long)c->bytes_in,
	       (unsigned long long)c->bytes_out, secs,
	       secs > 0 ? (double)moved * 8 / secs / 1e9 : 0.0,
	       ok ? "" : " FAILED");
	pn_close(s->n, c->fd);
	s->conns[c->fd] = NULL;
	s->open--;
	s->done++;
	if (!ok)
		s->errors++;
	free(c);
}

static void accept_all(struct server *s)
{
	for (;;) {
		struct sockaddr_in peer;
		int fd = pn_accept(s->n, s->lfd);
		if (fd < 0)
			return;
		if ((size_t)fd >= s->nconns) {
			size_t n = s->nconns ? s->nconns : 1024;
			while (n <= (size_t)fd)
				n *= 2;
			struct sconn **t = realloc(s->conns, n * sizeof(*t));
			if (!t) {
				pn_close(s->n, fd);
				continue;
			}
			memset(t + s->nconns, 0, (n - s->nconns) * sizeof(*t));
			s->conns = t;
			s->nconns = n;
		}
		struct sconn *c = calloc(1, sizeof(*c));
		if (!c) {
			pn_close(s->n, fd);
			continue;
		}
		c->fd = fd;
		c->t0 = app_now_ns();
		c->events = EPOLLIN;
		socklen_t plen = sizeof(peer);
		int grc =
		    s->n->st ? us_getpeername(s->n->st, fd,
					      (struct sockaddr *)&peer, &plen)
			     : getpeername(fd, (struct sockaddr *)&peer, &plen);
		if (grc == 0)
			snprintf(c->peer, sizeof(c->peer), "%s:%u",
				 inet_ntoa(peer.sin_addr),
				 ntohs(peer.sin_port));
		else
			snprintf(c->peer, sizeof(c->peer), "fd%d", fd);
		if (s->o->sockbuf) {
			pn_setsockopt(s->n, fd, SOL_SOCKET, SO_SNDBUF,
				      (int)s->o->sockbuf);
			pn_setsockopt(s->n, fd, SOL_SOCKET, SO_RCVBUF,
				      (int)s->o->sockbuf);
		}
		pn_setsockopt(s->n, fd, IPPROTO_TCP, TCP_NODELAY, 1);
		if (pn_ep_ctl(s->n, EPOLL_CTL_ADD, fd, EPOLLIN, (uint64_t)fd) <
		    0) {
			free(c);
			pn_close(s->n, fd);
			continue;
		}
		s->conns[fd] = c;
		s->open++;
	}
}

static int listen_on(struct server *s)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(s->o->port)};
	int fd = pn_socket(s->n);

	if (fd < 0)
		return -1;
	pn_setsockopt(s->n, fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (pn_bind(s->n, fd, &sin) < 0 || pn_listen(s->n, fd, 1024) < 0 ||
	    pn_ep_ctl(s->n, EPOLL_CTL_ADD, fd, EPOLLIN, PERF_TAG_LISTEN) < 0) {
		int e = errno;
		pn_close(s->n, fd);
		errno = e;
		return -1;
	}
	return fd;
}

int perf_server(struct pnet *n, const struct perf_opts *o, int sfd)
{
	struct epoll_event evs[MAX_EVENTS];
	struct server s = {.n = n, .o = o};
	int rc = 0;

	s.buf = calloc(1, o->buf);
	s.scratch = malloc(o->buf);
	if (!s.buf || !s.scratch) {
		fprintf(stderr, "ustack-perf: out of memory\n");
		rc = 1;
		goto out;
	}
	s.lfd = listen_on(&s);
	if (s.lfd < 0) {
		fprintf(stderr, "ustack-perf: TCP port %u: %s\n", o->port,
			strerror(errno));
		rc = 1;
		goto out;
	}
	printf("listening on port %u (%s)\n", o->port,
	       n->st ? "ustack" : "kernel");
	fflush(stdout);
	while (!o->max_conns || s.done < o->max_conns) {
		int k = pn_ep_wait(n, evs, MAX_EVENTS, -1);
		if (k < 0) {
			fprintf(stderr, "ustack-perf: wait: %s\n",
				strerror(errno));
			rc = 1;
			break;
		}
		for (int i = 0; i < k; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == PERF_TAG_SIGNAL) {
				if (app_signalled(sfd))
					goto done;
			} else if (tag == PERF_TAG_LISTEN) {
				accept_all(&s);
			} else if (tag < s.nconns && s.conns[tag]) {
				int r = sconn_run(&s, s.conns[tag]);
				if (r <= 0)
					sconn_end(&s, s.conns[tag], r == 0);
			}
		}
		fflush(stdout);
	}
done:
	printf("server: connections %llu errors %llu open-at-exit %u\n",
	       (unsigned long long)s.done, (unsigned long long)s.errors,
	       s.open);
	for (size_t i = 0; i < s.nconns; i++)
		if (s.conns[i]) {
			pn_close(n, s.conns[i]->fd);
			free(s.conns[i]);
		}
	pn_close(n, s.lfd);
	/* Stopped by a signal: the summary tells; --max-conns: the status. */
	if (s.errors && o->max_conns && s.done >= o->max_conns)
		rc = 1;
out:
	free(s.conns);
	free(s.buf);
	free(s.scratch);
	return rc;
}
