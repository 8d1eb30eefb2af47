#!/bin/bash
# A UDP datagram from 0.0.0.0:7 to the broadcast address and port 7 (a
# booting host's source, RFC 1122 3.2.1.3; here a forged one) reaches the
# demo's echo socket. 0.0.0.0 is never a destination: a reply to it would
# go to ustack itself, to its own port 7, and echo there forever. The demo
# must take the datagram (udp_rx) and send nothing back (udp_tx stays 0,
# nothing looped back: lo_delivered 0).
. "$(dirname "$0")/lib.sh"

# st NAME LOG: a counter from a demo's --stats (0 if absent).
st() { awk -v n="$1" '$1 == n {v = $2} END {print v + 0}' "$2"; }

NS=ust-ez-$UST_ID
mkns "$NS"
start_demo "$NS" "$T_TMP/demo.log" --ifname ustap0
tap_up "$NS" ustap0 || { alive "$DEMO_PID" "$T_TMP/demo.log"; fail "TAP not up"; }
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 never answered"; }

# The frame, built byte by byte and sent on the TAP's kernel side.
cat >"$T_TMP/zsrc.py" <<'PYEOF'
import socket
import struct
import sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

ifname = sys.argv[1]
src, dst = bytes(4), b"\xff\xff\xff\xff"
data = b"loop?"
udp = struct.pack("!HHHH", 7, 7, 8 + len(data), 0) + data
c = csum(src + dst + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xffff
udp = udp[:6] + struct.pack("!H", c) + udp[8:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
mac = s.getsockname()[4]
s.send(b"\xff" * 6 + mac + b"\x08\x00" + ip + udp)
print("sent %d-byte datagram from 0.0.0.0:7 to 255.255.255.255:7" % len(data))
PYEOF
ip netns exec "$NS" $PY "$T_TMP/zsrc.py" ustap0 || fail "could not send the frame"
# A round trip after it: the demo has read the datagram by the time the
# reply comes (frames are taken in order).
wait_ping "$NS" 10.7.0.2 || { show_log "$T_TMP/demo.log"; fail "10.7.0.2 stopped answering"; }
stop_demo "$T_TMP/demo.log"
log "ustack udp_rx $(st udp_rx "$T_TMP/demo.log"), udp_tx $(st udp_tx "$T_TMP/demo.log"), lo_delivered $(st lo_delivered "$T_TMP/demo.log")"
[ "$(st udp_rx "$T_TMP/demo.log")" -ge 1 ] ||
	{ show_log "$T_TMP/demo.log"; fail "the datagram never reached the echo socket (udp_rx 0)"; }
[ "$(st udp_tx "$T_TMP/demo.log")" = 0 ] ||
	{ show_log "$T_TMP/demo.log"; fail "the demo echoed to 0.0.0.0 (udp_tx $(st udp_tx "$T_TMP/demo.log"))"; }
[ "$(st lo_delivered "$T_TMP/demo.log")" = 0 ] ||
	fail "packets looped back inside ustack: lo_delivered $(st lo_delivered "$T_TMP/demo.log")"
