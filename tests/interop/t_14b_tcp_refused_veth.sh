#!/bin/bash
# t_14 over veth + AF_PACKET (kernel side: tso off, gso off).
TCP_NET=veth exec bash "$(dirname "$0")/t_14_tcp_refused_tap.sh"
