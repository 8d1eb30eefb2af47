#!/bin/bash
# t_13 over veth + AF_PACKET (kernel side: tso off, gso off).
TCP_NET=veth exec bash "$(dirname "$0")/t_13_tcp_seq_tap.sh"
