#!/bin/bash
# The bench suite's smoke run (bench/run.sh with BENCH_SMOKE=1: each figure
# for about 1 s, once, small connection counts), so the benchmark code
# cannot rot: every figure must be produced, for ustack and for the
# kernel (where the kernel has a counterpart), and be non-zero, both
# result files must be written, and no namespace of the run may be left.
# No speed is asserted.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$HERE/../.." && pwd)
OUTD=$T_TMP/results
BENCH_SMOKE=1 BENCH_OUT=$OUTD UST_ID=$UST_ID bash "$ROOT/bench/run.sh" \
	"$BUILD" >"$T_TMP/bench.log" 2>&1 || {
	show_log "$T_TMP/bench.log" 80
	fail "bench/run.sh (smoke) failed"
}
sed 's/^/    | /' "$T_TMP/bench.log" | grep -v '^    | bench: ' | head -n 40
[ -s "$OUTD/bench.md" ] || fail "no bench.md"
# The suite removes every namespace it made (ust-*-$UST_ID; this test
# makes none itself).
left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^ust-.*-${UST_ID}\$")
[ -z "$left" ] || fail "the suite left namespaces behind: $(echo $left)"

$PY - "$OUTD/bench.json" <<'EOF' || { show_log "$T_TMP/bench.log" 80; fail "a figure is missing or zero"; }
import json, sys
r = json.load(open(sys.argv[1]))
figs = {f["id"]: f for f in r["figures"]}
want = ["veth_bulk_tx_off", "veth_bulk_rx_off", "veth_bulk_tx_default",
        "veth_bulk_rx_default", "http_rps_c1", "http_p50_c1", "http_p99_c1",
        "http_rps_c64", "http_p50_c64", "http_p99_c64", "http_cps",
        "udp_echo_pps", "ping_rtt", "pipe_bulk", "pipe_crr", "pipe_instr"]
bad = []
for w in want:
    if w not in figs:
        bad.append(w + ": not produced")
mem = [i for i in figs if i.startswith("mem_conn_")]
if len(mem) < 2:
    bad.append("memory per connection: %d counts, want 2" % len(mem))
for i, f in figs.items():
    for s in ("ustack", "kernel"):
        v = f[s]
        if s == "kernel" and v["not_applicable"]:
            continue
        if not v["median"] or v["median"] <= 0 or v["failed_runs"]:
            bad.append("%s: %s figure %s (%d failed runs)" % (
                i, s, v["median"], v["failed_runs"]))
for b in bad:
    print("  " + b)
print("  %d figures, all produced and non-zero" % len(figs) if not bad
      else "  %d problem(s)" % len(bad))
sys.exit(1 if bad else 0)
EOF
