#!/usr/bin/env bash
# SIP over protected TCP: `simreg ue` with two accesses configured
# transport=tcp and mechanism outbound, against simreg's P-CSCF (listening
# on TCP too), S-CSCF and HSS in network namespaces, userspace ESP (its
# TUN devices carry the kernel's TCP through the SAs). lib.sh draws the
# topology; the namespaces here are stcp-*.
#
#   both accesses register: the unprotected REGISTER over TCP to port 5060,
#     the protected one over a connection from port_uc to port_ps;
#   a MESSAGE to the IMPU reaches the UE over both accesses: the P-CSCF
#     connects from port_pc to port_us (33.203 7.1);
#   tshark on both access links decrypts every ESP packet with the exported
#     keys and finds TCP inside, never UDP: the REGISTERs with tcp.dstport
#     port_ps, the MESSAGEs with tcp.dstport port_us;
#   the keepalives are CRLFCRLF pings answered by CRLF pongs (RFC 5626
#     4.4.1), counted by the UE;
#   dropping wlan: its TCP connection vanishes (no FIN, no RST); the
#     P-CSCF fails the flow when it falls silent (RFC 5626 5.3: 430 for
#     it), umts alone gets the MESSAGE;
#   remove-impi at the P-CSCF: umts's set goes with its TCP connections,
#     the UE sees its connection close, fails the flow and registers again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SIMREG=$(realpath "$SIMREG")
work=$(mktemp -d)
source "$here/lib.sh"
ns_u=stcp-u-$$
ns_p=stcp-p-$$
ns_c=stcp-c-$$
caps=()
stop_captures() {
	local p
	for p in "${caps[@]}"; do
		kill -INT "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	caps=()
}
trap 'stop_captures; lab_down; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, raw ESP sockets, TUN)"; exit 77; }
for c in jq tshark dumpcap; do
	command -v $c >/dev/null || { echo "$c missing"; exit 1; }
done

lab_up
mkdir -p "$work/hss" "$work/scscf" "$work/pcscf"
provision

# The shared deployment, with TCP: the P-CSCF listens on TCP on both access
# addresses (and so opens a protected TCP listener on every port_ps), the
# accesses say transport=tcp, the registrar asks for a Flow-Timer so that the
# P-CSCF watches the flows, keepalives every second.
deploy "$work/tcp.yaml" outbound registration "  keepalive:" "    interval: 1s" "    timeout: 2s"
sed -i -e 's|listen: \[ "udp:198.18.40.1:5060", "udp:198.18.41.1:5060",|listen: [ "tcp:198.18.40.1:5060", "tcp:198.18.41.1:5060", "udp:198.18.40.1:5060", "udp:198.18.41.1:5060",|' \
	-e 's|^\(    - "[a-z]* local=[0-9.]* pcscf=[0-9.:]*\)"$|\1 transport=tcp"|' \
	-e 's|^  probe_timeout: 1s$|&\n  flow_timer: 5|' \
	-e 's|^  sa_linger: 1s$|&\n  flow_grace: 1s|' "$work/tcp.yaml"
grep -q 'tcp:198.18.41.1:5060' "$work/tcp.yaml" && [ "$(grep -c 'transport=tcp' "$work/tcp.yaml")" = 2 ] &&
	grep -q 'flow_timer: 5' "$work/tcp.yaml" || fail "deployment file not edited as meant"

# ESP on both access links, as it passes (a pipe: each packet is in the
# file as soon as dumpcap has it).
for l in wlan umts; do
	: >"$work/cap-$l.err"
	ip netns exec "$ns_p" dumpcap -q -i "p-$l" -P -w - -f "ip proto 50" \
		2>"$work/cap-$l.err" >"$work/$l.pcap" &
	caps+=($!)
