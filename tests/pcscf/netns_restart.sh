#!/usr/bin/env bash
# The P-CSCF restarts without losing SAs (issue 8 §4), userspace backend:
# a registered UE keeps working across a clean stop and across a crash,
# without registering again. After each restart the flows and SA sets come
# back from DATA/pcscf.db with the same SPIs, ports and flow tokens, the
# outbound ESP sequence numbers continue (or the UE's replay window would
# drop what the P-CSCF sends), and the reg-event subscription is renewed.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT

lab_up

echo "== simreg pcscf with no configuration"
# Its embedded defaults (issue 8 §1): UDP and TCP 127.0.0.1:5060, the S-CSCF
# at 127.0.0.1:6060. The registrar's namespace has nothing on either.
ip netns exec "$ns_s" socat -u UDP-RECV:6060,bind=127.0.0.1 "OPEN:$work/6060.txt,creat" &
pids[sink]=$!
start defaults "$ns_s" "$SIMREG" pcscf --data "$work/defaults"
expect "it listens on UDP 127.0.0.1:5060" \
	"$(ip netns exec "$ns_s" ss -Hlnu 'sport = :5060' | awk '{print $4}')" '^127\.0\.0\.1:5060$'
expect "and on TCP 127.0.0.1:5060" \
	"$(ip netns exec "$ns_s" ss -Hlnt 'sport = :5060' | awk '{print $4}')" '^127\.0\.0\.1:5060$'
pong=$(printf '\r\n\r\n' | ip netns exec "$ns_s" socat -t 2 - TCP:127.0.0.1:5060 | od -An -c | tr -d ' \n')
expect "a CRLF keepalive on its TCP listener is answered with CRLF (RFC 5626 §3.5.1)" "$pong" '^\\r\\n$'
expect "its control socket is DATA/pcscf.ctl" \
	"$("$SIMREG" ctl --data "$work/defaults" pcscf status | jq -r .function)" '^pcscf$'
printf '%s\r\n' "REGISTER sip:ims.test SIP/2.0" \
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKdefaults1;rport" "Max-Forwards: 70" \
	"From: <sip:dave@ims.test>;tag=d1" "To: <sip:dave@ims.test>" "Call-ID: defaults1" \
	"CSeq: 1 REGISTER" "Contact: <sip:dave@127.0.0.1:5999>" "Expires: 600" \
	"Require: sec-agree" "Proxy-Require: sec-agree" "Supported: path, sec-agree" \
	"Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;prot=esp;mod=trans;spi-c=70001;spi-s=70002;port-c=5998;port-s=5999" \
	"Content-Length: 0" "" |
	ip netns exec "$ns_s" socat -u - UDP-SENDTO:127.0.0.1:5060,bind=127.0.0.1:5999
for i in $(seq 200); do
	grep -q "^REGISTER sip:ims.test" "$work/6060.txt" 2>/dev/null && break
	sleep 0.05
done
expect "an initial REGISTER goes on to the S-CSCF at 127.0.0.1:6060, with our Path" \
	"$(grep -c '^REGISTER sip:ims.test\|^Path: <sip:[A-Za-z0-9_-]*@127.0.0.1:5060;lr;ob>' "$work/6060.txt")" '^2$'
stop defaults || fail "the P-CSCF with defaults did not stop cleanly"
kill "${pids[sink]}" 2>/dev/null || true
unset "pids[sink]"

registrar_start
pcscf_config "$work/pcscf.yaml" registration
pcscf_start "$work/pcscf.yaml" "$work/data"
P=$work/pcscf.ctl
R=$work/registrar.ctl

echo "== simreg ctl pcscf"
expect "a manual" "$("$SIMREG" ctl pcscf --help)" "SYNOPSIS.*simreg ctl \[--data DIR\] pcscf \[--ctl PATH\] REQUEST"
rc=0; "$SIMREG" ctl pcscf >/dev/null 2>&1 || rc=$?
expect "no request is bad usage" "$rc" '^2$'
rc=0; out=$("$SIMREG" ctl --data "$work/nowhere" pcscf status 2>&1) || rc=$?
expect "nobody listening: exit 1, saying where it looked" "$rc $out" \
	"^1 simreg ctl pcscf: $work/nowhere/pcscf.ctl: no P-CSCF answers there$"
