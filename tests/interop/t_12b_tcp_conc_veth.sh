#!/bin/bash
# t_12 over veth + AF_PACKET (kernel side: tso off, gso off).
TCP_NET=veth exec bash "$(dirname "$0")/t_12_tcp_conc_tap.sh"