done
for l in wlan umts; do
	for i in $(seq 100); do
		grep -q "Capturing on" "$work/cap-$l.err" && break
		sleep 0.1
	done
	grep -q "Capturing on" "$work/cap-$l.err" || fail "dumpcap on p-$l did not start"
done

core_start "$work/tcp.yaml"
ue_start "$work/tcp.yaml"
# UE_TEST_BACKEND=xfrm: the same run with kernel ESP at both ends, inside
# the kernel-ESP VM (tests/ipsec/vm/in_vm.sh).
backend=$("$SIMREG" ctl pcscf --ctl "$work/pcscf.ctl" status | jq -r .backend)
[ "$backend" = "${UE_TEST_BACKEND:-userspace}" ] ||
	fail "the P-CSCF runs the $backend backend, not ${UE_TEST_BACKEND:-userspace}"
ue_ctl register wlan >/dev/null
await_state wlan registered
ue_ctl register umts >/dev/null
await_state umts registered
[ "$(bindings | wc -l)" = 2 ] || fail "$(bindings | wc -l) bindings, want 2"
bindings | grep -c 'transport=tcp' | grep -qx 2 || { bindings; fail "contacts without transport=tcp"; }
ok "both accesses registered over TCP: $(bindings | awk '{print $1}' | tr '\n' ' ')"

# A MESSAGE to the IMPU (reached, lib.sh): the S-CSCF forks it to both
# bindings, the P-CSCF connects to each port_us over the SAs.
got=$(reached umts)
[ "$got" = "umts wlan" ] || fail "MESSAGE reached '$got', want 'umts wlan'"
ok "a MESSAGE to the IMPU reached both accesses over TCP"

# Keepalives: CRLF pings, answered.
ka() {
	ue_ctl status | jq -r --arg a "$1" '.accesses[] | select(.name == $a) |
		"\(.keepalives.kind) \(.keepalives.sent) \(.keepalives.answered)"'
}
for i in $(seq 100); do
	read -r kw _ w <<<"$(ka wlan)"
	read -r ku _ u <<<"$(ka umts)"
	[ "$w" -ge 2 ] && [ "$u" -ge 2 ] && break
	sleep 0.05
done
[ "$kw $ku" = "crlf crlf" ] && [ "$w" -ge 2 ] && [ "$u" -ge 2 ] ||
	fail "keepalives: wlan '$(ka wlan)', umts '$(ka umts)'"
[ -z "$(events '.cause=="flow-failed"')" ] || fail "keepalives: a flow failed"
ok "CRLF keepalives answered by pongs (kind sent answered): wlan $(ka wlan), umts $(ka umts)"

# What the links carried: every ESP packet decrypts to TCP with the ports
# of its SA; the REGISTERs go to port_ps, the MESSAGEs to port_us.
sa() {
	ue_ctl status | jq -r --arg a "$1" --arg k "$2" '.accesses[] | select(.name == $a) | .sa[$k]'
}
declare -A ps us
for l in wlan umts; do
	ps[$l]=$(sa $l port_ps)
	us[$l]=$(sa $l port_us)
done
stop_captures
uat=()
while IFS= read -r line; do
	uat+=(-o "uat:esp_sa:$line")
