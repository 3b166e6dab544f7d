#!/usr/bin/env bash
# tests/ipsec/vm/run.sh SCRIPT RESULTS_DIR [TIMEOUT_S]
#
# Boot Debian's stock kernel under qemu with this machine's root filesystem
# shared read-only (9p) and RESULTS_DIR shared writable, run `bash SCRIPT
# RESULTS_DIR` inside (chrooted into the shared root, so host-built binaries
# and host tools run unchanged), power off, and exit with SCRIPT's status.
# SCRIPT's output is in RESULTS_DIR/console.log, the VM's own console in
# RESULTS_DIR/qemu.log.
#
# Exit status: SCRIPT's, or 77 when qemu itself cannot start (not
# installed, or refusing to boot): the caller reports a skip and the reason
# is printed loudly on stderr. No kernel (the Debian mirror unreachable, a
# broken package) and a VM that started but did not report a status
# (timeout, crash) are failures (1), never skips.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
script=$(realpath "$1")
results=$(realpath "$2")
limit=${3:-600}

skip() {
	{
		echo "######################################################################"
		echo "## SKIP: the qemu VM cannot start: $*"
		echo "## Kernel ESP (xfrm backend) is NOT tested in this run."
		echo "######################################################################"
	} >&2
	exit 77
}

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (scripts/deps.sh)"
kdir=$("$here/kernel.sh") || {
	echo "vm: FAIL: no bootable kernel (see the messages above)" >&2
	exit 1
}

rm -f "$results/rc" "$results/console.log"
# Software emulation (TCG) as the recipe in kernel-esp-in-qemu.md says: KVM
# is absent or unusable (nested MSR failures) on the machines this runs on.
# SIMREG_VM_ACCEL=kvm opts in where it works.
accel=(-accel "${SIMREG_VM_ACCEL:-tcg}")

# The guest covers /tmp, /root, /run and /var/tmp with tmpfs; the source
# tree and the build tree are shared on their own so that a clone in one of
# those places is seen too.
srcdir=$(cd "$here/../../.." && pwd)
builddir=$(realpath "${SIMREG_BUILD_DIR:-$srcdir}")
shares=(-virtfs "local,path=$srcdir,mount_tag=src,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$builddir,mount_tag=build,security_model=none,readonly=on,multidevs=remap")

start=$(date +%s)
timeout --kill-after=10 "$limit" qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 \
	-nographic -no-reboot -nic none \
	-kernel "$kdir/vmlinuz" -initrd "$kdir/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1 simreg.run=$script simreg.results=$results simreg.src=$srcdir simreg.build=$builddir" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	"${shares[@]}" \
	-virtfs local,path="$results",mount_tag=results,security_model=none,multidevs=remap \
	</dev/null >"$results/qemu.log" 2>&1
qrc=$?
secs=$(( $(date +%s) - start ))

if [ -f "$results/rc" ]; then
	rc=$(cat "$results/rc")
	echo "vm: $(basename "$script") exited $rc after ${secs}s (${accel[1]})" >&2
	exit "$rc"
fi
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "vm: FAIL: no result after ${limit}s (timeout); last console lines:" >&2
	tail -20 "$results/qemu.log" >&2
	exit 1
fi
if ! grep -q 'init: running' "$results/qemu.log"; then
	tail -20 "$results/qemu.log" >&2
	skip "qemu exited $qrc before the guest's init ran"
fi
echo "vm: FAIL: the guest ran but reported no status (qemu exit $qrc):" >&2
tail -20 "$results/qemu.log" >&2
exit 1
