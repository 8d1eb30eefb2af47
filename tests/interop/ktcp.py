#!/usr/bin/python3
"""TCP on the kernel's side of the interop tests (Python sockets).

Clients (to a ustack server):
  send      --to A:P --bytes N [--echo] : send N bytes of a seeded pattern,
            shutdown(SHUT_WR), read to EOF (concurrently with sending);
            print "sent N sha256 H" and "received N sha256 H"; with --echo
            the two must match.
  halfclose --to A:P --bytes N : send N bytes, shutdown(SHUT_WR), and only
            then read: every byte must come back after our FIN, then EOF.
  conc      --to A:P --conns N --bytes B : N connections open at once; each
            sends B bytes and must get them back; none is closed before all
            have been served.
  seq       --to A:P --conns N --bytes B : N connections one after another;
            each sends B bytes and reads to EOF (the server answers and
            closes first); prints how many distinct local ports were used.
  refused   --to A:P : connect must fail with ECONNREFUSED, quickly.
Server (for a ustack client):
  server    --port P --mode sink|reply|echo [--count K] [--bytes B]
            [--close-first server|client] : sink prints
            "conn I bytes N sha256 H" per connection; reply reads B bytes,
            sends them back, then closes at once (server) or after the
            client's FIN (client); exits after K connections.

Exit status 0 on success, 1 on a failed check (with a one-line reason).
"""
import argparse
import errno
import hashlib
import random
import resource
import selectors
import socket
import sys
import threading
import time

CHUNK = 256 * 1024


def addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def pattern_chunks(n, seed):
    rng = random.Random(seed)
    left = n
    while left > 0:
        k = min(CHUNK, left)
        yield rng.randbytes(k)
        left -= k


def cmd_send(a):
    s = socket.create_connection(addr(a.to), timeout=a.timeout)
    hs, hr = hashlib.sha256(), hashlib.sha256()
    sent = [0]
    err = []

    def sender():
        try:
            for b in pattern_chunks(a.bytes, a.seed):
                s.sendall(b)
                hs.update(b)
                sent[0] += len(b)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t0 = time.monotonic()
    th = threading.Thread(target=sender)
    th.start()
    rcvd = 0
    try:
        while True:
            b = s.recv(CHUNK)
            if not b:
                break
            hr.update(b)
            rcvd += len(b)
    except OSError as e:
        err.append(e)
    th.join()
    el = time.monotonic() - t0
    s.close()
    print("sent %d sha256 %s" % (sent[0], hs.hexdigest()))
    print("received %d sha256 %s" % (rcvd, hr.hexdigest()))
    print("seconds %.3f Mbit/s %.1f" %
          (el, (sent[0] + rcvd) * 8 / el / 1e6 if el > 0 else 0))
    if err:
        fail("socket error: %r" % err[0])
    if sent[0] != a.bytes:
        fail("sent %d of %d bytes" % (sent[0], a.bytes))
    if a.echo and (rcvd != sent[0] or hr.digest() != hs.digest()):
        fail("echo differs: sent %d bytes, received %d" % (sent[0], rcvd))


def cmd_halfclose(a):
    s = socket.create_connection(addr(a.to), timeout=a.timeout)
    data = b"".join(pattern_chunks(a.bytes, a.seed))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        got += b
    s.close()
    print("half-close: sent %d then FIN, received %d after it, then EOF" %
          (len(data), len(got)))
    if bytes(got) != data:
        fail("echo after half-close differs (%d of %d bytes)" %
             (len(got), len(data)))


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n + 64))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < n + 16:
        fail("RLIMIT_NOFILE hard limit %d too low for %d sockets" % (hard, n))


