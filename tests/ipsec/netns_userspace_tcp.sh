#!/usr/bin/env bash
# TCP over the SAs with the userspace ESP backend, in two network
# namespaces, IPv4 (198.18.7.0/24) and IPv6 (2001:db8:7::/64): the UE
# connects from port_uc to the P-CSCF's port_ps and the P-CSCF from port_pc
# to the UE's port_us (TS 33.203 §7.1), and SIP requests and responses go
# both ways over the kernel's TCP, through each side's TUN device and ESP.
# Then: a connection no SA selects leaves nothing on the link; cleartext
# connections to the protected ports from the link are refused; the
# counters moved; and tshark, decrypting the capture with the keys the
# P-CSCF exported, sees TCP with good checksums and the SIP inside every
# ESP packet, and no cleartext TCP but the refused attempts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PEER=$SIMREG_BUILD_DIR/tests/ipsec/ipsec_peer
work=$(mktemp -d)
ns_prefix=ptcp
source "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)"; exit 1; }
lab_up

run_tcp_pair userspace userspace v4 198.18.7.2 198.18.7.1 $((0x30000)) 22000
run_tcp_pair userspace userspace v6 2001:db8:7::2 2001:db8:7::1 $((0x40000)) 23000
echo "2 passed, 0 failed"
