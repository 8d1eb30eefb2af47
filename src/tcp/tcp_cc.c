/* The congestion-control modules by name, for TCP_CONGESTION and the
 * stack's default (us_config.tcp_congestion). Linux's names are
 * used: "reno" is NewReno (RFC 5681, 6582; "newreno" is accepted too),
 * "cubic" RFC 9438. */
#include <string.h>

#include "tcp/tcp_conn.h"

static const struct tcp_cc_ops *const modules[] = {&tcp_cubic, &tcp_newreno};

const struct tcp_cc_ops *tcp_cc_find(const char *name, size_t len)
{
	if (len == 7 && !memcmp(name, "newreno", 7))
		return &tcp_newreno; /* an alias; it reads back "reno" */
	for (size_t i = 0; i < US_ARRAY_SIZE(modules); i++) {
		size_t n = strlen(modules[i]->name);
		if (n == len && !memcmp(name, modules[i]->name, n))
			return modules[i];
	}
	return NULL;
}
