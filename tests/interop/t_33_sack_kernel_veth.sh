#!/bin/bash
# SACK recovery against the kernel (issue 6), over veth + AF_PACKET: a
# ustack client (ust-tcp-tool) sends 4 MiB to a kernel sink, with its
# impair wrapper dropping data segments 20, 22 and 24 (--drop-data; the
# kernel offers SACK-permitted, timestamps and window scale by default).
# ustack's own capture (--pcap, taken below the impair wrapper, so what
# it shows is what left) must show:
#   - the options negotiated both ways with ustack as the client (t_30 has
#     it as the server): ustack's SYN and the kernel's SYN-ACK each carry
#     SACK-permitted, timestamps and window scale;
#   - the three holes in the sequence space, at data segments 20, 22, 24;
#   - the kernel's ACKs carrying SACK blocks (RFC 2018) above the holes;
#   - ustack resending exactly the three holes, each once, and no other
#     segment (RFC 6675 recovery by the scoreboard, not go-back-N);
# and the kernel receives the bytes intact (SHA-256), with ustack's
# counters showing impair_exact 3, tcp_sack_retransmit 3 and no RTO.
# Then the same through the programs' common flag: ustack-perf --send
# --drop-data 30,32 to a kernel ustack-perf server counts every byte, with
# the two drops resent by SACK recovery and no RTO.
. "$(dirname "$0")/lib.sh"
TCP_NET=veth
. "$HERE/tcp_lib.sh"

N=$((4 << 20))
DROPS=20,22,24
tcp_net sk

CAP=$T_TMP/u.pcap
kernel_server "$T_TMP/ksink.log" --port 5003 --mode sink --count 1 --timeout 20
tool_client "$T_TMP/usend.log" 20 --connect "$KIP:5003" --send $N --shut \
	--recv eof --drop-data $DROPS --pcap "$CAP" ||
	{ show_log "$T_TMP/usend.log"; show_log "$T_TMP/ksink.log"; fail "ustack -> kernel transfer"; }
wait_exit "$KSRV_PID" 10 || { show_log "$T_TMP/ksink.log"; fail "kernel sink did not finish"; }
sent=$(sha_of "$T_TMP/usend.log" sent)
got=$(awk '$1 == "conn" && $5 == "bytes" {print $6, $8}' "$T_TMP/ksink.log")
log "ustack -> kernel: sent $N sha256 $sent"
log "                  got  $got"
[ "$got" = "$N $sent" ] || { show_log "$T_TMP/usend.log"; fail "ustack -> kernel: digests differ"; }

# Options on the handshake, both ways.
fields() {
	tshark -r "$CAP" -Y "$1" -T fields -e tcp.options.sack_perm \
		-e tcp.options.timestamp.tsval -e tcp.options.wscale.shift \
		2>/dev/null | head -n 1
}
syn=$(fields "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 5003")
synack=$(fields "tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == 5003")
log "ustack SYN     (sack_perm, tsval, wscale): $syn"
log "kernel SYN-ACK (sack_perm, tsval, wscale): $synack"
for f in 1 2 3; do
	[ -n "$(cut -f$f <<<"$syn")" ] || fail "ustack SYN lacks option $f: $syn"
	[ -n "$(cut -f$f <<<"$synack")" ] ||
		fail "kernel SYN-ACK lacks option $f: $synack"
done

# ustack's data segments in the order they left (relative sequence
# numbers), and the kernel's SACK left edges.
tshark -r "$CAP" -Y "tcp.dstport == 5003 && tcp.len > 0" -T fields \
	-e tcp.seq -e tcp.len 2>/dev/null >"$T_TMP/data.txt"
tshark -r "$CAP" -Y "tcp.srcport == 5003 && tcp.options.sack_le" -T fields \
	-e tcp.options.sack_le 2>/dev/null >"$T_TMP/sack.txt"
log "kernel ACKs with SACK blocks: $(wc -l <"$T_TMP/sack.txt")"
$PY - "$T_TMP/data.txt" "$T_TMP/sack.txt" "$DROPS" <<'PYEOF' || fail "SACK recovery"
import sys
segs = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
sack_le = set()
for l in open(sys.argv[2]):
    for f in l.replace(",", " ").split():
        sack_le.add(int(f))
