# shellcheck shell=bash
# Helpers for the bench suite (bench/run.sh), sourced after
# tests/interop/lib.sh (namespaces, background processes, cleanup).

say() { echo "bench: $*" >&2; }

# jget FILE KEY: KEY (a.b for nested) of the last JSON line in FILE, or
# empty.
jget() {
	$PY - "$1" "$2" <<'EOF'
import json, sys
try:
    lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
    v = json.loads(lines[-1])
    for k in sys.argv[2].split("."):
        v = v[k]
    print(v)
except Exception:
    pass
EOF
}

# record ID LABEL UNIT BETTER(higher|lower) "USTACK RUNS" "KERNEL RUNS" NOTE:
# one figure for the report. A run that produced nothing is "-".
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
		"$7" >>"$RES"
	say "$1: ustack [$5] kernel [$6]"
}

# or_dash VALUE: VALUE, or "-" when it is empty.
or_dash() { [ -n "$1" ] && echo "$1" || echo -; }

# bnet TAG OFFLOADS: namespaces K (vk 10.8.0.1/24) and U (vu, no kernel
# address) joined by a veth. OFFLOADS off: checksum, TSO, GSO and GRO off
# on both ends; default: as the kernel makes them. Sets K and U.
bnet() {
	K=ust-$1k-$UST_ID
	U=ust-$1u-$UST_ID
	mkns "$K"
	mkns "$U"
	veth_pair "$K" vk "$U" vu
	ip -n "$K" addr add 10.8.0.1/24 dev vk
	if [ "$2" = off ]; then
		ip netns exec "$K" ethtool -K vk tx off tso off gso off gro off \
			>/dev/null 2>&1
		ip netns exec "$U" ethtool -K vu tx off tso off gso off gro off \
			>/dev/null 2>&1
	fi
}

# bnet_del: remove K and U now (and from the cleanup list).
bnet_del() {
	local ns pid keep=()
	for ns in "$K" "$U"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do
		[ "$ns" = "$K" ] || [ "$ns" = "$U" ] || keep+=("$ns")
	done
	T_NS=("${keep[@]}")
}

# kaddr add|del: the kernel's address 10.8.0.2 on ustack's end of the
# veth (for the kernel's figure the address moves there); the kernel
# peer forgets the old MAC.
kaddr() {
	ip -n "$U" addr "$1" 10.8.0.2/24 dev vu
	ip -n "$K" neigh flush dev vk
}

# ustack device flags on vu.
UDEV=(--dev afpacket --ifname vu --ip 10.8.0.2/24)

# lns TAG: a namespace with only loopback, at MTU 1500 with TSO, GSO and
# GRO off (the kernel's segments are then the size of ustack's on the pipe
# link; lo's checksum offload is fixed on) and the full ephemeral port
# range. Sets L.
lns() {
	L=ust-$1-$UST_ID
	mkns "$L"
	ip -n "$L" link set lo mtu 1500
	ip netns exec "$L" ethtool -K lo tx off tso off gso off gro off \
		>/dev/null 2>&1
	ip netns exec "$L" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
}

# lns_del: remove L now.
lns_del() {
	local pid keep=() ns
	for pid in $(ip netns pids "$L" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	ip netns del "$L" 2>/dev/null
	for ns in "${T_NS[@]}"; do
		[ "$ns" = "$L" ] || keep+=("$ns")
	done
	T_NS=("${keep[@]}")
}

# wait_line FILE PATTERN: up to 5 s for PATTERN to appear in FILE.
wait_line() {
	local i
	for i in $(seq 1 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# bstop PID: stop a process started with bg, and forget it, so that the
# cleanup at exit never signals a later, unrelated process that was given
# the same PID (pid_max may be 32768, and a run takes minutes).
bstop() {
	local p keep=()
	stop_bg "$1" >/dev/null 2>&1
	for p in "${T_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	T_PIDS=("${keep[@]}")
}

# At exit, after what lib.sh's cleanup does: any namespace of this run
# (ust-*-$UST_ID) that is not in T_NS (made in a subshell that died before
# removing it) is removed too, with what runs in it.
b_cleanup() {
	local rc=$? ns pid mine
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^ust-.*-${UST_ID}\$"); do
		mine=0
		for pid in "${T_NS[@]}"; do
			[ "$pid" = "$ns" ] && mine=1
		done
		[ $mine = 1 ] && continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	(exit "$rc")
	t_cleanup
}
trap b_cleanup EXIT

# Time bound for one run of a timed figure.
RUN_BOUND=$((SECS + 30))
