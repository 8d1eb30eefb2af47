#!/bin/bash
# A veth whose kernel side keeps its DEFAULT offloads (TSO, GSO, checksum
# offload on; nothing turned off by ethtool): the kernel hands the veth
# TCP segments of up to 64 KiB with partial checksums, and ustack's
# afpacket device must cut them back into MSS-sized segments (the
# virtio_net_hdr from PACKET_VNET_HDR says how). ustack's end (vu) keeps
# its defaults too.
# - UDP GSO: a socket with UDP_SEGMENT sends 3500 bytes as one super-frame
#   of four datagrams; the demo's UDP echo (port 7) must answer each.
# - TCP: a Python client sends 20 MiB to the demo's TCP discard service
#   (port 9); the transfer must complete, the demo must show super-frames
#   segmented (dev_rx_gso_segmented) and none dropped (dev_rx_drop_gso,
#   dev_rx_drop_truncated), and no segment with a bad checksum.
. "$(dirname "$0")/lib.sh"
KTCP="$PY $HERE/ktcp.py"

# st NAME LOG: a counter from a demo's --stats (0 if absent).
st() { awk -v n="$1" '$1 == n {v = $2} END {print v + 0}' "$2"; }

veth_setup vg
feat=$(ip netns exec "$K" ethtool -k vk)
tso=$(awk '/^tcp-segmentation-offload:/ {print $2}' <<<"$feat")
gso=$(awk '/^generic-segmentation-offload:/ {print $2}' <<<"$feat")
log "kernel side vk: tcp-segmentation-offload $tso, generic-segmentation-offload $gso"
[ "$tso" = on ] || fail "veth TSO is not on by default here: the test would not exercise GSO"

# UDP GSO.
start_demo "$U" "$T_TMP/udp.log" --dev afpacket --ifname vu --ip 10.8.0.2/24
wait_ping "$K" 10.8.0.2 || { show_log "$T_TMP/udp.log"; fail "10.8.0.2 never answered"; }
cat >"$T_TMP/udpgso.py" <<'PYEOF'
import socket
import struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1000)  # UDP_SEGMENT: 1000-byte datagrams
s.settimeout(2)
data = b"".join(struct.pack("!I", i) for i in range(875))  # 3500 bytes
s.sendto(data, ("10.8.0.2", 7))
got = {}
try:
    while len(got) < 4:
        d, _ = s.recvfrom(65536)
        i = 4 * struct.unpack("!I", d[:4])[0]
        got[i] = d == data[i:i + len(d)]
except socket.timeout:
    pass
print(" ".join("%d:%s" % (k, "ok" if v else "BAD") for k, v in sorted(got.items())))
PYEOF
got=$(ip netns exec "$K" $PY "$T_TMP/udpgso.py" 2>&1)
stop_demo "$T_TMP/udp.log"
log "UDP GSO: echoes at offsets $got; ustack dev_rx_gso_segmented $(st dev_rx_gso_segmented "$T_TMP/udp.log"), udp_rx $(st udp_rx "$T_TMP/udp.log")"
[ "$got" = "0:ok 1000:ok 2000:ok 3000:ok" ] ||
	{ show_log "$T_TMP/udp.log"; fail "UDP GSO: want four echoes intact, got '$got'"; }
[ "$(st dev_rx_gso_segmented "$T_TMP/udp.log")" -ge 1 ] ||
	fail "UDP GSO: no super-frame reached ustack (segmented before the veth?)"

# TCP.
S=$T_TMP/demo.log
start_demo "$U" "$S" --dev afpacket --ifname vu --ip 10.8.0.2/24
wait_ping "$K" 10.8.0.2 || { show_log "$S"; fail "10.8.0.2 never answered"; }
N=$((20 << 20))
ip netns exec "$K" $KTCP send --to 10.8.0.2:9 --bytes $N --timeout 60 \
	>"$T_TMP/send.log" 2>&1 ||
	{ show_log "$T_TMP/send.log"; stop_bg "$DEMO_PID"; show_log "$S"; fail "20 MiB to the discard service"; }
grep -q "^sent $N " "$T_TMP/send.log" ||
	{ show_log "$T_TMP/send.log"; fail "the client did not send $N bytes"; }
log "discard 20 MiB: $(grep -h '^seconds' "$T_TMP/send.log")"
stop_demo "$S"

for c in dev_rx_gso_segmented dev_rx_gso_segments dev_rx_drop_gso \
	dev_rx_drop_truncated dev_rx_csum_partial dev_rx_drop_ring \
	tcp_rx_data_bytes tcp_drop_csum tcp_retransmits; do
	log "ustack $c $(st $c "$S")"
done
[ "$(st dev_rx_gso_segmented "$S")" -gt 0 ] ||
	{ show_log "$S"; fail "no GSO super-frame was segmented: the offload path went untested"; }
[ "$(st dev_rx_drop_gso "$S")" = 0 ] || fail "GSO frames dropped (dev_rx_drop_gso)"
[ "$(st dev_rx_drop_truncated "$S")" = 0 ] || fail "frames dropped as truncated"
[ "$(st tcp_drop_csum "$S")" = 0 ] || fail "segments with bad checksums (tcp_drop_csum)"
[ "$(st tcp_rx_data_bytes "$S")" -ge $N ] ||
	fail "ustack took $(st tcp_rx_data_bytes "$S") data bytes, want >= $N"
