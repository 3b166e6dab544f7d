#!/usr/bin/env bash
# Interop with the S-CSCF most deployments run: Debian's Kamailio 5.6
# (ims_auth, ims_registrar_scscf over its C Diameter Peer) in front of
# simreg's HSS, SIPp's AKA client as the UE. A provisioned user registers
# (401, then 200 and the HSS records the registration); an IMPI the HSS
# does not know is refused (403).
#
# Kamailio 5.6 sends its CER without Host-IP-Address, which freeDiameter
# rejects; so the HSS dials Kamailio's Diameter acceptor (connect=yes in
# the HSS's peer list) and Kamailio answers (docs/hss.md, Kamailio).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
for tool in kamailio sipp; do
	command -v $tool >/dev/null || { echo "$tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done

kam_pid=
stop_kamailio() {
	[ -n "$kam_pid" ] || return 0
	kill "$kam_pid" 2>/dev/null || true
	wait "$kam_pid" 2>/dev/null || true
	kam_pid=
}
trap 'stop_hss || true; stop_kamailio; cleanup' EXIT

sip_port=$(free_port)
dia_port=$(free_port)
dead_port=$(free_port)
hss_port=$(free_port)
ue_port=$(free_port)

# The UE's keys: 16 (2) characters whose bytes are K and OP (AMF); see
# kamailio/register.xml.in for why SIPp needs them so.
K_TEXT='simreg-interop-K' OP_TEXT='simreg-OP-value!' AMF_TEXT='AK'
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
"$SIMREG" ctl --data "$work/data" subscriber add --impi alice@ims.test \
	--impu 'sip:alice@ims.test,tel:+15551230001' --k "$(hex "$K_TEXT")" \
	--op "$(hex "$OP_TEXT")" --amf "$(hex "$AMF_TEXT")" >/dev/null

subst() {
	sed -e "s#@WORK@#$work#g" -e "s#@SIP_PORT@#$sip_port#g" -e "s#@DIA_PORT@#$dia_port#g" \
		-e "s#@DEAD_PORT@#$dead_port#g" -e "s#@K@#$K_TEXT#g" -e "s#@OP@#$OP_TEXT#g" \
		-e "s#@AMF@#$AMF_TEXT#g" -e "s#@USER@#$2#g" "$here/kamailio/$1"
}
subst kamailio.cfg.in - >"$work/kamailio.cfg"
subst scscf.xml.in - >"$work/scscf.xml"
subst register.xml.in alice >"$work/register.xml"
subst unknown.xml.in nobody >"$work/unknown.xml"
# SIPp 3.6.1 answers a RES with a 0x00 octet wrongly (about 3% of RANDs):
# the HSS hands out RANDs whose RES has none (docs/hss.md, "Test RANDs").
"$SIMREG_BUILD_DIR/tests/scscf/sipp_rands" --k "$(hex "$K_TEXT")" --op "$(hex "$OP_TEXT")" \
	--count 20 >"$work/rands"
cat >"$work/hss.yaml" <<YAML
hss:
  test:
    rand_file: $work/rands
  diameter:
    listen: 127.0.0.1:$hss_port
    peers: [ "scscf.ims.test realm=ims.test address=127.0.0.1:$dia_port connect=yes" ]
YAML

kamailio -f "$work/kamailio.cfg" -P "$work/kamailio.pid" -Y "$work" -w "$work" \
	-m 64 -M 8 -DD -E >"$work/kamailio.log" 2>&1 &
kam_pid=$!
# Ready when its Diameter acceptor listens.
for i in $(seq 1 500); do
	ss -Hltn "sport = :$dia_port" | grep -q . && break
	kill -0 "$kam_pid" 2>/dev/null || { cat "$work/kamailio.log"; exit 1; }
	sleep 0.02
done
start_hss "$work/hss.yaml" "$work/data" "$work/hss.log"
# Ready when the HSS has connected to it (CER/CEA done).
for i in $(seq 1 1000); do
	grep -q "peer scscf.ims.test connected" "$work/hss.log" && break
	sleep 0.02
done
grep -q "peer scscf.ims.test connected" "$work/hss.log" ||
	{ echo "the HSS did not connect to Kamailio" >&2; cat "$work/hss.log" >&2; exit 1; }

# SIPp without retransmissions (-nr): on a starved machine Kamailio may
# answer after T1 (500 ms), and it takes a retransmitted REGISTER for a
# new one and asks the HSS again, so the HSS would count one answer more.
ue() {
	(cd "$work" && sipp -sf "$1" -m 1 -nr -i 127.0.0.1 -p "$ue_port" "127.0.0.1:$sip_port" \
		-trace_msg -trace_err -nostdin -timeout 90 >"$work/sipp.$1.out" 2>&1)
}
fail() {
	echo "kamailio_interop: $*" >&2
	for f in "$work"/*_messages.log "$work/kamailio.log" "$work/hss.log"; do
		[ -f "$f" ] && { echo "--- $f"; tail -60 "$f"; } >&2
	done
	exit 1
}

ue register.xml || fail "alice did not register (expected 401 then 200)"
show=$("$SIMREG" ctl --data "$work/data" subscriber show alice@ims.test)
echo "$show" | grep -qx "impu: sip:alice@ims.test set=1 default state=registered" ||
	fail "the HSS does not have alice registered: $show"
echo "$show" | grep -q "^registration: alice@ims.test set=1 scscf=sip:scscf.ims.test:$sip_port " ||
	fail "no registration recorded: $show"
grep -q '^SIP/2.0 401' "$work"/register_*_messages.log || fail "no 401 seen"
grep -q '^SIP/2.0 200' "$work"/register_*_messages.log || fail "no 200 seen"
echo "kamailio_interop: alice registered through Kamailio (401, 200); HSS state: registered"

ue unknown.xml || fail "the unknown IMPI was not refused with 403"
grep -q '^SIP/2.0 403' "$work"/unknown_*_messages.log || fail "no 403 seen"
echo "kamailio_interop: unknown IMPI refused with $(grep -m1 '^SIP/2.0 403' "$work"/unknown_*_messages.log)"

stop_hss "$work/hss.log"
grep -q "stopping: 3 answers" "$work/hss.log" ||
	fail "expected 3 answers: MAA and SAA for alice, MAA (5001) for nobody"
