#!/bin/bash
# Path MTU discovery (RFC 1191) through a kernel router whose far side
# has MTU 1280: ustack (MTU 1500, DF on every TCP segment) sends 4 MiB to
# a kernel sink on the far host, whose SYN-ACK offers MSS 1460 (its own
# link is 1500); the router's real "fragmentation needed" errors lower
# ustack's MSS (tcp_pmtu_lowered) and all 4 MiB arrive (the sink counts
# them). Only ACKs come back, so the far host's 1500-byte link toward the
# 1280 hop does not matter.
#   U [vu] -- [vr1 10.8.0.1] R [vr2 10.9.0.1 mtu 1280] -- [vh 10.9.0.2] H
. "$(dirname "$0")/lib.sh"
TOOL=$BUILD/bin/ust-tcp-tool

U=ust-pmu-$UST_ID
R=ust-pmr-$UST_ID
H=ust-pmh-$UST_ID
mkns "$U"
mkns "$R"
mkns "$H"
veth_pair "$R" vr1 "$U" vu
veth_pair "$R" vr2 "$H" vh
ip -n "$R" link set vr2 mtu 1280
ip -n "$R" addr add 10.8.0.1/24 dev vr1
ip -n "$R" addr add 10.9.0.1/24 dev vr2
ip -n "$H" addr add 10.9.0.2/24 dev vh
ip -n "$H" route add default via 10.9.0.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
# What reaches ustack leaves R through vr1; big forwarded TCP frames must
# arrive as sent: no GSO/TSO on the way to ustack.
ip netns exec "$R" ethtool -K vr1 tso off gso off >/dev/null 2>&1
ip netns exec "$U" ethtool -K vu gro off >/dev/null 2>&1
ip netns exec "$H" ethtool -K vh tso off gso off >/dev/null 2>&1

bg "$H" "$T_TMP/server.log" $PY "$HERE/ktcp.py" server --port 7 --mode sink
for i in $(seq 1 100); do
	grep -q '^listening' "$T_TMP/server.log" 2>/dev/null && break
	sleep 0.05
done
timeout -k 5 60 ip netns exec "$U" "$TOOL" --connect 10.9.0.2:7 \
	--send 4M --shut --timeout-ms 50000 --dev afpacket \
	--ifname vu --ip 10.8.0.2/24 --gw 10.8.0.1 --stats \
	>"$T_TMP/client.log" 2>&1 ||
	{ show_log "$T_TMP/client.log"; show_log "$T_TMP/server.log"; fail "4 MiB through the MTU-1280 router"; }
sleep 0.5
grep -q 4194304 "$T_TMP/server.log" ||
	{ show_log "$T_TMP/server.log"; fail "the sink did not get 4 MiB"; }
log "4 MiB through the router (far side MTU 1280): $(tail -n 1 "$T_TMP/server.log")"
for c in icmp_err_rx tcp_icmp_err tcp_pmtu_lowered tcp_retransmits tcp_rto; do
	log "ustack $c $(awk -v n=$c '$1 == n {v = $2} END {print v + 0}' "$T_TMP/client.log")"
done
[ "$(awk '$1 == "tcp_pmtu_lowered" {v = $2} END {print v + 0}' "$T_TMP/client.log")" -ge 1 ] ||
	{ show_log "$T_TMP/client.log"; fail "the MSS was never lowered by the router's ICMP"; }
