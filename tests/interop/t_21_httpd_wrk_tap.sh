#!/bin/bash
# wrk against ustack-httpd over a TAP (t_21b: veth + AF_PACKET): 64
# keep-alive connections hammering a generated body and a file must see
# zero socket errors (connect, read, write, timeout) and zero non-2xx
# responses, for `wrk -c 64 -d 10s` as the issue asks (UST_WRK_SECONDS
# shortens the runs for a quick check).
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"
. "$HERE/app_lib.sh"

command -v wrk >/dev/null || fail "wrk is not installed (Debian package wrk)"
SECS=${UST_WRK_SECONDS:-10}
app_net tw
mkdir -p "$T_TMP/www"
head -c 4096 /dev/urandom >"$T_TMP/www/page.bin"
app_start "$T_TMP/httpd.log" "$HTTPD" --root "$T_TMP/www"

for path in /bytes/100 /page.bin; do
	timeout $((SECS + 30)) ip netns exec "$KNS" wrk -t2 -c64 -d${SECS}s \
		--timeout 5s "http://$UIP$path" >"$T_TMP/wrk.log" 2>&1 ||
		{ cat "$T_TMP/wrk.log"; fail "wrk $path failed"; }
	reqs=$(awk '/requests in/ {print $1}' "$T_TMP/wrk.log")
	rps=$(awk '/^Requests\/sec/ {print $2}' "$T_TMP/wrk.log")
	if grep -q 'Socket errors' "$T_TMP/wrk.log" ||
		grep -q 'Non-2xx' "$T_TMP/wrk.log" || [ -z "$reqs" ] ||
		[ "$reqs" -eq 0 ]; then
		cat "$T_TMP/wrk.log"
		show_log "$T_TMP/httpd.log"
		fail "wrk $path: errors or non-2xx responses"
	fi
	log "wrk -t2 -c64 -d${SECS}s $path: $reqs requests, $rps/s, no socket errors, all 2xx"
done

app_stop "$T_TMP/httpd.log"
line=$(grep '^httpd:' "$T_TMP/httpd.log")
log "$line"
grep -q ' 4xx 0 5xx 0 bad 0$' <<<"$line" || fail "the server answered errors"
app_gso_check "$T_TMP/httpd.log"
