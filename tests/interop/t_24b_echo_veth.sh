#!/bin/bash
# t_24 over veth + AF_PACKET.
TCP_NET=veth exec bash "$(dirname "$0")/t_24_echo_tap.sh"
