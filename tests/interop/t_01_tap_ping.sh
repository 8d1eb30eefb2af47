#!/bin/bash
# TAP: the demo creates its TAP inside a namespace of its own; the kernel
# there pings ustack with 56, 1472 and 8000 bytes (8000: IPv4 fragments
# both ways) and must lose nothing.
. "$(dirname "$0")/lib.sh"

NS=ust-tap-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log" --ifname ustap0
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }
ping_sizes "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "ping lost packets"; }
stop_demo "$T_TMP/demo.log"
