#!/bin/bash
# The interface and the MAC ustack uses:
# - afpacket refuses an interface that carries a kernel IPv4 address (the
#   kernel would answer ARP for it and reset ustack's connections): the
#   demo exits non-zero at once, naming the fix `ip addr flush dev IF`;
# - on afpacket ustack's MAC is the interface's own, on TAP a locally
#   administered unicast one of its own (the TAP's MAC belongs to the
#   kernel's end); --mac overrides both. Checked as a user would: the MAC
#   the demo prints, and the one the kernel's ARP learnt for ustack.
. "$(dirname "$0")/lib.sh"

# The kernel's neighbour entry for ADDR in NS (after a ping): its MAC.
kernel_neigh() {
	ip -n "$1" neigh show "$2" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'
}
# The MAC on the demo's first line ("..., MAC aa:bb:cc:dd:ee:ff").
demo_mac() {
	sed -n 's/.*, MAC \([0-9a-f:]*\)$/\1/p' "$1" | head -n 1
}
if_mac() {
	ip -n "$1" link show "$2" | awk '/link\/ether/ {print $2}'
}
# mac_check NS ADDR LOG WANT: the demo printed WANT and the kernel in NS
# resolved ADDR to it.
mac_check() {
	local got neigh
	wait_ping "$1" "$2" || { show_log "$3"; fail "$2 never answered"; }
	got=$(demo_mac "$3")
	neigh=$(kernel_neigh "$1" "$2")
	log "demo says MAC $got; the kernel's ARP entry for $2: $neigh (want $4)"
	[ "$got" = "$4" ] || { show_log "$3"; fail "demo MAC $got, want $4"; }
	[ "$neigh" = "$4" ] || fail "kernel resolved $2 to $neigh, want $4"
}

# --- afpacket on an interface with a kernel address: refused.
veth_setup vm
ip -n "$U" addr add 10.8.0.9/24 dev vu
rc=0
start=$(date +%s%N)
ip netns exec "$U" timeout 10 "$DEMO" --dev afpacket --ifname vu \
	--ip 10.8.0.2/24 >"$T_TMP/refused.log" 2>&1 || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
log "with 10.8.0.9 on vu: status $rc after ${ms} ms: $(grep -m1 'kernel address' "$T_TMP/refused.log")"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
	{ show_log "$T_TMP/refused.log"; fail "the demo started (status $rc) on an interface with a kernel address"; }
grep -q 'ip addr flush dev vu' "$T_TMP/refused.log" ||
	{ show_log "$T_TMP/refused.log"; fail "the message does not name 'ip addr flush dev vu'"; }
grep -q '10\.8\.0\.9' "$T_TMP/refused.log" ||
	{ show_log "$T_TMP/refused.log"; fail "the message does not name the address"; }
[ "$ms" -lt 5000 ] || fail "took ${ms} ms to refuse"

# --- afpacket: the interface's MAC, or --mac.
ip -n "$U" addr flush dev vu
vu_mac=$(if_mac "$U" vu)
start_demo "$U" "$T_TMP/afp.log" --dev afpacket --ifname vu --ip 10.8.0.2/24
mac_check "$K" 10.8.0.2 "$T_TMP/afp.log" "$vu_mac"
stop_demo "$T_TMP/afp.log"
ip -n "$K" neigh flush dev vk
start_demo "$U" "$T_TMP/afp2.log" --dev afpacket --ifname vu --ip 10.8.0.2/24 \
	--mac 02:00:5e:0a:0b:0c
mac_check "$K" 10.8.0.2 "$T_TMP/afp2.log" 02:00:5e:0a:0b:0c
stop_demo "$T_TMP/afp2.log"

# --- TAP: a locally administered unicast MAC of ustack's own, or --mac.
NS=ust-mt-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/tap.log" --ifname ustap0
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/tap.log"; fail "TAP not up"; }
mac=$(demo_mac "$T_TMP/tap.log")
[ -n "$mac" ] || { show_log "$T_TMP/tap.log"; fail "the demo printed no MAC"; }
first=$((16#${mac%%:*}))
[ $((first & 2)) -eq 2 ] || fail "TAP MAC $mac is not locally administered"
[ $((first & 1)) -eq 0 ] || fail "TAP MAC $mac is a group address"
[ "$mac" != "$(if_mac "$NS" ustap0)" ] || fail "ustack took the TAP's own MAC $mac (the kernel's)"
mac_check "$NS" 10.7.0.2 "$T_TMP/tap.log" "$mac"
stop_demo "$T_TMP/tap.log"
ip -n "$NS" neigh flush dev ustap0 2>/dev/null
start_demo "$NS" "$T_TMP/tap2.log" --ifname ustap0 --mac 02:00:5e:1a:2b:3c
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/tap2.log"; fail "TAP not up"; }
mac_check "$NS" 10.7.0.2 "$T_TMP/tap2.log" 02:00:5e:1a:2b:3c
stop_demo "$T_TMP/tap2.log"
