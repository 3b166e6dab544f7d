#!/usr/bin/env bash
# bench_scscf - complete IMS AKA registrations per second (two REGISTER
# transactions, a MAR and a SAR each) through simreg's S-CSCF and, in the
# same run, through Debian's Kamailio 5.6 S-CSCF (ims_auth,
# ims_registrar_scscf), both against the same simreg HSS and driven by the
# same SIPp scenario (register.xml.in). Prints both rates, the ratio, and
# the memory each S-CSCF takes per registration.
#
#   bench_scscf.sh [--users N] [--concurrency C[,C...]] [--pause MS] [--rounds R]
#                  [--perf FILE] [--perf-hss FILE] [--cx-client loop|freediameter]
#
# --perf records simreg's S-CSCF with `perf record --call-graph dwarf` during its rounds
# (for perf report -i FILE.ROUND); --perf-hss records the HSS during the same rounds.
# --cx-client picks simreg's Cx client (scscf.diameter.client; loop by default).
#
# Each round registers N fresh users (one registration each) through each
# S-CSCF, alternately, at each load C of the list (registrations in flight
# at once; 200,400 by default), each S-CSCF its own users so that neither
# inherits the other's state. Every UE pauses MS between the 401 and its
# answer. A server's rate is the best it reached, over the rounds (which
# leaves out rounds that another job on the machine slowed down) and over
# the loads (a server that 200 registrations in flight leave partly idle
# shows its capacity only under more). The best at each load is printed
# too, and the ratio of the two bests.
#
# SIPp's socket buffers are 4 MB (-buff_size): with its default of 64 KB
# the answers of a fast server overflow SIPp's receive buffer on loopback,
# and the 500 ms retransmissions that follow are the client's loss, not
# the server's.
#
# Memory per registration: simreg's resident set (VmRSS) before and after
# the first round, over the registrations it holds; Kamailio keeps its
# location table in shared memory, whose "used" figure (core.shmmem) is
# read the same way.
#
# SIPp 3.6.1 computes a wrong response when RES holds a 0x00 octet (about
# 3% of random RANDs), so the HSS hands out RANDs whose RES has none
# (hss.test.rand_file, from tests/scscf/sipp_rands; $SIPP_RANDS overrides
# where it is). Every registration through simreg must succeed; only
# successful ones count for either S-CSCF.
#
# Needs sipp, kamailio (kamailio-ims-modules) and kamcmd; uses the Kamailio
# configuration of the HSS interop test (tests/hss/kamailio/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${SIMREG:=$root/build/src/simreg}"
: "${SIPP_RANDS:=$root/build/tests/scscf/sipp_rands}"
users=6000 concurrency="200 400" pause=20 rounds=3 perf_out= perf_hss_out= cx_client=loop
while [ $# -gt 0 ]; do
	case $1 in
	--users) users=$2; shift 2 ;;
	--concurrency) concurrency=${2//,/ }; shift 2 ;;
	--pause) pause=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--perf) perf_out=$2; shift 2 ;;
	--perf-hss) perf_hss_out=$2; shift 2 ;;
	--cx-client) cx_client=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -e/{/^set -e/!p}' "$0"; exit 0 ;;
	*) echo "bench_scscf: unknown option $1" >&2; exit 2 ;;
	esac
done
for tool in sipp kamailio kamcmd; do
	command -v $tool >/dev/null || { echo "bench_scscf: $tool is not installed" >&2; exit 1; }
done
[ -x "$SIPP_RANDS" ] || { echo "bench_scscf: no $SIPP_RANDS (build the tests)" >&2; exit 1; }

