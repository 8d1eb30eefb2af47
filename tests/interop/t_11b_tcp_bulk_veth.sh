#!/bin/bash
# t_11 over veth + AF_PACKET (kernel side: tso off, gso off).
TCP_NET=veth exec bash "$(dirname "$0")/t_11_tcp_bulk_tap.sh"
