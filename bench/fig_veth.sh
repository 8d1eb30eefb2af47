# shellcheck shell=bash
# TCP bulk throughput, one connection, each direction, over a veth pair:
# ustack-perf on ustack (AF_PACKET on vu, in namespace U) against the
# kernel's ustack-perf --server --kernel in namespace K, beside the kernel
# to kernel on the same veth (the address moves onto vu and ustack-perf
# runs with --kernel in U). Offloads off on both ends for the headline
# figure; the kernel's default offloads in a second veth pair beside it.
# ustack's side (U) on SRV_CPU, the kernel peer (K) on CLI_CPU.

# veth_one STACK DIR: Gbit/s of one run (empty on failure).
veth_one() {
	local f=$T_TMP/perf-$1-$2.json dev=()
	[ "$1" = ustack ] && dev=("${UDEV[@]}") || dev=(--kernel)
	timeout -k 5 "$RUN_BOUND" ip netns exec "$U" taskset -c "$SRV_CPU" \
		"$BIN/ustack-perf" --client 10.8.0.1 "--$2" --duration "$SECS" \
		--json "${dev[@]}" >"$f" 2>&1 || {
		say "ustack-perf ($1 --$2) failed: $(tail -n 2 "$f" | tr '\n' ' ')"
		return 0
	}
	jget "$f" gbps
}

veth_group() {
	local off=$1 dir r v
	declare -A us ks
	bnet "b$off" "$off"
	bg "$K" "$T_TMP/ksrv.log" taskset -c "$CLI_CPU" "$BIN/ustack-perf" \
		--server --kernel --port 5201
	local ksrv=$BG_PID
	wait_line "$T_TMP/ksrv.log" '^listening' || {
		show_log "$T_TMP/ksrv.log"
		say "kernel ustack-perf server did not start"
	}
	for r in $(seq 1 "$REPEAT"); do
		for dir in send recv; do
			v=$(veth_one ustack $dir)
			us[$dir]+="$(or_dash "$v") "
		done
		kaddr add
		for dir in send recv; do
			v=$(veth_one kernel $dir)
			ks[$dir]+="$(or_dash "$v") "
		done
		kaddr del
	done
	local what="offloads off" how="tx csum, tso, gso, gro off on both ends"
	if [ "$off" = default ]; then
		what="default offloads"
		how="the kernel's default offloads on both ends"
	fi
	record "veth_bulk_tx_$off" "TCP bulk over veth, stack sends, $what" \
		Gbit/s higher "${us[send]}" "${ks[send]}" \
		"1 connection, ${SECS} s per run; $how; peer: kernel ustack-perf in K"
	record "veth_bulk_rx_$off" "TCP bulk over veth, stack receives, $what" \
		Gbit/s higher "${us[recv]}" "${ks[recv]}" \
		"1 connection, ${SECS} s per run; $how; peer: kernel ustack-perf in K"
	bstop "$ksrv"
	bnet_del
}

say "veth: TCP bulk, offloads off"
veth_group off
say "veth: TCP bulk, default offloads"
veth_group default
