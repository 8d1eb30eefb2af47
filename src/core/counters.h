/* Named counters. Every dropped packet moves one of the *_drop_* counters.
 * To add a counter, add a line here; the name is the identifier. */
#ifndef US_COUNTERS_H
#define US_COUNTERS_H

#define US_COUNTERS(X)                                                     \
	/* devices */                                                      \
	X(dev_rx_frames) X(dev_rx_bytes) X(dev_tx_frames) X(dev_tx_bytes)  \
	X(dev_rx_drop_nobuf) /* no packet buffer for a received frame */   \
	X(dev_rx_drop_truncated) /* frame larger than the ring/buffer */   \
	X(dev_rx_drop_gso) /* oversized GSO frame we cannot take */        \
	X(dev_rx_csum_partial) /* kernel peer left checksum to us */       \
	X(dev_tx_drop_full) /* device ring full or write failed */         \
	X(dev_tx_drop_toobig)                                              \
	X(pbuf_alloc_fail)                                                 \
	X(lo_delivered) /* packets to our own address, looped back */      \
	/* ethernet */                                                     \
	X(eth_rx) X(eth_tx)                                                \
	X(eth_drop_short) X(eth_drop_not_ours) X(eth_drop_unknown_type)    \
	/* arp */                                                          \
	X(arp_rx) X(arp_tx_request) X(arp_tx_reply) X(arp_tx_garp)         \
	X(arp_drop_malformed) X(arp_drop_not_ours) X(arp_drop_unsupported) \
	X(arp_resolve_fail) X(arp_drop_queue_full) X(arp_drop_unresolved)  \
	X(arp_drop_martian) /* sender is broadcast/multicast/zero */       \
	/* ipv4 */                                                         \
	X(ip4_rx) X(ip4_tx)                                                \
	X(ip4_drop_short) X(ip4_drop_version) X(ip4_drop_hdrlen)           \
	X(ip4_drop_totlen) X(ip4_drop_csum) X(ip4_drop_not_ours)           \
	X(ip4_drop_martian) X(ip4_drop_unknown_proto) X(ip4_drop_no_route) \
	X(ip4_drop_df) /* too big for the MTU with DF set */               \
	X(ip4_drop_nobuf)                                                  \
	X(ip4_frag_tx) /* fragments sent */                                \
	X(frag_rx) X(frag_reassembled) X(frag_dup)                         \
	X(frag_drop_overlap) X(frag_drop_timeout) X(frag_drop_mem)         \
	X(frag_drop_too_big) X(frag_drop_bad)                              \
	/* icmp */                                                         \
	X(icmp_rx) X(icmp_echo_rx) X(icmp_echo_reply_tx) X(icmp_unreach_tx) \
	X(icmp_err_rx) X(icmp_drop_short) X(icmp_drop_csum)                \
	X(icmp_drop_unknown_type) X(icmp_drop_ratelimit)                   \
	/* udp */                                                          \
	X(udp_rx) X(udp_tx) X(udp_drop_short) X(udp_drop_len)              \
	X(udp_drop_csum) X(udp_drop_no_port) X(udp_drop_rcvbuf)

enum us_stat {
#define US_STAT_ENUM(n) US_STAT_##n,
	US_COUNTERS(US_STAT_ENUM)
#undef US_STAT_ENUM
	US_STAT__COUNT
};

/* Bump a counter: STAT_INC(st, ip4_drop_csum). */
#define STAT_INC(st, name) ((st)->stats[US_STAT_##name]++)
#define STAT_ADD(st, name, n) ((st)->stats[US_STAT_##name] += (n))

#endif
