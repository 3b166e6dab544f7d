#!/usr/bin/env bash
# oracle_osmo.sh - simreg's Milenage and AUTS handling against osmo-auc-gen
# (libosmocore-utils), an independent implementation, on random inputs.
#
#   SIMREG_ORACLE_N   vector cases per run (default 300); a quarter of them
#                     give OP instead of OPc
#   SIMREG_ORACLE_AUTS AUTS cases per run (default 100)
#
# Every run draws new K, OP/OPc, RAND, SQN and AMF from /dev/urandom; a
# disagreement prints the exact inputs, so it can be replayed by hand.
set -euo pipefail
: "${SIMREG:?}"
n=${SIMREG_ORACLE_N:-300}
n_auts=${SIMREG_ORACLE_AUTS:-100}
command -v osmo-auc-gen >/dev/null || { echo "osmo-auc-gen missing (scripts/deps.sh installs libosmocore-utils)" >&2; exit 1; }

# All random octets are read at once; take N of them into REPLY.
pool=$(od -An -v -tx1 -N$(((n + n_auts) * 56)) /dev/urandom | tr -d ' \n')
pool_off=0
take() {
	REPLY=${pool:pool_off:2*$1}
	pool_off=$((pool_off + 2 * $1))
}
# `name: value` or `NAME:<tab>value` lines -> value of one name
# (pure bash: this runs thousands of times per test)
field() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$1:"* ]]; then
			line=${line#"$1:"}
			line=${line#"${line%%[![:space:]]*}"}
			printf '%s' "$line"
			return
		fi
	done <<<"$2"
}
fails=0
fail() {
	echo "MISMATCH: $*" >&2
	fails=$((fails + 1))
}

for ((i = 0; i < n; i++)); do
	take 16; k=$REPLY; take 16; key=$REPLY; take 16; rand=$REPLY
	take 6; sqn=$REPLY; take 2; amf=$REPLY
	if ((i % 4 == 3)); then
		sim_key=(--op "$key") osmo_key=(-O "$key")
	else
		sim_key=(--opc "$key") osmo_key=(-o "$key")
	fi
	ours=$("$SIMREG" aka vector --k "$k" "${sim_key[@]}" --rand "$rand" --sqn "$sqn" --amf "$amf")
	theirs=$(osmo-auc-gen -3 -a milenage -k "$k" "${osmo_key[@]}" -r "$rand" \
		-s $((16#$sqn)) -f "$amf" 2>&1)
	for pair in res:RES ck:CK ik:IK autn:AUTN; do
		a=$(field "${pair%%:*}" "$ours") b=$(field "${pair##*:}" "$theirs")
		if [ -z "$a" ] || [ "$a" != "$b" ]; then
			fail "${pair%%:*} simreg=$a osmo=$b for k=$k ${sim_key[*]} rand=$rand sqn=$sqn amf=$amf"
		fi
	done
	# osmo-auc-gen prints the IMS nonce too: base64(RAND || AUTN).
	a=$(field nonce "$ours") b=$(field "IMS nonce" "$theirs")
	[ "$a" = "$b" ] || fail "nonce simreg=$a osmo=$b for k=$k rand=$rand sqn=$sqn"
done
echo "vectors: $n random cases compared (res, ck, ik, autn, nonce)"

for ((i = 0; i < n_auts; i++)); do
	take 16; k=$REPLY; take 16; opc=$REPLY; take 16; rand=$REPLY; take 6
	# Keep SEQ_MS below the top so osmo-auc-gen can compute its next SQN.
	printf -v sqn_ms '%012x' $((16#$REPLY & 0x7fffffffffff))
	auts=$(field auts "$("$SIMREG" aka auts --k "$k" --opc "$opc" --rand "$rand" --sqn-ms "$sqn_ms")")
	theirs=$(osmo-auc-gen -3 -a milenage -k "$k" -o "$opc" -r "$rand" -A "$auts" 2>&1) ||
		fail "osmo-auc-gen refused simreg's AUTS $auts for k=$k opc=$opc rand=$rand sqn_ms=$sqn_ms"
	b=$(field SQN.MS "$theirs")
	[ "$b" = "$((16#$sqn_ms))" ] ||
		fail "SQN.MS osmo=$b want $((16#$sqn_ms)) for k=$k opc=$opc rand=$rand auts=$auts"
	a=$(field sqn_ms "$("$SIMREG" aka resync --k "$k" --opc "$opc" --rand "$rand" --auts "$auts")")
	[ "$a" = "$sqn_ms" ] || fail "resync sqn_ms=$a want $sqn_ms for k=$k opc=$opc rand=$rand auts=$auts"

	# One flipped digit: both sides must refuse it.
	pos=$((i % 28))
	d=${auts:pos:1}
	printf -v nd '%x' $(((16#$d) ^ 1))
	flipped=${auts:0:pos}$nd${auts:pos+1}
	if osmo-auc-gen -3 -a milenage -k "$k" -o "$opc" -r "$rand" -A "$flipped" >/dev/null 2>&1; then
		fail "osmo-auc-gen accepted corrupted AUTS $flipped (k=$k opc=$opc rand=$rand)"
	fi
	set +e
	"$SIMREG" aka resync --k "$k" --opc "$opc" --rand "$rand" --auts "$flipped" >/dev/null 2>&1
	rc=$?
	set -e
	[ "$rc" = 1 ] || fail "simreg resync exit $rc on corrupted AUTS $flipped (k=$k opc=$opc rand=$rand)"
done
echo "auts: $n_auts random cases (osmo-auc-gen verifies simreg's AUTS; both refuse a corrupted one)"

if ((fails)); then
	echo "FAILED: $fails disagreements" >&2
	exit 1
fi
echo "oracle: simreg agrees with osmo-auc-gen"
