#!/bin/bash
# 100 MiB each way between the kernel and ustack over a TAP (t_11b: veth),
# compared by SHA-256: a kernel client sends to a ustack sink, and a ustack
# client sends to a kernel sink. Each side prints the digest of what it
# sent or received; they must match. The throughput is logged.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"

N=$((100 << 20))
tcp_net tb

# Kernel -> ustack.
tool_server "$T_TMP/sink.log" --listen 5001 --mode sink --max-conns 1
ip netns exec "$KNS" $KTCP send --to "$UIP:5001" --bytes $N \
	--timeout 60 >"$T_TMP/ksend.log" 2>&1 ||
	{ show_log "$T_TMP/ksend.log"; show_log "$T_TMP/sink.log"; fail "kernel -> ustack transfer"; }
wait_exit "$TOOL_PID" 10 || { show_log "$T_TMP/sink.log"; fail "ustack sink did not finish"; }
check_tool_server "$T_TMP/sink.log"
sent=$(sha_of "$T_TMP/ksend.log" sent)
got=$(awk '$1 == "conn" && $5 == "bytes" {print $6, $8}' "$T_TMP/sink.log")
log "kernel -> ustack: sent $N sha256 $sent"
log "                  got  $got"
[ "$got" = "$N $sent" ] || { show_log "$T_TMP/sink.log"; fail "kernel -> ustack: digests differ"; }
log "kernel -> ustack: $(grep -h '^seconds' "$T_TMP/ksend.log")"

# ustack -> kernel.
kernel_server "$T_TMP/ksink.log" --port 5002 --mode sink --count 1 --timeout 90
tool_client "$T_TMP/usend.log" 90 --connect "$KIP:5002" --send $N --shut \
	--recv eof ||
	{ show_log "$T_TMP/usend.log"; show_log "$T_TMP/ksink.log"; fail "ustack -> kernel transfer"; }
wait_exit "$KSRV_PID" 10 || { show_log "$T_TMP/ksink.log"; fail "kernel sink did not finish"; }
sent=$(sha_of "$T_TMP/usend.log" sent)
got=$(awk '$1 == "conn" && $5 == "bytes" {print $6, $8}' "$T_TMP/ksink.log")
log "ustack -> kernel: sent $N sha256 $sent"
log "                  got  $got"
[ "$got" = "$N $sent" ] || { show_log "$T_TMP/usend.log"; fail "ustack -> kernel: digests differ"; }
log "ustack -> kernel: $(grep -h '^connections' "$T_TMP/usend.log")"
for c in tcp_retransmits tcp_rto tcp_fast_retransmit dev_tx_drop_full; do
	log "ustack client $c $(ustat "$T_TMP/usend.log" $c)"
done
