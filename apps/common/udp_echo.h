#ifndef APP_UDP_ECHO_H
#define APP_UDP_ECHO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ustack.h"

/* Answer the datagrams waiting on the non-blocking UDP socket fd with
 * their own bytes, at most max of them (-1: until none is left). Errors
 * are printed as "log_prog: ..." when log_prog is not NULL; datagrams not
 * echoed are counted in *drops. Returns the number echoed. */
uint64_t app_udp_echo(struct us_stack *st, int fd, uint8_t *buf, size_t cap,
		      int max, const char *log_prog, uint64_t *drops);

#endif
