#!/usr/bin/env bash
# The P-CSCF over the wire (issue 8 §5), userspace ESP, in network namespaces:
# UE harnesses (lib/aka USIM, lib/ipsec security agreement) and a registrar
# harness standing in for the S-CSCF, with real ESP on the access links.
#
# Covers: registration with security agreement and the edge headers,
# requests both ways over the SA set (P-Asserted-Identity, flow tokens),
# refresh, re-authentication (old set kept until the new one is used),
# bidding-down attempts, requests from the wrong address or over the wrong
# SA, forged and stale flow tokens, two registrations of one IMPI from two
# addresses in both binding modes, deregistration, expiry, a reg-event
# NOTIFY that ends a flow, IPv6, and tshark decrypting the access link.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT

lab_up
registrar_start
pcscf_config "$work/pcscf.yaml" registration
pcscf_start "$work/pcscf.yaml" "$work/data"
P=$work/pcscf.ctl
R=$work/registrar.ctl

# Everything on access a's link, ESP only; tshark reads it at the end.
: >"$work/cap.err"
ip netns exec "$ns_p" dumpcap -q -i p-a -P -w "$work/access-a.pcap" \
	-f "ip proto 50 or ip6 proto 50" 2>"$work/cap.err" &
cap_pid=$!
for i in $(seq 100); do
	grep -q "Capturing on" "$work/cap.err" && break
	sleep 0.05
done
grep -q "Capturing on" "$work/cap.err" || fail "dumpcap did not start"

echo "== registration with security agreement"
ue_start alice 198.18.20.2 alice@ims.test sip:alice@ims.test 198.18.20.1
s=$(register alice)
expect "alice registers through the P-CSCF" "$(json "$s" .state)" '^registered$'
first=$s
f=$(ctl "$P" flows)
expect "one flow, registered" "$(json "$f" '[.flows[] | .state] | join(",")')" '^registered$'
expect "its established set has alice's ports" \
	"$(json "$f" '.flows[0].sets[0] | "\(.state) \(.port_uc) \(.port_us)"')" \
	"^established $(json "$s" .port_uc) $(json "$s" .port_us)$"
expect "the P-CSCF's SPIs are the ones the UE uses" \
	"$(json "$f" '.flows[0].sets[0] | "\(.spi_pc) \(.spi_ps)"')" \
	"^$(json "$s" .spi_pc) $(json "$s" .spi_ps)$"
lr=$(ctl "$R" last-register)
expect "integrity-protected=\"yes\" on the protected REGISTER" "$(json "$lr" .integrity_protected)" '^yes$'
expect "no sec-agree headers past the P-CSCF" "$(json "$lr" .sec_agree_headers)" '^false$'
expect "Path with the flow token and ob" "$(json "$lr" .path)" \
	"^<sip:$(json "$f" .flows[0].token)@198.18.22.1:5060;lr;ob>$"
expect "P-Visited-Network-ID" "$(json "$lr" .p_visited_network_id)" '^ims.test$'
expect "P-Charging-Vector with icid and orig-ioi" "$(json "$lr" .p_charging_vector)" \
	'^icid-value=[0-9a-f]{32};icid-generated-at=198.18.22.1;orig-ioi=ims.test$'
expect "integrity-protected=\"no\" first, then \"yes\"" "$(json "$lr" .integrity_history)" '^no,yes$'
await "the P-CSCF subscribed to alice's reg event" "$P" subscriptions \
	'[.subscriptions[] | select(.impu == "sip:alice@ims.test" and .state == "active")] | length == 1'

echo "== requests from the UE, and to it"
ctl "$work/alice.ctl" message sip:bob@ims.test >/dev/null
s=$(await_ue alice '.message_status != 0')
expect "alice's MESSAGE over SA1 is answered 200" "$(json "$s" .message_status)" '^200$'
lq=$(ctl "$R" last-request)
expect "P-Asserted-Identity is what alice preferred, hers; her own PAI is gone" \
	"$(json "$lq" .p_asserted_identity)" '^<sip:alice@ims.test>$'
expect "no Record-Route for a MESSAGE" "$(json "$lq" .record_route)" '^$'
ctl "$R" message sip:alice@ims.test >/dev/null
await "a MESSAGE down alice's Path is answered 200" "$R" results '.results == [200]'
s=$(await_ue alice '.incoming == 1')
expect "alice got it over SA2" "$(json "$s" '"\(.incoming) \(.last_incoming)"')" '^1 MESSAGE$'
ctl "$work/alice.ctl" subscribe >/dev/null
s=$(await_ue alice '.message_status != 0')
expect "alice subscribes to her reg event over SA1" "$(json "$s" .message_status)" '^200$'
tok=$(json "$(ctl "$P" flows)" .flows[0].token)
expect "the P-CSCF Record-Routes her SUBSCRIBE with her flow token" \
	"$(json "$(ctl "$R" subscriptions)" '.subscriptions[] | select(.target | startswith("sip:ue@")) | .route')" \
	"^<sip:$tok@198.18.22.1:5060;lr>$"
