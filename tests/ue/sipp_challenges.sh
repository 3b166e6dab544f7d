#!/usr/bin/env bash
# `simreg ue` against SIPp playing the P-CSCF and S-CSCF, in a network
# namespace of its own (loopback: UE 127.0.0.1, SIPp 127.0.0.2). The
# challenges are built by osmo-auc-gen, an independent Milenage, and what
# the UE answers is judged by osmo-auc-gen, `simreg aka` and tshark:
#
#   sync failure   a challenge whose SQN the USIM already passed: REGISTER
#                  with auts (osmo-auc-gen recovers the USIM's SQN_MS from
#                  it), the empty-password response, new SPIs; no SAs
#   MAC failure    a challenge made with another K: response="" and no
#                  auts; no SAs; once more over TCP
#   bad challenge  a 401 without Security-Server: abandoned (TS 24.229
#                  5.1.1.5.1), no second REGISTER
#   good challenge temporary SAs, and the protected REGISTER really leaves
#                  as ESP: tshark decrypts it with the keys the UE exported
#                  and finds Security-Verify and the right response
#   stranger       an unprotected MESSAGE to the UE is refused (403)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SIMREG=$(realpath "$SIMREG")
work=$(mktemp -d)
ns=ue-sipp-$$
declare -a pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespace, raw ESP sockets)"; exit 1; }
for t in sipp osmo-auc-gen tshark; do
	command -v $t >/dev/null || { echo "$t missing (scripts/deps.sh)"; exit 1; }
done

K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
IMPI=alice@ims.test
SECSERVER="Security-Server: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=70001;spi-s=70002;port-c=6100;port-s=6101"
passed=0

fail() {
	echo "FAIL: $*"
	for f in "$work"/*/ue.log "$work"/*.sipp.log "$work"/*.err; do
		[ -s "$f" ] && { echo "--- $f"; tail -25 "$f"; }
	done
	exit 1
}
ok() { echo "ok $*"; passed=$((passed + 1)); }
# Foreground only: in the background $! would name a subshell, not the process.
inns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns"
ip -n "$ns" link set lo up

# field NAME TEXT : the value after "NAME:" (osmo-auc-gen and simreg aka style).
field() { sed -n "s/^$1:[[:space:]]*//p" <<<"$2" | head -1; }

# until_true SECONDS CMD... : poll CMD every 50 ms (a readiness wait, not a sleep).
until_true() {
	local n=$(($1 * 20))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.05
	done
}

# vector K RAND SQN : osmo-auc-gen's IMS nonce and RES for it.
vector() {
	osmo-auc-gen -3 -a milenage -k "$1" -o "$OPC" -r "$2" -s "$3" -f 8000
}

# ue_start NAME [YAML...] : a UE in the namespace with its own data directory
# ($transport: the access's transport, udp unless set).
ue_start() {
	local name=$1 dir=$work/$1
	shift
	mkdir -p "$dir"
	cat >"$dir/ue.yaml" <<EOF
log:
  level: info
loop:
  shutdown_grace: 1s
ipsec:
  backend: userspace
  keylog: $dir/esp.keys
ue:
  impi: $IMPI
  impus: [ "sip:$IMPI" ]
  accesses: [ "wlan local=127.0.0.1:5070 pcscf=127.0.0.2:5060 transport=${transport:-udp}" ]
$(printf '%s\n' "$@")
EOF
	ip netns exec "$ns" "$SIMREG" ue --config "$dir/ue.yaml" --data "$dir" 2>"$dir/ue.log" &
	pids+=($!)
	ue_pid=$!
	until_true 10 grep -q ready "$dir/ue.log" || fail "$name: UE not ready"
}

ue_stop() {
	kill -TERM "$ue_pid"
	wait "$ue_pid" || fail "UE exit status $?"
}

# has_event NAME PATTERN : the UE's event log holds a line matching PATTERN.
has_event() { grep -q -- "$2" "$work/$1/ue-events.jsonl"; }
wait_event() { until_true 10 has_event "$1" "$2" || fail "$1: no event matching $2"; }

# sipp_uas NAME SCENARIO KEYS... : SIPp as the P-CSCF on 127.0.0.2:5060, one call.
sipp_uas() {
	local name=$1 scen=$2
	shift 2
	ip netns exec "$ns" sipp -sf "$here/sipp/$scen" -i 127.0.0.2 -p 5060 -m 1 -nostdin -timeout 30s \
		-trace_logs -log_file "$work/$name.sipp.log" -trace_err \
		-error_file "$work/$name.err" -t "${sipp_transport:-u1}" "$@" >/dev/null 2>&1 &
	pids+=($!)
	sipp_pid=$!
	# The UE's first REGISTER must find SIPp listening: a refused TCP connect or an
	# ICMP port unreachable would send the UE into its back-off instead.
	local proto=u
	case ${sipp_transport:-u1} in t*) proto=t ;; esac
	until_true 10 sh -c "ip netns exec $ns ss -Hln$proto 'sport = :5060' | grep -q ." ||
		fail "$name: SIPp is not listening on 127.0.0.2:5060"
}

