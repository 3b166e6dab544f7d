#!/usr/bin/env bash
# The userspace ESP backend on this host, in two network namespaces: a UE
# and a P-CSCF exchange SIP messages over all four SAs of a set, in IPv4
# (198.18.7.0/24) and IPv6 (2001:db8:7::/64); an attacker replays and
# tampers with captured ESP, which is dropped and counted; tshark decrypts
# the capture with the keys the P-CSCF exported and must see the SIP inside.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PEER=$SIMREG_BUILD_DIR/tests/ipsec/ipsec_peer
work=$(mktemp -d)
source "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)"; exit 1; }
lab_up

run_pair userspace userspace v4 198.18.7.2 198.18.7.1 $((0x10000)) 20000
run_pair userspace userspace v6 2001:db8:7::2 2001:db8:7::1 $((0x20000)) 21000
echo "2 passed, 0 failed"
