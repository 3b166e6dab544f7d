# tests/ue/lib.sh - the UE's over-the-wire tests against simreg's own
# P-CSCF, S-CSCF and HSS (sourced).
#
# Three network namespaces:
#
#   ue-u-N   the UE: wlan 198.18.40.2, umts 198.18.41.2
#   ue-p-N   the P-CSCF: 198.18.40.1 (wlan), 198.18.41.1 (umts),
#            198.18.42.1 (core)
#   ue-c-N   the S-CSCF on 198.18.42.2:6060, the HSS on 127.0.0.1:3868
#
# Both accesses reach one P-CSCF (topology T1 of DESIGN.md), userspace ESP.
# Processes start with a readiness wait on their "ready" log line; states
# are read from the control sockets and the UE's event log. Everything is
# torn down by lab_down, which the caller's trap runs.
#
# Needs: $SIMREG, $work (a scratch directory).

ns_u=ue-u-$$
ns_p=ue-p-$$
ns_c=ue-c-$$
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
IMPI=alice@ims.test
IMPU=sip:alice@ims.test
declare -A pids
passed=0

fail() {
	echo "FAIL: $*"
	for f in "$work"/*.log "$work"/ue/ue-events.jsonl; do
		[ -s "$f" ] && { echo "--- $f"; tail -30 "$f"; }
	done
	exit 1
}

ok() {
	passed=$((passed + 1))
	echo "ok $passed $*"
}

lab_up() {
	local ns l
	for ns in "$ns_u" "$ns_p" "$ns_c"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip link add u-wlan netns "$ns_u" type veth peer name p-wlan netns "$ns_p"
	ip link add u-umts netns "$ns_u" type veth peer name p-umts netns "$ns_p"
	ip link add p-core netns "$ns_p" type veth peer name c-core netns "$ns_c"
	ip -n "$ns_u" addr add 198.18.40.2/24 dev u-wlan
	ip -n "$ns_u" addr add 198.18.41.2/24 dev u-umts
	ip -n "$ns_p" addr add 198.18.40.1/24 dev p-wlan
	ip -n "$ns_p" addr add 198.18.41.1/24 dev p-umts
	ip -n "$ns_p" addr add 198.18.42.1/24 dev p-core
	ip -n "$ns_c" addr add 198.18.42.2/24 dev c-core
	for l in "$ns_u u-wlan" "$ns_u u-umts" "$ns_p p-wlan" "$ns_p p-umts" "$ns_p p-core" \
		 "$ns_c c-core"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
}

lab_down() {
	local p
	for p in "${!pids[@]}"; do
		kill "${pids[$p]}" 2>/dev/null || true
	done
	for p in "${!pids[@]}"; do
		wait "${pids[$p]}" 2>/dev/null || true
	done
	ip netns del "$ns_u" 2>/dev/null || true
	ip netns del "$ns_p" 2>/dev/null || true
	ip netns del "$ns_c" 2>/dev/null || true
}

# start NAME NETNS PATTERN CMD... : run CMD in NETNS, log to $work/NAME.log,
# wait until the log matches PATTERN.
start() {
	local name=$1 ns=$2 pattern=$3 i
	shift 3
	: >"$work/$name.log"
	ip netns exec "$ns" "$@" >>"$work/$name.log" 2>&1 &
	pids[$name]=$!
	for i in $(seq 400); do
		grep -q -- "$pattern" "$work/$name.log" && return 0
		kill -0 "${pids[$name]}" 2>/dev/null || fail "$name exited before it was ready"
		sleep 0.05
	done
	fail "$name is not ready after 20 s"
}

# stop NAME : SIGTERM and wait; fails on a bad exit status.
stop() {
	local status=0
	[ -n "${pids[$1]:-}" ] || return 0
	kill -TERM "${pids[$1]}"
	wait "${pids[$1]}" || status=$?
	unset "pids[$1]"
	[ $status -eq 0 ] || fail "$1 exited with status $status"
}

# deploy FILE MECHANISM BINDING [UE YAML lines] : the deployment file.
# SUB_MAX_EXPIRES (seconds) and REAUTH_EXPIRY (a duration) set the
# S-CSCF's longest reg-event subscription and its network-initiated
# re-authentication expiry; SCSCF_REAUTH its scscf.reauth (unset: the
# default).
deploy() {
	local f=$1 mech=$2 binding=$3
	shift 3
	cat >"$f" <<EOF
log:
  level: info
loop:
  shutdown_grace: 2s
ipsec:
  backend: ${UE_TEST_BACKEND:-userspace}
  keylog: $work/esp.keys
hss:
  data: $work/hss
  diameter:
    listen: 127.0.0.1:3868
    peers: [ "scscf.ims.test realm=ims.test" ]
scscf:
  data: $work/scscf
  policy: $mech
  server_name: "sip:198.18.42.2:6060"
  probe_timeout: 1s
  subscription_expires: ${SUB_MAX_EXPIRES:-3761}
  subscription_max_expires: ${SUB_MAX_EXPIRES:-600000}
  reauth_expiry: ${REAUTH_EXPIRY:-60s}
$([ -z "${SCSCF_REAUTH:-}" ] || echo "  reauth: $SCSCF_REAUTH")
  sip:
    listen: [ "udp:198.18.42.2:6060" ]
  diameter:
    hss_address: 127.0.0.1:3868
pcscf:
  data: $work/pcscf
  listen: [ "udp:198.18.40.1:5060", "udp:198.18.41.1:5060", "udp:198.18.42.1:5060" ]
  scscf: "sip:198.18.42.2:6060"
  advertise: "198.18.42.1:5060"
  sa_binding: $binding
  sa_linger: 1s
ue:
  impi: $IMPI
  impus: [ "$IMPU" ]
  mechanism: $mech
  sa_binding: $binding
  register_at_start: false
  backoff:
    base_all_failed: 1s
    base_some_ok: 1s
    max: 4s
  accesses:
    - "wlan local=198.18.40.2 pcscf=198.18.40.1:5060"
    - "umts local=198.18.41.2 pcscf=198.18.41.1:5060"
$(printf '%s\n' "$@")
EOF
}

# provision : the subscription, with the derived IMPIs of modified-impi.
provision() {
	"$SIMREG" ctl --data "$work/hss" subscriber add --impi "$IMPI" --impu "$IMPU" --k "$K" \
		--opc "$OPC" --amf 8000 --derived-impi '{user}+{2..3}@{realm}' >/dev/null ||
		fail "provisioning"
}

core_start() {
	start hss "$ns_c" ' ready: ' "$SIMREG" hss --config "$1"
	start scscf "$ns_c" 'ready: .*HSS hss.ims.test connected' "$SIMREG" scscf --config "$1"
	start pcscf "$ns_p" 'ready' "$SIMREG" pcscf --config "$1" --ctl "$work/pcscf.ctl"
}

ue_start() {
	rm -rf "$work/ue"
	mkdir -p "$work/ue"
	[ -z "${2:-}" ] || cp "$2" "$work/ue/ue-sqn.state"
	start ue "$ns_u" 'ready' "$SIMREG" ue --config "$1" --data "$work/ue"
}

# ue_ctl WORDS... : one request to the UE; prints the answer.
ue_ctl() {
	"$SIMREG" ctl ue --ctl "$work/ue/ue.ctl" "$@"
}

scscf_ctl() {
	"$SIMREG" ctl scscf --ctl "$work/scscf/scscf.ctl" "$@"
}

# state ACCESS : the access's registration state.
state() {
	ue_ctl status | jq -r --arg a "$1" '.accesses[] | select(.name == $a) | .state'
}

# await_state ACCESS STATE [SECONDS] : poll until the access is in STATE.
await_state() {
	local i s
	for i in $(seq $((${3:-15} * 20))); do
		s=$(state "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.05
	done
	fail "$1 is $s, not $2"
}

# events JQ-FILTER : the UE's event log records the filter selects, one per line.
events() {
	jq -c "select($1)" "$work/ue/ue-events.jsonl"
}

# await_event JQ-CONDITION [SECONDS] : until a record of the event log matches.
await_event() {
	local i
	for i in $(seq $((${2:-15} * 20))); do
		[ -n "$(events "$1")" ] && return 0
		sleep 0.05
	done
	fail "no event $1"
}

# await_count JQ-CONDITION N [SECONDS] : until N records of the event log match.
await_count() {
	local i
	for i in $(seq $((${3:-15} * 20))); do
		[ "$(events "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "fewer than $2 events $1"
}

# reached [ACCESS] : send a MESSAGE to our own IMPU via ACCESS (default
# umts) and wait for its final answer; prints the accesses it arrived on,
# sorted, space separated ("umts wlan").
reached() {
	local id
	id=$(ue_ctl send MESSAGE "$IMPU" via "${1:-umts}" "hello $RANDOM" | jq -r .call_id)
	[ "$id" != null ] || fail "MESSAGE not sent"
	await_event ".event==\"msg\" and .dir==\"rx\" and .status and .call_id==\"$id\"" 40
	events ".event==\"msg\" and .dir==\"rx\" and .method==\"MESSAGE\" and .answer and .call_id==\"$id\"" |
		jq -r .access | sort | tr '\n' ' ' | sed 's/ $//'
}

# bindings : the S-CSCF's bindings of the IMPU, "contact impi" per line.
bindings() {
	scscf_ctl bindings "$IMPU" | jq -r '.bindings[] | "\(.contact) \(.impi)"'
}
