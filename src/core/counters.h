/* Named counters. Every dropped packet moves one of the *_drop_* counters.
 * To add a counter, add a line here; the name is the identifier. */
#ifndef US_COUNTERS_H
#define US_COUNTERS_H

#define US_COUNTERS(X)                                                     \
	/* devices */                                                      \
	X(dev_rx_frames) X(dev_rx_bytes) X(dev_tx_frames) X(dev_tx_bytes)  \
	X(dev_rx_drop_nobuf) /* no packet buffer for a received frame */   \
	X(dev_rx_drop_truncated) /* frame larger than the ring/buffer */   \
	X(dev_rx_drop_gso) /* GSO frame we cannot cut (type, headers) */   \
	X(dev_rx_gso_segmented) /* GSO super-frames cut into segments */   \
	X(dev_rx_gso_segments) /* segments made from them */               \
	X(dev_rx_csum_partial) /* kernel peer left checksum to us */       \
	X(dev_rx_drop_ring) /* kernel found our RX ring full */            \
	X(dev_tx_drop_full) /* device ring full or write failed */         \
	X(dev_tx_drop_toobig)                                              \
	X(dev_tx_drop_not_ip) /* raw-IP link: frame it cannot carry */     \
	X(pbuf_alloc_fail)                                                 \
	X(lo_delivered) /* packets to our own address, looped back */      \
	/* ethernet */                                                     \
	X(eth_rx) X(eth_tx)                                                \
	X(eth_drop_short) X(eth_drop_not_ours) X(eth_drop_unknown_type)    \
	X(eth_drop_headroom) /* our bug: a sender left no headroom */      \
	/* arp */                                                          \
	X(arp_rx) X(arp_tx_request) X(arp_tx_reply) X(arp_tx_garp)         \
	X(arp_drop_malformed) X(arp_drop_not_ours) X(arp_drop_unsupported) \
	X(arp_resolve_fail) X(arp_drop_queue_full) X(arp_drop_unresolved)  \
	X(arp_drop_martian) /* sender is broadcast/multicast/zero */       \
	X(arp_drop_conflict) /* another host claims our address */         \
	X(arp_drop_cache_full) /* sender not learnt: all are pending */    \
	/* ipv4 */                                                         \
	X(ip4_rx) X(ip4_tx)                                                \
	X(ip4_drop_short) X(ip4_drop_version) X(ip4_drop_hdrlen)           \
	X(ip4_drop_totlen) X(ip4_drop_csum) X(ip4_drop_not_ours)           \
	X(ip4_drop_martian) X(ip4_drop_unknown_proto) X(ip4_drop_no_route) \
	X(ip4_drop_df) /* too big for the MTU with DF set */               \
	X(ip4_drop_nobuf)                                                  \
	X(ip4_drop_toobig) /* output datagram over 65535 bytes */          \
	X(ip4_frag_tx) /* fragments sent */                                \
	X(frag_rx) X(frag_reassembled) X(frag_dup)                         \
	X(frag_drop_overlap) X(frag_drop_timeout) X(frag_drop_mem)         \
	X(frag_drop_too_big) X(frag_drop_bad)                              \
	/* icmp */                                                         \
	X(icmp_rx) X(icmp_echo_rx) X(icmp_echo_reply_tx) X(icmp_unreach_tx) \
	X(icmp_err_rx) X(icmp_drop_short) X(icmp_drop_csum)                \
	X(icmp_drop_unknown_type) X(icmp_drop_ratelimit)                   \
	X(icmp_drop_bcast) /* echo to a broadcast (RFC 1122 3.2.2.6) */    \
	X(icmp_err_tx) /* errors sent, any type */                         \
	X(icmp_err_drop_no_proto) /* error about a protocol we lack */     \
	/* udp */                                                          \
	X(udp_rx) X(udp_tx) X(udp_drop_short) X(udp_drop_len)              \
	X(udp_drop_csum) X(udp_drop_no_port) X(udp_drop_rcvbuf)            \
	/* tcp */                                                          \
	X(tcp_rx) X(tcp_tx) X(tcp_rx_data_bytes) X(tcp_tx_data_bytes)      \
	X(tcp_active_opens) X(tcp_passive_opens) X(tcp_estab_resets)       \
	X(tcp_drop_short) X(tcp_drop_csum) X(tcp_drop_bad_off)             \
	X(tcp_drop_bad_flags) /* SYN+RST, SYN+FIN, no SYN/ACK/RST */       \
	X(tcp_drop_not_unicast) /* to a broadcast/multicast address */     \
	X(tcp_drop_no_conn) /* no connection or listener (RST sent) */     \
	X(tcp_drop_listen) /* not a SYN, to a listener (RST if ACK) */     \
	X(tcp_drop_syn_sent) /* unacceptable in SYN-SENT */                \
	X(tcp_drop_out_of_window) X(tcp_drop_bad_ack) X(tcp_drop_no_ack)   \
	X(tcp_drop_rst_ignored) /* RST outside the window */               \
	X(tcp_drop_syn_in_window) /* SYN on a synchronized connection */   \
	X(tcp_drop_after_fin) /* data after the peer's FIN */              \
	X(tcp_drop_syn_queue_full) X(tcp_drop_accept_queue_full)          \
	X(tcp_drop_nomem) /* no buffer for a new connection */             \
	X(tcp_drop_ooo_mem) /* out-of-order queue over its bound */        \
	X(tcp_drop_rcv_mem) /* receive queue over its bound */             \
	X(tcp_drop_zero_window) /* data to a closed receive window */      \
	X(tcp_ooo_dup) /* out-of-order data we already held */             \
	X(tcp_dup_data) /* retransmitted data we already had */            \
	X(tcp_collapsed) /* buffers merged to save memory */               \
	X(tcp_challenge_ack) X(tcp_challenge_ack_limited)                  \
	X(tcp_oow_ack_limited) /* out-of-window/PAWS ACK rate-limited */   \
	X(tcp_rst_tx) X(tcp_rst_rx) X(tcp_abort_on_data)                   \
	X(tcp_abort_on_close) /* RST on close: unread data or linger 0 */  \
	X(tcp_timewait_reuse) /* TIME_WAIT ended by a new SYN */           \
	X(tcp_retransmits) X(tcp_rto) X(tcp_fast_retransmit)               \
	X(tcp_partial_ack) X(tcp_syn_retrans) X(tcp_synack_retrans)        \
	X(tcp_timeout) /* connection given up after retries */             \
	X(tcp_fin_wait2_timeout) X(tcp_zero_window_probe)                  \
	X(tcp_delayed_ack) X(tcp_icmp_err) X(tcp_tx_nobuf)                \
	X(tcp_keepalive_probe) X(tcp_keepalive_timeout)                    \
	X(tcp_user_timeout) /* given up: data unacked past TCP_USER_TIMEOUT */ \
	X(tcp_drop_paws) /* RFC 7323 5: an old timestamp */                \
	X(tcp_sack_retransmit) /* RFC 6675 holes resent */                 \
	X(tcp_dsack_rx) /* RFC 2883 duplicate reports received */          \
	X(tcp_icmp_drop_out_of_window) /* RFC 5927: quoted seq not in flight */ \
	X(tcp_pmtu_lowered) /* RFC 1191: frag needed took the MSS down */ \
	X(tcp_syncookie_sent) /* RFC 4987: SYN queue full, cookie sent */  \
	X(tcp_syncookie_ok) /* a cookie came back: connection made */     \
	X(tcp_syncookie_bad) /* an ACK to a listener with a bad cookie */

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
