#!/usr/bin/python3
"""HTTP checks from the kernel's side against ustack-httpd (raw sockets,
so requests can be malformed on purpose).

  bytes-sha N          print the SHA-256 of a /bytes/N body (byte i is
                       i % 251), to compare with what curl fetched
  malformed --to A:P   malformed requests each get their status (400, 414,
                       431, 505) and a closed connection, while a keep-alive
                       connection opened before them goes on being served
  pipeline --to A:P    requests sent back to back in one write come back in
                       order, each intact; Connection: close is honoured
  bodies --to A:P      on one keep-alive connection: a request sent a byte
                       per segment, a GET with a Content-Length body, POSTs
                       with a body (plain and chunked) pipelined with GETs:
                       each answered (405 for POST), none mistaken for the
                       next request

Exit status 0 on success, 1 on a failed check (with a one-line reason).
"""
import argparse
import hashlib
import socket
import sys
import time

PERIOD = 251


def pattern(off, n):
    one = bytes(range(PERIOD))
    start = off % PERIOD
    reps = (start + n) // PERIOD + 1
    return (one * reps)[start:start + n]


def bytes_sha(n):
    h = hashlib.sha256()
    off = 0
    while off < n:
        k = min(1 << 20, n - off)
        h.update(pattern(off, k))
        off += k
    return h.hexdigest()


