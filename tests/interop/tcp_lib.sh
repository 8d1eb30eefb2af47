# Helpers for the TCP interop tests (t_1*_tcp_*.sh); sourced after lib.sh.
#
# Each test runs over one link, chosen by TCP_NET (tap by default, or
# veth); the *b_* variants of a test re-run it with TCP_NET=veth.
#
#   tap   one namespace; a persistent TAP ustap0 made there first, the
#         kernel's side 10.7.0.1/24, ustack 10.7.0.2. A TAP without vnet
#         headers gets complete checksums and no GSO frames from the
#         kernel: nothing to set.
#   veth  namespaces K (kernel, vk 10.8.0.1/24) and U (ustack's end vu,
#         no kernel address), ustack 10.8.0.2 on AF_PACKET. The kernel's
#         side has TSO and GSO off (ethtool -K vk tso off gso off): a TCP
#         socket would otherwise hand the veth super-frames of up to 64 KiB,
#         which ustack's afpacket device counts (dev_rx_drop_gso) and
#         drops. Checksum offload stays on: those frames arrive with
#         partial checksums, which the device handles
#         (dev_rx_csum_partial). GRO is turned off on vu so that what
#         ustack reads is what the kernel sent.

TOOL=$BUILD/bin/ust-tcp-tool
KTCP="$PY $HERE/ktcp.py"

[ -x "$TOOL" ] || fail "missing $TOOL (build it first)"

# tcp_net TAG: set up the link named by TCP_NET; sets KNS (the kernel's
# namespace), UNS (ustack's), KIP, UIP and DEVFLAGS (device flags for
# ustack-demo and ust-tcp-tool).
tcp_net() {
	case "${TCP_NET:-tap}" in
	tap)
		KNS=ust-$1-$UST_ID
		UNS=$KNS
		mkns "$KNS"
		ip -n "$KNS" tuntap add dev ustap0 mode tap ||
			fail "ip tuntap add ustap0"
		ip -n "$KNS" addr add 10.7.0.1/24 dev ustap0
		ip -n "$KNS" link set ustap0 up
		KIP=10.7.0.1
		UIP=10.7.0.2
		DEVFLAGS=(--dev tap --ifname ustap0 --ip 10.7.0.2/24)
		KIF=ustap0
		log "link: TAP ustap0 in $KNS (kernel $KIP, ustack $UIP)"
		;;
	veth)
		veth_setup "$1"
		KNS=$K
		UNS=$U
		ip netns exec "$KNS" ethtool -K vk tso off gso off >/dev/null ||
			fail "ethtool -K vk tso off gso off"
		ip netns exec "$UNS" ethtool -K vu gro off >/dev/null 2>&1
		KIP=10.8.0.1
		UIP=10.8.0.2
		DEVFLAGS=(--dev afpacket --ifname vu --ip 10.8.0.2/24)
		KIF=vk
		log "link: veth vk ($KNS, kernel $KIP; tso off, gso off) -- vu ($UNS, ustack $UIP, afpacket)"
		;;
	*)
		fail "TCP_NET must be tap or veth, not '$TCP_NET'"
		;;
	esac
}

# kernel_tx_dropped: frames the kernel dropped sending towards ustack
# (its interface's TX queue was full: ustack did not read fast enough).
kernel_tx_dropped() {
	ip -n "$KNS" -s link show "$KIF" |
		awk '/TX:/ {getline; print $4; exit}'
}

# tool_server LOGFILE ARGS...: ust-tcp-tool --listen ... in UNS, on the
# link, with --stats; waits until ustack answers ping. Sets TOOL_PID.
tool_server() {
	local logf=$1
	shift
	bg "$UNS" "$logf" "$TOOL" "$@" "${DEVFLAGS[@]}" --stats
	TOOL_PID=$BG_PID
	wait_ping "$KNS" "$UIP" || {
		show_log "$logf"
		fail "ustack ($TOOL $*) never answered ping"
	}
}

# tool_client LOGFILE SECONDS ARGS...: ust-tcp-tool --connect ... in UNS,
# in the foreground, bounded by SECONDS; its status is returned.
tool_client() {
	local logf=$1 secs=$2
	shift 2
	timeout -k 5 "$secs" ip netns exec "$UNS" "$TOOL" "$@" \
		--timeout-ms $((secs * 1000 - 2000)) "${DEVFLAGS[@]}" --stats \
		>"$logf" 2>&1
}

