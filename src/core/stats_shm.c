/* Statistics in shared memory (ustack.h: us_stack_publish_stats).
 *
 * A timer on the stack's own wheel takes a snapshot every interval, so the
 * stack pays a copy of its counters and a walk of at most conn_max blocks
 * per interval, and readers (other processes) never take a lock or make
 * a call into the stack: they copy under a seqlock and retry if torn. */
#define _GNU_SOURCE
#include "core/stats_shm.h"

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

#include "core/stack.h"
#include "dev/dev.h"
#include "sock/sock.h" /* SOCK_API_GUARD: the public call takes the lock */
#include "tcp/tcp_walk.h"

#define SHM_DEFAULT_MS 200
#define SHM_MIN_MS 10
#define SHM_CONN_MAX 65536
#define SHM_NAME_MAX 64

struct stats_shm {
	char name[SHM_NAME_MAX + 16]; /* "/ustack-NAME" for shm_open */
	struct us_shm_hdr *hdr;
	size_t size;
	uint64_t interval_ns;
	struct us_timer timer;
};

static bool good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SHM_NAME_MAX || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

/* The wall clock, only to tell readers how old a snapshot is: this is not
 * protocol code, and a reader in another process has no other clock in
 * common with a stack that may run on a virtual one. */
static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct conn_fill {
	struct us_shm_conn *tab;
	uint32_t max, n;
	bool truncated;
};

static bool put_conn(void *arg, const struct tcp_walk_rec *r)
{
	struct conn_fill *f = arg;
	struct us_shm_conn *c;

	if (f->n == f->max) {
		f->truncated = true;
		return false;
	}
	c = &f->tab[f->n++];
	memcpy(c->laddr, r->laddr.b, 16);
	memcpy(c->raddr, r->raddr.b, 16);
	c->lport = r->lport;
	c->rport = r->rport;
	c->state = (uint8_t)r->state;
	c->flags = (r->listener ? US_SHM_CONN_LISTEN : 0) |
		   (r->orphan ? US_SHM_CONN_ORPHAN : 0);
	c->mss = r->mss;
	c->rcvq = r->rcvq;
	c->sndq = r->sndq;
	c->unacked = r->unacked;
	c->srtt_us = r->srtt_us;
	c->rttvar_us = r->rttvar_us;
	c->rto_ms = r->rto_ms;
	c->cwnd = r->cwnd;
	c->ssthresh = r->ssthresh;
	c->snd_wnd = r->snd_wnd;
	c->rcv_wnd = r->rcv_wnd;
	c->retrans = r->retrans;
	c->synq = r->synq;
	c->bytes_acked = r->bytes_acked;
	c->bytes_received = r->bytes_received;
	return true;
}

static void snapshot(struct us_stack *st, struct stats_shm *s)
{
	struct us_shm_hdr *h = s->hdr;
	uint8_t *base = (uint8_t *)h;
	struct conn_fill f = {
	    .tab = (struct us_shm_conn *)(base + h->conns_off),
	    .max = h->conn_max,
	};
	uint64_t g = h->gen;

	/* Seqlock write side: odd, then the data, then even. The release
	 * fence keeps the data stores after the odd mark. */
	__atomic_store_n(&h->gen, g + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(base + h->stats_off, st->stats, sizeof(st->stats));
	tcp_walk(st, put_conn, &f);
	h->conn_count = f.n;
	h->truncated = f.truncated;
	h->updates++;
	h->wall_ns = wall_ns();
	h->stack_ns = st->now;
	__atomic_store_n(&h->gen, g + 2, __ATOMIC_RELEASE);
}

static void on_timer(struct us_stack *st, struct us_timer *t)
{
	struct stats_shm *s = container_of(t, struct stats_shm, timer);
	snapshot(st, s);
	timer_arm(&st->wheel, &s->timer, st->now + s->interval_ns);
}

static void fill_static(struct us_stack *st, struct us_shm_hdr *h)
{
	uint8_t *base = (uint8_t *)h;

	h->version = US_SHM_VERSION;
	h->hdr_size = sizeof(*h);
	h->pid = getpid();
	h->start_wall_ns = wall_ns();
	h->ip = st->ip;
	h->mtu = st->mtu;
	for (int i = 0; i < 32; i++)
		if (st->netmask & htonl(1u << (31 - i)))
			h->prefix_len = (uint8_t)(i + 1);
	memcpy(h->mac, st->mac, 6);
	snprintf(h->dev, sizeof(h->dev), "%s",
		 st->cfg.dev_type ? st->cfg.dev_type : "dev");
	snprintf(h->ifname, sizeof(h->ifname), "%s",
		 st->dev ? st->dev->name : "");
	for (int i = 0; i < US_SHM_STATES && i <= TCP_TIME_WAIT; i++)
		snprintf(h->state_names[i], sizeof(h->state_names[i]), "%s",
			 tcp_state_name((enum tcp_state)i));
	h->nstats = US_STAT__COUNT;
	h->name_len = US_SHM_NAME_LEN;
	for (int i = 0; i < US_STAT__COUNT; i++)
		snprintf((char *)base + h->names_off + (size_t)i * h->name_len,
			 h->name_len, "%s", us_stat_name(i));
	h->conn_size = sizeof(struct us_shm_conn);
}

/* A segment of that name belongs to a live process (not a leftover). */
static bool held_by_live(const char *shmname)
{
	struct us_shm_hdr h;
	int fd = shm_open(shmname, O_RDONLY, 0);
	bool live = false;

	if (fd < 0)
		return false;
	if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    h.magic == US_SHM_MAGIC && h.pid > 0)
		live = kill(h.pid, 0) == 0 || errno == EPERM;
	close(fd);
	return live;
}

