#!/usr/bin/env bash
# Kernel ESP (the xfrm backend) under Debian's stock kernel in qemu, since
# this machine's kernel has no ESP: xfrm at both ends, and xfrm at one end
# with simreg's userspace ESP at the other, both ways round, IPv4 and IPv6;
# then adoption after a restart and error reporting (vm/in_vm.sh); and, in
# the same boot, the P-CSCF's restart with the xfrm backend
# (tests/pcscf/vm_xfrm_restart.sh).
#
# Exit 77 (a skip) only when qemu itself cannot start; vm/run.sh says why.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
results=$(mktemp -d "$SIMREG_BUILD_DIR/ipsec-vm.XXXXXX")
cat >"$results/env" <<EOT
PEER=$SIMREG_BUILD_DIR/tests/ipsec/ipsec_peer
SIMREG=$SIMREG
SIMREG_SOURCE_DIR=$SIMREG_SOURCE_DIR
SIMREG_BUILD_DIR=$SIMREG_BUILD_DIR
EOT
bash "$here/vm/run.sh" "$here/vm/in_vm.sh" "$results" 1200
rc=$?
[ -f "$results/console.log" ] && cat "$results/console.log"
if [ $rc -eq 0 ]; then
	rm -rf "$results"
else
	echo "VM results kept in $results"
fi
exit $rc
