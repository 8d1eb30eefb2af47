#!/bin/bash
# 1000 sequential connections through a client port range of 100 ports,
# so 4-tuples come back while the previous connection on them is in
# TIME_WAIT (over a TAP; t_13b: veth). Each connection sends 64 bytes and
# gets them back.
#
# 1. Kernel client (net.ipv4.ip_local_port_range = 40000 40199 in its
#    namespace: Linux's connect() takes the even ports of the range first,
#    so that is 100 ports), ustack server that answers and closes first:
#    ustack holds TIME_WAIT, and each reused 4-tuple arrives as a SYN for a
#    TIME_WAIT block, which must open a new connection (RFC 9293 3.10.7.4,
#    RFC 6191).
#    A SYN refused there would cost the kernel a 1 s retransmission: no
#    connection may take 0.9 s.
# 2. ustack client (--port-range 40000-40099) closing first: ustack holds
#    TIME_WAIT and must reuse its own TIME_WAIT ports for new connections.
#    (The client reads the 64 bytes, shuts down its side and reads to the
#    server's FIN before it closes, so no close is left unfinished when
#    it exits; 2 and 3 use different server ports all the same.)
# 3. ustack client, kernel server closing first: the kernel holds
#    TIME_WAIT and takes a new SYN on it only if its sequence number is
#    beyond the old connection's (ustack's RFC 6528 ISN clock). A refused
#    SYN is answered with an ACK, which ustack resets (tcp_rst_tx), and
#    the SYN is sent again after 1 s: neither may happen. (Over a TAP, the
#    first SYN may wait 1 s in the ARP queue, the stack's first ARP request
#    being lost while the kernel brings the TAP's carrier up, and go out
#    twice, by the ARP queue and by its timer: one SYN retransmission is
#    allowed for that.)
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"

tcp_net ts
ip netns exec "$KNS" sysctl -qw net.ipv4.ip_local_port_range="40000 40199" ||
	fail "sysctl ip_local_port_range"

tool_server "$T_TMP/srv.log" --listen 5003 --mode reply --request 64
ip netns exec "$KNS" $KTCP seq --to "$UIP:5003" --conns 1000 --bytes 64 \
	--min-reused 90 --max-seconds 0.9 --timeout 5 >"$T_TMP/kseq.log" 2>&1 ||
	{ show_log "$T_TMP/kseq.log"; show_log "$T_TMP/srv.log"; fail "kernel client, 1000 sequential connections"; }
log "kernel client: $(tail -n 1 "$T_TMP/kseq.log")"
stop_tool "$T_TMP/srv.log"
log "ustack server: tcp_timewait_reuse $(ustat "$T_TMP/srv.log" tcp_timewait_reuse), tcp_passive_opens $(ustat "$T_TMP/srv.log" tcp_passive_opens)"
[ "$(ustat "$T_TMP/srv.log" tcp_passive_opens)" -ge 1000 ] ||
	fail "ustack counted fewer than 1000 passive opens"
[ "$(ustat "$T_TMP/srv.log" tcp_timewait_reuse)" -ge 1 ] ||
	fail "no TIME_WAIT block was reused by a new SYN"

port=5004
for first in client server; do
	port=$((port + 1))
	kernel_server "$T_TMP/k-$first.log" --port $port --mode reply \
		--bytes 64 --count 1000 --close-first $first --timeout 90
	recv=64
	[ $first = server ] && recv=eof
	tool_client "$T_TMP/u-$first.log" 90 --connect "$KIP:$port" \
		--port-range 40000-40099 --conns 1000 --send 64 --recv $recv \
		--expect-echo ||
		{ show_log "$T_TMP/u-$first.log"; show_log "$T_TMP/k-$first.log"; fail "ustack client ($first closes first)"; }
	wait_exit "$KSRV_PID" 10 || { show_log "$T_TMP/k-$first.log"; fail "kernel server did not finish"; }
	line=$(grep -h '^connections' "$T_TMP/u-$first.log")
	log "ustack client, $first closes first: $line"
	ports=$(awk '{for (i = 1; i < NF; i++) if ($i == "ports") print $(i + 1)}' <<<"$line")
	[ "$ports" -le 100 ] || fail "ustack used $ports ports (range of 100)"
	syn=$(ustat "$T_TMP/u-$first.log" tcp_syn_retrans)
	rst=$(ustat "$T_TMP/u-$first.log" tcp_rst_tx)
	log "  tcp_syn_retrans $syn, tcp_rst_tx $rst, tcp_timewait_reuse $(ustat "$T_TMP/u-$first.log" tcp_timewait_reuse)"
	[ "$rst" = 0 ] || fail "ustack sent $rst RSTs: a SYN on a reused 4-tuple was refused ($first closes first)"
	[ "$syn" -le 1 ] || fail "$syn SYNs had to be sent again ($first closes first)"
done
