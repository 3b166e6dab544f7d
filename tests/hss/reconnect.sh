#!/usr/bin/env bash
# An S-CSCF whose connection broke without a DPR connects again: the HSS's
# freeDiameter puts the peer in REOPEN (RFC 3539 section 3.4.1) until it
# has answered watchdogs, forwards its requests meanwhile, but drops any
# answer to a peer that is not OPEN. The HSS holds those answers back.
# The second client delays each DWA by 600 ms (--slow-watchdog; REOPEN
# needs three, 1.8 s, within the HSS's 3 s hold), so its requests are
# answered while the HSS still sees the peer in REOPEN.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
port=$(free_port)

cat >"$work/hss.yaml" <<YAML
log:
  level: info
hss:
  home_networks: [ ims.test ]
  diameter:
    listen: 127.0.0.1:$port
    peers: [ "scscf.ims.test realm=ims.test" ]
YAML
"$SIMREG" ctl --data "$work/data" subscriber add --impi alice@ims.test \
	--impu sip:alice@ims.test --k 000102030405060708090a0b0c0d0e0f \
	--opc 00112233445566778899aabbccddeeff >/dev/null
printf 'lir impu=sip:alice@ims.test\nlir impu=sip:bob@ims.test\n' >"$work/requests.cx"
mkdir -p "$work/client"
client() {
	"$CX_CLIENT" --run-dir "$work/client" --address "127.0.0.1:$port" --timeout 5000 \
		"$@" <"$work/requests.cx" 2>>"$work/client.err"
}
fail() {
	echo "reconnect: $*" >&2
	tail -20 "$work/hss.log" >&2
	exit 1
}

start_hss "$work/hss.yaml" "$work/data" "$work/hss.log"
# The first client leaves without a DPR (cx_client never shuts
# freeDiameter down); wait until the HSS has seen the connection break.
client >"$work/first"
for i in $(seq 1 500); do
	grep -q 'connection failed or closed' "$work/hss.log" && break
	sleep 0.01
done
grep -q 'connection failed or closed' "$work/hss.log" || fail "the first connection did not close"

client --slow-watchdog 600 >"$work/second"
expected='connected to hss.ims.test
> lir impu=sip:alice@ims.test
< LIA 5003 DIAMETER_ERROR_IDENTITY_NOT_REGISTERED (experimental)
> lir impu=sip:bob@ims.test
< LIA 5001 DIAMETER_ERROR_USER_UNKNOWN (experimental)'
for f in first second; do
	[ "$(cat "$work/$f")" = "$expected" ] ||
		{ diff <(echo "$expected") "$work/$f" >&2 || true; fail "$f connection: unexpected answers"; }
done
stop_hss "$work/hss.log"
held=$(sed -n 's/.* \([0-9]*\) answers waited for a reconnected peer.*/\1/p' "$work/hss.log")
[ "${held:-0}" -ge 1 ] || fail "no answer waited for the REOPEN peer: the test did not test it"
echo "reconnect: both connections answered; $held answer(s) waited for REOPEN to end"
