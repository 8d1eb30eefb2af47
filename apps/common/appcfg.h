/* What every ustack program shares: the device flags and their parsing,
 * starting the stack (and giving a TAP's kernel side its address),
 * publishing statistics, signals as a descriptor, and one-line usage
 * errors (status 2). Compiled into each program in apps/. */
#ifndef APP_APPCFG_H
#define APP_APPCFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ustack.h"

#define APP_MAX_DROPS 64

/* The flags every program takes (see app_usage_common). */
struct app_cfg {
	const char *dev; /* "tap" or "afpacket" */
	const char *ifname;
	uint32_t ip, gw; /* network order */
	uint8_t prefix;
	uint32_t host_ip; /* TAP: the kernel's side (0: derived) */
	uint8_t mac[6];
	uint32_t mtu;
	const char *pcap;
	int log_level;
	const char *stats_name; /* --stats-name: publish /dev/shm/ustack-NAME */
	uint32_t stats_ms;	/* --stats-interval */
	bool stats;		/* --stats: print counters at exit */
	bool dev_given;		/* a device flag was on the command line */
	/* --drop-data, --loss, --impair-seed: the impair wrapper on what the
	 * stack transmits (cfg.impair), used when either of the first two
	 * is given. */
	uint32_t drop_data[APP_MAX_DROPS]; /* 1-based TCP data ordinals */
	int ndrop;
	double loss; /* 0..1 */
	uint64_t impair_seed;
};

/* A program's own flag. has_arg is no_argument or required_argument. */
struct app_flag {
	const char *name;
	int has_arg;
	int id;		  /* handed to the program's handler; > 0 */
	const char *help; /* "--name ARG  text" line(s) for --help */
};
typedef void (*app_flag_fn)(void *ctx, int id, const char *arg);

/* Parse argv: the device flags into cfg (defaults: TAP ust0, the stack at
 * 10.7.0.2/24), the program's own flags (an array ended by a NULL name)
 * through fn. --help prints `about`, the program's flags and the common
 * ones, then exits 0. Returns the index of the first positional argument;
 * positionals are the program's to check. */
int app_parse(struct app_cfg *cfg, int argc, char **argv, const char *about,
	      const struct app_flag *flags, app_flag_fn fn, void *ctx);

/* A usage error: "PROG: message (see --help)" on stderr, exit status 2. */
void app_usage_error(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Value parsers (false: not valid). */
bool app_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
/* A byte count with an optional K, M or G suffix (powers of 1024). */
bool app_parse_size(const char *s, uint64_t max, uint64_t *out);
bool app_parse_ip(const char *s, uint32_t *out);
/* A comma-separated list of 1..max numbers, each 1..UINT32_MAX: up to
 * APP_MAX_DROPS of them into out, their count in *n. */
bool app_parse_list(const char *s, uint32_t *out, int *n);
/* A.B.C.D:PORT */
bool app_parse_ipport(const char *s, uint32_t *ip, uint16_t *port);

/* Start the stack the flags describe: for a TAP, give its kernel side the
 * address (unless someone configured it already); with --stats-name,
 * publish statistics. Prints why on stderr and returns NULL on failure. */
struct us_stack *app_stack_start(const struct app_cfg *cfg);
/* The TAP's kernel-side address (what app_stack_start configured). */
uint32_t app_host_ip(const struct app_cfg *cfg);
/* "PROG: A.B.C.D/N on DEV IF, MAC ..." on stdout. */
void app_print_stack(const struct app_cfg *cfg, struct us_stack *st);
/* --stats: print the non-zero counters; then destroy the stack. */
void app_stack_stop(const struct app_cfg *cfg, struct us_stack *st);

/* SIGINT and SIGTERM as a descriptor (blocked, then read from a
 * non-blocking signalfd), so an event loop sleeps on them like on any
 * other descriptor: watch US_KERNEL_FD(fd) in a ustack epoll instance.
 * SIGPIPE is ignored. Returns the descriptor or -1. */
int app_signalfd(void);
/* True once SIGINT or SIGTERM arrived on sfd (consumes it). */
bool app_signalled(int sfd);

/* Monotonic time in nanoseconds (the program's, not the stack's). */
uint64_t app_now_ns(void);

#endif
