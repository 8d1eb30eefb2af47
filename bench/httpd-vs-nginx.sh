#!/bin/bash
# Requests per second for `wrk -t1 -c64` against ustack-httpd (ustack on
# AF_PACKET) and against nginx (Debian nginx-light, the kernel's TCP),
# serving the same file over the same veth, each server pinned to one core
# and wrk to another. Runs alternate (ustack, nginx, ustack, ...) so that
# drift in the machine's load hits both; the table gives every run and the
# median. A benchmark: it prints, it never fails a build.
# Where the kernel's work lands: a veth delivers a frame in the sender's
# softirq, so nginx's receive-side TCP runs on wrk's CPU and wrk's on the
# server's CPU; for ustack the AF_PACKET copy into its ring runs on wrk's
# CPU and ustack's TCP on its own. Neither server pays for all of its
# stack on its own core; compare ratios, not absolute figures.
#
#   bench/httpd-vs-nginx.sh [BUILD_DIR]
#   env: SECS (10) ROUNDS (3) BODY (bytes, 100) SRV_CPU (1) CLI_CPU (0)
#        VETH_GSO (off: tso/gso off on the kernel's end, as the interop
#        tests; on: the kernel's defaults)
set -u
BUILD=$(cd "${1:-build}" && pwd) || exit 2
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
BODY=${BODY:-100}
SRV_CPU=${SRV_CPU:-1}
CLI_CPU=${CLI_CPU:-0}
HTTPD=$BUILD/bin/ustack-httpd
for c in wrk nginx taskset ethtool curl; do
	command -v $c >/dev/null || { echo "needs $c (apt-get install wrk nginx-light ...)" >&2; exit 2; }
done
[ -x "$HTTPD" ] || { echo "no $HTTPD" >&2; exit 2; }

K=ust-bnk-$$
U=ust-bnu-$$
DIR=$(mktemp -d /tmp/ust-bench-http.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$K" 2>/dev/null
	ip netns del "$U" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

ip netns add "$K" && ip netns add "$U" || exit 1
for n in "$K" "$U"; do
	ip -n "$n" link set lo up
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$K" link add vk type veth peer name vu netns "$U"
ip -n "$K" link set vk up
ip -n "$U" link set vu up
ip -n "$K" addr add 10.8.0.1/24 dev vk
if [ "${VETH_GSO:-off}" = off ]; then
	ip netns exec "$K" ethtool -K vk tso off gso off >/dev/null
fi
ip netns exec "$U" ethtool -K vu gro off >/dev/null 2>&1

/usr/bin/python3 -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range($BODY)))" >"$DIR/body.bin"
mkdir -p "$DIR/tmp"
cat >"$DIR/nginx.conf" <<NGINX
# One process (no master), so that one pinned core is all of nginx.
daemon off;
master_process off;
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nodelay on;
	tcp_nopush on;
	keepalive_timeout 60s;
	keepalive_requests 100000000;
	client_body_temp_path $DIR/tmp;
	proxy_temp_path $DIR/tmp;
	fastcgi_temp_path $DIR/tmp;
	uwsgi_temp_path $DIR/tmp;
	scgi_temp_path $DIR/tmp;
	server {
		listen 10.8.0.2:80;
		root $DIR;
	}
}
NGINX

URL=http://10.8.0.2/body.bin
wait_up() {
	local i
	for i in $(seq 1 100); do
		ip netns exec "$K" curl -s -o /dev/null --max-time 1 "$URL" && return 0
		sleep 0.1
	done
	return 1
}

# run_wrk: requests/s of one wrk run.
run_wrk() {
	ip netns exec "$K" taskset -c "$CLI_CPU" wrk -t1 -c64 -d${SECS}s "$URL" \
		>"$DIR/wrk.out" 2>&1
	if grep -q -e 'Socket errors' -e 'Non-2xx' "$DIR/wrk.out"; then
		echo "(errors:" $(grep -e 'Socket errors' -e 'Non-2xx' "$DIR/wrk.out") ")" >&2
	fi
	awk '/^Requests\/sec/ {printf "%d", $2}' "$DIR/wrk.out"
}

one_ustack() {
	ip netns exec "$U" taskset -c "$SRV_CPU" "$HTTPD" --dev afpacket \
		--ifname vu --ip 10.8.0.2/24 --root "$DIR" >"$DIR/httpd.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	# (A subshell of $(...): the EXIT trap does not run here, so a server
	# that never came up is stopped before giving up.)
	wait_up || { cat "$DIR/httpd.log" >&2; kill "$pid"; exit 1; }
	run_wrk
	kill "$pid"
	wait "$pid" 2>/dev/null
}

one_nginx() {
	# The same veth end, now with a kernel address (ustack is not on it).
	ip -n "$U" addr add 10.8.0.2/24 dev vu
	ip netns exec "$U" taskset -c "$SRV_CPU" nginx -c "$DIR/nginx.conf" \
		>"$DIR/nginx.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	wait_up || { cat "$DIR/nginx.log" "$DIR/nginx.err" >&2; kill "$pid"; exit 1; }
	run_wrk
	kill "$pid"
	wait "$pid" 2>/dev/null
	ip -n "$U" addr del 10.8.0.2/24 dev vu
	# Forget the kernel's MAC for 10.8.0.2: ustack's differs.
	ip -n "$K" neigh flush dev vk
}

median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

us=() ng=()
for r in $(seq 1 "$ROUNDS"); do
	us+=("$(one_ustack)") || exit 1
	ng+=("$(one_nginx)") || exit 1
done
echo "wrk -t1 -c64 -d${SECS}s $URL ($BODY-byte file), server on CPU $SRV_CPU, wrk on CPU $CLI_CPU, veth (kernel end tso/gso ${VETH_GSO:-off})"
# Other load on the machine moves both columns; say how much there was.
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
printf '%-28s %-30s %10s\n' server "runs (requests/s)" median
printf '%-28s %-30s %10s\n' "ustack-httpd (AF_PACKET)" "${us[*]}" "$(echo "${us[*]}" | median)"
printf '%-28s %-30s %10s\n' "nginx-light (kernel TCP)" "${ng[*]}" "$(echo "${ng[*]}" | median)"
u=$(echo "${us[*]}" | median)
n=$(echo "${ng[*]}" | median)
[ "$n" -gt 0 ] 2>/dev/null && awk -v u="$u" -v n="$n" 'BEGIN {printf "ustack-httpd / nginx: %.2f\n", u / n}'
