#!/bin/bash
# t_27 over veth + AF_PACKET.
TCP_NET=veth exec bash "$(dirname "$0")/t_27_httpd_onesend_tap.sh"
