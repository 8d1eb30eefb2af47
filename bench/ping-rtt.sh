#!/bin/bash
# Ping round-trip time to ustack (ustack-demo on afpacket) over a veth pair,
# beside the Linux kernel answering the same ping on the same veth: for the
# kernel figure the address moves onto ustack's end of the veth.
#   bench/ping-rtt.sh [BUILD_DIR] [COUNT]
# Prints a Markdown table; never pass/fail.
BUILD=$(cd "${1:-build}" && pwd)
COUNT=${2:-1000}
DEMO_FLAGS=${DEMO_FLAGS:-}
UST_ID=$$
. "$(dirname "$0")/../tests/interop/lib.sh"

veth_setup pr >/dev/null

# rtt NS ADDR: "min avg max mdev" in ms over COUNT echoes 1 ms apart.
rtt() {
	ip netns exec "$1" ping -n -q -c "$COUNT" -i 0.001 -W 1 "$2" 2>&1 |
		sed -n 's/.*= \([0-9.]*\)\/\([0-9.]*\)\/\([0-9.]*\)\/\([0-9.]*\) ms.*/\1 \2 \3 \4/p'
}

start_demo "$U" "$T_TMP/demo.log" --dev afpacket --ifname vu --ip 10.8.0.2/24 $DEMO_FLAGS
wait_ping "$K" 10.8.0.2 || { show_log "$T_TMP/demo.log"; fail "ustack never answered"; }
read -r umin uavg umax umdev <<<"$(rtt "$K" 10.8.0.2)"
stop_demo "$T_TMP/demo.log"

ip -n "$U" addr add 10.8.0.2/24 dev vu
wait_ping "$K" 10.8.0.2 || fail "kernel never answered"
read -r kmin kavg kmax kmdev <<<"$(rtt "$K" 10.8.0.2)"

echo "| ping over veth ($COUNT echoes, 56 B) | min ms | avg ms | max ms | mdev ms |"
echo "|---|---|---|---|---|"
echo "| ustack (afpacket) | $umin | $uavg | $umax | $umdev |"
echo "| Linux kernel | $kmin | $kavg | $kmax | $kmdev |"
awk -v u="$uavg" -v k="$kavg" 'BEGIN { if (k > 0) printf "| ratio avg (ustack/kernel) | | %.2f | | |\n", u / k }'
