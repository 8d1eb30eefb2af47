#!/bin/bash
# Router: ustack (10.8.0.2/24, --gw 10.8.0.1) reaches a host on another
# subnet (10.9.0.2/24) through a kernel router namespace (ip_forward=1).
#   U [vu] ---- [vr1 10.8.0.1] R [vr2 10.9.0.1] ---- [vh 10.9.0.2] H
. "$(dirname "$0")/lib.sh"

U=ust-rtu-$UST_ID
R=ust-rtr-$UST_ID
H=ust-rth-$UST_ID
mkns "$U"
mkns "$R"
mkns "$H"
veth_pair "$R" vr1 "$U" vu
veth_pair "$R" vr2 "$H" vh
ip -n "$R" addr add 10.8.0.1/24 dev vr1
ip -n "$R" addr add 10.9.0.1/24 dev vr2
ip -n "$H" addr add 10.9.0.2/24 dev vh
ip -n "$H" route add default via 10.9.0.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
# Frames reaching ustack leave R through vr1, forwarded ones included.
veth_offloads "$R" vr1

# The far host pings ustack through the router.
start_demo "$U" "$T_TMP/demo.log" --dev afpacket --ifname vu \
	--ip 10.8.0.2/24 --gw 10.8.0.1
wait_ping "$H" 10.8.0.2 || { show_log "$T_TMP/demo.log"; fail "10.8.0.2 never answered from 10.9.0.2"; }
ping_sizes "$H" 10.8.0.2 || { show_log "$T_TMP/demo.log"; fail "ping through the router lost packets"; }
stop_demo "$T_TMP/demo.log"

# ustack's own client reaches a UDP echo server on the far host.
bg "$H" "$T_TMP/server.log" $PY "$HERE/kudp.py" echo-server \
	--bind 10.9.0.2:7007 --ready "$T_TMP/ready"
SERVER=$BG_PID
for i in $(seq 1 100); do [ -s "$T_TMP/ready" ] && break; sleep 0.05; done
alive "$SERVER" "$T_TMP/server.log"
out=$(ip netns exec "$U" timeout 30 "$UCLIENT" --dev afpacket --ifname vu \
	--ip 10.8.0.2/24 --gw 10.8.0.1 --to 10.9.0.2:7007 --count 5 \
	--size 3000 --timeout-ms 2000 2>&1)
rc=$?
echo "$out" | sed 's/^/    | /'
[ $rc -eq 0 ] || { show_log "$T_TMP/server.log"; fail "client to 10.9.0.2:7007 via the router: status $rc"; }
