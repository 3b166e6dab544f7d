#!/usr/bin/env bash
# bench/pcscf/run-vm.sh [BUILD_DIR] [REGISTRATIONS] - registrations per second
# through the P-CSCF with the xfrm backend (kernel SA sets), inside the test
# VM (Debian's stock kernel, which has ESP), next to the same run with the
# userspace backend and Kamailio relaying without IPsec, all in one boot.
# The VM is emulated (TCG): compare the ratios, not the absolute figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-$here/../../build}")
n=${2:-1000}
results=$(mktemp -d "$build/bench-vm.XXXXXX")
trap 'rm -rf "$results"' EXIT
cat >"$results/env" <<EOT
BENCH=$build/bench/pcscf/bench_pcscf
N=$n
EOT
cat >"$results/bench.sh" <<'EOT'
source "$1/env"
echo "guest kernel $(uname -r), $(nproc) vCPU, TCG"
ip link set lo up
# Linux exempts loopback from IPsec (devinet.c sets disable_xfrm and
# disable_policy on lo): without this the P-CSCF's SAs would never be used
# and its answers would leave in the clear.
sysctl -qw net.ipv4.conf.lo.disable_xfrm=0 net.ipv4.conf.lo.disable_policy=0
echo "== xfrm (kernel ESP at the P-CSCF), and Kamailio without IPsec"
"$BENCH" --registrations "$N" --backend xfrm
echo "== userspace (simreg's ESP at the P-CSCF), same boot"
"$BENCH" --registrations "$N" --backend userspace --no-peer
# XfrmInNoStates counts the P-CSCF's ESP to the UEs: the kernel sees it
# arrive on lo and holds no SA for it (the UEs do ESP in userspace and got
# their copy through their raw sockets). Any other counter is a fault.
echo "== the kernel's IPsec error counters that are not zero"
awk '$2 != 0' /proc/net/xfrm_stat | grep . || echo none
EOT
rc=0
bash "$here/../../tests/ipsec/vm/run.sh" "$results/bench.sh" "$results" 1800 || rc=$?
cat "$results/console.log" 2>/dev/null || true
exit $rc
