# shellcheck shell=bash
# HTTP: wrk (in K, on CLI_CPU) against ustack-httpd (ustack on AF_PACKET
# on vu, in U, on SRV_CPU) and against nginx-light on the kernel (one
# process, no master, on SRV_CPU, the address moved onto vu), a 100-byte
# file. Keep-alive at 1 and 64 connections: requests/s, p50 and p99; and
# connections/s with `Connection: close` at 64 connections.
#
# Port exhaustion in the connections/s figure: every run gets fresh
# namespaces (no TIME_WAIT left from an earlier run on either side) and
# the client's ephemeral range is 1024..65535. The server closes first
# (Connection: close), so TIME_WAIT sits on the server's side and a client
# port is free again at once; a run of fewer than 64,511 connections uses
# no port twice, and one with more meets the server's TIME_WAIT, which
# accepts a new SYN (RFC 6191). Should the client close first after all
# (wrk closes as soon as it has read the response), its TIME_WAIT ports
# are taken again after 1 s (net.ipv4.tcp_tw_reuse=1 in K, the same for
# both servers). The figure's note gives the largest count
# of connections in one run, and wrk's socket errors if there were any.

HTTP_BODY=100

# nginx: tcp_nopush (TCP_CORK around sendfile) so that headers and body
# leave in one segment, as ustack-httpd sends them; without it each
# 100-byte response is two segments (writev of the headers, then sendfile).

http_files() {
	HDIR=$T_TMP/www
	mkdir -p "$HDIR/tmp"
	$PY -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range($HTTP_BODY)))" \
		>"$HDIR/body.bin"
	cat >"$T_TMP/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $T_TMP/nginx.pid;
error_log $T_TMP/nginx.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nodelay on;
	tcp_nopush on;
	keepalive_timeout 60s;
	keepalive_requests 100000000;
	client_body_temp_path $HDIR/tmp;
	proxy_temp_path $HDIR/tmp;
	fastcgi_temp_path $HDIR/tmp;
	uwsgi_temp_path $HDIR/tmp;
	scgi_temp_path $HDIR/tmp;
	server {
		listen 10.8.0.2:80;
		root $HDIR;
	}
}
NGINX
}

HURL=http://10.8.0.2/body.bin

# http_up PID: the server (PID) answers the file with a 2xx, up to ~10 s;
# fails at once if it died.
http_up() {
	local i
	for i in $(seq 1 100); do
		ip netns exec "$K" curl -sf -o /dev/null --max-time 1 "$HURL" &&
			return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# to_us VALUE: wrk's latency (1.23us, 4.5ms, 1.1s) in microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000
		printf "%.1f", n }'
}

# http_one SERVER CONNS [close]: one run in fresh namespaces; sets HRES to
# "rps p50_us p99_us requests errors" (dashes on failure, and for a run
# with non-2xx responses, which wrk counts as requests). Not run in a
# subshell, so the cleanup at exit knows its namespaces and processes.
http_one() {
	local srv=$1 conns=$2 hdr=() pid
	[ "${3:-}" = close ] && hdr=(-H "Connection: close")
	bnet h off
	ip netns exec "$K" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_tw_reuse=1
	if [ "$srv" = ustack ]; then
		bg "$U" "$T_TMP/httpd.log" taskset -c "$SRV_CPU" \
			"$BIN/ustack-httpd" --root "$HDIR" "${UDEV[@]}"
	else
		ip -n "$U" addr add 10.8.0.2/24 dev vu
		bg "$U" "$T_TMP/httpd.log" taskset -c "$SRV_CPU" nginx \
			-c "$T_TMP/nginx.conf"
	fi
	pid=$BG_PID
	HRES="- - - - -"
	if ! http_up "$pid"; then
		say "$srv did not serve $HURL: $(tail -n 3 "$T_TMP/httpd.log" | tr '\n' ' ')"
	else
		timeout -k 5 "$RUN_BOUND" ip netns exec "$K" taskset -c "$CLI_CPU" \
			wrk -t1 -c"$conns" -d"${SECS}s" --latency "${hdr[@]}" \
			"$HURL" >"$T_TMP/wrk.out" 2>&1
		local rps p50 p99 n err
		rps=$(awk '/^Requests\/sec/ {print $2}' "$T_TMP/wrk.out")
		p50=$(awk '$1 == "50%" {print $2}' "$T_TMP/wrk.out")
		p99=$(awk '$1 == "99%" {print $2}' "$T_TMP/wrk.out")
		n=$(awk '/requests in/ {print $1}' "$T_TMP/wrk.out")
		err=$(grep -e 'Socket errors' -e 'Non-2xx' "$T_TMP/wrk.out" |
			tr -s ' \n' ' ' | tr -d ',')
		[ -n "$err" ] && say "wrk vs $srv (-c$conns ${3:-}): $err"
		if grep -q 'Non-2xx' "$T_TMP/wrk.out"; then
			say "wrk vs $srv: non-2xx responses, run not counted"
			rps='' p50='' p99=''
		fi
		HRES="$(or_dash "$rps") $( [ -n "$p50" ] && to_us "$p50" || echo -)"
		HRES+=" $( [ -n "$p99" ] && to_us "$p99" || echo -) $(or_dash "$n")"
		HRES+=" $( [ -n "$err" ] && echo 1 || echo 0)"
	fi
	bstop "$pid"
	bnet_del
}

http_files
for hc in 1 64 close; do
	declare -A hv=()
	maxn=0 errs=0
	for r in $(seq 1 "$REPEAT"); do
		for srv in ustack kernel; do
			if [ "$hc" = close ]; then
				http_one $srv 64 close
			else
				http_one $srv "$hc"
			fi
			read -r rps p50 p99 n e <<<"$HRES"
			hv[$srv.rps]+="$rps "
			hv[$srv.p50]+="$p50 "
			hv[$srv.p99]+="$p99 "
			[ "$n" != - ] && [ "$n" -gt "$maxn" ] && maxn=$n
			[ "$e" = 1 ] && errs=$((errs + 1))
		done
	done
	how="wrk -t1 -c${hc/close/64} --latency, ${SECS} s per run, ${HTTP_BODY}-byte file; nginx-light 1 process"
	[ $errs -gt 0 ] && how="$how; $errs run(s) with wrk socket errors"
	if [ "$hc" = close ]; then
		ports="largest run: $maxn connections"
		[ "$maxn" -ge 64511 ] && ports="$ports (over 64,511: ports reused through the server's TIME_WAIT)"
		record http_cps "HTTP connections/s, Connection: close, 64 conns" conn/s \
			higher "${hv[ustack.rps]}" "${hv[kernel.rps]}" \
			"$how; fresh namespaces per run, client ports 1024-65535, tcp_tw_reuse=1, server closes first; $ports"
		continue
	fi
	record "http_rps_c$hc" "HTTP requests/s, keep-alive, $hc conn(s)" req/s \
		higher "${hv[ustack.rps]}" "${hv[kernel.rps]}" "$how"
	record "http_p50_c$hc" "HTTP latency p50, keep-alive, $hc conn(s)" us \
		lower "${hv[ustack.p50]}" "${hv[kernel.p50]}" "$how"
	record "http_p99_c$hc" "HTTP latency p99, keep-alive, $hc conn(s)" us \
		lower "${hv[ustack.p99]}" "${hv[kernel.p99]}" "$how"
done
