#!/bin/bash
# t_10 over veth + AF_PACKET (kernel side: tso off, gso off).
TCP_NET=veth exec bash "$(dirname "$0")/t_10_tcp_demo_tap.sh"
