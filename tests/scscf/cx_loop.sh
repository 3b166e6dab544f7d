#!/usr/bin/env bash
# The S-CSCF's own Cx client (scscf.diameter.client: loop, lib/diameter/
# dpeer.c) against the real HSS, whose Diameter side is freeDiameter, and
# read back by tshark's Diameter dissector:
#   1. it connects (CER/CEA) and registers alice (MAR, SAR);
#   2. with Tw = 1 s it sends DWRs on a silent connection and the HSS
#      answers them;
#   3. the HSS killed: the connection is seen to fail, a REGISTER is refused
#      at once with 503, and the client connects again on its own once the
#      HSS is back;
#   4. the HSS stopped (SIGSTOP): the MAR times out after
#      scscf.diameter.timeout (504), the late answer is dropped, and the
#      next REGISTER works;
#   5. the HSS shut down cleanly: its DPR is answered, and the client comes
#      back to the restarted HSS;
#   6. the S-CSCF shut down: it says DPR and gets a DPA;
#   7. tshark decodes every message both ways: the CER's application and
#      product, the MAR's and SAR's AVPs, the DWRs, the DPR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || { echo "tshark is not installed (scripts/deps.sh)" >&2; exit 1; }

add_user alice sip:alice@ims.test
SCSCF_CX_CLIENT=loop
write_config none
sed -i "s/^    hss_address: .*$/&\n    watchdog: 1s\n    timeout: 1s/" "$work/deploy.yaml"
grep -q '^    watchdog: 1s' "$work/deploy.yaml" || fail "watchdog not set in the configuration"

# Everything between the S-CSCF and the HSS, from before the first CER.
tshark -i lo -f "tcp port $hss_port" -w "$work/cx.pcapng" -q >"$work/tshark.log" 2>&1 &
tshark_pid=$!
bg_pids+=("$tshark_pid")
for _ in $(seq 1 500); do
	grep -q "Capturing on" "$work/tshark.log" && break
	sleep 0.02
done
grep -q "Capturing on" "$work/tshark.log" || fail "tshark did not start: $(cat "$work/tshark.log")"

ue_port=$(free_port)
ue() {
	"$UE_CLIENT" --scscf "127.0.0.1:$sip_port" --port "$ue_port" --impi alice@ims.test \
		--impu sip:alice@ims.test --k "$K_HEX" --op "$OP_HEX" "$@" 2>&1 || true
}
# final_status OUTPUT: the status line of the last response.
final_status() {
	grep '^<- ' <<<"$1" | tail -1 | sed 's/^<- //'
}
cx() {
	ctl status | json "d['cx']['$1']"
}
# until_log PATTERN [COUNT]: the S-CSCF's log has PATTERN COUNT times (10 s at most).
until_log() {
	local i n=${2:-1}
	for i in $(seq 1 1000); do
		[ "$(grep -c -- "$1" "$work/scscf.log" || true)" -ge "$n" ] && return 0
		sleep 0.01
	done
	fail "no '$1' (x$n) in the S-CSCF's log after 10 s"
}

start_hss
start_scscf
[ "$(ctl status | json "d['cx']['client']")" = loop ] || fail "the loop client is not in use"

# 1. A registration.
out=$(ue register:good:600)
[ "$(final_status "$out")" = "200 OK" ] || fail "registration: $out"
[ "$(cx requests)" = 2 ] && [ "$(cx answers)" = 2 ] || fail "MAR and SAR: $(ctl status)"

# 2. Watchdogs on a silent connection (Tw = 1 s).
sleep 2.5
[ "$(cx watchdogs_sent)" -ge 2 ] || fail "no DWR after 2.5 s of silence: $(ctl status)"
[ "$(cx watchdogs_answered)" -ge 1 ] || fail "no DWA: $(ctl status)"
[ "$(ctl status | json "d['hss']")" = connected ] || fail "not connected after the watchdogs"

# 3. The HSS dies: refused at once, then connected again.
kill -9 "$hss_pid"
wait "$hss_pid" 2>/dev/null || true
hss_pid=
until_log 'failed: closed by the peer'
[ "$(ctl status | json "d['hss']")" = disconnected ] || fail "still connected: $(ctl status)"
out=$(ue register:good:600)
[ "$(final_status "$out")" = "503 HSS Not Connected" ] || fail "HSS down: $out"
start_hss
until_log 'connected to hss.ims.test' 2
[ "$(cx connects)" = 2 ] || fail "connects: $(ctl status)"
out=$(ue register:good:600)
[ "$(final_status "$out")" = "200 OK" ] || fail "after the HSS came back: $out"

