#!/usr/bin/env bash
# STUN on a SIP UDP port (RFC 5626 8, RFC 5389): coturn's STUN client sends
# binding requests to sip_test_tu's UDP listeners, IPv4 and IPv6, and must
# read back its own reflexive address from our XOR-MAPPED-ADDRESS.
set -euo pipefail

tu=${SIMREG_BUILD_DIR:?}/tests/sip_transport/sip_test_tu
command -v turnutils_stunclient >/dev/null || { echo "turnutils_stunclient (coturn) missing" >&2; exit 1; }
work=$(mktemp -d /tmp/transport-stun.XXXXXX)
tu_pid=
cleanup() {
	[ -n "$tu_pid" ] && kill -TERM "$tu_pid" 2>/dev/null && wait "$tu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

coproc TU { exec "$tu" serve --listen udp:127.0.0.1:0 --listen "udp:[::1]:0" 2>"$work/tu.err"; }
tu_pid=$TU_PID
read -r -t 10 line <&"${TU[0]}" || { echo "sip_test_tu did not say ready" >&2; exit 1; }
exec {tu_out}<&"${TU[0]}"
echo "tu: $line"
p4=$(sed -n 's/.* udp:127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
p6=$(sed -n 's/.* udp:\[::1\]:\([0-9]*\).*/\1/p' <<<"$line")

check() {
	local addr=$1 port=$2 want=$3 out
	out=$(timeout 20 turnutils_stunclient -p "$port" "$addr" 2>&1) || { echo "$out" >&2; exit 1; }
	echo "$out"
	# "UDP reflexive addr: 127.0.0.1:34394": our answer, decoded by coturn.
	grep -Eq "UDP reflexive addr: ${want}:[1-9][0-9]*$" <<<"$out" ||
		{ echo "FAIL: no reflexive address $want in the STUN answer" >&2; exit 1; }
	local mapped=${out##*:}
	[ "$mapped" != "$port" ] || { echo "FAIL: mapped port is the server's" >&2; exit 1; }
}
check 127.0.0.1 "$p4" '127\.0\.0\.1'
check ::1 "$p6" '::1'

kill -TERM "$tu_pid"
read -r -t 15 stats <&"$tu_out"
wait "$tu_pid"
tu_pid=
echo "tu: $stats"
stun=$(sed -n 's/.*stun=\([0-9]*\).*/\1/p' <<<"$stats")
[ "$stun" -ge 2 ] || { echo "FAIL: the TU answered $stun binding requests" >&2; exit 1; }
[ "$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$stats")" = 0 ] ||
	{ echo "FAIL: STUN reached the TU as SIP" >&2; exit 1; }
echo PASS
