#!/usr/bin/python3
"""Write the seed corpus for fuzz_frame into tests/fuzz/corpus/.

Each file is one input for fuzz_frame.c: one byte choosing how far the
virtual clock moves afterwards, then one Ethernet frame. The frames are
addressed to the stack the harness builds (10.0.0.2, 02:00:00:00:00:0a)
from its peer (10.0.0.1, 02:00:00:00:00:0b).

  /usr/bin/python3 tests/fuzz/make-corpus.py [OUTDIR]
"""
import os
import sys

from scapy.all import (ARP, ICMP, IP, UDP, Ether, IPOption_NOP,
                       IPOption_RR, Raw, fragment)

US_MAC, PEER_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
US_IP, PEER_IP, FAR_IP = "10.0.0.2", "10.0.0.1", "192.0.2.9"
BCAST = "ff:ff:ff:ff:ff:ff"


def eth(dst=US_MAC):
    return Ether(src=PEER_MAC, dst=dst)


def seeds():
    yield "arp-request", 0, eth(BCAST) / ARP(
        op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=US_IP)
    yield "arp-reply", 0, eth() / ARP(
        op=2, hwsrc=PEER_MAC, psrc=PEER_IP, hwdst=US_MAC, pdst=US_IP)
    yield "arp-garp", 0, eth(BCAST) / ARP(
        op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=PEER_IP)
    yield "icmp-echo", 1, eth() / IP(src=PEER_IP, dst=US_IP) / ICMP(
        id=0x4242, seq=1) / Raw(bytes(range(56)))
    yield "icmp-echo-options", 1, eth() / IP(
        src=PEER_IP, dst=US_IP,
        options=[IPOption_NOP(), IPOption_RR(routers=["0.0.0.0"] * 2)]
    ) / ICMP() / Raw(b"x" * 8)
    yield "icmp-echo-bcast", 1, eth(BCAST) / IP(
        src=PEER_IP, dst="10.0.0.255") / ICMP() / Raw(b"y" * 8)
    yield "udp-echo", 1, eth() / IP(src=PEER_IP, dst=US_IP) / UDP(
        sport=5555, dport=7) / Raw(b"hello ustack")
    yield "udp-echo-offlink", 1, eth() / IP(src=FAR_IP, dst=US_IP) / UDP(
        sport=5555, dport=7) / Raw(b"via the gateway")
    yield "udp-closed-port", 1, eth() / IP(src=PEER_IP, dst=US_IP) / UDP(
        sport=5555, dport=9999) / Raw(b"nobody home")
    yield "udp-nocsum", 1, eth() / IP(src=PEER_IP, dst=US_IP) / UDP(
        sport=5555, dport=7, chksum=0) / Raw(b"no checksum")
    # A datagram in three fragments, one seed each: the stack keeps its
    # reassembly state between inputs, so the fuzzer can combine them.
    big = IP(src=PEER_IP, dst=US_IP, id=0x7777) / UDP(
        sport=5555, dport=7) / Raw(bytes(i & 0xff for i in range(3000)))
    for i, f in enumerate(fragment(big, fragsize=1480)):
        yield "udp-frag%d" % i, 2, eth() / f
    # ICMP errors about datagrams we sent: port unreachable, frag needed.
    quote = IP(src=US_IP, dst=PEER_IP) / UDP(sport=7, dport=5555) / Raw(
        b"12345678")
    yield "icmp-port-unreach", 1, eth() / IP(src=PEER_IP, dst=US_IP) / ICMP(
        type=3, code=3) / Raw(bytes(quote))
    yield "icmp-frag-needed", 1, eth() / IP(src=PEER_IP, dst=US_IP) / ICMP(
        type=3, code=4, nexthopmtu=1280) / Raw(bytes(quote))
    yield "icmp-time-exceeded", 1, eth() / IP(src=PEER_IP, dst=US_IP) / ICMP(
        type=11, code=0) / Raw(bytes(quote))
    # Time passes: ARP retries, reassembly timeout, cache aging.
    yield "timer-jump", 255, eth() / IP(src=PEER_IP, dst=US_IP) / UDP(
        sport=1, dport=2)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, tick, frame in seeds():
        data = bytes([tick]) + bytes(frame)
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
        print("%-22s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
