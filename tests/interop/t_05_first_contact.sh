#!/bin/bash
# First contact from ustack: ust-udp-client (ustack) knows nothing about
# its peer, resolves the kernel's MAC with ARP and gets its datagrams
# echoed by a kernel UDP server; then a send to an address nobody answers
# (10.8.0.77) must fail with EHOSTUNREACH once ARP gives up.
. "$(dirname "$0")/lib.sh"

veth_setup fc
rm -f "$T_TMP/ready"
bg "$K" "$T_TMP/server.log" $PY "$HERE/kudp.py" echo-server \
	--bind 10.8.0.1:7007 --ready "$T_TMP/ready"
SERVER=$BG_PID
for i in $(seq 1 100); do [ -s "$T_TMP/ready" ] && break; sleep 0.05; done
alive "$SERVER" "$T_TMP/server.log"

for size in 100 1472 8000; do
	out=$(ip netns exec "$U" timeout 30 "$UCLIENT" --dev afpacket --ifname vu \
		--ip 10.8.0.2/24 --to 10.8.0.1:7007 --count 5 --size $size \
		--timeout-ms 2000 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    | /'
	[ $rc -eq 0 ] || { show_log "$T_TMP/server.log"; fail "client to 10.8.0.1:7007 (size $size): status $rc"; }
done
ip -n "$K" neigh show 10.8.0.2 dev vk | grep -q lladdr ||
	fail "the kernel never learnt ustack's MAC"

out=$(ip netns exec "$U" timeout 30 "$UCLIENT" --dev afpacket --ifname vu \
	--ip 10.8.0.2/24 --to 10.8.0.77:7 --count 2 --timeout-ms 5000 2>&1)
rc=$?
echo "$out" | sed 's/^/    | /'
[ $rc -eq 3 ] || fail "send to 10.8.0.77: status $rc, want 3 (EHOSTUNREACH)"
grep -q EHOSTUNREACH <<<"$out" || fail "no EHOSTUNREACH in the client's output"