class Conn:
    def __init__(self, to, timeout):
        host, port = to.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def response(self):
        """One response: (status, headers dict, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def closed_by_peer(self, wait=3.0):
        """True if the server closes (EOF or reset) within `wait` s."""
        self.s.settimeout(wait)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def get(c, path, extra=""):
    c.send(("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, extra)).encode())
    return c.response()


def fail(msg):
    print("FAIL: " + msg)
    return 1


MALFORMED = [
    ("garbage", b"GARBAGE\r\n\r\n", 400),
    ("HTTP/0.9 request line", b"GET /\r\n\r\n", 505),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    ("HTTP/3.1", b"GET / HTTP/3.1\r\n\r\n", 505),
    ("header without colon", b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400),
    ("unknown method", b"G@T / HTTP/1.1\r\n\r\n", 400),
    ("bad Content-Length",
     b"POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400),
    ("NUL in the target", b"GET /a\x00b HTTP/1.1\r\n\r\n", 400),
    ("bad chunk size",
     b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("two content lengths",
     b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
     400),
    ("URI of 9000 bytes", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    ("header of 17000 bytes",
     b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n", 431),
]


def malformed(a):
    keep = Conn(a.to, a.timeout)
    st, _, body = get(keep, "/bytes/10")
    if st != 200 or body != pattern(0, 10):
        return fail("keep-alive connection: first GET got %d" % st)
    for name, req, want in MALFORMED:
        c = Conn(a.to, a.timeout)
        c.send(req)
        try:
            st, hdrs, _ = c.response()
        except (EOFError, ConnectionResetError, socket.timeout) as e:
            return fail("%s: no response (%s)" % (name, e))
        if st != want:
            return fail("%s: status %d, want %d" % (name, st, want))
        if hdrs.get("connection", "").lower() != "close":
            return fail("%s: no 'Connection: close'" % name)
        if not c.closed_by_peer():
            return fail("%s: the server kept the connection open" % name)
        c.close()
        # The server goes on serving the others.
        st, _, body = get(keep, "/bytes/%d" % (len(name) + 1))
        if st != 200 or body != pattern(0, len(name) + 1):
            return fail("after %s: keep-alive GET got %d" % (name, st))
        print("ok %-24s -> %d, closed; others still served" % (name, want))
    keep.close()
    return 0


def pipeline(a):
    sizes = [0, 1, 1460, 5000, 70000, 13]
    c = Conn(a.to, a.timeout)
    reqs = b"".join(b"GET /bytes/%d HTTP/1.1\r\nHost: t\r\n\r\n" % n
                    for n in sizes)
    reqs += b"HEAD /bytes/99 HTTP/1.1\r\nHost: t\r\n\r\n"
    reqs += b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    reqs += b"GET /bytes/1 HTTP/1.1\r\nHost: t\r\n\r\n"  # after close: unanswered
    c.send(reqs)
    for n in sizes:
        st, hdrs, body = c.response()
        if st != 200 or body != pattern(0, n):
            return fail("pipelined /bytes/%d: status %d, %d bytes" %
                        (n, st, len(body)))
    # HEAD: a Content-Length but no body (so read the header only).
    while b"\r\n\r\n" not in c.buf:
        c._fill()
    head, c.buf = c.buf.split(b"\r\n\r\n", 1)
    if b" 200 " not in head.split(b"\r\n")[0] or \
            b"Content-Length: 99" not in head:
        return fail("pipelined HEAD: %r" % head[:80])
    st, hdrs, _ = c.response()
    if st != 404 or hdrs.get("connection", "").lower() != "close":
        return fail("pipelined 404 with Connection: close: %d %r" %
                    (st, hdrs))
    if c.buf:
        return fail("data after the Connection: close response")
    if not c.closed_by_peer():
        return fail("Connection: close was not honoured")
    print("ok %d pipelined requests answered in order, then closed" %
          (len(sizes) + 2))
    return 0


def bodies(a):
    c = Conn(a.to, a.timeout)
    c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A request in many segments (a header split anywhere, the URL too).
    req = b"GET /bytes/77 HTTP/1.1\r\nHost: t\r\nX-A: abc\r\n\r\n"
    for i in range(len(req)):
        c.send(req[i:i + 1])
        time.sleep(0.002)  # one byte per segment, not an event to wait for
    st, _, body = c.response()
    if st != 200 or body != pattern(0, 77):
        return fail("request a byte at a time: %d, %d bytes" % (st, len(body)))
    # Bodies (RFC 9112 6): Content-Length and chunked are skipped whole,
    # so what looks like a request inside them is not one.
    fake = b"GET /bytes/5 HTTP/1.1\r\n\r\n"
    reqs = (b"GET /bytes/3 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
            b"\r\n%s" % (len(fake), fake))
    reqs += (b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
             b"\r\n%s" % (len(fake), fake))
    reqs += (b"POST /x HTTP/1.1\r\nHost: t\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n"
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(fake), fake))
    reqs += b"GET /bytes/4 HTTP/1.1\r\nHost: t\r\n\r\n"
    c.send(reqs[:40])
    time.sleep(0.05)
    c.send(reqs[40:])
    for want, n in ((200, 3), (405, None), (405, None), (200, 4)):
        st, hdrs, body = c.response()
        if st != want or (n is not None and body != pattern(0, n)):
            return fail("bodies: status %d (want %d), %d bytes" %
                        (st, want, len(body)))
        if hdrs.get("connection", "").lower() == "close":
            return fail("bodies: status %d closed the connection" % st)
    st, _, body = get(c, "/bytes/6")
    if st != 200 or body != pattern(0, 6) or c.buf:
        return fail("bodies: the connection is out of step after them")
    c.close()
    print("ok split request, GET and POST bodies (plain, chunked) skipped")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bytes-sha")
    b.add_argument("n", type=int)
    for name in ("malformed", "pipeline", "bodies"):
        s = sub.add_parser(name)
        s.add_argument("--to", required=True)
        s.add_argument("--timeout", type=float, default=5.0)
    a = p.parse_args()
    if a.cmd == "bytes-sha":
        print(bytes_sha(a.n))
        return 0
    try:
        return {"malformed": malformed, "pipeline": pipeline,
                "bodies": bodies}[a.cmd](a)
    except (OSError, EOFError, ValueError) as e:
        return fail("%s: %s" % (a.cmd, e))


if __name__ == "__main__":
    sys.exit(main())