printf '\x00\x01\x00\x00\x21\x12\xa4\x42simreg-stun1' >"$work/stun.bin"
stun=$(ip netns exec "$ns_ue" socat -t 2 - UDP4:198.18.20.1:5060 <"$work/stun.bin" | od -An -tx1 | tr -d ' \n')
expect "a STUN keepalive on the P-CSCF's port is answered (binding success, same transaction)" \
	"$stun" '^0101....2112a442(73696d7265672d7374756e31)'
f=$(ctl "$P" flows)
expect "every SA of alice's set carried traffic" "$(json "$f" '.flows[0].sets[0].packets | map(tostring) | join(" ")')" \
	'^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$'

echo "== refresh, then re-authentication"
set1=$(json "$f" .flows[0].sets[0].set)
ctl "$work/alice.ctl" reregister >/dev/null
s=$(await_ue alice '.state == "registered" or .state == "failed"')
expect "alice refreshes over her established set" "$(json "$s" .state)" '^registered$'
f=$(ctl "$P" flows)
expect "no new set without a challenge" "$(json "$f" '[.flows[0].sets[] | .set] | join(",")')" "^$set1$"
ctl "$R" reauth on >/dev/null
ctl "$work/alice.ctl" reregister >/dev/null
s=$(await_ue alice '.state == "registered" or .state == "failed"')
expect "alice re-authenticates" "$(json "$s" .state)" '^registered$'
f=$(ctl "$P" flows)
expect "a new established set, the first one kept as old" \
	"$(json "$f" '[.flows[0].sets[] | "\(.state):\(.set)"] | join(",")')" \
	"^established:[0-9]+,old:$set1$"
expect "port_ps kept, port_pc new" \
	"$(json "$f" '.flows[0].sets | "\(.[0].port_ps == .[1].port_ps) \(.[0].port_pc != .[1].port_pc)"')" \
	'^true true$'
ctl "$R" reauth off >/dev/null
ctl "$work/alice.ctl" message sip:bob@ims.test >/dev/null
s=$(await_ue alice '.message_status != 0')
expect "alice's MESSAGE over the new set" "$(json "$s" .message_status)" '^200$'
await "the old set is gone once alice used the new one" "$P" flows \
	'[.flows[0].sets[] | .state] == ["established"]'

echo "== bidding down"
ue_start bob 198.18.21.2 bob@ims.test sip:bob@ims.test 198.18.21.1
s=$(register bob 600000 bid-down-verify)
expect "a weakened Security-Verify is refused (403)" "$(json "$s" '"\(.state) \(.last_status)"')" '^failed 403$'
s=$(register bob 600000 bid-down-client)
expect "a Security-Client without its strong offer is refused (403)" "$(json "$s" '"\(.state) \(.last_status)"')" '^failed 403$'
s=$(register bob 600000 skip-verify)
expect "a protected REGISTER without Security-Verify is refused (403)" "$(json "$s" '"\(.state) \(.last_status)"')" '^failed 403$'
st=$(ctl "$P" status)
expect "three bidding-down attempts counted" "$(json "$st" .counters.bidding_down)" '^3$'
expect "none of them registered anything" "$(json "$st" .states.registered)" '^1$'
s=$(register bob)
expect "bob then registers normally" "$(json "$s" .state)" '^registered$'

echo "== what the edge refuses"
before=$(json "$(ctl "$P" status)" .counters.dropped)
ctl "$work/alice.ctl" message-sa4 sip:bob@ims.test >/dev/null
await "a request over SA4 (port_us -> port_pc) is dropped" "$P" status \
	".counters.dropped == $((before + 1))"
s=$(ctl "$work/alice.ctl" state)
expect "... and not answered" "$(json "$s" .message_status)" '^0$'
answer=$(printf '%s\r\n' "MESSAGE sip:bob@ims.test SIP/2.0" \
	"Via: SIP/2.0/UDP 198.18.20.2:5999;branch=z9hG4bKclear1" "Max-Forwards: 70" \
	"From: <sip:alice@ims.test>;tag=x1" "To: <sip:bob@ims.test>" "Call-ID: clear1" \
	"CSeq: 1 MESSAGE" "Content-Length: 0" "" |
	ip netns exec "$ns_ue" socat -t 2 - UDP4:198.18.20.1:5060,sourceport=5999 | head -1)
