#!/usr/bin/env bash
# hss.batch_max: requests that arrive together share one store transaction
# (one fsync), at most batch_max of them; the rest wait for the next one.
# Every request must be answered whatever the split: one at a time, bursts
# that fill batches exactly, and bursts with a remainder. With batch_max 1
# every request is a batch of its own, which is where the HSS once lost the
# request after a batch that had emptied the queue exactly (found with
# 600 registrations in flight in bench/scscf). Each vector must carry a new
# SQN: the SEQ of the MAR after the bursts is the first one's plus every
# vector issued in between.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
"$SIMREG" ctl --data "$work/data" subscriber add --impi alice@ims.test \
	--impu sip:alice@ims.test --k $K --opc $OPC >/dev/null

bursts="31 32 64 7"
total=0
for b in $bursts; do total=$((total + b)); done

for max in 1 2 3 32; do
	port=$(free_port)
	cat >"$work/hss.yaml" <<YAML
log:
  level: info
hss:
  batch_max: $max
  diameter:
    listen: 127.0.0.1:$port
    peers: [ "scscf.ims.test realm=ims.test" ]
YAML
	start_hss "$work/hss.yaml" "$work/data" "$work/hss-$max.log"
	{
		echo "keys impi=alice@ims.test k=$K opc=$OPC"
		for i in 1 2 3; do echo "mar impi=alice@ims.test impu=sip:alice@ims.test"; done
		for b in $bursts; do
			echo "mar impi=alice@ims.test impu=sip:alice@ims.test burst=$b"
		done
		echo "sar impi=alice@ims.test impu=sip:alice@ims.test type=REGISTRATION burst=5"
		echo "mar impi=alice@ims.test impu=sip:alice@ims.test"
	} >"$work/script"
	mkdir -p "$work/client-$max"
	"$CX_CLIENT" --run-dir "$work/client-$max" --address "127.0.0.1:$port" --timeout 5000 \
		<"$work/script" >"$work/out-$max" 2>"$work/client-$max.err"
	stop_hss "$work/hss-$max.log"

	out=$work/out-$max
	fail() { cat "$out" >&2; echo "batch_max $max: $*" >&2; exit 1; }
	! grep -q 'no answer' "$out" || fail "a request went unanswered"
	[ "$(grep -c '^< MAA 2001 DIAMETER_SUCCESS' "$out")" = 4 ] || fail "4 single MAAs expected"
	for b in $bursts; do
		grep -qx "< MAA x$b: $b answers: 2001 x$b" "$out" || fail "burst of $b"
	done
	grep -qx '< SAA x5: 5 answers: 2001 x5' "$out" || fail "burst of 5 SARs"
	[ "$(grep -c 'usim=ok res=match ck=match ik=match' "$out")" = 4 ] ||
		fail "the card refused a vector"
	# SQN = SEQ || IND (5 bits): SEQ counts the vectors.
	mapfile -t sqns < <(sed -n 's/.*| sqn=\([0-9a-f]*\) .*/\1/p' "$out")
	first=$((16#${sqns[2]} >> 5)) last=$((16#${sqns[3]} >> 5))
	[ $((last - first)) = $((total + 1)) ] ||
		fail "SEQ went from $first to $last over $total vectors"
	# Every answer came out of a store transaction of at most batch_max.
	n=$((4 + total + 5))
	line=$(grep -o 'stopping: [0-9]* answers in [0-9]* store transactions' "$work/hss-$max.log")
	read -r _ answers _ _ batches _ _ <<<"$line"
	[ "$answers" = "$n" ] || fail "$answers answers, $n expected"
	[ "$batches" -ge $(((n + max - 1) / max)) ] ||
		fail "$batches store transactions for $n requests at $max each"
	echo "batch_max $max: $n requests answered in $batches store transactions"
done
