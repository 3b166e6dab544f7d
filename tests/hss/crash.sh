#!/usr/bin/env bash
# SIGKILL the HSS again and again while two Cx clients stream MARs at it
# (both for the same two subscribers, so they race for one SQN counter),
# restart it each time, and check that no SQN was ever issued twice and
# that the database never fell behind what left the HSS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cycles=${SIMREG_CRASH_CYCLES:-8}
port=$(free_port)
cat >"$work/hss.yaml" <<YAML
hss:
  max_vectors: 3
  diameter:
    listen: 127.0.0.1:$port
    peers: [ "client1.ims.test", "client2.ims.test" ]
YAML
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
for u in alice bob; do
	"$SIMREG" ctl --data "$work/data" subscriber add --impi $u@ims.test \
		--impu sip:$u@ims.test --k $K --opc $OPC >/dev/null
done
{
	echo "keys impi=alice@ims.test k=$K opc=$OPC"
	echo "keys impi=bob@ims.test k=$K opc=$OPC"
	for i in $(seq 1 4000); do
		echo "mar impi=alice@ims.test impu=sip:alice@ims.test n=$((1 + i % 3))"
		echo "mar impi=bob@ims.test impu=sip:bob@ims.test n=1"
	done
} >"$work/stream.cx"

answers() { grep -c '^< MAA 2001' "$1" 2>/dev/null || true; }

for cycle in $(seq 1 "$cycles"); do
	start_hss "$work/hss.yaml" "$work/data" "$work/hss.$cycle.log"
	pids=()
	for n in 1 2; do
		mkdir -p "$work/client$n"
		"$CX_CLIENT" --identity client$n.ims.test --run-dir "$work/client$n" \
			--address "127.0.0.1:$port" --timeout 3000 --stop-on-error \
			<"$work/stream.cx" >"$work/out.$cycle.$n" 2>/dev/null &
		pids+=($!)
	done
	# Kill in mid-stream: once both clients have answers, after a random
	# few milliseconds more.
	for i in $(seq 1 3000); do
		ready=0
		for n in 1 2; do
			if [ "$(answers "$work/out.$cycle.$n")" -ge 3 ]; then
				ready=$((ready + 1))
			elif ! kill -0 "${pids[$((n - 1))]}" 2>/dev/null; then
				echo "cycle $cycle: client $n gave up before its first answers" >&2
				cat "$work/out.$cycle.$n" "$work/hss.$cycle.log" >&2
				exit 1
			fi
		done
		[ "$ready" -eq 2 ] && break
		sleep 0.005
	done
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$hss_pid"
	wait "$hss_pid" 2>/dev/null || true
	hss_pid=
	for p in "${pids[@]}"; do wait "$p" || true; done
	for n in 1 2; do
		# The stream must have been cut, not finished.
		if [ "$(grep -c '^> mar' "$work/out.$cycle.$n")" -ge 8000 ]; then
			echo "cycle $cycle: client $n finished before the kill" >&2
			exit 1
		fi
	done
done

# Every (IMPI, SQN) that left the HSS, from every client of every cycle.
awk '/^  User-Name: /{u=$2} / sqn=/{for(i=1;i<=NF;i++) if ($i ~ /^sqn=/) print u, substr($i,5)}' \
	"$work"/out.* | sort >"$work/issued"
total=$(wc -l <"$work/issued")
dups=$(uniq -d "$work/issued" | wc -l)
echo "crash: $cycles SIGKILLs, $total vectors received, $dups SQNs issued twice"
if [ "$dups" -ne 0 ]; then
	uniq -d "$work/issued" | head >&2
	exit 1
fi
if [ "$total" -lt $((cycles * 12)) ]; then
	echo "too few vectors for the test to mean anything" >&2
	exit 1
fi
# The database is never behind what was handed out (the SQN was
# committed before the answer left).
for u in alice bob; do
	stored=$("$SIMREG" ctl --data "$work/data" subscriber show $u@ims.test |
		awk '/^sqn: /{print $2}')
	highest=$(awk -v u=$u@ims.test '$1 == u {print $2}' "$work/issued" | sort | tail -1)
	if [[ "$((16#$stored))" -lt "$((16#$highest))" ]]; then
		echo "$u: stored SQN $stored is behind issued $highest" >&2
		exit 1
	fi
	echo "crash: $u stored SQN $stored >= highest issued $highest"
done
