/* The device interface: a small fixed set of operations and a private
 * state pointer, one file per backend (tap, afpacket, pipe) and wrappers
 * that stack on any device (impair, capture).
 *
 * Frames move in bursts. rx_burst fills pkts with pool buffers taken from
 * the attached stack's pool (data at the Ethernet header). tx_burst takes
 * ownership of every buffer it is given (sent or dropped and counted); the
 * stack calls it once per loop turn, also with n == 0, so that wrappers
 * holding delayed frames can release those that are due. */
#ifndef US_DEV_H
#define US_DEV_H

#include <net/if.h>
#include <stdint.h>

#include "ustack.h"

struct us_pbuf;
struct us_stack;

struct us_dev_ops {
	const char *name;
	int (*rx_burst)(struct us_dev *d, struct us_pbuf **pkts, int max);
	void (*tx_burst)(struct us_dev *d, struct us_pbuf **pkts, int n);
	/* A kernel descriptor that is readable when frames wait, or -1. */
	int (*fd)(struct us_dev *d);
	/* Earliest stack time (ns) at which the device has timed work (a
	 * delayed frame), or UINT64_MAX. NULL: never. */
	uint64_t (*next_event)(struct us_dev *d);
	/* Called once the device is attached to a stack (d->st set). */
	int (*attach)(struct us_dev *d);
	void (*close)(struct us_dev *d); /* frees d (and its lower device) */
};

struct us_dev {
	const struct us_dev_ops *ops;
	void *priv;
	struct us_stack *st;    /* set by dev_attach */
	struct us_dev *lower;   /* wrappers: the device they wrap */
	uint8_t mac[6];         /* the interface's MAC, if has_mac */
	int has_mac;
	uint32_t mtu;           /* the interface's MTU (0: unknown) */
	int mtu_hard;           /* mtu is a kernel interface's real limit */
	char name[IFNAMSIZ];
};

/* Attach a device (and every device below it) to a stack. */
int dev_attach(struct us_dev *d, struct us_stack *st);
void dev_close(struct us_dev *d);

/* Backends. Return 0 and *out, or a negative errno after logging to
 * stderr a one-line reason a user can act on. */
int dev_tap_open(struct us_dev **out, const char *ifname);
int dev_afpacket_open(struct us_dev **out, const char *ifname);
/* Wrappers own the lower device. NULL on failure (message on stderr); the
 * caller then still owns lower. */
struct us_dev *dev_capture_wrap(struct us_dev *lower, const char *path);

/* Helpers for backends (dev.c). */
/* A pool buffer holding a copy of a received frame, with the arrival time
 * set and dev_rx_frames/bytes counted; NULL and dev_rx_drop_nobuf counted
 * if the pool is empty. */
struct us_pbuf *dev_rx_copy(struct us_dev *d, const void *frame,
			    uint32_t len);
/* Make w a wrapper of lower: it shows lower's MAC, MTU and name. */
void dev_wrap_init(struct us_dev *w, const struct us_dev_ops *ops,
		   struct us_dev *lower);
/* Interface ioctls (through an AF_INET datagram socket): 0 or -errno. */
int dev_ifreq(const char *name, unsigned long req, struct ifreq *ifr);
int dev_if_up(const char *name);       /* set IFF_UP if not set */
uint32_t dev_if_mtu(const char *name); /* 0 if unknown */

#endif
