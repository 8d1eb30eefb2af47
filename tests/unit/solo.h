/* A stack of its own on the real clock, for the tests of sleeping, of
 * us_stack_fd and of threaded mode: 10.0.0.1/24 on one end of a pipe
 * whose other end nobody reads. Only traffic to its own address (which
 * the stack loops back) is ever answered; ARP for any other address on
 * the subnet fails after its retries (fast ones: 20 ms apart, 2 of them).
 * Include after cmocka.h. */
#ifndef SOLO_H
#define SOLO_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "ustack.h"
#include "dev/dev.h"

#define SOLO_IP "10.0.0.1"
#define SOLO_NOBODY "10.0.0.77" /* on the subnet, never answers ARP */
#define SOLO_ARP_RETRY_MS 20
#define SOLO_ARP_RETRIES 2

struct solo {
	struct us_stack *st;
	struct us_dev *far;
};

static inline void solo_init(struct solo *s)
{
	struct us_dev *a, *b;
	struct us_config cfg;

	assert_int_equal(us_pipe_create(&a, &b), 0);
	us_config_init(&cfg);
	cfg.dev = a;
	cfg.ip = inet_addr(SOLO_IP);
	cfg.prefix_len = 24;
	cfg.no_garp = 1;
	cfg.arp_retry_ms = SOLO_ARP_RETRY_MS;
	cfg.arp_retries = SOLO_ARP_RETRIES;
	s->st = us_stack_create(&cfg);
	assert_non_null(s->st);
	s->far = b;
}

static inline void solo_fini(struct solo *s)
{
	us_stack_destroy(s->st);
	dev_close(s->far);
}

static inline struct sockaddr_in solo_sin(const char *ip, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = inet_addr(ip);
	return sin;
}

/* A UDP socket bound to SOLO_IP:port (0: ephemeral). */
static inline int solo_udp(struct us_stack *st, uint16_t port, bool nonblock)
{
	int fd = us_socket(st, AF_INET,
			   SOCK_DGRAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = solo_sin("0.0.0.0", port);
	assert_int_equal(us_bind(st, fd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	return fd;
}

static inline uint16_t solo_port(struct us_stack *st, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	assert_int_equal(us_getsockname(st, fd, (struct sockaddr *)&sin, &len),
			 0);
	return ntohs(sin.sin_port);
}

static inline uint64_t solo_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* TCP may not be built yet: tests of TCP behaviour skip (and say so)
 * while SOCK_STREAM is refused. */
static inline bool solo_have_tcp(struct us_stack *st)
{
	int fd = us_socket(st, AF_INET, SOCK_STREAM, 0);
	if (fd < 0 && (errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT)) {
		print_message(
		    "SOCK_STREAM not supported yet: TCP case skipped\n");
		return false;
	}
	assert_true(fd >= 0);
	us_close(st, fd);
	return true;
}

#endif
