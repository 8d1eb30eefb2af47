# Helpers for the tests of the programs (ustack-httpd, ustack-echo,
# ustack-perf, ustack-stat); sourced after lib.sh and tcp_lib.sh, so the
# link comes from tcp_net (TCP_NET=tap or veth; KNS, UNS, KIP, UIP,
# DEVFLAGS).

HTTPD=$BUILD/bin/ustack-httpd
ECHOD=$BUILD/bin/ustack-echo
PERF=$BUILD/bin/ustack-perf
USTAT=$BUILD/bin/ustack-stat
KHTTP="$PY $HERE/khttp.py"

for _p in "$HTTPD" "$ECHOD" "$PERF" "$USTAT"; do
	[ -x "$_p" ] || fail "missing $_p (build it first)"
done

# veth offloads: tcp_net turned TSO and GSO off on the kernel's end, since
# ustack's afpacket device drops the GSO super-frames a TCP socket would
# otherwise hand it (dev_rx_drop_gso). Once the device segments them
# itself (the GSO work in src/dev/gso.c), UST_VETH_GSO=on keeps the
# kernel's defaults and these tests then cover that path too.
app_net() {
	tcp_net "$1"
	if [ "${TCP_NET:-tap}" = veth ] && [ "${UST_VETH_GSO:-off}" = on ]; then
		ip netns exec "$KNS" ethtool -K vk tso on gso on >/dev/null ||
			fail "ethtool -K vk tso on gso on"
		log "UST_VETH_GSO=on: kernel side vk back to TSO/GSO on"
	fi
}

# app_start LOGFILE PROGRAM ARGS...: a ustack program in UNS on the link,
# with --stats; waits until ustack answers ping. Sets APP_PID.
app_start() {
	local logf=$1
	shift
	APP_NAME=$(basename "$1")
	bg "$UNS" "$logf" "$@" "${DEVFLAGS[@]}" --stats
	APP_PID=$BG_PID
	wait_ping "$KNS" "$UIP" || {
		show_log "$logf"
		fail "ustack ($APP_NAME) never answered ping"
	}
}

# app_stop LOGFILE: SIGTERM; the program must exit 0 (its contract).
app_stop() {
	local rc=0
	stop_bg "$APP_PID" || rc=$?
	if [ "$rc" -ne 0 ]; then
		show_log "$1"
		fail "$APP_NAME: exit status $rc after SIGTERM (want 0)"
	fi
}

# app_gso_check LOGFILE: after app_stop, the --stats counters show that no
# GSO frame was dropped (the offloads are as the test expects); logs the
# offload-related counters.
app_gso_check() {
	local c
	for c in dev_rx_drop_gso dev_rx_csum_partial tcp_retransmits; do
		log "ustack $c $(ustat "$1" $c)"
	done
	[ "$(ustat "$1" dev_rx_drop_gso)" = 0 ] ||
		fail "ustack dropped GSO frames (dev_rx_drop_gso): the kernel side's offloads are not as the test expects"
}
