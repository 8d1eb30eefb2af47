# Shared helpers for the interop tests; sourced by each tests/interop/t_*.sh.
#
# Every namespace a test makes is named ust-<something>-$UST_ID, every
# process it starts is remembered by PID, and the EXIT trap kills those
# processes and deletes those namespaces whatever way the test ends.
# Expects BUILD (absolute build dir) and UST_ID in the environment (run.sh
# sets them); works standalone too.

set -u

UST_ID=${UST_ID:-$$}
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
DEMO=$BUILD/bin/ustack-demo
UCLIENT=$BUILD/bin/ust-udp-client
KUDP="$PY $HERE/kudp.py"

T_NS=()     # namespaces this test created
T_PIDS=()   # background processes this test started
T_TMP=$(mktemp -d /tmp/ust-interop.XXXXXX)

log() { echo "  [$(date +%T.%3N)] $*"; }
fail() {
	echo "  FAIL: $*"
	exit 1
}

# Stop one process we started: TERM, a short grace, then KILL.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

t_cleanup() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	for pid in "${T_PIDS[@]}"; do
		stop_pid "$pid"
	done
	for ns in "${T_NS[@]}"; do
		# Anything still running inside was started by this test
		# (namespaces are ours alone): end it by PID.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T_TMP"
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mkns NAME: a fresh namespace with lo up and IPv6 off (less noise on the
# links: no router solicitations or MLD for ustack to count and drop).
mkns() {
	ip netns add "$1" || fail "ip netns add $1"
	T_NS+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

# bg NS LOGFILE CMD...: run CMD inside NS in the background; sets BG_PID.
# `ip netns exec` execs CMD, so the PID is CMD's own.
bg() {
	local ns=$1 logf=$2
	shift 2
	ip netns exec "$ns" "$@" >"$logf" 2>&1 &
	BG_PID=$!
	T_PIDS+=("$BG_PID")
}

# stop_bg PID: stop a background process now and return its exit status.
stop_bg() {
	local pid=$1 i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
}

# wait_link NS IF [TRIES]: the interface exists in NS (polled every 50 ms).
wait_link() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# wait_ping NS ADDR [TRIES]: one echo answered, up to TRIES one-second tries.
wait_ping() {
	local i
	for i in $(seq 1 "${3:-10}"); do
		ip netns exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1 && return 0
	done
	return 1
}

# alive PID LOGFILE: fail with the log if the process has died.
alive() {
	kill -0 "$1" 2>/dev/null && return 0
	echo "  process $1 exited early; its log:"
	sed 's/^/    | /' "$2"
	fail "process died"
}

# show_log FILE: print a log indented (for diagnosis after a failure).
show_log() {
	echo "  --- $1"
	sed 's/^/    | /' "$1" | tail -n "${2:-40}"
}

# ping_sizes NS ADDR: 20 echoes each of 56, 1472 and 8000 bytes, 50 ms
# apart; each size must see all 20 sent and all 20 answered (0% loss; a
# deadline that cut the run short would send fewer).
ping_sizes() {
	local ns=$1 addr=$2 size out
	for size in 56 1472 8000; do
		out=$(ip netns exec "$ns" ping -n -c 20 -i 0.05 -W 2 -w 20 \
			-s "$size" "$addr" 2>&1)
		if ! grep -q '^20 packets transmitted, 20 received, 0% packet loss' <<<"$out"; then
			echo "$out" | tail -n 4 | sed 's/^/    | /'
			return 1
		fi
		log "ping -s $size: $(grep -o '[0-9]* received, [0-9.]*% packet loss' <<<"$out")"
	done
}

# veth_pair NS1 IF1 NS2 IF2: a veth between two namespaces, both ends up.
veth_pair() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" ||
		fail "veth $2/$4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# Offloads on the kernel's end of a veth that faces ustack.
#
# By default (VETH_TX unset or "on") the kernel side keeps its default
# offloads: a veth then hands over UDP datagrams with partial checksums
# (CHECKSUM_PARTIAL: the checksum field holds only the pseudo-header sum),
# which the AF_PACKET reader sees as TP_STATUS_CSUMNOTREADY. ustack's
# afpacket device handles that (it counts dev_rx_csum_partial and takes
# the L4 checksum as verified, as the kernel itself does). ICMP and UDP
# from plain sockets never make GSO frames, so TSO/GSO need no change.
# With VETH_TX=off, `ethtool -K IF tx off` makes the kernel compute every
# checksum in software before the frame leaves IF, so ustack verifies real
# checksums.
veth_offloads() {
	if [ "${VETH_TX:-on}" = off ]; then
		ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 ||
			fail "ethtool -K $2 tx off"
		log "kernel side $2: ethtool -K $2 tx off (full checksums)"
	else
		log "kernel side $2: default offloads (partial checksums)"
	fi
}

# start_demo NS LOGFILE ARGS...: ustack-demo in NS with --stats; DEMO_PID.
start_demo() {
	local ns=$1 logf=$2
	shift 2
	bg "$ns" "$logf" "$DEMO" --stats "$@"
	DEMO_PID=$BG_PID
}

# stop_demo: SIGTERM the demo; it must exit 0 (the demo's contract). Its
# log (with the --stats counters printed at exit) is shown on failure.
stop_demo() {
	local rc=0
	stop_bg "$DEMO_PID" || rc=$?
	if [ "$rc" -ne 0 ]; then
		show_log "$1"
		fail "ustack-demo exited with status $rc after SIGTERM (want 0)"
	fi
}

# tap_up NS IF: the demo created the TAP in NS and configured the host
# side (10.7.0.1/24) itself, as its contract says; wait for both.
tap_up() {
	local i
	wait_link "$1" "$2" || return 1
	for i in $(seq 1 100); do
		ip -n "$1" -4 addr show dev "$2" | grep -q 'inet 10\.7\.0\.1/24' &&
			ip -n "$1" link show "$2" | grep -q '[<,]UP[,>]' && return 0
		sleep 0.05
	done
	echo "  the demo did not configure 10.7.0.1/24 on $2 (host side)"
	return 1
}

# veth_setup TAG: namespaces K (kernel, vk = 10.8.0.1/24) and U (ustack's
# end vu, up with no kernel address, so the kernel neither answers ARP for
# ustack's address nor interferes). Sets K and U.
veth_setup() {
	K=ust-$1k-$UST_ID
	U=ust-$1u-$UST_ID
	mkns "$K"
	mkns "$U"
	veth_pair "$K" vk "$U" vu
	ip -n "$K" addr add 10.8.0.1/24 dev vk
	veth_offloads "$K" vk
}


# echo_failed LOGFILE: the UDP echo lost a datagram. Stop the demo (its
# --stats go to the log), name the drop counters that moved, fail.
echo_failed() {
	stop_bg "$DEMO_PID"
	show_log "$1"
	echo "  drop counters in ustack: $(grep -E '^[a-z0-9]+_drop_[a-z0-9_]+ [0-9]+$' "$1" | tr '\n' ' ')"
	if grep -q '^udp_drop_rcvbuf ' "$1"; then
		echo "  (udp_drop_rcvbuf: the echo socket's receive buffer was" \
			"full; each reassembled datagram is held in a 64 KiB" \
			"buffer and counted by that truesize)"
	fi
	fail "UDP echo"
}
