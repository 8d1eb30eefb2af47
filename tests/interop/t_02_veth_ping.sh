#!/bin/bash
# veth + AF_PACKET: the kernel's end (10.8.0.1/24) in one namespace,
# ustack's end (no kernel address) in another; ping sizes as over TAP.
. "$(dirname "$0")/lib.sh"

veth_setup vp
start_demo "$U" "$T_TMP/demo.log" --dev afpacket --ifname vu --ip 10.8.0.2/24
wait_ping "$K" 10.8.0.2 || { show_log "$T_TMP/demo.log"; fail "10.8.0.2 never answered"; }
ping_sizes "$K" 10.8.0.2 || { show_log "$T_TMP/demo.log"; fail "ping lost packets"; }
stop_demo "$T_TMP/demo.log"
