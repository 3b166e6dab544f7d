#!/usr/bin/env bash
# cli.sh - `simreg aka` as an engineer uses it: every vector file row through
# the command line, a golden transcript, auth-int against md5sum, and a
# table of bad inputs that must exit 2 with a message naming the argument.
set -euo pipefail
: "${SIMREG:?}" "${SIMREG_TESTDATA:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
field() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$1: "* ]]; then
			printf '%s' "${line#"$1: "}"
			return
		fi
	done <<<"$2"
}
# Read a TSV file into rows; columns by header name through col().
declare -A idx
load_tsv() {
	local -a head
	IFS=$'\t' read -r -a head <"$1"
	idx=()
	for i in "${!head[@]}"; do idx[${head[$i]}]=$i; done
	mapfile -t rows < <(tail -n +2 "$1")
}
col() {
	# (read -a would merge empty fields, and rows have some; split by hand)
	local rest=$1 i=0 want=${idx[$2]}
	while :; do
		if [ $i = "$want" ]; then
			printf '%s' "${rest%%$'\t'*}"
			return
		fi
		[[ $rest == *$'\t'* ]] || return
		rest=${rest#*$'\t'}
		i=$((i + 1))
	done
}

# ---- every Milenage set through `aka vector` (with OPc, and with OP) ------
load_tsv "$SIMREG_TESTDATA/vectors/milenage.tsv"
sets=0
for row in "${rows[@]}"; do
	set_=$(col "$row" set)
	for kind in opc op; do
		key=$(col "$row" OPc)
		[ $kind = op ] && key=$(col "$row" OP)
		out=$("$SIMREG" aka vector --k "$(col "$row" K)" --$kind "$key" \
			--rand "$(col "$row" RAND)" --sqn "$(col "$row" SQN)" --amf "$(col "$row" AMF)")
		for pair in opc:OPc mac_a:f1_MAC_A mac_s:f1star_MAC_S res:f2_RES ck:f3_CK \
			ik:f4_IK ak:f5_AK ak_star:f5star_AKstar; do
			[ "$(field "${pair%%:*}" "$out")" = "$(col "$row" "${pair##*:}")" ] ||
				fail "set $set_ --$kind: ${pair%%:*}"
		done
	done
	sets=$((sets + 1))
done
echo "vector: $sets Milenage sets, OP and OPc"

# ---- AUTN, AUTS and resync for every derived row --------------------------
declare -A K OPC RAND SQN AMF
for row in "${rows[@]}"; do
	set_=$(col "$row" set)
	K[$set_]=$(col "$row" K) OPC[$set_]=$(col "$row" OPc) RAND[$set_]=$(col "$row" RAND)
	SQN[$set_]=$(col "$row" SQN) AMF[$set_]=$(col "$row" AMF)
done
load_tsv "$SIMREG_TESTDATA/vectors/aka_derived.tsv"
for row in "${rows[@]}"; do
	set_=$(col "$row" set) autn=$(col "$row" AUTN) auts=$(col "$row" AUTS_sqnms_eq_SQN)
	keys=(--k "${K[$set_]}" --opc "${OPC[$set_]}" --rand "${RAND[$set_]}")
	out=$("$SIMREG" aka vector "${keys[@]}" --sqn "${SQN[$set_]}" --amf "${AMF[$set_]}")
	[ "$(field autn "$out")" = "$autn" ] || fail "set $set_: autn"
	out=$("$SIMREG" aka auts "${keys[@]}" --sqn-ms "${SQN[$set_]}")
	[ "$(field auts "$out")" = "$auts" ] || fail "set $set_: auts"
	out=$("$SIMREG" aka resync "${keys[@]}" --auts "$auts")
	[ "$(field sqn_ms "$out")" = "${SQN[$set_]}" ] || fail "set $set_: resync"
done
echo "auts/resync: ${#rows[@]} derived sets"

# ---- Digest rows ----------------------------------------------------------
load_tsv "$SIMREG_TESTDATA/vectors/akav1_md5.tsv"
for row in "${rows[@]}"; do
	case_=$(col "$row" case) res=$(col "$row" RES_password_hex)
	[ "$case_" = sync-failure ] && res=""
	args=(--nonce "$(col "$row" nonce_b64)" --res "$res" --username "$(col "$row" username)"
		--realm "$(col "$row" realm)" --uri "$(col "$row" uri)" --method "$(col "$row" method)")
	if [ -n "$(col "$row" qop)" ]; then
		args+=(--qop "$(col "$row" qop)" --nc "$(col "$row" nc)" --cnonce "$(col "$row" cnonce)")
	fi
	out=$("$SIMREG" aka digest "${args[@]}")
	for pair in ha1:HA1 ha2:HA2 response:response rand:RAND autn:AUTN; do
		[ "$(field "${pair%%:*}" "$out")" = "$(col "$row" "${pair##*:}")" ] ||
			fail "digest $case_: ${pair%%:*}"
	done
done
echo "digest: ${#rows[@]} AKAv1-MD5 cases"

# ---- auth-int, checked with coreutils md5sum ------------------------------
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
realm=ims.example.net user=impi@ims.example.net nonce=I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=
body=$'v=0\r\no=- 0 0 IN IP4 198.18.0.1\r\n'
out=$("$SIMREG" aka digest --nonce "$nonce" --res a54211d5e3ba50bf --username "$user" \
	--realm "$realm" --qop auth-int --cnonce c0ffee --body "$body")
ha1=$(printf '%s:%s:\xa5\x42\x11\xd5\xe3\xba\x50\xbf' "$user" "$realm" | md5sum | cut -d' ' -f1)
ha2=$(md5 "REGISTER:sip:$realm:$(md5 "$body")")
want=$(md5 "$ha1:$nonce:00000001:c0ffee:auth-int:$ha2")
[ "$(field ha1 "$out")" = "$ha1" ] || fail "auth-int ha1"
[ "$(field ha2 "$out")" = "$ha2" ] || fail "auth-int ha2"
[ "$(field response "$out")" = "$want" ] || fail "auth-int response"
echo "digest: auth-int agrees with md5sum"

# ---- golden transcript ----------------------------------------------------
"$SIMREG" aka vector --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf \
	--rand 23553cbe9637a89d218ae64dae47bf35 --sqn ff9bb4d0b607 --amf b9b9 >"$work/vector.txt"
diff -u "$here/golden/vector_set1.txt" "$work/vector.txt" || fail "golden vector_set1.txt"
"$SIMREG" aka auts --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf \
	--rand 23553cbe9637a89d218ae64dae47bf35 --sqn-ms ff9bb4d0b607 >"$work/auts.txt"
diff -u "$here/golden/auts_set1.txt" "$work/auts.txt" || fail "golden auts_set1.txt"

# ---- help ------------------------------------------------------------------
help=$("$SIMREG" aka --help)
for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS"; do
	grep -q "^$s" <<<"$help" || fail "--help lacks $s"
done
[ "$("$SIMREG" aka vector -h)" = "$help" ] || fail "aka vector -h differs from aka --help"

# ---- bad input: exit status and the argument named -------------------------
K=465b5ce8b199b49faa5f0a2ee238a6bc O=cd63cb71954a9f4e48a5994e37a02baf
R=23553cbe9637a89d218ae64dae47bf35 AUTS=ba853f3c123ccf44e93596e355c6
N=I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=
# expected exit | stderr must contain | arguments
bad_cases=(
	"2|a subcommand is required|"
	"2|unknown subcommand 'frobnicate'|frobnicate"
	"2|--k: expected 32 hex digits (16 octets), got 30|vector --k ${K:2} --opc $O --rand $R --sqn 000000000001 --amf 8000"
	"2|--k: not hexadecimal|vector --k ${K:1}z --opc $O --rand $R --sqn 000000000001 --amf 8000"
	"2|--op and --opc: give one, not both|vector --k $K --op $O --opc $O --rand $R --sqn 000000000001 --amf 8000"
	"2|--op or --opc is required|vector --k $K --rand $R --sqn 000000000001 --amf 8000"
	"2|--rand is required|vector --k $K --opc $O --sqn 000000000001 --amf 8000"
	"2|--sqn: expected 12 hex digits (6 octets), got 14|vector --k $K --opc $O --rand $R --sqn 0x00000000000001 --amf 8000"
	"2|--amf: expected 4 hex digits|vector --k $K --opc $O --rand $R --sqn 000000000001 --amf 800"
	"2|--sqn does not apply to \`aka auts\`|auts --k $K --opc $O --rand $R --sqn 000000000001"
	"2|--sqn-ms is required|auts --k $K --opc $O --rand $R"
	"2|--auts: expected 28 hex digits|resync --k $K --opc $O --rand $R --auts ${AUTS:2}"
	"2|--ind-bits: expected a number from 0 to 8|resync --k $K --opc $O --rand $R --auts $AUTS --ind-bits 9"
	"1|MAC-S check failed|resync --k $K --opc $O --rand $R --auts ${AUTS:0:27}7"
	"2|--k given twice|vector --k $K --k $K"
	"2|unknown option '--kk'|vector --kk $K"
	"2|--rand needs a value|vector --k $K --opc $O --rand"
	"2|unexpected argument 'extra'|auts --k $K --opc $O --rand $R --sqn-ms 000000000001 extra"
	"2|--nonce: not base64|digest --nonce !!!! --res 00 --username u --realm r"
	"2|--nonce: decodes to fewer than 32 octets|digest --nonce AAAA --res 00 --username u --realm r"
	"2|--res: not hexadecimal|digest --nonce $N --res zz --username u --realm r"
	"2|--res: expected an even number|digest --nonce $N --res 123 --username u --realm r"
	"2|--qop: expected 'auth' or 'auth-int', got 'auth-conf'|digest --nonce $N --res 00 --username u --realm r --qop auth-conf"
	"2|--cnonce is required with --qop|digest --nonce $N --res 00 --username u --realm r --qop auth"
	"2|--nc: expected 8 hex digits|digest --nonce $N --res 00 --username u --realm r --qop auth --cnonce x --nc 1"
	"2|--cnonce applies only with --qop|digest --nonce $N --res 00 --username u --realm r --cnonce x"
	"2|--body applies only with --qop auth-int|digest --nonce $N --res 00 --username u --realm r --qop auth --cnonce x --body b"
	"2|--username is required|digest --nonce $N --res 00 --realm r"
	"2|--k does not apply to \`aka digest\`|digest --k $K --nonce $N --res 00 --username u --realm r"
)
for c in "${bad_cases[@]}"; do
	IFS='|' read -r want_rc want_msg args <<<"$c"
	read -r -a argv <<<"$args"
	set +e
	"$SIMREG" aka "${argv[@]}" >"$work/out" 2>"$work/err"
	rc=$?
	set -e
	[ "$rc" = "$want_rc" ] || fail "aka $args: exit $rc, want $want_rc"
	grep -qF -- "$want_msg" "$work/err" || fail "aka $args: stderr lacks '$want_msg': $(cat "$work/err")"
	[ ! -s "$work/out" ] || fail "aka $args: printed on stdout: $(cat "$work/out")"
done
echo "bad input: ${#bad_cases[@]} cases refused with the argument named"

if ((fails)); then
	echo "FAILED: $fails checks" >&2
	exit 1
fi
echo "cli: all checks passed"
