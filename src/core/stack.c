/* The stack object: creation from a config, the loop turn, the TX batch,
 * loopback, counters. */
#include "core/stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/stack_wake.h"
#include "core/stats_shm.h"
#include "dev/dev.h"
#include "net/arp.h"
#include "net/eth.h"
#include "net/icmp.h"
#include "net/ip4.h"
#include "tcp/tcp.h"

/* Declared in net/udp.h and sock/sock.h. */
int udp_init(struct us_stack *st);
void udp_fini(struct us_stack *st);
int sock_init(struct us_stack *st);
void sock_fini(struct us_stack *st);

#define DEFAULT_POOL_SMALL 8192
#define DEFAULT_POOL_MEDIUM 256
#define DEFAULT_POOL_LARGE 64

static const char *const stat_names[] = {
#define US_STAT_NAME(n) #n,
	US_COUNTERS(US_STAT_NAME)
#undef US_STAT_NAME
};

void us_config_init(struct us_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = US_LOG_WARN;
}

uint64_t stack_rand(struct us_stack *st)
{
	/* xorshift64*: fast, seedable, good enough for port and ID choice;
	 * secrets are derived once at start from the same seed. */
	uint64_t x = st->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

uint64_t stack_update_time(struct us_stack *st)
{
	uint64_t t = st->clock_now(st->clock_arg);
	if (t > st->now)
		st->now = t;
	return st->now;
}

void stack_tx_flush(struct us_stack *st)
{
	int n = st->txn;
	st->txn = 0;
	st->dev->ops->tx_burst(st->dev, st->txq, n);
}

void stack_tx(struct us_stack *st, struct us_pbuf *p)
{
	if (st->txn == US_TX_BATCH)
		stack_tx_flush(st);
	st->txq[st->txn++] = p;
}

void stack_loopback(struct us_stack *st, struct us_pbuf *p)
{
	p->flags |= PBUF_F_LOOP;
	pbufq_push(&st->loopq, p);
}

static int open_device(struct us_stack *st, const struct us_config *cfg)
{
	struct us_dev *d = cfg->dev;
	int rc = 0;

	if (!d) {
		const char *type = cfg->dev_type ? cfg->dev_type : "tap";
		if (!strcmp(type, "tap")) {
			rc = dev_tap_open(&d, cfg->ifname ? cfg->ifname : "ust0");
		} else if (!strcmp(type, "afpacket")) {
			if (!cfg->ifname) {
				us_err(st, "afpacket needs an interface name");
				return -EINVAL;
			}
			rc = dev_afpacket_open(&d, cfg->ifname);
		} else {
			us_err(st, "unknown device type '%s'", type);
			return -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	if (cfg->pcap_file) {
		struct us_dev *w = dev_capture_wrap(d, cfg->pcap_file);
		if (!w) {
			dev_close(d);
			return -EIO;
		}
		d = w;
	}
	/* Outside the capture: frames it drops never reach the pcap file. */
	if (cfg->impair) {
		struct us_dev *w = us_impair_wrap(d, cfg->impair);
		if (!w) {
			int err = errno;
			dev_close(d);
			return -err;
		}
		d = w;
	}
	st->dev = d;
	return dev_attach(d, st);
}

static void pick_mac(struct us_stack *st, const struct us_config *cfg)
{
	static const uint8_t zero[6];
	if (memcmp(cfg->mac, zero, 6)) {
		memcpy(st->mac, cfg->mac, 6);
	} else if (st->dev->has_mac) {
		memcpy(st->mac, st->dev->mac, 6);
	} else {
		/* Locally administered, unicast (IEEE 802 bit 1 set, bit 0
		 * clear): the TAP's own MAC belongs to the kernel's end. */
		uint64_t r = stack_rand(st);
		st->mac[0] = 0x02;
		st->mac[1] = 0x75; /* 'u' */
		st->mac[2] = 0x73; /* 's' */
		st->mac[3] = (uint8_t)r;
		st->mac[4] = (uint8_t)(r >> 8);
		st->mac[5] = (uint8_t)(r >> 16);
	}
}

static const struct {
	int (*init)(struct us_stack *);
	void (*fini)(struct us_stack *);
} modules[] = {
	{eth_init, eth_fini}, {arp_init, arp_fini}, {ip4_init, ip4_fini},
	{icmp_init, icmp_fini}, {udp_init, udp_fini}, {tcp_init, tcp_fini},
	{sock_init, sock_fini},
};

struct us_stack *us_stack_create(const struct us_config *cfg)
{
	struct us_stack *st;
	size_t inited = 0;
	int rc;

	if (!cfg || cfg->prefix_len > 32 || !cfg->ip) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		errno = ENOMEM;
		return NULL;
	}
	st->cfg = *cfg;
	st->log_level = cfg->log_level;
	st->clock_now = cfg->clock_now ? cfg->clock_now : clock_monotonic_ns;
	st->clock_arg = cfg->clock_arg;
	st->now = st->clock_now(st->clock_arg);
	timer_wheel_init(&st->wheel, st->now);
	pbufq_init(&st->loopq);

	uint64_t seed = cfg->seed;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = st->now ^ (uintptr_t)st;
	st->rng = seed | 1;
	for (size_t i = 0; i < sizeof(st->secret); i += 8) {
		uint64_t r = stack_rand(st);
		memcpy(st->secret + i, &r, 8);
	}

	rc = pbuf_pool_init(&st->pool,
			    cfg->pool_small ? cfg->pool_small : DEFAULT_POOL_SMALL,
			    cfg->pool_medium ? cfg->pool_medium
					     : DEFAULT_POOL_MEDIUM,
			    cfg->pool_large ? cfg->pool_large : DEFAULT_POOL_LARGE,
			    &st->stats[US_STAT_pbuf_alloc_fail]);
	if (rc < 0)
		goto fail;
	rc = open_device(st, cfg);
	if (rc < 0)
		goto fail;

	st->ip = cfg->ip;
	st->netmask = cfg->prefix_len ? htonl(~0u << (32 - cfg->prefix_len)) : 0;
	st->gw = cfg->gw;
	st->mtu = cfg->mtu ? cfg->mtu : (st->dev->mtu ? st->dev->mtu : 1500);
	if (st->mtu < 576 || st->mtu > 9000) {
		us_err(st, "MTU %u out of range (576..9000)", st->mtu);
		rc = -EINVAL;
		goto fail;
	}
	/* Frames above the device's MTU would only be dropped at send time. */
	if (st->dev->mtu_hard && st->mtu > st->dev->mtu) {
		us_err(st, "MTU %u is above %s's MTU %u; raise the interface's "
			   "first (ip link set %s mtu %u)",
		       st->mtu, st->dev->name, st->dev->mtu, st->dev->name,
		       st->mtu);
		rc = -EINVAL;
		goto fail;
	}
	pick_mac(st, cfg);

	for (; inited < US_ARRAY_SIZE(modules); inited++) {
		rc = modules[inited].init(st);
		if (rc < 0)
			goto fail;
	}
	if (!cfg->no_garp)
		arp_announce(st);
	return st;

fail:
	while (inited-- > 0)
		modules[inited].fini(st);
	if (st->dev)
		dev_close(st->dev);
	pbuf_pool_fini(&st->pool);
	free(st);
	errno = -rc;
	return NULL;
}

void us_stack_destroy(struct us_stack *st)
{
	if (!st)
		return;
	if (st->mt)
		us_stack_stop_thread(st);
	stats_shm_fini(st);
	stack_tx_flush(st);
	for (size_t i = US_ARRAY_SIZE(modules); i-- > 0;)
		modules[i].fini(st);
	pbufq_purge(&st->loopq);
	stack_wake_fini(st);
	dev_close(st->dev);
	pbuf_pool_fini(&st->pool);
	free(st);
}

/* One pass: receive a burst, deliver looped-back packets, run timers,
 * send the batch. Returns the amount of work done (frames + timers). */
static int turn(struct us_stack *st, int *rx)
{
	struct us_pbuf *pkts[US_RX_BURST];
	int n, work = 0;

	stack_update_time(st);
	n = st->dev->ops->rx_burst(st->dev, pkts, US_RX_BURST);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		eth_input(st, pkts[i]);
	*rx += n;
	work += n;

	/* Only what was queued before this pass, so a packet that answers
	 * itself cannot spin the loop. */
	struct pbuf_queue lq = st->loopq;
	pbufq_init(&st->loopq);
	struct us_pbuf *p;
	while ((p = pbufq_pop(&lq))) {
		STAT_INC(st, lo_delivered);
		ip4_input(st, p);
		work++;
	}
	work += timer_run(&st->wheel, st->now, st);
	stack_tx_flush(st);
	return work;
}

int stack_turn(struct us_stack *st)
{
	int rx = 0, work = turn(st, &rx);
	return work < 0 ? -1 : work;
}

uint64_t us_stack_next_event(struct us_stack *st)
{
	uint64_t t = timer_next(&st->wheel);
	for (struct us_dev *d = st->dev; d; d = d->lower) {
		if (d->ops->next_event) {
			uint64_t dt = d->ops->next_event(d);
			if (dt < t)
				t = dt;
		}
	}
	if (st->loopq.count)
		t = st->now;
	return t;
}

int stack_idle_ms(struct us_stack *st, int timeout_ms)
{
	uint64_t next = us_stack_next_event(st);
	int ms = timeout_ms;

	if (next != UINT64_MAX) {
		uint64_t now = stack_update_time(st);
		uint64_t d = next > now ? (next - now + US_NS_PER_MS - 1) /
						  US_NS_PER_MS
					: 0;
		if (ms < 0 || d < (uint64_t)ms)
			ms = (int)US_MIN(d, (uint64_t)INT32_MAX);
	}
	return ms;
}

/* Sleep until a frame arrives, the next timed event, or timeout_ms (or
 * extra_fd, for us_epoll_wait's kernel descriptors). */
static void wait_for_work(struct us_stack *st, int timeout_ms, int extra_fd,
			  bool *extra_ready)
{
	int ms = stack_idle_ms(st, timeout_ms);

	if (ms == 0)
		return;
	stack_sleep(st, ms, extra_fd, extra_ready);
	stack_wake_drain(st);
}

int stack_poll(struct us_stack *st, int timeout_ms, int extra_fd,
	       bool *extra_ready)
{
	int rx = 0, work;

	if (extra_ready)
		*extra_ready = false;
	/* Another loop waits on us_stack_fd: what is done now must not
	 * leave it readable. */
	stack_wake_drain(st);
	work = turn(st, &rx);
	if (work < 0)
		return -1;
	/* A virtual clock does not move while we sleep: never block on it. */
	if (work == 0 && timeout_ms != 0 && !st->cfg.clock_now) {
		wait_for_work(st, timeout_ms, extra_fd, extra_ready);
		if (turn(st, &rx) < 0)
			return -1;
	}
	stack_wake_sync(st);
	return rx;
}

int us_stack_poll(struct us_stack *st, int timeout_ms)
{
	/* The stack thread owns the loop in threaded mode. */
	if (st->mt) {
		errno = EBUSY;
		return -1;
	}
	return stack_poll(st, timeout_ms, -1, NULL);
}

uint64_t us_stack_now(struct us_stack *st)
{
	return stack_update_time(st);
}

void us_stack_mac(struct us_stack *st, uint8_t mac[6])
{
	memcpy(mac, st->mac, 6);
}

uint32_t us_stack_ip(struct us_stack *st)
{
	return st->ip;
}

struct us_dev *us_stack_dev(struct us_stack *st)
{
	return st->dev;
}

int us_stat_count(void)
{
	return US_STAT__COUNT;
}

const char *us_stat_name(int i)
{
	return i >= 0 && i < US_STAT__COUNT ? stat_names[i] : NULL;
}

uint64_t us_stat_get(struct us_stack *st, int i)
{
	return i >= 0 && i < US_STAT__COUNT ? st->stats[i] : 0;
}

uint64_t us_stat_byname(struct us_stack *st, const char *name)
{
	for (int i = 0; i < US_STAT__COUNT; i++)
		if (!strcmp(stat_names[i], name))
			return st->stats[i];
	errno = ENOENT;
	return 0;
}
