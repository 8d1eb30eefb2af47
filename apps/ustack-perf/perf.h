/* ustack-perf's options and its two roles. */
#ifndef PERF_PERF_H
#define PERF_PERF_H

#include <stdbool.h>
#include <stdint.h>

#include "pnet.h"
#include "proto.h"

struct perf_opts {
	bool server, kernel, json;
	uint32_t server_ip; /* client: network order */
	uint16_t port;
	enum perf_mode mode;
	uint32_t req_size, resp_size;
	uint32_t conns;
	double duration;	/* seconds */
	uint32_t buf;		/* bytes per send/recv call */
	uint32_t sockbuf;	/* SO_SNDBUF/SO_RCVBUF (0: default) */
	double connect_timeout; /* seconds */
	uint32_t max_conns;	/* server: exit after this many (0: never) */
};

/* Run until a signal (or max_conns connections are done); sfd is the
 * signalfd. Returns the exit status. */
int perf_server(struct pnet *n, const struct perf_opts *o, int sfd);
int perf_client(struct pnet *n, const struct perf_opts *o, int sfd);

/* Stop-by-signal tag in the event loops. */
#define PERF_TAG_SIGNAL UINT64_MAX
#define PERF_TAG_LISTEN (UINT64_MAX - 1)

#endif
