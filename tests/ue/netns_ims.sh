#!/usr/bin/env bash
# `simreg ue` with two accesses against simreg's own P-CSCF, S-CSCF and HSS
# in network namespaces, SIP protected by userspace ESP (lib.sh draws the
# topology). What the issue asks for, in order:
#
#   every mechanism registers two accesses: none (the newer access ends the
#     older one's registration, which the UE learns from the reg event),
#     outbound, regevent-probe (the older access answers the probe),
#     modified-impi and its two combinations; a MESSAGE the UE sends to its
#     own IMPU then reaches it over every access that is registered;
#   a MAC failure: a USIM with another K answers with an empty response,
#     no SAs, the S-CSCF refuses;
#   a sync failure and resync: a USIM ahead of the HSS sends auts, the HSS
#     resynchronises, the next challenge is accepted;
#   a replayed challenge: the HSS's SQN is wound back, the USIM refuses the
#     repeated SQN (replay), resynchronises and registers;
#   out-of-order vectors: the wlan challenge is held back behind the umts
#     one, which carries the later SQN; the USIM accepts both (IND slots);
#   `ctl ue reauth` of one access against the default S-CSCF (scscf.reauth:
#     on-request): challenged, new SPIs for it, the other's SA set alone;
#   link drop and recovery: wlan's sockets and SAs vanish silently, umts
#     still gets the MESSAGE; after restore wlan registers again after the
#     RFC 5626 back-off and both get it again;
#   outbound keepalives answered over both flows; an OPTIONS and an
#     INVITE (from SIPp in the core) answered with the configured status
#     by both accesses; a P-CSCF whose answers to
#     wlan are lost: wlan's flow fails, recovery after the back-off;
#   the reg-event subscriptions refreshed inside their dialogs, and renewed
#     when the S-CSCF lost one;
#   network-initiated re-authentication: the S-CSCF shortens wlan's binding,
#     the UE re-registers, is challenged, and only wlan's SPIs change;
#     `ctl ue reauth` against an S-CSCF with scscf.reauth: never only
#     refreshes, and the UE reports the challenge declined;
#   a contact the network deactivates registers again at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SIMREG=$(realpath "$SIMREG")
work=$(mktemp -d)
source "$here/lib.sh"
trap 'lab_down; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, raw ESP sockets)"; exit 77; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
command -v sipp >/dev/null || { echo "sipp missing (sip-tester)"; exit 1; }

lab_up
mkdir -p "$work/hss" "$work/scscf" "$work/pcscf"
provision


# ---- every mechanism registers two accesses -------------------------------------
mechanisms() {
	local mech=$1 want_bindings=$2 want_reach=$3 first=yes
	deploy "$work/deploy.yaml" "$mech" registration
	if [ -z "${pids[hss]:-}" ]; then
		core_start "$work/deploy.yaml"
	else
		stop scscf
		rm -rf "${work:?}/scscf/"*
		start scscf "$ns_c" 'ready: .*HSS hss.ims.test connected' "$SIMREG" scscf \
			--config "$work/deploy.yaml"
	fi
	ue_start "$work/deploy.yaml"
	ue_ctl register wlan >/dev/null
	await_state wlan registered
	ue_ctl register umts >/dev/null
	await_state umts registered
	if [ "$mech" = none ]; then
		# The registrar replaced wlan's binding and said so in a NOTIFY.
		await_state wlan idle
		first=no
	fi
	n=$(bindings | wc -l)
	[ "$n" = "$want_bindings" ] || { bindings; fail "$mech: $n bindings, want $want_bindings"; }
	got=$(reached umts)
	[ "$got" = "$want_reach" ] || fail "$mech: MESSAGE reached '$got', want '$want_reach'"
	ok "$mech: wlan $( [ $first = yes ] && echo registered || echo replaced), umts registered, $n binding(s) at the S-CSCF, a MESSAGE to the IMPU reached: $got"
}

mechanisms none 1 "umts"
stop ue
mechanisms outbound 2 "umts wlan"
# Both reg-ids, one instance.
[ "$(scscf_ctl bindings "$IMPU" | jq -r '[.bindings[].reg_id] | sort | join(",")')" = 1,2 ] ||
	fail "outbound: reg-ids"
