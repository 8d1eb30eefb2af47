# shellcheck shell=bash
# Pure stack cost on one core (SRV_CPU): ustack-bench-tcp with two ustack
# stacks on an in-memory pipe link in one process, beside the kernel's TCP
# over loopback in one thread (a namespace with lo at MTU 1500, TSO, GSO
# and GRO off, ephemeral ports 1024..65535, so its segments are the size
# of ustack's; lo computes no checksum, ustack does). Figures: one connection's Gbit/s, connections opened and
# closed per second, and instructions per delivered segment (ustack under
# callgrind; the kernel with perf stat where a hardware counter exists).

# pipe_one STACK MODE: sets PV to the run's figure (empty when the run
# failed). Not run in a subshell, so the cleanup at exit knows L.
pipe_one() {
	local f=$T_TMP/pipe.json key=gbps rc
	PV=
	[ "$2" = crr ] && key=cps
	if [ "$1" = ustack ]; then
		timeout -k 5 "$RUN_BOUND" taskset -c "$SRV_CPU" \
			"$BIN/ustack-bench-tcp" "--$2" --seconds "$SECS" \
			>"$f" 2>&1
		rc=$?
	else
		lns pk
		timeout -k 5 "$RUN_BOUND" ip netns exec "$L" taskset -c "$SRV_CPU" \
			"$BIN/ustack-bench-tcp" --kernel "--$2" --seconds "$SECS" \
			>"$f" 2>&1
		rc=$?
		lns_del
	fi
	if [ $rc = 0 ]; then
		PV=$(jget "$f" $key)
	else
		say "ustack-bench-tcp $1 --$2: $(tail -n 2 "$f" | tr '\n' ' ')"
	fi
}

# instr_one: instructions per delivered segment of one callgrind run.
instr_one() {
	local out=$T_TMP/cg.out
	rm -f "$out"
	timeout -k 5 300 valgrind --tool=callgrind --collect-atstart=no \
		--toggle-collect=bench_transfer --callgrind-out-file="$out" \
		"$BIN/ustack-bench-tcp" --instr --bytes "$INSTR_BYTES" \
		>"$T_TMP/instr.json" 2>"$T_TMP/instr.err" || {
		say "callgrind: $(tail -n 3 "$T_TMP/instr.err" | tr '\n' ' ')"
		return 0
	}
	local ir segs
	ir=$(awk '/^totals:/ {print $2}' "$out")
	segs=$(jget "$T_TMP/instr.json" segments)
	[ -n "$ir" ] && [ -n "$segs" ] && [ "$segs" -gt 0 ] &&
		awk -v i="$ir" -v s="$segs" 'BEGIN {printf "%.0f", i / s}'
	# Where the instructions go: the top functions, beside the table.
	callgrind_annotate "$out" 2>/dev/null | sed -n '/PROGRAM TOTALS/,$p' |
		head -n 30 >"$OUT/callgrind-top.txt"
}

# kinstr_one: sets PV to the kernel's instructions (user and kernel,
# counted by perf stat while the process runs, which includes the softirq
# work loopback does in its context) per data segment received, over a
# --bulk run.
kinstr_one() {
	PV=
	lns pi
	timeout -k 5 "$RUN_BOUND" ip netns exec "$L" perf stat -x, \
		-e instructions -o "$T_TMP/perf.csv" -- taskset -c "$SRV_CPU" \
		"$BIN/ustack-bench-tcp" --kernel --bulk --seconds "$SECS" \
		>"$T_TMP/kbulk.json" 2>&1
	lns_del
	local ins segs
	ins=$(awk -F, '$3 ~ /^instructions/ && $1 ~ /^[0-9]+$/ {print $1}' \
		"$T_TMP/perf.csv" 2>/dev/null)
	segs=$(jget "$T_TMP/kbulk.json" segments)
	[ -n "$ins" ] && [ -n "$segs" ] && [ "$segs" -gt 0 ] &&
		PV=$(awk -v i="$ins" -v s="$segs" 'BEGIN {printf "%.0f", i / s}')
}

# The kernel's count needs a hardware counter (perf stat -e instructions);
# many virtual machines have none.
KINSTR=0
command -v perf >/dev/null &&
	perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9]' && KINSTR=1
KINSTR_NOTE="the kernel: n/a, no hardware instruction counter here (perf stat -e instructions: not supported)"

declare -A pv=()
for r in $(seq 1 "$REPEAT"); do
	for m in bulk crr; do
		pipe_one ustack $m
		pv[u.$m]+="$(or_dash "$PV") "
		pipe_one kernel $m
		pv[k.$m]+="$(or_dash "$PV") "
	done
	pv[u.instr]+="$(or_dash "$(instr_one)") "
	if [ $KINSTR = 1 ]; then
		kinstr_one
		pv[k.instr]+="$(or_dash "$PV") "
		KINSTR_NOTE="the kernel: perf stat -e instructions (user+kernel) over a --bulk run / tcpi_data_segs_in"
	else
		pv[k.instr]="n/a"
	fi
done
record pipe_bulk "TCP one connection, one core (ustack: pipe link)" Gbit/s \
	higher "${pv[u.bulk]}" "${pv[k.bulk]}" \
	"ustack-bench-tcp --bulk, ${SECS} s per run, 64 KiB sends; kernel: loopback MTU 1500, TSO/GSO/GRO off (lo computes no checksum), one thread"
record pipe_crr "TCP connections opened+closed/s, one core" conn/s higher \
	"${pv[u.crr]}" "${pv[k.crr]}" \
	"ustack-bench-tcp --crr, ${SECS} s per run, one at a time, server closes first, ports 1024-65535"
record pipe_instr "instructions per delivered segment (callgrind)" instr/seg \
	lower "${pv[u.instr]}" "${pv[k.instr]}" \
	"ustack: valgrind --tool=callgrind --toggle-collect=bench_transfer, $((INSTR_BYTES >> 20)) MiB on a virtual clock, fixed seeds, both stacks counted (repeats exactly); $KINSTR_NOTE"
