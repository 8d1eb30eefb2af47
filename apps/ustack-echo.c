/* ustack-echo: a TCP and UDP echo server (RFC 862) on ustack's event API.
 * One loop: us_epoll_wait over the listener, the UDP socket, every
 * connection and (as a kernel descriptor) a signalfd for SIGINT/SIGTERM.
 * Sockets are non-blocking and level-triggered; a connection whose peer
 * does not read its echo stops reading (its interest becomes EPOLLOUT)
 * until what is pending has gone, so memory per connection is bounded.
 *
 *   ustack-echo                       TAP ust0, the stack at 10.7.0.2/24
 *   ustack-echo --dev afpacket --ifname veth0 --ip 10.8.0.2/24 --port 7
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcfg.h"
#include "udp_echo.h"
#include "ustack.h"

#define ECHO_BUF 65536
#define MAX_EVENTS 256
/* Rounds of read+send for one connection per event, so that one fast
 * peer cannot starve the others (level-triggered: it is reported again). */
#define ROUNDS 8
#define TAG_SIGNAL UINT64_MAX

enum { F_PORT = 1, F_NO_TCP, F_NO_UDP, F_BACKLOG };

struct echo_opts {
	uint32_t port, backlog;
	bool tcp, udp;
};

struct conn {
	int fd;
	uint32_t off, len; /* bytes read, not yet echoed */
	uint32_t events;   /* current interest */
	uint8_t buf[ECHO_BUF];
};

struct server {
	struct us_stack *st;
	int ep, lfd, ufd, sfd;
	struct conn **conns; /* by ustack descriptor */
	size_t nconns;
	uint64_t accepted, tcp_bytes, udp_dgrams, udp_drops;
	uint32_t open;
};

static const struct app_flag flags[] = {
    {"port", required_argument, F_PORT,
     "--port N             TCP and UDP port (default 7)"},
    {"backlog", required_argument, F_BACKLOG,
     "--backlog N          TCP accept queue (default 1024)"},
    {"no-tcp", no_argument, F_NO_TCP, "--no-tcp             UDP only"},
    {"no-udp", no_argument, F_NO_UDP, "--no-udp             TCP only"},
    {NULL, 0, 0, NULL},
};

static void on_flag(void *ctx, int id, const char *arg)
{
	struct echo_opts *o = ctx;

	switch (id) {
	case F_PORT:
		if (!app_parse_u32(arg, 1, 65535, &o->port))
			app_usage_error("--port: '%s' is not a port", arg);
		break;
	case F_BACKLOG:
		if (!app_parse_u32(arg, 1, 65535, &o->backlog))
			app_usage_error("--backlog: '%s' is not in 1..65535",
					arg);
		break;
	case F_NO_TCP:
		o->tcp = false;
		break;
	case F_NO_UDP:
		o->udp = false;
		break;
	}
}

