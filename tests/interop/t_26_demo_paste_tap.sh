#!/bin/bash
# The demo as `make run` starts it (no flags but the TAP's name): it serves
# HTTP on port 80 beside echo and discard, and every command line it
# prints under "try:" works when pasted into a shell on the host side,
# run here exactly as printed: ping gets answers (it runs until stopped,
# so it is stopped after 3 s), the UDP and TCP echo lines print "hi", the
# discard line ends cleanly with nothing back, and both curl lines succeed
# (the first shows the server's index page).
. "$(dirname "$0")/lib.sh"

NS=ust-paste-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log" --ifname ustap0
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }
for i in $(seq 1 100); do
	grep -q 'Ctrl-C to stop' "$T_TMP/demo.log" && break
	sleep 0.05
done
sed -n '/try:$/,/Ctrl-C to stop/p' "$T_TMP/demo.log" | sed '1d;$d' |
	sed 's/^ *//' >"$T_TMP/lines"
[ -s "$T_TMP/lines" ] || { show_log "$T_TMP/demo.log"; fail "the demo printed no 'try:' lines"; }
for want in '^ping 10\.7\.0\.2$' '^echo hi | nc -u ' '^echo hi | nc -N .* 7 ' \
	' 9 .*# TCP discard$' '^curl http://10\.7\.0\.2/$' '/bytes/'; do
	grep -q -- "$want" "$T_TMP/lines" || { cat "$T_TMP/lines"; fail "no line matching '$want'"; }
done

n=0
while IFS= read -r line; do
	n=$((n + 1))
	rc=0
	case "$line" in
	ping*)
		timeout -s INT 3 ip netns exec "$NS" bash -c "$line" \
			>"$T_TMP/out" 2>&1 || rc=$?
		grep -q 'bytes from 10\.7\.0\.2' "$T_TMP/out" ||
			{ cat "$T_TMP/out"; fail "pasted '$line': no answer"; }
		;;
	*)
		timeout 30 ip netns exec "$NS" bash -c "$line" >"$T_TMP/out" 2>&1 || rc=$?
		[ $rc -eq 0 ] || { cat "$T_TMP/out"; show_log "$T_TMP/demo.log"; fail "pasted '$line': status $rc"; }
		case "$line" in
		*'echo hi'*) [ "$(cat "$T_TMP/out")" = hi ] ||
			fail "pasted '$line': got '$(cat "$T_TMP/out")', want 'hi'" ;;
		*discard*) [ ! -s "$T_TMP/out" ] ||
			fail "pasted '$line': discard answered with data" ;;
		'curl http'*) grep -q 'ustack-httpd' "$T_TMP/out" ||
			{ cat "$T_TMP/out"; fail "pasted '$line': not the index page"; } ;;
		esac
		;;
	esac
	log "pasted: $line -> ok"
done <"$T_TMP/lines"
[ $n -ge 6 ] || fail "only $n lines to paste"
stop_demo "$T_TMP/demo.log"
