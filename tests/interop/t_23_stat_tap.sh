#!/bin/bash
# ustack-stat reads a running stack from its shared-memory segment: with
# ustack-echo publishing (--stats-name) and a kernel client holding a
# connection open, `ustack-stat -c` shows that connection ESTABLISHED with
# the right addresses and ports, and the listener; `ustack-stat` shows the
# counters (a passive open); --watch refreshes; a stopped (wedged) stack
# still shows its last snapshot, marked as old; once the program exits,
# its segment is gone. Over a TAP (t_23b: veth).
. "$(dirname "$0")/lib.sh"
. "$HERE/tcp_lib.sh"
. "$HERE/app_lib.sh"

app_net ts
NAME=ust-t23-$UST_ID
SEG=/dev/shm/ustack-$NAME
# A program killed with SIGKILL (a timed-out test) cannot remove its
# segment: remove it here, keeping the test's status for lib.sh's cleanup.
trap 'rc=$?; rm -f "$SEG"; (exit $rc); t_cleanup' EXIT
app_start "$T_TMP/echo.log" "$ECHOD" --port 7 --stats-name "$NAME" \
	--stats-interval 50
[ -e "$SEG" ] || { show_log "$T_TMP/echo.log"; fail "no $SEG"; }
"$USTAT" -l | grep -q "^$NAME .* running" || fail "ustack-stat -l does not list $NAME"

# A kernel client: one echo, then it holds the connection open.
bg "$KNS" "$T_TMP/client.log" $PY -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"ping")
assert s.recv(16) == b"ping"
print("port %d" % s.getsockname()[1], flush=True)
time.sleep(60)
' "$UIP"
for i in $(seq 1 100); do
	grep -q '^port ' "$T_TMP/client.log" && break
	sleep 0.05
done
CPORT=$(awk '/^port/ {print $2}' "$T_TMP/client.log")
[ -n "$CPORT" ] || { cat "$T_TMP/client.log"; fail "the kernel client did not connect"; }

# The segment is refreshed every 50 ms: look until the connection shows.
for i in $(seq 1 40); do
	"$USTAT" -c "$NAME" >"$T_TMP/conns" 2>&1
	grep -q "^ESTABLISHED .* $UIP:7 *$KIP:$CPORT" "$T_TMP/conns" && break
	sleep 0.05
done
sed 's/^/    | /' "$T_TMP/conns"
grep -q "^ESTABLISHED .* $UIP:7 *$KIP:$CPORT" "$T_TMP/conns" ||
	fail "ustack-stat -c does not show $UIP:7 <-> $KIP:$CPORT ESTABLISHED"
grep -q '^LISTEN .* 0\.0\.0\.0:7 ' "$T_TMP/conns" ||
	fail "ustack-stat -c does not show the listener"
grep -q 'rtt:[0-9.]*/' "$T_TMP/conns" || fail "no RTT in the connection line"
log "ustack-stat -c: $UIP:7 <-> $KIP:$CPORT ESTABLISHED, and the listener"

"$USTAT" "$NAME" >"$T_TMP/counters" || fail "ustack-stat $NAME failed"
grep -q '^tcp_passive_opens  *1$' "$T_TMP/counters" ||
	{ cat "$T_TMP/counters"; fail "counters: want tcp_passive_opens 1"; }
n_all=$("$USTAT" -a "$NAME" | grep -vc '^#')
n_nz=$(grep -vc '^#' "$T_TMP/counters")
[ "$n_all" -gt "$n_nz" ] || fail "-a shows no more counters than the non-zero ones"
log "ustack-stat: $n_nz non-zero counters of $n_all, tcp_passive_opens 1"
"$USTAT" --watch 0.1 --count 3 "$NAME" >"$T_TMP/watch" ||
	fail "ustack-stat --watch failed"
[ "$(grep -c '^# ' "$T_TMP/watch")" -eq 3 ] || fail "--watch --count 3: not 3 snapshots"
grep -q '/s$' "$T_TMP/watch" || fail "--watch shows no rates"
log "ustack-stat --watch 0.1 --count 3: three snapshots with rates"

# A wedged stack (stopped): its last snapshot is still there, marked old.
kill -STOP "$APP_PID"
sleep 1.5
"$USTAT" -c "$NAME" >"$T_TMP/wedged" 2>&1 || rc=$?
kill -CONT "$APP_PID"
grep -q "^ESTABLISHED .* $UIP:7 *$KIP:$CPORT" "$T_TMP/wedged" &&
	grep -q '^# no update for' "$T_TMP/wedged" ||
	{ cat "$T_TMP/wedged"; fail "ustack-stat on a stopped stack"; }
log "stack stopped (SIGSTOP): $(grep '^# no update' "$T_TMP/wedged")"

app_stop "$T_TMP/echo.log"
[ ! -e "$SEG" ] || fail "$SEG left behind after exit"
rc=0
"$USTAT" "$NAME" >"$T_TMP/gone" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "ustack-stat of a stack that exited: status $rc, want 1"
log "after exit: the segment is removed; ustack-stat says $(cat "$T_TMP/gone")"
