#!/bin/bash
# ustack-httpd sends a response's header and small body together (t_27b:
# over veth): 30 keep-alive requests on one connection (generated bodies,
# a file, a 404) must give exactly 30 data segments from the server in
# the capture ustack writes itself (--pcap), each holding a whole
# response (status line through the last body byte). A header and body
# sent apart would be two segments, and the second would wait for the
# client's (delayed) ACK under Nagle.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"
. "$HERE/app_lib.sh"

app_net to
mkdir -p "$T_TMP/www"
head -c 1000 /dev/urandom >"$T_TMP/www/k.bin"
CAP=$T_TMP/httpd.pcap
app_start "$T_TMP/httpd.log" "$HTTPD" --root "$T_TMP/www" --pcap "$CAP"
URL=http://$UIP
urls=()
for i in $(seq 1 10); do
	urls+=("$URL/bytes/$((i * 100))" "$URL/k.bin" "$URL/nope$i")
done
outs=()
for u in "${urls[@]}"; do outs+=(-o /dev/null); done
ip netns exec "$KNS" curl -s --max-time 20 "${outs[@]}" \
	-w '%{http_code} %{num_connects} %{size_download}\n' "${urls[@]}" >"$T_TMP/w" ||
	{ cat "$T_TMP/w"; fail "curl"; }
[ "$(awk '{c += $2} END {print c}' "$T_TMP/w")" = 1 ] ||
	{ cat "$T_TMP/w"; fail "curl did not reuse one connection"; }
[ "$(grep -c '^200 ' "$T_TMP/w")" = 20 ] && [ "$(grep -c '^404 ' "$T_TMP/w")" = 10 ] ||
	{ cat "$T_TMP/w"; fail "statuses"; }
app_stop "$T_TMP/httpd.log"

# Segments from the server that carry data, with their payload sizes.
tshark -n -r "$CAP" -Y "ip.src == $UIP && tcp.srcport == 80 && tcp.len > 0" \
	-T fields -e tcp.len -e tcp.payload >"$T_TMP/segs" 2>"$T_TMP/tshark.err" ||
	{ cat "$T_TMP/tshark.err"; fail "tshark"; }
nseg=$(wc -l <"$T_TMP/segs")
[ "$nseg" -eq 30 ] || { cut -f1 "$T_TMP/segs" | tr '\n' ' '; echo; fail "$nseg data segments for 30 responses, want 30"; }
# Each one a whole response: starts "HTTP/1.1 ", and its length is the
# header plus the Content-Length it announces.
$PY - "$T_TMP/segs" <<'PYEOF' || fail "a segment is not a whole response"
import sys
for line in open(sys.argv[1]):
    n, hexp = line.split()
    p = bytes.fromhex(hexp.replace(":", ""))
    head, sep, body = p.partition(b"\r\n\r\n")
    assert p.startswith(b"HTTP/1.1 ") and sep, p[:40]
    clen = [int(h.split(b":")[1]) for h in head.split(b"\r\n")
            if h.lower().startswith(b"content-length:")][0]
    assert len(body) == clen and int(n) == len(p), (n, clen, len(body))
PYEOF
log "30 responses (bodies 100..1000 bytes, a 1000-byte file, 404s): 30 segments, each header + whole body"
