/* TAP: the universal device. The kernel gives one frame per read() and
 * takes one per write(); the interface's own MAC is the kernel's end of
 * the link, so the stack picks a MAC of its own (has_mac = 0). The
 * interface is brought up but gets no address here: the host side's
 * address is for whoever sets up the test or demo. */
#include "dev/dev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/stack.h"
#include "net/eth.h"

#define VLAN_HLEN 4

struct tap {
	int fd;
};

static int tap_fd(struct us_dev *d)
{
	return ((struct tap *)d->priv)->fd;
}

/* Read one frame into a pool buffer. Returns 1 (frame in *out), 0 (frame
 * dropped and counted), -EAGAIN (none waiting) or another -errno. */
static int tap_read_one(struct us_dev *d, struct us_pbuf **out)
{
	struct us_stack *st = d->st;
	/* One byte more than the largest frame tells a too-long frame. */
	uint32_t room = d->mtu + ETH_HLEN + VLAN_HLEN + 1;
	struct us_pbuf *p = pbuf_alloc(&st->pool, room, 0);
	ssize_t r;

	if (!p) {
		/* Read it anyway into a scratch buffer: a frame left in the
		 * queue would keep the descriptor readable and spin poll(). */
		uint8_t scratch[64];
		r = read(tap_fd(d), scratch, sizeof(scratch));
		if (r < 0)
			return -errno;
		STAT_INC(st, dev_rx_drop_nobuf);
		return 0;
	}
	r = read(tap_fd(d), p->data, room);
	if (r < 0) {
		int err = errno;
		pbuf_free(p);
		return -err;
	}
	if ((uint32_t)r >= room) {
		STAT_INC(st, dev_rx_drop_truncated);
		pbuf_free(p);
		return 0;
	}
	p->len = (uint32_t)r;
	p->time = st->now;
	STAT_INC(st, dev_rx_frames);
	STAT_ADD(st, dev_rx_bytes, p->len);
	*out = p;
	return 1;
}

static int tap_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	int n = 0;

	/* At most max reads, counting dropped frames, so a flood of bad
	 * frames cannot keep us here. */
	for (int i = 0; i < max; i++) {
		int rc = tap_read_one(d, &pkts[n]);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK)
			break;
		if (rc == -EINTR || rc == 0)
			continue;
		if (rc < 0)
			return n ? n : rc; /* it will be seen again next turn */
		n++;
	}
	return n;
}

static void tap_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	struct us_stack *st = d->st;

	for (int i = 0; i < n; i++) {
		struct us_pbuf *p = pkts[i];
		ssize_t r;

		if (p->len > d->mtu + ETH_HLEN) {
			STAT_INC(st, dev_tx_drop_toobig);
		} else if ((r = write(tap_fd(d), p->data, p->len)) ==
			   (ssize_t)p->len) {
			STAT_INC(st, dev_tx_frames);
			STAT_ADD(st, dev_tx_bytes, p->len);
		} else if (r < 0 && errno == EMSGSIZE) {
			STAT_INC(st, dev_tx_drop_toobig);
		} else {
			STAT_INC(st, dev_tx_drop_full);
		}
		pbuf_free(p);
	}
}

static void tap_close(struct us_dev *d)
{
	/* A TAP we created goes away with its last descriptor. */
	close(tap_fd(d));
	free(d->priv);
	free(d);
}

static const struct us_dev_ops tap_ops = {
    .name = "tap",
    .rx_burst = tap_rx_burst,
    .tx_burst = tap_tx_burst,
    .fd = tap_fd,
    .close = tap_close,
};

/* Open /dev/net/tun and create (or attach to) the interface; the kernel
 * may rewrite the name (a "ust%d" pattern), so it is copied back. */
static int tun_attach(const char *ifname, char name[IFNAMSIZ])
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;
		us_err(NULL,
		       "tap: cannot open /dev/net/tun: %s (needs "
		       "CAP_NET_ADMIN and the tun module)",
		       strerror(err));
		return -err;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		us_err(NULL, "tap: cannot create or attach %s: %s", ifname,
		       strerror(err));
		close(fd);
		return -err;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
}

int dev_tap_open(struct us_dev **out, const char *ifname)
{
	struct us_dev *d = NULL;
	struct tap *t = NULL;
	int fd, rc = -ENOMEM;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		us_err(NULL, "tap: bad interface name '%s'",
		       ifname ? ifname : "");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	t = calloc(1, sizeof(*t));
	if (!d || !t)
		goto fail;
	fd = tun_attach(ifname, d->name);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	t->fd = fd;
	rc = dev_if_up(d->name);
	if (rc < 0) {
		us_err(NULL, "tap: cannot bring %s up: %s", d->name,
		       strerror(-rc));
		close(fd);
		goto fail;
	}
	d->ops = &tap_ops;
	d->priv = t;
	d->has_mac = 0;
	d->mtu = dev_if_mtu(d->name);
	d->mtu_hard = d->mtu != 0;
	if (!d->mtu)
		d->mtu = 1500;
	*out = d;
	return 0;
fail:
	free(t);
	free(d);
	return rc;
}
