#!/usr/bin/python3
"""Write the seed corpus for fuzz_tcp into tests/fuzz/corpus/fuzz_tcp/.

Each file is one input for fuzz_tcp.c: a list of records
[clock][ctl][len_hi][len_lo][Ethernet frame], each frame from the peer
(10.0.0.1, 02:00:00:00:00:0b) to the stack under test (10.0.0.2,
02:00:00:00:00:0a), whose initial sequence number is fixed (ISN below).
The seeds are whole conversations, so the fuzzer starts from inputs that
reach ESTABLISHED and every closing state.

  /usr/bin/python3 tests/fuzz/make-tcp-corpus.py [OUTDIR]
"""
import os
import struct
import sys

from scapy.all import IP, TCP, Ether, Raw

US_MAC, PEER_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
US_IP, PEER_IP = "10.0.0.2", "10.0.0.1"
ISN = 0x01000000  # FUZZ_ISN in fuzz_tcp.c
CLIENT_PORT, SERVER_PORT = 40000, 80  # the stack's own connection

RAW_CSUM, SHUT_WR, CLOSE, ABORT, BULK, NO_READ = 1, 2, 4, 8, 16, 32
SYN_OPTS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
            ("NOP", None), ("WScale", 7)]


def seg(sport, dport, flags, seq, ack=0, data=b"", win=65535, opts=None):
    t = TCP(sport=sport, dport=dport, flags=flags, seq=seq & 0xffffffff,
            ack=ack & 0xffffffff, window=win, options=opts or [])
    f = Ether(src=PEER_MAC, dst=US_MAC) / IP(src=PEER_IP, dst=US_IP) / t
    if data:
        f = f / Raw(data)
    return bytes(f)


def rec(frame, clock=1, ctl=0):
    return bytes([clock, ctl]) + struct.pack(">H", len(frame)) + frame


class Peer:
    """A client of one of the stack's listeners (or its own client's
    server): tracks the sequence numbers both ways."""

    def __init__(self, sport, dport, seq, opts=True):
        self.sport, self.dport, self.seq = sport, dport, seq
        self.ack = ISN + 1
        self.opts = SYN_OPTS if opts else [("MSS", 1460)]

    def s(self, flags, data=b"", seq=None, ack=None, win=65535, opts=None):
        return seg(self.sport, self.dport, flags,
                   self.seq if seq is None else seq,
                   self.ack if ack is None else ack, data, win, opts)

    def syn(self):
        f = self.s("S", ack=0, opts=self.opts)
        self.seq += 1
        return f

    def data(self, d, flags="PA"):
        f = self.s(flags, d)
        self.seq += len(d)
        return f

    def fin(self):
        f = self.s("FA")
        self.seq += 1
        return f


