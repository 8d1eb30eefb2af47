#ifndef DEMO_TCP_SERVICES_H
#define DEMO_TCP_SERVICES_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>

#include "ustack.h"

struct conn;
struct tcp_services {
	int echo_fd, discard_fd;        /* listeners */
	struct conn **conns;
	size_t n, cap;
};

/* Listen on both ports; -1 and errno if TCP is not available. */
int tcp_services_init(struct tcp_services *s, struct us_stack *st,
		      uint16_t echo_port, uint16_t discard_port);
/* Accept new connections and move data on all of them, without blocking. */
void tcp_services_poll(struct tcp_services *s, struct us_stack *st);
void tcp_services_fini(struct tcp_services *s, struct us_stack *st);

#endif
