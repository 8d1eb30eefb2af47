#!/bin/bash
# t_22 over veth + AF_PACKET.
TCP_NET=veth exec bash "$(dirname "$0")/t_22_perf_tap.sh"