# kernel_server LOGFILE ARGS...: ktcp.py server ... in KNS; waits (up to
# 5 s, polling its log) until it listens. Sets KSRV_PID.
kernel_server() {
	local logf=$1 i
	shift
	bg "$KNS" "$logf" $PY "$HERE/ktcp.py" server "$@"
	KSRV_PID=$BG_PID
	for i in $(seq 1 100); do
		grep -q '^listening' "$logf" 2>/dev/null && return 0
		kill -0 "$KSRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	show_log "$logf"
	fail "kernel server did not start"
}

# wait_exit PID SECONDS: wait for a background process to end by itself;
# returns its status (124 if it had to be stopped).
wait_exit() {
	local pid=$1 i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		stop_bg "$pid"
		return 124
	fi
	wait "$pid"
}

# stop_tool LOGFILE: SIGTERM the ustack tool server; it must exit 0,
# with no connection that failed and none its peer left open.
stop_tool() {
	local rc=0 line
	stop_bg "$TOOL_PID" || rc=$?
	if [ "$rc" -ne 0 ]; then
		show_log "$1"
		fail "ust-tcp-tool exited with status $rc after SIGTERM"
	fi
	check_tool_server "$1"
}

# check_tool_server LOGFILE: the server's summary line says no errors and
# no connection open at exit.
check_tool_server() {
	local line
	line=$(grep -h '^server:' "$1")
	log "ustack $line"
	if ! grep -q ' errors 0 open-at-exit 0$' <<<"$line"; then
		show_log "$1"
		fail "ustack server: connections failed or left open"
	fi
}

# ustat LOGFILE NAME: a counter printed by --stats (0 if absent).
ustat() {
	awk -v n="$2" '$1 == n {v = $2} END {print v + 0}' "$1"
}

# sha_of LOGFILE WHAT: the sha256 on the line starting with WHAT.
sha_of() {
	awk -v w="$2" '$1 == w {for (i = 1; i < NF; i++) if ($i == "sha256") h = $(i + 1)} END {print h}' "$1"
}

# The demo's TCP echo (port 7) and discard (port 9) services, with
# ustack-demo's own flags, in UNS. Until the demo has them, set
# UST_TCP_FALLBACK=1 to let a test use ust-tcp-tool instead, one service
# at a time: then demo_service PORT restarts the tool for that port.

# demo_start LOGFILE: start the demo and check that it serves TCP echo on
# port 7 (16 bytes echoed); sets USE_DEMO.
demo_start() {
	DEMO_LOG=$1
	SVC_PORT=
	start_demo "$UNS" "$DEMO_LOG" "${DEVFLAGS[@]}"
	wait_ping "$KNS" "$UIP" || {
		show_log "$DEMO_LOG"
		fail "the demo never answered ping"
	}
	if ip netns exec "$KNS" $KTCP send --to "$UIP:7" --bytes 16 --echo \
		--timeout 5 >"$DEMO_LOG.probe" 2>&1; then
		USE_DEMO=1
		log "ustack-demo: TCP echo on 7, discard on 9"
		return 0
	fi
	stop_demo "$DEMO_LOG"
	if [ "${UST_TCP_FALLBACK:-0}" = 1 ]; then
		USE_DEMO=0
		log "UST_TCP_FALLBACK=1: the demo does not echo TCP on port 7 ($(tail -n 1 "$DEMO_LOG.probe")); ust-tcp-tool stands in"
		return 0
	fi
	show_log "$DEMO_LOG.probe"
	fail "ustack-demo does not serve TCP echo on port 7 (UST_TCP_FALLBACK=1 uses ust-tcp-tool instead)"
}

# demo_service PORT: make sure the service on PORT (7 echo, 9 discard)
# runs.
demo_service() {
	[ "$USE_DEMO" = 1 ] && return 0
	[ "$SVC_PORT" = "$1" ] && return 0
	[ -n "$SVC_PORT" ] && stop_tool "$DEMO_LOG.$SVC_PORT"
	local mode=echo
	[ "$1" = 9 ] && mode=discard
	tool_server "$DEMO_LOG.$1" --listen "$1" --mode $mode
	SVC_PORT=$1
}

# demo_stop: stop the demo (must exit 0), or the stand-in; leaves the
# counters of the last one in STATS_LOG.
demo_stop() {
	if [ "$USE_DEMO" = 1 ]; then
		stop_demo "$DEMO_LOG"
		STATS_LOG=$DEMO_LOG
	elif [ -n "$SVC_PORT" ]; then
		stop_tool "$DEMO_LOG.$SVC_PORT"
		STATS_LOG=$DEMO_LOG.$SVC_PORT
	fi
}
