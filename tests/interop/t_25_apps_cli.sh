#!/bin/bash
# The programs' command lines: --help exits 0 and lists the device flags;
# a bad flag or value gives a one-line error on stderr and status 2, for
# every program; SIGINT stops each server with status 0.
. "$(dirname "$0")/lib.sh"

PROGS=(ustack-echo ustack-httpd ustack-perf ustack-stat ustack-demo)
for p in "${PROGS[@]}"; do
	[ -x "$BUILD/bin/$p" ] || fail "missing $BUILD/bin/$p"
done
# Inside a namespace of its own, so that a program that ignored a bad flag
# and went on to make its TAP could not touch the host's network.
NS=ust-acli-$UST_ID
mkns "$NS"

for p in "${PROGS[@]}"; do
	ip netns exec "$NS" timeout 10 "$BUILD/bin/$p" --help >"$T_TMP/help" 2>&1 ||
		fail "$p --help: status $?"
	want=--ifname
	[ "$p" = ustack-stat ] && want=--conns
	grep -q -- "$want" "$T_TMP/help" || fail "$p --help does not list $want"
done
log "--help: status 0 for ${PROGS[*]}"

# bad PROG ARGS...: status 2 and exactly one line, on stderr.
bad() {
	local p=$1 rc=0
	shift
	ip netns exec "$NS" timeout 10 "$BUILD/bin/$p" "$@" \
		>"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
	[ $rc -eq 2 ] || { cat "$T_TMP/out" "$T_TMP/err"; fail "$p $*: status $rc, want 2"; }
	[ ! -s "$T_TMP/out" ] || { cat "$T_TMP/out"; fail "$p $*: wrote to stdout"; }
	[ "$(wc -l <"$T_TMP/err")" -eq 1 ] ||
		{ cat "$T_TMP/err"; fail "$p $*: want a one-line error"; }
	log "$p $* -> 2: $(cat "$T_TMP/err")"
}

for p in ustack-echo ustack-httpd ustack-perf ustack-demo; do
	extra=()
	[ "$p" = ustack-perf ] && extra=(--server)
	bad $p "${extra[@]}" --no-such-flag
	bad $p "${extra[@]}" --ip 10.7.0.300/24
	bad $p "${extra[@]}" --mtu banana
	bad $p "${extra[@]}" --dev xdp
	bad $p "${extra[@]}" --dev afpacket
	bad $p "${extra[@]}" --mac 01:00:5e:00:00:01
	bad $p "${extra[@]}" --log-level loud
	bad $p "${extra[@]}" --stats-name ../x
	bad $p "${extra[@]}" --ifname
	bad $p "${extra[@]}" stray-argument
done
bad ustack-echo --port 70000
bad ustack-echo --no-tcp --no-udp
bad ustack-httpd --port 0
bad ustack-httpd --keepalive-timeout -5
bad ustack-perf
bad ustack-perf --server --client 10.0.0.1
bad ustack-perf --client 10.0.0.300
bad ustack-perf --client 10.0.0.1 --send --recv
bad ustack-perf --client 10.0.0.1 --duration -1
bad ustack-perf --client 10.0.0.1 --rr --req-size 17M
bad ustack-perf --client 10.0.0.1 --conns 0
bad ustack-perf --client 10.0.0.1 --kernel --ip 10.7.0.2/24
bad ustack-demo --http-port 65536
bad ustack-stat
bad ustack-stat --watch soon x
bad ustack-stat --count 0 x
bad ustack-stat -q x
bad ustack-stat a b
bad ustack-stat -l extra

# SIGINT: each server stops with status 0.
for p in ustack-echo ustack-httpd "ustack-perf --server"; do
	set -- $p
	bg "$NS" "$T_TMP/sig.log" "$BUILD/bin/$1" "${@:2}" --ifname ustsig0
	pid=$BG_PID
	wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/sig.log"; fail "$p did not start"; }
	kill -INT "$pid"
	rc=0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || { show_log "$T_TMP/sig.log"; fail "$p: status $rc after SIGINT"; }
	log "$p: SIGINT -> status 0"
	ip -n "$NS" link del ustsig0 2>/dev/null || true
done
