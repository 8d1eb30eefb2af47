#!/bin/bash
# Bulk throughput of one TCP connection over a veth pair: ustack (its
# ust-tcp-tool on AF_PACKET) against the kernel, each direction, beside
# the kernel against itself on the same veth with the same offloads: for
# the kernel-to-kernel figure the address 10.8.0.2 moves onto ustack's end
# of the veth (as bench/ping-rtt.sh does).
#
#   bench/tcp-veth.sh [BUILD_DIR] [MIB] [OFFLOADS]
#
# MIB: bytes per transfer in MiB (default 512). OFFLOADS: "off" (default:
# TSO, GSO and GRO off on both ends, so every frame is a wire-sized
# segment for both stacks) or "on" (the kernel's defaults: ustack's device
# then takes the kernel's GSO super-frames and partial checksums itself).
# The kernel's end is a Python socket program (one sendall/recv_into loop
# with a 1 MiB buffer, no per-byte work) in every row, so the rows differ
# only in the stack at the other end. Integrity is the interop tests' job
# (t_11b compares SHA-256); this prints a Markdown table, never pass/fail.
BUILD=$(cd "${1:-build}" && pwd)
MIB=${2:-512}
OFFLOADS=${3:-off}
UST_ID=$$
. "$(dirname "$0")/../tests/interop/lib.sh"
TOOL=$BUILD/bin/ust-tcp-tool
[ -x "$TOOL" ] || fail "missing $TOOL"
N=$((MIB << 20))

cat >"$T_TMP/blast.py" <<'EOF'
import socket, sys, time
mode, n = sys.argv[1], int(sys.argv[3])
buf = bytearray(1 << 20)
if mode == "send":
    host, port = sys.argv[2].rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    t0, left = time.monotonic(), n
    mv = memoryview(buf)
    while left:
        k = s.send(mv[:min(left, len(buf))])
        left -= k
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    dt = time.monotonic() - t0
else:
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", int(sys.argv[2])))
    l.listen(1)
    print("listening", flush=True)
    s, _ = l.accept()
    got, t0 = 0, None
    while True:
        k = s.recv_into(buf)
        if t0 is None:
            t0 = time.monotonic()
        if not k:
            break
        got += k
    dt = time.monotonic() - t0
    s.close()
    if got != n:
        print("short: %d of %d" % (got, n))
print("seconds %.3f Gbit/s %.3f" % (dt, n * 8 / dt / 1e9), flush=True)
EOF
BLAST="$PY $T_TMP/blast.py"

veth_setup tv >/dev/null
for side in "$K vk" "$U vu"; do
	set -- $side
	if [ "$OFFLOADS" = off ]; then
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off \
			>/dev/null 2>&1 || fail "ethtool -K $2"
	fi
done

# rate LOGFILE: the Gbit/s a blast.py printed.
rate() { awk '$1 == "seconds" {print $4}' "$1"; }

# ksink NS PORT LOGFILE: a kernel sink in NS; waits until it listens.
ksink() {
	bg "$1" "$3" $BLAST sink "$2" $N
	KSINK_PID=$BG_PID
	for i in $(seq 1 100); do
		grep -q listening "$3" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "kernel sink did not start"
}

DEVFLAGS=(--dev afpacket --ifname vu --ip 10.8.0.2/24)
# Kernel -> ustack: ustack's sink, the kernel sends.
bg "$U" "$T_TMP/usink.log" "$TOOL" --listen 5001 --mode sink --max-conns 1 \
	"${DEVFLAGS[@]}" --stats
USINK_PID=$BG_PID
wait_ping "$K" 10.8.0.2 || fail "ustack never answered ping"
ip netns exec "$K" $BLAST send 10.8.0.2:5001 $N >"$T_TMP/k2u.log" 2>&1 ||
	{ show_log "$T_TMP/k2u.log"; fail "kernel -> ustack"; }
stop_bg "$USINK_PID" >/dev/null 2>&1
k2u=$(rate "$T_TMP/k2u.log")

# ustack -> kernel: the kernel's sink, ustack sends.
ksink "$K" 5002 "$T_TMP/u2k.log"
timeout 120 ip netns exec "$U" "$TOOL" --connect 10.8.0.1:5002 --send $N \
	--shut --recv eof "${DEVFLAGS[@]}" >"$T_TMP/uclient.log" 2>&1 ||
	{ show_log "$T_TMP/uclient.log"; fail "ustack -> kernel"; }
wait "$KSINK_PID"
u2k=$(rate "$T_TMP/u2k.log")

# Kernel <-> kernel on the same veth: the address moves onto vu.
ip -n "$U" addr add 10.8.0.2/24 dev vu
wait_ping "$K" 10.8.0.2 || fail "kernel on vu never answered"
ksink "$U" 5003 "$T_TMP/kk1.log"
ip netns exec "$K" $BLAST send 10.8.0.2:5003 $N >/dev/null 2>&1
wait "$KSINK_PID"
kk1=$(rate "$T_TMP/kk1.log")
ksink "$K" 5004 "$T_TMP/kk2.log"
ip netns exec "$U" $BLAST send 10.8.0.1:5004 $N >/dev/null 2>&1
wait "$KSINK_PID"
kk2=$(rate "$T_TMP/kk2.log")

echo "| one TCP connection over veth, $MIB MiB, offloads $OFFLOADS | Gbit/s | kernel to kernel, same veth | ratio |"
echo "|---|---|---|---|"
awk -v a="$k2u" -v b="$kk1" 'BEGIN { printf "| kernel -> ustack (ustack receives) | %s | %s | %.2f |\n", a, b, a / b }'
awk -v a="$u2k" -v b="$kk2" 'BEGIN { printf "| ustack -> kernel (ustack sends) | %s | %s | %.2f |\n", a, b, a / b }'
