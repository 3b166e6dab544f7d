#!/usr/bin/env bash
# The outcome matrix inside a qemu VM running Debian's stock kernel, whose
# ESP the xfrm backend uses (this machine's kernel has none): kernel ESP at
# both ends, and each end on a different backend (tests/lab/vm/in_vm.sh).
# Uses the VM harness of the IPsec tests (tests/ipsec/vm/).
#
# Under software emulation a row takes about half a minute (three labs at
# a time), so the test suite runs the rows that tell the outcomes apart:
# four with kernel ESP at both ends, and one combination with each mixed
# pairing. SIMREG_VM_MATRIX=all runs all 24 rows for each of the three
# pairings (72 labs, about 45 minutes; docs/lab.md has such a run),
# =xfrm all 24 with kernel ESP at both ends and five rows with each mixed
# pairing (about 15 minutes).
#
# Exit 77 (a skip) only when qemu itself cannot start, or without root.
set -uo pipefail
: "${SIMREG:?}" "${SIMREG_SOURCE_DIR:?}" "${SIMREG_BUILD_DIR:?}" "${SIMREG_TESTDATA:?}"
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (qemu's 9p share of /, network namespaces inside)"
	exit 77
fi
vm=$SIMREG_SOURCE_DIR/tests/ipsec/vm
results=$(mktemp -d "$SIMREG_BUILD_DIR/lab-vm.XXXXXX")
# One row per outcome, and modified-impi with the legacy P-CSCF; and one
# combination, the only row run with mixed backends in the "few" scope.
few="t1/none/impi,t1/outbound/impi,t1/outbound/registration,t1/modified-impi/impi"
mixed="t1/modified-impi+outbound/impi"
scope=${SIMREG_VM_MATRIX:-}
[ -n "$scope" ] || scope=few
case $scope in
all) same=all mixed=all limit=4200 ;;
xfrm) same=all mixed="$few,$mixed" limit=2400 ;;
few) same=$few limit=1500 ;;
*) echo "SIMREG_VM_MATRIX: all, xfrm or few, not '$scope'" >&2; exit 2 ;;
esac
echo "VM matrix: $scope (kernel ESP at both ends: ${same}; mixed backends: ${mixed})"
cat >"$results/env" <<EOT
SIMREG=$SIMREG
EXPECTED=$SIMREG_TESTDATA/lab/expected_matrix.tsv
ROWS_SAME=$same
ROWS_MIXED=$mixed
JOBS=3
EOT
bash "$vm/run.sh" "$SIMREG_SOURCE_DIR/tests/lab/vm/in_vm.sh" "$results" "$limit"
rc=$?
[ -f "$results/console.log" ] && cat "$results/console.log"
if [ $rc -eq 0 ] && [ "${SIMREG_KEEP:-}" != 1 ]; then
	rm -rf "$results"
else
	echo "VM results kept in $results"
fi
exit $rc