work=$(mktemp -d /tmp/simreg-bench-scscf-XXXXXX)
declare -a pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Hlntu "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
wait_for() { # FILE PATTERN PID WHAT
	local i
	for i in $(seq 1 3000); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || { tail -20 "$1" >&2; echo "$4 exited" >&2; exit 1; }
		sleep 0.01
	done
	tail -20 "$1" >&2
	echo "bench_scscf: $4 not ready" >&2
	exit 1
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# cpu_ticks PID...: user + system clock ticks of the processes and their threads.
cpu_ticks() {
	local p t=0
	for p in "$@"; do
		if [ ! -r "/proc/$p/stat" ]; then
			echo "bench_scscf: process $p exited during the run; the logs end:" >&2
			tail -n 5 "$work"/*.log >&2
			exit 1
		fi
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
kam_shm_used() { kamcmd -s "unix:$work/kamailio_ctl" core.shmmem | awk '$1 == "real_used:" { print $2 }'; }

hss_port=$(free_port) sip_port=$(free_port) kam_port=$(free_port) dia_port=$(free_port)
dead_port=$(free_port) ue_port=$(free_port)
K_TEXT='simreg-bench-K!!' OP_TEXT='simreg-bench-OP!' AMF_TEXT='AK'
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# A trial: one round at one load. Users: u<trial><s|k><n>, s for simreg's
# S-CSCF and k for Kamailio's.
read -r -a loads <<<"$concurrency"
trials=$((rounds * ${#loads[@]}))
keys="$(hex "$K_TEXT"),$(hex "$OP_TEXT"),$(hex "$AMF_TEXT")"
{
	echo "impi,impu,k,op,amf"
	for r in $(seq 1 "$trials"); do
		for who in s k; do
			seq 1 "$users" | awk -v p="u$r$who" -v keys="$keys" \
				'{ printf "%s%d@ims.test,sip:%s%d@ims.test,%s\n", p, $1, p, $1, keys }'
		done
	done
} >"$work/users.csv"
"$SIMREG" ctl --data "$work/data" subscriber import "$work/users.csv" >/dev/null
for r in $(seq 1 "$trials"); do
	for who in s k; do
		{ echo SEQUENTIAL; seq 1 "$users" | sed "s/^/u$r$who/"; } >"$work/inf-$r$who.csv"
	done
done
# One vector per registration, both S-CSCFs, every trial (and some spare).
"$SIPP_RANDS" --k "$(hex "$K_TEXT")" --op "$(hex "$OP_TEXT")" \
	--count $((2 * users * trials + 100)) >"$work/rands"
sed -e "s#@PAUSE@#$pause#" -e "s#@K@#$K_TEXT#" -e "s#@OP@#$OP_TEXT#" -e "s#@AMF@#$AMF_TEXT#" \
	"$here/register.xml.in" >"$work/register.xml"

# One HSS for both: simreg's S-CSCF dials it; it dials Kamailio's acceptor
# (Kamailio's CER lacks Host-IP-Address, which freeDiameter refuses).
cat >"$work/deploy.yaml" <<YAML
log:
  level: notice
hss:
  test:
    rand_file: $work/rands
  diameter:
    listen: 127.0.0.1:$hss_port
    peers: [ "scscf.ims.test realm=ims.test",
             "kamailio.ims.test realm=ims.test address=127.0.0.1:$dia_port connect=yes" ]
scscf:
  server_name: "sip:scscf.ims.test:$sip_port"
  sip:
    listen: [ "udp:127.0.0.1:$sip_port" ]
  diameter:
    hss_address: 127.0.0.1:$hss_port
    client: $cx_client
YAML

# Kamailio: the HSS interop test's configuration, as a different Diameter
# identity, logging at notice like simreg, with room for the registrations.
sed -e "s#@WORK@#$work#g" -e "s#@SIP_PORT@#$kam_port#g" -e "s#^debug=2#debug=1#" \
	"$root/tests/hss/kamailio/kamailio.cfg.in" >"$work/kamailio.cfg"
sed -e "s#@DIA_PORT@#$dia_port#g" -e "s#@DEAD_PORT@#$dead_port#g" \
	-e 's#FQDN="scscf.ims.test"#FQDN="kamailio.ims.test"#' \
	"$root/tests/hss/kamailio/scscf.xml.in" >"$work/scscf.xml"
sed -i "s#@WORK@/scscf.xml#$work/scscf.xml#" "$work/kamailio.cfg"

# Shared memory: Kamailio holds about 34 KB per registration (its location
# table and the authentication vectors), every round's users stay
# registered, and it aborts when the pool runs out; 64 KB each plus 128 MB.
kam_shm_mb=$(( users * trials * 64 / 1024 + 128 ))
[ "$kam_shm_mb" -lt 256 ] && kam_shm_mb=256
kamailio -f "$work/kamailio.cfg" -P "$work/kamailio.pid" -Y "$work" -w "$work" -m "$kam_shm_mb" -M 16 \
	-DD -E >"$work/kamailio.log" 2>&1 &
pids+=($!)
kam_pid=$!
for i in $(seq 1 1000); do
	ss -Hltn "sport = :$dia_port" | grep -q . && break
	sleep 0.01
done
"$SIMREG" hss --config "$work/deploy.yaml" --data "$work/data" >"$work/hss.log" 2>&1 &
pids+=($!)
hss_pid=$!
wait_for "$work/hss.log" ' ready: ' "$hss_pid" hss
"$SIMREG" scscf --config "$work/deploy.yaml" --data "$work/data" >"$work/scscf.log" 2>&1 &
pids+=($!)
scscf_pid=$!
wait_for "$work/scscf.log" 'ready: .*HSS hss.ims.test connected' "$scscf_pid" scscf
wait_for "$work/hss.log" 'peer kamailio.ims.test connected' "$kam_pid" "kamailio's Diameter"

# run NAME PORT INF LOAD: one round; prints "ok elapsed" (seconds).
run() {
	local name=$1 port=$2 inf=$3 load=$4 t0 t1 ok
	rm -f "$work/$name.csv"
	t0=$(date +%s.%N)
	(cd "$work" && sipp -sf "$work/register.xml" -inf "$inf" -m "$users" -l "$load" \
		-r 100000 -rp 1000 -i 127.0.0.1 -p "$ue_port" "127.0.0.1:$port" -nostdin \
		-buff_size 4194304 -timeout 300 -trace_stat -stf "$work/$name.csv" -fd 3600 \
		>"$work/$name.out" 2>&1) || true
	t1=$(date +%s.%N)
	# The last statistics line: successful calls, cumulated.
	ok=$(python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
print(rows[-1][rows[0].index("SuccessfulCall(C)")])' "$work/$name.csv")
	echo "$ok $(echo "$t1 - $t0" | bc -l)"
}

best_s=0 best_k=0 cpu_s=0 cpu_k=0
declare -A load_s=() load_k=()
for t in $(seq 1 "$trials"); do
	r=$(( (t - 1) / ${#loads[@]} + 1 ))
	load=${loads[$(( (t - 1) % ${#loads[@]} ))]}
	if [ "$t" = 1 ]; then
		rss0=$(rss_kb "$scscf_pid")
		shm0=$(kam_shm_used)
	fi
	c0=$(cpu_ticks "$scscf_pid")
	h0=$(cpu_ticks "$hss_pid")
	perf_pids=()
	if [ -n "$perf_out" ]; then
		perf record --call-graph dwarf,16384 -o "$perf_out.$t" -p "$scscf_pid" >/dev/null 2>&1 &
		perf_pids+=($!)
	fi
	if [ -n "$perf_hss_out" ]; then
		perf record --call-graph dwarf,16384 -o "$perf_hss_out.$t" -p "$hss_pid" \
			>/dev/null 2>&1 &
		perf_pids+=($!)
	fi
	[ ${#perf_pids[@]} = 0 ] || sleep 0.5
	read -r ok_s t_s < <(run "simreg-$t" "$sip_port" "$work/inf-${t}s.csv" "$load")
	for p in "${perf_pids[@]}"; do
		kill -INT "$p"
		wait "$p" || true
	done
	c1=$(cpu_ticks "$scscf_pid")
	h1=$(cpu_ticks "$hss_pid")
	k0=$(cpu_ticks $(pgrep -P "$kam_pid") "$kam_pid")
	read -r ok_k t_k < <(run "kamailio-$t" "$kam_port" "$work/inf-${t}k.csv" "$load")
	k1=$(cpu_ticks $(pgrep -P "$kam_pid") "$kam_pid")
	h2=$(cpu_ticks "$hss_pid")
	tck=$(getconf CLK_TCK)
	# CPU time per registration of each S-CSCF (all its threads or processes).
	us_s=$(echo "($c1 - $c0) * 1000000 / $tck / $ok_s" | bc -l)
	us_k=$(echo "($k1 - $k0) * 1000000 / $tck / $ok_k" | bc -l)
	printf 'round %d, %d in flight: cpu per registration: simreg scscf %.0f us (hss %.0f us); kamailio %.0f us (hss %.0f us)\n' \
		"$r" "$load" "$us_s" "$(echo "($h1 - $h0) * 1000000 / $tck / $ok_s" | bc -l)" "$us_k" \
		"$(echo "($h2 - $h1) * 1000000 / $tck / $ok_k" | bc -l)"
	(($(echo "$cpu_s == 0 || $us_s < $cpu_s" | bc))) && cpu_s=$us_s
	(($(echo "$cpu_k == 0 || $us_k < $cpu_k" | bc))) && cpu_k=$us_k
	if [ "$t" = 1 ]; then
		rss1=$(rss_kb "$scscf_pid")
		shm1=$(kam_shm_used)
		mem_s=$(echo "($rss1 - $rss0) * 1024 / $ok_s" | bc)
		mem_k=$(echo "($shm1 - $shm0) / $ok_k" | bc)
	fi
	rate_s=$(echo "$ok_s / $t_s" | bc -l)
	rate_k=$(echo "$ok_k / $t_k" | bc -l)
	printf 'round %d, %d in flight: simreg %d/%d in %.2f s = %.0f/s; kamailio %d/%d in %.2f s = %.0f/s\n' \
		"$r" "$load" "$ok_s" "$users" "$t_s" "$rate_s" "$ok_k" "$users" "$t_k" "$rate_k"
	(($(echo "$rate_s > $best_s" | bc))) && best_s=$rate_s
	(($(echo "$rate_k > $best_k" | bc))) && best_k=$rate_k
	(($(echo "$rate_s > ${load_s[$load]:-0}" | bc))) && load_s[$load]=$rate_s
	(($(echo "$rate_k > ${load_k[$load]:-0}" | bc))) && load_k[$load]=$rate_k
	# With SIPp-safe RANDs every registration through simreg must succeed.
	# Kamailio loses one in a thousand or so on a loaded machine (not RES:
	# the same RANDs); only successes count for either.
	if [ "$ok_s" != "$users" ] || [ "$ok_k" = 0 ]; then
		tail -n 5 "$work"/*.log >&2
		echo "bench_scscf: registrations failed" >&2
		exit 1
	fi
done
bindings=$("$SIMREG" ctl --data "$work/data" scscf status |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["bindings"])')
printf 'registrations/s by load (best of %d rounds, %d users each, %d ms UE pause, Cx client %s):\n' \
	"$rounds" "$users" "$pause" "$cx_client"
for load in "${loads[@]}"; do
	printf '  %4d in flight   simreg %6.0f/s   kamailio %6.0f/s   ratio %.2fx\n' "$load" \
		"${load_s[$load]}" "${load_k[$load]}" "$(echo "${load_s[$load]} / ${load_k[$load]}" | bc -l)"
done
printf 'registrations/s (the best of each over the loads %s):\n' "${concurrency// /,}"
printf '  simreg scscf   %8.0f/s   %5.0f us CPU each   %6d bytes each (RSS), %d bindings held\n' \
	"$best_s" "$cpu_s" "$mem_s" "$bindings"
printf '  kamailio 5.6   %8.0f/s   %5.0f us CPU each   %6d bytes each (shared memory)\n' \
	"$best_k" "$cpu_k" "$mem_k"
printf 'ratio simreg/kamailio: %.2fx registrations/s, %.2fx registrations per CPU-second\n' \
	"$(echo "$best_s / $best_k" | bc -l)" "$(echo "$cpu_k / $cpu_s" | bc -l)"
