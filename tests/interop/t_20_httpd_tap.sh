#!/bin/bash
# ustack-httpd against curl over a TAP (t_20b: veth + AF_PACKET): files
# and /bytes/N bodies byte-exact (SHA-256), Content-Type, HEAD, keep-alive
# reuse, 403/404/405, pipelining and Connection: close, a request split
# into one-byte segments, request bodies (Content-Length, chunked) skipped
# on a keep-alive connection, and malformed
# requests (400, 414, 431, 505) answered and closed while a keep-alive
# connection is still served. The server must exit 0 on SIGTERM with no
# connection left open.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"
. "$HERE/app_lib.sh"

app_net th
WWW=$T_TMP/www
mkdir -p "$WWW/sub dir"
printf '<h1>ustack</h1>\n' >"$WWW/index.html"
head -c 3000001 /dev/urandom >"$WWW/big.bin"
printf 'plain\n' >"$WWW/sub dir/a.txt"
printf 'secret\n' >"$T_TMP/outside.txt"
ln -s "$T_TMP/outside.txt" "$WWW/escape"
app_start "$T_TMP/httpd.log" "$HTTPD" --root "$WWW" --port 80
K() { ip netns exec "$KNS" "$@"; }
URL=http://$UIP

# Files, byte-exact, with their types.
K curl -sS --max-time 20 -o "$T_TMP/got" -w '%{http_code} %{content_type}\n' \
	"$URL/big.bin" >"$T_TMP/w" || fail "curl big.bin: $(cat "$T_TMP/w")"
cmp -s "$T_TMP/got" "$WWW/big.bin" || fail "big.bin differs"
[ "$(cat "$T_TMP/w")" = "200 application/octet-stream" ] || fail "big.bin: $(cat "$T_TMP/w")"
log "big.bin (3000001 bytes): identical"
out=$(K curl -sS --max-time 10 -w ' %{content_type}' "$URL/")
[ "$out" = "<h1>ustack</h1>
 text/html; charset=utf-8" ] || fail "/: '$out'"
out=$(K curl -sS --max-time 10 "$URL/sub%20dir/a.txt")
[ "$out" = plain ] || fail "/sub%20dir/a.txt: '$out'"
log "index.html (text/html) and 'sub dir/a.txt': right"

# /bytes/N, compared with what the pattern must be.
for n in 0 1 1460 100000 67108864; do
	want=$($KHTTP bytes-sha $n)
	got=$(K curl -sS --max-time 30 "$URL/bytes/$n" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "/bytes/$n: sha256 $got, want $want"
done
log "/bytes/N for N = 0 1 1460 100000 64Mi: byte-exact"

# Several URLs on one connection: curl reuses it.
n=$(K curl -sS --max-time 10 -o /dev/null -o /dev/null -o /dev/null \
	-w '%{num_connects}\n' "$URL/bytes/10" "$URL/index.html" "$URL/bytes/7" |
	tr '\n' ' ')
[ "$n" = "1 0 0 " ] || fail "keep-alive: connects per request '$n', want '1 0 0'"
log "keep-alive: three requests on one connection"

# HEAD, and the error statuses.
hdr=$(K curl -sS --max-time 10 -I "$URL/bytes/12345" | tr -d '\r')
grep -q '^Content-Length: 12345$' <<<"$hdr" || fail "HEAD: $hdr"
code() { K curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
for t in "404 $URL/nope" "403 --path-as-is $URL/../etc/passwd" \
	"403 --path-as-is $URL/%2e%2e/%2e%2e/etc/passwd" "403 $URL/escape" \
	"403 $URL/sub%20dir/" "400 $URL/bytes/12x" "405 -X POST -d x=1 $URL/" \
	"405 -X DELETE $URL/index.html"; do
	set -- $t
	want=$1
	shift
	got=$(code "$@")
	[ "$got" = "$want" ] || fail "curl $*: $got, want $want"
done
log "HEAD; 404, 403 (traversal, a link out of the root, a directory), 400, 405: right"

# Raw requests: pipelining, then malformed ones.
K $KHTTP pipeline --to "$UIP:80" >"$T_TMP/pipe.log" 2>&1 ||
	{ cat "$T_TMP/pipe.log"; fail "pipelining"; }
log "$(tail -n 1 "$T_TMP/pipe.log")"
K $KHTTP bodies --to "$UIP:80" >"$T_TMP/bodies.log" 2>&1 ||
	{ cat "$T_TMP/bodies.log"; show_log "$T_TMP/httpd.log"; fail "split requests and bodies"; }
log "$(tail -n 1 "$T_TMP/bodies.log")"
K $KHTTP malformed --to "$UIP:80" >"$T_TMP/bad.log" 2>&1 ||
	{ cat "$T_TMP/bad.log"; show_log "$T_TMP/httpd.log"; fail "malformed requests"; }
sed 's/^/    /' "$T_TMP/bad.log"
out=$(K curl -sS --max-time 10 "$URL/bytes/3" | od -An -tu1 | tr -s ' ')
[ "$out" = " 0 1 2" ] || fail "after the malformed requests: '$out'"
log "the server still serves new connections"

app_stop "$T_TMP/httpd.log"
line=$(grep '^httpd:' "$T_TMP/httpd.log")
log "$line"
grep -q 'open-at-exit 0 ' <<<"$line" || fail "connections left open"
app_gso_check "$T_TMP/httpd.log"
