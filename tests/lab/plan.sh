#!/usr/bin/env bash
# plan.sh - the topologies as an engineer reads them: `simreg lab plan` for
# t1 and t2 (addresses, routes, services, captures) and the commands `up`
# runs, compared with stored transcripts; and the usage errors of
# `simreg lab`, which must exit 2 and name what is wrong. Needs no root.
#
# After an intended change: SIMREG_REGEN=1 ctest -R lab_plan, then review
# the diff of tests/lab/golden/.
set -euo pipefail
: "${SIMREG:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# ---- transcripts ---------------------------------------------------------
n=0
for t in t1 t2; do
	for mode in plan commands; do
		args=(lab plan --topology "$t")
		[ "$mode" = commands ] && args+=(--commands)
		"$SIMREG" "${args[@]}" >"$work/out"
		golden="$here/golden/$mode-$t.txt"
		if [ -n "${SIMREG_REGEN:-}" ]; then
			cp "$work/out" "$golden"
		elif ! diff -u "$golden" "$work/out"; then
			fail "$mode $t differs from $golden"
		fi
		n=$((n + 1))
	done
done
# The deployment files `up` writes, for one set of options per topology.
declare -A config_opts=(
	[t1]="--mechanism modified-impi+outbound --binding impi --backend userspace"
	[t2]="--mechanism regevent-probe --backend xfrm --ue-backend userspace --no-keys"
)
for t in t1 t2; do
	read -r -a opts <<<"${config_opts[$t]}"
	"$SIMREG" lab plan --topology "$t" --configs "${opts[@]}" >"$work/out"
	golden="$here/golden/configs-$t.txt"
	if [ -n "${SIMREG_REGEN:-}" ]; then
		cp "$work/out" "$golden"
	elif ! diff -u "$golden" "$work/out"; then
		fail "configs $t differs from $golden"
	fi
	n=$((n + 1))
	# Each file must pass the functions' own validation.
	awk -v d="$work" '/^==> DIR\/.*\.yaml <==$/ { f = d "/" $2; sub("DIR/", "", f); next }
		f { print > f }' "$work/out"
	for y in "$work"/*.yaml; do
		"$SIMREG" config check "$y" || fail "configs $t: $(basename "$y") is not valid"
		rm -f "$y"
	done
done
echo "transcripts: $n compared"

# ---- usage errors ----------------------------------------------------------
# args | text the message must contain
usage_cases=(
	"lab|expected demo, matrix, up, run, evidence, diagram, down, status or plan"
	"lab sideways|unknown subcommand 'sideways'"
	"lab plan|--topology must be t1 or t2"
	"lab plan --topology t3|--topology must be t1 or t2"
	"lab up --topology t1|--dir is required"
	"lab down|--dir is required"
	"lab status --dir|requires an argument"
	"lab down --dir d --topology t1|option --topology does not apply"
	"lab up --topology t1 --dir d --ready-timeout soon|'soon' is not a number"
	"lab up --topology t1 --dir d --grace -5|'-5' is not a number"
	"lab up --topology t1 --dir d --exec x ue ready|expected ROLE READY CMD"
	"lab up --topology t1 --dir d --exec x ue ready sh|expected ROLE READY CMD"
	"lab plan --topology t1 extra|unexpected argument 'extra'"
	"lab up --topology t1 --dir d --mechanism twice|--mechanism: no 'twice'"
	"lab up --topology t1 --dir d --binding flow|--binding: no 'flow'"
	"lab up --topology t1 --dir d --backend kernel|--backend: no 'kernel'"
	"lab up --topology t1 --dir d --ue-backend esp|--ue-backend: no 'esp'"
	"lab up --topology t1 --dir d --mechanism outbound --exec x ue ready sh ;|--exec runs your processes"
	"lab down --dir d --mechanism none|option --mechanism does not apply"
	"lab plan --topology t1 --mechanism none|go with --configs"
	"lab plan --topology t1 --configs --commands|--commands or --configs"
	"lab run --dir d|expected steps"
	"lab matrix --jobs 0|--jobs: 1 to 24"
	"lab matrix --jobs many|'many' is not a number of processes"
	"lab demo --notice-wait 9999|--notice-wait: at most 600"
	"lab evidence|--dir is required"
	"lab diagram --dir d extra|unexpected argument 'extra'"
)
for c in "${usage_cases[@]}"; do
	read -r -a args <<<"${c%%|*}"
	want=${c#*|}
	set +e
	"$SIMREG" "${args[@]}" >"$work/out" 2>"$work/err"
	rc=$?
	set -e
	[ $rc = 2 ] || fail "simreg ${args[*]}: exit $rc, expected 2"
	grep -qF -- "$want" "$work/err" || fail "simreg ${args[*]}: no '$want' in: $(cat "$work/err")"
done
echo "usage errors: ${#usage_cases[@]} cases"

# ---- the manual -------------------------------------------------------------
"$SIMREG" lab --help >"$work/out"
for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS"; do
	grep -q "^$section" "$work/out" || fail "lab --help: no $section"
done

# ---- not root ------------------------------------------------------------
# up and down refuse clearly, and change nothing.
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	! "${nobody[@]}" "$SIMREG" --version >/dev/null 2>&1; then
	echo "not root: skipped (user 65534 cannot run $SIMREG here)"
elif [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$work"
	as_nobody() {
		set +e
		"${nobody[@]}" "$SIMREG" "$@" >"$work/out" 2>"$work/err"
		rc=$?
		set -e
	}
	as_nobody lab up --topology t1 --dir "$work/lab"
	[ $rc = 1 ] && grep -q "must run as root" "$work/err" ||
		fail "lab up as nobody: exit $rc: $(cat "$work/err")"
	as_nobody lab down --dir "$work"
	[ $rc = 1 ] && grep -q "must run as root" "$work/err" ||
		fail "lab down as nobody: exit $rc: $(cat "$work/err")"
	[ ! -e "$work/lab" ] || fail "lab up as nobody created $work/lab"
	echo "not root: refused"
fi

if [ $fails -ne 0 ]; then
	echo "$fails failures" >&2
	exit 1
fi
echo "lab plan: all checks passed"
