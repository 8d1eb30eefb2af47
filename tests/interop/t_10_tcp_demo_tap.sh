#!/bin/bash
# The demo's TCP services, from a kernel client (Python sockets) over a
# TAP (t_10b: over veth + AF_PACKET): echo on port 7 (a short exchange,
# a half-close: everything is sent and shut down with SHUT_WR before a
# byte is read, so the whole echo flows after our FIN, and 100 MiB echoed
# with matching SHA-256), and discard on port 9 (100 MiB taken, then the
# service closes after our FIN). socat checks the echo and nc the discard
# service as other kernel clients.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"

tcp_net td
demo_start "$T_TMP/demo.log"

demo_service 7
ip netns exec "$KNS" $KTCP send --to "$UIP:7" --bytes 1000 --echo \
	--timeout 10 >"$T_TMP/small.log" 2>&1 ||
	{ show_log "$T_TMP/small.log"; fail "short echo"; }
log "echo: 1000 bytes back intact"
out=$(printf 'hello ustack\n' | timeout 10 ip netns exec "$KNS" \
	socat -t 5 - "TCP:$UIP:7" 2>&1)
[ "$out" = "hello ustack" ] || fail "socat echo: got '$out'"
log "socat: echo ok"

ip netns exec "$KNS" $KTCP halfclose --to "$UIP:7" --bytes 262144 \
	--timeout 20 >"$T_TMP/half.log" 2>&1 ||
	{ show_log "$T_TMP/half.log"; fail "half-close"; }
log "$(tail -n 1 "$T_TMP/half.log")"

ip netns exec "$KNS" $KTCP send --to "$UIP:7" --bytes $((100 << 20)) \
	--echo --timeout 60 >"$T_TMP/echo.log" 2>&1 ||
	{ show_log "$T_TMP/echo.log"; fail "100 MiB echo"; }
log "echo 100 MiB: $(grep -h '^seconds' "$T_TMP/echo.log") (both ways)"
log "  $(grep -h '^sent' "$T_TMP/echo.log")"
log "  $(grep -h '^received' "$T_TMP/echo.log")"

demo_service 9
ip netns exec "$KNS" $KTCP send --to "$UIP:9" --bytes $((100 << 20)) \
	--timeout 60 >"$T_TMP/discard.log" 2>&1 ||
	{ show_log "$T_TMP/discard.log"; fail "100 MiB discard"; }
grep -q '^received 0 ' "$T_TMP/discard.log" ||
	fail "discard sent data back: $(grep '^received' "$T_TMP/discard.log")"
log "discard 100 MiB: $(grep -h '^seconds' "$T_TMP/discard.log")"
# nc (netcat-openbsd): -N shuts the socket down at the end of its input,
# and nc exits once the service has closed after that FIN.
head -c $((10 << 20)) /dev/zero |
	timeout 20 ip netns exec "$KNS" nc -N "$UIP" 9 >"$T_TMP/nc.out" 2>&1 ||
	{ show_log "$T_TMP/nc.out"; fail "nc to the discard service"; }
[ -s "$T_TMP/nc.out" ] && fail "discard answered nc with data"
log "nc: 10 MiB to discard, closed cleanly"

demo_stop
for c in tcp_rx_data_bytes tcp_tx_data_bytes tcp_retransmits tcp_rto \
	tcp_rst_tx dev_rx_drop_gso dev_rx_csum_partial; do
	log "ustack $c $(ustat "$STATS_LOG" $c)"
done
[ "$(ustat "$STATS_LOG" dev_rx_drop_gso)" = 0 ] ||
	fail "ustack dropped GSO frames (offloads not as the test expects)"
