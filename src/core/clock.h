/* The stack's clock: CLOCK_MONOTONIC by default, or a virtual clock. */
#ifndef US_CLOCK_H
#define US_CLOCK_H

#include <stdint.h>

uint64_t clock_monotonic_ns(void *arg);

/* A virtual clock for tests and simulations: time moves only when told. */
struct us_vclock {
	uint64_t now_ns;
};
uint64_t vclock_now(void *arg); /* arg is a struct us_vclock * */

#endif