stop ue
mechanisms regevent-probe 2 "umts wlan"
# The S-CSCF probed wlan with a NOTIFY on its subscription, and wlan answered.
[ -n "$(events '.event=="msg" and .access=="wlan" and .method=="NOTIFY" and .answer==200')" ] ||
	fail "regevent-probe: wlan saw no NOTIFY"
stop ue
mechanisms modified-impi 2 "umts wlan"
[ "$(bindings | awk '{print $2}' | sort | tr '\n' ' ')" = "alice+2@ims.test alice@ims.test " ] ||
	fail "modified-impi: IMPIs of the bindings"
stop ue
mechanisms modified-impi+outbound 2 "umts wlan"
stop ue
mechanisms modified-impi+regevent-probe 2 "umts wlan"
stop ue
# SIGTERM deregistered both accesses.
[ "$(bindings | wc -l)" = 0 ] || fail "bindings left after the UE stopped"
ok "SIGTERM deregisters every access: no binding left"

# From here on: outbound.
deploy "$work/deploy.yaml" outbound registration
stop scscf
start scscf "$ns_c" 'ready: .*HSS hss.ims.test connected' "$SIMREG" scscf --config "$work/deploy.yaml"

# ---- MAC failure --------------------------------------------------------------------
deploy "$work/mac.yaml" outbound registration "  usim:" "    k: 000102030405060708090a0b0c0d0e0f"
ue_start "$work/mac.yaml"
ue_ctl register wlan >/dev/null
await_event '.event=="aka" and .verdict=="mac-failure"'
await_state wlan backoff
[ -z "$(events '.event=="sa"')" ] || fail "mac: SAs created"
[ "$(bindings | wc -l)" = 0 ] || fail "mac: registered"
stop ue
ok "MAC failure: empty response, refused, no SA set, nothing registered"

# ---- sync failure and resync -----------------------------------------------------------
# A USIM that has seen SEQ 5000 in every slot: whatever the HSS sends is old.
for i in $(seq 0 31); do echo "seq $i 5000"; done |
	sed '1i ind_bits 5\ndelta 268435456\nage_limit 0' >"$work/ahead.state"
ue_start "$work/deploy.yaml" "$work/ahead.state"
ue_ctl register wlan >/dev/null
await_state wlan registered
v=$(events '.event=="aka"' | jq -r '"\(.verdict)/\(.sqn_verdict)"' | tr '\n' ' ')
[ "$v" = "sync-failure/replay ok/fresh " ] || fail "sync: aka verdicts $v"
sqn=$(events '.event=="aka" and .verdict=="ok"' | jq -r .sqn)
[ $((sqn >> 5)) = 5001 ] || fail "sync: resynchronised SQN $sqn, want SEQ 5001"
ok "sync failure: auts, the HSS resynchronises, the next challenge (SEQ 5001) is accepted"

# ---- a replayed challenge ----------------------------------------------------------------
# Wind the HSS back by one vector: the next challenge repeats an SQN the USIM took.
ue_ctl deregister wlan >/dev/null
await_state wlan idle
hss_sqn=$("$SIMREG" ctl --data "$work/hss" subscriber show "$IMPI" | sed -n 's/^sqn:[[:space:]]*//p')
[ -n "$hss_sqn" ] || fail "replay: no SQN in 'subscriber show'"
# One vector back: SEQ - 1, IND - 1 (33.102 C.1.2 steps both).
"$SIMREG" ctl --data "$work/hss" subscriber set "$IMPI" --sqn "$(printf '%012x' $((16#$hss_sqn - 33)))" >/dev/null
ue_ctl register wlan >/dev/null
await_state wlan registered
v=$(events '.event=="aka"' | jq -r '"\(.verdict)/\(.sqn_verdict)"' | tail -2 | tr '\n' ' ')
[ "$v" = "sync-failure/replay ok/fresh " ] || fail "replay: aka verdicts $v"
stop ue
ok "replayed challenge: refused as a replay (auts), resynchronised, registered"

