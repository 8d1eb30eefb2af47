/* packetdrill_interface_init: the one symbol the library exports. One
 * ustack stack on the raw-IP link (pd_dev.c), configured from --so_flags,
 * its clock the script's clock (pd_core.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/util.h"
#include "packetdrill/packetdrill.h"
#include "packetdrill/pd.h"

#define PD_EXPORT __attribute__((visibility("default")))

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * US_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int make_stack(struct pd *pd, const char *flags)
{
	struct us_config cfg;
	int rc;

	if ((rc = pd_parse_flags(pd, flags)) < 0)
		return rc;
	us_config_init(&cfg);
	if (!(cfg.dev = pd_dev_new(pd, pd->mtu)))
		return -ENOMEM;
	cfg.ip = pd->local_ip;
	/* Everything but our own address is on the link: the device
	 * answers ARP for it with the one peer's MAC. */
	cfg.prefix_len = 0;
	cfg.mtu = pd->mtu;
	cfg.clock_now = pd_stack_clock();
	cfg.clock_arg = pd;
	cfg.no_garp = 1;
	cfg.seed = 1; /* the same run twice gives the same packets */
	pd->dev = cfg.dev;
	pd->st = us_stack_create(&cfg);
	if (!pd->st) {
		rc = errno;
		fprintf(stderr,
			"ustack-packetdrill: cannot create the stack: "
			"%s\n",
			strerror(rc));
		return -rc;
	}
	return 0;
}

static void pd_free(void *ud)
{
	struct pd *pd = ud;

	if (!pd)
		return;
	if (pd->st)
		us_stack_destroy(pd->st);
	pd_txq_free(&pd->txq);
	pthread_cond_destroy(&pd->ack_cv);
	pthread_cond_destroy(&pd->cv);
	pthread_mutex_destroy(&pd->lock);
	free(pd->nonblock);
	free(pd);
}

static const struct packetdrill_interface pd_ifc = {
    .free = pd_free,
    .socket = pd_socket,
    .bind = pd_bind,
    .listen = pd_listen,
    .accept = pd_accept,
    .connect = pd_connect,
    .read = pd_read,
    .readv = pd_readv,
    .recv = pd_recv,
    .recvfrom = pd_recvfrom,
    .recvmsg = pd_recvmsg,
    .write = pd_write,
    .writev = pd_writev,
    .send = pd_send,
    .sendto = pd_sendto,
    .sendmsg = pd_sendmsg,
    .fcntl = pd_fcntl,
    .ioctl = pd_ioctl,
    .close = pd_close,
    .shutdown = pd_shutdown,
    .getsockopt = pd_getsockopt,
    .setsockopt = pd_setsockopt,
    .poll = pd_poll,
    .netdev_send = pd_netdev_send,
    .netdev_receive = pd_netdev_receive,
    .usleep = pd_usleep,
    .gettimeofday = pd_gettimeofday,
    .epoll_create = pd_epoll_create,
    .epoll_ctl = pd_epoll_ctl,
    .epoll_wait = pd_epoll_wait,
    .pipe = pd_pipe,
    .splice = pd_splice,
};

/* packetdrill has no way to hear that init failed: on failure the calls
 * all fail with the reason (after a message on stderr), and the script
 * stops at its first one. */
PD_EXPORT void packetdrill_interface_init(const char *flags,
					  struct packetdrill_interface *ifc)
{
	struct pd *pd = calloc(1, sizeof(*pd));
	struct timeval tv;

	*ifc = pd_ifc;
	ifc->userdata = pd;
	if (!pd) {
		fprintf(stderr, "ustack-packetdrill: out of memory\n");
		*ifc = (struct packetdrill_interface){0};
		return;
	}
	pthread_mutex_init(&pd->lock, NULL);
	pthread_cond_init(&pd->cv, NULL);
	pthread_cond_init(&pd->ack_cv, NULL);
	pd->main_thread = pthread_self();
	pd->txq.tail = &pd->txq.head;
	pd->next_deadline = UINT64_MAX;
	gettimeofday(&tv, NULL);
	pd->wall0_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	pd->start_ns = pd->now_ns = mono_ns();

	int rc = make_stack(pd, flags);
	if (rc < 0)
		pd->init_err = -rc;
}
