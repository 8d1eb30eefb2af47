/* Ethernet: demultiplex received frames by ethertype through the stack's
 * handler table; frame outgoing packets. */
#include "net/eth.h"

#include <errno.h>
#include <string.h>

#include "wire/eth.h"

int eth_init(struct us_stack *st)
{
	memset(st->eth_handlers, 0, sizeof(st->eth_handlers));
	return 0;
}

void eth_fini(struct us_stack *st)
{
	memset(st->eth_handlers, 0, sizeof(st->eth_handlers));
}

int eth_register(struct us_stack *st, uint16_t ethertype, eth_handler_fn fn)
{
	int free_slot = -1;

	for (int i = 0; i < US_ETH_HANDLERS; i++) {
		if (st->eth_handlers[i].fn &&
		    st->eth_handlers[i].type == ethertype) {
			st->eth_handlers[i].fn = fn;
			return 0;
		}
		if (!st->eth_handlers[i].fn && free_slot < 0)
			free_slot = i;
	}
	if (!fn)
		return 0;
	if (free_slot < 0)
		return -ENOSPC;
	st->eth_handlers[free_slot].type = ethertype;
	st->eth_handlers[free_slot].fn = fn;
	return 0;
}

static eth_handler_fn eth_handler(const struct us_stack *st, uint16_t type)
{
	for (int i = 0; i < US_ETH_HANDLERS; i++)
		if (st->eth_handlers[i].fn && st->eth_handlers[i].type == type)
			return st->eth_handlers[i].fn;
	return NULL;
}

void eth_input(struct us_stack *st, struct us_pbuf *p)
{
	struct eth_hdr h;

	STAT_INC(st, eth_rx);
	if (eth_parse(p->data, p->len, &h) < 0) {
		STAT_INC(st, eth_drop_short);
		goto drop;
	}
	/* Accept frames to our MAC and to any group address (broadcast,
	 * multicast); upper layers decide about group traffic. A promiscuous
	 * device (tap, afpacket) also hands us other hosts' unicast. */
	if (eth_addr_is_group(h.dst)) {
		p->flags |= PBUF_F_BCAST;
	} else if (memcmp(h.dst, st->mac, ETH_ADDR_LEN) != 0) {
		STAT_INC(st, eth_drop_not_ours);
		goto drop;
	}
	/* 802.3 length fields (< 0x600) and unregistered types alike. */
	eth_handler_fn fn = eth_handler(st, h.type);
	if (!fn) {
		STAT_INC(st, eth_drop_unknown_type);
		goto drop;
	}
	pbuf_pull(p, ETH_HDR_LEN);
	fn(st, p);
	return;
drop:
	pbuf_free(p);
}

void eth_output(struct us_stack *st, struct us_pbuf *p, const uint8_t dst[6],
		uint16_t ethertype)
{
	struct eth_hdr h;
	uint8_t *b = pbuf_push(p, ETH_HDR_LEN);

	if (!b) {
		/* Every sender reserves PBUF_HEADROOM; this is our bug. */
		us_err(st, "eth: no headroom for the Ethernet header");
		STAT_INC(st, eth_drop_headroom);
		pbuf_free(p);
		return;
	}
	memcpy(h.dst, dst, ETH_ADDR_LEN);
	memcpy(h.src, st->mac, ETH_ADDR_LEN);
	h.type = ethertype;
	eth_emit(b, &h);
	STAT_INC(st, eth_tx);
	stack_tx(st, p);
}