# ---- out-of-order vectors -------------------------------------------------------------------
# wlan's challenge is held back: the P-CSCF routes the UE's wlan address
# through a neighbour that never answers ARP, so the 401 is lost; umts is
# challenged meanwhile with the HSS's next vector and registers. Once the
# route is gone, wlan's REGISTER retransmission makes the P-CSCF's
# transaction send the 401 again, with the older vector.
hss_sqn() {
	"$SIMREG" ctl --data "$work/hss" subscriber show "$IMPI" | sed -n 's/^sqn:[[:space:]]*//p'
}
ip -n "$ns_p" route add 198.18.40.2/32 via 198.18.40.9 dev p-wlan
ue_start "$work/deploy.yaml"
before=$(hss_sqn)
ue_ctl register wlan >/dev/null
for i in $(seq 200); do [ "$(hss_sqn)" != "$before" ] && break; sleep 0.05; done
[ "$(hss_sqn)" != "$before" ] || fail "out-of-order: wlan was never challenged"
ue_ctl register umts >/dev/null
await_state umts registered
[ "$(state wlan)" = unprotected ] || fail "out-of-order: wlan is $(state wlan)"
ip -n "$ns_p" route del 198.18.40.2/32
await_state wlan registered 20
order=$(events '.event=="aka"' | jq -r '"\(.access) \(.sqn) \(.verdict)"')
read -r a1 s1 v1 a2 s2 v2 <<<"$(echo $order)"
[ "$a1 $a2" = "umts wlan" ] || fail "out-of-order: challenges seen in order $a1 $a2"
[ "$v1 $v2" = "ok ok" ] && [ "$s1" -gt "$s2" ] || fail "out-of-order: $order"
ok "out-of-order vectors: umts's SQN $s1 accepted, then wlan's older $s2 (another IND slot)"

# ---- re-authenticating one access: `ctl ue reauth` ---------------------------------------------
# wlan re-registers over its SAs with nonce="" (challenge me); the S-CSCF's
# default, scscf.reauth: on-request, challenges it. wlan answers over a new
# temporary set of its own, which the 200 promotes; umts's set is not touched.
since() { tail -n +"$((mark + 1))" "$work/ue/ue-events.jsonl" | jq -c "select($1)"; }
spis() {
	ue_ctl status | jq -r --arg a "$1" '.accesses[] | select(.name==$a) | .sa | "\(.spi_uc) \(.spi_us)"'
}
umts_set=$(ue_ctl status | jq -c '.accesses[] | select(.name=="umts") | .sa')
wlan_spis=$(spis wlan)
mark=$(wc -l <"$work/ue/ue-events.jsonl")
ue_ctl reauth wlan >/dev/null
await_event '.event=="registered" and .access=="wlan" and .how!="initial"' 20
how=$(since '.event=="registered" and .access=="wlan"' | jq -r '"\(.how) \(.challenge_declined // false)"')
[ "$how" = "re-authenticated false" ] || fail "ue reauth: wlan registered '$how'"
[ -n "$(since '.event=="aka" and .access=="wlan" and .verdict=="ok"')" ] || fail "ue reauth: no challenge"
new=$(since '.event=="sa" and .access=="wlan" and .op=="promoted"' | jq -r '"\(.spi_uc) \(.spi_us)"')
[ -n "$new" ] && [ "$new" != "$wlan_spis" ] && [ "$new" = "$(spis wlan)" ] ||
	fail "ue reauth: wlan's SPIs $wlan_spis, promoted '$new', now $(spis wlan)"
gone=$(since '.event=="sa" and .access=="wlan" and .op=="deleted"' | jq -r '"\(.spi_uc) \(.spi_us)"')
echo "$gone" | grep -qx "$wlan_spis" || fail "ue reauth: wlan's old set ($wlan_spis) not deleted: $gone"
[ -z "$(since '.event=="sa" and .access=="umts"')" ] || fail "ue reauth: umts's SAs were touched"
[ "$(ue_ctl status | jq -c '.accesses[] | select(.name=="umts") | .sa')" = "$umts_set" ] ||
	fail "ue reauth: umts's SA set changed"
[ "$(reached umts)" = "umts wlan" ] || fail "ue reauth: MESSAGE"
ok "ctl ue reauth wlan against the default S-CSCF: challenged, re-authenticated, SPIs $wlan_spis -> $new; umts's SA set untouched"

