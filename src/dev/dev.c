/* Device plumbing shared by every backend: attach, close, and the two
 * helpers that keep the backends short. */
#include "dev/dev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stack.h"

int dev_attach(struct us_dev *d, struct us_stack *st)
{
	int rc;

	if (!d)
		return 0;
	d->st = st;
	/* Bottom-up: a wrapper may look at its lower device when attached. */
	rc = dev_attach(d->lower, st);
	if (rc < 0)
		return rc;
	return d->ops->attach ? d->ops->attach(d) : 0;
}

void dev_close(struct us_dev *d)
{
	if (d && d->ops->close)
		d->ops->close(d);
}

struct us_pbuf *dev_rx_copy(struct us_dev *d, const void *frame, uint32_t len)
{
	struct us_stack *st = d->st;
	struct us_pbuf *p = pbuf_alloc(&st->pool, len, 0);

	if (!p) {
		STAT_INC(st, dev_rx_drop_nobuf);
		return NULL;
	}
	memcpy(p->data, frame, len);
	p->len = len;
	p->time = st->now;
	STAT_INC(st, dev_rx_frames);
	STAT_ADD(st, dev_rx_bytes, len);
	return p;
}

void dev_wrap_init(struct us_dev *w, const struct us_dev_ops *ops,
		   struct us_dev *lower)
{
	w->ops = ops;
	w->lower = lower;
	w->st = lower->st;
	memcpy(w->mac, lower->mac, sizeof(w->mac));
	w->has_mac = lower->has_mac;
	w->mtu = lower->mtu;
	w->mtu_hard = lower->mtu_hard;
	memcpy(w->name, lower->name, sizeof(w->name));
}

int dev_ifreq(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, req, ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

int dev_if_up(const char *name)
{
	struct ifreq ifr = {0};
	int rc = dev_ifreq(name, SIOCGIFFLAGS, &ifr);

	if (rc < 0 || (ifr.ifr_flags & IFF_UP))
		return rc;
	ifr.ifr_flags |= IFF_UP;
	return dev_ifreq(name, SIOCSIFFLAGS, &ifr);
}

uint32_t dev_if_mtu(const char *name)
{
	struct ifreq ifr = {0};

	return dev_ifreq(name, SIOCGIFMTU, &ifr) < 0 ? 0
						     : (uint32_t)ifr.ifr_mtu;
}
