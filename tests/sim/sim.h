/* A small harness for simulations: two stacks, A (10.0.0.1/24) and B
 * (10.0.0.2/24), on the two ends of a pipe link (each end optionally
 * wrapped by the impair wrapper), sharing one virtual clock.
 *
 * The loop is a discrete-event one: poll both stacks without waiting; when
 * neither had anything to do, jump the clock to the earliest timed event
 * of either (a timer, a delayed frame). Nothing sleeps, so seconds of
 * virtual time cost microseconds.
 *
 * Blocking socket calls drive only their own stack, so the peer would not
 * run: simulations use non-blocking sockets, except where the peer is
 * silent anyway. */
#ifndef SIM_H
#define SIM_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ustack.h"
#include "core/clock.h"

#define SIM_IP_A "10.0.0.1"
#define SIM_IP_B "10.0.0.2"
#define SIM_MS 1000000ull
#define SIM_S 1000000000ull

struct sim {
	struct us_vclock clk;
	struct us_stack *a, *b;
	struct us_dev *da, *db;         /* the ends as given to the stacks */
	uint64_t turns;                 /* loop turns, for tests of the loop */
};

struct sim_opts {
	const struct us_impair *imp_a;  /* impairs what A transmits; NULL none */
	const struct us_impair *imp_b;
	uint64_t seed;                  /* 0: a fixed default */
	uint32_t pool_small, pool_large;
	bool garp;                      /* send the start-up gratuitous ARP */
	int log_level;                  /* 0: US_LOG_WARN (see below) */
	/* Last word on each side's config (side 0: A, 1: B); may be NULL. */
	void (*tweak)(struct us_config *cfg, int side, void *arg);
	void *tweak_arg;
};

static inline uint32_t sim_ip(const char *dotted)
{
	struct in_addr a;
	inet_pton(AF_INET, dotted, &a);
	return a.s_addr;
}

static inline struct sockaddr_in sim_sin(const char *dotted, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = sim_ip(dotted);
	return sin;
}

static inline uint64_t sim_now(const struct sim *s)
{
	return s->clk.now_ns;
}

/* Returns 0, or -1 with errno set (a stack could not be made). */
static inline int sim_init(struct sim *s, const struct sim_opts *o)
{
	static const struct sim_opts none;
	struct us_config cfg[2];
	struct us_dev *end[2];

	if (!o)
		o = &none;
	memset(s, 0, sizeof(*s));
	s->clk.now_ns = 1 * SIM_S; /* not 0: time 0 is nobody's special case */
	if (us_pipe_create(&end[0], &end[1]) < 0)
		return -1;
	const struct us_impair *imp[2] = {o->imp_a, o->imp_b};
	for (int i = 0; i < 2; i++) {
		if (!imp[i])
			continue;
		struct us_dev *w = us_impair_wrap(end[i], imp[i]);
		if (!w)
			return -1; /* the test fails; the leak does not matter */
		end[i] = w;
	}
	for (int i = 0; i < 2; i++) {
		us_config_init(&cfg[i]);
		cfg[i].dev = end[i];
		cfg[i].ip = sim_ip(i ? SIM_IP_B : SIM_IP_A);
		cfg[i].prefix_len = 24;
		cfg[i].clock_now = vclock_now;
		cfg[i].clock_arg = &s->clk;
		cfg[i].seed = (o->seed ? o->seed : 0x5eed) + (uint64_t)i * 7919;
		cfg[i].pool_small = o->pool_small;
		cfg[i].pool_large = o->pool_large;
		cfg[i].no_garp = !o->garp;
		cfg[i].log_level = o->log_level ? o->log_level : US_LOG_WARN;
		if (o->tweak)
			o->tweak(&cfg[i], i, o->tweak_arg);
	}
	s->da = end[0];
	s->db = end[1];
	s->a = us_stack_create(&cfg[0]);
	if (!s->a)
		return -1;
	s->b = us_stack_create(&cfg[1]);
	if (!s->b) {
		int e = errno;
		us_stack_destroy(s->a);
		s->a = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

static inline void sim_fini(struct sim *s)
{
	us_stack_destroy(s->a);
	us_stack_destroy(s->b);
	s->a = s->b = NULL;
}

typedef bool (*sim_cond_fn)(struct sim *s, void *arg);

/* Run until cond(s, arg) holds (checked after every turn) or max_ns of
 * virtual time pass. cond may be NULL: run the whole time. Returns whether
 * cond held; with no more timed work and no frames in flight, it gives up
 * early (nothing could change any more). */
static inline bool sim_run_until(struct sim *s, sim_cond_fn cond, void *arg,
				 uint64_t max_ns)
{
	uint64_t deadline = s->clk.now_ns + max_ns;
	int idle = 0;

	for (;;) {
		if (cond && cond(s, arg))
			return true;
		s->turns++;
		int ra = us_stack_poll(s->a, 0);
		int rb = us_stack_poll(s->b, 0);
		if (ra < 0 || rb < 0)
			return false;
		if (cond && cond(s, arg))
			return true;
		if (ra > 0 || rb > 0) {
			idle = 0;
			continue;
		}
		uint64_t na = us_stack_next_event(s->a);
		uint64_t nb = us_stack_next_event(s->b);
		uint64_t next = na < nb ? na : nb;
		uint64_t now = s->clk.now_ns;
		if (next <= now) {
			/* Due now: one more turn runs it. The bound is for a
			 * timer estimate that is early and fires nothing. */
			if (++idle < 4)
				continue;
			next = now + SIM_MS;
		}
		idle = 0;
		if (now >= deadline)
			return false;
		if (next == UINT64_MAX && !cond)
			next = deadline;
		if (next == UINT64_MAX)
			return false;
		s->clk.now_ns = next < deadline ? next : deadline;
	}
}

static inline void sim_run(struct sim *s, uint64_t ns)
{
	sim_run_until(s, NULL, NULL, ns);
}

/* A UDP socket on st bound to 0.0.0.0:port (0: ephemeral), non-blocking
 * unless blocking is set. -1 on failure. */
static inline int sim_udp(struct us_stack *st, uint16_t port, bool blocking)
{
	int fd = us_socket(st, AF_INET,
			   SOCK_DGRAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sin = sim_sin("0.0.0.0", port);
	if (us_bind(st, fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		us_close(st, fd);
		return -1;
	}
	return fd;
}

/* A counter by name; a name that does not exist is the test's bug. */
static inline uint64_t sim_stat(struct us_stack *st, const char *name)
{
	errno = 0;
	uint64_t v = us_stat_byname(st, name);
	if (errno == ENOENT) {
		fprintf(stderr, "sim_stat: no counter named '%s'\n", name);
		abort();
	}
	return v;
}

#endif