def seeds():
    # Echo: handshake, data echoed, both FINs, the last ACK.
    p = Peer(41000, 7, 1000)
    yield "echo-conv", [
        rec(p.syn()), rec(p.s("A")), rec(p.data(b"hello ustack")),
        rec(p.s("A", ack=ISN + 1 + 12)), rec(p.fin(), ctl=0),
        rec(p.s("A", ack=ISN + 1 + 12 + 1), clock=255)]
    # Discard: segments out of order, overlapping, duplicated.
    p = Peer(41001, 9, 5000, opts=False)
    chunks = [bytes([65 + i]) * 700 for i in range(6)]
    recs = [rec(p.syn()), rec(p.s("A"))]
    base = p.seq
    for i in (1, 3, 0, 2, 2, 5, 4):
        recs.append(rec(p.s("PA", chunks[i], seq=base + 700 * i)))
    recs.append(rec(p.s("PA", b"Z" * 1000, seq=base + 350)))
    p.seq = base + 700 * 6
    recs += [rec(p.fin()), rec(p.s("A", ack=ISN + 2), clock=255)]
    yield "discard-ooo", recs
    # The stack's own connection: SYN-ACK, data echoed, stack closes first.
    p = Peer(SERVER_PORT, CLIENT_PORT, 70000)
    f = p.s("SA", opts=SYN_OPTS)
    p.seq += 1
    yield "client-conv", [
        rec(f), rec(p.data(b"GET / HTTP/1.0\r\n\r\n")),
        rec(p.s("A", ack=ISN + 1 + 18), ctl=CLOSE),
        rec(p.s("A", ack=ISN + 1 + 18 + 1)), rec(p.fin(), clock=255)]
    # Simultaneous open: a SYN crosses the stack's SYN, then the SYN-ACK.
    p = Peer(SERVER_PORT, CLIENT_PORT, 90000)
    f = p.s("S", ack=0, opts=SYN_OPTS)
    p.seq += 1
    yield "client-simopen", [rec(f), rec(p.s("SA", seq=p.seq - 1)),
                             rec(p.data(b"x" * 100))]
    # RFC 5961: in-window RST and SYN challenged, then the exact RST.
    p = Peer(41002, 7, 7000)
    yield "echo-rst", [
        rec(p.syn()), rec(p.s("A")), rec(p.s("R", seq=p.seq + 100)),
        rec(p.s("S", seq=p.seq + 5, ack=0)), rec(p.s("R"))]
    # Zero window: the stack writes 48 KiB, the peer closes its window,
    # time passes (persist probes), the window opens.
    p = Peer(41003, 9, 9000)
    yield "discard-zero-window", [
        rec(p.syn()), rec(p.s("A", win=0), ctl=BULK),
        rec(p.s("A", win=0), clock=255), rec(p.s("A", win=0), clock=230),
        rec(p.s("A", win=65535)),
        rec(p.s("A", ack=ISN + 1 + 14600, win=65535), ctl=ABORT)]
    # The same, but the peer goes silent and the application closes: the
    # unanswered probes must end the connection (fuzz_tcp checks that no
    # block is left once time has run on).
    p = Peer(41008, 9, 19000)
    yield "discard-zero-window-orphan", [
        rec(p.syn()), rec(p.s("A", win=0), ctl=BULK),
        rec(p.s("A", win=0), ctl=CLOSE)]
    # The stack's receive window closes (the application stops reading),
    # then a probe and a read.
    p = Peer(41004, 7, 11000, opts=False)
    recs = [rec(p.syn()), rec(p.s("A"), ctl=NO_READ)]
    for _ in range(50):
        recs.append(rec(p.data(b"w" * 1460), ctl=NO_READ))
    recs += [rec(p.s("A", seq=p.seq - 1), clock=255, ctl=NO_READ),
             rec(p.s("A"), ctl=SHUT_WR)]
    yield "echo-window-full", recs
    # The stack closes first; TIME_WAIT; a new SYN on the same 4-tuple.
    p = Peer(41005, 7, 13000)
    recs = [rec(p.syn()), rec(p.s("A"), ctl=CLOSE),
            rec(p.s("A", ack=ISN + 2)), rec(p.fin())]
    p2 = Peer(41005, 7, 13000 + 1000000)
    # RFC 1122 4.2.2.13: the new ISN lies beyond the old connection's
    # sequence space (tcp_input.c timewait_syn: SND.MAX + 2^17).
    p2.ack = ISN + 2 + 131072 + 1
    recs += [rec(p2.syn()), rec(p2.s("A")), rec(p2.data(b"again"))]
    yield "echo-timewait-reuse", recs
    # Simultaneous close: the stack's FIN and the peer's cross (CLOSING).
    p = Peer(41007, 7, 17000)
    yield "echo-simclose", [
        rec(p.syn()), rec(p.s("A"), ctl=CLOSE), rec(p.fin()),
        rec(p.s("A", ack=ISN + 2)), rec(p.s("A", ack=ISN + 2), clock=255)]
    # Bad input inside a connection: bad checksum kept, bad data offset.
    p = Peer(41006, 7, 15000)
    bad = bytearray(p.s("PA", b"data"))
    bad[14 + 20 + 12] = 0x30  # data offset 3 words
    yield "echo-bad", [
        rec(p.syn()), rec(p.s("A")),
        rec(p.s("PA", b"bad csum"), ctl=RAW_CSUM), rec(bytes(bad)),
        rec(p.s("FSA")), rec(p.data(b"fine"))]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_tcp")
    os.makedirs(out, exist_ok=True)
    for name, recs in seeds():
        data = b"".join(recs)
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
        print("%-22s %6d bytes, %2d records" % (name, len(data), len(recs)))


if __name__ == "__main__":
    main()
