#!/bin/bash
# The demo's command line: --help exits 0; a bad flag gives a one-line
# error and status 2; a bad address too.
. "$(dirname "$0")/lib.sh"

# Inside a namespace of its own, so that a demo that ignored a bad flag and
# went on to make its TAP could not touch the host's network.
NS=ust-cli-$UST_ID
mkns "$NS"
ip netns exec "$NS" timeout 10 "$DEMO" --help >"$T_TMP/help" 2>&1 ||
	fail "--help: status $?"
grep -q -- '--ifname' "$T_TMP/help" || fail "--help does not list --ifname"
for args in "--no-such-flag" "--ip 10.7.0.300/24" "--mtu banana"; do
	rc=0
	ip netns exec "$NS" timeout 10 "$DEMO" $args >"$T_TMP/out" 2>&1 || rc=$?
	[ $rc -eq 2 ] || { cat "$T_TMP/out"; fail "'$args': status $rc, want 2"; }
	[ "$(wc -l <"$T_TMP/out")" -eq 1 ] ||
		{ cat "$T_TMP/out"; fail "'$args': want a one-line error"; }
	log "'$args' -> status 2: $(cat "$T_TMP/out")"
done