# ---- link drop and recovery ------------------------------------------------------------------
ue_ctl drop wlan >/dev/null
[ "$(state wlan)" = link-down ] || fail "drop: wlan is $(state wlan)"
[ "$(bindings | wc -l)" = 2 ] || fail "drop: the network noticed at once"
[ "$(reached umts)" = "umts" ] || fail "drop: MESSAGE"
ue_ctl restore wlan >/dev/null
await_state wlan registered 20
[ "$(bindings | wc -l)" = 2 ] || fail "restore: $(bindings | wc -l) bindings"
[ "$(reached umts)" = "umts wlan" ] || fail "restore: MESSAGE"
stop ue
ok "link drop: umts alone gets the MESSAGE; restore: wlan registers again after the back-off, both get it"

# ---- outbound keepalives: answered, and a P-CSCF that stops answering ------------------------
# A STUN binding request every second over each protected flow (RFC 5626
# 4.4.2), 2 s to answer. The P-CSCF answers over the SAs; when its answers
# to wlan are lost (routed to a neighbour that never answers ARP), wlan's
# flow fails and recovery starts with the back-off; umts is not affected.
deploy "$work/ka.yaml" outbound registration "  keepalive:" "    interval: 1s" "    timeout: 2s" \
	"  answer:" "    options: 486" "    invite: 480"
ue_start "$work/ka.yaml"
ue_ctl register wlan >/dev/null
await_state wlan registered
ue_ctl register umts >/dev/null
await_state umts registered
ka() {
	ue_ctl status | jq -r --arg a "$1" '.accesses[] | select(.name == $a) | "\(.keepalives.sent) \(.keepalives.answered)"'
}
for i in $(seq 200); do
	read -r _ w <<<"$(ka wlan)"
	read -r _ u <<<"$(ka umts)"
	[ "$w" -ge 3 ] && [ "$u" -ge 3 ] && break
	sleep 0.05
done
[ "$w" -ge 3 ] && [ "$u" -ge 3 ] || fail "keepalives: answered wlan $w, umts $u"
[ -z "$(events '.cause=="flow-failed"')" ] || fail "keepalives: a flow failed"
ok "keepalives answered over both protected flows (sent answered): wlan $(ka wlan), umts $(ka umts)"

# OPTIONS from wlan to the IMPU through its Service-Route: both accesses
# answer what ue.answer.options says, and that comes back.
id=$(ue_ctl send OPTIONS "$IMPU" via wlan | jq -r .call_id)
await_event ".event==\"msg\" and .dir==\"rx\" and .status and .call_id==\"$id\"" 40
got=$(events ".event==\"msg\" and .method==\"OPTIONS\" and .answer==486 and .call_id==\"$id\"" |
	jq -r .access | sort | tr '\n' ' ')
[ "$got" = "umts wlan " ] || fail "OPTIONS: answered 486 on '$got'"
st=$(events ".event==\"msg\" and .dir==\"rx\" and .status and .call_id==\"$id\"" | jq -r .status)
[ "$st" = 486 ] || fail "OPTIONS: the sender got $st"
ok "OPTIONS to the IMPU via wlan: both accesses answer ue.answer.options (486), the sender gets 486"

# An INVITE from SIPp in the core to the IMPU: the S-CSCF forks it to both
# bindings, each access answers ue.answer.invite over its SAs, SIPp gets it.
ip netns exec "$ns_c" sipp -sf "$here/sipp/uac_invite.xml" -i 198.18.42.2 -p 5099 \
	198.18.42.2:6060 -m 1 -nostdin -timeout 20s -timeout_error -trace_err \
	-error_file "$work/sipp-invite.err" >"$work/sipp-invite.log" 2>&1 ||
	fail "INVITE: SIPp did not get 480 ($(cat "$work/sipp-invite.err" 2>/dev/null))"
got=$(events '.event=="msg" and .method=="INVITE" and .answer==480' | jq -r .access | sort | tr '\n' ' ')
[ "$got" = "umts wlan " ] || fail "INVITE: answered 480 on '$got'"
ok "INVITE from the core: forked to both accesses, each answers ue.answer.invite (480) over its SAs"

ip -n "$ns_p" route add 198.18.40.2/32 via 198.18.40.9 dev p-wlan
await_event '.event=="state" and .access=="wlan" and .from=="registered" and .cause=="flow-failed" and .to=="backoff"' 10
[ -n "$(events '.event=="sa" and .access=="wlan" and .op=="deleted" and .why=="registration failed"')" ] ||
	fail "keepalives: wlan's SAs not deleted"
