#!/bin/bash
# SYN flood (RFC 4987) against ustack's listener over veth: scapy in the
# kernel's namespace sends 2000 SYNs to the demo's echo port from spoofed
# addresses nobody answers (10.8.0.100-199: ustack's SYN-ACKs go
# nowhere, no RST frees a slot), which fills the SYN queue (256); the
# cookie counters move; a kernel client still connects and exchanges
# data (its handshake completes through a cookie).
. "$(dirname "$0")/lib.sh"
TCP_NET=veth
. "$HERE/tcp_lib.sh"

tcp_net sf
demo_start "$T_TMP/demo.log"
demo_service 7
ip netns exec "$KNS" $PY "$HERE/synflood.py" "$UIP" 7 2000 10.8.0.0 "$KIF" \
	>"$T_TMP/flood.log" 2>&1 || { show_log "$T_TMP/flood.log"; fail "scapy"; }
log "$(cat "$T_TMP/flood.log")"
ip netns exec "$KNS" $KTCP send --to "$UIP:7" --bytes 100000 --echo \
	--timeout 20 >"$T_TMP/echo.log" 2>&1 ||
	{ show_log "$T_TMP/echo.log"; fail "echo during the flood"; }
log "kernel client during the flood: 100000 bytes echoed intact"
demo_stop
for c in tcp_passive_opens tcp_syncookie_sent tcp_syncookie_ok \
	tcp_syncookie_bad tcp_drop_syn_queue_full; do
	log "ustack $c $(ustat "$STATS_LOG" $c)"
done
[ "$(ustat "$STATS_LOG" tcp_syncookie_sent)" -gt 0 ] ||
	fail "no SYN cookies sent: the SYN queue never filled"
[ "$(ustat "$STATS_LOG" tcp_syncookie_ok)" -ge 1 ] ||
	fail "the kernel client's connection did not come through a cookie"
