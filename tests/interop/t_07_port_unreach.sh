#!/bin/bash
# ICMP port unreachable: a kernel UDP socket connected to ustack's closed
# port 9999 sends; ustack answers with ICMP port unreachable, which the
# kernel reports as ECONNREFUSED on the next recv (RFC 1122 4.1.3.1).
# The demo runs with no flags but --stats: its defaults (TAP ust0, host
# side 10.7.0.1/24, stack 10.7.0.2) are part of its contract.
. "$(dirname "$0")/lib.sh"

NS=ust-pu-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log"
tap_up "$NS" ust0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }
ip netns exec "$NS" $KUDP refused --to 10.7.0.2:9999 ||
	{ stop_bg "$DEMO_PID"; show_log "$T_TMP/demo.log"; fail "no ECONNREFUSED"; }
stop_demo "$T_TMP/demo.log"
grep -Eq '^icmp_unreach_tx [1-9]' "$T_TMP/demo.log" ||
	{ show_log "$T_TMP/demo.log"; fail "--stats shows no icmp_unreach_tx"; }