done <"$work/esp.keys"
for l in wlan umts; do
	tshark -r "$work/$l.pcap" -o esp.enable_encryption_decode:TRUE \
		-o esp.enable_authentication_check:TRUE "${uat[@]}" -Y esp -T fields \
		-E separator=' ' -E occurrence=f -e esp.icv_good -e ip.proto -e tcp.srcport \
		-e tcp.dstport -e udp.dstport -e sip.Method 2>"$work/tshark-$l.err" |
		sed 's/  */ /g; s/ $//' >"$work/tshark-$l.out" || true
	n=$(wc -l <"$work/tshark-$l.out")
	[ "$n" -ge 10 ] || { cat "$work/tshark-$l.err"; fail "$l: tshark decoded $n ESP packets"; }
	bad=$(awk '$1 != "True" && $1 != "1" { print "ICV: " $0; next }
		NF < 4 || $3 == "" { print "not TCP: " $0 }' "$work/tshark-$l.out" | head -5)
	[ -z "$bad" ] || fail "$l: $bad"
	udp=$(tshark -r "$work/$l.pcap" -o esp.enable_encryption_decode:TRUE "${uat[@]}" \
		-Y 'esp && udp' 2>/dev/null | wc -l)
	[ "$udp" = 0 ] || fail "$l: $udp ESP packets with UDP inside"
	reg=$(awk -v p="${ps[$l]}" '$4 == p && $NF == "REGISTER"' "$work/tshark-$l.out" | wc -l)
	msg=$(awk -v p="${us[$l]}" '$4 == p && $NF == "MESSAGE"' "$work/tshark-$l.out" | wc -l)
	[ "$reg" -ge 1 ] && [ "$msg" -ge 1 ] ||
		{ cat "$work/tshark-$l.out"; fail "$l: REGISTER to port_ps ${ps[$l]}: $reg, MESSAGE to port_us ${us[$l]}: $msg"; }
	ok "$l: tshark decrypts $n ESP packets, all TCP: $reg REGISTER to port_ps ${ps[$l]}, $msg MESSAGE to port_us ${us[$l]}"
done

# Dropping wlan: the link goes away without a word, so its connection
# from port_uc vanishes with no FIN and no RST (a FIN would fail the flow
# at the P-CSCF within a few hundred milliseconds). The P-CSCF learns it
# from silence: no keepalive for Flow-Timer (5 s) and its grace (1 s).
# umts keeps working.
pcscf_failed() {
	"$SIMREG" ctl pcscf --ctl "$work/pcscf.ctl" status | jq -r .counters.flows_failed
}
[ "$(pcscf_failed)" = 0 ] || fail "a flow failed before the drop"
ue_ctl drop wlan >/dev/null
sleep 2
[ "$(pcscf_failed)" = 0 ] || fail "the P-CSCF heard of the drop: did a FIN or RST leave?"
for i in $(seq 300); do [ "$(pcscf_failed)" = 1 ] && break; sleep 0.05; done
[ "$(pcscf_failed)" = 1 ] || fail "the P-CSCF did not notice wlan's flow failing"
grep -q "failed: nothing over SA set" "$work/pcscf.log" || fail "P-CSCF: no flow-failed line"
! grep -q "failed: its TCP connection over SA set" "$work/pcscf.log" ||
	fail "P-CSCF: wlan's connection was seen to close"
got=$(reached umts)
[ "$got" = "umts" ] || fail "after the drop, the MESSAGE reached '$got'"
ok "wlan dropped: its connection vanished without a FIN, the P-CSCF failed the flow after Flow-Timer; umts alone gets the MESSAGE"

# The P-CSCF ends the IMPI's flows (remove-impi): after the linger it
# closes umts's TCP connections, their FIN still over the SAs, then removes
# the set; the UE hears its connection close (a failed flow, not a
# keepalive timeout) and registers again after the back-off.
"$SIMREG" ctl pcscf --ctl "$work/pcscf.ctl" remove-impi "$IMPI" >/dev/null
await_event '.event=="state" and .access=="umts" and .from=="registered" and .cause=="flow-failed"' 10
grep -q "TCP connections* of SA set" "$work/pcscf.log" || fail "P-CSCF: no connection closed with the set"
grep -q "umts: protected TCP connection of SA set .* closed" "$work/ue.log" ||
	fail "UE: umts's flow did not fail by its connection closing"
await_state umts registered 20
got=$(reached umts)
[ "$got" = "umts" ] || fail "after remove-impi, the MESSAGE reached '$got'"
ok "remove-impi: the P-CSCF closed umts's connections with its set, the UE saw the flow fail and registered again"
stop ue
echo "$passed passed, 0 failed"
