#!/bin/bash
# ustack-echo over a TAP (t_24b: veth + AF_PACKET): TCP echo of a short
# message (socat) and of 32 MiB (Python, SHA-256 both ways, sending and
# reading at once, so the server meets a peer that does not read as fast
# as it sends), 50 connections at once, and UDP echo of 500 datagrams of
# mixed sizes. The server exits 0 on SIGTERM with no connection open.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"
. "$HERE/app_lib.sh"

app_net te
app_start "$T_TMP/echo.log" "$ECHOD" --port 7

out=$(printf 'hello ustack\n' | timeout 10 ip netns exec "$KNS" \
	socat -t 5 - "TCP:$UIP:7" 2>&1)
[ "$out" = "hello ustack" ] || fail "socat echo: got '$out'"
log "socat: echo ok"
ip netns exec "$KNS" $KTCP send --to "$UIP:7" --bytes $((32 << 20)) \
	--echo --timeout 60 >"$T_TMP/big.log" 2>&1 ||
	{ show_log "$T_TMP/big.log"; show_log "$T_TMP/echo.log"; fail "32 MiB echo"; }
log "TCP echo 32 MiB: $(grep -h '^seconds' "$T_TMP/big.log")"
ip netns exec "$KNS" $KTCP conc --to "$UIP:7" --conns 50 --bytes 100000 \
	--timeout 30 >"$T_TMP/conc.log" 2>&1 ||
	{ show_log "$T_TMP/conc.log"; fail "50 concurrent connections"; }
log "TCP echo: 50 connections at once, 100000 bytes each"
ip netns exec "$KNS" $KUDP echo-client --to "$UIP:7" --count 500 \
	--max-size 8000 --window 4 >"$T_TMP/udp.log" 2>&1 ||
	{ show_log "$T_TMP/udp.log"; show_log "$T_TMP/echo.log"; fail "UDP echo"; }
log "UDP echo: 500 datagrams up to 8000 bytes"

app_stop "$T_TMP/echo.log"
line=$(grep '^echo:' "$T_TMP/echo.log")
log "$line"
grep -q 'open-at-exit 0 ' <<<"$line" || fail "connections left open"
app_gso_check "$T_TMP/echo.log"