static int publish(struct us_stack *st, const char *name, uint32_t ms)
{
	struct stats_shm *s;
	size_t names_off = (sizeof(struct us_shm_hdr) + 63) & ~(size_t)63;
	size_t stats_off = names_off + (size_t)US_STAT__COUNT * US_SHM_NAME_LEN;
	size_t conns_off = (stats_off + sizeof(st->stats) + 63) & ~(size_t)63;
	size_t size =
	    conns_off + (size_t)SHM_CONN_MAX * sizeof(struct us_shm_conn);
	int fd, rc;

	if (!good_name(name))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "/ustack-%s", name);
	if (held_by_live(s->name)) {
		free(s);
		return -EEXIST;
	}
	/* A leftover is unlinked, never truncated: a reader may still have it
	 * mapped, and a truncated mapping faults (SIGBUS). */
	shm_unlink(s->name);
	fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		free(s);
		return rc;
	}
	/* The file is sparse: pages of the connection table are only
	 * allocated as connections fill them. */
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
		goto fail;
	}
	s->hdr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->hdr == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	close(fd);
	s->size = size;
	s->hdr->size = size;
	s->hdr->interval_ms = ms;
	s->hdr->names_off = names_off;
	s->hdr->stats_off = stats_off;
	s->hdr->conns_off = conns_off;
	s->hdr->conn_max = SHM_CONN_MAX;
	fill_static(st, s->hdr);
	s->interval_ns = (uint64_t)ms * US_NS_PER_MS;
	timer_init(&s->timer, on_timer);
	st->shm = s;
	stack_update_time(st);
	snapshot(st, s);
	/* Last: a reader that finds the magic finds a complete segment. */
	__atomic_store_n(&s->hdr->magic, US_SHM_MAGIC, __ATOMIC_RELEASE);
	timer_arm(&st->wheel, &s->timer, st->now + s->interval_ns);
	return 0;
fail:
	close(fd);
	shm_unlink(s->name);
	free(s);
	return rc;
}

void stats_shm_fini(struct us_stack *st)
{
	struct stats_shm *s = st->shm;

	if (!s)
		return;
	timer_cancel(&st->wheel, &s->timer);
	munmap(s->hdr, s->size);
	shm_unlink(s->name);
	free(s);
	st->shm = NULL;
}

int us_stack_publish_stats(struct us_stack *st, const char *name,
			   uint32_t interval_ms)
{
	SOCK_API_GUARD(st);

	if (!st)
		return sock_ret(-EINVAL);
	stats_shm_fini(st);
	if (!name)
		return 0;
	if (!interval_ms)
		interval_ms = SHM_DEFAULT_MS;
	if (interval_ms < SHM_MIN_MS)
		return sock_ret(-EINVAL);
	return sock_ret(publish(st, name, interval_ms));
}
