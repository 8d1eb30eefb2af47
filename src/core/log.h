#ifndef US_LOG_H
#define US_LOG_H

#include "ustack.h"

struct us_stack;
void us__log(struct us_stack *st, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int stack_log_level(const struct us_stack *st);

/* Level check first so a disabled debug line costs one compare. */
#define us_log(st, lvl, ...)                                  \
	do {                                                  \
		if ((lvl) <= stack_log_level(st))              \
			us__log((st), (lvl), __VA_ARGS__);    \
	} while (0)
#define us_err(st, ...) us_log(st, US_LOG_ERROR, __VA_ARGS__)
#define us_warn(st, ...) us_log(st, US_LOG_WARN, __VA_ARGS__)
#define us_info(st, ...) us_log(st, US_LOG_INFO, __VA_ARGS__)
#define us_dbg(st, ...) us_log(st, US_LOG_DEBUG, __VA_ARGS__)

#endif