[ "$(state umts)" = registered ] || fail "keepalives: umts is $(state umts)"
[ -z "$(events '.access=="umts" and .cause=="flow-failed"')" ] || fail "keepalives: umts's flow failed"
ip -n "$ns_p" route del 198.18.40.2/32
await_state wlan registered 30
[ "$(bindings | wc -l)" = 2 ] || fail "keepalives: $(bindings | wc -l) bindings after recovery"
[ "$(reached umts)" = "umts wlan" ] || fail "keepalives: MESSAGE after recovery"
stop ue
ok "a P-CSCF that stops answering wlan's keepalives: flow failed, SAs deleted, back-off, registered again; umts untouched"

# ---- the reg-event subscription: refreshed, and renewed when the notifier lost it --------
# The S-CSCF grants subscriptions 6 s at most, so the UE refreshes them every
# 3 s inside their dialogs (through the P-CSCF's Record-Route).
# It does not re-authenticate protected REGISTERs unless asked by ctl
# (scscf.reauth: never), for the declined `ctl ue reauth` below.
SUB_MAX_EXPIRES=6 REAUTH_EXPIRY=6s SCSCF_REAUTH=never deploy "$work/sub.yaml" outbound registration
stop scscf
start scscf "$ns_c" 'ready: .*HSS hss.ims.test connected' "$SIMREG" scscf --config "$work/sub.yaml"
ue_start "$work/sub.yaml"
ue_ctl register wlan >/dev/null
await_state wlan registered
ue_ctl register umts >/dev/null
await_state umts registered
ue_subs() {
	scscf_ctl subscriptions "$IMPU" | jq -r '[.subscriptions[] | select(.kind=="ue")] | length'
}
# Three refreshes of each: the subscriptions outlived their 6 s.
await_count '.event=="subscription" and .access=="wlan" and .why=="refreshed"' 3 20
await_count '.event=="subscription" and .access=="umts" and .why=="refreshed"' 3 20
[ "$(ue_subs)" = 2 ] || fail "subscription refresh: $(ue_subs) UE subscriptions at the S-CSCF"
[ "$(events '.event=="subscription" and .to=="terminated"')" = "" ] ||
	fail "subscription refresh: a subscription ended"
ok "reg-event subscriptions granted 6 s are refreshed in their dialogs every 3 s, both alive"

# The S-CSCF forgets wlan's subscription (its row deleted while it is
# stopped): the next refresh fails (481, or no answer while it is down), the
# UE subscribes anew and the registrations are not touched.
stop scscf
sqlite3 "$work/scscf/scscf.db" "DELETE FROM subscription WHERE kind = 0 AND target LIKE '%198.18.40.2%'"
start scscf "$ns_c" 'ready: .*HSS hss.ims.test connected' "$SIMREG" scscf --config "$work/sub.yaml"
await_event '.event=="subscription" and .access=="wlan" and .to=="terminated"' 20
await_count '.event=="subscription" and .access=="wlan" and .from=="subscribing" and .to=="active"' 2 20
for i in $(seq 100); do [ "$(ue_subs)" = 2 ] && break; sleep 0.1; done
[ "$(ue_subs)" = 2 ] || fail "lost subscription: $(ue_subs) UE subscriptions at the S-CSCF"
[ "$(state wlan) $(state umts)" = "registered registered" ] || fail "lost subscription: states"
[ -z "$(events '.event=="state" and .to!="registered" and .from=="registered"')" ] ||
	fail "lost subscription: a registration changed"
why=$(events '.event=="subscription" and .access=="wlan" and .to=="terminated"' | jq -r .why | head -1)
ok "a subscription the S-CSCF lost ($why) is replaced by a new one; registrations untouched"

