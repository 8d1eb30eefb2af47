#!/bin/bash
# Run every libFuzzer target for a bounded time.
#
#   ./tests/fuzz/run.sh BUILD_DIR SECONDS
#
# Each BUILD_DIR/bin/fuzz_* runs for SECONDS (-max_total_time) on a copy of
# its seed corpus (tests/fuzz/corpus/<target>/ if present, else
# tests/fuzz/corpus/) in a temporary directory, so the committed corpus is
# never modified. A crash, leak, sanitizer report or timeout is a failure:
# the reproducer is copied to BUILD_DIR/fuzz-artifacts/ and the script
# exits non-zero.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd) || {
	echo "fuzz: no build directory '$1'" >&2
	exit 2
}
SECONDS_EACH=$2

shopt -s nullglob
targets=("$BUILD"/bin/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
	echo "FAIL fuzz: no fuzz targets in $BUILD/bin (configure with -DUSTACK_FUZZ=ON)"
	exit 1
fi

WORK=$(mktemp -d /tmp/ust-fuzz.XXXXXX)
CUR=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$CUR" ] && kill -TERM "$CUR" 2>/dev/null && wait "$CUR" 2>/dev/null
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
for t in "${targets[@]}"; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	seeds=$HERE/corpus/$name
	[ -d "$seeds" ] || seeds=$HERE/corpus
	corpus=$WORK/$name/corpus
	art=$WORK/$name/artifacts/
	mkdir -p "$corpus" "$art"
	cp "$seeds"/* "$corpus"/ 2>/dev/null
	# One process, bounded by -max_total_time; a slow input (-timeout)
	# or a leak counts as a finding as well as a crash.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art" "$corpus" \
		>"$WORK/$name.log" 2>&1 &
	CUR=$!
	wait "$CUR"
	rc=$?
	CUR=""
	findings=("$art"*)
	if [ $rc -eq 0 ] && [ ${#findings[@]} -eq 0 ]; then
		execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' \
			"$WORK/$name.log" | grep -o '[0-9]*$')
		cov=$(grep -o 'cov: [0-9]*' "$WORK/$name.log" | tail -n 1)
		echo "PASS $name (${SECONDS_EACH}s, ${execs:-?} runs, ${cov:-cov: ?}," \
			"corpus $(ls "$corpus" | wc -l) inputs)"
	else
		echo "FAIL $name (status $rc)"
		grep -v '^#[0-9]' "$WORK/$name.log" | tail -n 60 | sed 's/^/    /'
		if [ ${#findings[@]} -gt 0 ]; then
			mkdir -p "$BUILD/fuzz-artifacts"
			cp "${findings[@]}" "$BUILD/fuzz-artifacts/"
			echo "    reproducer(s) in $BUILD/fuzz-artifacts/:" \
				"$(cd "$art" && ls | tr '\n' ' ')"
			echo "    rerun: $t $BUILD/fuzz-artifacts/<file>"
		fi
		failed=1
	fi
done
exit $failed
