#!/bin/bash
# UDP echo over TAP: a kernel client sends 1000 datagrams of mixed sizes
# up to 8000 bytes to the demo's echo port 7, a few outstanding at a time,
# and must get every one back intact (nothing is retransmitted).
. "$(dirname "$0")/lib.sh"

NS=ust-ue-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log" --ifname ustap0
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }
ip netns exec "$NS" $KUDP echo-client --to 10.7.0.2:7 --count 1000 \
	--max-size 8000 --window ${UST_ECHO_WINDOW:-4} ||
	echo_failed "$T_TMP/demo.log"
stop_demo "$T_TMP/demo.log"
