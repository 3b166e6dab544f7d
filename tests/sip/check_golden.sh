#!/usr/bin/env bash
# check_golden.sh [--update] - `simreg sip check` over the RFC 4475 corpus,
# compared with tests/sip/golden/rfc4475.check.
#
# Regenerate after an intended change (then review the diff):
#   SIMREG=build/src/simreg SIMREG_TESTDATA=tests/data tests/sip/check_golden.sh --update
#
# Also checks that the verdicts agree with MANIFEST.tsv: every "valid"
# message ok, every "invalid" one invalid, and the exit status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SIMREG=$(realpath "$SIMREG")
SIMREG_TESTDATA=$(realpath "$SIMREG_TESTDATA")
golden=$here/golden/rfc4475.check
corpus=$SIMREG_TESTDATA/rfc4475
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Relative names keep the output independent of where the tree lives.
cd "$corpus"
set +e
"$SIMREG" sip check *.dat >"$out"
status=$?
set -e
if [ "$status" -ne 1 ]; then
	echo "expected exit status 1 (some messages invalid), got $status" >&2
	exit 1
fi

if [ "${1:-}" = "--update" ]; then
	cp "$out" "$golden"
	echo "updated $golden"
	exit 0
fi
if ! diff -u "$golden" "$out"; then
	echo "sip check output differs from $golden (see the header of $0 to regenerate)" >&2
	exit 1
fi

bad=0
while IFS=$'\t' read -r file section title class rest; do
	[ "$file" = file ] && continue
	line=$(grep "^$file: " "$out")
	case "$class" in
	valid) [[ "$line" == "$file: ok "* ]] || { echo "valid but: $line" >&2; bad=1; } ;;
	invalid) [[ "$line" == "$file: invalid: "* ]] || { echo "invalid but: $line" >&2; bad=1; } ;;
	esac
done <MANIFEST.tsv
[ "$bad" -eq 0 ]

# Every valid file alone: exit status 0. Unreadable file: status 1, usage: 2.
"$SIMREG" sip check wsinv.dat dblreq.dat >/dev/null
set +e
"$SIMREG" sip check /nonexistent/x.dat >/dev/null; s1=$?
"$SIMREG" sip check >/dev/null 2>&1; s2=$?
"$SIMREG" sip check --bogus x >/dev/null 2>&1; s3=$?
set -e
[ "$s1" -eq 1 ] && [ "$s2" -eq 2 ] && [ "$s3" -eq 2 ] || { echo "exit statuses $s1 $s2 $s3" >&2; exit 1; }
"$SIMREG" sip --help | grep -q '^SYNOPSIS'

# --crlf: a message pasted with LF line ends
printf 'OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:b@example.com>;tag=1\nTo: <sip:a@example.com>\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n' >"$out"
lf=$("$SIMREG" sip check "$out" || true)
grep -q 'invalid: line ends in LF without CR (SIP needs CRLF) (line 1' <<<"$lf"
grep -q ': ok OPTIONS$' <<<"$("$SIMREG" sip check --crlf "$out")"
echo "sip check: 50 messages as in $golden"