sipp_wait() {
	wait "$sipp_pid" || fail "$1: SIPp scenario failed ($?)"
}

# logged NAME WHAT : what the scenario logged as "WHAT value".
logged() { sed -n "s/^$2 //p" "$work/$1.sipp.log" | head -1; }

# ---- sync failure -------------------------------------------------------------
# The USIM has accepted SEQ 100 in slot 0; a challenge with SEQ 50 in slot 0
# is a replay (TS 33.102 C.2.1).
mkdir -p "$work/sync"
printf 'ind_bits 5\ndelta 268435456\nage_limit 0\nseq 0 100\n' >"$work/sync/ue-sqn.state"
RAND=23553cbe9637a89d218ae64dae47bf35
v=$(vector "$K" "$RAND" $((50 << 5)))
nonce=$(field "IMS nonce" "$v")
sipp_uas sync uas_invalid.xml -key nonce "$nonce"
ue_start sync
sipp_wait sync
auts=$(logged sync AUTS)
[ ${#auts} -eq 20 ] || fail "sync: auts='$auts'"
auts_hex=$(base64 -d <<<"$auts" | od -An -v -tx1 | tr -d ' \n')
sqn_ms=$(field SQN.MS "$(osmo-auc-gen -3 -a milenage -k "$K" -o "$OPC" -r "$RAND" -A "$auts_hex" 2>&1)")
[ "$sqn_ms" = $((100 << 5)) ] || fail "sync: osmo-auc-gen reads SQN_MS=$sqn_ms from the UE's AUTS, want $((100 << 5))"
want=$(field response "$("$SIMREG" aka digest --nonce "$nonce" --res "" --username "$IMPI" --realm ims.test)")
[ "$(logged sync RESPONSE)" = "$want" ] || fail "sync: response is not the empty-password digest"
[ "$(logged sync NONCE)" = "$nonce" ] || fail "sync: nonce not repeated"
read -r spi1 spi2 <<<"$(logged sync SPI-C)"
[ -n "$spi1" ] && [ "$spi1" != "$spi2" ] || fail "sync: Security-Client SPIs $spi1 / $spi2 not renewed"
wait_event sync '"to":"backoff","cause":"rejected"'
has_event sync '"verdict":"sync-failure","sqn":1600,"sqn_verdict":"replay"' || fail "sync: aka event"
! has_event sync '"event":"sa"' || fail "sync: SAs created for an invalid challenge"
st=$(inns "$SIMREG" ctl ue --ctl "$work/sync/ue.ctl" status)
grep -q '"state":"backoff".*"failures":1' <<<"$st" || fail "sync: status $st"
ue_stop
ok "sync failure: auts that osmo-auc-gen resolves to SQN_MS $sqn_ms, empty-password response, new SPIs, no SAs"

# ---- MAC failure ----------------------------------------------------------------
v=$(vector 000102030405060708090a0b0c0d0e0f "$RAND" $((1 << 5 | 1)))
nonce=$(field "IMS nonce" "$v")
sipp_uas mac uas_invalid.xml -key nonce "$nonce"
ue_start mac
sipp_wait mac
[ -z "$(logged mac AUTS)" ] || fail "mac: auts sent on a MAC failure"
[ -z "$(logged mac RESPONSE)" ] || fail "mac: response not empty"
wait_event mac '"to":"backoff","cause":"rejected"'
has_event mac '"verdict":"mac-failure"' || fail "mac: aka event"
! has_event mac '"event":"sa"' || fail "mac: SAs created"
ue_stop
ok "MAC failure: response=\"\" without auts, no SAs"

# ---- the same over TCP ------------------------------------------------------------
transport=tcp sipp_transport=t1
sipp_uas mactcp uas_invalid.xml -key nonce "$nonce"
ue_start mactcp
sipp_wait mactcp
[ -z "$(logged mactcp AUTS)" ] && [ -z "$(logged mactcp RESPONSE)" ] || fail "mactcp: answer"
wait_event mactcp '"to":"backoff","cause":"rejected"'
ue_stop
transport= sipp_transport=
ok "MAC failure over TCP: the unprotected exchange on the access's transport"

# ---- no Security-Server -------------------------------------------------------------
v=$(vector "$K" "$RAND" $((1 << 5 | 1)))
sipp_uas bad uas_challenge.xml -key nonce "$(field "IMS nonce" "$v")" -key secserver "X-Note: no Security-Server"
ue_start bad
sipp_wait bad
wait_event bad '"verdict":"bad-challenge"'
wait_event bad '"to":"backoff"'
[ "$(grep -c '"method":"REGISTER"' "$work/bad/ue-events.jsonl")" -eq 1 ] || fail "bad: REGISTER again"
ue_stop
ok "401 without Security-Server: challenge abandoned, no second REGISTER"

# ---- a good challenge, the protected REGISTER seen as ESP ------------------------------
RAND2=9d218ae64dae47bf3523553cbe9637a8
v=$(vector "$K" "$RAND2" $((1 << 5 | 1)))
nonce=$(field "IMS nonce" "$v")
res=$(field RES "$v")
ip netns exec "$ns" tshark -i lo -w "$work/good.pcap" -f "esp or udp port 5060" 2>"$work/tshark.err" &
pids+=($!)
cap_pid=$!
until_true 10 grep -q Capturing "$work/tshark.err" || fail "tshark did not start"
sipp_uas good uas_challenge.xml -key nonce "$nonce" -key secserver "$SECSERVER"
ue_start good
sipp_wait good
wait_event good '"to":"protected","cause":"aka-ok"'
has_event good '"op":"created","kind":"temporary".*"spi_pc":70001,"spi_ps":70002,"port_pc":6100,"port_ps":6101' ||
	fail "good: temporary set"
# The protected REGISTER (and its retransmission) must be on the wire before the capture stops.
# (A function, so that every poll reads the file again.)
esp_captured() { inns tshark -r "$work/good.pcap" -Y esp 2>/dev/null | grep -q ESP; }
until_true 10 esp_captured ||
	fail "good: no ESP captured"
kill -INT "$cap_pid"
wait "$cap_pid" || true
[ "$(wc -l <"$work/good/esp.keys")" -eq 4 ] || fail "good: keylog holds $(wc -l <"$work/good/esp.keys") lines"
uat=()
while IFS= read -r line; do uat+=(-o "uat:esp_sa:$line"); done <"$work/good/esp.keys"
seen=$(tshark -r "$work/good.pcap" -o esp.enable_encryption_decode:TRUE \
	-o esp.enable_authentication_check:TRUE "${uat[@]}" -Y 'esp && sip' -T fields \
	-E separator='|' -e esp.icv_good -e sip.CSeq -e sip.Security-Verify -e sip.auth.digest.response \
	2>>"$work/tshark.err" | head -1)
want=$(field response "$("$SIMREG" aka digest --nonce "$nonce" --res "$res" --username "$IMPI" --realm ims.test)")
IFS='|' read -r icv cseq verify response <<<"$seen"
[ "$icv" = 1 ] || [ "$icv" = True ] || fail "good: ICV not verified by tshark: '$seen'"
[ "$cseq" = "2 REGISTER" ] || fail "good: decrypted CSeq '$cseq'"
[ "$verify" = "${SECSERVER#Security-Server: }" ] || fail "good: Security-Verify '$verify'"
[ "${response//\"/}" = "$want" ] || fail "good: response '$response', want $want"
ue_stop
ok "good challenge: temporary SAs, the protected REGISTER is ESP that tshark decrypts: CSeq 2, Security-Verify, response verified"

# ---- a stranger's unprotected request ---------------------------------------------------
ue_start stranger "  register_at_start: false"
inns sipp -sf "$here/sipp/uac_unprotected.xml" -i 127.0.0.2 -p 5062 127.0.0.1:5070 -m 1 \
	-nostdin -timeout 20s -trace_err -error_file "$work/stranger.err" >/dev/null 2>&1 ||
	fail "stranger: SIPp did not get 403"
wait_event stranger '"method":"MESSAGE".*"set":0,"answer":403'
ue_stop
ok "unprotected MESSAGE answered 403"

echo "$passed passed, 0 failed"
