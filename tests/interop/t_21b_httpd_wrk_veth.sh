#!/bin/bash
# t_21 over veth + AF_PACKET.
TCP_NET=veth exec bash "$(dirname "$0")/t_21_httpd_wrk_tap.sh"
