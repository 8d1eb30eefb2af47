/* The capture wrapper: every frame received and sent goes to a pcap file
 * (libpcap's dump API), for tshark or wireshark. Timestamps are wall-clock
 * time, the one place it belongs: a capture is read next to other captures
 * and logs, not against the stack's clock. The file is flushed after every
 * burst so a reader sees frames while the program runs. */
#include "dev/dev.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/stack.h"

#define CAP_SNAPLEN 65535

struct capture {
	pcap_t *pd;
	pcap_dumper_t *dumper;
};

static void dump(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	struct capture *c = d->priv;
	struct pcap_pkthdr h;
	struct timespec ts;

	if (n <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.ts.tv_sec = ts.tv_sec;
	h.ts.tv_usec = ts.tv_nsec / 1000;
	for (int i = 0; i < n; i++) {
		h.len = pkts[i]->len;
		h.caplen = US_MIN(pkts[i]->len, (uint32_t)CAP_SNAPLEN);
		pcap_dump((u_char *)c->dumper, &h, pkts[i]->data);
	}
	pcap_dump_flush(c->dumper);
}

static int capture_rx_burst(struct us_dev *d, struct us_pbuf **pkts, int max)
{
	int n = d->lower->ops->rx_burst(d->lower, pkts, max);

	dump(d, pkts, n);
	return n;
}

static void capture_tx_burst(struct us_dev *d, struct us_pbuf **pkts, int n)
{
	/* Before the lower device: it owns the buffers once given them. */
	dump(d, pkts, n);
	d->lower->ops->tx_burst(d->lower, pkts, n);
}

static int capture_fd(struct us_dev *d)
{
	return d->lower->ops->fd ? d->lower->ops->fd(d->lower) : -1;
}

static void capture_close(struct us_dev *d)
{
	struct capture *c = d->priv;

	pcap_dump_close(c->dumper); /* flushes */
	pcap_close(c->pd);
	free(c);
	dev_close(d->lower);
	free(d);
}

static const struct us_dev_ops capture_ops = {
    .name = "capture",
    .rx_burst = capture_rx_burst,
    .tx_burst = capture_tx_burst,
    .fd = capture_fd,
    .close = capture_close,
};

struct us_dev *dev_capture_wrap(struct us_dev *lower, const char *path)
{
	struct us_dev *d = calloc(1, sizeof(*d));
	struct capture *c = calloc(1, sizeof(*c));

	if (!d || !c) {
		fprintf(stderr, "ustack: capture: out of memory\n");
		goto fail;
	}
	c->pd = pcap_open_dead(DLT_EN10MB, CAP_SNAPLEN);
	if (!c->pd) {
		fprintf(stderr, "ustack: capture: pcap_open_dead failed\n");
		goto fail;
	}
	c->dumper = pcap_dump_open(c->pd, path);
	if (!c->dumper) {
		fprintf(stderr, "ustack: capture: cannot write %s: %s\n", path,
			pcap_geterr(c->pd));
		pcap_close(c->pd);
		goto fail;
	}
	dev_wrap_init(d, &capture_ops, lower);
	d->priv = c;
	return d;
fail:
	free(c);
	free(d);
	return NULL;
}
