/* Publishing the stack's counters and TCP connection table in shared
 * memory (us_stack_publish_stats; the layout is in ustack.h). */
#ifndef US_STATS_SHM_H
#define US_STATS_SHM_H

struct us_stack;

/* Stop publishing and remove the segment (us_stack_destroy). */
void stats_shm_fini(struct us_stack *st);

#endif