expect "a request on the unprotected port from a UE address gets 403" "$answer" '^SIP/2.0 403 '
ctl "$R" send "sip:AAAAAAAAAAAAAAAAAAAAAAAA@198.18.22.1:5060;lr" >/dev/null
ctl "$R" send "sip:not-a-token@198.18.22.1:5060;lr" >/dev/null
await "forged and malformed flow tokens get 403" "$R" results '.results[-2:] == [403, 403]'
st=$(ctl "$P" status)
expect "two forged tokens counted" "$(json "$st" .counters.forged_tokens)" '^2$'

echo "== two registrations of one IMPI from two addresses (registration binding)"
ue_start alice2 198.18.21.2 alice@ims.test sip:alice@ims.test 198.18.21.1
s=$(register alice2)
expect "alice registers her second access" "$(json "$s" .state)" '^registered$'
f=$(ctl "$P" flows)
expect "two registered flows of alice, each with its own set" \
	"$(json "$f" '[.flows[] | select(.impi == "alice@ims.test") | "\(.state)/\(.sets | length)"] | join(",")')" \
	'^registered/1,registered/1$'
n=$(json "$(ctl "$R" results)" '.results | length')
ctl "$R" message sip:alice@ims.test >/dev/null
await "a MESSAGE reaches alice over both accesses" "$R" results ".results[$n:] == [200, 200]"
await "access a got it" "$work/alice.ctl" state '.incoming == 2'
await "access b got it" "$work/alice2.ctl" state '.incoming == 1'

echo "== deregistration, and the flow token it leaves behind"
tok2=$(json "$(ctl "$P" flows)" '.flows[] | select(.ue == "198.18.21.2" and .impi == "alice@ims.test") | .token')
ctl "$work/alice2.ctl" deregister >/dev/null
s=$(await_ue alice2 '.state == "idle" or .state == "failed"')
expect "alice's second access deregisters" "$(json "$s" .state)" '^idle$'
await "its flow and set are gone after the linger" "$P" flows \
	'[.flows[] | select(.ue == "198.18.21.2" and .impi == "alice@ims.test")] | length == 0'
ctl "$R" send "sip:$tok2@198.18.22.1:5060;lr;ob" >/dev/null
await "its flow token now gets 430 Flow Failed" "$R" results '.results[-1] == 430'

echo "== IPv6"
ue_start carol 2001:db8:20::2 carol@ims.test sip:carol@ims.test "[2001:db8:20::1]:5060"
s=$(register carol)
expect "carol registers over IPv6" "$(json "$s" .state)" '^registered$'
ctl "$work/carol.ctl" message sip:alice@ims.test >/dev/null
s=$(await_ue carol '.message_status != 0')
expect "carol's MESSAGE over IPv6 ESP" "$(json "$s" .message_status)" '^200$'
ctl "$R" message sip:carol@ims.test >/dev/null
await "a MESSAGE to carol over IPv6" "$work/carol.ctl" state '.incoming == 1'

echo "== expiry"
# A refresh never shortens a set's lifetime (max(old, expiry + grace)): a new
# registration does.
ctl "$work/bob.ctl" deregister >/dev/null
s=$(await_ue bob '.state == "idle" or .state == "failed"')
expect "bob deregisters" "$(json "$s" .state)" '^idle$'
ctl "$R" expires 2 >/dev/null
s=$(register bob)
expect "bob registers for 2 s" "$(json "$s" '"\(.state) \(.last_status)"')" '^registered 200$'
ctl "$R" expires 600 >/dev/null
f=$(ctl "$P" flows)
expect "his set lives expiry + grace = 4 s (not the 557 s a refresh would keep)" \
	"$(json "$f" '.flows[] | select(.impi == "bob@ims.test" and .state == "registered") | .sets[0].expires_in')" '^[1-4]$'
await "bob's flow ends when its set expires, and goes after the linger" "$P" flows \
	'[.flows[] | select(.impi == "bob@ims.test" and .state == "registered")] | length == 0' 10

echo "== a reg-event NOTIFY ends a flow"
contact=$(json "$(ctl "$work/alice.ctl" state)" .contact)
ctl "$R" notify-terminated sip:alice@ims.test "$contact" >/dev/null
await "the S-CSCF's NOTIFY to alice's own subscription reached her over SA2 (by the token in its route)" \
	"$work/alice.ctl" state '.last_incoming == "NOTIFY"'
