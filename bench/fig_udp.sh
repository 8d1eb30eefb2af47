# shellcheck shell=bash
# UDP echo packets per second and ping round-trip time over a veth pair
# (offloads off on both ends). ustack-echo (UDP only; ustack answers ping
# itself) on AF_PACKET in U, on SRV_CPU, beside the kernel: udp-load
# --server in U with the address moved onto vu, and the kernel answering
# ping. The client (udp-load --client, ping) in K on CLI_CPU.
#
# UDP: 64-byte datagrams, 32 in flight; the figure is echoes received per
# second by the client. Ping: one echo every 1 ms for the run's length,
# 56 bytes; the figure is ping's average RTT.

UDP_WINDOW=32
UDP_SIZE=64

# udp_one: echoes/s of one run; empty when udp-load failed (no echo).
udp_one() {
	timeout -k 5 "$RUN_BOUND" ip netns exec "$K" taskset -c "$CLI_CPU" \
		"$BIN/udp-load" --client 10.8.0.2:7 --window $UDP_WINDOW \
		--size $UDP_SIZE --seconds "$SECS" >"$T_TMP/udp.json" 2>&1 || {
		say "udp-load: $(tail -n 1 "$T_TMP/udp.json")"
		return 0
	}
	jget "$T_TMP/udp.json" pps
}

ping_one() {
	ip netns exec "$K" taskset -c "$CLI_CPU" ping -n -q -i 0.001 -W 1 \
		-c $((SECS * 1000)) 10.8.0.2 2>&1 |
		sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p' |
		awk '{printf "%.1f", $1 * 1000}'
}

bnet u off
declare -A uv=()
for r in $(seq 1 "$REPEAT"); do
	bg "$U" "$T_TMP/uecho.log" taskset -c "$SRV_CPU" "$BIN/ustack-echo" \
		--no-tcp "${UDEV[@]}"
	upid=$BG_PID
	if wait_ping "$K" 10.8.0.2; then
		uv[u.udp]+="$(or_dash "$(udp_one)") "
		uv[u.ping]+="$(or_dash "$(ping_one)") "
	else
		say "ustack-echo never answered: $(tail -n 3 "$T_TMP/uecho.log" | tr '\n' ' ')"
		uv[u.udp]+="- "
		uv[u.ping]+="- "
	fi
	bstop "$upid"
	kaddr add
	bg "$U" "$T_TMP/kecho.log" taskset -c "$SRV_CPU" "$BIN/udp-load" \
		--server 7
	kpid=$BG_PID
	if wait_line "$T_TMP/kecho.log" '^listening' &&
		wait_ping "$K" 10.8.0.2; then
		uv[k.udp]+="$(or_dash "$(udp_one)") "
		uv[k.ping]+="$(or_dash "$(ping_one)") "
	else
		say "the kernel's udp-load server or ping did not answer"
		uv[k.udp]+="- "
		uv[k.ping]+="- "
	fi
	bstop "$kpid"
	kaddr del
done
record udp_echo_pps "UDP echo, ${UDP_SIZE}-byte datagrams" pkt/s higher \
	"${uv[u.udp]}" "${uv[k.udp]}" \
	"udp-load client, $UDP_WINDOW in flight, ${SECS} s per run; kernel: udp-load --server"
record ping_rtt "ping round-trip time, 56 bytes" us lower \
	"${uv[u.ping]}" "${uv[k.ping]}" \
	"ping -i 0.001 -c $((SECS * 1000)), average RTT per run"
bnet_del