static int open_socket(struct server *s, int type, uint16_t port, int backlog)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	int one = 1, fd, e;

	fd = us_socket(s->st, AF_INET, type | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	us_setsockopt(s->st, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		/* Receive memory is counted by buffer truesize, and a
		 * reassembled datagram sits in a large buffer. */
		int rcvbuf = 2 * 1024 * 1024;
		us_setsockopt(s->st, fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			      sizeof(rcvbuf));
	}
	if (us_bind(s->st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && us_listen(s->st, fd, backlog) < 0))
		goto fail;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd};
	if (us_epoll_ctl(s->st, s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	us_close(s->st, fd);
	errno = e;
	return -1;
}

static void conn_close(struct server *s, struct conn *c)
{
	us_close(s->st, c->fd); /* also leaves the epoll instance */
	s->conns[c->fd] = NULL;
	s->open--;
	free(c);
}

static void conn_want(struct server *s, struct conn *c, uint32_t events)
{
	if (events == c->events)
		return;
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)c->fd};
	us_epoll_ctl(s->st, s->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static bool table_fit(struct server *s, int fd)
{
	if ((size_t)fd < s->nconns)
		return true;
	size_t n = s->nconns ? s->nconns : 1024;
	while (n <= (size_t)fd)
		n *= 2;
	struct conn **t = realloc(s->conns, n * sizeof(*t));
	if (!t)
		return false;
	memset(t + s->nconns, 0, (n - s->nconns) * sizeof(*t));
	s->conns = t;
	s->nconns = n;
	return true;
}

static void accept_all(struct server *s)
{
	for (;;) {
		int fd = us_accept(s->st, s->lfd, NULL, NULL);
		if (fd < 0)
			return; /* EAGAIN, or a connection reset meanwhile */
		struct conn *c = malloc(sizeof(*c));
		if (!c || !table_fit(s, fd) ||
		    us_fcntl(s->st, fd, F_SETFL, O_NONBLOCK) < 0) {
			free(c);
			us_close(s->st, fd);
			continue;
		}
		c->fd = fd;
		c->off = c->len = 0;
		c->events = EPOLLIN | EPOLLRDHUP;
		struct epoll_event ev = {.events = c->events,
					 .data.u64 = (uint64_t)fd};
		if (us_epoll_ctl(s->st, s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c);
			us_close(s->st, fd);
			continue;
		}
		s->conns[fd] = c;
		s->accepted++;
		s->open++;
	}
}

/* Echo what the connection has; false when it is finished. */
static bool conn_run(struct server *s, struct conn *c)
{
	for (int round = 0; round < ROUNDS; round++) {
		while (c->len) {
			ssize_t w =
			    us_send(s->st, c->fd, c->buf + c->off, c->len, 0);
			if (w < 0) {
				if (errno != EAGAIN)
					return false;
				/* The peer is not reading: wait for room. */
				conn_want(s, c, EPOLLOUT);
				return true;
			}
			c->off += (uint32_t)w;
			c->len -= (uint32_t)w;
			s->tcp_bytes += (uint64_t)w;
		}
		ssize_t r = us_recv(s->st, c->fd, c->buf, sizeof(c->buf), 0);
		if (r == 0)
			return false; /* EOF with everything echoed */
		if (r < 0) {
			if (errno != EAGAIN)
				return false;
			conn_want(s, c, EPOLLIN | EPOLLRDHUP);
			return true;
		}
		c->off = 0;
		c->len = (uint32_t)r;
	}
	/* Rounds used up with an echo still unsent: come back when the
	 * socket is writable. EPOLLIN alone would wait for more data from
	 * a peer that may itself be waiting for this echo. */
	conn_want(s, c, EPOLLOUT);
	return true;
}

static int serve(struct server *s)
{
	static uint8_t ubuf[65536];
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int n = us_epoll_wait(s->st, s->ep, evs, MAX_EVENTS, -1);
		if (n < 0) {
			fprintf(stderr, "ustack-echo: us_epoll_wait: %s\n",
				strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_SIGNAL) {
				if (app_signalled(s->sfd))
					return 0;
			} else if ((int)tag == s->lfd) {
				accept_all(s);
			} else if ((int)tag == s->ufd) {
				s->udp_dgrams +=
				    app_udp_echo(s->st, s->ufd, ubuf,
						 sizeof(ubuf), 64, NULL,
						 &s->udp_drops);
			} else if (tag < s->nconns && s->conns[tag]) {
				struct conn *c = s->conns[tag];
				if (!conn_run(s, c))
					conn_close(s, c);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct echo_opts o = {
	    .port = 7, .backlog = 1024, .tcp = true, .udp = true};
	struct app_cfg cfg;
	struct server s;
	int rc = 1, argi;

	argi = app_parse(&cfg, argc, argv,
			 "usage: ustack-echo [options]\n"
			 "TCP and UDP echo (RFC 862) on ustack's event API.\n",
			 flags, on_flag, &o);
	if (argi < argc)
		app_usage_error("unexpected argument '%s'", argv[argi]);
	if (!o.tcp && !o.udp)
		app_usage_error("--no-tcp and --no-udp: nothing to serve");
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&s, 0, sizeof(s));
	s.lfd = s.ufd = -1;
	s.sfd = app_signalfd();
	if (s.sfd < 0) {
		perror("ustack-echo: signalfd");
		return 1;
	}
	s.st = app_stack_start(&cfg);
	if (!s.st)
		return 1;
	s.ep = us_epoll_create(s.st);
	struct epoll_event sev = {.events = EPOLLIN, .data.u64 = TAG_SIGNAL};
	if (s.ep < 0 || us_epoll_ctl(s.st, s.ep, EPOLL_CTL_ADD,
				     US_KERNEL_FD(s.sfd), &sev) < 0) {
		fprintf(stderr, "ustack-echo: epoll: %s\n", strerror(errno));
		goto out;
	}
	if (o.tcp && (s.lfd = open_socket(&s, SOCK_STREAM, (uint16_t)o.port,
					  (int)o.backlog)) < 0) {
		fprintf(stderr, "ustack-echo: TCP port %u: %s\n", o.port,
			strerror(errno));
		goto out;
	}
	if (o.udp &&
	    (s.ufd = open_socket(&s, SOCK_DGRAM, (uint16_t)o.port, 0)) < 0) {
		fprintf(stderr, "ustack-echo: UDP port %u: %s\n", o.port,
			strerror(errno));
		goto out;
	}
	app_print_stack(&cfg, s.st);
	printf("  echo on%s%s port %u; Ctrl-C to stop\n", o.tcp ? " TCP" : "",
	       o.udp ? " UDP" : "", o.port);

	rc = serve(&s);
	printf("echo: tcp connections %llu open-at-exit %u bytes %llu; udp "
	       "datagrams %llu unsent %llu\n",
	       (unsigned long long)s.accepted, s.open,
	       (unsigned long long)s.tcp_bytes,
	       (unsigned long long)s.udp_dgrams,
	       (unsigned long long)s.udp_drops);
out:
	for (size_t i = 0; i < s.nconns; i++)
		if (s.conns[i])
			conn_close(&s, s.conns[i]);
	free(s.conns);
	app_stack_stop(&cfg, s.st);
	return rc;
}
