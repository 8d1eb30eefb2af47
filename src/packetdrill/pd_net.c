/* The script's side of the link: packets it injects, packets it sniffs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "packetdrill/pd.h"

/* The packet is in the stack, and its answer (if any) queued for
 * netdev_receive, before this returns. */
int pd_netdev_send(void *ud, const void *buf, size_t count)
{
	struct pd *pd = ud;
	int rc;

	if (pd->init_err) {
		errno = pd->init_err;
		return -1;
	}
	if (!buf || !count) {
		errno = EINVAL;
		return -1;
	}
	pd_lock(pd);
	rc = pd_dev_inject(pd->dev, buf, count);
	pd_settle(pd);
	pd_unlock(pd);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* The next packet the stack sent, stamped with the time it was sent. With
 * none waiting, the stack's timers run for a short while (a retransmission
 * may be due); still none: -1, and packetdrill asks again. */
int pd_netdev_receive(void *ud, void *buf, size_t *count, long long *time_usecs)
{
	struct pd *pd = ud;
	struct pd_pkt *k;

	if (pd->init_err) {
		errno = pd->init_err;
		return -1;
	}
	if (!buf || !count || !time_usecs) {
		errno = EFAULT;
		return -1;
	}
	pd_lock(pd);
	if (!pd->txq.len)
		pd_advance_until_tx(pd, PD_RECV_STEP_NS);
	k = pd->txq.head;
	if (k) {
		pd->txq.head = k->next;
		if (!pd->txq.head)
			pd->txq.tail = &pd->txq.head;
		pd->txq.len--;
	}
	pd_unlock(pd);
	if (!k) {
		*count = 0;
		errno = EAGAIN;
		return -1;
	}
	size_t n = k->len < *count ? k->len : *count;
	memcpy(buf, k->data, n);
	*count = n;
	*time_usecs = (long long)pd_wall_us(pd, k->ns);
	free(k);
	return 0;
}
