/* The demo's TCP services on the public API: echo (RFC 862) and discard
 * (RFC 863). Non-blocking sockets, one pass over every connection per
 * loop turn (the event API will replace the scan). */
#include "tcp_services.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG 1024
#define ECHO_BUF 65536

struct conn {
	int fd;
	bool echo;
	uint32_t off, len;      /* echo: bytes read but not yet sent back */
	uint8_t *buf;
};

static int listen_on(struct us_stack *st, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	int one = 1;
	int fd = us_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	us_setsockopt(st, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (us_bind(st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    us_listen(st, fd, BACKLOG) < 0) {
		int e = errno;
		us_close(st, fd);
		errno = e;
		return -1;
	}
	return fd;
}

int tcp_services_init(struct tcp_services *s, struct us_stack *st,
		      uint16_t echo_port, uint16_t discard_port)
{
	memset(s, 0, sizeof(*s));
	s->echo_fd = listen_on(st, echo_port);
	if (s->echo_fd < 0)
		return -1;
	s->discard_fd = listen_on(st, discard_port);
	if (s->discard_fd < 0) {
		us_close(st, s->echo_fd);
		return -1;
	}
	return 0;
}

static void accept_all(struct tcp_services *s, struct us_stack *st, int lfd,
		       bool echo)
{
	for (;;) {
		int fd = us_accept(st, lfd, NULL, NULL);
		if (fd < 0)
			return; /* EAGAIN, or an aborted connection */
		us_fcntl(st, fd, F_SETFL, O_NONBLOCK);
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 64;
			void *c = realloc(s->conns, cap * sizeof(*s->conns));
			if (!c) {
				us_close(st, fd);
				continue;
			}
			s->conns = c;
			s->cap = cap;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c || (echo && !(c->buf = malloc(ECHO_BUF)))) {
			free(c);
			us_close(st, fd);
			continue;
		}
		c->fd = fd;
		c->echo = echo;
		s->conns[s->n++] = c;
	}
}

/* Move data for one connection; false when it is finished. */
static bool service(struct us_stack *st, struct conn *c, uint8_t *scratch,
		    size_t cap)
{
	for (;;) {
		if (c->echo && c->len) {
			ssize_t w = us_send(st, c->fd, c->buf + c->off, c->len, 0);
			if (w < 0)
				return errno == EAGAIN;
			c->off += (uint32_t)w;
			c->len -= (uint32_t)w;
			if (c->len)
				return true; /* peer's window is full */
		}
		ssize_t r = us_recv(st, c->fd, c->echo ? c->buf : scratch,
				    c->echo ? ECHO_BUF : cap, 0);
		if (r == 0)
			return false; /* EOF: our side is done too */
		if (r < 0)
			return errno == EAGAIN;
		if (c->echo) {
			c->off = 0;
			c->len = (uint32_t)r;
		}
	}
}

void tcp_services_poll(struct tcp_services *s, struct us_stack *st)
{
	static uint8_t scratch[ECHO_BUF];

	accept_all(s, st, s->echo_fd, true);
	accept_all(s, st, s->discard_fd, false);
	for (size_t i = 0; i < s->n;) {
		struct conn *c = s->conns[i];
		if (service(st, c, scratch, sizeof(scratch))) {
			i++;
			continue;
		}
		us_close(st, c->fd);
		free(c->buf);
		free(c);
		s->conns[i] = s->conns[--s->n];
	}
}

void tcp_services_fini(struct tcp_services *s, struct us_stack *st)
{
	for (size_t i = 0; i < s->n; i++) {
		us_close(st, s->conns[i]->fd);
		free(s->conns[i]->buf);
		free(s->conns[i]);
	}
	free(s->conns);
	us_close(st, s->echo_fd);
	us_close(st, s->discard_fd);
	memset(s, 0, sizeof(*s));
}
