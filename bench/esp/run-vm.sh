#!/usr/bin/env bash
# bench/esp/run-vm.sh [BUILD_DIR] [SETS] - SA-set installs per second with the
# xfrm backend, inside the test VM (Debian's stock kernel, which has ESP),
# against iproute2's `ip -batch` doing the same in the same run.
# The VM is emulated (TCG): compare the ratio, not the absolute figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-$here/../../build}")
sets=${2:-2000}
results=$(mktemp -d "$build/bench-vm.XXXXXX")
trap 'rm -rf "$results"' EXIT
cat >"$results/env" <<EOT
BENCH=$build/bench/esp/bench_sa_install
SETS=$sets
EOT
cat >"$results/bench.sh" <<'EOT'
source "$1/env"
echo "guest kernel $(uname -r), $(nproc) vCPU, TCG"
"$BENCH" "$SETS"
EOT
rc=0
bash "$here/../../tests/ipsec/vm/run.sh" "$results/bench.sh" "$results" 1800 || rc=$?
cat "$results/console.log" 2>/dev/null || true
exit $rc
