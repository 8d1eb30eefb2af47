#!/bin/bash
# The libraries as a user links them:
# - libustack.so exports exactly the functions include/ustack.h declares
#   with US_API (all named us_*), nothing else: internal code is built with
#   hidden visibility (checked with nm -D, as a user would);
# - libustack.a holds the internal code too (its objects are the same,
#   hidden symbols included), so tests and programs can link statically.
#
#   check_exports.sh LIBUSTACK.so LIBUSTACK.a HEADER
set -u
SO=$1 AR=$2 HDR=$3
fail() {
	echo "FAIL: $*"
	exit 1
}
for f in "$SO" "$AR" "$HDR"; do
	[ -r "$f" ] || fail "missing $f"
done

declared=$(grep -E '^US_API ' "$HDR" |
	sed -E 's/^[^(]*[ *](us_[A-Za-z0-9_]+)\(.*/\1/' | sort -u)
exported=$(nm -D --defined-only "$SO" | awk '{print $3}' | sort -u)
[ -n "$declared" ] || fail "no US_API declarations found in $HDR"

n_decl=$(wc -w <<<"$declared")
n_exp=$(wc -w <<<"$exported")
echo "libustack.so: $n_exp exported symbols; $HDR: $n_decl US_API functions"

bad=$(grep -v '^us_' <<<"$exported")
[ -z "$bad" ] || fail "exported symbols not named us_*: $(tr '\n' ' ' <<<"$bad")"
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
[ -z "$extra" ] || fail "exported but not in the public header: $(tr '\n' ' ' <<<"$extra")"
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
[ -z "$missing" ] || fail "declared US_API but not exported: $(tr '\n' ' ' <<<"$missing")"

# Internal functions exist in the static library, and are hidden (not
# merely absent) in the shared one.
for sym in eth_input ip4_input arp_output udp_input; do
	nm --defined-only "$AR" 2>/dev/null | grep -qE " T $sym\$" ||
		fail "libustack.a has no $sym"
	nm --defined-only "$SO" | grep -qE " t $sym\$" ||
		fail "libustack.so: $sym is not a hidden (local) symbol"
done
echo "exports: ok"
