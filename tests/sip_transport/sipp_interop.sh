#!/usr/bin/env bash
# SIPp against simreg's stack, and simreg's stack against SIPp, over UDP with
# packet loss and over TCP, IPv4 and IPv6 loopback.
#
#   sipp_interop.sh CASE
#
# CASE is one of:
#   uas-udp4 uas-udp6 uas-invite-udp4 uas-tcp4 uas-tcp6   SIPp as UAC, sip_test_tu serves
#   uac-udp4 uac-udp6 uac-invite-udp4 uac-tcp4 uac-tcp6   sip_test_tu as UAC, SIPp serves
#   blast4 blast6                                         raw TCP: pipelined and split (tshark checks)
#   garbage                                               raw abuse, then a good request
#
# Every transaction must complete exactly once: SIPp's successful calls are
# counted against the requests the simreg TU saw (and the TU flags any
# transaction handed to it twice), or the simreg UAC's finals against the
# requests sent. Peers are started with an explicit readiness signal: the TU
# prints "ready" with its bound ports; SIPp's port is polled with ss.
set -euo pipefail

case_name=${1:?case}
here=$(cd "$(dirname "$0")" && pwd)
tu=${SIMREG_BUILD_DIR:?}/tests/sip_transport/sip_test_tu
scen=$here/scenarios
work=$(mktemp -d /tmp/transport-sipp.XXXXXX)
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL [$case_name]: $*" >&2
	for f in "$work"/*.out "$work"/*.err "$work"/*_errors.log; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}

# A free port for SIPp: ask the kernel for one, then let it go.
free_port() {
	local proto=$1 fam=$2
	"$tu" port "$proto" "$fam"
}

# Start the simreg TU; sets tu_pid, tu_udp, tu_tcp from its "ready" line.
start_tu() {
	coproc TU { exec "$tu" serve "$@" 2>"$work/tu.err"; }
	tu_pid=$TU_PID
	pids+=("$tu_pid")
	local line
	if ! read -r -t 10 line <&"${TU[0]}"; then
		fail "sip_test_tu did not say ready"
	fi
	echo "tu: $line"
	tu_udp=$(sed -n 's/.* udp:\([^ ]*\).*/\1/p' <<<"$line")
	tu_tcp=$(sed -n 's/.* tcp:\([^ ]*\).*/\1/p' <<<"$line")
	exec {tu_out}<&"${TU[0]}"
}

# Stop the TU (SIGTERM: clean shutdown) and read its stats line into tu_stats.
stop_tu() {
	kill -TERM "$tu_pid"
	if ! read -r -t 15 tu_stats <&"$tu_out"; then
		fail "no stats from sip_test_tu"
	fi
	wait "$tu_pid" || fail "sip_test_tu exited with $?"
	echo "tu: $tu_stats"
}

stat_of() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }

# Wait until something listens on port ($1 udp|tcp, $2 port).
wait_port() {
	local proto=$1 port=$2 flag=-uln
	[ "$proto" = tcp ] && flag=-tln
	for _ in $(seq 1 200); do
		if ss -H $flag "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.05 # polling interval, not a readiness guess
	done
	fail "nothing listening on $proto port $port"
}

# SIPp's final count of successful / failed calls from its summary screen.
sipp_count() { sed -n "s/^  $1 call *|.*| *\([0-9]*\) *$/\1/p" "$2" | tail -n 1; }

host_of() { sed 's/:[0-9]*$//; s/^\[//; s/\]$//' <<<"$1"; }
port_of() { sed 's/.*://' <<<"$1"; }

# ---------------------------------------------------------------------------
# SIPp as UAC, simreg serves

