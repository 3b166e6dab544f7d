#!/usr/bin/env bash
# matrix.sh - the outcome matrix of DESIGN.md section 4, measured: all 24
# rows (6 mechanisms x 2 P-CSCF bindings x 2 topologies), each a lab of the
# real functions in network namespaces, compared with the table transcribed
# from the design (tests/data/lab/expected_matrix.tsv). Also: every row
# authenticated with vectors of the original subscription that verify
# under its K, every challenge carried its own CK/IK, and the text report
# holds the same outcomes as the JSON one. Root; "skipped" (77) otherwise.
#
# SIMREG_MATRIX_ROWS=FILTER limits the rows (then only those are compared).
set -euo pipefail
: "${SIMREG:?}" "${SIMREG_TESTDATA:?}"
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (network namespaces)"
	exit 77
fi
for tool in ip dumpcap tshark sipp jq; do
	command -v "$tool" >/dev/null || { echo "skipped: $tool is missing"; exit 77; }
done

work=$(mktemp -d /tmp/simreg-mxt-XXXXXX)
cleanup() {
	local d
	# A row's lab is normally down already; this is for an interrupted run.
	for d in "$work"/rows/*/; do
		[ -f "$d/lab.json" ] && "$SIMREG" lab down --dir "$d" >/dev/null 2>&1 || true
	done
	if [ "${SIMREG_KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

rows=${SIMREG_MATRIX_ROWS:-}
args=(lab matrix --json --jobs 4 --dir "$work/rows")
[ -n "$rows" ] && args+=(--rows "$rows")
start=$(date +%s)
set +e
"$SIMREG" "${args[@]}" >"$work/matrix.json" 2>"$work/matrix.err"
rc=$?
set -e
echo "matrix: exit $rc after $(($(date +%s) - start)) s"
if [ $rc != 0 ]; then
	fail "simreg lab matrix exited $rc"
	tail -20 "$work/matrix.err" >&2
	for log in "$work"/rows/*/matrix.log; do
		grep -q '"error": null' "$(dirname "$log")/result.json" 2>/dev/null && continue
		echo "--- $log" >&2
		grep -E 'error|warn' "$log" | tail -10 >&2 || true
	done
fi

# ---- the table --------------------------------------------------------------
jq -r '.rows[] | [.mechanism, .binding, .topology, .outcome] | @tsv' "$work/matrix.json" |
	sort >"$work/measured.tsv"
grep -v '^#' "$SIMREG_TESTDATA/lab/expected_matrix.tsv" | sort >"$work/expected.tsv"
if [ -n "$rows" ]; then
	# Only the rows that ran.
	awk -F'\t' 'NR == FNR { ran[$1 FS $2 FS $3] = 1; next } ($1 FS $2 FS $3) in ran' \
		"$work/measured.tsv" "$work/expected.tsv" >"$work/expected.sel"
	mv "$work/expected.sel" "$work/expected.tsv"
fi
n=$(wc -l <"$work/measured.tsv")
[ "$n" -gt 0 ] || fail "no row was measured"
if ! diff -u "$work/expected.tsv" "$work/measured.tsv"; then
	fail "the measured outcomes differ from DESIGN.md section 4 (- expected, + measured)"
else
	echo "table: $n rows as in DESIGN.md section 4"
fi

# ---- no function, and no lab, reported a sanitizer error ------------------------
# (the sanitizer build runs every function under ASan and UBSan)
san=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	"$work"/rows/*/*.log "$work"/rows/*/*/*.log 2>/dev/null || true)
[ -z "$san" ] || { fail "sanitizer reports in: $san"; grep -h -A5 -E 'Sanitizer|runtime error' $san | head -40 >&2; }

# ---- what every row must show, whatever its outcome ---------------------------
jq -e '.failed == 0' "$work/matrix.json" >/dev/null || fail "rows failed to run"
bad=$(jq -r '.rows[] | select(.keys.ok != true) | .row' "$work/matrix.json")
[ -z "$bad" ] || fail "vectors or keys not as they must be in: $bad"
# tshark reads every capture: all decodes, ESP decrypts, the counts agree.
bad=$(jq -r '.rows[] | select(.captures.ok != true or .captures.esp_packets == 0) | .row' \
	"$work/matrix.json")
[ -z "$bad" ] || fail "captures that do not check out in: $bad"
# Every vector verified under the subscription's K; one MAR and one 401 per
# challenge; distinct CK/IK for each.
jq -e 'all(.rows[]; .keys.vectors == .keys.verified and .keys.vectors == .keys.mar
	and .keys.challenges == .keys.distinct_keys and .keys.challenges == .scscf_challenges
	and .keys.impis_of_subscription)' "$work/matrix.json" >/dev/null ||
	fail "a row's vectors, challenges and keys do not add up"
# modified-impi registers access B with a derived IMPI, which the HSS maps to
# the one subscription; the others use the one IMPI twice.
jq -e 'all(.rows[] | select(.mechanism | startswith("modified-impi"));
		.accesses[0].impi != .accesses[1].impi and (.keys.impis | length) == 2)
	and all(.rows[] | select(.mechanism | startswith("modified-impi") | not);
		.accesses[0].impi == .accesses[1].impi and (.keys.impis | length) == 1)' \
	"$work/matrix.json" >/dev/null || fail "IMPIs per access not as the mechanisms say"
# Where both accesses worked, re-authenticating A left B's SA set as it was.
jq -e 'all(.rows[] | select(.outcome == "works"); .reauth == "done" and .other_untouched)' \
	"$work/matrix.json" >/dev/null || fail "a working row did not re-authenticate A alone"

echo "matrix: $fails failure(s)"
[ $fails = 0 ]
