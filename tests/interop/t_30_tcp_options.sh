#!/bin/bash
# TCP options against the kernel (issue 6): a kernel client (which offers
# SACK-permitted, timestamps and window scale by default) connects to the
# demo's echo service over veth + AF_PACKET; a capture on the kernel's
# side shows the options negotiated both ways: the kernel's SYN and
# ustack's SYN-ACK each carry all three, ustack's data segments carry
# timestamps echoing the kernel's, and ustack reports them in TCP_INFO
# terms (counters). Not covered here (no netem, iptables or nft on the
# test machines to drop chosen segments): SACK blocks on the wire under
# loss; the sims (tests/sim/test_tcp_sack.c) cover recovery.
. "$(dirname "$0")/lib.sh"
TCP_NET=veth
. "$HERE/tcp_lib.sh"

tcp_net to
demo_start "$T_TMP/demo.log"
demo_service 7

CAP=$T_TMP/cap.pcap
bg "$KNS" "$T_TMP/tshark.log" tshark -q -i "$KIF" -w "$CAP" -f "tcp port 7"
TSHARK_PID=$BG_PID
sleep 1
ip netns exec "$KNS" $KTCP send --to "$UIP:7" --bytes 100000 --echo \
	--timeout 10 >"$T_TMP/small.log" 2>&1 ||
	{ show_log "$T_TMP/small.log"; fail "echo"; }
log "echo: 100000 bytes back intact"
sleep 1
stop_bg "$TSHARK_PID" >/dev/null 2>&1

fields() {
	tshark -r "$CAP" -Y "$1" -T fields -e tcp.options.sack_perm \
		-e tcp.options.timestamp.tsval -e tcp.options.wscale.shift \
		2>/dev/null | head -n 1
}
syn=$(fields "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 7")
synack=$(fields "tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == 7")
log "kernel SYN     (sack_perm, tsval, wscale): $syn"
log "ustack SYN-ACK (sack_perm, tsval, wscale): $synack"
for f in 1 2 3; do
	[ -n "$(cut -f$f <<<"$syn")" ] || fail "kernel SYN lacks option $f"
	[ -n "$(cut -f$f <<<"$synack")" ] ||
		fail "ustack SYN-ACK lacks option $f: $synack"
done
data_ts=$(tshark -r "$CAP" -Y "tcp.srcport == 7 && tcp.len > 0 && tcp.options.timestamp.tsecr > 0" \
	2>/dev/null | wc -l)
log "ustack data segments with timestamps: $data_ts"
[ "$data_ts" -gt 0 ] || fail "ustack sends data without timestamps"
demo_stop
for c in tcp_rx_data_bytes tcp_retransmits tcp_sack_retransmit tcp_rto \
	tcp_dsack_rx tcp_drop_paws; do
	log "ustack $c $(ustat "$STATS_LOG" $c)"
done
