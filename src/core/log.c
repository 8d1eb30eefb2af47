#include <stdarg.h>
#include <stdio.h>

#include "core/stack.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int stack_log_level(const struct us_stack *st)
{
	return st ? st->log_level : US_LOG_WARN;
}

void us__log(struct us_stack *st, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level < 0)
		level = 0;
	if (level > US_LOG_DEBUG)
		level = US_LOG_DEBUG;
	if (st)
		fprintf(stderr, "ustack[%.3f] %s: %s\n",
			(double)st->now / 1e9, level_names[level], buf);
	else
		fprintf(stderr, "ustack %s: %s\n", level_names[level], buf);
}
