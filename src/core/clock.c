#include "core/clock.h"

#include <time.h>

uint64_t clock_monotonic_ns(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t vclock_now(void *arg)
{
	return ((struct us_vclock *)arg)->now_ns;
}
