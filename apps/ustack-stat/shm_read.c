/* The reader's side of the statistics segment: map, check, copy under the
 * seqlock. The segment comes from another process, so every offset and
 * count in it is checked against the mapping before use. */
#define _GNU_SOURCE
#include "shm_read.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SNAP_TRIES 10000

int shm_seg_open(struct shm_seg *s, const char *name)
{
	struct stat sb;
	int fd, rc;
	void *p;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "/ustack-%s", name);
	fd = shm_open(s->path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if ((size_t)sb.st_size < sizeof(struct us_shm_hdr)) {
		close(fd);
		return -EPROTO;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	rc = -errno;
	close(fd);
	if (p == MAP_FAILED)
		return rc;
	s->base = p;
	s->size = (size_t)sb.st_size;
	s->ino = sb.st_ino;
	return 0;
}

void shm_seg_close(struct shm_seg *s)
{
	if (s->base)
		munmap((void *)s->base, s->size);
	s->base = NULL;
}

bool shm_seg_replaced(const struct shm_seg *s)
{
	char path[160];
	struct stat sb;

	snprintf(path, sizeof(path), "/dev/shm%s", s->path);
	return stat(path, &sb) < 0 || sb.st_ino != s->ino;
}

static bool range_ok(const struct shm_seg *s, uint64_t off, uint64_t n,
		     uint64_t each)
{
	if (each && n > (UINT64_MAX - off) / each)
		return false;
	return off + n * each <= s->size;
}

/* The parts written once at start, checked once per snapshot. */
static int check_layout(const struct shm_seg *s, const struct us_shm_hdr *h)
{
	if (h->magic != US_SHM_MAGIC || h->version != US_SHM_VERSION ||
	    h->hdr_size < sizeof(*h) || h->size > s->size)
		return -EPROTO;
	if (h->name_len == 0 || h->name_len > 4096 ||
	    !range_ok(s, h->names_off, h->nstats, h->name_len) ||
	    !range_ok(s, h->stats_off, h->nstats, sizeof(uint64_t)) ||
	    h->conn_size < sizeof(struct us_shm_conn) ||
	    !range_ok(s, h->conns_off, h->conn_max, h->conn_size))
		return -EPROTO;
	return 0;
}

int shm_snapshot(const struct shm_seg *s, struct shm_snap *out)
{
	const struct us_shm_hdr *live = (const void *)s->base;
	struct timespec pause = {0, 100000};
	int rc;

	memset(out, 0, sizeof(*out));
	if (__atomic_load_n(&live->magic, __ATOMIC_ACQUIRE) != US_SHM_MAGIC)
		return -EPROTO;
	for (int i = 0; i < SNAP_TRIES; i++) {
		uint64_t g1 = __atomic_load_n(&live->gen, __ATOMIC_ACQUIRE);
		if (g1 & 1) {
			nanosleep(&pause, NULL);
			continue;
		}
		memcpy(&out->hdr, live, sizeof(out->hdr));
		struct us_shm_hdr *h = &out->hdr;
		if ((rc = check_layout(s, h)) < 0)
			return rc;
		uint32_t nc = h->conn_count <= h->conn_max ? h->conn_count : 0;
		uint64_t *st = realloc(out->stats, h->nstats * sizeof(*st) + 1);
		struct us_shm_conn *cs =
		    realloc(out->conns, (size_t)nc * sizeof(*cs) + 1);
		if (st)
			out->stats = st;
		if (cs)
			out->conns = cs;
		if (!st || !cs) {
			shm_snap_free(out);
			return -ENOMEM;
		}
		memcpy(st, s->base + h->stats_off, h->nstats * sizeof(*st));
		for (uint32_t k = 0; k < nc; k++)
			memcpy(&cs[k],
			       s->base + h->conns_off +
				   (uint64_t)k * h->conn_size,
			       sizeof(*cs));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&live->gen, __ATOMIC_RELAXED) != g1)
			continue;
		h->conn_count = nc;
		out->names = (const char *)s->base + h->names_off;
		return 0;
	}
	shm_snap_free(out);
	return -EAGAIN;
}

void shm_snap_free(struct shm_snap *sn)
{
	free(sn->stats);
	free(sn->conns);
	sn->stats = NULL;
	sn->conns = NULL;
}

const char *shm_stat_name(const struct shm_snap *sn, uint32_t i)
{
	static const char unnamed[] = "?";
	const char *n = sn->names + (size_t)i * sn->hdr.name_len;
	/* Names are NUL-padded; one that fills its slot is not ours. */
	return memchr(n, 0, sn->hdr.name_len) ? n : unnamed;
}

bool shm_publisher_alive(const struct shm_snap *sn)
{
	return sn->hdr.pid > 0 && (kill(sn->hdr.pid, 0) == 0 || errno == EPERM);
}