sipp_uac_vs_tu() {
	local proto=$1 fam=$2 scenario=$3 calls=$4 per_call=$5
	local addr=127.0.0.1 listen lost=() tflag=u1
	[ "$fam" = 6 ] && addr=::1
	[ "$proto" = tcp ] && tflag=t1
	[ "$proto" = udp ] && lost=(-lost 10)
	if [ "$fam" = 6 ]; then listen="$proto:[::1]:0"; else listen="$proto:127.0.0.1:0"; fi
	start_tu --listen "$listen"
	local target=$tu_udp
	[ "$proto" = tcp ] && target=$tu_tcp
	local sargs=(-m "$calls" -r 100 -l 50 -t "$tflag" "${lost[@]}" -i "$addr"
		     -nostdin -timeout 50s -timeout_error -max_retrans 10)
	sargs+=(-sf "$scen/$scenario")
	(cd "$work" && exec sipp "${sargs[@]}" -trace_err \
		"$(host_of "$target" | sed 's/.*:.*/[&]/')":"$(port_of "$target")" \
		>"$work/sipp.out" 2>"$work/sipp.err") || fail "sipp exited with $?"
	local ok failed
	ok=$(sipp_count Successful "$work/sipp.out")
	failed=$(sipp_count Failed "$work/sipp.out")
	echo "sipp: successful=$ok failed=$failed"
	stop_tu
	[ "$ok" = "$calls" ] || fail "SIPp completed $ok of $calls calls"
	[ "$(stat_of duplicates "$tu_stats")" = 0 ] || fail "a transaction reached the TU twice"
	[ "$(stat_of requests "$tu_stats")" = $((calls * per_call)) ] ||
		fail "TU saw $(stat_of requests "$tu_stats") requests, expected $((calls * per_call))"
	if [ "$proto" = udp ]; then
		[ "$(stat_of absorbed "$tu_stats")" -gt 0 ] ||
			fail "no retransmission was absorbed: was there any loss?"
	fi
}

# ---------------------------------------------------------------------------
# simreg as UAC, SIPp serves

tu_uac_vs_sipp() {
	local proto=$1 fam=$2 method=$3 count=$4
	local addr=127.0.0.1 lost=() tflag=u1 port
	[ "$fam" = 6 ] && addr=::1
	[ "$proto" = tcp ] && tflag=t1
	# The INVITE scenario loses its 10% per message (see invite_uas.xml).
	[ "$proto" = udp ] && [ "$method" != INVITE ] && lost=(-lost 10)
	port=$(free_port "$proto" "$fam")
	local sargs=(-m "$count" -t "$tflag" "${lost[@]}" -i "$addr" -p "$port"
		     -nostdin -timeout 90s -max_retrans 10)
	if [ "$method" = INVITE ]; then
		sargs+=(-sf "$scen/invite_uas.xml")
	elif [ "$proto" = udp ]; then
		sargs+=(-sf "$scen/options_uas.xml")
	else
		# No retransmissions over TCP: nothing to linger for.
		sargs+=(-sf "$scen/options_uas_tcp.xml")
	fi
	(cd "$work" && exec sipp "${sargs[@]}" -trace_err >"$work/sipp.out" 2>"$work/sipp.err") &
	pids+=($!)
	local sipp_pid=$!
	wait_port "$proto" "$port"
	local to="$proto:$addr:$port"
	[ "$fam" = 6 ] && to="$proto:[::1]:$port"
	# --parallel 40: over TCP the first 40 requests queue while the
	# connection opens and leave in one write: pipelined into SIPp.
	"$tu" uac --to "$to" --method "$method" --count "$count" --parallel 40 \
		>"$work/uac.out" 2>"$work/uac.err" || fail "simreg UAC: $(cat "$work/uac.out")"
	cat "$work/uac.out"
	wait "$sipp_pid" || fail "sipp exited with $?"
	local ok
	ok=$(sipp_count Successful "$work/sipp.out")
	echo "sipp: successful=$ok"
	[ "$ok" = "$count" ] || fail "SIPp saw $ok of $count calls through"
	if [ "$proto" = udp ]; then
		grep -q 'retransmissions=[1-9]' "$work/uac.out" ||
			fail "the simreg UAC never retransmitted: was there any loss?"
	fi
}

# ---------------------------------------------------------------------------

