/* Reading a stack's statistics segment (layout and seqlock in ustack.h). */
#ifndef STAT_SHM_READ_H
#define STAT_SHM_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ustack.h"

struct shm_seg {
	char path[128];
	const uint8_t *base; /* read-only mapping */
	size_t size;
	ino_t ino;
};

/* A consistent copy of one snapshot. */
struct shm_snap {
	struct us_shm_hdr hdr;
	const char *names; /* into the mapping: written once, at start */
	uint64_t *stats;   /* hdr.nstats values */
	struct us_shm_conn *conns; /* hdr.conn_count records */
};

/* Map /dev/shm/ustack-NAME. Returns 0 or a negative errno (-EPROTO: not
 * a ustack segment, or one of another version). */
int shm_seg_open(struct shm_seg *s, const char *name);
void shm_seg_close(struct shm_seg *s);
/* The file at s->path is no longer the one mapped (a new publisher). */
bool shm_seg_replaced(const struct shm_seg *s);
/* Copy a consistent snapshot (retrying torn copies for up to ~1 s).
 * -EAGAIN: the writer stayed mid-update (it died there?). The snapshot's
 * buffers are the caller's to free with shm_snap_free. */
int shm_snapshot(const struct shm_seg *s, struct shm_snap *out);
void shm_snap_free(struct shm_snap *sn);
/* The name of counter i. */
const char *shm_stat_name(const struct shm_snap *sn, uint32_t i);
/* Whether the publishing process still runs. */
bool shm_publisher_alive(const struct shm_snap *sn);

#endif
