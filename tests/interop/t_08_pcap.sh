#!/bin/bash
# pcap: the demo writes every frame to --pcap FILE; after a ping exchange
# tshark reads the file and finds ARP, ICMP echo requests and replies.
. "$(dirname "$0")/lib.sh"

NS=ust-pc-$UST_ID
CAP=$T_TMP/demo.pcap
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log" --ifname ustap0 --pcap "$CAP"
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }
out=$(ip netns exec "$NS" ping -n -c 5 -i 0.05 -W 2 10.7.0.2 2>&1)
grep -q ' 0% packet loss' <<<"$out" || fail "ping lost packets"
stop_demo "$T_TMP/demo.log"   # closes (and flushes) the capture

[ -s "$CAP" ] || fail "no capture file written"
TSHARK="tshark -n -r $CAP"
n_arp=$($TSHARK -Y arp 2>/dev/null | wc -l)
n_req=$($TSHARK -Y 'icmp.type == 8 && ip.dst == 10.7.0.2' 2>/dev/null | wc -l)
n_rep=$($TSHARK -Y 'icmp.type == 0 && ip.src == 10.7.0.2' 2>/dev/null | wc -l)
log "tshark: $n_arp ARP, $n_req echo requests, $n_rep echo replies"
$TSHARK 2>/dev/null | head -n 12 | sed 's/^/    | /'
[ "$n_arp" -ge 1 ] || fail "no ARP in the capture"
[ "$n_req" -ge 6 ] || fail "echo requests missing from the capture"
[ "$n_rep" -ge 6 ] || fail "echo replies missing from the capture"
