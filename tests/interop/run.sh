#!/bin/bash
# Interop tests against the Linux kernel, each inside network namespaces it
# creates and removes itself.
#
#   ./tests/interop/run.sh BUILD_DIR [NAME-PATTERN...]
#
# Runs every tests/interop/t_*.sh (or those whose name contains one of the
# patterns), prints one PASS/FAIL line per test, and exits non-zero if any
# failed. A failed test's log is printed; UST_VERBOSE=1 prints every log.
# Whatever happens (failure, timeout, Ctrl-C, SIGTERM), the namespaces and
# processes the tests started are removed: each test cleans up in its EXIT
# trap, and this script sweeps the namespaces of this run (their names end
# in -$UST_ID) afterwards.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [NAME-PATTERN...]" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd) || {
	echo "interop: no build directory '$1'" >&2
	exit 2
}
shift
UST_ID=$$$((RANDOM % 100))
TEST_TIMEOUT=${UST_TEST_TIMEOUT:-120}
export BUILD UST_ID

if [ "$(id -u)" -ne 0 ]; then
	echo "interop: needs root (network namespaces, TAP, AF_PACKET)" >&2
	exit 2
fi
missing=()
for f in "$BUILD/bin/ustack-demo" "$BUILD/bin/ust-udp-client"; do
	[ -x "$f" ] || missing+=("$f")
done
for c in ip ping ethtool tshark timeout /usr/bin/python3; do
	command -v "$c" >/dev/null || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "FAIL interop: missing ${missing[*]}"
	exit 1
fi

# Remove whatever a test of this run left behind (normally nothing).
sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^ust-.*-${UST_ID}\$"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null && echo "interop: removed leftover namespace $ns"
	done
}

CUR=""
LOGDIR=$(mktemp -d /tmp/ust-interop-run.XXXXXX)
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$CUR" ] && kill -0 "$CUR" 2>/dev/null; then
		# The test's own trap cleans up; give it a moment, then sweep.
		kill -TERM "$CUR" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$CUR" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$CUR" 2>/dev/null
		wait "$CUR" 2>/dev/null
	fi
	sweep
	rm -rf "$LOGDIR"
	exit "$rc"
}
trap on_exit EXIT
trap 'echo "interop: interrupted"; exit 130' INT
trap 'echo "interop: terminated"; exit 143' TERM

selected() {
	local name=$1 p
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	for p in "${PATTERNS[@]}"; do
		[[ $name == *"$p"* ]] && return 0
	done
	return 1
}
PATTERNS=("$@")

pass=0
failed=()
t0=$(date +%s)
for t in "$HERE"/t_*.sh; do
	name=$(basename "$t" .sh)
	selected "$name" || continue
	log=$LOGDIR/$name.log
	start=$(date +%s%N)
	# In the background so that a signal to this script is handled at
	# once (and passed on) rather than after the test.
	timeout --foreground -k 10 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1 &
	CUR=$!
	wait "$CUR"
	rc=$?
	CUR=""
	ms=$((($(date +%s%N) - start) / 1000000))
	secs=$((ms / 1000)).$((ms % 1000 / 100))
	if [ $rc -eq 0 ]; then
		echo "PASS $name (${secs}s)"
		pass=$((pass + 1))
		[ "${UST_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$log"
	else
		[ $rc -eq 124 ] && echo "  timed out after ${TEST_TIMEOUT}s" >>"$log"
		echo "FAIL $name (${secs}s, status $rc)"
		sed 's/^/    /' "$log"
		failed+=("$name")
	fi
	sweep
done

echo "interop: ${pass} passed, ${#failed[@]} failed ($(($(date +%s) - t0))s)"
if [ ${#failed[@]} -gt 0 ]; then
	echo "interop: failed: ${failed[*]}"
	exit 1
fi
[ $pass -gt 0 ] || { echo "interop: no test matched"; exit 1; }
exit 0
