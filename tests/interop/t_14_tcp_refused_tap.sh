#!/bin/bash
# A kernel connect to a port where ustack listens on nothing gets a RST at
# once (ECONNREFUSED, not a timeout), over a TAP (t_14b: veth); ustack
# counts the segment (tcp_drop_no_conn) and the RST it sent.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"

tcp_net tr
tool_server "$T_TMP/srv.log" --listen 5005 --mode echo
ip netns exec "$KNS" $KTCP refused --to "$UIP:5999" --timeout 5 \
	>"$T_TMP/ref.log" 2>&1 ||
	{ show_log "$T_TMP/ref.log"; fail "connect to a closed port"; }
log "kernel: $(cat "$T_TMP/ref.log")"
# The listener on 5005 still works afterwards.
ip netns exec "$KNS" $KTCP send --to "$UIP:5005" --bytes 1000 --echo \
	--timeout 10 >"$T_TMP/echo.log" 2>&1 ||
	{ show_log "$T_TMP/echo.log"; fail "echo after the refused connect"; }
stop_tool "$T_TMP/srv.log"
nc=$(ustat "$T_TMP/srv.log" tcp_drop_no_conn)
rst=$(ustat "$T_TMP/srv.log" tcp_rst_tx)
log "ustack: tcp_drop_no_conn $nc, tcp_rst_tx $rst"
[ "$nc" -ge 1 ] && [ "$rst" -ge 1 ] || fail "the refused SYN was not counted"