await "the NOTIFY ends alice's flow and its set goes" "$P" flows \
	'[.flows[] | select(.impi == "alice@ims.test")] | length == 0'
await "and the subscription for alice is given up" "$P" subscriptions \
	'[.subscriptions[] | select(.impu == "sip:alice@ims.test")] | length == 0'
st=$(ctl "$P" status)
expect "no request was refused by a state table" "$(json "$st" .counters.refused_events)" '^0$'

echo "== tshark decrypts access a with the exported keys"
sleep 0.2 # let the last packets reach the capture ring before it stops
kill -INT "$cap_pid"
wait "$cap_pid" || true
cap_pid=
uat=()
while IFS= read -r line; do
	uat+=(-o "uat:esp_sa:$line")
done <"$work/keys.log"
tshark -r "$work/access-a.pcap" -o esp.enable_encryption_decode:TRUE \
	-o esp.enable_authentication_check:TRUE -o udp.check_checksum:TRUE "${uat[@]}" \
	-Y esp -T fields -E separator=' ' -e esp.spi -e esp.icv_good -e udp.srcport \
	-e udp.dstport -e udp.checksum.status -e sip.Method -e sip.Status-Code \
	-e sip.P-Asserted-Identity 2>"$work/tshark.err" | sed 's/  */ /g; s/ $//' >"$work/decoded"
n=$(wc -l <"$work/decoded")
expect "tshark sees the ESP of access a" "$n" '^[1-9][0-9]+$'
expect "every ESP packet's ICV checks with the exported keys" \
	"$(awk '$2 != 1' "$work/decoded" | wc -l)" '^0$'
bad=$(awk 'NF < 6 || $5 != 1' "$work/decoded")
[ -z "$bad" ] || { echo "not SIP, or a bad checksum:"; echo "$bad"; }
expect "every packet decrypts to SIP over UDP with a good checksum" \
	"$(echo -n "$bad" | grep -c .)" '^0$'
uc=$(json "$first" .port_uc) ps=$(json "$first" .port_ps) spi=$(printf 0x%08x "$(json "$first" .spi_ps)")
expect "alice's protected REGISTER: SPI spi_ps, port_uc -> port_ps" \
	"$(grep -c "^$spi 1 $uc $ps 1 REGISTER" "$work/decoded")" '^[1-9]'
expect "its 200 back over SA3" \
	"$(grep -c "^$(printf 0x%08x "$(json "$first" .spi_uc)") 1 $ps $uc 1 200" "$work/decoded")" '^[1-9]'
expect "the MESSAGE from the core reached alice over SA2 (spi_us, port_pc -> port_us)" \
	"$(grep -c "^$(printf 0x%08x "$(json "$first" .spi_us)") 1 [0-9]* $(json "$first" .port_us) 1 MESSAGE" "$work/decoded")" '^1$'
expect "only REGISTER, MESSAGE, SUBSCRIBE, NOTIFY (and responses) crossed access a's SAs" \
	"$(awk 'NF >= 6 && $6 !~ /^[0-9]+$/ {print $6}' "$work/decoded" | sort -u | tr '\n' ' ')" '^MESSAGE NOTIFY REGISTER SUBSCRIBE $'

echo "== two registrations of one IMPI, impi binding (legacy)"
stop pcscf || fail "the P-CSCF did not stop cleanly"
pcscf_config "$work/pcscf-impi.yaml" impi
pcscf_start "$work/pcscf-impi.yaml" "$work/data-impi"
n=$(json "$(ctl "$R" results)" '.results | length')
s=$(register alice)
expect "alice registers access a" "$(json "$s" .state)" '^registered$'
s=$(register alice2)
expect "alice registers access b" "$(json "$s" .state)" '^registered$'
f=$(ctl "$P" flows)
expect "the second registration deleted the first one's set: one flow left, access b's" \
	"$(json "$f" '[.flows[] | select(.impi == "alice@ims.test") | .ue] | join(",")')" '^198.18.21.2$'
ctl "$R" message sip:alice@ims.test >/dev/null
await "the S-CSCF still has both bindings: access b answers 200, access a's flow token 430" \
	"$R" results ".results[$n:] | sort == [200, 430]"
before=$(json "$(ctl "$P" status)" .counters.ue_requests)
ctl "$work/alice.ctl" message sip:bob@ims.test >/dev/null
sleep 1 # nothing is to happen: give it the time it would take
expect "access a's own requests go nowhere: the P-CSCF has no SA for them" \
	"$(json "$(ctl "$P" status)" .counters.ue_requests)" "^$before$"
stop pcscf || fail "the P-CSCF did not stop cleanly"
no_sanitizer_reports
echo "all $passed checks passed"
