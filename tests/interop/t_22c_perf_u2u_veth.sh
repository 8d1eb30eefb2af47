#!/bin/bash
# ustack-perf with ustack at both ends: a server and a client, each on
# AF_PACKET at one end of a veth that carries no kernel address on either
# side (the kernel only moves frames). Bulk send, bulk receive and
# request/response with 4 connections must all end cleanly: every byte the
# client sent counted by the server, transactions completed, no failed
# connection, and the server exits 0 with nothing left open. The figures
# are logged, never judged.
. "$(dirname "$0")/lib.sh"
. "$HERE/app_lib.sh"

SECS=${UST_PERF_SECONDS:-1.5}
A=ust-u2ua-$UST_ID
B=ust-u2ub-$UST_ID
mkns "$A"
mkns "$B"
veth_pair "$A" va "$B" vb
for x in "$A va" "$B vb"; do
	set -- $x
	ip netns exec "$1" ethtool -K "$2" gro off >/dev/null 2>&1
done
log "link: veth va ($A, ustack server 10.9.0.1) -- vb ($B, ustack client 10.9.0.2), no kernel addresses"

bg "$A" "$T_TMP/srv.log" "$PERF" --server --port 5203 --dev afpacket \
	--ifname va --ip 10.9.0.1/24 --stats
SRV=$BG_PID
for i in $(seq 1 100); do
	grep -q '^listening' "$T_TMP/srv.log" && break
	sleep 0.05
done
grep -q '^listening' "$T_TMP/srv.log" || { show_log "$T_TMP/srv.log"; fail "server did not start"; }

for m in "--send" "--recv" "--rr --conns 4 --req-size 100 --resp-size 2000"; do
	timeout -k 5 30 ip netns exec "$B" "$PERF" --client 10.9.0.1 --port 5203 \
		--duration "$SECS" --json $m --dev afpacket --ifname vb \
		--ip 10.9.0.2/24 >"$T_TMP/cli.log" 2>&1 ||
		{ cat "$T_TMP/cli.log"; show_log "$T_TMP/srv.log"; fail "client $m"; }
	$PY - "$T_TMP/cli.log" <<'PYEOF' || { cat "$T_TMP/cli.log"; fail "client $m"; }
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
    fig = "%.0f tps, latency us p50 %.1f p99 %.1f" % (r["tps"], l["p50"], l["p99"])
print("  ustack -> ustack (%s, %d conns): %s" % (r["mode"], r["conns"], fig))
sys.exit(0 if ok else 1)
PYEOF
done

rc=0
stop_bg "$SRV" || rc=$?
[ $rc -eq 0 ] || { show_log "$T_TMP/srv.log"; fail "server: status $rc after SIGTERM"; }
line=$(grep '^server:' "$T_TMP/srv.log")
log "ustack $line"
grep -q ' errors 0 open-at-exit 0$' <<<"$line" || { show_log "$T_TMP/srv.log"; fail "server saw failed connections"; }