def cmd_conc(a):
    raise_nofile(a.conns)
    sel = selectors.DefaultSelector()
    conns = []
    t0 = time.monotonic()
    for i in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex(addr(a.to))
        if rc not in (0, errno.EINPROGRESS):
            fail("connect %d: %s" % (i, errno.errorcode.get(rc, rc)))
        c = {"i": i, "s": s, "state": "connecting",
             "out": random.Random(a.seed + i).randbytes(a.bytes),
             "off": 0, "in": bytearray()}
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)
    connected = served = 0
    max_open = 0
    deadline = t0 + a.timeout
    while served < a.conns:
        left = deadline - time.monotonic()
        if left <= 0:
            states = {}
            for c in conns:
                states[c["state"]] = states.get(c["state"], 0) + 1
            fail("deadline: %d connected, %d served of %d (%s)" %
                 (connected, served, a.conns, states))
        for key, ev in sel.select(timeout=min(left, 1.0)):
            c = key.data
            s = c["s"]
            if c["state"] == "connecting":
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e:
                    fail("connection %d: %s" %
                         (c["i"], errno.errorcode.get(e, e)))
                c["state"] = "sending"
                connected += 1
                max_open = max(max_open, connected)
            if c["state"] == "sending" and ev & selectors.EVENT_WRITE:
                try:
                    n = s.send(c["out"][c["off"]:])
                except BlockingIOError:
                    n = 0
                c["off"] += n
                if c["off"] == len(c["out"]):
                    c["state"] = "reading"
                    sel.modify(s, selectors.EVENT_READ, c)
                continue
            if c["state"] == "reading" and ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except BlockingIOError:
                    continue
                if not b:
                    fail("connection %d: EOF after %d of %d bytes" %
                         (c["i"], len(c["in"]), a.bytes))
                c["in"] += b
                if len(c["in"]) >= a.bytes:
                    if bytes(c["in"]) != c["out"]:
                        fail("connection %d: echo differs" % c["i"])
                    c["state"] = "served"
                    served += 1
                    sel.unregister(s)
    el = time.monotonic() - t0
    # Every connection is still open here: all were served at once.
    open_now = sum(1 for c in conns if c["s"].fileno() >= 0)
    for c in conns:
        c["s"].close()
    print("connections %d served %d open-at-once %d seconds %.3f" %
          (a.conns, served, open_now, el))
    if served != a.conns or open_now != a.conns:
        fail("not all connections served")


def cmd_seq(a):
    ports = {}
    t0 = time.monotonic()
    slowest = 0.0
    for i in range(a.conns):
        t = time.monotonic()
        try:
            s = socket.create_connection(addr(a.to), timeout=a.timeout)
        except OSError as e:
            fail("connection %d: connect: %r (after %d ok, %d ports)" %
                 (i, e, i, len(ports)))
        port = s.getsockname()[1]
        ports[port] = ports.get(port, 0) + 1
        msg = random.Random(a.seed + i).randbytes(a.bytes)
        try:
            s.sendall(msg)
            got = bytearray()
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        except OSError as e:
            fail("connection %d (port %d): %r" % (i, port, e))
        s.close()
        if bytes(got) != msg:
            fail("connection %d (port %d): reply differs (%d of %d bytes)"
                 % (i, port, len(got), len(msg)))
        slowest = max(slowest, time.monotonic() - t)
    el = time.monotonic() - t0
    reused = sum(1 for n in ports.values() if n > 1)
    print("connections %d ok; %d distinct local ports, %d used more than "
          "once; slowest %.3f s; seconds %.3f" %
          (a.conns, len(ports), reused, slowest, el))
    if a.max_seconds and slowest > a.max_seconds:
        fail("a connection took %.3f s (want < %.3f s: a SYN had to be "
             "sent again?)" % (slowest, a.max_seconds))
    if a.min_reused and reused < a.min_reused:
        fail("only %d ports reused (want >= %d)" % (reused, a.min_reused))