# 4. The HSS hangs: the MAR times out after 1 s, the late answer is dropped.
kill -STOP "$hss_pid"
t0=$(date +%s%N)
out=$(ue register:good:600)
t1=$(date +%s%N)
kill -CONT "$hss_pid"
[ "$(final_status "$out")" = "504 HSS Not Answering" ] || fail "HSS stopped: $out"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 900 ] || fail "the timeout came after $ms ms, before scscf.diameter.timeout"
[ "$(cx timeouts)" = 1 ] || fail "timeouts: $(ctl status)"
until_log 'no answer from hss.ims.test within 1000 ms'
sleep 0.3
out=$(ue register:good:600)
[ "$(final_status "$out")" = "200 OK" ] || fail "after the timeout: $out"
[ "$(cx in_flight)" = 0 ] || fail "requests left in flight: $(ctl status)"

# 5. The HSS shuts down cleanly (its freeDiameter says DPR), then returns.
stop_hss
until_log 'the peer sent DPR'
start_hss
until_log 'connected to hss.ims.test' 3
out=$(ue register:good:600)
[ "$(final_status "$out")" = "200 OK" ] || fail "after the HSS's DPR: $out"

# 6. The S-CSCF shuts down: DPR, DPA.
stop_scscf
grep -q 'disconnected from hss.ims.test (DPA received)' "$work/scscf.log" ||
	fail "no DPA at the S-CSCF's shutdown"
sleep 0.5
kill "$tshark_pid"
wait "$tshark_pid" 2>/dev/null || true

# 7. What tshark read: one line per Diameter message.
tshark -r "$work/cx.pcapng" -d "tcp.port==$hss_port,diameter" -Y diameter -T fields \
	-E separator='|' -E occurrence=a -E aggregator=',' \
	-e diameter.cmd.code -e diameter.flags.request -e diameter.Origin-Host \
	-e diameter.Product-Name -e diameter.Auth-Application-Id -e diameter.Vendor-Id \
	-e diameter.User-Name -e diameter.Public-Identity -e diameter.Server-Name \
	-e diameter.3GPP-SIP-Number-Auth-Items -e diameter.Server-Assignment-Type \
	-e diameter.Result-Code -e diameter.Disconnect-Cause -e diameter.Session-Id \
	>"$work/cx.txt"
# field: LINE N -> the Nth field of a line.
field() { cut -d'|' -f"$2" <<<"$1"; }
from_scscf() { grep -E "^$1\|(1|True)\|scscf\.ims\.test\|" "$work/cx.txt" || true; }
cer=$(from_scscf 257 | head -1)
[ -n "$cer" ] || fail "no CER from the S-CSCF decoded: $(head -5 "$work/cx.txt")"
[ "$(field "$cer" 4)" = simreg ] || fail "CER Product-Name: $cer"
[[ ",$(field "$cer" 5)," == *,16777216,* ]] || fail "CER without the Cx application: $cer"
[[ ",$(field "$cer" 6)," == *,10415,* ]] || fail "CER without vendor 10415: $cer"
mar=$(from_scscf 303 | head -1)
[ "$(field "$mar" 7)" = alice@ims.test ] || fail "MAR User-Name: $mar"
[ "$(field "$mar" 8)" = sip:alice@ims.test ] || fail "MAR Public-Identity: $mar"
[ "$(field "$mar" 9)" = "sip:scscf.ims.test:$sip_port" ] || fail "MAR Server-Name: $mar"
[ "$(field "$mar" 10)" = 1 ] || fail "MAR SIP-Number-Auth-Items: $mar"
[[ "$(field "$mar" 14)" == "scscf.ims.test;"* ]] || fail "MAR Session-Id: $mar"
sar=$(from_scscf 301 | head -1)
[ "$(field "$sar" 11)" = 1 ] || fail "SAR Server-Assignment-Type (REGISTRATION): $sar"
[ "$(field "$sar" 8)" = sip:alice@ims.test ] || fail "SAR Public-Identity: $sar"
[ "$(from_scscf 280 | wc -l)" -ge 2 ] || fail "DWRs not decoded"
dpr=$(from_scscf 282 | tail -1)
[ "$(field "$dpr" 13)" = 0 ] || fail "DPR Disconnect-Cause (REBOOTING): $dpr"
# Answers of the HSS to our requests, all 2001 or with Experimental-Result.
[ "$(grep -cE '^303\|(0|False)\|hss\.ims\.test\|.*\|2001\|' "$work/cx.txt")" -ge 4 ] ||
	fail "MAAs with 2001 not decoded: $(grep -E '^303' "$work/cx.txt")"
# The HSS's DPR (step 5) was answered: a DPA from the S-CSCF.
grep -qE '^282\|(0|False)\|scscf\.ims\.test\|.*\|2001\|' "$work/cx.txt" ||
	fail "no DPA from the S-CSCF: $(grep -E '^282' "$work/cx.txt")"
echo "cx_loop: ok ($(wc -l <"$work/cx.txt") Diameter messages decoded)"