# ---- network-initiated re-authentication: a 401 to a protected re-REGISTER ------------------
# `ctl scscf reauth` shortens wlan's binding to 6 s (NOTIFY "shortened"); the
# UE re-registers by itself at half time over its SAs, is challenged, and
# answers over a new temporary set of wlan alone.
umts_sa=$(ue_ctl status | jq -c '.accesses[] | select(.name=="umts") | .sa | {spi_uc, spi_us, spi_pc, spi_ps}')
wlan_spis=$(ue_ctl status | jq -r '.accesses[] | select(.name=="wlan") | .sa | "\(.spi_uc) \(.spi_us)"')
mark=$(wc -l <"$work/ue/ue-events.jsonl")
wlan_binding=$(scscf_ctl bindings "$IMPU" | jq -r '.bindings[] | select(.reg_id==1) | .id')
scscf_ctl reauth "$IMPU" "binding=$wlan_binding" >/dev/null
await_event '.event=="registered" and .access=="wlan" and .how=="re-authenticated"' 20
[ -n "$(since '.event=="registered" and .access=="wlan" and .how=="shortened" and .expires<=6')" ] ||
	fail "reauth: no shortened registration"
[ -n "$(since '.event=="aka" and .access=="wlan" and .verdict=="ok"')" ] || fail "reauth: no challenge"
new=$(since '.event=="sa" and .access=="wlan" and .op=="created" and .kind=="temporary"' | jq -r '"\(.spi_uc) \(.spi_us)"')
[ -n "$new" ] && [ "$new" != "$wlan_spis" ] || fail "reauth: wlan's temporary set '$new'"
gone=$(since '.event=="sa" and .access=="wlan" and .op=="deleted"' | jq -r '"\(.spi_uc) \(.spi_us)"')
echo "$gone" | grep -qx "$wlan_spis" || fail "reauth: wlan's old set ($wlan_spis) not deleted: $gone"
[ -z "$(since '.event=="sa" and .access=="umts"')" ] || fail "reauth: umts's SAs were touched"
[ "$(ue_ctl status | jq -c '.accesses[] | select(.name=="umts") | .sa | {spi_uc, spi_us, spi_pc, spi_ps}')" = "$umts_sa" ] ||
	fail "reauth: umts's SPIs changed"
[ "$(reached umts)" = "umts wlan" ] || fail "reauth: MESSAGE"
ok "network-initiated re-authentication: wlan challenged on its own re-REGISTER, SPIs $wlan_spis -> $new; umts's SA set untouched"

# `ctl ue reauth` asks with nonce="" over the SAs; an S-CSCF that does not
# re-authenticate protected REGISTERs (scscf.reauth: never) only refreshes.
mark=$(wc -l <"$work/ue/ue-events.jsonl")
ue_ctl reauth umts >/dev/null
await_event '.event=="registered" and .access=="umts" and .how=="refreshed"' 20
[ -n "$(since '.event=="registered" and .access=="umts" and .challenge_declined==true')" ] ||
	fail "ue reauth: the declined challenge is not reported"
[ -z "$(since '.event=="sa"')" ] || fail "ue reauth: SAs changed without a challenge"
ok "ctl ue reauth with scscf.reauth never: refreshed, no challenge, reported as declined"

# ---- the network deactivates umts's contact: an initial registration at once ----------------
mark=$(wc -l <"$work/ue/ue-events.jsonl")
wlan_sa=$(ue_ctl status | jq -c '.accesses[] | select(.name=="wlan") | .sa')
umts_binding=$(scscf_ctl bindings "$IMPU" | jq -r '.bindings[] | select(.reg_id==2) | .id')
scscf_ctl dereg "$IMPU" "binding=$umts_binding" event=deactivated >/dev/null
await_event '.event=="state" and .access=="umts" and .cause=="network-deactivated" and .to=="unprotected"' 10
await_state umts registered 20
[ -n "$(since '.event=="registered" and .access=="umts" and .how=="initial"')" ] ||
	fail "deactivated: umts did not register anew"
[ "$(ue_ctl status | jq -c '.accesses[] | select(.name=="wlan") | .sa')" = "$wlan_sa" ] ||
	fail "deactivated: wlan's SA set changed"
[ "$(bindings | wc -l)" = 2 ] || fail "deactivated: $(bindings | wc -l) bindings"
[ "$(reached wlan)" = "umts wlan" ] || fail "deactivated: MESSAGE"
stop ue
ok "umts's contact deactivated by the network: registered again at once (24.229 5.1.1.3), wlan untouched"

echo "$passed passed, 0 failed"
