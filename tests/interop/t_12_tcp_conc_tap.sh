#!/bin/bash
# 1000 concurrent connections over a TAP (t_12b: veth): a kernel client
# opens 1000 connections to the demo's echo service at once, each echoes
# 1000 bytes of its own, and none is closed before all have been served;
# then a ustack client does the same against a kernel echo server. (Its
# 1000 SYNs leave at once, before the kernel's MAC is known: most wait
# beyond the ARP queue's bound, are dropped (arp_drop_queue_full) and go
# out again on the SYN timer a second later, as the kernel's would.)
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"

tcp_net tc
demo_start "$T_TMP/demo.log"
demo_service 7
ip netns exec "$KNS" $KTCP conc --to "$UIP:7" --conns 1000 --bytes 1000 \
	--timeout 60 >"$T_TMP/conc.log" 2>&1 ||
	{ show_log "$T_TMP/conc.log"; fail "1000 concurrent connections to ustack"; }
log "kernel client: $(tail -n 1 "$T_TMP/conc.log")"
demo_stop
for c in tcp_passive_opens tcp_drop_syn_queue_full \
	tcp_drop_accept_queue_full tcp_synack_retrans; do
	log "ustack server $c $(ustat "$STATS_LOG" $c)"
done
[ "$(ustat "$STATS_LOG" tcp_passive_opens)" -ge 1000 ] ||
	fail "ustack counted fewer than 1000 passive opens"

kernel_server "$T_TMP/kecho.log" --port 5007 --mode echo --count 1000 \
	--timeout 90
tool_client "$T_TMP/uconc.log" 90 --connect "$KIP:5007" --conns 1000 \
	--parallel 1000 --send 1000 --shut --recv eof --expect-echo ||
	{ show_log "$T_TMP/uconc.log"; show_log "$T_TMP/kecho.log"; fail "1000 concurrent ustack connections"; }
wait_exit "$KSRV_PID" 10 || { show_log "$T_TMP/kecho.log"; fail "kernel echo server did not finish"; }
log "ustack client: $(grep -h '^connections' "$T_TMP/uconc.log")"
for c in tcp_active_opens tcp_syn_retrans arp_drop_queue_full tcp_retransmits \
	tcp_rto dev_tx_drop_full; do
	log "ustack client $c $(ustat "$T_TMP/uconc.log" $c)"
done
log "kernel $KIF TX dropped (towards ustack): $(kernel_tx_dropped)"
[ "$(ustat "$T_TMP/uconc.log" tcp_active_opens)" -ge 1000 ] ||
	fail "ustack counted fewer than 1000 active opens"