def cmd_refused(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect(addr(a.to))
    except ConnectionRefusedError:
        print("ECONNREFUSED after %.3f s" % (time.monotonic() - t0))
        return
    except OSError as e:
        fail("want ECONNREFUSED, got %r after %.3f s" %
             (e, time.monotonic() - t0))
    finally:
        s.close()
    fail("connect succeeded; want ECONNREFUSED")


def cmd_server(a):
    raise_nofile(a.count + 16)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    print("listening on port %d mode %s" % (a.port, a.mode), flush=True)
    done = errors = 0
    nconn = 0
    deadline = time.monotonic() + a.timeout
    while done < a.count:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("server deadline: %d of %d connections done" %
                 (done, a.count))
        for key, _ in sel.select(timeout=min(left, 1.0)):
            if key.data is None:
                while True:
                    try:
                        s, peer = ls.accept()
                    except BlockingIOError:
                        break
                    s.setblocking(False)
                    nconn += 1
                    c = {"i": nconn, "s": s, "peer": peer, "n": 0,
                         "h": hashlib.sha256(), "req": bytearray(),
                         "out": b"", "answered": False}
                    sel.register(s, selectors.EVENT_READ, c)
                continue
            c = key.data
            s = c["s"]
            if c["out"]:
                try:
                    n = s.send(c["out"])
                except BlockingIOError:
                    n = 0
                except OSError as e:
                    print("conn %d: %r" % (c["i"], e))
                    errors += 1
                    sel.unregister(s)
                    s.close()
                    done += 1
                    continue
                c["out"] = c["out"][n:]
                if c["out"]:
                    continue
                sel.modify(s, selectors.EVENT_READ, c)
                if a.mode == "reply" and a.close_first == "server":
                    sel.unregister(s)
                    s.close()
                    done += 1
                continue
            try:
                b = s.recv(CHUNK)
            except BlockingIOError:
                continue
            except OSError as e:
                print("conn %d: %r" % (c["i"], e))
                errors += 1
                sel.unregister(s)
                s.close()
                done += 1
                continue
            if a.mode in ("sink",) or (a.mode == "reply" and c["answered"]):
                if b:
                    c["n"] += len(b)
                    c["h"].update(b)
                    continue
                if a.mode == "sink":
                    print("conn %d peer %s:%d bytes %d sha256 %s" %
                          (c["i"], c["peer"][0], c["peer"][1], c["n"],
                           c["h"].hexdigest()), flush=True)
                sel.unregister(s)
                s.close()
                done += 1
                continue
            if a.mode == "echo":
                if not b:
                    sel.unregister(s)
                    s.close()
                    done += 1
                    continue
                c["out"] = b
                sel.modify(s, selectors.EVENT_WRITE, c)
                continue
            # reply: collect the request, answer it.
            if not b:
                print("conn %d: EOF after %d of %d request bytes" %
                      (c["i"], len(c["req"]), a.bytes))
                errors += 1
                sel.unregister(s)
                s.close()
                done += 1
                continue
            c["req"] += b
            if len(c["req"]) >= a.bytes:
                c["answered"] = True
                c["out"] = bytes(c["req"])
                sel.modify(s, selectors.EVENT_WRITE, c)
    ls.close()
    print("server: %d connections, %d errors" % (done, errors), flush=True)
    if errors:
        sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("send", "halfclose", "conc", "seq", "refused"):
        q = sub.add_parser(name)
        q.add_argument("--to", required=True)
        q.add_argument("--bytes", type=int, default=1000)
        q.add_argument("--seed", type=int, default=1)
        q.add_argument("--timeout", type=float, default=60.0)
        if name == "send":
            q.add_argument("--echo", action="store_true")
        if name in ("conc", "seq"):
            q.add_argument("--conns", type=int, default=1000)
        if name == "seq":
            q.add_argument("--min-reused", type=int, default=0)
            q.add_argument("--max-seconds", type=float, default=0.0)
    q = sub.add_parser("server")
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--mode", choices=("sink", "reply", "echo"), required=True)
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--bytes", type=int, default=64)
    q.add_argument("--close-first", choices=("server", "client"),
                   default="server")
    q.add_argument("--timeout", type=float, default=100.0)
    a = p.parse_args()
    {"send": cmd_send, "halfclose": cmd_halfclose, "conc": cmd_conc,
     "seq": cmd_seq, "refused": cmd_refused, "server": cmd_server}[a.cmd](a)


if __name__ == "__main__":
    main()
