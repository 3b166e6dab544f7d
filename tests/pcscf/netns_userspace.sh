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

echo "== registration with security agreement"
ue_start alice 198.18.20.2 alice@ims.test sip:alice@ims.test 198.18.20.1
s=$(register alice)
expect "alice registers through the P-CSCF" "$(json "$s" .state)" '^registered$'
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
f=$(ctl "$P" flows)
expect "every SA of alice's set carried one packet" "$(json "$f" '.flows[0].sets[0].packets | map(tostring) | join(" ")')" \
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
