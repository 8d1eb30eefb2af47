#!/usr/bin/python3
"""Kernel-side UDP helpers for the interop tests (run inside a namespace).

  kudp.py echo-client --to IP:PORT [--count N] [--max-size N] [--window N]
      Sends N datagrams of mixed sizes (1..max-size bytes) and expects every
      one back intact. At most --window datagrams are outstanding; nothing
      is retransmitted, so one lost datagram fails the test.
  kudp.py echo-server --bind IP:PORT [--ready FILE]
      Echoes every datagram to its sender until killed.
  kudp.py refused --to IP:PORT
      A connected socket sends one datagram; the kernel must report the
      ICMP port unreachable that comes back as ECONNREFUSED on recv.

Exit status 0 on success, 1 on a failed check, 2 on bad usage.
"""
import argparse
import hashlib
import os
import select
import socket
import struct
import sys
import time

HDR = struct.Struct("!4sII")  # magic, sequence number, payload length
MAGIC = b"UST1"


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def payload(seq, size):
    """Datagram seq: a header, then bytes derived from seq, size in all."""
    body = bytearray()
    block = 0
    while len(body) < size:
        body += hashlib.sha256(b"%d:%d" % (seq, block)).digest()
        block += 1
    data = HDR.pack(MAGIC, seq, size) + bytes(body)
    return data[:size] if size >= HDR.size else data[:HDR.size]


def sizes(count, max_size, seed):
    """Mixed sizes: small, MTU edges, fragment edges, and up to max_size."""
    fixed = [HDR.size, 64, 512, 1000, 1472, 1473, 1480, 2952, 2953,
             4000, 5000, 7000, max_size]
    rnd = seed
    out = []
    for i in range(count):
        if i % 3 == 0:
            out.append(min(fixed[(i // 3) % len(fixed)], max_size))
        else:
            rnd = (rnd * 6364136223846793005 + 1442695040888963407) % 2**64
            out.append(HDR.size + (rnd >> 33) % (max_size - HDR.size + 1))
    return out


def echo_client(a):
    dst = addr(a.to)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect(dst)
    want = sizes(a.count, a.max_size, a.seed)
    outstanding = {}
    sent = got = 0
    nbytes = 0
    t0 = time.monotonic()
    while got < a.count:
        while sent < a.count and len(outstanding) < a.window:
            data = payload(sent, want[sent])
            try:
                s.send(data)
            except OSError as e:
                print("send #%d (%d bytes): %s" % (sent, len(data), e))
                return 1
            outstanding[sent] = (data, time.monotonic())
            sent += 1
        r, _, _ = select.select([s], [], [], a.timeout)
        if not r:
            oldest = min(outstanding)
            print("timeout: datagram #%d (%d bytes) not echoed within %.1fs;"
                  " %d of %d back" % (oldest, len(outstanding[oldest][0]),
                                      a.timeout, got, a.count))
            return 1
        try:
            data = s.recv(65536)
        except OSError as e:
            print("recv: %s" % e)
            return 1
        if len(data) < HDR.size:
            print("short reply (%d bytes)" % len(data))
            return 1
        magic, seq, size = HDR.unpack_from(data)
        if magic != MAGIC or seq not in outstanding:
            print("unexpected reply: magic %r seq %d" % (magic, seq))
            return 1
        if data != outstanding[seq][0]:
            print("datagram #%d came back corrupted (%d bytes, sent %d)"
                  % (seq, len(data), len(outstanding[seq][0])))
            return 1
        del outstanding[seq]
        got += 1
        nbytes += len(data)
    dt = time.monotonic() - t0
    print("echo-client: %d/%d datagrams back intact, %d bytes, %.2fs"
          % (got, a.count, nbytes, dt))
    return 0


def echo_server(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(addr(a.bind))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % os.getpid())
    n = 0
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)
        n += 1
        print("echoed %d bytes to %s:%d" % (len(data), peer[0], peer[1]),
              flush=True)


def refused(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(addr(a.to))
    s.settimeout(a.timeout)
    for attempt in range(3):
        s.send(b"anyone there?")
        try:
            data = s.recv(2048)
        except ConnectionRefusedError:
            print("recv: ECONNREFUSED (ICMP port unreachable received)")
            return 0
        except socket.timeout:
            # An ARP exchange could delay the first answer; try again.
            continue
        print("unexpected: a closed port answered %r" % data[:32])
        return 1
    print("no ICMP port unreachable within %d tries" % 3)
    return 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("echo-client")
    c.add_argument("--to", required=True)
    c.add_argument("--count", type=int, default=1000)
    c.add_argument("--max-size", type=int, default=8000)
    c.add_argument("--window", type=int, default=4)
    c.add_argument("--timeout", type=float, default=3.0)
    c.add_argument("--seed", type=int, default=1)
    e = sub.add_parser("echo-server")
    e.add_argument("--bind", required=True)
    e.add_argument("--ready")
    r = sub.add_parser("refused")
    r.add_argument("--to", required=True)
    r.add_argument("--timeout", type=float, default=1.0)
    a = p.parse_args()
    if a.cmd == "echo-client":
        if a.max_size < HDR.size or a.max_size > 65507:
            p.error("--max-size out of range")
        return echo_client(a)
    if a.cmd == "echo-server":
        return echo_server(a)
    return refused(a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
