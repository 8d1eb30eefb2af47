#!/bin/bash
# t_23 over veth + AF_PACKET.
TCP_NET=veth exec bash "$(dirname "$0")/t_23_stat_tap.sh"
