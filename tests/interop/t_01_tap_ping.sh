#!/bin/bash
# TAP: the demo creates its TAP inside a namespace of its own; the kernel
# there pings ustack with 56, 1472 and 8000 bytes (8000: IPv4 fragments
# both ways), then with the largest sizes, and must lose nothing.
. "$(dirname "$0")/lib.sh"

NS=ust-tap-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log" --ifname ustap0
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }
ping_sizes "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "ping lost packets"; }
# Any size: the largest echo an IPv4 datagram holds (65507 bytes of data,
# 45 fragments each way), also with a 60-byte header (record route).
for args in "-s 65507" "-s 65467 -R"; do
	out=$(ip netns exec "$NS" ping -n -c 3 -i 0.2 -W 2 $args 10.7.0.2 2>&1)
	grep -q '^3 packets transmitted, 3 received, 0% packet loss' <<<"$out" ||
		{ echo "$out" | tail -n 4; show_log "$T_TMP/demo.log"; fail "ping $args: lost"; }
	log "ping $args: $(grep -o '[0-9]* received, [0-9.]*% packet loss' <<<"$out")"
done
stop_demo "$T_TMP/demo.log"
