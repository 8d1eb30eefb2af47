#!/bin/bash
# The benchmark suite: every figure for ustack beside the same figure for
# the Linux kernel, measured in this run on this machine with the same core
# pinning, and the ratio. Prints one table and writes it as Markdown and
# JSON (bench/results/bench.md, bench.json). How each figure is measured:
# bench/README.md. A benchmark never fails a build: the suite exits non-zero
# only when it could not run at all.
#
#   bench/run.sh BUILD_DIR
#   env: BENCH_SECS (5)  seconds per run of a timed figure
#        BENCH_REPEAT (3) runs per figure and stack; the median is reported
#        BENCH_SMOKE=1   1 s, 1 run, small counts (what make test runs)
#        BENCH_ONLY      groups to run (veth http udp pipe mem; default all)
#        BENCH_OUT       where to write results (default bench/results)
#        BENCH_SRV_CPU (1) core of the stack under test (server side)
#        BENCH_CLI_CPU (0) core of the load generator / kernel peer
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build-bench}" 2>/dev/null && pwd) || {
	echo "bench: no build directory '${1:-build-bench}'" >&2
	exit 2
}
export BUILD
SMOKE=${BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	SECS=${BENCH_SECS:-1}
	REPEAT=${BENCH_REPEAT:-1}
	MEM_CONNS=${BENCH_MEM_CONNS:-"1000 10000"}
	INSTR_BYTES=${BENCH_INSTR_BYTES:-4194304}
else
	SECS=${BENCH_SECS:-5}
	REPEAT=${BENCH_REPEAT:-3}
	MEM_CONNS=${BENCH_MEM_CONNS:-"10000 100000"}
	INSTR_BYTES=${BENCH_INSTR_BYTES:-67108864}
fi
ONLY=${BENCH_ONLY:-veth http udp pipe mem}
OUT=${BENCH_OUT:-$ROOT/bench/results}
SRV_CPU=${BENCH_SRV_CPU:-1}
CLI_CPU=${BENCH_CLI_CPU:-0}
export PATH=$PATH:/usr/sbin:/sbin

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (network namespaces, AF_PACKET)" >&2
	exit 2
fi
for c in ip ethtool taskset wrk nginx valgrind ping timeout /usr/bin/python3; do
	command -v "$c" >/dev/null || {
		echo "bench: needs $c (make bench installs the packages)" >&2
		exit 2
	}
done
BIN=$BUILD/bin
for p in ustack-perf ustack-httpd ustack-echo ustack-bench-tcp \
	ustack-bench-mem udp-load; do
	[ -x "$BIN/$p" ] || {
		echo "bench: missing $BIN/$p" >&2
		exit 2
	}
done

UST_ID=${UST_ID:-$$}
. "$ROOT/tests/interop/lib.sh"
. "$ROOT/bench/lib.sh"

T0=$(date +%s)
RES=$T_TMP/results.tsv
mkdir -p "$OUT" || exit 2
: >"$RES"
say "ustack bench: ${SECS} s per run, ${REPEAT} run(s) per figure, server CPU $SRV_CPU, client CPU $CLI_CPU"

for g in $ONLY; do
	case $g in
	veth | http | udp | pipe | mem) . "$ROOT/bench/fig_$g.sh" ;;
	*)
		echo "bench: no group '$g'" >&2
		exit 2
		;;
	esac
done

mkdir -p "$OUT"
$PY "$ROOT/bench/report.py" "$RES" "$OUT" "$SECS" "$REPEAT" "$SMOKE" \
	"$SRV_CPU" "$CLI_CPU" "$(($(date +%s) - T0))"
