#!/usr/bin/env bash
# demo.sh - `simreg lab demo`, the README's main command, end to end: its
# three acts run as DESIGN.md section 4 says (exit 0 and the closing line),
# the narration reports what the design predicts for each act, every act
# leaves captures that tshark reads back (`simreg lab evidence` again, from
# the files alone), sequence diagrams that are well-formed SVG and text with
# the protected messages marked, and nothing of the labs behind. The drop
# watch is shortened (--notice-wait 3). Root; "skipped" (77) otherwise.
set -euo pipefail
: "${SIMREG:?}"
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (network namespaces)"
	exit 77
fi
for tool in ip dumpcap tshark sipp xmllint; do
	command -v "$tool" >/dev/null || { echo "skipped: $tool is missing"; exit 77; }
done

work=$(mktemp -d /tmp/simreg-demot-XXXXXX)
cleanup() {
	local d
	for d in "$work"/demo/*/; do
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

start=$(date +%s)
set +e
"$SIMREG" lab demo --dir "$work/demo" --notice-wait 40 >"$work/out" 2>"$work/err"
rc=$?
set -e
echo "demo: exit $rc after $(($(date +%s) - start)) s"
[ $rc = 0 ] || { fail "the demo exited $rc"; tail -40 "$work/out" >&2; cat "$work/err" >&2; }
grep -q "Everything went as DESIGN.md section 4 says" "$work/out" ||
	fail "the demo does not end saying everything went as designed"

# ---- no function, and no lab, reported a sanitizer error ------------------------
# (the sanitizer build runs every function under ASan and UBSan)
san=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	"$work"/demo/*/*.log "$work"/demo/*/*/*.log 2>/dev/null || true)
[ -z "$san" ] || { fail "sanitizer reports in: $san"; grep -h -A5 -E 'Sanitizer|runtime error' $san | head -40 >&2; }

# ---- what the narration reports, act by act ---------------------------------------
summary=$(sed -n '/^== Summary/,$p' "$work/out")
row() { grep -E "^  $1\. " <<<"$summary" || true; }
[[ $(row 1) =~ outbound\ +registration\ +AB\ +AB\ +AB\ +alone ]] ||
	fail "act 1: not both bound, protected, reached and re-authenticated alone: $(row 1)"
[[ $(row 2) =~ outbound\ +impi\ +AB\ +-B\ +-B ]] ||
	fail "act 2: the legacy P-CSCF should leave wlan bound but without SAs: $(row 2)"
[[ $(row 3) =~ modified-impi\ +impi\ +AB\ +AB\ +AB\ +alone ]] ||
	fail "act 3: modified-impi should work with the legacy P-CSCF: $(row 3)"
[ "$(grep -c 'tshark agrees' <<<"$summary")" = 3 ] || fail "an act's evidence did not check out"
grep -q "UE umts: registered as alice+2@ims.test" "$work/out" ||
	fail "act 3: umts did not register with the derived IMPI"
grep -q "wlan's SA set is gone at the P-CSCF" "$work/out" ||
	fail "act 2: the narration does not tell that wlan's SAs are gone"
grep -q "The wlan link comes back" "$work/out" || fail "act 1: the link never came back"
# The drop is noticed: the P-CSCF fails the silent flow, and the S-CSCF ends the
# binding on the P-CSCF's 430 (RFC 5626), both said by the functions' own state and logs.
grep -q "Act 1, the wlan link dropping: noticed: flow failed at the P-CSCF, binding ended on its 430" \
	"$work/out" || fail "act 1: the network did not notice the dropped link"
grep -q "flow [0-9]* (alice@ims.test, contact .*) failed: nothing over SA set" \
	"$work/demo/1-registration"/pcscf*.log || fail "act 1: the P-CSCF log does not say the flow failed"
grep -q "flow failed (430 from the edge proxy" "$work/demo/1-registration"/scscf*.log ||
	fail "act 1: the S-CSCF log does not say it ended the binding on a 430"

# ---- the files each act leaves ---------------------------------------------------------
for act in 1-registration 2-legacy 3-modified-impi; do
	d=$work/demo/$act
	for f in lab.json ue-wlan.pcap ue-umts.pcap pcscf-core.pcap core-lo.pcap ue.esp_sa \
		pcscf.esp_sa diagram.svg diagram.txt; do
		[ -s "$d/$f" ] || fail "$act: no $f"
	done
	xmllint --noout "$d/diagram.svg" 2>"$work/xml.err" ||
		fail "$act: diagram.svg is not well-formed: $(cat "$work/xml.err")"
	grep -q '\[ESP set 1 0x' "$d/diagram.txt" || fail "$act: no message marked with set 1"
	grep -Eq 'UE wlan +UE umts +P-CSCF +S-CSCF +HSS +AS' "$d/diagram.txt" ||
		fail "$act: lifelines missing in diagram.txt"
	grep -Eq 'MAR' "$d/diagram.txt" || fail "$act: no Cx in the diagram"
	# The evidence again, from the files alone.
	"$SIMREG" lab evidence --dir "$d" >"$work/ev" 2>&1 || {
		fail "$act: lab evidence exited $?"
		cat "$work/ev" >&2
	}
	grep -q "the counts agree" "$work/ev" || fail "$act: counts"
	# Nothing of the lab is left.
	id=$(jq -r .id "$d/lab.json")
	if ip netns list | grep -q "simreg-$id-"; then fail "$act: namespaces left"; fi
done

# ---- a frame tshark cannot decode is named, with its octets --------------------------
# A copy of act 3 whose first MAR carries a Session-Id AVP longer than the message.
bad=$work/bad-capture
cp -r "$work/demo/3-modified-impi" "$bad"
sed -i "s#$work/demo/3-modified-impi#$bad#g" "$bad/lab.json"
python3 - "$bad/core-lo.pcap" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
i = d.find(bytes([0, 0, 1, 7, 0x40]))  # Session-Id, M flag
assert i > 0, "no Session-Id AVP in the capture"
d[i + 5:i + 8] = bytes([0, 0x0F, 0xFF])
open(p, "wb").write(d)
PY
if "$SIMREG" lab evidence --dir "$bad" >"$work/ev-bad" 2>&1; then
	fail "a malformed Diameter frame passed the evidence"
fi
grep -Eq '^  core-lo: MALFORMED frame [0-9]+ \(eth:ethertype:ip:tcp:diameter\): Wrong AVP\(263\) length 4095$' \
	"$work/ev-bad" || fail "the malformed frame is not named with tshark's words"
grep -Eq '^    [0-9a-f]{4}  .*00 00 01 07 40 00 0f ff' "$work/ev-bad" ||
	fail "the malformed frame's octets are not shown"
grep -q "SOME FRAMES DO NOT DECODE" "$work/ev-bad" || fail "the verdict does not say so"

echo "demo: $fails failure(s)"
[ $fails = 0 ]
