#!/bin/bash
# UDP echo over veth + AF_PACKET, as over TAP. The kernel side keeps its
# default offloads, so datagrams arrive with partial checksums, which the
# afpacket device must take (see veth_offloads in lib.sh); with VETH_TX=off
# (t_04b) the kernel sends full checksums instead.
. "$(dirname "$0")/lib.sh"

veth_setup ve
start_demo "$U" "$T_TMP/demo.log" --dev afpacket --ifname vu --ip 10.8.0.2/24
wait_ping "$K" 10.8.0.2 || { show_log "$T_TMP/demo.log"; fail "10.8.0.2 never answered"; }
ip netns exec "$K" $KUDP echo-client --to 10.8.0.2:7 --count 1000 \
	--max-size 8000 --window ${UST_ECHO_WINDOW:-4} ||
	echo_failed "$T_TMP/demo.log"
stop_demo "$T_TMP/demo.log"
partial=$(awk '$1 == "dev_rx_csum_partial" {print $2}' "$T_TMP/demo.log")
log "dev_rx_csum_partial: ${partial:-0}"
if [ "${VETH_TX:-on}" = off ]; then
	[ -z "$partial" ] || fail "partial checksums seen with tx offload off"
else
	[ -n "$partial" ] || { show_log "$T_TMP/demo.log"; fail "no partial checksums seen: the offload path went untested"; }
fi
