#!/bin/bash
# t_20 over veth + AF_PACKET.
TCP_NET=veth exec bash "$(dirname "$0")/t_20_httpd_tap.sh"