case "$case_name" in
uas-udp4) sipp_uac_vs_tu udp 4 options_uac.xml 300 1 ;;
uas-udp6) sipp_uac_vs_tu udp 6 options_uac.xml 300 1 ;;
uas-invite-udp4) sipp_uac_vs_tu udp 4 invite_uac.xml 100 2 ;;
uas-tcp4) sipp_uac_vs_tu tcp 4 options_uac.xml 500 1 ;;
uas-tcp6) sipp_uac_vs_tu tcp 6 options_uac.xml 500 1 ;;
uac-udp4) tu_uac_vs_sipp udp 4 OPTIONS 200 ;;
uac-udp6) tu_uac_vs_sipp udp 6 OPTIONS 200 ;;
uac-invite-udp4) tu_uac_vs_sipp udp 4 INVITE 100 ;;
uac-tcp4) tu_uac_vs_sipp tcp 4 OPTIONS 500 ;;
uac-tcp6) tu_uac_vs_sipp tcp 6 OPTIONS 500 ;;
blast4 | blast6)
	if [ "$case_name" = blast6 ]; then
		start_tu --listen "tcp:[::1]:0"
	else
		start_tu --listen tcp:127.0.0.1:0
	fi
	# tshark watches the loopback: the segments, and its own SIP dissector's
	# reading of them, are the evidence that the requests really were
	# pipelined into one segment and split over many.
	# "Capturing on" comes before the capture really runs: send a sentinel
	# datagram (discard port) until it shows up in the file.
	tshark -i lo -f "tcp port $(port_of "$tu_tcp") or udp port 9" -w "$work/blast.pcap" \
		>"$work/tshark.out" 2>"$work/tshark.err" &
	tshark_pid=$!
	pids+=("$tshark_pid")
	captured=0
	for _ in $(seq 1 200); do
		printf sentinel >/dev/udp/127.0.0.1/9 || true
		captured=$(capinfos -Mc "$work/blast.pcap" 2>/dev/null | sed -n 's/^Number of packets: *//p' || true)
		[ "${captured:-0}" -gt 0 ] && break
		sleep 0.05 # polling interval
	done
	[ "${captured:-0}" -gt 0 ] || fail "tshark did not start capturing"
	"$tu" blast --to "tcp:$tu_tcp" --pipeline 100 --split 7 >"$work/blast.out" 2>"$work/blast.err" ||
		fail "blast: $(cat "$work/blast.out")"
	cat "$work/blast.out"
	stop_tu
	kill -INT "$tshark_pid"
	wait "$tshark_pid" || true
	[ "$(stat_of requests "$tu_stats")" = 200 ] || fail "TU saw $(stat_of requests "$tu_stats") of 200"
	[ "$(stat_of duplicates "$tu_stats")" = 0 ] || fail "duplicates"
	most=$(tshark -r "$work/blast.pcap" -Y "sip.Method" -T fields -e sip.Method 2>/dev/null |
		awk -F, '{ if (NF > m) m = NF } END { print m + 0 }')
	sevens=$(tshark -r "$work/blast.pcap" -Y "tcp.len == 7" 2>/dev/null | wc -l)
	echo "tshark: most SIP requests in one segment: $most; 7-byte segments: $sevens"
	[ "$most" -ge 100 ] || fail "no segment carried the 100 pipelined requests"
	[ "$sevens" -ge 100 ] || fail "the split requests did not travel in 7-byte segments"
	;;
garbage)
	start_tu --listen tcp:127.0.0.1:0 --listen udp:127.0.0.1:0
	"$tu" garbage --to "tcp:$tu_tcp" --udp "udp:$tu_udp" >"$work/garbage.out" 2>"$work/garbage.err" ||
		fail "garbage: $(cat "$work/garbage.out")"
	cat "$work/garbage.out"
	grep -q '^garbage tcp random: closed$' "$work/garbage.out" || fail "random bytes did not close"
	grep -q '^garbage tcp endless-line: closed$' "$work/garbage.out" || fail "endless line did not close"
	grep -q '^garbage udp no-To: no answer$' "$work/garbage.out" || fail "a request without To was answered"
	grep -q '^garbage udp cseq-mismatch: SIP/2.0 400 Bad Request$' "$work/garbage.out" ||
		fail "a request with a wrong CSeq method did not get 400"
	grep -q '^garbage good-after: served$' "$work/garbage.out" || fail "the good request was not served"
	stop_tu
	[ "$(stat_of requests "$tu_stats")" = 1 ] || fail "TU saw $(stat_of requests "$tu_stats") requests, expected 1"
	[ "$(stat_of bad "$tu_stats")" = 1 ] || fail "expected one 400"
	grep -q 'closed by the peer with .* bytes of an unfinished message' "$work/tu.err" ||
		fail "the half message was not reported"
	;;
*)
	echo "unknown case $case_name" >&2
	exit 2
	;;
esac
echo "PASS [$case_name]"
