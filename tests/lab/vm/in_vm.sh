#!/usr/bin/env bash
# Runs inside the test VM (Debian's stock kernel, which has ESP), chrooted
# into the host's filesystem; see tests/lab/vm_matrix.sh. $1 is the results
# directory; its `env` holds the paths and the rows to run.
#
# The matrix with kernel ESP at both ends (the xfrm backend), then with the
# UE on one backend and the P-CSCFs on the other, both ways round; each
# compared with the table of DESIGN.md section 4. Then one lab with kernel
# ESP whose captures tshark must decrypt with the keys the functions
# exported (`simreg lab evidence`).
set -uo pipefail
results=$1
source "$results/env"
work=$(mktemp -d /tmp/simreg-vm-lab-XXXXXX)
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
echo "kernel: $(uname -r), $(nproc) CPUs, $(free -m | awk '/Mem:/ { print $2 }') MB"
"$SIMREG" ipsec probe | grep -q 'auto: *xfrm' || fail "the kernel does not take ESP SAs"

grep -v '^#' "$EXPECTED" | sort >"$work/expected.tsv"
# backend of the P-CSCFs / of the UE
for pair in xfrm/xfrm xfrm/userspace userspace/xfrm; do
	pc=${pair%/*} ue=${pair#*/}
	rows=$ROWS_SAME
	[ "$pc" = "$ue" ] || rows=$ROWS_MIXED
	# Emulated CPUs, three labs at a time: a function may take longer than
	# the 15 s a real machine allows it to become ready.
	args=(lab matrix --json --jobs "$JOBS" --backend "$pc" --ue-backend "$ue"
	      --dir "$work/$pc-$ue" --no-evidence --ready-timeout 60000)
	[ "$rows" = all ] || args+=(--rows "$rows")
	start=$(date +%s)
	"$SIMREG" "${args[@]}" >"$results/matrix-$pc-$ue.json" 2>"$work/$pc-$ue.err"
	rc=$?
	echo "== P-CSCF $pc, UE $ue: matrix exit $rc after $(($(date +%s) - start)) s"
	[ $rc = 0 ] || { fail "matrix $pair exited $rc"; tail -5 "$work/$pc-$ue.err"; }
	jq -r '.rows[] | [.mechanism, .binding, .topology, .outcome] | @tsv' \
		"$results/matrix-$pc-$ue.json" | sort >"$work/measured.tsv"
	awk -F'\t' 'NR == FNR { ran[$1 FS $2 FS $3] = 1; next } ($1 FS $2 FS $3) in ran' \
		"$work/measured.tsv" "$work/expected.tsv" >"$work/expected.sel"
	cat "$work/measured.tsv"
	[ -s "$work/measured.tsv" ] || fail "$pair: no row measured"
	diff -u "$work/expected.sel" "$work/measured.tsv" || fail "$pair: outcomes differ"
	# The backends really were those: the P-CSCFs report theirs.
	for log in "$work/$pc-$ue"/*/pcscf*.log; do
		case $log in *.dumpcap.log) continue ;; esac	# a capture's, not a P-CSCF's
		grep -q "IPsec $pc" "$log" || fail "$log: not on the $pc backend"
	done
	for log in "$work/$pc-$ue"/*/ue.log; do
		grep -q "IPsec $ue" "$log" || fail "$log: the UE not on the $ue backend"
	done
done

echo "== kernel ESP in the captures, decrypted by tshark with the exported keys"
d=$work/evidence
"$SIMREG" lab up --topology t1 --mechanism outbound --backend xfrm --ready-timeout 60000 --dir "$d" >/dev/null 2>&1 ||
	fail "lab up with xfrm"
"$SIMREG" lab run --dir "$d" register wlan register umts message reauth wlan >"$work/run" 2>&1 ||
	{ fail "lab run"; cat "$work/run"; }
"$SIMREG" lab down --dir "$d" >/dev/null 2>&1 || fail "lab down"
"$SIMREG" lab evidence --dir "$d" >"$results/evidence-xfrm.txt" 2>&1 || fail "lab evidence"
cat "$results/evidence-xfrm.txt"
grep -q "every frame decodes and every ESP packet decrypts" "$results/evidence-xfrm.txt" ||
	fail "kernel ESP did not decrypt"
"$SIMREG" lab diagram --dir "$d" >"$results/diagram-xfrm.txt" 2>&1 || fail "lab diagram"
cp "$d/diagram.svg" "$results/diagram-xfrm.svg" 2>/dev/null

rm -rf "$work"
echo "lab in the VM: $fails failure(s)"
[ $fails = 0 ]
