#!/bin/bash
# ustack-perf against a kernel peer in both roles over a TAP (t_22b: veth
# + AF_PACKET), with the same program on both sides (--kernel on the
# kernel's): a ustack client against a kernel server, then a kernel client
# against a ustack server, each in bulk send, bulk receive and
# request/response. Every run must end cleanly: the server's byte count
# equals what the client sent, transactions complete, no connection
# fails; both servers exit 0 on SIGTERM with nothing left open. The
# figures are logged, never judged.
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"
. "$HERE/app_lib.sh"

SECS=${UST_PERF_SECONDS:-1.5}
app_net tp

# check_json LOGFILE WHAT: the client's JSON says no error (and, for a
# bulk send, that the server counted every byte); logs the figures.
check_json() {
	$PY - "$1" "$2" <<'PYEOF' || { cat "$1"; fail "$2"; }
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
ok = r["errors"] == 0 and r["seconds"] > 0
if r["mode"] == "send":
    ok = ok and r["count_ok"] and r["server_counted"] == r["bytes_sent"] > 0
    fig = "%.2f Gbit/s, %d bytes all counted" % (r["gbps"], r["bytes"])
elif r["mode"] == "recv":
    ok = ok and r["bytes"] > 0
    fig = "%.2f Gbit/s, %d bytes" % (r["gbps"], r["bytes"])
else:
    ok = ok and r["transactions"] > 0
    l = r["latency_us"]
    fig = "%.0f tps, latency us p50 %.1f p90 %.1f p99 %.1f p999 %.1f" % (
        r["tps"], l["p50"], l["p90"], l["p99"], l["p999"])
print("  %s (%s, %d conns): %s" % (sys.argv[2], r["mode"], r["conns"], fig))
sys.exit(0 if ok else 1)
PYEOF
}

MODES=("--send" "--recv" "--rr --conns 4 --req-size 100 --resp-size 2000")

# ustack client -> kernel server.
bg "$KNS" "$T_TMP/ksrv.log" "$PERF" --server --kernel --port 5201
KSRV=$BG_PID
for i in $(seq 1 100); do
	grep -q '^listening' "$T_TMP/ksrv.log" && break
	sleep 0.05
done
for m in "${MODES[@]}"; do
	timeout -k 5 30 ip netns exec "$UNS" "$PERF" --client "$KIP" \
		--duration "$SECS" --json $m "${DEVFLAGS[@]}" --stats \
		>"$T_TMP/uc.log" 2>&1 ||
		{ cat "$T_TMP/uc.log"; show_log "$T_TMP/ksrv.log"; fail "ustack client $m"; }
	check_json "$T_TMP/uc.log" "ustack -> kernel"
	[ "$(ustat "$T_TMP/uc.log" dev_rx_drop_gso)" = 0 ] ||
		fail "ustack client dropped GSO frames"
done
rc=0
stop_bg "$KSRV" || rc=$?
[ $rc -eq 0 ] || { show_log "$T_TMP/ksrv.log"; fail "kernel server: status $rc"; }
line=$(grep '^server:' "$T_TMP/ksrv.log")
log "kernel $line"
grep -q ' errors 0 open-at-exit 0$' <<<"$line" || { show_log "$T_TMP/ksrv.log"; fail "kernel server saw failed connections"; }

# kernel client -> ustack server.
app_start "$T_TMP/usrv.log" "$PERF" --server --port 5202
for m in "${MODES[@]}"; do
	timeout -k 5 30 ip netns exec "$KNS" "$PERF" --kernel --client "$UIP" \
		--port 5202 --duration "$SECS" --json $m >"$T_TMP/kc.log" 2>&1 ||
		{ cat "$T_TMP/kc.log"; show_log "$T_TMP/usrv.log"; fail "kernel client $m"; }
	check_json "$T_TMP/kc.log" "kernel -> ustack"
done
app_stop "$T_TMP/usrv.log"
line=$(grep '^server:' "$T_TMP/usrv.log")
log "ustack $line"
grep -q ' errors 0 open-at-exit 0$' <<<"$line" || { show_log "$T_TMP/usrv.log"; fail "ustack server saw failed connections"; }
app_gso_check "$T_TMP/usrv.log"