rc=0; out=$("$SIMREG" ctl --data "$work" pcscf flow 99) || rc=$?
expect "--data finds DIR/pcscf.ctl; a refusal exits 1 with the P-CSCF's answer" "$rc $out" \
	'^1 \{"ok":false,"error":"no such flow"\}$'
expect "the P-CSCF's own list of requests" \
	"$(ctl "$P" help | jq -r '[.commands[].name] | join(" ")')" \
	'^status flows flow remove remove-impi subscriptions$'

ue_start alice 198.18.20.2 alice@ims.test sip:alice@ims.test 198.18.20.1
s=$(register alice)
expect "alice registers" "$(json "$s" .state)" '^registered$'
before=$(ctl "$P" flows)
set_before=$(json "$before" '.flows[0] | "\(.id) \(.token) \(.sets[0].spi_pc) \(.sets[0].spi_ps) \(.sets[0].port_pc) \(.sets[0].port_ps)"')

# round N : alice sends over SA1 (answered over SA3), the core reaches her over SA2.
round() {
	local n=$1 s
	ctl "$work/alice.ctl" message sip:bob@ims.test >/dev/null
	s=$(await_ue alice '.message_status != 0')
	expect "$2: alice's MESSAGE is answered 200 over the same SAs" "$(json "$s" .message_status)" '^200$'
	ctl "$R" message sip:alice@ims.test >/dev/null
	await "$2: the core reaches alice down her Path" "$work/alice.ctl" state ".incoming == $n"
}
round 1 "before any restart"

echo "== a clean stop"
stop pcscf || fail "the P-CSCF did not stop cleanly"
pcscf_start "$work/pcscf.yaml" "$work/data"
grep -q "restored 1 flows with 1 SA sets from the store (clean stop before)" "$work/pcscf.log" ||
	fail "no restore line in the log"
ok "the flow and its set come back from the store"
after=$(ctl "$P" flows)
expect "same flow, token, SPIs and ports" \
	"$(json "$after" '.flows[0] | "\(.id) \(.token) \(.sets[0].spi_pc) \(.sets[0].spi_ps) \(.sets[0].port_pc) \(.sets[0].port_ps)"')" \
	"^$set_before$"
expect "still registered, established" "$(json "$after" '.flows[0] | "\(.state) \(.sets[0].state)"')" \
	'^registered established$'
round 2 "after a clean stop"
await "the reg-event subscription is renewed" "$P" subscriptions \
	'[.subscriptions[] | select(.state == "active")] | length == 1'

echo "== a crash"
stop pcscf KILL || true
pcscf_start "$work/pcscf.yaml" "$work/data"
grep -q "(unclean stop before)" "$work/pcscf.log" || fail "the crash was not noticed"
ok "the crash is noticed: sequence numbers continue with a margin"
round 3 "after a crash"
s=$(ctl "$work/alice.ctl" state)
expect "alice never registered again" "$(json "$(ctl "$R" status)" .registers)" '^2$'

echo "== life goes on: re-authentication after the restarts"
ctl "$R" reauth on >/dev/null
ctl "$work/alice.ctl" reregister >/dev/null
s=$(await_ue alice '.state == "registered" or .state == "failed"')
expect "alice re-authenticates through the restarted P-CSCF" "$(json "$s" .state)" '^registered$'
round 4 "after re-authentication"

echo "== the end of a registration through simreg ctl pcscf"
id=$(json "$(ctl "$P" flows)" '.flows[0].id')
expect "remove-impi names the flow it ends" \
	"$(ctl "$P" remove-impi alice@ims.test | jq -c .removed)" "^\[$id\]$"
expect "the flow is ending, its set still there for the last responses" \
	"$(json "$(ctl "$P" flows)" '.flows[0] | "\(.state) \(.sets | length)"')" '^ending 1$'
await "after the linger the flow and its set are gone" "$P" status '.flows == 0 and .sets == 0'
rc=0; out=$("$SIMREG" ctl pcscf --ctl "$P" remove "$id") || rc=$?
expect "removing it again is refused" "$rc $out" '^1 \{"ok":false,"error":"no such flow"\}$'
stop pcscf || fail "the P-CSCF did not stop cleanly"
no_sanitizer_reports
echo "all $passed checks passed"