want = [int(x) for x in sys.argv[3].split(",")]
# Walk the segments: one that starts past the highest byte sent so far
# leaves a hole (segments never sent); one that starts below it is a
# retransmission. Ordinals count every first transmission, holes included.
top, ordinal = 1, 0
holes, resent = {}, []
for seq, n in segs:
    if seq >= top:
        while seq > top:  # a hole of one or more full segments
            ordinal += 1
            holes[top] = ordinal
            top += n      # segments are full-sized here
        if seq != top:
            sys.exit("  hole of a partial segment at %d" % top)
        ordinal += 1
        top = seq + n
    else:
        resent.append(seq)
print("  holes (seq: data segment ordinal): %s" %
      ", ".join("%d: %d" % kv for kv in sorted(holes.items())))
print("  resent seqs: %s" % ", ".join(map(str, resent)))
ok = True
if sorted(holes.values()) != want:
    print("  FAIL: holes at segments %s, dropped %s" %
          (sorted(holes.values()), want)); ok = False
if sorted(resent) != sorted(holes):
    print("  FAIL: resent %s, holes %s" % (resent, sorted(holes))); ok = False
# The kernel SACKed what lies past each hole: the segment after it starts
# a SACK block at some point (RFC 2018 4: the block's left edge).
for h in holes:
    after = [s for s, n in segs if s > h]
    if not after or min(after) not in sack_le:
        print("  FAIL: no SACK block starting right after the hole at %d" % h)
        ok = False
sys.exit(0 if ok else 1)
PYEOF

for c in impair_exact tcp_sack_retransmit tcp_retransmits tcp_fast_retransmit \
	tcp_rto; do
	log "ustack client $c $(ustat "$T_TMP/usend.log" $c)"
done
[ "$(ustat "$T_TMP/usend.log" impair_exact)" = 3 ] ||
	fail "the impair wrapper did not drop exactly 3 segments"
[ "$(ustat "$T_TMP/usend.log" tcp_sack_retransmit)" = 3 ] ||
	fail "tcp_sack_retransmit is not 3"
[ "$(ustat "$T_TMP/usend.log" tcp_rto)" = 0 ] ||
	fail "a retransmission timeout fired (recovery was not by SACK)"

# The programs' flag (apps/common): ustack-perf --drop-data against the
# kernel's ustack-perf --kernel server; the server counts every byte, the
# two drops are counted and recovered by SACK without an RTO.
PERF=$BUILD/bin/ustack-perf
bg "$KNS" "$T_TMP/psrv.log" "$PERF" --server --kernel --port 5201
PSRV=$BG_PID
for i in $(seq 1 100); do
	grep -q '^listening' "$T_TMP/psrv.log" && break
	sleep 0.05
done
timeout -k 5 20 ip netns exec "$UNS" "$PERF" --client "$KIP" --send \
	--duration 0.5 --json --drop-data 30,32 "${DEVFLAGS[@]}" --stats \
	>"$T_TMP/perf.log" 2>&1 || { cat "$T_TMP/perf.log"; fail "ustack-perf --drop-data"; }
stop_bg "$PSRV" >/dev/null 2>&1
$PY - "$T_TMP/perf.log" <<'PYEOF' || { cat "$T_TMP/perf.log"; fail "ustack-perf: not every byte counted"; }
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
print("  ustack-perf --drop-data 30,32: %d bytes sent, server counted %d, errors %d" %
      (r["bytes_sent"], r["server_counted"], r["errors"]))
sys.exit(0 if r["errors"] == 0 and r["count_ok"] and
         r["server_counted"] == r["bytes_sent"] > 0 else 1)
PYEOF
for c in impair_exact tcp_sack_retransmit tcp_rto; do
	log "ustack-perf $c $(ustat "$T_TMP/perf.log" $c)"
done
[ "$(ustat "$T_TMP/perf.log" impair_exact)" = 2 ] ||
	fail "ustack-perf: the impair wrapper did not drop exactly 2 segments"
[ "$(ustat "$T_TMP/perf.log" tcp_sack_retransmit)" -ge 2 ] ||
	fail "ustack-perf: the drops were not resent by SACK recovery"
[ "$(ustat "$T_TMP/perf.log" tcp_rto)" = 0 ] ||
	fail "ustack-perf: a retransmission timeout fired"
