#!/usr/bin/env bash
# The P-CSCF with simreg's own S-CSCF and HSS behind it (no harness in the
# core): IMS AKA vectors from `simreg hss` over Cx, challenges and
# bindings by `simreg scscf`, UE harnesses on userspace ESP.
#
# A UE's MESSAGE goes out over SA1, through the S-CSCF (its Service-Route),
# back in over the other UE's Path and SA2; the S-CSCF's reg-event NOTIFY
# ends the flow whose binding it replaced (policy none: a second contact of
# one IMPI replaces the first), and the P-CSCF drops that flow's SAs while
# the new one works.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/lib.sh"
trap 'lab_down; rm -rf "$work"' EXIT

lab_up
cat >"$work/core.yaml" <<YAML
log:
  level: info
hss:
  diameter:
    listen: 127.0.0.1:3868
    peers: [ "scscf.ims.test realm=ims.test" ]
scscf:
  policy: none
  server_name: "sip:198.18.22.2:6060"
  sip:
    listen: [ "udp:198.18.22.2:6060" ]
  diameter:
    hss_address: 127.0.0.1:3868
YAML
for u in alice bob; do
	"$SIMREG" ctl --data "$work/core" subscriber add --impi "$u@ims.test" \
		--impu "sip:$u@ims.test" --k "$K" --opc "$OPC" >/dev/null ||
		fail "provisioning $u"
done
start hss "$ns_s" "$SIMREG" hss --config "$work/core.yaml" --data "$work/core"
start scscf "$ns_s" "$SIMREG" scscf --config "$work/core.yaml" --data "$work/core"
for i in $(seq 200); do
	grep -q "HSS hss.ims.test connected" "$work/scscf.log" && break
	sleep 0.05
done
grep -q "HSS hss.ims.test connected" "$work/scscf.log" || fail "the S-CSCF did not reach the HSS"
pcscf_config "$work/pcscf.yaml" registration
pcscf_start "$work/pcscf.yaml" "$work/data"
P=$work/pcscf.ctl

echo "== registration through simreg's S-CSCF and HSS"
ue_start alice 198.18.20.2 alice@ims.test sip:alice@ims.test 198.18.20.1
ue_start bob 198.18.21.2 bob@ims.test sip:bob@ims.test 198.18.21.1
s=$(register alice)
expect "alice registers (vector from the HSS, challenge from the S-CSCF)" "$(json "$s" .state)" '^registered$'
s=$(register bob)
expect "bob registers" "$(json "$s" .state)" '^registered$'
await "the P-CSCF holds a reg-event subscription per IMPU, both active" "$P" subscriptions \
	'[.subscriptions[] | select(.state == "active")] | length == 2'

echo "== bob to alice: SA1 out, the S-CSCF, SA2 in"
ctl "$work/bob.ctl" message sip:alice@ims.test >/dev/null
s=$(await_ue bob '.message_status != 0')
expect "bob's MESSAGE to alice is answered 200" "$(json "$s" .message_status)" '^200$'
s=$(ctl "$work/alice.ctl" state)
expect "alice got it over her SA set" "$(json "$s" '"\(.incoming) \(.last_incoming)"')" '^1 MESSAGE$'

echo "== the S-CSCF replaces alice's binding; its NOTIFY ends her first flow"
ue_start alice2 198.18.21.2 alice@ims.test sip:alice@ims.test 198.18.21.1
s=$(register alice2)
expect "alice registers a second contact (policy none: it replaces the first)" "$(json "$s" .state)" '^registered$'
await "the NOTIFY ends the first flow, the second stays" "$P" flows \
	'[.flows[] | select(.impi == "alice@ims.test") | .ue] == ["198.18.21.2"]'
ctl "$work/bob.ctl" message sip:alice@ims.test >/dev/null
s=$(await_ue bob '.message_status != 0')
expect "bob reaches alice again" "$(json "$s" .message_status)" '^200$'
await "over her second access" "$work/alice2.ctl" state '.incoming == 1'
expect "not over the first" "$(json "$(ctl "$work/alice.ctl" state)" .incoming)" '^1$'

echo "== deregistration through the S-CSCF"
ctl "$work/bob.ctl" deregister >/dev/null
s=$(await_ue bob '.state == "idle" or .state == "failed"')
expect "bob deregisters" "$(json "$s" .state)" '^idle$'
await "his flow and set are gone" "$P" flows '[.flows[] | select(.impi == "bob@ims.test")] | length == 0'
st=$(ctl "$P" status)
expect "nothing refused by the state tables" "$(json "$st" .counters.refused_events)" '^0$'
stop pcscf || fail "the P-CSCF did not stop cleanly"
no_sanitizer_reports
echo "all $passed checks passed"
