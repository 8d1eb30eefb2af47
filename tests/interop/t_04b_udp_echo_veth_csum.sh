#!/bin/bash
# UDP echo over veth with the kernel side's checksum offload off
# (ethtool -K vk tx off): every checksum ustack sees is a real one.
VETH_TX=off exec bash "$(dirname "$0")/t_04_udp_echo_veth.sh"
